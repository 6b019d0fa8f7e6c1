"""Both HTML reports rendered in headless Chromium, driven over the DevTools protocol.

Each page is loaded from its file; the test takes a full-page screenshot, reads the text the
browser shows, and records every request the page makes (``Network.requestWillBeSent``) and every
dialog a script would open. The cells hold markup and script whose URLs point at a server of the
test's own on 127.0.0.1: a page that let them through would make it count a request. A control
page without the escaping shows that the watch sees such requests and dialogs.

Chromium is Debian's ``chromium`` (``.ci/run`` installs it), driven by conftest's ``chromium``
(kept off the network but 127.0.0.1); without it these tests skip. Screenshots go to the test's
temporary folder, and are copied to ``$HELPSCOUT_SCREENSHOTS`` when it names a folder.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import struct
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from importer import ImportOptions, ValidateOptions, import_csv, validate_csv
from importer.sandbox import DEFAULT_PROPERTIES, SandboxConfig

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
    """Elements in the live page that could fetch or run something (img, script, iframe...)."""
    png: bytes


async def render(chromium: Callable[..., Any], page: Path) -> Rendered:
    """Load ``page`` in a fresh headless Chromium (conftest's ``chromium``) and report what it
    showed and asked for."""
    async with chromium(page.as_uri(), WIDTH, 900) as tab:
        await tab.wait_for("document.readyState === 'complete'")
        await asyncio.sleep(0.5)  # anything a late script or image would still ask for
        height = await tab.evaluate("document.documentElement.scrollHeight")
        shot = await tab.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                              clip={"x": 0, "y": 0, "width": WIDTH, "height": height,
                                    "scale": 1})  # fmt: skip
        return Rendered(
            text=await tab.evaluate("document.body.innerText"),
            content=await tab.evaluate("document.body.textContent"),
            requests=[e["request"]["url"] for e in tab.seen("Network.requestWillBeSent")],
            dialogs=[e["message"] for e in tab.seen("Page.javascriptDialogOpening")],
            title=await tab.evaluate("document.title"),
            active=await tab.evaluate(
                "document.querySelectorAll('img,script,iframe,object,embed,link,video,audio,"
                "source,form,input,a,base').length"
            ),
            png=base64.b64decode(shot["data"]),
        )


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


async def test_validation_report_renders_with_hostile_cells_as_text(
    tmp_path: Path, chromium: Callable[..., Any], screenshots: Callable[[bytes, str], Path]
) -> None:
    async with tripwire() as wire:
        data, mapping = hostile_file(tmp_path, wire.url)
        report = tmp_path / "validation.html"
        validate_csv(data, mapping, ValidateOptions(report=report))
        rendered = await render(chromium, report)
        assert_only_itself(rendered, report, wire)
    assert rendered.title == "Validation report: hostile.csv"
    for text in SHOWN_AS_TEXT:
        assert text in rendered.content
    assert "Bob <script>alert(1)</script>" in rendered.text  # a name, beside its row
    assert "45\nrows read" in rendered.text and "Issues per rule" in rendered.text
    assert "2 rows: email in Email → emails.0.value" in rendered.text
    width, height = png_size(rendered.png)
    assert width == WIDTH and height > 600
    screenshots(rendered.png, "validation-report.png")


async def test_results_report_renders_failures_logrefs_and_the_pace(
    tmp_path: Path, chromium: Callable[..., Any], screenshots: Callable[[bytes, str], Path]
) -> None:
    """The account's plan is a number: Help Scout refuses the rows that send one as text."""
    props = [dict(p, type="number") if p["slug"] == "plan" else p for p in DEFAULT_PROPERTIES]
    async with tripwire() as wire:
        data, mapping = hostile_file(tmp_path, wire.url)
        report = tmp_path / "results.html"
        config = SandboxConfig(properties=props, latency_ms=60)
        options = ImportOptions(report=report, concurrency=2)
        result = await asyncio.to_thread(import_csv, data, mapping, tmp_path / "results.csv",
                                         options, sandbox=config)  # fmt: skip
        rendered = await render(chromium, report)
        assert_only_itself(rendered, report, wire)
    assert (result.created, result.failed, result.invalid) == (10, 31, 4)
    assert rendered.title == "Import results: hostile.csv"
    assert "31 rows (Help Scout answered 400)" in rendered.text
    assert "Bad request: properties.plan: must be an integer" in rendered.text
    assert "Pace: requests per minute" in rendered.text
    assert "<img src='" in rendered.content  # the invalid country, in its message
    width, height = png_size(rendered.png)
    assert width == WIDTH and height > 600
    screenshots(rendered.png, "results-report.png")


async def test_the_watch_sees_requests_and_dialogs_of_a_page_that_lets_them_through(
    tmp_path: Path, chromium: Callable[..., Any]
) -> None:
    async with tripwire() as wire:
        page = tmp_path / "control.html"
        page.write_text(f"<!DOCTYPE html><title>t</title><img src='{wire.url}/probe'>"
                        "<script>alert(7)</script>", encoding="utf-8")  # fmt: skip
        rendered = await render(chromium, page)
    assert f"{wire.url}/probe" in rendered.requests
    assert wire.hits == ["/probe"]
    assert rendered.dialogs == ["7"]


async def test_validation_report_shows_dropped_values_struck_out(
    tmp_path: Path, chromium: Callable[..., Any], screenshots: Callable[[bytes, str], Path]
) -> None:
    """``on_invalid: drop``: the value the customer is sent without, struck out under its badge."""
    data, mapping = tmp_path / "in.csv", tmp_path / "m.yaml"
    data.write_text("First,Phone\nAna,-5361\nBen,+1 415 555 0100\n", encoding="utf-8")
    mapping.write_text("customer:\n  firstName: First\n  phones: [{column: Phone, on_invalid: "
                       "drop}]\n", encoding="utf-8")  # fmt: skip
    report = tmp_path / "dropped.html"
    validate_csv(data, mapping, ValidateOptions(report=report))
    rendered = await render(chromium, report)
    assert "1\ndropped: sent without" in rendered.text
    assert "dropped 1 row: phone_dropped in Phone" in rendered.text
    assert "-5361" in rendered.text
    screenshots(rendered.png, "validation-report-dropped.png")
