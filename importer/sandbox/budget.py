"""The account's rate budget: fixed and sliding per-minute windows, the write burst limit, and the
simulated agent that spends part of the budget from the same window."""

from __future__ import annotations

import math
from collections import deque

from importer.sandbox.config import WINDOW


# --- rate budget ---------------------------------------------------------------------------------
class FixedWindow:
    """The budget resets at every multiple of 60 s of the clock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._start = -math.inf
        self._used = 0

    def _roll(self, now: float) -> None:
        start = now // WINDOW * WINDOW
        if start != self._start:
            self._start, self._used = start, 0

    def remaining(self, now: float) -> int:
        self._roll(now)
        return self.limit - self._used

    def take(self, cost: int, now: float) -> float | None:
        """Spend ``cost``; None when spent, else the seconds until it would fit."""
        self._roll(now)
        if self._used + cost > self.limit:
            return self._start + WINDOW - now
        self._used += cost
        return None


class SlidingWindow:
    """Each request's cost comes back 60 s after it was spent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._spent: deque[tuple[float, int]] = deque()
        self._used = 0

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - WINDOW:
            self._used -= self._spent.popleft()[1]

    def remaining(self, now: float) -> int:
        self._expire(now)
        return self.limit - self._used

    def take(self, cost: int, now: float) -> float | None:
        self._expire(now)
        missing = self._used + cost - self.limit
        if missing > 0:
            for spent_at, spent in self._spent:
                missing -= spent
                if missing <= 0:
                    return spent_at + WINDOW - now
            return WINDOW
        self._spent.append((now, cost))
        self._used += cost
        return None


class BurstLimit:
    """At most ``count`` writes in any ``seconds``: a limit on top of the minute's budget."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count, self.seconds = count, seconds
        self._writes: deque[float] = deque()

    def wait(self, now: float) -> float | None:
        """None when one more write fits now, else the seconds until it would."""
        writes = self._writes
        while writes and writes[0] <= now - self.seconds:
            writes.popleft()
        if len(writes) < self.count:
            return None
        return writes[0] + self.seconds - now

    def record(self, now: float) -> None:
        self._writes.append(now)


class Agent:
    """A simulated agent of the same account: reads spending ``share`` of the minute's budget,
    one every ``60 / (share x limit)`` seconds, from the same window as every other client.

    It is simulated lazily: ``catch_up(now)`` makes the reads that fell due since the last call,
    each at its own time, so a fake clock drives it exactly and a live sandbox (which calls it on
    every request and a few times a second) is the same account as with a real agent.
    """

    def __init__(self, limiter: FixedWindow | SlidingWindow, share: float, now: float) -> None:
        self.limiter = limiter
        self.requests = self.rate_limited = 0
        self.share = 0.0
        self.set_share(share, now)

    def set_share(self, share: float, now: float) -> None:
        """Change the load from now on (what fell due before is spent at the old one)."""
        self.catch_up(now)
        self.share, self._origin, self._done = share, now, 0

    def catch_up(self, now: float) -> None:
        if not self.share:
            return
        interval = WINDOW / (self.share * self.limiter.limit)
        due = math.floor((now - self._origin) / interval) + 1
        while self._done < due:
            at = self._origin + self._done * interval
            self._done += 1
            self.requests += 1
            if self.limiter.take(1, at) is not None:
                self.rate_limited += 1

    def summary(self) -> dict[str, float | int]:
        return {"share": self.share, "requests": self.requests, "rate_limited": self.rate_limited}
