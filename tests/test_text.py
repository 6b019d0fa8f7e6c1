"""What the CLI prints from files and servers can neither steer the terminal nor flood it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import main
from importer.core.redact import REDACTED, redact, register
from importer.core.text import MESSAGE_WIDTH, for_terminal, issue_line

OSC = "\x1b]0;owned\x07"  # retitles the window


@pytest.mark.parametrize(
    "text, width, shown",
    [
        ("plain", 60, "plain"),
        (f"{OSC}Name", 60, "\\x1b]0;owned\\x07Name"),
        ("\x1b[2J\x9b31m", 60, "\\x1b[2J\\x9b31m"),  # CSI, 7-bit and C1
        ("a\nb\rc\td\x00\x7f", 60, "a\\nb\\rc\\td\\x00\\x7f"),
        ("abc\u202edcba", 60, "abc\\u202edcba"),  # bidi override
        ("Zoë 👩‍💻 日本", 60, "Zoë 👩‍💻 日本"),  # printable text stays, joiners too
        ("x" * 100, 10, "xxxxxx…xxx"),
        ("x" * 100, None, "x" * 100),
        ("\x1b" * 50, 10, "\\x1b\\x…x1b"),  # cut after escaping
    ],
)
def test_for_terminal(text: str, width: int | None, shown: str) -> None:
    assert for_terminal(text, width) == shown
    if width is not None:
        assert len(shown) <= width


def test_a_huge_value_is_cut_without_escaping_all_of_it() -> None:
    shown = for_terminal("\x1b" * 20_000_000 + "what to do", 100)
    assert len(shown) == 100 and shown.endswith("what to do")


def test_registered_secrets_and_bearer_tokens_are_redacted() -> None:
    register("registered-secret-123")
    register("short")  # too short to be a secret: ordinary words would go
    assert redact("a registered-secret-123 b; Authorization: Bearer abc.DEF-123 c; short") == (
        f"a {REDACTED} b; Authorization: Bearer {REDACTED} c; short"
    )


def test_control_characters_and_huge_names_in_a_header_reach_the_terminal_escaped_and_cut(
    tmp_path: Path,
) -> None:
    data, mapping = tmp_path / "in.csv", tmp_path / "m.yaml"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["N" * 100_000, f"{OSC}Email"], ["x", "a@example.com"]])
    mapping.write_text("customer:\n  firstName: Nope\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(data), "-m", str(mapping)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {mapping}, line 2: column 'Nope' is not in the CSV")
    assert "\x1b" not in result.stderr and "\\x1b]0;owned\\x07Email" in result.stderr
    assert len(result.stderr) <= len("Error: \n") + MESSAGE_WIDTH  # not 100 kB
    assert "…" in result.stderr


@pytest.mark.parametrize(
    "column, value, message, line",
    [
        ("Country", "Atlantis", "'Atlantis' is not a country name or ISO code",
         "row 3, Country: error: country: 'Atlantis' is not a country name or ISO code"),
        ("First Name", "Olga Maria", "10 characters; at most 4 for firstName",
         "row 3, First Name: error: max_length: 'Olga Maria' 10 characters; at most 4 for "
         "firstName"),
        ("Email", "x@@y", "not a valid email address: 'x@@y'",
         "row 3, Email: error: email: not a valid email address: 'x@@y'"),  # quoted later
        ("Email", "Atlantis", "'Atlantis2' is taken",  # another value quoted: the cell shown
         "row 3, Email: error: email: 'Atlantis' 'Atlantis2' is taken"),
        ("", None, "no name and no email", "row 3: error: no_identity: no name and no email"),
        ("Notes", "\x1b]0;t\x07", "too long",
         "row 3, Notes: error: notes: '\\x1b]0;t\\x07' too long"),
    ],
)  # fmt: skip
def test_issue_line_says_the_value_once(
    column: str, value: str | None, message: str, line: str
) -> None:
    rule = {"Country": "country", "First Name": "max_length", "Email": "email", "": "no_identity",
            "Notes": "notes"}[column]  # fmt: skip
    issue = {"row": 3, "column": column, "value": value, "severity": "error", "rule": rule,
             "message": message}  # fmt: skip
    assert issue_line(issue) == line
