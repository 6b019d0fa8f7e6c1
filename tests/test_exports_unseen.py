"""Exports of systems no preset knows: `init`, then `validate`, then `run --sandbox`.

``tests/data/exports-unseen/`` holds one synthetic file per system (invented people, the header
row that system's documentation lists, see its README) and ``manifest.json``: the columns that
must feed each field, the columns that must feed none (dates, ids, amounts, flags, lists,
another person's details, whatever their headers say), and the rows planted bad. The engine is
measured on them: no preset is added for these systems.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from importer.mapping import load_mapping

UNSEEN = Path(__file__).resolve().parent / "data" / "exports-unseen"
MANIFEST: dict[str, dict[str, Any]] = json.loads((UNSEEN / "manifest.json").read_text("utf-8"))
#: The share of the manifest's expected (field, column) pairs ``init`` must map, over the set.
MIN_RIGHT = 0.97


def mapped_pairs(mapping: Path) -> set[tuple[str, str]]:
    """(field, column) of every column the mapping reads, fallbacks included."""
    loaded = load_mapping(mapping)
    return {(t.field, column) for t in loaded.targets for column in t.value.columns}


@pytest.fixture(scope="module")
def init(
    tmp_path_factory: pytest.TempPathFactory, invoke: Callable[..., Result]
) -> Callable[[str], tuple[Path, Result]]:
    """``init`` of one export: its mapping and what it said, made once a module (four tests
    read each file's mapping; none writes it: a test that edits one takes a copy)."""
    folder = tmp_path_factory.mktemp("unseen-mappings")
    made: dict[str, tuple[Path, Result]] = {}

    def init(name: str) -> tuple[Path, Result]:
        if name not in made:
            mapping = folder / f"{name}.yaml"
            result = invoke("init", UNSEEN / name, "-o", mapping)
            assert result.exit_code == 0, result.output
            made[name] = mapping, result
        return made[name]

    return init


def test_the_set_is_a_dozen_systems_none_with_a_preset(invoke):
    assert len(MANIFEST) >= 12
    for name in MANIFEST:
        assert "no preset fits" in invoke("init", UNSEEN / name).stderr, name


def test_init_maps_the_obvious_columns_of_the_whole_set(init):
    right, listed = 0, []
    total = sum(len(spec["expected"]) for spec in MANIFEST.values())
    for name, spec in MANIFEST.items():
        pairs = mapped_pairs(init(name)[0])
        missed = [pair for pair in map(tuple, spec["expected"]) if pair not in pairs]
        right += len(spec["expected"]) - len(missed)
        listed.append(f"{name}: {len(spec['expected']) - len(missed)}/{len(spec['expected'])}"
                      + (f" missed {missed}" if missed else ""))  # fmt: skip
    assert right / total >= MIN_RIGHT, "\n".join(listed)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_no_column_of_dates_ids_flags_lists_or_another_person_feeds_the_customer(name, init):
    read = {column for _, column in mapped_pairs(init(name)[0])}
    assert read & set(MANIFEST[name]["not_customer"]) == set()


@pytest.mark.parametrize("name", sorted(n for n, spec in MANIFEST.items() if spec["misread"]))
def test_no_column_is_read_as_a_field_it_is_not(name, init):
    """Chargebee's billing_address[first_name] is a name on the address, not a street line."""
    assert mapped_pairs(init(name)[0]) & {tuple(p) for p in MANIFEST[name]["misread"]} == set()


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_validate_and_run_find_exactly_the_planted_bad_rows(
    name, init, invoke, tmp_path, read_rows
):
    mapping, _ = init(name)
    spec = MANIFEST[name]
    planted = [bad["row"] for bad in spec["bad_rows"]]
    report = tmp_path / "report.csv"
    checked = invoke("validate", UNSEEN / name, "-m", mapping, "--report", report)
    assert checked.exit_code == (1 if planted else 0), checked.output
    errors = sorted({int(line["row"]) for line in read_rows(report) if line["severity"] == "error"})
    assert errors == planted

    results = tmp_path / "results.csv"
    run = invoke("run", UNSEEN / name, "-m", mapping, "--sandbox", "-o", results)
    assert run.exit_code == (1 if planted else 0), run.output
    statuses = {int(line["row"]): line["status"] for line in read_rows(results)}
    assert len(statuses) == spec["rows"]
    assert [row for row, status in statuses.items() if status == "invalid"] == planted
    assert {s for row, s in statuses.items() if row not in planted} == {"created"}


def test_init_says_what_it_mapped_what_its_values_ruled_out_and_the_encoding_it_guessed(init):
    _, result = init("brevo-contacts-excel.csv")
    lines = result.stderr.splitlines()
    assert lines[1].startswith("Mapped: PRENOM -> firstName (high); NOM -> lastName (high);")
    assert "PAYS -> address.country (high)" in lines[1]
    assert lines[-1] == (
        "Warning: file is not UTF-8 (byte 0xD6 on line 6); read it as cp1252: "
        "pass --encoding to choose another"
    )


def test_init_says_which_columns_their_values_rule_out(init):
    _, result = init("activecampaign-contacts.csv")
    assert (
        'Not mapped: primary_address: its header names "address", but 100% of 54 sampled values '
        "look like yes/no values, not street lines."
    ) in result.stderr


def test_a_last_event_is_no_last_name(init):
    """Teachable's "Last Sign In" is when, not who: "last" before another word names no name."""
    mapping, result = init("teachable-users.csv")
    assert "Mapped: Name -> name (high); Email -> emails (high)." in result.stderr
    assert "Last Sign In" not in result.stderr.splitlines()[1]
    text = mapping.read_text("utf-8")
    assert "  name: Name\n" in text
    assert "lastName" not in text


def test_dates_typed_two_ways_are_offered_with_both_formats(init, invoke, tmp_path, read_rows):
    mapping = tmp_path / "brevo.yaml"
    shutil.copyfile(init("brevo-contacts-excel.csv")[0], mapping)
    text = mapping.read_text("utf-8")
    line = next(x for x in text.splitlines() if x.startswith("  #   date-inscription:"))
    assert 'format: ["%Y-%m-%d", "%d/%m/%Y"]' in line
    mapping.write_text(
        text.replace("  # properties:\n", "  properties:\n").replace(
            line, line.replace("#", " ", 1)
        ),
        encoding="utf-8",
    )
    report = tmp_path / "report.csv"
    invoke("validate", UNSEEN / "brevo-contacts-excel.csv", "-m", mapping, "--report", report)
    assert "properties.date-inscription" in load_mapping(mapping).sources
    fields = {line["field"] for line in read_rows(report)}
    assert fields and "properties.date-inscription" not in fields  # every date read
