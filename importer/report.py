"""Validation reports: CSV for spreadsheets, JSON for machines, HTML for people.

Writers stream: issues are added chunk by chunk and written at once (the HTML page keeps the
first :data:`HTML_MAX_ROWS` for its table), so a report on millions of rows needs no more memory
than a chunk.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

from importer.errors import ConfigError
from importer.issues import ISSUE_COLUMNS
from importer.safecsv import SafeCsvWriter

REPORT_COLUMNS = ISSUE_COLUMNS
HTML_MAX_ROWS = 5000


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
            f"{plural(self.warnings, 'warning')}."
        )


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


class ReportWriter:
    """Base of the three formats: ``add`` issue frames, then ``close`` with the summary."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")

    def add(self, issues: pd.DataFrame) -> None:
        raise NotImplementedError

    def close(self, summary: Summary) -> None:
        self._file.close()


class CsvReport(ReportWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._writer = SafeCsvWriter(self._file, REPORT_COLUMNS)

    def add(self, issues: pd.DataFrame) -> None:
        self._writer.write_frame(issues[REPORT_COLUMNS])


class JsonReport(ReportWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._file.write('{"issues": [')
        self._first = True

    def add(self, issues: pd.DataFrame) -> None:
        for record in _records(issues):
            self._file.write("\n  " if self._first else ",\n  ")
            self._file.write(json.dumps(record, ensure_ascii=False))
            self._first = False

    def close(self, summary: Summary) -> None:
        self._file.write('\n],\n"summary": ')
        json.dump(summary.as_dict(), self._file, ensure_ascii=False, indent=2)
        self._file.write("}\n")
        super().close(summary)


class HtmlReport(ReportWriter):
    """One self-contained page: totals, counts per rule and per column, then the issues."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._rows: list[dict] = []
        self._total = 0

    def add(self, issues: pd.DataFrame) -> None:
        room = HTML_MAX_ROWS - len(self._rows)
        if room > 0:
            self._rows.extend(_records(issues.head(room)))
        self._total += len(issues)

    def close(self, summary: Summary) -> None:
        self._file.write(render_html(summary, self._rows, self._total))
        super().close(summary)


_FORMATS = {".csv": CsvReport, ".json": JsonReport, ".html": HtmlReport, ".htm": HtmlReport}


def open_report(path: str | Path) -> ReportWriter:
    """A writer for the format the path's suffix names."""
    path = Path(path)
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(
            f"cannot tell the report format from '{path.name}': "
            "end the name in .csv, .json or .html"
        )
    try:
        return kind(path)
    except OSError as exc:
        raise ConfigError(f"cannot write the report {path}: {exc.strerror}") from exc


def _records(issues: pd.DataFrame) -> list[dict]:
    frame = issues[REPORT_COLUMNS].astype(object).where(issues[REPORT_COLUMNS].notna(), None)
    records = frame.to_dict("records")
    for record in records:
        record["row"] = int(record["row"])
    return records


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d2733}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d5dbe1;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f1f4f7}
.error{color:#b3261e;font-weight:600}.warning{color:#8a5a00;font-weight:600}
.totals td:last-child{text-align:right}
.value{font-family:ui-monospace,monospace;white-space:pre-wrap}
"""


def render_html(summary: Summary, rows: list[dict], total: int) -> str:
    e = html.escape

    def counts(title: str, counter: Counter) -> str:
        body = "".join(
            f"<tr><td>{e(str(k))}</td><td>{v:,}</td></tr>" for k, v in counter.most_common()
        )
        return f"<h2>{e(title)}</h2><table class=totals>{body}</table>" if body else ""

    totals = [
        ("Rows read", summary.rows),
        ("Valid rows (will be sent)", summary.valid),
        ("Invalid rows (will not be sent)", summary.invalid),
        ("Errors", summary.errors),
        ("Warnings", summary.warnings),
    ]
    notes = "".join(f"<li>{e(n)}</li>" for n in summary.notes)
    head = "".join(f"<th>{e(c)}</th>" for c in REPORT_COLUMNS)
    body = "".join(
        "<tr>"
        + f"<td>{r['row']}</td><td>{e(r['column'] or '')}</td><td>{e(r['field'] or '')}</td>"
        + f"<td class=value>{e(r['value'] or '')}</td><td>{e(r['rule'] or '')}</td>"
        + f"<td class={e(r['severity'] or '')}>{e(r['severity'] or '')}</td>"
        + f"<td>{e(r['message'] or '')}</td></tr>"
        for r in rows
    )
    cut = (
        f"<p>Showing the first {len(rows):,} of {total:,} issues: write a .csv or .json report "
        "for all of them.</p>"
        if total > len(rows)
        else ""
    )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>Validation report: {e(summary.file)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Validation report</h1><p>File <b>{e(summary.file)}</b>, mapping "
        f"<b>{e(summary.mapping)}</b> (encoding {e(summary.encoding)}).</p>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + "<table class=totals>"
        + "".join(f"<tr><th>{e(k)}</th><td>{v:,}</td></tr>" for k, v in totals)
        + "</table>"
        + counts("Issues per rule", summary.by_rule)
        + counts("Issues per column", summary.by_column)
        + f"<h2>Issues</h2>{cut}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        + "</body></html>\n"
    )
