"""``run`` as cron runs it, and as a person at a terminal does: the summary JSON, the request log,
``--quiet``, the one question before a real account (through a pseudo-terminal), and ``history``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import pty
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from importer import ImportOptions, import_csv
from importer.jobs.front import open_input
from importer.jobs.importing import count_plan
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.ledger import MIGRATIONS, Ledger, default_state_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "customers.csv"
EXAMPLE = ROOT / "mappings" / "example.yaml"


# --- cron: stdin and stdout are not terminals ---------------------------------------------------
def test_a_cron_run_writes_a_summary_that_matches_its_results_and_logs_every_request(
    read_rows: Callable[[Path], list[dict[str, str]]],
    process_env: Callable[..., dict[str, str]],
    sandbox_env: Callable[..., dict[str, str | None]],
    tmp_path: Path,
    serve_sandbox: Callable[..., Sandbox],
) -> None:
    """500s on a fifth of the requests, so re-sends, failed rows and their statuses are in
    both files; the log is compared with what the sandbox counted, request by request."""
    box = serve_sandbox(SandboxConfig(fail_rate=0.2, seed=11))
    results, summary, log = tmp_path / "r.csv", tmp_path / "s.json", tmp_path / "requests.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "importer", "run", str(SAMPLE), "-m", str(EXAMPLE), "-o",
         str(results), "--summary-json", str(summary), "--log-file", str(log),
         "--max-attempts", "2"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env=process_env(**sandbox_env(box)),
    )  # fmt: skip
    assert "\r" not in done.stderr and "rows/s" not in done.stderr  # no bar
    assert "?" not in done.stderr  # no question
    rows = read_rows(results)
    document = json.loads(summary.read_text(encoding="utf-8"))
    statuses = Counter(row["status"] for row in rows)
    assert statuses["failed"] > 0 and statuses["created"] > 0  # the faults did their part
    assert document["exit_code"] == done.returncode == 1
    assert document["version"] == 1 and document["outcome"] == "finished"
    assert document["rows"] == len(rows) == 40
    every = ("created", "updated", "skipped", "invalid", "failed", "not_sent", "unknown")
    assert document["statuses"] == {status: statuses[status] for status in every}
    failed = Counter(f"http {row['http_status']}" for row in rows if row["status"] == "failed")
    assert document["reasons"] == {"failed": dict(failed)}
    state = default_state_path(results, EXAMPLE, box.url)  # the mapping's, the sandbox's
    assert document["files"] == {"results": str(results), "state": str(state), "report": None,
                                 "rejects": None, "log": str(log),
                                 "summary": str(summary)}  # fmt: skip
    assert document["api"] == box.url and document["error"] is None
    assert 0 < document["durations"]["sending"] <= document["durations"]["total"]
    # the log: one line per request, as the sandbox counted them
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert all(list(line)[:8] == ["time", "run", "method", "path", "status", "attempt",
                                  "latency", "logRef"] for line in lines)  # fmt: skip
    counted = box.state.stats_summary()["requests"]
    assert sum(sum(by_status.values()) for by_status in counted.values()) == len(lines)
    logged = Counter((f"{x['method']} {x['path']}", str(x["status"])) for x in lines)
    assert logged == Counter({(route, status): n for route, by_status in counted.items()
                              for status, n in by_status.items()})  # fmt: skip
    api = [x for x in lines if x["path"] != "/v2/oauth2/token"]
    creates = [x for x in api if x["method"] == "POST" and x["path"] == "/v2/customers"]
    # before the run: who the account is, and whether it holds customers (a new state)
    me = [x for x in api if x["method"] == "GET" and x["path"] in ("/v2/users/me", "/v2/customers")]
    assert document["requests"]["sent"] == len(api) == len(creates) + len(me) + 1  # + properties
    assert len(creates) == sum(int(row["attempts"]) for row in rows)
    # the token and the users/me read come before the run begins (its destination checked)
    before = [x for x in lines if x["run"] is None]
    assert before == lines[: len(before)] and me and all(x in before for x in me)
    assert {x["path"] for x in before} == {"/v2/oauth2/token", "/v2/users/me", "/v2/customers"}
    assert {x["run"] for x in lines[len(before) :]} == {1}
    assert max(x["attempt"] for x in lines) == 2
    assert any(x["status"] == 500 and x["logRef"] for x in lines)
    # no secret, no token, no customer's data in either file
    text = log.read_text(encoding="utf-8") + summary.read_text(encoding="utf-8")
    for secret in [box.app_secret, *box.state.tokens, "ana.almeida0@example.com", "Bearer"]:
        assert secret not in text


@pytest.mark.parametrize(
    ("limit", "options", "pace"),
    [
        (None, ImportOptions(), {"ceiling_per_minute": None, "limit_per_minute": None}),
        (6000, ImportOptions(), {"ceiling_per_minute": 5400.0, "limit_per_minute": 6000}),
        (6000, ImportOptions(budget_share=0.5), {"ceiling_per_minute": 3000.0,
                                                 "limit_per_minute": 6000}),
        (6000, ImportOptions(rate=1200), {"ceiling_per_minute": 1200.0, "limit_per_minute": 6000}),
    ],
)  # fmt: skip
def test_the_summary_says_what_budget_the_run_saw_and_allowed_itself(
    tmp_path: Path, limit: int | None, options: ImportOptions, pace: dict[str, Any]
) -> None:
    summary = tmp_path / "s.json"
    options = dataclasses.replace(options, summary_json=summary)
    import_csv(
        SAMPLE, EXAMPLE, tmp_path / "r.csv", options, sandbox=SandboxConfig(rate_limit=limit)
    )
    document = json.loads(summary.read_text(encoding="utf-8"))["pace"]
    assert {key: document[key] for key in pace} == pace
    assert document["others_peak_share"] == 0.0  # alone on the sandbox's account
    assert document["average_per_minute"] > 0
    assert document["budget_spent"] == 2 * 31 + 1  # 31 creates and the properties read


def test_the_summary_is_written_when_the_run_is_refused(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    summary = tmp_path / "s.json"
    done = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", tmp_path / "r.csv", "--summary-json",
                  summary, "--api-url", "https://api.helpscout.net")  # fmt: skip
    document = json.loads(summary.read_text(encoding="utf-8"))
    assert done.exit_code == document["exit_code"] == 2
    assert (document["outcome"], document["rows"], document["statuses"]["created"]) == (
        "refused", 0, 0)  # fmt: skip
    assert document["error"] in done.stderr and "HELPSCOUT_APP_ID" in document["error"]


def test_the_log_is_appended_to_and_each_line_names_its_run(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    log = tmp_path / "requests.jsonl"
    args = ["run", SAMPLE, "-m", EXAMPLE, "--sandbox", "--state", tmp_path / "s.sqlite",
            "--log-file", log, "-q"]  # fmt: skip
    first = invoke(*args, "-o", tmp_path / "r1.csv")
    second = invoke(*args, "-o", tmp_path / "r2.csv")
    assert (first.exit_code, second.exit_code) == (1, 1)
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    # the first run: a token, the properties, 31 creates; the second (a fresh sandbox each
    # time, the state says all 31 are there already): a token and the properties only
    assert Counter(line["run"] for line in lines) == {1: 33, 2: 2}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dry-run", "--summary-json", "s.json"], "--summary-json and --log-file describe"),
        (["--log-file", "missing/dir/l.jsonl", "-o", "r.csv"], "Error: cannot write --log-file"),
        (["--summary-json", "missing/s.json", "-o", "r.csv"], "Error: cannot write --summary-json"),
        (["--summary-json", "r.csv", "-o", "r.csv"], "Error: --summary-json r.csv is the same"),
        (["--log-file", str(EXAMPLE), "-o", "r.csv"], "Error: --log-file"),
    ],
)
def test_unusable_summary_and_log_paths_stop_before_anything_is_sent(
    invoke: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    done = invoke("run", SAMPLE, "-m", EXAMPLE, "--sandbox", *args)
    assert done.exit_code == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "r.csv").exists()


# --- --quiet ------------------------------------------------------------------------------------
def test_quiet_prints_only_the_error_line(invoke: Callable[..., Result], tmp_path: Path) -> None:
    """Warnings, notes and the closing lines go; what failed stays, and so does the guess that
    this file is cp1252 (it changes every cell)."""
    data = tmp_path / "in.csv"
    data.write_bytes(SAMPLE.read_text(encoding="utf-8").encode("cp1252", errors="replace"))
    done = invoke("run", data, "-m", EXAMPLE, "--sandbox", "-o", tmp_path / "r.csv", "--quiet")
    assert done.stdout == ""
    assert done.stderr == (
        "Warning: file is not UTF-8 (byte 0xE9 on line 4); read it as cp1252: pass --encoding "
        f"to choose another\nError: 9 rows not imported (9 invalid, 0 failed): see "
        f"{tmp_path / 'r.csv'}\n"
    )
    assert done.exit_code == 1
    loud = invoke("run", data, "-m", EXAMPLE, "--sandbox", "-o", tmp_path / "r2.csv")
    assert "Warning: file is not UTF-8" in loud.stderr and "Results written to" in loud.stdout


def test_quiet_says_nothing_when_every_row_ends_well(
    read_rows: Callable[[Path], list[dict[str, str]]], invoke: Callable[..., Result], tmp_path: Path
) -> None:
    with (
        SAMPLE.open(newline="", encoding="utf-8") as fh,
        (tmp_path / "in.csv").open("w", newline="", encoding="utf-8") as out,
    ):
        csv.writer(out).writerows(list(csv.reader(fh))[:9])  # the header and 8 valid rows
    done = invoke("run", tmp_path / "in.csv", "-m", EXAMPLE, "--sandbox", "-o",
                  tmp_path / "r.csv", "-q")  # fmt: skip
    assert (done.exit_code, done.stdout, done.stderr) == (0, "", "")
    assert Counter(row["status"] for row in read_rows(tmp_path / "r.csv")) == {"created": 8}


def test_quiet_keeps_the_reason_a_run_stopped(
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    tmp_path: Path,
    serve_sandbox: Callable[..., Sandbox],
) -> None:
    box = serve_sandbox()
    env = sandbox_env(box, HELPSCOUT_APP_SECRET="not-the-secret-at-all")
    done = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", tmp_path / "r.csv", "-q", env=env)
    assert done.exit_code == 3 and done.stdout == ""
    assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1
    assert "HELPSCOUT_APP_SECRET" in done.stderr


# --- the question before a real account ------------------------------------------------------
@pytest.fixture
def at_a_terminal(
    tmp_path: Path, process_env: Callable[..., dict[str, str]]
) -> Callable[[list[str], bytes], tuple[int, str]]:
    """``helpscout-import run ...`` in tmp_path with stdin a pseudo-terminal fed ``answer``:
    (exit code, stderr). Credentials are missing: a run that goes past the question stops at
    once, on this machine (nothing can reach Help Scout)."""

    def run(args: list[str], answer: bytes) -> tuple[int, str]:
        leader, follower = pty.openpty()
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "importer", "run", *args], stdin=follower,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=process_env(),
            )  # fmt: skip
            os.write(leader, answer)
            _, err = child.communicate(timeout=60)
        finally:
            os.close(leader)
            os.close(follower)
        return child.returncode, err.decode()

    return run


QUESTION = (
    "Send to the Help Scout account at api.helpscout.net: create 31 customers and update 0 "
    "(of 40 rows)? [y/N]"
)


@pytest.mark.parametrize(
    ("answer", "code", "then"),
    [
        (b"n\n", 2, "Error: nothing was sent: the import was not confirmed"),
        (b"\n", 2, "Error: nothing was sent: the import was not confirmed"),
        (b"y\n", 2, "Error: no credentials: set HELPSCOUT_APP_ID"),
    ],
    ids=["no", "enter-means-no", "yes"],
)
def test_a_person_at_a_terminal_is_asked_once(
    at_a_terminal: Callable[[list[str], bytes], tuple[int, str]],
    tmp_path: Path,
    answer: bytes,
    code: int,
    then: str,
) -> None:
    args = [str(SAMPLE), "-m", str(EXAMPLE), "-o", "r.csv", "--api-url",
            "https://api.helpscout.net"]  # fmt: skip
    returned, err = at_a_terminal(args, answer)
    assert err.count(QUESTION) == 1, err
    assert returned == code and then in err.split(QUESTION, 1)[1], err
    assert not (tmp_path / "r.csv").exists()


def test_the_question_counts_against_the_state(
    at_a_terminal: Callable[[list[str], bytes], tuple[int, str]],
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    """Rows a run settled are not counted; with --on-existing update, changed ones are."""
    state = tmp_path / "s.sqlite"
    first = invoke("run", SAMPLE, "-m", EXAMPLE, "--sandbox", "--state", state, "-o",
                   tmp_path / "r.csv")  # fmt: skip
    assert first.exit_code == 1
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace("Acme Corp", "Acme Group")  # the first customer changed
    changed = tmp_path / "customers.csv"
    changed.write_text("".join(lines) + "Zoë,New,zoe.new@example.com" + "," * 17 + "\n",
                       encoding="utf-8")  # fmt: skip
    args = [str(changed), "-m", str(EXAMPLE), "-o", "r2.csv", "--state", str(state),
            "--api-url", "https://api.helpscout.net", "--on-existing", "update"]  # fmt: skip
    _, err = at_a_terminal(args, b"n\n")
    assert "create 1 customer and update 1 (of 41 rows)?" in err, err


@pytest.mark.parametrize(
    ("given", "counted"),
    [
        ({}, (1, 0)),  # the new row; the changed one is skipped (changed)
        ({"on_existing": "update"}, (1, 1)),
        ({"retry_failed": True}, (0, 0)),  # nothing failed; the new row is not retried
        ({"duplicates": "first"}, (1, 0)),  # valid twice now, counted once
    ],
)
def test_count_plan_counts_what_the_run_would_send(
    tmp_path: Path, given: dict[str, Any], counted: tuple[int, int]
) -> None:
    state = tmp_path / "s.sqlite"
    options = ImportOptions(state=state)
    result = import_csv(SAMPLE, EXAMPLE, tmp_path / "r.csv", options, sandbox=SandboxConfig())
    assert (result.created, result.invalid) == (31, 9)
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[1][6] = "Acme Group"  # the first customer changed
    new = ["Zoë", "New", "zoe.new@example.com", *[""] * 17]
    rows += [new, new]  # a new customer, twice
    changed = tmp_path / "changed.csv"
    with changed.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    chosen = ImportOptions(state=state, **given)
    source, mapping = open_input(changed, EXAMPLE, chosen)
    planned = count_plan(source, mapping, state, chosen)
    assert ((planned.create, planned.update), planned.rows) == (counted, 42)


def test_count_plan_counts_a_resumed_runs_failed_row_as_the_resume_reports_it(
    tmp_path: Path,
) -> None:
    """A run stopped after a row failed: resuming it reports that row as it ended (nothing
    sent), so the question counts it as no create."""
    state = tmp_path / "s.sqlite"
    with Ledger.open(state, source=str(SAMPLE)) as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("ana.almeida0@example.com", 1, "h1")])
        ledger.settle("ana.almeida0@example.com", status="failed", attempts=5, http_status=503)
        ledger.finish_run("stopped")
    options = ImportOptions(state=state)
    source, mapping = open_input(SAMPLE, EXAMPLE, options)
    planned = count_plan(source, mapping, state, options)
    result = import_csv(SAMPLE, EXAMPLE, tmp_path / "r.csv", options, sandbox=SandboxConfig())
    assert result.resumed and (result.created, result.failed) == (30, 1)
    assert (planned.create, planned.update, planned.rows) == (30, 0, 40)


@pytest.mark.parametrize(
    "extra",
    [["--yes"], ["--sandbox"], ["--api-url", "http://127.0.0.1:9"]],
    ids=["yes", "sandbox", "loopback"],
)
def test_no_question_with_yes_the_sandbox_or_this_machine(
    at_a_terminal: Callable[[list[str], bytes], tuple[int, str]], tmp_path: Path, extra: list[str]
) -> None:
    args = [str(SAMPLE), "-m", str(EXAMPLE), "-o", "r.csv", *extra]
    if "--yes" in extra:
        args += ["--api-url", "https://api.helpscout.net"]
    _, err = at_a_terminal(args, b"")
    assert "[y/N]" not in err and "Send to the Help Scout account" not in err, err


def test_no_question_when_stdin_is_not_a_terminal(
    process_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "importer", "run", str(SAMPLE), "-m", str(EXAMPLE), "-o", "r.csv",
         "--api-url", "https://api.helpscout.net"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=tmp_path, env=process_env(),
        timeout=60,
    )  # fmt: skip
    assert "[y/N]" not in done.stderr and done.stderr.startswith(
        "Error: no credentials: set HELPSCOUT_APP_ID"
    )
    assert done.returncode == 2


# --- history ------------------------------------------------------------------------------------
def recorded_times(state: Path) -> list[tuple[str, str]]:
    """(started, ended) of each run, newest first, as history prints them (UTC)."""
    with sqlite3.connect(state) as db:
        found = db.execute("SELECT started_at, finished_at FROM runs ORDER BY id DESC").fetchall()

    def shown(stamp: str) -> str:
        return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")

    return [(shown(started), shown(ended)) for started, ended in found]


def test_history_lists_the_runs_newest_first(
    invoke: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_bytes(SAMPLE.read_bytes())
    (tmp_path / "m.yaml").write_bytes(EXAMPLE.read_bytes())
    for name in ("r1.csv", "r2.csv"):
        assert invoke("run", "in.csv", "-m", "m.yaml", "--sandbox", "--state", "in.state.sqlite",
                      "-o", name, "-q").exit_code == 1  # fmt: skip
    (second_start, second_end), (first_start, first_end) = recorded_times(
        tmp_path / "in.state.sqlite"
    )
    done = invoke("history")
    assert (done.exit_code, done.stderr) == (0, "")
    assert done.stdout == (
        "run  started (UTC)        ended                status    exit  created  updated  "
        "skipped  invalid  failed  file    mapping  sent to\n"
        f"  2  {second_start}  {second_end}  finished     1        0        0       31        9"
        "       0  in.csv  m.yaml   built-in sandbox\n"
        f"  1  {first_start}  {first_end}  finished     1       31        0        0        9"
        "       0  in.csv  m.yaml   built-in sandbox\n"
    )
    as_json = json.loads(invoke("history", "--state", "in.state.sqlite", "--json").stdout)
    assert [(run["run"], run["counts"]["created"], run["exit_code"], run["resumed"])
            for run in as_json] == [(2, 0, 1, False), (1, 31, 1, False)]  # fmt: skip
    assert as_json[0]["results"] == str(tmp_path / "r2.csv")
    assert as_json[0]["started"].startswith(second_start.replace(" ", "T"))


def test_history_reads_a_state_from_before_it_recorded_counts(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    """A schema-2 state (an older version's): read as it is; what it lacks shows as -."""
    state = tmp_path / "old.state.sqlite"
    with sqlite3.connect(state) as db:
        for step in MIGRATIONS[:2]:
            for statement in step:
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('application', 'helpscout-importer'), "
                   "('schema_version', '2'), ('source', 'old.csv')")  # fmt: skip
        db.execute("INSERT INTO runs (started_at, finished_at, pid, status, source, "
                   "source_fingerprint) VALUES ('2024-03-01T09:00:00.000+00:00', NULL, 1, "
                   "'stopped', 'old.csv', 'size=1')")  # fmt: skip
    db.close()
    done = invoke("history", "--state", state)
    assert done.stdout == (
        "run  started (UTC)        ended  status   exit  created  updated  skipped  invalid  "
        "failed  file     mapping  sent to\n"
        "  1  2024-03-01 09:00:00  -      stopped     -        -        -        -        -"
        "       -  old.csv  -        -\n"
    )
    with sqlite3.connect(state) as db:  # history reads: the file is as it was
        version = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
    db.close()
    assert version == ("2",)
    with Ledger.open(state, source="") as ledger:  # a run upgrades it
        assert ledger.schema_version == len(MIGRATIONS)


def test_history_of_an_unused_state_and_without_a_state(
    invoke: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("history").stderr == (
        "Error: no *.state.sqlite file in this folder: give one with --state FILE\n"
    )
    Ledger.open(tmp_path / "a.state.sqlite", source="a.csv").close()
    done = invoke("history")
    assert (done.exit_code, done.stdout) == (0, "No import has used a.state.sqlite yet.\n")
    Ledger.open(tmp_path / "b.state.sqlite", source="b.csv").close()
    done = invoke("history")  # several: each listed, with where it sends
    assert (done.exit_code, done.stderr) == (0, "")
    assert done.stdout == (
        "a.state.sqlite (no destination recorded yet):\nNo import has used a.state.sqlite yet.\n"
        "\nb.state.sqlite (no destination recorded yet):\nNo import has used b.state.sqlite yet.\n"
    )
    assert invoke("history", "--state", "a.state.sqlite", "--json").stdout == "[]\n"
    assert invoke("history", "--state", "nope.sqlite").exit_code == 2
    assert not (tmp_path / "nope.sqlite").exists()
