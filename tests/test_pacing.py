"""The pacer: its decisions as tables, then the real pacer against a model of the account's
budget, and once against the real sandbox over loopback, all on a virtual clock: an event loop
whose clock jumps to the next timer instead of sleeping (the aiolimiter way), so minutes of
pacing take milliseconds."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import random
import selectors
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from importer.core.errors import ConfigError
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.auth import Credentials
from importer.send.client import HelpScoutClient
from importer.send.pacing import (
    BETA,
    DEADBAND,
    FLOOR,
    PLATEAU,
    POLL,
    PROBE,
    RECOVER,
    SAFETY,
    SPAN,
    STALE,
    Backoff,
    Pacer,
    Window,
    after_429,
    allowance,
    backoff_cap,
    duration,
    estimate_seconds,
    next_window,
    others_rate,
    recent_rate,
    request_cost,
    retry_after,
    target_pace,
)

Kind = Literal["sliding", "fixed"]
KINDS: tuple[Kind, ...] = ("sliding", "fixed")
#: How close the pace follows its target while others spend (their rate is read with noise).
CLOSE = 0.05


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


def budget(limit: int, remaining: int) -> CIMultiDictProxy[str]:
    return headers(X_RateLimit_Limit_Minute=str(limit), X_RateLimit_Remaining_Minute=str(remaining))


# --- the decisions, as tables ----------------------------------------------------------------
@pytest.mark.parametrize(
    "method, cost", [("POST", 2), ("put", 2), ("PATCH", 2), ("DELETE", 2), ("GET", 1)]
)
def test_request_cost(method: str, cost: int) -> None:
    assert request_cost(method) == cost


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


def test_estimate_seconds() -> None:
    assert estimate_seconds(98, 200) == pytest.approx(60)


@pytest.mark.parametrize(
    "seconds, text",
    [(0.2, "1 s"), (59.5, "1 min"), (61, "1 min 1 s"), (120, "2 min"), (3600, "1 h"),
     (3 * 3600 + 20 * 60 + 5, "3 h 20 min")],
)  # fmt: skip
def test_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    "limit, rate, share, expected",
    [
        (1200, None, 0.9, 1080),
        (1200, 600, 0.9, 600),
        (None, 600, 0.9, 600),
        (None, None, 0.9, None),
    ],
)
def test_allowance(limit: int | None, rate: float | None, share: float, expected: float) -> None:
    assert allowance(limit, rate, share) == expected


@pytest.mark.parametrize(
    "ceiling, limit, others, headroom, expected",
    [
        (None, None, 0, 0.1, None),  # no limit known: no pacing
        (1080, 1200, 0, 0.1, 1080 * SAFETY),  # alone: the share
        (1080, 1200, 360, 0.1, 720 * SAFETY),  # others take 30%: limit - others - headroom
        (1080, 1200, 1080, 0.1, FLOOR * 1200),  # others take it all: the floor, to keep learning
        (600, None, 0, 0.1, 600 * SAFETY),  # --rate, no headers
        (600, 1200, 0, 0.1, 600 * SAFETY),  # --rate under the account's limit
        (2000, 1200, 0, 0.1, 1080 * SAFETY),  # --rate over it: the account's limit wins
        (600, 1200, 700, 0.1, 380 * SAFETY),  # --rate, and others: adapted under the ceiling
        (10, 1200, 1150, 0.1, 10 * SAFETY),  # the floor never exceeds --rate
        (1200, 1200, 0, 0.0, 1200 * SAFETY),  # no headroom asked for
    ],
)
def test_target_pace(
    ceiling: float | None, limit: int | None, others: float, headroom: float, expected: float
) -> None:
    pace = target_pace(ceiling=ceiling, limit=limit, others=others, headroom=headroom)
    assert pace == (None if expected is None else pytest.approx(expected))


WALL = Backoff(wall=1000, at=100, probe=PROBE)


@pytest.mark.parametrize(
    "backoff, now, cap",
    [
        (None, 100, None),
        (WALL, 90, 1000 * BETA),  # still paused: nothing climbs
        (WALL, 100, 1000 * BETA),
        (WALL, 100 + RECOVER / 2, 1000 * (BETA + PLATEAU) / 2),
        (WALL, 100 + RECOVER, 1000 * PLATEAU),
        (WALL, 100 + RECOVER + PROBE / 2, 1000 * (PLATEAU + 1) / 2),  # probing the wall slowly
        (WALL, 100 + RECOVER + PROBE, 1000),
        (Backoff(1000, 100, 2 * PROBE), 100 + RECOVER + PROBE, 1000 * (PLATEAU + 1) / 2),
        (WALL, 100 + RECOVER + PROBE * 10, 1000 * (PLATEAU + 10 * (1 - PLATEAU))),
        (WALL, 100 + RECOVER + PROBE * 12, None),  # twice the wall: forgotten
    ],
)
def test_backoff_cap(backoff: Backoff | None, now: float, cap: float | None) -> None:
    assert backoff_cap(backoff, now) == (None if cap is None else pytest.approx(cap))


@pytest.mark.parametrize(
    "previous, pace, probe",
    [
        (None, 800, PROBE),
        (Backoff(1000, 50, PROBE), 900, 2 * PROBE),  # the same wall again: probe half as often
        (Backoff(1000, 50, 2 * PROBE), 1200, 4 * PROBE),
        (Backoff(1000, 50, 2 * PROBE), 500, PROBE),  # another wall: start afresh
    ],
)
def test_after_429(previous: Backoff | None, pace: float, probe: float) -> None:
    assert after_429(previous, at=200, pace=pace) == Backoff(pace, 200, probe)


FIXED = Window("fixed", 9.5)  # resets at 9.5, 69.5, 129.5...


@pytest.mark.parametrize(
    "window, at, previous, used, own_window, own_minute, expected",
    [
        # sliding, and the used budget holds what the importer sent in the last minute
        (Window(), 130, 129, 500, 400, 400, Window()),
        # less than the importer alone sent in the last minute: a fixed window reset between
        (Window(), 130, 129, 100, 400, 400, Window("fixed", 9.5)),
        # the first answer ever, already below: reset at that answer
        (Window(), 130, None, 100, 400, 400, Window("fixed", 10)),
        # fixed, just after its reset: little used, as expected
        (FIXED, 131, 130.9, 25, 20, 420, FIXED),
        # fixed, just after its believed reset, the minute's spending still counted: sliding
        (FIXED, 131, 130.9, 430, 20, 420, Window()),
        # the same long after the believed reset: others may well have spent that since
        (FIXED, 150, 149.9, 430, 200, 420, FIXED),
        # fixed, less used than the importer spent since the believed reset: a later reset
        (FIXED, 140, 139, 150, 200, 420, Window("fixed", 19.5)),
    ],
)
def test_next_window(
    window: Window,
    at: float,
    previous: float | None,
    used: float,
    own_window: float,
    own_minute: float,
    expected: Window,
) -> None:
    found = next_window(
        window,
        at=at,
        previous=previous,
        used=used,
        own_window=own_window,
        own_minute=own_minute,
        others=2,
        tolerance=8,
    )
    assert found == expected


@pytest.mark.parametrize(
    "kind, now, growth, minute_ago, expected",
    [
        ("fixed", 300, 60, 0, 450),  # their running total grew 60 in 8 s
        ("fixed", 100, -20, 0, 0),  # noise: never below nobody
        ("sliding", 360, 0, 360, 360),  # steady at 6 a second: what enters, leaves
        ("sliding", 30, 30, 0, 225),  # started 5 s ago at 6/s: 30 in the last 8 s
        ("sliding", 120, 48, 0, 360),  # started 20 s ago at 6/s
        ("sliding", 360, 0, 48, 48),  # started 68 s ago: what leaves is underestimated...
        ("sliding", 330, -30, 360, 135),  # stopped 5 s ago: 3 s of spending in the last 8
        ("sliding", 0, 0, 300, 0),  # stopped 70 s ago: nothing left to leave
        ("sliding", 20, -10, 600, 150),  # never more than the window holds now
    ],
)
def test_recent_rate(
    kind: Kind, now: float, growth: float, minute_ago: float, expected: float
) -> None:
    rate = recent_rate(kind, now=now, growth=growth, minute_ago=minute_ago, span=8)
    assert rate == pytest.approx(expected)


@pytest.mark.parametrize(
    "kind, minute, recent, expected",
    [
        ("sliding", 360, None, 360),  # no recent rate yet: the last minute's
        ("sliding", 360, 380, 360),  # within the noise: the last minute's (steadier)
        ("sliding", 30, 225, 225),  # someone started: the recent rate, at once
        ("sliding", 360, 48, 360),  # ...and a minute later the last minute's still holds
        ("sliding", 330, 135, 330),  # a stop: their requests leave the window one by one
        ("fixed", 330, 135, 135),  # a fixed window: the recent rate is exact
        ("fixed", 330, 300, 300),
        ("fixed", 30, 225, 225),
        ("fixed", -4, None, 0),
    ],
)
def test_others_rate(kind: Kind, minute: float, recent: float | None, expected: float) -> None:
    assert others_rate(kind, minute=minute, recent=recent, noise=60) == pytest.approx(expected)


@pytest.mark.parametrize(
    "rate, share, headroom",
    [
        (0, 0.9, 0.1),
        (-5, 0.9, 0.1),
        (None, 0, 0.1),
        (None, 1.5, 0.1),
        (None, 0.9, -0.1),
        (None, 0.9, 1.0),
    ],
)
def test_unusable_pacing(rate: float | None, share: float, headroom: float) -> None:
    with pytest.raises(ConfigError):
        Pacer(rate, share=share, headroom=headroom)


# --- the pacer's mechanics --------------------------------------------------------------------
def test_pacer_spreads_the_budget_evenly() -> None:
    """--rate 600: 300 creates leave evenly, one every 2/(600 x SAFETY) minutes, after a burst
    of one second's worth, and no 60 s window holds more than the budget."""

    async def main() -> list[float]:
        pacer = Pacer(600)
        return [(await pacer.acquire(2)).at for _ in range(300)]

    starts = virtual_time(main)
    gap = 2 * 60 / (600 * SAFETY)
    assert starts[:4] == pytest.approx([0.0] * 4, abs=1e-3)  # a second's worth at once
    gaps = [b - a for a, b in itertools.pairwise(starts[4:])]
    assert gaps[1:] == pytest.approx([gap] * (len(gaps) - 1), abs=1e-3)
    for i, start in enumerate(starts):
        assert 2 * (bisect.bisect_left(starts, start + 60) - i) <= 600


def test_pacer_learns_the_budget_from_the_first_answer() -> None:
    """One request goes first; its X-RateLimit-Limit-Minute sets the pace at the share."""

    async def main() -> tuple[list[float], Pacer]:
        pacer, starts = Pacer(share=0.5), []

        async def create() -> None:
            ticket = await pacer.acquire(2)
            starts.append(ticket.at)
            await asyncio.sleep(0.1)
            pacer.settle(ticket, 201, headers(X_RateLimit_Limit_Minute="120"))

        await asyncio.gather(*(create() for _ in range(5)))
        return starts, pacer

    starts, pacer = virtual_time(main)
    assert (pacer.limit, pacer.ceiling) == (120, 60)
    assert pacer.pace == pytest.approx(60 * SAFETY)
    assert starts[:2] == pytest.approx([0.0, 0.1], abs=1e-3)  # the others waited for it
    assert starts[-1] - starts[1] == pytest.approx(3 * 2 * 60 / (60 * SAFETY), abs=1e-3)


def test_pacer_without_a_limit_header_does_not_pace() -> None:
    async def main() -> list[float]:
        pacer = Pacer()
        ticket = await pacer.acquire(2)
        await asyncio.sleep(0.05)
        pacer.settle(ticket, 201, headers())
        assert pacer.pace is None
        return [(await pacer.acquire(2)).at for _ in range(100)]

    assert virtual_time(main) == pytest.approx([0.05] * 100, abs=1e-3)


@pytest.mark.parametrize("lost", ["no answer", "never sent"])
def test_a_lost_first_answer_lets_another_request_ask(lost: str) -> None:
    async def main() -> list[float]:
        pacer, starts = Pacer(), []

        async def first() -> None:
            ticket = await pacer.acquire(1)
            await asyncio.sleep(1)
            if lost == "no answer":
                pacer.settle(ticket, 0, None)
            else:
                pacer.withdraw(ticket)

        async def second() -> None:
            await asyncio.sleep(0.01)
            ticket = await pacer.acquire(1)
            starts.append(ticket.at)
            pacer.settle(ticket, 200, headers())

        await asyncio.gather(first(), second())
        assert pacer.in_flight == 0
        return starts

    assert virtual_time(main) == pytest.approx([1.0], abs=1e-3)


def test_a_pause_holds_every_request() -> None:
    """A 429's Retry-After holds everyone, also those already waiting for their turn."""

    async def main() -> list[float]:
        pacer = Pacer(6000)
        pacer.pause(5)
        return [t.at for t in await asyncio.gather(*(pacer.acquire(2) for _ in range(3)))]

    assert virtual_time(main) == pytest.approx([5.0] * 3, abs=1e-3)


def test_a_full_window_holds_requests_until_an_answer_shows_room() -> None:
    """Someone else spent the account's window: wait rather than run into a 429."""

    async def main() -> tuple[bool, float]:
        pacer = Pacer(60_000)
        first, second = await pacer.acquire(2), await pacer.acquire(2)
        pacer.settle(first, 201, budget(1000, 40))  # less than a write plus half the headroom
        waiting = asyncio.create_task(pacer.acquire(2))
        await asyncio.sleep(3)
        held = not waiting.done()
        pacer.settle(second, 201, budget(1000, 900))
        return held, (await waiting).at

    held, started = virtual_time(main)
    assert held and 3.0 <= started <= 4.0


def test_a_full_window_and_no_answer_coming_lets_one_probe_go() -> None:
    """Nothing in flight and no room: after STALE s one request goes to learn the budget anew."""

    async def main() -> float:
        pacer = Pacer(6000)
        pacer.settle(await pacer.acquire(2), 201, budget(1000, 0))
        return (await pacer.acquire(2)).at

    assert STALE <= virtual_time(main) <= STALE + POLL


def test_429s_to_requests_sent_before_the_backoff_lower_the_pace_once() -> None:
    """Requests in flight together all get the 429: one event, one decrease, one pause; a
    429 to a request sent after it is a new event."""

    async def main() -> tuple[list[float], list[float]]:
        pacer = Pacer(1000)
        tickets = [await pacer.acquire(2) for _ in range(3)]
        holds = [pacer.settle(t, 429, headers(X_RateLimit_Retry_After="4")) for t in tickets]
        paces = [pacer.pace or 0.0]
        resumed = await pacer.acquire(2)
        assert resumed.at == pytest.approx(4.0, abs=1e-3)
        pacer.settle(resumed, 429, headers(X_RateLimit_Retry_After="1"))
        paces.append(pacer.pace or 0.0)
        return holds, paces

    holds, paces = virtual_time(main)
    assert holds == [4.0] * 3
    assert paces[0] == pytest.approx(1000 * SAFETY * BETA)  # once, not three times
    # the second came when 4 requests had been asked for in 4 s: 120 a minute, halved
    assert paces[1] == pytest.approx(2 * 4 * 60 / 4 * BETA)


# --- against a model of the account -----------------------------------------------------------
class Account:
    """An account's budget as the server keeps it: ``limit`` a minute, the window sliding or
    fixed (reset every 60 s from ``reset``), optionally at most ``burst`` = (N, S) writes in
    any S s. Answers as Help Scout does: 429 with X-RateLimit-Retry-After, the X-RateLimit-*
    headers on every answer; refused requests spend nothing."""

    def __init__(
        self,
        limit: int,
        kind: Kind,
        burst: tuple[int, float] | None = None,
        reset: float = 17.3,
    ) -> None:
        self.limit, self.kind, self.burst, self.reset = limit, kind, burst, reset
        self.spent: deque[tuple[float, int]] = deque()
        self.sliding_used = 0
        self.minutes: dict[int, int] = {}  # fixed: cost spent in each window
        self.writes: deque[float] = deque()
        self.log: list[tuple[float, int, str, int]] = []
        """Every request: (when, cost, who, status)."""

    def _minute(self, at: float) -> int:
        return math.floor((at - self.reset) / 60)

    def _used(self, now: float) -> int:
        if self.kind == "fixed":
            return self.minutes.get(self._minute(now), 0)
        while self.spent and self.spent[0][0] <= now - 60:
            self.sliding_used -= self.spent.popleft()[1]
        return self.sliding_used

    def _wait(self, now: float, cost: int, used: int) -> float | None:
        if self.burst and cost == 2:
            count, seconds = self.burst
            while self.writes and self.writes[0] <= now - seconds:
                self.writes.popleft()
            if len(self.writes) >= count:
                return self.writes[0] + seconds - now
        if used + cost <= self.limit:
            return None
        if self.kind == "fixed":
            return 60 - (now - self.reset) % 60
        missing = used + cost - self.limit
        for at, spent in self.spent:
            missing -= spent
            if missing <= 0:
                return at + 60 - now
        return 60.0

    def answer(self, now: float, cost: int, who: str) -> tuple[int, CIMultiDictProxy[str]]:
        used = self._used(now)
        wait = self._wait(now, cost, used)
        values = {}
        if wait is None:
            self.spent.append((now, cost))
            self.sliding_used += cost
            self.minutes[self._minute(now)] = self.minutes.get(self._minute(now), 0) + cost
            if cost == 2:
                self.writes.append(now)
            used += cost
            status = 201 if cost == 2 else 200
        else:
            status = 429
            values["X-RateLimit-Retry-After"] = str(max(1, math.ceil(wait)))
        self.log.append((now, cost, who, status))
        values["X-RateLimit-Limit-Minute"] = str(self.limit)
        values["X-RateLimit-Remaining-Minute"] = str(max(0, self.limit - used))
        return status, CIMultiDictProxy(CIMultiDict(values))

    def rate_limited(self, who: str, after: float = 0.0) -> list[float]:
        return [at for at, _, w, status in self.log if w == who and status == 429 and at >= after]

    def busiest_minute(self) -> int:
        """The most cost asked for (spent or refused) in any 60 s."""
        asked = sorted((at, cost) for at, cost, _, _ in self.log)
        times = [at for at, _ in asked]
        totals = list(itertools.accumulate((c for _, c in asked), initial=0))
        return max(
            (
                totals[bisect.bisect_left(times, at + 60)] - totals[i]
                for i, (at, _) in enumerate(asked)
            ),
            default=0,
        )

    def creates_per_minute(self, start: float, end: float) -> float:
        made = sum(
            1 for at, _, w, s in self.log if w == "importer" and s == 201 and start <= at < end
        )
        return made / (end - start) * 60


@dataclass
class Agent:
    """Another client of the account: reads spending ``share`` of the limit, evenly, from
    ``start`` to ``stop``; or, with ``spike``, that many reads at once at ``start``."""

    share: float = 0.0
    start: float = 0.0
    stop: float = math.inf
    spike: int = 0


@dataclass
class Run:
    account: Account
    pacer: Pacer
    paces: dict[int, float] = field(default_factory=dict)
    """The pace at each whole second."""
    others: dict[int, float] = field(default_factory=dict)
    """Others' share as the pacer saw it, at each whole second."""


def import_against(
    account: Account,
    *,
    seconds: float,
    agents: Sequence[Agent] = (),
    limits: dict[float, int] | None = None,
    workers: int = 16,
    latency: float = 0.1,
    jitter: float = 0.03,
    **options: Any,
) -> Run:
    """The real pacer driving ``workers`` creates (each ``latency`` +/- ``jitter`` s on the way
    to the server, retried after a 429) against ``account`` for ``seconds`` of virtual time,
    with other clients; ``limits`` changes the account's limit at those times (a plan change).
    """
    dice = random.Random(7)
    run = Run(account, Pacer(**options))

    async def worker() -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < seconds:
            ticket = await run.pacer.acquire(2)
            await asyncio.sleep(latency + dice.uniform(-jitter, jitter))
            run.pacer.settle(ticket, *account.answer(loop.time(), 2, "importer"))

    async def agent(spec: Agent) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(spec.start)
        for _ in range(spec.spike):
            account.answer(loop.time(), 1, "agent")
        while spec.share and loop.time() < min(spec.stop, seconds):
            account.answer(loop.time(), 1, "agent")
            await asyncio.sleep(60 / (spec.share * account.limit))

    async def watch() -> None:
        changes = dict(limits or {})
        for second in range(math.ceil(seconds)):
            if second in changes:
                account.limit = changes[second]
            run.paces[second] = run.pacer.pace or 0.0
            run.others[second] = run.pacer.others_share
            await asyncio.sleep(1)

    async def main() -> None:
        await asyncio.gather(watch(), *map(agent, agents), *(worker() for _ in range(workers)))

    virtual_time(main)
    return run


def paces(run: Run, start: int, end: int) -> list[float]:
    return [run.paces[s] for s in range(start, end)]


@pytest.mark.parametrize("kind", KINDS)
def test_alone_the_pace_is_the_share_of_the_limit_learned_from_the_answers(kind: Kind) -> None:
    run = import_against(Account(1200, kind), seconds=300)
    assert paces(run, 2, 300) == pytest.approx([1080 * SAFETY] * 298)
    assert run.account.creates_per_minute(60, 300) >= 0.97 * 1080 / 2
    assert not run.account.rate_limited("importer")
    assert run.account.busiest_minute() <= 1200
    assert max(run.others.values()) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_competing_client_starting_and_stopping_mid_run(kind: Kind) -> None:
    """Another client spends 30% from 100 s to 220 s: the pace is down to limit - others -
    headroom within SPAN s (plus two answers), holds there, and is back within SPAN s of the
    stop in a fixed window, within 60 s + SPAN in a sliding one. Nobody gets a 429."""
    run = import_against(Account(1200, kind), seconds=360, agents=[Agent(0.3, 100, 220)])
    yielded, alone = (1200 - 360 - 120) * SAFETY, 1080 * SAFETY
    assert paces(run, 2, 100) == pytest.approx([alone] * 98)
    settled = math.ceil(100 + SPAN + 1)
    assert paces(run, settled, 220) == pytest.approx([yielded] * (220 - settled), rel=CLOSE)
    assert run.others[150] == pytest.approx(0.3, abs=0.02)
    back = math.ceil(220 + SPAN + 1 + (0 if kind == "fixed" else 60))
    assert paces(run, back, 360) == pytest.approx([alone] * (360 - back))
    assert run.account.creates_per_minute(settled, 220) >= 0.9 * (1200 - 360 - 120) / 2
    assert not run.account.rate_limited("agent")
    assert not run.account.rate_limited("importer")
    assert run.account.busiest_minute() <= 1200


@pytest.mark.parametrize("kind", KINDS)
def test_a_burst_limit_is_learned_not_hit_again_and_again(kind: Kind) -> None:
    """12 writes in any 5 s (Help Scout v1's limit) under a budget of 1200: a few 429s in the
    first minute, at most 3 in the next seven, and creates close to the 144 a minute allowed."""
    account = Account(1200, kind, burst=(12, 5))
    run = import_against(account, seconds=480)
    assert account.rate_limited("importer")  # it was there to be learned
    assert len(account.rate_limited("importer", after=60)) <= 3
    assert account.creates_per_minute(60, 480) >= 0.85 * 144
    assert run.pacer.slowed and run.pacer.backoff is not None


def test_a_429_with_a_long_retry_after_holds_everyone_then_the_pace_climbs_back() -> None:
    """At 110 s another client takes the whole fixed window at once. The one 429 that follows
    asks to wait till the window's reset (28 s): nobody sends meanwhile; then the pace starts at
    BETA of the pace the 429 came at and climbs to PLATEAU of it in RECOVER s."""
    account = Account(1200, "fixed", reset=17.3)
    run = import_against(account, seconds=300, agents=[Agent(start=110, spike=1200)])
    refused = account.rate_limited("importer")
    assert len(refused) == 1
    wait = math.ceil(60 - (refused[0] - 17.3) % 60)
    assert wait == 28
    resumed = min(at for at, _, who, _ in account.log if who == "importer" and at > refused[0])
    assert resumed >= refused[0] + wait
    backoff = run.pacer.backoff
    assert backoff is not None and backoff.at == pytest.approx(refused[0] + wait, abs=0.2)
    wall = backoff.wall
    assert wall == pytest.approx(1080 * SAFETY, rel=0.02)  # the pace the 429 came at
    start = math.ceil(resumed)
    assert run.paces[start] == pytest.approx(wall * BETA, rel=0.05)
    assert run.paces[start + int(RECOVER)] == pytest.approx(wall * PLATEAU, rel=0.01)
    assert run.paces[299] < wall


@pytest.mark.parametrize("kind", KINDS)
def test_a_plan_upgrade_mid_run_sets_the_pace_on_the_next_answer(kind: Kind) -> None:
    """The account moves from Plus to Pro at 120 s: the pace follows within a second."""
    account = Account(400, kind)
    run = import_against(account, seconds=240, limits={120: 800})
    assert paces(run, 5, 120) == pytest.approx([0.9 * 400 * SAFETY] * 115)
    assert paces(run, 122, 240) == pytest.approx([0.9 * 800 * SAFETY] * 118)
    assert not account.rate_limited("importer")
    assert account.busiest_minute() <= 800


@pytest.mark.parametrize("kind", KINDS)
def test_a_plan_downgrade_mid_run_slows_at_once_and_waits_out_what_was_spent(kind: Kind) -> None:
    """From Pro to Plus at 120 s: the server already counted more than the new limit, so the
    next request gets the one 429, which holds everyone as long as it asks; from the next
    answer on the pace is the new share, and back to it in full once the backoff has climbed."""
    account = Account(800, kind)
    run = import_against(account, seconds=300, limits={120: 400})
    target = 0.9 * 400 * SAFETY
    assert max(paces(run, 122, 300)) <= target + 1e-6
    assert paces(run, 240, 300) == pytest.approx([target] * 60)
    assert len(account.rate_limited("importer")) == 1
    assert account.creates_per_minute(240, 300) >= 0.97 * target / 2


def test_rate_is_a_ceiling_and_the_adaptation_applies_under_it() -> None:
    account = Account(1200, "sliding")
    run = import_against(account, seconds=200, agents=[Agent(0.5, 100)], rate=500)
    assert paces(run, 2, 100) == pytest.approx([500 * SAFETY] * 98)  # under the account's share
    assert max(paces(run, 112, 200)) <= (1080 - 600) * SAFETY * (1 + CLOSE)  # others took half
    assert not account.rate_limited("agent") and not account.rate_limited("importer")


def test_a_smaller_headroom_takes_more_of_what_others_leave() -> None:
    account = Account(1200, "sliding")
    run = import_against(account, seconds=200, agents=[Agent(0.3)], share=1.0, headroom=0.05)
    assert paces(run, 20, 200) == pytest.approx([(1140 - 360) * SAFETY] * 180, rel=CLOSE)
    assert not account.rate_limited("agent") and not account.rate_limited("importer")


def test_a_high_limit_with_hundreds_of_answers_a_second() -> None:
    """30,000 a minute and an agent taking 30%: the readings stay bounded and the pace right."""
    account = Account(30_000, "sliding")
    run = import_against(account, seconds=90, agents=[Agent(0.3, 30)], workers=48, latency=0.05)
    assert paces(run, 2, 30) == pytest.approx([27_000 * SAFETY] * 28)
    assert paces(run, 40, 90) == pytest.approx([18_000 * SAFETY] * 50, rel=CLOSE)
    assert not account.rate_limited("agent") and not account.rate_limited("importer")


def test_others_below_the_dead_band_count_as_nobody() -> None:
    account = Account(1200, "sliding")
    run = import_against(account, seconds=120, agents=[Agent(DEADBAND / 2)])
    assert paces(run, 2, 120) == pytest.approx([1080 * SAFETY] * 118)


# --- through the real sandbox, over loopback --------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_beside_the_sandboxs_background_agent_over_loopback(kind: Kind) -> None:
    """The client and the sandbox share the virtual clock: the sandbox's simulated agent
    spends 30% of a 600 budget from 60 s to 180 s; the importer yields to it, then takes the
    budget back; neither gets a 429."""

    async def main() -> tuple[dict[int, float], dict[str, Any], int]:
        loop = asyncio.get_running_loop()
        config = SandboxConfig(rate_limit=600, rate_window=kind, latency_ms=100,
                               clock=loop.time)  # fmt: skip
        pacer, seen = Pacer(), {}
        async with (
            Sandbox(config) as box,
            HelpScoutClient(
                box.url, Credentials(box.app_id, box.app_secret), pacer=pacer
            ) as client,
        ):
            made = itertools.count()

            async def create() -> None:
                while loop.time() < 300:
                    n = next(made)
                    email = f"ann.lee{n}@example.com"
                    reply = await client.create_customer(
                        {"emails": [{"type": "work", "value": email}]}
                    )
                    assert reply.ok

            async def watch() -> None:
                for second in range(300):
                    if second in (60, 180):
                        box.state.set_background_load(0.3 if second == 60 else 0.0)
                    seen[second] = pacer.pace or 0.0
                    await asyncio.sleep(1)

            await asyncio.gather(watch(), *(create() for _ in range(8)))
            return seen, box.state.stats_summary()["background"], client.rate_limited

    seen, agent, limited = virtual_time(main)
    alone, yielded = 540 * SAFETY, (600 - 180 - 60) * SAFETY
    assert [seen[s] for s in range(5, 60)] == pytest.approx([alone] * 55)
    assert [seen[s] for s in range(71, 180)] == pytest.approx([yielded] * 109, rel=CLOSE)
    back = 190 if kind == "fixed" else 250
    assert [seen[s] for s in range(back, 300)] == pytest.approx([alone] * (300 - back))
    assert agent["requests"] >= 0.3 * 600 * 2 * 0.98 and agent["rate_limited"] == 0
    assert limited == 0
