"""The pacer on a virtual clock: an event loop whose clock jumps to the next timer instead of
sleeping (the aiolimiter way), so minutes of pacing take milliseconds."""

from __future__ import annotations

import asyncio
import itertools
import selectors
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from importer.errors import ConfigError
from importer.pacing import Pacer, estimate_seconds, retry_after


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer instead of waiting for it."""

    def __init__(self) -> None:
        self.now = 0.0
        loop = self

        class Jumping(selectors.DefaultSelector):
            def select(self, timeout: float | None = None) -> list:
                if timeout is not None:  # a microsecond at least: real clocks never stand still
                    loop.now += max(timeout, 1e-6)
                return super().select(0)

        super().__init__(Jumping())

    def time(self) -> float:
        return self.now


def virtual_time(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        return runner.run(main())


def headers(**values: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in values.items()}))


@pytest.mark.parametrize(
    "found, seconds",
    [
        (headers(X_RateLimit_Retry_After="7"), 7.0),
        (headers(Retry_After="3"), 3.0),
        (headers(X_RateLimit_Retry_After="5", Retry_After="9"), 5.0),
        (headers(Retry_After="Wed, 21 Oct 2015 07:28:00 GMT"), 60.0),
        (headers(), 60.0),
    ],
)
def test_retry_after(found: CIMultiDictProxy[str], seconds: float) -> None:
    assert retry_after(found) == seconds


# --- the pacer, on a virtual clock ---------------------------------------------------------
def test_pacer_spreads_the_budget_evenly() -> None:
    """--rate 600: 300 creates leave one every 2/9.8 s after a burst of one second's worth, and
    no 60 s window holds more than the budget."""

    async def main() -> list[float]:
        pacer, loop, starts = Pacer(600), asyncio.get_running_loop(), []

        async def create() -> None:
            await pacer.acquire(2)
            starts.append(loop.time())

        await asyncio.gather(*(create() for _ in range(300)))
        return starts

    starts = virtual_time(main)
    per_second = 600 * Pacer.SAFETY / 60
    assert starts[:4] == pytest.approx(
        [0.0] * 4, abs=1e-3
    )  # the bucket holds one second: 9.8 units, 4 creates
    assert starts[-1] == pytest.approx((300 * 2 - 4 * 2) / per_second, rel=0.01)
    gaps = [b - a for a, b in itertools.pairwise(starts[4:])]
    assert gaps == pytest.approx([2 / per_second] * len(gaps), abs=1e-3)
    for i, start in enumerate(starts):
        window = [s for s in starts[i:] if s < start + 60]
        assert len(window) * 2 <= 600


def test_pacer_learns_the_budget_from_the_first_answer() -> None:
    """One request goes first; its X-RateLimit-Limit-Minute sets the pace at the share."""

    async def main() -> tuple[list[float], Pacer]:
        pacer, loop, starts = Pacer(share=0.5), asyncio.get_running_loop(), []

        async def create(i: int) -> None:
            await pacer.acquire(2)
            starts.append(loop.time())
            await asyncio.sleep(0.1)
            pacer.settle(2, headers(X_RateLimit_Limit_Minute="120"))

        await asyncio.gather(*(create(i) for i in range(5)))
        return starts, pacer

    starts, pacer = virtual_time(main)
    assert pacer.limit == 120
    assert pacer.pace == pytest.approx(60 * Pacer.SAFETY)
    assert starts[:2] == pytest.approx([0.0, 0.1], abs=1e-3)  # the others wait for the first answer
    assert starts[-1] - starts[1] == pytest.approx(3 * 2 / Pacer.SAFETY, rel=0.01)


def test_pacer_without_a_limit_header_does_not_pace() -> None:
    async def main() -> list[float]:
        pacer, loop, starts = Pacer(), asyncio.get_running_loop(), []
        await pacer.acquire(2)
        await asyncio.sleep(0.05)
        pacer.settle(2, headers())
        for _ in range(100):
            await pacer.acquire(2)
            starts.append(loop.time())
        return starts

    assert virtual_time(main) == pytest.approx([0.05] * 100, abs=1e-3)


def test_a_lost_first_answer_lets_another_request_ask() -> None:
    async def main() -> list[float]:
        pacer, loop, starts = Pacer(), asyncio.get_running_loop(), []

        async def first() -> None:
            await pacer.acquire(1)
            await asyncio.sleep(1)
            pacer.settle(1, None)

        async def second() -> None:
            await asyncio.sleep(0.01)
            await pacer.acquire(1)
            starts.append(loop.time())
            pacer.settle(1, headers())

        await asyncio.gather(first(), second())
        return starts

    assert virtual_time(main) == pytest.approx([1.0], abs=1e-3)


def test_a_pause_holds_every_request() -> None:
    """A 429's Retry-After holds everyone, also those already waiting in the limiter."""

    async def main() -> list[float]:
        pacer, loop, starts = Pacer(6000), asyncio.get_running_loop(), []
        pacer.pause(5)

        async def create() -> None:
            await pacer.acquire(2)
            starts.append(loop.time())

        await asyncio.gather(*(create() for _ in range(3)))
        return starts

    assert virtual_time(main) == pytest.approx([5.0] * 3, abs=1e-3)


def test_little_remaining_budget_holds_requests() -> None:
    """Someone else spends the account's budget: hold instead of running into 429s."""

    async def main() -> list[float]:
        pacer, loop, starts = Pacer(6000), asyncio.get_running_loop(), []
        await pacer.acquire(2)
        await pacer.acquire(2)
        pacer.settle(2, headers(X_RateLimit_Remaining_Minute="3"))  # 2 in flight + 2 > 3
        await pacer.acquire(2)
        starts.append(loop.time())
        pacer.settle(2, headers(X_RateLimit_Remaining_Minute="300"))
        await pacer.acquire(2)
        starts.append(loop.time())
        return starts

    assert virtual_time(main) == pytest.approx([Pacer.HOLD] * 2, abs=1e-3)


@pytest.mark.parametrize("rate, share", [(0, 0.9), (-5, 0.9), (None, 0), (None, 1.5)])
def test_unusable_pacing(rate: float | None, share: float) -> None:
    with pytest.raises(ConfigError):
        Pacer(rate, share=share)


def test_estimate_seconds() -> None:
    assert estimate_seconds(98, 200) == pytest.approx(60)
