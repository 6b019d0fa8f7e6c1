"""The library's front door: the command line's jobs as functions.

``validate_csv`` reads, maps and checks every row of a file and writes a report; nothing is sent.
``import_csv`` creates a customer for every valid row, exactly once, and writes the results. Each
takes the file, the mapping and one options object (:mod:`importer.core.options`); callbacks,
credentials and the sandbox's configuration are keyword arguments. Both go the same way: the
output guard first (:func:`~importer.core.files.check_outputs`), then :func:`open_input` (the
mapping and the input bound to each other before any row is read), then the one loop over the
rows, :func:`~importer.check.validate.check_rows`: validating counts and reports what it yields;
importing sends it over a :class:`~importer.jobs.context.JobContext` with the steps of
:mod:`importer.jobs.importing`, imported inside ``import_csv`` only: validating never loads
aiohttp (about 0.25 s and 24 MB on its own).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from importer.check.validate import check_rows, file_warnings
from importer.core.errors import EXIT_STOPPED, ConfigError, ImporterError
from importer.core.files import Named, check_outputs
from importer.core.issues import RowWarnings, apostrophe_note
from importer.core.options import (
    DEFAULT_IMPORT,
    DEFAULT_READ,
    DEFAULT_VALIDATE,
    ImportOptions,
    ReadOptions,
    ValidateOptions,
    allowed_invalid,
    output_flags,
)
from importer.mapping import Mapping, load_mapping
from importer.outputs.rejects import RejectsWriter
from importer.outputs.report import Summary, open_report
from importer.read import Source, open_source
from importer.send.ledger import state_files
from importer.send.results import RUN_STATUSES, cannot_write

if TYPE_CHECKING:
    from importer.jobs.context import JobContext
    from importer.outputs.results_report import ResultsReport
    from importer.sandbox import SandboxConfig
    from importer.send.auth import Credentials
    from importer.send.client import HelpScoutClient
    from importer.send.requestlog import RequestLog
    from importer.send.results import Outcome
    from importer.send.tally import ImportResult, Tally

__all__ = ["ValidationResult", "import_csv", "inputs_of", "open_input", "validate_csv"]

Progress = Callable[[int], object]


@dataclass
class ValidationResult:
    """What ``validate_csv`` found."""

    summary: Summary
    report: Path | None = None
    rejects: Path | None = None
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
    options: ReadOptions = DEFAULT_READ,
    *,
    all_columns: bool = False,
) -> tuple[Source, Mapping]:
    """Load the mapping, open the input (any format :func:`~importer.read.open_source` reads)
    and check they fit, before any row is read.

    The chunks hold only the columns the mapping reads, unless ``all_columns``.
    """
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    source = open_source(path, options)
    mapping.bind(source.columns)
    return (source if all_columns else source.select(mapping.columns)), mapping


def inputs_of(path: str | Path, mapping: str | Path | Mapping) -> list[Named]:
    """The files a command reads, named as its options, for the output guard."""
    return [
        ("FILE", path),
        ("--mapping", mapping.path if isinstance(mapping, Mapping) else mapping),
    ]


def validate_csv(
    path: str | Path,
    mapping: str | Path | Mapping,
    options: ValidateOptions | None = None,
    *,
    progress: Progress | None = None,
) -> ValidationResult:
    """Map and check every row of ``path``; write the report (``options.report``, the format
    from its suffix), and the invalid rows to ``options.rejects`` (see
    :mod:`importer.outputs.rejects`).

    The report and the rejects may be neither the CSV, nor the mapping, nor each other
    (:func:`~importer.core.files.check_outputs`). ``progress`` hears the rows of each chunk checked.
    Raises :class:`~importer.core.errors.InputError` when the file or the mapping is unusable.
    """
    options = options or DEFAULT_VALIDATE
    report, rejects = options.report, options.rejects
    keep_issues, show = options.keep_issues, options.show
    check_outputs(inputs_of(path, mapping), output_flags(options))
    source, mapping = open_input(path, mapping, options, all_columns=rejects is not None)
    summary = Summary(
        file=str(path),
        mapping=str(mapping.path),
        encoding=source.encoding,
        delimiter=source.delimiter,
        notes=[*source.warnings, *file_warnings(mapping, source.sample())],
    )
    writer = open_report(report, key_name=mapping.key_name) if report else None
    rejected = RejectsWriter(rejects, source.columns) if rejects else None
    result = ValidationResult(summary, Path(report) if report else None,
                              rejects=Path(rejects) if rejects else None)  # fmt: skip
    kept: list[pd.DataFrame] = []
    try:
        for chunk, checked in check_rows(source, mapping):
            summary.rows += len(checked.rows)
            summary.invalid += len(checked.invalid)
            summary.apostrophes_removed += checked.apostrophes
            summary.add(checked.issues)
            if writer:
                writer.add(checked)
            if rejected:
                rejected.add_checked(chunk, checked)
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
        summary.notes += source.late_warnings
        if summary.apostrophes_removed:
            summary.notes.append(apostrophe_note(summary.apostrophes_removed))
        if writer:
            writer.close(summary)
        if rejected:
            rejected.close()
    if kept:
        result.first_issues = pd.concat(kept, ignore_index=True).head(keep_issues)
    return result


def import_csv(
    path: str | Path,
    mapping: str | Path | Mapping,
    results: str | Path,
    options: ImportOptions | None = None,
    *,
    credentials: Credentials | None = None,
    sandbox: SandboxConfig | None = None,
    progress: Callable[[Tally], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import every valid row of ``path`` exactly once; write one results line per row.

    Where to send (``options.api_url``) defaults to ``HELPSCOUT_API_URL``, then
    https://api.helpscout.net; ``credentials`` to the environment's (see
    :class:`~importer.send.auth.Credentials`). ``options.rate`` is the requests per minute to
    spend; without it the budget Help Scout reports is learned from the first answer and
    ``options.budget_share`` of it is used. ``sandbox`` imports into a fresh in-process sandbox
    instead (with a throwaway ledger unless ``options.state`` is given).

    The ledger (``options.state``, default :func:`~importer.jobs.importing.state_path_of`: beside
    ``results``, named after the mapping and the destination) makes the same call resume a run
    that stopped, and a later call a re-run: see :mod:`importer.send.upload` for what happens to
    each row, ``on_existing`` (skip, update), ``check_existing`` and ``retry_failed``.
    ``duplicates`` says what to do with rows whose key an earlier row has: ``error`` (invalid, as
    the validator reports), ``first`` (import the first, skip the others) or ``last`` (import the
    last; costs a first pass over the file). ``request_timeout`` bounds each request,
    ``row_timeout`` each row's requests in all (a row past it ends ``failed``, kept in flight for
    the next run). ``settle_time``: seconds after a create whose fate is unknown before a look-up
    that finds nobody is believed (see :func:`~importer.send.upload.after_look_up`). ``report``
    writes the results report there (HTML, :mod:`importer.outputs.results_report`); ``rejects`` the
    rows to fix (:mod:`importer.outputs.rejects`): the invalid ones and those Help Scout refused.

    ``progress`` hears the tally as rows end; ``notice`` one-line messages while the run goes (a
    stop under way).

    Raises :class:`~importer.core.errors.InputError` when nothing can be attempted (credentials,
    mapping, file, a state file in use by another run). Once sending has begun, everything is
    reported in the result: rows by outcome in the results file, and ``stopped`` when the run
    ended early (what finished is in the results and the ledger; the same call resumes).
    """
    from importer.jobs import context, importing  # the sending side: see the module's docstring
    from importer.send.tally import ImportResult

    options = options or DEFAULT_IMPORT
    to = context.BUILT_IN_SANDBOX.api_url if sandbox else importing.api_url_of(options.api_url)
    state_path, former = importing.state_path_of(options.state, results, path, mapping, to)
    if former and notice is not None:
        notice(former)
    kept_state = state_files(state_path) if sandbox is None or options.state else []
    # the state's files are named by its path: a state given, or the default, which may differ
    outputs = [("--output", results), *kept_state, *output_flags(options, but={"state"})]
    check_outputs(inputs_of(path, mapping), outputs)
    result = ImportResult(
        results=Path(results),
        started=datetime.now(UTC),
        summary=None if options.summary_json is None else Path(options.summary_json),
    )
    with _summarised(options, result, path, mapping):
        _import(path, mapping, results, options, result, state_path, credentials=credentials,
                sandbox=sandbox, progress=progress, notice=notice)  # fmt: skip
    return result


@contextlib.contextmanager
def _summarised(
    options: ImportOptions, result: ImportResult, path: str | Path, mapping: str | Path | Mapping
) -> Iterator[None]:
    """Write the summary (``--summary-json``) however the import ends: a refusal's or an
    interruption's exit code and error with it; a bug writes none."""
    from importer.outputs.summary import summary_of, write_summary

    ended: tuple[int | None, str | None] | None = None  # (exit code, error); None: a bug
    try:
        yield
        ended = (None, None)
    except ImporterError as exc:
        ended = (exc.exit_code, str(exc))
        raise
    except KeyboardInterrupt:
        ended = (EXIT_STOPPED, "interrupted before anything was sent")
        raise
    finally:
        result.finished = datetime.now(UTC)
        if options.summary_json is not None and ended is not None:
            code, error = ended
            where = mapping.path if isinstance(mapping, Mapping) else mapping
            document = summary_of(result, file=path, mapping=where, exit_code=code, error=error)
            try:
                write_summary(options.summary_json, document)
            except ConfigError as exc:  # the run is over: say so, keep its exit code
                result.notes.append(str(exc))


def _import(
    path: str | Path,
    mapping: str | Path | Mapping,
    results: str | Path,
    options: ImportOptions,
    result: ImportResult,
    state_path: Path,
    *,
    credentials: Credentials | None,
    sandbox: SandboxConfig | None,
    progress: Callable[[Tally], None] | None,
    notice: Callable[[str], None] | None,
) -> None:
    """import_csv once its outputs are known to be apart: fills ``result`` in."""
    from importer.jobs.context import JobContext
    from importer.outputs.results_report import api_host
    from importer.send.requestlog import RequestLog

    with JobContext(options, credentials=credentials, sandbox=sandbox, notice=notice) as job:
        result.api = "sandbox" if sandbox is not None else api_host(job.api_url)
        source, mapping = open_input(path, mapping, options, all_columns=_all_cells(options))
        result.notes += [*source.warnings, *file_warnings(mapping, source.sample())]
        log = None
        if options.log_file is not None:  # opened first: an unwritable one stops the run here
            log = job.enter_context(RequestLog(options.log_file))
        if sandbox is not None and options.state is None:
            state_path = Path(job.enter_context(tempfile.TemporaryDirectory())) / "state.sqlite"
        else:
            result.state = state_path
        # The lock first: a second run on the same state must not touch the first one's results.
        job.open_ledger(state_path, source=str(path))
        sending = _Sending(job, str(path), source, mapping, Path(results), result, log, progress)
        job.run(sending.send, on_exchange=log)
        sending.finish()


def _all_cells(options: ImportOptions) -> bool:
    """Whether the import keeps each row's cells as read: for the results or the rejects."""
    return options.include_source or options.rejects is not None


class _Sending:
    """The import's run over its job: the checks, the listeners of the results lines, the rows
    sent, then what the run recorded."""

    def __init__(
        self,
        job: JobContext,
        path: str,
        source: Source,
        mapping: Mapping,
        results: Path,
        result: ImportResult,
        log: RequestLog | None,
        progress: Callable[[Tally], None] | None,
    ) -> None:
        from importer.outputs.summary import Reasons

        assert job.ledger is not None and isinstance(job.options, ImportOptions)
        self.job, self.ledger, self.options = job, job.ledger, job.options
        self.path, self.source, self.mapping, self.results = path, source, mapping, results
        self.result, self.log, self.progress = result, log, progress
        self.reasons = Reasons()
        self.listeners: list[Callable[[Outcome], None]] = [self.reasons.add]
        self.reporting: ResultsReport | None = None
        self.rejected: RejectsWriter | None = None
        self.warned = RowWarnings()

    async def send(self, client: HelpScoutClient) -> None:
        from importer.jobs import importing
        from importer.send.results import ResultsWriter

        job, ledger, options, result = self.job, self.ledger, self.options, self.result
        told = options
        if job.sandbox is None:  # the built-in one is empty
            told = await importing.check_existing_of(client, ledger, options, job.notice)
        if result.state is not None:
            # a new state the importer may decide for: it looks up, or the account is empty
            looks = bool(told.check_existing) or (options.check_existing is None and ledger.is_new)
            importing.check_state_is_whole(ledger, self.results, looks, job.notice)
        self._listen()
        batches = importing.row_batches(
            self.source, self.mapping, include_source=_all_cells(options),
            duplicates=options.duplicates, warnings=self.warned,
            on_checked=self.reporting.checked if self.reporting is not None else None,
        )  # fmt: skip
        run = ledger.begin_run(self.source.fingerprint)
        result.resumed = run.resuming
        ledger.record_results(self.results.resolve())
        if self.mapping.path:
            ledger.record_mapping(self.mapping.path)
        if self.log is not None:
            self.log.run = run.id
        columns = self.source.columns if options.include_source else None
        shown = self._progressed if options.report or self.progress else None
        with ResultsWriter(self.results, source_columns=columns,
                           observers=self.listeners) as writer:  # fmt: skip
            await importing.send_rows(batches, self.mapping, writer, ledger, result, told,
                                      client=client, notice=job.notice,
                                      progress=shown)  # fmt: skip

    def _listen(self) -> None:
        """The results report and the rejects listen to every results line."""
        from importer.outputs.results_report import ResultsReport

        options, job = self.options, self.job
        if options.report is not None:
            shown = "the built-in sandbox" if job.sandbox is not None else str(self.result.api)
            self.reporting = ResultsReport(options.report, file=self.path,
                                           mapping=str(self.mapping.path), api=shown,
                                           key_name=self.mapping.key_name)  # fmt: skip
            job.callback(self.reporting.discard)
            self.listeners.append(self.reporting.add)
        if options.rejects is not None:
            rejects = RejectsWriter(options.rejects, self.source.columns,
                                    delimiter=self.source.delimiter)  # fmt: skip
            self.rejected = job.enter_context(rejects)
            self.listeners.append(self.rejected.add)

    def _progressed(self, tally: Tally) -> None:
        if self.reporting is not None:
            self.reporting.sample(tally)
        if self.progress is not None:
            self.progress(tally)

    def finish(self) -> None:
        """What the run did, into the result and the ledger (a report that cannot be written
        stops the run: the same command resumes and writes it)."""
        result, ledger, log = self.result, self.ledger, self.log
        result.invalid_allowed = allowed_invalid(self.options.max_invalid, result.rows)
        result.reasons = self.reasons.by_status()
        result.notes += self.warned.notes()
        result.notes += self.source.late_warnings
        result.dropped = self.warned.dropped
        unwritten = None
        if self.reporting is not None:
            try:
                self.reporting.close(result)
                result.report = self.reporting.path
            except OSError as exc:
                unwritten = cannot_write("--report", self.reporting.path, exc)
                result.stopped = str(unwritten)
        counts: dict[str, int] = {s: getattr(result, s) for s in RUN_STATUSES}
        ledger.record_outcome(counts, result.exit_code)
        ledger.finish_run("stopped" if result.stopped else "finished")
        if unwritten is not None:
            raise unwritten
        if self.rejected is not None:
            result.rejects, result.rejected = self.rejected.path, self.rejected.written
        if log is not None:
            log.close()
            result.log = log.path
            if log.failure:
                result.notes.append(log.failure)
