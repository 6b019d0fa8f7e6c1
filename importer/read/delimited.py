"""Open a CSV export and stream its rows as text, each with its exact row number.

The promises every later stage leans on: a file that cannot be read faithfully is refused up
front in one line (:class:`~importer.core.errors.SourceError`); every cell comes back exactly as
written, as text (an empty cell is ``""``); every data row keeps its 1-based number, a row with
too many fields is a :class:`RaggedRow` (never shifted), one with too few is listed in
:attr:`Chunk.short`; a few bytes that are not UTF-8 make their rows :class:`Undecodable`, not the
file cp1252; a file that changes while it is read stops the reading
(:class:`~importer.core.errors.SourceChangedError`); the work is bounded whatever the bytes
(:data:`MAX_LINE_CHARS`, :data:`MAX_FIELD_CHARS`, :data:`MAX_ROW_BYTES`, :data:`MAX_COLUMNS`).
One streaming pass settles the encoding, the csv module reads the header (and a file whose quotes
look broken), pyarrow's streaming reader the rows. The quirks and why each is handled so:
docs/internals.md#reading-quirks.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import io
import itertools
import re
import stat
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from importer.core.errors import SourceChangedError, SourceError
from importer.core.frames import TEXT
from importer.core.text import VALUE_WIDTH
from importer.read.codepages import CODE_PAGES, KNOWN_AS, best_code_page

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_ROWS",
    "DELIMITERS",
    "MAX_COLUMNS",
    "MAX_FIELD_CHARS",
    "MAX_LINE_CHARS",
    "MAX_PREAMBLE",
    "MAX_ROW_BYTES",
    "TEXT",
    "Chunk",
    "CsvSource",
    "RaggedRow",
    "StrayValue",
    "find_header",
    "name_columns",
    "open_csv",
    "shown_name",
]

#: The delimiters tried when none is given, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
#: The longest physical line read (characters): a longer one is not a CSV's.
MAX_LINE_CHARS = 16 << 20
#: The longest data row (bytes, once UTF-8) and the longest field (characters or bytes).
MAX_ROW_BYTES = 16 << 20
MAX_FIELD_CHARS = 1 << 20
#: The most columns a file may have (Excel stops at 16,384; exports with 10,000 are unheard of).
MAX_COLUMNS = 10_000
#: The rows a chunk holds by default: each chunk costs the checks a fixed ~1,000 pandas calls,
#: so fewer, bigger chunks check faster. 30,000 keeps the worst case under 300 MB: --rejects of
#: 1,000,000 rows that all have issues peaks at 285 MB (273 at 25,000, 310 at 40,000).
CHUNK_ROWS = 30_000
#: A chunk holds at most this many bytes of cells, whatever ``chunk_rows`` says (wide files).
CHUNK_BYTES = 32 << 20

_SCAN_BYTES = 1 << 20
#: The first bytes whose readings choose the code page of a file that is not UTF-8.
_CODE_PAGE_SAMPLE = 4 << 20
_SNIFF_BYTES = 1 << 16
_SNIFF_RECORDS = 50
#: The bytes pyarrow parses at a time. Its reader reads up to 32 blocks ahead on a thread of its
#: own, so a block of 256 KB keeps 8 MB in flight where 1 MB kept 32 (and parses as fast).
_BLOCK_BYTES = 1 << 18
# Checked in this order: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
)
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t"}
# The csv module's own cap on a field is process-wide (128 KB by default): raised to ours, so
# that every reader here stops at the same size.
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
_TO_TEXT = {pa.string(): TEXT}.get


@dataclass(frozen=True)
class RaggedRow:
    """A data row whose field count differs from the header's: reported, never forced into shape."""

    row: int
    line: int | None
    expected: int
    actual: int
    text: str


@dataclass
class Chunk:
    """Up to ``chunk_rows`` well-formed rows, and the ragged rows numbered among or just after them.

    ``frame`` is indexed by data row number (index name ``row``, int64); its columns are the
    source's, each of dtype :data:`TEXT`.
    """

    frame: pd.DataFrame
    ragged: list[RaggedRow]
    """Rows with more fields than the header (values would shift): not in ``frame``."""
    short: list[RaggedRow] = field(default_factory=list)
    """Rows with fewer fields, the missing ones read as empty: in ``frame`` too."""
    stray: list[StrayValue] = field(default_factory=list)
    """Values in columns the header leaves unnamed (so in no column of ``frame``)."""
    undecodable: list[Undecodable] = field(default_factory=list)
    """Rows of a UTF-8 file holding bytes that are not UTF-8 (their cells hold U+FFFD)."""


@dataclass(frozen=True)
class Undecodable:
    """A byte that is not UTF-8 in a file that is: its row is an error, the rest imports."""

    row: int
    line: int
    byte: int


@dataclass(frozen=True)
class StrayValue:
    """A value in a column without a name: it would be lost, so its row is not imported."""

    row: int
    column: int
    """The column's position, 1-based."""
    value: str


@dataclass
class CsvSource:
    """A CSV file whose header has been read and checked; iterate it for :class:`Chunk` objects.

    Each iteration reads the file again from the start, so the same source can be validated and
    then imported.
    """

    path: Path
    columns: list[str]
    encoding: str
    delimiter: str
    warnings: list[str]
    skip_lines: int
    """Lines before the header (a title, an export date), given or detected."""
    name: str
    """What messages call the file: its path, or what a spooled copy stands for (``-``)."""
    fingerprint: str
    """What a run records of the file, to know it again: its size and modification time."""
    _codec: str = field(repr=False)
    _opened: str = field(repr=False)
    """The file's size and time when it was opened: they must not change while it is read."""
    _header: _Header = field(repr=False)
    _unnamed: dict[int, str] = field(repr=False)
    """Columns the header leaves unnamed: position (1-based) -> the name pyarrow reads them by."""
    _chunk_rows: int = field(repr=False)
    _chunk_bytes: int = field(repr=False)
    _block_size: int = field(repr=False)
    _selected: list[str] | None = field(default=None, repr=False)
    _blank_rows: bool = field(default=False, repr=False)
    _undecodable: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)
    """Data row -> (line, byte) of its first byte that is not UTF-8, in a UTF-8 file."""
    _footer: frozenset[int] = field(default=frozenset(), repr=False)
    """The lines of a report's footer after the table (:func:`report_footer`): not rows."""
    late_warnings: list[str] = field(default_factory=list, repr=False)
    """What reading to the end found (none: a CSV's warnings are all known when it opens)."""
    _keep: object = field(default=None, repr=False)
    """A spooled copy (stdin, an unpacked archive) the file is, kept while the source lives."""

    @property
    def _all_names(self) -> list[str]:
        """Every column of the file in order, the unnamed ones by their stand-in names."""
        names, named = [], iter(self.columns)
        for position in range(1, len(self.columns) + len(self._unnamed) + 1):
            names.append(self._unnamed.get(position) or next(named))
        return names

    @property
    def frame_columns(self) -> list[str]:
        """The columns each chunk's frame holds: all, or those :meth:`select` kept."""
        return self.columns if self._selected is None else self._selected

    def sample(self, rows: int = 200) -> pd.DataFrame:
        """The first data rows, every named column (as object dtype), for a look at the values
        (ragged rows left out, short ones padded): read with the csv module, at most ``rows``
        rows and 200,000 cells, so a wide file costs no more than a narrow one."""
        names = self._all_names
        rows = max(10, min(rows, 200_000 // len(names)))
        records: list[list[str]] = []
        with ExitStack() as stack:
            reader = csv.reader(
                _Lines(self.path, self._codec, stack, self.skip_lines), delimiter=self.delimiter
            )
            try:
                header = next((r for r in reader if r), None)
                for record in reader if header is not None else ():
                    if 2 <= len(record) <= len(names) and not is_blank(record):
                        records.append(record + [""] * (len(names) - len(record)))
                    if len(records) >= rows:
                        break
            except csv.Error:
                pass  # what was read is the sample; reading the rows says what is wrong
        frame = pd.DataFrame(records, columns=names, dtype=object)
        return frame.drop(columns=list(self._unnamed.values())).set_axis(self.columns, axis=1)

    def select(self, columns: Iterable[str]) -> CsvSource:
        """The same source, its chunks holding only ``columns`` (in the file's order).

        The other columns are still split into fields (so ragged rows are found) but never
        converted: a 300-column export mapped by 12 reads several times faster.
        """
        wanted = set(columns)
        unknown = wanted - set(self.columns)
        if unknown:
            raise ValueError(f"not columns of {self.path}: {sorted(unknown)}")
        return dataclasses.replace(self, _selected=[c for c in self.columns if c in wanted])

    def __iter__(self) -> Iterator[Chunk]:
        with _called(self.name, self.path):
            yield from self._chunks()

    def _chunks(self) -> Iterator[Chunk]:
        # A record longer than a block stops pyarrow; read again with bigger blocks, skipping
        # the rows already handed out (rows come out in order, so a number says which).
        block_size, done = self._block_size, 0
        while True:
            try:
                for chunk in self._read(block_size, done):
                    done = max([done, *chunk.frame.index[-1:], *(r.row for r in chunk.ragged)])
                    yield chunk
                return
            except pa.ArrowInvalid as error:
                message = str(error).splitlines()[0]
                if "straddl" not in message:
                    raise SourceError(
                        f"cannot be parsed after data row {done}: {message}", path=self.name
                    ) from None
                if block_size >= MAX_ROW_BYTES:
                    raise SourceError(
                        f"data row {done + 1} is longer than {_size(MAX_ROW_BYTES)}: is a quote "
                        'opened and never closed? (inside a quoted field write each " as "")',
                        path=self.name,
                    ) from None
                block_size = min(block_size * 4, MAX_ROW_BYTES)

    def _check_unchanged(self) -> None:
        """Stop when the file's size or time changed since it was opened: it is being written,
        and its last line may be half of one (``zed@example.co``). Checked at its end, before
        the last rows go out."""
        try:
            info = self.path.stat()
            now = f"size={info.st_size} mtime_ns={info.st_mtime_ns}"
        except OSError:
            now = "gone"
        if now != self._opened:
            raise SourceChangedError(
                f"{self.name} changed while it was read ({self._opened} at the start, {now} at "
                "the end): it is still being written; the rows after the last ones sent were "
                "not imported. Wait until the export is complete, then run the same command"
            )

    def _read(self, block_size: int, done: int) -> Iterator[Chunk]:
        with ExitStack() as stack:
            raw = stack.enter_context(self.path.open("rb"))
            rows = _Rows(self, stack, done)
            blank = self.delimiter if self._blank_rows else None
            stream = _Utf8Stream(
                raw, self._codec, self._header, blank, broken=bool(self._undecodable)
            )
            stack.callback(stream.stop)  # before the file closes
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    use_threads=False, block_size=block_size, column_names=self._all_names
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter,
                    newlines_in_values=True,
                    invalid_row_handler=rows.reported,
                ),
                convert_options=pacsv.ConvertOptions(
                    include_columns=[*self.frame_columns, *self._unnamed.values()],
                    column_types=dict.fromkeys(self._all_names, pa.string()),
                    null_values=[],
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    check_utf8=False,  # the scan checked it, or _Utf8Stream transcoded it
                ),
            )
            try:
                for batch in reader:
                    rows.add(batch)
                    yield from rows.chunks(final=False)
                self._check_unchanged()
                yield from rows.chunks(final=True)
            finally:
                # An error's traceback keeps this frame: a reader still alive at interpreter
                # exit aborts the process (std::terminate), so it goes now.
                del reader


def open_csv(
    path: str | Path,
    *,
    name: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    skip_lines: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    chunk_bytes: int = CHUNK_BYTES,
    block_size: int = _BLOCK_BYTES,
) -> CsvSource:
    """Check a CSV file and read its header; refuse it now, with one clear line, if it is unusable.

    ``encoding`` and ``delimiter`` override the detection. ``skip_lines`` says how many lines
    come before the header (default: detected, see :func:`find_header`). ``chunk_rows`` bounds
    the rows per chunk, and ``chunk_bytes`` their cells' bytes (a chunk ends at whichever comes
    first);
    ``block_size`` the bytes pyarrow parses at a time (tests make it small to cross block
    boundaries). ``name`` is what messages call the file (a spooled copy's: ``-``).
    """
    path = Path(path)
    with _called(name or str(path), path):
        return _open_csv(
            path, name or str(path), encoding, delimiter, skip_lines, chunk_rows, chunk_bytes,
            block_size,
        )  # fmt: skip


def _open_csv(
    path: Path,
    shown: str,
    encoding: str | None,
    delimiter: str | None,
    skip_lines: int | None,
    chunk_rows: int,
    chunk_bytes: int,
    block_size: int,
) -> CsvSource:
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    if skip_lines is not None and skip_lines < 0:
        raise ValueError(f"skip_lines must be at least 0, not {skip_lines}")
    where = str(path)
    opened = stat_of(path, where)
    try:
        with path.open("rb") as file:
            head = file.read(_SNIFF_BYTES)
            whole = not file.read(1)
    except FileNotFoundError:
        raise SourceError("no such file: check the path", path=where) from None
    except IsADirectoryError:
        raise SourceError("is a directory, not a CSV file", path=where) from None
    except PermissionError:
        raise SourceError("cannot be read: permission denied", path=where) from None
    except OSError as error:
        raise SourceError(f"cannot be read: {error.strerror or error}", path=where) from None
    if not head:
        raise SourceError("is empty: expected a header row and data rows", path=where)

    if encoding is None:
        codec, name, strict = _from_bom(head)
    else:
        codec, name, strict = _known_codec(encoding, where), encoding, True
        _check_plausible(head, whole, codec, encoding, where)
    sample = _sample(head, codec, whole)
    notes = []
    hinted = excel_hint(sample)
    if hinted is not None and skip_lines is None:
        skip_lines = 1
        if delimiter is None:
            delimiter = hinted
        notes.append(
            f"line 1 is Excel's delimiter hint (sep={hinted}), not the header: read the header "
            "from line 2"
        )
    if delimiter is None:
        delimiter = _sniff(sample, whole, skip_lines or 0)
    else:
        delimiter = _checked_delimiter(delimiter, where)
    if skip_lines is None:
        skip_lines = _preamble_lines(sample, whole, delimiter)
        if skip_lines:
            notes.append(
                f"{'line 1 is' if skip_lines == 1 else f'lines 1-{skip_lines} are'} not the "
                f"header (too few values for column names): read the header from line "
                f"{skip_lines + 1}; pass --skip-lines N to say how many lines come before it"
            )

    records = [r for _, r in _records(sample, whole, delimiter, skip_lines)]
    width = _usual_width(records)
    scan = _scan(path, codec, name, strict, delimiter, width)
    if scan.quotes_suspect:
        _check_quoting(path, scan.codec, delimiter, skip_lines)
    header = _read_header(path, scan.codec, delimiter, skip_lines)
    closed = _closed_rows(records[1:], len(header.names))
    columns, unnamed, said = name_columns([*header.names, *[""] * closed], where, header.line)
    if closed and len(unnamed) == 1:
        named = len(header.names)
        said = [
            f"the data rows have {named + 1} fields and the header {named} (a delimiter ends "
            f"every data row): field {named + 1} is ignored; a row with a value there is an error"
        ]
    if scan.undecodable:
        count = len(scan.undecodable)
        line, byte = scan.undecodable[0]
        rows = "their rows are errors" if count > 1 else "its row is an error"
        said.append(
            f"{count:,} byte{'s are' if count > 1 else ' is'} not UTF-8 (the first: 0x{byte:02X} "
            f"on line {line}) while the rest of the file is: {rows}; the other rows are read as "
            "UTF-8"
        )
    footer = _footer_lines(path, scan.codec, delimiter)
    if footer:
        said.append(footer_note(footer))
    if not header.has_data:
        raise SourceError(
            "has a header but no data rows: nothing to import", path=where, line=header.line
        )
    return CsvSource(
        path=path,
        columns=columns,
        encoding=scan.encoding,
        delimiter=delimiter,
        warnings=[*notes, *scan.warnings, *said],
        skip_lines=skip_lines,
        name=shown,
        fingerprint=opened,
        _codec=scan.codec,
        _opened=opened,
        _blank_rows=scan.blank_rows,
        _undecodable=_undecodable_rows(path, scan, delimiter, header),
        _footer=frozenset(line for line, _ in footer),
        _header=header,
        _unnamed=unnamed,
        _chunk_rows=chunk_rows,
        _chunk_bytes=chunk_bytes,
        _block_size=block_size,
    )


def shown_name(name: str) -> str:
    """A column name as a message quotes it: in quotes, cut to ``VALUE_WIDTH`` characters.

    Only cut: the CLI escapes control characters in whatever it prints.
    """
    cut = name if len(name) <= VALUE_WIDTH else name[: VALUE_WIDTH - 1] + "…"
    return f"'{cut}'"


def _size(limit: int) -> str:
    return f"{limit >> 20} MB"


@contextlib.contextmanager
def _called(name: str, path: Path) -> Iterator[None]:
    """Errors about a spooled copy of the input name what it stands for (``-``, the .gz)."""
    try:
        yield
    except SourceError as error:
        if name == str(path) or error.path != str(path):
            raise
        raise SourceError(error.detail, path=name, line=error.line) from None


def stat_of(path: Path, where: str) -> str:
    """The file's fingerprint (size and modification time), once it is known to be a regular
    file: recorded with each run, and compared when the file has been read."""
    _check_regular(path, where)
    info = path.stat()
    return f"size={info.st_size} mtime_ns={info.st_mtime_ns}"


def _check_regular(path: Path, where: str) -> None:
    """Refuse a pipe, socket or device before opening it (opening a FIFO blocks until a writer
    comes; ``/dev/zero`` never ends). The file is read several times (the encoding pass, the
    rows, validate then import) and fingerprinted by size and time for re-runs: only a regular
    file allows that, so a stream is refused rather than read once with a cap."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceError("no such file: check the path", path=where) from None
    except OSError as error:
        raise SourceError(f"cannot be read: {error.strerror or error}", path=where) from None
    if stat.S_ISDIR(info.st_mode):
        raise SourceError("is a directory, not a CSV file", path=where)
    if not stat.S_ISREG(info.st_mode):
        kind = "a named pipe" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise SourceError(
            f"is {kind}, not a regular file: save the export to a file and pass that file",
            path=where,
        )


# --- encoding and delimiter ---------------------------------------------------------------------


def _from_bom(head: bytes) -> tuple[str, str, bool]:
    """(codec, name to report, strict): a BOM settles the encoding; without one UTF-8 is a guess."""
    for bom, codec, name in _BOMS:
        if head.startswith(bom):
            return codec, name, True
    if utf16 := _utf16_without_bom(head):
        return utf16, utf16, True
    return "utf-8", "utf-8", False


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 saved without a BOM: mostly-ASCII text puts a NUL in every other byte (odd ones
    for little-endian, even ones for big-endian), which no other text encoding does."""
    pairs = len(head) // 2
    if pairs < 8:
        return None
    even, odd = head[0 : 2 * pairs : 2].count(0), head[1 : 2 * pairs : 2].count(0)
    if odd > 0.6 * pairs and even == 0:
        return "utf-16-le"
    if even > 0.6 * pairs and odd == 0:
        return "utf-16-be"
    return None


def _known_codec(encoding: str, where: str) -> str:
    """The codec Python uses for a name given by the user (utf-8-sig is read as utf-8, which
    skips a BOM anyway)."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    if info is None or not info._is_text_encoding:
        raise SourceError(
            f"unknown encoding {encoding!r}: pass a name Python knows, such as utf-8, cp1252, "
            "latin-1 or utf-16",
            path=where,
        )
    return "utf-8" if info.name == "utf-8-sig" else info.name


def _check_plausible(head: bytes, whole: bool, codec: str, encoding: str, where: str) -> None:
    """Refuse an ``--encoding`` the file cannot be in, before reading it as such: one that
    cannot start it (UTF-16 without a byte-order mark), or that turns its line breaks into
    something else (UTF-8 read as UTF-16 is one endless line of CJK characters)."""
    try:
        text = codecs.getincrementaldecoder(codec)(errors="replace").decode(head, whole)
    except UnicodeError as error:
        reason = str(error)
    else:
        if b"\n" not in head or "\n" in text or "\r" in text:
            return
        reason = "its line breaks are not line breaks in that encoding"
    raise SourceError(
        f"cannot be read as {encoding} ({reason}): pass the file's encoding, or leave --encoding "
        "out to detect it",
        path=where,
    )


def _checked_delimiter(delimiter: str, where: str) -> str:
    """One character to split fields on (``\\t`` and ``tab`` mean TAB, as typed in a shell)."""
    delimiter = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise SourceError(
            f"cannot use {delimiter!r} as the delimiter: pass one character such as , ; | or tab",
            path=where,
        )
    return delimiter


def _sample(head: bytes, codec: str, whole: bool) -> str:
    """The first bytes as text, for sniffing (undecodable bytes replaced: only a guess)."""
    return codecs.getincrementaldecoder(codec)(errors="replace").decode(head, whole)


def _records(
    sample: str, whole: bool, delimiter: str, skip: int = 0
) -> list[tuple[int, list[str]]]:
    """The sample's first records that are not blank lines, each with the line it starts on."""
    lines = io.StringIO(sample, newline="")
    for _ in range(skip):
        if not lines.readline():
            break  # past the sample's end: the header reading says so
    reader = csv.reader(lines, delimiter=delimiter)
    found: list[tuple[int, list[str]]] = []
    try:
        while len(found) <= _SNIFF_RECORDS:
            start = skip + reader.line_num + 1
            record = next(reader, None)
            if record is None:
                break
            if record:
                found.append((start, record))
    except csv.Error:
        pass  # a broken quote: the scan will say where
    if not whole and found:
        found.pop()  # the sample may end inside the last record
    return found


_EXCEL_HINT = re.compile(r'"?sep=(.)"?[ \t]*(?:\r\n|\r|\n|$)', re.IGNORECASE)


def excel_hint(sample: str) -> str | None:
    """The delimiter a first line ``sep=;`` names: Excel writes it (and reads it) so that a file
    opens with the right delimiter whatever the machine's list separator; None without one."""
    found = _EXCEL_HINT.match(sample.lstrip("\ufeff"))
    return found.group(1) if found else None


def _sniff(sample: str, whole: bool, skip: int) -> str:
    """The delimiter that splits most rows into the same number of fields, the most fields.

    Counted on the body's usual width (the most common), so a title line before the header
    does not decide; a file no candidate splits has one column, and then the delimiter does
    not matter (",").
    """
    best, choice = (0.0, 0, 0), ","
    for rank, delimiter in enumerate(DELIMITERS):
        records = [record for _, record in _records(sample, whole, delimiter, skip)]
        width = _usual_width(records)
        if width < 2:
            continue
        score = (sum(len(r) == width for r in records) / len(records), width, -rank)
        if score > best:
            best, choice = score, delimiter
    return choice


def _closed_rows(rows: list[list[str]], names: int) -> bool:
    """Whether (nearly) every sampled data row ends in a delimiter the header does not: one
    field more than the header's, empty (then a column without a name, not ragged rows)."""
    wide = [r for r in rows if len(r) == names + 1]
    empty = sum(1 for r in wide if not r[-1].strip())
    return names > 0 and len(wide) >= max(2, 0.9 * len(rows)) and empty >= 0.9 * len(wide)


def _usual_width(records: list[list[str]]) -> int:
    """The most common field count after the first record (the larger on a tie); 0 for none."""
    widths = Counter(len(r) for r in records[1:] or records)
    return max(widths, key=lambda w: (widths[w], w)) if widths else 0


#: How many lines a preamble may have before the header.
MAX_PREAMBLE = 20


def find_header(records: list[list[str]]) -> int:
    """Which of a file's first records is its header: 0, unless a preamble comes first.

    A preamble (a title, "Exported on ...", an account name) is a few records that fill fewer
    than half the columns the body has. The header is the first record as wide as the body's
    usual row, at least half filled, with values that look like names (no numbers, dates or
    emails) and nearly all distinct: exporters repeat a name now and then (Invoice Ninja v4 writes
    ``Phone`` for the client's and the contact's), data rows repeat far more. A first record that
    is at least half filled is the header whatever it holds, so a file without preamble is never
    read from a later line.
    """
    width = _usual_width(records)
    if width < 2:
        return 0
    for index, record in enumerate(records[: MAX_PREAMBLE + 1]):
        cells = [c.strip() for c in record if c.strip()]
        if 2 * len(cells) < width:
            continue  # too empty for a header: preamble
        names = len(set(cells)) >= DISTINCT_NAMES * len(cells) and not any(
            "@" in c or _NUMBER_LIKE.fullmatch(c) for c in cells
        )
        return index if index and len(record) == width and names else 0
    return 0


_NUMBER_LIKE = re.compile(r"[\d\s.,:;/+\-()]+")
#: The share of a header's names after a preamble that must be distinct (a board of 19
#: columns names two of them twice: 0.89).
DISTINCT_NAMES = 0.85


def _preamble_lines(sample: str, whole: bool, delimiter: str) -> int:
    """Lines before the header that :func:`find_header` finds in the sample (0: none)."""
    records = _records(sample, whole, delimiter)
    index = find_header([record for _, record in records])
    return records[index][0] - 1 if index else 0


#: The most lines a report's footer runs to (Salesforce's: the totals, a copyright, a
#: confidentiality line, who generated it and when, the company).
MAX_FOOTER_LINES = 10
#: The file's last bytes, where a footer is looked for.
_TAIL_BYTES = 64 << 10
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


def footer_start(rows: Sequence[tuple[int, str | None]]) -> int:
    """Where a report's footer starts in ``rows``, a table's last rows as (line, the text of its
    one cell; None when it has more): the first of the trailing rows of one cell of words
    (QuickBooks' "Tuesday, Jan 02, 2024 09:15:34 AM", Salesforce's "Grand Totals (12
    records)" and small print), when a blank line comes among or before them and one of them
    says when or how many (a number). ``len(rows)`` when there is none: a table's last rows
    with one value each (a name, an email, a number) end it with no blank line before them,
    or hold no words, or no number (names added under a gap are rows); and a footer has a
    table row before it and at most :data:`MAX_FOOTER_LINES` lines."""
    start = len(rows)
    while start and (text := rows[start - 1][1]) is not None and small_print(text):
        start -= 1
    if not 0 < start < len(rows) or len(rows) - start > MAX_FOOTER_LINES:
        return len(rows)
    if not any(c.isdigit() for _, text in rows[start:] for c in text or ""):
        return len(rows)
    lines = [line for line, _ in rows[start - 1 :]]
    if all(after - before == 1 for before, after in itertools.pairwise(lines)):
        return len(rows)
    return start


def report_footer(tail: str, delimiter: str, *, whole: bool = False) -> list[tuple[int, str]]:
    """(where it starts in ``tail``, its text) of each line of a report's footer
    (:func:`footer_start`), ``tail`` being the file's last characters (``whole``: all of it);
    a line of one field is one cell (a quote left open: a quoted value's lines, not one), and
    so is one whose first field alone is filled (``Grand Totals (3 records),,,,``: a
    spreadsheet saved as CSV pads every line to the table's width)."""
    lines = [(m.start(), m.group().rstrip("\r\n")) for m in _LINE.finditer(tail) if m.group()]
    if not whole:
        lines = lines[1:]  # it may be the end of a longer line
    rows = []
    for number, (start, line) in enumerate(lines):
        fields = None if line.count('"') % 2 else next(csv.reader([line], delimiter=delimiter), [])
        if fields is not None and is_blank(fields):
            continue  # a blank line: its number is the gap
        rows.append((number, _footer_text(line, fields), start))
    start = footer_start([(number, text) for number, text, _ in rows])
    return [(at, text) for _, text, at in rows[start:] if text is not None]


def _footer_text(line: str, fields: list[str] | None) -> str | None:
    """The text of a line that is one cell, as a footer's are; None for any other line."""
    if fields is None or not fields:
        return None
    if len(fields) == 1:
        return line
    return fields[0] if fields[0].strip() and not any(f.strip() for f in fields[1:]) else None


def _footer_lines(path: Path, codec: str, delimiter: str) -> list[tuple[int, str]]:
    """(line number, text) of each line of the file's report footer, if it has one (then the
    file's lines are counted once)."""
    with path.open("rb") as file:
        size = file.seek(0, io.SEEK_END)
        file.seek(max(0, size - _TAIL_BYTES))
        data = file.read()
    if codec.startswith("utf-16") and size > _TAIL_BYTES:
        data = data[size % 2 :]  # whole code units
    tail = data.decode(codec, errors="replace").removeprefix("\ufeff")
    footer = report_footer(tail, delimiter, whole=size <= _TAIL_BYTES)
    if not footer:
        return []
    (after_last,) = _lines_at(path, codec, [sys.maxsize])  # the number after the last break
    return [(after_last - _breaks(tail[at:]), text) for at, text in footer]


def small_print(text: str) -> bool:
    """Whether a footer's line could be ``text``: words, never an email or a number."""
    return "@" not in text and any(c.isalpha() for c in text)


def footer_note(footer: list[tuple[int, str]], unit: str = "line") -> str:
    """The warning on a footer left out: ``footer`` is (line, text) of each of its lines."""
    (first, text), last = footer[0], footer[-1][0]
    where = f"{unit} {first} is" if first == last else f"{unit}s {first}-{last} are"
    more = ", ..." if len(footer) > 1 else ""
    shown = text.strip().strip('"')
    return f"{where} after the table, a report's footer ('{shown}'{more}): not customers, left out"


@dataclass
class _Scan:
    codec: str
    encoding: str
    warnings: list[str]
    quotes_suspect: bool
    blank_rows: bool
    """Some line is only delimiters (``,,,,``: a spreadsheet's empty row): read as blank."""
    undecodable: list[tuple[int, int]]
    """In a UTF-8 file, the sequences that are not UTF-8: (line, first byte)."""


def _scan(path: Path, codec: str, encoding: str, strict: bool, delimiter: str, width: int) -> _Scan:
    """Stream over the bytes once: settle the encoding, refuse NUL bytes, flag doubtful quotes.

    A quote is doubtful when the number of quotes is odd, or when one is neither next to a
    delimiter or line end nor doubled (``"He said "hi" then"``). Valid files can have either
    (``6" tall`` unquoted), so a doubtful file gets a closer, slower look, not a refusal.
    """
    d = re.escape(delimiter)
    doubtful = re.compile(rf'"(?<=[^{d}\r\n"]")(?![{d}\r\n"])')
    empty_row = re.compile(_empty_row(delimiter))
    # how a line of empty cells starts, as a spreadsheet writes it: the row's delimiters, or
    # quoted empty cells (a substring search; a regex over every block costs 6 ms a MB)
    empty, empty_quoted = "\n" + delimiter * max(width - 1, 1), f'\n""{delimiter}""'
    blank_rows = False
    fallbacks = [] if strict else ["cp1252", "latin-1"]
    tolerant = codec in ("utf-8", "utf-8-sig")  # given, marked by a BOM, or guessed
    bad: list[tuple[int, int]] = []  # UTF-8 that is not: (character offset, first byte)
    multibyte = False  # valid UTF-8 beyond ASCII seen: the file is UTF-8, whatever is broken
    decoder = codecs.getincrementaldecoder(codec)()
    first_bad = ""
    quotes = done = chars = 0
    tail = "\n\n"  # the last two characters seen: context for the quote checks
    suspect = False
    line_start = 0  # where the physical line being read starts (characters)
    with path.open("rb") as file:
        while True:
            data = file.read(_SCAN_BYTES)
            done += len(data)
            piece = data
            parts: list[str] = []
            while True:
                try:
                    parts.append(decoder.decode(piece, not data))
                    break
                except UnicodeDecodeError as error:
                    piece = error.object
                    good = piece[: error.start].decode(codec, errors="replace")
                    if tolerant:  # decided for the file as a whole, at its end
                        bad.append((chars + sum(map(len, parts)) + len(good), piece[error.start]))
                        parts += [good, "\ufffd"]
                        multibyte = multibyte or not good.isascii()
                        piece = piece[error.end :]
                        decoder = codecs.getincrementaldecoder(codec)()
                        continue
                    line = _line_at(path, codec, chars + len(good))
                    if not fallbacks:
                        at = done - len(piece) + error.start
                        raise SourceError(
                            f"cannot be decoded as {encoding} at byte {at}: pass the right "
                            "--encoding (cp1252 is common for Windows exports)",
                            path=str(path),
                            line=line,
                        ) from None
                    first_bad = first_bad or f"byte 0x{piece[error.start]:02X} on line {line}"
                    codec = encoding = fallbacks.pop(0)
                    decoder = codecs.getincrementaldecoder(codec)()
            text = "".join(parts)
            multibyte = multibyte or (tolerant and not parts[-1].isascii())
            if not chars:
                text = text.removeprefix("\ufeff")
            nul = text.find("\0")
            if nul >= 0:
                raise SourceError(
                    "contains a NUL byte, so it is not plain text: if it is UTF-16 without a "
                    "byte-order mark pass --encoding utf-16-le, else export it again as CSV",
                    path=str(path),
                    line=_line_at(path, codec, chars + nul),
                )
            line_start = _check_line_length(path, codec, text, chars, line_start)
            quoted = '"' in text
            if quoted or tail[-1] == '"':
                quotes += text.count('"')
                window = tail + text
                found = doubtful.search(window, 1)
                # a quote ending the window is judged with the next one, or is the file's end
                suspect = suspect or (found is not None and found.start() < len(window) - 1)
            if not blank_rows and (empty in text or (quoted and empty_quoted in text)):
                blank_rows = empty_row.search(text) is not None
            tail = (tail + text)[-2:]
            chars += len(text)
            if not data:
                break
    warnings: list[str] = []
    if bad and not multibyte and not strict:  # no UTF-8 beyond ASCII: a code page
        first_bad = f"byte 0x{bad[0][1]:02X} on line {_line_at(path, codec, bad[0][0])}"
        pages = [c for c in CODE_PAGES if c != "cp1252" or _decodes(path, "cp1252")]
        with path.open("rb") as file:
            codec = encoding = best_code_page(file.read(_CODE_PAGE_SAMPLE), pages)
        bad = []
    if first_bad:
        known = f" ({KNOWN_AS[encoding]})" if encoding in KNOWN_AS else ""
        warnings.append(
            Guessed(
                f"file is not UTF-8 ({first_bad}); read it as {encoding}{known}: "
                "pass --encoding to choose another"
            )
        )
    lines = _lines_at(path, codec, [offset for offset, _ in bad])
    undecodable = [(line, byte) for line, (_, byte) in zip(lines, bad, strict=True)]
    return _Scan(codec, encoding, warnings, suspect or quotes % 2 == 1, blank_rows, undecodable)


class Guessed(str):
    """A note on a guess that changes every cell (the file's encoding): said even with --quiet."""

    __slots__ = ()


def _decodes(path: Path, codec: str) -> bool:
    """Whether the whole file decodes in ``codec`` (cp1252 leaves five bytes undefined)."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        with path.open("rb") as file:
            while data := file.read(_SCAN_BYTES):
                decoder.decode(data)
            decoder.decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


def _lines_at(path: Path, codec: str, offsets: list[int]) -> list[int]:
    """The lines holding characters ``offsets`` (ascending) of the text: :func:`_line_at` for
    many offsets in one pass."""
    found: list[int] = []
    if not offsets:
        return found
    number, before, done, first = 1, "", 0, True
    with path.open(encoding=codec, errors="replace", newline="") as file:
        while len(found) < len(offsets):
            block = file.read(_SCAN_BYTES)
            if not block:
                break
            if first:
                block, first = block.removeprefix("\ufeff"), False
            while len(found) < len(offsets) and offsets[len(found)] < done + len(block):
                part = block[: offsets[len(found)] - done]
                found.append(number + _breaks(before + part) - _breaks(before))
            number += _breaks(before + block) - _breaks(before)
            before, done = block[-1:] or before, done + len(block)
    return found + [number] * (len(offsets) - len(found))


def _empty_row(delimiter: str) -> str:
    """A line of empty cells (``,,,,``; ``"",""``), up to its line end: a blank line."""
    d = re.escape(delimiter)
    cell = r'[ \t]*(?:"[ \t]*"[ \t]*)?'
    return rf"(?m)^(?:{cell}{d})+{cell}(?=\r?$)"


def is_blank(record: list[str]) -> bool:
    """A record of empty cells only: a blank line, not a row."""
    return not any(cell.strip() for cell in record)


def _check_line_length(path: Path, codec: str, text: str, chars: int, line_start: int) -> int:
    """Refuse a line over :data:`MAX_LINE_CHARS`; return where the next line starts.

    ``text`` starts at character ``chars`` of the file. A block is shorter than the limit, so
    only the line that runs into the block can be too long: two searches a block, no loop.
    """
    lf = text.find("\n")
    cr = text.find("\r", 0, lf if lf >= 0 else len(text))  # bounded: most files have no CR
    breaks = [i for i in (lf, cr) if i >= 0]
    end = chars + (min(breaks) if breaks else len(text))
    if end - line_start > MAX_LINE_CHARS:
        raise SourceError(
            f"the line is longer than {_size(MAX_LINE_CHARS)}: is this a CSV? (a CSV has one "
            "row per line; check the file is a text export)",
            path=str(path),
            line=_line_at(path, codec, line_start),
        )
    if not breaks:
        return line_start
    last_lf = text.rfind("\n")
    return chars + max(last_lf, text.rfind("\r", max(last_lf, 0))) + 1


def _line_at(path: Path, codec: str, offset: int) -> int:
    """The line holding character ``offset`` of the text (BOM excluded), for an error message.

    Counts line ends block by block: a file that is one endless line costs no memory.
    """
    number, before, first = 1, "", True
    with path.open(encoding=codec, errors="replace", newline="") as file:
        while offset > 0:
            block = file.read(_SCAN_BYTES)
            if not block:
                break
            if first:
                block, first = block.removeprefix("\ufeff"), False
            part = block[:offset]
            number += _breaks(before + part) - _breaks(before)
            before, offset = part[-1:] or before, offset - len(part)
    return number


def _breaks(text: str) -> int:
    """Line ends in ``text``: LF, CRLF or a bare CR."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


# --- quotes and header, read with the csv module -------------------------------------------------


class _Lines:
    """The file's physical lines as text (LF, CRLF or a bare CR ends one), as the csv module wants.

    Drops a leading BOM, and keeps what it handed out while ``kept`` is a list, so that callers
    can tell where a record started and how much text the header took.
    """

    def __init__(self, path: Path, codec: str, stack: ExitStack, skip: int = 0) -> None:
        self._path = path
        # replace: a UTF-8 file with a few broken bytes is read (their rows are errors)
        self._text = stack.enter_context(path.open(encoding=codec, errors="replace", newline=""))
        self._first = True
        self._number = 0
        self.bom = ""
        self.kept: list[str] | None = None
        self.skipped_chars = self.skipped_bytes = self.skipped = 0
        """The size of the ``skip`` lines before the header, handed out to nobody."""
        for _ in range(skip):
            line = next(self, "")
            if not line:
                break  # the file has fewer lines: the header reading says so
            self.skipped += 1
            self.skipped_chars += len(line)
            self.skipped_bytes += len(line.encode("utf-8", "surrogatepass"))

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        # bounded: the file may have grown since the scan measured its lines
        line = self._text.readline(MAX_LINE_CHARS + 1)
        if not line:
            raise StopIteration
        self._number += 1
        if len(line) > MAX_LINE_CHARS:
            raise SourceError(
                f"the line is longer than {_size(MAX_LINE_CHARS)}: is this a CSV?",
                path=str(self._path),
                line=self._number,
            )
        if self._first:
            self._first = False
            if line.startswith("\ufeff"):
                self.bom, line = "\ufeff", line[1:]
        if self.kept is not None:
            self.kept.append(line)
        return line


def _check_quoting(path: Path, codec: str, delimiter: str, skip: int) -> None:
    """Find the first broken quote with the strict csv module and refuse the file, naming its line.

    Returns quietly when the quotes that made the scan doubtful are fine (``6" tall`` unquoted).
    The ``skip`` lines before the header are not CSV and not looked at.
    """
    d = re.escape(delimiter)
    # possessive: no backtracking state per character on a 16 MB record
    opening = re.compile(rf'(?:\A|(?<=[{d}\r\n]))"(?:[^"]++|"")*+\Z')
    with ExitStack() as stack:
        lines = _Lines(path, codec, stack, skip)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        while True:
            lines.kept = []
            start = skip + reader.line_num + 1
            try:
                if next(reader, None) is None:
                    return
            except csv.Error as error:
                if "expected after" in str(error):
                    raise SourceError(
                        "text follows the closing quote of a field: inside a quoted field write "
                        'each " as "" (or remove the quotes around the field)',
                        path=str(path),
                        line=skip + reader.line_num,
                    ) from None
                # the end of the file, or the csv module's field size limit, came inside quotes
                text = "".join(lines.kept)
                found = opening.search(text)
                line = start + (_breaks(text[: found.start()]) if found else 0)
                raise SourceError(
                    'a quoted field starts on this line and is never closed: add the closing " '
                    'or write each " inside it as ""',
                    path=str(path),
                    line=line,
                ) from None


@dataclass
class _Header:
    names: list[str]
    line: int
    """The line the header starts on."""
    chars: int
    """Characters up to the header's end, BOM included: where the rows start."""
    utf8_bytes: int
    """The same in UTF-8 bytes (the file's own bytes when it is UTF-8)."""
    has_data: bool
    end: int = 0
    """The line the header ends on (a quoted name may hold a line break)."""


def _read_header(path: Path, codec: str, delimiter: str, skip: int) -> _Header:
    """The first record after ``skip`` lines that is not a blank line, and where it ends.

    Bounded: counts what it passes instead of keeping it, and stops at :data:`MAX_COLUMNS`
    delimiters before the csv module makes millions of names.
    """
    chars = utf8_bytes = delimiters = 0
    in_header = True

    def measured(lines: _Lines) -> Iterator[str]:
        nonlocal chars, utf8_bytes, delimiters
        for text in lines:
            if in_header:
                chars += len(text)
                utf8_bytes += len(text.encode("utf-8", "surrogatepass"))
                delimiters += text.count(delimiter)
                if delimiters >= 4 * MAX_COLUMNS:  # quoted names may hold delimiters
                    raise _too_wide(f"more than {4 * MAX_COLUMNS:,}", str(path), line)
            yield text

    with ExitStack() as stack:
        lines = _Lines(path, codec, stack, skip)
        reader = csv.reader(measured(lines), delimiter=delimiter)
        header: list[str] = []
        line = last = skip + 1
        try:
            while not header:
                line = skip + reader.line_num + 1
                record = next(reader, None)
                if record is None and lines.skipped < skip:
                    raise SourceError(
                        f"--skip-lines {skip} skips past the end of the file (it has "
                        f"{lines.skipped:,} lines): give the number of lines before the header, "
                        "or leave --skip-lines out to detect it",
                        path=str(path),
                    )
                if record is None:
                    raise SourceError(
                        "has no header row, only blank lines: expected a header row and data rows"
                        + (f" (after the {skip} lines skipped)" if skip else ""),
                        path=str(path),
                    )
                header = record
            last = skip + reader.line_num
        except csv.Error as error:
            if "field limit" in str(error):
                raise SourceError(
                    f"the header has a field longer than {_size(MAX_FIELD_CHARS)}: is this a "
                    "CSV? (or a quote in the header is never closed)",
                    path=str(path),
                    line=line,
                ) from None
            raise SourceError(f"header row cannot be read: {error}", path=str(path)) from None
        in_header = False
        chars += lines.skipped_chars + len(lines.bom)
        utf8_bytes += lines.skipped_bytes + len(lines.bom.encode())
        try:
            # stops at the first record that is not a blank line
            has_data = any(not is_blank(record) for record in reader)
        except csv.Error:
            has_data = True  # there is a record; reading the rows will say what is wrong with it
    names = [name.strip() for name in header]
    return _Header(names, line, chars, utf8_bytes, has_data, last)


def _undecodable_rows(
    path: Path, scan: _Scan, delimiter: str, header: _Header
) -> dict[int, tuple[int, int]]:
    """The data row of each line with a byte that is not UTF-8 -> (line, byte), by reading the
    records again with the csv module (only such files pay). A broken header is refused."""
    lines: dict[int, int] = {}
    for line, byte in scan.undecodable:
        lines.setdefault(line, byte)
    if not lines:
        return {}
    end = header.end
    in_header = [line for line in lines if header.line <= line <= end]
    if in_header:
        raise SourceError(
            f"byte 0x{lines[in_header[0]]:02X} in the header is not UTF-8, while the rest of the "
            "file is: fix the column name (or save the file as UTF-8 again)",
            path=str(path),
            line=in_header[0],
        )
    found: dict[int, tuple[int, int]] = {}
    wanted = sorted(line for line in lines if line > end)
    with ExitStack() as stack:
        reader = csv.reader(_Lines(path, scan.codec, stack, end), delimiter=delimiter)
        row, at = 0, 0
        try:
            while at < len(wanted):
                start = end + reader.line_num + 1
                record = next(reader, None)
                if record is None:
                    break
                if is_blank(record):
                    continue
                row += 1
                last = end + reader.line_num
                while at < len(wanted) and wanted[at] <= last:
                    if wanted[at] >= start:
                        found.setdefault(row, (wanted[at], lines[wanted[at]]))
                    at += 1
        except csv.Error:
            pass  # reading the rows says what is wrong
    return found


def _too_wide(count: str, where: str, line: int) -> SourceError:
    return SourceError(
        f"the header has {count} columns, and at most {MAX_COLUMNS:,} are read: is this a CSV? "
        "(if its delimiter is not the one detected, pass --delimiter)",
        path=where,
        line=line,
    )


def name_columns(
    names: list[str], where: str, line: int
) -> tuple[list[str], dict[int, str], list[str]]:
    """(the columns by name, the unnamed ones, what to warn): every column gets a name of its
    own, so a mapping can tell which one it means.

    A repeated name is read with its count (``Phone Number``, ``Phone Number (2)``); a column
    without a name (a trailing delimiter on every line) is left out of the columns, and a row
    with a value in it is an error on that row (see :attr:`Chunk.stray`).
    """
    if len(names) > MAX_COLUMNS:
        raise _too_wide(f"{len(names):,}", where, line)
    unnamed = {i: f"\0unnamed {i}" for i, name in enumerate(names, 1) if not name}
    if len(unnamed) == len(names):
        raise SourceError(
            "the header names no column: expected a header row of column names",
            path=where,
            line=line,
        )
    said = []
    if unnamed:
        positions = [str(i) for i in unnamed]
        which = (
            f"columns {', '.join(positions)}" if len(positions) > 1 else f"column {positions[0]}"
        )
        said.append(
            f"the header has no name for {which}: ignored (a row with a value there is an "
            "error; name the column to import it)"
        )
    taken = set(names)
    columns: list[str] = []
    first: dict[str, int] = {}
    for position, name in enumerate(names, 1):
        if not name:
            continue
        if name not in first:
            first[name] = position
            columns.append(name)
            continue
        count = 2
        while f"{name} ({count})" in taken:
            count += 1
        renamed = f"{name} ({count})"
        taken.add(renamed)
        columns.append(renamed)
        said.append(
            f"column {position} repeats the name {shown_name(name)} of column {first[name]}: "
            f"read as {shown_name(renamed)}"
        )
    return columns, unnamed, said


# --- the rows, parsed by pyarrow -----------------------------------------------------------------


class _Utf8Stream(io.RawIOBase):
    """What pyarrow reads: the text after the header, as UTF-8, never cut just after a CR.

    pyarrow drops a LF that starts a buffer when the previous buffer ended with a CR, even inside
    a quoted value (apache/arrow#51368), which would turn a note's CRLF into a bare CR.
    """

    def __init__(
        self,
        raw: io.BufferedReader,
        codec: str,
        header: _Header,
        blank: str | None = None,
        *,
        broken: bool = False,
    ) -> None:
        self._raw = raw
        self._empty_row = None if blank is None else re.compile(_empty_row(blank).encode())
        self._carry = bytearray()
        self._decoder = None
        self._skip = 0
        self._lock = threading.Lock()
        self._stopped = False
        self._lent: list[bytearray] = []
        if codec == "utf-8" and not broken:
            raw.seek(header.utf8_bytes)
        else:  # broken: UTF-8 with bytes that are not, replaced (U+FFFD)
            self._decoder = codecs.getincrementaldecoder(codec)(errors="replace")
            self._skip = header.chars

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytearray:
        with self._lock:
            data = bytearray() if self._stopped else self._next(size)
            if self._empty_row is not None:
                data = self._without_empty_rows(data, size)
            while data.endswith(b"\r"):
                more = self._next(size)
                if not more:
                    break
                data += more
            self._lent = [*self._held(), data]
        return data

    def _without_empty_rows(self, data: bytearray, size: int) -> bytearray:
        """Whole lines (the rest waits for the next read), each row of empty cells made a blank
        line, which pyarrow skips: it is not a row, as in a spreadsheet."""
        data = self._carry + data
        while True:
            end = len(data) - data.endswith(b"\r")  # its LF may come next
            cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1
            if cut:
                break
            more = self._next(size)
            if not more:
                cut = len(data)
                break
            data += more
        self._carry = data[cut:]
        assert self._empty_row is not None
        return bytearray(self._empty_row.sub(b"", data[:cut]))

    def _held(self) -> list[bytearray]:
        """The buffers pyarrow still holds (CPython: more references than this list, the loop
        variable and getrefcount's argument)."""
        return [b for b in self._lent if sys.getrefcount(b) > 3]

    def stop(self) -> None:
        """End the stream, and wait (2 s at most) until pyarrow has let go of every buffer.

        pyarrow reads ahead on a thread of its own and frees what it read there, which takes
        the GIL; a thread taking the GIL while the interpreter exits aborts the process
        (std::terminate), as happened when an error ended a command mid-file. So no command
        goes on before that thread is done with Python.
        """
        with self._lock:
            self._stopped = True
        deadline = time.monotonic() + 2
        while self._held() and time.monotonic() < deadline:
            time.sleep(0.005)

    def _next(self, size: int) -> bytearray:
        if self._decoder is None:  # read straight into the buffer pyarrow gets
            data = bytearray(size if size > 0 else _BLOCK_BYTES)
            del data[self._raw.readinto(data) :]
            return data
        while True:
            raw = self._raw.read(size)
            text = self._decoder.decode(raw, not raw)
            if self._skip:
                skipped = min(self._skip, len(text))
                text, self._skip = text[skipped:], self._skip - skipped
            if text or not raw:
                return bytearray(text.encode("utf-8"))


class _Rows:
    """Numbers the rows pyarrow returns and packs them, with the ragged ones, into chunks.

    pyarrow reports a ragged row (through :meth:`reported`) before it returns the batch of the
    block holding it, with its record number counted from the first row after the header. The
    well-formed rows take the numbers in between, in order.
    """

    def __init__(self, source: CsvSource, stack: ExitStack, done: int) -> None:
        self._source = source
        self._bytes = 0
        self._stack = stack
        self._done = done  # rows up to this number went out in an earlier reading: drop them
        self._unnamed = list(source._unnamed.values())
        wanted = [*source.frame_columns, *self._unnamed]
        self._schema = pa.schema([(name, pa.string()) for name in wanted])
        self._lines: _RecordLines | None = None
        self._ahead: deque[RaggedRow] = deque()  # reported, numbered past the rows placed so far
        self._ready: deque[RaggedRow] = deque()  # reported and placed
        self._batches: deque[tuple[pa.RecordBatch, np.ndarray]] = deque()
        self._count = 0
        self._next = 1  # the number the next row will take

    def reported(self, row: pacsv.InvalidRow) -> str:
        self._ahead.append(
            RaggedRow(row.number, None, row.expected_columns, row.actual_columns, row.text)
        )
        return "skip"

    def add(self, batch: pa.RecordBatch) -> None:
        """Number the batch's rows: they take the next numbers that no ragged row took."""
        numbers = np.empty(batch.num_rows, dtype=np.int64)
        placed, number = 0, self._next
        while placed < batch.num_rows:
            stop = self._ahead[0].row if self._ahead else number + batch.num_rows - placed
            if stop < number:
                raise RuntimeError(f"pyarrow reported row {stop} after rows numbered past it")
            take = min(batch.num_rows - placed, stop - number)
            numbers[placed : placed + take] = np.arange(number, number + take)
            placed, number = placed + take, number + take
            if placed < batch.num_rows:  # a ragged row holds this number
                self._ready.append(self._ahead.popleft())
                number += 1
        while self._ahead and self._ahead[0].row == number:  # ragged rows right after the batch
            self._ready.append(self._ahead.popleft())
            number += 1
        self._next = number
        skip = int(np.searchsorted(numbers, self._done, side="right"))
        if skip < batch.num_rows:
            self._batches.append((batch.slice(skip), numbers[skip:]))
            self._count += batch.num_rows - skip
            self._bytes += batch.get_total_buffer_size()

    def chunks(self, final: bool) -> Iterator[Chunk]:
        """Full chunks; at the end, everything left. Rows never come out of order."""
        size = self._source._chunk_rows
        # a report's footer is the file's last records: held back until the end, then dropped
        # (a line padded to the table's width, "Grand Totals,,,,", is a well-formed row)
        hold = len(self._source._footer)
        if final:
            self._ready.extend(self._ahead)
            self._ahead.clear()
        while (
            self._count >= size + hold
            or self._bytes >= self._source._chunk_bytes
            or len(self._ready) >= size
            or (final and (self._count or self._ready))
        ):
            take = min(size, self._count if final else max(self._count - hold, 0))
            first = self._batches[0][1][0] if self._batches else None
            if not (
                take or final or (self._ready and (first is None or self._ready[0].row < first))
            ):
                break  # only the held-back rows are left: wait for the rest of the file
            batches, numbers = self._take(take)
            self._bytes = sum(b.get_total_buffer_size() for b, _ in self._batches)
            limit = self._batches[0][1][0] if self._batches else None
            placed = []
            while self._ready and (limit is None or self._ready[0].row < limit):
                row = self._ready.popleft()
                if row.row > self._done:
                    placed.append(row)
            table = pa.Table.from_batches(batches, self._schema)
            if final and hold:
                table_ends = self._next - 1 - hold
                placed = [r for r in placed if r.row <= table_ends]
                if numbers.size and numbers[-1] > table_ends:
                    kept = int(numbers.searchsorted(table_ends, "right"))
                    table, numbers = table.slice(0, kept), numbers[:kept]
            short = _padded(placed)
            padded = {r.row for r in short}  # a set: a chunk may hold thousands of short rows
            ragged = [self._with_line(r) for r in placed if r.row not in padded]
            ragged = [r for r in ragged if r.line not in self._source._footer]
            # one piece per column: pyarrow sets up a regex again for every piece of a
            # column, which cost the checks more than this copy does
            table = table.combine_chunks()
            self._refuse_long_fields(table, numbers)
            stray = self._stray(table, numbers)
            frame = table.drop_columns(self._unnamed).to_pandas(types_mapper=_TO_TEXT)
            frame.index = pd.Index(numbers, dtype="int64", name="row")
            if short:
                frame, stray, short = self._with_short(frame, stray, short)
            yield Chunk(frame, ragged, short, stray, self._undecodable(numbers, ragged))

    def _undecodable(self, numbers: np.ndarray, ragged: list[RaggedRow]) -> list[Undecodable]:
        broken = self._source._undecodable
        if not broken:
            return []
        here = {*numbers.tolist(), *(r.row for r in ragged)}
        return [Undecodable(row, *broken[row]) for row in sorted(broken) if row in here]

    def _stray(self, table: pa.Table, numbers: np.ndarray) -> list[StrayValue]:
        found = []
        for position, name in self._source._unnamed.items():
            cells = table.column(name)
            filled = pc.not_equal(pc.utf8_trim_whitespace(cells), "")
            for at in np.flatnonzero(filled.to_numpy(zero_copy_only=False)):
                found.append(StrayValue(int(numbers[at]), position, cells[at].as_py()))
        return found

    def _with_short(
        self, frame: pd.DataFrame, stray: list[StrayValue], short: list[RaggedRow]
    ) -> tuple[pd.DataFrame, list[StrayValue], list[RaggedRow]]:
        """The short rows parsed, padded with empty cells and placed in the frame by number.

        Only the rows that miss a named column are kept to be warned about."""
        names = self._source._all_names
        unnamed = self._source._unnamed
        rows: dict[int, list[str]] = {}
        warned = []
        at = [names.index(c) for c in frame.columns]  # each column's field, found once
        for row in short:
            fields = next(
                csv.reader(io.StringIO(row.text, newline=""), delimiter=self._source.delimiter), []
            )
            fields += [""] * (len(names) - len(fields))
            rows[row.row] = [fields[i] for i in at]
            stray += [
                StrayValue(row.row, p, fields[p - 1]) for p in unnamed if fields[p - 1].strip()
            ]
            if any(p not in unnamed for p in range(row.actual + 1, row.expected + 1)):
                warned.append(row)
        extra = pd.DataFrame.from_dict(rows, orient="index", columns=list(frame.columns))
        extra = extra.astype(TEXT)
        joined = pd.concat([frame, extra]).sort_index(kind="stable")
        joined.index = pd.Index(joined.index, dtype="int64", name="row")
        return joined, sorted(stray, key=lambda s: s.row), warned

    def _refuse_long_fields(self, table: pa.Table, numbers: np.ndarray) -> None:
        """A field over :data:`MAX_FIELD_CHARS` is refused (a record may take two blocks, so
        the block size does not bound it); only a column holding that many bytes is measured."""
        for name, column in zip(table.column_names, table.columns, strict=True):
            if column.get_total_buffer_size() <= MAX_FIELD_CHARS:
                continue
            lengths = pc.binary_length(column)
            if (pc.max(lengths).as_py() or 0) > MAX_FIELD_CHARS:
                at = int(np.argmax(lengths.to_numpy() > MAX_FIELD_CHARS))  # the first
                raise SourceError(
                    f"data row {numbers[at]} has a field longer than {_size(MAX_FIELD_CHARS)} in "
                    f"column {shown_name(name)}: is a quote opened and never closed? (Help Scout "
                    "keeps no field that long: shorten the cell or delete the column)",
                    path=self._source.name,
                )

    def _take(self, count: int) -> tuple[list[pa.RecordBatch], np.ndarray]:
        batches, numbers = [], [np.empty(0, dtype=np.int64)]
        while count:
            batch, rows = self._batches[0]
            if len(rows) <= count:
                self._batches.popleft()
            else:
                self._batches[0] = (batch.slice(count), rows[count:])
                batch, rows = batch.slice(0, count), rows[:count]
            batches.append(batch)
            numbers.append(rows)
            count -= len(rows)
            self._count -= len(rows)
        return batches, np.concatenate(numbers)

    def _with_line(self, ragged: RaggedRow) -> RaggedRow:
        if self._lines is None:
            self._lines = _RecordLines(self._source, self._stack)
        return dataclasses.replace(ragged, line=self._lines.line_of(ragged.row))


def _padded(rows: list[RaggedRow]) -> list[RaggedRow]:
    """The rows with too few fields that are read with the missing ones empty (what Outlook
    and spreadsheets write when a row's last cells are empty).

    Not a row of one field (a different delimiter, or the rest of a row cut by a line break),
    nor two rows in a row whose fields add up to one row and one more (a row cut in two by a
    line break in an unquoted field): their values would land in the wrong columns.
    """
    short = {r.row: r for r in rows if 2 <= r.actual < r.expected}
    cut = set()
    for row in short.values():
        after = short.get(row.row + 1)
        if after is not None and row.actual + after.actual == row.expected + 1:
            cut |= {row.row, after.row}
    return [r for r in rows if r.row in short and r.row not in cut]


class _RecordLines:
    """The line where each data row starts, found by reading the file again with the csv module.

    Only ragged rows need it, and they are rare, so the common case pays nothing.
    """

    def __init__(self, source: CsvSource, stack: ExitStack) -> None:
        self._skip = source.skip_lines
        self._reader = csv.reader(
            _Lines(source.path, source._codec, stack, self._skip), delimiter=source.delimiter
        )
        self._row = -1  # the header is record 0
        self._line: int | None = None
        self._lost = False

    def line_of(self, row: int) -> int | None:
        while self._row < row and not self._lost:
            start = self._skip + self._reader.line_num + 1
            try:
                record = next(self._reader)
            except (StopIteration, csv.Error):  # e.g. a field over the csv module's size limit
                self._lost = True
                break
            if not is_blank(record):
                self._row, self._line = self._row + 1, start
        return None if self._lost else self._line
