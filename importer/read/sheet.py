"""Workbooks (.xlsx, .xlsm, .xls, .ods) read as they are, with python-calamine (Rust).

A sheet is read as a table the way a CSV is: the header row found after a preamble
(:func:`~importer.read.delimited.find_header`, or ``skip_lines``), names trimmed and made unique,
every data row numbered from 1 (a row of empty cells is a blank line: not counted), and every cell
the text a person sees in the spreadsheet (:func:`cell_text`). calamine reads a sheet into
memory once, when the source is opened (about 90 bytes a cell), and its rows are turned into
text a chunk at a time; an .xlsx sheet bigger than
:data:`~importer.read.xlsx_stream.STREAM_BYTES` of XML is streamed from its XML instead, faster
and in flat memory, its chunks built a column at a time from the cells pyarrow parsed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import operator
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine as calamine

from importer.core.errors import SourceError
from importer.core.text import plural
from importer.read.delimited import (
    MAX_FOOTER_LINES,
    MAX_PREAMBLE,
    TEXT,
    Chunk,
    StrayValue,
    find_header,
    footer_note,
    footer_start,
    name_columns,
)
from importer.read.xlsx_stream import (
    STREAM_BYTES,
    Cells,
    XlsxStream,
    hidden_rows,
    pads_numbers,
    sheet_xml_bytes,
)

__all__ = ["ENCRYPTED_WORKBOOK", "SheetSource", "cell_text", "open_sheet", "sheet_records"]

#: Rows looked at to find the header (a preamble, then enough of the body to know its width).
_HEAD_ROWS = MAX_PREAMBLE + 50
#: Hidden rows named in the warning before "...".
_ROWS_NAMED = 10
#: The last rows held back to look for a report's footer: its most lines and the row above.
_FOOTER_HELD = MAX_FOOTER_LINES + 1
_TO_TEXT = {pa.string(): TEXT}.get
ENCRYPTED_WORKBOOK = (
    "is an encrypted (password-protected) workbook: save it without a password, or export the "
    "sheet as CSV"
)


def _number(value: float) -> str:
    """A whole number without ``.0`` (a phone stored as a number shows its digits); another to
    the 15 significant digits a spreadsheet keeps (0.1 + 0.2 shows as 0.3)."""
    return str(int(value)) if value.is_integer() else f"{value:.15g}"


_TEXT_OF: dict[type, Callable[[Any], str]] = {
    str: lambda v: v,
    bool: lambda v: "TRUE" if v else "FALSE",
    int: str,
    float: _number,
    dt.date: dt.date.isoformat,
    dt.datetime: lambda v: v.date().isoformat() if v.time() == dt.time() else v.isoformat(),
    dt.time: dt.time.isoformat,
    dt.timedelta: str,
}


def cell_text(value: object) -> str:
    """A cell as the spreadsheet shows it: numbers without a trailing ``.0``, booleans as
    TRUE/FALSE, dates as ISO dates (``2024-01-31``; a date property then needs no format), a
    datetime at midnight as its date, other datetimes ISO; a formula's saved value."""
    if value is None:
        return ""
    convert = _TEXT_OF.get(type(value))
    return convert(value) if convert else str(value)


def _column(cells: list[object]) -> pa.Array:
    """A column's cells as text: a column of text only (the usual) goes to pyarrow as it is, in
    C; any other is made text cell by cell."""
    try:
        column = pa.array(cells, pa.string())
        if not column.null_count:
            return column
    except pa.ArrowTypeError:  # numbers, booleans, dates
        pass
    return pa.array([v if type(v) is str else cell_text(v) for v in cells], pa.string())


def _blank(row: list[object]) -> bool:
    """A row of empty cells (the first filled cell ends the look: usually the first)."""
    for value in row:
        if value is not None and (type(value) is not str or value.strip()):
            return False
    return True


def _one_cell(row: Sequence[object]) -> str | None:
    """The text of the row's one filled cell; None when it has more (most rows: at the
    second) or holds no text."""
    found = None
    for value in row:
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if found is not None:
            return None
        found = value
    return found if isinstance(found, str) else None


def sheet_records(rows: Iterable[list[object]]) -> Iterator[tuple[int, list[str]]]:
    """(the row's line in the sheet, 1-based; its cells as text, trailing empty ones cut) for
    every row that is not all empty."""
    for line, row in enumerate(rows, 1):
        cells = [cell_text(v) for v in row]
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            yield line, cells


@dataclass
class SheetSource:
    """One sheet of a workbook, its header read; iterate it for :class:`Chunk` objects.

    Chunks are the CSV reader's: ``ragged`` and ``short`` stay empty (a sheet's rows cannot have
    too many fields), ``stray`` holds values under no header name.
    """

    path: Path
    name: str
    """What messages call the file."""
    sheet: str
    columns: list[str]
    warnings: list[str]
    skip_lines: int
    fingerprint: str
    encoding: str
    """The workbook's format (``xlsx``, ``ods``...): a workbook has no text encoding."""
    delimiter: str = ","
    """What the rejects of a workbook are written with: they are a CSV."""
    _rows_of: Callable[[], Iterator[list[Any]]] = field(default=lambda: iter(()), repr=False)
    """The sheet's rows from its first, again on every call: calamine's sheet, read once into
    memory, or a big .xlsx sheet's XML streamed (:mod:`importer.read.xlsx_stream`)."""
    _cells_of: Callable[[], Iterator[Cells]] | None = field(default=None, repr=False)
    """A streamed sheet's cells, a block at a time: what its chunks are made of."""
    _positions: list[int] = field(default_factory=list, repr=False)
    """Each named column's position in the sheet's rows (0-based)."""
    _unnamed: list[int] = field(default_factory=list, repr=False)
    _header_line: int = field(default=0, repr=False)
    _chunk_rows: int = field(default=25_000, repr=False)
    _selected: list[str] | None = field(default=None, repr=False)
    late_warnings: list[str] = field(default_factory=list, repr=False)
    """A report's footer found under the table (a loaded sheet's; see :meth:`_rows`)."""
    _keep: object = field(default=None, repr=False)
    """A spooled copy the sheet was read from, kept while the source lives."""

    @property
    def frame_columns(self) -> list[str]:
        return self.columns if self._selected is None else self._selected

    def select(self, columns: Iterable[str]) -> SheetSource:
        wanted = set(columns)
        unknown = wanted - set(self.columns)
        if unknown:
            raise ValueError(f"not columns of {self.name}: {sorted(unknown)}")
        return dataclasses.replace(self, _selected=[c for c in self.columns if c in wanted])

    def sample(self, rows: int = 200) -> pd.DataFrame:
        """The first ``rows`` rows; when they are the whole sheet, without its footer."""
        found = list(self._data(rows + 1))
        if len(found) <= rows:
            found = found[: footer_start([(line, _one_cell(cells)) for line, cells in found])]
        records = [[cells[p] if p < len(cells) else "" for p in self._positions]
                   for _, cells in found[:rows]]  # fmt: skip
        return pd.DataFrame(records, columns=self.columns, dtype=object)

    def __iter__(self) -> Iterator[Chunk]:
        if self._cells_of is not None:
            yield from self._cell_chunks(self._cells_of())
            return
        # Rows are kept as calamine gives them (only the columns read, picked in C) and made
        # text a column at a time: a column of text cells goes to pyarrow as it is.
        index = {c: p for c, p in zip(self.columns, self._positions, strict=True)}
        wanted = [index[c] for c in self.frame_columns]
        pick = operator.itemgetter(*wanted, 0)  # one more: a tuple even for one column
        width = max(self._positions) + 1
        beyond: list[int] | None = None  # the unnamed positions, and those past the header
        numbers: list[int] = []
        rows: list[tuple[object, ...]] = []
        stray: list[StrayValue] = []
        for number, row in enumerate(self._rows(), 1):
            numbers.append(number)
            rows.append(pick(row))
            if beyond is None:
                beyond = [*self._unnamed, *range(width, len(row))]
            for at in beyond:
                if (value := cell_text(row[at])).strip():
                    stray.append(StrayValue(number, at + 1, value))
            if len(numbers) >= self._chunk_rows:
                yield self._chunk(numbers, rows, stray)
                numbers, rows, stray = [], [], []
        if numbers:
            yield self._chunk(numbers, rows, stray)

    def _chunk(
        self, numbers: list[int], rows: list[tuple[object, ...]], stray: list[StrayValue]
    ) -> Chunk:
        columns = zip(*rows, strict=True)
        table = pa.table(
            {name: _column(list(cells))
             for name, cells in zip(self.frame_columns, columns, strict=False)}
        )  # fmt: skip
        return _table_chunk(table, numbers, stray)

    def _cell_chunks(self, blocks: Iterable[Cells]) -> Iterator[Chunk]:
        """The chunks :meth:`__iter__` makes of rows, made of a streamed sheet's cells a column
        at a time (no Python object per cell): the same rows, numbers and stray values, and the
        last rows held back to look for a report's footer as :meth:`_rows` does."""
        index = dict(zip(self.columns, self._positions, strict=True))
        wanted = {name: index[name] for name in self.frame_columns}
        width = max(self._positions) + 1
        tables: list[pa.Table] = []
        numbers: list[np.ndarray] = []
        lines: list[np.ndarray] = []
        stray: list[StrayValue] = []
        hidden: list[int] = []
        held = done = 0
        for cells in blocks:
            hidden += [line for line in cells.hidden if line > self._header_line]
            table, rows, at, found = _rows_of_cells(cells, self._header_line, wanted, width,
                                                    self._unnamed, done)  # fmt: skip
            tables.append(table)
            numbers.append(rows)
            lines.append(at)
            stray += found
            held += len(rows)
            done += len(rows)
            while held >= (cut := self._chunk_rows) + _FOOTER_HELD:
                whole = pa.concat_tables(tables)
                rows, at = np.concatenate(numbers), np.concatenate(lines)
                last = int(rows[cut - 1])
                mine = [s for s in stray if s.row <= last]
                yield _table_chunk(whole.slice(0, cut), rows[:cut].tolist(), mine)
                tables, numbers, lines = [whole.slice(cut)], [rows[cut:]], [at[cut:]]
                stray = [s for s in stray if s.row > last]
                held -= cut
        if hidden:  # said when the sheet opened, unless it was too big to look at then
            self._said(f"{self.name}, sheet '{self.sheet}': {hidden_note(hidden)}")
        if not held:
            return
        whole, rows = pa.concat_tables(tables), np.concatenate(numbers)
        kept = self._without_footer(whole, rows, np.concatenate(lines), stray)
        for begin in range(0, kept, self._chunk_rows):  # as a loaded sheet's chunks end
            part = rows[begin : min(kept, begin + self._chunk_rows)]
            mine = [s for s in stray if part[0] <= s.row <= part[-1]]
            yield _table_chunk(whole.slice(begin, len(part)), part.tolist(), mine)

    def _without_footer(
        self, table: pa.Table, rows: np.ndarray, lines: np.ndarray, stray: list[StrayValue]
    ) -> int:
        """How many of the last rows of a streamed sheet are not its report's footer."""
        first = max(0, len(rows) - _FOOTER_HELD)
        cells = {
            int(row): list(values.values())
            for row, values in zip(rows[first:], table.slice(first).to_pylist(), strict=True)
        }
        for value in stray:  # a value under no name is one of its row's cells too
            if value.row in cells:
                cells[value.row].append(value.value)
        tail = [(int(line), _one_cell(cells[int(row)]))
                for row, line in zip(rows[first:], lines[first:], strict=True)]  # fmt: skip
        start = footer_start(tail)
        self._said_footer(tail[start:])
        return first + start

    def _rows(self) -> Iterator[list[object]]:
        """The data rows as calamine gives them, blank ones (all cells empty) left out, and a
        report's footer under the table (:func:`footer_start`): the last rows are held back
        to look for it, and one found is said in ``late_warnings``."""
        width = max(self._positions) + 1
        held: deque[tuple[int, list[object]]] = deque()
        rows = itertools.islice(self._rows_of(), self._header_line, None)
        for line, row in enumerate(rows, self._header_line + 1):
            if len(row) < width:  # a streamed row stops at its last cell
                row = row + [""] * (width - len(row))
            head = row[0]
            if (head.__class__ is str and head.strip()) or not _blank(row):  # the first: fast
                held.append((line, row))
                if len(held) > _FOOTER_HELD:
                    yield held.popleft()[1]
        tail = [(line, _one_cell(row)) for line, row in held]
        start = footer_start(tail)
        self._said_footer(tail[start:])
        yield from (row for _, row in list(held)[:start])

    def _said_footer(self, footer: list[tuple[int, str | None]]) -> None:
        """``footer``: (line, text) of each of its rows, as :func:`footer_start` found them."""
        if footer:
            lines = [(line, text or "") for line, text in footer]
            self._said(f"{self.name}, sheet '{self.sheet}': {footer_note(lines, 'sheet row')}")

    def _said(self, note: str) -> None:
        """``note`` in ``late_warnings``, once (a sheet read twice finds it twice)."""
        if note not in self.warnings and note not in self.late_warnings:
            self.late_warnings.append(note)

    def _data(self, limit: int) -> Iterator[tuple[int, list[str]]]:
        after = itertools.islice(self._rows_of(), self._header_line, None)
        return itertools.islice(sheet_records(after), limit)


def _table_chunk(table: pa.Table, numbers: list[int], stray: list[StrayValue]) -> Chunk:
    frame = table.to_pandas(types_mapper=_TO_TEXT)
    frame.index = pd.Index(numbers, dtype="int64", name="row")
    return Chunk(frame, [], [], stray)


def _rows_of_cells(
    cells: Cells,
    header_line: int,
    wanted: dict[str, int],
    width: int,
    unnamed: list[int],
    done: int,
) -> tuple[pa.Table, np.ndarray, np.ndarray, list[StrayValue]]:
    """The data rows a block of cells holds (those under the header with a cell not blank):
    their ``wanted`` columns (name: position), their numbers (from ``done`` + 1), their sheet
    lines, and the values under no name (in ``unnamed`` positions or past the header's
    ``width``)."""
    under = cells.line > header_line
    blank = pc.or_(pc.equal(cells.text, ""), pc.utf8_is_space(cells.text))  # as str.isspace
    filled = ~blank.to_numpy(zero_copy_only=False) & under
    lines = np.unique(cells.line[filled])
    rows = len(lines)
    at = np.minimum(np.searchsorted(lines, cells.line), max(rows - 1, 0))
    kept = under & (lines[at] == cells.line) if rows else np.zeros_like(under)
    columns, dense = {}, np.arange(rows)
    for name, position in wanted.items():
        mine = kept & (cells.column == position)
        spots = at[mine]
        values = cells.text.filter(pa.array(mine))
        if not np.array_equal(spots, dense):  # a row without this cell, or two
            where = np.full(rows, -1, np.int64)
            where[spots] = np.arange(len(spots))
            values = values.take(pa.array(where, mask=where < 0)).fill_null("")
        columns[name] = values
    beyond = np.flatnonzero(
        kept & filled & ((cells.column >= width) | np.isin(cells.column, unnamed))
    )
    stray = [StrayValue(done + 1 + int(at[i]), int(cells.column[i]) + 1, cells.text[i].as_py())
             for i in beyond]  # fmt: skip
    numbers = np.arange(done + 1, done + 1 + rows, dtype=np.int64)
    return pa.table(columns), numbers, lines, stray


def open_sheet(
    path: Path,
    *,
    name: str,
    kind: str,
    fingerprint: str,
    sheet: str | None = None,
    skip_lines: int | None = None,
    chunk_rows: int = 25_000,
    stream_over: int = STREAM_BYTES,
) -> SheetSource:
    """Open a workbook and read the header of ``sheet`` (a name, or a 1-based number; default:
    the first visible sheet holding a table: a header of at least two names and a row under
    it). An .xlsx sheet of more than ``stream_over`` bytes of XML is streamed, not loaded; so is
    every sheet of one whose number formats pad with zeros (calamine reads 02134 as 2134)."""
    try:
        book = calamine.load_workbook(str(path))
    except calamine.PasswordError:
        raise SourceError(ENCRYPTED_WORKBOOK, path=name) from None
    except (calamine.CalamineError, OSError, ValueError) as error:
        raise SourceError(
            f"cannot be read as a {kind} workbook ({error}): export the sheet as CSV", path=name
        ) from None
    if kind in ("xlsx", "xlsm") and pads_numbers(str(path)):
        stream_over = 0
    sheets = [m for m in book.sheets_metadata if m.typ == calamine.SheetTypeEnum.WorkSheet]
    names = [m.name for m in sheets]
    chosen = _chosen_sheet(names, sheet, name) if sheet is not None else None
    shown = [m.name for m in sheets if m.visible == calamine.SheetVisibleEnum.Visible]
    tried: list[str] = []
    for candidate in [chosen] if chosen else shown:  # a hidden sheet only when chosen
        rows_of, cells_of = _rows_of(book, path, name, kind, candidate, stream_over)
        found = _table_of(rows_of(), skip_lines, least=1 if chosen else 2)
        if found is not None:
            break
        tried.append(candidate)
    else:
        which = f"sheet '{chosen}' holds no" if chosen else f"no sheet of {len(shown)} holds a"
        raise SourceError(
            f"{which} table (a header row of column names and a row under it)"
            + ("" if chosen else ": pass --sheet NAME to choose one"),
            path=name,
        )
    header_line, header = found
    where = f"{name}, sheet '{candidate}'"
    columns, unnamed, said = name_columns(header, where, header_line)
    positions = [i for i, cell in enumerate(header) if cell.strip()]
    notes = [f"{where}: {note}" for note in said]
    if tried:
        notes.insert(0, f"read sheet '{candidate}' (sheets before it hold no table): "
                        "pass --sheet to choose another")  # fmt: skip
    if not chosen and (more := _more_tables(book, path, name, kind, shown, candidate)):
        also = (f"sheet '{more[0]}' holds a table too and is not read: import it with --sheet "
                f"'{more[0]}'" if len(more) == 1 else
                f"sheets {', '.join(repr(s) for s in more)} hold tables too and are not read: "
                "import each with --sheet NAME")  # fmt: skip
        notes.append(f"{name}: read sheet '{candidate}' only; {also}")
    if kind in ("xlsx", "xlsm"):
        hidden = [r for r in hidden_rows(str(path), candidate, STREAM_BYTES) if r > header_line]
        if hidden:
            notes.append(f"{where}: {hidden_note(hidden)}")
    if header_line > 1 and skip_lines is None:
        notes.append(
            f"{where}: rows 1-{header_line - 1} are not the header: read the header from row "
            f"{header_line}; pass --skip-lines N to say how many rows come before it"
        )
    return SheetSource(
        path=path,
        name=name,
        sheet=candidate,
        columns=columns,
        warnings=notes,
        skip_lines=header_line - 1,
        fingerprint=fingerprint,
        encoding=kind,
        _rows_of=rows_of,
        _cells_of=cells_of,
        _positions=positions,
        _unnamed=[p - 1 for p in unnamed],
        _header_line=header_line,
        _chunk_rows=chunk_rows,
    )


def hidden_note(rows: list[int]) -> str:
    """What a sheet's hidden rows become: customers like the others, which whoever hid them (by
    hand or with a filter) may not expect."""
    shown = ", ".join(map(str, rows[:_ROWS_NAMED])) + (", ..." if rows[_ROWS_NAMED:] else "")
    return (
        f"{plural(len(rows), 'row')} hidden in the workbook, read like the others (spreadsheet "
        f"{'row' if len(rows) == 1 else 'rows'} {shown}): delete from the sheet what should not "
        "be imported"
    )


def _more_tables(
    book: Any, path: Path, name: str, kind: str, shown: list[str], read: str
) -> list[str]:
    """The visible sheets after ``read`` that hold a table too: their rows would be left out
    without a word. An .xlsx sheet is peeked at from its XML, whatever its size."""
    later = shown[shown.index(read) + 1 :]
    return [s for s in later if _table_of(_rows_of(book, path, name, kind, s, 0)[0](), None, 2)]


def _chosen_sheet(names: list[str], sheet: str, where: str) -> str:
    """``--sheet``: a sheet's name (exactly, then ignoring case), else its number from 1."""
    for candidate in names:
        if candidate == sheet:
            return candidate
    for candidate in names:
        if candidate.casefold() == sheet.strip().casefold():
            return candidate
    if sheet.strip().isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    listed = ", ".join(f"'{n}'" for n in names)
    raise SourceError(
        f"has no sheet {sheet!r}: pass --sheet with one of {listed} (or its number, from 1)",
        path=where,
    )


def _rows_of(
    book: Any, path: Path, name: str, kind: str, sheet: str, stream_over: int
) -> tuple[Callable[[], Iterator[list[Any]]], Callable[[], Iterator[Cells]] | None]:
    """How to read ``sheet``'s rows, and its cells when they are streamed: from its XML when it
    is a big .xlsx sheet, else from calamine's copy of it in memory (loaded now, once)."""
    if kind in ("xlsx", "xlsm"):
        found = sheet_xml_bytes(str(path), sheet)
        if found is not None and found[1] > stream_over:
            stream = XlsxStream(str(path), found[0], cell_text, name)
            return stream.rows, stream.cells
    loaded = book.get_sheet_by_name(sheet)
    rows: Callable[[], Iterator[list[Any]]] = loaded.iter_rows
    return rows, None


def _table_of(
    rows: Iterator[list[object]], skip_lines: int | None, least: int
) -> tuple[int, list[str]] | None:
    """(the header's line, its cells) of the table on ``sheet``; None: the sheet holds none (a
    header of at least ``least`` cells with a row under it: a read-me sheet has one column)."""
    if skip_lines:
        rows = itertools.islice(rows, skip_lines, None)
    records = list(itertools.islice(sheet_records(rows), _HEAD_ROWS))
    if skip_lines:
        records = [(line + skip_lines, cells) for line, cells in records]
    index = 0 if skip_lines is not None else find_header([cells for _, cells in records])
    if len(records) <= index + 1 or len(records[index][1]) < least:
        return None
    return records[index]
