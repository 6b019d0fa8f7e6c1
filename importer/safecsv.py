"""CSV output that a spreadsheet opens as data, never as formulas.

A cell that starts with ``=``, ``+``, ``-``, ``@``, TAB or CR is run as a formula by Excel,
LibreOffice and Google Sheets (CSV injection). Such cells get a leading apostrophe, which
spreadsheets show as text.
Both the validation report and the results file write through here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO

import pandas as pd

FORMULA_START = r"^([=+\-@\t\r])"
#: A cell as this module wrote it: read back (a results file fed in again), the apostrophe goes.
ESCAPED_FORMULA = r"^'([=+\-@])"


def safe_cell(value: object) -> object:
    """The value as a spreadsheet should show it: text that cannot run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell made safe, column by column (vectorised)."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
            out[name] = column.astype("string").str.replace(FORMULA_START, r"'\1", regex=True)
    return out


class SafeCsvWriter:
    """A CSV writer (header first) whose text cells are made safe before writing."""

    def __init__(self, file: IO[str], columns: Sequence[str]) -> None:
        self._file = file
        self._writer = csv.writer(file, lineterminator="\n")
        self._writer.writerow(columns)
        self._file.flush()

    def write_row(self, values: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(v) for v in values])

    def write_frame(self, frame: pd.DataFrame) -> None:
        if not frame.empty:
            safe_frame(frame).to_csv(self._file, header=False, index=False, lineterminator="\n")

    def flush(self) -> None:
        self._file.flush()
