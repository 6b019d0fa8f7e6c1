"""The validator against Help Scout's Create Customer rules, through real files and the pipeline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from importer import ValidateOptions, validate_csv
from importer.check.validate import SeenKeys
from importer.customer import schema

BASE_MAPPING = """\
customer:
  firstName: First
  emails:
    - {column: Email, type: work}
"""


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def issues_of(tmp_path: Path, header, rows, mapping: str) -> tuple[list[dict], dict]:
    data = write_csv(tmp_path / "in.csv", header, rows)
    (tmp_path / "map.yaml").write_text(mapping, encoding="utf-8")
    report = tmp_path / "report.json"
    validate_csv(data, tmp_path / "map.yaml", ValidateOptions(report=report))
    body = json.loads(report.read_text(encoding="utf-8"))
    return body["issues"], body["summary"]


# field, mapping line, a value that passes, a value that fails, the rule it breaks
FIELD_CASES = [
    ("firstName", "  firstName: V", "Ann", "A" * 41, "max_length"),
    ("lastName", "  lastName: V", "Lee", "L" * 41, "max_length"),
    ("photoUrl", "  photoUrl: V", "https://cdn.example.com/a.png", "not a url", "url"),
    (
        "photoUrl",
        "  photoUrl: V",
        "https://e.com/" + "a" * 186,
        "https://e.com/" + "a" * 187,
        "max_length",
    ),
    ("photoType", "  photoType: V", "Gravatar", "selfie", "enum"),
    ("jobTitle", "  jobTitle: V", "J" * 60, "J" * 61, "max_length"),
    ("background", "  background: V", "B" * 200, "B" * 201, "max_length"),
    ("location", "  location: V", "L" * 60, "L" * 61, "max_length"),
    ("organization", "  organization: V", "O" * 60, "O" * 61, "max_length"),
    ("gender", "  gender: V", "Female", "other", "enum"),
    ("phone", "  phone: V", "+1 (415) 555-0100", "-5361", "phone"),
    (
        "emails.1.value",
        "  emails:\n    - {column: Email, type: work}\n    - {column: V, type: home}",
        "second@example.org",
        "second@@example.org",
        "email",
    ),
    (
        "phones.0.value",
        "  phones:\n    - {column: V, type: mobile}",
        "0170 1234567",
        "4.91511E+12",
        "phone",
    ),
    (
        "websites.0.value",
        "  websites:\n    - {column: V}",
        "https://www.example.com/about",
        "htp:/broken link",
        "url",
    ),
    ("address.country", "  address:\n    city: City\n    country: V", "DE", "Germany", "country"),
    (
        "properties.seats",
        "  properties:\n    seats: {column: V, type: number}",
        "-42",
        "4.5",
        "number",
    ),
    (
        "properties.seats",
        "  properties:\n    seats: {column: V, type: number}",
        str(2**63 - 1),
        str(2**63),
        "number",
    ),
    ("properties.vip", "  properties:\n    vip: {column: V, type: bool}", "Yes", "maybe", "bool"),
    (
        "properties.since",
        "  properties:\n    since: {column: V, type: date}",
        "2024-02-29",
        "2023-02-29",
        "date",
    ),
    (
        "properties.home",
        "  properties:\n    home: {column: V, type: url}",
        "https://example.com",
        "example dot com",
        "url",
    ),
    (
        "properties.plan",
        "  properties:\n    plan: {column: V, type: text}",
        "P" * 255,
        "P" * 256,
        "max_length",
    ),
]


def field_mapping(line: str) -> str:
    """The base mapping with ``line`` in place of the base's entry for the same field."""
    field = line.split(":", 1)[0]
    base = BASE_MAPPING.replace(
        "  firstName: First\n", "" if field == "  firstName" else "  firstName: First\n"
    )
    if field == "  emails":
        base = base.split("  emails:", 1)[0]
    return base + line + "\n"


@pytest.mark.parametrize(
    ("field", "line", "good", "bad", "rule"),
    FIELD_CASES,
    ids=[f"{c[0]}-{c[4]}" for c in FIELD_CASES],
)
def test_every_rule_passes_good_and_flags_bad(tmp_path, field, line, good, bad, rule):
    header = ["First", "Email", "V", "City"]
    rows = [["Ann", "ann@example.com", good, "Berlin"], ["Bob", "bob@example.com", bad, "Paris"]]
    issues, summary = issues_of(tmp_path, header, rows, field_mapping(line))
    assert [(i["row"], i["field"], i["rule"], i["severity"]) for i in issues] == [
        (2, field, rule, "error")
    ]
    assert issues[0]["column"] == "V"
    assert issues[0]["value"] == bad
    assert summary["valid"] == 1 and summary["invalid"] == 1


def test_address_without_country_is_an_error(tmp_path):
    mapping = BASE_MAPPING + "  address:\n    city: City\n    country: Country\n"
    issues, _ = issues_of(
        tmp_path,
        ["First", "Email", "City", "Country"],
        [
            ["Ann", "a@example.com", "Oslo", "NO"],
            ["Bob", "b@example.com", "Oslo", ""],
            ["Cy", "c@example.com", "", ""],
        ],
        mapping,
    )
    assert [(i["row"], i["field"], i["rule"]) for i in issues] == [
        (2, "address.country", "country_required")
    ]


def test_enums_are_sent_in_canonical_lower_case(tmp_path):
    data = write_csv(
        tmp_path / "in.csv", ["First", "Email", "G"], [["Ann", "a@example.com", "FEMALE"]]
    )
    (tmp_path / "m.yaml").write_text(BASE_MAPPING + "  gender: G\n", encoding="utf-8")
    result = validate_csv(data, tmp_path / "m.yaml", ValidateOptions(show=1))
    assert result.samples == [
        (
            1,
            {
                "firstName": "Ann",
                "gender": "female",
                "emails": [{"type": "work", "value": "a@example.com"}],
            },
        )
    ]


def test_duplicate_emails_name_the_first_row_case_insensitively(tmp_path):
    rows = [
        ["A", "x@example.com"],
        ["B", "y@example.com"],
        ["C", "X@Example.com"],
        ["D", "x@example.com"],
    ]
    issues, summary = issues_of(tmp_path, ["First", "Email"], rows, BASE_MAPPING)
    assert [(i["row"], i["rule"]) for i in issues] == [(3, "duplicate_key"), (4, "duplicate_key")]
    assert all("row 1" in i["message"] for i in issues)
    assert summary["invalid"] == 2


def test_row_without_name_or_email_is_a_warning_and_still_sent(tmp_path):
    mapping = BASE_MAPPING + "  organization: Org\n"
    issues, summary = issues_of(tmp_path, ["First", "Email", "Org"], [["", "", "Acme"]], mapping)
    assert [(i["row"], i["rule"], i["severity"]) for i in issues] == [(1, "no_identity", "warning")]
    assert summary["valid"] == 1 and summary["warnings"] == 1


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("plain@example.com", True),
        ("first.last+tag@sub.example.co.uk", True),
        ("jeff@臺網中心.tw", True),
        ("no-at-sign.example.com", False),
        ("a@b", False),
        ("two@@example.com", False),
        ("dot.@example.com", False),
        ("me@localhost", False),
        ("me@host.test", False),
    ],
)
def test_email_rule_matches_email_validator(tmp_path, value, ok):
    issues, _ = issues_of(tmp_path, ["First", "Email"], [["Ann", value]], BASE_MAPPING)
    assert (issues == []) is ok


def test_email_corpus_is_judged_as_its_authors_judge_it(shared_data):
    """email-validator's own test tables: its valid and invalid addresses, with default options.

    Deliberate disagreement: none for plain addresses. The corpus' display-name forms
    ("Name <a@b>") and quoted local parts are valid there only with allow_display_name /
    allow_quoted_local, which Help Scout's plain address field does not take.
    """
    corpus = json.loads((shared_data / "validation" / "email_flat.json").read_text())
    for value in corpus["valid"]:
        needs_option = value.startswith('"') or "<" in value
        assert (schema.email_problem(value) is None) is not needs_option, value
    for value, message in corpus["invalid_with_error"]:
        assert schema.email_problem(value) is not None, (value, message)


def test_seen_keys_finds_duplicates_within_and_across_chunks():
    import numpy as np

    seen = SeenKeys()
    first = seen.first_rows(np.array([5, 7, 5], dtype="uint64"), np.array([1, 2, 3]))
    assert first.tolist() == [0, 0, 1]
    again = seen.first_rows(np.array([7, 9, 9, 5], dtype="uint64"), np.array([4, 5, 6, 7]))
    assert again.tolist() == [2, 0, 5, 1]


def test_vectorised_email_check_agrees_with_the_per_value_one(shared_data):
    """The RE2 fast path must never accept what the sandbox's per-value check refuses."""
    import pandas as pd

    from importer.check.columns import Cells, not_an_email

    corpus = json.loads((shared_data / "validation" / "email_flat.json").read_text())
    values = corpus["valid"] + [v for v, _ in corpus["invalid_with_error"]]
    values += [v for v, _ in corpus["pyisemail"]] + ["chloé.1@example.com", "伊昭傑@example.tw"]
    # one corpus entry holds a lone surrogate, which no CSV file can carry
    values = [v for v in values if not any(0xD800 <= ord(c) <= 0xDFFF for c in v)]
    series = pd.Series(values, dtype="string[pyarrow]", index=range(1, len(values) + 1))
    found = not_an_email(Cells(series, schema.ENTRIES["emails"].value, "emails.0.value"))
    flagged = set(series[found.index])
    per_value = {v for v in values if schema.email_problem(v) is not None}
    assert flagged == per_value


def test_seen_keys_agrees_with_a_dict_over_many_chunks():
    import numpy as np

    rng = np.random.default_rng(7)
    hashes = rng.integers(0, 500, 20_000).astype("uint64")  # many repeats, within and across
    seen, expected, first_of = SeenKeys(), [], {}
    got = []
    for start in range(0, len(hashes), 700):
        chunk = hashes[start : start + 700]
        rows = np.arange(start + 1, start + 1 + len(chunk))
        got.extend(seen.first_rows(chunk, rows).tolist())
        for h, row in zip(chunk.tolist(), rows.tolist(), strict=True):
            expected.append(first_of.get(h, 0))
            first_of.setdefault(h, row)
    assert got == expected


def test_a_row_of_empty_cells_is_a_blank_line_not_a_blank_customer(tmp_path):
    mapping = BASE_MAPPING + "  photoType: {value: unknown}\n  organization: Org\n"
    issues, summary = issues_of(
        tmp_path, ["First", "Email", "Org"], [["Ann", "a@example.com", ""], ["", "", ""]], mapping
    )
    assert issues == []
    assert (summary["rows"], summary["invalid"]) == (1, 0)


def test_a_row_whose_mapped_cells_are_empty_is_an_error_not_a_blank_customer(tmp_path):
    mapping = BASE_MAPPING + "  photoType: {value: unknown}\n"
    issues, summary = issues_of(
        tmp_path, ["First", "Email", "Note"], [["Ann", "a@example.com", ""], ["", "", "x"]], mapping
    )
    assert [(i["row"], i["rule"], i["severity"]) for i in issues] == [
        (2, "empty_row", "error"),
        (2, "no_identity", "warning"),
    ]
    assert summary["invalid"] == 1
