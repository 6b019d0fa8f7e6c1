"""Issue tables: the one shape in which the mapping, the validator and the reports pass problems.

An issue table is a DataFrame with the columns :data:`ISSUE_COLUMNS`, one line per (row, field)
problem; ``severity`` is ``error`` (the row will not be sent) or ``warning``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from importer.core.codes import DROPPED
from importer.core.frames import TEXT

__all__ = [
    "ISSUE_COLUMNS",
    "NO_ISSUES",
    "RowWarnings",
    "apostrophe_note",
    "combine",
    "is_dropped",
    "issue_table",
]

STRING = TEXT
#: The columns of every issues table (validation report, mapping problems).
ISSUE_COLUMNS = ["row", "column", "field", "value", "rule", "severity", "message"]

#: The shared "no issues" answer (read-only): building an empty frame takes about a millisecond.
NO_ISSUES = pd.DataFrame(
    {c: pd.Series(dtype="int64" if c == "row" else STRING) for c in ISSUE_COLUMNS}
)


def issue_table(
    rows: object,
    column: str,
    field: str,
    values: object,
    rule: str,
    severity: str,
    messages: str | Iterable[str],
) -> pd.DataFrame:
    """One issue per row: the same column, field, rule and severity; a value and message each
    (one message may stand for all). The one builder of issues, for the mapping and validator."""
    n = len(rows)  # type: ignore[arg-type]
    messages = [messages] * n if isinstance(messages, str) else list(messages)
    return pd.DataFrame(
        {
            "row": np.asarray(rows, dtype="int64"),
            "column": pd.array([column] * n, dtype=STRING),
            "field": pd.array([field] * n, dtype=STRING),
            "value": _texts(values),
            "rule": pd.array([rule] * n, dtype=STRING),
            "severity": pd.array([severity] * n, dtype=STRING),
            "message": pd.array(messages, dtype=STRING),
        }
    )


def _texts(values: object) -> pd.api.extensions.ExtensionArray:
    """The values as a text array; a text column's own array is taken as it is (iterating it
    in Python cost a quarter of a second per 200,000 issues)."""
    array = values.array if isinstance(values, pd.Series) else values
    if getattr(array, "dtype", None) == STRING:
        return array  # type: ignore[return-value]
    return pd.array(np.asarray(values, dtype=object), dtype=STRING)


def is_dropped(rules: pd.Series) -> pd.Series:
    """Which issues (by their ``rule``) say a value was left out of the customer sent."""
    return rules.str.endswith(DROPPED).fillna(False).astype(bool)


def combine(found: list[pd.DataFrame]) -> pd.DataFrame:
    """One issues frame from several; the shared empty one when there is nothing."""
    found = [f for f in found if len(f)]
    return pd.concat(found, ignore_index=True) if found else NO_ISSUES


class RowWarnings:
    """The warnings of a run's rows, counted by rule, with the first rows of each and the first
    message: what ``run`` says once at its end of what the rows lost on the way (``validate``
    lists them row by row), and the text apostrophes the mapping removed."""

    #: Rows named in a note; the rest are counted.
    SHOWN = 5

    def __init__(self) -> None:
        self.by_rule: dict[str, tuple[int, list[int], str, str]] = {}
        """rule -> (rows, the first rows, the first row's column and message)"""
        self.apostrophes = 0
        self.dropped = 0
        """Values the rows were sent without (rules ending in ``_dropped``)."""

    def add(self, issues: pd.DataFrame, apostrophes: int = 0, invalid: Iterable[int] = ()) -> None:
        """One chunk's issue table and the apostrophes it lost; the rows ``invalid`` (not sent:
        their errors say why) and errors are left out."""
        self.apostrophes += apostrophes
        warned = issues[(issues["severity"] == "warning") & ~issues["row"].isin(invalid)]
        self.dropped += int(is_dropped(warned["rule"]).sum())
        for rule, group in warned.groupby("rule", sort=False):
            count, rows, column, message = self.by_rule.get(str(rule), (0, [], "", ""))
            if not count:
                column, message = str(group["column"].iat[0]), str(group["message"].iat[0])
            rows = rows + group["row"].head(self.SHOWN - len(rows)).tolist()
            self.by_rule[str(rule)] = (count + len(group), rows, column, message)

    def notes(self) -> list[str]:
        found = [apostrophe_note(self.apostrophes)] if self.apostrophes else []
        for rule, (count, rows, column, message) in self.by_rule.items():
            named = ", ".join(map(str, rows)) + (", ..." if count > len(rows) else "")
            where = f"row {named}" if count == 1 else f"rows {named}"
            where += f", column {column}" if column else ""
            found.append(
                f"{rule} on {count:,} row{'' if count == 1 else 's'} ({where}): {message} "
                "(validate --report lists every row)"
            )
        return found


def apostrophe_note(count: int) -> str:
    """What a file's text apostrophes became, said once (validate and run)."""
    marks = f"{count:,} leading apostrophe{'' if count == 1 else 's'}"
    return (
        f"{marks} removed (the mark spreadsheets put before a number kept as text, as in "
        "'02134): the values are sent without it"
    )
