"""A big .xlsx sheet read from its XML a block at a time, as the text calamine's rows read as.

python-calamine reads a whole sheet into memory before its first row comes out (about 90 bytes
a cell: 1.5 GB for a million rows of 16 columns; its maintainer: lazy iteration is out of
pyo3's reach, dimastbk/python-calamine#42). :func:`~importer.read.sheet.open_sheet` reads a
sheet whose XML is over :data:`STREAM_BYTES` here instead, in flat memory (the shared strings,
the styles and one block of XML). Rows come out as the text
:func:`~importer.read.sheet.cell_text` makes of calamine's (``""`` for an empty cell, an empty
row for a missing one), so the sheet reader does not tell them apart; the tests read every
workbook fixture both ways and compare. The body is read by :meth:`XlsxStream.cells`: a block's
cells split and parsed by pyarrow's kernels (RE2, in C++), no Python object made per cell, only
the rare ones (dates, fractions, rich text, entities) made text in Python.
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import NamedTuple
from xml.etree import ElementTree

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from importer.core.arrow import offsets_and_bytes
from importer.core.errors import SourceError

__all__ = [
    "MAX_ROW_XML",
    "STREAM_BYTES",
    "Cells",
    "XlsxStream",
    "cut_texts",
    "padded",
    "pads_numbers",
    "sheet_xml_bytes",
]

#: A sheet whose XML is bigger than this (about 60,000 rows of 16 columns) is streamed.
STREAM_BYTES = 64 << 20
#: The most XML one row may take (a row of 16,384 long cells is far less).
MAX_ROW_XML = 64 << 20
_BLOCK = 1 << 20
#: The XML :meth:`XlsxStream.cells` parses at once (2 to 8 MB measured alike; 16 MB slower).
_CELLS_BLOCK = 4 << 20
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# The order Excel, openpyxl and xlsxwriter write a cell's attributes in (r, s, t); a row holding
# a cell in another order is read by the slower general pattern.
# The groups: column letters, style, type, value, an inline string's one text, its rich text.
_CELL = re.compile(
    r'<c r="([A-Z]+)\d+"(?: s="(\d+)")?(?: t="(\w+)")?\s*'
    r"(?:/>|>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)?(?:<v>([^<]*)</v>)?"
    r"(?:<is><t(?:\s[^>]*)?>([^<]*)</t></is>|<is>(.*?)</is>)?</c>)",
    re.S,
)
_ANY_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_ATTR = re.compile(r'\b(r|s|t)="([^"]*)"')
_VALUE = re.compile(r"<v>([^<]*)</v>")
_INLINE = re.compile(r"<is>(.*?)</is>", re.S)
_TEXT = re.compile(r"<t(?:\s[^>]*)?>([^<]*)</t>|<rPh\b.*?</rPh>", re.S)
_ROW = re.compile(r'<row\b[^>]*?\br="(\d+)"')
# A block is split at each '<c r="': a piece is one cell (its reference first), then the row
# tags up to the next. The usual cells' text is then cut out of the XML where it lies (numpy):
# a cell of these forms (RE2, matched by a DFA: no groups) holds its text from ">" + 7 (an
# inline string) or ">" + 3 (a number, a shared string's index) to the next "</".
_REF = r'^(?P<letters>[A-Z]+)(?P<line>\d+)"'
_PLAIN = r'(?: s="\d+")?(?: t="inlineStr"><is><t>[^<&]*</t></is>| t="s"><v>\d{1,9}</v>)'
_NUMBER = r'(?: t="n")?><v>\d{1,15}</v>'
_CLOSED = r'(?: s="\d+")?(?: t="(?:s|n|inlineStr)")?/>'
# What may follow a cell up to the next '<c r="' (a cell of another form there: not read so).
_ROW_TAGS = r"(?:\s|</row>|<row\b[^>]*>)*"
_AFTER_CELL = re.compile(_ROW_TAGS)
_CELL_START = re.compile(r"<c[\s/>]")
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+(?::([A-Z]+)\d+)?"')
#: Built-in number formats that are dates or times (ECMA-376, 18.8.30).
_DATE_FORMATS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_DATE_CODE = re.compile(r"[dmyhs]", re.I)
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')
#: A number format that pads whole numbers with zeros: Excel's Zip Code (00000), Zip Code + 4
#: (00000-0000), Social Security Number (000-00-0000), a fixed-width account number.
_PADDED_CODE = re.compile(r"0{2,}(?:[- ]0+)*")


def _styles(
    archive: zipfile.ZipFile, names: set[str]
) -> tuple[set[int], dict[str, str], dt.datetime]:
    """The styles whose number format is a date or time, those that pad whole numbers with
    zeros (style -> its format), and the workbook's day 0."""
    book = archive.read("xl/workbook.xml")
    epoch = dt.datetime(1904, 1, 1) if b'date1904="1"' in book else dt.datetime(1899, 12, 30)
    if "xl/styles.xml" not in names:
        return set(), {}, epoch
    styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    codes = {int(f.get("numFmtId", -1)): f.get("formatCode", "")
             for f in styles.iter(f"{_MAIN}numFmt")}  # fmt: skip
    dated = {i for i, code in codes.items() if _DATE_CODE.search(_QUOTED.sub("", code))}
    plain = {i: code.replace("\\", "").replace('"', "") for i, code in codes.items()}
    zeros = {i: code for i, code in plain.items() if _PADDED_CODE.fullmatch(code)}
    xfs = styles.find(f"{_MAIN}cellXfs")
    found, padding = set(), {}
    for index, xf in enumerate(xfs if xfs is not None else []):
        number = int(xf.get("numFmtId", 0))
        if number in _DATE_FORMATS or number in dated:
            found.add(index)
        elif number in zeros:
            padding[str(index)] = zeros[number]
    return found, padding, epoch


def pads_numbers(path: str) -> bool:
    """Whether the workbook has a style that pads whole numbers with zeros (02134): calamine
    reads such a cell as the number 2134, so its sheets are read from their XML."""
    try:
        with zipfile.ZipFile(path) as archive:
            return bool(_styles(archive, set(archive.namelist()))[1])
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return False


def padded(digits: str, code: str) -> str:
    """A whole number as a zero-padding format shows it: ``2134`` in ``00000`` is ``02134``,
    ``12345678`` in ``00000-0000`` is ``01234-5678``; digits beyond the format go first."""
    digits = digits.lstrip("0").zfill(code.count("0"))
    at, shown = len(digits), []
    for char in reversed(code):
        if char == "0":
            at -= 1
            shown.append(digits[at])
        else:
            shown.append(char)
    return digits[:at] + "".join(reversed(shown))


def _column(letters: str) -> int:
    """``B`` -> 1: a cell reference's column, from 0."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _text(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _runs(inner: str) -> str:
    """The text of an inline string (``<t>``, or rich text runs), phonetic runs left out."""
    return "".join(_text(t) for t in _TEXT.findall(inner) if t)


def _item(item: ElementTree.Element) -> str:
    """The text of a shared string (``<t>``, or rich text runs), phonetic runs left out."""
    parts = []
    for child in item:
        if child.tag == f"{_MAIN}t":
            parts.append(child.text or "")
        elif child.tag == f"{_MAIN}r":
            parts += [t.text or "" for t in child.iter(f"{_MAIN}t")]
    return "".join(parts)


def sheet_xml_bytes(path: str, sheet: str) -> tuple[str, int] | None:
    """(the archive member holding ``sheet``, its XML's size); None when it cannot be told, or
    when its tags carry a namespace prefix (``<x:row>``, which calamine reads and this does not)."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = _member_of(archive, sheet)
            if member is None:
                return None
            with archive.open(member) as xml:
                if b"<sheetData" not in xml.read(_BLOCK):
                    return None
            return member, archive.getinfo(member).file_size
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return None


#: A row a person hid, by hand or with a filter (``hidden`` is an XML boolean: 1 or true).
_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\shidden="(?:1|true)"[^>]*>')
_ROW_NUMBER = re.compile(rb'\sr="([0-9]+)"')


def _hidden_in(xml: bytes) -> tuple[int, ...]:
    """The lines of the hidden rows whose tags ``xml`` holds whole."""
    numbers = (_ROW_NUMBER.search(tag) for tag in _HIDDEN_ROW.findall(xml))
    return tuple(int(n.group(1)) for n in numbers if n)


def hidden_rows(path: str, sheet: str, most: int) -> list[int]:
    """The spreadsheet numbers of the rows ``sheet`` hides: they are read like the others (a
    filter's hidden rows are still the file's), so the reader can say which they are. A sheet
    of over ``most`` bytes of XML is not looked at: unpacking it twice would cost seconds (its
    stream says them, :attr:`Cells.hidden`)."""
    found: list[int] = []
    try:
        with zipfile.ZipFile(path) as archive:
            member = _member_of(archive, sheet)
            if member is None or archive.getinfo(member).file_size > most:
                return []
            with archive.open(member) as xml:
                carry = b""
                while block := xml.read(_BLOCK):
                    text = carry + block
                    cut = max(text.rfind(b"<"), 0)  # a tag cut by the block waits for the next
                    whole, carry = text[:cut], text[cut:]
                    if b'hidden="' in whole:
                        found += _hidden_in(whole)
    except (KeyError, zipfile.BadZipFile, zlib.error, ElementTree.ParseError, OSError):
        return []
    return found


def _member_of(archive: zipfile.ZipFile, sheet: str) -> str | None:
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    ids = {r.get("Id"): r.get("Target", "") for r in rels}
    for item in book.iter(f"{_MAIN}sheet"):
        if item.get("name") == sheet:
            target = ids.get(item.get(_REL), "")
            return target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return None


def _row_parts(text: str, last: int) -> Iterator[tuple[int, str]]:
    """(its line, its XML from ``<row``) for each row in a block; a row without its number is
    the one after ``last``, the line before the block's."""
    for part in text.split("</row>"):
        start = part.rfind("<row ")
        if start >= 0:
            number = _ROW.match(part, start)
            last = int(number[1]) if number else last + 1
            yield last, part[start:]


def cut_texts(pieces: pa.StringArray, usual: np.ndarray) -> tuple[pa.StringArray, np.ndarray]:
    """(each piece's text, cut from the XML where it lies; which hold a shared string's index)
    for the pieces ``usual`` marks as of the usual forms (``_PLAIN``, ``_NUMBER``, ``_CLOSED``):
    after ``>`` (``<is><t>`` or ``<v>``), up to the next ``</``. The others' text is empty."""
    if not len(pieces):
        return pa.array([], pa.string()), np.zeros(0, bool)
    starts, data = offsets_and_bytes(pieces)
    offsets = starts[:-1]
    tag = offsets + pc.find_substring(pieces, ">").to_numpy(zero_copy_only=False)
    end = offsets + pc.find_substring(pieces, "</").to_numpy(zero_copy_only=False)

    def before(shift: int) -> np.ndarray:  # the byte ``shift`` after each cell's first ">"
        return data[np.clip(tag + shift, 0, len(data) - 1)]

    full = usual & (before(-1) != ord("/"))  # not <c .../>
    inline = full & (before(2) == ord("i"))  # <is><t> (else <v>)
    shared = full & ~inline & (before(-2) == ord("s"))  # t="s"
    begin = tag + np.where(inline, 8, 4)
    length = np.where(full, end - begin, 0)
    cut = np.zeros(len(pieces) + 1, np.int32)  # a block is far under 2 GB
    np.cumsum(length, out=cut[1:])
    taken = np.repeat((begin - cut[:-1]).astype(np.int32), length)
    taken += np.arange(cut[-1], dtype=np.int32)
    text = pa.StringArray.from_buffers(len(pieces), pa.py_buffer(cut), pa.py_buffer(data[taken]))
    return text, shared


class Cells(NamedTuple):
    """The cells of one block of a sheet, in the sheet's order: each one's line (from 1), column
    (from 0) and text (``""`` for an empty cell); and the lines of the block's hidden rows."""

    line: np.ndarray
    column: np.ndarray
    text: pa.StringArray
    hidden: tuple[int, ...] = ()


class XlsxStream:
    """The rows of one sheet of an .xlsx, read again from its XML on every :meth:`rows` call."""

    def __init__(self, path: str, member: str, text: Callable[[object], str], name: str) -> None:
        self.path = path
        self.name = name
        self.member = member
        self._text = text  # how a number, a boolean or a date reads: the sheet reader's way
        self._columns: dict[str, int] = {}
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            shared = "xl/sharedStrings.xml" in names
            self.strings = self._strings(archive) if shared else pa.array([], pa.string())
            dates, self._padded, self.epoch = _styles(archive, names)
        self._dated = {str(i) for i in dates}
        # a styled number may be a date or a padded one: then cut in Python, not in the fast path
        styled = self._dated or self._padded
        number = _NUMBER if styled else r'(?: s="\d+")?' + _NUMBER
        self._usual = rf'^[A-Z]+\d+"(?:(?:{_PLAIN}|{number})</c>|{_CLOSED}){_ROW_TAGS}$'

    @staticmethod
    def _strings(archive: zipfile.ZipFile) -> pa.StringArray:
        """The shared strings, kept in pyarrow (as a Python list, a million of them would take
        some 80 MB more), made a batch at a time."""
        parts, batch = [], []
        with archive.open("xl/sharedStrings.xml") as xml:
            for _, item in ElementTree.iterparse(xml):
                if item.tag == f"{_MAIN}si":
                    batch.append(_item(item))
                    item.clear()
                    if len(batch) == 1 << 16:
                        parts.append(pa.array(batch, pa.string()))
                        batch = []
        return pa.concat_arrays([*parts, pa.array(batch, pa.string())])

    def _blocks(self, size: int) -> Iterator[tuple[bytes, int]]:
        """The sheet's XML about ``size`` bytes at a time, each block cut after a row's end, with
        the sheet's width as its dimension says (0 until it is read)."""
        width = 0
        with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as xml:
            carry = b""
            while True:
                try:
                    block = xml.read(size)
                except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                    raise self._damaged(f"sheet XML cannot be unpacked ({error})") from None
                data = carry + block
                if not width and (found := _DIMENSION.search(data)):
                    width = _column((found[1] or b"A").decode()) + 1
                end = data.rfind(b"</row>")  # a row longer than a block: carried whole
                cut = (end + 6 if end >= 0 else 0) if block else len(data)
                carry = data[cut:] if block else b""
                if len(carry) > MAX_ROW_XML:
                    line = _ROW.search(carry[:_BLOCK].decode("utf-8", "replace"))
                    row = f"sheet row {line[1]}" if line else "a sheet row"
                    raise self._damaged(f"{row} holds more than {MAX_ROW_XML >> 20} MB")
                yield data[:cut], width
                if not block:
                    return

    def _damaged(self, what: str) -> SourceError:
        return SourceError(f"{what}: is the workbook damaged? (save the sheet as CSV)",
                           path=self.name)  # fmt: skip

    def rows(self) -> Iterator[list[str]]:
        """Every row from the sheet's first, as text (padded to the sheet's width; a missing
        row is a row of empty cells)."""
        done = 0
        for block, width in self._blocks(_BLOCK):
            try:
                text = block.decode("utf-8")
            except UnicodeDecodeError:
                raise self._damaged("sheet XML is not UTF-8") from None
            for line, part in _row_parts(text, done):
                while done < line - 1:
                    done += 1
                    yield [""] * width
                done = line
                yield self._row(part, width)

    def cells(self) -> Iterator[Cells]:
        """The sheet's cells, a block at a time: what :meth:`rows` reads, without the empty rows
        and faster (parsed by pyarrow where the block's cells are of the usual form)."""
        done = 0  # the last row's line: a row without its number is the next
        for block, _ in self._blocks(_CELLS_BLOCK):
            cells = self._parsed(block)
            if cells is None:
                cells, done = self._of_rows(block.decode("utf-8"), done)  # UTF-8: _parsed says
            elif len(cells.line):
                done = int(cells.line[-1])
            yield cells._replace(hidden=_hidden_in(block)) if b'hidden="' in block else cells

    def _parsed(self, block: bytes) -> Cells | None:
        """A block's cells read with pyarrow and numpy; None when a cell's reference is not its
        first attribute (then :meth:`_row` reads the block)."""
        try:
            text = pa.array([block], pa.binary()).cast(pa.string())  # checked to be UTF-8, in C++
        except pa.ArrowInvalid:
            raise self._damaged("sheet XML is not UTF-8") from None
        pieces = pc.list_flatten(pc.split_pattern(text, '<c r="'))
        if _CELL_START.search(pieces[0].as_py()):  # a cell before the first '<c r="'
            return None
        pieces = pieces[1:]
        refs = pc.extract_regex(pieces, _REF)
        if refs.null_count:
            return None
        letters, line = refs.flatten()
        texts = self._texts(pieces)
        if texts is None:
            return None
        coded = pc.dictionary_encode(letters)
        columns = np.array([_column(c) for c in coded.dictionary.to_pylist()], np.int64)
        return Cells(
            pc.cast(line, pa.int64()).to_numpy(),
            columns[coded.indices.to_numpy(zero_copy_only=False)],
            texts,
        )

    def _texts(self, pieces: pa.StringArray) -> pa.StringArray | None:
        """The cells' text as :meth:`_text_of` makes it: the usual cells (an inline string
        without entities, a shared string, a whole number of up to 15 digits, an empty cell) cut
        from the XML, the others by :meth:`_text_of`; None when one is of no form known."""
        usual = pc.match_substring_regex(pieces, self._usual).to_numpy(zero_copy_only=False)
        text, shared = cut_texts(pieces, usual)
        if shared.any():
            at = np.flatnonzero(shared)
            index = pc.cast(text.take(pa.array(at)), pa.int64()).to_numpy()
            known = index < len(self.strings)
            usual[at[~known]] = False  # to _text_of: an IndexError, as the row parser's
            shared[at[~known]] = False
            text = pc.replace_with_mask(text, pa.array(shared), self.strings.take(index[known]))
        if usual.all():
            return text
        made = []
        for piece in pieces.filter(pa.array(~usual)).to_pylist():
            cell = _CELL.match(piece := '<c r="' + piece)
            if cell is None or not _AFTER_CELL.fullmatch(piece, cell.end()):
                return None
            made.append(self._text_of(*cell.groups("")[1:]))
        return pc.replace_with_mask(text, pa.array(~usual), pa.array(made, pa.string()))

    def _of_rows(self, text: str, done: int) -> tuple[Cells, int]:
        """A block's cells as :meth:`_row` reads them (the cells of any form), and its last line."""
        lines, columns, texts = [], [], []
        last = done
        for last, part in _row_parts(text, done):
            for at, cell in enumerate(self._row(part, 0)):
                if cell:
                    lines.append(last)
                    columns.append(at)
                    texts.append(cell)
        cells = Cells(np.array(lines, np.int64), np.array(columns, np.int64),
                      pa.array(texts, pa.string()))  # fmt: skip
        return cells, last

    def _row(self, part: str, width: int) -> list[str]:
        found = _CELL.findall(part)
        if len(found) != part.count("<c "):
            found = [self._general(attrs, inner) for attrs, inner in _ANY_CELL.findall(part)]
        if not found:
            return [""] * width
        columns = self._columns
        last = found[-1][0]
        cells = [""] * max(width, self._at(last) + 1 if last else len(found))
        at = -1
        for letters, style, kind, value, plain, rich in found:
            try:
                at = columns[letters]
            except KeyError:  # a column not seen yet, or no reference: the next column
                at = self._at(letters) if letters else at + 1
            cells[at] = self._text_of(style, kind, value, plain, rich)
        return cells

    def _text_of(self, style: str, kind: str, value: str, plain: str, rich: str) -> str:
        """One cell's text, from the groups of its pattern."""
        if kind == "s":
            return self.strings[int(value)].as_py() if value else ""
        if kind == "inlineStr":
            text = plain if plain or not rich else _runs(rich)
            return text if "&" not in text else html.unescape(text)
        if kind in ("", "n") and style in self._padded and value.isdigit():
            return padded(value, self._padded[style])
        if kind in ("", "n") and not (style and style in self._dated):
            if value.isdigit() and len(value) <= 15:  # a whole number, exact as a float
                return value
            return self._text(float(value)) if value else ""
        return self._other(kind, value, style)

    def _at(self, letters: str) -> int:
        """A column's position from its letters, kept for the next rows."""
        at = self._columns[letters] = _column(letters)
        return at

    def _other(self, kind: str, value: str, style: str) -> str:
        """A boolean, a formula's text, a date: rarer than text and numbers."""
        if kind == "b":
            return self._text(value == "1")
        if kind == "str":
            return _text(value)
        if kind == "e" or not value:  # calamine reads an error (#DIV/0!) as empty
            return ""
        if kind == "d":  # an ISO 8601 date cell
            moment = dt.datetime.fromisoformat(_text(value))
        else:  # days since the workbook's day 0, to the millisecond
            since = dt.timedelta(milliseconds=round(float(value) * 86_400_000))
            if dt.timedelta(0) <= since < dt.timedelta(days=1):  # a time of day
                return self._text((dt.datetime.min + since).time())
            moment = self.epoch + since
        return self._text(moment.date() if moment.time() == dt.time() else moment)

    @staticmethod
    def _general(attrs: str, inner: str) -> tuple[str, str, str, str, str, str]:
        """A cell whose attributes come in another order: the fast pattern's groups."""
        found = dict(_ATTR.findall(attrs))
        value = _VALUE.search(inner)
        inline = _INLINE.search(inner)
        letters = re.match(r"[A-Z]+", found.get("r", ""))
        return (letters[0] if letters else "", found.get("s", ""), found.get("t", ""),
                value[1] if value else "", "", inline[1] if inline else "")  # fmt: skip
