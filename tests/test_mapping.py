"""importer.mapping: loading and checking mapping files, mapping chunks, payloads."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from importer.cli import main
from importer.core.errors import EXIT_USAGE, MappingError
from importer.core.issues import ISSUE_COLUMNS
from importer.mapping import (
    Mapping,
    Property,
    load_mapping,
    resolve_country,
)

ROOT = Path(__file__).resolve().parent.parent
STRING = pd.StringDtype("pyarrow")

DESIGN_MAPPING = """\
customer:
  firstName: First Name                 # a bare string is a column name
  lastName: {column: Last Name}
  jobTitle: {column: Title, transform: [strip, title]}
  gender: {column: Sex, map: {M: male, F: female}, default: unknown}
  photoType: {value: unknown}           # a constant
  organization: Company
  emails:                               # list fields: one entry per column; empty cells add nothing
    - {column: Email, type: work}
    - {column: Personal Email, type: home}
  phones:
    - {column: Phone 1, type: work}
  websites:
    - {column: Website}
  address:
    lines: [Street, Street 2]
    city: City
    postalCode: Zip
    country: {column: Country, transform: [country_code]}   # "Germany", "DE", "deu" -> "DE"
  properties:                           # slug: column, with the property's type
    plan: {column: Plan, type: text}
    signup-date: {column: Signed Up, type: date, format: "%d/%m/%Y"}
    seats: {column: Seats, type: number}
key: email                              # what identifies a row across runs (default: first email)
"""
DESIGN_COLUMNS = [
    "First Name", "Last Name", "Title", "Sex", "Company", "Email", "Personal Email", "Phone 1",
    "Website", "Street", "Street 2", "City", "Zip", "Country", "Plan", "Signed Up", "Seats",
]  # fmt: skip
SAMPLE_COLUMNS = [
    "First Name", "Last Name", "Email", "Personal Email", "Phone", "Mobile", "Company", "Title",
    "Street", "Street 2", "City", "State", "Zip", "Country", "Website", "Plan", "Signed Up",
    "Seats", "Notes", "Sex",
]  # fmt: skip
DATABLIST_COLUMNS = [
    "Index", "Customer Id", "First Name", "Last Name", "Company", "City", "Country", "Phone 1",
    "Phone 2", "Email", "Subscription Date", "Website",
]  # fmt: skip


# --- helpers --------------------------------------------------------------------------------------
@pytest.fixture
def write(tmp_path: Path):
    """Write mapping text to a file and return its path."""

    def write(text: str, name: str = "mapping.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def load(write):
    def load(text: str) -> Mapping:
        return load_mapping(write(text))

    return load


def chunk(data: dict[str, list[str]], first_row: int = 1) -> pd.DataFrame:
    """A chunk as importer.read yields it: str cells, "" for empty, indexed by row number."""
    n = len(next(iter(data.values())))
    index = pd.RangeIndex(first_row, first_row + n, name="row")
    return pd.DataFrame({k: pd.array(v, dtype=STRING) for k, v in data.items()}, index=index)


def mapped_of(load, text: str, data: dict[str, list[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    mapping = load(text)
    mapping.bind(list(data))
    return mapping.apply(chunk(data))


def payloads_of(load, text: str, data: dict[str, list[str]]) -> list[dict]:
    mapping = load(text)
    mapped, _ = mapping.apply(chunk(data))
    return [payload for _, payload in mapping.payloads(mapped)]


def one(text: str) -> str:
    """A one-field customer mapping."""
    return f"customer:\n  {text}\n"


def cells(mapped: pd.DataFrame, column: str) -> list[object]:
    return [None if pd.isna(v) else v for v in mapped[column]]


# --- DESIGN.md's example --------------------------------------------------------------------------
def test_design_example_loads_and_maps_a_row_to_the_exact_payload(load):
    mapping = load(DESIGN_MAPPING)
    row = dict.fromkeys(DESIGN_COLUMNS, "")
    row.update({
        "First Name": " Ada ", "Last Name": "Lovelace", "Title": "chief  engineer", "Sex": "f",
        "Company": "Analytical Engines", "Email": "ADA@Example.com", "Personal Email": "",
        "Phone 1": "0207 946 0000", "Website": "https://ada.example", "Street": "12 St James's Sq",
        "City": "London", "Zip": "01234", "Country": "deu", "Plan": "Gold",
        "Signed Up": "02/01/2019", "Seats": "44",
    })  # fmt: skip
    mapping.bind(DESIGN_COLUMNS)
    mapped, issues = mapping.apply(chunk({k: [v] for k, v in row.items()}, first_row=7))
    assert issues.empty
    assert list(mapping.payloads(mapped)) == [
        (
            7,
            {
                "firstName": "Ada",
                "lastName": "Lovelace",
                "jobTitle": "Chief  Engineer",
                "gender": "female",
                "photoType": "unknown",
                "organization": "Analytical Engines",
                "emails": [{"type": "work", "value": "ADA@Example.com"}],
                "phones": [{"type": "work", "value": "0207 946 0000"}],
                "websites": [{"value": "https://ada.example"}],
                "address": {
                    "lines": ["12 St James's Sq"],
                    "city": "London",
                    "postalCode": "01234",
                    "country": "DE",
                },
                "properties": {"plan": "Gold", "signup-date": "2019-01-02", "seats": 44},
            },
        )
    ]
    assert mapping.key_of(mapped).tolist() == ["ada@example.com"]


def test_design_example_sources_and_properties(load):
    mapping = load(DESIGN_MAPPING)
    assert mapping.sources == {
        "firstName": "First Name",
        "lastName": "Last Name",
        "jobTitle": "Title",
        "gender": "Sex",
        "photoType": "",
        "organization": "Company",
        "emails.0.value": "Email",
        "emails.0.type": "",
        "emails.1.value": "Personal Email",
        "emails.1.type": "",
        "phones.0.value": "Phone 1",
        "phones.0.type": "",
        "websites.0.value": "Website",
        "address.lines.0": "Street",
        "address.lines.1": "Street 2",
        "address.city": "City",
        "address.postalCode": "Zip",
        "address.country": "Country",
        "properties.plan": "Plan",
        "properties.signup-date": "Signed Up",
        "properties.seats": "Seats",
    }
    assert mapping.properties == {
        "plan": Property("plan", "text", None, "Plan"),
        "signup-date": Property("signup-date", "date", "%d/%m/%Y", "Signed Up"),
        "seats": Property("seats", "number", None, "Seats"),
    }
    assert (mapping.key, mapping.key_field, mapping.key_name) == (
        "email",
        "emails.0.value",
        "email",
    )


def test_mapped_frame_shape_and_types(load):
    mapped, issues = mapped_of(load, DESIGN_MAPPING, {c: ["x", ""] for c in DESIGN_COLUMNS})
    assert mapped.index.tolist() == [1, 2]
    assert mapped.index.name == "row"
    assert set(mapped.dtypes) == {STRING}
    assert list(mapped.columns)[:3] == ["firstName", "lastName", "jobTitle"]
    assert list(issues.columns) == ISSUE_COLUMNS


# --- every field kind -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field",
    ["firstName", "lastName", "phone", "photoUrl", "jobTitle", "background", "location",
     "organization", "age"],
)  # fmt: skip
def test_scalar_fields_take_a_column(load, field):
    assert payloads_of(load, one(f"{field}: Col"), {"Col": ["  some text  "]}) == [
        {field: "some text"}
    ]


@pytest.mark.parametrize(
    ("name", "spec", "expected"),
    [
        ("emails", "- {column: C}", [{"type": "work", "value": "v"}]),
        ("emails", "- {column: C, type: Home}", [{"type": "home", "value": "v"}]),
        ("phones", "- C", [{"type": "work", "value": "v"}]),
        ("phones", "- {column: C, type: mobile}", [{"type": "mobile", "value": "v"}]),
        ("chats", "- {column: C, type: skype}", [{"type": "skype", "value": "v"}]),
        ("chats", "- {column: C}", [{"type": "other", "value": "v"}]),
        ("socialProfiles", "- {column: C, type: forsquare}", [{"type": "forsquare", "value": "v"}]),
        ("socialProfiles", "- {column: C}", [{"type": "other", "value": "v"}]),
        ("websites", "- {column: C}", [{"value": "v"}]),
        ("websites", "{column: C}", [{"value": "v"}]),
    ],
)
def test_list_fields(load, name, spec, expected):
    text = f"customer:\n  {name}:\n    {spec}\n"
    assert payloads_of(load, text, {"C": ["v"]}) == [{name: expected}]


def test_list_entries_skip_empty_cells_and_keep_order(load):
    text = "customer:\n  emails:\n    - {column: A, type: work}\n    - {column: B, type: home}\n"
    data = {"A": ["", "a@x.io", "a@x.io", ""], "B": ["b@x.io", "", "b@x.io", " "]}
    assert payloads_of(load, text, data) == [
        {"emails": [{"type": "home", "value": "b@x.io"}]},
        {"emails": [{"type": "work", "value": "a@x.io"}]},
        {"emails": [{"type": "work", "value": "a@x.io"}, {"type": "home", "value": "b@x.io"}]},
        {},
    ]


def test_entry_type_is_absent_when_the_value_is(load):
    mapped, _ = mapped_of(load, "customer:\n  phones: [{column: P, type: fax}]\n", {"P": ["1", ""]})
    assert cells(mapped, "phones.0.type") == ["fax", None]


def test_address(load):
    text = textwrap.dedent("""\
        customer:
          address:
            lines: [S1, S2, S3]
            city: City
            state: State
            postalCode: Zip
            country: Country
        """)
    data = {"S1": ["1 Main St", ""], "S2": ["", ""], "S3": ["Apt 4", ""], "City": ["Ely", ""],
            "State": ["MN", ""], "Zip": ["05501", ""], "Country": ["US", ""]}  # fmt: skip
    assert payloads_of(load, text, data) == [
        {
            "address": {
                "lines": ["1 Main St", "Apt 4"],
                "city": "Ely",
                "state": "MN",
                "postalCode": "05501",
                "country": "US",
            }
        },
        {},
    ]


def test_address_lines_may_be_one_column(load):
    text = "customer:\n  address:\n    lines: Street\n    country: {value: DE}\n"
    assert payloads_of(load, text, {"Street": ["Hauptstr. 1"]}) == [
        {"address": {"lines": ["Hauptstr. 1"], "country": "DE"}}
    ]


@pytest.mark.parametrize(
    ("spec", "cell", "expected"),
    [
        ("{column: C, type: text}", "0042", "0042"),
        ("C", "text by default", "text by default"),
        ("{column: C}", "text by default", "text by default"),
        ("{column: C, type: number}", "44", 44),
        ("{column: C, type: number}", "-0012", -12),
        ("{column: C, type: number}", "9223372036854775807", 9223372036854775807),
        ("{column: C, type: number}", "9223372036854775808", "9223372036854775808"),
        ("{column: C, type: number}", "4.5", "4.5"),
        ("{column: C, type: bool}", "Yes", True),
        ("{column: C, type: bool}", "0", False),
        ("{column: C, type: bool}", "maybe", "maybe"),
        ("{column: C, type: url}", "https://x.io", "https://x.io"),
        ("{column: C, type: Number}", "7", 7),
        ("{column: C, type: dropdown}", "Gold", "Gold"),
        ("{column: C, type: date}", "2019-1-2", "2019-01-02"),
        ('{column: C, type: date, format: "%d/%m/%Y"}', "02/01/2019", "2019-01-02"),
        ('{column: C, type: date, format: "%m/%d/%y"}', "01/02/19", "2019-01-02"),
        ('{column: C, type: date, format: "%d %B %Y"}', "2 January 2019", "2019-01-02"),
        ('{column: C, type: date, format: ["%d/%m/%Y", "%Y-%m-%d"]}', "2019-01-02", "2019-01-02"),
        ("{value: enterprise, type: text}", "", "enterprise"),
    ],
)
def test_property_values_in_payloads(load, spec, cell, expected):
    text = f"customer:\n  properties:\n    slug: {spec}\n"
    assert payloads_of(load, text, {"C": [cell]}) == [{"properties": {"slug": expected}}]


# --- map, default, value --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cell", "expected"),
    [("M", "male"), ("m", "male"), (" f ", "female"), ("F", "female"), ("x", "x"),
     ("", "unknown"), ("Male", "male"), ("FEMALE", "female")],
)  # fmt: skip
def test_map_is_case_insensitive_and_default_fills_empty_cells(load, cell, expected):
    text = one("gender: {column: Sex, map: {M: male, F: female}, default: unknown}")
    mapped, _ = mapped_of(load, text, {"Sex": [cell]})
    assert cells(mapped, "gender") == [expected]


def test_map_targets_and_constants_of_enums_are_canonical_lower_case(load):
    text = textwrap.dedent("""\
        customer:
          gender: {column: Sex, map: {W: Female}, default: UNKNOWN}
          photoType: {value: Gravatar}
        """)
    mapped, _ = mapped_of(load, text, {"Sex": ["w", ""]})
    assert cells(mapped, "gender") == ["female", "unknown"]
    assert cells(mapped, "photoType") == ["gravatar", "gravatar"]


def test_default_goes_through_map_and_transforms(load):
    text = textwrap.dedent("""\
        customer:
          address:
            country: {column: C, default: Deutschland, map: {Deutschland: Germany},
                      transform: [country_code]}
        """)
    mapped, issues = mapped_of(load, text, {"C": ["", "fr"]})
    assert cells(mapped, "address.country") == ["DE", "FR"]
    assert issues.empty


def test_map_to_nothing_makes_the_value_absent(load):
    text = one('organization: {column: C, map: {"-": ~, "n/a": ""}}')
    mapped, _ = mapped_of(load, text, {"C": ["-", "N/A", "Acme"]})
    assert cells(mapped, "organization") == [None, None, "Acme"]


def test_constant_value_on_every_row(load):
    mapped, _ = mapped_of(load, one("location: {value: Berlin}"), {"X": ["", "", ""]})
    assert cells(mapped, "location") == ["Berlin"] * 3


# --- text stays text ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cell", ["NA", "N/A", "null", "None", "nan", "#N/A", "0", "00123", "1e5", "TRUE", "-"]
)
def test_values_stay_text_exactly(load, cell):
    assert payloads_of(load, one("lastName: C"), {"C": [cell]}) == [{"lastName": cell}]


@pytest.mark.parametrize("cell", ["", " ", "\t", "  \u00a0 "])
def test_empty_cells_are_absent_never_empty_strings(load, cell):
    mapped, _ = mapped_of(load, DESIGN_MAPPING.replace("default: unknown", ""),
                          {c: [cell] for c in DESIGN_COLUMNS})  # fmt: skip
    present = mapped.drop(columns=["photoType"]).notna().to_numpy()
    assert not present.any()
    assert payloads_of(load, one("firstName: C"), {"C": [cell]}) == [{}]


def test_yaml_scalars_are_read_as_written(load):
    """YAML 1.1 would read NO as false and 01234 as the octal number 668."""
    text = textwrap.dedent("""\
        customer:
          address:
            postalCode: {value: 01234}
            country: {value: NO}
          lastName: {column: C, map: {yes: Yes-Man, 1.0: One}}
        """)
    mapped, _ = mapped_of(load, text, {"C": ["YES", "1.0"]})
    assert cells(mapped, "address.postalCode") == ["01234", "01234"]
    assert cells(mapped, "address.country") == ["NO", "NO"]
    assert cells(mapped, "lastName") == ["Yes-Man", "One"]


# --- transforms -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("transforms", "cell", "expected"),
    [
        ("[strip]", "  a  b ", "a  b"),
        ("[lower]", "MiXeD Case", "mixed case"),
        ("[upper]", "MiXeD Case", "MIXED CASE"),
        ("[title]", "ada LOVELACE", "Ada Lovelace"),
        ("[collapse_spaces]", "a \t b\u00a0\u00a0c", "a b c"),
        ("[collapse_spaces, title]", "mary   ann", "Mary Ann"),
        ("lower", "ONE", "one"),
        ("[upper, lower]", "Ab", "ab"),
    ],
)
def test_text_transforms(load, transforms, cell, expected):
    mapped, _ = mapped_of(load, one(f"jobTitle: {{column: C, transform: {transforms}}}"),
                          {"C": [cell]})  # fmt: skip
    assert cells(mapped, "jobTitle") == [expected]


@pytest.mark.parametrize(
    ("cell", "first", "last"),
    [
        ("Ada Lovelace", "Ada", "Lovelace"),
        ("  Ludwig  van   Beethoven ", "Ludwig", "van Beethoven"),
        ("Lovelace, Ada", "Ada", "Lovelace"),
        ("Lovelace,Ada King", "Ada King", "Lovelace"),
        ("Cher", "Cher", None),
        ("Lovelace,", None, "Lovelace"),
        ("", None, None),
    ],
)
def test_split_name(load, cell, first, last):
    text = textwrap.dedent("""\
        customer:
          firstName: {column: Full Name, transform: [split_name]}
          lastName: {column: Full Name, transform: [split_name]}
        """)
    mapped, _ = mapped_of(load, text, {"Full Name": [cell]})
    assert (cells(mapped, "firstName"), cells(mapped, "lastName")) == ([first], [last])


@pytest.mark.parametrize(
    "spec", ["Full Name", "{column: Full Name}", "{column: Full Name, transform: [split_name]}"]
)
def test_name_shorthand_fills_first_and_last_name(load, spec):
    mapping = load(one(f"name: {spec}"))
    mapped, _ = mapping.apply(chunk({"Full Name": ["Grace Brewster Hopper"]}))
    assert list(mapping.payloads(mapped)) == [
        (1, {"firstName": "Grace", "lastName": "Brewster Hopper"})
    ]
    assert mapping.sources == {"firstName": "Full Name", "lastName": "Full Name"}


def test_name_shorthand_runs_other_transforms_after_the_split(load):
    mapped, _ = mapped_of(load, one("name: {column: N, transform: [title]}"), {"N": ["doe, jane"]})
    assert (cells(mapped, "firstName"), cells(mapped, "lastName")) == (["Jane"], ["Doe"])


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("Germany", "DE"), ("germany", "DE"), ("DE", "DE"), ("de", "DE"), ("deu", "DE"),
        ("DEU", "DE"), ("Federal Republic of Germany", "DE"), ("NA", "NA"), ("Namibia", "NA"),
        ("United States of America", "US"), ("USA", "US"), ("UK", "GB"),
        ("Côte d'Ivoire", "CI"), ("Cote d'Ivoire", "CI"), ("Ivory Coast", "CI"),
        ("Korea, Republic of", "KR"), ("South Korea", "KR"), ("Republic of Korea", "KR"),
        ("Viet Nam", "VN"), ("Vietnam", "VN"), ("The Bahamas", "BS"), ("St. Lucia", "LC"),
        ("Holy See (Vatican City State)", "VA"), ("Libyan Arab Jamahiriya", "LY"),
        ("Palestinian Territory", "PS"), ("Svalbard & Jan Mayen Islands", "SJ"),
        ("Antarctica (the territory South of 60 deg S)", "AQ"), ("Swaziland", "SZ"),
        ("Turkey", "TR"), ("Türkiye", "TR"), ("Czech Republic", "CZ"), ("Macedonia", "MK"),
        ("Cape Verde", "CV"), ("Pitcairn Islands", "PN"), ("Reunion", "RE"),
        ("Micronesia", "FM"), ("United States Virgin Islands", "VI"),
        ("Democratic Republic of the Congo", "CD"), ("Slovakia (Slovak Republic)", "SK"),
    ],
)  # fmt: skip
def test_country_code_resolves(cell, code):
    assert resolve_country(cell) == (code, None)


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("Korea", ["could be KP", "or KR", "write the two-letter code"]),
        ("Congo", ["could be CD", "or CG"]),
        ("Virgin Islands", ["VG", "VI"]),
        ("Netherlands Antilles", ["no longer exists", "2010", "BQ, CW or SX"]),
        ("Yugoslavia", ["no longer exists", "BA, HR, ME, MK, RS or SI"]),
        ("Burma", ["no longer exists", "Myanmar; write MM"]),
        ("USSR", ["no longer exists", "RU"]),
        ("Germny", ["not a country name", "did you mean Germany, DE?"]),
        ("Atlantis", ["not a country name or ISO code", "like US or DE"]),
        ("XX", ["not a country name"]),
    ],
)
def test_country_code_flags_what_it_cannot_decide(cell, words):
    code, message = resolve_country(cell)
    assert code is None
    assert all(w in message for w in words), message


def test_country_code_issues_leave_the_value_as_written(load):
    text = "customer:\n  address:\n    country: {column: Country, transform: [country_code]}\n"
    data = {"Country": ["Korea", "France", "", "Netherlands Antilles", "Korea", "fra"]}
    mapped, issues = mapped_of(load, text, data)
    assert cells(mapped, "address.country") == [
        "Korea", "FR", None, "Netherlands Antilles", "Korea", "FR",
    ]  # fmt: skip
    assert issues["row"].tolist() == [1, 4, 5]
    assert issues["value"].tolist() == ["Korea", "Netherlands Antilles", "Korea"]
    assert set(issues["rule"]) == {"country"}
    assert set(issues["severity"]) == {"error"}
    assert set(issues["field"]) == {"address.country"}
    assert set(issues["column"]) == {"Country"}
    assert issues["message"][0] == resolve_country("Korea")[1]


def test_date_issues_name_the_format_with_an_example(load):
    text = 'customer:\n  properties:\n    since: {column: D, type: date, format: "%d/%m/%Y"}\n'
    mapped, issues = mapped_of(load, text, {"D": ["31/01/2024", "", "31/02/2024", "1/2/2024"]})
    assert cells(mapped, "properties.since") == ["2024-01-31", None, "31/02/2024", "2024-02-01"]
    assert issues.to_dict("records") == [
        {
            "row": 3,
            "column": "D",
            "field": "properties.since",
            "value": "31/02/2024",
            "rule": "date",
            "severity": "error",
            "message": "not a date written like 31/01/2024 (format %d/%m/%Y): fix the date, "
            "or change format: in the mapping",
        }
    ]


def test_date_property_formats_are_tried_in_order(load):
    text = (
        "customer:\n"
        '  properties:\n    d: {column: D, type: date, format: ["%d.%m.%Y", "%Y-%m-%d"]}\n'
    )
    mapped, issues = mapped_of(load, text, {"D": ["02.01.2019", "2019-01-03", "1/2/2019"]})
    assert cells(mapped, "properties.d") == ["2019-01-02", "2019-01-03", "1/2/2019"]
    assert issues["row"].tolist() == [3]
    assert "31.01.2024 or 2024-01-31" in issues["message"][0]


def test_date_transform_on_a_text_field(load):
    mapped, issues = mapped_of(
        load,
        one('age: {column: Born, transform: [date], format: "%Y%m%d"}'),
        {"Born": ["19800131"]},
    )
    assert cells(mapped, "age") == ["1980-01-31"]
    assert issues.empty


# --- separator lists ------------------------------------------------------------------------------
SEPARATED = """\
customer:
  emails:
    - {column: Main, type: work}
    - {column: Others, type: other, separator: ";"}
"""


def test_separator_list_width_is_the_longest_cell_of_the_chunk(load):
    mapping = load(SEPARATED)
    data = {"Main": ["m@x.io", "", ""], "Others": ["a@x.io; b@x.io ;c@x.io", "d@x.io", ""]}
    mapped, _ = mapping.apply(chunk(data))
    assert [c for c in mapped.columns if c.endswith(".value")] == [
        "emails.0.value", "emails.1.value", "emails.2.value", "emails.3.value",
    ]  # fmt: skip
    assert cells(mapped, "emails.1.value") == ["a@x.io", "d@x.io", None]
    assert cells(mapped, "emails.3.value") == ["c@x.io", None, None]
    assert mapping.sources["emails.3.value"] == "Others"
    assert [p for _, p in mapping.payloads(mapped)] == [
        {"emails": [{"type": "work", "value": "m@x.io"}, {"type": "other", "value": "a@x.io"},
                    {"type": "other", "value": "b@x.io"}, {"type": "other", "value": "c@x.io"}]},
        {"emails": [{"type": "other", "value": "d@x.io"}]},
        {},
    ]  # fmt: skip
    narrow, _ = mapping.apply(chunk({"Main": [""], "Others": ["e@x.io"]}, first_row=4))
    assert [c for c in narrow.columns if c.endswith(".value")] == [
        "emails.0.value", "emails.1.value"
    ]  # fmt: skip


def test_separator_pieces_that_are_empty_add_nothing(load):
    mapped, _ = mapped_of(load, SEPARATED, {"Main": ["", ""], "Others": [";; a@x.io ;", " ; "]})
    assert [c for c in mapped.columns if c.endswith(".value")] == [
        "emails.0.value", "emails.1.value"
    ]  # fmt: skip
    assert cells(mapped, "emails.1.value") == ["a@x.io", None]
    assert mapped.loc[2].isna().all()


def test_separator_pieces_get_map_and_transforms(load):
    text = (
        "customer:\n  phones:\n    - {column: P, separator: '|', map: {none: ~}, transform: upper}"
    )
    assert payloads_of(load, text, {"P": ["a1 | None | b2"]}) == [
        {"phones": [{"type": "work", "value": "A1"}, {"type": "work", "value": "B2"}]}
    ]


# --- keys -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key_line", ["", "key: email\n"])
def test_email_key_is_the_first_present_email_lower_cased(load, key_line):
    text = "customer:\n  emails: [{column: A}, {column: B, type: home}]\n" + key_line
    mapping = load(text)
    mapped, _ = mapping.apply(chunk({"A": ["X@Y.io", "", ""], "B": ["b@y.io", "B@Z.io", ""]}))
    assert mapping.key_of(mapped).tolist() == ["x@y.io", "b@z.io", pd.NA]
    assert mapping.key_field == "emails.0.value"


@pytest.mark.parametrize(
    ("key", "field"),
    [("Customer Id", "properties.customer-id"),
     ("properties.customer-id", "properties.customer-id"), ("Phone", "phone"), ("phone", "phone")],
)  # fmt: skip
def test_key_by_field_path_or_column_name(load, key, field):
    text = textwrap.dedent(f"""\
        customer:
          phone: Phone
          emails: [Email]
          properties:
            customer-id: {{column: Customer Id, type: text}}
        key: {key}
        """)
    mapping = load(text)
    data = {"Phone": ["0123", ""], "Email": ["A@B.io", ""], "Customer Id": ["Ab12", ""]}
    mapped, _ = mapping.apply(chunk(data))
    assert (mapping.key_field, mapping.key_name) == (field, key)
    expected = "0123" if field == "phone" else "Ab12"
    assert mapping.key_of(mapped).tolist() == [expected, pd.NA]


def test_no_emails_and_no_key_means_no_key(load):
    mapping = load(one("firstName: A"))
    mapped, _ = mapping.apply(chunk({"A": ["x"]}))
    assert mapping.key_field is None
    assert mapping.key_of(mapped).isna().all()


# --- mapping errors name the YAML line ------------------------------------------------------------
ERRORS = [
    ("not yaml", "customer:\n  firstName: [A\n  lastName: B\n", 3, "not valid YAML"),
    ("tab indent", "customer:\n\tfirstName: A\n", 2, "not valid YAML"),
    ("top level list", "- customer\n", 1, "must be a YAML mapping"),
    ("top level text", "just text\n", 1, "must be a YAML mapping"),
    ("no customer", "key: email\n", 1, "no customer: section"),
    ("unknown section", "customer:\n  firstName: A\ncustomers: {}\n", 3, "did you mean customer?"),
    ("empty customer", "customer:\nkey: email\n", 1, "customer: section is empty"),
    ("customer maps nothing", "key: email\ncustomer: {}\n", 2, "maps no field"),
    ("customer list", "customer:\n  - firstName\n", 2, "must be a mapping"),
    ("unknown field", "customer:\n  lastName: B\n  fristName: A\n", 3, "did you mean firstName?"),
    ("unknown field case", "customer:\n  firstname: A\n", 2, "did you mean firstName?"),
    ("unknown field list", "customer:\n  email: A\n", 2, "did you mean emails?"),
    ("duplicate field", "customer:\n  firstName: A\n  lastName: B\n  firstName: C\n", 4,
     "'firstName' is given twice (first on line 2)"),
    ("missing column", "customer:\n  firstName:\n", 2, "a column name for firstName is missing"),
    ("unknown setting", "customer:\n  firstName: {colum: A}\n", 2, "did you mean column?"),
    ("column and value", "customer:\n  firstName: {column: A, value: B}\n", 2,
     "either column: (a CSV column) or value: (a constant)"),
    ("neither", "customer:\n  firstName: {transform: [lower]}\n", 2, "either column:"),
    ("unknown transform", "customer:\n  jobTitle:\n    column: T\n    transform:\n      - strip\n"
     "      - titel\n", 6, "unknown transform 'titel' (did you mean title?); known: strip, lower, "
     "upper, title, collapse_spaces, email_address, display_name, country_code, date, "
     "split_name, e164"),
    ("gender value", "customer:\n  gender: {value: mail}\n", 2,
     "'mail' is not a gender (did you mean male?); use one of: male, female, unknown"),
    ("gender map", "customer:\n  gender:\n    column: S\n    map:\n      M: man\n", 5,
     "'man' is not a gender"),
    ("gender default", "customer:\n  gender:\n    column: S\n    default: none\n", 4,
     "is not a gender"),
    ("photo type", "customer:\n  photoType: {value: gravtar}\n", 2, "did you mean gravatar?"),
    ("email type", "customer:\n  emails:\n    - {column: E, type: work}\n"
     "    - {column: P, type: personal}\n", 4,
     "'personal' is not a type for emails; use one of: home, work, other"),
    ("phone type", "customer:\n  phones: [{column: P, type: cell}]\n", 2,
     "use one of: fax, home, mobile, other, pager, work"),
    ("website type", "customer:\n  websites: [{column: W, type: work}]\n", 2,
     "unknown setting 'type' for websites"),
    ("empty separator", "customer:\n  emails: [{column: E, separator: ''}]\n", 2,
     "separator must not be empty"),
    ("unknown address field", "customer:\n  address:\n    city: C\n    zip: Z\n", 4,
     "unknown address field 'zip'"),
    ("address field suggestion", "customer:\n  address:\n    postcode: Z\n", 3,
     "did you mean postalCode?"),
    ("property type", "customer:\n  properties:\n    plan: {column: P, type: txt}\n", 3,
     "'txt' is not a property type (did you mean text?); use one of: text, number, bool, url, "
     "date, dropdown"),
    ("date transform without format", "customer:\n  age:\n    column: A\n    transform: [date]\n",
     4, "the date transform needs format:"),
    ("format without date", "customer:\n  age:\n    column: A\n    format: '%Y'\n", 4,
     "format: is only read by the date transform or a date property"),
    ("format without codes", "customer:\n  properties:\n    d:\n      column: D\n      type: date\n"
     "      format: dd/mm/yyyy\n", 6, "has no date codes"),
    ("bad format", "customer:\n  properties:\n    d: {column: D, type: date, format: '%Q'}\n", 3,
     "not a usable date format"),
    ("split_name elsewhere", "customer:\n  jobTitle: {column: N, transform: [split_name]}\n", 2,
     "split_name only fills firstName and lastName"),
    ("name and firstName", "customer:\n  firstName: F\n  name: N\n", 3,
     "name: fills firstName and lastName"),
    ("key not mapped", "customer:\n  firstName: A\nkey: Customer Id\n", 3,
     "key 'Customer Id' is neither a field the mapping fills nor a column it reads"),
    ("key email without emails", "customer:\n  firstName: A\nkey: email\n", 3,
     "the mapping fills no emails"),
    ("map not a mapping", "customer:\n  gender: {column: S, map: [M, F]}\n", 2,
     "map: of gender must be a mapping"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "line", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_mapping_errors_name_the_yaml_line(write, case, text, line, words):
    path = write(text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert caught.value.line == line
    assert caught.value.path == str(path)
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{path}, line {line}: ")
    assert caught.value.exit_code == EXIT_USAGE


TYPE_ERRORS = [
    ("format empty list",
     "customer:\n  properties:\n    d: {column: D, type: date, format: []}\n", 3,
     'format: is an empty list: give the date format, e.g. format: "%d/%m/%Y"'),
    ("transform date format empty list",
     "customer:\n  age: {column: A, transform: [date], format: []}\n", 2,
     "format: is an empty list"),
    ("separator list", "customer:\n  emails: [{column: E, separator: [x]}]\n", 2,
     "expected the separator (text such as ; or a space) here, not a list"),
    ("separator mapping", "customer:\n  emails: [{column: E, separator: {a: b}}]\n", 2,
     "expected the separator (text such as ; or a space) here, not a mapping"),
    ("number for a column", "customer:\n  firstName: 42\n", 2,
     'expected a column name for firstName here, not the number 42: if a column is named so, '
     'quote it ("42")'),
    ("float for a column", "customer:\n  emails:\n    - {column: 1.5}\n", 3,
     "not the number 1.5"),
    ("mapping for a column", "customer:\n  firstName: {column: {a: b}}\n", 2,
     "expected a column name for firstName here, not a mapping"),
    ("list for a column", "customer:\n  firstName: {column: [[A]]}\n", 2,
     "expected a column name for firstName here, not a list"),
    ("mapping for a transform list", "customer:\n  jobTitle: {column: T, transform: {a: b}}\n",
     2, "expected a transform name here, not a mapping"),
    ("list for the key", "customer:\n  firstName: A\nkey: [email]\n", 3,
     "expected the key (email, a field or a column) here, not a list"),
    ("list for a map value", "customer:\n  jobTitle: {column: T, map: {a: [b]}}\n", 2,
     "expected the value 'a' becomes here, not a list"),
    ("mapping for a type", "customer:\n  phones: [{column: P, type: {a: b}}]\n", 2,
     "unknown setting 'a' for the type of phones; use column, map, default"),
    ("list for a type", "customer:\n  phones: [{column: P, type: [work]}]\n", 2,
     "expected type for phones here, not a list"),
    ("list for a property type", "customer:\n  properties:\n    p: {column: P, type: [text]}\n",
     3, "expected property type here, not a list"),
    ("list of lists for emails", "customer:\n  emails: [[E]]\n", 2,
     "emails must be a mapping of names to values"),
    ("nested 800 deep", "customer:\n  firstName: " + "[" * 800 + "]" * 800 + "\n", 2,
     "the YAML nests more than 32 levels deep: a mapping needs a handful (check the brackets and "
     "indentation)"),
    ("mappings nested 800 deep", "customer:\n" + "".join(
        f"{'  ' * (i + 1)}k{i}:\n" for i in range(800)) + "  " * 801 + "x\n", 32,
     "the YAML nests more than 32 levels deep"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "text", "line", "words"), TYPE_ERRORS, ids=[e[0] for e in TYPE_ERRORS]
)
def test_values_of_the_wrong_type_are_one_line_naming_the_yaml_line(write, case, text, line, words):
    path = write(text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert (caught.value.line, caught.value.exit_code) == (line, EXIT_USAGE)
    assert str(caught.value).startswith(f"{path}, line {line}: ")
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_quoted_number_is_a_column_name(load):
    assert load('customer:\n  firstName: "42"\n').columns == ["42"]


WRONG_VALUES = [[], ["x"], [["x"]], {"a": "b"}, {"a": {"b": "c"}}, 42, 1.5, True, None, ""]


def _positions(data: object, path: tuple = ()) -> list[tuple]:
    """Every place in a YAML structure: the keys of mappings and the items of lists."""
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _positions(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _positions(value, (*path, i))
    return found


def _replaced(data: object, path: tuple, new: object) -> object:
    if not path:
        return new
    copy = dict(data) if isinstance(data, dict) else list(data)  # type: ignore[call-overload]
    copy[path[0]] = _replaced(copy[path[0]], path[1:], new)
    return copy


@pytest.mark.parametrize("wrong", WRONG_VALUES, ids=repr)
def test_any_value_replaced_by_any_type_loads_or_is_one_located_error(write, wrong):
    """Every setting of a full mapping, in turn, given a list, a mapping, a number, nothing...:
    the mapping is refused with one line naming a YAML line, or it loads and maps a chunk."""
    data = yaml.safe_load(DESIGN_MAPPING)
    for path in _positions(data)[1:]:
        text = yaml.safe_dump(_replaced(data, path, wrong))
        try:
            mapping = load_mapping(write(text))
        except MappingError as error:
            assert error.line is not None, (path, str(error))
            assert "\n" not in str(error)
            continue
        frame = chunk({c: ["x", "12/03/2020", ""] for c in DESIGN_COLUMNS + mapping.columns})
        mapped, _ = mapping.apply(frame)
        assert len(list(mapping.payloads(mapped))) == 3


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_an_empty_file_is_an_error(write, text):
    with pytest.raises(MappingError, match="the mapping file is empty"):
        load_mapping(write(text))


def test_a_mapping_that_is_no_regular_short_utf8_file_is_refused_before_reading(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it would block: it is refused from its stat
    big = tmp_path / "big.yaml"
    big.write_text("customer:\n  firstName: A\n" + "# padding\n" * 120_000, encoding="utf-8")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("customer:\n  firstName: Prénom\n".encode("latin-1"))
    said = {}
    for path in (fifo, big, latin, tmp_path):
        with pytest.raises(MappingError) as caught:
            load_mapping(path)
        said[path.name] = str(caught.value).removeprefix(f"{path}").removeprefix(": ")
        said[path.name] = said[path.name].removeprefix(", ")
    assert said == {
        "fifo.yaml": "is not a regular file (a pipe or a device): save the mapping to a file",
        "big.yaml": "is 1,200,025 bytes: a mapping is a short YAML file (at most 1 MB)",
        "latin.yaml": "line 2: byte 0xE9 is not UTF-8: save the mapping as UTF-8 text",
        tmp_path.name: "is a directory, not a mapping file",
    }


def test_validate_with_a_mapping_nested_800_deep_is_one_line_and_exit_2(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("A\nx\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("customer:\n  firstName: " + "{a: " * 800 + "b" + "}" * 800 + "\n")
    result = CliRunner().invoke(main, ["validate", str(data), "-m", str(mapping)])
    assert (result.exit_code, result.output) == (
        2,
        f"Error: {mapping}, line 2: the YAML nests more than 32 levels deep: a mapping needs a "
        "handful (check the brackets and indentation)\n",
    )


def test_a_missing_file_is_a_mapping_error(tmp_path):
    with pytest.raises(MappingError, match="no such mapping file: check the path") as caught:
        load_mapping(tmp_path / "nope.yaml")
    assert caught.value.exit_code == EXIT_USAGE


# --- bind -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("columns", "hint"),
    [
        (["Correo", "Name"], ""),
        (["e-mail", "Name"], " (did you mean 'e-mail'?)"),
        (["EMAIL", "Name"], " (did you mean 'EMAIL'?)"),
        (["E mail", "Name"], " (did you mean 'E mail'?)"),
        (["Emial", "Name"], " (did you mean 'Emial'?)"),
    ],
)
def test_bind_names_the_missing_column_its_line_and_the_headers(load, columns, hint):
    mapping = load("customer:\n  firstName: Name\n  emails:\n    - {type: work, column: Email}\n")
    with pytest.raises(MappingError) as caught:
        mapping.bind(columns)
    assert caught.value.line == 4
    assert str(caught.value).endswith(
        f"line 4: column 'Email' is not in the CSV file{hint}; its columns are: "
        + ", ".join(f"'{c}'" for c in columns)
    )


def test_bind_cuts_long_column_names_in_its_message(load):
    long = "Customer " + "very " * 30 + "long name"
    mapping = load(f"customer:\n  firstName: {long}x\n")
    with pytest.raises(MappingError) as caught:
        mapping.bind([long, "Email"])
    cut = f"'{long[:59]}…'"
    assert str(caught.value).endswith(
        f"column {cut} is not in the CSV file (did you mean {cut}?); its columns are: "
        f"{cut}, 'Email'"
    )


def test_bind_reports_the_first_missing_column_by_line(load):
    mapping = load("customer:\n  lastName: B\n  firstName: A\n")
    with pytest.raises(MappingError) as caught:
        mapping.bind(["C"])
    assert caught.value.line == 2


def test_bind_accepts_a_complete_header_and_apply_checks_it_too(load):
    mapping = load(DESIGN_MAPPING)
    mapping.bind([*DESIGN_COLUMNS, "Extra"])
    with pytest.raises(MappingError, match="column 'First Name'"):
        mapping.apply(chunk({"Last Name": ["x"]}))


def _sample_row() -> list[str]:
    return [
        "Jon", "Doe", "jon@doe.io", "", "555-0100", "555-0101", "Acme", "CTO", "1 Main St", "",
        "Ely", "MN", "05501", "United States", "https://doe.io", "gold", "02/01/2019", "3",
        "likes tea", "M",
    ]  # fmt: skip


# --- the project's own mapping files --------------------------------------------------------------
def test_example_mapping_fits_the_sample_headers():
    mapping = load_mapping(ROOT / "mappings" / "example.yaml")
    mapping.bind(SAMPLE_COLUMNS)
    mapped, issues = mapping.apply(
        chunk({c: [v] for c, v in zip(SAMPLE_COLUMNS, _sample_row(), strict=True)})
    )
    assert issues.empty
    assert list(mapping.payloads(mapped)) == [
        (
            1,
            {
                "firstName": "Jon",
                "lastName": "Doe",
                "jobTitle": "CTO",
                "organization": "Acme",
                "background": "likes tea",
                "gender": "male",
                "photoType": "unknown",
                "emails": [{"type": "work", "value": "jon@doe.io"}],
                "phones": [
                    {"type": "work", "value": "555-0100"},
                    {"type": "mobile", "value": "555-0101"},
                ],
                "websites": [{"value": "https://doe.io"}],
                "address": {
                    "lines": ["1 Main St"],
                    "city": "Ely",
                    "state": "MN",
                    "postalCode": "05501",
                    "country": "US",
                },
                "properties": {"plan": "gold", "signup-date": "2019-01-02", "seats": 3},
            },
        )
    ]


def test_datablist_mapping_over_customers_10000(shared_data):
    mapping = load_mapping(ROOT / "mappings" / "datablist-customers.yaml")
    frame = pd.read_csv(
        shared_data / "customers" / "customers-10000.csv", dtype=STRING, keep_default_na=False
    )
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    mapping.bind(list(frame.columns))
    mapped, issues = mapping.apply(frame)
    assert len(mapped) == 10_000
    assert sorted(issues["value"].unique()) == ["Congo", "Korea", "Netherlands Antilles"]
    assert set(issues["rule"]) == {"country"}
    resolved = mapped["address.country"][~mapped.index.isin(issues["row"])]
    assert resolved.str.fullmatch("[A-Z]{2}").all()
    assert mapped["properties.subscription-date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    keys = mapping.key_of(mapped)
    assert mapping.key_field == "emails.0.value"
    assert keys.notna().all() and keys.is_unique
    row, payload = next(mapping.payloads(mapped))
    assert (row, payload) == (
        1,
        {
            "firstName": "Heather",
            "lastName": "Callahan",
            "organization": "Mosley-David",
            "emails": [{"type": "work", "value": "urangel@espinoza-francis.net"}],
            "phones": [
                {"type": "work", "value": "043-797-5229"},
                {"type": "other", "value": "915.112.1727"},
            ],
            "websites": [{"value": "http://www.escobar.org/"}],
            "address": {"city": "Lake Jeffborough", "country": "NO"},
            "properties": {"customer-id": "EB54EF1154C3A78", "subscription-date": "2020-08-26"},
        },
    )


def test_issue_rows_follow_the_chunk_index(load):
    text = "customer:\n  address:\n    country: {column: C, transform: [country_code]}\n"
    mapping = load(text)
    _, issues = mapping.apply(chunk({"C": ["DE", "Korea"]}, first_row=1001))
    assert issues["row"].tolist() == [1002]
    assert issues["row"].dtype == "int64"


@pytest.mark.parametrize(
    ("values", "unread", "hint"),
    [
        (["26-08-2020", "02-07-2020"], 2, 'these dates read as %d-%m-%Y: set format: "%d-%m-%Y"'),
        (["08/26/2020"], 1, 'these dates read as %m/%d/%Y: set format: "%m/%d/%Y"'),
        (["02/07/2020"], 1, "these dates read as %d/%m/%Y or %m/%d/%Y"),
        (["soon"], 1, "fix the date, or change format: in the mapping"),
        # a sheet's date-time cells: those at midnight arrive as dates, which the format reads
        (
            ["2024-03-01", "2024-03-02T10:30:00"],
            1,
            "these dates read as %Y-%m-%dT%H:%M:%S: add it to the mapping's formats, "
            'format: ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]',
        ),
    ],
)
def test_a_date_in_another_format_names_the_format_that_fits(load, values, unread, hint):
    _, issues = mapped_of(
        load, "customer:\n  properties:\n    since: {column: D, type: date}\n", {"D": values}
    )
    assert issues["value"].tolist() == values[-unread:]
    assert all(hint in message for message in issues["message"])


def test_the_apostrophe_our_csv_files_put_before_formulas_is_dropped_on_reading(load):
    """A results file with --include-source, fixed in a spreadsheet and fed back, sends the
    phone as it was, not "'+1 415..." (safecsv escapes cells starting with = + - @)."""
    mapped, _ = mapped_of(
        load,
        "customer:\n  phone: P\n",
        {"P": ["'+1 415 555 0100", "'-5361", "'=SUM(A1)", "it's", "'quoted'", "'@handle"]},
    )
    assert cells(mapped, "phone") == ["+1 415 555 0100", "-5361", "=SUM(A1)", "it's", "'quoted'",
                                      "@handle"]  # fmt: skip


def test_a_value_two_columns_hold_is_sent_once_in_its_list(load):
    text = (
        "customer:\n  emails:\n    - {column: Email, type: work}\n"
        "    - {column: Other, type: home}\n"
        "  phones:\n    - {column: Phone}\n    - {column: Address Phone}\n"
    )
    data = {
        "Email": ["ada@example.com", "alan@example.com"],
        "Other": ["ADA@example.com", "turing@example.org"],
        "Phone": ["+1 415 555 0100", "+1 415 555 0101"],
        "Address Phone": ["+1 415 555  0100", ""],
    }
    assert payloads_of(load, text, data) == [
        {"emails": [{"type": "work", "value": "ada@example.com"}],
         "phones": [{"type": "work", "value": "+1 415 555 0100"}]},
        {"emails": [{"type": "work", "value": "alan@example.com"},
                    {"type": "home", "value": "turing@example.org"}],
         "phones": [{"type": "work", "value": "+1 415 555 0101"}]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("country", "fix"),
    [
        ("\n    country: Country", "fill the country to send it"),
        ("", "the mapping fills none: map the file's country column, or give one (country: "
             "{value: US}) to send it"),
    ],
)  # fmt: skip
def test_an_address_dropped_for_its_country_says_what_to_fill(load, country, fix):
    text = f"customer:\n  address:\n    city: City{country}\n    on_incomplete: drop\n"
    data = {"City": ["Lyon"], "Country": [""]}
    _, issues = mapped_of(load, text, data)
    assert issues["message"].tolist() == [
        f"the address has no country, so it is not sent (on_incomplete: drop); {fix}"
    ]
