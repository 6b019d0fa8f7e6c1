"""Issue tables: the one shape in which the mapping, the validator and the reports pass problems.

An issue table is a DataFrame with the columns :data:`ISSUE_COLUMNS`, one line per (row, field)
problem; ``severity`` is ``error`` (the row will not be sent) or ``warning``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from importer.source import TEXT

__all__ = ["ISSUE_COLUMNS", "NO_ISSUES", "combine", "issue_table"]

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


def combine(found: list[pd.DataFrame]) -> pd.DataFrame:
    """One issues frame from several; the shared empty one when there is nothing."""
    found = [f for f in found if len(f)]
    return pd.concat(found, ignore_index=True) if found else NO_ISSUES
