"""Both HTML reports rendered in headless Chromium, driven over the DevTools protocol.

Each page is loaded from its file; the test takes a full-page screenshot, reads the text the
browser shows, and records every request the page makes (``Network.requestWillBeSent``) and every
dialog a script would open. The cells hold markup and script whose URLs point at a server of the
test's own on 127.0.0.1: a page that let them through would make it count a request. A control
page without the escaping shows that the watch sees such requests and dialogs.

Chromium is Debian's ``chromium`` (``.ci/run`` installs it); without it these tests skip. The
browser is kept off the network: every host name resolves to nothing, anything else goes to a
dead proxy, so its own background calls stay on this machine too. Screenshots go to the test's
temporary folder, and are copied to ``$HELPSCOUT_SCREENSHOTS`` when it names a folder.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import itertools
import json
import os
import re
import shutil
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from importer import ImportOptions, ValidateOptions, import_csv, validate_csv
from importer.sandbox import DEFAULT_PROPERTIES, SandboxConfig

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium to render the report pages in: `sudo apt-get install chromium` runs these",
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-pings",
    "--hide-scrollbars",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--remote-debugging-port=0",
]
WIDTH = 1280


@dataclass
class Rendered:
    """What the browser made of a page."""

    text: str
    """``document.body.innerText``: what a person reads (closed ``<details>`` left out)."""
    content: str
    """``document.body.textContent``: every text node, closed ``<details>`` included."""
    requests: list[str]
    """Every URL the page asked for, itself included."""
    dialogs: list[str]
    title: str
    active: int
    """Elements in the live page that could fetch or run something (img, script, iframe...);
    a link within the page (``href="#..."``) is not one."""
    links: list[str]
    """The ``href`` of every link: a page's contents link to its own parts."""
    targets: bool
    """Every in-page link names an element of the page."""
    opened: int
    """``<details>`` shown open."""
    png: bytes


class DevTools:
    """A DevTools protocol connection: calls with their answers, events kept in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._arrived = asyncio.Event()
        self._answers: set[asyncio.Future[dict]] = set()
        self._reader = asyncio.create_task(self._read())

    async def call(self, method: str, session: str | None = None, **params: Any) -> dict:
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params}
        if session:
            message["sessionId"] = session
        answer = self._waiting[message["id"]] = asyncio.get_running_loop().create_future()
        await self.ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(answer, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def event(self, method: str) -> dict[str, Any]:
        while True:
            for event in self.events:
                if event["method"] == method:
                    return event
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), 30)

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data:
                self._waiting.pop(data["id"]).set_result(data)
                continue
            self.events.append(data)
            self._arrived.set()
            if data["method"] == "Page.javascriptDialogOpening":  # answer it, or the page hangs
                answer = self.call(
                    "Page.handleJavaScriptDialog", data.get("sessionId"), accept=True
                )
                self._answers.add(asyncio.ensure_future(answer))


async def render(page: Path, profile: Path) -> Rendered:
    """Load ``page`` in a fresh headless Chromium and report what it showed and asked for."""
    assert CHROMIUM is not None
    browser = await asyncio.create_subprocess_exec(
        CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and len(port_file.read_text().split()) == 2:
                break
            await asyncio.sleep(0.05)
        port, path = port_file.read_text().split()
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0) as ws,
        ):
            tools = DevTools(ws)
            target = await tools.call("Target.createTarget", url="about:blank")
            attached = await tools.call("Target.attachToTarget", targetId=target["targetId"],
                                        flatten=True)  # fmt: skip
            session = attached["sessionId"]
            for domain in ("Network", "Page", "Runtime"):
                await tools.call(f"{domain}.enable", session)
            await tools.call("Emulation.setDeviceMetricsOverride", session, width=WIDTH,
                             height=900, deviceScaleFactor=1, mobile=False)  # fmt: skip
            await tools.call("Page.navigate", session, url=page.as_uri())
            await tools.event("Page.loadEventFired")
            await asyncio.sleep(0.5)  # anything a late script or image would still ask for

            async def evaluate(expression: str) -> Any:
                reply = await tools.call("Runtime.evaluate", session, expression=expression,
                                         returnByValue=True)  # fmt: skip
                return reply["result"].get("value")

            text = await evaluate("document.body.innerText")
            content = await evaluate("document.body.textContent")
            title = await evaluate("document.title")
            active = await evaluate(
                "document.querySelectorAll('img,script,iframe,object,embed,link,video,audio,"
                'source,form,input,base,a:not([href^="#"])\').length'
            )
            links = await evaluate("[...document.links].map(a => a.getAttribute('href'))")
            targets = await evaluate(
                "[...document.links].every(a => document.getElementById(a.hash.slice(1)))"
            )
            opened = await evaluate("document.querySelectorAll('details[open]').length")
            height = await evaluate("document.documentElement.scrollHeight")
            shot = await tools.call("Page.captureScreenshot", session, format="png",
                                    captureBeyondViewport=True,
                                    clip={"x": 0, "y": 0, "width": WIDTH, "height": height,
                                          "scale": 1})  # fmt: skip

            def seen(method: str, *keys: str) -> list[str]:
                found = []
                for event in tools.events:
                    if event["method"] == method:
                        value = event["params"]
                        for key in keys:
                            value = value[key]
                        found.append(value)
                return found

            return Rendered(
                text=text,
                content=content,
                requests=seen("Network.requestWillBeSent", "request", "url"),
                dialogs=seen("Page.javascriptDialogOpening", "message"),
                title=title,
                active=active,
                links=links,
                targets=targets,
                opened=opened,
                png=base64.b64decode(shot["data"]),
            )
    finally:
        with contextlib.suppress(ProcessLookupError):
            browser.terminate()
        await browser.wait()


@dataclass
class Tripwire:
    """A server on 127.0.0.1 that counts what asks it for anything."""

    url: str
    hits: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def tripwire() -> AsyncIterator[Tripwire]:
    hits: list[str] = []

    async def count(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="", content_type="image/png")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", count)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Tripwire(f"http://127.0.0.1:{port}", hits)
    finally:
        await runner.cleanup()


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def keep(png: bytes, tmp_path: Path, name: str, *, publish: bool = False) -> Path:
    """Save the screenshot in the test's folder; ``publish`` (the sample's pages, which the
    README shows) copies it to $HELPSCOUT_SCREENSHOTS too when that names a folder: the tree
    changes only when asked (``HELPSCOUT_SCREENSHOTS=docs pytest tests/test_browser.py``)."""
    path = tmp_path / name
    path.write_bytes(png)
    folder = os.environ.get("HELPSCOUT_SCREENSHOTS")
    if folder and publish:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / name)
    return path


def hostile_rows(url: str) -> Iterator[list[str]]:
    """Customers whose cells try to be markup, script and formulas, and that fetch ``url``."""
    yield ["Ada", "Lovelace", "ada@example.com", "GB", "free", "=1+2"]
    yield ["Bob", "<script>alert(1)</script>", "bob@@example.com", "", "", ""]
    yield [f'"><img src={url}/name onerror=alert(2)>', "Ng", '=HYPERLINK("x")', "", "", ""]
    yield ["Cy", "Ray", "cy@example.com", f"<img src='{url}/country'>", "", ""]
    yield ["Di", "Ox", f"<style>@import '{url}/css';</style>", "", "", ""]
    for i in range(40):
        yield [f"Person{i}", "Smith", f"p{i}@example.com", "DE", "pro" if i % 4 else "", ""]


MAPPING = """\
customer:
  firstName: First Name
  lastName: Last Name
  emails: [{column: Email}]
  address: {country: {column: Country, transform: [country_code]}}
  background: Notes
  properties:
    plan: {column: Plan, type: text}
"""
SHOWN_AS_TEXT = ["<script>alert(1)</script>", "onerror=alert(2)>", '=HYPERLINK("x")',
                 "<img src='", "<style>@import '"]  # fmt: skip


def hostile_file(tmp_path: Path, url: str) -> tuple[Path, Path]:
    data = tmp_path / "hostile.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", "Last Name", "Email", "Country", "Plan", "Notes"])
        writer.writerows(hostile_rows(url))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return data, mapping


def assert_only_itself(rendered: Rendered, page: Path, wire: Tripwire) -> None:
    assert rendered.requests == [page.as_uri()]
    assert wire.hits == []
    assert rendered.dialogs == []
    assert rendered.active == 0


async def test_validation_report_renders_with_hostile_cells_as_text(tmp_path: Path) -> None:
    async with tripwire() as wire:
        data, mapping = hostile_file(tmp_path, wire.url)
        report = tmp_path / "validation.html"
        validate_csv(data, mapping, ValidateOptions(report=report))
        rendered = await render(report, tmp_path / "profile")
        assert_only_itself(rendered, report, wire)
    assert rendered.title == "Validation report: hostile.csv"
    for text in SHOWN_AS_TEXT:
        assert text in rendered.content
    assert "Bob <script>alert(1)</script>" in rendered.content  # a name, beside its row
    assert "45\nrows read" in rendered.text and "Issues per rule" in rendered.text
    assert "2 rows: not a valid email address in Email → Email 1" in rendered.text  # no codes
    assert "emails.0.value" not in rendered.content and "max_length" not in rendered.content
    width, height = png_size(rendered.png)
    assert width == WIDTH and height > 600
    keep(rendered.png, tmp_path, "hostile-validation.png")


async def test_results_report_renders_failures_logrefs_and_the_pace(tmp_path: Path) -> None:
    """The account's plan is a number: Help Scout refuses the rows that send one as text."""
    props = [dict(p, type="number") if p["slug"] == "plan" else p for p in DEFAULT_PROPERTIES]
    async with tripwire() as wire:
        data, mapping = hostile_file(tmp_path, wire.url)
        report = tmp_path / "results.html"
        config = SandboxConfig(properties=props, latency_ms=60)
        options = ImportOptions(report=report, concurrency=2)
        result = await asyncio.to_thread(import_csv, data, mapping, tmp_path / "results.csv",
                                         options, sandbox=config)  # fmt: skip
        rendered = await render(report, tmp_path / "profile")
        assert_only_itself(rendered, report, wire)
    assert (result.created, result.failed, result.invalid) == (10, 31, 4)
    assert rendered.title == "Import results: hostile.csv"
    assert "31 rows (rows 1, 7, 8, 9, 11, …): Help Scout answered 400" in rendered.text
    assert "Help Scout's message: Bad request: properties.plan: must be an integer" in rendered.text
    assert "p1@example.com\tPerson1 Smith\t" in rendered.text  # whom the failed row names
    assert "Pace: budget spent in the last minute" in rendered.text
    assert "<img src='" in rendered.content  # the invalid country, in its message
    width, height = png_size(rendered.png)
    assert width == WIDTH and height > 600
    keep(rendered.png, tmp_path, "hostile-results.png")


async def test_the_watch_sees_requests_and_dialogs_of_a_page_that_lets_them_through(
    tmp_path: Path,
) -> None:
    async with tripwire() as wire:
        page = tmp_path / "control.html"
        page.write_text(f"<!DOCTYPE html><title>t</title><img src='{wire.url}/probe'>"
                        "<script>alert(7)</script>", encoding="utf-8")  # fmt: skip
        rendered = await render(page, tmp_path / "profile")
    assert f"{wire.url}/probe" in rendered.requests
    assert wire.hits == ["/probe"]
    assert rendered.dialogs == ["7"]


ROOT = Path(__file__).resolve().parent.parent
SAMPLE, EXAMPLE = Path("sample_data", "customers.csv"), Path("mappings", "example.yaml")


async def test_the_sample_pages_as_the_readme_shows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick start's import of the sample (from the project's folder, as the README runs
    it), with a budget: both pages, screenshots published (docs/validation-page.png,
    docs/results-page.png)."""
    monkeypatch.chdir(ROOT)
    issues = tmp_path / "issues.html"
    validate_csv(SAMPLE, EXAMPLE, ValidateOptions(report=issues))
    checked = await render(issues, tmp_path / "profile-1")
    assert checked.links == [f"#group-{n}" for n in range(1, 11)] and checked.targets
    assert checked.opened == 0 and "Contents" in checked.text
    assert "File sample_data/customers.csv, mapping mappings/example.yaml" in checked.text
    assert "too long (max 40) in First Name" in checked.text  # the rule in words, and its limit
    assert "not a valid email address in Email → Email 1" in checked.text
    keep(checked.png, tmp_path, "validation-page.png", publish=True)

    report = tmp_path / "results.html"
    config = SandboxConfig(rate_limit=1200, latency_ms=80)
    options = ImportOptions(report=report, concurrency=2)
    await asyncio.to_thread(import_csv, SAMPLE, EXAMPLE, tmp_path / "results.csv", options,
                            sandbox=config)  # fmt: skip
    done = await render(report, tmp_path / "profile-2")
    assert done.active == 0 and done.requests == [report.as_uri()]
    # invalid rows name whom they are, with what is wrong
    assert "15\tolga.schmidt14@example.com\tOlga Alexandrovna Maria-Magdalena" in done.text
    assert "Country: 'Atlantis' is not a country name" in done.text
    # the pace in budget units, against the run's ceiling and the account's budget
    assert "Pace: budget spent in the last minute (a write costs 2, a read 1)" in done.text
    assert "the run's ceiling, 1,080" in done.content
    assert "the account's budget, 1,200" in done.content
    assert "of one minute's budget of 1,200" in done.text  # the share used, true of a short run
    assert "it allowed itself 1,080 of the budget a minute" in done.text
    keep(done.png, tmp_path, "results-page.png", publish=True)


def invented_issues() -> Iterator[list[str]]:
    """30 rows for each of 8 ways a row can be wrong, one a column: 8 groups of issues."""
    good = ["Ann", "Lee", "ann{i}@example.com", "https://example.com", "DE", "F", "3", "Ops"]
    bad = ["A" * 41, "L" * 45, "ann{i}.example.com", "htp:/x", "Atlantis", "X", "three", "J" * 61]
    for column, wrong in enumerate(bad):
        for i in range(30):
            row = [cell.format(i=f"{column}-{i}") for cell in good]
            row[column] = wrong.format(i=i)
            yield row


async def test_a_page_of_many_groups_is_compact_with_a_contents_list(tmp_path: Path) -> None:
    """Every group closed, each linked from the contents (links within the page only)."""
    data = tmp_path / "many.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", "Last Name", "Email", "Website", "Country", "Sex", "Seats",
                         "Title"])  # fmt: skip
        writer.writerows(invented_issues())
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "customer:\n  firstName: First Name\n  lastName: Last Name\n  jobTitle: Title\n"
        "  emails: [{column: Email}]\n  websites: [{column: Website}]\n"
        "  gender: {column: Sex, map: {F: female}}\n"
        "  address: {country: {column: Country, transform: [country_code]}}\n"
        "  properties:\n    seats: {column: Seats, type: number}\n",
        encoding="utf-8",
    )
    report = tmp_path / "issues.html"
    validate_csv(data, mapping, ValidateOptions(report=report))
    async with tripwire() as wire:
        rendered = await render(report, tmp_path / "profile")
        assert_only_itself(rendered, report, wire)
    assert len(rendered.links) == 8 and rendered.targets
    assert rendered.links == [f"#group-{n}" for n in range(1, 9)]
    assert rendered.opened == 0
    assert "ann0.example.com" not in rendered.text  # the rows wait in their closed group
    assert "too long (max 60) in Title → Job title" in rendered.text
    _, height = png_size(rendered.png)
    assert height < 2000, height  # open, the 240 rows alone would take some 6,000 px


async def test_a_failed_row_says_help_scouts_message(tmp_path: Path) -> None:
    """A create answered 409 whose email search cannot find (its first email is new): failed,
    with Help Scout's message beside the row, whom it names and its logRef."""
    data = tmp_path / "conflict.csv"
    data.write_text("First Name,Email,Other Email\nAda,ada@example.com,shared@example.com\n"
                    "Bea,bea@example.com,shared@example.com\n", encoding="utf-8")  # fmt: skip
    mapping = tmp_path / "m.yaml"
    mapping.write_text("customer:\n  firstName: First Name\n"
                       "  emails: [{column: Email}, {column: Other Email}]\n")  # fmt: skip
    report = tmp_path / "results.html"
    config = SandboxConfig(duplicate_email="conflict")
    options = ImportOptions(report=report, concurrency=1)
    result = await asyncio.to_thread(import_csv, data, mapping, tmp_path / "results.csv",
                                     options, sandbox=config)  # fmt: skip
    assert (result.created, result.failed) == (1, 1)
    rendered = await render(report, tmp_path / "profile")
    assert "1 row (row 2): Help Scout answered 409" in rendered.text
    assert "Help Scout's message: conflicting entity already exists" in rendered.text
    assert re.search(r"\n2\tbea@example\.com\tBea\t[0-9a-f-]+#\d+", rendered.text), rendered.text
