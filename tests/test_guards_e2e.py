"""Issue 17's guards that other tests meet only below the CLI, end to end against the sandbox:
the writer's lease inside the state, an export that grows while the run reads it, and a capped
``Retry-After``. Other processes are real (``python -m importer``, ``python -c``)."""

from __future__ import annotations

import csv
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from importer.sandbox import Sandbox
from importer.send.ledger import Lease, Ledger, claim_writer

ROOT = Path(__file__).resolve().parent.parent
MAPPING = "customer:\n  firstName: Name\n  emails:\n    - {column: Email, type: work}\n"
Invoke = Callable[..., Result]
Env = Callable[..., dict[str, str | None]]
Rows = Callable[[Path], list[dict[str, str]]]

# Another machine's import holding the state's lease, as met on a network filesystem whose
# flock does not reach this one: the lease is claimed, no flock is taken.
HOLD_THE_LEASE = """
import sqlite3, sys, time
from pathlib import Path
from importer.send.ledger import Lease, claim_writer
state = Path(sys.argv[1])
claim_writer(sqlite3.connect(state, isolation_level=None), state, Lease.mine())
print("ready", flush=True)
time.sleep(60)
"""


def write_people(path: Path, names: list[str]) -> Path:
    """Invented people, one a row: ``Name,Email``."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Name", "Email"])
        writer.writerows([name.title(), f"{name}@example.com"] for name in names)
    return path


def emails(box: Sandbox) -> Counter[str]:
    """Each email the sandbox's customers hold, with how many customers hold it."""
    return Counter(e["value"] for c in box.state.customers.values() for e in c["emails"])


def ledger_rows(state: Path) -> list[tuple[str, str]]:
    """(key, status) of every row the state holds, as committed."""
    with sqlite3.connect(state) as db:
        return db.execute("SELECT key, status FROM rows ORDER BY row").fetchall()


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


# --- the writer's lease: SQLite refuses a second writer the flocks do not see -----------------
@pytest.fixture
def lease_holder(
    tmp_path: Path, process_env: Callable[..., dict[str, str]]
) -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Start a live process that holds a state's lease but none of its flocks; killed at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(state: Path) -> subprocess.Popen[str]:
        child = subprocess.Popen([sys.executable, "-c", HOLD_THE_LEASE, str(state)], cwd=ROOT,
                                 stdout=subprocess.PIPE, text=True, env=process_env())  # fmt: skip
        started.append(child)
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        return child

    yield start
    for child in started:
        child.kill()
        child.wait()
        assert child.stdout is not None
        child.stdout.close()


def test_a_live_writer_the_flocks_cannot_see_is_refused_by_the_lease_and_the_account_unchanged(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
    lease_holder: Callable[[Path], subprocess.Popen[str]],
    mapping: Path,
    tmp_path: Path,
) -> None:
    box = serve_sandbox()
    results, state = tmp_path / "results.csv", tmp_path / "s.sqlite"
    export = write_people(tmp_path / "export.csv", ["ann", "bob", "cy"])
    command = ("run", export, "-m", mapping, "-o", results, "--state", state)
    assert invoke(*command, env=sandbox_env(box)).exit_code == 0
    written, known = results.read_bytes(), ledger_rows(state)
    write_people(export, ["ann", "bob", "cy", "dee", "eve"])  # the next night's export

    holder = lease_holder(state)
    refused = invoke(*command, env=sandbox_env(box))
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr == (
        f"Error: another import (pid {holder.pid}) is using the state file {state}: wait for it "
        "to finish, or stop it\n"
    )
    assert emails(box) == Counter(f"{n}@example.com" for n in ("ann", "bob", "cy"))
    assert results.read_bytes() == written and ledger_rows(state) == known
    history = invoke("history", "--state", state)  # a reader beside the writer
    assert history.exit_code == 0, history.output

    holder.kill()  # killed without a word: its lease is left behind, and taken over
    holder.wait()
    again = invoke(*command, env=sandbox_env(box))
    assert again.exit_code == 0, again.output
    assert emails(box) == Counter(f"{n}@example.com" for n in ("ann", "bob", "cy", "dee", "eve"))


def test_a_lease_taken_on_another_machine_is_refused_until_cleared_as_the_message_says(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
    mapping: Path,
    tmp_path: Path,
) -> None:
    box = serve_sandbox()
    results, state = tmp_path / "results.csv", tmp_path / "s.sqlite"
    export = write_people(tmp_path / "export.csv", ["ann", "bob"])
    Ledger.open(state, source=str(export)).close()
    with sqlite3.connect(state, isolation_level=None) as db:
        claim_writer(db, state, Lease("nas-client-2", 4242, "t", "2026-12-07T01:00:00.000+00:00"))
    db.close()
    command = ("run", export, "-m", mapping, "-o", results, "--state", state)
    refused = invoke(*command, env=sandbox_env(box))
    assert refused.exit_code == 2
    clear = f"sqlite3 {state} 'DELETE FROM writer'"
    assert refused.stderr == (
        f"Error: another import (pid 4242 on nas-client-2, since 2026-12-07T01:00:00.000+00:00) "
        f"is using the state file {state}: wait for it to finish, or stop it; if it no longer "
        f"runs, clear its claim with: {clear}\n"
    )
    assert box.state.customers == {} and not results.exists()
    with sqlite3.connect(state) as db:
        db.execute("DELETE FROM writer")  # the claim cleared, as the message says
    db.close()
    assert invoke(*command, env=sandbox_env(box)).exit_code == 0
    assert emails(box) == Counter({"ann@example.com": 1, "bob@example.com": 1})


# --- an export that grows while the run reads it ----------------------------------------------
def test_an_export_still_being_written_stops_the_run_and_its_half_last_line_never_goes_out(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    faults: Callable[..., tuple[Any, list[Any]]],
    invoke: Invoke,
    read_rows: Rows,
    mapping: Path,
    tmp_path: Path,
) -> None:
    """A nightly run: last night's export went in whole; tonight's is still being written when
    the run opens it (its last line is ``zed@example.co``), and the rest arrives while the run
    asks the account who it is (the file opened, its rows not read yet)."""
    export = write_people(tmp_path / "growing.csv", ["ann", "bob", "cy"])

    def the_rest_arrives() -> None:
        with export.open("a", encoding="utf-8") as fh:
            fh.write("m\n")

    middleware, script = faults(
        dict(method="GET", path="/v2/users/me", action="delay"),  # last night: as it was
        dict(method="GET", path="/v2/users/me", action="delay", before=the_rest_arrives),
    )
    box = serve_sandbox(middlewares=[middleware])
    results, state = tmp_path / "results.csv", tmp_path / "s.sqlite"
    command = ("run", export, "-m", mapping, "-o", results, "--state", state)
    assert invoke(*command, env=sandbox_env(box)).exit_code == 0
    last_night = ledger_rows(state)

    write_people(export, ["ann", "bob", "cy", "dee"])
    with export.open("a", encoding="utf-8") as fh:
        fh.write("Zed,zed@example.co")
    stopped = invoke(*command, env=sandbox_env(box))
    assert [fault.met for fault in script] == [1, 1]
    assert stopped.exit_code == 3
    errors = [line for line in stopped.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1
    assert re.fullmatch(
        re.escape(f"Error: {export} changed while it was read (size=")
        + r"\d+ mtime_ns=\d+ at the start, size=\d+ mtime_ns=\d+ at the end\): "
        + re.escape(
            "it is still being written; the rows after the last ones sent were not imported. "
            "Wait until the export is complete, then run the same command"
        ),
        errors[0],
    ), errors
    assert "Traceback" not in stopped.output
    assert emails(box) == Counter(f"{n}@example.com" for n in ("ann", "bob", "cy"))
    assert read_rows(results) == []  # nothing of tonight's file was read to the end: none sent
    assert ledger_rows(state) == last_night

    done = invoke(*command, env=sandbox_env(box))  # the export is complete now
    assert done.exit_code == 0, done.output
    assert [line["status"] for line in read_rows(results)] == ["skipped"] * 3 + ["created"] * 2
    assert emails(box) == Counter(f"{n}@example.com" for n in ("ann", "bob", "cy", "dee", "zed"))


# --- a capped Retry-After ---------------------------------------------------------------------
class Lines:
    """The lines a child process writes to ``stream``, as they come (a thread reads them)."""

    def __init__(self, stream: Any) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self._lines.put(line)

    def next(self, starting: str, seconds: float = 5) -> str:
        """The next line that starts with ``starting``, within ``seconds`` (else it fails)."""
        while not (line := self._lines.get(timeout=seconds)).startswith(starting):
            pass
        return line

    def rest(self) -> list[str]:
        """The lines not taken yet, to the end of the stream (the child has ended)."""
        self._reader.join(10)
        return [self._lines.get() for _ in range(self._lines.qsize())]


def test_a_day_long_retry_after_is_said_capped_and_ctrl_c_leaves_every_row_to_the_next_run(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    process_env: Callable[..., dict[str, str]],
    faults: Callable[..., tuple[Any, list[Any]]],
    invoke: Invoke,
    read_rows: Rows,
    mapping: Path,
    tmp_path: Path,
) -> None:
    """Help Scout answers the first create 429 with ``Retry-After: 86400``: the run says so and
    waits 5 min, not a day; Ctrl-C (twice: stop at once) ends it cleanly, and the next run,
    the fault gone, creates each person once."""
    middleware, script = faults(dict(method="POST", path="/v2/customers", action="answer",
                                     status=429, headers={"Retry-After": "86400"},
                                     body={"message": "Too many requests"}))  # fmt: skip
    box = serve_sandbox(middlewares=[middleware])
    export = write_people(tmp_path / "export.csv", ["ann", "bob", "cy"])
    results, state = tmp_path / "results.csv", tmp_path / "s.sqlite"
    command = ("run", export, "-m", mapping, "-o", results, "--state", state, "--concurrency", 1)
    with subprocess.Popen(
        [sys.executable, "-m", "importer", *map(str, command)], cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=process_env(**sandbox_env(box)),
    ) as child:  # fmt: skip
        try:
            said = Lines(child.stderr)
            pause = said.next("Help Scout asked to pause")
            assert re.search(r"\b24 h\b.*\b5 min\b", pause), pause  # asked a day, waits 5 min
            child.send_signal(signal.SIGINT)
            said.next("Stopping: ")
            child.send_signal(signal.SIGINT)  # again: at once
            assert child.wait(timeout=10) == 3
        finally:
            child.kill()
        assert child.stdout is not None
        stdout, rest = child.stdout.read(), said.rest()
    assert stdout == (
        f"3 rows: 0 created, 0 invalid, 0 failed, 3 not sent.\nResults written to {results}\n"
    )
    assert [line for line in rest if line.startswith(("Error", "Interrupted"))] == [
        f"Interrupted: what finished is in {results} and {state}.\n"
    ]
    assert not any("Traceback" in line for line in rest)
    assert script[0].met == 1 and box.state.customers == {}
    assert [(line["row"], line["status"]) for line in read_rows(results)] == [
        ("1", "not_sent"), ("2", "not_sent"), ("3", "not_sent")
    ]  # fmt: skip

    again = invoke(*command, env=sandbox_env(box))  # the fault was met once: gone
    assert again.exit_code == 0, again.output
    assert [line["status"] for line in read_rows(results)] == ["created"] * 3
    assert emails(box) == Counter(f"{n}@example.com" for n in ("ann", "bob", "cy"))
