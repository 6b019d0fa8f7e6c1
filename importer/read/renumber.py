"""A rejects file read back keeps the export's row numbers.

``validate --rejects`` and ``run --rejects`` write the rows to fix with two columns first, ``row``
(the row's number in the export) and ``error`` (:mod:`importer.outputs.rejects`). When such a file
comes back, its rows are numbered by that ``row`` column, so that every message, report and results
line names the row of the export a person knows ("row 12"), not its place in the short file
("row 1"). It applies only when every ``row`` cell is a whole number and they increase down the
file (a file a person reordered, or added rows to, is numbered as it stands, with a warning).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from importer.read.base import Source
from importer.read.delimited import Chunk

__all__ = ["ERROR", "ROW", "RenumberedSource", "export_rows", "renumbered"]

ROW, ERROR = "row", "error"


def export_rows(cells: list[str]) -> list[int] | None:
    """The export's row numbers the ``row`` cells hold, in file order; None when one is not a
    whole number above 0 or they do not increase (then the file's own numbers stand)."""
    numbers: list[int] = []
    for cell in cells:
        text = cell.strip()
        if not text.isdigit() or int(text) < 1 or (numbers and int(text) <= numbers[-1]):
            return None
        numbers.append(int(text))
    return numbers


@dataclass
class RenumberedSource:
    """A source whose rows take the numbers its ``row`` column holds (see the module)."""

    inner: Source
    numbers: dict[int, int]
    """The file's own row number -> the export's."""
    keep_row: bool = True
    """Whether the chunks hold the ``row`` column (a select that did not ask for it drops it)."""

    def __getattr__(self, name: str) -> Any:
        """Everything but the rows (name, columns, encoding, warnings...) is the inner source's."""
        if name == "inner":  # not set yet (a copy being made): no endless lookup
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def frame_columns(self) -> list[str]:
        columns = self.inner.frame_columns
        return columns if self.keep_row else [c for c in columns if c != ROW]

    def select(self, columns: Iterable[str]) -> RenumberedSource:
        wanted = set(columns)
        inner = self.inner.select(wanted | {ROW})
        return dataclasses.replace(self, inner=inner, keep_row=ROW in wanted)

    def __iter__(self) -> Iterator[Chunk]:
        new = self.numbers.__getitem__
        for chunk in self.inner:
            frame = chunk.frame if self.keep_row else chunk.frame.drop(columns=[ROW])
            frame.index = pd.Index([new(r) for r in frame.index], dtype="int64", name="row")
            yield Chunk(
                frame,
                [dataclasses.replace(r, row=new(r.row)) for r in chunk.ragged],
                [dataclasses.replace(r, row=new(r.row)) for r in chunk.short],
                [dataclasses.replace(s, row=new(s.row)) for s in chunk.stray],
                [dataclasses.replace(u, row=new(u.row)) for u in chunk.undecodable],
            )


def renumbered(source: Source) -> Source:
    """``source`` numbered by its ``row`` column when it is a rejects file that can be, with a
    warning when it cannot; else ``source`` as it is."""
    if source.columns[:2] != [ROW, ERROR]:
        return source
    found: dict[int, str] = {}
    for chunk in source.select([ROW]):
        found.update(zip(chunk.frame.index.tolist(), chunk.frame[ROW].tolist(), strict=True))
        for ragged in chunk.ragged:  # its first field, as written (a number has no quotes)
            found[ragged.row] = ragged.text.split(source.delimiter, 1)[0].strip('"')
    rows = sorted(found)
    numbers = export_rows([found[row] for row in rows])
    if numbers is None:
        source.warnings.append(
            "the file starts with the columns row and error, as a rejects file does, but its row "
            "column does not hold increasing row numbers: its rows are numbered as they stand"
        )
        return source
    return RenumberedSource(source, dict(zip(rows, numbers, strict=True)))
