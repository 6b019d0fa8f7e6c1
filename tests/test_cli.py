"""The command line: exact output and exit codes of validate, init and sandbox (CliRunner)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import main
from importer.mapping import load_mapping

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "customers.csv"
EXAMPLE = ROOT / "mappings" / "example.yaml"


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_sample_lists_each_problem_and_the_summary():
    result = invoke("validate", SAMPLE, "-m", EXAMPLE)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[-1] == "40 rows read: 31 valid, 9 invalid, 1 warning."
    rows = [line.split(":", 1)[0] for line in lines[:-1]]
    assert rows == [
        "row 12, Email",
        "row 15, First Name",
        "row 18, Country",
        "row 21, Signed Up",
        "row 23, Seats",
        "row 26, Email",
        "row 28, Phone",
        "row 31",
        "row 34, Website",
        "row 37, Sex",
    ]
    assert lines[5] == (
        "row 26, Email: error: duplicate_key: 'chloe.obrien2@example.com' the same email as row 3: "
        "this row would create a duplicate; remove or merge it"
    )


def test_validate_exit_0_and_show_prints_payloads_as_sent(tmp_path):
    data = write(tmp_path / "ok.csv", "First Name,Email,Seats\nAda,ada@example.com,007\n")
    mapping = write(
        tmp_path / "m.yaml",
        "customer:\n  firstName: First Name\n  emails: [{column: Email, type: work}]\n"
        "  properties:\n    seats: {column: Seats, type: number}\n",
    )
    result = invoke("validate", data, "-m", mapping, "--show", "5")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        'row 1: {"firstName": "Ada", "emails": [{"type": "work", "value": "ada@example.com"}], '
        '"properties": {"seats": 7}}',
        "1 row read: 1 valid, 0 invalid, 0 warnings.",
    ]


@pytest.mark.parametrize("suffix", [".csv", ".json", ".html"])
def test_validate_writes_the_report_in_the_format_of_its_suffix(tmp_path, suffix):
    report = tmp_path / f"issues{suffix}"
    result = invoke("validate", SAMPLE, "-m", EXAMPLE, "--report", report)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "40 rows read: 31 valid, 9 invalid, 1 warning.",
        f"Report written to {report}",
    ]
    text = report.read_text(encoding="utf-8")
    if suffix == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        assert [r["row"] for r in rows] == ["12", "15", "18", "21", "23", "26", "28", "31", "34",
                                            "37"]  # fmt: skip
        assert list(rows[0]) == ["row", "column", "field", "value", "rule", "severity", "message"]
        assert rows[6]["value"] == "'-5361"  # a formula-looking cell is neutralised
    elif suffix == ".json":
        body = json.loads(text)
        assert body["summary"]["rows"] == 40 and body["summary"]["invalid"] == 9
        assert body["summary"]["by_rule"]["duplicate_key"] == 1
        assert len(body["issues"]) == 10
    else:
        assert text.startswith("<!DOCTYPE html>")
        assert "<td>duplicate_key</td>" in text and "Issues per column" in text


def test_html_report_escapes_cell_values(tmp_path):
    data = write(tmp_path / "x.csv", "First Name,Email\nAda,<b>ada</b>@example.com\n")
    mapping = write(tmp_path / "m.yaml", "customer:\n  firstName: First Name\n"
                    "  emails: [{column: Email}]\n")  # fmt: skip
    report = tmp_path / "r.html"
    assert invoke("validate", data, "-m", mapping, "--report", report).exit_code == 1
    text = report.read_text(encoding="utf-8")
    assert "&lt;b&gt;ada&lt;/b&gt;@example.com" in text
    assert "<b>ada</b>" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "missing.csv", "-m", EXAMPLE], "Error: missing.csv: no such file"),
        (["validate", SAMPLE, "-m", "missing.yaml"], "Error: missing.yaml"),
        (
            ["validate", SAMPLE, "-m", EXAMPLE, "--report", "r.txt"],
            "Error: cannot tell the report format from 'r.txt'",
        ),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith(message)
    assert "Traceback" not in result.output


def test_mapping_error_names_the_yaml_line(tmp_path):
    mapping = write(tmp_path / "m.yaml", "customer:\n  firstName: First Name\n  fristName: X\n")
    result = invoke("validate", SAMPLE, "-m", mapping)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {mapping}, line 3: ")
    assert "firstName" in result.output


def test_missing_column_lists_the_headers(tmp_path):
    mapping = write(tmp_path / "m.yaml", "customer:\n  firstName: Given Name\n")
    result = invoke("validate", SAMPLE, "-m", mapping)
    assert result.exit_code == 2
    assert f"{mapping}, line 2" in result.output and "First Name" in result.output


def test_init_suggests_a_mapping_that_validates(tmp_path):
    out = tmp_path / "suggested.yaml"
    result = invoke("init", SAMPLE, "-o", out)
    assert result.exit_code == 0
    assert result.output.startswith(f"Mapping written to {out}")
    mapping = load_mapping(out)
    mapping.bind(SAMPLE.read_text(encoding="utf-8").splitlines()[0].split(","))
    assert mapping.sources["firstName"] == "First Name"
    again = invoke("init", SAMPLE, "-o", out)
    assert again.exit_code == 2 and "exists already" in again.output


def test_sandbox_prints_the_environment_first_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "importer", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = [process.stdout.readline().rstrip("\n") for _ in range(3)]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert lines[0].startswith("export HELPSCOUT_API_URL=http://127.0.0.1:")
    assert lines[1] == "export HELPSCOUT_APP_ID=sandbox-app-id"
    assert lines[2] == "export HELPSCOUT_APP_SECRET=sandbox-secret"
    assert process.returncode == 0
