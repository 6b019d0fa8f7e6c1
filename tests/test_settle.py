"""A look-up that finds nobody is believed only once search has had time to catch up.

Help Scout's search is an index that may lag behind creates. After a create whose fate is
unknown, the row is sent again only when a look-up made at least ``settle_time`` seconds after
that create finds nobody (:func:`importer.send.decide.after_look_up`, a table here); the ledger
keeps what a later run needs to know when an earlier run's requests may have left.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from importer import ImportOptions, import_csv
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.auth import Credentials
from importer.send.decide import after_look_up
from importer.send.ledger import ALIVE_SLACK, Ledger

T = 1_000_000.0  # an unsure create ended at T


@pytest.mark.parametrize(
    "found, looked_at, unsure_since, settle, expected",
    [
        ("42", T + 0.1, T, 60, ("found", 0.0)),  # found: whenever it was looked up
        (None, T + 0.1, None, 60, ("create", 0.0)),  # no unsure create: a new row
        (None, T + 60, T, 60, ("create", 0.0)),  # looked up once search caught up
        (None, T + 90, T, 60, ("create", 0.0)),
        (None, T + 59.9, T, 60, ("wait", T + 60)),  # too soon: look again at T + 60
        (None, T - 5, T, 60, ("wait", T + 60)),  # a look-up from before the create
        (None, T, T, 0, ("create", 0.0)),  # settle time 0: believed at once
    ],
)
def test_after_look_up(
    found: str | None, looked_at: float, unsure_since: float | None, settle: float,
    expected: tuple[str, float],
) -> None:  # fmt: skip
    assert after_look_up(found, looked_at, unsure_since, settle) == expected


def stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


@pytest.mark.parametrize("ended", ["finished", "died", "no trace"])
def test_when_an_earlier_runs_requests_may_have_left(tmp_path: Path, ended: str) -> None:
    state = tmp_path / "s.sqlite"
    with Ledger.open(state, source="in.csv") as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("ann@example.com", 1, "h")])
        ledger.heartbeat()
        ledger.finish_run("finished")
    with Ledger.open(state, source="in.csv") as ledger:
        db = ledger._db  # what each kind of end leaves behind, written as it would be
        if ended == "finished":
            db.execute("UPDATE runs SET finished_at = ?, alive_at = ?", (stamp(T), stamp(T - 9)))
        elif ended == "died":
            db.execute("UPDATE runs SET finished_at = NULL, alive_at = ?", (stamp(T),))
        else:
            db.execute("UPDATE runs SET finished_at = NULL, alive_at = NULL")
        db.execute("UPDATE rows SET sent_at = ?", (stamp(T - 100),))
        entry = ledger.get_many(["ann@example.com"])["ann@example.com"]
        before = time.time()
        since = ledger.unsure_since(entry)
    if ended == "no trace":
        assert since >= before  # never too early: now
    else:
        assert since == pytest.approx(T + (ALIVE_SLACK if ended == "died" else 0), abs=0.01)


@pytest.mark.parametrize("settle, created", [(0, 2), (2.5, 1)], ids=["believed-at-once", "settled"])
def test_a_dropped_create_behind_a_lagging_search_is_created_once_only_with_a_settle_time(
    tmp_path: Path, serve_sandbox: Callable[..., Sandbox], settle: float, created: int
) -> None:
    """Row 1's create is carried out and its answer lost; search shows it 1.5 s later. Believing
    the look-up at once creates a twin (the issue's 38 of 272); waiting for it does not."""
    data, mapping, results = tmp_path / "in.csv", tmp_path / "m.yaml", tmp_path / "r.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["Name", "Email"], ["Ann", "ann@example.com"],
                                  ["Bob", "bob@example.com"]])  # fmt: skip
    mapping.write_text("customer:\n  firstName: Name\n  emails:\n    - {column: Email}\n")
    box = serve_sandbox(SandboxConfig(search_lag=1.5, schedule={1: "drop"}))
    heard: list[str] = []
    started = time.monotonic()
    result = import_csv(data, mapping, results,
                        ImportOptions(api_url=box.url, concurrency=1, settle_time=settle),
                        credentials=Credentials(box.app_id, box.app_secret),
                        notice=heard.append)  # fmt: skip
    took = time.monotonic() - started
    anns = [c for c in box.state.customers.values()
            if c["emails"][0]["value"] == "ann@example.com"]  # fmt: skip
    assert (result.created, result.failed, len(anns)) == (2, 0, created)
    with results.open(newline="", encoding="utf-8") as fh:
        assert next(csv.DictReader(fh))["customer_id"] == str(anns[-1]["id"])
    if settle:
        assert took >= settle  # the row waited (Bob went on meanwhile)
        assert [n for n in heard if n.startswith("waiting ")] == [
            "waiting 2 s for Help Scout's search to catch up on 1 row whose create got no "
            "certain answer (--settle-time 2.5); Ctrl-C leaves it in flight for the next run"
        ]
