"""Every CSV written reads back as the rows written, and no cell runs as a spreadsheet formula.

Hostile cells (formula starters in three widths, hidden characters before them, CR and LF) go
through each CSV writer: the results with ``--include-source`` and the validation report
``--report x.csv``; each file is read back with Python's csv module and with pandas.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from importer.cli import main
from importer.core.safecsv import ESCAPED_FORMULA, needs_guard, safe_cell, safe_frame

EVIL_HEADER = '=HYPERLINK("http://evil.example","open me")'
HOSTILE = [
    "\r=cmd|' /C calc'!A0",
    "=cmd",
    "+1 555 0100",
    "-5",
    "@SUM(A1)",
    "＝1+1",
    "＋1",
    "－1",
    "＠x",
    "﹦1",
    "﹢1",
    "﹣1",
    "﹫x",
    "\u200b=cmd",
    "\ufeff+cmd",
    "\u00a0@cmd",
    "\u3000－cmd",
    "\x00=cmd",
    "\t=cmd",
    "\tjust a tab",
    "\nline",
    "line one\r\nline two",
    "\x1b]8;;http://evil.example\x07link",
]
IN_FILES = [cell for cell in HOSTILE if "\x00" not in cell]  # a CSV with NUL is refused on reading
HARMLESS = ["Ada", "a=b", "it's", "'quoted'", "1+1", "ＡＢＣ", "", "\u200bAda"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_hostile_cells_get_one_leading_apostrophe(cell: str) -> None:
    risky = (
        cell[0] in "\t\r\n"
        or cell.lstrip("\u200b\ufeff\u00a0\u3000\x00")[0] in "=+-@＝＋－＠﹦﹢﹣﹫"
    )
    assert needs_guard(cell) is risky
    assert safe_cell(cell) == ("'" + cell if risky else cell)


@pytest.mark.parametrize("cell", HARMLESS)
def test_harmless_cells_are_written_as_they_are(cell: str) -> None:
    assert safe_cell(cell) == cell


def test_the_vectorised_guard_and_the_reading_side_agree_with_the_cell_guard() -> None:
    cells = HOSTILE + HARMLESS
    frame = safe_frame(pd.DataFrame({"value": cells, "n": range(len(cells))}))
    assert frame["value"].tolist() == [safe_cell(c) for c in cells]
    assert frame["n"].tolist() == list(range(len(cells)))  # numbers untouched
    # importer.mapping strips a cell, then drops the guard: it gets what stripping the original
    # gives, for every cell written
    strip = pc.utf8_trim_whitespace
    read_back = pc.replace_substring_regex(strip(pa.array(frame["value"].tolist())),
                                           ESCAPED_FORMULA, r"\1")  # fmt: skip
    assert read_back.to_pylist() == strip(pa.array(cells)).to_pylist()
    user_written = ["' hello", "'quoted'", "'\u200bAda", "'1"]  # never guarded by us: kept
    kept = pc.replace_substring_regex(pa.array(user_written), ESCAPED_FORMULA, r"\1")
    assert kept.to_pylist() == user_written


def read_both_ways(path: Path) -> list[list[str]]:
    """The file's rows as Python's csv module reads them, checked equal to pandas' reading."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    assert [list(frame.columns), *frame.to_numpy().tolist()] == rows
    return rows


@pytest.fixture
def hostile_csv(tmp_path: Path) -> tuple[Path, Path]:
    """A CSV whose cells and one header name are hostile, and a mapping that reads them."""
    data, mapping = tmp_path / "in.csv", tmp_path / "m.yaml"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", EVIL_HEADER, "Email"])
        for i, cell in enumerate(IN_FILES):
            writer.writerow([cell.strip() or "x", cell, f"ann.{i}@example.com"])
    mapping.write_text(
        "customer:\n  firstName: First Name\n  background: " + json.dumps(EVIL_HEADER) + "\n"
        "  emails:\n    - {column: Email, type: work}\n",
        encoding="utf-8",
    )
    return data, mapping


def test_results_with_the_source_read_back_as_written(
    hostile_csv: tuple[Path, Path], tmp_path: Path
) -> None:
    data, mapping = hostile_csv
    results = tmp_path / "results.csv"
    run = CliRunner().invoke(main, ["run", str(data), "-m", str(mapping), "--sandbox", "-o",
                                    str(results), "--include-source"])  # fmt: skip
    assert run.exit_code == 0, run.output
    rows = read_both_ways(results)
    assert len(rows) == 1 + len(IN_FILES)
    assert rows[0][8:] == ["First Name", "'" + EVIL_HEADER, "Email"]
    assert [row[9] for row in rows[1:]] == [safe_cell(cell) for cell in IN_FILES]
    assert all(not needs_guard(cell) for row in rows for cell in row if not cell.startswith("'"))


def test_the_csv_report_reads_back_as_written(
    hostile_csv: tuple[Path, Path], tmp_path: Path
) -> None:
    data, mapping = hostile_csv
    broken = tmp_path / "broken.csv"  # every email replaced by the hostile cell: one issue each
    with data.open(newline="", encoding="utf-8") as fh, broken.open("w", newline="") as out:
        writer = csv.writer(out)
        for i, row in enumerate(csv.reader(fh)):
            writer.writerow(row if i == 0 else [row[0], row[1], row[1] or "x"])
    report = tmp_path / "issues.csv"
    result = CliRunner().invoke(main, ["validate", str(broken), "-m", str(mapping), "--report",
                                       str(report)])  # fmt: skip
    assert result.exit_code == 1, result.output
    rows = read_both_ways(report)
    header, lines = rows[0], rows[1:]
    emails = [line for line in lines if line[header.index("column")] == "Email"]
    rows_named = [line[header.index("row")] for line in emails]
    assert rows_named == [str(i) for i in range(1, len(IN_FILES) + 1)]
    assert all(not needs_guard(cell) for row in rows for cell in row if not cell.startswith("'"))


def test_a_results_file_fed_back_sends_what_the_first_reading_sent(
    hostile_csv: tuple[Path, Path], tmp_path: Path
) -> None:
    """The guard is dropped on reading (see importer.mapping): the same payloads go out."""
    data, mapping = hostile_csv
    fed_mapping = tmp_path / "fed.yaml"  # the results file's header guards EVIL_HEADER
    fed_mapping.write_text(
        mapping.read_text(encoding="utf-8").replace(json.dumps(EVIL_HEADER),
                                                    json.dumps("'" + EVIL_HEADER)),
        encoding="utf-8",
    )  # fmt: skip
    results = tmp_path / "results.csv"
    show = str(len(IN_FILES))
    first = CliRunner().invoke(main, ["validate", str(data), "-m", str(mapping), "--show", show])
    CliRunner().invoke(main, ["run", str(data), "-m", str(mapping), "--sandbox", "-o",
                              str(results), "--include-source"])  # fmt: skip
    again = CliRunner().invoke(main, ["validate", str(results), "-m", str(fed_mapping), "--show",
                                      show])  # fmt: skip
    payloads = [line for line in first.stdout.splitlines() if line.startswith("row ")]
    assert len(payloads) == len(IN_FILES)
    assert [line for line in again.stdout.splitlines() if line.startswith("row ")] == payloads


@pytest.mark.parametrize("start", [0, 3, 5])
def test_safe_frame_keeps_the_cells_of_a_slice(start: int) -> None:
    """The rejects file writes a chunk 5,000 rows at a time: a slice's labels start past 0."""
    frame = pd.DataFrame({0: range(8), 1: pd.Series([f"=v{i}" for i in range(8)], dtype=object)})
    safe = safe_frame(frame.iloc[start : start + 3])
    assert safe[1].tolist() == [f"'=v{i}" for i in range(start, min(start + 3, 8))]
    assert safe.index.tolist() == list(range(start, min(start + 3, 8)))


def test_rejects_of_more_rows_than_a_write_keep_their_cells(tmp_path: Path) -> None:
    rows = "".join(f"Ann{i},ann{i}@@example.com\n" for i in range(1, 12_001))
    (tmp_path / "people.csv").write_text("First Name,Email\n" + rows, encoding="utf-8")
    (tmp_path / "m.yaml").write_text(
        "customer:\n  firstName: First Name\n  emails:\n    - {column: Email, type: work}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "people.csv"), "-m",
                                       str(tmp_path / "m.yaml"), "--rejects",
                                       str(tmp_path / "rejects.csv")])  # fmt: skip
    assert result.exit_code == 1, result.output
    with (tmp_path / "rejects.csv").open(encoding="utf-8-sig", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert len(written) == 12_000
    assert [r["First Name"] for r in written] == [f"Ann{i}" for i in range(1, 12_001)]
    assert all("exactly one @-sign" in r["error"] for r in written)
