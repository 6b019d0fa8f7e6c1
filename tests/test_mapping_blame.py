"""Issue 17: a bad value is blamed on the column it came from, in the console, the reports and
the rejects file, with a ``separator`` entry before others, fallback columns and ``join``."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

HEADER = ["Name", "E-mail", "Alt. E-mail", "Web", "Web 2", "No", "Street"]
ROWS = [
    ["Ann", "bad@@example.com;ann@example.com", "ann.alt@example.com", "", "", "", ""],
    ["Bob", "bob@example.com", "bob.alt@@example.com", "", "", "", ""],
    ["Cy", "cy@example.com", "", "", "not a site", "", ""],
    ["Di", "di@example.com", "", "https://di.example.com", "", "", ""],
]
MAPPING = """\
customer:
  firstName: Name
  emails:
    - {column: E-mail, separator: ";"}
    - {column: Alt. E-mail}
  websites:
    - {column: [Web, Web 2]}
"""
#: (row, the column each report must blame)
BLAMED = [(1, "E-mail"), (2, "Alt. E-mail"), (3, "Web 2")]


def write(tmp_path: Path, header: list[str], rows: list[list[str]], mapping: str) -> None:
    with (tmp_path / "in.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")


def test_every_output_blames_the_column_the_value_came_from(tmp_path, invoke, read_rows) -> None:
    write(tmp_path, HEADER, ROWS, MAPPING)
    shown = invoke("validate", tmp_path / "in.csv", "-m", tmp_path / "m.yaml")
    assert shown.exit_code == 1
    for row, column in BLAMED:
        assert f"row {row}, {column}: error:" in shown.output
    assert "row 1, Alt. E-mail" not in shown.output
    report, rejects = tmp_path / "r.csv", tmp_path / "rejects.csv"
    args = ("--report", report, "--rejects", rejects)
    assert invoke("validate", tmp_path / "in.csv", "-m", tmp_path / "m.yaml", *args).exit_code == 1
    assert [(int(i["row"]), i["column"]) for i in read_rows(report)] == BLAMED
    assert [r["error"].split(":")[0] for r in read_rows(rejects)] == [c for _, c in BLAMED]


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        (["", "12 Main St"], "Street"),  # the second column alone
        (["7", "12 Main St"], "No + Street"),  # both joined
        (["7", ""], "No"),
    ],
)
def test_a_joined_value_is_blamed_on_the_columns_joined(
    tmp_path, invoke, read_rows, cells, column
) -> None:
    mapping = "customer:\n  firstName: Name\n  location: {column: [No, Street], join: ' '}\n"
    write(tmp_path, ["Name", "No", "Street"], [["Ann", *(c * 70 for c in cells)]], mapping)
    report = tmp_path / "r.csv"
    invoke("validate", tmp_path / "in.csv", "-m", tmp_path / "m.yaml", "--report", report)
    assert [(i["field"], i["column"]) for i in read_rows(report)] == [("location", column)]
