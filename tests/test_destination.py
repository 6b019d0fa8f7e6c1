"""A state belongs to one destination, its lock holds whatever the path, and the default state
follows the import: the scenarios of issue 17 (part A), each against real sandboxes."""

from __future__ import annotations

import csv
import os
import stat
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from importer.core.errors import ConfigError, StateLockedError
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.ledger import (
    Destination,
    Ledger,
    default_state_path,
    destination_conflict,
    destination_merged,
)

MAPPING = "customer:\n  firstName: Name\n  emails:\n    - {column: Email, type: work}\n"
Invoke = Callable[..., Result]
Env = Callable[..., dict[str, str | None]]


def write_people(path: Path, names: list[str]) -> Path:
    """Invented people, one a row: ``Name,Email`` (an empty name makes no row invalid; a bad
    email does)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Name", "Email"])
        writer.writerows([name.title(), f"{name}@example.com"] for name in names)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An export of five people, its mapping, and where the results go."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    data = write_people(tmp_path / "export.csv", ["ann", "bob", "cy", "dee", "eve"])
    return data, mapping, tmp_path / "results.csv"


def emails(box: Sandbox) -> Counter[str]:
    """Each email the sandbox's customers hold, with how many customers hold it."""
    return Counter(e["value"] for c in box.state.customers.values() for e in c["emails"])


# --- the destination, as a table -------------------------------------------------------------
A = Destination("http://127.0.0.1:8080", "app-1", "7", "ann@example.com")


@pytest.mark.parametrize(
    ("recorded", "here", "conflict"),
    [
        (A, A, None),
        (A, Destination("https://api.helpscout.net", "app-1", "7"), "another API"),
        (A, Destination("http://127.0.0.1:8081", "app-1", "7"), "another API"),
        (A, Destination(A.api_url, "app-2", "7"), "another app"),
        (A, Destination(A.api_url, "app-1", "8"), "another user"),
        # what one side does not know cannot differ: a token-only run has no app id, an API
        # that does not answer users/me no user
        (A, Destination(A.api_url, None, "7"), None),
        (A, Destination(A.api_url, "app-1", None), None),
        (Destination(A.api_url), A, None),
    ],
)
def test_what_makes_another_destination(
    recorded: Destination, here: Destination, conflict: str | None
) -> None:
    assert destination_conflict(recorded, here) == conflict


@pytest.mark.parametrize(
    ("recorded", "here", "merged"),
    [
        (A, A, A),
        (Destination(A.api_url), A, A),
        (
            Destination(A.api_url, "app-1"),
            Destination(A.api_url, None, "7", "x@example.com"),
            Destination(A.api_url, "app-1", "7", "x@example.com"),
        ),
        (A, Destination(A.api_url, None, "7", "new@example.com"), A),
    ],
)
def test_a_state_learns_what_it_did_not_know_of_its_destination(
    recorded: Destination, here: Destination, merged: Destination
) -> None:
    assert destination_merged(recorded, here) == merged


# --- the state belongs to one destination ----------------------------------------------------
def test_a_rehearsals_state_pointed_at_another_account_is_refused_and_sends_nothing(
    files: tuple[Path, Path, Path],
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
    read_rows: Callable[[Path], list[dict[str, str]]],
) -> None:
    """The rehearsal's explicit state against a second, empty account: exit 2, naming both;
    nothing reaches B, and the rehearsal's results are left as they were."""
    data, mapping, results = files
    rehearsal, real = serve_sandbox(), serve_sandbox()
    state = results.with_name("s.sqlite")
    first = invoke(
        "run", data, "-m", mapping, "-o", results, "--state", state, env=sandbox_env(rehearsal)
    )
    assert first.exit_code == 0 and len(rehearsal.state.customers) == 5
    written = results.read_bytes()
    refused = invoke(
        "run", data, "-m", mapping, "-o", results, "--state", state, env=sandbox_env(real)
    )
    assert (refused.exit_code, refused.stdout) == (2, "")
    user = rehearsal.state.user_id
    assert refused.stderr == (
        f"Error: the state file {state} belongs to the imports into {rehearsal.url} (app "
        f"{rehearsal.app_id}, user {user}, owner-{user}@sandbox.example), and this run goes to "
        f"{real.url} (app {real.app_id}, user {real.state.user_id}, "
        f"owner-{real.state.user_id}@sandbox.example) (another API): its records would skip or "
        "undo customers that are not there. Point the run back at that destination, or give "
        "this one its own state (--state NEW.state.sqlite, or leave --state out: the default is "
        "named after the destination)\n"
    )
    assert real.state.customers == {} and results.read_bytes() == written
    plan = invoke(
        "run",
        data,
        "-m",
        mapping,
        "--dry-run",
        "--check-existing",
        "-o",
        results.with_name("plan.csv"),
        "--state",
        state,
        env=sandbox_env(real),
    )
    assert plan.exit_code == 2 and "belongs to the imports into" in plan.stderr
    assert not results.with_name("plan.csv").exists()
    # the default state: each account gets its own; the real one is empty, so everyone is created
    # there; the rehearsal's holds them, so a first run with a new state finds them (looked up)
    for box, status in ((real, "created"), (rehearsal, "skipped")):
        done = invoke("run", data, "-m", mapping, "-o", results, env=sandbox_env(box))
        assert done.exit_code == 0, done.output
        assert {row["status"] for row in read_rows(results)} == {status}
        assert emails(box) == Counter(
            {f"{n}@example.com": 1 for n in ("ann", "bob", "cy", "dee", "eve")}
        )
    assert default_state_path(results, mapping, rehearsal.url) != default_state_path(
        results, mapping, real.url
    )


def test_the_same_port_after_a_restart_is_another_account(
    files: tuple[Path, Path, Path],
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
) -> None:
    """Two sandboxes with one URL (a restart on the same port) are told apart by their user."""
    data, mapping, results = files
    first, second = serve_sandbox(), serve_sandbox()
    state = results.with_name("s.sqlite")
    assert (
        invoke(
            "run", data, "-m", mapping, "-o", results, "--state", state, env=sandbox_env(first)
        ).exit_code
        == 0
    )
    as_second = {**sandbox_env(second), "HELPSCOUT_API_URL": first.url}
    with Ledger.open(state, source="") as ledger:  # as if `first` now answered as `second`
        recorded = ledger.destination
        assert recorded is not None and recorded.user_id == str(first.state.user_id)
    first.state.user_id = second.state.user_id
    refused = invoke("run", data, "-m", mapping, "-o", results, "--state", state, env=as_second)
    assert refused.exit_code == 2 and "(another user)" in refused.stderr


def test_an_undo_with_a_state_of_another_account_deletes_nothing_there(
    files: tuple[Path, Path, Path],
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
) -> None:
    """Two imports into two accounts created customers with the same ids; the undo of B's state
    pointed at C is refused, and C keeps its customers."""
    data, mapping, results = files
    b, c = serve_sandbox(), serve_sandbox()
    state_b, state_c = results.with_name("b.sqlite"), results.with_name("c.sqlite")
    for box, state in ((b, state_b), (c, state_c)):
        assert (
            invoke(
                "run", data, "-m", mapping, "-o", results, "--state", state, env=sandbox_env(box)
            ).exit_code
            == 0
        )
    assert set(b.state.customers) == set(c.state.customers)  # the same ids in both
    for dry in ([], ["--dry-run"]):
        refused = invoke("undo", "--state", state_b, "--yes", *dry, env=sandbox_env(c))
        assert refused.exit_code == 2, refused.output
        assert f"belongs to the imports into {b.url}" in refused.stderr
    assert len(c.state.customers) == 5 and len(b.state.customers) == 5
    done = invoke("undo", "--state", state_b, "--yes", env=sandbox_env(b))
    assert done.exit_code == 0, done.output
    assert len(c.state.customers) == 5


def test_a_state_from_before_destinations_adopts_the_first_it_meets_and_says_so_once(
    files: tuple[Path, Path, Path],
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
) -> None:
    data, mapping, results = files
    box, other = serve_sandbox(), serve_sandbox()
    state = results.with_name("old.sqlite")
    with Ledger.open(state, source=str(data)) as ledger:  # a run of an older version
        ledger.begin_run("fp")
        ledger.finish_run("finished")
    first = invoke(
        "run", data, "-m", mapping, "-o", results, "--state", state, env=sandbox_env(box)
    )
    assert first.exit_code == 0
    note = f"the state file {state} did not record where its imports went"
    assert first.stderr.count(note) == 1
    again = invoke(
        "run", data, "-m", mapping, "-o", results, "--state", state, env=sandbox_env(box)
    )
    assert again.exit_code == 0 and note not in again.stderr
    assert (
        invoke(
            "run", data, "-m", mapping, "-o", results, "--state", state, env=sandbox_env(other)
        ).exit_code
        == 2
    )


def test_a_first_run_into_an_account_that_holds_customers_looks_them_up(
    files: tuple[Path, Path, Path],
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
    sandbox_api: Callable[..., Any],
    person: Callable[..., dict[str, Any]],
) -> None:
    """Ann and Bob exist already (created by hand): the first import skips them, not twice;
    with --no-check-existing the importer is told not to look."""
    data, mapping, results = files
    box = serve_sandbox()
    sandbox_api(
        box,
        "POST",
        "/_sandbox/customers",
        [
            {"firstName": "Ann", "emails": [{"type": "work", "value": "ann@example.com"}]},
            {"firstName": "Bob", "emails": [{"type": "work", "value": "bob@example.com"}]},
        ],
    )
    done = invoke("run", data, "-m", mapping, "-o", results, env=sandbox_env(box))
    assert done.exit_code == 0, done.output
    assert "the account holds 2 customers already and this is the first import" in done.stderr
    assert done.stdout.splitlines()[0] == "5 rows: 3 created, 2 skipped, 0 invalid, 0 failed."
    assert set(emails(box).values()) == {1} and len(emails(box)) == 5
    empty = serve_sandbox()
    sandbox_api(empty, "POST", "/_sandbox/customers", [person(1)])
    told = invoke(
        "run",
        data,
        "-m",
        mapping,
        "-o",
        results.with_name("other.csv"),
        "--no-check-existing",
        env=sandbox_env(empty),
    )
    assert told.exit_code == 0 and "already" not in told.stderr
    assert len(empty.state.customers) == 6


# --- the default state follows the import ----------------------------------------------------
def test_dated_exports_reuse_the_state(
    tmp_path: Path,
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
    read_rows: Callable[[Path], list[dict[str, str]]],
) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    box = serve_sandbox()
    monday = write_people(tmp_path / "export-2026-12-06.csv", ["ann", "bob", "cy"])
    tuesday = write_people(tmp_path / "export-2026-12-07.csv", ["ann", "bob", "cy", "dee"])
    for export in (monday, tuesday):
        results = tmp_path / f"results-{export.stem[7:]}.csv"
        done = invoke("run", export, "-m", mapping, "-o", results, env=sandbox_env(box))
        assert done.exit_code == 0, done.output
    assert [row["status"] for row in read_rows(results)] == ["skipped"] * 3 + ["created"]
    assert set(emails(box).values()) == {1} and len(emails(box)) == 4
    assert [p.name for p in tmp_path.glob("*.state.sqlite")] == [
        default_state_path(results, mapping, box.url).name
    ]


def test_an_old_default_state_beside_the_results_is_still_used(
    files: tuple[Path, Path, Path],
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
) -> None:
    """An existing cron job's state, named after the file by an earlier version: used (and
    said), so the upgrade does not create everyone again."""
    data, mapping, results = files
    box = serve_sandbox()
    former = results.with_name("export.state.sqlite")
    assert (
        invoke(
            "run", data, "-m", mapping, "-o", results, "--state", former, env=sandbox_env(box)
        ).exit_code
        == 0
    )
    again = invoke("run", data, "-m", mapping, "-o", results, env=sandbox_env(box))
    assert again.exit_code == 0, again.output
    assert f"using the state file {former} (named after the file" in again.stderr
    assert again.stdout.splitlines()[0] == "5 rows: 0 created, 5 skipped, 0 invalid, 0 failed."
    assert not default_state_path(results, mapping, box.url).exists()


def test_the_fix_loop_is_one_import(
    tmp_path: Path,
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
    read_rows: Callable[[Path], list[dict[str, str]]],
) -> None:
    """--rejects, fix the rows, run the fix with the command printed, then the nightly run of
    the fixed export: every person once, the fixed ones skipped (unchanged)."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    export, results, rejects = tmp_path / "export.csv", tmp_path / "out.csv", tmp_path / "fix.csv"
    state = tmp_path / "explicit.sqlite"
    export.write_text(
        "Name,Email\nAnn,ann@example.com\nBob,bob@@example\nCy,cy@example.com\n"
        "Dee,dee at example.com\n",
        encoding="utf-8",
    )
    box = serve_sandbox()
    first = invoke(
        "run",
        export,
        "-m",
        mapping,
        "-o",
        results,
        "--state",
        state,
        "--rejects",
        rejects,
        env=sandbox_env(box),
    )
    assert first.exit_code == 1
    fixed = rejects.with_suffix(".results.csv")
    command = (
        f"  helpscout-import run {rejects} --mapping {mapping} --output {fixed} --state {state}"
    )
    lines = first.stdout.splitlines()
    assert lines[lines.index("Once fixed, import them into the same state:") + 1] == command
    text = rejects.read_text(encoding="utf-8-sig")
    rejects.write_text(
        text.replace("bob@@example", "bob@example.com").replace(
            "dee at example.com", "dee@example.com"
        ),
        encoding="utf-8",
    )
    fix = invoke(*command.split()[1:], env=sandbox_env(box))
    assert fix.exit_code == 0, fix.output
    assert [row["status"] for row in read_rows(fixed)] == ["created", "created"]
    export.write_text(
        export.read_text(encoding="utf-8")
        .replace("bob@@example", "bob@example.com")
        .replace("dee at example.com", "dee@example.com"),
        encoding="utf-8",
    )
    nightly = invoke(
        "run", export, "-m", mapping, "-o", results, "--state", state, env=sandbox_env(box)
    )
    assert nightly.exit_code == 0, nightly.output
    assert [(r["status"], r["reason"]) for r in read_rows(results)] == [
        ("skipped", "unchanged")
    ] * 4
    assert set(emails(box).values()) == {1} and len(emails(box)) == 4


# --- one lock per ledger ---------------------------------------------------------------------
@pytest.mark.parametrize("way", ["symlink", "hardlink", "dotdot"])
def test_a_second_run_through_another_name_of_the_state_is_refused(
    files: tuple[Path, Path, Path],
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
    way: str,
) -> None:
    data, mapping, results = files
    box = serve_sandbox()
    state = results.with_name("s.sqlite")
    (results.parent / "sub").mkdir()
    other = {
        "symlink": results.with_name("link.sqlite"),
        "hardlink": results.with_name("hard.sqlite"),
        "dotdot": results.parent / "sub" / ".." / "s.sqlite",
    }[way]
    with Ledger.open(state, source=str(data)):  # the first run holds it
        if way == "symlink":
            other.symlink_to(state)
        elif way == "hardlink":
            os.link(state, other)
        second = invoke(
            "run", data, "-m", mapping, "-o", results, "--state", other, env=sandbox_env(box)
        )
        with pytest.raises(StateLockedError):
            Ledger.open(other, source=str(data))
    assert (second.exit_code, second.stdout) == (2, "")
    assert second.stderr.startswith("Error: another import ")
    assert box.state.customers == {} and not results.exists()


# --- files others cannot read ----------------------------------------------------------------
def test_a_cron_run_with_a_credentials_file_goes_where_it_says_and_writes_private_files(
    files: tuple[Path, Path, Path],
    serve_sandbox: Callable[..., Sandbox],
    invoke: Invoke,
) -> None:
    """The file's HELPSCOUT_API_URL is honoured (not api.helpscout.net); a file others can
    read is used with a warning; the state, log, results, rejects, report and summary are 0600."""
    data, mapping, results = files
    write_people(data, ["ann", "bob", "not an email"])
    box = serve_sandbox(SandboxConfig())
    credentials = results.with_name("credentials.env")
    credentials.write_text(
        f"HELPSCOUT_API_URL={box.url}\nHELPSCOUT_APP_ID={box.app_id}\n"
        f"HELPSCOUT_APP_SECRET={box.app_secret}\n",
        encoding="utf-8",
    )
    credentials.chmod(0o644)
    log, rejects = results.with_name("requests.jsonl"), results.with_name("fix.csv")
    report, summary = results.with_name("report.html"), results.with_name("summary.json")
    old = os.umask(0o022)
    try:
        done = invoke(
            "run",
            data,
            "-m",
            mapping,
            "-o",
            results,
            "--log-file",
            log,
            "--rejects",
            rejects,
            "--report",
            report,
            "--summary-json",
            summary,
            env={"HELPSCOUT_CREDENTIALS_FILE": str(credentials)},
        )
    finally:
        os.umask(old)
    assert done.exit_code == 1, done.output
    assert len(box.state.customers) == 2
    assert (
        f"HELPSCOUT_CREDENTIALS_FILE {credentials} can be read by others (mode "
        f"644): make it readable by its owner only: chmod 600 {credentials}"
    ) in done.stderr
    assert box.app_secret not in done.output
    state = default_state_path(results, mapping, box.url)
    for written in (state, results, log, rejects, report, summary,
                    state.with_name(state.name + ".lock")):  # fmt: skip
        assert stat.S_IMODE(written.stat().st_mode) == 0o600, written


@pytest.mark.parametrize("suffix", [".html", ".csv", ".json"])
def test_a_validation_report_holds_the_rows_cells_so_only_its_owner_reads_it(
    files: tuple[Path, Path, Path], invoke: Invoke, suffix: str
) -> None:
    data, mapping, results = files
    write_people(data, ["ann", "not an email"])
    report = results.with_name(f"report{suffix}")
    old = os.umask(0o022)
    try:
        done = invoke("validate", data, "-m", mapping, "--report", report)
    finally:
        os.umask(old)
    assert done.exit_code == 1, done.output
    assert "not an email" in report.read_text("utf-8")
    assert stat.S_IMODE(report.stat().st_mode) == 0o600


def test_a_bare_history_lists_every_state_here_with_its_destination(
    files: tuple[Path, Path, Path],
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Env,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, mapping, results = files
    monkeypatch.chdir(results.parent)
    boxes = [serve_sandbox(), serve_sandbox()]
    for box in boxes:
        assert (
            invoke("run", data, "-m", mapping, "-o", results, env=sandbox_env(box)).exit_code == 0
        )
    done = invoke("history")
    assert (done.exit_code, done.stderr) == (0, "")
    states = sorted(default_state_path("results.csv", mapping, box.url) for box in boxes)
    headers = [line for line in done.stdout.splitlines() if line.endswith("):")]
    described = {str(box.url): box for box in boxes}
    assert [h.split(" (")[0] for h in headers] == [str(s) for s in states]
    for header in headers:
        url = header.split("imports into ")[1].split(" (")[0]
        user = described[url].state.user_id
        assert header.endswith(f"(app sandbox-app-id, user {user}, owner-{user}@sandbox.example)):")
    as_json = __import__("json").loads(invoke("history", "--json").stdout)
    assert sorted(run["state"] for run in as_json) == [str(s) for s in states]
    assert {run["destination"].split(" ")[0] for run in as_json} == set(described)


# --- the ledger's guard and the sandbox's answer ---------------------------------------------
def test_the_ledger_records_its_first_destination_and_refuses_another(tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    with Ledger.open(state, source="in.csv") as ledger:
        assert ledger.destination is None
        assert ledger.bind(Destination(A.api_url, "app-1")) is None  # a new state: no note
        assert ledger.bind(A) is None  # learns the user
        ledger.begin_run("fp")
        ledger.finish_run("finished")
        assert ledger.history()[0].destination == str(A)
    with Ledger.open(state, source="", readonly=True) as ledger:  # a plan: compares only
        assert ledger.destination == A
        with pytest.raises(ConfigError, match=r"belongs to the imports into .* \(another user\)"):
            ledger.bind(Destination(A.api_url, "app-1", "8"))
    with Ledger.open(state, source="") as ledger:
        with pytest.raises(ConfigError, match="another API"):
            ledger.bind(Destination("https://api.helpscout.net", "app-1"))
        assert ledger.destination == A  # nothing written by a refusal


def test_each_sandbox_answers_users_me_as_its_own_user(
    serve_sandbox: Callable[..., Sandbox],
) -> None:
    import json
    import urllib.request

    answers = []
    for box in (serve_sandbox(), serve_sandbox()):
        token = json.loads(urllib.request.urlopen(urllib.request.Request(
            f"{box.url}/v2/oauth2/token", method="POST",
            data=f"grant_type=client_credentials&client_id={box.app_id}&client_secret="
                 f"{box.app_secret}".encode())).read())["access_token"]  # fmt: skip
        me = urllib.request.Request(f"{box.url}/v2/users/me",
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        answers.append(json.loads(urllib.request.urlopen(me).read()))
    assert {"id", "firstName", "lastName", "email", "role", "timezone", "type"} <= set(answers[0])
    assert answers[0]["id"] != answers[1]["id"] and answers[0]["type"] == "user"


def test_a_credentials_file_that_disagrees_with_the_environment_is_one_line_exit_2(
    files: tuple[Path, Path, Path], serve_sandbox: Callable[..., Sandbox], invoke: Invoke,
) -> None:  # fmt: skip
    """A rehearsal's HELPSCOUT_API_URL left in the shell, a credentials file for another API:
    refused, nothing sent, the secret never shown."""
    data, mapping, results = files
    box = serve_sandbox()
    credentials = results.with_name("credentials.env")
    credentials.write_text(
        f"HELPSCOUT_APP_ID={box.app_id}\nHELPSCOUT_APP_SECRET={box.app_secret}\n"
        "HELPSCOUT_API_URL=https://api.helpscout.net\n",
        encoding="utf-8",
    )
    credentials.chmod(0o600)
    env = {"HELPSCOUT_CREDENTIALS_FILE": str(credentials), "HELPSCOUT_API_URL": box.url}
    done = invoke("run", data, "-m", mapping, "-o", results, env=env)
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == (
        f"Error: HELPSCOUT_CREDENTIALS_FILE {credentials}, line 3: HELPSCOUT_API_URL is also set "
        "in the environment, to another value: unset it there (or take it out of the file), so "
        "that one place says where to send\n"
    )
    assert box.state.customers == {} and not results.exists()


def test_where_flock_may_meet_sqlites_locks_a_hard_linked_state_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BSD and macOS: the database is not flocked there, so a second name is refused outright."""
    import importer.send.ledger

    monkeypatch.setattr(importer.send.ledger, "FLOCK_THE_DATABASE", False)
    state = tmp_path / "s.sqlite"
    Ledger.open(state, source="").close()
    with Ledger.open(state, source=""):  # one name: used as before
        pass
    os.link(state, tmp_path / "hard.sqlite")
    for name in (state, tmp_path / "hard.sqlite"):
        with pytest.raises(ConfigError, match=r"has 2 names \(hard links\)"):
            Ledger.open(name, source="")
