"""The mapping options real exports need (issue 9), each through a real file and the pipeline:
an entry's type from a column, fallback columns, replace, null_values, on_incomplete, a one-cell
address split into lines, several address groups. Each option: what it does, and its refusals."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from importer import ValidateOptions, validate_csv
from importer.core.errors import MappingError
from importer.mapping import load_mapping


def run(tmp_path: Path, header: list[str], rows: list[list[str]], mapping: str):
    """(payload or None per row, [(row, field, rule, severity)]) from validate_csv."""
    data = tmp_path / "in.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")
    report = tmp_path / "report.json"
    result = validate_csv(data, tmp_path / "m.yaml", ValidateOptions(report=report, show=len(rows)))
    issues = json.loads(report.read_text(encoding="utf-8"))["issues"]
    sent = dict(result.samples)
    found = [(i["row"], i["field"], i["rule"], i["severity"]) for i in issues]
    return [sent.get(n) for n in range(1, len(rows) + 1)], found


def refused(tmp_path: Path, mapping: str) -> MappingError:
    path = tmp_path / "m.yaml"
    path.write_text(mapping, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert "\n" not in str(caught.value)
    return caught.value


# --- an entry's type from another column -------------------------------------------------------
GOOGLE = """\
customer:
  emails:
    - column: E-mail 1 - Value
      type: {column: E-mail 1 - Type, map: {"* Home": home, "* Work": work}, default: other}
"""


def test_an_entry_type_is_read_from_its_column_through_the_map(tmp_path: Path) -> None:
    rows = [
        ["a@example.com", "* Home"],
        ["b@example.com", " * WORK "],  # stripped, any case
        ["c@example.com", "Custom"],  # no type of the list: the default
        ["d@example.com", ""],
        ["e@example.com", "work"],  # a type of the list as it is
    ]
    sent, issues = run(tmp_path, ["E-mail 1 - Value", "E-mail 1 - Type"], rows, GOOGLE)
    assert [p["emails"][0]["type"] for p in sent] == ["home", "work", "other", "other", "work"]
    assert issues == []


def test_without_a_default_the_lists_own_default_type_is_taken(tmp_path: Path) -> None:
    mapping = "customer:\n  phones:\n    - {column: P, type: {column: T, map: {Cell: mobile}}}\n"
    sent, _ = run(tmp_path, ["P", "T"], [["555 0100", "cell"], ["555 0101", "Car"]], mapping)
    assert [p["phones"][0]["type"] for p in sent] == ["mobile", "work"]


@pytest.mark.parametrize(
    ("spec", "line", "words"),
    [
        ("{column: T, map: {Home: house}}", 3, "'house' is not a type for emails"),
        ("{map: {Home: home}}", 3, "the type of emails needs column:"),
        ("{column: T, default: personal}", 3, "'personal' is not a type for emails"),
        ("{column: T, mapping: {}}", 3, "unknown setting 'mapping' for the type of emails"),
    ],
)
def test_a_type_spec_is_checked_when_loaded(
    tmp_path: Path, spec: str, line: int, words: str
) -> None:
    error = refused(tmp_path, f"customer:\n  emails:\n    - {{column: E, type: {spec}}}\n")
    assert error.line == line
    assert words in str(error)


# --- fallback columns --------------------------------------------------------------------------
def test_the_first_non_empty_column_of_a_list_wins(tmp_path: Path) -> None:
    mapping = (
        "null_values: [n/a]\ncustomer:\n  firstName: {column: [First Name, Display Name]}\n"
        "  emails: [{column: Email}]\n"
    )
    rows = [["Ann", "Annie", "a@x.org"], ["", "Bo R.", "b@x.org"], ["N/A", "Cy", "c@x.org"],
            ["", "", "d@x.org"]]  # fmt: skip
    sent, _ = run(tmp_path, ["First Name", "Display Name", "Email"], rows, mapping)
    assert [p.get("firstName") for p in sent] == ["Ann", "Bo R.", "Cy", None]


def test_a_fallback_column_missing_from_the_file_is_named_with_its_line(tmp_path: Path) -> None:
    mapping = "customer:\n  firstName:\n    column: [First, Nick]\n"
    path = tmp_path / "m.yaml"
    path.write_text(mapping, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path).bind(["First", "Email"])
    assert caught.value.line == 3
    assert "column 'Nick' is not in the CSV file" in str(caught.value)


def test_join_puts_the_present_cells_of_a_column_list_together(tmp_path: Path) -> None:
    mapping = (
        "customer:\n  emails: [Email]\n  address:\n"
        '    lines: [{column: [Number, Street], join: " "}, Suite]\n    country: Country\n'
    )
    rows = [["a@x.org", "12", "Main St", "Apt 4", "US"], ["b@x.org", "", "Ring 5", "", "DE"],
            ["c@x.org", "7", "", "", "FR"], ["d@x.org", "", "", "Unit 9", "GB"]]  # fmt: skip
    sent, issues = run(tmp_path, ["Email", "Number", "Street", "Suite", "Country"], rows, mapping)
    assert [p["address"]["lines"] for p in sent] == [
        ["12 Main St", "Apt 4"], ["Ring 5"], ["7"], ["Unit 9"]
    ]  # fmt: skip
    assert issues == []


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ('{column: Street, join: " "}', "join: puts the cells of several columns together"),
        ("{column: [A, B], join: [x]}", "expected the text that joins the cells"),
    ],
)
def test_join_is_checked_when_loaded(tmp_path: Path, spec: str, words: str) -> None:
    error = refused(tmp_path, f"customer:\n  firstName: {spec}\n")
    assert (error.line, words in str(error)) == (2, True)


def test_an_empty_column_list_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "customer:\n  firstName: {column: []}\n")
    assert (error.line, "column: of firstName is an empty list" in str(error)) == (2, True)


# --- replace -----------------------------------------------------------------------------------
def test_replace_runs_its_patterns_in_order_after_the_default(tmp_path: Path) -> None:
    mapping = (
        "customer:\n"
        "  jobTitle: {column: T, replace: {'^(Mr|Ms|Mrs|Dr)\\.? +': '', '\\s+': ' '}}\n"
        "  phone: {column: P, default: '0000000', replace: {'^(\\d{3})(\\d{4})$': '\\1-\\2'}}\n"
        "  emails: [{column: E}]\n"
    )
    rows = [["Dr. Head  of   Support", "5550100", "a@x.org"], ["Mr", "", "b@x.org"]]
    sent, _ = run(tmp_path, ["T", "P", "E"], rows, mapping)
    assert [(p.get("jobTitle"), p.get("phone")) for p in sent] == [
        ("Head of Support", "555-0100"),
        ("Mr", "000-0000"),
    ]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("{'(?=x)': ''}", "is not a regular expression this tool reads"),
        ("['a']", "replace: of jobTitle must be a mapping"),
        ("{'a': [b]}", "expected the replacement here, not a list"),
    ],
)
def test_replace_is_checked_when_loaded(tmp_path: Path, spec: str, words: str) -> None:
    error = refused(tmp_path, f"customer:\n  jobTitle: {{column: T, replace: {spec}}}\n")
    assert error.line == 2
    assert words in str(error)


# --- null_values -------------------------------------------------------------------------------
def test_null_values_make_cells_absent_for_every_field_and_per_field(tmp_path: Path) -> None:
    mapping = (
        "null_values: ['null', N/A, '-']\ncustomer:\n"
        "  lastName: {column: Last, null_values: [unknown]}\n  jobTitle: Title\n"
        "  phones: [{column: Phone}]\n  emails: [{column: Email}]\n"
    )
    rows = [
        ["UNKNOWN", "NULL", " n/a ", "a@x.org"],
        ["Lee", "-", "555 0100", "b@x.org"],
        ["Ray", "unknown", "null", "c@x.org"],  # "unknown" is absent for lastName only
    ]
    sent, issues = run(tmp_path, ["Last", "Title", "Phone", "Email"], rows, mapping)
    assert [(p.get("lastName"), p.get("jobTitle"), p.get("phones")) for p in sent] == [
        (None, None, None),
        ("Lee", None, [{"type": "work", "value": "555 0100"}]),
        ("Ray", "unknown", None),
    ]
    assert issues == []


def test_a_null_value_gives_the_default_its_place(tmp_path: Path) -> None:
    mapping = "null_values: [none]\ncustomer:\n  gender: {column: G, default: unknown}\n"
    sent, _ = run(tmp_path, ["G"], [["None"], ["female"]], mapping)
    assert [p["gender"] for p in sent] == ["unknown", "female"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("null_values: N/A\ncustomer:\n  firstName: A\n", 1, "null_values: must be a list"),
        ("customer:\n  firstName: {column: A, null_values: {a: b}}\n", 2, "must be a list"),
        ("null_values: [[x]]\ncustomer:\n  firstName: A\n", 1, "not a list"),
    ],
)
def test_null_values_are_checked_when_loaded(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    error = refused(tmp_path, text)
    assert (error.line, words in str(error)) == (line, True)


# --- an address without a country: on_incomplete ------------------------------------------------
ADDRESS = """\
customer:
  emails: [{column: Email}]
  address:
    lines: [Street]
    city: City
    country: {column: Country, transform: [country_code]}
"""
ADDRESS_ROWS = [["a@x.org", "1 Main St", "Oslo", "Norway"], ["b@x.org", "2 High St", "Leeds", ""]]
ADDRESS_HEADER = ["Email", "Street", "City", "Country"]


def test_on_incomplete_drop_sends_the_customer_without_the_address(tmp_path: Path) -> None:
    mapping = ADDRESS + "    on_incomplete: drop\n"
    sent, issues = run(tmp_path, ADDRESS_HEADER, ADDRESS_ROWS, mapping)
    assert sent == [
        {"emails": [{"type": "work", "value": "a@x.org"}],
         "address": {"lines": ["1 Main St"], "city": "Oslo", "country": "NO"}},
        {"emails": [{"type": "work", "value": "b@x.org"}]},
    ]  # fmt: skip
    assert issues == [(2, "address", "address_dropped", "warning")]


def test_on_incomplete_error_is_the_default_and_refuses_the_row(tmp_path: Path) -> None:
    for mapping in (ADDRESS, ADDRESS + "    on_incomplete: error\n"):
        sent, issues = run(tmp_path, ADDRESS_HEADER, ADDRESS_ROWS, mapping)
        assert sent[1] is None
        assert issues == [(2, "address.country", "country_required", "error")]


def test_on_incomplete_takes_error_or_drop_only(tmp_path: Path) -> None:
    error = refused(tmp_path, ADDRESS + "    on_incomplete: ignore\n")
    assert error.line == 7
    assert "'ignore' is not a on_incomplete value; use one of: error, drop" in str(error)


# --- a one-cell address split into lines --------------------------------------------------------
def test_a_formatted_address_cell_is_cut_into_lines_at_any_line_break(tmp_path: Path) -> None:
    mapping = (
        "customer:\n  emails: [{column: Email}]\n  address:\n"
        '    lines: {column: Address 1 - Formatted, separator: "\\n"}\n'
        "    country: {value: US}\n"
    )
    rows = [["a@x.org", "1 Main St\r\nApt 2\n\nBoston MA 02134\rUSA"], ["b@x.org", "PO Box 7"]]
    sent, _ = run(tmp_path, ["Email", "Address 1 - Formatted"], rows, mapping)
    assert [p["address"]["lines"] for p in sent] == [
        ["1 Main St", "Apt 2", "Boston MA 02134", "USA"],
        ["PO Box 7"],
    ]


def test_an_empty_separator_for_lines_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "customer:\n  address:\n    lines: {column: A, separator: ''}\n")
    assert (error.line, "separator must not be empty" in str(error)) == (3, True)


# --- several address groups ---------------------------------------------------------------------
GROUPS = """\
customer:
  emails: [{column: Email}]
  address:
    - {lines: [Ship Street], city: Ship City, country: {column: Ship Country, transform: [country_code]}, on_incomplete: drop}
    - {lines: [Bill Street], city: Bill City, country: {column: Bill Country, transform: [country_code]}}
"""  # noqa: E501
GROUP_HEADER = ["Email", "Ship Street", "Ship City", "Ship Country", "Bill Street", "Bill City",
                "Bill Country"]  # fmt: skip


def test_the_first_complete_address_group_is_sent(tmp_path: Path) -> None:
    rows = [
        ["a@x.org", "1 Dock Rd", "Hull", "UK", "9 Bank St", "York", "UK"],  # shipping
        ["b@x.org", "", "", "", "9 Bank St", "York", "GB"],  # billing: shipping is empty
        ["c@x.org", "2 Pier", "Hull", "", "8 Bank St", "Bath", "GB"],  # shipping has no country
        ["d@x.org", "3 Quay", "Hull", "", "", "", ""],  # none complete: shipping drops
        ["e@x.org", "", "", "", "7 Bank St", "", ""],  # none complete: billing errs
        ["f@x.org", "", "", "", "", "", ""],  # no address at all
    ]
    sent, issues = run(tmp_path, GROUP_HEADER, rows, GROUPS)
    assert [p.get("address") if p else "invalid" for p in sent] == [
        {"lines": ["1 Dock Rd"], "city": "Hull", "country": "GB"},
        {"lines": ["9 Bank St"], "city": "York", "country": "GB"},
        {"lines": ["8 Bank St"], "city": "Bath", "country": "GB"},
        None,
        "invalid",
        None,
    ]
    assert issues == [
        (4, "address", "address_dropped", "warning"),
        (5, "address.country", "country_required", "error"),
    ]


def test_an_empty_list_of_address_groups_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "customer:\n  firstName: A\n  address: []\n")
    assert (error.line, "address: is an empty list" in str(error)) == (3, True)
