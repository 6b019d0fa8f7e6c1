"""importer.read: encodings, dialects, exact row numbers, and one-line refusals, on real files."""

from __future__ import annotations

import codecs
import csv
import io
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from importer.core.errors import SourceError
from importer.read.codepages import word_score
from importer.read.delimited import (
    _SCAN_BYTES,
    CHUNK_ROWS,
    TEXT,
    Chunk,
    CsvSource,
    RaggedRow,
    Undecodable,
    find_header,
    open_csv,
    report_footer,
)

DATA = Path(__file__).parent / "data"
SPECTRUM = DATA / "csv-spectrum"
CSVKIT = DATA / "csvkit-encodings"


def read(source: CsvSource) -> tuple[dict[int, list[str]], list[RaggedRow], list[Chunk]]:
    """Every well-formed row by number, every ragged row, and the chunks they came in."""
    chunks = list(source)
    rows: dict[int, list[str]] = {}
    for chunk in chunks:
        assert list(chunk.frame.columns) == source.columns
        assert chunk.frame.index.name == "row"
        assert chunk.frame.index.dtype == "int64"
        assert all(dtype == TEXT for dtype in chunk.frame.dtypes)
        assert not chunk.frame.isna().any().any()  # an empty cell is "", never NA
        for number, values in zip(
            chunk.frame.index, chunk.frame.itertuples(index=False), strict=True
        ):
            assert number not in rows
            rows[int(number)] = list(values)
    ragged = [r for chunk in chunks for r in chunk.ragged]
    numbers = [
        n for chunk in chunks for n in sorted([*chunk.frame.index, *(r.row for r in chunk.ragged)])
    ]
    assert numbers == sorted(numbers), "rows came out of order"
    return rows, ragged, chunks


def refusal(path: Path, **options: object) -> SourceError:
    with pytest.raises(SourceError) as caught:
        source = open_csv(path, **options)
        list(source)
    error = caught.value
    assert "\n" not in str(error), "a refusal is one line"
    assert error.path == str(path)
    return error


def write(tmp_path: Path, data: bytes | str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def oracle(text: str, delimiter: str) -> tuple[dict[int, list[str]], list[tuple[int, int, int]]]:
    """What the csv module reads: rows by number (no blank lines), ragged (row, line, fields).

    A row of 2 or more fields but fewer than the header's is a row, padded with empty cells,
    unless it and the next one add up to one row and a field more (a row cut in two).
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter)
    records: list[tuple[int, int, list[str]]] = []
    width = number = 0
    while True:
        line = reader.line_num + 1
        record = next(reader, None)
        if record is None:
            break
        if not record:
            continue
        if not width:
            width = len(record)
        else:
            number += 1
            records.append((number, line, record))
    counts = {n: len(r) for n, _, r in records}
    short = {n for n, c in counts.items() if 2 <= c < width}
    cut = {m for n in short if n + 1 in short and counts[n] + counts[n + 1] == width + 1
           for m in (n, n + 1)}  # fmt: skip
    rows: dict[int, list[str]] = {}
    ragged = []
    for n, line, record in records:
        if len(record) == width or (n in short and n not in cut):
            rows[n] = record + [""] * (width - len(record))
        else:
            ragged.append((n, line, len(record)))
    return rows, ragged


# --- external material --------------------------------------------------------------------------

SPECTRUM_CASES = sorted(p.stem for p in (SPECTRUM / "csvs").glob("*.csv"))


def test_all_eleven_spectrum_cases_are_here() -> None:
    assert len(SPECTRUM_CASES) == 11
    assert sorted(p.stem for p in (SPECTRUM / "json").glob("*.json")) == SPECTRUM_CASES


@pytest.mark.parametrize("name", SPECTRUM_CASES)
def test_csv_spectrum_reads_as_its_json_says(name: str) -> None:
    expected = json.loads((SPECTRUM / "json" / f"{name}.json").read_text(encoding="utf-8"))
    source = open_csv(SPECTRUM / "csvs" / f"{name}.csv")
    rows, ragged, _ = read(source)
    assert source.columns == list(expected[0])
    assert [dict(zip(source.columns, rows[n], strict=True)) for n in sorted(rows)] == expected
    assert sorted(rows) == list(range(1, len(expected) + 1))
    assert ragged == []


# csvkit's examples: each is read (columns, rows by number, ragged rows as (row, line, fields),
# encoding, delimiter) or refused (words of the message, line).
CSVKIT_CASES: dict[str, dict] = {
    "bad.csv": dict(
        columns=["column_a", "column_b", "column_c"],
        rows={2: ["", "I'm too short!", ""], 3: ["0", "mixed types.... uh oh", "17"]},
        ragged=[(1, 2, 4, '1,27,,"I\'m too long!"')],
        short=[(2, 2)],
    ),
    "bad_skip_lines.csv": dict(
        columns=["column_a", "column_b", "column_c"],
        rows={2: ["", "I'm too short!", ""], 3: ["0", "mixed types.... uh oh", "17"]},
        ragged=[(1, 5, 4, '1,27,,"I\'m too long!"')],
        short=[(2, 2)],
    ),
    "blanks.csv": dict(columns=list("abcdef"), rows={1: ["", "NA", "N/A", "NONE", "NULL", "."]}),
    "date_like_number.csv": dict(columns=["a"], rows={1: ["4.5"]}),
    "dummy.tsv": dict(columns=list("abc"), rows={1: ["1", "2", "3"]}, delimiter="\t"),
    "dummy_col_shuffled_ragged.csv": dict(columns=list("bcad"), rows={1: ["2", "3", "1", "4"]}),
    "empty.csv": dict(refused="no header row", line=None),
    "mac_newlines.csv": dict(
        columns=list("abc"), rows={1: ["1", "2", "3"], 2: ["Once upon\ra time", "5", "6"]}
    ),
    "no_header_row.csv": dict(refused="header but no data rows", line=1),
    "null_byte.csv": dict(refused="NUL byte", line=2),
    "optional_quote_characters.csv": dict(columns=list("abc"), rows={1: ["1", "2", "3"]}),
    "sniff_limit.csv": dict(columns=list("abc"), rows={1: ["1", "2", "3"]}, delimiter=";"),
    # a row of empty cells is a blank line, however many: no data rows
    "test_empty_columns_long_row.csv": dict(refused="header but no data rows", line=1),
    "test_empty_columns_short_row.csv": dict(refused="header but no data rows", line=1),
    "test_extra_header.csv": dict(
        columns=list("abcd"), rows={1: ["1", "2", "3", ""]}, short=[(1, 3)]
    ),
    "test_header_newline.csv": dict(
        columns=["start \t\n\x0b\x0c\r end", "b", "c"], rows={1: ["d", "e", "f"]}
    ),
    "test_latin1.csv": dict(
        columns=list("abc"), rows={1: ["1", "2", "3"], 2: ["4", "5", "©"]}, encoding="cp1252"
    ),
    "test_locale.csv": dict(columns=list("abc"), rows={1: ["1,7", "200.000.000", ""]}),
    "test_no_leading_zeroes.csv": dict(columns=list("abc"), rows={1: ["01", "00.11", "0.1"]}),
    "test_skip_lines.csv": dict(columns=list("abc"), rows={1: ["1", "2", "3"]}),
    "test_utf16_big.csv": dict(
        columns=list("abc"), rows={1: ["1", "2", "3"], 2: ["4", "5", "ʤ"]}, encoding="utf-16"
    ),
    "test_utf16_little.csv": dict(
        columns=list("abc"), rows={1: ["1", "2", "3"], 2: ["4", "5", "ʤ"]}, encoding="utf-16"
    ),
    "test_utf8.csv": dict(
        columns=["foo", "bar", "baz"], rows={1: ["1", "2", "3"], 2: ["4", "5", "ʤ"]}
    ),
    "test_utf8_bom.csv": dict(
        columns=["foo", "bar", "baz"],
        rows={1: ["1", "2", "3"], 2: ["4", "5", "ʤ"]},
        encoding="utf-8-sig",
    ),
}


def test_every_csvkit_file_has_an_expectation() -> None:
    on_disk = sorted(p.name for p in CSVKIT.iterdir() if p.suffix in (".csv", ".tsv"))
    assert on_disk == sorted(CSVKIT_CASES)


@pytest.mark.parametrize("name", sorted(CSVKIT_CASES))
def test_csvkit_file_is_read_or_refused(name: str) -> None:
    expected = CSVKIT_CASES[name]
    path = CSVKIT / name
    if "refused" in expected:
        error = refusal(path)
        assert expected["refused"] in str(error)
        assert error.line == expected["line"]
        return
    source = open_csv(path)
    rows, ragged, chunks = read(source)
    assert source.columns == expected["columns"]
    assert rows == expected["rows"]
    assert [(r.row, r.line, r.actual, r.text) for r in ragged] == expected.get("ragged", [])
    assert all(r.expected == len(source.columns) for r in ragged)
    short = [(r.row, r.actual) for chunk in chunks for r in chunk.short]
    assert short == expected.get("short", [])
    assert source.encoding == expected.get("encoding", "utf-8")
    assert source.delimiter == expected.get("delimiter", ",")
    assert bool(source.warnings) == (source.encoding == "cp1252")


def fixed_rows(path: Path) -> dict[int, list[str]]:
    records = list(csv.reader(path.open(encoding="utf-8", newline="")))
    return dict(enumerate(records[1:], 1))


# The broken files (not copied: no licence stated): read as their expected-fixed version says,
# or with the broken rows reported as ragged (rows: those of the fixed file still read), or refused.
BROKEN_CASES: dict[str, dict] = {
    "bom-and-whitespace-headers.csv": dict(encoding="utf-8-sig"),
    "broken-encoding-latin1.csv": dict(encoding="cp1252", warning="byte 0xE9 on line 2"),
    "broken-encoding-windows-1252.csv": dict(encoding="cp1252", warning="byte 0xE7 on line 2"),
    "mixed-line-endings.csv": dict(),
    "wrong-delimiter-semicolon.csv": dict(delimiter=";"),
    "mixed-delimiters.csv": dict(rows=[1], ragged=[(2, 3, 1), (3, 4, 1)]),
    "newline-inside-unquoted-field.csv": dict(rows=[], ragged=[(2, 3, 1)]),
    "ragged-rows-extra-columns.csv": dict(rows=[1], ragged=[(2, 3, 4)]),
    "ragged-rows-missing-columns.csv": dict(short=[(2, 2)]),
    "duplicate-headers.csv": dict(
        columns=["id", "name", "Email", "Email (2)"],
        warning="column 4 repeats the name 'Email' of column 3: read as 'Email (2)'",
    ),
    "missing-closing-quote.csv": dict(
        refused="quoted field starts on this line and is never closed", line=2
    ),
    "unescaped-quotes.csv": dict(refused="text follows the closing quote", line=2),
}


def test_every_broken_file_has_an_expectation(shared_data: Path) -> None:
    manifest = json.loads((shared_data / "broken-csv" / "broken_csv_manifest.json").read_text())
    assert sorted(entry["file_name"] for entry in manifest) == sorted(BROKEN_CASES)


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_file_is_read_as_fixed_or_refused(shared_data: Path, name: str) -> None:
    expected = BROKEN_CASES[name]
    path = shared_data / "broken-csv" / name
    if "refused" in expected:
        error = refusal(path)
        assert expected["refused"] in str(error)
        assert error.line == expected["line"]
        return
    fixed = shared_data / "broken-csv" / "expected-fixed" / name
    source = open_csv(path)
    rows, ragged, chunks = read(source)
    header = next(csv.reader(fixed.open(encoding="utf-8", newline="")))
    assert source.columns == expected.get("columns", header)
    assert source.encoding == expected.get("encoding", "utf-8")
    assert source.delimiter == expected.get("delimiter", ",")
    if "warning" in expected:
        assert len(source.warnings) == 1
        assert expected["warning"] in source.warnings[0]
    else:
        assert source.warnings == []
    want = fixed_rows(fixed)
    if "rows" in expected:
        want = {n: want[n] for n in expected["rows"]}
        if name == "newline-inside-unquoted-field.csv":  # the split record: 1 and 3 as written
            want = {1: ["1", "Alice", "First line"], 3: ["2", "Bob", "Valid row"]}
    assert rows == want
    assert [(r.row, r.line, r.actual) for r in ragged] == expected.get("ragged", [])
    assert [(r.row, r.actual) for c in chunks for r in c.short] == expected.get("short", [])


def test_hadoop_dirty_customers_report_the_shifted_rows_where_pandas_does(
    shared_data: Path,
) -> None:
    path = shared_data / "customers" / "customers-1000.hadoop-dirty.csv"
    rows, ragged, _ = read(open_csv(path, block_size=8192, chunk_rows=100))
    # pandas' C parser: "Expected 12 fields in line 815, saw 13"
    assert [(r.row, r.line, r.expected, r.actual) for r in ragged] == [
        (814, 815, 12, 13),
        (853, 854, 12, 14),
    ]
    want, _ = oracle(path.read_text(encoding="utf-8"), ",")
    assert rows == want
    assert len(rows) + len(ragged) == 1039


@pytest.mark.parametrize("name", ["customers-100.csv", "customers-10000.excel-mangled.csv"])
def test_customer_exports_read_as_the_csv_module_reads_them(shared_data: Path, name: str) -> None:
    path = shared_data / "customers" / name
    source = open_csv(path, block_size=16384, chunk_rows=999)
    rows, ragged, chunks = read(source)
    want, _ = oracle(path.read_text(encoding="utf-8"), ",")
    assert rows == want
    assert ragged == []
    assert max(len(c.frame) for c in chunks) <= 999


# --- encodings ----------------------------------------------------------------------------------

SAMPLE = "id,name,note\n1,José,Zürich “office” €5\n2,Ana,\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (SAMPLE.encode("utf-8"), "utf-8"),
        (SAMPLE.encode("utf-8-sig"), "utf-8-sig"),
        (SAMPLE.encode("utf-16"), "utf-16"),
        (b"\xfe\xff" + SAMPLE.encode("utf-16-be"), "utf-16"),
        (SAMPLE.encode("utf-32"), "utf-32"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-32-bom"],
)
def test_unicode_files_are_detected(tmp_path: Path, data: bytes, encoding: str) -> None:
    source = open_csv(write(tmp_path, data))
    rows, _, _ = read(source)
    assert source.encoding == encoding
    assert source.warnings == []
    assert source.columns == ["id", "name", "note"]
    assert rows == {1: ["1", "José", "Zürich “office” €5"], 2: ["2", "Ana", ""]}


def test_a_file_that_is_not_utf8_is_read_as_cp1252_with_a_warning(tmp_path: Path) -> None:
    source = open_csv(write(tmp_path, SAMPLE.encode("cp1252")))
    rows, _, _ = read(source)
    assert source.encoding == "cp1252"
    assert source.warnings == [
        "file is not UTF-8 (byte 0xE9 on line 2); read it as cp1252: "
        "pass --encoding to choose another"
    ]
    assert rows[1] == ["1", "José", "Zürich “office” €5"]


def test_a_byte_cp1252_leaves_undefined_means_latin1(tmp_path: Path) -> None:
    source = open_csv(write(tmp_path, b"id,name\n1,Andr\xe9\n2,Gr\xfc\xdfe\n3,x\x81y\n"))
    rows, _, _ = read(source)
    assert source.encoding == "latin-1"
    assert "read it as latin-1" in source.warnings[0]
    assert rows == {1: ["1", "André"], 2: ["2", "Grüße"], 3: ["3", "x\x81y"]}


#: Names and places as a customer file holds them, in every code page's letters.
WORDS = "Zoë Müller; Köln; René Çelik; São Paulo; Seán Ó Dónaill; Straße 5; MÜLLER"


@pytest.mark.parametrize(
    ("written", "extra"),
    [
        ("cp1252", " O’Brien – € 5"),  # Windows, smart quotes and all
        ("mac_roman", " O’Brien – 5"),  # Excel for Mac's CSV (Macintosh)
        ("cp850", ""),  # DOS-era programs
        ("latin-1", ""),  # the same letters as cp1252: read as cp1252
    ],
)
def test_a_file_that_is_not_utf8_is_read_in_the_code_page_its_letters_make_words_in(
    tmp_path: Path, written: str, extra: str
) -> None:
    text = f"id,name\n1,{WORDS}{extra}\n"
    source = open_csv(write(tmp_path, text.encode(written)))
    rows, _, _ = read(source)
    assert source.encoding == ("cp1252" if written == "latin-1" else written)
    assert rows == {1: ["1", f"{WORDS}{extra}"]}
    assert f"read it as {source.encoding}" in source.warnings[0]


@pytest.mark.parametrize(
    ("context", "score"),
    [
        ("Müe", 1),
        ("r’B", 1),
        ("oë ", 1),
        (" Ça", 1),
        ("MÜL", 1),  # letters in words
        ("MŸl", -1),
        ("nŽ ", -1),  # a capital inside a word of small letters
        ("M¸l", -1),
        ("r³▀", -1),  # a sign inside a word, or in a run of such
        (" ñ ", -1),  # a letter alone
        (" “q", 0),
        ("d” ", 0),
        (" – ", 0),
        (" € ", 0),  # quotes, dashes and signs by spaces
        ("x\x81y", -3),  # a control character
    ],
)
def test_word_score_says_how_word_like_a_character_is_between_its_neighbours(
    context: str, score: int
) -> None:
    assert word_score(*context) == score


def test_the_encoding_is_decided_over_the_whole_file_before_any_row(tmp_path: Path) -> None:
    # cp1252 text for more than one scan block, no UTF-8 beyond ASCII: every row is cp1252
    # (long rows: the bytes are the point, not how many rows hold them)
    head = "id,name\n" + "".join(f"{i},Ann {'x' * 80}\n" for i in range(1, 25_001))
    data = head.encode("utf-8") + "25001,José\n25002,Zoë\n".encode("cp1252")
    assert len(data) > 2 * _SCAN_BYTES
    source = open_csv(write(tmp_path, data))
    rows, _, _ = read(source)
    assert source.encoding == "cp1252"
    assert "byte 0xE9 on line 25002" in source.warnings[0]
    assert rows[25_001] == ["25001", "José"]
    assert rows[25_002] == ["25002", "Zoë"]


def test_a_utf8_file_with_a_broken_byte_stays_utf8_and_that_row_is_an_error(
    tmp_path: Path,
) -> None:
    # valid UTF-8 for more than one scan block, then one cp1252 byte: only its row is wrong
    head = "id,name\n" + "".join(f"{i},Zoë {'x' * 80}\n" for i in range(1, 25_001))
    data = head.encode("utf-8") + b"25001,Jos\xe9\n25002,Ann\n"
    assert len(data) > 2 * _SCAN_BYTES
    source = open_csv(write(tmp_path, data))
    rows, _, chunks = read(source)
    assert source.encoding == "utf-8"
    assert source.warnings == [
        "1 byte is not UTF-8 (the first: 0xE9 on line 25002) while the rest of the file is: "
        "its row is an error; the other rows are read as UTF-8"
    ]
    assert rows[1] == ["1", f"Zoë {'x' * 80}"] and rows[25_002] == ["25002", "Ann"]
    assert [u for c in chunks for u in c.undecodable] == [Undecodable(25_001, 25_002, 0xE9)]


def test_a_forced_encoding_wins(tmp_path: Path) -> None:
    source = open_csv(write(tmp_path, SAMPLE.encode("utf-8")), encoding="latin-1")
    rows, _, _ = read(source)
    assert source.encoding == "latin-1"
    assert source.warnings == []
    assert rows[1][1] == "JosÃ©"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_detected_or_forced(tmp_path: Path, codec: str) -> None:
    """Its NUL in every other byte tells UTF-16 apart from any other text encoding."""
    path = write(tmp_path, SAMPLE.encode(codec))
    detected = open_csv(path)
    assert detected.encoding == codec
    for source in (detected, open_csv(path, encoding=codec)):
        rows, _, _ = read(source)
        assert rows[1] == ["1", "José", "Zürich “office” €5"]


def test_a_forced_encoding_that_does_not_fit_is_refused_naming_byte_and_line(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "id,name\n1,Ann\n2,Jos\u00e9\n".encode("cp1252"))
    error = refusal(path, encoding="ascii")
    assert str(error) == (
        f"{path}, line 3: cannot be decoded as ascii at byte 19: pass the right --encoding "
        "(cp1252 is common for Windows exports)"
    )


@pytest.mark.parametrize(
    ("data", "options"),
    [
        ("id,name\n1,Ann\n2,Jos\u00e9\n".encode("cp1252"), {"encoding": "utf-8"}),
        (codecs.BOM_UTF8 + b"id,name\n1,Ann\n2,Jos\xe9\n", {}),
    ],
)
def test_utf8_given_or_marked_keeps_the_file_and_makes_the_broken_row_an_error(
    tmp_path: Path, data: bytes, options: dict[str, str]
) -> None:
    source = open_csv(write(tmp_path, data), **options)
    rows, _, chunks = read(source)
    assert rows[1] == ["1", "Ann"]
    assert [u for c in chunks for u in c.undecodable] == [Undecodable(2, 3, 0xE9)]


@pytest.mark.parametrize("encoding", ["no-such-codec", "rot13", "base64"])
def test_an_unknown_or_non_text_encoding_is_refused(tmp_path: Path, encoding: str) -> None:
    error = refusal(write(tmp_path, SAMPLE), encoding=encoding)
    assert f"unknown encoding {encoding!r}" in str(error)


# --- delimiters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed_respecting_quotes(tmp_path: Path, delimiter: str) -> None:
    others = "".join(d for d in ",;\t|" if d != delimiter)
    text = delimiter.join(["id", "name", "note"]) + "\n"
    text += delimiter.join(["1", "Ann", f'"a{others}b{delimiter}c"']) + "\n"
    text += delimiter.join(["2", "Bob", f"x{others}"]) + "\n"
    source = open_csv(write(tmp_path, text))
    rows, _, _ = read(source)
    assert source.delimiter == delimiter
    assert rows == {1: ["1", "Ann", f"a{others}b{delimiter}c"], 2: ["2", "Bob", f"x{others}"]}


def test_a_semicolon_file_with_commas_in_its_header_and_values(tmp_path: Path) -> None:
    text = "Last, First;Email;Amount\nDoe, Jane;j@x.org;3,50\nRoe, Rick;r@x.org;1,00\n"
    source = open_csv(write(tmp_path, text))
    assert source.delimiter == ";"
    assert source.columns == ["Last, First", "Email", "Amount"]


def test_a_single_column_file_is_fine(tmp_path: Path) -> None:
    source = open_csv(write(tmp_path, 'email\na@x.org\n"b,c@x.org"\n'))
    rows, _, _ = read(source)
    assert (source.delimiter, source.columns) == (",", ["email"])
    assert rows == {1: ["a@x.org"], 2: ["b,c@x.org"]}


@pytest.mark.parametrize("given", ["\t", "\\t", "tab", "TAB"])
def test_a_forced_delimiter_wins(tmp_path: Path, given: str) -> None:
    source = open_csv(write(tmp_path, "a,b\tc\n1,2\t3\n"), delimiter=given)
    rows, _, _ = read(source)
    assert (source.delimiter, source.columns, rows) == ("\t", ["a,b", "c"], {1: ["1,2", "3"]})


@pytest.mark.parametrize("given", ["", ";;", '"', "\n"])
def test_an_unusable_delimiter_is_refused(tmp_path: Path, given: str) -> None:
    assert "as the delimiter" in str(refusal(write(tmp_path, "a,b\n1,2\n"), delimiter=given))


# --- values and header --------------------------------------------------------------------------


def test_cells_stay_exactly_as_written(tmp_path: Path) -> None:
    text = 'zip,name,phone,note,empty\n00501,NA,+1 (555) 010,"  padded ",\n0,NULL,007,n/a,""\n'
    rows, _, _ = read(open_csv(write(tmp_path, text)))
    assert rows == {
        1: ["00501", "NA", "+1 (555) 010", "  padded ", ""],
        2: ["0", "NULL", "007", "n/a", ""],
    }


def test_header_names_are_trimmed_of_spaces_and_bom(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + b'  id ,\tFirst Name ,"Email\xc2\xa0"\n1,Ann,a@x.org\n'
    source = open_csv(write(tmp_path, data))
    assert source.columns == ["id", "First Name", "Email"]
    assert list(next(iter(source)).frame.columns) == ["id", "First Name", "Email"]


def test_repeated_header_names_are_read_with_their_count_and_said(tmp_path: Path) -> None:
    text = "\n\nEmail,Name, Email,Phone,Name,Name (2),Email\n1,2,3,4,5,6,7\n"
    source = open_csv(write(tmp_path, text))
    assert source.columns == [
        "Email", "Name", "Email (2)", "Phone", "Name (3)", "Name (2)", "Email (3)"
    ]  # fmt: skip
    assert source.warnings == [
        "column 3 repeats the name 'Email' of column 1: read as 'Email (2)'",
        "column 5 repeats the name 'Name' of column 2: read as 'Name (3)'",
        "column 7 repeats the name 'Email' of column 1: read as 'Email (3)'",
    ]
    rows, _, _ = read(source)
    assert rows == {1: ["1", "2", "3", "4", "5", "6", "7"]}


@pytest.mark.parametrize(
    ("header", "which", "columns", "row"),
    [
        ("id,,name,x", "column 2", ["id", "name", "x"], ["1", "3", "4"]),
        ("id,name, ,", "columns 3, 4", ["id", "name"], ["1", ""]),
    ],
)
def test_unnamed_columns_are_left_out_and_said(
    tmp_path: Path, header: str, which: str, columns: list[str], row: list[str]
) -> None:
    source = open_csv(write(tmp_path, f"{header}\n1,,3,4\n1,2,,\n"))
    assert source.warnings == [
        f"the header has no name for {which}: ignored (a row with a value there is an error; "
        "name the column to import it)"
    ]
    assert source.columns == columns
    chunks = list(source)
    assert chunks[0].frame.loc[1].tolist() == row
    stray = [(s.row, s.column, s.value) for s in chunks[0].stray]
    assert stray == ([(2, 2, "2")] if which == "column 2" else [(1, 3, "3"), (1, 4, "4")])


def test_a_trailing_delimiter_on_every_line_is_an_unnamed_empty_column(tmp_path: Path) -> None:
    text = "First,Last,Email,\nAnn,Lee,ann@example.com,\nBo,Ray,bo@example.com\n"
    source = open_csv(write(tmp_path, text))
    assert source.columns == ["First", "Last", "Email"]
    rows, ragged, chunks = read(source)
    assert rows == {1: ["Ann", "Lee", "ann@example.com"], 2: ["Bo", "Ray", "bo@example.com"]}
    assert (ragged, chunks[0].short, chunks[0].stray) == ([], [], [])


def test_a_delimiter_ending_the_data_rows_only_is_an_unnamed_column(tmp_path: Path) -> None:
    """A header without the trailing delimiter its data rows all have: read, not every row
    ragged; a value after that delimiter is still an error on its row."""
    people = [f"P{i},p{i}@example.com," + ("extra" if i == 2 else "") for i in range(1, 12)]
    source = open_csv(write(tmp_path, "First,Email\n" + "\n".join(people) + "\n"))
    assert source.columns == ["First", "Email"]
    assert source.warnings == [
        "the data rows have 3 fields and the header 2 (a delimiter ends every data row): "
        "field 3 is ignored; a row with a value there is an error"
    ]
    rows, ragged, chunks = read(source)
    assert rows[1] == ["P1", "p1@example.com"] and len(rows) == 11 and ragged == []
    assert [(s.row, s.column, s.value) for s in chunks[0].stray] == [(2, 3, "extra")]


def test_a_header_of_no_names_is_refused(tmp_path: Path) -> None:
    assert "the header names no column" in str(refusal(write(tmp_path, ",,\n1,2,3\n")))


# --- refusals -----------------------------------------------------------------------------------


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert str(refusal(tmp_path / "nope.csv")).endswith("nope.csv: no such file: check the path")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert "is a directory" in str(refusal(tmp_path))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "is empty"),
        (b"\r\n\n\r", "no header row, only blank lines"),
        (b"id,name\n", "header but no data rows"),
        (b"id,name\r\n\r\n\r\n", "header but no data rows"),
    ],
    ids=["empty", "blank-lines", "header-only", "header-then-blank-lines"],
)
def test_a_file_without_data_rows_is_refused(tmp_path: Path, data: bytes, words: str) -> None:
    assert words in str(refusal(write(tmp_path, data)))


def test_a_nul_byte_is_refused_naming_its_line(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, b'id,note\n1,"two\nlines"\n2,bad\x00byte\n'))
    assert error.line == 4
    assert "NUL byte" in str(error)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('id,name,note\n1,Ann,"unclosed\n2,Bob,fine\n3,Cy,fine\n', 2),
        ('a,b,c\n1,"two\nlines","opens here\n2,3,4\n', 3),
        ('a,b\n1,x\n2,"' + "long line\n" * 20_000, 3),  # past the csv module's field limit
    ],
    ids=["simple", "second-line-of-a-record", "field-limit"],
)
def test_an_unclosed_quote_is_refused_naming_the_line_it_opens(
    tmp_path: Path, text: str, line: int
) -> None:
    error = refusal(write(tmp_path, text))
    assert error.line == line
    assert "quoted field starts on this line and is never closed" in str(error)


@pytest.mark.parametrize(
    "text",
    ['a,b\n1,x\n2,"He said "hi" twice"\n', 'a,b\n1,x\n2,"closed" ,y\n', 'a,b\n1,x\n2,"x"y\n'],
)
def test_text_after_a_closing_quote_is_refused_naming_the_line(tmp_path: Path, text: str) -> None:
    error = refusal(write(tmp_path, text))
    assert error.line == 3
    assert "text follows the closing quote of a field" in str(error)


def test_a_stray_quote_across_a_scan_block_boundary_is_caught(tmp_path: Path) -> None:
    prefix = "a,b\n" + "1,x\n" * (_SCAN_BYTES // 4)
    text = prefix[: _SCAN_BYTES - 6] + '\n2,"q"z\n3,y\n'
    assert text.index('"z') == _SCAN_BYTES - 1  # the closing quote ends the first block
    assert "text follows the closing quote" in str(refusal(write(tmp_path, text)))


def test_quotes_inside_unquoted_fields_are_kept_as_written(tmp_path: Path) -> None:
    # an odd number of quotes, some in the middle of a field: a closer look finds nothing wrong
    text = 'name,height\nAnn,5\'6"\nBob, "tall"\nCy,6" or so\nDee,x"y\n'
    rows, _, _ = read(open_csv(write(tmp_path, text)))
    assert rows == {
        1: ["Ann", "5'6\""],
        2: ["Bob", ' "tall"'],
        3: ["Cy", '6" or so'],
        4: ["Dee", 'x"y'],
    }


# --- row numbers, chunks and blocks ---------------------------------------------------------------


def test_row_numbers_skip_blank_lines_and_span_embedded_newlines(tmp_path: Path) -> None:
    text = 'id,note\n\n1,"a\nb"\r\n\r\n2,x\n3,y,z\n\n\n4,"c\r\nd"\n5\n6,last'
    rows, ragged, _ = read(open_csv(write(tmp_path, text)))
    assert rows == {1: ["1", "a\nb"], 2: ["2", "x"], 4: ["4", "c\r\nd"], 6: ["6", "last"]}
    assert [(r.row, r.line, r.actual, r.text) for r in ragged] == [
        (3, 7, 3, "3,y,z"),
        (5, 12, 1, "5"),
    ]


def random_csv(seed: int, records: int) -> str:
    """Rows of every shape: ragged, blank lines, quoted newlines, CR/LF/CRLF, accents, quotes."""
    rng = random.Random(seed)
    out = io.StringIO(newline="")
    out.write("id,first,note,zip\r\n")
    values = ["", "NA", "007", "Zoë", "a,b", 'say "hi"', "x\ny", "x\r\ny", "x\ry", "€", " "]
    for i in range(1, records + 1):
        kind = rng.random()
        if kind < 0.05:
            out.write(rng.choice(["\n", "\r\n"]))
        width = 4 if kind > 0.15 else rng.choice([1, 2, 3, 5, 6])
        fields = [str(i)] + [rng.choice(values) for _ in range(width - 1)]
        for n, value in enumerate(fields):
            if any(c in value for c in ',"\r\n') or rng.random() < 0.1:
                fields[n] = '"' + value.replace('"', '""') + '"'
        out.write(",".join(fields) + rng.choice(["\n", "\r\n", "\r"]))
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-16"])
@pytest.mark.parametrize(("block_size", "chunk_rows"), [(512, 7), (4096, 100), (1 << 20, 50_000)])
def test_rows_and_ragged_rows_keep_their_numbers_across_blocks_and_chunks(
    tmp_path: Path, encoding: str, block_size: int, chunk_rows: int
) -> None:
    text = random_csv(seed=block_size, records=3000)
    path = write(tmp_path, text.encode(encoding))
    source = open_csv(path, block_size=block_size, chunk_rows=chunk_rows)
    rows, ragged, chunks = read(source)
    want_rows, want_ragged = oracle(text, ",")
    assert source.encoding == encoding
    assert rows == want_rows
    assert [(r.row, r.line, r.actual) for r in ragged] == want_ragged
    assert len(want_ragged) > 100
    assert all(len(c.frame) <= chunk_rows + len(c.short) for c in chunks)
    if chunk_rows < 3000:
        assert len(chunks) > 3000 // chunk_rows // 2


def test_a_crlf_inside_quotes_at_a_block_boundary_keeps_its_lf(tmp_path: Path) -> None:
    # pyarrow drops a LF that opens a buffer after one that ended in CR (apache/arrow#51368)
    block = 1024
    note = "x" * (block - len('1,"') - 1) + "\r\ny"
    text = f'id,note\n1,"{note}"\n2,"a\r\nb"\n'
    assert text.encode().index(b"\r", len("id,note\n")) == len("id,note\n") + block - 1
    rows, _, _ = read(open_csv(write(tmp_path, text), block_size=block))
    assert rows == {1: ["1", note], 2: ["2", "a\r\nb"]}


def test_a_record_longer_than_a_block_is_read_whole(tmp_path: Path) -> None:
    long = "y" * 5000
    text = f'id,note\n1,a\n2,"{long}\n{long}"\n3,{long}\n4,z,extra\n5,b\n'
    rows, ragged, _ = read(open_csv(write(tmp_path, text), block_size=1024, chunk_rows=1))
    assert rows == {1: ["1", "a"], 2: ["2", f"{long}\n{long}"], 3: ["3", long], 5: ["5", "b"]}
    assert [(r.row, r.line) for r in ragged] == [(4, 6)]


def test_a_long_run_of_ragged_rows_comes_out_in_bounded_chunks(tmp_path: Path) -> None:
    text = "a,b\n1,x\n" + "".join(f"{i}\n" for i in range(2, 2002)) + "2002,y\n"
    rows, ragged, chunks = read(open_csv(write(tmp_path, text), block_size=256, chunk_rows=50))
    assert rows == {1: ["1", "x"], 2002: ["2002", "y"]}
    assert [r.row for r in ragged] == list(range(2, 2002))
    assert [r.line for r in ragged] == list(range(3, 2003))
    # a chunk takes the ragged rows placed so far: chunk_rows, and at most a block or two more
    assert len(chunks) > 10
    assert max(len(c.ragged) for c in chunks) < 4 * 50


def test_a_200k_row_file_streams_in_several_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as file:
        file.write("id,email,zip\n")
        file.writelines(f"{i},user{i}@example.com,{i % 100000:05d}\n" for i in range(1, 200_001))
    source = open_csv(path)
    sizes, first, last = [], None, 0
    for chunk in source:
        sizes.append(len(chunk.frame))
        index = chunk.frame.index
        assert list(index) == list(range(last + 1, last + 1 + len(index)))
        assert (chunk.frame["id"] == index.astype(str)).all()
        first = first or chunk.frame.iloc[0].tolist()
        last = index[-1]
        assert chunk.ragged == []
    full, rest = divmod(200_000, CHUNK_ROWS)  # the default chunk_rows
    assert sizes == [CHUNK_ROWS] * full + [rest][: bool(rest)]
    assert first == ["1", "user1@example.com", "00001"]
    assert last == 200_000


def test_a_source_can_be_read_twice(tmp_path: Path) -> None:
    source = open_csv(write(tmp_path, random_csv(seed=1, records=200)), chunk_rows=30)
    first, second = read(source), read(source)
    assert first[:2] == second[:2]
    assert all(a.frame.equals(b.frame) for a, b in zip(first[2], second[2], strict=True))


def test_chunk_rows_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        open_csv(write(tmp_path, "a\n1\n"), chunk_rows=0)


def test_frames_are_pandas_frames_of_pyarrow_strings(tmp_path: Path) -> None:
    chunk = next(iter(open_csv(write(tmp_path, "a,b\n1,\n"))))
    assert isinstance(chunk.frame, pd.DataFrame)
    assert chunk.frame["b"].dtype == pd.StringDtype("pyarrow")
    assert chunk.frame.loc[1, "b"] == ""


# --- preamble before the header ----------------------------------------------------------------
H = ["First Name", "Last Name", "Email", "Phone"]
ROW = ["Ann", "Lee", "ann@example.com", "555 0100"]
WIDE = [f"Column {letter}" for letter in "ABCDEFGHIJ"]
WIDE_ROW = [f"value {n}" for n in range(10)]


@pytest.mark.parametrize(
    ("records", "header"),
    [
        ([H, ROW, ROW], 0),  # no preamble
        ([["Client list"], H, ROW, ROW], 1),
        ([["Invoice Ninja"], ["Exported 2024-05-01"], [""], H, ROW, ROW], 3),
        ([["Report", "", "", ""], H, ROW], 1),  # a title padded with delimiters
        ([H[:3], ROW, ROW], 0),  # a full first record is the header, whatever its width
        ([["Total"], ROW, ROW], 0),  # no record looks like names: the first stays the header
        ([["x"], ["2024-05-01", "12", "3", "4"], ROW], 0),  # numbers are no names
        ([["x"], ["a", "a", "b", "c"], ROW], 0),  # repeated values are no names
        # a name repeated once among many (Invoice Ninja v4's two "Phone" columns) is a header
        ([["Clients"], [*WIDE, "Column A"], [*WIDE_ROW, "1"], [*WIDE_ROW, "2"]], 1),
        ([["Clients"], [*WIDE[:7], "x", "x", "x"], WIDE_ROW, WIDE_ROW], 0),  # 3 of 10 alike: data
        # two names repeated among 19 (a Monday.com board's "Phone Number", "Email Address")
        (
            [
                ["Members 2025"],
                [*WIDE, *(f"More {n}" for n in range(7)), "Column A", "Column B"],
                [f"value {n}" for n in range(19)],
                [f"cell {n}" for n in range(19)],
            ],
            1,
        ),
        ([["only"]], 0),
        ([], 0),
    ],
)
def test_find_header_skips_a_preamble_only_before_a_row_of_names(
    records: list[list[str]], header: int
) -> None:
    assert find_header(records) == header


def test_a_preamble_is_detected_said_and_skipped(tmp_path: Path) -> None:
    text = 'Acme Corp "client" export\nGenerated 2024-05-01\n\nName,Email,Phone\nAnn,a@x.org,1\n'
    source = open_csv(write(tmp_path, text))
    assert (source.columns, source.skip_lines) == (["Name", "Email", "Phone"], 3)
    assert source.warnings == [
        "lines 1-3 are not the header (too few values for column names): read the header from "
        "line 4; pass --skip-lines N to say how many lines come before it"
    ]
    assert read(source)[0] == {1: ["Ann", "a@x.org", "1"]}


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_preamble_does_not_decide_the_delimiter(tmp_path: Path, delimiter: str) -> None:
    body = "\n".join(delimiter.join(r) for r in [H, ROW, ROW])
    source = open_csv(write(tmp_path, f"Contacts, all of them\n{body}\n"))
    assert (source.delimiter, source.columns, source.skip_lines) == (delimiter, H, 1)


def test_skip_lines_reads_the_header_after_them_and_counts_lines_from_the_top(
    tmp_path: Path,
) -> None:
    text = "# exported\n# by hand, 3 cols\nid,name\n1,Ann\n2,Bo,extra\n"
    source = open_csv(write(tmp_path, text), skip_lines=2)
    assert (source.columns, source.warnings) == (["id", "name"], [])
    rows, ragged, _ = read(source)
    assert rows == {1: ["1", "Ann"]}
    assert [(r.row, r.line) for r in ragged] == [(2, 5)]


def test_skip_lines_0_reads_line_1_as_the_header(tmp_path: Path) -> None:
    source = open_csv(write(tmp_path, "Title\nName,Email\nAnn,a@x.org\n"), skip_lines=0)
    assert source.columns == ["Title"]


def test_skipping_every_line_leaves_no_header(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, "a,b\n1,2\n\n"), skip_lines=3)
    assert "has no header row, only blank lines" in str(error)
    assert "(after the 3 lines skipped)" in str(error)


@pytest.mark.parametrize("skip", [5, 99_999_999])
def test_skipping_past_the_end_is_one_line_at_once(tmp_path: Path, skip: int) -> None:
    error = refusal(write(tmp_path, "a,b\n1,2\n"), skip_lines=skip)
    assert str(error) == (
        f"{tmp_path / 'in.csv'}: --skip-lines {skip} skips past the end of the file (it has 2 "
        "lines): give the number of lines before the header, or leave --skip-lines out to "
        "detect it"
    )


def test_a_broken_quote_after_a_preamble_is_found_at_its_line(tmp_path: Path) -> None:
    text = 'Report "Q1\nName,Note\nAnn,"open\nBo,x\n'
    error = refusal(write(tmp_path, text), skip_lines=1)
    assert error.line == 3


# --- rows with too few fields ------------------------------------------------------------------
def test_short_rows_read_as_empty_at_the_end_unless_their_values_would_shift(
    tmp_path: Path,
) -> None:
    text = (
        "id,name,email,phone\n"
        "1,Ann\n"  # short: read, phone and email empty
        "2,Bo,bo@x.org,5\n"
        "3;Cy;cy@x.org\n"  # one field: another delimiter
        "4,Di,first part\n"  # cut in two by a line break: 3 + 2 fields = 4 + 1
        "of the note,6\n"
        "5,Ed,ed@x.org,7,8\n"  # too many: values would shift
    )
    rows, ragged, chunks = read(open_csv(write(tmp_path, text)))
    assert rows == {1: ["1", "Ann", "", ""], 2: ["2", "Bo", "bo@x.org", "5"]}
    assert [(r.row, r.actual) for r in chunks[0].short] == [(1, 2)]
    assert [(r.row, r.line, r.actual) for r in ragged] == [
        (3, 4, 1),
        (4, 5, 3),
        (5, 6, 2),
        (6, 7, 5),
    ]


@pytest.mark.parametrize(
    ("text", "footer"),
    [
        # QuickBooks: blank lines, then when the report ran
        ('a,b\n1,2\n\n\n"Tuesday, Jan 02, 2024 09:15:34 AM GMT-08:00"\n',
         ['"Tuesday, Jan 02, 2024 09:15:34 AM GMT-08:00"']),
        # Salesforce: the totals right under the table, a blank line, the small print
        ('a,b\n1,2\n"Grand Totals (1 records)"\n\n"Copyright (c) 2024"\n"Generated By: Jo"',
         ['"Grand Totals (1 records)"', '"Copyright (c) 2024"', '"Generated By: Jo"']),
        ("a,b\r\n1,2\r\n,\r\nTotal: 1\r\n", ["Total: 1"]),  # a row of empty cells is blank
        # a spreadsheet saved as CSV pads each line to the table's width
        ("a,b,c\n1,2,3\n,,\nGrand Totals (1 records),,\n\"Copyright (c) 2024, Acme\",,\n",
         ["Grand Totals (1 records)", "Copyright (c) 2024, Acme"]),
        ("a,b,c\n1,2,3\n,,\nTotal,1,\n", []),  # a second value: a row
        ("a,b\n1,2\n\nBob\nCara Jones\n", []),  # names under a gap: no number, rows
        ("a,b\n1,2\nAnn\n", []),  # a last row cut short: no blank line before it
        ("a,b\n1,2\n\nann@example.com\n", []),  # an email alone is a row, not small print
        ("a,b\n1,2\n\n2999\n", []),  # so is a number
        ("a,b\n1,2\n\n\n", []),  # blank lines alone
        ('a,b\n1,"two\n\nlines"\n', []),  # the end of a quoted field
        ("a\n1\n\n2\n", []),  # one column: every row is one field
        ("a,b\n1,2\n\n" + "x\n" * 11, []),  # more lines than a footer has
    ],
)  # fmt: skip
def test_a_report_footer_is_the_lines_of_one_field_after_a_blank_line_at_the_end(
    text: str, footer: list[str]
) -> None:
    assert [line for _, line in report_footer(text, ",", whole=True)] == footer


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 30_000])
def test_a_footer_padded_to_the_table_s_width_is_left_out_however_the_rows_are_chunked(
    tmp_path: Path, chunk_rows: int
) -> None:
    text = (
        "id,name,email\n1,Ann,ann@example.com\n2,Bo,\n3,Cy,cy@example.com\n,,\n"
        "Grand Totals (3 records),,\nConfidential,,\nGenerated By: Jo,\n"
    )
    source = open_csv(write(tmp_path, text), chunk_rows=chunk_rows)
    rows, ragged, chunks = read(source)
    assert (list(rows), ragged) == ([1, 2, 3], [])
    assert [r.row for c in chunks for r in c.short] == []  # "Generated By: Jo," is no row
    assert (
        "lines 6-8 are after the table, a report's footer ('Grand Totals (3 records)', ...): not "
        "customers, left out" in source.warnings
    )


def test_a_report_footer_is_left_out_with_a_warning_naming_its_lines(tmp_path: Path) -> None:
    body = "".join(f"{i},Ann{i}\n" for i in range(1, 5001))  # more than the tail looked at
    text = f'id,name\n{body}"Grand Totals (5000 records)"\n\n"Confidential"\n"Acme Inc."\n'
    source = open_csv(write(tmp_path, text.encode("utf-16")))  # a BOM, two bytes a character
    rows, ragged, _ = read(source)
    assert (len(rows), ragged) == (5000, [])
    assert (
        "lines 5002-5005 are after the table, a report's footer ('Grand Totals (5000 "
        "records)', ...): not customers, left out" in source.warnings
    )
