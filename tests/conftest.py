"""Shared fixtures: the project's own test data and the external material in ../shared/data."""

from __future__ import annotations

import asyncio
import csv
import fnmatch
import json
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from importer.cli import main
from importer.sandbox import Sandbox, SandboxConfig

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"
#: Every variable the importer reads its endpoint and credentials from, unset.
CLEAN_ENV: dict[str, str | None] = dict.fromkeys(
    ("HELPSCOUT_API_URL", "HELPSCOUT_APP_ID", "HELPSCOUT_APP_SECRET", "HELPSCOUT_ACCESS_TOKEN",
     "HELPSCOUT_CREDENTIALS_FILE")
)  # fmt: skip


@pytest.fixture
def shared_data() -> Path:
    """The external test material; tests that need it skip on a clone without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"external test material not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def serve_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes on 127.0.0.1, each run by its own event loop in a thread (so the CLI, which
    runs its own loop, can talk to them); stopped at the end of the test."""
    stops: list[Callable[[], None]] = []

    def start(config: SandboxConfig | None = None, *, middlewares: Sequence[Any] = ()) -> Sandbox:
        """``middlewares`` (aiohttp's) come before the sandbox's own: a test's faults."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        box = Sandbox(config)
        for middleware in reversed(middlewares):
            box.app.middlewares.insert(0, middleware)
        asyncio.run_coroutine_threadsafe(box.__aenter__(), loop).result(10)

        def stop() -> None:
            asyncio.run_coroutine_threadsafe(box.__aexit__(None, None, None), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

        stops.append(stop)
        return box

    yield start
    for stop in reversed(stops):
        stop()


def sandbox_call(box: Sandbox, method: str, path: str, body: object = None) -> Any:
    """A request to the sandbox's own endpoints (``/_sandbox/...``) or its API with a token,
    from a test's thread; the parsed JSON answer (None when empty)."""
    headers = {"Content-Type": "application/json"}
    if not path.startswith("/_sandbox/"):
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": box.app_id,
                "client_secret": box.app_secret,
            }
        )
        with urllib.request.urlopen(box.url + "/v2/oauth2/token", form.encode(), 10) as answer:
            headers["Authorization"] = f"Bearer {json.load(answer)['access_token']}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(box.url + path, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read()
    return json.loads(text) if text.strip() else None


@pytest.fixture
def sandbox_api() -> Callable[..., Any]:
    """:func:`sandbox_call`: seed customers and conversations, change a customer as an agent
    would, from a test (the sandbox served by ``serve_sandbox``)."""
    return sandbox_call


@pytest.fixture
def clean_env() -> dict[str, str | None]:
    """The importer's variables (endpoint, credentials), every one unset: a command run with it
    sees nothing of the test's own environment. A new dict each time, the test's to change."""
    return dict(CLEAN_ENV)


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """Run ``helpscout-import ARGS`` through CliRunner, each argument as ``str``, in a clean
    environment (``clean_env``) plus ``env``, where ``None`` unsets a variable."""

    def run(*args: object, env: dict[str, str | None] | None = None, **kwargs: Any) -> Result:
        return CliRunner().invoke(main, [str(a) for a in args], env={**CLEAN_ENV, **(env or {})},
                                  **kwargs)  # fmt: skip

    return run


@pytest.fixture
def sandbox_env() -> Callable[..., dict[str, str | None]]:
    """The environment a command run through CliRunner needs to import into ``box``, and
    nothing from the test's own environment; ``extra`` set (or unset: ``None``) over it."""

    def env(box: Sandbox, **extra: str | None) -> dict[str, str | None]:
        return {**CLEAN_ENV, "HELPSCOUT_API_URL": box.url, "HELPSCOUT_APP_ID": box.app_id,
                "HELPSCOUT_APP_SECRET": box.app_secret, **extra}  # fmt: skip

    return env


@pytest.fixture
def process_env() -> Callable[..., dict[str, str]]:
    """The environment for ``python -m importer`` as a real subprocess: the test's own without the
    importer's variables (``clean_env``), the project on ``PYTHONPATH``, and ``given`` (those not
    ``None``): ``process_env(**sandbox_env(box))`` imports into ``box``."""

    def env(**given: str | None) -> dict[str, str]:
        kept = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
        kept["PYTHONPATH"] = str(ROOT)
        return {**kept, **{k: v for k, v in given.items() if v is not None}}

    return env


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The lines of a CSV file the importer wrote (results, plans, undo results) as dicts."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def read_rows() -> Callable[[Path], list[dict[str, str]]]:
    """:func:`csv_rows`: a results file's lines, by column name."""
    return csv_rows


def person_body(i: int, **fields: Any) -> dict[str, Any]:
    """Customer ``i`` as the API takes it (Ann Lee{i}, one work email), ``fields`` over it."""
    return {"firstName": "Ann", "lastName": f"Lee{i}",
            "emails": [{"type": "work", "value": f"ann.lee{i}@example.com"}], **fields}  # fmt: skip


@dataclass
class Fault:
    """One scripted fault for ``faults``: the requests it meets (``method``, a path glob) and
    what happens to each, ``times`` times: ``drop-before`` closes the connection unforwarded
    (Help Scout never saw it), ``drop-after`` forwards it then closes the connection (it was
    carried out, the answer is lost), ``answer`` gives ``status``/``headers``/``body``
    unforwarded, ``delay`` waits ``seconds`` then forwards."""

    method: str
    path: str
    action: Literal["drop-before", "drop-after", "answer", "delay"]
    times: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0
    met: int = 0
    """Requests it has met so far."""


def fault_middleware(script: Sequence[Fault]) -> Any:
    """An aiohttp middleware (``serve_sandbox(middlewares=[...])``) playing ``script`` in front
    of the sandbox: each request meets the first fault that matches it and has times left."""

    @web.middleware
    async def play(request: web.Request, handler: Any) -> web.StreamResponse:
        fault = next((f for f in script if f.met < f.times and f.method == request.method
                      and fnmatch.fnmatch(request.path, f.path)), None)  # fmt: skip
        if fault is None:
            return await handler(request)
        fault.met += 1
        if fault.action == "answer":
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        if fault.action == "delay":
            await asyncio.sleep(fault.seconds)
            return await handler(request)
        answer = await handler(request) if fault.action == "drop-after" else None
        if request.transport is not None:
            request.transport.close()
        return answer or web.Response(status=204)  # never reaches the client

    return play


@pytest.fixture
def faults() -> Callable[..., tuple[Any, list[Fault]]]:
    """Scripted faults between the importer and the sandbox: ``middleware, script =
    faults(dict(method="POST", path="/v2/customers", action="drop-after", times=3), ...)``,
    then ``serve_sandbox(middlewares=[middleware])``; each :class:`Fault` of ``script`` counts
    the requests it ``met``."""

    def make(*specs: dict[str, Any]) -> tuple[Any, list[Fault]]:
        script = [Fault(**spec) for spec in specs]
        return fault_middleware(script), script

    return make


@pytest.fixture
def person() -> Callable[..., dict[str, Any]]:
    """:func:`person_body`: a customer to create or seed, numbered."""
    return person_body
