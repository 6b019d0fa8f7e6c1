"""The run's summary as JSON (``run --summary-json PATH``): what a cron job or a script reads.

One document per run, replaced whole (a temporary file beside it, then renamed, so a reader never
sees half of one), written however the run ends: finished, stopped, interrupted, or refused before
anything was sent (exit 2). Its schema is the README's ("A nightly import") and a promise:
:data:`SUMMARY_VERSION` changes only when a key changes meaning or goes away (new keys may come
within a version). ``statuses`` always holds the seven statuses of a run's results, whose sum is
``rows``; ``pace`` is in budget units (a write costs 2). No value holds a token or a secret: every
string passes :func:`~importer.core.redact.redact`. See docs/internals.md#reports.
"""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.core.errors import EXIT_STOPPED, EXIT_USAGE
from importer.core.files import open_private
from importer.core.redact import redact
from importer.core.text import utc_stamp
from importer.send.results import RUN_STATUSES, Outcome, cannot_write

if TYPE_CHECKING:
    from importer.send.tally import ImportResult

__all__ = [
    "SUMMARY_VERSION",
    "Reasons",
    "reason_of",
    "summary_of",
    "write_summary",
]

SUMMARY_VERSION = 1


def reason_of(outcome: Outcome) -> str:
    """What the summary counts a row under, within its status ("" for none)."""
    if outcome.reason:
        return outcome.reason
    if outcome.status == "failed":
        return f"http {outcome.http_status}" if outcome.http_status else "no answer"
    return ""


class Reasons:
    """Counts (status, reason) of every results line; an observer of the results writer."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.status, reason_of(outcome)] += 1

    def by_status(self) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for (status, reason), count in sorted(self.counts.items()):
            if reason:
                found.setdefault(status, {})[reason] = count
        return found


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else utc_stamp(moment)


def _path(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else redact(str(path))


def summary_of(
    result: ImportResult,
    *,
    file: str | os.PathLike[str],
    mapping: str | os.PathLike[str],
    exit_code: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The summary document of ``result`` (the README's schema). ``exit_code`` and
    ``error`` are for a run refused before it began (the result holds nothing yet)."""
    code = result.exit_code if exit_code is None else exit_code
    if error is not None:
        outcome = "interrupted" if code == EXIT_STOPPED else "refused"
    elif result.interrupted:
        outcome = "interrupted"
    else:
        outcome = ("refused" if code == EXIT_USAGE else "stopped") if result.stopped else "finished"
    why = error if error is not None else result.stopped
    started, finished = result.started, result.finished
    total = (finished - started).total_seconds() if started and finished else 0.0
    return {
        "version": SUMMARY_VERSION,
        "command": "run",
        "exit_code": code,
        "outcome": outcome,
        "error": redact(why) if why else None,
        "started": _stamp(started),
        "finished": _stamp(finished),
        "durations": {"total": round(total, 3), "sending": round(result.seconds, 3)},
        "file": _path(file),
        "mapping": _path(mapping),
        "api": result.api,
        "resumed": result.resumed,
        "rows": result.rows,
        "statuses": {status: getattr(result, status) for status in RUN_STATUSES},
        "reasons": result.reasons,
        "requests": {
            "sent": result.requests,
            "lookups": result.lookups,
            "rate_limited": result.rate_limited,
        },
        "pace": {
            "average_per_minute": round(result.requests_per_minute, 1),
            "ceiling_per_minute": None if result.budget is None else round(result.budget, 1),
            "limit_per_minute": result.limit,
            "others_peak_share": round(result.others_peak, 3),
            "budget_spent": round(result.budget_spent, 1),
        },
        "files": {
            "results": _path(result.results),
            "state": _path(result.state),
            "report": _path(result.report),
            "rejects": _path(result.rejects),
            "log": _path(result.log),
            "summary": _path(result.summary),
        },
        "notes": [redact(note) for note in result.notes],
        "dropped": result.dropped,
    }


def write_summary(path: str | os.PathLike[str], document: dict[str, Any]) -> None:
    """Replace ``path`` with ``document`` at once: readers see the old one or the new one. A new
    summary is readable by its owner only, as the run's other files (its notes and error quote
    the run's messages); one that exists keeps its mode."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.unlink(missing_ok=True)  # one a killed run left, with its mode
        with open_private(temporary, encoding="utf-8") as out:
            if target.exists():
                os.fchmod(out.fileno(), stat.S_IMODE(target.stat().st_mode))
            json.dump(document, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise cannot_write("--summary-json", target, exc) from None
