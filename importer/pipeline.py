"""The library's front door: the same jobs as the command line, as functions.

``validate_csv`` reads, maps and checks a whole file and writes a report; nothing is sent.
``import_csv`` does the same checks and creates a customer for every valid row.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from importer.client import (
    DEFAULT_API_URL,
    Credentials,
    HelpScoutClient,
    Pacer,
    RetryPolicy,
    check_api_url,
)
from importer.errors import EXIT_OK, EXIT_ROWS_FAILED, EXIT_STOPPED, ConfigError, ImporterError
from importer.mapping import Mapping, load_mapping
from importer.report import Summary, open_report
from importer.results import Outcome, ResultsWriter
from importer.source import Chunk, CsvSource, open_csv
from importer.upload import Job, Tally, Uploader, default_concurrency
from importer.validate import CheckedChunk, Validator

if TYPE_CHECKING:
    from importer.sandbox import SandboxConfig

Progress = Callable[[int], None]


@dataclass
class ValidationResult:
    """What ``validate_csv`` found."""

    summary: Summary
    report: Path | None = None
    samples: list[tuple[int, dict]] = field(default_factory=list)
    """The first payloads exactly as they would be sent (``show=N``)."""
    first_issues: pd.DataFrame | None = None
    """The first issues found, for a console listing."""

    @property
    def ok(self) -> bool:
        return self.summary.invalid == 0


def open_input(
    path: str | Path,
    mapping: str | Path | Mapping,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> tuple[CsvSource, Mapping]:
    """Load the mapping, open the CSV and check they fit, before any row is read."""
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    source = open_csv(path, encoding=encoding, delimiter=delimiter)
    mapping.bind(source.columns)
    return source, mapping


def check_rows(
    source: CsvSource, mapping: Mapping, *, duplicates: str = "error"
) -> Iterator[CheckedChunk]:
    """Map and validate the file chunk by chunk."""
    validator = Validator(mapping, duplicates=duplicates)
    for chunk in source:
        yield validator.check(chunk)


def validate_csv(
    path: str | Path,
    mapping: str | Path | Mapping,
    *,
    report: str | Path | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    show: int = 0,
    keep_issues: int = 20,
    progress: Progress | None = None,
) -> ValidationResult:
    """Map and check every row of ``path``; write the report (format from its suffix)."""
    source, mapping = open_input(path, mapping, encoding=encoding, delimiter=delimiter)
    summary = Summary(
        file=str(path),
        mapping=str(mapping.path),
        encoding=source.encoding,
        delimiter=source.delimiter,
        notes=list(source.warnings),
    )
    writer = open_report(report) if report else None
    result = ValidationResult(summary, Path(report) if report else None)
    kept: list[pd.DataFrame] = []
    try:
        for checked in check_rows(source, mapping):
            summary.rows += len(checked.rows)
            summary.invalid += len(checked.invalid)
            summary.add(checked.issues)
            if writer:
                writer.add(checked.issues)
            if sum(map(len, kept)) < keep_issues and len(checked.issues):
                kept.append(checked.issues.head(keep_issues))
            if len(result.samples) < show:
                valid = checked.mapped.loc[checked.valid_rows[: show - len(result.samples)]]
                result.samples.extend(mapping.payloads(valid))
            if progress:
                progress(len(checked.rows))
    finally:
        summary.valid = summary.rows - summary.invalid
        if writer:
            writer.close(summary)
    if kept:
        result.first_issues = pd.concat(kept, ignore_index=True).head(keep_issues)
    return result


# --- import ----------------------------------------------------------------------------------
#: Rows per batch handed from the reading thread to the uploader (payloads are built per batch).
BATCH_ROWS = 1000


@dataclass
class ImportResult(Tally):
    """What ``import_csv`` did: rows by outcome, requests, and whether the run went to the end."""

    results: Path | None = None
    stopped: str | None = None
    """Why the run stopped before the end (credentials refused, access denied...), else None."""
    budget: float | None = None
    """Requests per minute the run was paced at; None when the API set no limit."""
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return EXIT_STOPPED
        return EXIT_ROWS_FAILED if self.invalid or self.failed else EXIT_OK

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK


def import_csv(
    path: str | Path,
    mapping: str | Path | Mapping,
    results: str | Path,
    *,
    api_url: str | None = None,
    credentials: Credentials | None = None,
    rate: float | None = None,
    budget_share: float = 0.9,
    concurrency: int | None = None,
    max_attempts: int = 5,
    include_source: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    sandbox: SandboxConfig | None = None,
    progress: Callable[[Tally], None] | None = None,
) -> ImportResult:
    """Create a Help Scout customer for every valid row of ``path``; write one results line per row.

    ``api_url`` defaults to ``HELPSCOUT_API_URL``, then https://api.helpscout.net; ``credentials``
    to the environment's (see :class:`~importer.client.Credentials`). ``rate`` is the requests per
    minute to spend; without it the budget Help Scout reports is learned from the first answer and
    ``budget_share`` of it is used. ``sandbox`` imports into a fresh in-process sandbox instead.

    Raises :class:`~importer.errors.InputError` when nothing can be attempted (options, credentials,
    mapping, file). Once sending has begun, everything is reported in the result: rows by outcome in
    the results file, and ``stopped`` when the run ended early (what finished is in the file).
    """
    pacer = Pacer(rate, share=budget_share)
    retry = RetryPolicy(max_attempts)
    if concurrency is not None and concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    workers = concurrency or default_concurrency(rate)
    if sandbox is None:
        api_url = check_api_url(api_url or os.environ.get("HELPSCOUT_API_URL") or DEFAULT_API_URL)
        credentials = credentials if credentials is not None else Credentials.from_env()
    if Path(results).resolve() == Path(path).resolve():
        raise ConfigError(f"{results} is the file being imported: write the results elsewhere")
    source, mapping = open_input(path, mapping, encoding=encoding, delimiter=delimiter)
    batches = _batches(source, mapping, include_source=include_source)
    result = ImportResult(results=Path(results), notes=list(source.warnings))

    async def run(writer: ResultsWriter) -> None:
        async with contextlib.AsyncExitStack() as stack:
            url, creds = api_url, credentials
            if sandbox is not None:
                from importer.sandbox import Sandbox

                box = await stack.enter_async_context(Sandbox(sandbox))
                url, creds = box.url, Credentials(box.app_id, box.app_secret)
            client = HelpScoutClient(url, creds, pacer=pacer, retry=retry, connections=workers)
            uploader = Uploader(
                await stack.enter_async_context(client),
                writer,
                concurrency=workers,
                progress=progress,
            )
            try:
                await uploader.run(batches)
            except ImporterError as exc:
                result.stopped = str(exc)
            finally:
                for counted in fields(Tally):
                    setattr(result, counted.name, getattr(uploader.tally, counted.name))
                result.budget = pacer.pace

    with ResultsWriter(results, source_columns=source.columns if include_source else None) as w:
        asyncio.run(run(w))
    return result


def _batches(
    source: CsvSource, mapping: Mapping, *, include_source: bool
) -> Iterator[list[Job | Outcome]]:
    """Every row in input order: a Job for each valid row, an ``invalid`` Outcome for the rest."""
    validator = Validator(mapping)
    for chunk in source:
        checked = validator.check(chunk)
        errors = _error_messages(checked.issues)
        cells = _source_cells(chunk, source) if include_source else {}
        rows = checked.rows
        for start in range(0, len(rows), BATCH_ROWS):
            part = rows[start : start + BATCH_ROWS]
            valid = part[~part.isin(checked.invalid)]
            payloads = dict(mapping.payloads(checked.mapped.loc[valid]))
            keys = {
                row: None if pd.isna(key) else key
                for row, key in zip(valid.tolist(), checked.keys.loc[valid].tolist(), strict=True)
            }
            yield [
                Job(row, payloads[row], keys[row], cells.get(row))
                if row in payloads
                else Outcome(row, "invalid", error=errors.get(row, ""), source=cells.get(row))
                for row in part.tolist()
            ]


def _error_messages(issues: pd.DataFrame) -> dict[int, str]:
    """Each invalid row's errors in one cell: ``Column: message; Column: message``."""
    errors = issues[issues["severity"] == "error"].fillna({"column": "", "field": ""})
    messages: dict[int, list[str]] = {}
    for row, column, path, message in errors[["row", "column", "field", "message"]].itertuples(
        index=False, name=None
    ):
        place = column or path
        messages.setdefault(row, []).append(f"{place}: {message}" if place else message)
    return {row: "; ".join(texts) for row, texts in messages.items()}


def _source_cells(chunk: Chunk, source: CsvSource) -> dict[int, list[str]]:
    """The row's cells as read; a ragged row's extra fields stay together in its last cell."""
    frame = chunk.frame
    cells = {
        row: list(values)
        for row, values in zip(
            frame.index.tolist(), frame.itertuples(index=False, name=None), strict=True
        )
    }
    width = len(source.columns)
    for ragged in chunk.ragged:
        fields = next(csv.reader(io.StringIO(ragged.text), delimiter=source.delimiter), [])
        if len(fields) > width:
            fields = [*fields[: width - 1], source.delimiter.join(fields[width - 1 :])]
        cells[ragged.row] = fields
    return cells
