"""``on_invalid: drop`` (issue 18): a bad value is left out and the rest of the row is sent, with
a warning on the row in every report and a count in the summaries; ``error`` stays the default."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from importer import ValidateOptions, validate_csv
from importer.core.errors import MappingError
from importer.mapping import load_mapping

HEADER = ["First", "Email", "Phone", "Mobile", "Web", "Street", "Country", "Seats"]
ROWS = [
    ["Ana", "ana@example.com", "-5361", "+49 30 1234567", "https://ana.example.com", "1 Main St",
     "DE", "4"],
    ["Ben", "ben@example.com", "+1 415 555 0100", "", "not a site", "2 High St", "Atlantis", "x"],
    ["Cy", "cy@example.com", "+1 415 555 0101", "", "", "", "", "7"],
]  # fmt: skip
FIELDS = """\
  firstName: First
  emails: [{column: Email}]
  phones:
    - {column: Phone, type: work%(phone)s}
    - {column: Mobile, type: mobile}
  websites: [{column: Web%(web)s}]
  address:
    lines: [Street]
    country: {column: Country, transform: [country_code]}
%(address)s  properties:
    seats: {column: Seats, type: number%(seats)s}
"""
PER_FIELD = "customer:\n" + FIELDS % {
    "phone": ", on_invalid: drop", "web": ", on_invalid: drop",
    "address": "    on_invalid: drop\n", "seats": ", on_invalid: drop",
}  # fmt: skip
TOP_LEVEL = "on_invalid: drop\ncustomer:\n" + FIELDS % dict.fromkeys(
    ("phone", "web", "address", "seats"), ""
)
DEFAULT = "customer:\n" + FIELDS % dict.fromkeys(("phone", "web", "address", "seats"), "")
#: What rows 1 and 2 are sent without: (row, field, rule, column)
DROPPED = [
    (1, "phones.0.value", "phone_dropped", "Phone"),
    (2, "address.country", "country_dropped", "Country"),  # the mapping's country_code first
    (2, "websites.0.value", "url_dropped", "Web"),
    (2, "properties.seats", "number_dropped", "Seats"),
]
SENT = {
    1: {"firstName": "Ana", "emails": [{"type": "work", "value": "ana@example.com"}],
        "phones": [{"type": "mobile", "value": "+49 30 1234567"}],
        "websites": [{"value": "https://ana.example.com"}],
        "address": {"lines": ["1 Main St"], "country": "DE"}, "properties": {"seats": 4}},
    2: {"firstName": "Ben", "emails": [{"type": "work", "value": "ben@example.com"}],
        "phones": [{"type": "work", "value": "+1 415 555 0100"}]},
    3: {"firstName": "Cy", "emails": [{"type": "work", "value": "cy@example.com"}],
        "phones": [{"type": "work", "value": "+1 415 555 0101"}], "properties": {"seats": 7}},
}  # fmt: skip


def write(tmp_path: Path, mapping: str) -> tuple[Path, Path]:
    data, path = tmp_path / "in.csv", tmp_path / "m.yaml"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADER, *ROWS])
    path.write_text(mapping, encoding="utf-8")
    return data, path


@pytest.mark.parametrize("mapping", [PER_FIELD, TOP_LEVEL], ids=["per-field", "top-level"])
def test_validate_sends_the_row_without_the_bad_values(tmp_path, invoke, mapping) -> None:
    data, path = write(tmp_path, mapping)
    report = tmp_path / "report.json"
    shown = invoke("validate", data, "-m", path, "--report", report)
    assert shown.exit_code == 0
    assert "3 rows read: 3 valid, 0 invalid, 4 warnings (4 values dropped)." in shown.output
    body = json.loads(report.read_text(encoding="utf-8"))
    issues = [(i["row"], i["field"], i["rule"], i["column"]) for i in body["issues"]]
    assert issues == DROPPED
    assert {i["severity"] for i in body["issues"]} == {"warning"}
    assert body["issues"][0]["message"].endswith("; sent without this value (on_invalid: drop)")
    assert body["issues"][1]["message"].endswith("; sent without the address (on_invalid: drop)")
    assert (body["summary"]["dropped"], body["summary"]["invalid"]) == (4, 0)
    result = validate_csv(data, path, ValidateOptions(show=3))
    assert dict(result.samples) == SENT


def test_error_stays_the_default(tmp_path, invoke, read_rows) -> None:
    data, path = write(tmp_path, DEFAULT)
    report = tmp_path / "report.csv"
    assert invoke("validate", data, "-m", path, "--report", report).exit_code == 1
    found = [(int(i["row"]), i["rule"], i["severity"]) for i in read_rows(report)]
    assert found == [(1, "phone", "error"), (2, "country", "error"), (2, "url", "error"),
                     (2, "number", "error")]  # fmt: skip


def test_a_field_may_keep_error_under_a_top_level_drop(tmp_path, invoke) -> None:
    mapping = TOP_LEVEL.replace("{column: Web}", "{column: Web, on_invalid: error}")
    data, path = write(tmp_path, mapping)
    report = tmp_path / "report.json"
    assert invoke("validate", data, "-m", path, "--report", report).exit_code == 1
    body = json.loads(report.read_text(encoding="utf-8"))
    assert [(i["row"], i["rule"]) for i in body["issues"] if i["severity"] == "error"] == [
        (2, "url")
    ]
    assert body["summary"]["dropped"] == 3


def test_run_sends_what_validate_shows_and_says_what_it_dropped(
    tmp_path, invoke, read_rows, serve_sandbox, sandbox_env
) -> None:
    data, path = write(tmp_path, PER_FIELD)
    box = serve_sandbox()
    results, summary, rejects = tmp_path / "out.csv", tmp_path / "s.json", tmp_path / "rej.csv"
    done = invoke("run", data, "-m", path, "-o", results, "--summary-json", summary,
                  "--rejects", rejects, env=sandbox_env(box))  # fmt: skip
    assert done.exit_code == 0, done.output
    assert [line["status"] for line in read_rows(results)] == ["created"] * 3
    assert read_rows(rejects) == []
    for line in read_rows(results):
        customer = box.state.customers[int(line["customer_id"])]
        want = SENT[int(line["row"])]
        assert customer["firstName"] == want["firstName"]
        for field in ("emails", "phones", "websites"):
            assert [e["value"] for e in customer[field]] == [
                e["value"] for e in want.get(field, [])
            ]
        assert customer["properties"] == want.get("properties", {})
        address = customer["address"]
        assert (address and address["country"]) == want.get("address", {}).get("country")
    said = json.loads(summary.read_text(encoding="utf-8"))
    assert said["dropped"] == 4
    assert any(n.startswith("phone_dropped on 1 row (row 1, column Phone)") for n in said["notes"])
    assert "Warning: url_dropped on 1 row (row 2, column Web)" in done.stderr


def test_run_sandbox_creates_every_row_and_counts_the_dropped_values(
    tmp_path, invoke, read_rows
) -> None:
    data, path = write(tmp_path, TOP_LEVEL)
    results, summary = tmp_path / "out.csv", tmp_path / "s.json"
    done = invoke("run", data, "-m", path, "--sandbox", "-o", results, "--summary-json", summary)
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[0] == "3 rows: 3 created, 0 invalid, 0 failed."
    assert [line["status"] for line in read_rows(results)] == ["created"] * 3
    assert json.loads(summary.read_text(encoding="utf-8"))["dropped"] == 4


def test_the_html_report_shows_the_dropped_values_struck_out(tmp_path, invoke) -> None:
    data, path = write(tmp_path, PER_FIELD)
    report = tmp_path / "report.html"
    assert invoke("validate", data, "-m", path, "--report", report).exit_code == 0
    page = report.read_text(encoding="utf-8")
    assert "<b>4</b><span>dropped: sent without</span>" in page
    assert (
        '<span class="badge warning">dropped</span> <b>1 row</b>: not a phone number: dropped, the '
        "row sent without it in <b>Phone</b>" in page
    )
    assert "<del>-5361</del>" in page and "<mark>-5361" not in page


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("on_invalid: skip\ncustomer:\n  firstName: F\n", "'skip' is not a on_invalid value"),
        ("customer:\n  firstName: {column: F, on_invalid: later}\n", "use one of: error, drop"),
        ("customer:\n  address: {city: C, on_invalid: [drop]}\n", "not a list"),
    ],
)
def test_on_invalid_is_checked_when_loaded(tmp_path: Path, spec: str, words: str) -> None:
    (tmp_path / "m.yaml").write_text(spec, encoding="utf-8")
    with pytest.raises(MappingError, match=words.replace("[", r"\[")):
        load_mapping(tmp_path / "m.yaml")


def test_a_spreadsheet_mangled_export_is_sent_without_its_mangled_values(
    tmp_path: Path, shared_data: Path
) -> None:
    """The Datablist export after a spreadsheet: phones evaluated as formulas, dates rewritten,
    ambiguous countries. With a top-level drop every row is sent, without those values."""
    mapping = tmp_path / "m.yaml"
    preset = (Path(__file__).parent.parent / "mappings" / "datablist-customers.yaml").read_text()
    mapping.write_text("on_invalid: drop\n" + preset, encoding="utf-8")
    report = tmp_path / "report.json"
    data = shared_data / "customers" / "customers-10000.excel-mangled.csv"
    result = validate_csv(data, mapping, ValidateOptions(report=report, show=3))
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    assert (summary["rows"], summary["valid"], summary["invalid"]) == (10000, 10000, 0)
    assert summary["by_rule"] == {"date_dropped": 10000, "phone_dropped": 764,
                                  "country_dropped": 203}  # fmt: skip
    assert summary["dropped"] == 10967
    assert all("subscription-date" not in p.get("properties", {}) for _, p in result.samples)
