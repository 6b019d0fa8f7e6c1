"""Presets: mappings for the exports people bring, and how a file is recognised as one of them.

Each preset is a mapping file under ``importer/suggest/presets/`` (one per system and export),
loadable as it stands by :func:`~importer.mapping.load_mapping`, whose comments give the evidence
(where the export's columns are documented, what the system writes in them). Its first lines
are metadata comments starting ``#:``, a YAML document of their own::

    #: name: shopify-customers
    #: title: Shopify customers
    #: header: [Customer ID, First Name, Last Name, Email, ...]   # the header row the system writes
    #: optional: [Address 2 - City, ...]    # written only when the data needs them

A file's header is matched against every preset (:func:`fingerprint`): the share of the preset's
columns the file has, the optional ones counted only when present, names compared without case
or extra spaces. Each column weighs by how particular it is to the preset: one that n presets
write weighs 1/n, so ``First Name``, ``Email`` and ``City`` (which every contact list has) cannot
make a generic spreadsheet look like a Help Scout or HubSpot export, while ``Default Address
Province Code`` or ``E-mail 1 - Value`` say where a file comes from. The best weighted share
wins (:func:`recognise`) when it is at least :data:`MIN_SHARE` with at least
:data:`MIN_COLUMNS` columns in common; ties go to the preset with more columns in common.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from importer.core.errors import ConfigError
from importer.suggest.draft import Draft, parse

__all__ = [
    "MIN_COLUMNS",
    "MIN_SHARE",
    "Match",
    "Preset",
    "fingerprint",
    "fold",
    "presets",
    "recognise",
]

MIN_SHARE = 0.6
MIN_COLUMNS = 4


@dataclass(frozen=True)
class Preset:
    """One system's export: its header row and the mapping for it (text, comments included)."""

    name: str
    title: str
    header: tuple[str, ...]
    optional: frozenset[str]
    text: str

    def draft(self) -> Draft:
        return parse(self.text)


@dataclass(frozen=True)
class Match:
    """How much of a preset's header a file has: counted, and weighted (see the module)."""

    preset: Preset
    present: int
    expected: int
    share: float

    def describe(self) -> str:
        """``looks like a Shopify customers export (18 of 19 columns)``."""
        article = "an" if self.preset.title[:1].lower() in "aeiou" else "a"
        count = f"({self.present} of {self.expected} columns)"
        return f"looks like {article} {self.preset.title} export {count}"


def fold(name: str) -> str:
    """A header as presets compare it: case and runs of white space ignored."""
    return " ".join(name.casefold().split())


def fingerprint(columns: list[str], preset: Preset) -> Match:
    """The preset's columns present in ``columns`` (optional ones count only when there)."""
    have = {fold(c) for c in columns}
    expected = [
        c for c in dict.fromkeys((*preset.header, *preset.optional))
        if c not in preset.optional or fold(c) in have
    ]  # fmt: skip
    present = [c for c in expected if fold(c) in have]
    weight = _weights()
    total = sum(weight[fold(c)] for c in expected)
    share = sum(weight[fold(c)] for c in present) / total if total else 0.0
    return Match(preset, len(present), len(expected), share)


@cache
def _weights() -> dict[str, float]:
    """Each column name -> 1 / the number of presets that write it."""
    counts: dict[str, int] = {}
    for p in presets().values():
        for name in {fold(c) for c in (*p.header, *p.optional)}:
            counts[name] = counts.get(name, 0) + 1
    return {name: 1 / n for name, n in counts.items()}


def recognise(columns: list[str]) -> Match | None:
    """The preset ``columns`` fit best, or None when none fits well enough."""
    matches = [fingerprint(columns, p) for p in presets().values()]
    good = [m for m in matches if m.share >= MIN_SHARE and m.present >= MIN_COLUMNS]
    return max(good, key=lambda m: (m.share, m.present), default=None)


def preset(name: str) -> Preset:
    """The preset called ``name``; a clear error listing the names otherwise."""
    found = presets().get(name)
    if found is None:
        raise ConfigError(
            f"no preset called {name!r}: choose one of {', '.join(presets())} "
            "(init --list-presets describes them)"
        )
    return found


@cache
def presets() -> dict[str, Preset]:
    """Every preset shipped with the package, by name."""
    found = {}
    for entry in sorted(resources.files("importer.suggest").joinpath("presets").iterdir(),
                        key=lambda e: e.name):  # fmt: skip
        if entry.name.endswith(".yaml"):
            loaded = _load(entry.read_text(encoding="utf-8"), entry.name)
            found[loaded.name] = loaded
    return found


def _load(text: str, where: str) -> Preset:
    meta: Any = yaml.safe_load(
        "\n".join(line.strip()[2:] for line in text.splitlines() if line.strip().startswith("#:"))
    )
    if not isinstance(meta, dict) or not {"name", "title", "header"} <= meta.keys():
        raise ValueError(f"preset {where}: its #: lines need name, title and header")
    header = tuple(str(c) for c in meta["header"])
    return Preset(
        name=str(meta["name"]),
        title=str(meta["title"]),
        header=header,
        optional=frozenset(str(c) for c in meta.get("optional") or ()),
        text=text,
    )
