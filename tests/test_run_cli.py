"""``helpscout-import run`` through CliRunner: exact output lines and exit codes, against the real
sandbox served on loopback from a background thread (or in-process with ``--sandbox``)."""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from importer import import_csv
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.ledger import default_state_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "customers.csv"
EXAMPLE = ROOT / "mappings" / "example.yaml"
INVALID_ROWS = [12, 15, 18, 21, 23, 26, 28, 34, 37]


def sample_people() -> dict[int, tuple[str, list[str]]]:
    """Each sample row's last name and emails, as the sandbox should hold them."""
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        return {
            i: (" ".join(line["Last Name"].split()),
                [e for e in (line["Email"], line["Personal Email"]) if e])
            for i, line in enumerate(csv.DictReader(fh), 1)
        }  # fmt: skip


def assert_sample_imported(lines: list[dict[str, str]], box: Sandbox) -> None:
    """One line per input row in order; every valid row created once, with the sandbox's id."""
    assert [int(line["row"]) for line in lines] == list(range(1, 41))
    assert [int(x["row"]) for x in lines if x["status"] == "invalid"] == INVALID_ROWS
    created = {int(x["row"]): x["customer_id"] for x in lines if x["status"] == "created"}
    assert len(created) == 31 == len(box.state.customers)
    people = sample_people()
    for row, customer_id in created.items():
        customer = box.state.customers[int(customer_id)]
        emails = [e["value"] for e in customer["emails"]]
        assert (customer["lastName"] or "", emails) == people[row]


# --- the sample file -----------------------------------------------------------------------
def test_the_readme_command_imports_the_sample_into_the_built_in_sandbox(
    read_rows: Callable[[Path], list[dict[str, str]]], invoke: Callable[..., Result], tmp_path: Path
) -> None:
    results = tmp_path / "results.csv"
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "--sandbox", "-o", results)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "40 rows: 31 created, 9 invalid, 0 failed.",
        f"Results written to {results}",
    ]
    stderr = result.stderr.splitlines()
    # row 31 has neither a name nor an email: it is sent, and said once
    assert stderr[0].startswith("Warning: no_identity on 1 row (row 31): no name and no email")
    assert stderr[1] == "Imported into the built-in sandbox: nothing was sent to Help Scout."
    assert stderr[2].startswith("32 requests in ")  # 31 creates and the property definitions
    assert stderr[2].endswith(" (0 answered 429)")  # no budget, a run of seconds: no rate
    lines = read_rows(results)
    assert [int(x["row"]) for x in lines] == list(range(1, 41))
    assert len({x["customer_id"] for x in lines if x["status"] == "created"}) == 31


def test_the_built_in_sandbox_keeps_no_state_between_runs(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    """Each --sandbox run starts an empty account: a ledger kept beside the results would call
    every row "unchanged" the second time. So its ledger is thrown away with it."""
    results = tmp_path / "results.csv"
    runs = [invoke("run", SAMPLE, "-m", EXAMPLE, "--sandbox", "-o", results) for _ in range(2)]
    assert [r.stdout.splitlines()[0] for r in runs] == [
        "40 rows: 31 created, 9 invalid, 0 failed."
    ] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_every_valid_row_is_created_once_with_the_sandboxs_id(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.csv"
    box = serve_sandbox(SandboxConfig(latency_ms=10, jitter_ms=10, seed=2))
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, env=sandbox_env(box))
    assert_sample_imported(read_rows(results), box)
    assert box.state.tokens_issued == 1
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "40 rows: 31 created, 9 invalid, 0 failed."
    invalid = read_rows(results)[11]
    assert (invalid["status"], invalid["attempts"], invalid["http_status"]) == ("invalid", "0", "")
    assert invalid["error"].startswith("Email: not a valid email address: ")  # Column: message


def test_500_and_503_are_retried_to_success(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.csv"
    box = serve_sandbox(SandboxConfig(fail_rate=0.25, seed=11))
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, "--max-attempts", "10",
                    env=sandbox_env(box))  # fmt: skip
    lines = read_rows(results)
    assert_sample_imported(lines, box)
    faults = sum(n for (_, _, status), n in box.state.stats.items() if status in (500, 503))
    assert result.exit_code == 1
    assert faults > 3
    assert sum(int(x["attempts"]) for x in lines) == 31 + faults


def test_429s_are_honoured_for_everyone(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    """An undocumented limit of 20 writes a second: 429s come, every row is created."""
    results = tmp_path / "results.csv"
    config = SandboxConfig(burst=(20, 1.0))
    box = serve_sandbox(config)
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, "--rate", "100000",
                    env=sandbox_env(box))  # fmt: skip
    assert_sample_imported(read_rows(results), box)
    limited = box.state.stats["POST", "/v2/customers", 429]
    assert result.exit_code == 1
    assert limited > 0
    assert result.stderr.splitlines()[-1].endswith(f"({limited} answered 429)")


def test_the_closing_line_says_how_much_of_the_budget_the_run_took(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    """A budget of 6,000 a minute, a third of it spent by the sandbox's simulated agent."""
    results = tmp_path / "results.csv"
    config = SandboxConfig(rate_limit=6000, background_load=0.3, rate_window="sliding")
    box = serve_sandbox(config)
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, env=sandbox_env(box))
    assert_sample_imported(read_rows(results), box)
    agent = box.state.stats_summary()["background"]
    assert result.exit_code == 1
    assert agent["requests"] > 0 and agent["rate_limited"] == 0
    assert re.fullmatch(
        r"34 requests in \d+ s \(spent \d+ of one minute's budget of 6,000, 1%"
        r"(; others used up to \d+%)?; 0 answered 429\)",
        result.stderr.splitlines()[-1],
    )


@pytest.mark.parametrize("headroom", ["1", "-0.1", "lots"])
def test_an_unusable_headroom_is_refused(
    invoke: Callable[..., Result], headroom: str, tmp_path: Path
) -> None:
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "--sandbox", "-o", tmp_path / "r.csv",
                    "--headroom", headroom)  # fmt: skip
    assert result.exit_code == 2
    assert "Invalid value for '--headroom'" in result.stderr


def test_a_token_that_expires_mid_run_is_fetched_once_per_expiry(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.csv"
    box = serve_sandbox(SandboxConfig(token_revoke_every=7, latency_ms=5))
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, env=sandbox_env(box))
    assert_sample_imported(read_rows(results), box)
    revocations = box.state.authorized_seen // 7
    assert result.exit_code == 1
    assert revocations >= 4
    assert box.state.tokens_issued == 1 + revocations


def test_an_access_token_from_the_environment(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.csv"
    box = serve_sandbox()
    token = box.state.issue_token()
    env = {"HELPSCOUT_API_URL": box.url, "HELPSCOUT_ACCESS_TOKEN": token}
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, env=env)
    assert_sample_imported(read_rows(results), box)
    assert result.exit_code == 1
    assert box.state.tokens_issued == 1


# --- stopping ------------------------------------------------------------------------------
def test_403_stops_with_exit_3(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.csv"
    box = serve_sandbox(SandboxConfig(deny_api=True))
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, env=sandbox_env(box))
    assert result.exit_code == 3
    stderr = result.stderr.splitlines()
    assert re.fullmatch(
        r"Error: HTTP 403 Access denied: Help Scout denies this account access to the API; check "
        r"that the app's user may manage customers and that the plan includes the API "
        r"\(logRef \S+#\d+\)",
        stderr[-4],
    )
    assert stderr[-3:] == [
        f"Stopped early: what finished is in {results} and "
        f"{default_state_path(results, EXAMPLE, box.url)}.",
        "To resume, run the same command:",
        f"  helpscout-import run {SAMPLE} --mapping {EXAMPLE} --output {results}",
    ]
    lines = read_rows(results)
    assert [int(x["row"]) for x in lines] == list(range(1, 41))  # every row has its line
    assert [int(x["row"]) for x in lines if x["status"] == "invalid"] == INVALID_ROWS
    sent = {x["status"] for x in lines if int(x["row"]) not in INVALID_ROWS}
    assert sent == {"failed", "not_sent"}  # refused, or never sent: the run stopped first
    assert box.state.customers == {}


def test_wrong_credentials_stop_with_exit_3(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.csv"
    box = serve_sandbox()
    env = sandbox_env(box, HELPSCOUT_APP_SECRET="wrong-s3cret")
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, env=env)
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-4] == (
        "Error: HTTP 401 Bad client credentials: check HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET "
        "(Help Scout: Your Profile > My Apps)"
    )
    assert "wrong-s3cret" not in result.output


# --- nothing attempted: exit 2 -------------------------------------------------------------
@pytest.mark.parametrize(
    "args, env, message",
    [
        (["--api-url", "http://example.com"], {"HELPSCOUT_ACCESS_TOKEN": "t"},
         "Error: refusing plain http to example.com: the token would cross the network "
         "unencrypted; use https:// (plain http is only allowed to 127.0.0.1, ::1 or localhost)"),
        ([], {"HELPSCOUT_API_URL": "http://10.1.2.3:8080", "HELPSCOUT_ACCESS_TOKEN": "t"},
         "Error: refusing plain http to 10.1.2.3: the token would cross the network "
         "unencrypted; use https:// (plain http is only allowed to 127.0.0.1, ::1 or localhost)"),
        ([], {}, "Error: no credentials: set HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET (Help "
         "Scout: Your Profile > My Apps), or HELPSCOUT_ACCESS_TOKEN, in the environment or in a "
         "file that HELPSCOUT_CREDENTIALS_FILE names"),
        ([], {"HELPSCOUT_APP_ID": "id"},
         "Error: HELPSCOUT_APP_SECRET is not set: the app id and secret go together"),
    ],
)  # fmt: skip
def test_unusable_settings_exit_2_and_write_nothing(
    invoke: Callable[..., Result],
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    results = tmp_path / "results.csv"
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, *args, env=env)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message + "\n")
    assert not results.exists()


def test_the_results_file_is_required(invoke: Callable[..., Result], tmp_path: Path) -> None:
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "--sandbox")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Missing option '-o' / '--output': the results file to write."
    )


def test_a_bad_mapping_exits_2(invoke: Callable[..., Result], tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("customer:\n  firstName: Nope\n", encoding="utf-8")
    result = invoke("run", SAMPLE, "-m", mapping, "--sandbox", "-o", tmp_path / "r.csv")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {mapping}, line 2: column 'Nope' is not in the CSV")


# --- dry run -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, estimate",
    [
        (["--rate", "400"], "At a budget of 400 a minute (--rate): about 10 s."),
        ([], "At 90% of the account's budget: about 22 s on Standard (200/min), 11 s on Plus "
         "(400/min), 6 s on Pro (800/min)."),
        (["--budget-share", "0.5"], "At 50% of the account's budget: about 38 s on Standard "
         "(200/min), 19 s on Plus (400/min), 10 s on Pro (800/min)."),
        (["--headroom", "0.2"], "At 80% of the account's budget: about 24 s on Standard "
         "(200/min), 12 s on Plus (400/min), 6 s on Pro (800/min)."),
    ],
)  # fmt: skip
def test_dry_run_prints_the_plan_and_sends_nothing(
    invoke: Callable[..., Result], args: list[str], estimate: str
) -> None:
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "--dry-run", *args)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "40 rows read: 31 valid, 9 invalid, 1 warning.",
        "Plan: create 31 customers with 31 requests (62 of the per-minute budget: a create "
        "costs 2).",
        estimate,
        "Nothing was sent (--dry-run).",
    ]


def test_a_dry_run_says_its_output_is_not_written(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    plan = tmp_path / "plan.csv"
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "--dry-run", "--rate", "400", "-o", plan)
    assert result.exit_code == 1 and not plan.exists()
    assert result.stderr.splitlines()[0] == (
        f"Warning: {plan} is not written: only --dry-run --check-existing writes a plan, row by row"
    )


# --- the results file, fed back ------------------------------------------------------------
def test_include_source_gives_a_file_to_fix_and_import_again(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    results = tmp_path / "results.csv"
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "--sandbox", "-o", results, "--include-source")
    assert result.exit_code == 1
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        source = list(csv.reader(fh))
    with results.open(newline="", encoding="utf-8") as fh:
        written = list(csv.reader(fh))
    assert written[0][8:] == source[0]
    assert written[12][:2] == ["12", "invalid"]
    assert written[12][8 + source[0].index("Email")] == source[12][source[0].index("Email")]
    # the same mapping reads it (cells that began with = + - @ carry safecsv's apostrophe)
    again = invoke("validate", results, "-m", EXAMPLE)
    assert again.stdout.splitlines()[-1].startswith("40 rows read: ")


# --- secrets -------------------------------------------------------------------------------
def test_no_secret_or_token_in_any_output_log_or_file(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A run with token refreshes, 400s, retries and a stop: grep everything it left. (The
    sandbox's search does not lag: a short ``--settle-time`` looks the creates in doubt up
    without the default minute's wait.)"""
    caplog.set_level(logging.DEBUG)
    secret = "Zq9-very-secret-app-secret"
    config = SandboxConfig(app_secret=secret, token_revoke_every=5, fail_rate=0.2, seed=5)
    tokens: list[str] = []
    outputs = []
    box = serve_sandbox(config)
    issue = box.state.issue_token

    def recording() -> str:
        tokens.append(issue())
        return tokens[-1]

    box.state.issue_token = recording  # type: ignore[method-assign]
    for n, extra in enumerate([[], ["--include-source", "--dry-run"], ["--include-source"]]):
        out = tmp_path / f"results{n}.csv"
        result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", out, "--settle-time", "0.5", *extra,
                        env=sandbox_env(box))  # fmt: skip
        outputs += [result.output, repr(result.exception)]
    box = serve_sandbox(SandboxConfig(deny_api=True))
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", tmp_path / "r.csv", env=sandbox_env(box))
    outputs += [result.output]
    assert len(tokens) >= 3
    assert {p.suffix for p in tmp_path.iterdir()} == {".csv", ".sqlite", ".lock"}
    files = b"\n".join(p.read_bytes() for p in tmp_path.iterdir())  # the ledgers too
    everything = "\n".join([*outputs, caplog.text])
    for needle in [secret, *tokens]:
        assert needle not in everything
        assert needle.encode() not in files


# --- the library form ----------------------------------------------------------------------
def test_import_csv_returns_the_counts(tmp_path: Path) -> None:
    result = import_csv(SAMPLE, EXAMPLE, tmp_path / "r.csv", sandbox=SandboxConfig())
    assert (result.rows, result.created, result.invalid, result.failed) == (40, 31, 9, 0)
    assert (result.requests, result.stopped, result.exit_code, result.ok) == (32, None, 1, False)
    assert result.budget is None  # the sandbox set no limit


def test_properties_the_account_lacks_stop_the_run_before_any_create(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.csv"
    config = SandboxConfig(properties=[{"type": "text", "slug": "plan", "name": "Plan"}])
    box = serve_sandbox(config)
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, env=sandbox_env(box))
    assert box.state.customers == {}
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: {EXAMPLE}: properties: seats, signup-date are not customer properties of this "
        "Help Scout account (it has: plan): create them in Help Scout (Manage > Company > "
        "Customer Properties) or take them out of the mapping"
    )


def test_an_account_that_lists_no_properties_is_not_refused(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    """Nothing to compare with: the rows go out and Help Scout's answers say what is wrong."""
    results = tmp_path / "results.csv"
    box = serve_sandbox(SandboxConfig(properties=[]))
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", results, env=sandbox_env(box))
    assert result.exit_code == 1
    assert "the account lists no customer properties: sending anyway" in result.stderr
    sent = [x for x in read_rows(results) if x["status"] != "invalid"]
    assert {x["status"] for x in sent} == {"failed"} and {x["http_status"] for x in sent} == {"400"}
    assert all("customer property does not exist" in x["error"] for x in sent)
