"""What ``run`` says once, at its end, of what the rows lost on the way: the row warnings
``validate`` lists one by one (a dropped address, a phone without a digit), and the text
apostrophes removed. The counting is a pure table; the command is driven as a user runs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result

from importer.core.issues import ISSUE_COLUMNS, RowWarnings

MAPPING = """\
customer:
  firstName: First Name
  emails:
    - {column: Email, type: work}
  phones:
    - {column: Phone, type: work}
  address:
    city: City
    postalCode: Zip
    country: {column: Country, transform: [country_code]}
    on_incomplete: drop
"""
# invented people: row 1 has two text apostrophes, rows 2 and 4 no country, row 2 a phone
# without a digit, row 3 is invalid (its address is dropped too, but it is not sent at all)
CSV = """\
First Name,Email,Phone,City,Zip,Country
Ann,ann@example.com,'+1 555 0100,Boston,'02134,US
Bob,bob@example.com,pager,Lyon,69001,
Cy,not-an-email,,Oslo,0150,
Dee,dee@example.com,,Rome,00184,
"""
DROPPED = (
    "address_dropped on 2 rows (rows 2, 4, column Country): the address has no country, so it "
    "is not sent (on_incomplete: drop); fill the country to send it (validate --report lists "
    "every row)"
)
NO_DIGIT = (
    "phone_no_digit on 1 row (row 2, column Phone): has no digit, so it is no phone number; it "
    "is sent as written: add it to the mapping's null_values to leave it out (validate --report "
    "lists every row)"
)
APOSTROPHES = (
    "2 leading apostrophes removed (the mark spreadsheets put before a number kept as text, as "
    "in '02134): the values are sent without it"
)


def issues(*found: tuple[int, str, str, str]) -> pd.DataFrame:
    """An issue table of (row, column, rule, severity) lines."""
    lines = [
        {"row": row, "column": column, "field": "f", "value": "v", "rule": rule,
         "severity": severity, "message": f"{rule} in row {row}"}
        for row, column, rule, severity in found
    ]  # fmt: skip
    return pd.DataFrame(lines, columns=ISSUE_COLUMNS)


@pytest.mark.parametrize(
    ("chunks", "notes"),
    [
        ([], []),
        ([(issues((1, "E", "email", "error")), 0, ())], []),  # errors are the validator's
        ([(issues(), 3, ())], ["3 leading apostrophes removed"]),
        ([(issues(), 1, ())], ["1 leading apostrophe removed"]),
        (
            [(issues((2, "C", "x", "warning"), (3, "C", "x", "warning")), 0, [3])],
            ["x on 1 row (row 2, column C): x in row 2"],  # row 3 is not sent: left out
        ),
        (  # counted over chunks; five rows named; the first row's column and message
            [
                (issues(*[(r, "A", "x", "warning") for r in range(1, 5)]), 1, ()),
                (issues(*[(r, "B", "x", "warning") for r in range(5, 9)]), 1, ()),
            ],
            [
                "2 leading apostrophes removed",
                "x on 8 rows (rows 1, 2, 3, 4, 5, ..., column A): x in row 1",
            ],
        ),
        (  # one note a rule, in the order the rules came
            [(issues((4, "P", "y", "warning"), (2, "C", "x", "warning")), 0, ())],
            [
                "y on 1 row (row 4, column P): y in row 4",
                "x on 1 row (row 2, column C): x in row 2",
            ],
        ),
    ],
)
def test_row_warnings_are_counted_by_rule(
    chunks: list[tuple[pd.DataFrame, int, object]], notes: list[str]
) -> None:
    warned = RowWarnings()
    for table, apostrophes, invalid in chunks:
        warned.add(table, apostrophes, invalid)  # type: ignore[arg-type]
    found = warned.notes()
    assert len(found) == len(notes)
    assert all(note.startswith(start) for note, start in zip(found, notes, strict=True))


def test_run_says_once_what_the_rows_lost(tmp_path: Path, invoke: Callable[..., Result]) -> None:
    data, mapping = tmp_path / "people.csv", tmp_path / "m.yaml"
    data.write_text(CSV, encoding="utf-8")
    mapping.write_text(MAPPING, encoding="utf-8")
    summary = tmp_path / "s.json"
    args = ["run", data, "-m", mapping, "--sandbox", "-o", tmp_path / "r.csv", "--summary-json",
            summary]  # fmt: skip
    done = invoke(*args)
    assert done.exit_code == 1  # row 3
    warnings = [line for line in done.stderr.splitlines() if line.startswith("Warning: ")]
    assert warnings == [f"Warning: {APOSTROPHES}", f"Warning: {DROPPED}", f"Warning: {NO_DIGIT}"]
    assert json.loads(summary.read_text(encoding="utf-8"))["notes"] == [APOSTROPHES, DROPPED,
                                                                        NO_DIGIT]  # fmt: skip
    assert "3 created, 1 invalid, 0 failed" in done.stdout
