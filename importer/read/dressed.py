"""Tables in another dress: a web page's table, an Excel 2003 XML workbook, vCards, JSON.

Old systems write these as their "Excel" or "contacts" export (Salesforce's and many CRMs'
``.xls`` is an HTML page; .NET reports write SpreadsheetML 2003; phones and mail programs export
``.vcf``; APIs dump JSON). :func:`dress_of` tells one from the first bytes of its text, and
:func:`rows_of` reads it as rows of text cells, the header first, which
:mod:`~importer.read.formats` writes to a private CSV that the CSV reader then reads with every
guard it has. Each reader is the standard library's (``html.parser``, ``xml.etree``, ``json``),
and a file that is not what its first bytes promise is refused in one line.
"""

from __future__ import annotations

import codecs
import json
import quopri
import re
from collections.abc import Callable, Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from importer.core.errors import SourceError
from importer.read.delimited import MAX_LINE_CHARS

__all__ = ["DRESSES", "dress_of", "rows_of"]

#: The first bytes looked at, and the most a dress read whole (HTML, XML, a JSON array) may be:
#: a 24 MB JSON array of 100,000 records peaks at 280 MB, about six times its size in memory.
HEAD_BYTES = 4096
MAX_WHOLE_BYTES = 100 << 20
#: What each dress is called in messages.
DRESSES = {
    "html": "a web page (HTML)",
    "spreadsheetml": "an Excel 2003 XML workbook",
    "vcard": "a file of vCards",
    "json": "JSON",
    "ndjson": "JSON lines",
    "xml": "an XML document",
}
_SPREADSHEET_NS = "urn:schemas-microsoft-com:office:spreadsheet"


def _text(data: bytes, fallback: str = "cp1252") -> str:
    """Bytes as text by their BOM, else UTF-8, else ``fallback`` (Windows-1252: what old
    exporters write)."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):  # fmt: skip
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(data) - 3:  # a head cut inside a character
            return data[: error.start].decode("utf-8")
        return data.decode(fallback, errors="replace")


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def _page_text(data: bytes) -> str:
    """A page's text as :func:`_text` reads it, but in the charset its ``<meta>`` declares
    when it is not UTF-8 (a Japanese CRM's Shift_JIS)."""
    declared = _CHARSET.search(data[:HEAD_BYTES])
    try:
        fallback = codecs.lookup(declared.group(1).decode("ascii")).name if declared else None
    except LookupError:
        fallback = None  # a charset Python does not know
    return _text(data, fallback or "cp1252")


def dress_of(head: bytes) -> str | None:
    """Which of :data:`DRESSES` a file starting with ``head`` is; None for a CSV (or anything
    else the CSV reader judges)."""
    text = _text(head[:HEAD_BYTES]).lstrip().lower()
    if text.startswith("begin:vcard"):
        return "vcard"
    if text.startswith("<?xml"):
        return "spreadsheetml" if _SPREADSHEET_NS in text else "xml"
    if re.match(r"(<!--.*?-->\s*)*<(!doctype html|html|table|head|body|meta)\b", text, re.S):
        return "html"
    if re.match(r"\[\s*([{\[\]\"\d-]|true|false|null)", text):  # "[Name],..." is a CSV
        return "json"
    if re.match(r'\{\s*["}]', text):
        # JSON lines: an object a line, so a second line starts another one
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        one_a_line = len(lines) > 1 and lines[0].endswith("}") and lines[1].startswith("{")
        return "ndjson" if one_a_line else "json"
    return None


def rows_of(dress: str, path: Path, name: str) -> Iterator[list[str]]:
    """The rows of the file ``path`` in ``dress`` (its header first), every cell text."""
    if dress == "xml":
        raise SourceError(
            "is an XML document, not a table this tool reads: export the data as CSV or Excel "
            "(an Excel 2003 XML workbook is read; save a flat OpenDocument sheet, .fods, as .ods)",
            path=name,
        )
    no_values = "is JSON whose records hold no values"
    if dress in ("vcard", "ndjson"):  # read a line at a time, twice: the encoding settled once
        codec = _codec_of(path)
        if dress == "vcard":
            return vcard_rows(lambda: _lines(path, codec, name), name)

        def records() -> Iterator[dict[str, str]]:
            return _flat(_json_lines(_lines(path, codec, name), name), name)

        return _table(records, None, name, no_values)
    if path.stat().st_size > MAX_WHOLE_BYTES:
        raise SourceError(
            f"is {DRESSES[dress]} of over {MAX_WHOLE_BYTES >> 20} MB, which is read whole: "
            "export the data as CSV (or as JSON lines, read a record at a time)",
            path=name,
        )
    if dress == "json":
        found = _json_records(path.read_bytes(), name)
        return _table(lambda: _flat(found, name), None, name, no_values)
    if dress == "spreadsheetml":
        return iter(spreadsheetml_rows(path, name))
    return iter(html_rows(_page_text(path.read_bytes()), name))


def _lines(path: Path, codec: str, name: str) -> Iterator[str]:
    """The file's lines (without their line breaks) read in ``codec``."""
    with path.open("rb") as file:
        yield from _split_lines(codecs.iterdecode(iter(lambda: file.read(1 << 20), b""), codec),
                                name)  # fmt: skip


def _codec_of(path: Path) -> str:
    """A file's encoding by its BOM, else UTF-8 if all of it decodes, else cp1252."""
    with path.open("rb") as file:
        head = file.read(4)
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
        file.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block in iter(lambda: file.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def _long_line(name: str) -> SourceError:
    """The longest line read (a vCard's folded lines joined) is the CSV reader's."""
    return SourceError(f"holds a line of over {MAX_LINE_CHARS:,} characters: is it complete?",
                       path=name)  # fmt: skip


def _split_lines(chunks: Iterable[str], name: str) -> Iterator[str]:
    """Whole lines (without their line break) from text in pieces; a line longer than
    :data:`MAX_LINE_CHARS` (``/dev/zero``-like content) is refused, not held."""
    rest = ""
    for piece in chunks:
        lines = (rest + piece).splitlines(keepends=True)
        rest = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
        if len(rest) > MAX_LINE_CHARS:
            raise _long_line(name)
        for line in lines:
            yield line.rstrip("\r\n")
    if rest:
        yield rest


# --- HTML -----------------------------------------------------------------------------------------
class _Table:
    """A table being read: its rows so far, and the cell open in it (None between cells)."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.span = 1

    def start_cell(self, span: str | None) -> None:
        self.end_cell()
        if not self.rows:
            self.rows.append([])
        self.cell = []
        self.span = int(span) if span and span.isdigit() and 0 < int(span) < 1000 else 1

    def end_cell(self) -> None:
        if self.cell is None:
            return
        text = "\n".join(" ".join(line.split()) for line in "".join(self.cell).split("\n"))
        self.rows[-1].extend([text.strip("\n"), *[""] * (self.span - 1)])
        self.cell = None


class _Tables(HTMLParser):
    """Every table of a page as rows of cell texts (a nested table is a table of its own)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._open: list[_Table] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        table = self._open[-1] if self._open else None
        if tag == "table":
            self._open.append(_Table())
        elif table is None:
            return
        elif tag == "tr":
            table.end_cell()
            table.rows.append([])
        elif tag in ("td", "th"):
            table.start_cell(dict(attrs).get("colspan"))
        elif tag == "br" and table.cell is not None:
            table.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if not self._open:
            return
        if tag in ("td", "th", "tr"):
            self._open[-1].end_cell()
        elif tag == "table":
            table = self._open.pop()
            table.end_cell()
            self.tables.append(table.rows)

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1].cell is not None:
            self._open[-1].cell.append(data)

    def close(self) -> None:
        """The end of the page: tables left open (no ``</table>``) end with it."""
        super().close()
        while self._open:
            self.handle_endtag("table")


def html_rows(text: str, name: str) -> list[list[str]]:
    """The rows of a page's biggest table (a report's layout tables around it are smaller)."""
    parser = _Tables()
    parser.feed(text)
    parser.close()
    blanked = [[r if any(r) else [] for r in t] for t in parser.tables]  # [] a blank line
    filled = [(sum(1 for r in t if r), t) for t in blanked]
    tables = [(rows * max(map(len, t)), t) for rows, t in filled if rows]
    if not tables:
        raise SourceError(
            "is a web page (HTML) with no table in it: export the data as CSV or Excel", path=name
        )
    # its blank rows stay: a blank line before a report's footer is how the footer is told
    return max(tables, key=lambda found: found[0])[1]


# --- SpreadsheetML 2003 --------------------------------------------------------------------------
#: Excel's own limits: where a cell or row may be placed (``ss:Index``, ``ss:MergeAcross``).
MAX_SHEET_ROWS, MAX_SHEET_COLUMNS = 1 << 20, 1 << 14


def _placed(at: int, limit: int, what: str) -> int:
    if not 0 < at <= limit:
        raise ValueError(f"a {what} placed at {at:,}, past Excel's {limit:,}")
    return at


def spreadsheetml_rows(path: Path, name: str) -> list[list[str]]:
    """The first worksheet's rows, cells placed by ``ss:Index`` and ``ss:MergeAcross``."""
    ns = f"{{{_SPREADSHEET_NS}}}"
    rows: list[list[str]] = []
    try:
        for _, element in ElementTree.iterparse(path, events=("end",)):
            if element.tag == ns + "Row":
                at = _placed(int(element.get(ns + "Index") or len(rows) + 1), MAX_SHEET_ROWS, "row")
                rows.extend([] for _ in range(at - 1 - len(rows)))
                rows.append(_sheet_cells(element, ns))
                element.clear()
            elif element.tag == ns + "Worksheet":
                break
    except (ElementTree.ParseError, ValueError) as error:
        raise SourceError(f"is an Excel 2003 XML workbook that cannot be read ({error})",
                          path=name) from None  # fmt: skip
    if not any(rows):
        raise SourceError("is an Excel 2003 XML workbook whose first sheet is empty", path=name)
    return rows


def _sheet_cells(row: ElementTree.Element, ns: str) -> list[str]:
    cells: list[str] = []
    for cell in row.iter(ns + "Cell"):
        at = _placed(int(cell.get(ns + "Index") or len(cells) + 1), MAX_SHEET_COLUMNS, "cell")
        cells.extend([""] * (at - 1 - len(cells)))
        data = cell.find(ns + "Data")
        text = "".join(data.itertext()) if data is not None else ""
        if data is not None and data.get(ns + "Type") == "DateTime":
            text = re.sub(r"T00:00:00(\.0+)?$", "", text).removesuffix(".000")
        cells.append(text)
        merged = int(cell.get(ns + "MergeAcross") or 0)
        cells.extend([""] * (_placed(len(cells) + merged, MAX_SHEET_COLUMNS, "cell") - len(cells)))
    return cells


# --- vCard ----------------------------------------------------------------------------------------
#: vCard properties kept, and the column each becomes; the repeatable ones are numbered
#: ("Email 1", "Email 1 Type"), and an address spreads over its parts.
_ONCE = {"FN": "Full Name", "ORG": "Company", "TITLE": "Job Title", "NOTE": "Notes",
         "BDAY": "Birthday", "GENDER": "Gender", "NICKNAME": "Nickname"}  # fmt: skip
_NAME_PARTS = ("Last Name", "First Name", "Middle Name", "Name Prefix", "Name Suffix")
_MANY = {"EMAIL": "Email", "TEL": "Phone", "URL": "Website", "IMPP": "IM Address",
         "X-SOCIALPROFILE": "Social Profile"}  # fmt: skip
_ADDRESS_PARTS = ("PO Box", "Extended Address", "Street", "City", "Region", "Postal Code",
                  "Country")  # fmt: skip
#: The TYPE words a column keeps, the first a property has (``TYPE=work,fax`` is a fax); else
#: its first word that says something (a label of its own), never ``pref``, ``voice``...
_TYPE_ORDER = (
    "fax", "pager", "cell", "mobile", "iphone", "home", "work", "other", "main", "skype", "aim",
    "icq", "msn", "xmpp", "jabber", "yahoo", "qq", "gtalk", "twitter", "facebook", "linkedin",
    "youtube", "flickr", "quora", "google",
)  # fmt: skip
_SAY_NOTHING = frozenset({"pref", "internet", "voice", "x400"})
_LINE = re.compile(r"^(?:([\w-]+)\.)?([\w-]+)((?:;[^:]*)?):(.*)$", re.S)


def _unfolded(lines: Iterable[str], name: str) -> Iterator[str]:
    """Logical lines: a line starting with a space or TAB continues the one before (RFC 6350),
    and a quoted-printable value ending in ``=`` continues on the next (vCard 2.1)."""
    held = ""
    for line in lines:
        if len(held) > MAX_LINE_CHARS:
            raise _long_line(name)
        if held and line[:1] in (" ", "\t"):
            held += line[1:]
        elif held and held.endswith("=") and "QUOTED-PRINTABLE" in held.split(":", 1)[0].upper():
            held += "\n" + line
        else:
            if held:
                yield held
            held = line
    if held:
        yield held


Card = list[tuple[str, list[str], str]]


def _cards(lines: Iterable[str], name: str) -> Iterator[Card]:
    """Each card as (property, its TYPE words, the raw value) in order. A property whose TYPE
    says nothing takes its group's label (Apple's and Google's ``item1.EMAIL:...`` beside
    ``item1.X-ABLabel:_$!<Other>!$_`` or ``item1.X-ABLabel:Office``)."""
    card: Card | None = None
    labels: dict[str, str] = {}
    grouped: dict[int, str] = {}
    for line in _unfolded(lines, name):
        found = _LINE.match(line)
        if not found:
            if line.strip() and card is not None:
                raise SourceError(f"is a file of vCards with a line that is no property: "
                                  f"{line[:60]!r}", path=name)  # fmt: skip
            continue
        group, prop, params, value = found.groups()
        prop = prop.upper()
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            card, labels, grouped = [], {}, {}
        elif prop == "END" and card is not None:
            for at, group_of in grouped.items():
                prop, types, value = card[at]
                if group_of in labels and all(t in _SAY_NOTHING for t in types):
                    card[at] = (prop, [labels[group_of]], value)
            yield card
            card = None
        elif card is not None and prop == "X-ABLABEL" and group:
            labels[group] = re.sub(r"^_\$!<(.*)>!\$_$", r"\1", value.strip()).lower()
        elif card is not None:
            if group:
                grouped[len(card)] = group
            card.append((prop, *_decoded(params, value)))


def _decoded(params: str, value: str) -> tuple[list[str], str]:
    """A property's TYPE words (``TYPE=work,pref``, ``TYPE=WORK;TYPE=CELL``, 2.1's bare
    ``;CELL``) and its value, quoted-printable undone."""
    types, charset, printable = [], "utf-8", False
    for param in filter(None, params.split(";")):
        key, _, given = param.partition("=")
        key = key.upper() if given else "TYPE"
        given = given or param
        if key == "TYPE":
            types += [t.strip('"').lower() for t in given.split(",")]
        elif key == "ENCODING" and given.upper() == "QUOTED-PRINTABLE":
            printable = True
        elif key == "CHARSET":
            charset = given
    if printable:
        raw = quopri.decodestring(value.replace("=\n", "").encode("latin-1", "replace"))
        try:
            value = raw.decode(charset, errors="replace")
        except LookupError:
            value = raw.decode("utf-8", errors="replace")
    return types, value


def _unescaped(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _parts(value: str) -> list[str]:
    """A structured value's parts (``;`` unless escaped), each unescaped."""
    return [_unescaped(p).strip() for p in re.split(r"(?<!\\);", value)]


def _card_row(card: Card) -> dict[str, str]:
    row: dict[str, str] = {}
    counts: dict[str, int] = {}
    for prop, types, value in card:
        known = [t for t in _TYPE_ORDER if t in types]
        kind = known[0] if known else next((t for t in types if t not in _SAY_NOTHING), "")
        if prop == "N":
            row.update(zip(_NAME_PARTS, _parts(value), strict=False))
        elif prop in _ONCE and _ONCE[prop] not in row:
            text = _parts(value)[0] if prop == "ORG" else _unescaped(value).strip()
            row[_ONCE[prop]] = text
        elif prop in _MANY or prop == "ADR":
            base = _MANY.get(prop, "Address")
            counts[base] = number = counts.get(base, 0) + 1
            label = f"{base} {number}"
            row[f"{label} Type"] = kind
            if prop == "ADR":
                parts = _parts(value)
                row.update((f"{label} {p}", v) for p, v in zip(_ADDRESS_PARTS, parts, strict=False))
            else:
                text = _unescaped(value).strip().removeprefix("mailto:")
                scheme = re.match(r"([a-z]+):(?!//)", text) if prop == "IMPP" else None
                if scheme:  # IMPP:skype:ada.l -> ada.l, of type skype
                    row[f"{label} Type"], text = scheme.group(1), text[scheme.end() :]
                row[label] = text
    if row.get("First Name") or row.get("Last Name"):
        row.pop("Full Name", None)  # FN repeats N: kept only for the cards without N
    return row


_KINDS = [*_MANY.values(), "Address"]
_NUMBERED = re.compile(rf"({'|'.join(_KINDS)}) (\d+)(?: (.+))?")
_FIRST = (*_NAME_PARTS, "Full Name", "Nickname", "Company", "Job Title")
_PART_ORDER = (*_ADDRESS_PARTS, "Type")


def _vcard_column(column: str) -> tuple[int, int, int]:
    """Where a vCard column goes: the name first, then each kind's numbered columns (their
    parts in order, the type last), then birthday, gender and notes."""
    if column in _FIRST:
        return 0, 0, _FIRST.index(column)
    found = _NUMBERED.fullmatch(column)
    if found is None:
        return 2, 0, ("Birthday", "Gender", "Notes").index(column)
    part = _PART_ORDER.index(found.group(3)) if found.group(3) else -1
    return 1, _KINDS.index(found.group(1)) * 10_000 + int(found.group(2)), part


def vcard_rows(lines: Callable[[], Iterable[str]], name: str) -> Iterator[list[str]]:
    """One row per card, the columns those any card fills; ``lines`` is read twice."""
    empty = ("is a file of vCards without a whole card (BEGIN:VCARD ... END:VCARD) holding a "
             "name, an email or another detail this tool reads")  # fmt: skip
    return _table(lambda: map(_card_row, _cards(lines(), name)), _vcard_column, name, empty)


def _table(
    records: Callable[[], Iterable[dict[str, str]]],
    order: Callable[[str], tuple[int, int, int]] | None,
    name: str,
    empty: str,
) -> Iterator[list[str]]:
    """The header (the columns any record fills, sorted by ``order``, else first seen), then a
    row per record: ``records`` is called twice, so a big file is never held whole."""
    seen = dict.fromkeys(c for record in records() for c, v in record.items() if v)
    if not seen:
        raise SourceError(empty, path=name)
    columns = sorted(seen, key=order) if order else list(seen)
    yield columns
    for record in records():
        yield [record.get(column, "") for column in columns]


# --- JSON -----------------------------------------------------------------------------------------
def _json_records(data: bytes, name: str) -> list[object]:
    """The list of records a JSON file holds: the top-level array, or the one array of objects
    an API's answer wraps them in (``{"customers": [...]}``, ``{"_embedded": {"customers":
    [...]}}``); or its lines' records when an object follows the first (JSON lines whose first
    line is longer than the look at the file's start could tell)."""
    text = _text(data).lstrip()
    document, end = _parsed(text, name, "is not valid JSON: {}", raw=True)
    if rest := text[end:].strip():
        if isinstance(document, dict) and rest.startswith("{"):
            return list(_json_lines(text.splitlines(), name))
        raise SourceError("is not valid JSON: Extra data", path=name,
                          line=text.count("\n", 0, end) + 1)  # fmt: skip
    found = _record_list(document, 3)
    if found is None:
        raise SourceError(
            "is JSON without a list of records (objects) in it: expected [{...}, {...}]", path=name
        )
    return found


def _record_list(document: object, depth: int) -> list[object] | None:
    if isinstance(document, list):
        return document if any(isinstance(item, dict) for item in document) else None
    if not isinstance(document, dict) or not depth:
        return None
    lists = [found for value in document.values() if (found := _record_list(value, depth - 1))]
    return max(lists, key=len) if lists else None


def _json_lines(lines: Iterable[str], name: str) -> Iterator[object]:
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield _parsed(line, name, "is JSON lines with a line that is not JSON ({})", number)


#: Nesting deeper than Python's parser goes (``[[[[...`` 100,000 times), said in one line.
_TOO_DEEP = "is JSON nested too deeply to read as a table"
#: The levels a record is flattened to; what lies deeper is one column of JSON text.
MAX_DEPTH = 8


def _parsed(
    text: str, name: str, message: str, line: int | None = None, *, raw: bool = False
) -> Any:
    """``text`` parsed (``raw``: its first value, and where it ends), or a :class:`SourceError`
    naming what is wrong (``message`` takes the parser's words) and its line (the file's, for
    JSON lines)."""
    try:
        return json.JSONDecoder().raw_decode(text) if raw else json.loads(text)
    except json.JSONDecodeError as error:
        at = line if line is not None else error.lineno
        raise SourceError(message.format(error.msg), path=name, line=at) from None
    except RecursionError:
        raise SourceError(_TOO_DEEP, path=name, line=line) from None


def flatten(record: object, prefix: str = "", depth: int = 0) -> dict[str, str]:
    """A record's values by dotted path (``address.city``, ``emails.1.value``: lists count from
    1), every value text (``true``/``false``, null as empty); below :data:`MAX_DEPTH` levels a
    value is its JSON text."""
    if depth == MAX_DEPTH and isinstance(record, dict | list):
        return {prefix: json.dumps(record, ensure_ascii=False)}
    if isinstance(record, dict):
        items: Iterable[tuple[str, object]] = record.items()
    elif isinstance(record, list):
        items = ((str(i), v) for i, v in enumerate(record, 1))
    else:
        if record is None or isinstance(record, bool):
            return {prefix: "" if record is None else json.dumps(record)}
        return {prefix: str(record)}
    out: dict[str, str] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key), depth + 1))
    return out


def _flat(records: Iterable[object], name: str) -> Iterator[dict[str, str]]:
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise SourceError(f"is JSON whose record {number} is not an object ({{...}})",
                              path=name)  # fmt: skip
        try:
            yield flatten(record)
        except RecursionError:  # parsed, but too deep to write back as text
            raise SourceError(_TOO_DEEP, path=name) from None
