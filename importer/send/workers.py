"""The workers that send: planned rows in input order, each marked before it leaves, every row's
results line back in input order, and a clean stop.

Both the import (:class:`importer.send.upload.Uploader`) and the undo
(:class:`importer.jobs.undo.Undoer`) are :class:`Workers`, and supply four methods: ``_plan`` (a
batch becomes tasks, or results lines), ``_record_in_flight`` (durable marks before a task's first
request, one fsync a group), ``_perform`` (its requests and outcome; :class:`Unknown`, or
:class:`Deferred` to have it back later) and ``_failure`` (the line of a task that ended otherwise).
``concurrency`` workers; at most ``row_timeout`` s a row; :data:`LOST_IN_A_ROW` unknown fates in a
row stop the run. :meth:`Workers.stop` gives the requests in flight ``grace`` seconds, a fatal
answer cancels at once, and every row read still gets its line. Pacing, token and retries are the
shared client's. See docs/internals.md#exactly-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from importer.core.errors import (
    ApiError,
    AuthError,
    CertificateError,
    ImporterError,
    RunStopped,
    TransportError,
)
from importer.core.options import ROW_TIMEOUT
from importer.send.client import HelpScoutClient, Sends, count_sends
from importer.send.results import Outcome, ResultsWriter

if TYPE_CHECKING:
    from importer.send.tally import Tally

__all__ = [
    "FATAL",
    "GRACE",
    "LOST_IN_A_ROW",
    "NOT_SENT",
    "ROW_TIMEOUT",
    "STOPPED_IN_FLIGHT",
    "Deferred",
    "Task",
    "Unknown",
    "Workers",
    "error_text",
]

#: Rows in a row whose fate stayed unknown before the run stops (Help Scout is unreachable).
LOST_IN_A_ROW = 20
#: Seconds a stopped run waits for the requests in flight.
GRACE = 5.0
NOT_SENT = "not sent: the run stopped; run the same command to resume"
#: The results line of a row cut off in flight, with why its fate is unknown.
STOPPED_IN_FLIGHT = "the run stopped before this row finished: {}"
#: What stops the run at once, wherever it is met: the credentials, the certificate, a stop.
FATAL = (AuthError, CertificateError, RunStopped)


class Task(Protocol):
    """What the workers need of a task (a dataclass of the import's or the undo's)."""

    @property
    def row(self) -> int: ...

    marked: bool
    """Recorded in flight in the ledger (before its first request)."""
    attempts: int
    sends: Sends
    """Requests sent for the row so far, counted as they leave (see ``_cut_off``)."""
    refusal: AuthError | None
    """The answer that stopped the run, when this row's request got it."""


T = TypeVar("T", bound=Task)


class Unknown(Exception):
    """The row's fate could not be learnt: it stays in flight in the ledger."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class Deferred(Exception):
    """The row cannot go on yet: have it back at ``due`` (Unix seconds)."""

    def __init__(self, due: float) -> None:
        super().__init__(due)
        self.due = due


def error_text(error: ApiError | TransportError | None) -> str:
    """An API error as one results cell: the message, then the field errors."""
    if isinstance(error, ApiError):
        fields = "; ".join(str(e) for e in error.field_errors)
        return f"{error.message}: {fields}" if fields else error.message
    return str(error or "")


class Workers(Generic[T]):
    """Sends planned rows with ``concurrency`` workers; see the module's docstring."""

    #: Why a row cut off in flight may need the same command again (its requests may have left).
    cut_off_reason = "its requests may have been carried out; run the same command"
    #: The results line of a row still waiting (Deferred) when the run stopped.
    still_waiting = "the run stopped while this row waited: run the same command"

    def __init__(
        self,
        client: HelpScoutClient,
        results: ResultsWriter,
        *,
        concurrency: int,
        tally: Tally,
        progress: Callable[[Tally], None] | None = None,
        notice: Callable[[str], None] | None = None,
        grace: float = GRACE,
        row_timeout: float = ROW_TIMEOUT,
    ) -> None:
        self.client = client
        self.results = results
        self.concurrency = concurrency
        self.tally = tally
        self.progress = progress
        self.notice = notice
        self.grace = grace
        self.row_timeout = row_timeout
        self.interrupted = False
        self._deferred: list[tuple[float, int, T]] = []
        """Rows waiting to go on: (due, row, task), a heap."""
        self._backlog: deque[T | Outcome] = deque()
        self._current: dict[int, T | None] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._refill = asyncio.Lock()
        self._reading: asyncio.Task[list[T | Outcome] | None] | None = None
        self._batches: Iterator[Any] = iter(())
        self._exhausted = False
        self._stopping = False
        self._grace_timer: asyncio.TimerHandle | None = None
        self._unknown_in_a_row = 0
        self._started = time.monotonic()

    # --- what each kind of work says ------------------------------------------------------------
    async def _plan(self, batch: Any) -> list[T | Outcome]:
        raise NotImplementedError

    def _record_in_flight(self, tasks: list[T]) -> None:
        raise NotImplementedError

    async def _perform(self, task: T) -> Outcome:
        raise NotImplementedError

    def _failure(
        self, task: T, error: str, *, http_status: int | None = None, log_ref: str | None = None
    ) -> Outcome:
        raise NotImplementedError

    async def _beat(self) -> None:
        """Runs beside the workers (the import's heartbeat); nothing by default."""

    def _close(self) -> None:
        """Called once the workers are done, before the leftovers are written."""

    def _waiting(self, rows: int, due: float) -> str | None:
        """What to tell the user while ``rows`` wait for the first of them, due at ``due``."""
        return None

    # --- running --------------------------------------------------------------------------------
    async def run(self, batches: Iterable[Any]) -> Tally:
        """Send every row of every batch; raises what stopped the run (AuthError, RunStopped)."""
        self._started = time.monotonic()
        self._batches = iter(batches)
        self._reading = self._read_next()
        self._workers = [asyncio.create_task(self._work(i)) for i in range(self.concurrency)]
        beating = asyncio.create_task(self._beat())
        failure: BaseException | None = None
        with self._signals():
            try:
                done, _ = await asyncio.wait(self._workers, return_when=asyncio.FIRST_EXCEPTION)
                failure = next(
                    (t.exception() for t in done if not t.cancelled() and t.exception()), None
                )
                if failure is not None:
                    self._cancel_all()
                await asyncio.wait(self._workers)
            finally:
                self._cancel_all()
                beating.cancel()
                self._close()
                self._reading.cancel()
                if self._reading.done() and not self._reading.cancelled():
                    self._reading.exception()  # seen: a stopped run does not care
                if self._grace_timer is not None:
                    self._grace_timer.cancel()
                self._write_leftovers()
                self._update_tally()
        if failure is not None:
            raise failure
        if self.interrupted:
            raise RunStopped("interrupted")
        return self.tally

    async def run_into(self, batches: Iterable[Any], result: Any) -> None:
        """:meth:`run`, however it ends, with what it counted copied into ``result`` (a subclass
        of the tally's type), and ``result.stopped`` (why it stopped: the ImporterError's
        message) and ``result.interrupted`` set: what the import and the undo report."""
        try:
            await self.run(batches)
        except ImporterError as exc:
            result.stopped, result.stopped_code = str(exc), exc.exit_code
        finally:
            for counted in fields(self.tally):
                setattr(result, counted.name, getattr(self.tally, counted.name))
            result.interrupted = self.interrupted

    def stop(self) -> None:
        """Stop taking rows; the requests in flight get ``grace`` seconds (a second stop: none)."""
        self.interrupted = True
        if self._stopping:
            self._cancel_all()
            return
        self._stopping = True
        if self.notice is not None:
            self.notice(
                f"Stopping: waiting up to {self.grace:g} s for the requests in flight "
                "(press Ctrl-C again to stop at once)"
            )
        for slot, worker in enumerate(self._workers):
            if self._current.get(slot) is None:
                worker.cancel()
        loop = asyncio.get_running_loop()
        self._grace_timer = loop.call_later(self.grace, self._cancel_all)

    def _cancel_all(self) -> None:
        for worker in self._workers:
            worker.cancel()

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM call :meth:`stop` (main thread only); the old handlers come back."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            loop.add_signal_handler(sig, self.stop)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                loop.remove_signal_handler(sig)
                signal.signal(sig, handler)

    async def _work(self, slot: int) -> None:
        while not self._stopping and (task := await self._next_task()) is not None:
            self._current[slot] = task
            if not task.marked:
                self._mark(task)
            count_sends(task.sends)
            try:
                async with asyncio.timeout(self.row_timeout) as deadline:
                    outcome = await self._perform(task)
                self._unknown_in_a_row = 0
            except AuthError as refusal:
                task.refusal = refusal  # its results line says so (see _cut_off)
                raise
            except Deferred as wait:
                self._current[slot] = None
                heapq.heappush(self._deferred, (wait.due, task.row, task))
                continue
            except Unknown as unknown:
                outcome = self._failure(task, str(unknown), http_status=unknown.http_status)
                self._unknown_in_a_row += 1
            except TimeoutError:
                if not deadline.expired():
                    raise
                error = f"no certain answer within {self.row_timeout:g} s: {self.cut_off_reason}"
                outcome = self._failure(task, error)
                self._unknown_in_a_row += 1
            self._current[slot] = None
            self._emit(outcome)
            if self._unknown_in_a_row >= LOST_IN_A_ROW:
                raise RunStopped(
                    f"{self._unknown_in_a_row} rows in a row got no certain answer from "
                    f"{self.client.api_url} ({outcome.error}): check the network and the API URL"
                )

    # --- rows in, in input order ----------------------------------------------------------------
    def _read_next(self) -> asyncio.Task[list[T | Outcome] | None]:
        """Read and plan the next batch in the background (None: no more)."""

        async def read() -> list[T | Outcome] | None:
            batch = await asyncio.to_thread(next, self._batches, None)
            return None if batch is None else await self._plan(batch)

        return asyncio.create_task(read())

    async def _next_task(self) -> T | None:
        """The next row that needs requests; the rows before it that need none are written.

        A row deferred comes back when due; when nothing else is left, the worker sleeps until
        then."""
        while True:
            if self._deferred and self._deferred[0][0] <= time.time() and not self._stopping:
                return heapq.heappop(self._deferred)[2]
            while self._backlog:
                item = self._backlog.popleft()
                self.results.expect(item.row)
                if not isinstance(item, Outcome):
                    return item
                self._emit(item)
            if self._stopping:
                return None
            if self._exhausted:
                if not self._deferred:
                    return None
                await self._wait_for_due()
                continue
            async with self._refill:
                if self._backlog or self._exhausted or self._stopping:
                    continue
                assert self._reading is not None
                planned = await self._reading
                if planned is None:
                    self._exhausted = True
                else:
                    self._reading = self._read_next()  # read ahead while this batch is sent
                    self._backlog.extend(planned)

    async def _wait_for_due(self) -> None:
        """Sleep until the first deferred row is due (a second at most, to look again)."""
        due = self._deferred[0][0]
        message = self._waiting(len(self._deferred), due)
        if message is not None and self.notice is not None:
            self.notice(message)
        await asyncio.sleep(max(0.0, min(due - time.time(), 1.0)))

    def _mark(self, task: T) -> None:
        """Mark ``task`` and the next unmarked tasks (``concurrency`` in all) in flight, durably."""
        following = (t for t in self._backlog if not isinstance(t, Outcome) and not t.marked)
        group = [task, *itertools.islice(following, self.concurrency - 1)]
        self._record_in_flight(group)
        for t in group:
            t.marked = True

    # --- rows out -------------------------------------------------------------------------------
    def _emit(self, outcome: Outcome) -> None:
        self.tally.count(outcome)
        self.results.add(outcome)
        if self.progress is not None:
            self._update_tally()
            self.progress(self.tally)

    def _write_leftovers(self) -> None:
        """After a stop: a results line for every row read but not finished (the ledger keeps
        them in flight; the next run takes them up)."""
        for slot, task in self._current.items():
            if task is not None:
                self._current[slot] = None
                self._emit(self._cut_off(task))
        while self._deferred:
            task = heapq.heappop(self._deferred)[2]
            task.attempts = max(task.attempts, task.sends.count)
            self._emit(self._failure(task, self.still_waiting))
        while self._backlog:
            item = self._backlog.popleft()
            self.results.expect(item.row)
            self._emit(item if isinstance(item, Outcome) else self._unsent(item))

    def _cut_off(self, task: T) -> Outcome:
        """The results line of a row the stop caught unfinished: the refusal its request got,
        else ``cut_off_reason`` when a request left for it that was not answered 429 (its fate
        is unknown), else NOT_SENT."""
        task.attempts = max(task.attempts, task.sends.count)  # with those cut off in flight
        refusal = task.refusal
        if refusal is not None and task.sends.count:
            return self._failure(task, error_text(refusal), http_status=refusal.status,
                                 log_ref=refusal.log_ref)  # fmt: skip
        if task.sends.count > task.sends.refused:
            return self._failure(task, STOPPED_IN_FLIGHT.format(self.cut_off_reason))
        return self._unsent(task)

    def _unsent(self, task: T) -> Outcome:
        """The results line of a row the stop left before any request left for it."""
        return self._failure(task, NOT_SENT)

    def _update_tally(self) -> None:
        tally, client, pacer = self.tally, self.client, self.client.pacer
        tally.requests, tally.lookups = client.requests, client.lookups
        tally.rate_limited = client.rate_limited
        tally.seconds = time.monotonic() - self._started
        tally.limit, tally.budget_spent, tally.pace = pacer.limit, pacer.spending.spent, pacer.pace
        tally.others_share, tally.others_peak = pacer.others_share, pacer.others_peak
        tally.yielding, tally.slowed = pacer.yielding, pacer.slowed
