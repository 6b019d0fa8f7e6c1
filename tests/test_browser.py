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
import re
import struct
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
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
    """Elements in the live page that could fetch or run something (img, script, iframe...);
    a link within the page (``href="#..."``) is not one."""
    links: list[str]
    """The ``href`` of every link: a page's contents link to its own parts."""
    targets: bool
    """Every in-page link names an element of the page."""
    opened: int
    """``<details>`` shown open."""
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
                'source,form,input,base,a:not([href^="#"])\').length'
            ),
            links=await tab.evaluate("[...document.links].map(a => a.getAttribute('href'))"),
            targets=await tab.evaluate(
                "[...document.links].every(a => document.getElementById(a.hash.slice(1)))"
            ),
            opened=await tab.evaluate("document.querySelectorAll('details[open]').length"),
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
    assert "Bob <script>alert(1)</script>" in rendered.content  # a name, beside its row
    assert "45\nrows read" in rendered.text and "Issues per rule" in rendered.text
    assert "2 rows: not a valid email address in Email → Email 1" in rendered.text  # no codes
    assert "emails.0.value" not in rendered.content and "max_length" not in rendered.content
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
    assert "31 rows (rows 1, 7, 8, 9, 11, …): Help Scout answered 400" in rendered.text
    assert "Help Scout's message: Bad request: properties.plan: must be an integer" in rendered.text
    assert "p1@example.com\tPerson1 Smith\t" in rendered.text  # whom the failed row names
    assert "Pace: budget spent in the last minute" in rendered.text
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
    assert (
        "dropped 1 row: not a phone number: dropped, the row sent without it in Phone → Phone 1"
        in rendered.text.replace("\n", " ")
    )
    assert "-5361" in rendered.text
    screenshots(rendered.png, "validation-report-dropped.png")


ROOT = Path(__file__).resolve().parent.parent
SAMPLE, EXAMPLE = Path("sample_data", "customers.csv"), Path("mappings", "example.yaml")


async def test_the_sample_pages_as_the_readme_shows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chromium: Callable[..., Any],
    screenshots: Callable[[bytes, str], Path],
) -> None:  # fmt: skip
    """The quick start's import of the sample (from the project's folder, as the README runs
    it), with a budget: both pages, screenshots published (docs/validation-page.png,
    docs/results-page.png)."""
    monkeypatch.chdir(ROOT)
    issues = tmp_path / "issues.html"
    validate_csv(SAMPLE, EXAMPLE, ValidateOptions(report=issues))
    checked = await render(chromium, issues)
    assert checked.links == [f"#group-{n}" for n in range(1, 11)] and checked.targets
    assert checked.opened == 0 and "Contents" in checked.text
    assert "File sample_data/customers.csv, mapping mappings/example.yaml" in checked.text
    assert "too long (max 40) in First Name" in checked.text  # the rule in words, and its limit
    assert "not a valid email address in Email → Email 1" in checked.text
    screenshots(checked.png, "validation-page.png")

    report = tmp_path / "results.html"
    config = SandboxConfig(rate_limit=1200, latency_ms=80)
    options = ImportOptions(report=report, concurrency=2)
    await asyncio.to_thread(import_csv, SAMPLE, EXAMPLE, tmp_path / "results.csv", options,
                            sandbox=config)  # fmt: skip
    done = await render(chromium, report)
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
    screenshots(done.png, "results-page.png")


def invented_issues() -> Iterator[list[str]]:
    """30 rows for each of 8 ways a row can be wrong, one a column: 8 groups of issues."""
    good = ["Ann", "Lee", "ann{i}@example.com", "https://example.com", "DE", "F", "3", "Ops"]
    bad = ["A" * 41, "L" * 45, "ann{i}.example.com", "htp:/x", "Atlantis", "X", "three", "J" * 61]
    for column, wrong in enumerate(bad):
        for i in range(30):
            row = [cell.format(i=f"{column}-{i}") for cell in good]
            row[column] = wrong.format(i=i)
            yield row


async def test_a_page_of_many_groups_is_compact_with_a_contents_list(
    tmp_path: Path, chromium: Callable[..., Any]
) -> None:
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
        rendered = await render(chromium, report)
        assert_only_itself(rendered, report, wire)
    assert len(rendered.links) == 8 and rendered.targets
    assert rendered.links == [f"#group-{n}" for n in range(1, 9)]
    assert rendered.opened == 0
    assert "ann0.example.com" not in rendered.text  # the rows wait in their closed group
    assert "too long (max 60) in Title → Job title" in rendered.text
    _, height = png_size(rendered.png)
    assert height < 2000, height  # open, the 240 rows alone would take some 6,000 px


async def test_a_failed_row_says_help_scouts_message(
    tmp_path: Path, chromium: Callable[..., Any]
) -> None:
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
    rendered = await render(chromium, report)
    assert "1 row (row 2): Help Scout answered 409" in rendered.text
    assert "Help Scout's message: conflicting entity already exists" in rendered.text
    assert re.search(r"\n2\tbea@example\.com\tBea\t[0-9a-f-]+#\d+", rendered.text), rendered.text
