"""The command line: exact output and exit codes of validate, init and sandbox (CliRunner)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from importer.cli import main, progress_bar
from importer.mapping import load_mapping

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "customers.csv"
EXAMPLE = ROOT / "mappings" / "example.yaml"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_sample_lists_each_problem_and_the_summary(invoke):
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
    assert lines[2] == (  # the value once: the message quotes it
        "row 18, Country: error: country: 'Atlantis' is not a country name or ISO code: write the "
        "two-letter ISO 3166-1 code, like US or DE"
    )
    assert lines[5] == (
        "row 26, Email: error: duplicate_key: 'chloe.obrien2@example.com' the same email as row 3: "
        "this row would create a duplicate; remove or merge it, or import with run --duplicates "
        "first (or last) to import one of them"
    )


@pytest.mark.parametrize("report", [None, "issues.csv"])
def test_validate_prints_the_first_issues_and_says_where_the_others_are(
    invoke, tmp_path, monkeypatch, report
):
    monkeypatch.chdir(tmp_path)
    data = write(tmp_path / "many.csv", "Email\n" + "".join(f"p{i}@@example.com\n"
                                                          for i in range(25)))  # fmt: skip
    mapping = write(tmp_path / "m.yaml", "customer:\n  emails: [{column: Email}]\n")
    result = invoke("validate", data, "-m", mapping, *(["--report", report] if report else []))
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in lines[:20]] == [f"row {i}, Email" for i in
                                                           range(1, 21)]  # fmt: skip
    where = " in issues.csv" if report else ": add --report issues.html to see them all"
    assert lines[20] == f"... and 5 more{where}"


def test_validate_exit_0_and_show_prints_payloads_as_sent(invoke, tmp_path):
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
def test_validate_writes_the_report_in_the_format_of_its_suffix(invoke, tmp_path, suffix):
    report = tmp_path / f"issues{suffix}"
    result = invoke("validate", SAMPLE, "-m", EXAMPLE, "--report", report)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:10] == invoke("validate", SAMPLE, "-m", EXAMPLE).output.splitlines()[:10]
    assert lines[10:] == [
        "40 rows read: 31 valid, 9 invalid, 1 warning.",
        f"Report written to {report}",
    ]  # the first issues, as without --report (the README says so), then the summary
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
        assert "1 row</b>: the same as an earlier row in <b>Email</b>" in text
        assert "Issues per column" in text


def test_html_report_escapes_cell_values(invoke, tmp_path):
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
def test_unusable_input_is_one_line_and_exit_2(invoke, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith(message)
    assert "Traceback" not in result.output


def test_mapping_error_names_the_yaml_line(invoke, tmp_path):
    mapping = write(tmp_path / "m.yaml", "customer:\n  firstName: First Name\n  fristName: X\n")
    result = invoke("validate", SAMPLE, "-m", mapping)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {mapping}, line 3: ")
    assert "firstName" in result.output


def test_missing_column_lists_the_headers(invoke, tmp_path):
    mapping = write(tmp_path / "m.yaml", "customer:\n  firstName: Given Name\n")
    result = invoke("validate", SAMPLE, "-m", mapping)
    assert result.exit_code == 2
    assert f"{mapping}, line 2" in result.output and "First Name" in result.output


def test_init_suggests_a_mapping_that_validates(invoke, tmp_path):
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


# --- the external customer exports (../shared/data/customers) ------------------------------------
DATABLIST = ROOT / "mappings" / "datablist-customers.yaml"


@pytest.fixture
def report_of(tmp_path: Path, invoke: Callable[..., Result]) -> Callable[[Path], dict]:
    """The JSON report of validating ``data`` with the Datablist mapping (which exits 1)."""

    def report_of(data: Path) -> dict:
        report = tmp_path / "report.json"
        result = invoke("validate", data, "-m", DATABLIST, "--report", report)
        assert result.exit_code == 1, result.output
        return json.loads(report.read_text(encoding="utf-8"))

    return report_of


def test_clean_export_reports_only_the_countries_that_name_no_single_country(
    report_of, shared_data
):
    body = report_of(shared_data / "customers" / "customers-10000.csv")
    assert {i["rule"] for i in body["issues"]} == {"country"}
    assert {i["value"] for i in body["issues"]} == {"Korea", "Congo", "Netherlands Antilles"}
    assert body["summary"]["rows"] == 10_000 and body["summary"]["warnings"] == 0


def test_dirty_export_reports_duplicated_emails_and_shifted_rows(report_of, shared_data):
    path = shared_data / "customers" / "customers-1000.hadoop-dirty.csv"
    body = report_of(path)
    by_rule: dict[str, list[dict]] = {}
    for issue in body["issues"]:
        by_rule.setdefault(issue["rule"], []).append(issue)
    assert set(by_rule) == {"duplicate_key", "ragged_row", "country"}
    assert [i["row"] for i in by_rule["ragged_row"]] == [814, 853]
    assert [i["message"].split(" (")[0] for i in by_rule["ragged_row"]] == [
        "this row has 13 fields but the header has 12",
        "this row has 14 fields but the header has 12",
    ]
    # every later copy of an email is flagged, naming the row that had it first
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    first: dict[str, int] = {}
    expected = set()
    for number, row in enumerate(rows, start=1):
        if None in row:  # a shifted row: its fields do not line up, so its email is unknown
            continue
        email = row["Email"].lower()
        if email in first:
            expected.add((number, first[email]))
        first.setdefault(email, number)
    found = {(i["row"], int(i["message"].split("as row ")[1].split(":")[0]))
             for i in by_rule["duplicate_key"]}  # fmt: skip
    assert found == expected and len(found) == 38


def test_mangled_export_flags_exactly_the_phones_a_spreadsheet_computed(report_of, shared_data):
    folder = shared_data / "customers"
    body = report_of(folder / "customers-10000.excel-mangled.csv")
    flagged = {(i["row"], i["column"]) for i in body["issues"] if i["rule"] == "phone"}
    clean = {r["Customer Id"]: r for r in csv.DictReader((folder / "customers-10000.csv").open())}
    mangled = list(csv.DictReader((folder / "customers-10000.excel-mangled.csv").open()))
    computed = set()
    for number, row in enumerate(mangled, start=1):
        for column in ("Phone 1", "Phone 2"):
            before, after = clean[row["Customer Id"]][column], row[column]
            if after != before and after != before.lstrip("0"):  # lost zeros cannot be told
                computed.add((number, column))
    assert flagged == computed and len(computed) == 764
    dates = [i for i in body["issues"] if i["rule"] == "date"]
    assert len(dates) == 10_000 and 'set format: "%d-%m-%Y"' in dates[0]["message"]


def test_validate_does_not_load_the_http_side_and_run_defaults_to_help_scout():
    """validate's peak memory depends on it; the literal in cli.py must match the client's."""
    code = (
        "import sys; from click.testing import CliRunner; from importer.cli import main; "
        f"CliRunner().invoke(main, ['validate', {str(SAMPLE)!r}, '-m', {str(EXAMPLE)!r}]); "
        "print('aiohttp' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.stdout.strip() == "False"
    from importer.core.options import DEFAULT_API_URL

    api_url = next(p for p in main.commands["run"].params if p.name == "api_url")
    # no default of its own: HELPSCOUT_API_URL of the environment or the credentials file first
    assert not isinstance(api_url.default, str)
    assert DEFAULT_API_URL in (api_url.help or "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["init", SAMPLE, "-o", "/nonexistent/dir/m.yaml"],
            "Error: cannot write --output /nonexistent",
        ),
        (
            ["run", SAMPLE, "-m", EXAMPLE, "--sandbox", "-o", "/nonexistent/dir/r.csv"],
            "Error: cannot write --output /nonexistent/dir/r.csv: /nonexistent/dir is not a folder",
        ),
        (
            [
                "run",
                SAMPLE,
                "-m",
                EXAMPLE,
                "--sandbox",
                "--dry-run",
                "--check-existing",
                "-o",
                "/nonexistent/plan.csv",
            ],
            "Error: cannot write --output /nonexistent/plan.csv",
        ),
        (["sandbox", "--port", "70000"], "Usage:"),
        (["sandbox", "--token-ttl", "0"], "Usage:"),
    ],
)
def test_bad_places_and_settings_exit_2_without_a_traceback(invoke, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.output.startswith(message) and "Traceback" not in result.output


def test_a_sandbox_port_in_use_is_one_line_and_exit_2(invoke):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("sandbox", "--port", str(port))
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert result.output.endswith("address already in use\n")


def test_interrupting_validate_exits_3_and_marks_the_report(tmp_path):
    """The checks must still be running when the signal comes, on a loaded machine too: each
    national phone number is read by libphonenumber one by one (some 20 µs each, 6 s here), so
    an interrupt 0.3 s after the report is opened always lands mid-file."""
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as fh:
        fh.write("First Name,Phone\n")
        fh.writelines(f"N{i},030 {i:08d}\n" for i in range(300_000))
    mapping = write(tmp_path / "m.yaml", "customer:\n  firstName: First Name\n"
                    "  phones: [{column: Phone, region: DE}]\n")  # fmt: skip
    report = tmp_path / "r.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "importer", "validate", big, "-m", mapping, "--report", report],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    import time

    deadline = time.monotonic() + 30
    while not report.exists() and time.monotonic() < deadline:  # opened once checking starts
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 3, err
    assert err.splitlines()[-1] == "Interrupted: stopped before the end."
    notes = json.loads(report.read_text(encoding="utf-8"))["summary"]["notes"]
    assert notes and notes[-1].startswith("interrupted: only the first")


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, so the progress bar draws into it."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_counts_rows_in_whole_numbers(monkeypatch):
    """Not ``1.00/41.0 rows``, as a bar scaling its units writes one row of 41."""
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with progress_bar("rows") as bar:
        bar.total = 41
        bar.update(1)
        bar.refresh()
    assert "| 1/41 [" in screen.getvalue()
    # the counts, not the rate (which may well be 131072.00 rows/s)
    assert "1.00/" not in screen.getvalue() and "/41.0" not in screen.getvalue()


@pytest.mark.parametrize("command", ["validate", "run", "init"])
def test_a_web_address_for_file_says_to_download_it(invoke, command):
    address = "https://docs.google.com/spreadsheets/d/abc/export?format=csv"
    extra = [] if command == "init" else ["-m", "mappings/example.yaml"]
    result = invoke(command, address, *extra)
    assert result.exit_code == 2
    name = "[FILE]" if command == "init" else "FILE"  # init's is optional (--list-presets)
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '{name}': '{address}' is a web address, not a file: download it "
        "first (curl -fLo export.csv 'ADDRESS'), then pass the file"
    )


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["run", "sample_data/customers.csv", "-m", "mappings/example.yaml", "--sandbox",
          "-o", "out.csv", "--state", ""], "'--state'"),
        (["validate", "sample_data/customers.csv", "-m", "mappings/example.yaml", "--report", ""],
         "'--report'"),
        (["validate", "", "-m", "mappings/example.yaml"], "'FILE'"),
        (["init", "sample_data/customers.csv", "-o", ""], "'-o' / '--output'"),
        (["undo", "--state", "", "--dry-run"], "'--state'"),
    ],
)  # fmt: skip
def test_an_empty_path_is_one_line_not_the_current_folder(invoke, args, name):
    result = invoke(*args)  # an unset variable in a script: --state "$STATE"
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for {name}: an empty path: give a file's name"
    )
