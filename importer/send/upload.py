"""The uploader: every valid row to Help Scout exactly once, whatever happens, with the ledger.

The validated rows come as batches from a reading thread (so mapping and checking the next chunk
never stalls the requests in flight). The :class:`Uploader` is the import's
:class:`~importer.send.workers.Workers`: they take the tasks in input order, mark each in flight in
the ledger before its first request (one fsync per group of ``concurrency``), so no request leaves
for a row the ledger could forget, and put every results line back in input order; stopping (Ctrl-C,
SIGTERM, a fatal answer) is theirs too. Outcomes are settled in the ledger (buffered).

What happens to each row is :func:`importer.send.decide.decide`'s, a pure function whose docstring
is the table (invalid, duplicate, new, resumed, re-run, exists...); this module carries it out.
An update sends only what differs (:meth:`~importer.send.client.HelpScoutClient.update_from`).

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
``exists`` (or updated). A customer a look-up finds after a create in doubt is the row's
(``created``) only if :func:`~importer.send.decide.is_ours` (created since, holding what was sent);
else it is somebody else's: ``exists``. Look-ups from every worker are batched: one search for
up to :data:`LOOKUP_BATCH` emails (:class:`Lookups`). A row whose fate stays unknown ends
``failed`` in the results and stays ``in_flight`` in the ledger, which the next run reconciles;
one without an email to look it up by ends ``unknown`` (UNKNOWN: it stops nothing, and only
``--retry-unknown`` sends it again).

After a stop, rows not sent are ``not_sent`` (NOT_SENT), rows cut off in flight (CUT_OFF: they
may have been created) ``failed``, with a message saying to run the same command; a row waiting for
search when the run stopped says so (STILL_UNSURE). The ledger keeps them all ``in_flight`` for
the next run to reconcile.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from importer.core.errors import ApiError, AuthError, ImporterError, RunStopped, TransportError
from importer.core.options import SETTLE_TIME
from importer.send.client import HelpScoutClient, Reply, Sends
from importer.send.decide import (
    Job,
    Policy,
    after_look_up,
    decide,
    email_of,
    is_ours,
    never_created,
)
from importer.send.ledger import HEARTBEAT, Entry, Ledger, RunInfo
from importer.send.results import CHANGED_HINT, Outcome, ResultsWriter, Status
from importer.send.tally import Progress, Tally
from importer.send.workers import (
    FATAL,
    GRACE,
    LOST_IN_A_ROW,
    NOT_SENT,
    ROW_TIMEOUT,
    STOPPED_IN_FLIGHT,
    Deferred,
    Unknown,
    Workers,
    error_text,
)

#: Requests a worker is assumed to wait for an answer, to size the default concurrency.
ASSUMED_LATENCY = 2.0
#: Emails per search request (``(email:("a" OR "b" ...))``).
LOOKUP_BATCH = 20
#: Seconds a look-up waits for others to share its search request.
LOOKUP_WINDOW = 0.02
#: Creates sent for one row whose answers left its fate unknown, each followed by a look-up.
LOOKUP_ROUNDS = 3

RERUN = "run the same command, which looks it up before sending it again"
CUT_OFF_REASON = f"it may have been created; {RERUN}"
CUT_OFF = STOPPED_IN_FLIGHT.format(CUT_OFF_REASON)
STILL_UNSURE = (
    "the run stopped while this row waited for Help Scout's search to catch up (its create got "
    "no certain answer, and search may lag behind creates): kept in flight; run the same "
    "command, which looks it up again before sending it"
)
NO_ID = "created, but Help Scout sent no usable id: check {email} in Help Scout"
CHANGED = f"changed since it was imported: {CHANGED_HINT}"
UNKNOWN = (
    "its create got no certain answer, so it may have been created, and a row without an email "
    "cannot be looked up: check in Help Scout whether this customer exists; if not, run again "
    "with --retry-unknown to send it (else leave it: it is not sent again)"
)

TaskKind = Literal["create", "reconcile", "check", "update"]
Customer = dict[str, Any]
"""A customer as Help Scout's search lists it."""

__all__ = [
    "CUT_OFF",
    "GRACE",
    "LOST_IN_A_ROW",
    "NOT_SENT",
    "ROW_TIMEOUT",
    "SETTLE_TIME",
    "UNKNOWN",
    "Job",
    "Lookups",
    "Policy",
    "Task",
    "Uploader",
    "after_look_up",
    "default_concurrency",
    "email_of",
    "first_sent",
]


@dataclass
class Task:
    """A row that needs requests, and what to do."""

    job: Job
    action: TaskKind
    customer_id: str | None = None
    """The customer an update changes."""
    sent_digest: str | None = None
    """Reconcile: the hash of what the earlier run sent, recorded if the customer is found."""
    looked_up: bool = False
    found: Customer | None = None
    """The customer that has the row's email, when ``looked_up``."""
    sent_after: float | None = None
    """When (Unix seconds) the first create that may have made this row's customer left: a
    customer found is this row's only if created since (:func:`~importer.send.decide.is_ours`)."""
    marked: bool = False
    uncreated: bool = False
    """No create of the row's key ever left before this run: a key the state did not know, or
    one a stopped run settled as never created (:func:`~importer.send.decide.never_created`)."""
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


def default_concurrency(rate: float | None) -> int:
    """Workers enough to spend ``rate`` requests a minute if answers take ASSUMED_LATENCY s."""
    if rate is None:
        return 16
    creates_per_second = rate / 60 / 2
    return max(2, min(64, math.ceil(creates_per_second * ASSUMED_LATENCY) + 2))


def first_sent(entry: Entry) -> float:
    """When (Unix seconds) the ledger first saw the entry's key: for an entry without a customer
    id, every create of it left since (its latest mark, ``sent_at``, may be a later run's)."""
    return datetime.fromisoformat(entry.first_seen).timestamp()


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


class Unsearchable(Exception):
    """A row whose create may have been carried out has no email to look it up by."""


class Lookups:
    """Finds customers by exact email for every worker: one search for up to ``batch`` emails."""

    def __init__(
        self, client: HelpScoutClient, *, batch: int = LOOKUP_BATCH, window: float = LOOKUP_WINDOW
    ) -> None:
        self.client = client
        self.batch = batch
        self.window = window
        self._waiting: dict[str, list[asyncio.Future[Customer | None]]] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def find(self, email: str) -> Customer | None:
        """The newest customer with exactly this email (as search lists it: ``id``,
        ``createdAt``, entries under ``_embedded``), or None when nobody has it.

        Raises what the search raised (ApiError, TransportError, AuthError).
        """
        future: asyncio.Future[Customer | None] = asyncio.get_running_loop().create_future()
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

    async def _newest(self, emails: list[str]) -> dict[str, Customer]:
        """Each email's newest customer (the highest id), for the emails somebody has."""
        found = await self.client.find_customers_by_email(emails, batch=len(emails))
        return {
            email: max(customers, key=lambda c: int(c["id"]))
            for email, customers in found.items()
            if customers
        }


class Uploader(Workers[Task]):
    """Imports planned rows with ``concurrency`` workers, recording everything in ``ledger``.

    The ledger must be open with a run begun (``ledger.begin_run``); ``notice`` hears one-line
    messages for the user (a stop under way, rows waiting for search).
    """

    cut_off_reason = CUT_OFF_REASON
    still_waiting = STILL_UNSURE

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
        super().__init__(client, results, concurrency=concurrency, tally=Tally(),
                         progress=progress, notice=notice, grace=grace,
                         row_timeout=row_timeout)  # fmt: skip
        self.ledger = ledger
        self.run_info: RunInfo = ledger.run
        self.policy = policy or Policy()
        self.settle_time = settle_time
        self._told_wait = 0.0
        self._lookups = Lookups(client)

    # --- the workers' hooks ---------------------------------------------------------------------
    async def _beat(self) -> None:
        """Tell the ledger this run is alive, so a run after a kill knows when its requests may
        have left (see ``Ledger.unsure_since``)."""
        with contextlib.suppress(RunStopped):  # the disk is full: marks and settles say so
            while True:
                self.ledger.heartbeat()
                await asyncio.sleep(HEARTBEAT)

    def _close(self) -> None:
        self._lookups.close()

    def _waiting(self, rows: int, due: float) -> str | None:
        if due <= self._told_wait + 1:
            return None
        self._told_wait = due
        return (
            f"waiting {max(0, due - time.time()):.0f} s for Help Scout's search to catch up "
            f"on {rows} row{'s' if rows != 1 else ''} whose create got no certain answer "
            f"(--settle-time {self.settle_time:g}); Ctrl-C leaves "
            f"{'them' if rows != 1 else 'it'} in flight for the next run"
        )

    def _record_in_flight(self, tasks: list[Task]) -> None:
        self.ledger.mark_in_flight([(t.job.key, t.job.row, t.job.digest) for t in tasks])

    def _failure(
        self, task: Task, error: str, *, http_status: int | None = None, log_ref: str | None = None
    ) -> Outcome:
        return self._outcome(task, "failed", http_status=http_status, error=error, log_ref=log_ref)

    def _unsent(self, task: Task) -> Outcome:
        """A row the stop left unsent: settled as never sent when it was marked (see
        :meth:`_settle_uncreated`)."""
        self._settle_uncreated(task, None)
        return self._outcome(task, "not_sent", error=NOT_SENT)

    def _cut_off(self, task: Task) -> Outcome:
        outcome = super()._cut_off(task)
        if task.refusal is not None:
            self._settle_uncreated(task, task.refusal)
        return outcome

    def _settle_uncreated(self, task: Task, refusal: AuthError | None) -> None:
        """Record a row the stop left certainly not created: none of its requests left (or
        each was answered 429), or the one that did was refused for the credentials or the
        account (``refusal``: 401, 403), and no create of its key was ever in doubt. Settled
        ``failed`` that way, the next run sends it as a new row
        (:func:`~importer.send.decide.decide`, line 5.5), with no look-up, so a row without an
        email does not become ``unknown``. Left in flight otherwise."""
        sent = task.sends.count > task.sends.refused  # a 429 was not carried out
        certain = task.uncreated and not task.unsure_creates and (refusal or not sent)
        if not (task.marked and certain):
            return
        if refusal is None:
            self.ledger.settle(task.job.key, status="failed", attempts=0, error=NOT_SENT,
                               row=task.row)  # fmt: skip
        else:
            self.ledger.settle(task.job.key, status="failed", attempts=task.attempts,
                               http_status=refusal.status, error=error_text(refusal),
                               log_ref=refusal.log_ref, row=task.row)  # fmt: skip

    async def _plan(self, batch: Sequence[Job]) -> list[Task | Outcome]:
        """Decide each row of ``batch``; look up together the emails of the rows to reconcile or
        check, LOOKUP_BATCH to a search (a look-up that fails is tried again by the worker)."""
        jobs = [job for job in batch if job.valid]
        known = self.ledger.get_many([job.key for job in jobs]) if jobs else {}
        planned = [self._carry_out(job, known.get(job.key)) for job in batch]
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

    def _carry_out(self, job: Job, entry: Entry | None) -> Task | Outcome:
        """The row's decision (:func:`~importer.send.decide.decide`) as a task for the workers, or
        its results line when it needs no request (a skip over an entry left in flight is
        settled)."""
        action = decide(job, entry, self.policy, self.run_info)
        kind = action.kind
        if kind == "invalid":
            return Outcome(job.row, "invalid", error=job.error, source=job.source)
        if kind == "recorded":
            assert entry is not None
            return recorded(job, entry)
        if kind == "unknown":  # in flight in the ledger, until --retry-unknown
            return Outcome(job.row, "unknown", error=UNKNOWN, source=job.source)
        if kind == "skip":
            if action.settle:
                self.ledger.settle(job.key, status="skipped", error=action.reason, attempts=0,
                                   row=job.row)  # fmt: skip
            error = CHANGED if action.reason == "changed" else job.error
            return Outcome(job.row, "skipped", action.customer_id, error=error,
                           reason=action.reason, source=job.source)  # fmt: skip
        if kind == "reconcile":
            assert entry is not None
            unsure = self.ledger.unsure_since(entry) if action.unsure else None
            return Task(job, kind, sent_digest=action.sent_digest, unsure_since=unsure,
                        sent_after=first_sent(entry))  # fmt: skip
        uncreated = entry is None or never_created(entry)
        return Task(job, kind, customer_id=action.customer_id, uncreated=uncreated)

    # --- one row's requests ---------------------------------------------------------------------
    async def _perform(self, task: Task) -> Outcome:
        """Do what ``task`` says; raises Unknown when the row's fate cannot be learnt (an
        ``unknown`` row, which cannot be looked up, is a results line: it stops nothing)."""
        try:
            return await self._carry_out_task(task)
        except Unsearchable:  # kept in flight: only --retry-unknown sends it again
            return self._outcome(task, "unknown", error=UNKNOWN)

    async def _carry_out_task(self, task: Task) -> Outcome:
        if task.action == "update":
            assert task.customer_id is not None
            return await self._update(task, task.customer_id)
        if task.action == "reconcile" or (task.action == "check" and email_of(task.job.payload)):
            found = await self._trusted_look_up(task, f"{task.action} before creating")
            if found is not None and task.action == "reconcile":
                return await self._adopt(task, found, None, digest=task.sent_digest)
            if found is not None:
                return await self._existing(task, str(found["id"]), None)
        return await self._create(task)

    async def _adopt(
        self, task: Task, found: Customer, http_status: int | None, digest: str | None = ""
    ) -> Outcome:
        """A customer found after a create in doubt: ``created`` when it is that create's
        (:func:`~importer.send.decide.is_ours`), else somebody else's that has the email: ``exists``
        (or updated), never the import's, so an undo never deletes it."""
        customer_id = str(found["id"])
        if is_ours(found, task.job.payload, task.sent_after):
            return self._settle(task, "created", customer_id=customer_id, digest=digest)
        return await self._existing(task, customer_id, http_status)

    async def _trusted_look_up(self, task: Task, why: str) -> Customer | None:
        """The customer with the row's email, once a look-up's answer can be trusted (see
        :func:`after_look_up`); raises Deferred when it cannot be yet."""
        if not task.looked_up:
            task.looked_up_at = time.time()
            task.found, task.looked_up = await self._look_up(task, why), True
        verdict, due = after_look_up(
            task.found, task.looked_up_at, task.unsure_since, self.settle_time
        )
        if verdict == "wait":
            task.looked_up = False  # look again when due
            raise Deferred(due)
        return task.found

    async def _create(self, task: Task) -> Outcome:
        reply: Reply | None = None
        for round_ in range(task.unsure_creates + 1, LOOKUP_ROUNDS + 1):
            if task.sent_after is None:
                task.sent_after = time.time()
            reply = await self.client.create_customer(task.job.payload)
            task.attempts += reply.attempts
            if reply.ok:
                new_id = reply.resource_id
                if new_id is None:  # kept in flight: the next run looks it up
                    email = email_of(task.job.payload) or "this row's customer"
                    raise Unknown(NO_ID.format(email=email), reply.status)
                return self._settle(task, "created", customer_id=new_id, http_status=reply.status)
            if reply.status == 409:
                found = await self._look_up(task, "the create answered 409")
                if found is None:
                    return self._refused(task, reply)
                if task.unsure_creates:  # an earlier create of ours may have done it
                    return await self._adopt(task, found, reply.status)
                return await self._existing(task, str(found["id"]), reply.status)
            if not reply.uncertain:
                return self._refused(task, reply)
            task.unsure_since, task.unsure_creates = time.time(), round_
            task.action, task.sent_digest, task.looked_up = "reconcile", task.job.digest, False
            why = f"the create got no certain answer ({reply.error})"
            found = await self._trusted_look_up(task, why)  # Deferred: other rows go on meanwhile
            if found is not None:
                return await self._adopt(task, found, None)
        raise Unknown(
            f"{LOOKUP_ROUNDS} creates got no certain answer"
            f"{f' ({reply.error})' if reply is not None else ''} and the customer was not found "
            f"after any of them: it may have been created; {RERUN}"
        )

    async def _look_up(self, task: Task, why: str) -> Customer | None:
        email = email_of(task.job.payload)
        if email is None:
            raise Unsearchable(why)
        try:
            return await self._lookups.find(email)
        except FATAL:
            raise
        except (ApiError, TransportError) as exc:
            raise Unknown(
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

    def _refused(self, task: Task, reply: Reply) -> Outcome:
        """The results line of a row whose create Help Scout refused (400, 409 unfound...)."""
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
        updated from it; another (reconciled rows); None to keep the recorded one (failures). A
        customer created from the row's payload has it recorded, for an undo to compare with.
        """
        job = task.job
        if digest == "":
            digest = None if status == "failed" else job.digest
        sent = job.payload if status == "created" and digest == job.digest else None
        self.ledger.settle(job.key, status=status, attempts=task.attempts, customer_id=customer_id,
                           http_status=http_status, error=error or None, log_ref=log_ref,
                           row=job.row, payload_hash=digest, payload=sent)  # fmt: skip
        if status == "exists":
            return self._outcome(task, "skipped", customer_id, http_status, reason="exists")
        if status == "skipped":
            return self._outcome(task, "skipped", customer_id, http_status, reason=error)
        return self._outcome(task, status, customer_id, http_status, error, log_ref)

    def _outcome(
        self,
        task: Task,
        status: Literal["created", "updated", "skipped", "failed", "not_sent", "unknown"],
        customer_id: str | None = None,
        http_status: int | None = None,
        error: str = "",
        log_ref: str | None = None,
        reason: str = "",
    ) -> Outcome:
        job = task.job
        return Outcome(job.row, status, customer_id, http_status, error, log_ref, task.attempts,
                       reason, job.source)  # fmt: skip
