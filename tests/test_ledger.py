"""The ledger: locking across processes, durability across SIGKILL, buffering, runs, refusals.

Real SQLite files in tmp_path; other processes are real (``sys.executable -c``), killed for real.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from importer.core.errors import ConfigError, RunStopped, StateLockedError
from importer.send.ledger import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Lease,
    Ledger,
    claim_writer,
    default_state_path,
    former_state_path,
    holder_alive,
    lease_verdict,
    payload_hash,
    process_identity,
)

ROOT = Path(__file__).resolve().parent.parent

# A child that takes the lock, marks two rows in flight, settles one (buffered, never committed),
# says "ready" and waits to be killed.
HOLD_AND_WAIT = """
import sys, time
from importer.send.ledger import Ledger
ledger = Ledger.open(sys.argv[1], source="customers.csv", settle_interval=3600)
ledger.begin_run("fp")
ledger.mark_in_flight([("a@example.com", 1, "h1"), ("b@example.com", 2, "h2")])
ledger.settle("a@example.com", status="created", customer_id="7", http_status=201, attempts=1)
print("ready", flush=True)
time.sleep(60)
"""

TRY_OPEN = """
import sys
from importer.core.errors import StateLockedError
from importer.send.ledger import Ledger
try:
    Ledger.open(sys.argv[1], source="customers.csv")
except StateLockedError as exc:
    print(exc)
    sys.exit(2)
"""


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "results.state.sqlite"


@pytest.fixture
def holder(state: Path) -> Iterator[subprocess.Popen[str]]:
    """A live child process holding the state's lock, with two rows in flight."""
    child = subprocess.Popen(
        python(HOLD_AND_WAIT, str(state)), cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        yield child
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def kill9(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL


def on_disk(state: Path, key: str) -> tuple[str, str | None]:
    """(status, customer_id) as committed, read through a separate connection."""
    with sqlite3.connect(state) as db:
        return db.execute("SELECT status, customer_id FROM rows WHERE key = ?", (key,)).fetchone()


def run_statuses(state: Path) -> list[str]:
    with sqlite3.connect(state) as db:
        return [status for (status,) in db.execute("SELECT status FROM runs ORDER BY id")]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- locking ---------------------------------------------------------------------------------


def test_a_second_run_on_the_same_state_is_refused_naming_the_holders_pid(state: Path) -> None:
    with Ledger.open(state, source="customers.csv"):
        done = subprocess.run(
            python(TRY_OPEN, str(state)), cwd=ROOT, capture_output=True, text=True, check=False
        )
    assert done.returncode == 2, done.stderr
    assert done.stdout == (
        f"another import (pid {os.getpid()}) is using the state file {state}: "
        "wait for it to finish, or stop it\n"
    )


def test_the_lock_dies_with_a_sigkilled_holder_and_its_stale_file_blocks_nobody(
    state: Path, holder: subprocess.Popen[str]
) -> None:
    lock_file = state.with_name(state.name + ".lock")
    with pytest.raises(StateLockedError, match=rf"another import \(pid {holder.pid}\)"):
        Ledger.open(state, source="customers.csv")

    kill9(holder)
    assert lock_file.read_text() == f"{holder.pid}\n"  # left behind by the dead process

    with Ledger.open(state, source="customers.csv"):
        assert lock_file.read_text() == f"{os.getpid()}\n"


def test_the_lock_is_released_on_close(state: Path) -> None:
    Ledger.open(state, source="customers.csv").close()
    done = subprocess.run(python(TRY_OPEN, str(state)), cwd=ROOT, capture_output=True, check=False)
    assert done.returncode == 0, done.stdout


def test_an_unlocked_reader_can_inspect_a_state_in_use(state: Path) -> None:
    with Ledger.open(state, source="customers.csv") as running:
        running.begin_run("fp")
        running.mark_in_flight([("a@example.com", 1, "h1")])
        with Ledger.open(state, source="customers.csv", lock=False) as reader:
            assert reader.counts()["in_flight"] == 1
        with Ledger.open(state, source="", readonly=True) as reader:  # what history opens
            assert [run.status for run in reader.history()] == ["running"]


# --- the writer's lease, inside the database ------------------------------------------------
HERE = Lease("laptop", 100, "t-here", "2026-12-07T01:00:00.000+00:00")


@pytest.mark.parametrize(
    ("found", "alive", "verdict"),
    [
        (None, False, "take"),
        (Lease("laptop", 200, "t-old", "2026-12-06T01:00:00.000+00:00"), False, "take"),
        (Lease("laptop", 200, "t-old", "2026-12-06T01:00:00.000+00:00"), True, "held"),
        # another machine's holder cannot be seen from here, alive or not
        (Lease("server", 200, "t-old", "2026-12-06T01:00:00.000+00:00"), False, "elsewhere"),
        (Lease("server", 100, "t-old", "2026-12-06T01:00:00.000+00:00"), True, "elsewhere"),
    ],
    ids=["none", "dead-holder-here", "live-holder-here", "other-host", "other-host-same-pid"],
)
def test_what_a_writer_does_with_the_lease_it_finds(
    found: Lease | None, alive: bool, verdict: str
) -> None:
    assert lease_verdict(found, HERE, alive) == verdict


def test_a_lease_names_a_live_holder_only_while_its_process_and_ledger_live(state: Path) -> None:
    mine = Lease.mine()
    assert (mine.pid, mine.process) == (os.getpid(), process_identity(os.getpid()))
    assert not holder_alive(mine)  # this pid, but no ledger open with its token
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert not holder_alive(dataclasses.replace(mine, pid=int(dead.stdout), token="t-dead"))
    parent = os.getppid()  # alive; a recorded start that is not its own: a pid reused since
    assert holder_alive(dataclasses.replace(mine, pid=parent, process=process_identity(parent)))
    assert not holder_alive(dataclasses.replace(mine, pid=parent, process="boot:1"))
    with Ledger.open(state, source="x.csv"), sqlite3.connect(state) as db:
        row = db.execute("SELECT host, pid, token, started_at, process FROM writer").fetchone()
        assert row[1] == os.getpid() and holder_alive(Lease(*row))
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM writer").fetchone() == (0,)  # cleared on close


def test_a_lease_from_another_host_refuses_a_writer_until_it_is_cleared(state: Path) -> None:
    Ledger.open(state, source="x.csv").close()
    db = sqlite3.connect(state, isolation_level=None)
    claim_writer(db, state, Lease("server-2", 4242, "t-2", "2026-12-07T01:00:00.000+00:00"))
    with pytest.raises(StateLockedError) as refused:
        Ledger.open(state, source="x.csv")
    assert str(refused.value) == (
        f"another import (pid 4242 on server-2, since 2026-12-07T01:00:00.000+00:00) is using "
        f"the state file {state}: wait for it to finish, or stop it; if it no longer runs, clear "
        f"its claim with: sqlite3 {state} 'DELETE FROM writer'"
    )
    with pytest.raises(StateLockedError, match="pid 4242 on server-2"):
        claim_writer(db, state, Lease.mine())  # SQLite's transaction, not the flock, refuses
    db.execute("DELETE FROM writer")  # what the message says to do
    db.close()
    Ledger.open(state, source="x.csv").close()


def test_a_claim_sqlite_cannot_make_is_one_clear_refusal(state: Path) -> None:
    """A writer mid-transaction (SQLite's lock, met at once here: timeout 0) is another import;
    a state SQLite cannot write is unusable, never a traceback."""
    Ledger.open(state, source="x.csv").close()
    writing = sqlite3.connect(state, isolation_level=None)
    writing.execute("BEGIN IMMEDIATE")
    second = sqlite3.connect(state, timeout=0, isolation_level=None)
    with pytest.raises(StateLockedError, match=f"another import is writing the state file {state}"):
        claim_writer(second, state, Lease.mine())
    for db in (second, writing):
        db.close()
    read_only = sqlite3.connect(f"{state.as_uri()}?mode=ro", uri=True, isolation_level=None)
    with pytest.raises(ConfigError, match=r"cannot be used \(attempt to write a readonly"):
        claim_writer(read_only, state, Lease.mine())
    read_only.close()


def test_a_lease_left_by_a_killed_writer_is_taken_over(
    state: Path, holder: subprocess.Popen[str]
) -> None:
    kill9(holder)
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT pid FROM writer").fetchone() == (holder.pid,)
    with Ledger.open(state, source="customers.csv"), sqlite3.connect(state) as db:
        assert db.execute("SELECT pid FROM writer").fetchone() == (os.getpid(),)


# --- durability ------------------------------------------------------------------------------


def test_in_flight_marks_survive_a_sigkill_and_buffered_settles_are_lost_to_reconciliation(
    state: Path, holder: subprocess.Popen[str]
) -> None:
    kill9(holder)

    with Ledger.open(state, source="customers.csv") as ledger:
        run = ledger.begin_run("fp")
        assert [(e.key, e.row, e.payload_hash) for e in ledger.in_flight()] == [
            ("a@example.com", 1, "h1"),
            ("b@example.com", 2, "h2"),
        ]
        assert run.resuming
        assert run.previous is not None
        assert (run.previous.status, run.previous.pid) == ("running", holder.pid)
    assert run_statuses(state) == ["stopped", "stopped"]


def test_settles_are_buffered_until_the_batch_is_full(state: Path) -> None:
    keys = ["a@example.com", "b@example.com", "c@example.com"]
    with Ledger.open(state, source="x.csv", settle_batch=3, clock=FakeClock()) as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([(key, row, "h") for row, key in enumerate(keys, 1)])
        ledger.settle(keys[0], status="created", customer_id="1", attempts=1)
        ledger.settle(keys[1], status="created", customer_id="2", attempts=1)
        assert [on_disk(state, key) for key in keys] == [("in_flight", None)] * 3

        ledger.settle(keys[2], status="created", customer_id="3", attempts=1)
        assert [on_disk(state, key) for key in keys] == [
            ("created", "1"),
            ("created", "2"),
            ("created", "3"),
        ]


def test_settles_are_committed_once_the_interval_has_passed(state: Path) -> None:
    clock = FakeClock()
    with Ledger.open(state, source="x.csv", settle_interval=1.0, clock=clock) as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("a@example.com", 1, "h"), ("b@example.com", 2, "h")])
        clock.now += 0.5
        ledger.settle("a@example.com", status="created", customer_id="1", attempts=1)
        assert on_disk(state, "a@example.com") == ("in_flight", None)

        clock.now += 0.5
        ledger.settle("b@example.com", status="failed", http_status=400, error="bad", attempts=1)
        assert on_disk(state, "a@example.com") == ("created", "1")
        assert on_disk(state, "b@example.com") == ("failed", None)


def test_close_commits_buffered_settles_and_records_an_unfinished_run_as_stopped(
    state: Path,
) -> None:
    with Ledger.open(state, source="x.csv", clock=FakeClock()) as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("a@example.com", 1, "h")])
        ledger.settle("a@example.com", status="created", customer_id="9", attempts=1)
        assert on_disk(state, "a@example.com") == ("in_flight", None)
    assert on_disk(state, "a@example.com") == ("created", "9")
    assert run_statuses(state) == ["stopped"]


def test_marking_in_flight_commits_the_buffered_settles_with_it(state: Path) -> None:
    with Ledger.open(state, source="x.csv", clock=FakeClock()) as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("a@example.com", 1, "h")])
        ledger.settle("a@example.com", status="created", customer_id="9", attempts=1)
        ledger.mark_in_flight([("b@example.com", 2, "h")])
        assert on_disk(state, "a@example.com") == ("created", "9")
        assert on_disk(state, "b@example.com") == ("in_flight", None)


def test_reads_see_buffered_settles(state: Path) -> None:
    with Ledger.open(state, source="x.csv", clock=FakeClock()) as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("a@example.com", 1, "h"), ("b@example.com", 2, "h")])
        ledger.settle("a@example.com", status="created", customer_id="9", attempts=1)
        ledger.settle("b@example.com", status="failed", http_status=500, error="boom", attempts=3)
        assert ledger.get_many(["a@example.com"])["a@example.com"].customer_id == "9"
        assert ledger.in_flight() == []
        assert [(e.key, e.http_status, e.last_error, e.attempts) for e in ledger.failed()] == [
            ("b@example.com", 500, "boom", 3)
        ]
        counts = ledger.counts()
        assert (counts["created"], counts["failed"], counts["in_flight"]) == (1, 1, 0)
        assert sum(counts.values()) == 2


def test_a_full_disk_stops_the_run_and_keeps_what_was_committed(state: Path) -> None:
    with Ledger.open(state, source="x.csv") as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("a@example.com", 1, "h")])
        # The only way to fill a disk from a test: cap the database at its present size.
        pages = ledger._db.execute("PRAGMA page_count").fetchone()[0]
        ledger._db.execute(f"PRAGMA max_page_count = {pages}")
        many = [(f"{i}-{'x' * 60}@example.com", i, "h" * 64) for i in range(2, 2000)]
        with pytest.raises(RunStopped, match=r"cannot write the state file .*disk is full"):
            ledger.mark_in_flight(many)
        ledger._db.execute("PRAGMA max_page_count = 1000000")
        assert [e.key for e in ledger.in_flight()] == ["a@example.com"]


# --- rows ------------------------------------------------------------------------------------


def test_get_many_answers_for_more_keys_than_one_query_takes(state: Path) -> None:
    keys = [f"person{i}@example.com" for i in range(1234)]
    with Ledger.open(state, source="x.csv") as ledger:
        ledger.begin_run("fp")
        for start in range(0, len(keys), 32):
            ledger.mark_in_flight(
                [(key, i + 1, f"h{i}") for i, key in enumerate(keys[start : start + 32], start)]
            )
        asked = [*keys, "nobody@example.com", "ghost@example.com"]
        random.Random(1).shuffle(asked)
        found = ledger.get_many(asked)
    assert sorted(found) == sorted(keys)
    assert all(
        found[key].row == i + 1 and found[key].payload_hash == f"h{i}" for i, key in enumerate(keys)
    )


def test_marking_again_keeps_the_customer_id_and_the_hash_help_scout_has(state: Path) -> None:
    with Ledger.open(state, source="x.csv") as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("a@example.com", 1, "old")])
        ledger.settle("a@example.com", status="created", customer_id="7", attempts=1)
        ledger.mark_in_flight([("a@example.com", 5, "new")])
        entry = ledger.get_many(["a@example.com"])["a@example.com"]
        assert (entry.status, entry.customer_id, entry.row, entry.payload_hash) == (
            "in_flight",
            "7",
            5,
            "old",
        )

        ledger.settle("a@example.com", status="failed", error="HTTP 500", row=6, attempts=1)
        entry = ledger.get_many(["a@example.com"])["a@example.com"]
        assert (entry.status, entry.last_error, entry.row, entry.payload_hash) == (
            "failed",
            "HTTP 500",
            6,
            "old",
        )
        ledger.settle("a@example.com", status="updated", payload_hash="newer", attempts=2)
        entry = ledger.get_many(["a@example.com"])["a@example.com"]
        assert (entry.status, entry.customer_id, entry.payload_hash, entry.attempts) == (
            "updated",
            "7",
            "newer",
            2,
        )


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        ("stranger@example.com", "created", "never marked in flight"),
        ("a@example.com", "in_flight", "cannot settle 'a@example.com' as 'in_flight'"),
    ],
)
def test_settle_refuses_unknown_keys_and_statuses(
    state: Path, key: str, status: str, message: str
) -> None:
    with Ledger.open(state, source="x.csv") as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("a@example.com", 1, "h")])
        with pytest.raises(ValueError, match=message):
            ledger.settle(key, status=status, attempts=1)  # type: ignore[arg-type]


def test_writing_rows_needs_a_run(state: Path) -> None:
    with (
        Ledger.open(state, source="x.csv") as ledger,
        pytest.raises(RuntimeError, match="begin_run"),
    ):
        ledger.mark_in_flight([("a@example.com", 1, "h")])


# --- runs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ending", "resuming"),
    [("finished", False), ("stopped", True), ("close", True), (None, False)],
)
def test_a_run_resumes_only_after_an_unfinished_one(
    state: Path, ending: str | None, resuming: bool
) -> None:
    if ending is not None:
        with Ledger.open(state, source="x.csv") as first:
            first.begin_run("fp")
            if ending != "close":
                first.finish_run(ending)  # type: ignore[arg-type]
    with Ledger.open(state, source="x.csv") as ledger:
        run = ledger.begin_run("fp")
        assert run.resuming is resuming
        assert run.continues == ((1,) if resuming else ())
        assert (run.previous is None) is (ending is None)


def test_a_resumed_import_owns_the_rows_of_every_run_it_continues(state: Path) -> None:
    script = [("finished", "a@example.com"), ("stopped", "b@example.com"), (None, "c@example.com")]
    for ending, key in script:
        with Ledger.open(state, source="x.csv") as ledger:
            ledger.begin_run("fp")
            ledger.mark_in_flight([(key, 1, "h")])
            ledger.settle(key, status="created", customer_id=key[0], attempts=1)
            if ending:
                ledger.finish_run(ending)  # type: ignore[arg-type]

    with Ledger.open(state, source="x.csv") as ledger:
        run = ledger.begin_run("fp")
        entries = ledger.get_many(["a@example.com", "b@example.com", "c@example.com"])
    assert run.continues == (3, 2)
    assert {key: run.owns(entry) for key, entry in entries.items()} == {
        "a@example.com": False,
        "b@example.com": True,
        "c@example.com": True,
    }


def test_the_state_remembers_its_source_and_accepts_another(state: Path) -> None:
    with Ledger.open(state, source="export-may.csv") as ledger:
        ledger.begin_run("fp-may")
    with Ledger.open(state, source="export-june.csv") as ledger:
        run = ledger.begin_run("fp-june")
        assert ledger.source == "export-may.csv"
    assert (run.source, run.source_fingerprint) == ("export-june.csv", "fp-june")
    assert run.previous is not None
    assert (run.previous.source, run.previous.source_fingerprint) == ("export-may.csv", "fp-may")


# --- the file --------------------------------------------------------------------------------


def test_the_schema_version_is_recorded_and_the_journal_is_wal(state: Path) -> None:
    Ledger.open(state, source="x.csv").close()
    with sqlite3.connect(state) as db:
        meta = dict(db.execute("SELECT name, value FROM meta"))
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["application"] == "helpscout-importer"
    assert journal == "wal"
    with Ledger.open(state, source="x.csv") as ledger:
        assert ledger.schema_version == SCHEMA_VERSION


def test_a_state_from_a_newer_version_is_refused(state: Path) -> None:
    Ledger.open(state, source="x.csv").close()
    with sqlite3.connect(state) as db:
        db.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(ConfigError, match=r"newer helpscout-importer .*: upgrade"):
        Ledger.open(state, source="x.csv")


def sqlite_of_another_app(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (email TEXT)")
    db.close()


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda p: p.write_text("row,status\n1,created\n"), "is not an importer state file"),
        (lambda p: p.write_bytes(random.Random(2).randbytes(8192)), "is not an importer state"),
        (sqlite_of_another_app, "is an SQLite database but not an importer state file"),
        (lambda p: p.mkdir(), "cannot be used"),
    ],
    ids=["csv", "random-bytes", "other-sqlite", "directory"],
)
def test_a_file_that_is_not_a_state_is_refused_and_left_alone(
    state: Path, make: Callable[[Path], object], why: str
) -> None:
    make(state)
    before = state.read_bytes() if state.is_file() else None
    with pytest.raises(ConfigError) as caught:
        Ledger.open(state, source="x.csv")
    message = str(caught.value)
    assert message.startswith(f"{state} {why}")
    assert message.endswith(": choose another --state path")
    assert "\n" not in message
    if before is not None:
        assert state.read_bytes() == before
    # The refusal released the lock: another process can take it.
    done = subprocess.run(python(TRY_OPEN, str(state)), cwd=ROOT, capture_output=True, check=False)
    assert b"another import" not in done.stdout


# --- helpers ---------------------------------------------------------------------------------


def test_payload_hash_is_canonical_json_whatever_the_key_order() -> None:
    one = {"firstName": "Zoë", "emails": [{"type": "work", "value": "z@example.com"}], "age": 3}
    two = {"age": 3, "emails": [{"value": "z@example.com", "type": "work"}], "firstName": "Zoë"}
    canonical = '{"age":3,"emails":[{"type":"work","value":"z@example.com"}],"firstName":"Zoë"}'
    assert payload_hash(one) == payload_hash(two)
    assert payload_hash(one) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert payload_hash(one) != payload_hash({**one, "age": 4})


def test_payload_hash_refuses_nan() -> None:
    with pytest.raises(ValueError):
        payload_hash({"seats": float("nan")})


@pytest.mark.parametrize(
    ("results", "name", "api_url", "expected"),
    [
        ("results.csv", "mapping.yaml", "https://api.helpscout.net",
         "mapping.api.helpscout.net.state.sqlite"),
        ("out/results-2026-12-07.csv", "maps/crm.yaml", "https://api.helpscout.net",
         "out/crm.api.helpscout.net.state.sqlite"),
        ("results.csv", "mapping.yaml", "http://127.0.0.1:8080",
         "mapping.127.0.0.1-8080.state.sqlite"),
        ("results.csv", "mapping.yaml", "http://127.0.0.1:8081",
         "mapping.127.0.0.1-8081.state.sqlite"),
        ("results.csv", "mapping.yaml", "http://[::1]:8080", "mapping.__1-8080.state.sqlite"),
        ("results", "export-2026-12-06.csv", "https://api.helpscout.net",
         "export-2026-12-06.api.helpscout.net.state.sqlite"),
    ],
)  # fmt: skip
def test_the_default_state_is_named_after_the_mapping_and_the_destination(
    results, name, api_url, expected
) -> None:
    """Beside the results, named after the import, not the export's (dated) name; a rehearsal
    against a sandbox never shares the real account's state, nor another sandbox's."""
    assert default_state_path(results, name, api_url) == Path(expected)


@pytest.mark.parametrize(
    ("results", "source", "expected"),
    [
        ("out/results-2026-11-27.csv", "exports/customers.csv", "out/customers.state.sqlite"),
        ("results.csv", "export.tsv", "export.state.sqlite"),
        ("results.csv", None, "results.state.sqlite"),
    ],
)
def test_the_former_default_state_was_named_after_the_input(results, source, expected) -> None:
    """What earlier versions kept, still found by an existing cron job (see state_path_of)."""
    assert former_state_path(results, source) == Path(expected)


def test_a_read_only_state_plans_as_the_next_run_would_and_writes_nothing(tmp_path: Path) -> None:
    """``readonly`` (the dry run's plan): the next run's id and the unfinished runs it would
    resume, the entries, and not a byte written (not even the schema upgrade of an old state)."""
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as db:  # as the first version left it: a finished run, a stopped
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("application", "helpscout-importer"), ("schema_version", "1"), ("source", "in.csv")],
        )
        db.executemany(
            "INSERT INTO runs VALUES (?, 'now', NULL, 1, ?, 'in.csv', 'fp')",
            [(1, "finished"), (2, "stopped")],
        )
        db.execute("INSERT INTO rows VALUES ('ann@example.com', 1, 'h', 'in_flight', NULL, NULL,"
                   " 0, NULL, NULL, 2, 'now', 'now')")  # fmt: skip
    before = path.read_bytes()
    with Ledger.open(path, source="in.csv", readonly=True) as ledger:
        preview = ledger.preview_run("fp")
        assert (preview.id, preview.continues, preview.resuming) == (3, (2,), True)
        assert ledger.get_many(["ann@example.com"])["ann@example.com"].status == "in_flight"
        with pytest.raises(RuntimeError, match="opened read-only: nothing may be written"):
            ledger.begin_run("fp")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]
    with pytest.raises(ConfigError, match="does not exist: choose another --state path"):
        Ledger.open(tmp_path / "none.sqlite", source="in.csv", readonly=True)


def test_a_state_from_before_undo_learns_which_run_created_each_customer(tmp_path: Path) -> None:
    """Schema 2 to 3: a row still ``created`` was created by the run that last wrote it; an
    updated one's creator is unknown (an undo keeps it anyway: it changed)."""
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as db:
        for step in MIGRATIONS[:2]:
            for statement in step:
                db.execute(statement)
        meta = [("application", "helpscout-importer"), ("schema_version", "2"), ("source", "x")]
        db.executemany("INSERT INTO meta VALUES (?, ?)", meta)
        db.execute("INSERT INTO runs (id, started_at, pid, status, source, source_fingerprint) "
                   "VALUES (1, 'now', 1, 'finished', 'in.csv', 'fp')")  # fmt: skip
        db.executemany("INSERT INTO rows (key, row, payload_hash, status, customer_id, run_id, "
                       "first_seen, updated) VALUES (?, ?, 'h', ?, ?, 1, 'now', 'now')",
                       [("a", 1, "created", "11"), ("b", 2, "updated", "12"),
                        ("c", 3, "exists", "13")])  # fmt: skip
    with Ledger.open(path, source="in.csv") as ledger:
        (imported,) = ledger.imports()
        assert (imported.runs, imported.created, imported.status) == ((1,), 1, "finished")
        assert ledger.undo_targets(imported.runs) == (1, 0)
        (created,) = ledger.undo_batch(0, 10)
    assert (created.customer_id, created.created_run, created.payload) == ("11", 1, None)


def test_a_created_settle_records_its_run_and_what_was_sent_once(state: Path) -> None:
    sent = {"firstName": "Ann", "emails": [{"type": "work", "value": "ann@example.com"}]}
    with Ledger.open(state, source="in.csv") as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([("ann@example.com", 1, payload_hash(sent))])
        ledger.settle("ann@example.com", status="created", customer_id="7", attempts=1,
                      payload=sent)  # fmt: skip
        ledger.finish_run("finished")
    with Ledger.open(state, source="in.csv") as ledger:  # a later import updates her
        ledger.begin_run("fp")
        ledger.mark_in_flight([("ann@example.com", 1, "newer")])
        ledger.settle("ann@example.com", status="updated", customer_id="7", attempts=2,
                      payload={"firstName": "Anne"})  # fmt: skip
        first, second = ledger.imports()
        assert (first.created, second.created) == (1, 0)
        ledger.undo_targets(first.runs)
        (created,) = ledger.undo_batch(0, 10)
    assert (created.created_run, created.status, created.run_id) == (1, "updated", 2)
    assert created.payload == sent
