"""The review page's server: aiohttp on 127.0.0.1, every request carrying the URL's token.

The URL is ``http://127.0.0.1:PORT/TOKEN/``; the page calls ``api/...`` relative to it, so every
request carries the token in its path. A request without it (or with a wrong one, compared in
constant time), one whose Host is not this address (DNS rebinding), or a POST from another
origin or without a JSON body gets 403. Only the routes below exist: nothing serves files.

The page is one HTML document with its CSS and JS inline (package data, ``static/``), allowed
by their hashes in a strict Content-Security-Policy: nothing else runs or loads. Handlers are
thin: each asks the :class:`~importer.review.session.Review` in a thread, one at a time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import signal
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from importer.core.errors import ConfigError, ImporterError
from importer.review.session import Review

__all__ = ["ReviewServer", "page_html", "serve"]

HOST = "127.0.0.1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _asset(name: str) -> str:
    return resources.files("importer.review").joinpath("static", name).read_text("utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def page_html() -> tuple[str, str]:
    """The page with its CSS and JS inline, and the CSP that allows exactly those two."""
    css, js = _asset("review.css"), _asset("review.js")
    html = _asset("review.html").replace("/*CSS*/", css).replace("/*JS*/", js)
    csp = (
        f"default-src 'none'; script-src {_hash(js)}; style-src {_hash(css)}; "
        "connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return html, csp


class ReviewServer:
    """The app around one :class:`Review`; ``async with`` binds it and serves until closed."""

    def __init__(self, review: Review, *, port: int = 0) -> None:
        self.review = review
        self.port = port
        self.token = secrets.token_urlsafe(24)
        self.done = asyncio.Event()
        self._lock = asyncio.Lock()
        self._page, self._csp = page_html()
        self.app = web.Application(middlewares=[self._guard], client_max_size=4 << 20)
        prefix = f"/{self.token}"
        self.app.router.add_get(f"{prefix}/", self._index)
        self.app.router.add_get(f"{prefix}/api/state", self._state)
        for name, method in (("preview", review.preview), ("save", review.save),
                             ("source", review.change_source)):  # fmt: skip
            self.app.router.add_post(f"{prefix}/api/{name}", self._asking(method))
        self.app.router.add_post(f"{prefix}/api/check", self._check)
        self.app.router.add_post(f"{prefix}/api/done", self._done)
        self.app.on_response_prepare.append(_private)
        self._runner: web.AppRunner | None = None
        self.addresses: list[Any] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/{self.token}/"

    async def __aenter__(self) -> ReviewServer:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise ConfigError(f"cannot listen on {HOST}:{self.port}: {exc.strerror or exc} "
                              "(choose another --port, or leave it out)") from None  # fmt: skip
        self.addresses = self._runner.addresses  # each bound socket's own (host, port)
        self.port = self.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- the guard ---
    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        token = request.path.split("/")[1] if request.path.count("/") >= 2 else ""
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return web.Response(status=403, text="refused: this page needs the URL it printed")
        if request.host not in (f"{HOST}:{self.port}", f"localhost:{self.port}"):
            return web.Response(status=403, text="refused: not this address")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if request.content_type != "application/json" or (
                origin is not None and origin != f"http://{request.host}"
            ):
                return web.Response(status=403, text="refused: not from the page")
        return await handler(request)

    # --- the routes ---
    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=self._page, content_type="text/html",
                            headers={"Content-Security-Policy": self._csp})  # fmt: skip

    async def _state(self, request: web.Request) -> web.Response:
        async with self._lock:
            return web.json_response(await asyncio.to_thread(self.review.state))

    def _asking(self, method: Callable[[Any], dict[str, Any]]) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            data = await _body(request)
            async with self._lock:
                try:
                    answer = await asyncio.to_thread(method, data)
                except ASKED_WRONG as exc:
                    return web.json_response({"error": str(exc)}, status=400)
            return web.json_response(answer)

        return handle

    async def _check(self, request: web.Request) -> web.StreamResponse:
        """Check all rows, as JSON lines: ``{"checked": N}`` a chunk, then ``{"done": answer}``."""
        data = await _body(request)
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        def tell(line: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(lines.put_nowait, line)

        def work() -> None:
            answer: dict[str, Any] = {"error": "the check stopped: see the terminal"}
            try:
                answer = self.review.check_all(data, lambda rows: tell({"checked": rows}))
            except ASKED_WRONG as exc:
                answer = {"error": str(exc)}
            finally:
                tell({"done": answer})

        async with self._lock:
            checking = asyncio.ensure_future(asyncio.to_thread(work))
            while True:
                line = await lines.get()
                await response.write(json.dumps(line).encode() + b"\n")
                if "done" in line:
                    break
            await checking
        await response.write_eof()
        return response

    async def _done(self, request: web.Request) -> web.Response:
        self.done.set()
        return web.json_response({"done": True})


#: What a request can get wrong: a 400 with the message, the server goes on.
ASKED_WRONG = (ValueError, TypeError, ImporterError)


async def _body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (``{}`` for anything else: the session says what is missing)."""
    try:
        data = await request.json()
    except json.JSONDecodeError:
        raise web.HTTPBadRequest(text="the body is not JSON") from None
    return data if isinstance(data, dict) else {}


async def _private(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every answer carries: never cached, never sniffed, never referred."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"


def serve(review: Review, *, port: int = 0, on_ready: Callable[[str], object]) -> None:
    """Serve the page until "Done" or SIGINT/SIGTERM; ``on_ready(url)`` once bound."""

    async def main() -> None:
        async with ReviewServer(review, port=port) as server:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signum, server.done.set)
            on_ready(server.url)
            await server.done.wait()
            await asyncio.sleep(0.1)  # the answer to "Done" leaves before the server goes

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
