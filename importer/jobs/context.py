"""One job's sending side, set up once: the import, the plan and the undo each run over a
:class:`JobContext`.

It resolves where to send and as whom (:func:`endpoint`: refused, exit 2, before any file is
read), makes the pacer, opens the ledger the job keeps (:meth:`JobContext.open_ledger`), and in
:meth:`JobContext.run` opens the client (the built-in sandbox started first, when given), binds
the ledger to where the client sends (:func:`bind`: the destination guard, before anything is
written) and runs the job's work in one event loop. What the job opens besides (writers, a
request log, a throwaway folder) it enters in the context (:meth:`JobContext.enter`); leaving
the ``with`` closes everything in reverse order: the client, the writers, then the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from importer.core.errors import ApiError, TransportError
from importer.core.options import DEFAULT_API_URL, SendOptions
from importer.jobs.importing import api_url_of, workers_of
from importer.send.auth import Credentials, read_settings
from importer.send.client import HelpScoutClient
from importer.send.ledger import Destination, Ledger
from importer.send.pacing import Pacer
from importer.send.transport import Exchange, RetryPolicy

if TYPE_CHECKING:
    from importer.sandbox import SandboxConfig

__all__ = ["BUILT_IN_SANDBOX", "JobContext", "bind", "destination_of", "endpoint", "open_client"]

Notice = Callable[[str], None]

#: The in-process sandbox (``--sandbox``): a fresh, empty account each run, never a real one.
BUILT_IN_SANDBOX = Destination("built-in sandbox")


class JobContext(contextlib.ExitStack):
    """Endpoint, credentials, pacer, ledger and client of one import, plan or undo; what the job
    opens is entered into it (``enter_context``, ``callback``) and left, latest first, as it ends.

    ``credentials`` default to the environment's (and its credentials file's, whose warnings
    ``notice`` hears); ``sandbox`` sends to a fresh in-process sandbox instead. ``notice`` also
    hears the long pauses Help Scout asks for, and the destination guard's notes.
    """

    def __init__(
        self,
        options: SendOptions,
        *,
        credentials: Credentials | None = None,
        sandbox: SandboxConfig | None = None,
        notice: Notice | None = None,
    ) -> None:
        self.options = options
        self.sandbox = sandbox
        self.notice = notice
        self.api_url, self.credentials = endpoint(options.api_url, credentials, sandbox, notice)
        self.pacer = Pacer(options.rate, share=options.budget_share, headroom=options.headroom,
                           notice=notice)  # fmt: skip
        self.ledger: Ledger | None = None
        super().__init__()

    def open_ledger(self, path: Path, *, source: str = "", readonly: bool = False) -> Ledger:
        """The job's ledger (locked unless ``readonly``), which :meth:`run` binds to the API."""
        self.ledger = self.enter_context(Ledger.open(path, source=source, readonly=readonly))
        return self.ledger

    def run(
        self,
        work: Callable[[HelpScoutClient], Awaitable[None]],
        *,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        """Open the client, guard the destination (:func:`bind`), then await ``work`` with the
        client, in one event loop; the client is closed when ``work`` ends, however it ends."""

        async def running() -> None:
            async with contextlib.AsyncExitStack() as inner:
                client = await open_client(
                    inner, self.options, self.api_url, self.credentials,
                    pacer=self.pacer, sandbox=self.sandbox, on_exchange=on_exchange,
                )  # fmt: skip
                if self.ledger is not None:
                    await bind(self.ledger, client, sandbox=self.sandbox is not None,
                               notice=self.notice)  # fmt: skip
                await work(client)

        asyncio.run(running())


def endpoint(
    api_url: str | None,
    credentials: Credentials | None,
    sandbox: SandboxConfig | None,
    notice: Notice | None = None,
) -> tuple[str, Credentials | None]:
    """The API's URL (:func:`~importer.jobs.importing.api_url_of`), checked, and the credentials
    (given, else the environment's and its credentials file's, whose warnings ``notice``
    hears); for the sandbox, both come when it starts."""
    if sandbox is not None:
        return DEFAULT_API_URL, credentials
    settings = read_settings()
    if notice is not None:
        for warning in settings.warnings:
            notice(warning)
    url = api_url_of(api_url, settings)
    return url, credentials if credentials is not None else Credentials.from_settings(
        settings.values
    )


async def open_client(
    stack: contextlib.AsyncExitStack,
    options: SendOptions,
    api_url: str,
    credentials: Credentials | None,
    *,
    pacer: Pacer,
    sandbox: SandboxConfig | None = None,
    on_exchange: Callable[[Exchange], None] | None = None,
) -> HelpScoutClient:
    """The client a job sends with, entered in ``stack`` (the built-in ``sandbox`` started
    first, when given, and sent to instead), with ``options``' retries, timeout and pool."""
    if sandbox is not None:
        from importer.sandbox import Sandbox

        box = await stack.enter_async_context(Sandbox(sandbox))
        api_url, credentials = box.url, Credentials(box.app_id, box.app_secret)
    client = HelpScoutClient(api_url, credentials, pacer=pacer,
                             retry=RetryPolicy(options.max_attempts),
                             connections=workers_of(options), timeout=options.request_timeout,
                             on_exchange=on_exchange)  # fmt: skip
    return await stack.enter_async_context(client)


async def bind(
    ledger: Ledger, client: HelpScoutClient, *, sandbox: bool, notice: Notice | None = None
) -> None:
    """The ledger's destination guard (:meth:`Ledger.bind`) with where ``client`` sends
    (:func:`destination_of`): a job's first step, before any file is written or anything else is
    sent."""
    note = ledger.bind(BUILT_IN_SANDBOX if sandbox else await destination_of(client))
    if note and notice is not None:
        notice(note)


async def destination_of(client: HelpScoutClient) -> Destination:
    """Where ``client`` sends: its API URL, app id, and the user ``GET /v2/users/me`` answers
    (``id``, ``email``). An API that does not answer it (an older server, a proxy, refused
    credentials or certificate, which the first create meets again and reports) leaves the user
    unknown."""
    here = Destination(client.api_url, client.credentials.app_id)
    try:
        reply = await client.request("GET", "/v2/users/me")
    except (ApiError, TransportError):
        return here
    body = reply.body if reply.status == 200 and isinstance(reply.body, dict) else {}
    user, email = body.get("id"), body.get("email")
    return dataclasses.replace(
        here,
        user_id=str(user) if isinstance(user, int | str) and str(user) else None,
        user_email=email if isinstance(email, str) and email else None,
    )
