"""The aiohttp application, the in-process ``Sandbox`` context manager, and ``serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from yarl import URL

from importer.sandbox.api import Api
from importer.sandbox.config import ENTRY_KINDS, INSPECT_PREFIX, TOKEN_PATH, SandboxConfig
from importer.sandbox.state import SandboxState

STATE_KEY = web.AppKey("sandbox_state", SandboxState)
TICK = 0.25


async def _ticking(app: web.Application) -> AsyncIterator[None]:
    """While serving, let time pass a few times a second even when nobody asks (the background
    agent's reads), so ``/_sandbox/stats`` is current; requests catch up on their own too."""
    state = app[STATE_KEY]

    async def tick() -> None:
        while True:
            state.catch_up(state.config.clock())
            await asyncio.sleep(TICK)

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(config: SandboxConfig | None = None) -> web.Application:
    """The sandbox as an aiohttp application (for ``aiohttp_client`` or your own runner)."""
    state = SandboxState(config or SandboxConfig())
    api = Api(state)
    app = web.Application(middlewares=[api.middleware])
    app[STATE_KEY] = state
    app.cleanup_ctx.append(_ticking)
    customer = r"/v2/customers/{id:\d+}"
    entries = customer + "/{kind:" + "|".join(ENTRY_KINDS) + "}"
    entry = entries + r"/{entry:\d+}"
    address = customer + "/address"
    app.router.add_routes(
        [
            web.post(TOKEN_PATH, api.token),
            web.post("/v2/customers", api.create),
            web.get("/v2/customers", api.list_customers, allow_head=False),
            web.get("/v3/customers", api.list_v3, allow_head=False),
            web.get(customer, api.get, allow_head=False),
            web.put(customer, api.replace),
            web.patch(customer, api.patch),
            web.delete(customer, api.delete),
            web.patch(customer + "/properties", api.patch_properties),
            # real answers link the entry lists with a trailing slash (".../emails/")
            web.get(entries, api.list_entries, allow_head=False),
            web.get(entries + "/", api.list_entries, allow_head=False),
            web.post(entries, api.add_entry),
            web.put(entry, api.replace_entry),
            web.delete(entry, api.delete_entry),
            web.get(address, api.get_address, allow_head=False),
            web.get(address + "/", api.get_address, allow_head=False),
            web.post(address, api.set_address),
            web.put(address, api.set_address),
            web.delete(address, api.delete_address),
            web.get("/v2/conversations", api.list_conversations, allow_head=False),
            web.get(r"/v2/conversations/{id:\d+}", api.get_conversation, allow_head=False),
            web.get("/v2/customer-properties", api.customer_properties, allow_head=False),
            web.get("/v2/mailboxes", api.list_mailboxes, allow_head=False),
            web.get(r"/v2/mailboxes/{id:\d+}", api.get_mailbox, allow_head=False),
            web.get("/v2/users/me", api.me, allow_head=False),
            web.get(INSPECT_PREFIX + "customers", api.inspect_customers, allow_head=False),
            web.post(INSPECT_PREFIX + "customers", api.seed),
            web.post(INSPECT_PREFIX + "conversations", api.seed_conversations),
            web.get(INSPECT_PREFIX + "stats", api.stats, allow_head=False),
            web.post(INSPECT_PREFIX + "background-load", api.background_load),
            web.post(INSPECT_PREFIX + "reset", api.reset),
        ]
    )
    return app


class _ClientGone(logging.Filter):
    """Drop aiohttp's "Error handling request" for a client that went away mid-request (a killed
    importer, a test that drops its connection): for the sandbox that is a normal day."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, ConnectionResetError | asyncio.CancelledError)


_server_log = logging.getLogger("aiohttp.server")
if not any(isinstance(f, _ClientGone) for f in _server_log.filters):
    _server_log.addFilter(_ClientGone())


class Sandbox:
    """The sandbox served on loopback for the length of an ``async with`` block::

    async with Sandbox(SandboxConfig(rate_limit=400)) as sandbox:
        await import_into(sandbox.url, sandbox.app_id, sandbox.app_secret)
        assert len(sandbox.state.customers) == 3
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.app = create_app(config)
        self.state = self.app[STATE_KEY]
        self.config = self.state.config
        self.host, self.port = host, port
        self.url = ""
        self._runner: web.AppRunner | None = None

    @property
    def app_id(self) -> str:
        return self.config.app_id

    @property
    def app_secret(self) -> str:
        return self.config.app_secret

    @property
    def refresh_token(self) -> str:
        """The first refresh token (``grant_type=refresh_token`` rotates it)."""
        return self.config.refresh_token

    async def __aenter__(self) -> Sandbox:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        host, port = self._runner.addresses[0][:2]
        self.url = str(URL.build(scheme="http", host=host, port=port))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def serve(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], object] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready(url)`` once bound. Prints nothing: the CLI does."""

    async def main() -> None:
        async with Sandbox(config, host=host, port=port) as sandbox:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signum, stop.set)
            if on_ready is not None:
                on_ready(sandbox.url)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
