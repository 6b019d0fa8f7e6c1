"""The rows to fix, as a file: every rejected row with its own cells and what is wrong with it.

``validate --rejects FILE.csv`` and ``run --rejects FILE.csv`` write it. Its promise: a person
fixes the cells in a spreadsheet and gives the file to the same command with the same mapping, and
the fixed rows go through.

- **Layout.** Two columns of ours, then the input's own columns, under its own header, in its
  order: ``row`` (the row's number in the input: the 1-based data row, header excluded) and
  ``error`` (what is wrong: ``Column: message; Column: message``, as the results file says it).
  The mapping reads columns by name, so ours are ignored when the file comes back. If the input
  has columns named ``row`` or ``error``, ours take underscores (``_row``) until the name is free;
  a rejects file rejected again keeps its ``row`` (the number in the first input) and gets a fresh
  ``error`` (:func:`layout`).
- **What is rejected** (:func:`is_rejected`): every ``invalid`` row; in a run, also a ``failed``
  row that Help Scout refused for what it holds (400, 413, 422), with the status and logRef.
  Rows that failed otherwise (no answer, 5xx, 429s past the attempts, a stop) are not rejects:
  the same command retries them, where feeding them back as a new file could create them twice.
- **Cells as read.** A ragged row (a field too many or too few) comes back padded to the header,
  its extra fields kept together in its last cell (:func:`ragged_cells`), so it reads as one row.
- **No secret.** A run's lines pass :func:`importer.core.redact.redact`, as the results file's do.
- **Safe to open.** UTF-8 with a byte-order mark, so spreadsheets show accents right; cells that
  would run as formulas get :mod:`importer.core.safecsv`'s apostrophe, which the importer drops
  again when it reads the file back. Rows are in input order.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from importer.check.validate import CheckedChunk
from importer.core.errors import ConfigError
from importer.core.files import open_private
from importer.core.redact import redact
from importer.core.safecsv import SafeCsvWriter
from importer.read import Chunk, RaggedRow
from importer.read.renumber import ERROR, ROW
from importer.send.results import Outcome, cannot_write

__all__ = [
    "ERROR",
    "REFUSED_STATUSES",
    "ROW",
    "RejectsWriter",
    "is_rejected",
    "layout",
    "ragged_cells",
    "row_errors",
]

#: Rows turned into text at a time: a chunk of invalid rows made text at once costs ~30 MB.
WRITE_ROWS = 5000
#: Help Scout's answers that refuse a row for its content: fixing the cells is the remedy.
REFUSED_STATUSES = frozenset({400, 413, 422})


def layout(columns: Sequence[str]) -> tuple[list[str], bool]:
    """The rejects file's header for an input with ``columns``, and whether the input is a
    rejects file already (it starts with our two columns: they are reused, not added again)."""
    if list(columns[:2]) == [ROW, ERROR]:
        return list(columns), True
    taken = set(columns)

    def free(name: str) -> str:
        while name in taken:
            name = "_" + name
        return name

    return [free(ROW), free(ERROR), *columns], False


def is_rejected(outcome: Outcome) -> bool:
    """Whether a run's row belongs in the rejects file: invalid, or refused for its content."""
    if outcome.status == "invalid":
        return True
    return outcome.status == "failed" and outcome.http_status in REFUSED_STATUSES


def refusal_text(outcome: Outcome) -> str:
    """A refused row's ``error`` cell: Help Scout's words, status and logRef."""
    ref = f", logRef {outcome.log_ref}" if outcome.log_ref else ""
    return f"Help Scout refused it ({outcome.http_status}{ref}): {outcome.error}"


def row_errors(issues: pd.DataFrame) -> pd.Series:
    """Each invalid row's errors in one cell, ``Column: message; Column: message``, by row."""
    errors = issues[issues["severity"] == "error"]
    if errors.empty:
        return pd.Series([], index=pd.Index([], dtype="int64", name="row"), dtype=object)
    column = errors["column"].fillna("")
    place = column.where(column != "", errors["field"].fillna(""))
    message = errors["message"].fillna("")
    text = (place + ": " + message).where(place != "", message).to_numpy(dtype=object)
    rows = errors["row"].to_numpy(dtype="int64")
    order = np.argsort(rows, kind="stable")  # a row's errors stay in the order found
    rows, text = rows[order], text[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    separators = np.full(len(rows), "; ", dtype=object)
    separators[np.r_[starts[1:] - 1, len(rows) - 1]] = ""
    joined = np.add.reduceat(text + separators, starts)  # string sums, looped in C
    return pd.Series(joined, index=pd.Index(rows[starts], name="row"), dtype=object)


def ragged_cells(ragged: RaggedRow, width: int, delimiter: str) -> list[str]:
    """A ragged row's cells as read; past ``width``, the extra fields stay in the last cell."""
    fields = next(csv.reader(io.StringIO(ragged.text), delimiter=delimiter), [])
    if len(fields) > width:
        fields = [*fields[: width - 1], delimiter.join(fields[width - 1 :])]
    return fields


class RejectsWriter:
    """Writes rejected rows as they come, in the order given (input order for both callers).

    ``validate`` gives whole checked chunks (:meth:`add_checked`); ``run`` gives each row's
    results line with its cells (:meth:`add`, an observer of the results writer).
    """

    def __init__(self, path: str | Path, columns: Sequence[str], *, delimiter: str = ",") -> None:
        self.path = Path(path)
        if self.path.suffix.lower() in (".html", ".htm", ".json"):
            raise ConfigError(f"the rejects file is a CSV: end its name in .csv, not '{path}'")
        self.columns = list(columns)
        self.delimiter = delimiter
        self.header, self._again = layout(self.columns)
        self.written = 0
        try:
            self._file: IO[str] = open_private(self.path, "w", encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise ConfigError(f"cannot write the rejects file {path}: {exc.strerror}") from exc
        with self._room():
            self._writer = SafeCsvWriter(self._file, self.header)

    def add_checked(self, chunk: Chunk, checked: CheckedChunk) -> None:
        """The chunk's invalid rows, with their errors."""
        invalid = checked.invalid
        if not len(invalid):
            return
        frame = chunk.frame
        cells = frame.loc[frame.index.intersection(invalid)]
        ragged = [r for r in chunk.ragged if r.row in set(invalid.tolist())]
        if ragged:
            width = len(self.columns)
            padded = [(ragged_cells(r, width, self.delimiter) + [""] * width)[:width]
                      for r in ragged]  # fmt: skip
            extra = pd.DataFrame(padded, index=[r.row for r in ragged], dtype=object)
            extra.columns = cells.columns
            cells = pd.concat([cells.astype(object), extra]).sort_index()
        errors = row_errors(checked.issues).reindex(cells.index).fillna("")
        self._write(cells, errors)

    def add(self, outcome: Outcome) -> None:
        """One results line: written if the row is rejected (it must carry its cells)."""
        if not is_rejected(outcome):
            return
        if outcome.source is None:
            raise ValueError("a rejected row needs its cells: give the results their source")
        width = len(self.columns)
        cells = [redact(c) if isinstance(c, str) else c
                 for c in (list(outcome.source) + [""] * width)[:width]]  # fmt: skip
        error = redact(outcome.error if outcome.status == "invalid" else refusal_text(outcome))
        with self._room():
            if self._again:
                self._writer.write_row([cells[0] or outcome.row, error, *cells[2:]])
            else:
                self._writer.write_row([outcome.row, error, *cells])
        self.written += 1

    def close(self) -> None:
        with self._room():
            self._file.close()

    @contextlib.contextmanager
    def _room(self) -> Iterator[None]:
        """A write the system refuses (a full disk) as one line naming the file: exit 3."""
        try:
            yield
        except OSError as exc:
            raise cannot_write("--rejects", self.path, exc) from None

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _write(self, cells: pd.DataFrame, errors: pd.Series) -> None:
        out = cells.reset_index(drop=True)
        out.columns = pd.RangeIndex(out.shape[1])
        rows = pd.Series(cells.index.to_numpy(), dtype="int64")
        if self._again:
            kept = out[0].where(out[0].notna() & (out[0] != ""), rows.astype(str))
            out = pd.concat([kept, pd.Series(errors.to_numpy()), out.iloc[:, 2:]], axis=1)
        else:
            out = pd.concat([rows, pd.Series(errors.to_numpy(), dtype=object), out], axis=1)
        out.columns = pd.RangeIndex(out.shape[1])
        with self._room():
            for start in range(0, len(out), WRITE_ROWS):  # the text copies of a slice at a time
                self._writer.write_frame(out.iloc[start : start + WRITE_ROWS])
        self.written += len(out)
