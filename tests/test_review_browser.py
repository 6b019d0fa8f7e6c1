"""The review page in real headless Chromium (the ``chromium`` fixture drives it over DevTools):
mappings changed with keys and clicks, the preview and its invalid count following, the saved
mapping validated and imported as chosen; a keyboard-only pass; hostile cells shown as text.

Screenshots at 1280x800 are copied to ``$HELPSCOUT_SCREENSHOTS`` when it names a folder
(``HELPSCOUT_SCREENSHOTS=docs`` refreshes the README's).
"""

from __future__ import annotations

import asyncio
import csv
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result

from importer.review import Review
from importer.review.server import ReviewServer

INVALID = "document.getElementById('counts').dataset.invalid"


async def row_of(tab: Any, name: str) -> int:
    """The page's row number of column ``name`` (review columns come first)."""
    found = await tab.wait_for(
        "[...document.querySelectorAll('#columns tbody th span:first-child')]"
        f".map(s => s.textContent).indexOf({json.dumps(name)}) + 1"
    )
    return int(found) - 1


async def tab_to(tab: Any, selector: str, *, presses: int = 600) -> None:
    """Press Tab until ``selector`` has the focus."""
    for _ in range(presses):
        if await tab.evaluate(f"document.activeElement.matches({json.dumps(selector)})"):
            return
        await tab.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def arrow_to(tab: Any, selector: str, value: str) -> None:
    """With the focused select, press ArrowDown (then ArrowUp) until it shows ``value``."""
    read = f"document.querySelector({json.dumps(selector)}).value"
    for key in ("ArrowDown", "ArrowUp"):
        for _ in range(80):
            if await tab.evaluate(read) == value:
                return
            await tab.press(key)
    raise AssertionError(f"{selector} never showed {value}")


async def fill(tab: Any, selector: str, text: str) -> None:
    """Click into the input, delete what it holds, type ``text``."""
    await tab.click(selector)
    await tab.press("End")
    for _ in range(
        len(await tab.evaluate(f"document.querySelector({json.dumps(selector)}).value"))
    ):
        await tab.press("Backspace")
    await tab.type(text)


async def invalid_becomes(tab: Any, count: int) -> None:
    try:
        await tab.wait_for(f"{INVALID} === '{count}'", 5)
    except AssertionError:
        print(await tab.evaluate("document.getElementById('preview').innerText"))
        raise


async def test_three_changes_follow_in_the_preview_and_the_saved_mapping_imports_them(
    chromium: Callable[..., Any],
    review_export: Path,
    tmp_path: Path,
    invoke: Callable[..., Result],
    read_rows: Callable[[Path], list[dict[str, str]]],
    screenshots: Callable[[bytes, str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # the page shows the paths as given: short, as a user types them
    saved = Path("reviewed.yaml")
    review_export = Path(review_export.name)
    async with ReviewServer(Review(review_export, saved)) as server, chromium(server.url) as tab:
        await invalid_becomes(tab, 2)  # rows 3 and 7: notes longer than Help Scout takes
        assert "init's suggestion" in await tab.evaluate("document.body.innerText")
        invalid = await tab.evaluate("document.getElementById('invalid').innerText")
        assert invalid.startswith("row 3\nerror max_length: ")
        png = await tab.screenshot()
        assert struct.unpack(">II", png[16:24]) == (1280, 800)  # the PNG header's size
        screenshots(png, "review-page.png")

        other, notes, signup = [await row_of(tab, n) for n in ("Other", "Notes", "Signup Date")]
        await tab_to(tab, f"#target-{other}")
        await arrow_to(tab, f"#target-{other}", "entry:phones")
        await tab_to(tab, f"#type-{other}")
        await arrow_to(tab, f"#type-{other}", "mobile")
        await tab.wait_for("document.getElementById('rows').innerText.includes('\"mobile\"')")

        await tab_to(tab, f"#target-{notes}")
        await arrow_to(tab, f"#target-{notes}", "none")
        await invalid_becomes(tab, 0)

        await tab_to(tab, f"#target-{signup}")
        await arrow_to(tab, f"#target-{signup}", "property")
        await fill(tab, f"#format-{signup}", "%d/%m/%Y")
        await invalid_becomes(tab, 1)  # row 5: 31/02/2021 is no date
        text = await tab.evaluate("document.getElementById('rows').innerText")
        assert 'properties: {"signup-date":"2021-03-03"}' in text  # row 2, as Help Scout gets it
        invalid = await tab.evaluate("document.getElementById('invalid').innerText")
        assert invalid.startswith("row 5") and "31/02/2021" in invalid

        last = await row_of(tab, "Last Name")  # a transform, from the field's options
        await tab.click(f"#column-{last} details.options summary")
        await tab.click(f"#tr-{last}-upper")
        await tab.wait_for("document.getElementById('rows').innerText.includes('\"BERG1\"')")

        await tab.click("#check")
        await tab.wait_for("document.getElementById('status').innerText.startsWith('All 30')")
        report = await tab.evaluate("document.getElementById('report').innerText")
        assert "Issues, grouped by what is wrong" in report and "1 row" in report
        await tab.click("#save")
        await tab.wait_for("document.getElementById('status').innerText.startsWith('Saved')")
        screenshots(await tab.screenshot(), "review-checked.png")
    mapping = yaml.safe_load(saved.read_text(encoding="utf-8"))
    customer = mapping["customer"]
    assert {"column": "Other", "type": "mobile"} in customer["phones"]
    assert "background" not in customer
    assert customer["lastName"] == {"column": "Last Name", "transform": ["upper"]}
    assert customer["properties"]["signup-date"] == {
        "column": "Signup Date", "type": "date", "format": "%d/%m/%Y"
    }  # fmt: skip
    assert "# chosen on the review page" in saved.read_text(encoding="utf-8")

    checked = invoke("validate", review_export, "-m", saved)
    assert checked.exit_code == 1
    assert "30 rows read: 29 valid, 1 invalid" in checked.stdout
    results = tmp_path / "results.csv"
    ran = await asyncio.to_thread(invoke, "run", review_export, "-m", saved, "--sandbox",
                                  "-o", results)  # fmt: skip
    assert ran.exit_code == 1, ran.output
    statuses = [r["status"] for r in read_rows(results)]
    assert statuses.count("created") == 29 and statuses[4] == "invalid"


async def test_the_page_works_by_keyboard_alone_and_asks_before_overwriting(
    chromium: Callable[..., Any], review_export: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "reviewed.yaml"
    saved.write_text("# someone's earlier mapping\n", encoding="utf-8")
    async with ReviewServer(Review(review_export, saved)) as server, chromium(server.url) as tab:
        await invalid_becomes(tab, 2)
        notes = await row_of(tab, "Notes")
        await tab_to(tab, f"#target-{notes}")
        await arrow_to(tab, f"#target-{notes}", "none")
        await invalid_becomes(tab, 0)
        await tab_to(tab, "a.skip")  # from the top, the skip link is the first stop
        await tab.press("Enter")
        assert await tab.evaluate("document.activeElement.id") == "preview"
        await tab.press("Tab")
        await tab.press("Tab")  # Check all rows, then Save
        assert await tab.evaluate("document.activeElement.id") == "save"
        await tab.press("Enter")
        await tab.wait_for("!document.getElementById('overwrite').hidden")
        assert saved.read_text(encoding="utf-8") == "# someone's earlier mapping\n"
        assert "exists already" in await tab.evaluate("document.getElementById('status').innerText")
        assert await tab.evaluate("document.activeElement.id") == "overwrite"
        await tab.press("Enter")
        await tab.wait_for("document.getElementById('status').innerText.startsWith('Saved')")
    assert "background" not in yaml.safe_load(saved.read_text(encoding="utf-8"))["customer"]


async def test_cells_with_markup_and_script_are_shown_as_text(
    chromium: Callable[..., Any], tmp_path: Path
) -> None:
    data = tmp_path / "hostile.csv"
    cells = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>",
             "\"><svg onload=alert(3)>", "<b>bold</b>"]  # fmt: skip
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", "Last Name", "Email", "Notes"])
        for i, cell in enumerate(cells):
            writer.writerow([cell, f"Ng{i}", f"ng{i}@example.com", cell])
    async with (
        ReviewServer(Review(data, tmp_path / "m.yaml")) as server,
        chromium(server.url) as tab,
    ):
        await tab.wait_for(f"{INVALID} !== undefined")
        await tab.click("#check")
        await tab.wait_for("document.getElementById('status').innerText.startsWith('All 4')")
        text = await tab.evaluate("document.body.innerText")
        planted = await tab.evaluate(
            "document.querySelectorAll('img, [onerror], [onload]').length"
            " + document.scripts.length - 1"
            " + [...document.querySelectorAll('b')].filter(b => b.textContent === 'bold').length"
        )
        requested = [r["request"]["url"] for r in tab.seen("Network.requestWillBeSent")]
    for cell in cells:
        assert cell in text
    assert planted == 0
    assert tab.seen("Page.javascriptDialogOpening") == []
    assert all(url.startswith(server.url) for url in requested)
