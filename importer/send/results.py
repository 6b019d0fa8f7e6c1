"""The results CSV: one line per input row, in input order, written as rows finish.

Columns: ``row,status,customer_id,http_status,error,log_ref,attempts`` (the DESIGN contract), then
``reason`` (why a row was ``skipped``, or what a plan would do: :mod:`importer.send.decide`), then,
with ``source_columns``, the row's own cells under the input's header names (a name that is one of
ours gets ``source.``), so the file can be filtered, fixed and imported again. A plan's lines
(``planned``) and an undo's (``deleted``, ``kept``, ``failed``) have the same shape. Rows finish
out of order, so :class:`ResultsWriter` keeps a reorder buffer: a line is written, and flushed, once
every earlier row is, so a crash leaves a valid CSV. Cells go through :mod:`importer.core.safecsv`
and hold no token or secret (:mod:`importer.core.redact`). See docs/internals.md#reports.
"""

from __future__ import annotations

import contextlib
import csv
import functools
from collections import deque
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from importer.core.errors import ConfigError, OutputError
from importer.core.files import open_private
from importer.core.redact import redact
from importer.core.safecsv import SafeCsvWriter

RESULT_COLUMNS = ["row", "status", "customer_id", "http_status", "error", "log_ref", "attempts"]
EXTRA_COLUMNS = ["reason"]
SOURCE_PREFIX = "source."
#: What to do about rows skipped as ``changed`` (said on their results line and at the end).
CHANGED_HINT = "--on-existing update sends what differs"
Status = Literal["created", "updated", "skipped", "invalid", "failed", "not_sent", "unknown",
                 "planned", "deleted", "kept"]  # fmt: skip
#: The statuses an import's rows end in (DESIGN's five; the others are a plan's and an undo's).
IMPORT_STATUSES: tuple[Status, ...] = ("created", "updated", "skipped", "invalid", "failed")
#: With the two a run's rows may end in besides: ``not_sent`` (the run stopped before the row;
#: the same command sends it) and ``unknown`` (its create got no certain answer and it has no
#: email to look it up by: never sent again without ``--retry-unknown``).
RUN_STATUSES: tuple[Status, ...] = (*IMPORT_STATUSES, "not_sent", "unknown")


@dataclass
class Outcome:
    """How one input row ended: a line of the results CSV, its columns in this order."""

    row: int
    """The 1-based data row of the input (the header not counted)."""
    status: Status
    """One of :data:`RUN_STATUSES` (a plan's and an undo's have their own)."""
    customer_id: str | None = None
    """The customer Help Scout created, updated or already had for the row."""
    http_status: int | None = None
    """The status of the row's last answer from the API (none: nothing was sent)."""
    error: str = ""
    """What went wrong, or what to do about it, in one line (never a token)."""
    log_ref: str | None = None
    """Help Scout's ``logRef`` of a failed answer, to quote to its support."""
    attempts: int = 0
    """Requests sent for the row, retries included."""
    reason: str = ""
    """Why a row was skipped: unchanged, changed, exists, duplicate or not-retried."""
    source: Sequence[str] | None = None
    """The row's cells as read from the CSV (only with ``--include-source``)."""

    def cells(self) -> list[object]:
        return [
            self.row,
            self.status,
            self.customer_id or "",
            self.http_status or "",
            self.error,
            self.log_ref or "",
            self.attempts,
            self.reason,
        ]


def cannot_write(what: str, path: str | Path | None, exc: OSError) -> OutputError:
    """The one line for an output the system refused to write (disk full, quota, file size)."""
    where = f"{what} {path}" if path else what
    return OutputError(
        f"cannot write {where}: {exc.strerror or exc}: make room, then run the same command "
        "(what finished is in the state: it resumes)"
    )


def header(source_columns: Sequence[str] | None = None) -> list[str]:
    """The results file's header, with the source's columns when they are included."""
    own = RESULT_COLUMNS + EXTRA_COLUMNS
    taken = set(own)
    return own + [SOURCE_PREFIX + c if c in taken else c for c in source_columns or ()]


def listed_customers(
    path: str | Path, statuses: Container[str] | None = None
) -> Iterator[tuple[int, str]]:
    """(row, customer id) of every line of a results file that names a customer (with
    ``statuses``: whose status is one of them), streamed; a line cut short (a killed run's last)
    or not a results line is passed over."""
    with Path(path).open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if header[: len(RESULT_COLUMNS)] != RESULT_COLUMNS:
            return
        at, status = RESULT_COLUMNS.index("customer_id"), RESULT_COLUMNS.index("status")
        for line in reader:
            named = len(line) > at and line[0].isdigit() and line[at].isdigit()
            if named and (statuses is None or line[status] in statuses):
                yield int(line[0]), line[at]


class ResultsWriter:
    """Writes outcomes in input order, whatever order they finish in.

    Call :meth:`expect` for every row in input order before its outcome can arrive, and
    :meth:`add` as outcomes come. :meth:`close` also writes the rows that finished after one that
    never did (a stopped run), still in order. Each of ``observers`` is called with every outcome
    as its line is written (so in input order): the rejects file and the results report listen.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        source_columns: Sequence[str] | None = None,
        observers: Sequence[Callable[[Outcome], None]] = (),
    ) -> None:
        self.path = Path(path)
        self._width = len(source_columns) if source_columns is not None else None
        try:
            self._file: IO[str] = open_private(self.path, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise ConfigError(f"cannot write the results file {path}: {exc.strerror}") from exc
        self._writer = SafeCsvWriter(self._file, header(source_columns))
        self._observers = list(observers)
        self._failed: OutputError | None = None
        """Why writing failed (the disk is full): nothing more is written."""
        self._order: deque[int] = deque()
        self._done: dict[int, deque[Outcome]] = {}
        """Finished outcomes by row (a list: an undo may have two customers of one row number,
        from an import whose file changed between its runs)."""
        self.written = 0

    def expect(self, row: int) -> None:
        self._order.append(row)

    def add(self, outcome: Outcome) -> None:
        self._done.setdefault(outcome.row, deque()).append(outcome)
        order, done = self._order, self._done
        if not order or order[0] not in done:
            return
        while order and order[0] in done:
            self._write(self._take(order.popleft()))
        self._guarded(self._writer.flush)

    def close(self) -> None:
        """Write what finished (in row order) and close the file."""
        if self._file.closed:
            return
        try:
            for row in self._order:
                if row in self._done:
                    self._write(self._take(row))
            self._order.clear()
            self._guarded(self._file.close)
        finally:
            with contextlib.suppress(OSError):  # refused already: said once
                self._file.close()

    def _take(self, row: int) -> Outcome:
        waiting = self._done[row]
        outcome = waiting.popleft()
        if not waiting:
            del self._done[row]
        return outcome

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _guarded(self, write: Callable[[], object], what: str = "the results") -> None:
        """Write unless a write failed; an OSError (disk full) becomes an OutputError, once:
        the workers stop on it, and what is settled stays in the ledger. ``what`` is another
        output (an observer's: the rejects, the report) named by the error's file name."""
        if self._failed is not None:
            return
        try:
            write()
        except OutputError as exc:  # an observer's own output, named by it
            self._failed = exc
            raise
        except OSError as exc:
            path = self.path if what == "the results" else exc.filename
            self._failed = cannot_write(what, path, exc)
            raise self._failed from None

    def _write(self, outcome: Outcome) -> None:
        if self._failed is not None:
            return
        cells = outcome.cells()
        if self._width is not None:
            source = list(outcome.source or ())
            cells += source + [""] * (self._width - len(source))
        row = [redact(c) if isinstance(c, str) else c for c in cells]
        self._guarded(functools.partial(self._writer.write_row, row))
        self.written += 1
        for observe in self._observers:
            self._guarded(functools.partial(observe, outcome), "an output")
