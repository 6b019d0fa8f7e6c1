"""The uploader: rows from the validator to Help Scout through N workers, outcomes to the results.

The validated rows come as batches (one per CSV chunk), read in a worker thread so that mapping
and checking the next chunk never stalls the requests in flight. Rows that will be sent become
:class:`Job` objects in a bounded queue (so memory stays flat whatever the file's size); rows that
will not (invalid ones) come as finished :class:`~importer.results.Outcome` objects and go straight
to the results, which put everything back in input order.

Pacing, token refresh and retries are the client's (:mod:`importer.client`): every worker shares
one :class:`~importer.client.Pacer`, so a 429 stops them all.

A :class:`Journal` (the SQLite ledger) can follow the run: it hears about each batch of jobs
before any of them is sent, and about each outcome as it settles; a row whose request may have
left is therefore never forgotten.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from importer.client import WRITE_COST, HelpScoutClient, Pacer, Reply
from importer.errors import ApiError, ImporterError, RunStopped
from importer.results import Outcome, ResultsWriter

#: Requests a worker is assumed to wait for an answer, to size the default concurrency.
ASSUMED_LATENCY = 2.0
#: Rows in a row that got no answer at all before the run stops (Help Scout is unreachable).
LOST_IN_A_ROW = 20


@dataclass
class Job:
    """One row to send."""

    row: int
    payload: dict[str, Any]
    key: str | None = None
    """What identifies the row across runs (the ledger's key)."""
    source: Sequence[str] | None = None


class Journal(Protocol):
    """Something that records the run as it goes (the ledger)."""

    def sending(self, jobs: Sequence[Job]) -> None:
        """Called with a batch of jobs before any of them is sent."""

    def settled(self, outcome: Outcome) -> None:
        """Called as each sent row ends."""


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


def outcome_of(job: Job, reply: Reply) -> Outcome:
    """The results line for a create's reply."""
    base = {"row": job.row, "attempts": reply.attempts, "source": job.source}
    if reply.ok:
        return Outcome(
            status="created",
            customer_id=reply.resource_id,
            http_status=reply.status,
            error="" if reply.resource_id else "created, but Help Scout sent no Resource-ID",
            **base,
        )
    error = reply.error
    if isinstance(error, ApiError):
        fields = "; ".join(str(e) for e in error.field_errors)
        text = f"{error.message}: {fields}" if fields else error.message
        return Outcome(
            status="failed", http_status=error.status, error=text, log_ref=error.log_ref, **base
        )
    return Outcome(status="failed", error=str(error), **base)


class Uploader:
    """Sends jobs with ``concurrency`` workers; every row's outcome goes to ``results``."""

    def __init__(
        self,
        client: HelpScoutClient,
        results: ResultsWriter,
        *,
        concurrency: int,
        journal: Journal | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.results = results
        self.concurrency = concurrency
        self.journal = journal
        self.progress = progress
        self.tally = Tally()
        self._lost_in_a_row = 0
        self._started = time.monotonic()

    async def run(self, batches: Iterable[Sequence[Job | Outcome]]) -> Tally:
        """Send every job of every batch; raises what stopped the run (AuthError, RunStopped)."""
        self._started = time.monotonic()
        queue: asyncio.Queue[Job | None] = asyncio.Queue(self.concurrency * 2)
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.concurrency):
                    group.create_task(self._work(queue))
                await self._feed(iter(batches), queue)
                for _ in range(self.concurrency):
                    await queue.put(None)
        except ExceptionGroup as failures:
            stop = next((e for e in failures.exceptions if isinstance(e, ImporterError)), None)
            if stop is None:
                raise
            raise stop from None
        finally:
            self._update_tally()
        return self.tally

    async def _feed(self, batches: Iterator[Sequence[Job | Outcome]], queue: asyncio.Queue) -> None:
        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            jobs = [item for item in batch if isinstance(item, Job)]
            if self.journal is not None and jobs:
                self.journal.sending(jobs)
            for item in batch:
                self.results.expect(item.row)
                if isinstance(item, Job):
                    await queue.put(item)
                else:
                    self._settle(item)

    async def _work(self, queue: asyncio.Queue) -> None:
        while (job := await queue.get()) is not None:
            reply = await self.client.create_customer(job.payload)
            outcome = outcome_of(job, reply)
            self._settle(outcome)
            if self.journal is not None:
                self.journal.settled(outcome)
            if reply.ok or reply.status:
                self._lost_in_a_row = 0
                continue
            self._lost_in_a_row += 1
            if self._lost_in_a_row >= LOST_IN_A_ROW:
                raise RunStopped(
                    f"{self._lost_in_a_row} rows in a row got no answer from "
                    f"{self.client.api_url} ({reply.error}): check the network and the API URL"
                )

    def _settle(self, outcome: Outcome) -> None:
        self.tally.count(outcome)
        self.results.add(outcome)
        if self.progress is not None:
            self._update_tally()
            self.progress(self.tally)

    def _update_tally(self) -> None:
        self.tally.requests = self.client.requests
        self.tally.rate_limited = self.client.rate_limited
        self.tally.seconds = time.monotonic() - self._started


def estimate_seconds(creates: int, rate: float) -> float:
    """How long ``creates`` take at ``rate`` requests a minute (each create costs 2)."""
    return creates * WRITE_COST / (rate * Pacer.SAFETY) * 60
