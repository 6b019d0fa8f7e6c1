"""The one context the import, the plan and the undo run over (importer.jobs.context): where to
send and as whom, the pacer, the ledger bound to the destination, the client, closed in order;
against the real sandbox over 127.0.0.1."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.core.errors import ConfigError, StateLockedError
from importer.core.options import SendOptions
from importer.jobs.context import BUILT_IN_SANDBOX, JobContext
from importer.sandbox import SandboxConfig
from importer.send.auth import Credentials
from importer.send.client import HelpScoutClient
from importer.send.ledger import Ledger


def credentials_of(box) -> Credentials:
    return Credentials(box.app_id, box.app_secret)


def test_the_work_meets_a_client_to_the_destination_with_the_options_pace(serve_sandbox, tmp_path):
    box = serve_sandbox()
    met: list[tuple[str, float | None]] = []

    async def work(client: HelpScoutClient) -> None:
        reply = await client.request("GET", "/v2/users/me")
        met.append((client.api_url, reply.status))

    options = SendOptions(api_url=box.url, rate=120)
    with JobContext(options, credentials=credentials_of(box)) as job:
        ledger = job.open_ledger(tmp_path / "s.sqlite", source="in.csv")
        job.run(work)
        assert job.pacer.ceiling == 120
        recorded = ledger.destination
    assert met == [(box.url, 200)]
    assert recorded is not None and recorded.api_url == box.url
    assert recorded.app_id == box.app_id


def test_another_destination_is_refused_before_the_work_begins(serve_sandbox, tmp_path):
    first, second = serve_sandbox(), serve_sandbox()
    state = tmp_path / "s.sqlite"
    with JobContext(SendOptions(api_url=first.url), credentials=credentials_of(first)) as job:
        job.open_ledger(state, source="in.csv")
        job.run(lambda client: _nothing())
    began: list[str] = []

    async def work(client: HelpScoutClient) -> None:
        began.append(client.api_url)

    other = SendOptions(api_url=second.url)
    with pytest.raises(ConfigError), JobContext(other, credentials=credentials_of(second)) as job:
        job.open_ledger(state, source="in.csv")
        job.run(work)
    assert began == []


async def _nothing() -> None:
    return None


def test_leaving_closes_what_was_entered_then_the_ledger(serve_sandbox, tmp_path):
    """In reverse order: a writer entered after the ledger is closed while the ledger still
    holds its lock, and the lock is released at the end (another job may open the state)."""
    box = serve_sandbox()
    state = tmp_path / "s.sqlite"
    closed: list[str] = []

    @contextlib.contextmanager
    def writer() -> Iterator[None]:
        yield
        with pytest.raises(StateLockedError):  # the job's ledger is still open: locked
            Ledger.open(state, source="other.csv")
        closed.append("writer")

    with JobContext(SendOptions(api_url=box.url), credentials=credentials_of(box)) as job:
        job.open_ledger(state, source="in.csv")
        job.enter_context(writer())
        job.callback(lambda: closed.append("callback"))
    assert closed == ["callback", "writer"]
    with Ledger.open(state, source="in.csv") as again:
        assert again.path == state


def test_the_built_in_sandbox_needs_no_credentials_and_is_its_own_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HELPSCOUT_APP_ID", "HELPSCOUT_APP_SECRET", "HELPSCOUT_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    answers: list[int] = []

    async def work(client: HelpScoutClient) -> None:
        answers.append((await client.request("GET", "/v2/customers")).status)

    with JobContext(SendOptions(), sandbox=SandboxConfig()) as job:
        ledger = job.open_ledger(tmp_path / "s.sqlite", source="in.csv")
        job.run(work)
        assert ledger.destination == BUILT_IN_SANDBOX
    assert answers == [200]
