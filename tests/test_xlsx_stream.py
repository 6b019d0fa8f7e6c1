"""The streamed .xlsx reader's fast path (pyarrow cuts the usual cells' text out of the XML)
against its row parser and python-calamine: every cell form reads the same text, and a sheet
read in small blocks and chunks gives the chunks calamine's copy gives (rows, numbers, strays).

The workbooks are written here, part by part, so each test says exactly which XML it reads."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import python_calamine

from importer.core.errors import SourceError
from importer.read import cell_text
from importer.read import xlsx_stream as stream_module
from importer.read.sheet import open_sheet
from importer.read.xlsx_stream import XlsxStream

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHARED = ["Zoë Müller", "  padded  ", "a & b"]
DATE_STYLE = 2  # cellXfs index whose number format (14) is a date


def write_workbook(path: Path, rows: list[str]) -> Path:
    """An .xlsx of one sheet 'S' whose sheetData holds ``rows`` (each a ``<row>``'s XML), with
    the shared strings :data:`SHARED` and a date style at :data:`DATE_STYLE`."""
    strings = "".join(
        f'<si><t xml:space="preserve">{s.replace("&", "&amp;")}</t></si>' for s in SHARED
    )
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
        'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        'worksheet+xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.'
        'org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
        '.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>',
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{strings}</sst>',
        "xl/styles.xml": f'<styleSheet xmlns="{MAIN}"><cellXfs count="3"><xf numFmtId="0"/>'
        '<xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{"".join(rows)}'
        "</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def streamed(path: Path) -> XlsxStream:
    return XlsxStream(str(path), "xl/worksheets/sheet1.xml", cell_text, path.name)


# (the cell in row 2, the text it reads as): the usual forms first, then those made in Python.
CELLS = [
    (inline("A2", "Zoë"), "Zoë"),
    (inline("A2", ""), ""),
    ('<c r="A2" t="inlineStr"><is><t xml:space="preserve"> a </t></is></c>', " a "),
    (inline("A2", "Tom &amp; Jerry &#233;"), "Tom & Jerry é"),
    (
        '<c r="A2" t="inlineStr"><is><r><t>rich</t></r><r><rPr><b/></rPr>'
        '<t xml:space="preserve"> text</t></r></is></c>',
        "rich text",
    ),
    ('<c r="A2" t="s"><v>0</v></c>', "Zoë Müller"),
    ('<c r="A2" s="1" t="s"><v>1</v></c>', "  padded  "),
    ('<c r="A2" t="s"><v>2</v></c>', "a & b"),
    ('<c r="A2"><v>4155550100</v></c>', "4155550100"),
    ('<c r="A2" s="1"><v>12</v></c>', "12"),
    ('<c r="A2" t="n"><v>7</v></c>', "7"),
    ('<c r="A2"><v>0.1</v></c>', "0.1"),
    ('<c r="A2"><v>-3</v></c>', "-3"),
    ('<c r="A2"><v>1E-3</v></c>', "0.001"),
    ('<c r="A2"><v>12345678901234567</v></c>', "12345678901234568"),
    (f'<c r="A2" s="{DATE_STYLE}"><v>45322</v></c>', "2024-01-31"),
    (f'<c r="A2" s="{DATE_STYLE}"><v>45322.5</v></c>', "2024-01-31T12:00:00"),
    ('<c r="A2" t="b"><v>1</v></c>', "TRUE"),
    ('<c r="A2" t="str"><f>A1&amp;"x"</f><v>ax</v></c>', "ax"),
    ('<c r="A2"><f>1+1</f><v>2</v></c>', "2"),
    ('<c r="A2" t="e"><v>#DIV/0!</v></c>', ""),
    ('<c r="A2" t="s"/>', ""),
    ('<c r="A2"/>', ""),
    (
        '<c s="1" r="A2" t="inlineStr"><is><t>attributes in another order</t></is></c>',
        "attributes in another order",
    ),
    ('<c r="A2" t="inlineStr" cm="1"><is><t>one more attribute</t></is></c>', "one more attribute"),
]


@pytest.mark.parametrize(("cell", "text"), CELLS)
def test_every_cell_form_reads_as_calamine_reads_it(tmp_path: Path, cell: str, text: str) -> None:
    rows = [f'<row r="1">{inline("A1", "Value")}</row>', f'<row r="2">{cell}</row>']
    path = write_workbook(tmp_path / "one.xlsx", rows)
    cells = [
        (int(line), int(column), value)
        for block in streamed(path).cells()
        for line, column, value in zip(
            block.line, block.column, block.text.to_pylist(), strict=True
        )
    ]
    assert cells == [(1, 0, "Value"), (2, 0, text)]
    assert list(streamed(path).rows())[1] == [text]
    loaded = python_calamine.load_workbook(str(path)).get_sheet_by_name("S").to_python()
    assert cell_text(loaded[1][0] if len(loaded) > 1 else None) == text  # an empty row: cut


def sheet(rows: int, other_form: bool) -> list[str]:
    """A header of four names with an unnamed column before the last, then ``rows`` rows that
    hold every case: blank rows (empty, spaces, other whitespace), a missing row number, a
    missing cell, values under no name (the unnamed column, past the header), cells of every
    kind (:func:`seats`), cells of another form (``other_form``: then the blocks holding them
    are read by the row parser)."""
    names = ["Name", "Email", "Seats", "Plan"]
    head = "".join(inline(f"{c}1", name) for c, name in zip("ABCE", names, strict=True))
    out = [f'<row r="1" spans="1:5">{head}</row>']
    line = 1
    for i in range(rows):
        line += 2 if i % 17 == 5 else 1  # now and then a row number skipped: an absent row
        r = line
        if i % 13 == 4:
            out.append(f'<row r="{r}"/>')
            continue
        if i % 11 == 3:
            blank = ["   ", "\xa0", "\x1c\u3000", ""][i % 4]
            out.append(f'<row r="{r}">{inline(f"A{r}", blank)}{inline(f"C{r}", " ")}</row>')
            continue
        cells = [
            inline(f"A{r}", f"Zoë {i}"),
            f'<c r="B{r}" t="s"><v>{i % 3}</v></c>' if i % 5 else f'<c r="B{r}"/>',
            seats(f"C{r}", i),
        ]
        if i % 9 == 2:
            cells.append(inline(f"D{r}", f"stray {i}"))
        odd = f'<c s="1" r="E{r}" t="inlineStr"><is><t>p{i}</t></is></c>'
        cells.append(odd if other_form and i % 19 == 0 else inline(f"E{r}", "pro"))
        if i % 23 == 1:
            cells.append(inline(f"G{r}", f"far {i}"))
        out.append(f'<row r="{r}" spans="1:7">{"".join(cells)}</row>')
    return out


def seats(ref: str, i: int) -> str:
    """A cell of each kind in turn, those made text in Python among those cut from the XML."""
    return [
        "",
        f'<c r="{ref}"><v>{i}</v></c>',
        f'<c r="{ref}"><v>{i}.5</v></c>',
        f'<c r="{ref}" t="b"><v>{i % 2}</v></c>',
        inline(ref, f"{i} &amp; more"),
        f'<c r="{ref}" s="{DATE_STYLE}"><v>{45000 + i}</v></c>',
        f'<c r="{ref}" s="1"><v>{i}</v></c>',
    ][i % 7]


def chunks(path: Path, stream_over: int, chunk_rows: int) -> list[dict[str, Any]]:
    source = open_sheet(
        path,
        name=path.name,
        kind="xlsx",
        fingerprint="",
        stream_over=stream_over,
        chunk_rows=chunk_rows,
    )
    return [
        {"frame": c.frame.to_dict("split"), "dtypes": list(c.frame.dtypes), "stray": c.stray}
        for c in source
    ]


@pytest.mark.parametrize(
    ("block", "chunk_rows", "other_form"),
    [
        (1 << 22, 25_000, False),
        (1 << 22, 7, False),
        (700, 10, True),
        (1 << 22, 25_000, True),
        (90, 25_000, False),
    ],
)
def test_a_sheet_read_in_blocks_gives_the_chunks_calamine_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, chunk_rows: int, other_form: bool
) -> None:
    """Blocks smaller than a row carry it into the next; chunks cut between blocks keep their
    strays; blank rows are not counted; a missing cell is empty."""
    path = write_workbook(tmp_path / "cases.xlsx", sheet(300, other_form))
    monkeypatch.setattr(stream_module, "_CELLS_BLOCK", block)
    read = chunks(path, 0, chunk_rows)
    assert read == chunks(path, 1 << 40, chunk_rows)
    rows = [n for c in read for n in c["frame"]["index"]]
    assert rows == list(range(1, len(rows) + 1)) and 200 < len(rows) < 300
    strays = [s for c in read for s in c["stray"]]
    assert {s.column for s in strays} == {4, 7}
    assert all(
        c["frame"]["index"][0] <= s.row <= c["frame"]["index"][-1] for c in read for s in c["stray"]
    )


def test_a_block_with_a_cell_before_its_first_reference_is_read_by_the_row_parser(
    tmp_path: Path,
) -> None:
    rows = [
        f'<row r="1">{inline("A1", "Name")}{inline("B1", "Email")}</row>',
        '<row r="2"><c t="inlineStr"><is><t>no reference</t></is></c>'
        f"{inline('B2', 'b@example.com')}</row>",
    ]
    path = write_workbook(tmp_path / "noref.xlsx", rows)
    (chunk,) = open_sheet(path, name="noref.xlsx", kind="xlsx", fingerprint="", stream_over=0)
    assert chunk.frame.loc[1].tolist() == ["no reference", "b@example.com"]


@pytest.mark.parametrize(
    ("pieces", "usual", "texts", "shared"),
    [
        (['A1" t="inlineStr"><is><t>Zoë</t></is></c>'], [True], ["Zoë"], [False]),
        (['B7" s="3" t="s"><v>12</v></c></row><row r="8">'], [True], ["12"], [True]),
        (['C2"><v>42</v></c>', 'D2"/>'], [True, True], ["42", ""], [False, False]),
        (
            ['E2" t="b"><v>1</v></c>', 'F2" t="inlineStr"><is><t>é</t></is></c>'],
            [False, True],
            ["", "é"],
            [False, False],
        ),
        ([], [], [], []),
    ],
)
def test_the_usual_cells_text_is_cut_from_the_xml(
    pieces: list[str], usual: list[bool], texts: list[str], shared: list[bool]
) -> None:
    array = pa.array(["", *pieces], pa.string())[1:]  # a slice, as the split's are
    text, is_shared = stream_module.cut_texts(
        array, pa.array(usual, pa.bool_()).to_numpy(zero_copy_only=False).copy()
    )
    assert text.to_pylist() == texts
    assert is_shared.tolist() == shared


def test_a_blank_cell_is_one_python_strips_to_nothing() -> None:
    """The fast path tells blank rows by pyarrow's utf8_is_space: it must agree with
    ``str.strip``, which the row path and the CSV reader use, on every code point."""
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000]
    spaces = pc.utf8_is_space(pa.array(chars, pa.string())).to_pylist()
    assert [c for c, space in zip(chars, spaces, strict=True) if space] == [
        c for c in chars if not c.strip()
    ]


def numbered_rows(rows: int) -> list[str]:
    """A header, then ``rows`` rows of a name and a number (about 100 bytes of XML each)."""
    out = [f'<row r="1">{inline("A1", "Name")}{inline("B1", "Seats")}</row>']
    out += [f'<row r="{r}">{inline(f"A{r}", f"Zoë {r}")}<c r="B{r}"><v>{r}</v></c>'
            "</row>" for r in range(2, rows + 2)]  # fmt: skip
    return out


@pytest.mark.parametrize("at", [2, 30_000])
def test_a_sheet_that_is_not_utf8_is_one_error_not_a_traceback(tmp_path: Path, at: int) -> None:
    """Row 2: the header's rows see it (the row parser); row 30,000 (some 3 MB on): the cells'
    blocks do."""
    path = write_workbook(tmp_path / "latin1.xlsx", numbered_rows(40_000))
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    parts[member] = parts[member].replace(f"Zoë {at}<".encode(), f"Zo\xeb {at}<".encode("latin-1"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(SourceError, match=r"sheet XML is not UTF-8: is the workbook damaged"):
        list(open_sheet(path, name=path.name, kind="xlsx", fingerprint="", stream_over=0))


def test_a_sheet_damaged_in_its_archive_is_one_error_not_a_traceback(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "damaged.xlsx", numbered_rows(40_000))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for at in range(start + info.compress_size * 9 // 10, start + info.compress_size - 8, 97):
        data[at] ^= 0x5A  # past the part the header is read from
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError, match=r"is the workbook damaged\? \(save the sheet as CSV\)"):
        list(open_sheet(path, name=path.name, kind="xlsx", fingerprint="", stream_over=0))
