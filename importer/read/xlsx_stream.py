"""A big .xlsx sheet read from its XML a block at a time, as the text calamine's rows read as.

python-calamine reads a whole sheet into memory before its first row comes out (about 90 bytes
a cell: 1.5 GB for a million rows of 16 columns; its maintainer: lazy iteration is out of
pyo3's reach, dimastbk/python-calamine#42). :func:`~importer.read.sheet.open_sheet` reads a
sheet whose XML is over :data:`STREAM_BYTES` here instead, as fast (C regular expressions over
the XML) and in flat memory (the shared strings, the styles and one block of XML). Rows come
out as the text :func:`~importer.read.sheet.cell_text` makes of calamine's (``""`` for an empty
cell, an empty row for a missing one), so the sheet reader does not tell them apart; the tests
read every workbook fixture both ways and compare.
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from xml.etree import ElementTree

from importer.core.errors import SourceError

__all__ = ["MAX_ROW_XML", "STREAM_BYTES", "XlsxStream", "sheet_xml_bytes"]

#: A sheet whose XML is bigger than this (about 60,000 rows of 16 columns) is streamed.
STREAM_BYTES = 64 << 20
#: The most XML one row may take (a row of 16,384 long cells is far less).
MAX_ROW_XML = 64 << 20
_BLOCK = 1 << 20
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
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+(?::([A-Z]+)\d+)?"')
#: Built-in number formats that are dates or times (ECMA-376, 18.8.30).
_DATE_FORMATS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_DATE_CODE = re.compile(r"[dmyhs]", re.I)
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


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


def _member_of(archive: zipfile.ZipFile, sheet: str) -> str | None:
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    ids = {r.get("Id"): r.get("Target", "") for r in rels}
    for item in book.iter(f"{_MAIN}sheet"):
        if item.get("name") == sheet:
            target = ids.get(item.get(_REL), "")
            return target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return None


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
            self.strings = self._strings(archive) if "xl/sharedStrings.xml" in names else []
            dates, self.epoch = self._dates(archive, names)
        self._dated = {str(i) for i in dates}

    @staticmethod
    def _strings(archive: zipfile.ZipFile) -> list[str]:
        strings = []
        with archive.open("xl/sharedStrings.xml") as xml:
            for _, item in ElementTree.iterparse(xml):
                if item.tag == f"{_MAIN}si":
                    strings.append(_item(item))
                    item.clear()
        return strings

    @staticmethod
    def _dates(archive: zipfile.ZipFile, names: set[str]) -> tuple[set[int], dt.datetime]:
        """The styles whose number format is a date or time, and the workbook's day 0."""
        book = archive.read("xl/workbook.xml")
        epoch = dt.datetime(1904, 1, 1) if b'date1904="1"' in book else dt.datetime(1899, 12, 30)
        if "xl/styles.xml" not in names:
            return set(), epoch
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
        codes = {int(f.get("numFmtId", -1)): f.get("formatCode", "")
                 for f in styles.iter(f"{_MAIN}numFmt")}  # fmt: skip
        dated = {i for i, code in codes.items() if _DATE_CODE.search(_QUOTED.sub("", code))}
        xfs = styles.find(f"{_MAIN}cellXfs")
        found = set()
        for index, xf in enumerate(xfs if xfs is not None else []):
            number = int(xf.get("numFmtId", 0))
            if number in _DATE_FORMATS or number in dated:
                found.add(index)
        return found, epoch

    def rows(self) -> Iterator[list[str]]:
        """Every row from the sheet's first, as text (padded to the sheet's width; a missing
        row is a row of empty cells)."""
        width, done = 0, 0
        with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as xml:
            carry = b""
            while True:
                block = xml.read(_BLOCK)
                data = carry + block
                if not width and (found := _DIMENSION.search(data)):
                    width = _column((found[1] or b"A").decode()) + 1
                cut = data.rfind(b"</row>") + 6 if block else len(data)
                carry = data[cut:] if block else b""
                if len(carry) > MAX_ROW_XML:
                    raise SourceError(
                        f"sheet row {done + 1} holds more than {MAX_ROW_XML >> 20} MB: is the "
                        "workbook damaged? (save the sheet as CSV)",
                        path=self.name,
                    )
                for part in data[:cut].decode("utf-8").split("</row>"):
                    start = part.rfind("<row ")
                    if start < 0:
                        continue
                    number = _ROW.match(part, start)
                    at = int(number[1]) if number else done + 1
                    while done < at - 1:
                        done += 1
                        yield [""] * width
                    done = at
                    yield self._row(part[start:], width)
                if not block:
                    return

    def _row(self, part: str, width: int) -> list[str]:
        found = _CELL.findall(part)
        if len(found) != part.count("<c "):
            found = [self._general(attrs, inner) for attrs, inner in _ANY_CELL.findall(part)]
        if not found:
            return [""] * width
        columns, strings, dated = self._columns, self.strings, self._dated
        last = found[-1][0]
        cells = [""] * max(width, self._at(last) + 1 if last else len(found))
        at = -1
        for letters, style, kind, value, plain, rich in found:
            try:
                at = columns[letters]
            except KeyError:  # a column not seen yet, or no reference: the next column
                at = self._at(letters) if letters else at + 1
            if kind == "s":
                cells[at] = strings[int(value)] if value else ""
            elif kind == "inlineStr":
                text = plain if plain or not rich else _runs(rich)
                cells[at] = text if "&" not in text else html.unescape(text)
            elif kind in ("", "n") and not (style and style in dated):
                if value.isdigit() and len(value) <= 15:  # a whole number, exact as a float
                    cells[at] = value
                elif value:
                    cells[at] = self._text(float(value))
            else:
                cells[at] = self._other(kind, value, style)
        return cells

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
