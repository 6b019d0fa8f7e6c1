"""``run --dry-run --check-existing``: the plan against the account, and the import that follows
it doing the same, row for row; against the real sandbox over loopback, with a real ledger."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from importer import ImportOptions, import_csv
from importer.jobs.plan import plan_import
from importer.sandbox import Sandbox
from importer.send.auth import Credentials
from importer.send.ledger import Ledger

MAPPING = """\
customer:
  firstName: First Name
  lastName: Last Name
  emails:
    - {column: Email, type: work}
  phones:
    - {column: Phone, type: work}
"""
HEADER = ["First Name", "Last Name", "Email", "Phone"]
FIRST = [["Ann", "Lee", "ann@example.com", ""], ["Bob", "Ray", "bob@example.com", ""],
         ["Dee", "Fox", "dee@example.com", ""]]  # fmt: skip
SECOND = [
    ["Ann", "Lee", "ann@example.com", ""],  # 1 imported, unchanged
    ["Bob", "Raymond", "bob@example.com", ""],  # 2 imported, its last name changed since
    ["Cy", "Moe", "cy@example.com", ""],  # 3 created in Help Scout by someone else
    ["Dee", "Fox", "dee@example.com", "+1 555 0100"],  # 4 imported, a phone added since
    ["Eve", "Ito", "eve@example.com", ""],  # 5 new
    ["Gus", "Ng", "not an email", ""],  # 6 invalid
    ["Eva", "Ito", "EVE@example.com", ""],  # 7 the same email as row 5
    ["Flo", "Ash", "flo@example.com", ""],  # 8 new
]
#: What a planned line's reason says the import does: (status, reason) of its results line.
DOES = {
    "create": ("created", ""),
    "update": ("updated", ""),
    "found": ("created", ""),
    **{why: ("skipped", why) for why in
       ("unchanged", "changed", "exists", "duplicate", "not-retried")},
}  # fmt: skip


def customer(first: str, email: str, last: str | None = None) -> dict[str, Any]:
    """A customer as seeded in the sandbox: created there, not by the import."""
    return {"firstName": first, **({"lastName": last} if last else {}),
            "emails": [{"type": "work", "value": email}]}  # fmt: skip


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def writes(box: Sandbox, sandbox_api: Callable[..., Any]) -> int:
    """Every write the sandbox has answered (any status)."""
    counted = sandbox_api(box, "GET", "/_sandbox/stats")["requests"]
    return sum(sum(by_status.values()) for route, by_status in counted.items()
               if route.split()[0] in ("POST", "PUT", "PATCH", "DELETE")
               and route != "POST /v2/oauth2/token")  # fmt: skip


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_the_import_did_as_planned(plan: list[dict[str, str]], done: list[dict[str, str]]):
    assert [line["row"] for line in plan] == [line["row"] for line in done]
    for planned, line in zip(plan, done, strict=True):
        if planned["status"] != "planned":
            assert line["status"] == planned["status"], planned
            continue
        expected = DOES.get(planned["reason"])
        if planned["reason"] == "done":  # reported as recorded: the detail names the status
            expected = (planned["error"].split()[0], line["reason"])
        assert (line["status"], line["reason"]) == expected, (planned, line)
        if planned["customer_id"]:
            assert line["customer_id"] == planned["customer_id"], (planned, line)


@pytest.mark.parametrize(
    "on_existing, reasons",
    [
        ("skip", ["unchanged", "changed", "exists", "changed", "create", "invalid", "duplicate",
                  "create"]),
        ("update", ["unchanged", "update", "update", "update", "create", "invalid", "duplicate",
                    "create"]),
    ],
)  # fmt: skip
def test_the_plan_is_what_the_import_then_does_row_for_row(
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
    serve_sandbox: Callable[..., Sandbox],
    sandbox_api: Callable[..., Any],
    on_existing: str,
    reasons: list[str],
) -> None:
    box = serve_sandbox()
    credentials = Credentials(box.app_id, box.app_secret)
    mapping, state = tmp_path / "m.yaml", tmp_path / "state.sqlite"
    mapping.write_text(MAPPING, encoding="utf-8")
    options = ImportOptions(api_url=box.url, state=state)
    import_csv(write_csv(tmp_path / "first.csv", FIRST), mapping, tmp_path / "r1.csv", options,
               credentials=credentials)  # fmt: skip
    seeded = customer("Cyrus", "cy@example.com", "Moe")
    elsewhere = sandbox_api(box, "POST", "/_sandbox/customers", seeded)["ids"][0]
    data = write_csv(tmp_path / "second.csv", SECOND)
    before, sent = digest(state), writes(box, sandbox_api)
    options = replace(options, on_existing=on_existing, duplicates="first")

    plan = plan_import(data, mapping, tmp_path / "plan.csv", options, credentials=credentials)

    assert (digest(state), writes(box, sandbox_api)) == (before, sent)  # reads only
    planned = read_rows(tmp_path / "plan.csv")
    assert [x["reason"] or x["status"] for x in planned] == reasons
    assert planned[2]["customer_id"] == str(elsewhere)
    if on_existing == "update":
        assert [planned[i]["error"] for i in (1, 2, 3)] == ["lastName", "firstName", "phones"]
        assert plan.fields == {"lastName": 1, "firstName": 1, "phones": 1}
    assert (plan.counts["create"], plan.counts["invalid"], plan.exit_code) == (2, 1, 1)
    assert plan.writes == 2 + (3 if on_existing == "update" else 0)
    done = import_csv(data, mapping, tmp_path / "r2.csv", replace(options, check_existing=True),
                      credentials=credentials)  # fmt: skip
    assert done.requests == plan.reads + plan.writes  # the same reads again, and the writes
    assert_the_import_did_as_planned(planned, read_rows(tmp_path / "r2.csv"))


def test_a_plan_that_resumes_a_stopped_import_reports_what_it_finished_and_finds_lost_creates(
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
    serve_sandbox: Callable[..., Sandbox],
    sandbox_api: Callable[..., Any],
) -> None:
    """A run stopped after creating Ann; Eve's create was carried out but its answer lost, and
    Flo's never left: the plan reports Ann as the run left her, finds Eve, creates Flo."""
    box = serve_sandbox()
    mapping, state = tmp_path / "m.yaml", tmp_path / "state.sqlite"
    mapping.write_text(MAPPING, encoding="utf-8")
    data = write_csv(tmp_path / "in.csv", [SECOND[0], SECOND[4], SECOND[7]])
    seeded = [customer("Ann", "ann@example.com"), customer("Eve", "eve@example.com", "Ito")]
    with Ledger.open(state, source=str(data)) as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([(f"{name}@example.com", row, "sent") for row, name in
                               enumerate(["ann", "eve", "flo"], 1)])  # fmt: skip
        # created by the run's requests, after it marked them
        ann, eve = sandbox_api(box, "POST", "/_sandbox/customers", seeded)["ids"]
        ledger.settle("ann@example.com", status="created", customer_id=str(ann), attempts=1)
    options = ImportOptions(api_url=box.url, state=state)
    credentials = Credentials(box.app_id, box.app_secret)

    plan_import(data, mapping, tmp_path / "plan.csv", options, credentials=credentials)

    planned = read_rows(tmp_path / "plan.csv")
    assert [(x["reason"], x["customer_id"]) for x in planned] == [
        ("done", str(ann)), ("found", str(eve)), ("create", "")]  # fmt: skip
    import_csv(data, mapping, tmp_path / "r.csv", replace(options, settle_time=0),
               credentials=credentials)  # fmt: skip
    assert_the_import_did_as_planned(planned, read_rows(tmp_path / "r.csv"))
    assert len(box.state.customers) == 3


def test_the_plan_on_the_command_line(
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
    serve_sandbox: Callable[..., Sandbox],
    sandbox_api: Callable[..., Any],
    sandbox_env: Callable[[Sandbox], dict[str, str | None]],
    invoke: Callable[..., Result],
) -> None:
    box = serve_sandbox()
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    first = write_csv(tmp_path / "first.csv", FIRST)
    env = sandbox_env(box)
    imported = invoke("run", first, "-m", mapping, "-o", tmp_path / "results.csv", env=env)
    assert imported.exit_code == 0, imported.output
    ids = {line["row"]: line["customer_id"] for line in read_rows(tmp_path / "results.csv")}
    seeded = customer("Cyrus", "cy@example.com", "Moe")
    elsewhere = sandbox_api(box, "POST", "/_sandbox/customers", seeded)["ids"][0]
    data = write_csv(tmp_path / "first.csv", SECOND)  # the export grew (same name, same state)
    plan_file = tmp_path / "plan.csv"
    args = ["run", str(data), "-m", str(mapping), "--dry-run", "--check-existing",
            "--on-existing", "update", "--duplicates", "first", "--rate", "120"]  # fmt: skip

    result = invoke(*args, "-o", plan_file, env=env)

    assert result.exit_code == 1  # row 6 is invalid
    assert result.stdout.splitlines() == [
        f"Plan against {box.url} for 8 rows:",
        "  create 2",
        f"  update 3 (lastName 1, firstName 1, phones 1): row 2 customer {ids['2']}, row 3 "
        f"customer {elsewhere}, row 4 customer {ids['3']}",
        f"  skip 1 unchanged since they were imported: row 1 customer {ids['1']}",
        "  skip 1 with the key of an earlier row: row 7",
        "  1 invalid: row 6",
        # reads: who the account is, 1 search (Cy, Eve, Flo) + 3 customers; writes: 2 creates +
        # 3 patches or posts
        "The import needs 10 requests: 5 reads (the plan's own, again) and 5 writes (15 of the "
        "per-minute budget: a write costs 2).",
        "At a budget of 120 a minute (--rate): about 9 s.",
        f"Plan written to {plan_file}",
        "Nothing was sent but reads (--dry-run): Help Scout and the state are unchanged.",
    ]
    # the plan never overwrites the results of the import it plans
    over = invoke(*args, "-o", tmp_path / "results.csv", env=env)
    assert over.exit_code == 2
    assert over.stderr == (
        f"Error: --output {tmp_path / 'results.csv'} is the same file as the import's results "
        f"(recorded in --state) {tmp_path / 'results.csv'}, which is read: write --output "
        "elsewhere\n"
    )


def test_without_a_state_file_every_row_is_planned_as_new(
    tmp_path: Path,
    serve_sandbox: Callable[..., Sandbox],
    sandbox_api: Callable[..., Any],
    sandbox_env: Callable[[Sandbox], dict[str, str | None]],
    invoke: Callable[..., Result],
) -> None:
    box = serve_sandbox()
    sandbox_api(box, "POST", "/_sandbox/customers", customer("Ann", "ann@example.com"))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    data = write_csv(tmp_path / "in.csv", FIRST)
    result = invoke("run", data, "-m", mapping, "--dry-run", "--check-existing",
                    env=sandbox_env(box))  # fmt: skip
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "no state file: planned as a first import (every row is new to the ledger)"
    ]
    assert result.stdout.splitlines()[1:3] == [
        "  create 2",
        "  skip 1 that exist already in Help Scout: row 1 customer 100000001",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "m.yaml"]
