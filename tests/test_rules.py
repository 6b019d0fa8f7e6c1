"""The one table of rules: its rows are whole, its two checks agree, the sandbox answers with it,
reports carry only its codes, and the README holds its table."""

from __future__ import annotations

import json
import re
import urllib.error
from pathlib import Path

import pandas as pd
import pytest

from importer import ValidateOptions, validate_csv
from importer.check import columns, rules
from importer.check.payload import check_payload, check_property, check_value
from importer.core import codes
from importer.customer import schema

ROOT = Path(__file__).resolve().parent.parent

FIELD_RULES = [r for r in rules.RULES if r.applies not in ((rules.ROW,), (rules.MAPPING,))]


def test_every_code_is_a_named_constant_of_the_module():
    constants = {v for k, v in vars(codes).items() if k.isupper() and isinstance(v, str)}
    assert {r.code for r in rules.RULES} <= constants


@pytest.mark.parametrize(
    ("slip", "says"),
    [
        ({"applies": ("txet",)}, "unknown kind or severity {'txet'}"),
        ({"severity": "fatal"}, "unknown kind or severity fatal"),
        ({"applies": (rules.ROW,)}, "a row rule names its check in check.columns"),
        ({"code": "too_lnog"}, "rule too_lnog: not a code of importer.core.codes"),
    ],
)
def test_a_slip_in_a_new_row_fails_at_once(slip, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        rules.Rule(
            **{
                "code": codes.MAX_LENGTH,
                "severity": rules.ERROR,
                "applies": ("text",),
                "docs": "x",
                **slip,
            }
        )


def test_rows_of_one_code_agree_on_severity_and_words():
    for code in {r.code for r in rules.RULES}:
        rows = [r for r in rules.RULES if r.code == code]
        assert len({(r.severity, r.label) for r in rows}) == 1, code


@pytest.mark.parametrize("rule", rules.RULES, ids=lambda r: f"{r.code}-{r.applies[0]}")
def test_every_row_is_whole(rule):
    """A severity, what it applies to, a docs line; a check each side it is said on."""
    assert rule.docs and "|" not in rule.docs
    if rules.ROW in rule.applies:
        assert callable(getattr(columns, rule.column)) and rule.message
    elif rules.MAPPING not in rule.applies:
        assert rule.value is not None  # the sandbox's, and the column check's fallback
        assert rule.message or rule.answer
        assert not rule.column or callable(getattr(columns, rule.column))


# kind -> values: each rule of the kind is judged on them by both checks
SAMPLES = {
    "text": ["", "Ann", "A" * 40, "A" * 41, "J" * 61, "B" * 200, "B" * 201],
    "enum": ["male", "female", "unknown", "Male", "other", "gravatar", "selfie"],
    "email": ["a@example.com", "a@@example.com", "me@host.test", "chloé@example.fr", "x@b"],
    "url": ["https://example.com/a", "example.com", "htp:/broken", "not a url", "h" * 201],
    "phone": ["+1 415 555 0100", "-5361", "4.91511E+12", "#NAME?", "n/a", "+1 2", "0170 123"],
    "country": ["DE", "US", "de", "Germany", "XX"],
    "property number": ["42", "-7", "4.5", " 12 ", str(2**63 - 1), str(2**63), "x"],
    "property bool": ["yes", "No", " TRUE ", "1", "maybe", ""],
    "property url": ["https://example.com", "example dot com"],
    "property text": ["P" * 255, "P" * 256],
    "property dropdown": ["Gold", "D" * 256],
}


def specs_of(kind: str) -> list[schema.Field]:
    fields = [*schema.SCALARS.values(), *(e.value for e in schema.ENTRIES.values())]
    fields += [*schema.ADDRESS.values(), *schema.PROPERTY_FIELDS.values()]
    return [f for f in fields if f.kind == kind]


@pytest.mark.parametrize(
    ("rule", "spec"),
    [(r, s) for r in FIELD_RULES if r.column for k in r.applies for s in specs_of(k) if r.meets(s)],
    ids=lambda x: getattr(x, "code", None) or getattr(x, "name", ""),
)
def test_the_column_check_agrees_with_the_per_value_one(rule, spec):
    values = SAMPLES[spec.kind]
    series = pd.Series(values, dtype="string[pyarrow]", index=range(1, len(values) + 1))
    flagged = getattr(columns, rule.column)(columns.Cells(series, spec, "p"))
    assert rule.value is not None  # it judges the value as sent: a number property's as an int
    per_value = {row: rule.value(spec.sent(v), spec) for row, v in series.items()}
    assert set(flagged.index) == {row for row, d in per_value.items() if d is not None}
    assert all(per_value[row] == detail for row, detail in flagged.items() if detail)


@pytest.mark.parametrize(
    ("code", "spec"),
    [
        (codes.URL, schema.SCALARS["photoUrl"]),
        (codes.NUMBER, schema.PROPERTY_FIELDS["number"]),
        (codes.BOOL, schema.PROPERTY_FIELDS["bool"]),
    ],
)
def test_a_rule_with_only_a_per_value_check_is_checked_cell_by_cell(code, spec):
    """The column check a new rule gets for free says what the vectorised one says (judging
    a typed property's text as it is sent)."""
    rule = rules.rule_of(code, spec.kind)
    values = pd.Series([*SAMPLES[spec.kind], None], dtype="string[pyarrow]")
    cells = columns.Cells(values, spec, "p")
    derived = columns.cell_by_cell(cells, rule).index.tolist()
    assert derived == getattr(columns, rule.column)(cells).index.tolist()


@pytest.mark.parametrize(
    ("payload", "path", "code", "answer"),
    [
        ({"firstName": ""}, "firstName", codes.MIN_LENGTH, "size must be between 1 and 40"),
        ({"jobTitle": "J" * 61}, "jobTitle", codes.MAX_LENGTH, "size must be between 0 and 60"),
        ({"gender": "other"}, "gender", codes.ENUM, "must be one of: male, female, unknown"),
        (
            {"emails": [{"type": "work", "value": "a@@b.com"}]},
            "emails[0].value",
            codes.EMAIL,
            "must be a well-formed email address (An email address must have exactly one "
            "@-sign.)",
        ),
        ({"websites": [{"value": "x y"}]}, "websites[0].value", codes.URL, "must be a valid URL"),
        ({"phone": "  "}, "phone", codes.PHONE_EMPTY, "may not be empty"),
        (
            {"address": {"country": "Germany"}},
            "address.country",
            codes.COUNTRY,
            "must be an ISO 3166-1 alpha-2 country code",
        ),
        ({"address": {}}, "address.country", codes.COUNTRY_REQUIRED, "may not be null"),
        ({"properties": {"seats": "4"}}, "properties.seats", codes.NUMBER, "must be an integer"),
        ({"properties": {"vip": "yes"}}, "properties.vip", codes.BOOL, "must be a boolean"),
        (
            {"properties": {"signup-date": "2023-02-29"}},
            "properties.signup-date",
            codes.DATE,
            "must be a date in YYYY-MM-DD format",
        ),
        (
            {"properties": {"plan": "P" * 256}},
            "properties.plan",
            codes.MAX_LENGTH,
            "size must be at most 255",
        ),
    ],
)  # fmt: skip
def test_the_sandbox_answers_a_broken_rule_with_its_row(
    payload, path, code, answer, serve_sandbox, sandbox_api
):
    box = serve_sandbox()  # its default properties: plan (text), seats, vip, signup-date...
    with pytest.raises(urllib.error.HTTPError) as refused:
        sandbox_api(box, "POST", "/v2/customers", {"firstName": "Ada", **payload})
    assert refused.value.code == 400
    errors = json.loads(refused.value.read())["_embedded"]["errors"]
    assert [(e["path"], e["message"]) for e in errors] == [(path, answer)]
    assert errors[0]["_links"]["about"]["href"].endswith(f"#{code}")


@pytest.mark.parametrize(
    ("kind", "value"),
    [("property number", 2**63), ("property number", True), ("property bool", 1)],
)
def test_typed_properties_are_judged_as_json(kind, value):
    found = check_property("p", value, kind.removeprefix("property "))
    assert found is not None and found.rule == kind.removeprefix("property ")


def test_a_dropdown_takes_its_options_by_id_or_label_and_any_value_without_options():
    options = [{"id": 7, "label": "Gold"}]
    assert check_property("tier", "Gold", "dropdown", options) is None
    assert check_property("tier", "7", "dropdown", options) is None
    refused = check_property("tier", "Lead", "dropdown", options)
    assert refused is not None and refused.rule == codes.DROPDOWN
    assert check_property("tier", "Lead", "dropdown") is None


def test_a_value_of_the_wrong_json_type_is_said_before_the_rules():
    found = check_value(schema.SCALARS["firstName"], 42)
    assert found is not None and (found.rule, found.message) == ("type", "must be a string")
    assert check_payload({"nickname": "Al"}) == []  # ignored, as Help Scout ignores it


def test_every_code_a_report_carries_is_a_row_of_the_table(tmp_path):
    """A file breaking many rules at once (the mapping's and the rows' too): every issue's code
    is the table's, a dropped value's with its suffix."""
    mapping = """\
customer:
  firstName: First
  gender: Gender
  emails:
    - {column: Email}
  phones:
    - {column: Phone, on_invalid: drop}
  address:
    city: City
    country: {column: Country, transform: [country_code]}
    on_incomplete: drop
  properties:
    seats: {column: Seats, type: number}
    since: {column: Since, type: date, format: "%Y-%m-%d"}
"""
    rows = [
        "First,Gender,Email,Phone,City,Country,Seats,Since",
        f"{'A' * 41},other,a@@example.com,-5361,Oslo,Narnia,4.5,2023-02-30",
        ",,,,Oslo,,,",
        "Bo,male,b@example.com,n/a,,,1,",
        "Cy,male,b@example.com,,,,,,extra",
    ]
    (tmp_path / "in.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")
    report = tmp_path / "r.json"
    validate_csv(tmp_path / "in.csv", tmp_path / "m.yaml", ValidateOptions(report=report))
    carried = {i["rule"] for i in json.loads(report.read_text("utf-8"))["issues"]}
    codes = {r.code for r in rules.RULES}
    assert {c if c in codes else c.removesuffix("_dropped") for c in carried} <= codes
    assert carried == {
        "address_dropped", "country", "date", "email", "empty_row", "enum", "max_length",
        "no_identity", "number", "phone_dropped", "phone_no_digit", "ragged_row",
    }  # fmt: skip


def test_the_readme_holds_the_table_of_rules():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = rules.rule_table()
    start = readme.index("| rule | severity | applies to | checks |\n")
    written = readme[start : readme.index("\n\n", start) + 1]
    assert written == table, "paste importer.check.rules.rule_table() into the README:\n" + table


@pytest.mark.parametrize(
    ("code", "field", "words"),
    [
        (codes.MAX_LENGTH, "firstName", "too long (max 40)"),
        (codes.MAX_LENGTH, "properties.plan", "too long (max 255)"),
        (codes.URL, "websites.0.value", "not a valid web address"),
        ("phone_dropped", "phones.0.value", "not a phone number: dropped, the row sent without it"),
        (codes.EMPTY_ROW, "", "empty row"),  # a row without words: its code, readable
    ],
)
def test_a_rule_is_said_in_its_rows_words(code, field, words):
    assert rules.rule_label(code, field) == words


def test_the_table_module_imports_no_pandas():
    """The sandbox reads it: starting one must not load pandas."""
    import subprocess
    import sys

    probe = "import sys, importer.check.payload, importer.sandbox; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    assert re.search(r"^import pandas|^from pandas", Path(rules.__file__).read_text(), re.M) is None
