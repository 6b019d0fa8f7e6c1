"""The reports people open: the validation page, the results page and the rejects file.

Real files, the real validator and the built-in sandbox; the pages are parsed with the standard
library's HTML parser to check what a browser would find in them (tests/test_browser.py renders
them in Chromium).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from importer import ImportOptions, ValidateOptions, import_csv, validate_csv
from importer.check.rules import rule_label
from importer.check.validate import check_rows
from importer.customer.labels import field_label
from importer.jobs.front import open_input
from importer.outputs.page import CSS, Groups, bar_chart, cell, line_chart, pattern
from importer.outputs.rejects import ERROR, ROW, is_rejected, layout, row_errors
from importer.outputs.report import MAX_GROUPS, ROWS_PER_GROUP, message_pattern, rows_named
from importer.outputs.results_report import PaceSamples, ResultsReport, api_host
from importer.sandbox import DEFAULT_PROPERTIES, SandboxConfig
from importer.send.results import Outcome

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "customers.csv"
EXAMPLE = ROOT / "mappings" / "example.yaml"
MAPPING = """\
customer:
  firstName: First Name
  lastName: Last Name
  background: Notes
  emails: [{column: Email, type: work}]
  phones: [{column: Phone, type: work}]
  websites: [{column: Website}]
  address: {city: City, country: {column: Country, transform: [country_code]}}
"""
HEADER = ["First Name", "Last Name", "Email", "Phone", "Website", "City", "Country", "Notes"]
HOSTILE = [
    ["Ada", "Lovelace", "ada@example.com", "+44 20 7946 0000", "", "London", "GB", "=1+2"],
    ["Bob", "<script>alert(1)</script>", "bob@@example.com", "", "", "", "", "@SUM(A1:A9)"],
    ['"><img src=x onerror=alert(2)>', "Ng", "=HYPERLINK(\"http://evil.example\",\"x\")", "", "",
     "", "", ""],
    ["Cy", "Ray", "cy@example.com", "", '"><img src=x onerror=alert(3)>', "", "", "-2+3"],
    ["Di", "Ox", "di@example.com", "", "", "Oslo", "<b>Narnia</b>", ""],
    ["Eve", "Ragged", "eve@example.com", "", "", "", "", "one", "two"],
    ["Flo", "Dup", "ada@example.com", "", "", "", "", ""],
]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """A file whose cells hold markup, script and spreadsheet formulas, and its mapping."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return write_csv(tmp_path / "hostile.csv", HEADER, HOSTILE), mapping


class Elements(HTMLParser):
    """Every tag and attribute of a page, its text, and the contents of its <style>."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)


#: Tags and attributes through which a page could fetch, run or send something.
ACTIVE_TAGS = {"script", "img", "iframe", "frame", "object", "embed", "link", "base", "form",
               "input", "audio", "video", "source", "image", "use"}  # fmt: skip
#: A link within the page (the validation page's contents): goes nowhere else, fetches nothing.
IN_PAGE = re.compile(r"#group-\d+")
URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "srcset", "poster", "data",
                  "background", "ping", "style"}  # fmt: skip


def assert_self_contained(text: str) -> Elements:
    """The page fetches nothing and runs nothing, whatever its cells held."""
    page = Elements(text)
    tags = {tag for tag, _ in page.tags}
    assert not tags & ACTIVE_TAGS
    for tag, attrs in page.tags:
        if tag == "a":
            assert list(attrs) == ["href"] and IN_PAGE.fullmatch(attrs["href"] or ""), attrs
            continue
        assert not set(attrs) & URL_ATTRIBUTES, tag
        assert not any(name.startswith("on") for name in attrs), tag
    assert not re.search(r"url\(|@import", "".join(page.styles))
    policy = [
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(policy) == 1 and (policy[0] or "").startswith("default-src 'none'; ")
    # the one stylesheet is allowed by its hash, so the policy really covers it
    digest = base64.b64encode(hashlib.sha256("".join(page.styles).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in (policy[0] or "")
    assert "".join(page.styles) == CSS
    return page


# --- the rejects file ----------------------------------------------------------------------------
FIXES = {  # column -> a cell that the validator takes
    "Email": lambda row: f"fixed{row}@example.com",
    "Website": lambda row: "https://www.example.com/",
    "Country": lambda row: "NO",
    "First Name": lambda row: "Ann",
}


def fix(rejects: Path) -> Path:
    """What the person with the spreadsheet does: fix the cells each error names, save."""
    lines = read_csv(rejects)
    header, body = lines[0], lines[1:]
    for line in body:
        error = line[header.index(ERROR)]
        if error.startswith("this row has "):  # ragged: join the spilled field back
            notes = header.index("Notes")
            line[notes] = line[notes].replace(",", " and ")
        for column in re.findall(r"(?:^|; )([\w ]+): ", error):
            if column in FIXES:
                line[header.index(column)] = FIXES[column](line[0])
    fixed = rejects.with_name("fixed.csv")
    with fixed.open("w", newline="", encoding="utf-8") as fh:  # a spreadsheet saves plain UTF-8
        csv.writer(fh).writerows([header, *body])
    return fixed


def test_rejects_hold_each_invalid_row_as_read_with_its_number_and_errors(
    invoke, hostile, tmp_path
):
    data, mapping = hostile
    rejects = tmp_path / "rejects.csv"
    result = invoke("validate", data, "-m", mapping, "--rejects", rejects)
    assert result.exit_code == 1
    assert result.output.splitlines()[-2:] == [
        "7 rows read: 1 valid, 6 invalid, 0 warnings.",
        f"6 rows to fix written to {rejects}",
    ]
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbfrow,error,First Name,")
    lines = read_csv(rejects)
    assert lines[0] == [ROW, ERROR, *HEADER]
    assert [line[0] for line in lines[1:]] == ["2", "3", "4", "5", "6", "7"]
    by_row = {line[0]: line for line in lines[1:]}
    # the input's cells, as read, formula-looking ones behind an apostrophe
    assert by_row["2"][2:] == ["Bob", "<script>alert(1)</script>", "bob@@example.com", "", "", "",
                               "", "'@SUM(A1:A9)"]  # fmt: skip
    assert by_row["3"][4] == '\'=HYPERLINK("http://evil.example","x")'
    assert by_row["2"][1] == (
        "Email: not a valid email address: An email address must have exactly one @-sign."
    )
    assert by_row["6"][2:] == ["Eve", "Ragged", "eve@example.com", "", "", "", "", "one,two"]
    assert by_row["6"][1].startswith("this row has 9 fields but the header has 8")
    assert by_row["7"][1].startswith("Email: the same email as row 1: ")
    assert by_row["5"][1].startswith("Country: '<b>Narnia</b>' is not a country name")


def test_fixed_rejects_fed_back_with_the_same_mapping_validate(invoke, hostile, tmp_path):
    data, mapping = hostile
    rejects = tmp_path / "rejects.csv"
    first = validate_csv(data, mapping, ValidateOptions(rejects=rejects))
    assert (first.summary.invalid, first.rejects) == (6, rejects)
    # fed back as it is, the rows are rejected for the same reasons, under their first numbers;
    # but the duplicate (its first row is not in the file) and the ragged row (its spilled
    # fields are one cell now)
    assert (
        validate_csv(
            rejects, mapping, ValidateOptions(rejects=tmp_path / "again.csv")
        ).summary.invalid
        == 4
    )
    assert [line[:2] for line in read_csv(tmp_path / "again.csv")[1:]] == [
        line[:2] for line in read_csv(rejects)[1:5]
    ]
    fixed = fix(rejects)
    result = invoke("validate", fixed, "-m", mapping)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["6 rows read: 6 valid, 0 invalid, 0 warnings."]
    # and what will be sent is the person's cells, the formula guard taken off
    shown = validate_csv(fixed, mapping, ValidateOptions(show=5)).samples
    assert [payload["emails"][0]["value"] for _, payload in shown][:2] == [
        "fixed2@example.com",
        "fixed3@example.com",
    ]
    assert shown[0][1]["background"] == "@SUM(A1:A9)"


@pytest.mark.parametrize(
    ("columns", "header", "again"),
    [
        (["Email", "Name"], ["row", "error", "Email", "Name"], False),
        (["Name", "row"], ["_row", "error", "Name", "row"], False),
        (["error", "_error", "row"], ["_row", "__error", "error", "_error", "row"], False),
        (["row", "error", "Email"], ["row", "error", "Email"], True),  # a rejects file again
        (["error", "row", "Email"], ["_row", "_error", "error", "row", "Email"], False),
    ],
)
def test_layout_keeps_the_input_header_and_adds_two_free_columns(columns, header, again):
    assert layout(columns) == (header, again)


@pytest.mark.parametrize(
    ("status", "http_status", "rejected"),
    [
        ("invalid", None, True),
        ("failed", 400, True),  # Help Scout refused the row's content: fix it
        ("failed", 422, True),
        ("failed", 413, True),
        ("failed", 500, False),  # the same command retries these...
        ("failed", 429, False),
        ("failed", None, False),  # ...and these (no answer: maybe created; a new file: twice)
        ("failed", 409, False),
        ("created", 201, False),
        ("skipped", None, False),
    ],
)
def test_which_results_lines_are_rejects(status, http_status, rejected):
    assert is_rejected(Outcome(1, status, http_status=http_status)) is rejected


def test_row_errors_join_a_rows_errors_in_order():
    issues = pd.DataFrame(
        {
            "row": [3, 3, 5, 9],
            "column": ["Email", "", "Phone", ""],
            "field": ["emails.0.value", "address.country", "phones.0.value", ""],
            "value": ["x", None, "y", None],
            "rule": ["email", "country_required", "phone", "empty_row"],
            "severity": ["error", "error", "warning", "error"],
            "message": ["bad email", "needs a country", "odd phone", "empty"],
        }
    )
    assert row_errors(issues).to_dict() == {
        3: "Email: bad email; address.country: needs a country",
        9: "empty",
    }


def test_run_rejects_the_invalid_rows_and_those_help_scout_refused(tmp_path):
    """The account's "plan" is a number: Help Scout answers 400 to every row with a plan the
    mapping sends as text. Those rows come back with Help Scout's words and logRef."""
    props = [dict(p, type="number") if p["slug"] == "plan" else p for p in DEFAULT_PROPERTIES]
    rejects = tmp_path / "rejects.csv"
    result = import_csv(SAMPLE, EXAMPLE, tmp_path / "results.csv", ImportOptions(rejects=rejects),
                        sandbox=SandboxConfig(properties=props))  # fmt: skip
    assert (result.invalid, result.failed, result.created) == (9, 31, 0)
    lines = read_csv(rejects)
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        source = list(csv.reader(fh))
    assert lines[0] == [ROW, ERROR, *source[0]]
    assert [int(line[0]) for line in lines[1:]] == list(range(1, 41))
    assert result.rejected == 40 and result.rejects == rejects
    refused = lines[1]
    assert re.fullmatch(
        r"Help Scout refused it \(400, logRef [\w#-]+\): Bad request: properties\.plan: .+",
        refused[1],
    )
    assert refused[2:4] == source[1][:2]
    assert lines[12][1].startswith("Email: not a valid email address")


def test_run_leaves_rows_that_failed_for_the_network_out_of_the_rejects(invoke, tmp_path):
    rejects = tmp_path / "rejects.csv"
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "--sandbox", "-o", tmp_path / "results.csv",
                    "--rejects", rejects, "--max-attempts", "1")  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == f"9 rows to fix written to {rejects}"
    assert [line[0] for line in read_csv(rejects)[1:]] == ["12", "15", "18", "21", "23", "26",
                                                          "28", "34", "37"]  # fmt: skip
    failing = import_csv(SAMPLE, EXAMPLE, tmp_path / "r2.csv",
                         ImportOptions(rejects=tmp_path / "rej2.csv", max_attempts=1),
                         sandbox=SandboxConfig(fail_rate=1.0))  # fmt: skip
    assert failing.failed == 31
    assert len(read_csv(tmp_path / "rej2.csv")) == 1 + 9  # the 500s stay in the results only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rejects", "{data}"],
         "Error: --rejects {data} is the same file as FILE {data}, which is read: "),
        (["--rejects", "{mapping}"],
         "Error: --rejects {mapping} is the same file as --mapping {mapping}, which is read: "),
        (["--report", "{tmp}/x.csv", "--rejects", "{tmp}/x.csv"],
         "Error: --rejects {tmp}/x.csv is the same file as --report {tmp}/x.csv: "),
        (["--rejects", "{tmp}/x.html"], "Error: the rejects file is a CSV: end its name in .csv"),
    ],
)  # fmt: skip
def test_rejects_that_would_overwrite_an_input_or_another_output_exit_2(
    invoke, hostile, tmp_path, args, message
):
    data, mapping = hostile
    before = data.read_bytes()
    names = {"data": data, "tmp": tmp_path, "mapping": mapping}
    result = invoke("validate", data, "-m", mapping, *[a.format(**names) for a in args])
    assert result.exit_code == 2
    assert result.stderr.startswith(message.format(**names))
    assert data.read_bytes() == before


# --- the validation page -------------------------------------------------------------------------
def test_validation_page_shows_hostile_cells_as_text_and_fetches_nothing(hostile, tmp_path):
    data, mapping = hostile
    report = tmp_path / "report.html"
    validate_csv(data, mapping, ValidateOptions(report=report))
    page = assert_self_contained(report.read_text(encoding="utf-8"))
    text = "".join(page.text)
    for cell_text in ("<script>alert(1)</script>", '"><img src=x onerror=alert(3)>',
                      '=HYPERLINK("http://evil.example","x")', "'<b>Narnia</b>'"):  # fmt: skip
        assert cell_text in text
    assert "Bob <script>alert(1)</script>" in text  # the row's name beside its row number


def many_issues(tmp_path: Path, rows: int) -> tuple[Path, Path]:
    """``rows`` rows, each with an email missing its @ and a first name too long by i % 7 + 1."""
    body = [[f"{'N' * (41 + i % 7)}", f"Last{i}", f"person{i}.example.com"] for i in range(rows)]
    mapping = tmp_path / "m.yaml"
    mapping.write_text("customer:\n  firstName: First Name\n  lastName: Last Name\n"
                       "  emails: [{column: Email}]\n", encoding="utf-8")  # fmt: skip
    return write_csv(tmp_path / "many.csv", ["First Name", "Last Name", "Email"], body), mapping


def test_one_kind_of_issue_is_one_group_said_once_with_its_first_rows(tmp_path):
    data, mapping = many_issues(tmp_path, 252)
    report = tmp_path / "report.html"
    validate_csv(data, mapping, ValidateOptions(report=report))
    text = report.read_text(encoding="utf-8")
    assert text.count("<details") == 2  # email and max_length, whatever the lengths
    assert text.count("An email address must have exactly one @-sign.") == 1
    assert text.count("<b>252 rows</b>") == 2
    assert text.count("and 152 more: see the CSV report (--report issues.csv)") == 2
    assert text.count("<mark>") == 2 * ROWS_PER_GROUP
    # the first row of a group says the group's message; a row whose numbers differ says its own
    assert "41 characters; Help Scout allows at most 40 for firstName: shorten it" in text
    assert text.count('<div class="own">42 characters; Help Scout allows at most 40') == 15
    assert '<td class="n">1</td><td>person0.example.com</td><td>NNNN' in text  # row, key, name
    assert assert_self_contained(text)


def test_groups_stay_bounded_whatever_the_messages(tmp_path):
    """Every row a duplicate of a different earlier row: messages differ only by the row number,
    so one group; and at most MAX_GROUPS groups are kept, the rest counted per (rule, column)."""
    rows = [[f"n{i % 500}@example.com"] for i in range(2000)]
    data = write_csv(tmp_path / "dup.csv", ["Email"], rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("customer:\n  emails: [{column: Email}]\n", encoding="utf-8")
    report = tmp_path / "r.html"
    result = validate_csv(data, mapping, ValidateOptions(report=report))
    assert result.summary.by_rule["duplicate_key"] == 1500
    text = report.read_text(encoding="utf-8")
    assert text.count("<b>1,500 rows</b>: the same as an earlier row") == 1
    groups: Groups[tuple[str, str | None], int] = Groups(
        examples=2, limit=MAX_GROUPS, overflow=lambda k: (k[0], None)
    )
    for i in range(MAX_GROUPS * 3):
        groups.add(groups.key(("rule", f"message {i}")), 1, [i])
    assert len(groups.groups) == MAX_GROUPS + 1
    assert groups.groups[("rule", None)].count == MAX_GROUPS * 2
    assert groups.groups[("rule", None)].examples == [MAX_GROUPS, MAX_GROUPS + 1]


@pytest.mark.parametrize(
    ("message", "blanked"),
    [
        ("47 characters; at most 40 for firstName", "# characters; at most # for firstName"),
        ("the same email as row 3: remove it", "the same email as row #: remove it"),
        ("'Atlantis' is not a country name", "'…' is not a country name"),
        ('set format: "%d/%m/%Y" in the mapping', "set format: '…' in the mapping"),
        ("no digits, no quotes", "no digits, no quotes"),
    ],
)
def test_messages_of_one_kind_share_a_pattern(message, blanked):
    assert pattern(message) == blanked
    assert message_pattern(pd.Series([message], dtype="string")).tolist() == [blanked]


def test_a_huge_cell_is_cut_on_the_page(tmp_path):
    data = write_csv(tmp_path / "big.csv", ["Email"], [["x" * 100_000]])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("customer:\n  emails: [{column: Email}]\n", encoding="utf-8")
    report = tmp_path / "r.html"
    validate_csv(data, mapping, ValidateOptions(report=report))
    assert report.stat().st_size < 20_000
    assert "(99,800 more characters)" in report.read_text(encoding="utf-8")
    assert cell("<b>") == "&lt;b&gt;" and cell("") == cell(None) == (
        '<span class="empty">(empty)</span>'
    )


def test_charts_escape_their_labels_and_scale_to_the_largest():
    svg = bar_chart([("<script>", 10), ("b", 5)], title="t")
    assert "&lt;script&gt;" in svg and "<script>" not in svg
    widths = [int(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="(\d+)"', svg)]
    assert widths[0] == 2 * widths[1]
    assert line_chart([(0, 1)], title="t", x_label="x", y_label="y") == ""  # one point: no line
    line = line_chart([(1, 10), (2, 30)], title="t", x_label="x", y_label="y",
                      guides=[(20, "<ceiling>"), (50, "budget")])  # fmt: skip
    assert line.count("<polyline") == 1 and line.count('stroke-dasharray="5 4"') == 2
    assert "&lt;ceiling&gt;" in line and ">budget</text>" in line
    assert ">40</text>" in line  # the axis goes up past the highest level, not only the line


# --- the results page ----------------------------------------------------------------------------
def test_run_report_shows_outcomes_failures_with_logrefs_and_the_pace(tmp_path):
    props = [dict(p, type="number") if p["slug"] == "plan" else p for p in DEFAULT_PROPERTIES]
    report = tmp_path / "results.html"
    results = tmp_path / "results.csv"
    result = import_csv(SAMPLE, EXAMPLE, results, ImportOptions(report=report, concurrency=2),
                        sandbox=SandboxConfig(properties=props, latency_ms=40))  # fmt: skip
    assert result.report == report
    page = assert_self_contained(report.read_text(encoding="utf-8"))
    text = "".join(page.text)
    assert "31 rows (rows 1, 2, 3, 4, 5, …): Help Scout answered 400" in text
    assert "Bad request: properties.plan: must be an integer" in text
    with results.open(newline="", encoding="utf-8") as fh:
        refs = [line["log_ref"] for line in csv.DictReader(fh) if line["status"] == "failed"]
    assert len(refs) == 31 and all(ref in text for ref in refs)
    assert "Invalid rows (not sent), by reason" in text
    assert "the built-in sandbox" in text
    assert report.read_text(encoding="utf-8").count("<polyline") == 1  # the pace, ~0.6 s long


def test_run_report_from_the_command_line(invoke, tmp_path):
    report = tmp_path / "results.html"
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "--sandbox", "-o", tmp_path / "results.csv",
                    "--report", report)  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "40 rows: 31 created, 9 invalid, 0 failed.",
        f"Results written to {tmp_path / 'results.csv'}",
        f"Report written to {report}",
    ]
    text = "".join(assert_self_contained(report.read_text(encoding="utf-8")).text)
    assert re.search(r"31\s*created", text) and "Exit code 1" in text


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://api.helpscout.net", "https://api.helpscout.net"),
        ("https://user:secret@api.example.com:8443/v2?token=abc", "https://api.example.com:8443"),
        ("http://127.0.0.1:43121/", "http://127.0.0.1:43121"),
    ],
)
def test_the_results_page_names_the_api_by_host_only(url, host):
    assert api_host(url) == host


def test_pace_samples_stay_few_and_evenly_spread_on_a_long_run():
    samples = PaceSamples(every=1.0)
    for second in range(1, 10_001):  # a request a second for 10,000 s (a faked clock)
        samples.add(second * 1.0, second)
        samples.add(second + 0.5, second)  # too soon: not kept
    samples.add(10_000.7, 10_001, last=True)
    assert len(samples.points) <= PaceSamples.LIMIT
    end = PaceSamples(every=1.0)
    for second, requests, last in [(1.0, 10, False), (1.5, 15, False), (1.6, 16, True)]:
        end.add(second, requests, last=last)
    assert end.points == [(0.0, 0), (1.6, 16)]  # the end replaces a point too close to it
    gaps = {round(b[0] - a[0]) for a, b in zip(samples.points, samples.points[1:-1], strict=False)}
    assert gaps == {64}
    assert {round(spent) for t, spent in samples.last_minute()[:-1] if t >= 60} == {60}
    assert samples.points[-1] == (10_000.7, 10_001)


def test_report_json_and_csv_keep_their_contract(hostile, tmp_path):
    data, mapping = hostile
    validate_csv(data, mapping, ValidateOptions(report=tmp_path / "r.json"))
    validate_csv(data, mapping, ValidateOptions(report=tmp_path / "r.csv"))
    body = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    lines = read_csv(tmp_path / "r.csv")
    assert lines[0] == ["row", "column", "field", "value", "rule", "severity", "message"]
    assert len(lines) - 1 == len(body["issues"]) == body["summary"]["errors"] == 6


def test_the_readmes_rows_to_fix_recipe_runs_as_written(invoke, hostile, tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Rows to fix, as a file", 1)[1].split("```sh\n", 1)[1].split("```")[0]
    commands = [line.split("#")[0].split() for line in block.splitlines() if line[:1] != "#"]
    assert [c[:3] for c in commands] == [["helpscout-import", "validate", "export.csv"],
                                         ["helpscout-import", "validate", "to-fix.csv"],
                                         ["helpscout-import", "run", "to-fix.csv"]]  # fmt: skip
    data, mapping = hostile
    monkeypatch.chdir(tmp_path)
    data.rename("export.csv")
    mapping.rename("mapping.yaml")
    first = invoke(*commands[0][1:])
    assert first.exit_code == 1 and first.stdout.endswith("6 rows to fix written to to-fix.csv\n")
    fix(Path("to-fix.csv")).replace("to-fix.csv")
    assert invoke(*commands[1][1:]).exit_code == 0
    done = invoke(*commands[2][1:], "--sandbox")  # the account here: the built-in sandbox
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[0] == "6 rows: 6 created, 0 invalid, 0 failed."


def test_json_report_keeps_cells_with_line_breaks_and_quotes_whole(tmp_path):
    cells = ["two\nlines@example.com", 'a "quoted"/slashed é@@example.com', "tab\there@x"]
    data = write_csv(tmp_path / "x.csv", ["Email"], [[c] for c in cells])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("customer:\n  emails: [{column: Email}]\n", encoding="utf-8")
    validate_csv(data, mapping, ValidateOptions(report=tmp_path / "r.json"))
    body = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [issue["value"] for issue in body["issues"]] == cells
    assert [issue["row"] for issue in body["issues"]] == [1, 2, 3]


@pytest.mark.parametrize(
    "count, rows, named",
    [(1, [12], "row 12"), (3, [3, 7, 9], "rows 3, 7, 9"),
     (5, [1, 2, 3, 4, 5], "rows 1, 2, 3, 4, 5"),
     (900, list(range(1, 101)), "rows 1, 2, 3, 4, 5, …")],
)  # fmt: skip
def test_a_closed_group_names_its_first_rows(count, rows, named):
    assert rows_named(count, rows) == named


@pytest.mark.parametrize(
    "rule, field, label",
    [
        ("max_length", "firstName", "too long (max 40)"),
        ("max_length", "jobTitle", "too long (max 60)"),
        ("max_length", "properties.plan", "too long (max 255)"),
        ("max_length", "", "too long"),
        ("email", "emails.0.value", "not a valid email address"),
        ("duplicate_key", "emails.0.value", "the same as an earlier row"),
        ("some_new_rule", "", "some new rule"),  # a rule without words yet: its code, readable
    ],
)
def test_rules_are_said_in_words(rule, field, label):
    assert rule_label(rule, field) == label


@pytest.mark.parametrize(
    "path, label",
    [
        ("emails.0.value", "Email 1"),
        ("emails.1.value", "Email 2"),
        ("phones.2.type", "Phone 3 type"),
        ("socialProfiles.0.value", "Social profile 1"),
        ("firstName", "First name"),
        ("background", "Notes"),
        ("gender", "Gender"),
        ("address.country", "Country"),
        ("address.postalCode", "Postal code"),
        ("address.lines.1", "Address line 2"),
        ("properties.signup-date", "Property signup-date"),
        ("somewhere.else", "somewhere.else"),
    ],
)
def test_fields_are_named_as_people_name_them(path, label):
    assert field_label(path) == label


def test_the_csv_and_json_reports_keep_the_machine_codes(hostile, tmp_path):
    """The words are the page's: scripts matching codes in the CSV and JSON still find them."""
    data, mapping = hostile
    for suffix in (".csv", ".json"):
        report = tmp_path / f"r{suffix}"
        validate_csv(data, mapping, ValidateOptions(report=report))
        text = report.read_text(encoding="utf-8")
        assert "emails.0.value" in text and "Email 1" not in text


def test_the_results_page_lets_go_of_each_chunk_once_its_lines_are_past(tmp_path):
    """Whom rows name is kept per chunk only until the results lines pass it: memory stays a
    chunk or two, whatever the run's length, even when no row is listed."""
    data = write_csv(tmp_path / "a.csv", ["Email"], [[f"p{i}@example.com"] for i in range(30)])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("customer:\n  emails: [{column: Email}]\n", encoding="utf-8")
    report = ResultsReport(tmp_path / "r.html", file="a.csv", mapping="m.yaml", api="sandbox")
    for _, checked in check_rows(*open_input(data, mapping)):
        report.checked(checked)
    whom = report._whom[0]
    assert whom.of(3) == ("p2@example.com", None) and whom.of(99) == ("—", "—")
    report.add(Outcome(3, "invalid", error="Email: wrong"))
    assert len(report._whom) == 1 and report.groups.largest()[0][1].examples[0].key == (
        "p2@example.com"
    )
    report.add(Outcome(31, "created"))  # past the chunk's last row
    assert len(report._whom) == 0
    report.discard()


@pytest.mark.parametrize("kinds, shown, more", [(3, 0, 0), (4, 4, 0), (30, 30, 0), (45, 30, 15)])
def test_a_page_of_many_groups_lists_them_first_with_links_to_each(tmp_path, kinds, shown, more):
    """More than three groups: all closed, a contents list linking to each (within the page);
    past 30 lines the smaller groups wait behind a click, so the list stays short too."""
    columns = [f"Note {i}" for i in range(kinds)]
    rows = [["x" * (256 + i) for i in range(kinds)] for _ in range(kinds)]
    for i, row in enumerate(rows):  # group i has kinds - i rows: a size order to keep
        row[i + 1 :] = [""] * (kinds - i - 1)
    rows = [[f"p{i}@example.com", *row] for i, row in enumerate(rows)]  # no other issue
    data = write_csv(tmp_path / "notes.csv", ["Email", *columns], rows)
    mapping = tmp_path / "m.yaml"
    props = "".join(f"    note-{i}: Note {i}\n" for i in range(kinds))
    mapping.write_text(f"customer:\n  emails: [Email]\n  properties:\n{props}", encoding="utf-8")
    report = tmp_path / "r.html"
    validate_csv(data, mapping, ValidateOptions(report=report))
    text = report.read_text(encoding="utf-8")
    assert_self_contained(text)
    links = re.findall(r'<a href="#(group-\d+)">', text)
    assert links == ([f"group-{n}" for n in range(1, kinds + 1)] if shown else [])
    assert all(f'<details id="{link}">' in text for link in links)  # each names a group, closed
    assert ('<details id="group-1" open>' in text) == (kinds <= 3)
    assert (f"<summary>{more} more groups</summary>" in text) == bool(more)
    if shown:
        assert "too long (max 255) in <b>Note 0</b> &rarr; Property note-0" in text


@pytest.mark.parametrize(
    "points, at, spent",
    [
        ([(0.5, 40), (3.0, 63)], [0.0, 0.5, 3.0], [0, 40, 63]),  # a burst: 40, not 4,800 a minute
        ([(30, 300), (90, 900), (150, 900)], [30, 90, 150], [300, 600, 0]),  # then idle
        ([(600, 6000)], [600], [6000 - 5400]),  # points far apart: read between them
    ],
)
def test_the_pace_is_the_budget_spent_in_the_minute_before(points, at, spent):
    """What the account's budget counts: a run of seconds never shows more than it spent."""
    samples = PaceSamples(every=0.1)
    for seconds, total in points:
        samples.add(seconds, total)
    shown = dict(samples.last_minute())
    assert [round(shown[t]) for t in at] == spent
