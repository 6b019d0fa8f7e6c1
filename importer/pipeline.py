"""The library's front door: the same jobs as the command line, as functions.

``validate_csv`` reads, maps and checks a whole file and writes a report; nothing is sent.
``open_input`` and ``check_rows`` are the steps it shares with ``importer.run.import_csv``, which
lives apart so that validating never loads the HTTP client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from importer.mapping import Mapping, load_mapping
from importer.report import Summary, open_report, plural
from importer.source import CsvSource, open_csv
from importer.validate import CheckedChunk, Validator, file_warnings

Progress = Callable[[int], object]


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
    skip_lines: int | None = None,
    all_columns: bool = False,
) -> tuple[CsvSource, Mapping]:
    """Load the mapping, open the CSV and check they fit, before any row is read.

    The chunks hold only the columns the mapping reads, unless ``all_columns``.
    """
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    source = open_csv(path, encoding=encoding, delimiter=delimiter, skip_lines=skip_lines)
    mapping.bind(source.columns)
    return (source if all_columns else source.select(mapping.columns)), mapping


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
    skip_lines: int | None = None,
    show: int = 0,
    keep_issues: int = 20,
    progress: Progress | None = None,
) -> ValidationResult:
    """Map and check every row of ``path``; write the report (format from its suffix)."""
    source, mapping = open_input(
        path, mapping, encoding=encoding, delimiter=delimiter, skip_lines=skip_lines
    )
    summary = Summary(
        file=str(path),
        mapping=str(mapping.path),
        encoding=source.encoding,
        delimiter=source.delimiter,
        notes=[*source.warnings, *file_warnings(mapping, source.sample())],
    )
    writer = open_report(report) if report else None
    result = ValidationResult(summary, Path(report) if report else None)
    kept: list[pd.DataFrame] = []
    try:
        for checked in check_rows(source, mapping):
            summary.rows += len(checked.rows)
            summary.invalid += len(checked.invalid)
            summary.apostrophes_removed += checked.apostrophes
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
    except KeyboardInterrupt:
        summary.notes.append(f"interrupted: only the first {summary.rows:,} rows were checked")
        raise
    finally:
        summary.valid = summary.rows - summary.invalid
        if summary.apostrophes_removed:
            summary.notes.append(
                f"{plural(summary.apostrophes_removed, 'leading apostrophe')} removed (the "
                "mark spreadsheets put before a number kept as text, as in '02134): the values "
                "are sent without it"
            )
        if writer:
            writer.close(summary)
    if kept:
        result.first_issues = pd.concat(kept, ignore_index=True).head(keep_issues)
    return result
