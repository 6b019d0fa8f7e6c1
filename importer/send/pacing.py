"""The account's rate budget: what a request costs, how fast to send, how long a plan takes.

Help Scout gives each account one per-minute budget, shared by every agent's app, every other
integration and this importer; writes cost :data:`WRITE_COST`, reads :data:`READ_COST`. Every
``X-RateLimit-Limit-Minute`` / ``X-RateLimit-Remaining-Minute`` pair says how much of it the
whole account has left. The :class:`Pacer` spends it for one run; the client calls it around
every API request::

    pacer = Pacer(rate=None, share=0.9, headroom=0.1)   # rate: a ceiling (--rate), or None
    ticket = await pacer.acquire(request_cost("POST"))  # waits for the request's turn
    ...                                                 # send it
    hold = pacer.settle(ticket, status, headers)        # status 0, headers None: no answer;
                                                        # hold: seconds everyone waits (429)
    pacer.withdraw(ticket)                              # instead of settle: it never left

Promises, each tested on a virtual clock against a model of the account and through the sandbox
(``tests/test_pacing.py``):

- **The pace** is ``SAFETY x min(ceiling, limit - others - headroom x limit)`` (cost a minute),
  the ceiling being ``--rate`` or ``share`` of the limit Help Scout reports, ``others`` what
  everyone else on the account spends a minute (below), and never below :data:`FLOOR` of the
  limit, so answers keep coming to learn from. Requests leave evenly from a bucket holding
  :data:`BURST` seconds' worth, so no 60-second window of the server, wherever it starts, gets
  more than the limit. Without ``--rate`` the first request goes alone and its answer's limit
  sets the pace; no limit header: no pacing (until one comes).
- **Others** are what the remaining budget says beyond the importer's own requests: ``used =
  limit - remaining`` less the cost of the importer's requests the server counts in its window
  (those sent in the 60 s up to the answered one, or since the window's last reset; 401s and
  429s spend nothing). The window may slide or be fixed (per clock minute): a reset shows as
  less used than the importer alone sent since the window began, impossible in a sliding
  window; resets are then expected every 60 s (answers within :data:`MARGIN` s of one are not
  read), and one that does not show within :data:`SETTLE` s makes the window sliding again.
  Others' rate is their spending of the last minute, or their recent rate (the least-squares
  growth of their share over :data:`SPAN` s, plus in a sliding window what left it then) when
  that says more by over the noise, or, in a fixed window (where it is exact), always. Below
  :data:`DEADBAND` of the limit (or the noise) it is nobody; the headroom absorbs it.
- **Timing**: when someone starts spending, the pace is down within :data:`SPAN` s (plus two
  answers); when they stop, it is back within :data:`SPAN` s in a fixed window and within 60 s
  in a sliding one (their requests leave the window one by one: the pace climbs as they do). A
  new limit (plan upgrade or downgrade) sets the pace on the first answer that carries it.
- **Never into 429s**: before each request the room left in the window is estimated (the last
  answer's remaining, less what the importer sent since, plus what left a sliding window, less
  others' spending since); below the request's cost plus half the headroom, requests wait for
  room (one probe goes after :data:`STALE` s without answers, to learn again).
- **A 429** holds every request for the time it asks (``X-RateLimit-Retry-After``, else
  ``Retry-After``, at least 1 s, at most :data:`MAX_PAUSE`: a day's pause would stall a cron run in
  silence; a pause of :data:`LONG_PAUSE` s or more is told to ``notice``) and lowers the pace to
  :data:`BETA` of the pace it came at (what was sent in the last :data:`MEASURE` s, at most the pace
  then): one decrease per event, as 429s to requests sent before it do not count again. When the
  wait is over the pace climbs back to :data:`PLATEAU` of that "wall" in :data:`RECOVER` s and
  reaches it after :data:`PROBE` s more, twice as long each time the same wall is met again: an
  undocumented limit (Help Scout's v1 had 12 writes per 5 s) is learned, not hit again and again.
  From the first 429 on, requests leave strictly one by one (no burst).
- ``--rate`` stays the ceiling the user set: everything above applies under it.

The decisions are pure functions (:func:`allowance`, :func:`target_pace`, :func:`after_429`,
:func:`backoff_cap`, :func:`next_window`, :func:`recent_rate`, :func:`others_rate`), tested as
tables; the classes keep the state and the clock (the running event loop's, so tests fake it).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from importer.core.errors import ConfigError
from importer.core.options import DEFAULT_HEADROOM, DEFAULT_SHARE
from importer.customer.schema import WRITE_METHODS

__all__ = [
    "PLAN_BUDGETS",
    "READ_COST",
    "WRITE_COST",
    "Backoff",
    "Pacer",
    "Ticket",
    "Window",
    "after_429",
    "allowance",
    "backoff_cap",
    "budget_seconds",
    "duration",
    "estimate_seconds",
    "next_window",
    "others_rate",
    "pause_for",
    "pause_notice",
    "recent_rate",
    "request_cost",
    "retry_after",
    "target_pace",
]

WRITE_COST, READ_COST = 2, 1
#: Requests per minute of each Help Scout plan (Free has no API).
PLAN_BUDGETS = {"Standard": 200, "Plus": 400, "Pro": 800}
#: The server's window, in seconds.
WINDOW = 60.0
#: The pace is this share of the budget: latency jitter can carry a request into the next minute.
SAFETY = 0.98
#: Seconds' worth of requests that may leave at once (none after a 429).
BURST = 1.0
#: Seconds over which others' rate is read.
SPAN = 8.0
#: Seconds of answers whose median is one reading (at least 3 answers, at most READING).
BAND, READING = 1.0, 15
#: Answers a rate is fitted through, at most (evenly picked when more came).
FIT_POINTS = 200
#: Others' rate below this share of the limit counts as nobody.
DEADBAND = 0.02
#: The pace never drops below this share of the limit (answers must keep coming to learn from).
FLOOR = 0.02
#: After a 429: the pace falls to BETA of the pace it came at, climbs to PLATEAU of it within
#: RECOVER s, reaches it after PROBE s more (doubled each time the same wall, within SAME_WALL,
#: is met again), and the backoff is forgotten at FORGET times it.
BETA, PLATEAU, RECOVER, PROBE, SAME_WALL, FORGET = 0.5, 0.9, 30.0, 180.0, 0.25, 2.0
#: Seconds of sending over which the pace a 429 came at is measured.
MEASURE = 10.0
#: Seconds without answers after which one request may go even if the window looks full.
STALE = 2.0
#: Seconds either side of a fixed window's believed reset whose answers are not read (which
#: window counted them is unsure), and by when after it the reset must have shown.
MARGIN, SETTLE = 0.5, 5.0
#: Seconds between looks at the window while waiting for room.
POLL = 0.25
#: The longest a 429 holds the run, whatever it asks (Retry-After: 86400 would stop it a day).
MAX_PAUSE = 300.0
#: A 429's pause this long or longer is told to the user.
LONG_PAUSE = 30.0


def request_cost(method: str) -> int:
    """What a request of ``method`` takes from the budget: writes 2, reads 1."""
    return WRITE_COST if method.upper() in WRITE_METHODS else READ_COST


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def pause_for(asked: float) -> float:
    """The seconds a 429 holds every request: what it asked, from 1 s to MAX_PAUSE."""
    return min(max(1.0, asked), MAX_PAUSE)


def pause_notice(asked: float) -> str | None:
    """What to tell the user of a 429's pause (None: a short one, nothing)."""
    if asked < LONG_PAUSE:
        return None
    if asked > MAX_PAUSE:
        return (f"Help Scout asked to pause for {duration(asked)} (429, Retry-After): pausing "
                f"{duration(MAX_PAUSE)} instead, then trying again")  # fmt: skip
    return f"Help Scout asked to pause for {duration(asked)} (429, Retry-After): pausing"


def retry_after(headers: Mapping[str, str], default: float = 60.0) -> float:
    """Seconds a 429 asks to wait: ``X-RateLimit-Retry-After``, else ``Retry-After``."""
    for name in ("X-RateLimit-Retry-After", "Retry-After"):
        try:
            return max(0.0, float(headers[name]))
        except (KeyError, ValueError):
            continue
    return default


def estimate_seconds(creates: int, rate: float) -> float:
    """How long ``creates`` take spending ``rate`` of the budget a minute (a create costs 2)."""
    return budget_seconds(creates * WRITE_COST, rate)


def budget_seconds(cost: float, rate: float) -> float:
    """How long requests costing ``cost`` of the budget take spending ``rate`` a minute."""
    return cost / (rate * SAFETY) * 60


def duration(seconds: float) -> str:
    """A time as people say it: ``45 s``, ``2 min 5 s``, ``3 h 20 min``."""
    whole = math.ceil(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


# --- decisions -------------------------------------------------------------------------------
def allowance(limit: int | None, rate: float | None, share: float) -> float | None:
    """The most a run allows itself a minute: ``--rate``, else ``share`` of the reported limit;
    None when neither is known (no pacing)."""
    if rate is not None:
        return rate
    return share * limit if limit else None


def target_pace(
    *, ceiling: float | None, limit: int | None, others: float, headroom: float
) -> float | None:
    """Cost a minute to spend: ``SAFETY x min(ceiling, limit - others - headroom x limit)``, at
    least :data:`FLOOR` of the limit (but never above the ceiling); None: no pacing."""
    if ceiling is None and not limit:
        return None
    bounds = [] if ceiling is None else [ceiling]
    if limit:
        bounds.append(limit * (1 - headroom) - others)
    floor = FLOOR * (limit or ceiling or 0)
    if ceiling is not None:
        floor = min(floor, ceiling * SAFETY)
    return max(min(bounds) * SAFETY, floor)


@dataclass(frozen=True)
class Backoff:
    """What the last 429 taught: the pace it came at (the wall), when, and how slowly to climb
    back past it."""

    wall: float
    at: float
    probe: float = PROBE


def after_429(previous: Backoff | None, *, at: float, pace: float) -> Backoff:
    """The backoff after a 429 that came at ``pace``: the same wall met again (within
    SAME_WALL) is probed half as often."""
    probe = PROBE
    if previous is not None and abs(pace - previous.wall) <= SAME_WALL * previous.wall:
        probe = previous.probe * 2
    return Backoff(pace, at, probe)


def backoff_cap(backoff: Backoff | None, now: float) -> float | None:
    """The most the pace may be ``now`` after a 429: BETA of the wall at once, PLATEAU of it
    after RECOVER s, the wall after ``probe`` s more, and on at that slope; None once it
    reaches FORGET times the wall (or there was no 429)."""
    if backoff is None:
        return None
    wall, elapsed = backoff.wall, max(0.0, now - backoff.at)
    if elapsed <= RECOVER:
        return wall * (BETA + (PLATEAU - BETA) * elapsed / RECOVER)
    cap = wall * (PLATEAU + (1 - PLATEAU) * (elapsed - RECOVER) / backoff.probe)
    return cap if cap < FORGET * wall else None


@dataclass(frozen=True)
class Window:
    """What the pacer believes of the server's window: sliding (each request's cost comes back
    60 s after it), or fixed with a reset at ``reset`` + every multiple of 60 s."""

    kind: Literal["sliding", "fixed"] = "sliding"
    reset: float = 0.0

    def start(self, at: float) -> float:
        """Where the window that holds ``at`` begins."""
        if self.kind == "sliding":
            return at - WINDOW
        return self.reset + math.floor((at - self.reset) / WINDOW) * WINDOW


def next_window(
    window: Window,
    *,
    at: float,
    previous: float | None,
    used: float,
    own_window: float,
    own_minute: float,
    others: float,
    tolerance: float,
) -> Window:
    """The window after an answer to a request that left at ``at`` (the previous answer's at
    ``previous``) showing ``used`` of the budget, when the importer spent ``own_window`` since
    the believed window's start and ``own_minute`` in the last 60 s, and others are expected to
    have spent ``others`` since that start.

    Used budget below what the importer alone spent since the window's start (less
    ``tolerance``) means the window reset since: it is fixed, reset between the two answers. A
    fixed window that, within :data:`SETTLE` s of its believed reset, still holds what the
    importer spent before it (more than others could have spent since) never reset: it slides.
    """
    if used < own_window - tolerance:
        reset = at if previous is None or previous < at - WINDOW else (previous + at) / 2
        return Window("fixed", reset % WINDOW)
    carried = own_minute - own_window
    if (
        window.kind == "fixed"
        and MARGIN <= at - window.start(at) <= SETTLE
        and carried > 2 * tolerance
        and used - own_window > others + tolerance + carried / 2
    ):
        return Window()
    return window


def recent_rate(
    kind: Literal["sliding", "fixed"],
    *,
    now: float,
    growth: float,
    minute_ago: float,
    span: float,
) -> float:
    """Others' spending a minute over the last ``span`` seconds, from how much their share of
    the window grew in that time (``growth``; in a fixed window, their running total across
    resets) and their share ``now``.

    In a sliding window their share also lost what they spent a minute before, taken as spread
    evenly over that minute (``minute_ago`` is their share then) but never more than the window
    held ``span`` s ago; and they cannot have spent more than the window holds now.
    """
    if kind == "fixed":
        return max(0.0, growth) * WINDOW / span
    expired = min(max(0.0, minute_ago * span / WINDOW), max(0.0, now - growth))
    return min(max(0.0, growth + expired), max(0.0, now)) * WINDOW / span


def others_rate(
    kind: Literal["sliding", "fixed"], *, minute: float, recent: float | None, noise: float
) -> float:
    """What others spend a minute. In a fixed window, their recent rate (exact: nothing leaves
    the window but at resets), else their spending of the last minute. In a sliding window,
    their spending of the last minute unless the recent rate says more by over the ``noise``
    (someone started); a lower recent rate is not trusted there: right after a start is a minute
    old, what leaves the window is not known yet and would look like a stop."""
    if recent is None:
        return max(0.0, minute)
    if kind == "fixed" or recent > minute + noise:
        return recent
    return max(0.0, minute)


# --- what the account shows --------------------------------------------------------------------
class _Running:
    """Costs by the time they happened, with running totals: the sum over any span in O(log n).
    Only the last :data:`KEEP` seconds are kept."""

    KEEP = WINDOW + SPAN + 10.0

    def __init__(self) -> None:
        self._at = array("d")
        self._total = array("d")  # the running cost up to and including each entry
        self._dropped = 0.0  # the running cost of the last entry let go
        self.total = 0.0

    def add(self, at: float, cost: float) -> None:
        if self._at and at < self._at[-1]:
            at = self._at[-1]  # a refund answered out of order: counted a little late
        self.total += cost
        self._at.append(at)
        self._total.append(self.total)
        if len(self._at) % 1024 == 0:
            cut = bisect_left(self._at, at - self.KEEP)
            if cut > len(self._at) // 2:
                self._dropped = self._total[cut - 1]
                del self._at[:cut], self._total[:cut]

    def upto(self, at: float) -> float:
        """The running cost of everything up to and including ``at``."""
        i = bisect_right(self._at, at)
        return self._total[i - 1] if i else self._dropped

    def before(self, at: float) -> float:
        """The running cost of everything before ``at``."""
        i = bisect_left(self._at, at)
        return self._total[i - 1] if i else self._dropped


class _Spending:
    """The importer's own requests by the time they left: what it spent in any span. Refused
    requests (401, 429) and withdrawn ones spent nothing: they are refunded."""

    def __init__(self) -> None:
        self._sent = _Running()
        self._refunds = _Running()

    @property
    def spent(self) -> float:
        """Cost spent by the whole run so far."""
        return self._sent.total - self._refunds.total

    def add(self, at: float, cost: int) -> None:
        self._sent.add(at, cost)

    def refund(self, at: float, cost: int) -> None:
        self._refunds.add(at, cost)

    def asked(self, start: float, end: float) -> float:
        """Cost of the requests that left in ``[start, end]``, refused ones included."""
        return self._sent.upto(end) - self._sent.before(start)

    def between(self, start: float, end: float) -> float:
        """Cost of the requests that left in ``(start, end]``."""
        if end <= start:
            return 0.0
        sent, refunds = self._sent, self._refunds
        return sent.upto(end) - sent.upto(start) - (refunds.upto(end) - refunds.upto(start))


class _Account:
    """What the answers say of the account: the window, others' spending, the room left."""

    def __init__(self, own: _Spending) -> None:
        self.own = own
        self.window = Window()
        self.others = 0.0
        """Others' spending, cost a minute (after the dead band)."""
        self.peak = 0.0
        """The most ``others`` has been, as a share of the limit."""
        self.limit: int | None = None
        self._latest: tuple[float, int, int] | None = None  # (at, limit, remaining)
        self._at: list[float] = []
        self._share: list[float] = []  # others' share of the window at each answer
        self._total: list[float] = []  # their running total across resets (fixed windows)
        self._base = 0.0

    def observe(self, at: float, limit: int, remaining: int, in_flight: float) -> None:
        """An answer to the request that left at ``at``, with ``in_flight`` cost still out."""
        if self._latest is not None and at < self._latest[0]:
            return  # overtaken by an answer to a later request: that one is fresher
        previous = self._latest[0] if self._latest is not None else None
        self._latest, self.limit = (at, limit, remaining), limit
        used = limit - max(0, remaining)
        tolerance = 2 * WRITE_COST + 2 * in_flight  # requests the server may or not have counted
        start = self.window.start(at)
        window = next_window(
            self.window,
            at=at,
            previous=previous,
            used=used,
            own_window=self.own.between(start, at),
            own_minute=self.own.between(at - WINDOW, at),
            others=2 * max(self.others, DEADBAND * limit) * (at - start) / WINDOW,
            tolerance=tolerance,
        )
        if window.kind != self.window.kind:
            for kept in (self._at, self._share, self._total):
                kept.clear()
            self._base = 0.0
        self.window = window
        start = window.start(at)
        if window.kind == "fixed" and min(at - start, start + WINDOW - at) < MARGIN:
            return  # so close to a reset that which window counted it is not sure: no reading
        if self._at and window.start(self._at[-1]) < start:  # the window that ended: what
            # others had spent in it by the last reading, and since, till the reset
            gap = start - self._at[-1]
            unseen = self.others * gap / WINDOW if gap <= 2 * MARGIN else 0.0
            self._base += statistics.median(self._share[-3:]) + unseen
        share = used - self.own.between(start, at)
        self._at.append(at)
        self._share.append(share)
        self._total.append(self._base + share)
        old = bisect_left(self._at, at - WINDOW - SPAN - 2 * BAND)
        if old > 256 or 2 * old > len(self._at):  # in slices: thousands a second at high limits
            del self._at[:old], self._share[:old], self._total[:old]
        self._estimate(at, limit, tolerance / 2)

    def _estimate(self, at: float, limit: int, noise: float) -> None:
        times, kind = self._at, self.window.kind
        values = self._total if kind == "fixed" else self._share
        now = self._reading(values, at)
        first = times[0]
        if kind == "sliding":
            minute: float | None = now
        elif first <= at - WINDOW + BAND:
            minute = now - self._reading(values, at - WINDOW)
        elif first <= at - SPAN:
            minute = (now - self._reading(values, first + BAND)) * WINDOW / (at - first - BAND)
        else:
            minute = None  # just switched to a fixed window: keep the last estimate
        recent = None
        if first <= at - SPAN / 2:
            start = max(at - SPAN, first)
            old = at - WINDOW if first <= at - WINDOW + BAND else first + BAND
            recent = recent_rate(
                kind,
                now=now,
                growth=self._growth(values, start, at),
                minute_ago=self._reading(self._share, old),
                span=at - start,
            )
        noise *= WINDOW / SPAN  # the uncertain requests, as a rate over the span
        if minute is None:
            rate = self.others if recent is None else recent
        else:
            rate = others_rate(kind, minute=minute, recent=recent, noise=noise)
        self.others = rate if rate >= max(DEADBAND * limit, noise) else 0.0
        self.peak = max(self.peak, self.others / limit)

    def _growth(self, values: list[float], start: float, end: float) -> float:
        """How much ``values`` grew from ``start`` to ``end``: the slope of the least-squares
        lines through the answers between (in a fixed window one line per window, sharing the
        slope, so a reset's step cannot bend it), far steadier than two readings."""
        lo, hi = bisect_left(self._at, start), bisect_right(self._at, end)
        if hi - lo < 3:
            return self._reading(values, end) - self._reading(values, start)
        step = max(1, (hi - lo) // FIT_POINTS)
        points = list(zip(self._at[lo:hi:step], values[lo:hi:step], strict=True))
        groups = [points]
        if self.window.kind == "fixed":
            groups = [list(g) for _, g in itertools.groupby(points, self._window_of)]
        spread = covariance = 0.0
        for group in groups:
            spread, covariance = _accumulate(group, spread, covariance)
        return covariance / spread * (end - start) if spread else 0.0

    def _window_of(self, point: tuple[float, float]) -> float:
        return self.window.start(point[0])

    def _reading(self, values: list[float], at: float) -> float:
        """The median of ``values`` over the BAND seconds up to ``at`` (at least 3 answers, at
        most READING of them)."""
        hi = bisect_right(self._at, at)
        lo = max(min(bisect_left(self._at, at - BAND), hi - 3), hi - READING, 0)
        return statistics.median(values[lo:hi] or values[:1])

    def room(self, now: float) -> float:
        """The budget left in the server's window ``now``, as far as the answers tell."""
        if self._latest is None:
            return math.inf
        at, limit, remaining = self._latest
        others = self.others / WINDOW
        start = self.window.start(now)
        if self.window.kind == "fixed" and start > at:  # reset since the last answer
            return limit - self.own.between(start, now) - others * (now - start)
        room = remaining - self.own.between(at, now) - others * (now - at)
        if self.window.kind == "sliding":
            room += self.own.between(at - WINDOW, now - WINDOW)
        return room


def _accumulate(
    points: list[tuple[float, float]], spread: float, covariance: float
) -> tuple[float, float]:
    """Add ``points``' spread in time and covariance, about their own means, to the sums."""
    n = len(points)
    if n < 2:
        return spread, covariance
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    for t, y in points:
        spread += (t - mean_t) ** 2
        covariance += (t - mean_t) * (y - mean_y)
    return spread, covariance


# --- the pacer --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ticket:
    """One request let through: when it left, its cost, the pace then (None: no pacing)."""

    at: float
    cost: int
    pace: float | None


class Pacer:
    """Spends the account's per-minute budget for one run, beside everyone else (see the
    module's docstring for what it promises).

    ``rate`` is the ceiling the user sets (requests' cost a minute; None: ``share`` of the limit
    Help Scout reports); ``headroom`` is the share of the limit left free for people's bursts.
    The figures (``pace``, ``others_share``, ``yielding``...) are as of the last request or
    answer.
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        share: float = DEFAULT_SHARE,
        headroom: float = DEFAULT_HEADROOM,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ConfigError("the rate must be a positive number of requests per minute")
        if not 0 < share <= 1:
            raise ConfigError("the budget share must be more than 0 and at most 1")
        if not 0 <= headroom < 1:
            raise ConfigError("--headroom must be a share of the budget, at least 0 and below 1")
        self.rate = rate
        self.share = share
        self.headroom = headroom
        self.notice = notice
        """Hears a long pause a 429 asked for (see :func:`pause_notice`)."""
        self.in_flight = 0
        """Cost of the requests sent and not answered yet."""
        self.spending = _Spending()
        self.account = _Account(self.spending)
        self.backoff: Backoff | None = None
        """What the last 429 taught (None: no 429 yet)."""
        self._now = 0.0  # the clock at the last request or answer
        self._tokens = math.inf  # the bucket: cost that may leave at once (full at the start)
        self._filled_at = 0.0
        self._strict = False  # no bursts: a 429 came, there may be a burst limit
        self._resume_at = -math.inf  # the end of the last pause
        self._first_at: float | None = None  # when the first request left
        self._answered_at = -math.inf
        self._learning = rate is None
        self._probing = False
        self._learned = asyncio.Event()
        self._turn = asyncio.Lock()

    # --- figures ---
    @property
    def limit(self) -> int | None:
        """The account's budget a minute, as Help Scout last reported it."""
        return self.account.limit

    @property
    def ceiling(self) -> float | None:
        """The most this run allows itself a minute (``rate``, or ``share`` of the limit)."""
        return allowance(self.limit, self.rate, self.share)

    @property
    def others(self) -> float:
        """What everyone else on the account spends a minute, as the answers tell."""
        return self.account.others

    @property
    def others_share(self) -> float:
        """``others`` as a share of the limit."""
        return self.others / self.limit if self.limit else 0.0

    @property
    def others_peak(self) -> float:
        """The most ``others_share`` has been during the run."""
        return self.account.peak

    @property
    def pace(self) -> float | None:
        """Cost a minute being spent; None: no limit."""
        return self._pace(self._clock())

    @property
    def yielding(self) -> bool:
        """Others' spending holds the pace below the ceiling."""
        limit, ceiling = self.limit, self.ceiling
        if not limit or not self.others or ceiling is None:
            return False
        return limit * (1 - self.headroom) - self.others < ceiling

    @property
    def slowed(self) -> bool:
        """A 429's backoff holds the pace below what the budget allows."""
        cap, target = backoff_cap(self.backoff, self._clock()), self._target()
        return cap is not None and (target is None or cap < target)

    def _clock(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:  # read after the run: as of its last request or answer
            return self._now

    def _target(self) -> float | None:
        return target_pace(
            ceiling=self.ceiling, limit=self.limit, others=self.others, headroom=self.headroom
        )

    def _pace(self, now: float) -> float | None:
        target, cap = self._target(), backoff_cap(self.backoff, now)
        if cap is None:
            return target
        return cap if target is None else min(target, cap)

    # --- one request ---
    async def acquire(self, cost: int) -> Ticket:
        """Wait until a request of ``cost`` may leave; the ticket goes back to :meth:`settle`."""
        loop = asyncio.get_running_loop()
        now = self._now = loop.time()
        if self._learning or self._resume_at > now or self._pace(now) is not None:
            now, pace = await self._wait_turn(cost, loop)
        else:  # no limit, no pause: nothing to wait for, nobody to queue behind
            pace = None
        self.in_flight += cost
        self.spending.add(now, cost)
        if self._first_at is None:
            self._first_at = now
        return Ticket(now, cost, pace)

    async def _wait_turn(
        self, cost: int, loop: asyncio.AbstractEventLoop
    ) -> tuple[float, float | None]:
        """Wait, one request at a time, so they leave in order: (when it may leave, the pace)."""
        async with self._turn:
            while True:
                now = self._now = loop.time()
                if (wait := self._resume_at - now) > 0:
                    await asyncio.sleep(wait)
                    continue
                if self._learning:
                    if self._probing:
                        await self._learned.wait()
                        continue
                    self._probing, pace = True, None
                    break
                pace = self._pace(now)
                if pace is None:
                    break
                self._fill(now, pace, cost)
                if self._tokens < cost:
                    await asyncio.sleep((cost - self._tokens) * WINDOW / pace)
                    continue
                if not self._room_for(cost, now):
                    await asyncio.sleep(POLL)
                    continue
                self._tokens -= cost
                break
        return now, pace

    def _fill(self, now: float, pace: float, cost: int) -> None:
        """Refill the bucket at ``pace`` since the last fill; it holds BURST seconds' worth (one
        request's once a 429 came), so requests leave evenly and a faster pace counts at once."""
        capacity = cost if self._strict else max(cost, pace * BURST / WINDOW)
        gained = (now - self._filled_at) * pace / WINDOW
        self._tokens, self._filled_at = min(capacity, self._tokens + gained), now

    def _room_for(self, cost: int, now: float) -> bool:
        reserve = self.headroom * (self.limit or 0) / 2
        if self.account.room(now) >= cost + reserve:
            return True
        return self.in_flight == 0 and now - self._answered_at >= STALE  # a probe, to learn again

    def settle(self, ticket: Ticket, status: int, headers: Mapping[str, str] | None) -> float:
        """Account for the answer to ``ticket``'s request (``status`` 0 and ``headers`` None:
        none came). Returns the seconds every request now holds for: a 429's wait, else 0."""
        now = self._now = asyncio.get_running_loop().time()
        self.in_flight -= ticket.cost
        self._answered_at = now
        if headers is None:
            if self._learning:  # let another request ask
                self._probing = False
                self._wake()
            return 0.0
        if status in (401, 429):  # refused: the server spent nothing on it
            self.spending.refund(ticket.at, ticket.cost)
        limit = _int_header(headers, "X-RateLimit-Limit-Minute")
        remaining = _int_header(headers, "X-RateLimit-Remaining-Minute")
        if limit is not None and limit > 0:
            self.account.limit = limit
            if remaining is not None:
                self.account.observe(ticket.at, limit, remaining, self.in_flight)
        if self._learning:
            self._learning = False
            self._wake()
        if status != 429:
            return 0.0
        asked = retry_after(headers)
        wait = pause_for(asked)
        self._strict = True
        if self.backoff is None or ticket.at >= self.backoff.at:  # a new event, not an echo
            if self.notice is not None and (told := pause_notice(asked)) is not None:
                self.notice(told)
            pace = self._sent_rate(now, ticket)
            if pace:  # the climb back starts when requests may leave again
                self.backoff = after_429(self.backoff, at=now + wait, pace=pace)
        self.pause(wait)
        return wait

    def _sent_rate(self, now: float, ticket: Ticket) -> float | None:
        """The pace a 429 came at: the ticket's, or less if fewer requests were sent in the
        last MEASURE s (pauses and refused requests included: what the server was asked)."""
        since = max(now - MEASURE, self._first_at or now)
        if now - since < 1.0:
            return ticket.pace
        sent = self.spending.asked(since, now) * WINDOW / (now - since)
        return sent if ticket.pace is None else min(sent, ticket.pace)

    def withdraw(self, ticket: Ticket) -> None:
        """The request of ``ticket`` never left (no token, say): nothing was spent."""
        self.in_flight -= ticket.cost
        self.spending.refund(ticket.at, ticket.cost)
        if self._learning:
            self._probing = False
            self._wake()

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (or longer, if already held longer)."""
        now = asyncio.get_running_loop().time()
        self._resume_at = max(self._resume_at, now + seconds)

    def _wake(self) -> None:
        woken, self._learned = self._learned, asyncio.Event()
        woken.set()
