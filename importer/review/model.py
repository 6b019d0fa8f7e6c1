"""The mapping as the review page edits it: one *choice* per column, to and from a :class:`Draft`.

A choice says what one column feeds, as plain JSON the page posts::

    {"kind": "none"}
    {"kind": "field", "field": "jobTitle", "options": {"transform": ["title"]}}
    {"kind": "entry", "field": "phones", "type": "mobile"}          # or "type": {"column": "Kind"}
    {"kind": "address", "field": "city", "group": 0}
    {"kind": "property", "field": "signed-up", "type": "date", "format": "%d/%m/%Y"}

``options`` are the spec's other keys (``transform``, ``null_values``, ``replace``, ``map``,
``default``, ``on_invalid``...), passed through as written, so the real mapping loader judges
them. Specs that read no column or several (a constant, ``column: [A, B]``, ``join``) are not
choices: :func:`build` keeps them as written. Unchanged choices keep ``init``'s evidence
comments; changed ones say they were chosen on the page.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from importer.customer import schema
from importer.suggest.draft import ENTRY_FIELDS, AddressGroup, Draft, Field

__all__ = ["CHOSEN_NOTE", "KINDS", "TARGETS", "Choice", "build", "choices_of", "offered", "spec_of"]

KINDS = ("none", "field", "entry", "address", "property")
#: The evidence comment of a field set on the page.
CHOSEN_NOTE = "chosen on the review page"
_OWN_KEYS = ("column", "type", "format")
_PARTS = ("lines", "city", "state", "postalCode", "country")


@dataclass
class Choice:
    """What one column feeds, and the comment lines that say why."""

    kind: str = "none"
    field: str = ""
    type: Any = None
    """An entry's type (text, or ``{"column": ...}`` from another column), a property's type."""
    group: int = 0
    format: Any = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    written: Any = None
    """The spec as the mapping wrote it (kept when the choice does not change)."""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind != "none":
            out["field"] = self.field
        if self.type is not None:
            out["type"] = self.type
        if self.kind == "address":
            out["group"] = self.group
        if self.format is not None:
            out["format"] = self.format
        if self.options:
            out["options"] = self.options
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Choice:
        """A choice as the page posts it; shapes are checked here, values by the loader."""
        if not isinstance(data, Mapping):
            raise ValueError("a choice is an object")
        kind = data.get("kind", "none")
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
        options = data.get("options") or {}
        group = data.get("group", 0)
        if not isinstance(options, Mapping) or not isinstance(group, int) or group < 0:
            raise ValueError("options must be an object and group a number from 0")
        name = str(data.get("field") or "")
        if kind != "none" and not name:
            raise ValueError(f"a {kind} choice names its field")
        return cls(kind, name if kind != "none" else "", data.get("type") or None, group,
                   data.get("format") or None, dict(options))  # fmt: skip

    def same(self, other: Choice) -> bool:
        return self.as_json() == other.as_json()


def _single_column(spec: Any) -> str | None:
    """The one column a spec reads as its value, or None (a constant, a column list)."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and isinstance(spec.get("column"), str) and "value" not in spec:
        return spec["column"]
    return None


def _choice(kind: str, name: str, spec: Any, notes: list[str], **more: Any) -> Choice:
    data = dict(spec) if isinstance(spec, dict) else {}
    own = {k: data.pop(k, None) for k in _OWN_KEYS}
    if kind == "property" and own["type"] is None:
        own["type"] = "text"
    return Choice(kind, name, own["type"], format=own["format"], options=data, notes=notes,
                  written=spec, **more)  # fmt: skip


def _column_specs(draft: Draft) -> Iterator[tuple[str, Choice]]:
    """(column, choice) of every spec of the draft that reads exactly one column."""
    for name, item in draft.fields.items():
        if (column := _single_column(item.spec)) is not None:
            yield column, _choice("field", name, item.spec, item.notes)
    for name, items in draft.entries.items():
        for item in items:
            if (column := _single_column(item.spec)) is not None:
                yield column, _choice("entry", name, item.spec, item.notes)
    for group, address in enumerate(draft.addresses):
        for part, item in address.parts.items():
            specs = item.spec if part == "lines" and isinstance(item.spec, list) else [item.spec]
            for spec in specs if part in _PARTS else ():
                if (column := _single_column(spec)) is not None:
                    yield column, _choice("address", part, spec, item.notes, group=group)
    for slug, item in draft.properties.items():
        if (column := _single_column(item.spec)) is not None:
            yield column, _choice("property", slug, item.spec, item.notes)


def choices_of(draft: Draft, columns: Sequence[str]) -> dict[str, Choice]:
    """Each column's choice in ``draft`` (the first spec reading it; ``none`` when none does)."""
    found: dict[str, Choice] = {}
    for column, choice in _column_specs(draft):
        found.setdefault(column, choice)
    return {c: found.get(c) or Choice(notes=_leftover_notes(draft, c)) for c in columns}


def _leftover_notes(draft: Draft, column: str) -> list[str]:
    found = offered(draft, column)
    return (
        [f"offered by init as property {found.field} (commented out)", *found.notes]
        if found
        else []
    )


def offered(draft: Draft, column: str) -> Choice | None:
    """The property ``init`` offered, commented out, for ``column`` (the page's first guess when
    a person makes it a property)."""
    for slug, item in draft.leftovers.items():
        if _single_column(item.spec) == column:
            return _choice("property", slug, item.spec, item.notes)
    return None


def spec_of(column: str, choice: Choice) -> Any:
    """The YAML spec a choice writes for ``column``: a bare column name when nothing more."""
    spec: dict[str, Any] = {"column": column}
    if choice.type is not None:
        spec["type"] = choice.type
    if choice.kind == "property" and choice.type == "date" and choice.format:
        spec["format"] = choice.format
    spec.update(choice.options)
    return column if list(spec) == ["column"] else spec


def _kept(draft: Draft) -> Draft:
    """``draft`` without the specs that read one column: what the page does not choose."""
    out = copy.deepcopy(draft)
    out.fields = {n: f for n, f in out.fields.items() if _single_column(f.spec) is None}
    out.entries = {
        n: kept for n, items in out.entries.items()
        if (kept := [f for f in items if _single_column(f.spec) is None])
    }  # fmt: skip
    for group in out.addresses:
        for part, item in list(group.parts.items()):
            if part not in _PARTS:
                continue
            if part == "lines" and isinstance(item.spec, list):
                item.spec = [s for s in item.spec if _single_column(s) is None]
            if item.spec in ([], None) or _single_column(item.spec) is not None:
                del group.parts[part]
    out.properties = {n: f for n, f in out.properties.items() if _single_column(f.spec) is None}
    return out


def build(base: Draft, columns: Sequence[str], chosen: Mapping[str, Choice]) -> Draft:
    """``base`` with each column of ``chosen`` feeding what its choice says (the others as in
    ``base``); a choice equal to the base's keeps the base's comments."""
    before = choices_of(base, columns)
    if all(choice.same(before[column]) for column, choice in chosen.items()):
        return copy.deepcopy(base)  # as written, in its order
    draft = _kept(base)
    lines: dict[int, list[Field]] = {}
    for column in columns:
        choice = chosen.get(column, before[column])
        old = before[column]
        if choice.same(old) and old.written is not None:
            item = Field(old.written, list(old.notes))
        else:
            item = Field(spec_of(column, choice), [CHOSEN_NOTE])
        if choice.kind == "field":
            draft.fields[choice.field] = item
        elif choice.kind == "entry":
            draft.entries.setdefault(choice.field, []).append(item)
        elif choice.kind == "property":
            draft.properties[choice.field] = item
        elif choice.kind == "address":
            while len(draft.addresses) <= choice.group:
                draft.addresses.append(AddressGroup({}))
            if choice.field == "lines":
                lines.setdefault(choice.group, []).append(item)
            else:
                draft.addresses[choice.group].parts[choice.field] = item
        if choice.kind != "none":
            draft.leftovers = {s: f for s, f in draft.leftovers.items()
                               if _single_column(f.spec) != column}  # fmt: skip
    for group, items in lines.items():
        parts = draft.addresses[group].parts
        kept = parts.get("lines")
        specs = [*(kept.spec if kept else []), *(i.spec for i in items)]
        notes = list(dict.fromkeys(n for i in items for n in i.notes))
        parts["lines"] = Field(specs if len(specs) > 1 else specs[0], notes)
    draft.addresses = [_ordered(g) for g in draft.addresses if set(g.parts) & set(_PARTS)]
    draft.entries = {n: draft.entries[n] for n in ENTRY_FIELDS if n in draft.entries}
    return draft


def _ordered(group: AddressGroup) -> AddressGroup:
    """Parts in the usual order (lines, city, ...), settings such as ``on_incomplete`` last."""
    order = {part: i for i, part in enumerate(_PARTS)}
    parts = dict(sorted(group.parts.items(), key=lambda kv: order.get(kv[0], len(order))))
    return AddressGroup(parts, group.notes)


#: What the page offers, from the schema: the fields, the entry lists with their types.
TARGETS = {
    "fields": [*(name for name in schema.SCALARS if name != "phone"), "name"],
    "entries": {name: list(spec.types) for name, spec in schema.ENTRIES.items()},
    "address": list(_PARTS),
    "property_types": list(schema.PROPERTY_TYPES),
}
