"""The ``run`` command's library form: ``import_csv`` creates a customer for every valid row.

It checks rows as ``validate_csv`` does (``importer.pipeline``), plans each row against the ledger,
uploads with the client, and writes the results file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from importer.client import (
    DEFAULT_API_URL,
    REQUEST_TIMEOUT,
    Credentials,
    HelpScoutClient,
    RetryPolicy,
    check_api_url,
)
from importer.errors import (
    EXIT_OK,
    EXIT_ROWS_FAILED,
    EXIT_STOPPED,
    ApiError,
    AuthError,
    CertificateError,
    ConfigError,
    ImporterError,
    MappingError,
    TransportError,
)
from importer.ledger import (
    GO_ON,
    DamagedStateError,
    Ledger,
    default_state_path,
    payload_hash,
    state_files,
)
from importer.mapping import Mapping
from importer.outputs import check_outputs
from importer.pacing import DEFAULT_HEADROOM, DEFAULT_SHARE, Pacer
from importer.pipeline import inputs_of, open_input
from importer.rejects import RejectsWriter, ragged_cells, row_errors
from importer.results import Outcome, ResultsWriter, listed_customers
from importer.results_report import ResultsReport, api_host
from importer.source import Chunk, CsvSource
from importer.upload import (
    ROW_TIMEOUT,
    SETTLE_TIME,
    Job,
    Policy,
    Tally,
    Uploader,
    default_concurrency,
)
from importer.validate import SeenKeys, Validator, file_warnings, hash_keys

if TYPE_CHECKING:
    from importer.sandbox import SandboxConfig


# --- import ----------------------------------------------------------------------------------
#: Rows per batch handed from the reading thread to the uploader (payloads are built per batch).
BATCH_ROWS = 1000
DUPLICATES = ("error", "first", "last")
ON_EXISTING = ("skip", "update")


@dataclass
class ImportResult(Tally):
    """What ``import_csv`` did: rows by outcome, requests, and whether the run went to the end."""

    results: Path | None = None
    state: Path | None = None
    """The ledger the run kept (None: a throwaway one, for the built-in sandbox)."""
    resumed: bool = False
    """The run continued an import that had stopped before its end."""
    stopped: str | None = None
    """Why the run stopped before the end (interrupted, credentials refused...), else None."""
    interrupted: bool = False
    """Stopped by Ctrl-C or SIGTERM."""
    budget: float | None = None
    """The most the run allowed itself a minute (``rate``, or ``budget_share`` of the limit
    Help Scout reported); None when neither was known (no pacing)."""
    notes: list[str] = field(default_factory=list)
    report: Path | None = None
    """The results report written (``report=``), if any."""
    rejects: Path | None = None
    """The rejects file written (``rejects=``), if any, and how many rows it holds."""
    rejected: int = 0

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
    budget_share: float = DEFAULT_SHARE,
    headroom: float = DEFAULT_HEADROOM,
    concurrency: int | None = None,
    max_attempts: int = 5,
    include_source: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    skip_lines: int | None = None,
    state: str | Path | None = None,
    on_existing: str = "skip",
    check_existing: bool = False,
    duplicates: str = "error",
    retry_failed: bool = False,
    request_timeout: float = REQUEST_TIMEOUT,
    row_timeout: float = ROW_TIMEOUT,
    settle_time: float = SETTLE_TIME,
    sandbox: SandboxConfig | None = None,
    progress: Callable[[Tally], None] | None = None,
    notice: Callable[[str], None] | None = None,
    report: str | Path | None = None,
    rejects: str | Path | None = None,
) -> ImportResult:
    """Import every valid row of ``path`` exactly once; write one results line per row.

    ``api_url`` defaults to ``HELPSCOUT_API_URL``, then https://api.helpscout.net; ``credentials``
    to the environment's (see :class:`~importer.client.Credentials`). ``rate`` is the requests per
    minute to spend at most; without it the budget Help Scout reports is learned from the first
    answer and ``budget_share`` of it is used. Either way the run yields to the account's other
    clients (agents, integrations), leaving them ``headroom`` of the budget free (see
    :mod:`importer.pacing`). ``sandbox`` imports into a fresh in-process sandbox instead
    (with a throwaway ledger unless ``state`` is given).

    The ledger (``state``, default :func:`~importer.ledger.default_state_path`: beside
    ``results``, named after ``path``)
    makes the same call resume a run that stopped, and a later call a re-run: see
    :mod:`importer.upload` for what happens to each row, ``on_existing`` (skip, update),
    ``check_existing`` and ``retry_failed``. ``duplicates`` says what to do with rows whose key an
    earlier row has: ``error`` (invalid, as the validator reports), ``first`` (import the first,
    skip the others) or ``last`` (import the last; costs a first pass over the file).
    ``notice`` hears one-line messages while the run goes (a stop under way).
    ``request_timeout`` bounds each request, ``row_timeout`` each row's requests in all (a row
    past it ends ``failed``, kept in flight for the next run). ``settle_time``: seconds after a
    create whose fate is unknown before a look-up that finds nobody is believed (see
    :func:`~importer.decide.after_look_up`).
    ``report`` writes the results report there (HTML, :mod:`importer.results_report`); ``rejects``
    the rows to fix (:mod:`importer.rejects`): the invalid ones and those Help Scout refused.

    Raises :class:`~importer.errors.InputError` when nothing can be attempted (options, credentials,
    mapping, file, a state file in use by another run). Once sending has begun, everything is
    reported in the result: rows by outcome in the results file, and ``stopped`` when the run ended
    early (what finished is in the results and the ledger; the same call resumes).
    """
    state_path = Path(state) if state is not None else default_state_path(results, path)
    kept_state = state_files(state_path) if sandbox is None or state is not None else []
    check_outputs(
        inputs_of(path, mapping),
        [("--output", results), *kept_state, ("--report", report), ("--rejects", rejects)],
    )
    pacer = Pacer(rate, share=budget_share, headroom=headroom)
    retry = RetryPolicy(max_attempts)
    if concurrency is not None and concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    if duplicates not in DUPLICATES:
        raise ConfigError(f"--duplicates must be one of {', '.join(DUPLICATES)}")
    if not 0 <= settle_time < float("inf"):
        raise ConfigError("--settle-time must be 0 or more seconds")
    if on_existing not in ON_EXISTING:
        raise ConfigError(f"--on-existing must be one of {', '.join(ON_EXISTING)}")
    policy = Policy(on_existing, check_existing, retry_failed)  # type: ignore[arg-type]
    workers = concurrency or default_concurrency(rate)
    if sandbox is None:
        api_url = check_api_url(api_url or os.environ.get("HELPSCOUT_API_URL") or DEFAULT_API_URL)
        credentials = credentials if credentials is not None else Credentials.from_env()
    source, mapping = open_input(path, mapping, encoding=encoding, delimiter=delimiter,
                                 skip_lines=skip_lines,
                                 all_columns=include_source or rejects is not None)  # fmt: skip
    notes = [*source.warnings, *file_warnings(mapping, source.sample())]
    result = ImportResult(results=Path(results), notes=notes)
    listeners: list[Callable[[Outcome], None]] = []
    reporting: ResultsReport | None = None

    def progressed(tally: Tally) -> None:
        if reporting is not None:
            reporting.sample(tally)
        if progress is not None:
            progress(tally)

    async def run(writer: ResultsWriter, ledger: Ledger) -> None:
        async with contextlib.AsyncExitStack() as stack:
            url, creds = api_url or DEFAULT_API_URL, credentials
            if sandbox is not None:
                from importer.sandbox import Sandbox

                box = await stack.enter_async_context(Sandbox(sandbox))
                url, creds = box.url, Credentials(box.app_id, box.app_secret)
            client = await stack.enter_async_context(
                HelpScoutClient(
                    url,
                    creds,
                    pacer=pacer,
                    retry=retry,
                    connections=workers,
                    timeout=request_timeout,
                )
            )
            if mapping.properties:
                await check_properties(client, mapping, notice)
            uploader = Uploader(
                client,
                writer,
                ledger,
                concurrency=workers,
                policy=policy,
                progress=progressed if report or progress else None,
                notice=notice,
                row_timeout=row_timeout,
                settle_time=settle_time,
            )
            try:
                await uploader.run(batches)
            except ImporterError as exc:
                result.stopped = str(exc)
            finally:
                for counted in fields(Tally):
                    setattr(result, counted.name, getattr(uploader.tally, counted.name))
                result.budget = pacer.ceiling
                result.interrupted = uploader.interrupted

    with contextlib.ExitStack() as stack:
        if sandbox is not None and state is None:
            state_path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "state.sqlite"
        else:
            result.state = state_path
        # The lock first: a second run on the same state must not touch the first one's results.
        ledger = stack.enter_context(Ledger.open(state_path, source=str(path)))
        if result.state is not None:
            _check_state_is_whole(ledger, Path(results), check_existing, notice)
        # --- the report and the rejects listen to every results line
        if report is not None:
            where = "the built-in sandbox" if sandbox is not None else api_host(api_url or "")
            reporting = ResultsReport(report, file=str(path), mapping=str(mapping.path), api=where)
            stack.callback(reporting.discard)
            listeners.append(reporting.add)
        if rejects is not None:
            rejected = stack.enter_context(
                RejectsWriter(rejects, source.columns, delimiter=source.delimiter)
            )
            listeners.append(rejected.add)
        # ---
        batches = row_batches(source, mapping, include_source=include_source or rejects is not None,
                              duplicates=duplicates)  # fmt: skip
        result.resumed = ledger.begin_run(_fingerprint(Path(path))).resuming
        ledger.record_results(Path(results).resolve())
        columns = source.columns if include_source else None
        with ResultsWriter(results, source_columns=columns, observers=listeners) as writer:
            asyncio.run(run(writer, ledger))
        ledger.finish_run("stopped" if result.stopped else "finished")
        if reporting is not None:
            reporting.close(result)
            result.report = reporting.path
        if rejects is not None:
            result.rejects, result.rejected = rejected.path, rejected.written
    return result


def _check_state_is_whole(
    ledger: Ledger, results: Path, check_existing: bool, notice: Callable[[str], None] | None
) -> None:
    """Stop (DamagedStateError, exit 2) when a results file of this import lists customers the
    state does not know: the state was deleted, emptied or damaged (a lost WAL) since, and
    trusting it would create them again. ``--check-existing`` goes on: it looks every row up.

    The results files of "this import": the one the state's latest run recorded writing (it
    may have another name than ``results``: nightly runs), and, when the state is new (missing
    or emptied), ``results`` itself, the file this run is about to overwrite.
    """
    candidates = ledger.results_files() + ([results.resolve()] if ledger.is_new else [])
    for listed in dict.fromkeys(candidates):
        if not listed.is_file():
            continue
        count, first = ledger.unknown_customers(listed_customers(listed))
        if not count:
            continue
        examples = ", ".join(f"row {row}: customer {cid}" for row, cid in first)
        what = (
            f"the state file {ledger.path} does not know {count:,} "
            f"customer{'s' if count != 1 else ''} that {listed} lists ({examples}"
            f"{', ...' if count > len(first) else ''})"
        )
        if check_existing:
            if notice:
                notice(f"{what}: --check-existing looks every row up before creating it")
            return
        raise DamagedStateError(
            f"{what}: it was deleted, emptied or damaged since, and importing now could create "
            f"them again; {GO_ON} (or, if {listed.name} is from another import, move it away)"
        )


async def check_properties(
    client: HelpScoutClient, mapping: Mapping, notice: Callable[[str], None] | None
) -> None:
    """Refuse, before any create, a mapping that fills properties the account does not have:
    Help Scout would answer 400 to every row. An account whose definitions cannot be read, or
    that lists none (an older API, a proxy, a stand-in server), is not refused: the rows will say
    what Help Scout thinks, and refused credentials are met again, and reported, by the first
    create."""
    try:
        definitions = {d.get("slug"): d for d in await client.customer_properties()}
    except (ApiError, TransportError) as exc:
        if isinstance(exc, CertificateError):
            raise
        if notice and not isinstance(exc, AuthError):
            notice(f"could not read the account's customer properties ({exc}): sending anyway")
        return
    if not definitions:
        if notice:
            notice("the account lists no customer properties: sending anyway")
        return
    missing = sorted(set(mapping.properties) - set(definitions))
    if missing:
        known = ", ".join(sorted(str(slug) for slug in definitions)) or "none"
        raise MappingError(
            f"properties: {', '.join(missing)} {'is not a' if len(missing) == 1 else 'are not'} "
            f"customer {'property' if len(missing) == 1 else 'properties'} of this Help Scout "
            f"account (it has: {known}): create {'it' if len(missing) == 1 else 'them'} in Help "
            "Scout (Manage > Company > Customer Properties) or take "
            f"{'it' if len(missing) == 1 else 'them'} out of the mapping",
            path=str(mapping.path),
        )
    for slug, prop in mapping.properties.items():
        kind = definitions[slug].get("type")
        if notice and kind and kind != prop.type:
            notice(f"property {slug} is {kind} in the account but {prop.type} in the mapping")


def _fingerprint(path: Path) -> str:
    """The source file's size and modification time, recorded with each run."""
    info = path.stat()
    return f"size={info.st_size} mtime_ns={info.st_mtime_ns}"


def row_batches(
    source: CsvSource, mapping: Mapping, *, include_source: bool = False, duplicates: str = "error"
) -> Iterator[list[Job]]:
    """Every row of ``source`` as the import sees it, in input order and batches (see
    :func:`_batches`); with ``duplicates="last"``, a first pass finds the rows later ones replace
    (:func:`_superseded`) before this returns."""
    superseded = _superseded(source, mapping) if duplicates == "last" else {}
    return _batches(source, mapping, include_source=include_source, duplicates=duplicates,
                    superseded=superseded)  # fmt: skip


def _batches(
    source: CsvSource,
    mapping: Mapping,
    *,
    include_source: bool,
    duplicates: str = "error",
    superseded: dict[int, int] | None = None,
) -> Iterator[list[Job]]:
    """Every row in input order, as a Job: what :func:`~importer.decide.decide` needs of it.

    A row's key is the mapping's (``Mapping.key_of``); a row without one is keyed by its payload's
    hash, so that it too is imported once. An invalid row's Job says so (``valid``, and the
    validator's messages as ``error``). A valid row whose key an earlier valid row had names it
    (``duplicate_of``); with ``duplicates="last"``, so does a row ``superseded`` names (the row a
    later one replaces, see :func:`_superseded`).
    """
    validator = Validator(mapping, duplicates=duplicates)
    seen = SeenKeys()
    superseded = superseded or {}
    same = f"the same {mapping.key_name} as row"
    for chunk in source:
        checked = validator.check(chunk)
        errors = row_errors(checked.issues).to_dict()
        cells = _source_cells(chunk, source) if include_source else {}
        rows = checked.rows
        for start in range(0, len(rows), BATCH_ROWS):
            part = rows[start : start + BATCH_ROWS]
            valid = part[~part.isin(checked.invalid)]
            keys = checked.keys.loc[valid].tolist()
            jobs: dict[int, Job] = {}
            for (row, payload), key in zip(mapping.payloads(checked.mapped.loc[valid]), keys,
                                           strict=True):  # fmt: skip
                digest = payload_hash(payload)
                key = f"#payload:{digest}" if pd.isna(key) else key
                jobs[row] = Job(row, payload, key, cells.get(row), digest)
            earlier = _earlier_rows(seen, [j for j in jobs.values() if j.row not in superseded])
            batch: list[Job] = []
            for row in part.tolist():
                job = jobs.get(row)
                if job is None:
                    job = Job(row, {}, "", cells.get(row), valid=False, error=errors.get(row, ""))
                elif row in superseded or row in earlier:
                    job.duplicate_of = superseded.get(row) or earlier[row]
                    job.error = f"{same} {job.duplicate_of}"
                batch.append(job)
            yield batch


def _earlier_rows(seen: SeenKeys, jobs: list[Job]) -> dict[int, int]:
    """The jobs whose key an earlier job of the run had: row -> that earlier row."""
    if not jobs:
        return {}
    rows = np.array([job.row for job in jobs], dtype="int64")
    first = seen.first_rows(hash_keys([job.key for job in jobs]), rows)
    return {int(r): int(f) for r, f in zip(rows[first > 0], first[first > 0], strict=True)}


def _superseded(source: CsvSource, mapping: Mapping) -> dict[int, int]:
    """For ``--duplicates last``: each valid row whose key a later valid row has -> the last one.

    A first pass over the file that keeps only 64-bit key hashes and row numbers (16 bytes a row).
    """
    validator = Validator(mapping, duplicates="last")
    hashes, rows = [], []
    for chunk in source:
        checked = validator.check(chunk)
        keys = checked.keys.loc[checked.valid_rows].dropna()
        hashes.append(hash_keys(keys.tolist()))
        rows.append(keys.index.to_numpy(dtype="int64"))
    if not hashes:
        return {}
    h, r = np.concatenate(hashes), np.concatenate(rows)
    order = np.lexsort((r, h))
    h, r = h[order], r[order]
    ends = np.flatnonzero(np.r_[h[1:] != h[:-1], True])  # the last row of each key
    last = r[ends[np.searchsorted(ends, np.arange(len(h)))]]
    earlier = last != r
    return dict(zip(r[earlier].tolist(), last[earlier].tolist(), strict=True))


def _source_cells(chunk: Chunk, source: CsvSource) -> dict[int, list[str]]:
    """The row's cells as read; a ragged row's extra fields stay together in its last cell."""
    frame = chunk.frame
    cells = {
        row: list(values)
        for row, values in zip(
            frame.index.tolist(), frame.itertuples(index=False, name=None), strict=True
        )
    }
    for ragged in chunk.ragged:
        cells[ragged.row] = ragged_cells(ragged, len(source.columns), source.delimiter)
    return cells
