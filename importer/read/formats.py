"""One door for every input: :func:`open_source` looks at the file's first bytes and opens it
with the reader that fits, behind the one :class:`Source` interface the pipeline uses.

- a CSV (any text): :func:`~importer.read.delimited.open_csv`;
- ``.xlsx``/``.xlsm``/``.xls``/``.ods``: :func:`~importer.read.sheet.open_sheet` (a workbook
  renamed ``.csv`` is still read as one: the bytes decide);
- ``.gz``, ``.bz2``, ``.xz`` and a ``.zip`` holding one CSV: decompressed to a private temporary
  file, then read as a CSV (every guard of the CSV reader applies; the file is read several
  times). Fingerprinted by the compressed file's size and time, so a re-run knows it again;
- ``-``: standard input, spooled the same way, and fingerprinted by the SHA-256 of its bytes (the
  same bytes piped again resume the same import);
- anything else (a PDF, an Apple Numbers file, a zip of several files, an encrypted workbook, a
  7-Zip, RAR or zstd archive): refused with one line naming it (exit 2).
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import hashlib
import io
import lzma
import os
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from importer.core.errors import SourceError
from importer.core.options import DEFAULT_READ, ReadOptions
from importer.read.base import Source
from importer.read.delimited import CsvSource, open_csv, stat_of
from importer.read.dressed import DRESSES, HEAD_BYTES, dress_of, rows_of
from importer.read.renumber import renumbered
from importer.read.sheet import ENCRYPTED_WORKBOOK, SheetSource, open_sheet

__all__ = [
    "MAX_SPOOLED_LINE",
    "STDIN",
    "Source",
    "count_rows",
    "format_of",
    "open_source",
    "unbroken",
    "zip_member",
]

#: The FILE that means standard input.
STDIN = "-"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_COPY_BYTES = 1 << 20
#: The stream compressors of the standard library, by name: the file object that unpacks.
_PACKED: dict[str, type[gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile]] = {
    "gzip": gzip.GzipFile, "bz2": bz2.BZ2File, "xz": lzma.LZMAFile,
}  # fmt: skip
#: First bytes -> (kind, detail) of what is not text.
_MAGIC: dict[bytes, tuple[str, str]] = {
    b"\x1f\x8b": ("packed", "gzip"),
    **{b"BZh%d1AY&" % level: ("packed", "bz2") for level in range(1, 10)},
    b"\xfd7zXZ\x00": ("packed", "xz"),
    b"PK\x03\x04": ("zip", ""),
    b"PK\x05\x06": ("zip", ""),  # an empty archive
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": ("sheet", "xls"),  # OLE: a BIFF workbook
    b"%PDF": ("refused", "is a PDF, not a table: export the data as CSV or Excel"),
    b"{\\rtf": ("refused", "is an RTF document, not a table: export the data as CSV"),
    b"7z\xbc\xaf\x27\x1c": ("refused", "is a 7-Zip archive: unpack it and pass the CSV"),
    b"Rar!\x1a\x07": ("refused", "is a RAR archive: unpack it and pass the CSV"),
    b"\x28\xb5\x2f\xfd": ("refused", "is zstd-compressed: unpack it (zstd -d) and pass the CSV"),
}
#: The most bytes of text spooled without a line break (the CSV reader's longest line, in
#: UTF-16's two bytes a character, and then some).
MAX_SPOOLED_LINE = 64 << 20


@dataclass(frozen=True)
class Format:
    """What the first bytes say a file is: ``kind`` (csv, packed, zip, sheet, refused; in a zip:
    member) and ``detail``: a compressor, a workbook's format, a zip's member to read, a
    refusal's reason."""

    kind: str
    detail: str = ""


def format_of(head: bytes) -> Format:
    """The reader for a file starting with ``head`` (its first 8 bytes or more): the bytes
    decide, never the name (an export renamed .csv is still the workbook it is)."""
    for magic, (kind, detail) in _MAGIC.items():
        if head.startswith(magic):
            return Format(kind, detail)
    return Format("csv")


def zip_member(names: list[str]) -> Format:
    """What a zip archive holding ``names`` is: a workbook, one CSV to read, or a refusal."""
    if "xl/workbook.xml" in names:
        return Format("sheet", "xlsx")
    if "xl/workbook.bin" in names:
        return Format("sheet", "xlsb")
    if "content.xml" in names and "mimetype" in names:
        return Format("sheet", "ods")
    if "Index/Document.iwa" in names or any(n.endswith(".iwa") for n in names):
        return Format(
            "refused",
            "is an Apple Numbers file: export it as CSV or Excel (File > Export To) and pass that",
        )
    files = [
        n for n in names
        if not n.endswith("/") and not n.startswith("__MACOSX/") and Path(n).name != ".DS_Store"
    ]  # fmt: skip
    if len(files) == 1:
        return Format("member", files[0])
    if files and all(n.lower().endswith(".vcf") for n in files):
        return Format("cards", "")  # Outlook writes a .vcf a contact: read as one file of them
    if not files:
        return Format("refused", "is an empty zip archive: expected one CSV inside")
    shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
    return Format(
        "refused",
        f"is a zip archive of {len(files)} files ({shown}): unzip it and pass the CSV to import",
    )


def open_source(
    path: str | Path, reading: ReadOptions = DEFAULT_READ, *, chunk_rows: int | None = None
) -> Source:
    """Open ``path`` (``-``: standard input) with the reader its bytes call for; refuse it with
    one clear line (:class:`~importer.core.errors.SourceError`) when none fits.

    ``chunk_rows``: the rows of a chunk; by default each reader's own (a CSV's
    :data:`~importer.read.delimited.CHUNK_ROWS`, a sheet's 25,000, measured each for its memory).
    """
    name = str(path)
    chunk = {} if chunk_rows is None else {"chunk_rows": chunk_rows}
    if name == STDIN:
        spool = _Spool()
        spool.fill(sys.stdin.buffer, name, digest=True)
        return _opened(spool.path, name, f"sha256={spool.digest}", spool, reading, chunk)
    path = Path(path)
    return _opened(path, name, stat_of(path, name), None, reading, chunk)


def _opened(
    path: Path,
    name: str,
    fingerprint: str,
    spool: _Spool | None,
    reading: ReadOptions,
    chunk: dict[str, int],
    depth: int = 0,
    *,
    dressed: bool = False,
) -> Source:
    """Open the regular file ``path`` (the input, or a spooled copy of it) by its bytes."""
    head = _head(path, name)
    found = format_of(head)
    if found.kind == "zip":
        found = _member(path, name)
    if found.kind == "cards":
        cards = _Spool()
        with _unpacking(name, "zip"), zipfile.ZipFile(path) as archive:
            cards.fill_joined([archive.open(n) for n in archive.namelist() if _is_card(n)])
        return _opened(cards.path, name, fingerprint, cards, reading, chunk, depth + 1)
    if found.kind in ("packed", "member") and depth < 2:
        inner = _Spool()
        with _unpacking(name, found.detail if found.kind == "packed" else "zip"):
            if found.kind == "packed":
                with _PACKED[found.detail](path, "rb") as packed:
                    inner.fill(packed, name)
            else:
                with zipfile.ZipFile(path) as archive, archive.open(found.detail) as packed:
                    inner.fill(packed, name)
        return _opened(inner.path, name, fingerprint, inner, reading, chunk, depth + 1)
    if found.kind in ("packed", "member"):
        raise SourceError("is an archive inside an archive inside an archive: unpack it", path=name)
    dress = dress_of(head) if found.kind == "csv" and not dressed else None
    if dress is not None:
        what = DRESSES[dress]
        _refuse_options(
            reading, ("--encoding", "--delimiter", "--sheet"), name,
            lambda option: f"is {what}, read as one table: leave {option} out",
        )  # fmt: skip
        table = _Spool()
        table.fill_rows(rows_of(dress, path, name))
        read = _opened(table.path, name, fingerprint, table, reading, chunk, depth, dressed=True)
        read.warnings.insert(0, f"read as {DRESSES[dress]}: its table's rows, as text cells")
        return read
    if found.kind == "refused":
        raise SourceError(found.detail, path=name)
    source: CsvSource | SheetSource
    if found.kind == "sheet":
        _refuse_options(reading, ("--encoding", "--delimiter"), name,
                        lambda option: f"is a workbook ({found.detail}): it has no {option[2:]}, "
                                       f"leave {option} out")  # fmt: skip
        if found.detail == "xls" and _encrypted(path):
            raise SourceError(ENCRYPTED_WORKBOOK, path=name)
        source = open_sheet(path, name=name, kind=found.detail, fingerprint=fingerprint,
                            sheet=reading.sheet, skip_lines=reading.skip_lines,
                            **chunk)  # fmt: skip
    else:
        if reading.sheet is not None:
            raise SourceError(f"--sheet {reading.sheet}: this is a CSV, not a workbook", path=name)
        source = open_csv(path, name=name, encoding=reading.encoding,
                          delimiter=reading.delimiter, skip_lines=reading.skip_lines,
                          **chunk)  # fmt: skip
    source.fingerprint = fingerprint
    source._keep = spool  # a spooled copy lives as long as its source
    return renumbered(source)


def _refuse_options(
    reading: ReadOptions, options: tuple[str, ...], name: str, why: Callable[[str], str]
) -> None:
    """Refuse the first of ``options`` given (``--encoding`` names a CSV's, ``--sheet`` a
    workbook's) for a file that has none: ``why(option)`` says so."""
    for option in options:
        if getattr(reading, option[2:]) is not None:
            raise SourceError(why(option), path=name)


def _is_card(member: str) -> bool:
    return member.lower().endswith(".vcf") and not member.startswith("__MACOSX/")


def _head(path: Path, name: str) -> bytes:
    """The file's first bytes: enough for its magic number and for a dressed table's start."""
    try:
        with path.open("rb") as file:
            return file.read(HEAD_BYTES)
    except OSError as error:
        raise SourceError(f"cannot be read: {error.strerror or error}", path=name) from None


def _member(path: Path, name: str) -> Format:
    try:
        with zipfile.ZipFile(path) as archive:
            if any(info.flag_bits & 1 for info in archive.infolist()):
                return Format("refused", "is an encrypted zip archive: unzip it and pass the CSV")
            return zip_member(archive.namelist())
    except (zipfile.BadZipFile, OSError) as error:
        raise SourceError(f"is not a readable zip archive ({error})", path=name) from None


def _encrypted(path: Path) -> bool:
    """An OLE file holding an ``EncryptedPackage`` stream: a password-protected .xlsx."""
    tail = b""
    with path.open("rb") as file:
        while block := file.read(_COPY_BYTES):
            if _ENCRYPTED in tail + block:
                return True
            tail = block[-len(_ENCRYPTED) :]
    return False


@contextlib.contextmanager
def _unpacking(name: str, kind: str) -> Iterator[None]:
    try:
        yield
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as error:
        raise SourceError(
            f"cannot be unpacked as {kind} ({error}): is the file complete?", path=name
        ) from None


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Spool:
    """A private temporary copy of a stream (stdin, an unpacked archive): the readers read a
    regular file several times. Removed when the last source holding it is gone."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="helpscout-import-")
        self.path = Path(self._dir.name) / "input"
        self.digest = ""

    def fill(self, stream: _Readable, name: str, *, digest: bool = False) -> None:
        """Copy ``stream``; text that runs on without a line break (``/dev/zero`` piped in, a
        gzip bomb) is refused once it passes :data:`MAX_SPOOLED_LINE`, not copied to the end."""
        hashed = hashlib.sha256()
        text: bool | None = None
        run = 0
        with self._create() as out:
            while block := stream.read(_COPY_BYTES):
                if text is None:
                    text = format_of(block[:8]).kind == "csv"
                if text and (run := unbroken(block, run)) > MAX_SPOOLED_LINE:
                    raise SourceError(
                        f"holds more than {MAX_SPOOLED_LINE >> 20} MB without a line break: is "
                        "this a CSV? (a CSV has one row per line)",
                        path=name,
                    )
                out.write(block)
                if digest:
                    hashed.update(block)
        self.digest = hashed.hexdigest()

    def fill_joined(self, streams: list[IO[bytes]]) -> None:
        """Copy ``streams`` one after the other, each ending its last line (vCards, a file
        each, read as one file)."""
        with self._create() as out:
            for stream in streams:
                with stream:
                    last = b"\n"
                    while block := stream.read(_COPY_BYTES):
                        out.write(block)
                        last = block[-1:]
                    if last not in (b"\n", b"\r"):
                        out.write(b"\r\n")

    def fill_rows(self, rows: Iterable[list[str]]) -> None:
        """Write ``rows`` as a UTF-8 CSV (a dressed table, for the CSV reader)."""
        with io.TextIOWrapper(self._create(), encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)

    def _create(self) -> BinaryIO:
        """The copy's file, new and readable by its owner only."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return os.fdopen(fd, "wb")


def unbroken(block: bytes, run: int) -> int:
    """The bytes since the last line break once ``block`` follows ``run`` such bytes."""
    last = max(block.rfind(b"\n"), block.rfind(b"\r"))
    return run + len(block) if last < 0 else len(block) - last - 1


def count_rows(path: str | Path) -> int | None:
    """Lines after the header of a plain CSV, for a progress bar's ETA (quoted line breaks
    overcount); None for stdin, archives, workbooks and dressed tables (no cheap count)."""
    path = Path(path)
    if str(path) == STDIN or not path.is_file():  # a FIFO would block, /dev/zero never end
        return None
    try:
        head = _head(path, str(path))
        if format_of(head).kind != "csv" or dress_of(head) is not None:
            return None
        with path.open("rb") as fh:
            lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(_COPY_BYTES), b""))
    except (OSError, SourceError):
        return None
    return max(lines - 1, 0)
