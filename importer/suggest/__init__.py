"""``init``'s suggestion engine: a first mapping for the export a user has, with its evidence.

Two ways, tried in order (:func:`suggest_file`): **recognise the source**, the file's header
matched against the presets shipped in ``importer/suggest/presets/`` (Shopify, HubSpot,
Salesforce, Google Contacts, Outlook...; :mod:`importer.suggest.presets`), the best fit written
trimmed to the file's columns; then **map unknown headers**
(:func:`~importer.suggest.engine.suggest`) by their words and each column's first
:data:`SAMPLE_ROWS` values. Every suggested field carries
its evidence and a confidence (:mod:`importer.suggest.fit`) as comments, the unsure ones commented
out under "Review these"; the text loads with :func:`~importer.mapping.load_mapping`. Nothing here
sends anything or writes a file.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from importer.core.options import DEFAULT_READ, ReadOptions
from importer.customer.values import SAMPLE_ROWS
from importer.suggest.draft import REVIEW_HEADING, Draft, Field, columns_of, emit, trim
from importer.suggest.engine import empty_columns, leftovers, null_values, read_columns, suggest
from importer.suggest.presets import Match, Preset, fingerprint, fold, preset, presets, recognise

__all__ = [
    "SAMPLE_ROWS",
    "Match",
    "Preset",
    "Suggestion",
    "fingerprint",
    "preset",
    "presets",
    "recognise",
    "suggest",
    "suggest_file",
    "suggest_mapping",
]


@dataclass(frozen=True)
class Suggestion:
    """The mapping text ``init`` writes, and the preset recognised (None: none fits).

    ``draft`` keeps every suggestion as data (fields with their evidence and confidence, the
    ones held for review, the columns ruled out), for ``init``'s summary and the review page;
    ``warnings`` are what reading the file noticed (an encoding guessed, a preamble skipped).
    """

    text: str
    match: Match | None
    draft: Draft
    warnings: tuple[str, ...] = ()

    def summary(self) -> list[str]:
        """What ``init`` says after the draft: what it mapped and how sure (a preset's fields
        are the preset's), what it left for review and why, the columns their values ruled
        out, and the reading's warnings."""
        draft, lines = self.draft, []
        mapped = [f"{', '.join(columns_of(item.spec))} -> {path}"
                  + (f" ({item.confidence})" if item.confidence else "")
                  for path, item in _active(draft) if columns_of(item.spec)]  # fmt: skip
        if mapped and self.match is None:
            lines.append(f"Mapped: {'; '.join(mapped)}.")
        for held in draft.review:
            shown = ", ".join(columns_of(held.item.spec))
            lines.append(f'Left for review (under "{REVIEW_HEADING}", commented out): '
                         f"{shown} -> {held.path}: {held.reason}.")  # fmt: skip
        for column, why in draft.ruled_out.items():
            lines.append(f"Not mapped: {column}: {_after_header(why)}.")
        return lines + [f"Warning: {w}" for w in self.warnings]


def _active(draft: Draft) -> list[tuple[str, Field]]:
    found = [*draft.fields.items()]
    found += [(name, item) for name, items in draft.entries.items() for item in items]
    found += [(f"address.{n}", p) for g in draft.addresses for n, p in g.parts.items()
              if n != "on_incomplete"]  # fmt: skip
    return found


def _after_header(why: str) -> str:
    """``header "X" names "last", but ...`` as ``its header names "last", but ...``: the line
    names the column first."""
    if why.startswith('header "') and " names " in why:
        return "its header names " + why.split(" names ", 1)[1]
    return why


def suggest_mapping(
    columns: Sequence[str],
    sample: Mapping[str, Sequence[str]] | None = None,
    *,
    preset_name: str | None = None,
    source: str = "the CSV",
) -> Suggestion:
    """The suggestion for a file with ``columns`` and ``sample`` (column -> first rows' cells).

    ``preset_name`` forces a preset; otherwise the best-fitting one is used, if any fits.
    """
    columns = list(columns)
    match = fingerprint(columns, preset(preset_name)) if preset_name else recognise(columns)
    if match is None:
        draft = suggest(columns, sample)
        draft.notes = [
            f"Suggested by helpscout-import init from the headers and the first {SAMPLE_ROWS} "
            f"rows of {source}:",
            "no preset fits, so each field says why it was chosen. Check every line.",
            *draft.notes,
        ]
        return Suggestion(emit(draft), None, draft)
    draft = trim(match.preset.draft(), columns)
    known = {fold(c) for c in (*match.preset.header, *match.preset.optional)}
    others = [c for c in columns if fold(c) not in known]
    _add_others(draft, suggest(others, sample))
    read = read_columns(columns, sample or {})
    mapped, empty = draft.columns(), empty_columns(read)
    if found := null_values([c for c in read if c.name in mapped]):
        draft.settings.setdefault("null_values", found)
    held = {c for one in draft.review for c in columns_of(one.item.spec)}
    skip = {*mapped, *empty, *held}
    unmapped = ", ".join(c for c in empty if c not in mapped)
    draft.leftovers = leftovers([c for c in read if c.name not in skip])
    draft.notes = [
        f"{source} {match.describe()}:",
        f"the {match.preset.name} preset, trimmed to the columns the file has. Check every line.",
        *_wrapped(
            f"Empty in every sampled row, so not offered below: {unmapped}." if unmapped else ""
        ),
        "",
        *draft.notes,
    ]
    return Suggestion(emit(draft), match, draft)


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(text, 96, break_on_hyphens=False) if text else []


def _add_others(draft: Draft, extra: Draft) -> None:
    """Columns the preset does not know: emails, phones and websites the engine found join the
    preset's; a field or an address the preset leaves empty is taken (``name:`` only when the
    preset maps no first or last name); what the engine held for review or ruled out is said."""
    for name, items in extra.entries.items():
        for item in items:
            item.notes = [*item.notes, "not a column of the preset: found by its header"]
        draft.entries.setdefault(name, []).extend(items)
    named = {"name", "firstName", "lastName"} & set(draft.fields)
    for name, item in extra.fields.items():
        if name not in ("name", "firstName", "lastName") or not named:
            draft.fields.setdefault(name, item)
    if not draft.addresses:
        draft.addresses = extra.addresses
    if draft.entries.get("emails") and draft.key is None:
        draft.key = "email"
    draft.review += extra.review
    draft.ruled_out.update(extra.ruled_out)


def suggest_file(
    path: str | Path, *, preset_name: str | None = None, reading: ReadOptions = DEFAULT_READ
) -> Suggestion:
    """Read ``path``'s header and first :data:`SAMPLE_ROWS` rows, and suggest a mapping."""
    from importer.read import open_source

    source = open_source(path, reading, chunk_rows=SAMPLE_ROWS)
    sample: dict[str, list[str]] = {}
    for chunk in source:
        frame = chunk.frame.head(SAMPLE_ROWS)
        sample = {c: frame[c].astype(object).tolist() for c in source.columns}
        break
    found = suggest_mapping(source.columns, sample, preset_name=preset_name, source=Path(path).name)
    return replace(found, warnings=tuple(source.warnings))
