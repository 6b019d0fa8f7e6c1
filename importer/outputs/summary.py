"""The run's summary as JSON (``run --summary-json PATH``): what a cron job or a script reads.

One document per run, replaced whole (written to a temporary file beside it, then renamed, so a
reader never sees half of one). It is written when the run ends, however it ends: finished,
stopped early, interrupted, or refused before anything was sent (exit 2: the file, the mapping,
the credentials, a state file in use). Its schema is a promise; :data:`SUMMARY_VERSION` changes
only when a key changes meaning or goes away (new keys may be added within a version)::

    {
      "version": 1,
      "command": "run",
      "exit_code": 1,                 # as the process exits: 0, 1, 2 or 3 (README: exit codes)
      "outcome": "finished",          # finished | stopped | interrupted | refused
      "error": null,                  # why it stopped or was refused (one line), else null
      "started": "2025-05-04T02:00:00.512Z",  "finished": "2025-05-04T02:03:10.020Z",
      "durations": {"total": 189.508, "sending": 185.2},         # seconds
      "file": "export.csv",  "mapping": "mapping.yaml",  "api": "api.helpscout.net",
      "resumed": false,
      "rows": 40,
      "statuses": {"created": 31, "updated": 0, "skipped": 0, "invalid": 9, "failed": 0,
                   "not_sent": 0, "unknown": 0},
      "reasons": {"skipped": {"unchanged": 3}, "failed": {"http 400": 2}},
      "requests": {"sent": 32, "lookups": 0, "rate_limited": 0},
      "pace": {"average_per_minute": 10.4, "ceiling_per_minute": 360.0,
               "limit_per_minute": 400, "others_peak_share": 0.12, "budget_spent": 63.0},
      "files": {"results": "results.csv", "state": "export.state.sqlite", "report": null,
                "rejects": null, "log": null, "summary": "summary.json"},
      "notes": [],
      "dropped": 0                    # values sent rows went without (on_invalid: drop)
    }

``statuses`` always holds the seven statuses of a run's results (``RUN_STATUSES``); ``rows`` is
their sum (every input row ends in exactly one). ``reasons`` counts, per status, the results'
``reason`` column (``skipped``: unchanged, changed, exists, duplicate, not-retried) and, for
``failed`` rows, what failed them: ``http <status>`` or ``no answer``. ``requests.sent`` counts API
requests (re-sends included, token requests not); ``rate_limited`` the 429 answers. ``pace``: the
requests a minute the run averaged while sending; the most budget it allowed itself a minute and the
account's budget a minute as Help Scout reported it (both in budget units, where a write costs 2;
null: not known); and the largest share of that budget the rest of the account (agents, other
integrations) was seen spending during the run (0.0 when alone or never known); the budget the run
spent in all (writes 2, reads 1; answers 401 and 429 spend none).
``files`` names what the run wrote, as given (null: not asked for); ``state`` is null for the
built-in sandbox's throwaway ledger. ``api`` is the host only (never a URL's user, password or
query) or ``sandbox``. No value holds a token or a secret: every string passes
:func:`~importer.core.redact.redact`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.core.errors import ConfigError
from importer.core.redact import redact
from importer.core.text import utc_stamp
from importer.send.results import RUN_STATUSES, Outcome, cannot_write

if TYPE_CHECKING:
    from importer.send.tally import ImportResult

__all__ = [
    "SUMMARY_VERSION",
    "Reasons",
    "check_summary_path",
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
    """The summary document of ``result`` (see the module's docstring). ``exit_code`` and
    ``error`` are for a run refused before it began (the result holds nothing yet)."""
    code = result.exit_code if exit_code is None else exit_code
    if error is not None:
        outcome = "interrupted" if code == 3 else "refused"
    elif result.interrupted:
        outcome = "interrupted"
    else:
        outcome = "stopped" if result.stopped else "finished"
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


def check_summary_path(path: str | os.PathLike[str]) -> None:
    """Refuse, before the run, a summary that could not be written at its end (exit 2)."""
    folder = Path(path).parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"cannot write --summary-json {path}: {folder} is not a folder this user may write in"
        )
    if Path(path).is_dir():
        raise ConfigError(f"cannot write --summary-json {path}: it is a folder")


def write_summary(path: str | os.PathLike[str], document: dict[str, Any]) -> None:
    """Replace ``path`` with ``document`` at once: readers see the old one or the new one."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(document, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise cannot_write("--summary-json", target, exc) from None
