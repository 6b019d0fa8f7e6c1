"""What real exporters write, read as a user expects: validate through the CLI on small files.

Each file is made here, with invented people, in the shape an exporter writes (a text apostrophe,
a trailing delimiter, a repeated header name, a preamble, short rows).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import main


def validate(tmp_path: Path, csv_text: str, mapping: str, *options: str):
    data = tmp_path / "export.csv"
    data.write_bytes(csv_text.encode("utf-8"))
    (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")
    args = ["validate", str(data), "-m", str(tmp_path / "m.yaml"), *options]
    return CliRunner().invoke(main, args)


def payloads(output: str) -> list[dict]:
    shown = [line.split(": ", 1) for line in output.splitlines() if line[:4] == "row "]
    return [json.loads(body) for _, body in shown if body.startswith("{")]


def test_a_text_apostrophe_before_digits_is_removed_and_counted(tmp_path: Path) -> None:
    text = (
        "Email,Phone,Zip,City\r\n"
        "ann@example.com,'+1 555 0100,'02134,'s-Hertogenbosch\r\n"
        "bo@example.com,555 0101,'07030,Hoboken\r\n"
    )
    mapping = (
        "customer:\n  emails: [{column: Email}]\n  phones: [{column: Phone}]\n"
        "  address: {postalCode: Zip, city: City, country: {value: US}}\n"
    )
    result = validate(tmp_path, text, mapping, "--show", "2")
    assert result.exit_code == 0, result.output
    assert [(p["phones"], p["address"]) for p in payloads(result.output)] == [
        ([{"type": "work", "value": "+1 555 0100"}],
         {"city": "'s-Hertogenbosch", "postalCode": "02134", "country": "US"}),
        ([{"type": "work", "value": "555 0101"}],
         {"city": "Hoboken", "postalCode": "07030", "country": "US"}),
    ]  # fmt: skip
    assert result.stderr == (
        "Warning: 3 leading apostrophes removed (the mark spreadsheets put before a number kept "
        "as text, as in '02134): the values are sent without it\n"
    )


def test_a_trailing_delimiter_on_every_line_is_dropped_with_a_warning(tmp_path: Path) -> None:
    text = "First Name,Primary Email,\nAnn,ann@example.com,\nBo,bo@example.com,\n"
    mapping = "customer:\n  firstName: First Name\n  emails: [{column: Primary Email}]\n"
    result = validate(tmp_path, text, mapping)
    assert (result.exit_code, result.stdout) == (
        0,
        "2 rows read: 2 valid, 0 invalid, 0 warnings.\n",
    )
    assert result.stderr == (
        "Warning: the header has no name for column 3: ignored (a row with a value there is an "
        "error; name the column to import it)\n"
    )


def test_a_value_under_an_unnamed_column_is_an_error_on_its_row(tmp_path: Path) -> None:
    text = "First Name,Primary Email,\nAnn,ann@example.com,\nBo,bo@example.com,VIP\n"
    mapping = "customer:\n  firstName: First Name\n  emails: [{column: Primary Email}]\n"
    result = validate(tmp_path, text, mapping)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "row 2: error: unnamed_column: 'VIP' a value in column 3, which has no name in the "
        "header: it would be lost; name the column in the header (and map it), or delete the "
        "value",
        "2 rows read: 1 valid, 1 invalid, 0 warnings.",
    ]


def test_a_repeated_header_name_is_read_numbered_and_mappable(tmp_path: Path) -> None:
    text = "Email,Phone Number,Phone Number\nann@example.com,555 0100,555 0199\n"
    mapping = (
        "customer:\n  emails: [{column: Email}]\n  phones:\n"
        "    - {column: Phone Number, type: work}\n    - {column: Phone Number (2), type: mobile}\n"
    )
    result = validate(tmp_path, text, mapping, "--show", "1")
    assert result.exit_code == 0, result.output
    assert payloads(result.output)[0]["phones"] == [
        {"type": "work", "value": "555 0100"},
        {"type": "mobile", "value": "555 0199"},
    ]
    assert result.stderr == (
        "Warning: column 3 repeats the name 'Phone Number' of column 2: read as "
        "'Phone Number (2)'\n"
    )


PREAMBLE = (
    "Client Report\nExported on 2024-05-01 by Invoice Ninja\n\n"
    "Name,Email,Phone\nAnn Lee,ann@example.com,555 0100\nBo Ray,bo@example.com,555 0101\n"
)
PREAMBLE_MAPPING = "customer:\n  name: Name\n  emails: [{column: Email}]\n  phones: [Phone]\n"


def test_preamble_lines_are_found_and_said(tmp_path: Path) -> None:
    result = validate(tmp_path, PREAMBLE, PREAMBLE_MAPPING)
    assert (result.exit_code, result.stdout) == (
        0,
        "2 rows read: 2 valid, 0 invalid, 0 warnings.\n",
    )
    assert result.stderr == (
        "Warning: lines 1-3 are not the header (too few values for column names): read the "
        "header from line 4; pass --skip-lines N to say how many lines come before it\n"
    )


@pytest.mark.parametrize(("skip", "code"), [("3", 0), ("0", 2)])
def test_skip_lines_says_where_the_header_is(tmp_path: Path, skip: str, code: int) -> None:
    result = validate(tmp_path, PREAMBLE, PREAMBLE_MAPPING, "--skip-lines", skip)
    assert result.exit_code == code
    if code == 0:
        assert result.stderr == ""
    else:  # line 1 as the header: the mapping's columns are not there
        assert result.stderr.startswith(f"Error: {tmp_path / 'm.yaml'}, line 2: column 'Name'")


def test_short_rows_read_as_empty_with_a_warning_and_long_ones_stay_errors(
    tmp_path: Path,
) -> None:
    text = (
        "First Name,Last Name,E-mail Address,Business Phone,Notes\r\n"
        "Ann,Lee,ann@example.com\r\n"
        "Bo,Ray,bo@example.com,555 0101,met at a fair\r\n"
        "Cy,Wu,cy@example.com,555 0102,note,extra\r\n"
    )
    mapping = (
        "customer:\n  firstName: First Name\n  lastName: Last Name\n"
        "  emails: [{column: E-mail Address}]\n  phones: [{column: Business Phone, type: work}]\n"
    )
    result = validate(tmp_path, text, mapping)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "row 1: warning: short_row: 'Ann,Lee,ann@example.com' this row has 3 fields but the "
        "header has 5: the last 2 are read as empty; check nothing is missing",
        "row 3: error: ragged_row: 'Cy,Wu,cy@example.com,555 0102,note,extra' this row has 6 "
        "fields but the header has 5 (line 4): a delimiter or quote is missing or extra; fix the "
        "row so its values line up",
        "3 rows read: 2 valid, 1 invalid, 1 warning.",
    ]


# --- what the file will lose -------------------------------------------------------------------
CONTACTS = (
    "First,Last,Work Email,Mobile,Street,Notes\n"
    "Ann,Lee,ann@example.com,+1 555 0100,12 Main St,likes tea\n"
    "Bo,Ray,bo@example.com,555-0101,4 Rue de la Paix,\n"
    "Cy,Wu,cy@example.com,pager,Hauptstraße 5,called twice\n"
)


def test_a_mapping_that_fills_no_email_and_leaves_lookalike_columns_is_warned_once(
    tmp_path: Path,
) -> None:
    result = validate(tmp_path, CONTACTS, "customer:\n  firstName: First\n  lastName: Last\n")
    assert (result.exit_code, result.stdout) == (
        0,
        "3 rows read: 3 valid, 0 invalid, 0 warnings.\n",
    )
    assert result.stderr.splitlines() == [
        "Warning: the mapping fills no email: a re-run cannot recognise the customers it created "
        "and Help Scout cannot tell them from existing ones; map an email column (emails: - "
        "{column: ...})",
        "Warning: column 'Work Email' looks like emails (3 of 3 values sampled) but the mapping "
        "reads it nowhere, so it is not imported: map it (emails) if it should be",
        "Warning: column 'Mobile' looks like phone numbers (2 of 3 values sampled) but the "
        "mapping reads it nowhere, so it is not imported: map it (phones) if it should be",
        "Warning: column 'Street' looks like street addresses (3 of 3 values sampled) but the "
        "mapping reads it nowhere, so it is not imported: map it (address: lines) if it should be",
    ]


@pytest.mark.parametrize(
    "data",
    [
        "Email,Created Date,CONFIRM_IP,Birthday\n"
        "ann@example.com,2023-01-05 10:22:11,192.168.10.21,13.02.1990\n"
        "bo@example.com,2023-02-11 08:01:40,10.0.0.7,01.03.1985\n"
        "cy@example.com,2023-03-30 17:45:02,172.16.4.200,24.12.1999\n",
        # Eventbrite's "Order #" and "Attendee #": 11 digits, a record's, as the header says
        "Email,Order #,Attendee #,Invoice No.\n"
        "ann@example.com,11211912243,18441583423,20240001\n"
        "bo@example.com,11211987213,18441700883,20240002\n"
        "cy@example.com,11211987213,18441700884,20240003\n",
    ],
)
def test_dates_ip_addresses_and_record_numbers_are_not_called_phone_numbers(
    tmp_path: Path, data: str
) -> None:
    result = validate(tmp_path, data, "customer:\n  emails: [Email]\n")
    assert (result.exit_code, result.stderr) == (0, "")


def test_run_warns_the_same_once(tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    data.write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "m.yaml").write_text("customer:\n  firstName: First\n  emails: [Work Email]\n")
    args = ["run", str(data), "-m", str(tmp_path / "m.yaml"), "--sandbox", "-o"]
    result = CliRunner().invoke(main, [*args, str(tmp_path / "results.csv")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert [w.split(" looks like")[0] for w in warnings] == [
        "Warning: column 'Mobile'",
        "Warning: column 'Street'",
    ]


def test_a_phone_without_a_digit_is_a_warning_on_its_row(tmp_path: Path) -> None:
    mapping = (
        "customer:\n  emails: [Work Email]\n  phones: [Mobile]\n"
        "  address: {lines: [Street], country: {value: DE}}\n"
    )
    result = validate(tmp_path, CONTACTS, mapping)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "row 3, Mobile: warning: phone_no_digit: 'pager' has no digit, so it is no phone "
        "number; it is sent as written: add it to the mapping's null_values to leave it out",
        "3 rows read: 3 valid, 0 invalid, 1 warning.",
    ]


def test_an_address_without_a_country_column_says_the_mapping_lacks_it(tmp_path: Path) -> None:
    text = "Email,City,Country/Region\nann@example.com,Oslo,Norway\n"
    mapping = "customer:\n  emails: [Email]\n  address: {city: City}\n"
    result = validate(tmp_path, text, mapping)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "row 1: error: country_required: an address needs a country, and the mapping fills "
        "none: map the file's country column (address: country: ...), or give country: {value: "
        "US}, or on_incomplete: drop to send the customers without their address"
    )


def test_a_duplicate_email_names_the_option_that_imports_one(tmp_path: Path) -> None:
    text = "Email\nann@example.com\nANN@example.com\n"
    result = validate(tmp_path, text, "customer:\n  emails: [Email]\n")
    assert result.stdout.splitlines()[0] == (
        "row 2, Email: error: duplicate_key: 'ann@example.com' the same email as row 1: this "
        "row would create a duplicate; remove or merge it, or import with run --duplicates first "
        "(or last) to import one of them"
    )


# --- rehearsing with the account's property definitions ----------------------------------------
PLAN = "customer:\n  emails: [Email]\n  properties:\n    plan: {column: Plan, type: text}\n"


@pytest.mark.parametrize(
    ("definitions", "code"),
    [
        ('[{"type": "text", "slug": "plan", "name": "Plan"}]', 0),
        ('[{"type": "text", "slug": "tier", "name": "Tier"}]', 2),
    ],
)
def test_run_sandbox_takes_the_accounts_property_definitions(
    tmp_path: Path, definitions: str, code: int
) -> None:
    data = tmp_path / "export.csv"
    data.write_text("Email,Plan\nann@example.com,pro\n", encoding="utf-8")
    (tmp_path / "m.yaml").write_text(PLAN, encoding="utf-8")
    (tmp_path / "props.json").write_text(definitions, encoding="utf-8")
    args = ["run", str(data), "-m", str(tmp_path / "m.yaml"), "--sandbox"]
    args += ["--properties", str(tmp_path / "props.json"), "-o", str(tmp_path / "out.csv")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    if code:
        assert result.stderr.startswith(
            f"Error: {tmp_path / 'm.yaml'}: properties: plan is not a customer property of "
            "this Help Scout account (it has: tier)"
        )


def test_properties_without_the_sandbox_is_a_usage_error(tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    data.write_text("Email,Plan\nann@example.com,pro\n", encoding="utf-8")
    (tmp_path / "m.yaml").write_text(PLAN, encoding="utf-8")
    args = ["run", str(data), "-m", str(tmp_path / "m.yaml"), "-o", str(tmp_path / "out.csv")]
    result = CliRunner().invoke(main, [*args, "--properties", str(tmp_path / "p.json")])
    assert result.exit_code == 2
    assert "--properties describes the sandbox's account: it goes with --sandbox" in result.output


def test_short_rows_joined_into_a_chunk_still_split_their_cells(tmp_path: Path) -> None:
    """Found by tests/test_fuzz.py: a frame joined from pieces holds chunked columns."""
    text = 'Email,Notes,Country\nann@example.com,"1 Main St\nApt 2",US\nbo@example.com,2 High St\n'
    mapping = (
        "customer:\n  emails: [Email]\n  address:\n"
        '    lines: {column: Notes, separator: "\\n"}\n    country: {value: US}\n'
    )
    result = validate(tmp_path, text, mapping, "--show", "2")
    assert result.exit_code == 0, result.output
    assert [p["address"]["lines"] for p in payloads(result.output)] == [
        ["1 Main St", "Apt 2"],
        ["2 High St"],
    ]
