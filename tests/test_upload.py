"""The uploader and the results writer, against the real sandbox over loopback."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from importer.core.errors import AuthError, RunStopped
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.auth import Credentials
from importer.send.client import HelpScoutClient
from importer.send.ledger import Ledger, former_state_path
from importer.send.pacing import Pacer
from importer.send.results import Outcome, ResultsWriter, header
from importer.send.transport import RetryPolicy
from importer.send.upload import (
    CUT_OFF,
    LOST_IN_A_ROW,
    NOT_SENT,
    Job,
    Policy,
    Tally,
    Uploader,
    default_concurrency,
)

FAST = RetryPolicy(max_attempts=8, base=0.005)


@pytest.fixture
def jobs(person: Callable[..., dict[str, Any]]) -> Callable[..., list[Job]]:
    """Rows to create: conftest's people numbered ``rows``, keyed by their email."""

    def jobs(rows: Sequence[int], **fields: Any) -> list[Job]:
        return [Job(row, person(row, **fields), f"ann.lee{row}@example.com") for row in rows]

    return jobs


@pytest.fixture
def upload(read_rows: Callable[[Path], list[dict[str, str]]]) -> Callable[..., Any]:
    """One run into ``box`` (as the box's app, unless ``credentials`` say otherwise), with the
    ledger beside ``path``; returns the uploader and the results' lines."""

    async def upload(
        box: Sandbox,
        batches: list[list[Job]],
        path: Path,
        credentials: Credentials | None = None,
        **options: Any,
    ) -> tuple[Uploader, list[dict[str, str]]]:
        credentials = credentials or Credentials(box.app_id, box.app_secret)
        client = HelpScoutClient(box.url, credentials, retry=FAST)
        options.setdefault("concurrency", 4)
        options.setdefault("settle_time", 0)  # these sandboxes' search has no lag (see test_settle)
        with Ledger.open(former_state_path(path), source="customers.csv") as ledger:
            ledger.begin_run("fp")
            with ResultsWriter(path) as results:
                async with client:
                    uploader = Uploader(client, results, ledger, **options)
                    try:
                        await uploader.run(batches)
                    finally:
                        results.close()
                    ledger.finish_run("finished")  # not reached when the run stopped
        return uploader, read_rows(path)

    return upload


def ledger_rows(path: Path) -> dict[str, tuple[str, str | None]]:
    """key -> (status, customer_id) as committed in the ledger beside ``path``."""
    with sqlite3.connect(former_state_path(path)) as db:
        return {k: (s, c) for k, s, c in db.execute("SELECT key, status, customer_id FROM rows")}


def ledger_by_status(
    path: Path, lines: list[dict[str, str]]
) -> dict[str, set[tuple[str, str | None] | None]]:
    """Per results status, what the ledger holds for those rows (None: no entry, never marked)."""
    kept = ledger_rows(path)
    found: dict[str, set[tuple[str, str | None] | None]] = {}
    for line in lines:
        found.setdefault(line["status"], set()).add(kept.get(f"ann.lee{line['row']}@example.com"))
    return found


# --- the results file ----------------------------------------------------------------------
def test_rows_are_written_in_input_order_as_soon_as_they_can_be(
    read_rows: Callable[[Path], list[dict[str, str]]], tmp_path: Path
) -> None:
    path = tmp_path / "results.csv"
    writer = ResultsWriter(path)
    for row in range(1, 6):
        writer.expect(row)
    written = []
    for row in (3, 1, 2, 5, 4):
        writer.add(Outcome(row, "created", customer_id=str(100 + row), http_status=201, attempts=1))
        written.append([line["row"] for line in read_rows(path)])
    writer.close()
    assert written == [[], ["1"], ["1", "2", "3"], ["1", "2", "3"], ["1", "2", "3", "4", "5"]]


def test_closing_after_a_stop_writes_what_finished_in_order(
    read_rows: Callable[[Path], list[dict[str, str]]], tmp_path: Path
) -> None:
    path = tmp_path / "results.csv"
    with ResultsWriter(path) as writer:
        for row in range(1, 6):
            writer.expect(row)
        for row in (5, 3, 1):
            writer.add(Outcome(row, "created", customer_id=str(row), attempts=1))
    assert [line["row"] for line in read_rows(path)] == ["1", "3", "5"]


def test_cells_cannot_run_as_formulas_and_source_columns_follow(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    with ResultsWriter(path, source_columns=["Name", "status", "Phone"]) as writer:
        writer.expect(1)
        writer.expect(2)
        writer.add(Outcome(1, "invalid", error="=HYPERLINK(x)", source=["@Ann", "ok", "+1 555"]))
        writer.add(Outcome(2, "failed", error="-", source=["Bob"]))
    assert path.read_text(encoding="utf-8").splitlines() == [
        "row,status,customer_id,http_status,error,log_ref,attempts,reason,Name,source.status,Phone",
        "1,invalid,,,'=HYPERLINK(x),,0,,'@Ann,ok,'+1 555",
        "2,failed,,,'-,,0,,Bob,,",
    ]


def test_header_without_source() -> None:
    assert header() == [
        "row", "status", "customer_id", "http_status", "error", "log_ref", "attempts", "reason",
    ]  # fmt: skip


# --- the uploader against the sandbox ------------------------------------------------------
async def test_every_row_is_created_once_and_written_in_order(
    jobs: Callable[..., list[Job]], upload: Callable[..., Any], tmp_path: Path
) -> None:
    batches: list[list[Job]] = [
        [*jobs(range(1, 4)), Job(4, {}, "", valid=False, error="Email: not an email")],
        jobs(range(5, 30)),
        [Job(30, {}, "", valid=False, error="First Name: too long"), *jobs(range(31, 41))],
    ]
    config = SandboxConfig(latency_ms=5, jitter_ms=5, seed=1)
    async with Sandbox(config) as box:
        uploader, lines = await upload(box, batches, tmp_path / "r.csv", concurrency=8)
        by_id = {str(i): c for i, c in box.state.customers.items()}
    assert [line["row"] for line in lines] == [str(r) for r in range(1, 41)]
    created = [line for line in lines if line["status"] == "created"]
    assert len(created) == len(by_id) == 38
    for line in created:
        assert by_id[line["customer_id"]]["lastName"] == f"Lee{line['row']}"
        assert (line["http_status"], line["attempts"], line["error"]) == ("201", "1", "")
    assert [(line["row"], line["error"]) for line in lines if line["status"] == "invalid"] == [
        ("4", "Email: not an email"),
        ("30", "First Name: too long"),
    ]
    assert uploader.tally.line() == "40 rows: 38 created, 2 invalid, 0 failed."
    assert uploader.tally.requests == 38


async def test_api_400s_fail_the_row_with_field_messages_and_log_ref(
    jobs: Callable[..., list[Job]], upload: Callable[..., Any], tmp_path: Path
) -> None:
    batches: list[list[Job]] = [[*jobs([1]), *jobs([2], firstName="A" * 41), *jobs([3])]]
    async with Sandbox() as box:
        _, lines = await upload(box, batches, tmp_path / "r.csv")
    failed = lines[1]
    assert (failed["status"], failed["http_status"], failed["attempts"]) == ("failed", "400", "1")
    assert failed["error"].startswith("Bad request: firstName: ")
    assert failed["log_ref"].count("#") == 1
    assert [line["status"] for line in lines] == ["created", "failed", "created"]


async def test_500_and_503_are_retried_to_success(
    jobs: Callable[..., list[Job]], upload: Callable[..., Any], tmp_path: Path
) -> None:
    config = SandboxConfig(fail_rate=0.3, seed=7)
    async with Sandbox(config) as box:
        uploader, lines = await upload(box, [jobs(range(1, 41))], tmp_path / "r.csv")
        stats = box.state.stats
    assert {line["status"] for line in lines} == {"created"}
    assert len(box.state.customers) == 40
    faults = stats["POST", "/v2/customers", 500] + stats["POST", "/v2/customers", 503]
    assert faults > 5
    assert sum(int(line["attempts"]) for line in lines) == 40 + faults
    assert uploader.tally.requests == 40 + faults


async def test_each_row_is_marked_in_the_ledger_before_its_create_leaves(
    jobs: Callable[..., list[Job]], upload: Callable[..., Any], tmp_path: Path
) -> None:
    """The sandbox reads the ledger (another connection: only what was committed) as each create
    arrives: the row is already there, in flight."""
    path = tmp_path / "r.csv"
    seen: list[tuple[str, str]] = []

    @web.middleware
    async def peek(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "POST" and request.path == "/v2/customers":
            email = (await request.json())["emails"][0]["value"]
            seen.append((email, ledger_rows(path).get(email, ("absent", None))[0]))
        return await handler(request)

    box = Sandbox()
    box.app.middlewares.insert(0, peek)
    async with box:
        _, lines = await upload(box, [jobs(range(1, 6)), jobs(range(6, 31))], path, concurrency=8)
    assert sorted(email for email, _ in seen) == sorted(f"ann.lee{r}@example.com" for r in
                                                         range(1, 31))  # fmt: skip
    assert {status for _, status in seen} == {"in_flight"}
    assert ledger_rows(path) == {
        f"ann.lee{line['row']}@example.com": ("created", line["customer_id"]) for line in lines
    }


async def test_403_stops_the_run_and_every_row_read_gets_its_line(
    jobs: Callable[..., list[Job]],
    upload: Callable[..., Any],
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
) -> None:
    batches: list[list[Job]] = [[*jobs(range(1, 20)), Job(20, {}, "", valid=False)]]
    async with Sandbox(SandboxConfig(deny_api=True)) as box:
        with pytest.raises(AuthError, match="HTTP 403 Access denied"):
            await upload(box, batches, tmp_path / "r.csv")
    lines = read_rows(tmp_path / "r.csv")
    assert [line["row"] for line in lines] == [str(r) for r in range(1, 21)]
    refused = [line for line in lines[:19] if line["http_status"] == "403"]
    assert refused and all(
        line["error"].startswith("Access denied: Help Scout denies this account access")
        and line["log_ref"]
        and line["attempts"] == "1"
        for line in refused
    )
    errors = {line["error"] for line in lines[:19] if line not in refused}
    assert errors <= {CUT_OFF, NOT_SENT} and NOT_SENT in errors
    assert all(line["attempts"] == "0" and line["status"] == "not_sent"
               for line in lines[:19] if line["error"] == NOT_SENT)  # fmt: skip
    assert lines[19]["status"] == "invalid"
    # rows cut off in flight stay in flight: the resumed run looks them up before sending
    # them; rows refused with the 403, and marked rows no request left for, are settled as
    # not created: the resumed run sends them as new rows
    kept = ledger_rows(tmp_path / "r.csv")
    state = {line["row"]: kept.get(f"ann.lee{line['row']}@example.com") for line in lines[:19]}
    assert {state[x["row"]] for x in refused} == {("failed", None)}
    assert {state[x["row"]] for x in lines[:19] if x["error"] == CUT_OFF} <= {("in_flight", None)}
    assert {state[x["row"]] for x in lines[:19] if x["error"] == NOT_SENT} <= {("failed", None),
                                                                               None}  # fmt: skip


async def test_a_token_refused_at_the_start_leaves_every_row_not_sent(
    jobs: Callable[..., list[Job]],
    upload: Callable[..., Any],
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
) -> None:
    """No request left for any row: none may "have been created"."""
    async with Sandbox() as box:
        wrong = Credentials(box.app_id, "not-the-s3cret")
        with pytest.raises(AuthError, match="Bad client credentials"):
            await upload(box, [jobs(range(1, 9))], tmp_path / "r.csv", wrong)
    lines = read_rows(tmp_path / "r.csv")
    assert [(line["status"], line["error"], line["attempts"]) for line in lines] == [
        ("not_sent", NOT_SENT, "0")
    ] * 8


async def test_a_run_with_no_answers_stops_and_creates_nobody_twice(
    jobs: Callable[..., list[Job]],
    upload: Callable[..., Any],
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
) -> None:
    """Every connection drops after the work: each create is looked up (the look-ups drop too),
    never sent again, and after LOST_IN_A_ROW such rows the run gives up."""
    async with Sandbox(SandboxConfig(drop_rate=1.0)) as box:
        with pytest.raises(RunStopped, match=f"{LOST_IN_A_ROW} rows in a row got no certain"):
            await upload(box, [jobs(range(1, 100))], tmp_path / "r.csv", concurrency=2)
        creates = box.state.stats["POST", "/v2/customers", "dropped"]
        emails = [c["emails"][0]["value"] for c in box.state.customers.values()]
    lines = read_rows(tmp_path / "r.csv")
    assert len(emails) == len(set(emails)) == creates >= LOST_IN_A_ROW
    assert [line["row"] for line in lines] == [str(r) for r in range(1, 100)]
    sent = [line for line in lines if line["status"] != "not_sent"]
    assert {line["status"] for line in sent} == {"failed"} and len(sent) >= LOST_IN_A_ROW
    assert {line["attempts"] for line in lines if line not in sent} == {"0"}
    assert "looking it up failed" in lines[0]["error"]
    assert ledger_by_status(tmp_path / "r.csv", lines) == {
        "failed": {("in_flight", None)}, "not_sent": {("failed", None), None}}  # fmt: skip


async def test_the_pace_comes_from_the_pacer(
    jobs: Callable[..., list[Job]], tmp_path: Path
) -> None:
    """--rate 600 with a one-second bucket: 12 creates take at least (24 - 9.8) / 9.8 s."""
    async with Sandbox() as box:
        client = HelpScoutClient(box.url, Credentials(box.app_id, box.app_secret), pacer=Pacer(600))
        with ResultsWriter(tmp_path / "r.csv") as results:
            async with client:
                with Ledger.open(tmp_path / "state.sqlite", source="x.csv") as ledger:
                    ledger.begin_run("fp")
                    uploader = Uploader(client, results, ledger, concurrency=6)
                    tally = await uploader.run([jobs(range(1, 13))])
    assert tally.created == 12
    assert tally.seconds >= (24 - 9.8) / 9.8


def searches(box: Sandbox) -> int:
    return sum(n for (method, route, _), n in box.state.stats.items()
               if (method, route) == ("GET", "/v2/customers"))  # fmt: skip


def held_ids(box: Sandbox) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for customer in box.state.customers.values():
        found.setdefault(customer["emails"][0]["value"], []).append(str(customer["id"]))
    return found


async def test_creates_without_a_certain_answer_are_looked_up_not_sent_again(
    jobs: Callable[..., list[Job]],
    upload: Callable[..., Any],
    tmp_path: Path,
) -> None:
    """504 after the work, connections dropped after it: the customers are found, in one or two
    searches shared by the workers, and nobody is created twice."""
    config = SandboxConfig(schedule={2: "504", 3: "drop", 4: "504", 6: "drop"})
    async with Sandbox(config) as box:
        uploader, lines = await upload(box, [jobs(range(1, 13))], tmp_path / "r.csv")
        held = held_ids(box)
        creates = box.state.creates_seen
        looked = searches(box)
    assert creates == 12
    assert [[line["customer_id"]] for line in lines] == [held[f"ann.lee{r}@example.com"]
                                                         for r in range(1, 13)]  # fmt: skip
    assert {line["status"] for line in lines} == {"created"}
    assert 1 <= looked <= 2 and uploader.tally.lookups == looked
    assert set(ledger_rows(tmp_path / "r.csv").values()) == {
        ("created", line["customer_id"]) for line in lines
    }


async def test_a_create_sent_again_after_an_empty_look_up(
    jobs: Callable[..., list[Job]], upload: Callable[..., Any], tmp_path: Path
) -> None:
    """A 502 from a gateway that never reached Help Scout: nobody has the email, so the row is
    sent again, once."""
    refused: list[str] = []

    @web.middleware
    async def bad_gateway_once(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "POST" and request.path == "/v2/customers" and not refused:
            refused.append(request.path)
            return web.json_response({"message": "Bad gateway"}, status=502)
        return await handler(request)

    box = Sandbox()
    box.app.middlewares.insert(0, bad_gateway_once)
    async with box:
        _, lines = await upload(box, [jobs([1])], tmp_path / "r.csv")
        held = held_ids(box)
    assert (lines[0]["status"], lines[0]["attempts"]) == ("created", "2")
    assert held == {"ann.lee1@example.com": [lines[0]["customer_id"]]}


@pytest.mark.parametrize("body", [[1, 2], {"page": "one"}, {"_embedded": {"customers": [7]}}])
async def test_a_malformed_search_answer_fails_the_rows_and_the_run_ends(
    jobs: Callable[..., list[Job]], upload: Callable[..., Any], tmp_path: Path, body: Any
) -> None:
    """The look-ups (in planning, then by the workers) get an answer that is no search result:
    every row ends failed saying so, nothing is created, and the run does not hang."""

    @web.middleware
    async def malformed(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "GET" and request.path == "/v2/customers":
            return web.json_response(body)
        return await handler(request)

    box = Sandbox()
    box.app.middlewares.insert(0, malformed)
    async with box:
        running = upload(box, [jobs(range(1, 6))], tmp_path / "r.csv",
                         policy=Policy(check_existing=True))  # fmt: skip
        uploader, lines = await asyncio.wait_for(running, 30)
        created = len(box.state.customers)
    assert [line["status"] for line in lines] == ["failed"] * 5
    assert all(
        "looking it up failed (HTTP 200 Help Scout's search answer is malformed: " in line["error"]
        for line in lines
    )
    assert created == 0 and uploader.tally.failed == 5


def history(state: Path, entries: list[tuple[str, str, str | None, str]], ending: str) -> None:
    """An earlier run that left ``(key, status, customer_id, payload_hash)`` and ended so."""
    with Ledger.open(state, source="customers.csv") as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([(key, i, digest) for i, (key, _, _, digest) in enumerate(entries)])
        for key, status, customer_id, _ in entries:
            if status != "in_flight":
                error = "HTTP 400 Bad request" if status == "failed" else None
                ledger.settle(key, status=status, customer_id=customer_id, attempts=1,  # type: ignore[arg-type]
                              error=error)  # fmt: skip
        if ending == "finished":
            ledger.finish_run("finished")


@pytest.mark.parametrize(
    "ending, options, expected, requests",
    [
        # a re-run: unchanged rows cost nothing, the changed one is left alone, the failed and
        # the unknown ones are looked up first (one search), the new one created
        ("finished", {}, [("skipped", "unchanged", "A"), ("skipped", "changed", "B"),
                          ("created", "", "new"), ("created", "", "D"), ("created", "", "new")],
         {"search": 1, "get": 0, "create": 2, "patch": 0}),
        ("finished", {"on_existing": "update"},
         [("skipped", "unchanged", "A"), ("updated", "", "B"), ("created", "", "new"),
          ("created", "", "D"), ("created", "", "new")],
         {"search": 1, "get": 1, "create": 2, "patch": 1}),
        ("finished", {"retry_failed": True},
         [("skipped", "not-retried", "A"), ("skipped", "not-retried", "B"),
          ("created", "", "new"), ("created", "", "D"), ("skipped", "not-retried", "")],
         {"search": 1, "get": 0, "create": 1, "patch": 0}),
        # resuming: what the stopped run settled is reported as it ended; the unknown is looked up
        ("stopped", {}, [("created", "", "A"), ("created", "", "B"), ("failed", "", ""),
                         ("created", "", "D"), ("created", "", "new")],
         {"search": 1, "get": 0, "create": 1, "patch": 0}),
    ],
)  # fmt: skip
async def test_what_each_row_costs_depends_on_the_ledger(
    jobs: Callable[..., list[Job]],
    person: Callable[..., dict[str, Any]],
    upload: Callable[..., Any],
    tmp_path: Path,
    ending: str,
    options: dict[str, Any],
    expected: list,
    requests: dict,
) -> None:
    path = tmp_path / "r.csv"
    rows = jobs(range(1, 6))
    a, b, c, d, _ = rows
    async with Sandbox() as box:
        seeded = box.state.seed([person(1), person(2, firstName="Anne"), person(4)])
        ids = dict(zip("ABD", map(str, seeded), strict=True))
        history(former_state_path(path), [
            (a.key, "created", ids["A"], a.digest),
            (b.key, "created", ids["B"], "an older payload"),
            (c.key, "failed", None, c.digest),
            (d.key, "in_flight", None, d.digest),
        ], ending)  # fmt: skip
        box.state.stats.clear()
        _, lines = await upload(box, [list(rows)], path, policy=Policy(**options))
        held = held_ids(box)
        stats = box.state.stats
        counted = {
            "search": stats["GET", "/v2/customers", 200],
            "get": stats["GET", "/v2/customers/{id}", 200],
            "create": stats["POST", "/v2/customers", 201],
            "patch": stats["PATCH", "/v2/customers/{id}", 204],
        }
    got = [(x["status"], x["reason"], x["customer_id"]) for x in lines]
    named = {v: k for k, v in ids.items()}
    assert [(status, reason, named.get(cid, "new" if cid else "")) for status, reason, cid in got
            ] == expected  # fmt: skip
    assert counted == requests
    assert all(len(found) == 1 for found in held.values())
    if ending == "stopped":
        assert lines[2]["error"] == "HTTP 400 Bad request"


@pytest.mark.parametrize(
    "on_existing, outcome, writes",
    [("skip", ("skipped", "exists"), 0), ("update", ("updated", ""), 1)],
)
async def test_a_customer_found_to_exist_is_updated_on_a_later_run_only_on_request(
    jobs: Callable[..., list[Job]],
    person: Callable[..., dict[str, Any]],
    upload: Callable[..., Any],
    tmp_path: Path,
    on_existing: str,
    outcome: tuple[str, str],
    writes: int,
) -> None:
    path = tmp_path / "r.csv"
    job = jobs([1])[0]
    async with Sandbox() as box:
        customer_id = str(box.state.seed([person(1, firstName="Someone")])[0])
        history(former_state_path(path), [(job.key, "exists", customer_id, job.digest)],
                "finished")  # fmt: skip
        _, lines = await upload(box, [[job]], path, policy=Policy(on_existing))  # type: ignore[arg-type]
        patches = box.state.stats["PATCH", "/v2/customers/{id}", 204]
    assert (lines[0]["status"], lines[0]["reason"], lines[0]["customer_id"]) == (
        *outcome,
        customer_id,
    )
    assert patches == writes


async def test_a_stop_lets_requests_in_flight_finish_and_a_resume_completes(
    jobs: Callable[..., list[Job]],
    upload: Callable[..., Any],
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    async with Sandbox(SandboxConfig(latency_ms=60)) as box:
        stopper: list[Uploader] = []

        def progress(tally: Tally) -> None:
            if tally.created == 5 and not stopper[0].interrupted:
                stopper[0].stop()

        client = HelpScoutClient(box.url, Credentials(box.app_id, box.app_secret), retry=FAST)
        with Ledger.open(former_state_path(path), source="x.csv") as ledger:
            ledger.begin_run("fp")
            with ResultsWriter(path) as results:
                async with client:
                    uploader = Uploader(client, results, ledger, concurrency=4,
                                        progress=progress)  # fmt: skip
                    stopper.append(uploader)
                    with pytest.raises(RunStopped, match="interrupted"):
                        await uploader.run([jobs(range(1, 21)), jobs(range(21, 41))])
        stopped = read_rows(path)
        _, lines = await upload(box, [jobs(range(1, 21)), jobs(range(21, 41))], path)
        held = held_ids(box)
    assert [line["row"] for line in stopped] == [str(r) for r in range(1, len(stopped) + 1)]
    finished = [line for line in stopped if line["status"] == "created"]
    assert 8 <= len(finished) < 20  # the five, and those in flight at the stop
    assert {line["error"] for line in stopped if line["status"] == "not_sent"} == {NOT_SENT}
    assert all(line["status"] in ("created", "failed", "not_sent") for line in stopped)
    assert [line["status"] for line in lines] == ["created"] * 40
    assert all([line["customer_id"]] == held[f"ann.lee{line['row']}@example.com"]
               for line in lines)  # fmt: skip
    assert all(lines[int(x["row"]) - 1]["customer_id"] == x["customer_id"] for x in finished)


async def test_a_second_stop_cuts_requests_off_and_the_resume_looks_them_up(
    jobs: Callable[..., list[Job]],
    upload: Callable[..., Any],
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    async with Sandbox(SandboxConfig(latency_ms=300)) as box:
        client = HelpScoutClient(
            box.url, Credentials(box.app_id, box.app_secret), retry=FAST, pacer=Pacer(100_000)
        )  # all four creates leave at once
        with Ledger.open(former_state_path(path), source="x.csv") as ledger:
            ledger.begin_run("fp")
            with ResultsWriter(path) as results:
                async with client:
                    uploader = Uploader(client, results, ledger, concurrency=4)
                    running = asyncio.ensure_future(uploader.run([jobs(range(1, 11))]))
                    while box.state.tokens_issued == 0:
                        await asyncio.sleep(0.01)
                    await asyncio.sleep(0.1)  # the first creates are on their way
                    started = time.monotonic()
                    uploader.stop()
                    uploader.stop()
                    with pytest.raises(RunStopped, match="interrupted"):
                        await running
                    took = time.monotonic() - started
        stopped = read_rows(path)
        in_flight = ledger_rows(path)
        box.state.stats.clear()
        _, lines = await upload(box, [jobs(range(1, 11))], path)
        held = held_ids(box)
        looked = searches(box)
    assert took < 0.2  # no grace
    assert [line["error"] for line in stopped] == [CUT_OFF] * 4 + [NOT_SENT] * 6
    assert [line["status"] for line in stopped] == ["failed"] * 4 + ["not_sent"] * 6
    assert set(in_flight) == {f"ann.lee{r}@example.com" for r in range(1, 5)}
    assert set(in_flight.values()) == {("in_flight", None)}
    assert looked == 1  # the four marked rows, in one search, before any is sent again
    assert [line["status"] for line in lines] == ["created"] * 10
    assert all(len(ids) == 1 for ids in held.values()) and len(held) == 10


# --- figures -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "rate, workers", [(None, 16), (200, 6), (400, 9), (800, 16), (6000, 64), (10, 3)]
)
def test_default_concurrency(rate: float | None, workers: int) -> None:
    assert default_concurrency(rate) == workers


def test_tally_line() -> None:
    tally = Tally(rows=1200, created=1000, updated=3, invalid=190, failed=7)
    assert tally.line() == "1,200 rows: 1,000 created, 3 updated, 190 invalid, 7 failed."


@pytest.mark.parametrize(
    "figures, postfix",
    [
        ({"requests": 120, "seconds": 60}, "3 created, 1 failed, 120 req/min"),  # no limit
        ({"pace": 1058.4, "limit": 1200}, "3 created, 1 failed, pace 1,058/min of 1,200"),
        ({"pace": 588.0}, "3 created, 1 failed, pace 588/min"),  # --rate, no headers
        ({"pace": 705.6, "limit": 1200, "yielding": True, "others_share": 0.306},
         "3 created, 1 failed, pace 706/min of 1,200, yielding: others use 31%"),
        ({"pace": 529.2, "limit": 1200, "slowed": True},
         "3 created, 1 failed, pace 529/min of 1,200, slowed by a 429"),
    ],
)  # fmt: skip
def test_progress_postfix(figures: dict[str, Any], postfix: str) -> None:
    assert Tally(created=3, failed=1, **figures).postfix() == postfix


@pytest.mark.parametrize(
    "figures, line",
    [
        ({"requests": 32, "seconds": 0.4}, "32 requests in 1 s (0 answered 429)"),  # no rate
        ({"requests": 1, "seconds": 2}, "1 request in 2 s (0 answered 429)"),  # over seconds
        ({"requests": 40, "seconds": 12, "limit": 400, "budget_spent": 80, "others_peak": 0.2},
         "40 requests in 12 s (spent 80 of one minute's budget of 400, 20%; others used up to "
         "20%; 0 answered 429)"),  # not 100% of the budget (80 over 12 s is 400 a minute)
        ({"requests": 60, "seconds": 60, "limit": 400, "budget_spent": 120},
         "60 requests in 1 min (60 a minute, 30% of the budget of 400 a minute; 0 answered 429)"),
        ({"requests": 1180, "seconds": 125, "limit": 1200, "budget_spent": 2200,
          "others_peak": 0.31, "rate_limited": 2},
         "1,180 requests in 2 min 5 s (566 a minute, 88% of the budget of 1,200 a minute; "
         "others used up to 31%; 2 answered 429)"),
    ],
)  # fmt: skip
def test_pacing_line(figures: dict[str, Any], line: str) -> None:
    assert Tally(**figures).pacing_line() == line


def test_budget_used() -> None:
    assert Tally(seconds=120, budget_spent=2160, limit=1200).budget_used == pytest.approx(0.9)
    assert Tally(seconds=120, budget_spent=2160).budget_used is None
