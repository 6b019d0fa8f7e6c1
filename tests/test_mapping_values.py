"""Issue 18's well-kept libraries, as tables: phones by libphonenumber (and ``e164``), country
names in many languages (pycountry's iso-codes translations), full names by nameparser; then
each through a real file and the pipeline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer import ValidateOptions, validate_csv
from importer.core.errors import MappingError
from importer.customer.countries import cache_path, country_of, resolve_country, translated_names
from importer.customer.names import split_full_name
from importer.customer.phones import e164, phone_problem, plainly_possible, write_e164
from importer.customer.values import EMAIL_WRAPPERS, email_address, emails_in
from importer.mapping import load_mapping


# --- countries -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Deutschland", "DE"), ("Allemagne", "DE"), ("Alemania", "DE"), ("Германия", "DE"),
        ("Royaume-Uni", "GB"), ("Vereinigtes Königreich", "GB"), ("Reino Unido", "GB"),
        ("Polska", "PL"), ("Österreich", "AT"), ("osterreich", "AT"), ("ÖSTERREICH", "AT"),
        ("Espanha", "ES"), ("España", "ES"), ("Espana", "ES"), ("Suisse", "CH"),
        ("Schweiz", "CH"), ("Svizzera", "CH"), ("Nederland", "NL"), ("Sverige", "SE"),
        ("Danmark", "DK"), ("Færøerne", "FO"), ("Faeroerne", "FO"), ("Estados Unidos", "US"),
        ("États-Unis", "US"), ("日本", "JP"), ("Ελλάδα", "GR"), ("Türkiye", "TR"),
        # English, codes and aliases come first, as before
        ("Germany", "DE"), ("deu", "DE"), ("Niger", "NE"), ("Georgia", "GE"), ("UK", "GB"),
        # a translation's slip loses to the other languages
        ("Paraguai", "PY"), ("Slovenská republika", "SK"),
    ],
)  # fmt: skip
def test_country_names_in_many_languages(text: str, code: str) -> None:
    assert resolve_country(text) == (code, None)
    assert country_of(text) == code


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Kongo", "could be CD (Congo, The Democratic Republic of the) or CG (Congo)"),
        ("Corea", "could be KP"),  # both Koreas, in Spanish
        ("Korea", "could be KP"),
        ("Burma", "no longer exists"),  # ISO 3166-3 before any translation
        ("Atlantis", "is not a country name or ISO code"),
    ],
)
def test_country_names_that_say_no_one_country(text: str, words: str) -> None:
    code, problem = resolve_country(text)
    assert code is None and country_of(text) is None
    assert problem is not None and words in problem


def test_translated_names_are_kept_between_runs_and_made_again_when_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table of names in every language is made once (0.4 s) and read from the user's cache
    after; a cache file cut short is made again, never trusted half."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    translated_names.cache_clear()
    made = translated_names()
    kept = cache_path()
    assert kept.is_relative_to(tmp_path) and kept.stat().st_size > 100_000
    for damage in (b"", kept.read_bytes()[:5000], b'{"DE": 7}'):
        translated_names.cache_clear()
        assert translated_names() == made  # read from the file, whole
        kept.write_bytes(damage)
        translated_names.cache_clear()
        assert translated_names() == made  # made again, and written again
        assert kept.stat().st_size > 100_000
    assert made["deutschland"] == {"DE"} and made["kongo"] == {"CD", "CG"}
    kept.write_text(json.dumps({"AQ": ["atlantis"], " kongo": ["CD", "CG"]}), encoding="utf-8")
    translated_names.cache_clear()
    assert translated_names() == {"atlantis": {"AQ"}, "kongo": {"CD", "CG"}}  # the file is read
    translated_names.cache_clear()


def test_translated_names_are_made_without_a_writable_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    translated_names.cache_clear()
    try:
        assert translated_names()["allemagne"] == {"DE"}
    finally:
        translated_names.cache_clear()


# --- phones --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "region", "problem"),
    [
        ("+1 415 555 0100", None, None),
        ("+49 30 1234567", None, None),
        ("+44 (0) 20 7946 0000", None, None),
        ("+1 (415) 555-0100 ext. 12", None, None),
        ("030 1234567", "DE", None),
        ("0049 30 1234567", "DE", None),
        ("(415) 555-0100", "US", None),
        ("07000000052", "JP", None),
        ("07000000000", None, None),  # national, nothing to read it in: not judged
        ("07000000000", "US", "not a possible phone number (US, +1): too many digits"),
        ("+1 415 555 01001234567", None, "(US, +1): too many digits"),
        ("+999 1234", None, "its country calling code (after the +) exists nowhere"),
        ("+49", None, "not a possible phone number"),
    ],
)
def test_phone_problem(value: str, region: str | None, problem: str | None) -> None:
    found = phone_problem(value, region)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("value", "region", "written"),
    [
        ("030 123456", "DE", "+4930123456"),
        ("+49 (30) 123-456", None, "+4930123456"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("+1 415 555 0100 x12", None, "+14155550100 ext. 12"),
        ("030 123456", None, None),
        ("07000000000", "US", None),
    ],
)
def test_e164(value: str, region: str | None, written: str | None) -> None:
    assert e164(value, region) == written


def run(tmp_path: Path, header: list[str], rows: list[list[str]], mapping: str):
    """(payload or None per row, [(row, field, rule)]) from validate_csv."""
    data = tmp_path / "in.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")
    report = tmp_path / "report.json"
    result = validate_csv(data, tmp_path / "m.yaml", ValidateOptions(report=report, show=len(rows)))
    issues = json.loads(report.read_text(encoding="utf-8"))["issues"]
    sent = dict(result.samples)
    return [sent.get(n) for n in range(1, len(rows) + 1)], [
        (i["row"], i["field"], i["rule"]) for i in issues
    ]


PHONES = [
    ["Ann", "030 1234567", "Deutschland"],  # read in the row's country
    ["Bob", "(415) 555-0100", ""],  # no country: the entry's region
    ["Cy", "07000000000", "US"],  # 11 digits in the US
    ["Di", "+44 20 7946 0000", "DE"],  # international: its own country
    ["Ed", "-5361", "DE"],  # a spreadsheet's formula result: left for the validator to name
]
PHONE_MAPPING = """\
%scustomer:
  firstName: Name
  phones: [{column: Phone%s}]
  address:
    country: {column: Country, transform: [country_code]}
"""


@pytest.mark.parametrize(
    ("top", "entry"), [("phone_region: US\n", ""), ("", ", region: US"), ("", ", region: usa")]
)
def test_national_numbers_are_read_in_the_rows_country_else_the_region(
    tmp_path: Path, top: str, entry: str
) -> None:
    mapping = PHONE_MAPPING % (top, entry + ", transform: [e164]")
    sent, issues = run(tmp_path, ["Name", "Phone", "Country"], PHONES, mapping)
    assert [p and p["phones"][0]["value"] for p in sent] == [
        "+49301234567", "+14155550100", None, "+442079460000", None
    ]  # fmt: skip
    assert issues == [(3, "phones.0.value", "phone"), (5, "phones.0.value", "phone")]


def test_without_a_region_only_international_numbers_are_judged(tmp_path: Path) -> None:
    rows = [*PHONES[:4], ["Ed", "+999 1234", ""]]
    sent, issues = run(tmp_path, ["Name", "Phone", "Country"], rows, PHONE_MAPPING % ("", ""))
    assert [p and p["phones"][0]["value"] for p in sent] == [
        "030 1234567", "(415) 555-0100", "07000000000", "+44 20 7946 0000", None
    ]  # fmt: skip
    assert issues == [(5, "phones.0.value", "phone")]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("phone_region: Atlantis\ncustomer:\n  phone: P\n", "region 'Atlantis' is not a country"),
        ("customer:\n  phones: [{column: P, region: Korea}]\n", "region 'Korea' could be"),
        ("customer:\n  emails: [{column: P, region: DE}]\n", "unknown setting 'region'"),
        ("customer:\n  jobTitle: {column: P, transform: [e164]}\n", "e164 only fills phone and"),
    ],
)
def test_phone_settings_are_checked_when_loaded(tmp_path: Path, spec: str, words: str) -> None:
    (tmp_path / "m.yaml").write_text(spec, encoding="utf-8")
    with pytest.raises(MappingError, match=words):
        load_mapping(tmp_path / "m.yaml")


# --- names ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("Ana López", "Ana", "López"),
        ("Dr. Ana María López", "Ana", "María López"),  # the title goes, the middle name stays
        ("López, Ana María", "Ana María", "López"),
        ("Jan van der Berg", "Jan", "van der Berg"),
        ("Berg, Jan van der", "Jan", "van der Berg"),
        ("Mary Anne de la Cruz", "Mary", "Anne de la Cruz"),
        ("Martin Luther King Jr.", "Martin", "Luther King Jr."),
        ("King, Martin Luther, Jr.", "Martin Luther", "King Jr."),
        ("John Smith, PhD", "John", "Smith PhD"),  # a comma before a suffix: no "Last, First"
        ("John Smith III", "John", "Smith III"),
        ('Robert "Bob" Smith', "Robert", "Smith"),
        ("Ms. Mary-Jane O'Neil", "Mary-Jane", "O'Neil"),
        ("Dr. López", None, "López"),
        ("  Ada   Lovelace ", "Ada", "Lovelace"),
        ("Cher", "Cher", None),
        ("Prince", "Prince", None),  # a lone title is somebody's name
        ("Lovelace,", None, "Lovelace"),
    ],
)
def test_split_full_name(text: str, first: str | None, last: str | None) -> None:
    assert split_full_name(text) == (first, last)


def test_the_name_shorthand_parses_each_full_name(tmp_path: Path) -> None:
    rows = [["Dr. Ana María López"], ["Berg, Jan van der"], ["Ada Lovelace"]]
    sent, issues = run(tmp_path, ["Full Name"], rows, "customer:\n  name: Full Name\n")
    assert [(p["firstName"], p["lastName"]) for p in sent] == [
        ("Ana", "María López"), ("Jan", "van der Berg"), ("Ada", "Lovelace")
    ]  # fmt: skip
    assert issues == []


# --- the C++ fast path for phones ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ("+1 415 555 0100", True),
        ("+49 30 1234567", True),
        ("+39 06 1234 5678", True),  # Italy's leading 0 is part of the number
        ("+44 20 7946 0000", True),
        ("+44 020 7946 0000", False),  # starts like GB's national prefix: libphonenumber decides
        ("+54 11 1234 5678", False),  # AR's prefix pattern matches anything: libphonenumber
        ("+1 415 555 0100 x12", False),  # an extension
        ("+1 415", False),  # a length +1 has not
        ("+999 1234", False),  # no such calling code
        ("030 1234567", False),  # national
    ],
)
def test_plainly_possible(value: str, plain: bool) -> None:
    assert plainly_possible(pd.Series([value], dtype="string")).tolist() == [plain]


CODES = sorted(str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=400, deadline=None)
@given(
    code=st.sampled_from(CODES),
    digits=st.text("0123456789", min_size=1, max_size=15),
    separators=st.lists(st.sampled_from([" ", "-", ".", "(", ")", "/"]), max_size=15),
)
def test_what_the_fast_path_clears_libphonenumber_calls_possible(
    code: str, digits: str, separators: list[str]
) -> None:
    value = "+" + code + "".join(d + (separators[i] if i < len(separators) else "")
                                 for i, d in enumerate(digits))  # fmt: skip
    if plainly_possible(pd.Series([value], dtype="string"))[0]:
        assert phone_problem(value) is None
        assert e164(value) == "+" + code + digits
        assert write_e164(pd.Series([value], dtype="string"), None).tolist() == [e164(value)]


# --- emails in a display-name form or a link ----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "address", "valid"),
    [
        ("Ada Lovelace <ada@example.com>", "ada@example.com", True),
        ('"Lovelace, Ada" <ada@example.com>', "ada@example.com", True),
        ("<ada@example.com>", "ada@example.com", True),
        ("Ada < ada@example.com >", "ada@example.com", True),
        ("mailto:ada@example.com", "ada@example.com", True),
        ("MAILTO:ada@example.com?subject=Hi", "ada@example.com", True),
        ("ada@example.com", "ada@example.com", True),
        ("Ada <not an address>", "Ada <not an address>", False),
        ("a@example.com, b@example.com", "a@example.com, b@example.com", False),
    ],
)
def test_email_address_takes_the_address_out_of_its_wrapper(
    tmp_path: Path, text: str, address: str, valid: bool
) -> None:
    assert email_address(text) == address  # the sniffer's reading, and the transform's alike:
    mapping = "customer:\n  emails: [{column: Email, transform: [email_address]}]\n"
    sent, issues = run(tmp_path, ["Email"], [[text]], mapping)
    assert sent == ([{"emails": [{"type": "work", "value": address}]}] if valid else [None])
    assert issues == ([] if valid else [(1, "emails.0.value", "email")])


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet='ab@.<>" \tmailto:?\n', max_size=24))
def test_email_address_reads_one_value_as_the_transform_reads_a_column(text: str) -> None:
    column = pa.array([text])
    for pattern, replacement in EMAIL_WRAPPERS:
        column = pc.replace_substring_regex(column, pattern, replacement)
    assert email_address(text) == column[0].as_py()


def test_email_address_is_quick_on_a_huge_cell() -> None:
    for text in ("x" * 100_000 + ">", "<" * 50_000 + "a@b>", "mailto:" + "a" * 100_000):
        assert email_address(text) == text
        assert emails_in(text) == []


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("Ada Lovelace <ada@example.com>",
         "(transform: [email_address] sends the address alone, ada@example.com)"),
        ("mailto:ada@example.com", "(transform: [email_address] sends the address alone, "
         "ada@example.com)"),
        ("a@example.com; b@example.com", '(several addresses: separator: ";" sends each)'),
        ("Ada <ada@example>", None),
    ],
)  # fmt: skip
def test_an_email_refused_says_how_to_send_the_address_it_holds(
    tmp_path: Path, text: str, hint: str | None
) -> None:
    data, mapping = tmp_path / "in.csv", tmp_path / "m.yaml"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["Name", "Email"], ["Ada", text], ["Alan", "alan@example.com"]])
    mapping.write_text("customer:\n  emails: [{column: Email}]\n", encoding="utf-8")
    report = tmp_path / "report.json"
    validate_csv(data, mapping, ValidateOptions(report=report))
    (issue,) = json.loads(report.read_text(encoding="utf-8"))["issues"]
    assert issue["message"].endswith(hint) if hint else "(" not in issue["message"]


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("Ada Lovelace <ada@example.com>", "Ada", "Lovelace"),
        ('"Lovelace, Ada" <ada@example.com>', "Ada", "Lovelace"),
        ('"Dr. Edsger W. Dijkstra" <ew@example.nl>', "Edsger", "W. Dijkstra"),
        ("<ada@example.com>", None, None),
        ("ada@example.com", None, None),
    ],
)
def test_display_name_fills_the_name_an_email_is_written_with(
    tmp_path: Path, text: str, first: str | None, last: str | None
) -> None:
    mapping = (
        "customer:\n  name: {column: Email, transform: [display_name]}\n"
        "  emails: [{column: Email, transform: [email_address]}]\n"
    )
    sent, issues = run(tmp_path, ["Email"], [[text]], mapping)
    assert (sent[0].get("firstName"), sent[0].get("lastName")) == (first, last)
    assert issues == []
