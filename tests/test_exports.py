"""Real exports, end to end: ``init``, then ``validate``, then ``run --sandbox``, as a user would.

``tests/data/exports/`` holds one synthetic file per preset system (invented people, the header
row the system writes, its quirks) and files no preset fits (renamed and prefixed headers,
German, French and Spanish ones, a file whose headers are col1..col9). ``expected.json`` (written
with the files by ``generate.py``) says which preset each must be recognised as and what every
customer must hold once imported. Each file goes through the CLI exactly as written, then once
more into a sandbox served on loopback, whose state the test reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from importer.mapping import load_mapping
from importer.sandbox import Sandbox

EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
EXPECTED: dict[str, dict[str, Any]] = json.loads((EXPORTS / "expected.json").read_text("utf-8"))
PRESET_FILES = sorted(name for name, spec in EXPECTED.items() if spec["preset"])
OTHER_FILES = sorted(name for name, spec in EXPECTED.items() if not spec["preset"])


def held(customer: dict[str, Any]) -> dict[str, Any]:
    """What a sandbox customer holds, in expected.json's terms."""
    return {
        "firstName": customer["firstName"],
        "lastName": customer["lastName"],
        "organization": customer["organization"],
        "jobTitle": customer["jobTitle"],
        "background": customer["background"],
        "emails": sorted([e["type"], e["value"]] for e in customer["emails"]),
        "phones": sorted([p["type"], p["value"]] for p in customer["phones"]),
        "websites": [w["value"] for w in customer["websites"]],
        "address": present(customer["address"]),
    }


def present(address: dict[str, Any] | None) -> dict[str, Any] | None:
    """An address without its empty parts (the sandbox leaves out what was not sent)."""
    return None if address is None else {k: v for k, v in address.items() if v is not None}


@pytest.fixture
def init(tmp_path: Path, invoke: Callable[..., Result]) -> Callable[[str], tuple[Path, Result]]:
    """``init`` of the export ``name`` into tmp_path: the mapping written, and the result."""

    def init(name: str) -> tuple[Path, Result]:
        mapping = tmp_path / "mapping.yaml"
        result = invoke("init", EXPORTS / name, "-o", mapping)
        assert result.exit_code == 0, result.output
        return mapping, result

    return init


@pytest.fixture
def import_everything(
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
    invoke: Callable[..., Result],
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
) -> Callable[[str, Path], None]:
    """validate, run --sandbox as written, then run into a sandbox served: every row created,
    each customer holding what the export says."""

    def import_everything(name: str, mapping: Path) -> None:
        source = EXPORTS / name
        checked = invoke("validate", source, "-m", mapping)
        rows = len(EXPECTED[name]["customers"])
        assert checked.exit_code == 0, checked.output
        assert f"{rows} rows read: {rows} valid, 0 invalid" in checked.stdout

        written = tmp_path / "results.csv"
        run = invoke("run", source, "-m", mapping, "--sandbox", "-o", written)
        assert run.exit_code == 0, run.output
        assert run.stdout.splitlines()[0] == f"{rows} rows: {rows} created, 0 invalid, 0 failed."

        box = serve_sandbox()
        again = tmp_path / "served.csv"
        served = invoke("run", source, "-m", mapping, "-o", again, "--state", tmp_path / "s.db",
                        env=sandbox_env(box))  # fmt: skip
        assert served.exit_code == 0, served.output
        lines = read_rows(again)
        assert [line["status"] for line in lines] == ["created"] * rows
        for line, expected in zip(lines, EXPECTED[name]["customers"], strict=True):
            customer = held(box.state.customers[int(line["customer_id"])])
            expected = {**expected, "address": present(expected["address"])}
            assert {k: customer[k] for k in expected} == expected, f"{name} row {line['row']}"

    return import_everything


@pytest.mark.parametrize("name", PRESET_FILES)
def test_an_export_is_recognised_and_imported_whole(name, init, import_everything):
    mapping, result = init(name)
    preset = EXPECTED[name]["preset"]
    assert f"{EXPORTS / name} looks like a" in result.stderr  # "a" or "an"
    assert f": the {preset} preset, trimmed to its columns." in result.stderr
    assert mapping.read_text("utf-8").startswith(f"# {name} looks like a")
    load_mapping(mapping)
    import_everything(name, mapping)


@pytest.mark.parametrize("name", OTHER_FILES)
def test_a_file_no_preset_fits_is_mapped_by_header_words_and_values(name, init, import_everything):
    mapping, result = init(name)
    assert "no preset fits" in result.stderr
    import_everything(name, mapping)


@pytest.mark.parametrize(
    ("name", "column", "slug", "date_format"),
    [
        ("kunden-de.csv", "Geburtstag", "geburtstag", "%d.%m.%Y"),
        ("clients-fr.csv", "Date de création", "date-de-creation", "%d/%m/%Y"),
        ("clientes-es.csv", "Fecha de alta", "fecha-de-alta", "%Y-%m-%d"),
        ("renamed-headers.csv", "Signup Date", "signup-date", "%d/%m/%Y"),
        ("no-headers-col1-col9.csv", "col6", "col6", "%m/%d/%Y"),
    ],
)
def test_date_columns_are_offered_as_date_properties_with_their_format(
    name, column, slug, date_format, init, invoke
):
    mapping, _ = init(name)
    text = mapping.read_text("utf-8")
    line = next(x for x in text.splitlines() if x.startswith(f"  #   {slug}:"))
    assert f'type: date, format: "{date_format}"' in line
    # uncommented, as the user would, the dates validate with that format
    mapping.write_text(
        text.replace("  # properties:\n", "  properties:\n").replace(
            line, line.replace("#", " ", 1)
        ),
        encoding="utf-8",
    )
    checked = invoke("validate", EXPORTS / name, "-m", mapping)
    assert checked.exit_code == 0, checked.output
    assert f"properties.{slug}" in load_mapping(mapping).sources


def test_headers_that_say_nothing_get_their_kind_from_their_values(init):
    mapping, _ = init("no-headers-col1-col9.csv")
    sources = load_mapping(mapping).sources
    assert sources["emails.0.value"] == "col2"
    assert sources["phones.0.value"] == "col3"
    assert sources["address.country"] == "col5"
    assert sources["websites.0.value"] == "col8"
