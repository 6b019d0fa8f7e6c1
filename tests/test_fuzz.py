"""Fuzzing validate: generated CSV bytes and mapping YAML, through the real command line.

Whatever the bytes and the YAML, ``validate`` ends with exit 0, 1 or 2, without a traceback, and
prints a bounded amount. The examples are derandomized (the same every run, so CI is stable)
and bounded in number and time. (Every place of a mapping replaced by every kind of wrong value,
one by one, is tests/test_mapping.py's.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.cli import main

NAMES = ["Email", "First Name", "Phone Number", "Country", "Notes", "E-mail 1 - Type", ""]
CELLS = [
    "", " ", "ann@example.com", "ANN@EXAMPLE.COM", "not an email", "'02134", "'+1 555 0100",
    "=cmd", "null", "N/A", "Germany", "DE", "Korea", "* Home", "31/01/2024", "2024-01-31",
    "12 Main St", "Zoë", "x" * 300, '"', '""', "a,b", "a;b", "line\nbreak", "cr\rlf\r\n", "\t",
    "\ufeff", "\u202e", "é", "12", "-5",
]  # fmt: skip
OUTPUT_LIMIT = 20_000

cell = st.one_of(st.sampled_from(CELLS), st.text(max_size=20))
name = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """Mostly CSV-shaped text (quoted or not, ragged rows, a preamble, odd line ends), in one
    of several encodings; sometimes raw bytes."""
    if draw(st.integers(0, 9)) == 9:  # (hypothesis draws the low end more often)
        return draw(st.binary(max_size=600))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    if draw(st.integers(0, 3)) < 3:  # the columns the mapping reads, in some order
        header = draw(st.permutations(NAMES[:-1]))
        width = len(header)
    else:
        width = draw(st.integers(1, 6))
        header = draw(st.lists(name, min_size=width, max_size=width))
    rows = draw(
        st.lists(
            st.lists(cell, min_size=max(1, width - 2), max_size=width + 1), min_size=1, max_size=12
        )
    )
    quote = draw(st.booleans())

    def field(value: str) -> str:
        if quote or any(c in value for c in f'{delimiter}"\r\n'):
            return '"' + value.replace('"', draw(st.sampled_from(['""', '""', '""', '"']))) + '"'
        return value

    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [delimiter.join(field(v) for v in r) for r in [header, *rows]]
    preamble = draw(st.lists(st.sampled_from(["Report", "Exported 2024", ""]), max_size=2))
    text = end.join([*preamble, *lines]) + draw(st.sampled_from(["", end]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


SCALARS = st.one_of(
    st.sampled_from(NAMES[:-1]),
    st.text(max_size=10),
    st.integers(-5, 5),
    st.none(),
    st.booleans(),
)
VALUE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "column",
                    "value",
                    "transform",
                    "map",
                    "default",
                    "format",
                    "type",
                    "separator",
                    "null_values",
                    "replace",
                    "lines",
                    "country",
                    "on_incomplete",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
#: A mapping that uses every option, on the columns of NAMES: fuzzed by taking some of its parts
#: and replacing one value anywhere by a value of any type.
BASE = {
    "null_values": ["null", "N/A"],
    "customer": {
        "firstName": {"column": ["First Name", "Notes"]},
        "emails": [
            {"column": "Email",
             "type": {"column": "E-mail 1 - Type", "map": {"* Home": "home"}, "default": "other"}}
        ],
        "phones": [{"column": "Phone Number", "separator": ";", "type": "mobile"}],
        "jobTitle": {"column": "Notes", "replace": {"^x+": ""}, "null_values": ["-"]},
        "gender": {"column": "Notes", "map": {"f": "female"}, "default": "unknown"},
        "address": [
            {"lines": {"column": "Notes", "separator": "\n"},
             "country": {"column": "Country", "transform": ["country_code"]},
             "on_incomplete": "drop"},
            {"city": "First Name", "country": {"value": "DE"}},
        ],
        "properties": {"since": {"column": "Notes", "type": "date", "format": "%d/%m/%Y"},
                       "seats": {"column": "Phone Number", "type": "number"}},
    },
}  # fmt: skip


@st.composite
def mapping_yaml(draw: st.DrawFn) -> str:
    """Some of BASE's fields, often with one value anywhere replaced; sometimes plain text."""
    if draw(st.integers(0, 9)) == 9:
        return draw(st.text(max_size=300))
    fields = draw(st.sets(st.sampled_from(sorted(BASE["customer"])), min_size=1))
    document: dict = {"customer": {f: BASE["customer"][f] for f in fields}}  # type: ignore[index]
    if draw(st.booleans()):
        document["null_values"] = BASE["null_values"]
    if draw(st.integers(0, 2)) == 2:  # one field's value, or one of its options, replaced
        field = draw(st.sampled_from(sorted(fields)))
        value = document["customer"][field]
        if isinstance(value, dict) and draw(st.booleans()):
            value = {**value, draw(st.sampled_from(sorted(value))): draw(VALUE)}
        else:
            value = draw(VALUE)
        document["customer"][field] = value
    return yaml.safe_dump(document, allow_unicode=True)


@settings(
    max_examples=300,
    deadline=None,  # one example is a whole command (pyarrow, pandas): seconds on a busy CI
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=csv_bytes(), mapping=mapping_yaml())
def test_validate_ends_in_an_exit_code_without_a_traceback(data: bytes, mapping: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, mapping_path = Path(tmp) / "in.csv", Path(tmp) / "m.yaml"
        csv_path.write_bytes(data)
        mapping_path.write_text(mapping, encoding="utf-8", errors="surrogatepass")
        result = CliRunner().invoke(main, ["validate", str(csv_path), "-m", str(mapping_path)])
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, repr(result.exception))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert len(result.output) < OUTPUT_LIMIT
