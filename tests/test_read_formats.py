"""Every input format behind one Source: the same customers as .csv, .xlsx, .ods, .xls, .csv.gz,
a .zip and stdin import the same; what cannot be read is one line, exit 2.

The workbooks are committed under tests/data/formats/ (made by make_fixtures.py there)."""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import zipfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import pytest
import python_calamine
from click.testing import Result

from importer.read import cell_text, count_rows, open_source
from importer.read.formats import MAX_SPOOLED_LINE, Format, format_of, unbroken, zip_member
from importer.read.sheet import open_sheet
from importer.read.xlsx_stream import XlsxStream, padded, sheet_xml_bytes
from importer.sandbox import Sandbox

FORMATS = Path(__file__).parent / "data" / "formats"
MAPPING = FORMATS / "customers.yaml"
CSV = FORMATS / "customers.csv"
EVERY_FORMAT = ["customers.csv", "customers.xlsx", "customers.ods", "customers.xls",
                "customers.csv.gz"]  # fmt: skip
VOLATILE = {"id", "created", "updated"}
NUMBERS = "is an Apple Numbers file: export it as CSV or Excel (File > Export To) and pass that"
SUMMARY = "6 rows read: 5 valid, 1 invalid, 0 warnings."

Invoke = Callable[..., Result]
Rows = Callable[[Path], list[dict[str, str]]]


def without_ids(value: Any) -> Any:
    """A sandbox customer as it was sent: its ids and times left out."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def import_into_sandbox(
    file: Path, box: Sandbox, tmp_path: Path, invoke: Invoke, env: dict[str, str | None], **kw: Any
) -> tuple[Result, Path]:
    results = tmp_path / f"{file.name}.results.csv"
    result = invoke("run", file, "-m", MAPPING, "-o", results, "--yes",
                    "--state", tmp_path / f"{file.name}.state.sqlite", env=env, **kw)  # fmt: skip
    return result, results


def test_the_same_customers_in_every_format_give_the_same_results_and_payloads(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Invoke,
    read_rows: Rows,
    tmp_path: Path,
) -> None:
    seen = {}
    for name in EVERY_FORMAT:
        box = serve_sandbox()
        result, results = import_into_sandbox(FORMATS / name, box, tmp_path, invoke,
                                              sandbox_env(box))  # fmt: skip
        assert result.exit_code == 1, result.output
        assert result.stdout.splitlines()[0] == "6 rows: 5 created, 1 invalid, 0 failed."
        lines = read_rows(results)
        customers = sorted(
            (without_ids(c) for c in box.state.customers.values()),
            key=lambda c: c["emails"][0]["value"],
        )  # creates land in any order
        seen[name] = ([{k: v for k, v in line.items() if k != "customer_id"} for line in lines],
                      customers)  # fmt: skip
    first = seen[EVERY_FORMAT[0]]
    assert [line["status"] for line in first[0]] == ["created"] * 2 + ["invalid"] + ["created"] * 3
    zoe = next(c for c in first[1] if c["firstName"] == "Zoë")
    assert zoe["phones"][0]["value"] == "4915112345678"
    assert zoe["properties"] == {"signup-date": "2024-01-31", "seats": 12, "vip": True}
    for name in EVERY_FORMAT[1:]:
        assert seen[name] == first, name


@pytest.mark.parametrize("name", EVERY_FORMAT)
def test_validate_reads_every_format_alike(invoke: Invoke, name: str) -> None:
    result = invoke("validate", FORMATS / name, "-m", MAPPING)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == SUMMARY
    assert "row 3, Email: error: email: 'not-an-email'" in result.stdout


def test_a_workbook_renamed_csv_is_read_as_the_workbook_its_bytes_say(
    invoke: Invoke, tmp_path: Path
) -> None:
    renamed = tmp_path / "export.csv"
    renamed.write_bytes((FORMATS / "customers.xlsx").read_bytes())
    result = invoke("validate", renamed, "-m", MAPPING)
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (1, SUMMARY)


def test_the_default_sheet_is_the_first_holding_a_table(invoke: Invoke) -> None:
    result = invoke("validate", FORMATS / "readme_first.xlsx", "-m", MAPPING)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == SUMMARY
    assert result.stderr.splitlines()[0] == (
        "Warning: read sheet 'Customers' (sheets before it hold no table): pass --sheet to "
        "choose another"
    )


def test_a_table_on_a_later_sheet_is_named_not_lost(invoke: Invoke) -> None:
    path = FORMATS / "two_tables.xlsx"
    result = invoke("validate", path, "-m", MAPPING)
    assert result.stderr.splitlines()[0] == (
        f"Warning: {path}: read sheet 'EU' only; sheet 'US' holds a table too and is not "
        "read: import it with --sheet 'US'"
    )
    assert result.stdout.splitlines()[-1].startswith("1 row read")
    chosen = invoke("validate", path, "-m", MAPPING, "--sheet", "US")
    assert "Warning" not in chosen.stderr and chosen.stdout.splitlines()[-1].startswith("1 row")


@pytest.mark.parametrize("sheet", ["Customers", "customers", "2"])
def test_sheet_chooses_a_sheet_by_name_or_number(invoke: Invoke, sheet: str) -> None:
    result = invoke("validate", FORMATS / "readme_first.xlsx", "-m", MAPPING, "--sheet", sheet)
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (1, SUMMARY)
    assert "Warning" not in result.stderr


@pytest.mark.parametrize(
    ("file", "sheet", "message"),
    [
        ("readme_first.xlsx", "Orders",
         "has no sheet 'Orders': pass --sheet with one of 'Read me', 'Customers' (or its "
         "number, from 1)"),
        ("readme_first.xlsx", "3",
         "has no sheet '3': pass --sheet with one of 'Read me', 'Customers' (or its number, "
         "from 1)"),
        ("customers.csv", "1", "--sheet 1: this is a CSV, not a workbook"),
    ],
)  # fmt: skip
def test_a_sheet_that_cannot_be_read_is_one_line_exit_2(
    invoke: Invoke, file: str, sheet: str, message: str
) -> None:
    result = invoke("validate", FORMATS / file, "-m", MAPPING, "--sheet", sheet)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {FORMATS / file}: {message}\n"


def test_a_sheet_chosen_is_read_even_when_it_holds_one_column(invoke: Invoke) -> None:
    result = invoke("validate", FORMATS / "readme_first.xlsx", "-m", MAPPING, "--sheet", "1")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "column 'First Name' is not in the CSV file; its columns are: 'This export lists our "
        "customers.'\n"
    )


def test_init_suggests_a_mapping_from_a_workbook(invoke: Invoke) -> None:
    result = invoke("init", FORMATS / "readme_first.xlsx", "--sheet", "Customers")
    assert result.exit_code == 0, result.output
    assert "Email" in result.stdout and "Last Name" in result.stdout


def test_the_rejects_of_a_workbook_are_a_csv_of_its_cells_as_shown(
    invoke: Invoke, tmp_path: Path
) -> None:
    rejects = tmp_path / "fix.csv"
    result = invoke("validate", FORMATS / "customers.ods", "-m", MAPPING, "--rejects", rejects)
    assert result.exit_code == 1
    (line,) = rejected_lines(rejects)
    assert line["row"] == "3" and line["Email"] == "not-an-email"
    assert (line["Phone"], line["Signed Up"], line["VIP"]) == ("4420794600", "2022-06-15", "FALSE")


def rejected_lines(path: Path) -> list[dict[str, str]]:
    """A rejects file's lines (it starts with a byte-order mark, for spreadsheets)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_stdin_is_read_and_a_second_run_of_the_same_bytes_resumes_it(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Invoke,
    read_rows: Rows,
    tmp_path: Path,
) -> None:
    box = serve_sandbox()
    data = CSV.read_bytes()
    state, results = tmp_path / "stdin.state.sqlite", tmp_path / "results.csv"
    for _ in range(2):
        result = invoke("run", "-", "-m", MAPPING, "-o", results, "--state", state, "--yes",
                        env=sandbox_env(box), input=data)  # fmt: skip
        assert result.exit_code == 1, result.output
    assert len(box.state.customers) == 5  # the second run created nobody again
    assert [line["status"] for line in read_rows(results)].count("created") == 0


@pytest.mark.parametrize("name", EVERY_FORMAT)
def test_validate_reads_stdin_in_every_format(invoke: Invoke, name: str) -> None:
    result = invoke("validate", "-", "-m", MAPPING, input=(FORMATS / name).read_bytes())
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (1, SUMMARY)


@pytest.mark.parametrize(("suffix", "pack"), [(".bz2", bz2.compress), (".xz", lzma.compress)])
def test_a_csv_packed_by_bzip2_or_xz_is_read(
    invoke: Invoke, tmp_path: Path, suffix: str, pack: Callable[[bytes], bytes]
) -> None:
    packed = tmp_path / f"export.csv{suffix}"
    packed.write_bytes(pack(CSV.read_bytes()))
    result = invoke("validate", packed, "-m", MAPPING)
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (1, SUMMARY)


def test_a_zip_holding_one_csv_is_read(invoke: Invoke, tmp_path: Path) -> None:
    packed = tmp_path / "export.zip"
    with zipfile.ZipFile(packed, "w") as archive:
        archive.write(CSV, "export/customers.csv")
    result = invoke("validate", packed, "-m", MAPPING)
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (1, SUMMARY)


def numbers_file(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Index/Document.iwa", b"\0")
        archive.writestr("Metadata/Properties.plist", b"")


def two_files(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(CSV, "a.csv")
        archive.write(CSV, "b.csv")


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("report.pdf", lambda p: p.write_bytes(b"%PDF-1.7\n%\xe2\xe3\n"),
         "is a PDF, not a table: export the data as CSV or Excel"),
        ("people.numbers", numbers_file,
         NUMBERS),
        ("both.zip", two_files,
         "is a zip archive of 2 files (a.csv, b.csv): unzip it and pass the CSV to import"),
        ("cut.csv.gz", lambda p: p.write_bytes(gzip.compress(CSV.read_bytes())[:40]),
         "cannot be unpacked as gzip (Compressed file ended before the end-of-stream marker "
         "was reached): is the file complete?"),
        ("cut.csv.xz", lambda p: p.write_bytes(lzma.compress(CSV.read_bytes())[:40]),
         "cannot be unpacked as xz (Compressed file ended before the end-of-stream marker "
         "was reached): is the file complete?"),
        ("export.7z", lambda p: p.write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\0" * 30),
         "is a 7-Zip archive: unpack it and pass the CSV"),
        ("locked.xlsx", lambda p: p.write_bytes(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "EncryptedPackage".encode(
                "utf-16-le")),
         "is an encrypted (password-protected) workbook: save it without a password, or "
         "export the sheet as CSV"),
    ],
)  # fmt: skip
def test_a_format_that_cannot_be_read_is_named_in_one_line_exit_2(
    invoke: Invoke, tmp_path: Path, name: str, make: Callable[[Path], None], message: str
) -> None:
    path = tmp_path / name
    make(path)
    for command in (["validate", path, "-m", MAPPING], ["init", path]):
        result = invoke(*command)
        assert (result.exit_code, result.stderr) == (2, f"Error: {path}: {message}\n")


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x1f\x8b\x08\x00", "packed"),
        (b"BZh91AY&", "packed"),
        (b"\xfd7zXZ\x00\x00\x04", "packed"),
        (b"BZh,Name", "csv"),  # a header that starts like bzip2's magic
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "refused"),
        (b"Rar!\x1a\x07\x01\x00", "refused"),
        (b"\x28\xb5\x2f\xfd\x24\x00", "refused"),
        (b"PK\x03\x04\x14\x00", "zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "sheet"),
        (b"%PDF-1.4", "refused"),
        (b"{\\rtf1", "refused"),
        (b"Email,Name\n", "csv"),
        (b"\xef\xbb\xbfEmail", "csv"),
        (b"", "csv"),
    ],
)
def test_the_first_bytes_pick_the_reader(head: bytes, kind: str) -> None:
    assert format_of(head).kind == kind


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["[Content_Types].xml", "xl/workbook.xml"], Format("sheet", "xlsx")),
        (["mimetype", "content.xml"], Format("sheet", "ods")),
        (["xl/workbook.bin", "xl/worksheets/sheet1.bin"], Format("sheet", "xlsb")),
        (["Index/Document.iwa"], Format("refused", NUMBERS)),
        (["export.csv"], Format("member", "export.csv")),
        (["out/", "out/export.csv", "__MACOSX/._export.csv"], Format("member", "out/export.csv")),
        (["Contacts/Ada.vcf", "Contacts/Alan.VCF", "__MACOSX/._Ada.vcf"], Format("cards", "")),
        (
            ["Ada.vcf", "notes.txt"],
            Format(
                "refused",
                "is a zip archive of 2 files (Ada.vcf, "
                "notes.txt): unzip it and pass the CSV to import",
            ),
        ),
    ],
)
def test_what_a_zip_holds_picks_the_reader(names: list[str], expected: Format) -> None:
    assert zip_member(names) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (4915112345678.0, "4915112345678"),
        (12.0, "12"),
        (12, "12"),
        (0.5, "0.5"),
        (0.1 + 0.2, "0.3"),
        (-2.0, "-2"),
        (1e16, "10000000000000000"),
        (True, "TRUE"),
        (False, "FALSE"),
        ("007", "007"),
        (None, ""),
        ("", ""),
    ],
)
def test_a_cell_is_the_text_the_spreadsheet_shows(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_dates_are_iso_and_a_midnight_datetime_is_its_date() -> None:
    import datetime as dt

    assert cell_text(dt.date(2024, 1, 31)) == "2024-01-31"
    assert cell_text(dt.datetime(2024, 1, 31)) == "2024-01-31"
    assert cell_text(dt.datetime(2024, 1, 31, 13, 45)) == "2024-01-31T13:45:00"


def test_a_workbook_source_numbers_rows_past_a_blank_one() -> None:
    source = open_source(FORMATS / "customers.xlsx")
    (chunk,) = list(source)
    assert chunk.frame.index.tolist() == [1, 2, 3, 4, 5, 6]
    assert chunk.frame.loc[5, "First Name"] == "Aiko"
    assert (source.encoding, source.delimiter) == ("xlsx", ",")


@pytest.mark.parametrize(("option", "value"), [("--encoding", "cp1252"), ("--delimiter", ";")])
def test_a_text_option_on_a_workbook_is_one_line_exit_2(
    invoke: Invoke, option: str, value: str
) -> None:
    path = FORMATS / "customers.xlsx"
    result = invoke("validate", path, "-m", MAPPING, option, value)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {path}: is a workbook (xlsx): it has no {option[2:]}, leave {option} out\n",
    )


@pytest.mark.parametrize(
    ("block", "run", "after"),
    [(b"abc", 0, 3), (b"abc", 10, 13), (b"a\nbc", 10, 2), (b"ab\r", 5, 0), (b"\n", 99, 0)],
)
def test_the_bytes_since_the_last_line_break_are_counted_across_blocks(
    block: bytes, run: int, after: int
) -> None:
    assert unbroken(block, run) == after


def test_a_gzip_bomb_is_refused_before_it_is_unpacked_to_the_end(
    invoke: Invoke, tmp_path: Path
) -> None:
    bomb = tmp_path / "export.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as packed:
        for _ in range(MAX_SPOOLED_LINE // (1 << 20) + 2):
            packed.write(b"\0" * (1 << 20))
    result = invoke("validate", bomb, "-m", MAPPING)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {bomb}: holds more than 64 MB without a line break: is this a CSV? (a CSV has "
        "one row per line)\n",
    )


@pytest.mark.parametrize("name", EVERY_FORMAT)
def test_the_plan_of_every_format_is_the_same(invoke: Invoke, name: str) -> None:
    result = invoke("run", FORMATS / name, "-m", MAPPING, "--dry-run")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        SUMMARY,
        "Plan: create 5 customers with 5 requests (10 of the per-minute budget: a create costs 2).",
    ]


@pytest.mark.parametrize(
    ("name", "rows"),
    [("customers.csv", 7), ("customers.xlsx", None), ("customers.csv.gz", None), ("-", None)],
)
def test_the_row_counter_counts_lines_of_a_plain_csv_only(name: str, rows: int | None) -> None:
    """The progress bar's estimate: line breaks after the header (the blank line too)."""
    assert count_rows(FORMATS / name if name != "-" else name) == rows


def test_the_default_sheet_is_never_a_hidden_one(invoke: Invoke) -> None:
    path = FORMATS / "hidden_first.xlsx"
    result = invoke("validate", path, "-m", MAPPING)
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (1, SUMMARY)
    chosen = invoke("validate", path, "-m", MAPPING, "--sheet", "Old")
    assert chosen.exit_code == 2  # read when asked for: it has no First Name
    assert "column 'First Name' is not in the CSV file" in chosen.stderr


def test_a_formula_cell_is_its_saved_value() -> None:
    (chunk,) = list(open_source(FORMATS / "formulas.xlsx"))
    assert chunk.frame.loc[1].tolist() == [
        "Zoë", "zoe.muller@example.com", "12", "24", "ACME", "TRUE"
    ]  # fmt: skip


#: padded.xlsx is where the two differ on purpose: calamine reads 02134 as the number 2134.
WORKBOOKS = sorted(p.name for p in FORMATS.glob("*.xlsx") if p.name != "padded.xlsx")


def test_numbers_padded_by_their_format_keep_their_zeros() -> None:
    """Excel's Zip Code, Zip Code + 4 and SSN formats show 2134 as 02134: so does the reader,
    as the spreadsheet shows it (a CSV saved from it holds 02134 too)."""
    (chunk,) = open_source(FORMATS / "padded.xlsx")
    assert chunk.frame.values.tolist() == [
        ["ann@example.com", "02134", "01234-5678", "012-34-5678", "42", "00123"],
        ["bo@example.com", "98101", "98101-2345", "123-45-6789", "7", "0042"],
    ]


@pytest.mark.parametrize(
    ("digits", "code", "shown"),
    [("2134", "00000", "02134"), ("98101", "00000", "98101"), ("1234567", "00000", "1234567"),
     ("12345678", "00000-0000", "01234-5678"), ("0", "000", "000"),
     ("123456", "000-00-0000", "000-12-3456"), ("7", "0 000", "0 007")],
)  # fmt: skip
def test_padded(digits: str, code: str, shown: str) -> None:
    assert padded(digits, code) == shown


@pytest.mark.parametrize("name", WORKBOOKS)
def test_a_streamed_sheet_reads_every_cell_as_calamine_does(name: str) -> None:
    """The reader of big .xlsx sheets against calamine, on every workbook fixture and sheet."""
    path = FORMATS / name
    book = python_calamine.load_workbook(str(path))
    for sheet in book.sheet_names:
        member = sheet_xml_bytes(str(path), sheet)
        assert member is not None
        streamed = list(XlsxStream(str(path), member[0], cell_text, name).rows())
        loaded = [[cell_text(v) for v in row] for row in book.get_sheet_by_name(sheet).iter_rows()]
        assert trimmed(streamed) == trimmed(loaded), sheet


def trimmed(rows: list[list[str]]) -> list[list[str]]:
    """Rows without their trailing empty cells, and without trailing empty rows."""
    out = [list(row) for row in rows]
    for row in out:
        while row and row[-1] == "":
            row.pop()
    while out and not out[-1]:
        out.pop()
    return out


@pytest.mark.parametrize("name", ["customers.xlsx", "readme_first.xlsx", "hidden_first.xlsx"])
def test_a_streamed_workbook_gives_the_chunks_a_loaded_one_gives(name: str) -> None:
    def chunks(stream_over: int) -> list[dict[str, Any]]:
        source = open_sheet(FORMATS / name, name=name, kind="xlsx", fingerprint="",
                            stream_over=stream_over)  # fmt: skip
        return [c.frame.to_dict("split") for c in source]

    assert chunks(0) == chunks(1 << 40)


def test_a_sheet_whose_tags_carry_a_prefix_is_left_to_calamine(tmp_path: Path) -> None:
    path = tmp_path / "prefixed.xlsx"
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    parts = {
        "xl/workbook.xml": f'<x:workbook xmlns:x="{main}" xmlns:r="{rel}"><x:sheets>'
        '<x:sheet name="S" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{rels}"><Relationship Id="rId1" '
        'Target="worksheets/sheet1.xml" Type="worksheet"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<x:worksheet xmlns:x="{main}"><x:sheetData><x:row r="1">'
        '<x:c r="A1" t="inlineStr"><x:is><x:t>Email</x:t></x:is></x:c></x:row></x:sheetData>'
        "</x:worksheet>",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    assert sheet_xml_bytes(str(path), "S") is None


def write_workbook(path: Path, rows: list[list[str]], hidden: Collection[int] = ()) -> None:
    """A one-sheet .xlsx ('S') of ``rows`` from sheet row 1 ([]: a blank row), those of
    ``hidden`` (sheet row numbers) hidden, alternately as hidden="1" and hidden="true"."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"

    def row(number: int, cells: list[str]) -> str:
        flag = f' hidden="{"1" if number % 2 else "true"}"' if number in hidden else ""
        inner = "".join(f'<c r="{col}{number}" t="inlineStr"><is><t>{text}</t></is></c>'
                        for col, text in zip("ABCDEFGH", cells, strict=False))  # fmt: skip
        return f'<row r="{number}"{flag}>{inner}</row>'

    body = [row(n, cells) for n, cells in enumerate(rows, 1) if cells]
    kind = "application/vnd.openxmlformats-officedocument"
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{kind}.spreadsheetml.sheet.main+xml"'
        f'/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="{kind}.spreadsheetml.'
        'worksheet+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{rels}"><Relationship Id="rId1" Target="xl/'
        f'workbook.xml" Type="{rel}/officeDocument"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
        '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{rels}"><Relationship Id="rId1" '
        f'Target="worksheets/sheet1.xml" Type="{rel}/worksheet"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{"".join(body)}'
        "</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)


@pytest.mark.parametrize(
    ("rows", "hidden", "named"),
    [
        (5, set(), None),
        (5, {3}, "1 row hidden in the workbook, read like the others (spreadsheet row 3)"),
        (5, {1, 4, 6}, "2 rows hidden in the workbook, read like the others (spreadsheet "
         "rows 4, 6)"),
        # over 2 MB of XML: tags cut by the reader's blocks; only the first 10 are named
        (30_000, set(range(5, 30_000, 997)), "31 rows hidden in the workbook, read like the "
         "others (spreadsheet rows 5, 1002, 1999, 2996, 3993, 4990, 5987, 6984, 7981, 8978, ...)"),
    ],
)  # fmt: skip
@pytest.mark.parametrize(("streamed", "big"), [(False, False), (True, False), (True, True)])
def test_rows_a_workbook_hides_are_read_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int, hidden: set[int],
    named: str | None, streamed: bool, big: bool,
) -> None:  # fmt: skip
    """A filter's or a person's hidden rows are the file's rows (nobody is left out), but whoever
    hid them may think them gone: the reader says which they are (a hidden header is no row),
    when the sheet opens, or a sheet too big to unpack twice once its stream is read."""
    path = tmp_path / "hidden.xlsx"
    people = [[f"p{n}@example.com", f"Person {n}"] for n in range(2, rows + 2)]
    write_workbook(path, [["Email", "Name"], *people], hidden)
    if big:
        monkeypatch.setattr("importer.read.sheet.STREAM_BYTES", 0)
    source = open_sheet(path, name="hidden.xlsx", kind="xlsx", fingerprint="",
                        stream_over=0 if streamed else 1 << 40)  # fmt: skip
    assert sum(len(chunk.frame) for chunk in source) == rows
    said = [w for w in (*source.warnings, *source.late_warnings) if "hidden in the workbook" in w]
    assert said == ([f"hidden.xlsx, sheet 'S': {named}: delete from the sheet what should not be "
                     "imported"] if named else [])  # fmt: skip
    if named:
        assert said[0] in (source.late_warnings if big else source.warnings)


@pytest.mark.parametrize(
    ("tail", "rows", "said"),
    [
        # Salesforce's formatted report: the totals under the table, a blank row, small print
        ([["Grand Totals (2 records)"], [], ["Copyright (c) 2000-2024 salesforce.com"],
          ["Generated By: Jo Doe 1/2/2024 9:15 AM"]], 2, "sheet rows 4-7"),
        ([[], ["Tuesday, Jan 02, 2024 09:15:34 AM"]], 2, "sheet row 5"),  # QuickBooks
        ([["Cara"]], 3, None),  # a last row with a name only: a row
        ([[], ["dee@example.com"]], 3, None),  # an email alone: a row
        ([[], *[["Note 1"]] * 11], 13, None),  # more than a footer has: rows
        ([[], ["Cara"], ["Dee Jones"]], 4, None),  # names added under a gap: rows
    ],
)  # fmt: skip
@pytest.mark.parametrize("stream_over", [1 << 40, 0])  # loaded by calamine, streamed
def test_a_report_footer_under_a_sheet_is_left_out_and_said_after_the_rows(
    tmp_path: Path, tail: list[list[str]], rows: int, said: str | None, stream_over: int
) -> None:
    path = tmp_path / "report.xlsx"
    table = [["First Name", "Email"], ["Ana", "ana@example.com"], ["Bo", "bo@example.com"]]
    write_workbook(path, [*table, *tail])
    source = open_sheet(path, name="report.xlsx", kind="xlsx", fingerprint="",
                        stream_over=stream_over, chunk_rows=2)  # fmt: skip
    chunks = list(source)
    assert [len(c.frame) for c in chunks] == [2] * (rows // 2) + [1] * (rows % 2)
    assert len(source.late_warnings) == (1 if said else 0)
    assert all(n.startswith(f"report.xlsx, sheet 'S': {said} ") for n in source.late_warnings)
    assert len(source.sample()) == rows  # what init sniffs: the rows, not the small print


@pytest.mark.parametrize("stream_over", [1 << 40, 0])
def test_a_footer_under_a_column_without_a_name_is_no_stray_value(
    tmp_path: Path, stream_over: int
) -> None:
    """QuickBooks' reports leave their first column unnamed and write the footer in it."""
    path = tmp_path / "qbo.xlsx"
    write_workbook(path, [["", "Customer", "Email"], ["", "Amy's Birds", "amy@example.com"],
                          [], [], ["Tuesday, Jan 02, 2024 09:15:34 AM GMT-08:00"]])  # fmt: skip
    source = open_sheet(path, name="qbo.xlsx", kind="xlsx", fingerprint="", stream_over=stream_over)
    (chunk,) = list(source)
    assert (len(chunk.frame), chunk.stray) == (1, [])
    assert "sheet row 5 is after the table" in source.late_warnings[0]


def test_a_sheets_footer_is_said_once_the_rows_are_read(invoke: Invoke, tmp_path: Path) -> None:
    path, mapping = tmp_path / "report.xlsx", tmp_path / "m.yaml"
    write_workbook(path, [["First Name", "Email"], ["Ana", "ana@example.com"], [], ["Total: 1"]])
    mapping.write_text("customer:\n  firstName: First Name\n  emails: [{column: Email}]\n")
    result = invoke("validate", path, "-m", mapping)
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (
        0, "1 row read: 1 valid, 0 invalid, 0 warnings."
    )  # fmt: skip
    assert "sheet row 4 is after the table, a report's footer ('Total: 1'): not customers" in (
        result.stderr
    )
