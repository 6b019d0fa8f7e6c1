"""Validation reports: CSV for spreadsheets, JSON for machines, HTML for people.

Every writer streams: :meth:`ReportWriter.add` takes each checked chunk as it comes and
:meth:`ReportWriter.close` the summary, so a report on millions of rows needs the memory of a
chunk. CSV: one line per (row, field) issue, :data:`REPORT_COLUMNS`, safe to open; JSON: the issues
and the :class:`Summary`; HTML: one self-contained page (:mod:`importer.outputs.page`) of the
issues grouped by what is wrong, each group's message said once with its count and its first
:data:`ROWS_PER_GROUP` rows, at most :data:`MAX_GROUPS` groups. See docs/internals.md#reports.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from importer.check.rules import rule_label
from importer.check.validate import CheckedChunk
from importer.core.codes import DROPPED
from importer.core.errors import ConfigError
from importer.core.files import open_private
from importer.core.issues import ISSUE_COLUMNS, is_dropped
from importer.core.safecsv import SafeCsvWriter
from importer.core.text import plural
from importer.customer.labels import field_label
from importer.outputs.page import (
    NUMBER,
    NUMBER_BLANK,
    QUOTED,
    QUOTED_BLANK,
    Group,
    Groups,
    bar_chart,
    cell,
    clip,
    esc,
    page,
)

__all__ = [
    "MAX_GROUPS",
    "REPORT_COLUMNS",
    "ROWS_PER_GROUP",
    "CsvReport",
    "HtmlReport",
    "JsonReport",
    "ReportWriter",
    "Summary",
    "message_pattern",
    "open_report",
]

REPORT_COLUMNS = ISSUE_COLUMNS
#: Rows the HTML page lists under each group of issues (the CSV report has them all).
ROWS_PER_GROUP = 100
#: Groups of issues the HTML page tells apart.
MAX_GROUPS = 200
#: Issues the JSON writer encodes at a time.
JSON_ROWS = 5000


@dataclass
class Summary:
    """What a validation found, in totals."""

    file: str
    mapping: str
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    errors: int = 0
    warnings: int = 0
    rows_with_warnings: int = 0
    dropped: int = 0
    """Values sent without (``on_invalid: drop``, ``on_incomplete: drop``): warnings too."""
    apostrophes_removed: int = 0
    """Leading text apostrophes taken off mapped cells ('02134 read as 02134)."""
    encoding: str = ""
    delimiter: str = ""
    notes: list[str] = field(default_factory=list)
    by_rule: Counter = field(default_factory=Counter)
    by_column: Counter = field(default_factory=Counter)

    def add(self, issues: pd.DataFrame) -> None:
        """Count a chunk's issues (rows are counted by the caller)."""
        if issues.empty:
            return
        severity = issues["severity"]
        self.errors += int((severity == "error").sum())
        self.warnings += int((severity == "warning").sum())
        self.rows_with_warnings += int(issues.loc[severity == "warning", "row"].nunique())
        self.dropped += int(is_dropped(issues["rule"]).sum())
        self.by_rule.update(issues["rule"].value_counts().to_dict())
        columns = issues["column"].fillna("").replace("", "(row)")
        self.by_column.update(columns.value_counts().to_dict())

    def as_dict(self) -> dict:
        data = asdict(self)
        data["by_rule"] = dict(self.by_rule.most_common())
        data["by_column"] = dict(self.by_column.most_common())
        return data

    def line(self) -> str:
        """The console's closing line."""
        return (
            f"{plural(self.rows, 'row')} read: {self.valid:,} valid, {self.invalid:,} invalid, "
            f"{plural(self.warnings, 'warning')}"
            + (f" ({plural(self.dropped, 'value')} dropped)." if self.dropped else ".")
        )


class ReportWriter:
    """Base of the three formats: ``add`` checked chunks, then ``close`` with the summary."""

    def __init__(self, path: Path, file: IO[str] | None = None) -> None:
        """``file``: write there instead of opening ``path`` (the review page's is in memory)."""
        self.path = path
        self._file: IO[str] = (
            file if file is not None else open_private(path, encoding="utf-8", newline="")
        )

    def add(self, checked: CheckedChunk) -> None:
        raise NotImplementedError

    def close(self, summary: Summary) -> None:
        self._file.close()


class CsvReport(ReportWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._writer = SafeCsvWriter(self._file, REPORT_COLUMNS)

    def add(self, checked: CheckedChunk) -> None:
        self._writer.write_frame(checked.issues[REPORT_COLUMNS])


class JsonReport(ReportWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._file.write('{"issues": [')
        self._first = True

    def add(self, checked: CheckedChunk) -> None:
        issues = checked.issues
        if issues.empty:
            return
        # one record a line (pandas' C encoder; newlines inside values come escaped), then
        # commas; a slice at a time, as the encoder's copies of a whole chunk weigh ~70 MB
        for start in range(0, len(issues), JSON_ROWS):
            part = issues[REPORT_COLUMNS].iloc[start : start + JSON_ROWS]
            lines = part.to_json(orient="records", lines=True, force_ascii=False)
            self._file.write("\n  " if self._first else ",\n  ")
            self._file.write(lines.rstrip("\n").replace("\n", ",\n  "))
            self._first = False

    def close(self, summary: Summary) -> None:
        self._file.write('\n],\n"summary": ')
        json.dump(summary.as_dict(), self._file, ensure_ascii=False, indent=2)
        self._file.write("}\n")
        super().close(summary)


@dataclass(frozen=True)
class Listed:
    """One issue as the HTML page lists it under its group (cells already cut, see ``clip``)."""

    row: int
    key: str | None
    name: str | None
    value: str | None
    length: int
    message: str


#: (severity, rule, column, field, message pattern); the pattern is None for the overflow.
GROUP_COLUMNS = ["severity", "rule", "column", "field"]
GroupKey = tuple[str, str, str, str, str | None]


class HtmlReport(ReportWriter):
    """One self-contained page: totals, charts per rule and per column, the issues in groups."""

    def __init__(self, path: Path, *, key_name: str = "key", file: IO[str] | None = None) -> None:
        super().__init__(path, file)
        self.key_name = key_name
        self.groups: Groups[GroupKey, Listed] = Groups(
            examples=ROWS_PER_GROUP, limit=MAX_GROUPS, overflow=lambda k: (*k[:4], None)
        )

    def add(self, checked: CheckedChunk) -> None:
        issues = checked.issues
        if issues.empty:
            return
        # the pattern of each distinct message (regexes cost: most messages repeat), then one
        # group id per issue from the five parts, factorized one after the other (C all along)
        parts = [pd.factorize(issues[c].fillna("")) for c in GROUP_COLUMNS]
        messages, distinct = pd.factorize(issues["message"].fillna(""))
        blanked, patterns = pd.factorize(message_pattern(pd.Series(distinct, dtype="string")))
        parts.append((blanked[messages], patterns))
        ids = np.zeros(len(issues), dtype="int64")
        for codes, uniques in parts:
            ids, _ = pd.factorize(ids * len(uniques) + codes)
        first = pd.Series(ids).drop_duplicates().index.to_numpy()  # each group's first issue
        counts = np.bincount(ids)
        order = np.argsort(ids, kind="stable")  # positions of each group's issues, in file order
        starts = np.searchsorted(ids[order], np.arange(len(first)))
        context: _Context | None = None
        for i, at in enumerate(first):
            found = tuple(str(uniques[codes[at]]) for codes, uniques in parts)
            key = self.groups.key(found)  # type: ignore[arg-type]
            room = min(self.groups.room(key), int(counts[i]))
            listed: list[Listed] = []
            if room > 0:
                context = context or _Context(checked)
                listed = [context.listed(p) for p in order[starts[i] : starts[i] + room]]
            self.groups.add(key, int(counts[i]), listed)

    def close(self, summary: Summary) -> None:
        self._file.writelines(self.render(summary))
        super().close(summary)

    def render(self, summary: Summary) -> Iterator[str]:
        """The page, piece by piece."""
        return page(f"Validation report: {Path(summary.file).name}", self.body(summary))

    def body(self, summary: Summary) -> Iterator[str]:
        """The page without its head: the review page shows it after "Check all rows"."""
        yield (
            "<h1>Validation report</h1>"
            f'<p class="meta">File <b>{esc(summary.file)}</b>, mapping <b>{esc(summary.mapping)}'
            f"</b>, encoding {esc(summary.encoding or '?')}, delimiter "
            f"<code>{esc(summary.delimiter or '?')}</code>. Nothing was sent to Help Scout.</p>"
        )
        if summary.notes:
            yield '<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in summary.notes)
            yield "</ul>"
        yield '<div class="cards">'
        for label, count, kind in (
            ("rows read", summary.rows, ""),
            ("valid: will be sent", summary.valid, "good"),
            ("invalid: will not be sent", summary.invalid, "bad" if summary.invalid else "good"),
            ("errors", summary.errors, "bad" if summary.errors else ""),
            ("warnings", summary.warnings, "warn" if summary.warnings else ""),
            *([("dropped: sent without", summary.dropped, "warn")] if summary.dropped else []),
        ):
            yield f'<div class="card {kind}"><b>{count:,}</b><span>{esc(label)}</span></div>'
        yield "</div>"
        if not summary.errors + summary.warnings:
            yield "<p>No issues: every row can be sent as it is.</p>"
            return
        by_rule: Counter[str] = Counter()
        for rule, n in summary.by_rule.items():
            by_rule[rule_label(rule)] += n
        yield '<div class="charts">'
        yield bar_chart(list(by_rule.items()), title="Issues per rule")
        yield bar_chart(list(summary.by_column.items()), title="Issues per column")
        yield "</div>"
        ordered = sorted(self.groups.largest(), key=lambda kv: kv[0][0] != "error")
        yield from contents(ordered)
        yield (
            "<h2>Issues, grouped by what is wrong</h2><p>Each group says once what is wrong and "
            f"how to fix it; open it for its rows (the first {ROWS_PER_GROUP:,}), the offending "
            "cell highlighted. Errors keep the row from being sent; warnings do not.</p>"
        )
        for n, (key, group) in enumerate(ordered):
            opened = len(ordered) <= OPEN_GROUPS
            yield self._group(n, key, group.count, group.examples, opened=opened)

    def _group(
        self, n: int, key: GroupKey, count: int, listed: list[Listed], *, opened: bool
    ) -> str:
        severity, rule, column, field_, pattern = key
        message = listed[0].message if listed and pattern is not None else ""
        dropped = rule.endswith(DROPPED)
        badge = "dropped" if dropped else severity
        head = (
            f'<summary><span class="badge {esc(severity)}">{esc(badge)}</span> '
            f"<b>{plural(count, 'row')}</b>: {group_title(rule, column, field_)}"
            + (
                f'<span class="own"> ({rows_named(count, [i.row for i in listed])})</span>'
                if listed
                else ""
            )
            + (f'<div class="what">{esc(message)}</div>' if message else "")
            + "</summary>"
        )
        rows = []
        mark = "del" if dropped else "mark"  # a dropped value is struck out: it is not sent
        for item in listed:
            own = f'<div class="own">{esc(item.message)}</div>' if item.message != message else ""
            rows.append(
                f'<tr><td class="n">{item.row}</td><td>{cell(item.key)}</td>'
                f'<td>{cell(item.name)}</td><td class="value"><{mark}>'
                f"{cell(item.value, item.length)}</{mark}>{own}</td></tr>"
            )
        more = count - len(listed)
        tail = (
            f'<p class="more">and {more:,} more: see the CSV report (--report issues.csv)</p>'
            if more > 0
            else ""
        )
        table = (
            f"<table><thead><tr><th>row</th><th>{esc(self.key_name)}</th><th>name</th>"
            f"<th>{esc(column or 'the row as read')}</th></tr></thead><tbody>{''.join(rows)}"
            "</tbody></table>"
        )
        return (
            f'<details id="{group_id(n)}"{" open" if opened else ""}>{head}{table}{tail}'
            "</details>\n"
        )


#: A page with at most this many groups shows them open; more are closed, under a contents list.
OPEN_GROUPS = 3


def group_id(n: int) -> str:
    """The page's anchor of the ``n``-th group (0-based), which the contents list links to."""
    return f"group-{n + 1}"


#: Rows a closed group names in its one line.
NAMED_ROWS = 5


def rows_named(count: int, rows: list[int]) -> str:
    """The first rows of a group, as its closed line names them: ``row 12``, ``rows 3, 7, …``."""
    named = ", ".join(str(row) for row in rows[:NAMED_ROWS])
    return f"{'row' if count == 1 else 'rows'} {named}{', …' if count > NAMED_ROWS else ''}"


def group_title(rule: str, column: str, field: str) -> str:
    """A group's name on the page, in words: ``too long (max 40) in <b>First Name</b>``, with
    the field the column fills when it is named otherwise (``in <b>Mail</b> → Email 1``)."""
    where = f" in <b>{esc(column)}</b>" if column else " (the whole row)"
    label = field_label(field) if field else ""
    if label and label.casefold() != column.casefold():
        where += f" &rarr; {esc(label)}"
    return f"{esc(rule_label(rule, field))}{where}"


def contents(groups: list[tuple[GroupKey, Group[Listed]]]) -> Iterator[str]:
    """The list of groups atop a page with more than :data:`OPEN_GROUPS`, each a link to its
    group (within the page: its policy allows that, and nothing is fetched), with its count and
    the start of its message; past :data:`TOC_SHOWN`, the smaller groups wait behind a click."""
    if len(groups) <= OPEN_GROUPS:
        return
    yield '<h2>Contents</h2><table class="toc"><tbody>'
    for n, ((severity, rule, column, field_, pattern), group) in enumerate(groups):
        if n == TOC_SHOWN:
            yield (f"</tbody></table><details><summary>{len(groups) - n:,} more groups"
                   '</summary><table class="toc"><tbody>')  # fmt: skip
        said = group.examples[0].message if group.examples and pattern is not None else ""
        said = said if len(said) <= TOC_MESSAGE else said[: TOC_MESSAGE - 1] + "…"
        yield (
            f'<tr><td class="n">{group.count:,}</td><td><span class="badge {esc(severity)}">'
            f'{esc(severity)}</span></td><td><a href="#{group_id(n)}">'
            f'{group_title(rule, column, field_)}</a></td><td class="own">{esc(said)}</td></tr>'
        )
    yield "</tbody></table>" + ("</details>" if len(groups) > TOC_SHOWN else "")


#: Characters of a group's message its line in the contents shows.
TOC_MESSAGE = 70
#: Lines of the contents shown at once; the rest behind a click (a page lists up to MAX_GROUPS).
TOC_SHOWN = 30


NOT_READ = "—"


class Whom:
    """Whom each row of a checked chunk names: its key and name, looked up one row at a time
    (only the rows a page lists), for the validation page and the results page."""

    def __init__(self, checked: CheckedChunk) -> None:
        self.keys = checked.keys
        mapped = checked.mapped
        self.names = [mapped[c] for c in ("firstName", "lastName") if c in mapped]
        self.last = int(checked.rows.max()) if len(checked.rows) else 0
        """The chunk's last row."""

    def of(self, row: int) -> tuple[str | None, str | None]:
        """(key, name) of ``row``, cut as a page shows cells; a row never mapped (a ragged one)
        has neither: :data:`NOT_READ`."""
        if row not in self.keys.index:
            return NOT_READ, NOT_READ
        key = self.keys.at[row]  # text, or NA: none
        name = " ".join(part for n in self.names if isinstance(part := n.at[row], str))
        return (clip(key)[0] if isinstance(key, str) else None), (clip(name)[0] or None)


class _Context:
    """A chunk's issues, with whom each row names, looked up only when a row is listed."""

    def __init__(self, checked: CheckedChunk) -> None:
        issues = checked.issues
        self.rows = issues["row"].to_numpy()
        self.values = issues["value"].astype(object).where(issues["value"].notna(), None)
        self.messages = issues["message"].fillna("")
        self.whom = Whom(checked)

    def listed(self, position: int) -> Listed:
        row = int(self.rows[position])
        key, name = self.whom.of(row)
        value, length = clip(self.values.iloc[position])
        message, _ = clip(self.messages.iloc[position])
        return Listed(row=row, key=key, name=name, value=value, length=length,
                      message=message or "")  # fmt: skip


def message_pattern(messages: pd.Series) -> pd.Series:
    """:func:`importer.outputs.page.pattern` of each message, vectorised: what the HTML page
    groups by."""
    text = pa.array(messages.fillna("").array, type=pa.large_string())
    text = pc.replace_substring_regex(text, QUOTED, QUOTED_BLANK)
    text = pc.replace_substring_regex(text, NUMBER, NUMBER_BLANK)
    return pd.Series(text.to_pylist(), index=messages.index, dtype="string")


_FORMATS = {".csv": CsvReport, ".json": JsonReport, ".html": HtmlReport, ".htm": HtmlReport}


def open_report(path: str | Path, *, key_name: str = "key") -> ReportWriter:
    """A writer for the format the path's suffix names (``key_name``: what the HTML page calls
    a row's key, the mapping's ``key_name``)."""
    path = Path(path)
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(
            f"cannot tell the report format from '{path.name}': "
            "end the name in .csv, .json or .html"
        )
    try:
        return HtmlReport(path, key_name=key_name) if kind is HtmlReport else kind(path)
    except OSError as exc:
        raise ConfigError(f"cannot write the report {path}: {exc.strerror}") from exc
