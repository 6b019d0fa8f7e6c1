"""The uploader: every valid row to Help Scout exactly once, whatever happens, with the ledger.

The validated rows come as batches from a reading thread (so mapping and checking the next chunk
never stalls the requests in flight). Each batch is planned against the ledger as it arrives: a
row either ends at once (invalid, skipped, or settled already by the import this run resumes) or
becomes a :class:`Task` (create, reconcile, check, update). ``concurrency`` workers take the tasks
in input order. Before a task's first request, it and the next tasks are marked in flight in the
ledger (one fsync per group of ``concurrency``), so no request leaves for a row the ledger could
forget. Outcomes are settled in the ledger (buffered) and written to the results, which put every
row back in input order. Pacing, token refresh and retries are the client's.

Decisions, from the row's ledger entry (``digest``: the row's payload hash):

- none: create; with ``check_existing`` look the email up first (found: ``exists``).
- settled by this import (this run, or an unfinished one it resumes): reported as recorded, with
  its customer id; nothing is sent (a ``failed`` one is, with ``retry_failed``).
- ``in_flight``, ``failed``, or no customer id: an earlier create's fate is unknown or it failed:
  *reconcile*: look the email up (exact match); found: ``created`` with that id; absent: create.
- a customer id (created, updated, skipped before): the same digest: ``skipped``
  (``unchanged``), nothing sent; else ``on_existing="update"`` updates the customer (only what
  differs: :meth:`~importer.client.HelpScoutClient.update_from`), else ``skipped`` (``changed``).
  A customer found to exist (created elsewhere): updated, or ``skipped`` (``exists``).
- ``retry_failed``: every row but ``failed`` and ``in_flight`` ones is ``skipped``
  (``not-retried``).

An answer that leaves a create's fate unknown (no answer after the request left, 502, 504) is
followed by a look-up, and the create is sent again only if nobody has the email, at most
:data:`LOOKUP_ROUNDS` times. Search is an index that may lag behind creates, so "nobody" is
believed only from a look-up made ``settle_time`` (:data:`SETTLE_TIME`, ``--settle-time``) or
more after that create ended (:func:`after_look_up`); a look-up made sooner sends the row to
wait (other rows go on; at the end the run waits for it, and a stop leaves it in flight:
STILL_UNSURE). The same holds for rows an earlier run left in flight: their create may have left
until that run ended or, if it died, until its last heartbeat (``Ledger.unsure_since``). A 2xx
to a create without a usable id (``Reply.resource_id``) ends ``failed`` (NO_ID) and stays in
flight, so the next run looks it up. A 409 on create: the customer found is recorded as
``exists`` (or updated). Look-ups from every worker are batched: one search for up to
:data:`LOOKUP_BATCH` emails (:class:`Lookups`). A row whose fate stays unknown ends ``failed``
in the results and stays ``in_flight`` in the ledger, which the next run reconciles.

Stopping: :meth:`Uploader.stop` (SIGINT or SIGTERM, when running in the main thread) stops taking
rows and gives the requests in flight :data:`GRACE` seconds; a second stop, or the end of the grace,
cancels them. A fatal answer (AuthError, RunStopped) cancels at once. Every row read so far still
gets its results line: rows not sent (NOT_SENT), and rows cut off in flight (CUT_OFF: they may
have been created), are ``failed`` with a message saying to run the same command; a row whose
request got the fatal answer shows it (status, message, logRef). The ledger keeps them all
``in_flight`` for the next run to reconcile.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from importer.client import WRITE_COST, HelpScoutClient, Pacer, Reply, Sends, count_sends
from importer.errors import (
    ApiError,
    AuthError,
    CertificateError,
    ImporterError,
    RunStopped,
    TransportError,
)
from importer.ledger import HEARTBEAT, Entry, Ledger, RunInfo, payload_hash
from importer.options import ROW_TIMEOUT, SETTLE_TIME
from importer.results import Outcome, ResultsWriter, Status

#: Requests a worker is assumed to wait for an answer, to size the default concurrency.
ASSUMED_LATENCY = 2.0
#: Rows in a row whose fate stayed unknown before the run stops (Help Scout is unreachable).
LOST_IN_A_ROW = 20
#: Emails per search request (``(email:("a" OR "b" ...))``).
LOOKUP_BATCH = 20
#: Seconds a look-up waits for others to share its search request.
LOOKUP_WINDOW = 0.02
#: Creates sent for one row whose answers left its fate unknown, each followed by a look-up.
LOOKUP_ROUNDS = 3
#: Seconds a stopped run waits for the requests in flight.
GRACE = 5.0

RERUN = "run the same command, which looks it up before sending it again"
NOT_SENT = "not sent: the run stopped; run the same command to resume"
CUT_OFF_REASON = f"it may have been created; {RERUN}"
CUT_OFF = f"the run stopped before this row finished: {CUT_OFF_REASON}"
STILL_UNSURE = (
    "the run stopped while this row waited for Help Scout's search to catch up (its create got "
    "no certain answer, and search may lag behind creates): kept in flight; run the same "
    "command, which looks it up again before sending it"
)
NO_ID = "created, but Help Scout sent no usable id: check {email} in Help Scout"
#: What stops the run at once, wherever it is met: the credentials, the certificate, a stop.
FATAL = (AuthError, CertificateError, RunStopped)

Action = Literal["create", "reconcile", "check", "update"]


@dataclass
class Job:
    """One valid row to import."""

    row: int
    payload: dict[str, Any]
    key: str
    """What identifies the row across runs (the ledger's key)."""
    source: Sequence[str] | None = None
    digest: str = ""
    """The payload's hash (computed when not given)."""

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = payload_hash(self.payload)


@dataclass(frozen=True)
class Policy:
    """What a run does with rows that the ledger or Help Scout knows already."""

    on_existing: Literal["skip", "update"] = "skip"
    check_existing: bool = False
    """Look up the emails of rows the ledger does not know before creating them."""
    retry_failed: bool = False
    """Send only the rows that failed (and those whose fate is unknown); skip the others."""


@dataclass
class Task:
    """A row that needs requests, and what to do."""

    job: Job
    action: Action
    customer_id: str | None = None
    """The customer an update changes."""
    sent_digest: str | None = None
    """Reconcile: the hash of what the earlier run sent, recorded if the customer is found."""
    looked_up: bool = False
    found: str | None = None
    """The customer that has the row's email, when ``looked_up``."""
    marked: bool = False
    attempts: int = 0
    sends: Sends = field(default_factory=Sends)
    """Requests sent for the row so far, counted as they leave (see ``_cut_off``)."""
    refusal: AuthError | None = None
    """The answer that stopped the run, when this row's request got it."""
    unsure_since: float | None = None
    """When (Unix seconds) the latest request that may have created the customer ended: a
    create of this run that got no certain answer, or one an earlier run left in flight."""
    unsure_creates: int = 0
    """Creates of this run whose fate stayed unknown (at most LOOKUP_ROUNDS)."""
    looked_up_at: float = 0.0
    """When the look-up whose answer is ``found`` was sent (Unix seconds)."""

    @property
    def row(self) -> int:
        return self.job.row


class _Wait(Exception):
    """The row's look-up found nobody too soon after an unsure create: look again at ``due``."""

    def __init__(self, due: float) -> None:
        super().__init__(due)
        self.due = due


def after_look_up(
    found: str | None, looked_at: float, unsure_since: float | None, settle_time: float
) -> tuple[Literal["found", "create", "wait"], float]:
    """What a look-up's answer means for a row, and when to look again (Unix seconds).

    Found: the customer exists. Nobody, with no create of unknown fate behind it (a new row,
    ``--check-existing``): create. Nobody, looked up ``settle_time`` or more after the last
    create of unknown fate ended: search has caught up, so it was never created: create. Nobody,
    sooner: the index may not show it yet: wait, and look again at ``unsure_since +
    settle_time``.
    """
    if found is not None:
        return "found", 0.0
    if unsure_since is None or looked_at >= unsure_since + settle_time:
        return "create", 0.0
    return "wait", unsure_since + settle_time


class _Unknown(Exception):
    """The row's fate could not be learnt: it stays in flight in the ledger."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


@dataclass
class Tally:
    """Rows by outcome so far, and what it took."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    invalid: int = 0
    failed: int = 0
    requests: int = 0
    lookups: int = 0
    rate_limited: int = 0
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> None:
        self.rows += 1
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)

    @property
    def requests_per_minute(self) -> float:
        return self.requests / self.seconds * 60 if self.seconds else 0.0

    def line(self) -> str:
        """The console's closing line."""
        parts = [f"{self.created:,} created"]
        parts += [f"{n:,} {name}" for name, n in (("updated", self.updated),
                                                  ("skipped", self.skipped)) if n]  # fmt: skip
        parts += [f"{self.invalid:,} invalid", f"{self.failed:,} failed"]
        return f"{self.rows:,} rows: {', '.join(parts)}."


Progress = Callable[[Tally], None]


def default_concurrency(rate: float | None) -> int:
    """Workers enough to spend ``rate`` requests a minute if answers take ASSUMED_LATENCY s."""
    if rate is None:
        return 16
    creates_per_second = rate / 60 / 2
    return max(2, min(64, math.ceil(creates_per_second * ASSUMED_LATENCY) + 2))


def email_of(payload: dict[str, Any]) -> str | None:
    """The email a customer is looked up by (the first), or None when it cannot be searched."""
    emails = payload.get("emails") or ()
    email = str(emails[0].get("value") or "").strip().lower() if emails else ""
    return email if email and '"' not in email else None


def recorded(job: Job, entry: Entry) -> Outcome:
    """The results line of a row the ledger holds as settled by this import."""
    status: Status = "failed"
    reason, error = "", entry.last_error or ""
    if entry.status == "created" or entry.status == "updated":
        status = entry.status
    elif entry.status == "exists":
        status, reason, error = "skipped", "exists", ""
    elif entry.status == "skipped":
        status, reason, error = "skipped", entry.last_error or "", ""
    return Outcome(job.row, status, entry.customer_id, entry.http_status, error, entry.log_ref,
                   entry.attempts, reason, job.source)  # fmt: skip


def error_text(error: ApiError | TransportError | None) -> str:
    """An API error as one results cell: the message, then the field errors."""
    if isinstance(error, ApiError):
        fields = "; ".join(str(e) for e in error.field_errors)
        return f"{error.message}: {fields}" if fields else error.message
    return str(error or "")


class Lookups:
    """Finds customers by exact email for every worker: one search for up to ``batch`` emails."""

    def __init__(
        self, client: HelpScoutClient, *, batch: int = LOOKUP_BATCH, window: float = LOOKUP_WINDOW
    ) -> None:
        self.client = client
        self.batch = batch
        self.window = window
        self._waiting: dict[str, list[asyncio.Future[str | None]]] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def find(self, email: str) -> str | None:
        """The id of the newest customer with exactly this email, or None when nobody has it.

        Raises what the search raised (ApiError, TransportError, AuthError).
        """
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(email.lower(), []).append(future)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()

    async def _flush(self) -> None:
        """Search for the waiting emails until none waits. Whatever goes wrong is handed to
        every look-up of the search: a flusher that died would leave its workers waiting for
        ever."""
        await asyncio.sleep(self.window)  # let other workers' look-ups join this search
        while self._waiting:
            emails = list(itertools.islice(self._waiting, self.batch))
            waiting = {email: self._waiting.pop(email) for email in emails}
            try:
                newest = await self._newest(emails)
            except ImporterError as exc:
                failure: ImporterError = exc
            except Exception as exc:  # only a 2xx answer gets this far: its body was unreadable
                failure = ApiError(200, f"Help Scout's search answer is malformed: {exc!r}")
            else:
                for email, futures in waiting.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(newest.get(email))
                continue
            for futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(failure)

    async def _newest(self, emails: list[str]) -> dict[str, str]:
        """Each email's newest customer (the highest id), for the emails somebody has."""
        found = await self.client.find_customers_by_email(emails, batch=len(emails))
        return {
            email: str(max(customers, key=lambda c: int(c["id"]))["id"])
            for email, customers in found.items()
            if customers
        }


class Uploader:
    """Imports planned rows with ``concurrency`` workers, recording everything in ``ledger``.

    The ledger must be open with a run begun (``ledger.begin_run``); ``notice`` hears one-line
    messages for the user (a stop under way).
    """

    def __init__(
        self,
        client: HelpScoutClient,
        results: ResultsWriter,
        ledger: Ledger,
        *,
        concurrency: int,
        policy: Policy | None = None,
        progress: Progress | None = None,
        notice: Callable[[str], None] | None = None,
        grace: float = GRACE,
        row_timeout: float = ROW_TIMEOUT,
        settle_time: float = SETTLE_TIME,
    ) -> None:
        if ledger.run is None:
            raise RuntimeError("begin the ledger's run before uploading")
        self.client = client
        self.results = results
        self.ledger = ledger
        self.run_info: RunInfo = ledger.run
        self.concurrency = concurrency
        self.policy = policy or Policy()
        self.progress = progress
        self.notice = notice
        self.grace = grace
        self.row_timeout = row_timeout
        self.settle_time = settle_time
        self.tally = Tally()
        self._deferred: list[tuple[float, int, Task]] = []
        """Rows waiting for search to catch up: (due, row, task), a heap."""
        self._told_wait = 0.0
        self.interrupted = False
        self._lookups = Lookups(client)
        self._backlog: deque[Task | Outcome] = deque()
        self._current: dict[int, Task | None] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._refill = asyncio.Lock()
        self._reading: asyncio.Task[list[Task | Outcome] | None] | None = None
        self._batches: Iterator[Sequence[Job | Outcome]] = iter(())
        self._exhausted = False
        self._stopping = False
        self._grace_timer: asyncio.TimerHandle | None = None
        self._unknown_in_a_row = 0
        self._started = time.monotonic()

    # --- running --------------------------------------------------------------------------------
    async def run(self, batches: Iterable[Sequence[Job | Outcome]]) -> Tally:
        """Import every row of every batch; raises what stopped the run (AuthError, RunStopped)."""
        self._started = time.monotonic()
        self._batches = iter(batches)
        self._reading = self._read_next()
        self._workers = [asyncio.create_task(self._work(i)) for i in range(self.concurrency)]
        beating = asyncio.create_task(self._heartbeat())
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
                self._lookups.close()
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
            except _Wait as wait:
                self._current[slot] = None
                heapq.heappush(self._deferred, (wait.due, task.row, task))
                continue
            except _Unknown as unknown:
                outcome = self._outcome(task, "failed", http_status=unknown.http_status,
                                        error=str(unknown))  # fmt: skip
                self._unknown_in_a_row += 1
            except TimeoutError:
                if not deadline.expired():
                    raise
                error = f"no certain answer within {self.row_timeout:g} s: {CUT_OFF_REASON}"
                outcome = self._outcome(task, "failed", error=error)
                self._unknown_in_a_row += 1
            self._current[slot] = None
            self._emit(outcome)
            if self._unknown_in_a_row >= LOST_IN_A_ROW:
                raise RunStopped(
                    f"{self._unknown_in_a_row} rows in a row got no certain answer from "
                    f"{self.client.api_url} ({outcome.error}): check the network and the API URL"
                )

    # --- rows in, in input order ----------------------------------------------------------------
    def _read_next(self) -> asyncio.Task[list[Task | Outcome] | None]:
        """Read and plan the next batch in the background (None: no more)."""

        async def read() -> list[Task | Outcome] | None:
            batch = await asyncio.to_thread(next, self._batches, None)
            return None if batch is None else await self._plan(batch)

        return asyncio.create_task(read())

    async def _next_task(self) -> Task | None:
        """The next row that needs requests; the rows before it that need none are written.

        A row waiting for search to catch up comes back when due; when nothing else is left,
        the worker sleeps until then."""
        while True:
            if self._deferred and self._deferred[0][0] <= time.time() and not self._stopping:
                return heapq.heappop(self._deferred)[2]
            while self._backlog:
                item = self._backlog.popleft()
                self.results.expect(item.row)
                if isinstance(item, Task):
                    return item
                self._emit(item)
            if self._stopping:
                return None
            if self._exhausted:
                if not self._deferred:
                    return None
                await self._wait_for_search()
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

    async def _wait_for_search(self) -> None:
        """Sleep until the first waiting row is due (or a little, when rows are still read)."""
        due = self._deferred[0][0]
        if self.notice is not None and due > self._told_wait + 1:
            self._told_wait = due
            rows = len(self._deferred)
            self.notice(
                f"waiting {max(0, due - time.time()):.0f} s for Help Scout's search to catch up "
                f"on {rows} row{'s' if rows != 1 else ''} whose create got no certain answer "
                f"(--settle-time {self.settle_time:g}); Ctrl-C leaves "
                f"{'them' if rows != 1 else 'it'} in flight for the next run"
            )
        await asyncio.sleep(max(0.0, min(due - time.time(), HEARTBEAT)))

    async def _heartbeat(self) -> None:
        """Tell the ledger this run is alive, so a run after a kill knows when its requests may
        have left (see ``Ledger.unsure_since``)."""
        with contextlib.suppress(RunStopped):  # the disk is full: marks and settles say so
            while True:
                self.ledger.heartbeat()
                await asyncio.sleep(HEARTBEAT)

    def _mark(self, task: Task) -> None:
        """Mark ``task`` and the next unmarked tasks (``concurrency`` in all) in flight, durably."""
        following = (t for t in self._backlog if isinstance(t, Task) and not t.marked)
        group = [task, *itertools.islice(following, self.concurrency - 1)]
        self.ledger.mark_in_flight([(t.job.key, t.job.row, t.job.digest) for t in group])
        for t in group:
            t.marked = True

    async def _plan(self, batch: Sequence[Job | Outcome]) -> list[Task | Outcome]:
        """Decide each row of ``batch``; look up together the emails of the rows to reconcile or
        check, LOOKUP_BATCH to a search (a look-up that fails is tried again by the worker)."""
        jobs = [item for item in batch if isinstance(item, Job)]
        known = self.ledger.get_many([job.key for job in jobs]) if jobs else {}
        planned = [
            self._decide(item, known.get(item.key)) if isinstance(item, Job) else item
            for item in batch
        ]
        looking = [
            (task, email)
            for task in planned
            if isinstance(task, Task) and task.action in ("reconcile", "check")
            if (email := email_of(task.job.payload))
        ]
        asked = time.time()
        answers = await asyncio.gather(
            *(self._lookups.find(email) for _, email in looking), return_exceptions=True
        )
        for (task, _), answer in zip(looking, answers, strict=True):
            if isinstance(answer, FATAL):
                raise answer
            if not isinstance(answer, BaseException):
                task.looked_up, task.found, task.looked_up_at = True, answer, asked
        return planned

    def _decide(self, job: Job, entry: Entry | None) -> Task | Outcome:
        """What to do with a valid row, from its ledger entry (see the module's docstring)."""
        policy = self.policy
        if entry is None:
            if policy.retry_failed:
                return self._skipped(job, "not-retried")
            return Task(job, "check" if policy.check_existing else "create")
        unsettled = entry.status in ("in_flight", "failed")
        retry = entry.status == "failed" and policy.retry_failed
        if entry.status != "in_flight" and self.run_info.owns(entry) and not retry:
            return recorded(job, entry)
        if policy.retry_failed and not unsettled:
            return self._skipped(job, "not-retried", entry)
        if entry.customer_id is None:
            unsure = self.ledger.unsure_since(entry) if entry.status == "in_flight" else None
            return Task(job, "reconcile", sent_digest=entry.payload_hash, unsure_since=unsure)
        if entry.status == "exists":  # created elsewhere: the hash says nothing of its data
            if policy.on_existing == "update":
                return Task(job, "update", customer_id=entry.customer_id)
            return self._skipped(job, "exists", entry)
        if job.digest == entry.payload_hash:
            return self._skipped(job, "unchanged", entry)
        if policy.on_existing == "update":
            return Task(job, "update", customer_id=entry.customer_id)
        return self._skipped(job, "changed", entry)

    def _skipped(self, job: Job, reason: str, entry: Entry | None = None) -> Outcome:
        """A row that needs no request; an entry left in flight (a stopped update) is settled."""
        customer_id = entry.customer_id if entry is not None else None
        if entry is not None and entry.status == "in_flight":
            self.ledger.settle(job.key, status="skipped", error=reason, attempts=0, row=job.row)
        return Outcome(job.row, "skipped", customer_id, reason=reason, source=job.source)

    # --- one row's requests ---------------------------------------------------------------------
    async def _perform(self, task: Task) -> Outcome:
        """Do what ``task`` says; raises _Unknown when the row's fate cannot be learnt."""
        if task.action == "update":
            assert task.customer_id is not None
            return await self._update(task, task.customer_id)
        if task.action == "reconcile" or (task.action == "check" and email_of(task.job.payload)):
            found = await self._trusted_look_up(task, f"{task.action} before creating")
            if found is not None and task.action == "reconcile":
                return self._settle(task, "created", customer_id=found, digest=task.sent_digest)
            if found is not None:
                return await self._existing(task, found, None)
        return await self._create(task)

    async def _trusted_look_up(self, task: Task, why: str) -> str | None:
        """The customer with the row's email, once a look-up's answer can be trusted (see
        :func:`after_look_up`); raises _Wait when it cannot be yet."""
        if not task.looked_up:
            task.looked_up_at = time.time()
            task.found, task.looked_up = await self._look_up(task, why), True
        verdict, due = after_look_up(
            task.found, task.looked_up_at, task.unsure_since, self.settle_time
        )
        if verdict == "wait":
            task.looked_up = False  # look again when due
            raise _Wait(due)
        return task.found

    async def _create(self, task: Task) -> Outcome:
        reply: Reply | None = None
        for round_ in range(task.unsure_creates + 1, LOOKUP_ROUNDS + 1):
            reply = await self.client.create_customer(task.job.payload)
            task.attempts += reply.attempts
            if reply.ok:
                found = reply.resource_id
                if found is None:  # kept in flight: the next run looks it up
                    email = email_of(task.job.payload) or "this row's customer"
                    raise _Unknown(NO_ID.format(email=email), reply.status)
                return self._settle(task, "created", customer_id=found, http_status=reply.status)
            if reply.status == 409:
                found = await self._look_up(task, "the create answered 409")
                if found is None:
                    return self._failed(task, reply)
                if task.unsure_creates:  # an earlier create of ours did it after all
                    return self._settle(task, "created", customer_id=found)
                return await self._existing(task, found, reply.status)
            if not reply.uncertain:
                return self._failed(task, reply)
            task.unsure_since, task.unsure_creates = time.time(), round_
            task.action, task.sent_digest, task.looked_up = "reconcile", task.job.digest, False
            why = f"the create got no certain answer ({reply.error})"
            found = await self._trusted_look_up(task, why)  # _Wait: other rows go on meanwhile
            if found is not None:
                return self._settle(task, "created", customer_id=found)
        raise _Unknown(
            f"{LOOKUP_ROUNDS} creates got no certain answer"
            f"{f' ({reply.error})' if reply is not None else ''} and the customer was not found "
            f"after any of them: it may have been created; {RERUN}"
        )

    async def _look_up(self, task: Task, why: str) -> str | None:
        email = email_of(task.job.payload)
        if email is None:
            raise _Unknown(
                f"{why}: it may have been created, and a row without a searchable email cannot "
                "be looked up: check in Help Scout"
            )
        try:
            return await self._lookups.find(email)
        except FATAL:
            raise
        except (ApiError, TransportError) as exc:
            raise _Unknown(
                f"{why}; looking it up failed ({exc}): it may have been created; {RERUN}"
            ) from None

    async def _existing(self, task: Task, customer_id: str, http_status: int | None) -> Outcome:
        """A customer that has the row's email was there before: record it, or update it."""
        if self.policy.on_existing == "update":
            return await self._update(task, customer_id)
        return self._settle(task, "exists", customer_id=customer_id, http_status=http_status)

    async def _update(self, task: Task, customer_id: str) -> Outcome:
        update = await self.client.update_from(customer_id, task.job.payload)
        task.attempts += update.attempts
        if update.error is not None:
            error = error_text(update.error)
            if update.status == 404:
                error = f"customer {customer_id} is no longer in Help Scout: {error}"
            log_ref = update.error.log_ref if isinstance(update.error, ApiError) else None
            status = update.status or None
            return self._settle(task, "failed", customer_id=customer_id, http_status=status,
                                error=error, log_ref=log_ref)  # fmt: skip
        if not update.changed:
            return self._settle(task, "skipped", customer_id=customer_id, error="unchanged")
        return self._settle(task, "updated", customer_id=customer_id, http_status=update.status)

    def _failed(self, task: Task, reply: Reply) -> Outcome:
        log_ref = reply.error.log_ref if isinstance(reply.error, ApiError) else None
        return self._settle(task, "failed", http_status=reply.status or None,
                            error=error_text(reply.error), log_ref=log_ref)  # fmt: skip

    def _settle(
        self,
        task: Task,
        status: Literal["created", "updated", "skipped", "failed", "exists"],
        *,
        customer_id: str | None = None,
        http_status: int | None = None,
        error: str = "",
        log_ref: str | None = None,
        digest: str | None = "",
    ) -> Outcome:
        """Record the row's outcome in the ledger, and give its results line.

        ``digest`` is the hash Help Scout now holds: the row's (default) when it was created or
        updated from it; another (reconciled rows); None to keep the recorded one (failures).
        """
        job = task.job
        if digest == "":
            digest = None if status == "failed" else job.digest
        self.ledger.settle(job.key, status=status, attempts=task.attempts, customer_id=customer_id,
                           http_status=http_status, error=error or None, log_ref=log_ref,
                           row=job.row, payload_hash=digest)  # fmt: skip
        if status == "exists":
            return self._outcome(task, "skipped", customer_id, http_status, reason="exists")
        if status == "skipped":
            return self._outcome(task, "skipped", customer_id, http_status, reason=error)
        return self._outcome(task, status, customer_id, http_status, error, log_ref)

    def _outcome(
        self,
        task: Task,
        status: Literal["created", "updated", "skipped", "failed"],
        customer_id: str | None = None,
        http_status: int | None = None,
        error: str = "",
        log_ref: str | None = None,
        reason: str = "",
    ) -> Outcome:
        job = task.job
        return Outcome(job.row, status, customer_id, http_status, error, log_ref, task.attempts,
                       reason, job.source)  # fmt: skip

    # --- rows out -------------------------------------------------------------------------------
    def _emit(self, outcome: Outcome) -> None:
        self.tally.count(outcome)
        self.results.add(outcome)
        if self.progress is not None:
            self._update_tally()
            self.progress(self.tally)

    def _write_leftovers(self) -> None:
        """After a stop: a results line for every row read but not finished (the ledger keeps
        them in flight; the resumed run reconciles them)."""
        for slot, task in self._current.items():
            if task is not None:
                self._current[slot] = None
                self._emit(self._cut_off(task))
        while self._deferred:
            task = heapq.heappop(self._deferred)[2]
            task.attempts = max(task.attempts, task.sends.count)
            self._emit(self._outcome(task, "failed", error=STILL_UNSURE))
        while self._backlog:
            item = self._backlog.popleft()
            self.results.expect(item.row)
            self._emit(
                self._outcome(item, "failed", error=NOT_SENT) if isinstance(item, Task) else item
            )

    def _cut_off(self, task: Task) -> Outcome:
        """The results line of a row the stop caught unfinished: the refusal its request got,
        else CUT_OFF when a request left for it (its fate is unknown), else NOT_SENT."""
        task.attempts = max(task.attempts, task.sends.count)  # with those cut off in flight
        refusal = task.refusal
        if refusal is not None and task.sends.count:
            return self._outcome(task, "failed", http_status=refusal.status,
                                 error=error_text(refusal), log_ref=refusal.log_ref)  # fmt: skip
        return self._outcome(task, "failed", error=CUT_OFF if task.sends.count else NOT_SENT)

    def _update_tally(self) -> None:
        self.tally.requests = self.client.requests
        self.tally.lookups = self.client.lookups
        self.tally.rate_limited = self.client.rate_limited
        self.tally.seconds = time.monotonic() - self._started


def estimate_seconds(creates: int, rate: float) -> float:
    """How long ``creates`` take at ``rate`` requests a minute (each create costs 2)."""
    return creates * WRITE_COST / (rate * Pacer.SAFETY) * 60
