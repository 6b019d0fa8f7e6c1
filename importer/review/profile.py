"""Each column as the review page shows it: how often it is filled, and values worth a look.

The values shown are the ones that tell a column apart: distinct, the odd ones first (a shape,
letters as ``a`` and digits as ``9``, that few cells have), then the longest. Pure functions of
the sampled cells.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = ["SHOWN_VALUES", "ColumnProfile", "profile", "shape", "shown_values"]

SHOWN_VALUES = 5
#: Characters of a value the page shows (a 20 MB cell stays a line).
VALUE_CHARS = 120


def shape(text: str) -> str:
    """``text`` with runs of letters as ``a`` and runs of digits as ``9``: cells of one kind
    share it (``ann@example.com`` and ``bo@mail.org`` are both ``a@a.a``)."""
    return re.sub(r"[^\W\d_]+", "a", re.sub(r"\d+", "9", text))


def shown_values(cells: Sequence[str], count: int = SHOWN_VALUES) -> list[str]:
    """The ``count`` distinct non-empty values to show: rarest shape first, then longest."""
    distinct = list(dict.fromkeys(c.strip() for c in cells if c and c.strip()))
    shapes = Counter(shape(v) for v in distinct)
    ranked = sorted(distinct, key=lambda v: (shapes[shape(v)], -len(v)))
    return [v[:VALUE_CHARS] for v in ranked[:count]]


@dataclass(frozen=True)
class ColumnProfile:
    """One column of the sample: its name, position, filled cells and values to show."""

    name: str
    position: int
    filled: int
    rows: int
    values: list[str]

    @property
    def fill_rate(self) -> float:
        return self.filled / self.rows if self.rows else 0.0


def profile(sample: pd.DataFrame) -> list[ColumnProfile]:
    """Every column of ``sample`` (cells as text, empty as ``""``), in order."""
    out = []
    for position, name in enumerate(sample.columns):
        cells = ["" if pd.isna(c) else str(c) for c in sample[name].tolist()]
        filled = sum(1 for c in cells if c.strip())
        out.append(ColumnProfile(str(name), position, filled, len(cells), shown_values(cells)))
    return out
