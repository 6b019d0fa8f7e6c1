"""The account's rate budget: what a request costs, how fast to send, how long a plan takes.

Help Scout gives each account one per-minute budget shared by every user and integration; writes
cost :data:`WRITE_COST`, reads :data:`READ_COST`. The :class:`Pacer` spends it for one run (every
API request of the client goes through it); :func:`retry_after` reads how long a 429 asks to wait;
:data:`PLAN_BUDGETS` and :func:`estimate_seconds` say how long an import will take.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiolimiter import AsyncLimiter

from importer.errors import ConfigError

__all__ = [
    "PLAN_BUDGETS",
    "READ_COST",
    "WRITE_COST",
    "Pacer",
    "estimate_seconds",
    "retry_after",
]

WRITE_COST, READ_COST = 2, 1
#: Requests per minute of each Help Scout plan (Free has no API).
PLAN_BUDGETS = {"Standard": 200, "Plus": 400, "Pro": 800}


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def retry_after(headers: Mapping[str, str], default: float = 60.0) -> float:
    """Seconds a 429 asks to wait: ``X-RateLimit-Retry-After``, else ``Retry-After``."""
    for name in ("X-RateLimit-Retry-After", "Retry-After"):
        try:
            return max(0.0, float(headers[name]))
        except (KeyError, ValueError):
            continue
    return default


class Pacer:
    """Spends the account's per-minute budget evenly across every request of the run.

    ``rate`` is the requests per minute this run may spend; None learns the budget from the first
    answer's ``X-RateLimit-Limit-Minute`` and keeps ``share`` of it, so agents and other
    integrations on the account keep working (no header: no limit). Until that first answer, one
    request is in flight.

    An ``AsyncLimiter(budget, 60)`` would let a whole minute's budget through in one burst; here
    the bucket holds one second's worth (at least one write), so requests leave evenly and no
    60-second window of the server, wherever it starts, gets more than the budget. The pace is
    :data:`SAFETY` of the budget: latency jitter can carry a request into the next minute.

    ``X-RateLimit-Remaining-Minute`` lower than what is already in flight plus one write means
    someone else is spending the account's budget: everyone holds for :data:`HOLD` seconds rather
    than run into 429s. A 429 calls :meth:`pause`, which holds every request, not just one.
    """

    SAFETY = 0.98
    HOLD = 1.0

    def __init__(self, rate: float | None = None, *, share: float = 0.9) -> None:
        if rate is not None and rate <= 0:
            raise ConfigError("the rate must be a positive number of requests per minute")
        if not 0 < share <= 1:
            raise ConfigError("the budget share must be more than 0 and at most 1")
        self.rate = rate
        self.share = share
        self.limit: int | None = None
        """The budget the API reported (learning mode only)."""
        self.pace: float | None = None
        """Requests per minute being spent; None: no limit."""
        self.in_flight = 0
        self._limiter: AsyncLimiter | None = None
        self._resume_at = 0.0
        self._learning = rate is None
        self._probing = False
        self._learned = asyncio.Event()
        if rate is not None:
            self._set_pace(rate)

    def _set_pace(self, budget: float | None) -> None:
        if not budget:
            self.pace, self._limiter = None, None
            return
        self.pace = budget * self.SAFETY
        per_second = self.pace / 60
        period = max(1.0, WRITE_COST / per_second)
        self._limiter = AsyncLimiter(per_second * period, period)

    async def acquire(self, cost: int) -> None:
        """Wait until a request of ``cost`` may leave."""
        loop = asyncio.get_running_loop()
        while True:
            while (wait := self._resume_at - loop.time()) > 0:
                await asyncio.sleep(wait)
            if self._learning:
                if not self._probing:
                    self._probing = True
                    break
                await self._learned.wait()
                continue
            if self._limiter is not None:
                await self._limiter.acquire(cost)
            if loop.time() >= self._resume_at:  # no pause began while we waited
                break
        self.in_flight += cost

    def settle(self, cost: int, headers: Mapping[str, str] | None) -> None:
        """Account for a request's answer (``headers``), or for its lack of one (None)."""
        self.in_flight -= cost
        if headers is None:
            if self._learning:  # let another request ask
                self._probing = False
                self._wake()
            return
        limit = _int_header(headers, "X-RateLimit-Limit-Minute")
        if self._learning or (self.rate is None and limit != self.limit):
            self.limit = limit  # the first answer, or the account's plan changed
            self._set_pace(limit * self.share if limit else None)
            if self._learning:
                self._learning = False
                self._wake()
        remaining = _int_header(headers, "X-RateLimit-Remaining-Minute")
        if remaining is not None and remaining < self.in_flight + WRITE_COST:
            self.pause(self.HOLD)

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (or longer, if already held longer)."""
        now = asyncio.get_running_loop().time()
        self._resume_at = max(self._resume_at, now + seconds)

    def _wake(self) -> None:
        woken, self._learned = self._learned, asyncio.Event()
        woken.set()


def estimate_seconds(creates: int, rate: float) -> float:
    """How long ``creates`` take at ``rate`` requests a minute (each create costs 2)."""
    return creates * WRITE_COST / (rate * Pacer.SAFETY) * 60
