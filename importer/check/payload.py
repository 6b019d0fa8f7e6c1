"""One JSON payload against Help Scout's rules, answered as Help Scout does: the sandbox's 400s.

The value rules are the rows of :data:`importer.check.rules.RULES` that carry an ``answer``, so
the sandbox refuses what the validator flags; this module adds only the payload's shape (types
and properties), and :func:`as_received`, what Help Scout makes of a body before its rules run.
Light: no pandas, the sandbox imports it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, overload

from importer.check import rules
from importer.core import codes
from importer.customer import schema


@dataclass(frozen=True)
class Violation:
    """One rule a payload breaks, shaped like Help Scout's ``_embedded.errors[]`` item."""

    path: str
    rule: str
    message: str
    rejected_value: object = None


TYPE = "type"  #: a value of the wrong JSON type
UNKNOWN_PROPERTY = "unknown_property"  #: a property the account does not define
REQUEST = "request"  #: a request of the wrong form (a patch's op or path), not a customer rule


#: The top-level fields of a customer body.
_FIELDS = frozenset({*schema.SCALARS, *schema.ENTRIES, "address", "properties"})
#: Fields Help Scout itself shows as "" when not set (``"photoUrl": ""`` on a customer without a
#: photo, its PHP SDK's fixtures): a client that sends back what it read means "not set".
_EMPTY_IS_UNSET = frozenset({"photoUrl"})


@overload
def as_received(payload: dict[str, Any]) -> dict[str, Any]: ...
@overload
def as_received(payload: object) -> object: ...
def as_received(payload: object) -> object:
    """A customer body as Help Scout reads it: a null field is one not set (its docs: "the same
    as if it was set with null"), and so is a photoUrl of "" (how it shows none), a field it does
    not have is ignored (its PHP SDK sends ``email`` beside ``emails``; a client that PUTs back
    what it read sends ``createdAt`` and ``_links``), and an enum's case does not matter (its own
    example creates ``"gender": "Male"``)."""
    if not isinstance(payload, dict):
        return payload
    received = {}
    for name, value in payload.items():
        if name not in _FIELDS or value is None or (value == "" and name in _EMPTY_IS_UNSET):
            continue
        spec = schema.SCALARS.get(name)
        if spec is not None and spec.kind == "enum" and isinstance(value, str):
            value = value.lower()
        elif name == "address" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k in schema.ADDRESS and v is not None}
        received[name] = value
    return received


def check_value(spec: schema.Field, value: object, path: str | None = None) -> Violation | None:
    """Check one field's value against its rules; ``path`` is the error's JSON path."""
    path = path or spec.name
    if spec.sent_as is None and not isinstance(value, str):  # a number or yes/no is JSON-typed
        return Violation(path, TYPE, "must be a string", value)
    broken = rules.first_broken(value, spec)
    if broken is None:
        return None
    rule, detail = broken
    return Violation(path, rule.code, rule.words(rule.answer, spec, detail=detail), value)


def check_property(
    slug: str, value: object, prop_type: str, options: Iterable[dict] = ()
) -> Violation | None:
    """Check a property value as the API receives it (already converted to JSON types)."""
    spec = schema.PROPERTY_FIELDS[prop_type]
    if prop_type == "dropdown":
        options = list(options)
        allowed = {str(o.get("id")) for o in options} | {str(o.get("label")) for o in options}
        spec = dataclasses.replace(spec, choices=tuple(sorted(allowed)) if options else ())
    return check_value(spec, value, f"properties.{slug}")


def check_payload(payload: object, properties: dict[str, dict] | None = None) -> list[Violation]:
    """Every rule a Create Customer payload breaks; ``properties`` maps slug to its definition
    (``{"type": ..., "options": [...]}``) and, when given, unknown slugs are violations."""
    if not isinstance(payload, dict):
        return [Violation("", TYPE, "request body must be a JSON object", None)]
    found: list[Violation] = []
    for name, value in payload.items():
        if name in schema.SCALARS:
            found.extend(_some(check_value(schema.SCALARS[name], value)))
        elif name in schema.ENTRIES:
            found.extend(_check_entries(schema.ENTRIES[name], value))
        elif name == "address":
            found.extend(_check_address(value))
        elif name == "properties":
            found.extend(_check_properties(value, properties))
    return found


def _some(violation: Violation | None) -> list[Violation]:
    return [violation] if violation else []


def _check_entries(spec: schema.Entries, items: object) -> list[Violation]:
    if not isinstance(items, list):
        return [Violation(spec.name, TYPE, "must be an array", items)]
    found = []
    enum = rules.rule_of(codes.ENUM, "enum")
    for i, item in enumerate(items):
        path = f"{spec.name}[{i}]"
        if not isinstance(item, dict) or "value" not in item:
            found.append(Violation(path, TYPE, "must be an object with a value", item))
            continue
        if spec.types and item.get("type") not in spec.types:
            kind = schema.Field("type", "enum", choices=spec.types)
            message = enum.words(enum.answer, kind)
            found.append(Violation(f"{path}.type", enum.code, message, item.get("type")))
        found.extend(_some(check_value(spec.value, item["value"], f"{path}.value")))
    return found


def _check_address(address: object) -> list[Violation]:
    if not isinstance(address, dict):
        return [Violation("address", TYPE, "must be an object", address)]
    found = []
    for name, value in address.items():
        if name not in schema.ADDRESS:
            continue
        if name == "lines":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                found.append(Violation("address.lines", TYPE, "must be an array of strings", value))
        else:
            found.extend(_some(check_value(schema.ADDRESS[name], value, f"address.{name}")))
    if "country" not in address:
        required = rules.rule_of(codes.COUNTRY_REQUIRED)
        found.append(Violation("address.country", required.code, required.answer, None))
    return found


def _check_properties(values: object, definitions: dict[str, dict] | None) -> list[Violation]:
    if not isinstance(values, dict):
        return [Violation("properties", TYPE, "must be an object", values)]
    found = []
    for slug, value in values.items():
        if definitions is None:
            continue
        definition = definitions.get(slug)
        if definition is None:
            message = "customer property does not exist"
            found.append(Violation(f"properties.{slug}", UNKNOWN_PROPERTY, message, value))
        else:
            found.extend(
                _some(
                    check_property(slug, value, definition["type"], definition.get("options", ()))
                )
            )
    return found
