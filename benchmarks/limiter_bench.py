"""Can aiolimiter's ``AsyncLimiter`` release requests beneath the pacer? A pace change, measured.

    python benchmarks/limiter_bench.py [--workers 8]

The pacer's pace changes while a run goes on: with the budget it learns, with others' share and
after each 429 (a ramp back over 30 s). Whatever releases the requests must follow each change at
once. Eight greedy workers ask for one request (cost 1) after another, on a virtual clock (the
event loop jumps to its next timer), from four releasers: the pacer's own bucket (``Pacer`` with
``rate`` set; it spends ``SAFETY`` of it), ``AsyncLimiter`` told the new pace through its public
``max_rate`` / ``time_period``, a new ``AsyncLimiter`` at each change, and ``AsyncLimiter`` with
its private ``_rate_per_sec`` set too. Printed per scenario and releaser: requests released in the
10 s after the change (or over the ramp) against the target, and the most in any one second
against the new pace's bucket (one second's worth). The figures: docs/internals.md#pacing.
"""

from __future__ import annotations

import argparse
import asyncio
import selectors
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from aiolimiter import AsyncLimiter

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout, as a script
    sys.path.insert(0, str(ROOT))

from importer.send.pacing import BURST, SAFETY, WINDOW, Pacer  # noqa: E402

#: Seconds at the first pace before the change, and measured after it.
BEFORE, AFTER = 10.0, 10.0
#: Seconds between the driver's pace updates during a ramp.
STEP = 0.1


@dataclass(frozen=True)
class Scenario:
    """A pace (cost a minute) as a function of the seconds since the change."""

    name: str
    start: float
    end: float
    ramp: float = 0.0  # seconds the change takes (0: a step)

    def pace(self, since: float) -> float:
        if since < 0:
            return self.start
        if self.ramp and since < self.ramp:
            return self.start + (self.end - self.start) * since / self.ramp
        return self.end

    @property
    def measured(self) -> float:
        return max(AFTER, self.ramp)

    def target(self) -> float:
        """Requests the pace allows over the measured seconds (the ramp's area)."""
        steps = round(self.measured / STEP)
        return sum(self.pace(i * STEP) * STEP / WINDOW for i in range(steps))


SCENARIOS = [
    Scenario("step down 600 -> 120/min", 600, 120),
    Scenario("step up 120 -> 600/min", 120, 600),
    Scenario("429 ramp 150 -> 270/min in 30 s", 150, 270, ramp=30.0),
]


class Releaser(Protocol):
    def set_pace(self, pace: float) -> None: ...
    async def acquire(self) -> None: ...


class PacerBucket:
    """The pacer itself with ``--rate`` (no answers, so the ceiling is the pace)."""

    def __init__(self, pace: float) -> None:
        self.pacer = Pacer(pace / SAFETY)

    def set_pace(self, pace: float) -> None:
        self.pacer.rate = pace / SAFETY

    async def acquire(self) -> None:
        await self.pacer.acquire(1)


def capacity(pace: float) -> float:
    """The bucket the pacer keeps: BURST seconds' worth, at least one request."""
    return max(1.0, pace * BURST / WINDOW)


class PublicAttributes:
    """AsyncLimiter told the new pace the documented way: its ``max_rate`` and ``time_period``."""

    def __init__(self, pace: float) -> None:
        self.limiter = AsyncLimiter(capacity(pace), capacity(pace) * WINDOW / pace)

    def set_pace(self, pace: float) -> None:
        self.limiter.max_rate = capacity(pace)
        self.limiter.time_period = capacity(pace) * WINDOW / pace

    async def acquire(self) -> None:
        await self.limiter.acquire(1)


class NewLimiter(PublicAttributes):
    """A new AsyncLimiter at each change (its level, the recent spending, is lost)."""

    def set_pace(self, pace: float) -> None:
        self.limiter = AsyncLimiter(capacity(pace), capacity(pace) * WINDOW / pace)


class PrivateRate(PublicAttributes):
    """The public attributes plus the private leak rate: what following a pace would take."""

    def set_pace(self, pace: float) -> None:
        super().set_pace(pace)
        self.limiter._leak()  # the elapsed time drips at the old rate first
        self.limiter._rate_per_sec = pace / WINDOW


RELEASERS: dict[str, Callable[[float], Releaser]] = {
    "pacer's bucket": PacerBucket,
    "aiolimiter, max_rate/time_period": PublicAttributes,
    "aiolimiter, new limiter a change": NewLimiter,
    "aiolimiter, private _rate_per_sec": PrivateRate,
}


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer instead of waiting for it."""

    def __init__(self) -> None:
        self.now = 0.0
        loop = self

        class Jumping(selectors.DefaultSelector):
            def select(self, timeout: float | None = None) -> list[Any]:
                if timeout is not None:
                    loop.now += max(timeout, 1e-6)
                return super().select(0)

        super().__init__(Jumping())

    def time(self) -> float:
        return self.now


async def releases(
    scenario: Scenario, make: Callable[[float], Releaser], workers: int
) -> list[float]:
    """The times (seconds since the change) at which requests were released."""
    releaser = make(scenario.start)
    loop = asyncio.get_running_loop()
    change, stop = loop.time() + BEFORE, loop.time() + BEFORE + scenario.measured
    times: list[float] = []

    async def worker() -> None:
        while loop.time() < stop:
            await releaser.acquire()
            times.append(loop.time() - change)

    async def driver() -> None:
        await asyncio.sleep(BEFORE)
        while (since := loop.time() - change) < scenario.measured:
            releaser.set_pace(scenario.pace(since))
            await asyncio.sleep(STEP if scenario.ramp else scenario.measured)

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await driver()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [t for t in times if 0 <= t < scenario.measured]


def burst(times: list[float]) -> int:
    """The most releases in any one second."""
    most, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - 1.0:
            lo += 1
        most = max(most, hi - lo + 1)
    return most


def run(main: Callable[[], Coroutine[Any, Any, list[float]]]) -> list[float]:
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        return runner.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8, help="greedy workers asking at once")
    args = parser.parse_args()
    print(f"{'scenario':34} {'releaser':36} {'released':>9} {'target':>7} {'ratio':>6} "
          f"{'most in 1 s':>11} {'bucket':>6}")  # fmt: skip
    for scenario in SCENARIOS:
        target = scenario.target()
        allowed = capacity(scenario.end)
        for name, make in RELEASERS.items():
            times = sorted(run(partial(releases, scenario, make, args.workers)))
            print(f"{scenario.name:34} {name:36} {len(times):9d} {target:7.0f} "
                  f"{len(times) / target:6.2f} {burst(times):11d} {allowed:6.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
