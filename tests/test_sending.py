"""Issue 17, sending: runs that never create twice, never stall, never lie.

Each scenario is run as a user meets it (the CLI against the sandbox, with scripted faults in
front of it: the ``faults`` fixture), and checked by its exit code, its message and what the
account holds afterwards: emails that differ only in case, a look-up after a dropped create that
must not adopt an agent's customer, rows without an email whose creates got no answer, an undo
after an integration or an agent changed the customers, a full disk, absurd options, long
``Retry-After``\\s, a failing token endpoint, and the nightly run's exit codes.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from importer import ImportOptions, import_csv
from importer.core.errors import ConfigError, RunStopped
from importer.core.options import MAX_CONCURRENCY, allowed_invalid
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.auth import Credentials
from importer.send.pacing import MAX_PAUSE, Pacer, Ticket, pause_for, pause_notice

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "customers.csv"
EXAMPLE = ROOT / "mappings" / "example.yaml"
HEADER = ["First Name", "Last Name", "Email", "Phone"]
MAPPING = """\
customer:
  firstName: First Name
  lastName: Last Name
  emails:
    - {column: Email, type: work}
  phones:
    - {column: Phone, type: work}
"""
Rows = Callable[[Path], list[dict[str, str]]]
Env = Callable[..., dict[str, str | None]]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def mapping_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING + extra, encoding="utf-8")
    return path


def held(box: Sandbox) -> list[tuple[str, str]]:
    """(first name, first email) of every customer the sandbox holds, by id."""
    return [
        (c["firstName"], c["emails"][0]["value"] if c["emails"] else "")
        for _, c in sorted(box.state.customers.items())
    ]


def creates(box: Sandbox) -> int:
    """POST /v2/customers the sandbox answered (201)."""
    return box.state.stats["POST", "/v2/customers", 201]


# --- emails compare case-insensitively ---------------------------------------------------------
def test_emails_that_differ_only_in_case_are_one_customer_in_the_file_the_state_and_look_ups(
    invoke: Callable[..., Result], serve_sandbox: Callable[..., Sandbox],
    sandbox_api: Callable[..., Any], sandbox_env: Env, read_rows: Rows, tmp_path: Path,
) -> None:  # fmt: skip
    box = serve_sandbox()
    cy = sandbox_api(box, "POST", "/_sandbox/customers",
                     [{"firstName": "Cy", "emails": [{"type": "work", "value": "Cy@Example.ORG"}]}]
                     )["ids"][0]  # fmt: skip
    mapping, state = mapping_file(tmp_path), tmp_path / "s.sqlite"
    first = write_csv(tmp_path / "a.csv", [["Ana", "Ruiz", "ana@example.org", ""],
                                           ["Ana", "Ruiz", "ANA@EXAMPLE.org", ""],
                                           ["Cy", "Moe", "cy@example.org", ""]])  # fmt: skip
    result = invoke("run", first, "-m", mapping, "-o", tmp_path / "r.csv", "--state", state,
                    "--check-existing", env=sandbox_env(box))  # fmt: skip
    lines = read_rows(tmp_path / "r.csv")
    assert result.exit_code == 1  # the second Ana is a duplicate of the first
    assert [(x["status"], x["reason"]) for x in lines] == [
        ("created", ""), ("invalid", ""), ("skipped", "exists")]  # fmt: skip
    assert "the same email as row 1" in lines[1]["error"] and lines[2]["customer_id"] == str(cy)
    # the next night's export writes Ana's email in capitals: the state knows her
    again = write_csv(tmp_path / "b.csv", [["Ana", "Ruiz", "Ana@Example.ORG", ""]])
    result = invoke("run", again, "-m", mapping, "-o", tmp_path / "r2.csv", "--state", state,
                    "--on-existing", "update", env=sandbox_env(box))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [(x["status"], x["customer_id"]) for x in read_rows(tmp_path / "r2.csv")] == [
        ("skipped", lines[0]["customer_id"])]  # fmt: skip
    assert held(box) == [("Cy", "Cy@Example.ORG"), ("Ana", "ana@example.org")]


# --- a look-up never adopts a stranger ---------------------------------------------------------
def test_a_look_up_after_a_dropped_create_never_takes_an_agents_customer_for_the_rows(
    invoke: Callable[..., Result], serve_sandbox: Callable[..., Sandbox],
    sandbox_api: Callable[..., Any], sandbox_env: Env, read_rows: Rows, tmp_path: Path,
    faults: Callable[..., Any],
) -> None:  # fmt: skip
    """Bea's and Dan's creates are dropped before Help Scout sees them; an agent's customers
    have their emails (Bea's with other data, Dan's the same data, an hour old): both rows
    are ``exists``, and undo has nothing of theirs to delete. Eve's create is carried out and
    its answer lost: the look-up finds her, new and as sent: ``created``."""
    middleware, script = faults(
        {"method": "POST", "path": "/v2/customers", "action": "drop-before", "times": 2},
        {"method": "POST", "path": "/v2/customers", "action": "drop-after", "times": 1},
    )
    box = serve_sandbox(SandboxConfig(async_delete_after=0), middlewares=[middleware])
    agents = sandbox_api(box, "POST", "/_sandbox/customers", [
        {"firstName": "Beatrix", "emails": [{"type": "work", "value": "bea@example.org"}]},
        {"firstName": "Dan", "lastName": "Diaz",
         "emails": [{"type": "work", "value": "dan@example.org"}]},
    ])["ids"]  # fmt: skip
    box.state.customers[agents[1]]["created"] -= 3600
    box.state.customers[agents[1]]["updated"] -= 3600
    data = write_csv(tmp_path / "in.csv", [["Bea", "Bell", "bea@example.org", ""],
                                           ["Dan", "Diaz", "dan@example.org", ""],
                                           ["Eve", "Ito", "eve@example.org", ""]])  # fmt: skip
    state = tmp_path / "in.state.sqlite"
    result = invoke("run", data, "-m", mapping_file(tmp_path), "-o", tmp_path / "r.csv",
                    "--concurrency", 1, "--state", state, "--no-check-existing",
                    env=sandbox_env(box))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [f.met for f in script] == [2, 1]
    lines = read_rows(tmp_path / "r.csv")
    eve = max(box.state.customers)
    assert [(x["status"], x["reason"], x["customer_id"]) for x in lines] == [
        ("skipped", "exists", str(agents[0])), ("skipped", "exists", str(agents[1])),
        ("created", "", str(eve))]  # fmt: skip
    undone = invoke("undo", "--state", state, "--yes", env=sandbox_env(box))
    assert undone.exit_code == 0, undone.output
    assert "1 customer: 1 deleted, 0 kept, 0 failed." in undone.stdout.splitlines()
    for _ in range(100):  # the async delete lands in the sandbox's next loop turns
        if len(box.state.customers) == 2:
            break
        time.sleep(0.05)
    assert held(box) == [("Beatrix", "bea@example.org"), ("Dan", "dan@example.org")]


# --- rows that cannot be looked up --------------------------------------------------------------
def test_rows_without_an_email_whose_creates_got_no_answer_are_unknown_and_never_stop_the_run(
    invoke: Callable[..., Result], serve_sandbox: Callable[..., Sandbox], sandbox_env: Env,
    read_rows: Rows, tmp_path: Path, faults: Callable[..., Any],
) -> None:  # fmt: skip
    """25 rows with a phone and no email, each create dropped (more than the 20 unknown rows
    in a row that stop a run), then 3 with an email: the 25 are ``unknown``, the run goes on;
    later runs (also --retry-failed) send none of them; --retry-unknown sends each once."""
    middleware, script = faults(
        {"method": "POST", "path": "/v2/customers", "action": "drop-before", "times": 25}
    )
    box = serve_sandbox(middlewares=[middleware])
    rows = [["Pat", f"Phone{i}", "", f"+1 555 01{i:02}"] for i in range(25)]
    rows += [["Ann", f"Mail{i}", f"ann{i}@example.org", ""] for i in range(3)]
    data, mapping = write_csv(tmp_path / "in.csv", rows), mapping_file(tmp_path, "key: Phone\n")
    command = ["run", data, "-m", mapping, "-o", tmp_path / "r.csv", "--concurrency", 1]
    first = invoke(*command, env=sandbox_env(box))
    assert first.exit_code == 1, first.output
    assert first.stdout.splitlines()[0] == "28 rows: 3 created, 0 invalid, 0 failed, 25 unknown."
    lines = read_rows(tmp_path / "r.csv")
    assert [x["status"] for x in lines] == ["unknown"] * 25 + ["created"] * 3
    assert "check in Help Scout whether this customer exists" in lines[0]["error"]
    assert "--retry-unknown" in lines[0]["error"]
    assert script[0].met == 25 and creates(box) == 3
    planned = invoke("run", data, "-m", mapping, "--dry-run", "--check-existing", "-o",
                     tmp_path / "plan.csv", env=sandbox_env(box))  # fmt: skip
    assert "leave 25 whose create got no certain answer and that have no email" in planned.stdout
    assert {x["reason"] for x in read_rows(tmp_path / "plan.csv")[:25]} == {"unknown"}
    summary = tmp_path / "s.json"
    for again in ([], ["--retry-failed"]):
        result = invoke(*command, *again, "-q", "--summary-json", summary, env=sandbox_env(box))
        assert result.exit_code == 1, result.output
        assert result.stderr == (
            f"Error: 25 rows not imported (0 invalid, 0 failed, 25 unknown): see "
            f"{tmp_path / 'r.csv'}\n"
        )
        assert json.loads(summary.read_text(encoding="utf-8"))["statuses"]["unknown"] == 25
        assert [x["status"] for x in read_rows(tmp_path / "r.csv")][:25] == ["unknown"] * 25
        assert script[0].met == 25 and creates(box) == 3  # not one of them sent again
    retried = invoke(*command, "--retry-unknown", env=sandbox_env(box))
    assert retried.exit_code == 0, retried.output
    assert [x["status"] for x in read_rows(tmp_path / "r.csv")] == (
        ["created"] * 25 + ["skipped"] * 3)  # fmt: skip
    assert creates(box) == 28 and len(box.state.customers) == 28


def test_rows_without_an_email_a_stopped_run_never_sent_are_sent_by_the_same_command(
    invoke: Callable[..., Result], serve_sandbox: Callable[..., Sandbox], sandbox_env: Env,
    read_rows: Rows, tmp_path: Path, faults: Callable[..., Any],
) -> None:  # fmt: skip
    """A 403 stops the run at its first row, twice: the others were marked in flight but no
    request left for them. The same command sends them all, none ``unknown``, each once."""
    middleware, script = faults({"method": "POST", "path": "/v2/customers", "action": "answer",
                                 "status": 403, "body": {"message": "Access denied"},
                                 "times": 2})  # fmt: skip
    box = serve_sandbox(middlewares=[middleware])
    rows = [["Pat", f"Phone{i}", "", f"+1 555 01{i:02}"] for i in range(10)]
    data, mapping = write_csv(tmp_path / "in.csv", rows), mapping_file(tmp_path, "key: Phone\n")
    command = ["run", data, "-m", mapping, "-o", tmp_path / "r.csv", "--concurrency", 1]
    for _ in range(2):
        stopped = invoke(*command, env=sandbox_env(box))
        assert stopped.exit_code == 3
        lines = read_rows(tmp_path / "r.csv")
        assert [x["status"] for x in lines] == ["failed"] + ["not_sent"] * 9
    resumed = invoke(*command, env=sandbox_env(box))
    assert resumed.exit_code == 0, resumed.output
    assert [x["status"] for x in read_rows(tmp_path / "r.csv")] == ["created"] * 10
    assert script[0].met == 2 and creates(box) == 10 and len(box.state.customers) == 10


# --- undo sees every change ---------------------------------------------------------------------
def test_undo_keeps_customers_changed_within_the_slack_by_an_integration_or_an_agent(
    invoke: Callable[..., Result], serve_sandbox: Callable[..., Sandbox],
    sandbox_api: Callable[..., Any], sandbox_env: Env, read_rows: Rows, tmp_path: Path,
) -> None:  # fmt: skip
    """Five customers changed at once after the import, none in a value it sent: a property,
    an empty field filled, a phone, a second email, an address. All five are kept."""
    box = serve_sandbox(SandboxConfig(async_delete_after=0))
    data = write_csv(tmp_path / "in.csv",
                     [["Ann", f"Lee{i}", f"ann{i}@example.org", ""] for i in range(6)])  # fmt: skip
    state = tmp_path / "in.state.sqlite"
    done = invoke("run", data, "-m", mapping_file(tmp_path), "-o", tmp_path / "r.csv",
                  "--state", state, env=sandbox_env(box))  # fmt: skip
    assert done.exit_code == 0, done.output
    ids = [x["customer_id"] for x in read_rows(tmp_path / "r.csv")]
    changes: list[tuple[str, str, Any]] = [
        ("PATCH", "properties", [{"op": "replace", "path": "/plan", "value": "gold"}]),
        ("PATCH", "", [{"op": "replace", "path": "/jobTitle", "value": "Buyer"}]),
        ("POST", "phones", {"type": "work", "value": "+1 555 0100"}),
        ("POST", "emails", {"type": "home", "value": "ann.home@example.org"}),
        ("PUT", "address", {"lines": ["1 Main St"], "city": "Oslo", "country": "NO"}),
    ]
    for customer_id, (method, what, body) in zip(ids, changes, strict=False):
        sandbox_api(box, method, f"/v2/customers/{customer_id}{'/' * bool(what)}{what}", body)
    result = invoke("undo", "--state", state, "--yes", "-o", tmp_path / "u.csv",
                    env=sandbox_env(box))  # fmt: skip
    assert result.exit_code == 0, result.output
    undone = read_rows(tmp_path / "u.csv")
    assert [(x["status"], x["reason"]) for x in undone] == [("kept", "changed")] * 5 + [
        ("deleted", "")]  # fmt: skip
    assert [x["error"].split("(", 1)[1] for x in undone[:5]] == [
        "plan not sent by the import)", "jobTitle not sent by the import)",
        "phones not sent by the import)", "emails not sent by the import)",
        "address not sent by the import)"]  # fmt: skip
    for _ in range(100):  # the async delete lands in the sandbox's next loop turns
        if len(box.state.customers) == 5:
            break
        time.sleep(0.05)
    assert sorted(str(i) for i in box.state.customers) == sorted(ids[:5])


def test_undo_a_second_time_has_nothing_to_undo_and_exits_2(
    invoke: Callable[..., Result], serve_sandbox: Callable[..., Sandbox], sandbox_env: Env,
    tmp_path: Path,
) -> None:  # fmt: skip
    box = serve_sandbox(SandboxConfig(async_delete_after=0))
    data = write_csv(tmp_path / "in.csv", [["Ann", "Lee", "ann@example.org", ""]])
    state = tmp_path / "in.state.sqlite"
    invoke("run", data, "-m", mapping_file(tmp_path), "-o", tmp_path / "r.csv", "--state", state,
           env=sandbox_env(box))  # fmt: skip
    assert invoke("undo", "--state", state, "--yes", env=sandbox_env(box)).exit_code == 0
    again = invoke("undo", "--state", state, "--yes", env=sandbox_env(box))
    assert again.exit_code == 2
    assert again.stderr.splitlines() == [
        "Error: nothing to undo: an earlier undo deleted all 1 customer the import of run 1 "
        f"created (see {tmp_path / 'in.undo.csv'} or the undo's -o); give --run to undo "
        "another import"
    ]


# --- every fault ends in one clear line -------------------------------------------------------
def tiny_disk_run(
    tmp_path: Path, command: list[str], env: dict[str, str], *, filled: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python -m importer COMMAND`` with ``tmp_path / 'full'`` a 4 KiB file system of its
    own (a tmpfs in a private mount namespace: ``unshare``, no root needed where user
    namespaces are allowed), ``filled`` to the last byte first; skips where that cannot be
    made."""
    full = tmp_path / "full"
    full.mkdir(exist_ok=True)
    probe = subprocess.run(["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs",
                            str(full)], capture_output=True, check=False)  # fmt: skip
    if shutil.which("unshare") is None or probe.returncode != 0:
        pytest.skip("no private mount namespace here (unshare -rm) for a small file system")
    fill = f'(cat /dev/zero > "{full}/filler") 2>/dev/null; ' if filled else ""
    script = f'mount -t tmpfs -o size=4k tmpfs "{full}" && {{ {fill}exec "$@"; }}'
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", sys.executable, "-m",
                           "importer", *command], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.mark.parametrize(
    "output, what, name",
    [("-o", "the results", "r.csv"), ("--report", "--report", "report.html"),
     ("--rejects", "--rejects", "to-fix.csv")],
)  # fmt: skip
def test_a_full_disk_stops_with_exit_3_and_one_line_and_the_same_command_resumes(
    output: str, what: str, name: str, serve_sandbox: Callable[..., Sandbox], sandbox_env: Env,
    process_env: Callable[..., dict[str, str]], read_rows: Rows, tmp_path: Path,
) -> None:  # fmt: skip
    """The results fill a 4 KiB disk mid-run; the report (at the end) and the rejects (at the
    start) meet a full one."""
    box = serve_sandbox()
    rows = [["Ann", f"Lee{i}", f"ann.lee{i}@example.org", ""] for i in range(300)]
    rows += [["Bad", f"Row{i}", "not an email", ""] for i in range(100)]
    data, mapping = write_csv(tmp_path / "in.csv", rows), mapping_file(tmp_path)
    full = tmp_path / "full"
    written = full / name
    results = written if output == "-o" else tmp_path / "r.csv"
    command = ["run", str(data), "-m", str(mapping), "-o", str(results), "--state",
               str(tmp_path / "s.sqlite"), "--settle-time", "0"]  # fmt: skip
    if output != "-o":
        command += [output, str(written)]
    env = process_env(**sandbox_env(box))
    done = tiny_disk_run(tmp_path, command, env, filled=output != "-o")
    assert done.returncode == 3, done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert error == [
        f"Error: cannot write {what} {written}: No space left on device: make room, then run "
        "the same command (what finished is in the state: it resumes)"
    ], done.stderr
    assert "Traceback" not in done.stderr
    assert len(box.state.customers) <= 300 and (output != "-o" or box.state.customers)  # mid-run
    again = subprocess.run([sys.executable, "-m", "importer", *command], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=120,
                           stdin=subprocess.DEVNULL)  # fmt: skip
    assert again.returncode == 1, again.stderr  # the 100 invalid rows
    assert [x["status"] for x in read_rows(results)] == ["created"] * 300 + ["invalid"] * 100
    assert len(box.state.customers) == 300  # nobody created twice, nobody missed
    assert len({c["emails"][0]["value"] for c in box.state.customers.values()}) == 300


def test_a_concurrency_beyond_any_budget_is_refused_naming_the_bound(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", tmp_path / "r.csv", "--sandbox",
                    "--concurrency", "99999999999999999999")  # fmt: skip
    assert result.exit_code == 2
    assert f"99999999999999999999 is not in the range 1<=x<={MAX_CONCURRENCY}" in result.stderr
    with pytest.raises(ConfigError, match=f"--concurrency must be .* at most {MAX_CONCURRENCY} "):
        ImportOptions(concurrency=MAX_CONCURRENCY + 1)


@pytest.mark.parametrize(
    "asked, held, told",
    [
        (0.0, 1.0, None),
        (12.0, 12.0, None),
        (45.0, 45.0, "Help Scout asked to pause for 45 s (429, Retry-After): pausing"),
        (MAX_PAUSE, MAX_PAUSE, "Help Scout asked to pause for 5 min (429, Retry-After): pausing"),
        (86400.0, MAX_PAUSE, "Help Scout asked to pause for 24 h (429, Retry-After): pausing "
         "5 min instead, then trying again"),
    ],
)  # fmt: skip
def test_a_429s_pause_is_capped_and_a_long_one_is_said(
    asked: float, held: float, told: str | None
) -> None:
    assert (pause_for(asked), pause_notice(asked)) == (held, told)


async def test_the_pacer_holds_a_day_long_retry_after_for_five_minutes_and_says_so() -> None:
    heard: list[str] = []
    pacer = Pacer(600, notice=heard.append)
    ticket: Ticket = await pacer.acquire(2)
    wait = pacer.settle(ticket, 429, {"X-RateLimit-Retry-After": "86400"})
    assert wait == MAX_PAUSE
    assert heard == [pause_notice(86400.0)]


@pytest.mark.parametrize(
    "status, said", [(500, "HTTP 500 Internal error"), (503, "HTTP 503 Internal error"),
                     (429, "HTTP 429 Internal error")],
)  # fmt: skip
def test_a_token_endpoint_answering_5xx_stops_with_exit_3_naming_it_not_the_credentials(
    status: int, said: str,
    invoke: Callable[..., Result], serve_sandbox: Callable[..., Sandbox], sandbox_env: Env,
    faults: Callable[..., Any], tmp_path: Path,
) -> None:  # fmt: skip
    middleware, script = faults({"method": "POST", "path": "/v2/oauth2/token", "action": "answer",
                                 "status": status, "times": 100,
                                 "body": {"message": "Internal error"}})  # fmt: skip
    box = serve_sandbox(middlewares=[middleware])
    data = write_csv(tmp_path / "in.csv", [["Ann", "Lee", "ann@example.org", ""]])
    result = invoke("run", data, "-m", mapping_file(tmp_path), "-o", tmp_path / "r.csv",
                    "--max-attempts", 2, env=sandbox_env(box))  # fmt: skip
    assert result.exit_code == 3
    assert [line for line in result.stderr.splitlines() if line.startswith("Error: ")] == [
        f"Error: the token endpoint {box.url}/v2/oauth2/token answered {said}, "
        "2 tries in a row: Help Scout's sign-in is failing (the credentials were not refused); "
        "the same command resumes once it answers"
    ]
    assert "HELPSCOUT_APP_SECRET" not in result.stderr
    assert script[0].met == 2 and box.state.customers == {}


def test_a_token_endpoint_that_never_answers_stops_the_run_naming_it(
    serve_sandbox: Callable[..., Sandbox], faults: Callable[..., Any], tmp_path: Path
) -> None:
    # each token request waits 1 s, five times the request timeout
    middleware, script = faults({"method": "POST", "path": "/v2/oauth2/token", "action": "delay",
                                 "seconds": 1, "times": 100})  # fmt: skip
    box = serve_sandbox(middlewares=[middleware])
    data = write_csv(tmp_path / "in.csv", [["Ann", "Lee", "ann@example.org", ""]])
    options = ImportOptions(api_url=box.url, max_attempts=2, request_timeout=0.2)
    with pytest.raises(RunStopped, match=r"the token endpoint .*/v2/oauth2/token gave no answer "
                       r"\(no answer within 0.2 s\), 2 tries in a row: "):  # fmt: skip
        import_csv(data, mapping_file(tmp_path), tmp_path / "r.csv", options,
                   credentials=Credentials(box.app_id, box.app_secret))  # fmt: skip
    assert script[0].met == 2 and box.state.customers == {}


# --- cron ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, rows, allowed",
    [(None, 40, 0), ("9", 40, 9), ("0", 40, 0), ("25%", 40, 10), ("22%", 40, 8),
     ("2.5%", 1000, 25), ("100%", 7, 7)],
)  # fmt: skip
def test_max_invalid_allows_a_count_or_a_share_of_the_rows(
    spec: str | None, rows: int, allowed: int
) -> None:
    assert allowed_invalid(spec, rows) == allowed


@pytest.mark.parametrize("spec", ["ten", "-1", "101%", "5 %", "%", "1e3"])
def test_max_invalid_refuses_what_is_no_count_nor_share(spec: str) -> None:
    with pytest.raises(ConfigError, match=f"--max-invalid must be a count of rows .*{spec!r}"):
        ImportOptions(max_invalid=spec)


@pytest.mark.parametrize("spec, code", [("9", 0), ("8", 1), ("25%", 0), ("22%", 1)])
def test_a_nightly_run_with_its_known_invalid_rows_exits_0_under_max_invalid(
    spec: str, code: int, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    """The sample's 9 invalid rows, every night: under --max-invalid, cron hears nothing."""
    summary = tmp_path / "s.json"
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", tmp_path / "r.csv", "--sandbox", "-q",
                    "--max-invalid", spec, "--summary-json", summary)  # fmt: skip
    assert result.exit_code == code
    assert json.loads(summary.read_text(encoding="utf-8"))["exit_code"] == code
    assert result.stderr == ("" if code == 0 else "Error: 9 rows not imported (9 invalid, 0 "
                             f"failed): see {tmp_path / 'r.csv'}\n")  # fmt: skip


def test_rows_a_stopped_run_never_reached_are_not_sent_in_the_results_and_the_summary(
    invoke: Callable[..., Result], serve_sandbox: Callable[..., Sandbox], sandbox_env: Env,
    read_rows: Rows, tmp_path: Path,
) -> None:  # fmt: skip
    box = serve_sandbox(SandboxConfig(deny_api=True))
    summary = tmp_path / "s.json"
    result = invoke("run", SAMPLE, "-m", EXAMPLE, "-o", tmp_path / "r.csv", "--concurrency", 1,
                    "--summary-json", summary, env=sandbox_env(box))  # fmt: skip
    assert result.exit_code == 3
    lines = read_rows(tmp_path / "r.csv")
    statuses = [x["status"] for x in lines if x["status"] != "invalid"]
    assert statuses[0] == "failed" and set(statuses[1:]) == {"not_sent"}
    assert {x["attempts"] for x in lines if x["status"] == "not_sent"} == {"0"}
    document = json.loads(summary.read_text(encoding="utf-8"))
    assert document["version"] == 1 and document["statuses"]["not_sent"] == len(statuses) - 1
    assert document["statuses"]["failed"] == 1 and document["statuses"]["unknown"] == 0
    assert sum(document["statuses"].values()) == document["rows"] == 40


def test_a_changed_row_left_by_on_existing_skip_says_how_to_update_it(
    invoke: Callable[..., Result], read_rows: Rows, tmp_path: Path,
) -> None:  # fmt: skip
    data, mapping = tmp_path / "in.csv", mapping_file(tmp_path)
    write_csv(data, [["Ann", "Lee", "ann@example.org", ""], ["Bob", "Ray", "bob@example.org", ""]])
    state = tmp_path / "s.sqlite"
    command = ["run", data, "-m", mapping, "-o", tmp_path / "r.csv", "--sandbox", "--state", state]
    assert invoke(*command).exit_code == 0
    write_csv(data, [["Ann", "Lee", "ann@example.org", ""], ["Bob", "Raymond", "bob@example.org",
                                                           ""]])  # fmt: skip
    result = invoke(*command)
    assert result.exit_code == 0
    assert [(x["status"], x["reason"], x["error"]) for x in read_rows(tmp_path / "r.csv")] == [
        ("skipped", "unchanged", ""),
        ("skipped", "changed", "changed since it was imported: --on-existing update sends what "
         "differs")]  # fmt: skip
    assert "1 row changed since imported: --on-existing update sends what differs" in (
        result.stderr.splitlines())  # fmt: skip
