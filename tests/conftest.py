"""Shared fixtures: the project's own test data and the external material in ../shared/data.

The helpers that hold no state (``invoke``, ``read_rows``, ``sandbox_env``, ``process_env``,
``sandbox_api``) are session-scoped, so a module's shared, read-only setup can use them too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import fnmatch
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from importer.cli import main
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.auth import Credentials
from importer.send.client import HelpScoutClient
from importer.send.pacing import Pacer
from importer.send.scripted import Script, ScriptedTransport
from importer.send.transport import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"
#: Every variable the importer reads its endpoint and credentials from, unset.
CLEAN_ENV: dict[str, str | None] = dict.fromkeys(
    ("HELPSCOUT_API_URL", "HELPSCOUT_APP_ID", "HELPSCOUT_APP_SECRET", "HELPSCOUT_ACCESS_TOKEN",
     "HELPSCOUT_CREDENTIALS_FILE")
)  # fmt: skip


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (pyproject's addopts) starts one worker more than there are cores: many tests
    wait on a child process, a timer or the loopback, and the spare worker keeps the cores busy
    meanwhile (on 2 cores, 3 workers ran the slow files in 74 s, 2 in 88 s, 4 in 73 s).
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use (Linux)
        return len(os.sched_getaffinity(0)) + 1
    return (os.cpu_count() or 1) + 1


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


@pytest.fixture(scope="session")
def sandbox_api() -> Callable[..., Any]:
    """:func:`sandbox_call`: seed customers and conversations, change a customer as an agent
    would, from a test (the sandbox served by ``serve_sandbox``)."""
    return sandbox_call


@pytest.fixture
def clean_env() -> dict[str, str | None]:
    """The importer's variables (endpoint, credentials), every one unset: a command run with it
    sees nothing of the test's own environment. A new dict each time, the test's to change."""
    return dict(CLEAN_ENV)


@pytest.fixture(scope="session")
def invoke() -> Callable[..., Result]:
    """Run ``helpscout-import ARGS`` through CliRunner, each argument as ``str``, in a clean
    environment (``clean_env``) plus ``env``, where ``None`` unsets a variable."""

    def run(*args: object, env: dict[str, str | None] | None = None, **kwargs: Any) -> Result:
        return CliRunner().invoke(main, [str(a) for a in args], env={**CLEAN_ENV, **(env or {})},
                                  **kwargs)  # fmt: skip

    return run


@pytest.fixture(scope="session")
def sandbox_env() -> Callable[..., dict[str, str | None]]:
    """The environment a command run through CliRunner needs to import into ``box``, and
    nothing from the test's own environment; ``extra`` set (or unset: ``None``) over it."""

    def env(box: Sandbox, **extra: str | None) -> dict[str, str | None]:
        return {**CLEAN_ENV, "HELPSCOUT_API_URL": box.url, "HELPSCOUT_APP_ID": box.app_id,
                "HELPSCOUT_APP_SECRET": box.app_secret, **extra}  # fmt: skip

    return env


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
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
    unforwarded, ``delay`` waits ``seconds`` then forwards. ``before``, when given, is called
    first (in the sandbox's thread): a test's move at an exact point of the run."""

    method: str
    path: str
    action: Literal["drop-before", "drop-after", "answer", "delay"]
    times: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0
    before: Callable[[], object] | None = None
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
        if fault.before is not None:
            fault.before()
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


#: Where a scripted client "sends" (nothing leaves: the transport answers).
SCRIPTED_URL = "https://api.scripted.test"
#: App credentials for a scripted client (its token requests are answered by the transport).
SCRIPTED_CREDENTIALS = Credentials("app-id", "app-s3cret-0123456789")


@pytest.fixture
def scripted_client() -> Callable[..., tuple[HelpScoutClient, ScriptedTransport]]:
    """A client whose requests a :class:`ScriptedTransport` answers, no server started:
    ``client, transport = scripted_client([(503, {}, ""), (201, {"Resource-ID": "7"}, "")])``.
    Fast retries and a pacer that never holds (but for a 429) unless ``retry``/``pacer`` are
    given; ``tokens=False`` puts token requests in the script too."""

    def make(
        script: Script = (), *, tokens: bool = True, **options: Any
    ) -> tuple[HelpScoutClient, ScriptedTransport]:
        transport = ScriptedTransport(script, tokens=tokens)
        options.setdefault("credentials", SCRIPTED_CREDENTIALS)
        options.setdefault("retry", RetryPolicy(max_attempts=8, base=0.001))
        options.setdefault("pacer", Pacer(100_000))
        return HelpScoutClient(SCRIPTED_URL, transport=transport, **options), transport

    return make


@pytest.fixture
def person() -> Callable[..., dict[str, Any]]:
    """:func:`person_body`: a customer to create or seed, numbered."""
    return person_body


# --- a browser to drive: headless Chromium over the DevTools protocol ---------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Headless, off the network except 127.0.0.1 (every name resolves to nothing, the rest goes to a
#: dead proxy), so its own background calls stay on this machine too.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--no-pings", "--hide-scrollbars",
    "--mute-audio", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9", "--remote-debugging-port=0",
]  # fmt: skip
#: key name -> (code, Windows virtual key code, text typed)
KEYS = {"Tab": ("Tab", 9, ""), "Enter": ("Enter", 13, "\r"), " ": ("Space", 32, " "),
        "ArrowDown": ("ArrowDown", 40, ""), "ArrowUp": ("ArrowUp", 38, ""),
        "Escape": ("Escape", 27, ""), "End": ("End", 35, ""),
        "Backspace": ("Backspace", 8, "")}  # fmt: skip


class Tab:
    """One page in headless Chromium, driven as a person would: keys, clicks, text typed.

    ``events`` keeps every protocol event (requests, console, dialogs) in order; dialogs are
    accepted at once so a page that opens one does not hang.
    """

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._reader = asyncio.create_task(self._read())

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        answer = self._waiting[message["id"]] = asyncio.get_running_loop().create_future()
        await self.ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(answer, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data:
                self._waiting.pop(data["id"]).set_result(data)
                continue
            self.events.append(data)
            if data["method"] == "Page.javascriptDialogOpening":
                task = asyncio.ensure_future(self.call("Page.handleJavaScriptDialog", accept=True))
                self._tasks.add(task)

    def seen(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.events if e["method"] == method]

    async def evaluate(self, expression: str) -> Any:
        reply = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                                awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 15) -> Any:
        """The value of ``expression`` once it is truthy (polled; fails after ``seconds``); an
        expression that throws (the page not there yet) counts as false."""
        guarded = f"(() => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }})()"
        for _ in range(int(seconds / 0.05)):
            if value := await self.evaluate(guarded):
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"never true: {expression}")

    async def press(self, key: str, *, shift: bool = False) -> None:
        code, vk, text = KEYS[key]
        common = {"key": key, "code": code, "windowsVirtualKeyCode": vk,
                  "modifiers": 8 if shift else 0}  # fmt: skip
        await self.call("Input.dispatchKeyEvent", type="keyDown", text=text, **common)
        await self.call("Input.dispatchKeyEvent", type="keyUp", **common)

    async def type(self, text: str) -> None:
        await self.call("Input.insertText", text=text)

    async def click(self, selector: str) -> None:
        """A mouse click in the middle of the element (scrolled into view first)."""
        box = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            "return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                            button="left", clickCount=1)  # fmt: skip

    async def screenshot(self) -> bytes:
        shot = await self.call("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])


@pytest.fixture(scope="session")
def browser_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One headless Chromium a worker, started when a test first needs it: its DevTools
    address. Starting one for each page cost a second or more each; ``chromium`` gives every
    page a browser context of its own instead. Skips when Chromium is not installed."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    profile = tmp_path_factory.mktemp("chromium-profile")
    browser = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (port_file.exists() and len(port_file.read_text().split()) == 2):
            assert browser.poll() is None, "chromium ended before it listened"
            assert time.monotonic() < deadline, "chromium never listened"
            time.sleep(0.05)
        port, path = port_file.read_text().split()
        yield f"ws://127.0.0.1:{port}{path}"
    finally:
        browser.terminate()
        browser.wait(10)


@pytest.fixture
def chromium(browser_endpoint: str) -> Callable[..., Any]:
    """``async with chromium(url) as tab``: a page showing ``url`` at 1280x800, loaded, in a
    browser context of its own (no cookies, storage or cache shared with any other page, as
    with a fresh profile), closed at the end; skips the test when Chromium is not installed."""

    @contextlib.asynccontextmanager
    async def open_tab(url: str, width: int = 1280, height: int = 800) -> AsyncIterator[Tab]:
        import aiohttp

        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(browser_endpoint, max_msg_size=0) as ws,
        ):
            tab = Tab(ws)
            context = (await tab.call("Target.createBrowserContext"))["browserContextId"]
            try:
                target = await tab.call("Target.createTarget", url="about:blank",
                                        browserContextId=context)  # fmt: skip
                attached = await tab.call("Target.attachToTarget", targetId=target["targetId"],
                                          flatten=True)  # fmt: skip
                tab.session = attached["sessionId"]
                for domain in ("Network", "Page", "Runtime"):
                    await tab.call(f"{domain}.enable")
                await tab.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                               deviceScaleFactor=1, mobile=False)  # fmt: skip
                await tab.call("Page.navigate", url=url)
                yield tab
            finally:
                tab.session = None  # the browser's own commands again
                with contextlib.suppress(RuntimeError, OSError):  # never hide the test's error
                    await tab.call("Target.disposeBrowserContext", browserContextId=context)

    return open_tab


def keep_screenshot(png: bytes, tmp_path: Path, name: str) -> Path:
    """Save a screenshot in the test's folder; copy it to ``$HELPSCOUT_SCREENSHOTS`` when that
    names a folder, relative to the checkout (``docs`` to refresh the README's pictures; CI
    leaves the tree clean)."""
    path = tmp_path / name
    path.write_bytes(png)
    if folder := os.environ.get("HELPSCOUT_SCREENSHOTS"):
        (ROOT / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, ROOT / folder / name)
    return path


@pytest.fixture
def screenshots(tmp_path: Path) -> Callable[[bytes, str], Path]:
    """:func:`keep_screenshot` in this test's folder."""
    return lambda png, name: keep_screenshot(png, tmp_path, name)


#: The columns of :func:`review_export`'s file.
REVIEW_COLUMNS = ["First Name", "Last Name", "Email", "Other", "Notes", "Signup Date", "Legacy ID"]


REVIEW_FIRST = ("Mia", "Ella", "Noah", "Liam", "Alva", "Ivar", "Saga")
REVIEW_LAST = ("Berg", "Lind", "Dahl", "Holm", "Nyberg", "Ek")


@pytest.fixture
def review_export(tmp_path: Path) -> Path:
    """An invented 30-row export for the review page: names, emails, phones in a column whose
    header says nothing ("Other"), notes too long for Help Scout in rows 3 and 7, day-first
    signup dates (row 5's "31/02/2021" is no date) and a legacy id."""
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(REVIEW_COLUMNS)
        for i in range(1, 31):
            notes = "Long story. " * 25 if i in (3, 7) else f"Met at fair {i}"
            signup = "31/02/2021" if i == 5 else f"{i % 28 + 1:02d}/{i % 12 + 1:02d}/2021"
            first, last = REVIEW_FIRST[i % 7], REVIEW_LAST[i % 6]  # names hold no digits
            writer.writerow([first, last, f"{first.lower()}{i}@example.com",
                             f"+44 20 7946 0{i:03d}", notes, signup, f"L-{1000 + i}"])  # fmt: skip
    return path


@pytest.fixture
def review_process(
    process_env: Callable[..., dict[str, str]],
) -> Iterator[Callable[..., tuple[subprocess.Popen[str], str]]]:
    """Start ``python -m importer review ARGS`` (its browser is ``true``: none opens) and read
    the page's address, its first line; ``(process, url)``. Killed at the end if still alive."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: object, cwd: Path | None = None) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "importer", "review", *map(str, args)], cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=process_env(BROWSER="true"),
        )  # fmt: skip
        started.append(process)
        assert process.stdout is not None
        return process, process.stdout.readline().strip()

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def post_json(url: str, body: object) -> Any:
    """POST ``body`` as JSON to ``url`` (a review page's ``api/...``); the parsed answer."""
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


@pytest.fixture
def post() -> Callable[[str, object], Any]:
    """:func:`post_json`."""
    return post_json
