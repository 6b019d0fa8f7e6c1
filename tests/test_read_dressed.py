"""Tables in another dress (a web page, Excel 2003 XML, vCards, JSON) and Excel's ``sep=`` line:
read as the CSV they stand for, or refused in one line."""

from __future__ import annotations

import csv
import gzip
import json
import zipfile
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from importer.read import count_rows, open_source
from importer.read.dressed import dress_of, flatten, html_rows, rows_of
from importer.sandbox import Sandbox

FORMATS = Path(__file__).parent / "data" / "formats"
MAPPING = FORMATS / "customers.yaml"
SUMMARY = "6 rows read: 5 valid, 1 invalid, 0 warnings."
Invoke = Callable[..., Result]


def customers() -> list[list[str]]:
    with (FORMATS / "customers.csv").open(encoding="utf-8", newline="") as file:
        return [row for row in csv.reader(file) if row]


def as_html(rows: list[list[str]]) -> str:
    head, *body = rows
    cells = "".join(f"<th>{escape(c)}</th>" for c in head)
    lines = "".join(
        "<tr>" + "".join(f"<td>{escape(c) or '&nbsp;'}</td>" for c in row) + "</tr>\n"
        for row in body
    )
    # a report's layout around the data: a title table and a footer table, both smaller
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "</head><body><table><tr><td>Customers report</td></tr></table>\n"
        f"<table border=1><tr>{cells}</tr>\n{lines}</table>"
        "<table><tr><td>Confidential</td><td>Generated 2024-01-31</td></tr></table></body></html>"
    )


def as_spreadsheetml(rows: list[list[str]]) -> str:
    def cell(value: str) -> str:
        kind = "Number" if value.isdigit() else "String"
        return f'<Cell><Data ss:Type="{kind}">{escape(value)}</Data></Cell>' if value else "<Cell/>"

    body = "".join("<Row>" + "".join(map(cell, row)) + "</Row>\n" for row in rows)
    return (
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">\n'
        f'<Worksheet ss:Name="Customers"><Table>\n{body}</Table></Worksheet>\n'
        '<Worksheet ss:Name="Other"><Table><Row><Cell><Data ss:Type="String">x</Data></Cell>'
        "</Row></Table></Worksheet></Workbook>"
    )


def as_records(rows: list[list[str]]) -> list[dict[str, str]]:
    head, *body = rows
    return [{k: v for k, v in zip(head, row, strict=True) if v} for row in body]


DRESSED: dict[str, tuple[str, Callable[[list[list[str]]], str]]] = {
    "report.xls": ("a web page (HTML)", as_html),
    "export.xml": ("an Excel 2003 XML workbook", as_spreadsheetml),
    "customers.json": ("JSON", lambda rows: json.dumps(as_records(rows), indent=2)),
    "api-dump.json": (
        "JSON",
        lambda rows: json.dumps({"_embedded": {"customers": as_records(rows)}, "page": {}}),
    ),
    "customers.ndjson": (
        "JSON lines",
        lambda rows: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in as_records(rows)),
    ),
}


@pytest.fixture
def dressed(tmp_path: Path) -> Callable[[str], Path]:
    def write(name: str) -> Path:
        path = tmp_path / name
        path.write_text(DRESSED[name][1](customers()), encoding="utf-8")
        return path

    return write


@pytest.mark.parametrize("name", DRESSED)
def test_a_dressed_table_validates_as_the_csv_it_stands_for(
    invoke: Invoke, dressed: Callable[[str], Path], name: str
) -> None:
    result = invoke("validate", dressed(name), "-m", MAPPING)
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[-1] == SUMMARY
    assert "row 3, Email: error: email: 'not-an-email'" in result.stdout
    what = DRESSED[name][0]
    assert f"Warning: read as {what}: its table's rows, as text cells" in result.stderr
    assert count_rows(dressed(name)) is None  # its lines are not its rows


def as_sent(value: Any) -> Any:
    """A sandbox customer without the ids and times the sandbox gave it."""
    if isinstance(value, dict):
        return {k: as_sent(v) for k, v in value.items() if k not in ("id", "created", "updated")}
    return [as_sent(v) for v in value] if isinstance(value, list) else value


@pytest.mark.parametrize("name", ["report.xls", "customers.ndjson"])
def test_a_dressed_table_imports_the_same_customers_as_the_csv(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Invoke,
    dressed: Callable[[str], Path],
    tmp_path: Path,
    name: str,
) -> None:
    sent = []
    for path in (FORMATS / "customers.csv", dressed(name)):
        box = serve_sandbox()
        result = invoke("run", path, "-m", MAPPING, "-o", tmp_path / f"{path.name}.results.csv",
                        "--yes", "--state", tmp_path / f"{path.name}.sqlite",
                        env=sandbox_env(box))  # fmt: skip
        assert result.stdout.splitlines()[0] == "6 rows: 5 created, 1 invalid, 0 failed."
        bodies = [as_sent(c) for c in box.state.customers.values()]
        sent.append(sorted(bodies, key=lambda c: c["emails"][0]["value"]))
    assert sent[1] == sent[0]
    assert sent[0][-1]["properties"] == {"signup-date": "2024-01-31", "seats": 12, "vip": True}


VCARDS = """\
BEGIN:VCARD
VERSION:3.0
PRODID:-//Apple Inc.//macOS 14.0//EN
N:Okafor;Chidi;;Dr.;
FN:Dr. Chidi Okafor
ORG:Good Place Ltd;Ethics
TITLE:Professor
item1.EMAIL;type=INTERNET;type=pref:chidi@example.org
item1.X-ABLabel:_$!<Other>!$_
item2.URL:https://example.org/chidi
item2.X-ABLabel:Office
EMAIL;type=INTERNET;type=HOME:chidi.home@example.net
TEL;type=CELL;type=VOICE;type=pref:+1 (555) 010-2000
TEL;type=WORK;type=FAX:+1 555 010 2001
ADR;type=HOME;type=pref:;;12 Elm Street;Springfield;IL;62704;United States
IMPP;X-SERVICE-TYPE=Skype;type=HOME:skype:chidi.okafor
NOTE:Met at the conference\\, 2023\\nfollow up
PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBk
 SEx8aGhsdHhkZHh0dISEnISQwMjAsLzEzNzQ+OjUxNDY=
END:VCARD
BEGIN:VCARD
VERSION:2.1
N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;;
FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BCller
TEL;CELL:0170 1234567
EMAIL;INTERNET:juergen@example.de
ADR;WORK;ENCODING=QUOTED-PRINTABLE:;;Hauptstra=C3=9Fe 1;Ber=
lin;;10115;Germany
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Acme Support
EMAIL;TYPE=work:help@acme.example
URL:https://acme.example/
END:VCARD
"""
VCARD_TABLE = [
    ["Last Name", "First Name", "Name Prefix", "Full Name", "Company", "Job Title",
     "Email 1", "Email 1 Type", "Email 2", "Email 2 Type",
     "Phone 1", "Phone 1 Type", "Phone 2", "Phone 2 Type", "Website 1", "Website 1 Type",
     "IM Address 1", "IM Address 1 Type",
     "Address 1 Street", "Address 1 City", "Address 1 Region", "Address 1 Postal Code",
     "Address 1 Country", "Address 1 Type", "Notes"],
    ["Okafor", "Chidi", "Dr.", "", "Good Place Ltd", "Professor",
     "chidi@example.org", "other", "chidi.home@example.net", "home",
     "+1 (555) 010-2000", "cell", "+1 555 010 2001", "fax", "https://example.org/chidi",
     "office", "chidi.okafor", "skype",
     "12 Elm Street", "Springfield", "IL", "62704", "United States", "home",
     "Met at the conference, 2023\nfollow up"],
    ["Müller", "Jürgen", "", "", "", "", "juergen@example.de", "", "", "",
     "0170 1234567", "cell", "", "", "", "", "", "",
     "Hauptstraße 1", "Berlin", "", "10115", "Germany", "work", ""],
    ["", "", "", "Acme Support", "", "", "help@acme.example", "work", "", "",
     "", "", "", "", "https://acme.example/", "", "", "", "", "", "", "", "", "", ""],
]  # fmt: skip


def test_vcards_are_a_row_each_with_numbered_columns(tmp_path: Path) -> None:
    path = tmp_path / "contacts.vcf"
    path.write_text(VCARDS.replace("\n", "\r\n"), encoding="utf-8")
    assert list(rows_of("vcard", path, "contacts.vcf")) == VCARD_TABLE


def test_init_maps_a_vcard_export_and_validate_sends_its_people(
    invoke: Invoke, tmp_path: Path
) -> None:
    path, mapping = tmp_path / "contacts.vcf", tmp_path / "contacts.yaml"
    path.write_text(VCARDS, encoding="utf-8")
    assert invoke("init", path, "-o", mapping).exit_code == 0
    result = invoke("validate", path, "-m", mapping, "--show", "3")
    assert result.exit_code == 0, result.output
    shown = [json.loads(line.split(": ", 1)[1]) for line in result.stdout.splitlines()
             if line.startswith("row ")]  # fmt: skip
    chidi, juergen, _ = shown
    assert (chidi["firstName"], chidi["lastName"], chidi["organization"]) == (
        "Chidi", "Okafor", "Good Place Ltd")  # fmt: skip
    assert chidi["emails"] == [{"type": "other", "value": "chidi@example.org"},
                               {"type": "home", "value": "chidi.home@example.net"}]  # fmt: skip
    assert [p["type"] for p in chidi["phones"]] == ["mobile", "fax"]
    assert chidi["address"]["country"] == "US"
    assert chidi["chats"] == [{"type": "skype", "value": "chidi.okafor"}]
    assert juergen["address"] == {"lines": ["Hauptstraße 1"], "city": "Berlin",
                                  "postalCode": "10115", "country": "DE"}  # fmt: skip


@pytest.mark.parametrize(
    ("head", "dress"),
    [
        (b"BEGIN:VCARD\r\nVERSION:3.0", "vcard"),
        (b"\xef\xbb\xbf  begin:vcard\n", "vcard"),
        (
            b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
            "spreadsheetml",
        ),
        (b'<?xml version="1.0"?><rss version="2.0">', "xml"),
        (b"<!DOCTYPE html><html>", "html"),
        (b"<!-- exported --><table><tr>", "html"),
        ("<html>".encode("utf-16"), "html"),
        (b'[{"email": "a@example.com"}]', "json"),
        (b'{"email": "a@example.com"}\n{"email": "b@example.com"}\n', "ndjson"),
        (b'{\n  "customers": []\n}', "json"),
        (b'{"customers": [{"email": "a@example.com"}]}\n', "json"),
        (b"First Name,Email\nAda,ada@example.com\n", None),
        (b"<Name>,<Email>\n", None),
        (b"[Name],[Email]\nAda,ada@example.com\n", None),
        (b"{Name},{Email}\n", None),
    ],
)
def test_a_dress_is_told_by_its_first_bytes(head: bytes, dress: str | None) -> None:
    assert dress_of(head) == dress


@pytest.mark.parametrize(
    ("page", "rows"),
    [
        ("<table><tr><th>Name</th><th>Email</th></tr><tr><td>Ana &amp; Bo</td>"
         "<td>ana@example.com</td></tr></table>",
         [["Name", "Email"], ["Ana & Bo", "ana@example.com"]]),
        ("<table><tr><td colspan=2>Name</td><td>Email</td></tr>"
         "<tr><td>Ana</td><td>Silva</td><td>a@example.com</td></tr></table>",
         [["Name", "", "Email"], ["Ana", "Silva", "a@example.com"]]),
        ("<table><tr><td>Street</td></tr><tr><td> 1 Main&nbsp;St<br>Apt  2 </td></tr></table>",
         [["Street"], ["1 Main St\nApt 2"]]),
        ("<table><tr><td>Layout<table><tr><td>A</td><td>B</td></tr><tr><td>1</td><td>2</td>"
         "</tr></table></td></tr></table>",
         [["A", "B"], ["1", "2"]]),
        ("<table><tr><td>A</td></tr><tr><td></td></tr><tr><td>2</td></tr></table>",
         [["A"], [], ["2"]]),
        ("<TABLE><TR><TD>A<TD>B<TR><TD>1<TD>2", [["A", "B"], ["1", "2"]]),
    ],
)  # fmt: skip
def test_a_page_s_biggest_table_is_its_rows(page: str, rows: list[list[str]]) -> None:
    assert html_rows(page, "page.html") == rows


def test_spreadsheetml_places_cells_by_their_index_and_merges(tmp_path: Path) -> None:
    path = tmp_path / "book.xml"
    path.write_text(
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet><Table>'
        '<Row><Cell ss:MergeAcross="1"><Data ss:Type="String">Name</Data></Cell>'
        '<Cell><Data ss:Type="String">Signed up</Data></Cell></Row>'
        '<Row ss:Index="3"><Cell><Data ss:Type="String">Ana</Data></Cell>'
        '<Cell ss:Index="3"><Data ss:Type="DateTime">2024-01-31T00:00:00.000</Data></Cell></Row>'
        "</Table></Worksheet></Workbook>",
        encoding="utf-8",
    )
    assert list(rows_of("spreadsheetml", path, "book.xml")) == [
        ["Name", "", "Signed up"],
        [],
        ["Ana", "", "2024-01-31"],
    ]


@pytest.mark.parametrize(
    ("record", "flat"),
    [
        ({"email": "a@example.com", "vip": True, "seats": 3, "note": None},
         {"email": "a@example.com", "vip": "true", "seats": "3", "note": ""}),
        ({"address": {"city": "Lyon", "lines": ["1 rue A", "Bât B"]}},
         {"address.city": "Lyon", "address.lines.1": "1 rue A", "address.lines.2": "Bât B"}),
        ({"emails": [{"type": "work", "value": "a@example.com"}]},
         {"emails.1.type": "work", "emails.1.value": "a@example.com"}),
        ({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": "deep"}, "x": 1}}}}}}}},
         {"a.b.c.d.e.f.g.h": '{"i": "deep"}', "a.b.c.d.e.f.g.x": "1"}),
    ],
)  # fmt: skip
def test_a_json_record_is_flattened_to_dotted_columns(
    record: dict[str, Any], flat: dict[str, str]
) -> None:
    assert flatten(record) == flat


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("page.xls", "<html><body><p>No data</p></body></html>",
         "is a web page (HTML) with no table in it: export the data as CSV or Excel"),
        ("bad.json", '[{"email": "a@example.com"},\n {"email": }]',
         "line 2: is not valid JSON: Expecting value"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "is JSON nested too deeply to read as a "
         "table"),
        ("deep.ndjson", '{"a": 1}\n' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "\n",
         "line 2: is JSON nested too deeply to read as a table"),
        ("scalars.json", "[1, 2, 3]",
         "is JSON without a list of records (objects) in it: expected [{...}, {...}]"),
        ("mixed.json", '[{"email": "a@example.com"}, 7]',
         "is JSON whose record 2 is not an object ({...})"),
        ("bad.ndjson", '{"email": "a@example.com"}\n{"email": "b@example.com"}\n{oops}\n',
         "line 3: is JSON lines with a line that is not JSON (Expecting property name enclosed "
         "in double quotes)"),
        ("broken.vcf", "BEGIN:VCARD\nVERSION:3.0\nFN:Ada\nthis is no property\nEND:VCARD\n",
         "is a file of vCards with a line that is no property: 'this is no property'"),
        ("empty.vcf", "BEGIN:VCARD\nVERSION:3.0\nFN:Cut off\n",
         "is a file of vCards without a whole card (BEGIN:VCARD ... END:VCARD) holding a name, "
         "an email or another detail this tool reads"),
        ("photo.vcf", "BEGIN:VCARD\nPHOTO;ENCODING=b:AAAA\n BBBB\nEND:VCARD\n",
         "is a file of vCards without a whole card (BEGIN:VCARD ... END:VCARD) holding a name, "
         "an email or another detail this tool reads"),
        ("contacts.fods", '<?xml version="1.0"?><office:document xmlns:office="urn:oasis:names:'
         'tc:opendocument:xmlns:office:1.0">', "is an XML document, not a table this tool reads: "
         "export the data as CSV or Excel (an Excel 2003 XML workbook is read; save a flat "
         "OpenDocument sheet, .fods, as .ods)"),
        ("far.xml", '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:'
         'spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet><Table>'
         '<Row><Cell ss:Index="999999999"><Data ss:Type="String">x</Data></Cell></Row></Table>'
         "</Worksheet></Workbook>", "is an Excel 2003 XML workbook that cannot be read (a cell "
         "placed at 999,999,999, past Excel's 16,384)"),
        ("laughs.xml", '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
         + "".join(f'<!ENTITY {chr(ord(a) + 1)} "{("&" + a + ";") * 10}">' for a in "abcdefgh")
         + ']><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet><Table>'
         "<Row><Cell><Data>&i;</Data></Cell></Row></Table></Worksheet></Workbook>",
         "is an Excel 2003 XML workbook that cannot be read (limit on input amplification factor "
         "(from DTD and entities) breached: line 1, column 510)"),
        ("book.xml", '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:'
         'spreadsheet"><Worksheet><Table><Row>', "is an Excel 2003 XML workbook that cannot be "
         "read (no element found: line 1, column 107)"),
    ],
)  # fmt: skip
def test_a_dress_that_breaks_its_promise_is_one_line_exit_2(
    invoke: Invoke, tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", path, "-m", MAPPING)
    assert result.exit_code == 2
    where = f"{path}, " if message.startswith("line") else f"{path}: "
    assert result.stderr.strip() == f"Error: {where}{message}"


@pytest.mark.parametrize(
    ("option", "name"),
    [("--delimiter", "report.xls"), ("--encoding", "customers.ndjson"), ("--sheet", "export.xml")],
)
def test_a_dressed_table_has_no_csv_or_workbook_option_to_give(
    invoke: Invoke, dressed: Callable[[str], Path], option: str, name: str
) -> None:
    path = dressed(name)
    result = invoke("validate", path, "-m", MAPPING, option, "2")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {path}: is {DRESSED[name][0]}, read as one table: leave {option} out"
    )


@pytest.mark.parametrize(
    ("first", "delimiter"),
    [("sep=;", ";"), ('"sep=,"', ","), ("\ufeffsep=|", "|"), ("SEP=\t", "\t")],
)
def test_excel_s_sep_line_names_the_delimiter_and_is_no_header(
    tmp_path: Path, first: str, delimiter: str
) -> None:
    path = tmp_path / "excel.csv"
    rows = ["First Name", "Email"], ["Ada", "ada@example.com"], ["Alan", "alan@example.com"]
    path.write_text(first + "\r\n" + "".join(delimiter.join(r) + "\r\n" for r in rows),
                    encoding="utf-8")  # fmt: skip
    source = open_source(path)
    assert (source.delimiter, source.columns) == (delimiter, ["First Name", "Email"])
    assert source.warnings[0] == (
        f"line 1 is Excel's delimiter hint (sep={delimiter}), not the header: read the header "
        "from line 2"
    )
    assert [c.frame["Email"].tolist() for c in source] == [["ada@example.com", "alan@example.com"]]


def test_a_dress_read_whole_is_refused_over_its_limit(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dump.json"
    path.write_text(json.dumps([{"email": f"p{i}@example.com"} for i in range(40_000)]))
    monkeypatch.setattr("importer.read.dressed.MAX_WHOLE_BYTES", 1 << 20)  # the file: 1.1 MB
    result = invoke("validate", path, "-m", MAPPING)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {path}: is JSON of over 1 MB, which is read whole: export the data as CSV (or as "
        "JSON lines, read a record at a time)"
    )


def test_a_dressed_table_arrives_piped_or_packed_alike(
    invoke: Invoke, dressed: Callable[[str], Path], tmp_path: Path
) -> None:
    page = dressed("report.xls")
    packed = tmp_path / "report.xls.gz"
    packed.write_bytes(gzip.compress(page.read_bytes()))
    piped = invoke("validate", "-", "-m", MAPPING, input=page.read_bytes())
    unpacked = invoke("validate", packed, "-m", MAPPING)
    for result in (piped, unpacked):
        assert (result.exit_code, result.stdout.splitlines()[-1]) == (1, SUMMARY)
        assert "Warning: read as a web page (HTML)" in result.stderr


@pytest.mark.parametrize(
    ("name", "text"),
    [("long.ndjson", '{"a": 1}\n{"a": "' + "x" * 5000),
     ("long.vcf", "BEGIN:VCARD\nN:" + "x" * 5000),
     ("folded.vcf", "BEGIN:VCARD\nNOTE:" + "\n x" * 5000 + "\nEND:VCARD\n")],
)  # fmt: skip
def test_a_line_past_the_csv_reader_s_limit_is_refused_not_held(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr("importer.read.dressed.MAX_LINE_CHARS", 4096)
    result = invoke("validate", path, "-m", MAPPING)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {path}: holds a line of over 4,096 characters: is it complete?"
    )


def test_a_report_page_s_title_and_footer_rows_are_left_out(tmp_path: Path) -> None:
    wide = '<tr><td colspan="3">{}</td></tr>'
    page = "".join([
        "<html><body><table>", wide.format("<b>All Contacts</b>"),
        wide.format("Acme Inc. - Generated 2/1/2024 10:00 AM"), "<tr><td></td></tr>",
        "<tr><th>First Name</th><th>Last Name</th><th>Email</th></tr>",
        "<tr><td>Rosa</td><td>Parks</td><td>rosa@example.com</td></tr>",
        "<tr><td>Marie</td><td>Curie</td><td>marie@example.fr</td></tr>", "<tr><td></td></tr>",
        wide.format("Grand Totals (2 records)"), wide.format("Confidential Information"),
        "</table></body></html>",
    ])  # fmt: skip
    path = tmp_path / "report.xls"
    path.write_text(page, encoding="utf-8")
    source = open_source(path)
    assert source.columns == ["First Name", "Last Name", "Email"]
    assert [email for c in source for email in c.frame["Email"]] == [
        "rosa@example.com", "marie@example.fr"
    ]  # fmt: skip
    assert (
        "a report's footer ('Grand Totals (2 records)', ...): not customers, left out"
        in (source.warnings[-1])
    )


@pytest.mark.parametrize(
    ("charset", "name"),
    [("Shift_JIS", "山田太郎"), ("windows-1252", "Zoë Müller"), ("utf-8", "Zoë Müller"),
     ("no-such-charset", "Zoë Müller")],
)  # fmt: skip
def test_a_page_is_read_in_the_charset_it_declares(tmp_path: Path, charset: str, name: str) -> None:
    page = (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
        f"</head><body><table><tr><th>Name</th></tr><tr><td>{name}</td></tr></table></body></html>"
    )
    codec = "cp1252" if charset == "no-such-charset" else charset
    path = tmp_path / "page.xls"
    path.write_bytes(page.encode(codec))
    assert list(rows_of("html", path, "page.xls")) == [["Name"], [name]]


def test_a_zip_of_vcards_one_a_contact_is_read_as_one_file_of_them(tmp_path: Path) -> None:
    packed = tmp_path / "contacts.zip"
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr(
            "Contacts/Ada Lovelace.vcf",
            "BEGIN:VCARD\r\nN:Lovelace;Ada;;;\r\nEMAIL:ada@example.com\r\nEND:VCARD",
        )
        archive.writestr(
            "Contacts/Alan Turing.vcf",
            "BEGIN:VCARD\nN:Turing;Alan;;;\nEMAIL:alan@example.com\nEND:VCARD\n",
        )
        archive.writestr("__MACOSX/Contacts/._Ada Lovelace.vcf", "\x00\x05junk")
    source = open_source(packed)
    assert source.warnings[0] == "read as a file of vCards: its table's rows, as text cells"
    assert [c.frame["Email 1"].tolist() for c in source] == [
        ["ada@example.com", "alan@example.com"]
    ]


def test_json_lines_whose_first_line_outruns_the_first_look_are_still_lines(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    records = [{"email": f"p{i}@example.com", "note": "x" * 5000} for i in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert dress_of(path.read_bytes()) == "json"  # its first 4 KB end inside the first line
    rows = list(rows_of("json", path, "users.json"))
    assert [row[0] for row in rows] == [
        "email",
        "p0@example.com",
        "p1@example.com",
        "p2@example.com",
    ]
