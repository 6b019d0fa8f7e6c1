"""The one CSV cell escaper: every CSV this tool writes opens as data, never as formulas.

Every CSV file written (results, validation reports, rejects) goes through :class:`SafeCsvWriter`,
values and header names alike. Its promises:

1. **No formula.** A cell that a spreadsheet would run (CSV injection) gets one leading
   apostrophe, which Excel, LibreOffice and Google Sheets show as text. Guarded: a cell whose
   first character that is not ignorable is a formula starter (``=`` ``+`` ``-`` ``@``, their
   full-width forms ``＝＋－＠`` and small forms ``﹦﹢﹣﹫``), or that starts with TAB, CR or LF.
   Ignorable are the characters spreadsheets skip or show as nothing: controls (``Cc``), format
   characters such as the zero-width space and the byte-order mark (``Cf``) and every kind of space
   (``Z*``), so ``"\\u200b=cmd"``, ``" =cmd"`` and ``"\\x00=cmd"`` are guarded too.
2. **No line split.** Lines end with CRLF (RFC 4180), so a cell holding a CR or an LF is quoted,
   and every CSV reader (Python's, pandas', spreadsheets') reads back the rows written.
3. **A round trip.** The guard is always one leading ``'``: :data:`ESCAPED_FORMULA` matches the
   cells this module guarded, and :mod:`importer.mapping` drops that apostrophe when a results
   file is fed back, so the value sent is the value read the first time.

:func:`safe_cell` (one value) and :func:`safe_frame` (a table, vectorised in pyarrow) apply the same
rule; :data:`FORMULA_START` is that rule as a RE2 pattern (pyarrow's regex engine).
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Sequence
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ESCAPED_FORMULA",
    "FORMULA_CHARS",
    "FORMULA_START",
    "LINE_END",
    "SafeCsvWriter",
    "needs_guard",
    "safe_cell",
    "safe_frame",
]

#: Characters that make a spreadsheet read a cell as a formula, in their three widths.
FORMULA_CHARS = "=+-@＝＋－＠﹦﹢﹣﹫"
#: Leading characters that are a formula risk by themselves (OWASP's CSV injection list).
RISKY_FIRST = "\t\r\n"
#: Unicode categories a spreadsheet skips or shows as nothing before a formula starter.
IGNORABLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_SET = RISKY_FIRST + FORMULA_CHARS.replace("-", "\\-")
#: The rule as a RE2 pattern: what :func:`needs_guard` says yes to.
FORMULA_START = rf"^[\p{{Cc}}\p{{Cf}}\p{{Z}}]*[{_SET}]"
#: White space as pyarrow's ``utf8_trim_whitespace`` (the mapping's strip) removes it.
_TRIMMED = r"\t\n\x0b\x0c\r\x1c-\x1f\x85\p{Z}"
#: A cell as this module wrote it, after the mapping's strip; replaced by group 1 it becomes the
#: cell as that strip makes the original: the guard goes, and so does the white space it kept at
#: the start (``"' =x"`` -> ``"=x"``, as ``" =x"`` strips to; see :mod:`importer.mapping`).
ESCAPED_FORMULA = (
    rf"^'(?:[{RISKY_FIRST}][{_TRIMMED}]*|[{_TRIMMED}]*([\p{{Cc}}\p{{Cf}}\p{{Z}}]*[{_SET}]))"
)
#: Line ending of every CSV written: CRLF, so cells holding CR or LF are quoted.
LINE_END = "\r\n"


def needs_guard(text: str) -> bool:
    """Whether a spreadsheet could run ``text`` as a formula (see the module's rule 1)."""
    for char in text:
        if char in FORMULA_CHARS or char in RISKY_FIRST:
            return True
        if unicodedata.category(char) not in IGNORABLE:
            return False
    return False


def safe_cell(value: object) -> object:
    """The value as a spreadsheet should show it: text that cannot run as a formula."""
    if isinstance(value, str) and value and needs_guard(value):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell guarded, column by column (vectorised, in pyarrow)."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
            text = pa.array(column.astype("string"), type=pa.large_string(), from_pandas=True)
            safe = pc.replace_substring_regex(text, FORMULA_START, "'\\0")
            # by position: a Series would be aligned on its labels, and a slice's start past 0
            out[name] = pd.Series(safe.to_pandas().array, index=column.index, dtype="string")
    return out


class SafeCsvWriter:
    """A CSV writer (header first) whose header names and cells are guarded before writing."""

    def __init__(self, file: IO[str], columns: Sequence[str]) -> None:
        self._file = file
        self._writer = csv.writer(file, lineterminator=LINE_END)
        self._writer.writerow([safe_cell(name) for name in columns])
        self._file.flush()

    def write_row(self, values: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(v) for v in values])

    def write_frame(self, frame: pd.DataFrame) -> None:
        if not frame.empty:
            safe_frame(frame).to_csv(self._file, header=False, index=False,
                                      lineterminator=LINE_END)  # fmt: skip

    def flush(self) -> None:
        self._file.flush()
