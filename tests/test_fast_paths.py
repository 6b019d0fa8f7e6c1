"""What the speed-ups remember across chunks is what reading each chunk afresh gives."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.check import columns
from importer.customer import schema
from importer.customer.phones import plainly_possible
from importer.mapping import transforms
from importer.mapping.transforms import iso_dates
from importer.read import open_csv, open_source
from importer.read.delimited import CHUNK_ROWS


def _afresh(texts: list[str], formats: tuple[str, ...]) -> list[str | None]:
    """The dates as pandas reads them with no memory: the first format that fits."""
    found: list[str | None] = []
    for text in texts:
        for fmt in formats:
            parsed = pd.to_datetime(pd.Series([text], dtype=object), format=fmt, errors="coerce")
            if parsed.notna().all():
                found.append(parsed.dt.strftime("%Y-%m-%d")[0])
                break
        else:
            found.append(None)
    return found


@pytest.mark.parametrize(
    ("texts", "formats"),
    [
        (["31/01/2024", "1/2/2020", "29/02/2023", "tomorrow", "31/01/2024"], ("%d/%m/%Y",)),
        (["2024-01-31", "31/01/2024", "01/31/2024", "2024-13-01"], ("%Y-%m-%d", "%d/%m/%Y")),
        (["Jan 5, 2021", "5 Jan 2021", ""], ("%b %d, %Y",)),
    ],
)
def test_iso_dates_read_twice_as_once(texts: list[str], formats: tuple[str, ...]) -> None:
    expected = _afresh(texts, formats)
    assert iso_dates(texts, formats) == expected
    assert iso_dates(list(reversed(texts)), formats) == list(reversed(expected))  # remembered


def test_iso_dates_keep_formats_apart() -> None:
    assert iso_dates(["03/04/2024"], ("%d/%m/%Y",)) == ["2024-04-03"]
    assert iso_dates(["03/04/2024"], ("%m/%d/%Y",)) == ["2024-03-04"]


def test_a_chunk_holds_each_column_in_one_piece(tmp_path) -> None:
    """pyarrow sets a regex up again for every piece of a column: the checks want one piece."""
    path = tmp_path / "people.csv"
    rows = "".join(f"Ana{i},ana.{i}@example.com\n" for i in range(3000))
    path.write_text("Name,Email\n" + rows, encoding="utf-8")
    chunks = list(open_csv(path, block_size=4096, chunk_rows=2000))
    assert [len(c.frame) for c in chunks] == [2000, 1000]
    for chunk in chunks:
        for name in chunk.frame.columns:
            column = pa.array(chunk.frame[name].array)
            assert getattr(column, "num_chunks", 1) == 1


NUMBERS = ["+1 415 555 0100", "+44 20 7946 0000", "+49 30 1234567", "+0 123", "+1", None,
           "+971 4 123 4567", "+7 495 123-45-67", "0170 1234567",
           "+1 (415) 555-0100 ext 5"]  # fmt: skip


def test_plainly_possible_reads_a_column_in_pieces_as_in_one() -> None:
    whole = pd.Series(NUMBERS, dtype="string[pyarrow]")
    pieces = pd.concat([whole[:4], whole[4:7], whole[7:]])
    assert pa.array(pieces.array).num_chunks == 3
    assert plainly_possible(pieces).tolist() == plainly_possible(whole).tolist()
    assert plainly_possible(whole).tolist() == [
        True, True, True, False, False, False, True, True, False, False
    ]  # fmt: skip


def test_a_columns_rules_run_each_pattern_once() -> None:
    """A phone column's three rules share their digit and spreadsheet-mangling searches."""
    values = pd.Series(["+1 415 555 0100", "-5361", "n/a", None], dtype="string[pyarrow]")
    cells = columns.Cells(values, schema.ENTRIES["phones"].value, "phones.0.value")
    mangled, no_digit = columns.mangled_phone(cells), columns.no_digit(cells)
    columns.impossible_phone(cells)
    assert sorted(cells._found) == ["[0-9]", f"^(?:{schema.PHONE_MANGLED})$"]
    assert mangled.index.tolist() == [1] and no_digit.index.tolist() == [2]
    assert cells.search("[0-9]").tolist() == [True, True, False, False]


def test_iso_dates_forget_past_their_bound(monkeypatch) -> None:
    monkeypatch.setattr(transforms, "_DATES_KEPT", 2)
    formats = ("%d.%m.%Y",)
    for day in range(1, 8):
        texts = [f"{day:02d}.01.2024", f"{day:02d}.02.2024", "soon"]
        assert iso_dates(texts, formats) == [f"2024-01-{day:02d}", f"2024-02-{day:02d}", None]
        assert len(transforms._DATES_READ[formats]) <= 2 + len(texts)


ADDRESSES = ["ana@example.com", "ana@@example.com", "chloé@example.com", "ana@example.test",
             "伊昭傑@example.com", "a" * 70 + "@example.com", None, "bruno@localhost"]  # fmt: skip


def test_open_source_reads_a_csv_in_chunks_of_chunk_rows(tmp_path) -> None:
    path = tmp_path / "many.csv"
    rows = CHUNK_ROWS + 7
    path.write_text("Name\n" + "".join(f"Ann{i}\n" for i in range(rows)), encoding="utf-8")
    assert [len(c.frame) for c in open_source(path)] == [CHUNK_ROWS, 7]
    assert [len(c.frame) for c in open_source(path, chunk_rows=rows)] == [rows]


WEB_ADDRESSES = [
    "https://www.example.com/", "example.com", "http://user@host.example.org:8080/a?b#c",
    "https://bücher.example/", "http://10.0.0.1/", "localhost", "x y", "http://",
    "xn--bcher-kva.example", "https://exa_mple.com", "ftp://example.com", None,
    "https://例え.jp/パス",
]  # fmt: skip


@pytest.mark.parametrize(
    ("check", "entry", "cells", "flagged"),
    [
        (columns.not_an_email, "emails", ADDRESSES, [1, 3, 7]),
        (columns.not_a_url, "websites", WEB_ADDRESSES, [6, 7, 9, 10]),
    ],
)
def test_a_column_is_judged_alike_in_ascii_or_not(check, entry, cells, flagged) -> None:
    """An all-ASCII column takes the ASCII form of its pattern; each cell gets the verdict (and
    the message) it gets in a column with letters beyond ASCII."""
    spec = schema.ENTRIES[entry].value
    whole = check(columns.Cells(pd.Series(cells, dtype="string[pyarrow]"), spec))
    for row, cell in enumerate(cells):
        alone = pd.Series([cell], index=[row], dtype="string[pyarrow]")
        found = check(columns.Cells(alone, spec))
        assert found.to_dict() == whole[whole.index == row].to_dict(), cell
    assert sorted(whole.index) == flagged


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30))
def test_the_url_patterns_agree_on_ascii_text(text: str) -> None:
    full = re.fullmatch(schema.URL_PATTERN, text) is not None
    assert (re.fullmatch(schema.URL_PATTERN_ASCII, text) is not None) == full
