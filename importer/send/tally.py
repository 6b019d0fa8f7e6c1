"""What a run counted: rows by outcome, requests, the pace (:class:`Tally`), and what the whole
import did (:class:`ImportResult`): the numbers the progress bar, the summary and the results page
read, kept apart from the code that sends so those outputs need not stand on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from importer.core.errors import EXIT_OK, EXIT_ROWS_FAILED, EXIT_STOPPED, EXIT_USAGE
from importer.core.text import plural
from importer.send.pacing import duration
from importer.send.results import Outcome

__all__ = ["ImportResult", "Progress", "Tally"]


@dataclass
class Tally:
    """Rows by outcome so far, and what it took: requests, the budget, the pace."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    invalid: int = 0
    failed: int = 0
    not_sent: int = 0
    """Rows the run did not reach because it stopped."""
    unknown: int = 0
    """Rows whose create got no certain answer and that cannot be looked up (no email)."""
    requests: int = 0
    lookups: int = 0
    rate_limited: int = 0
    """Answers 429 (rate limit) the run got."""
    seconds: float = 0.0
    limit: int | None = None
    """The account's budget a minute, as Help Scout last reported it (None: no limit seen)."""
    budget_spent: float = 0.0
    """Budget the run spent: writes 2, reads 1; requests refused with 401 or 429 spend none."""
    pace: float | None = None
    """The pace now (budget a minute); None: not paced."""
    others_share: float = 0.0
    """The share of the limit everyone else on the account spends now, as the answers tell."""
    others_peak: float = 0.0
    """The most ``others_share`` was during the run."""
    yielding: bool = False
    """The pace is held below the run's share because others spend the budget."""
    slowed: bool = False
    """The pace is held down after a 429 (it climbs back)."""

    def count(self, outcome: Outcome) -> None:
        self.rows += 1
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)

    @property
    def requests_per_minute(self) -> float:
        """Requests sent a minute, on average over the run."""
        return self.requests / self.seconds * 60 if self.seconds else 0.0

    @property
    def budget_used(self) -> float | None:
        """The share of the account's budget the run spent, on average (None: no limit)."""
        if not self.limit or not self.seconds:
            return None
        return self.budget_spent / self.seconds * 60 / self.limit

    def line(self) -> str:
        """The console's closing line."""
        parts = [f"{self.created:,} created"]
        parts += [f"{n:,} {name}" for name, n in (("updated", self.updated),
                                                  ("skipped", self.skipped)) if n]  # fmt: skip
        parts += [f"{self.invalid:,} invalid", f"{self.failed:,} failed"]
        parts += [f"{n:,} {name}" for name, n in (("not sent", self.not_sent),
                                                  ("unknown", self.unknown)) if n]  # fmt: skip
        return f"{self.rows:,} rows: {', '.join(parts)}."

    def pacing_line(self) -> str:
        """What the run took from the account: ``1,180 requests in 2 min 5 s (566 a minute,
        88% of the budget of 1,200 a minute; others used up to 31%; 0 answered 429)``. A run
        shorter than a minute says what it spent of one minute's budget instead: a rate
        measured over seconds (``189% of the budget``) would be true of no minute."""
        parts = []
        if self.seconds >= 60:
            minute = f"{self.requests_per_minute:,.0f} a minute"
            if self.budget_used is not None:
                minute += f", {self.budget_used:.0%} of the budget of {self.limit:,} a minute"
            parts.append(minute)
        elif self.limit:
            parts.append(f"spent {self.budget_spent:,.0f} of one minute's budget of "
                         f"{self.limit:,}, {self.budget_spent / self.limit:.0%}")  # fmt: skip
        if self.others_peak:
            parts.append(f"others used up to {self.others_peak:.0%}")
        parts.append(f"{self.rate_limited:,} answered 429")
        return (f"{plural(self.requests, 'request')} in {duration(self.seconds)} "
                f"({'; '.join(parts)})")  # fmt: skip

    def postfix(self) -> str:
        """The progress bar's: ``12 created, 0 failed, pace 705/min of 1,200, yielding: others
        use 31%``."""
        parts = [f"{self.created:,} created", f"{self.failed:,} failed"]
        if self.pace is None:
            parts.append(f"{self.requests_per_minute:,.0f} req/min")
        else:
            limit = f" of {self.limit:,}" if self.limit else ""
            parts.append(f"pace {self.pace:,.0f}/min{limit}")
        if self.yielding:
            parts.append(f"yielding: others use {self.others_share:.0%}")
        if self.slowed:
            parts.append("slowed by a 429")
        return ", ".join(parts)


Progress = Callable[[Tally], None]


def refused_or_stopped(code: int, requests: int) -> int:
    """A stopped job's exit code: 2 when what stopped it was the input (an unreadable row) and
    nothing was sent, so nothing was attempted; else 3, what finished is recorded."""
    return EXIT_USAGE if code == EXIT_USAGE and not requests else EXIT_STOPPED


@dataclass
class ImportResult(Tally):
    """What ``import_csv`` did: rows by outcome, requests, and whether the run went to the end."""

    results: Path | None = None
    state: Path | None = None
    """The ledger the run kept (None: a throwaway one, for the built-in sandbox)."""
    resumed: bool = False
    """The run continued an import that had stopped before its end."""
    stopped: str | None = None
    """Why the run stopped before the end (interrupted, credentials refused...), else None."""
    stopped_code: int = EXIT_STOPPED
    """The exit code of the error that stopped it: a file unreadable at a row (2) stops a run
    that has sent nothing as a refusal, not as a run the same command resumes."""
    interrupted: bool = False
    """Stopped by Ctrl-C or SIGTERM."""
    budget: float | None = None
    """The most the run allowed itself a minute (``rate``, or ``budget_share`` of the limit
    Help Scout reported); None when neither was known (no pacing)."""
    others_peak: float = 0.0
    """The largest share of that budget others on the account were seen spending."""
    notes: list[str] = field(default_factory=list)
    dropped: int = 0
    """Values the sent rows went without (``on_invalid: drop``, ``on_incomplete: drop``)."""
    api: str | None = None
    """The API's host (``sandbox`` for the built-in one); None until it is known."""
    started: datetime | None = None
    finished: datetime | None = None
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    """Rows per status and reason (see :func:`importer.outputs.summary.reason_of`)."""
    report: Path | None = None
    """The results report written (``report=``), if any."""
    rejects: Path | None = None
    """The rejects file written (``rejects=``), if any, and how many rows it holds."""
    rejected: int = 0
    log: Path | None = None
    """The request log appended to (``log_file=``), if any."""
    summary: Path | None = None
    """The summary JSON written (``summary_json=``), if any."""

    invalid_allowed: int = 0
    """Invalid rows the run may have and still exit 0 (``--max-invalid``)."""

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return refused_or_stopped(self.stopped_code, self.requests)
        missed = self.invalid > self.invalid_allowed or self.failed or self.unknown
        return EXIT_ROWS_FAILED if missed or self.not_sent else EXIT_OK

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK
