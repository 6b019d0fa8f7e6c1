"""Write the workbook fixtures of tests/test_read_formats.py (invented people), once.

    /work/venv/bin/python tests/data/formats/make_fixtures.py

The same customers as customers.csv in each format, typed as a spreadsheet types them (phones
and seats as numbers, sign-up dates as dates, VIP as booleans), with a blank row after the
fourth; readme_first.xlsx has a read-me sheet before the table, hidden_first.xlsx a hidden
one, two_tables.xlsx a table on each of two sheets, padded.xlsx ZIP codes padded by their
number format; formulas.xlsx holds formulas with their saved values, edges*.xlsx odd cells.
Needs openpyxl, odfpy, xlwt and xlsxwriter (the tests only read the files: python-calamine).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import openpyxl
import xlwt
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

HERE = Path(__file__).parent
HEADER = ["First Name", "Last Name", "Email", "Phone", "Company", "Signed Up", "Seats", "VIP"]
PEOPLE: list[list[object] | None] = [
    ["Zoë", "Müller", "zoe.muller@example.com", 4915112345678, "Acme GmbH", dt.date(2024, 1, 31), 12, True],  # noqa: E501
    ["Ravi", "Okafor", "ravi.okafor@example.org", 14155550123, "", dt.date(2023, 11, 2), 3, False],
    ["Mai", "Lindqvist", "not-an-email", 4420794600, "Lindqvist AB", dt.date(2022, 6, 15), 1, False],  # noqa: E501
    ["Tomás", "Ferreira", "tomas.ferreira@example.net", "007 123", "Ferreira & Filhos", dt.date(2021, 3, 9), 250, True],  # noqa: E501
    None,  # a blank row: not a row
    ["Aiko", "Brennan", "aiko.brennan@example.com", "", "", dt.date(2020, 12, 24), "", False],
    ["Lev", "Haddad", "lev.haddad@example.com", 33142685300, "Haddad SARL", "", 7, True],
]  # fmt: skip


def text(value: object) -> str:
    """A cell as the spreadsheet shows it (what the CSV holds)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_csv() -> None:
    with (HERE / "customers.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for person in PEOPLE:
            writer.writerow([text(v) for v in person] if person else [])
    data = (HERE / "customers.csv").read_bytes()
    with gzip.GzipFile(HERE / "customers.csv.gz", "wb", mtime=0) as fh:
        fh.write(data)


def write_xlsx(path: Path, *, readme: bool = False, hidden: bool = False) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    if hidden:  # an old table, hidden, before the one to read
        sheet.title = "Old"
        sheet.append(["Email", "Name"])
        sheet.append(["old@example.com", "Old"])
        sheet.sheet_state = "hidden"
        sheet = book.create_sheet("Customers")
    elif readme:
        sheet.title = "Read me"
        sheet.append(["This export lists our customers."])
        sheet.append(["The table is on the next sheet."])
        sheet = book.create_sheet("Customers")
    else:
        sheet.title = "Customers"
    sheet.append(HEADER)
    for person in PEOPLE:
        sheet.append(person or [])
    book.save(path)


def write_two_tables() -> None:
    """two_tables.xlsx: the customers of two regions on two sheets, each a table."""
    book = openpyxl.Workbook()
    europe = book.active
    europe.title = "EU"
    europe.append(HEADER)
    europe.append(PEOPLE[0])
    states = book.create_sheet("US")
    states.append(HEADER)
    states.append(PEOPLE[1])
    book.save(HERE / "two_tables.xlsx")


def write_padded() -> None:
    """padded.xlsx: ZIP codes stored as numbers and shown padded by Excel's special formats."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Customers"
    sheet.append(["Email", "Zip", "Zip+4", "SSN", "Seats", "Code"])
    sheet.append(["ann@example.com", 2134, 12345678, 12345678, 42, "00123"])
    sheet.append(["bo@example.com", 98101, 981012345, 123456789, 7, "0042"])
    for row in sheet.iter_rows(min_row=2):
        row[1].number_format, row[2].number_format = "00000", "00000-0000"
        row[3].number_format = "000-00-0000"
    book.save(HERE / "padded.xlsx")


def write_formulas() -> None:
    """Formulas with the values Excel saved with them (xlsxwriter writes both)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(HERE / "formulas.xlsx"))
    sheet = book.add_worksheet("Customers")
    sheet.write_row(0, 0, ["First Name", "Email", "Seats", "Double", "Company", "VIP"])
    sheet.write_row(1, 0, ["Zoë", "zoe.muller@example.com", 12])
    sheet.write_formula(1, 3, "=C2*2", None, 24)
    sheet.write_formula(1, 4, '=UPPER("acme")', None, "ACME")
    sheet.write_formula(1, 5, "=C2>10", None, True)
    book.close()


def write_edges() -> None:
    """Cells the streamed .xlsx reader must read as calamine does: a time of day, rich text,
    markup characters, a missing row, an error, dates in custom formats."""
    import xlsxwriter
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Edge"
    sheet.append(["Name", "When", "Time", "Amp", "Rich", "Num"])
    rich = CellRichText(["Bold", TextBlock(InlineFont(b=True), " part")])
    sheet.append(["A & B <c>", dt.datetime(2024, 1, 31, 13, 45, 30), dt.time(13, 45), "x&y",
                  rich, 3.25])  # fmt: skip
    sheet["A5"], sheet["F5"] = "after a gap", -7
    sheet.append(["  spaced  ", dt.date(1999, 12, 31), None, "", "", 1e-7])
    book.save(HERE / "edges.xlsx")
    book = xlsxwriter.Workbook(str(HERE / "edges_xlsxwriter.xlsx"))
    sheet = book.add_worksheet("S")
    sheet.write_row(0, 0, ["A", "B", "C"])
    sheet.write_formula(1, 0, "=1/0", None, "#DIV/0!")
    sheet.write_string(1, 1, "tab\there")
    sheet.write_number(1, 2, 1.5)
    sheet.write_datetime(
        2, 0, dt.datetime(2020, 5, 17), book.add_format({"num_format": "dd/mm/yyyy"})
    )
    sheet.write_datetime(2, 1, dt.datetime(2020, 5, 17, 6, 30),
                         book.add_format({"num_format": "yyyy-mm-dd hh:mm"}))  # fmt: skip
    book.close()


def write_ods() -> None:
    document = OpenDocumentSpreadsheet()
    table = Table(name="Customers")
    for values in [HEADER, *PEOPLE]:
        row = TableRow()
        for value in values or [""]:
            if isinstance(value, bool):
                cell = TableCell(valuetype="boolean", booleanvalue="true" if value else "false")
                cell.addElement(P(text="TRUE" if value else "FALSE"))
            elif isinstance(value, int):
                cell = TableCell(valuetype="float", value=str(value))
                cell.addElement(P(text=str(value)))
            elif isinstance(value, dt.date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
                cell.addElement(P(text=value.isoformat()))
            else:
                cell = TableCell(valuetype="string")
                if value:
                    cell.addElement(P(text=str(value)))
            row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    document.save(str(HERE / "customers.ods"))


def write_xls() -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Customers")
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, values in enumerate([HEADER, *PEOPLE]):
        for c, value in enumerate(values or []):
            if isinstance(value, dt.date):
                sheet.write(r, c, value, dates)
            elif value != "":
                sheet.write(r, c, value)
    book.save(str(HERE / "customers.xls"))


if __name__ == "__main__":
    write_csv()
    write_xlsx(HERE / "customers.xlsx")
    write_xlsx(HERE / "readme_first.xlsx", readme=True)
    write_xlsx(HERE / "hidden_first.xlsx", hidden=True)
    write_two_tables()
    write_padded()
    write_ods()
    write_xls()
    write_formulas()
    write_edges()
