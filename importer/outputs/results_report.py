"""The results report: one HTML page that tells how an import went (``run --report results.html``).

:class:`ResultsReport` listens while the run goes and writes the page at the end: every results
line (:meth:`~ResultsReport.add`, an observer of the results writer: rows by status, skipped rows
by reason, failed and invalid rows grouped by what went wrong, with whom they name and the
``logRef`` Help Scout support asks for) and the pace (:meth:`~ResultsReport.sample`, from the
uploader's progress, thinned by :class:`PaceSamples`). The page is what :mod:`importer.outputs.page`
promises: self-contained, no script, every cell escaped; the API is named by its host only, and
messages are redacted. See docs/internals.md#reports.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from importer.core.errors import ConfigError
from importer.core.files import open_private
from importer.core.redact import redact
from importer.outputs.page import Groups, bar_chart, cell, clip, esc, line_chart, page, pattern
from importer.outputs.report import Whom, rows_named
from importer.send.pacing import READ_COST, WRITE_COST
from importer.send.results import IMPORT_STATUSES, Outcome
from importer.send.tally import Tally

if TYPE_CHECKING:
    from importer.check.validate import CheckedChunk
    from importer.send.tally import ImportResult

__all__ = ["ROWS_PER_GROUP", "STATUS_COLORS", "PaceSamples", "ResultsReport", "api_host"]

#: Rows listed under each group of failed or invalid rows (the results file has them all).
ROWS_PER_GROUP = 100
MAX_GROUPS = 100
STATUS_COLORS = {
    "created": "#1e7b34",
    "updated": "#3b6fb6",
    "skipped": "#8795a1",
    "invalid": "#8a5a00",
    "failed": "#b3261e",
    "not_sent": "#5f6368",
    "unknown": "#6a3d9a",
}
EXIT_MEANING = {
    0: "every row ended well",
    1: "some rows are invalid or failed: see below and the results file",
    3: "the run stopped early: what finished is recorded; the same command resumes",
}


class PaceSamples:
    """(seconds, budget spent so far) points of a run, at least ``every`` seconds apart.

    When more than :data:`LIMIT` are kept, every other one goes and the spacing doubles, so a
    run of days keeps as few points as a run of minutes, evenly spread.
    """

    LIMIT = 240

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.points: list[tuple[float, float]] = [(0.0, 0.0)]

    def add(self, seconds: float, spent: float, *, last: bool = False) -> None:
        """Record a point, unless it comes sooner than ``every`` after the previous one
        (``last``: the run's end, always recorded, in place of a previous one too close)."""
        previous = self.points[-1][0]
        soon = seconds - previous < self.every
        if seconds <= previous or (soon and not last):
            return
        if soon and len(self.points) > 1:  # a rate over a few microseconds would mean nothing
            self.points[-1] = (seconds, spent)
            return
        self.points.append((seconds, spent))
        if len(self.points) > self.LIMIT:
            self.points = self.points[::2]
            self.every *= 2

    def last_minute(self) -> list[tuple[float, float]]:
        """At each point, the budget spent in the minute before it (in the first minute: since
        the start). That is what the account's per-minute budget counts, so it compares with the
        budget on a run of seconds too, where a rate would stretch a burst to a minute."""
        return [(t, spent - self.spent_at(t - 60)) for t, spent in self.points]

    def spent_at(self, seconds: float) -> float:
        """The budget spent by ``seconds``, read between the points around it."""
        if seconds <= 0:
            return 0.0
        after = bisect.bisect_right([t for t, _ in self.points], seconds)
        if after == len(self.points):
            return self.points[-1][1]
        (t0, s0), (t1, s1) = self.points[after - 1], self.points[after]
        return s0 + (s1 - s0) * (seconds - t0) / (t1 - t0)


@dataclass(frozen=True)
class Listed:
    """A failed or invalid row as the page lists it."""

    row: int
    key: str | None
    name: str | None
    log_ref: str | None
    message: str


#: (status, HTTP status or 0, message pattern); the pattern is None for the overflow.
GroupKey = tuple[str, int, str | None]


class ResultsReport:
    """Listens to a run (``add`` each results line, ``sample`` each progress tick), then
    ``close`` writes the page. The file is opened at once, so a path that cannot be written
    stops the run before anything is sent."""

    def __init__(
        self, path: str | Path, *, file: str, mapping: str, api: str, key_name: str = "key"
    ) -> None:
        self.path = Path(path)
        self.file, self.mapping, self.api, self.key_name = file, mapping, api, key_name
        self._whom: deque[Whom] = deque()
        self.started = dt.datetime.now().astimezone()
        self.reasons: Counter[str] = Counter()
        self.pace = PaceSamples()
        self.groups: Groups[GroupKey, Listed] = Groups(
            examples=ROWS_PER_GROUP, limit=MAX_GROUPS, overflow=lambda k: (k[0], k[1], None)
        )
        try:
            self._file: IO[str] = open_private(self.path, encoding="utf-8", newline="")
        except OSError as exc:
            raise ConfigError(f"cannot write the report {path}: {exc.strerror}") from exc

    def checked(self, checked: CheckedChunk) -> None:
        """Hear a chunk as checked, before its rows' results lines: whom its rows name."""
        self._whom.append(Whom(checked))

    def add(self, outcome: Outcome) -> None:
        while self._whom and self._whom[0].last < outcome.row:  # lines come in input order:
            self._whom.popleft()  # the chunks before this one are done with
        if outcome.status == "skipped":
            self.reasons[outcome.reason or "(none)"] += 1
        if outcome.status not in ("failed", "invalid"):
            return
        message = redact(outcome.error) or "(no message)"
        key = self.groups.key((outcome.status, outcome.http_status or 0, pattern(message)))
        listed: tuple[Listed, ...] = ()
        if self.groups.room(key) > 0:
            text, _ = clip(message)
            log_ref = clip(redact(outcome.log_ref))[0] if outcome.log_ref else None
            who = self._whom[0].of(outcome.row) if self._whom else (None, None)
            listed = (Listed(outcome.row, *who, log_ref, text or ""),)
        self.groups.add(key, 1, listed)

    def discard(self) -> None:
        """Close the file without writing the page (the run ended before it had results)."""
        self._file.close()

    def sample(self, tally: Tally) -> None:
        self.pace.add(tally.seconds, tally.budget_spent)

    def close(self, result: ImportResult) -> None:
        """Write the page for ``result`` and close the file."""
        if self._file.closed:
            return
        self.pace.add(result.seconds, result.budget_spent, last=True)
        with self._file:
            self._file.writelines(self.render(result))

    def render(self, result: ImportResult) -> Iterator[str]:
        return page(f"Import results: {Path(self.file).name}", self._body(result))

    def _body(self, result: ImportResult) -> Iterator[str]:
        seconds = result.seconds
        took = f"{seconds:,.1f} s" if seconds < 120 else f"{seconds / 60:,.1f} min"
        started = self.started.strftime("%Y-%m-%d %H:%M:%S %Z")
        yield (
            "<h1>Import results</h1>"
            f'<p class="meta">File <b>{esc(self.file)}</b>, mapping <b>{esc(self.mapping)}</b>, '
            f"into <b>{esc(self.api)}</b>; started {esc(started)}"
            f", upload took {esc(took)}. Exit code <b>{result.exit_code}</b>: "
            f"{esc(EXIT_MEANING.get(result.exit_code, ''))}.</p>"
        )
        notes = list(result.notes)
        if result.resumed:
            notes.append("this run resumed an import that had stopped: the rows it had finished "
                         "are reported as they ended, not sent again")  # fmt: skip
        if result.stopped:
            notes.append(f"stopped early: {result.stopped}")
        if notes:
            yield '<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"
        counts = {s: getattr(result, s) for s in STATUS_COLORS
                  if s in IMPORT_STATUSES or getattr(result, s)}  # fmt: skip
        yield '<div class="cards">'
        yield f'<div class="card"><b>{result.rows:,}</b><span>rows</span></div>'
        for status, count in counts.items():
            kind = "good" if status == "created" else "bad" if status == "failed" and count else ""
            yield f'<div class="card {kind}"><b>{count:,}</b><span>{status}</span></div>'
        yield "</div>"
        yield '<div class="charts">'
        yield bar_chart(list(counts.items()), title="Rows by outcome", colors=STATUS_COLORS,
                        ordered=True)  # fmt: skip
        yield self._pace_chart(result)
        yield "</div>"
        yield f"<p>{esc(budget_line(result))}</p>"
        if self.reasons:
            yield "<h2>Skipped, by reason</h2><table><tbody>"
            for reason, n in self.reasons.most_common():
                yield f'<tr><td>{esc(reason)}</td><td class="n">{n:,}</td></tr>'
            yield "</tbody></table>"
        for status, title in (("failed", "Failed rows, by reason"),
                              ("invalid", "Invalid rows (not sent), by reason")):  # fmt: skip
            groups = [(k, g) for k, g in self.groups.largest() if k[0] == status]
            if not groups:
                continue
            yield f"<h2>{esc(title)}</h2>"
            for n, (key, group) in enumerate(groups):
                yield self._group(key, group.count, group.examples, opened=n < 2)

    def _pace_chart(self, result: ImportResult) -> str:
        points = self.pace.last_minute()
        if len(points) < 2:
            return "<p>The run was too short to chart its pace.</p>"
        guides = []
        if result.budget:
            guides.append((result.budget, f"the run's ceiling, {result.budget:,.0f}"))
        if result.limit and result.limit != result.budget:
            guides.append((float(result.limit), f"the account's budget, {result.limit:,}"))
        return line_chart(
            points,
            title=f"Pace: budget spent in the last minute (a write costs {WRITE_COST}, a read "
            f"{READ_COST})",
            x_label="seconds since the upload began",
            y_label="budget / minute",
            guides=guides,
        )

    def _group(self, key: GroupKey, count: int, listed: list[Listed], *, opened: bool) -> str:
        status, http_status, blanked = key
        message = listed[0].message if listed and blanked is not None else ""
        answer = f": Help Scout answered {http_status}" if http_status else ""
        said = "Help Scout's message: " if status == "failed" and http_status else ""
        named = rows_named(count, [item.row for item in listed]) if listed else ""
        head = (
            f'<summary><span class="badge {status}">{status}</span> '
            f"<b>{count:,} row{'' if count == 1 else 's'}</b>"
            + (f'<span class="own"> ({named})</span>' if named else "")
            + answer
            + (f'<div class="what">{said}{esc(message)}</div>' if message else "")
            + "</summary>"
        )
        refs = any(item.log_ref for item in listed)
        own = any(item.message != message for item in listed)
        head_row = f"<th>row</th><th>{esc(self.key_name)}</th><th>name</th>"
        head_row += ("<th>logRef</th>" if refs else "") + ("<th>message</th>" if own else "")
        rows = []
        for item in listed:
            cells = f'<td class="n">{item.row}</td><td>{cell(item.key)}</td>'
            cells += f"<td>{cell(item.name)}</td>"
            cells += f'<td class="value">{cell(item.log_ref)}</td>' if refs else ""
            if own:
                cells += f"<td>{esc(item.message) if item.message != message else ''}</td>"
            rows.append(f"<tr>{cells}</tr>")
        more = count - len(listed)
        tail = (f'<p class="more">and {more:,} more: see the results file</p>' if more > 0
                else "")  # fmt: skip
        table = (f"<table><thead><tr>{head_row}</tr></thead><tbody>{''.join(rows)}</tbody>"
                 "</table>")  # fmt: skip
        return f"<details{' open' if opened else ''}>{head}{table}{tail}</details>\n"


def budget_line(result: ImportResult) -> str:
    """What the run took from the account, as the terminal's closing line says it, and the
    ceiling it kept to: both in budget units (a write costs 2), so they compare."""
    ceiling = (f"; it allowed itself {result.budget:,.0f} of the budget a minute" if result.budget
               else "")  # fmt: skip
    return (f"{result.pacing_line()}{ceiling}; {result.lookups:,} of the requests were "
            "look-ups.")  # fmt: skip


def api_host(url: str) -> str:
    """What the page calls the API: scheme, host and port; never a user, password or query."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else host
