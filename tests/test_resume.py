"""Exactly once, whatever happens: kills, Ctrl-C, overlapping runs, re-runs, existing customers.

The sandbox runs in this process (its own thread and loop, so it outlives the importer); the
importer runs as a real subprocess (``python -m importer run``) where it is killed or interrupted,
and through CliRunner elsewhere. Requests are counted with the sandbox's ``/_sandbox/stats``.
"""

from __future__ import annotations

import csv
import json
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from importer.sandbox import Sandbox, SandboxConfig
from importer.send.ledger import default_state_path

ROOT = Path(__file__).resolve().parent.parent
MAPPING = """\
customer:
  firstName: First Name
  lastName: Last Name
  emails:
    - {column: Email, type: work}
  phones:
    - {column: Phone, type: work}
  properties:
    plan: {column: Plan, type: text}
"""
HEADER = ["First Name", "Last Name", "Email", "Phone", "Plan"]


def person(i: int, *, plan: str = "free", phone: str = "") -> list[str]:
    return ["Ada", f"Lovelace{i}", f"ada.{i}@example.com", phone, plan]


def email(i: int) -> str:
    return f"ada.{i}@example.com"


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    """(data, mapping, results) paths in tmp_path, the mapping written."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    yield tmp_path / "customers.csv", mapping, tmp_path / "results.csv"


def stats(box: Sandbox) -> dict[str, dict[str, int]]:
    """Requests by route and status, as ``GET /_sandbox/stats`` counts them."""
    with urllib.request.urlopen(f"{box.url}/_sandbox/stats", timeout=10) as answer:
        return json.load(answer)["requests"]


def count(box: Sandbox, route: str, *statuses: str) -> int:
    by_status = stats(box).get(route, {})
    return sum(n for status, n in by_status.items() if not statuses or status in statuses)


def by_email(box: Sandbox) -> dict[str, list[str]]:
    """Each email in the sandbox -> the ids of the customers that have it."""
    found: dict[str, list[str]] = {}
    for customer in box.state.customers.values():
        for entry in customer["emails"]:
            found.setdefault(entry["value"], []).append(str(customer["id"]))
    return found


@pytest.fixture
def importer(
    process_env: Callable[..., dict[str, str]], sandbox_env: Callable[..., dict[str, str | None]]
) -> Callable[..., subprocess.Popen[str]]:
    """The importer as a real process (``python -m importer run ARGS``) against ``box``."""

    def start(box: Sandbox, *args: Any, **popen: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "importer", "run", *map(str, args)],
            cwd=ROOT,
            env=process_env(**sandbox_env(box)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **popen,
        )

    return start


def wait_for(condition: Callable[[], bool], child: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the importer made no progress"
        time.sleep(0.005)


# --- SIGKILL at random moments --------------------------------------------------------------
@pytest.mark.parametrize("lag, settle", [(2, 3), (10, 12)], ids=["lag-2s", "lag-10s"])
def test_killed_at_random_moments_every_row_ends_in_exactly_one_customer(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    importer: Callable[..., subprocess.Popen[str]],
    files: tuple[Path, Path, Path],
    lag: float,
    settle: float,
) -> None:
    """300 rows; drops and 504s after the create, 5% 503s, tokens revoked, and a search index
    that shows a new customer only ``lag`` seconds after its create: killed with SIGKILL at
    random moments 6 times, the same command run again each time, then to the end.

    ``--settle-time`` is set just above the lag (the default, 60 s, would make the last run
    wait a minute for nothing): the test shows that a look-up is believed only once the lag
    has passed, whatever was killed when."""
    data, mapping, results = files
    rows = 300
    write_csv(data, [person(i) for i in range(rows)])
    config = SandboxConfig(
        search_lag=lag,
        latency_ms=4,
        jitter_ms=3,
        drop_rate=0.05,
        gateway_timeout_rate=0.05,
        fail_rate=0.05,
        fail_statuses=(503,),
        token_revoke_every=97,
        seed=5,
    )
    dice = random.Random(20240601)
    command = (data, "-m", mapping, "-o", results, "--concurrency", "6", "--settle-time", settle)
    kills = 0
    box = serve_sandbox(config)
    for _ in range(6):
        child = importer(box, *command)
        start, step = box.state.creates_seen, dice.randint(5, 40)
        wait_for(lambda: box.state.creates_seen >= start + step, child, 60)  # noqa: B023
        time.sleep(dice.uniform(0, 0.03))
        child.kill()
        child.communicate()
        kills += child.returncode == -signal.SIGKILL
    last = importer(box, *command)
    out, err = last.communicate(timeout=120)
    held = by_email(box)
    faults = {s: count(box, "POST /v2/customers", s) for s in ("dropped", "504", "503")}
    lookups = count(box, "GET /v2/customers")
    assert kills == 6
    assert last.returncode == 0, err
    assert out.splitlines()[0] == f"{rows} rows: {rows} created, 0 invalid, 0 failed."
    assert (
        "Resumed an import that had stopped: the rows it finished are reported as they ended, "
        "not sent again."
    ) in err.splitlines()
    assert sorted(held) == sorted(email(i) for i in range(rows))
    assert all(len(ids) == 1 for ids in held.values())  # nobody twice
    lines = read_rows(results)
    assert [int(line["row"]) for line in lines] == list(range(1, rows + 1))
    assert {line["status"] for line in lines} == {"created"}
    assert all([line["customer_id"]] == held[email(i)] for i, line in enumerate(lines))
    assert min(faults.values()) > 0  # every kind of fault happened
    # batched, not one per row: rows whose first look-up came too soon are looked up again
    assert 0 < lookups < 2 * (faults["dropped"] + faults["504"] + 6 * 12)


# --- Ctrl-C -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sent, presses",
    [(signal.SIGINT, 1), (signal.SIGINT, 2), (signal.SIGTERM, 1)],
    ids=["ctrl-c", "ctrl-c-twice", "sigterm"],
)
def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    importer: Callable[..., subprocess.Popen[str]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    files: tuple[Path, Path, Path],
    sent: signal.Signals,
    presses: int,
) -> None:
    data, mapping, results = files
    rows = 60
    write_csv(data, [person(i) for i in range(rows)])
    command = (data, "-m", mapping, "-o", results, "--concurrency", "4")
    box = serve_sandbox(SandboxConfig(latency_ms=150))
    child = importer(box, *command)
    wait_for(lambda: len(box.state.customers) >= 8, child, 60)
    for _ in range(presses):
        child.send_signal(sent)
    started = time.monotonic()
    _, err = child.communicate(timeout=30)
    took = time.monotonic() - started
    stopped = read_rows(results)
    again = invoke("run", *command, env=sandbox_env(box))
    held = by_email(box)
    assert child.returncode == 3
    messages = err.splitlines()
    state = default_state_path(results, mapping, box.url)  # the mapping's, the sandbox's
    assert messages[-3:] == [
        f"Interrupted: what finished is in {results} and {state}.",
        "To resume, run the same command:",
        f"  helpscout-import run {data} --mapping {mapping} --output {results} --concurrency 4",
    ]
    if presses == 1:
        assert messages[0].startswith("Stopping: waiting up to 5 s for the requests in flight")
        assert {line["status"] for line in stopped[:8]} == {"created"}  # in flight: finished
    assert took < 5  # a second Ctrl-C does not wait; nor does one with 150 ms requests
    # every row read has its line, in order; unfinished ones say how to go on
    assert [int(line["row"]) for line in stopped] == list(range(1, len(stopped) + 1))
    assert {line["error"] for line in stopped if line["status"] == "failed"} <= {
        "not sent: the run stopped; run the same command to resume",
        "the run stopped before this row finished: it may have been created; run the same "
        "command, which looks it up before sending it again",
    }
    created_before = {line["row"]: line["customer_id"] for line in stopped if line["customer_id"]}
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == f"{rows} rows: {rows} created, 0 invalid, 0 failed."
    lines = read_rows(results)
    assert all([line["customer_id"]] == held[email(i)] for i, line in enumerate(lines))
    assert all(lines[int(row) - 1]["customer_id"] == cid for row, cid in created_before.items())
    assert sorted(held) == sorted(email(i) for i in range(rows))


# --- overlapping runs -------------------------------------------------------------------------
def test_a_second_run_on_the_same_state_is_refused_and_touches_nothing(
    serve_sandbox: Callable[..., Sandbox],
    importer: Callable[..., subprocess.Popen[str]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    files: tuple[Path, Path, Path],
) -> None:
    data, mapping, results = files
    write_csv(data, [person(i) for i in range(40)])
    box = serve_sandbox(SandboxConfig(latency_ms=200))
    first = importer(box, data, "-m", mapping, "-o", results, "--concurrency", "1")
    try:
        wait_for(lambda: len(box.state.customers) >= 1, first, 60)
        written = results.read_bytes()
        second = invoke("run", data, "-m", mapping, "-o", results, env=sandbox_env(box))
        assert results.read_bytes().startswith(written)  # not truncated by the second
    finally:
        first.kill()
        first.communicate()
    assert (second.exit_code, second.stdout) == (2, "")
    assert second.stderr == (
        f"Error: another import (pid {first.pid}) is using the state file "
        f"{default_state_path(results, mapping, box.url)}: wait for it to finish, or stop it\n"
    )


# --- re-runs ----------------------------------------------------------------------------------
def test_re_runs_send_only_new_and_changed_rows(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    files: tuple[Path, Path, Path],
) -> None:
    data, mapping, results = files
    write_csv(data, [person(i) for i in range(40)])
    grown = [person(i, plan="pro" if i < 10 else "free") for i in range(50)]
    grown[3] = person(3, plan="pro", phone="+1 555 0103")  # a new phone too
    box = serve_sandbox()
    env = sandbox_env(box)
    first = invoke("run", data, "-m", mapping, "-o", results, env=env)
    before = stats(box)
    again = invoke("run", data, "-m", mapping, "-o", results, env=env)
    after = stats(box)
    # nothing written: the re-run only read a token, the account's user (the state's guard) and
    # its property definitions (the first run also asked whether the account held customers)
    assert after["POST /v2/customers"] == before["POST /v2/customers"]
    assert (
        set(after)
        == set(before)
        == {"POST /v2/oauth2/token", "GET /v2/users/me", "GET /v2/customers",
            "GET /v2/customer-properties", "POST /v2/customers"}
    )  # fmt: skip
    write_csv(data, grown)
    skipping = invoke("run", data, "-m", mapping, "-o", results, env=env)
    skipped = read_rows(results)
    creates = count(box, "POST /v2/customers")
    updating = invoke("run", data, "-m", mapping, "-o", results, "--on-existing", "update", env=env)
    updated = read_rows(results)
    requests = stats(box)
    last = invoke("run", data, "-m", mapping, "-o", results, "--on-existing", "update", env=env)
    held = {email: box.state.customers[int(ids[0])] for email, ids in by_email(box).items()}
    assert [r.exit_code for r in (first, again, skipping, updating, last)] == [0] * 5
    assert again.stdout.splitlines()[0] == "40 rows: 0 created, 40 skipped, 0 invalid, 0 failed."
    assert {(line["status"], line["reason"]) for line in read_rows(results)} == {
        ("skipped", "unchanged")
    }
    assert skipping.stdout.splitlines()[0] == (
        "50 rows: 10 created, 40 skipped, 0 invalid, 0 failed."
    )
    assert [line["reason"] for line in skipped[:12]] == ["changed"] * 10 + ["unchanged"] * 2
    assert creates == 50
    assert updating.stdout.splitlines()[0] == (
        "50 rows: 0 created, 10 updated, 40 skipped, 0 invalid, 0 failed."
    )
    assert [line["status"] for line in updated[:11]] == ["updated"] * 10 + ["skipped"]
    # exactly the ten changed rows: a read each, a properties patch each, one phone
    assert requests["POST /v2/customers"] == {"201": 50}
    assert requests["GET /v2/customers/{id}"] == {"200": 10}
    assert requests["PATCH /v2/customers/{id}/properties"] == {"204": 10}
    assert requests["POST /v2/customers/{id}/{kind}"] == {"201": 1}
    assert last.stdout.splitlines()[0] == "50 rows: 0 created, 50 skipped, 0 invalid, 0 failed."
    assert [c["properties"]["plan"] for c in (held[email(0)], held[email(10)])] == ["pro", "free"]
    assert [p["value"] for p in held[email(3)]["phones"]] == ["+1 555 0103"]


def test_retry_failed_sends_only_the_rows_that_failed(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    files: tuple[Path, Path, Path],
) -> None:
    data, mapping, results = files
    write_csv(data, [person(i) for i in range(10)])
    base = ("run", data, "-m", mapping, "-o", results, "--concurrency", "1")
    box = serve_sandbox(SandboxConfig(schedule={2: "503", 5: "503"}))
    env = sandbox_env(box)
    first = invoke(*base, "--max-attempts", "1", env=env)
    failed = [line["row"] for line in read_rows(results) if line["status"] == "failed"]
    retry = invoke(*base, "--retry-failed", env=env)
    lines = read_rows(results)
    held = by_email(box)
    assert (first.exit_code, failed) == (1, ["2", "5"])
    assert retry.exit_code == 0
    assert retry.stdout.splitlines()[0] == "10 rows: 2 created, 8 skipped, 0 invalid, 0 failed."
    assert [
        (x["row"], x["status"], x["reason"]) for x in lines if x["reason"] != "not-retried"
    ] == [
        ("2", "created", ""),
        ("5", "created", ""),
    ]
    assert sorted(held) == sorted(email(i) for i in range(10))
    assert all(len(ids) == 1 for ids in held.values())


# --- customers that exist already --------------------------------------------------------------
def seed(box: Sandbox, rows: list[int]) -> dict[str, str]:
    """Customers created elsewhere with the emails of ``rows``: email -> id."""
    payloads = [{"firstName": "Old", "emails": [{"type": "home", "value": email(i)}]} for i in rows]
    request = urllib.request.Request(
        f"{box.url}/_sandbox/customers",
        data=json.dumps(payloads).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        ids = json.load(answer)["ids"]
    return {email(i): str(cid) for i, cid in zip(rows, ids, strict=True)}


@pytest.mark.parametrize(
    "config, options, lookups",
    [
        # 409: one look-up each... batched (told not to look first, as a first run into an
        # account that holds customers would)
        (SandboxConfig(duplicate_email="conflict"), ["--no-check-existing"], 4),
        (SandboxConfig(), ["--check-existing"], 2),  # every new row looked up, 20 to a search
    ],
    ids=["409-conflict", "check-existing"],
)
def test_existing_customers_are_recorded_with_their_ids_and_not_created(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    files: tuple[Path, Path, Path],
    config: SandboxConfig,
    options: list[str],
    lookups: int,
) -> None:
    data, mapping, results = files
    write_csv(data, [person(i) for i in range(30)])
    box = serve_sandbox(config)
    existing = seed(box, [3, 5, 7, 11])
    result = invoke("run", data, "-m", mapping, "-o", results, "--concurrency", "1", *options,
                    env=sandbox_env(box))  # fmt: skip
    held = by_email(box)
    searches = count(box, "GET /v2/customers")
    conflicts = count(box, "POST /v2/customers", "409")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "30 rows: 26 created, 4 skipped, 0 invalid, 0 failed."
    lines = read_rows(results)
    assert [(x["row"], x["customer_id"]) for x in lines if x["reason"] == "exists"] == [
        (str(i + 1), existing[email(i)]) for i in (3, 5, 7, 11)
    ]
    assert all(len(ids) == 1 for ids in held.values()) and len(held) == 30
    assert all([x["customer_id"]] == held[email(i)] for i, x in enumerate(lines))
    assert conflicts == (4 if options == ["--no-check-existing"] else 0)
    assert searches <= lookups


def test_existing_customers_are_updated_on_request(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    files: tuple[Path, Path, Path],
) -> None:
    data, mapping, results = files
    write_csv(data, [person(i, plan="pro") for i in range(5)])
    box = serve_sandbox(SandboxConfig(duplicate_email="conflict"))
    existing = seed(box, [1])
    result = invoke(
        "run", data, "-m", mapping, "-o", results, "--on-existing", "update", env=sandbox_env(box)
    )
    customer = box.state.customers[int(existing[email(1)])]
    assert result.stdout.splitlines()[0] == "5 rows: 4 created, 1 updated, 0 invalid, 0 failed."
    assert read_rows(results)[1]["customer_id"] == existing[email(1)]
    assert (customer["firstName"], customer["lastName"], customer["properties"]) == (
        "Ada",
        "Lovelace1",
        {"plan": "pro"},
    )
    assert [e["value"] for e in customer["emails"]] == [email(1)]


# --- duplicates inside the file ----------------------------------------------------------------
@pytest.mark.parametrize(
    "policy, kept, skipped",
    [("first", [1, 2, 4], [(3, 1), (5, 2)]), ("last", [3, 4, 5], [(1, 3), (2, 5)])],
)
def test_duplicate_rows_keep_the_first_or_the_last(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    files: tuple[Path, Path, Path],
    policy: str,
    kept: list[int],
    skipped: list[tuple[int, int]],
) -> None:
    data, mapping, results = files
    plans = ["a", "b", "c", "d", "e"]
    same = [0, 1, 0, 2, 1]  # rows 1 and 3 share an email, rows 2 and 5 too
    write_csv(data, [person(i, plan=p) for i, p in zip(same, plans, strict=True)])
    box = serve_sandbox()
    env = sandbox_env(box)
    refused = invoke("run", data, "-m", mapping, "-o", results, env=env)
    box.state.reset()
    again = results.with_name("again.csv")
    result = invoke("run", data, "-m", mapping, "-o", again, "--duplicates", policy,
                    "--state", again.with_suffix(".sqlite"), env=env)  # fmt: skip
    plans_held = {c["emails"][0]["value"]: c["properties"]["plan"]
                  for c in box.state.customers.values()}  # fmt: skip
    assert refused.exit_code == 1
    first = read_rows(results)
    assert [x["status"] for x in first] == ["created", "created", "invalid", "created", "invalid"]
    assert first[2]["error"].endswith("the same email as row 1: this row would create a "
                                      "duplicate; remove or merge it, or import with run "
                                      "--duplicates first (or last) to import one of "
                                      "them")  # fmt: skip
    assert result.exit_code == 0
    lines = read_rows(again)
    assert [int(x["row"]) for x in lines if x["status"] == "created"] == kept
    assert [
        (int(x["row"]), x["reason"], x["error"]) for x in lines if x["status"] == "skipped"
    ] == [(row, "duplicate", f"the same email as row {other}") for row, other in skipped]
    assert plans_held == {email(same[r - 1]): plans[r - 1] for r in kept}


def test_a_nightly_run_with_a_new_results_name_creates_nobody_again(
    serve_sandbox: Callable[..., Sandbox],
    read_rows: Callable[[Path], list[dict[str, str]]],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Callable[..., Result],
    files: tuple[Path, Path, Path],
) -> None:
    data, mapping, results = files
    write_csv(data, [person(i) for i in range(5)])
    box = serve_sandbox()
    env = sandbox_env(box)
    first = invoke("run", data, "-m", mapping, "-o", results, env=env)
    nightly = results.with_name("results-2026-11-28.csv")
    second = invoke("run", data, "-m", mapping, "-o", nightly, env=env)
    assert len(box.state.customers) == 5
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert {x["reason"] for x in read_rows(nightly)} == {"unchanged"}
