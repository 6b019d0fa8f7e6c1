"""The state's integrity: a damaged state, or one that knows less than the results file of its
import, stops ``run`` with exit 2 and says how to go on, instead of creating customers again."""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from importer.core.errors import ConfigError
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.ledger import Ledger, default_state_path

MAPPING = "customer:\n  firstName: Name\n  emails:\n    - {column: Email, type: work}\n"
GO_ON = (
    "restore the state file from a backup, or run with --check-existing, which looks every row "
    "up before creating it"
)


def write_people(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Name", "Email"])
        writer.writerows([f"Ann {i}", f"ann.{i}@example.com"] for i in range(rows))


def run(box: Sandbox, *args: object) -> Result:
    from importer.cli import main

    env = {"HELPSCOUT_API_URL": box.url, "HELPSCOUT_APP_ID": box.app_id,
           "HELPSCOUT_APP_SECRET": box.app_secret, "HELPSCOUT_ACCESS_TOKEN": None}  # fmt: skip
    return CliRunner().invoke(main, ["run", *map(str, args)], env=env)


def ids(results: Path) -> list[str]:
    with results.open(newline="", encoding="utf-8") as fh:
        return [line["customer_id"] for line in csv.DictReader(fh)]


def twice(box: Sandbox) -> int:
    emails = [e["value"] for c in box.state.customers.values() for e in c["emails"]]
    return len(emails) - len(set(emails))


@pytest.mark.parametrize("loss", ["deleted", "emptied"])
def test_a_lost_state_stops_the_run_and_check_existing_goes_on_without_doubles(
    tmp_path: Path, serve_sandbox: Callable[..., Sandbox], loss: str
) -> None:
    data, mapping, results = tmp_path / "in.csv", tmp_path / "m.yaml", tmp_path / "results.csv"
    write_people(data, 12)
    mapping.write_text(MAPPING, encoding="utf-8")
    box = serve_sandbox(SandboxConfig())
    state = default_state_path(results, mapping, box.url)
    first = run(box, data, "-m", mapping, "-o", results)
    assert first.exit_code == 0
    written, created = results.read_bytes(), ids(results)
    if loss == "deleted":
        state.unlink()
    else:
        state.write_bytes(b"")
    # told not to look (a new state would look up: the account holds customers), it stops
    refused = run(box, data, "-m", mapping, "-o", results, "--no-check-existing")
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr == (
        f"Error: the state file {state} does not know 12 customers that {results} lists (row 1: "
        f"customer {created[0]}, row 2: customer {created[1]}, row 3: customer {created[2]}, ...): "
        "it was deleted, emptied or damaged since, and importing now could create them again; "
        f"{GO_ON} (or, if results.csv is from another import, move it away)\n"
    )
    assert results.read_bytes() == written  # not overwritten
    for looking in (["--check-existing"], []):  # asked, or the importer's own choice
        checked = run(box, data, "-m", mapping, "-o", results, *looking)
        assert checked.exit_code == 0, checked.output
        assert checked.stdout.splitlines()[0] == (
            "12 rows: 0 created, 12 skipped, 0 invalid, 0 failed."
        )
        assert f"the state file {state} does not know 12 customers" in checked.stderr
        assert (len(box.state.customers), twice(box)) == (12, 0)
        state.unlink()


def test_a_state_restored_from_before_the_last_run_stops_it(
    tmp_path: Path, serve_sandbox: Callable[..., Sandbox]
) -> None:
    """Like a lost WAL: the state is whole, but older than the results file of its import."""
    data, mapping, results = tmp_path / "in.csv", tmp_path / "m.yaml", tmp_path / "results.csv"
    mapping.write_text(MAPPING, encoding="utf-8")
    box = serve_sandbox(SandboxConfig())
    state, old = default_state_path(results, mapping, box.url), tmp_path / "old.sqlite"
    write_people(data, 5)
    assert run(box, data, "-m", mapping, "-o", results).exit_code == 0
    shutil.copy(state, old)
    write_people(data, 9)
    assert run(box, data, "-m", mapping, "-o", results).exit_code == 0
    shutil.copy(old, state)
    created = ids(results)
    refused = run(box, data, "-m", mapping, "-o", results)
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        f"Error: the state file {state} does not know 4 customers that {results} lists (row 6: "
        f"customer {created[5]}, row 7: customer {created[6]}, row 8: customer {created[7]}, ...): "
    )
    assert (len(box.state.customers), twice(box)) == (9, 0)


def test_a_damaged_state_is_refused_on_open(tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    with Ledger.open(state, source="in.csv") as ledger:
        ledger.begin_run("fp")
        ledger.mark_in_flight([(f"k{i}" * 20, i, "h" * 64) for i in range(2000)])
        ledger.finish_run("finished")
    with sqlite3.connect(state) as db:  # checkpointed: everything in the main file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = state.stat().st_size
    with state.open("r+b") as fh:
        fh.seek(size // 2)
        fh.write(os.urandom(3000))
    with pytest.raises(ConfigError) as caught:
        Ledger.open(state, source="in.csv")
    message = str(caught.value)
    assert message.startswith(f"the state file {state} is damaged (")
    assert message.endswith(f"): importing now could create customers again; move it aside, "
                            f"then {GO_ON}")  # fmt: skip
