"""A mapping being suggested, with the evidence for each field, and its YAML text.

:class:`Draft` holds what ``init`` is about to write: the fields, entries, address groups and
commented-out properties of a mapping (the format of :mod:`importer.mapping`), each with the
comment lines that say why (``# header "Default Address City"``). :func:`emit` writes it as a
mapping file that :func:`~importer.mapping.load_mapping` reads; :func:`parse` reads such a file
back, comments included (presets are written that way), and :func:`trim` keeps only what the
columns of a given file can feed.

Specs are plain data as YAML would load them (a column name, a ``{column: ..., type: ...}``
dict, a list of lines); every scalar stays text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

__all__ = [
    "ENTRY_FIELDS",
    "REVIEW_HEADING",
    "AddressGroup",
    "Draft",
    "Field",
    "Held",
    "columns_of",
    "emit",
    "parse",
    "trim",
]

ENTRY_FIELDS = ("emails", "phones", "websites", "socialProfiles", "chats")
ADDRESS_KEYS = ("lines", "city", "state", "postalCode", "country", "on_incomplete")
#: The address keys that read columns (``on_incomplete`` is a setting).
_READING = ADDRESS_KEYS[:-1]
_NULL_TAG = "tag:yaml.org,2002:null"
#: The heading of a draft's unsure suggestions, written commented out at its top.
REVIEW_HEADING = "Review these"
_METADATA = "#:"


@dataclass
class Field:
    """A spec as YAML data, and the comment lines above it (without their ``#``)."""

    spec: Any
    notes: list[str] = field(default_factory=list)
    confidence: str | None = None
    """high, medium or low (:mod:`importer.suggest.fit`); None: not judged (a preset's)."""


@dataclass
class Held:
    """A suggestion too unsure to map: its field path, the field, and why (``init`` says it)."""

    path: str
    item: Field
    reason: str


@dataclass
class AddressGroup:
    """One postal address: its parts (lines, city, ..., on_incomplete) and notes."""

    parts: dict[str, Field]
    notes: list[str] = field(default_factory=list)


@dataclass
class Draft:
    """A suggested mapping. ``leftovers`` are columns offered as commented-out properties."""

    notes: list[str] = field(default_factory=list)
    settings: dict[str, Field] = field(default_factory=dict)
    fields: dict[str, Field] = field(default_factory=dict)
    entries: dict[str, list[Field]] = field(default_factory=dict)
    addresses: list[AddressGroup] = field(default_factory=list)
    properties: dict[str, Field] = field(default_factory=dict)
    leftovers: dict[str, Field] = field(default_factory=dict)
    key: str | None = None
    review: list[Held] = field(default_factory=list)
    """Suggestions left for review: written commented out under "Review these", never mapped."""
    ruled_out: dict[str, str] = field(default_factory=dict)
    """Columns whose header names a field their values rule out: column -> why."""

    def columns(self) -> set[str]:
        """Every column the active part of the draft reads."""
        specs: list[Any] = [f.spec for f in self.fields.values()]
        specs += [f.spec for entries in self.entries.values() for f in entries]
        specs += [p.spec for g in self.addresses for n, p in g.parts.items() if n in _READING]
        specs += [f.spec for f in self.properties.values()]
        return {column for spec in specs for column in columns_of(spec)}

    def is_empty(self) -> bool:
        return not (self.fields or self.entries or self.addresses or self.properties)


# --- columns a spec reads -------------------------------------------------------------------------
def columns_of(spec: Any) -> list[str]:
    """The columns ``spec`` reads, in order: its column (or fallback list), its type's column."""
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, list):
        return [c for item in spec for c in columns_of(item)]
    if isinstance(spec, dict):
        found = []
        column = spec.get("column")
        if isinstance(column, str):
            found.append(column)
        elif isinstance(column, list):
            found += [c for c in column if isinstance(c, str)]
        if isinstance(spec.get("type"), dict):
            found += columns_of(spec["type"])
        return found
    return []


def trim(draft: Draft, columns: Iterable[str]) -> Draft:
    """``draft`` keeping only what ``columns`` can feed: a field whose columns are all absent goes,
    a fallback list loses its absent members, an entry type read from an absent column falls back
    to its ``default``, an address group with no column left goes."""
    present = set(columns)
    fields = {n: f for n, f in ((n, _trim_field(f, present)) for n, f in draft.fields.items()) if f}
    entries = {
        name: kept
        for name, items in draft.entries.items()
        if (kept := [f for f in (_trim_field(i, present) for i in items) if f])
    }
    addresses = []
    for group in draft.addresses:
        parts = {
            n: p
            for n, p in (
                (n, _trim_field(p, present) if n in _READING else p) for n, p in group.parts.items()
            )
            if p
        }
        if any(n in _READING for n in parts):
            addresses.append(AddressGroup(parts, group.notes))
    properties = {
        slug: f
        for slug, f in ((s, _trim_field(f, present)) for s, f in draft.properties.items())
        if f
    }
    key = draft.key
    if key and key not in ("email",) and "." not in key and key not in present:
        key = None
    return replace(draft, fields=fields, entries=entries, addresses=addresses,
                   properties=properties, key=key)  # fmt: skip


def _trim_field(item: Field, present: set[str]) -> Field | None:
    spec = _trim_spec(item.spec, present)
    return None if spec is None else Field(spec, item.notes)


def _trim_spec(spec: Any, present: set[str]) -> Any:
    if isinstance(spec, str):
        return spec if spec in present else None
    if isinstance(spec, list):
        kept = [t for t in (_trim_spec(s, present) for s in spec) if t is not None]
        return kept or None
    if not isinstance(spec, dict) or "column" not in spec:
        return spec  # a constant, on_incomplete, ...
    out = dict(spec)
    column = spec["column"]
    if isinstance(column, list):
        kept = [c for c in column if c in present]
        if not kept:
            return None
        out["column"] = kept if len(kept) > 1 else kept[0]
    elif column not in present:
        return None
    kind = spec.get("type")
    if isinstance(kind, dict) and not set(columns_of(kind)) <= present:
        if kind.get("default") is not None:
            out["type"] = kind["default"]
        else:
            del out["type"]
    return out


# --- writing ------------------------------------------------------------------------------------
def emit(draft: Draft) -> str:
    """The draft as a mapping file (YAML, block style outside, flow style inside a field)."""
    out = [f"# {line}" if line else "#" for line in draft.notes]
    out += _review(draft.review)
    for name, item in draft.settings.items():
        out += _item(f"{name}: {flow(item.spec)}", item.notes, 0)
    out.append("customer:")
    for name, item in draft.fields.items():
        out += _item(f"{name}: {flow(item.spec)}", item.notes, 2)
    for name, items in draft.entries.items():
        out.append(f"  {name}:")
        for item in items:
            out += _item(f"- {flow(item.spec)}", item.notes, 4)
    if len(draft.addresses) == 1:
        group = draft.addresses[0]
        out += _item("address:", group.notes, 2)
        for name, part in group.parts.items():
            out += _item(f"{name}: {flow(part.spec)}", part.notes, 4)
    elif draft.addresses:
        out.append("  address:")
        for group in draft.addresses:
            parts = list(group.parts.items())
            first_name, first = parts[0]
            out += _item(f"- {first_name}: {flow(first.spec)}", group.notes + first.notes, 4)
            for name, part in parts[1:]:
                out += _item(f"{name}: {flow(part.spec)}", part.notes, 6)
    active = draft.is_empty() and bool(draft.leftovers)
    if draft.properties or active:
        out.append("  properties:")
        for slug, item in {**draft.properties, **(draft.leftovers if active else {})}.items():
            out += _item(f"{_q(slug)}: {flow(item.spec)}", item.notes, 4)
    if draft.leftovers and not active:
        out += [
            "  # Other columns, as customer properties: each must exist in Help Scout (Settings >",
            "  # Customer Properties) with this slug; uncomment the ones wanted.",
            "  # properties:",
        ]
        for slug, item in draft.leftovers.items():
            out += [f"  #   # {line}" for line in item.notes]
            out.append(f"  #   {_q(slug)}: {flow(item.spec)}")
    if draft.key:
        out.append(f"key: {_q(draft.key)}")
    return "\n".join(out) + "\n"


def _review(held: list[Held]) -> list[str]:
    """The unsure suggestions, commented out: each with why, as the line to add under
    ``customer:`` once checked."""
    if not held:
        return []
    out = [
        "#",
        f"# {REVIEW_HEADING} (confidence: low; not mapped: the values do not confirm them).",
        "# Check each, then add the line under customer: (an entry into its list).",
    ]
    for one in held:
        out += [f"#   # {line}" for line in one.item.notes]
        out.append(f"#   {one.path}: {flow(one.item.spec)}")
    return out


def _item(text: str, notes: list[str], indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}# {line}" for line in notes] + [pad + text]


def flow(value: Any) -> str:
    """``value`` in YAML flow style that reads back as the same text."""
    if value is None:
        return "~"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_q(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    return _q(str(value))


def _q(text: str) -> str:
    """``text`` as a YAML scalar that other YAML readers take as the same text too."""
    plain = re.fullmatch(r"[A-Za-z_][\w .()/'-]*(?<! )", text) and " -" not in text[-2:]
    special = text.lower() in ("y", "n", "yes", "no", "on", "off", "true", "false", "null", "~")
    return text if plain and not special else json.dumps(text, ensure_ascii=False)


# --- reading a mapping file back, with its comments -----------------------------------------------
def parse(text: str) -> Draft:
    """A mapping file as a draft: each field with the comment lines directly above it and the one
    after it on its line. Comment lines before the first key are the draft's notes, except
    ``#:`` lines (preset metadata, see :mod:`importer.suggest.presets`)."""
    lines = text.splitlines()
    root = yaml.compose(text)
    draft = Draft()
    if not isinstance(root, yaml.MappingNode):
        return draft
    first = root.value[0][0].start_mark.line if root.value else len(lines)
    draft.notes = [_comment(line) for line in lines[:first] if _is_note(line)]
    for key_node, value in root.value:
        name = key_node.value
        if name == "customer":
            _parse_customer(draft, value, lines)
        elif name == "key":
            draft.key = _data(value)
        else:
            draft.settings[name] = _field(
                value, lines, key_node, above=key_node.start_mark.line > first
            )
    return draft


def _parse_customer(draft: Draft, node: yaml.Node, lines: list[str]) -> None:
    for key_node, value in node.value:
        name = key_node.value
        if name in ENTRY_FIELDS:
            if isinstance(value, yaml.SequenceNode):
                draft.entries[name] = [_field(item, lines) for item in value.value]
            else:
                draft.entries[name] = [_field(value, lines, key_node)]
        elif name == "address":
            listed = isinstance(value, yaml.SequenceNode)
            for group in value.value if listed else [value]:
                line = (group if listed else key_node).start_mark.line
                parts = (
                    {
                        k.value: _field(
                            v, lines, k, above=k.start_mark.line != group.start_mark.line
                        )
                        for k, v in group.value
                    }
                    if listed
                    else {k.value: _field(v, lines, k) for k, v in group.value}
                )
                draft.addresses.append(AddressGroup(parts, _notes_above(line, lines)))
        elif name == "properties":
            draft.properties = {k.value: _field(v, lines, k) for k, v in value.value}
        else:
            draft.fields[name] = _field(value, lines, key_node)


def _field(
    node: yaml.Node, lines: list[str], key: yaml.Node | None = None, *, above: bool = True
) -> Field:
    start = (key or node).start_mark.line
    notes = _notes_above(start, lines) if above else []
    end = node.end_mark.line if node.end_mark.column else node.end_mark.line - 1
    for number in range(start, max(start, end) + 1):
        if trailing := _trailing_comment(lines[number]):
            notes.append(trailing)
    return Field(_data(node), notes)


def _notes_above(line: int, lines: list[str]) -> list[str]:
    notes: list[str] = []
    for number in range(line - 1, -1, -1):
        text = lines[number].strip()
        if not text.startswith("#") or text.startswith(_METADATA):
            break
        notes.insert(0, _comment(text))
    return notes


def _is_note(line: str) -> bool:
    text = line.strip()
    return text.startswith("#") and not text.startswith(_METADATA)


def _comment(line: str) -> str:
    return line.strip()[1:].strip()


def _trailing_comment(line: str) -> str:
    """The comment after the YAML on ``line`` ("" when none), quotes respected."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote and not (quote == '"' and line[index - 1] == "\\"):
                quote = None
        elif char in "\"'" and (index == 0 or line[index - 1] in " ,[{:"):
            quote = char
        elif char == "#" and index > 0 and line[index - 1] in " \t":
            return line[index + 1 :].strip() if line[:index].strip() else ""
    return ""


def _data(node: yaml.Node) -> Any:
    """A node as plain data; every scalar stays the text written (``~`` is None)."""
    if isinstance(node, yaml.MappingNode):
        return {k.value: _data(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_data(v) for v in node.value]
    if node.tag == _NULL_TAG and not getattr(node, "style", None):
        return None
    return node.value


def iter_specs(draft: Draft) -> Iterator[tuple[str, Any]]:
    """(field path, spec) of every active field, for tests and reports."""
    for name, item in draft.fields.items():
        yield name, item.spec
    for name, items in draft.entries.items():
        for position, item in enumerate(items):
            yield f"{name}.{position}", item.spec
    for number, group in enumerate(draft.addresses):
        for name, part in group.parts.items():
            yield f"address.{number}.{name}", part.spec
    for slug, item in draft.properties.items():
        yield f"properties.{slug}", item.spec
