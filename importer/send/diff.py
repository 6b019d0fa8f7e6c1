"""The customer diff: what a customer Help Scout holds lacks of a row, and holds beyond it.

:func:`changes_for` gives the requests that bring a customer up to date (an update, a plan);
:func:`additions` what it holds that the import did not send (undo keeps such a customer). Both
are pure functions of a ``GET`` answer and a create payload: no I/O, so they are tested as tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from importer.customer import schema

#: The customer's own fields (what ``PATCH /v2/customers/{id}`` changes); ``phone`` only adds a
#: phone entry.
OWN_FIELDS = schema.OWN_FIELDS
#: Fields Help Scout answers in its own case ("Male" for "male").
CASELESS = frozenset({"gender", "photoType"})
ENTRY_ENDPOINTS = schema.ENTRY_PATHS


@dataclass(frozen=True)
class Change:
    """One request that brings part of a customer up to date."""

    what: str
    """What it changes: the own fields' names, ``properties``, ``emails``..., ``address``."""
    method: str
    path: str
    """Under ``/v2/customers/{id}``."""
    body: Any


def changes_for(customer: Mapping[str, Any], payload: Mapping[str, Any]) -> list[Change]:
    """The requests that make ``customer`` (as GET answers it) hold what ``payload`` says.

    Only what the payload gives is compared: a field the row leaves empty stays as Help Scout has
    it (an empty cell means "absent", never "erase"), which is why own fields change by JSON Patch
    and not by PUT (which nulls every field left out). Entries (emails, phones...) the customer
    lacks are added one by one; those it has beyond the row's are kept. A differing address is
    replaced whole.
    """
    changes: list[Change] = []
    own = {
        name: payload[name]
        for name in OWN_FIELDS
        if name in payload and not _same(customer.get(name), payload[name], name in CASELESS)
    }
    if own:
        ops = [{"op": "replace", "path": f"/{name}", "value": v} for name, v in own.items()]
        changes.append(Change(", ".join(own), "PATCH", "", ops))
    embedded = customer.get("_embedded")
    if not isinstance(embedded, dict):
        embedded = {}
    held = {p.get("slug"): p.get("value") for p in embedded_items(customer, "properties")}
    properties = {
        slug: value
        for slug, value in (payload.get("properties") or {}).items()
        if slug not in held or _text(held[slug]) != _text(value)
    }
    if properties:
        ops = [{"op": "replace", "path": f"/{slug}", "value": v} for slug, v in properties.items()]
        changes.append(Change("properties", "PATCH", "/properties", ops))
    wanted = {name: list(payload.get(name) or ()) for name in ENTRY_ENDPOINTS}
    if payload.get("phone"):
        phone_type = schema.ENTRIES["phones"].default_type
        wanted["phones"].append({"type": phone_type, "value": payload["phone"]})
    for name, (key, segment) in ENTRY_ENDPOINTS.items():
        have = {_entry_text(name, e.get("value")) for e in embedded_items(customer, key)}
        for item in wanted[name]:
            value = _entry_text(name, item.get("value"))
            if value not in have:
                have.add(value)
                changes.append(Change(name, "POST", f"/{segment}", dict(item)))
    address, current = payload.get("address"), embedded.get("address")
    if address and (
        not isinstance(current, dict) or any(current.get(k) != v for k, v in address.items())
    ):
        changes.append(Change("address", "PUT" if current else "POST", "/address", address))
    return changes


#: What Help Scout holds in a field nobody set (``"gender": "Unknown"``, ``"photoUrl": ""``).
UNSET = frozenset({"", "unknown"})
#: Fields Help Scout fills itself (a Gravatar found for the email): nobody's addition.
SET_BY_HELP_SCOUT = frozenset({"photoType", "photoUrl"})


def additions(customer: Mapping[str, Any], payload: Mapping[str, Any]) -> list[str]:
    """What ``customer`` (as ``GET`` answers it) holds that ``payload`` did not give: own
    fields, entries (``phones``...), properties (by slug), an address; a field at Help Scout's
    default (:data:`UNSET`, null), or one it fills itself (:data:`SET_BY_HELP_SCOUT`), is
    nobody's. The other half of "unchanged since created", with
    :func:`changes_for`: an agent who fills a field the import left empty changes no value sent.
    """
    added = [
        name
        for name in OWN_FIELDS
        if name not in payload and name not in SET_BY_HELP_SCOUT
        if str(customer.get(name) or "").strip().lower() not in UNSET
    ]
    sent = {name: {_entry_text(name, e.get("value")) for e in payload.get(name) or ()}
            for name in ENTRY_ENDPOINTS}  # fmt: skip
    if payload.get("phone"):
        sent["phones"].add(_entry_text("phones", payload["phone"]))
    for name, (key, _) in ENTRY_ENDPOINTS.items():
        held = {_entry_text(name, e.get("value")) for e in embedded_items(customer, key)}
        if held - sent[name]:
            added.append(name)
    given = payload.get("properties") or {}
    added += [
        str(p.get("slug"))
        for p in embedded_items(customer, "properties")
        if p.get("slug") not in given and p.get("value") not in (None, "")
    ]
    embedded = customer.get("_embedded")
    address = embedded.get("address") if isinstance(embedded, dict) else None
    if address and not payload.get("address"):
        added.append("address")
    return added


def _same(held: Any, wanted: Any, caseless: bool) -> bool:
    if caseless and isinstance(held, str) and isinstance(wanted, str):
        return held.casefold() == wanted.casefold()
    return held == wanted


def _text(value: Any) -> str:
    """A property value as text, so 4 and "4", True and "true" compare equal."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _entry_text(name: str, value: Any) -> str:
    text = str(value or "").strip()
    return text.lower() if name == "emails" else text


def embedded_items(body: Any, key: str) -> list[dict[str, Any]]:
    """``body["_embedded"][key]``, or [] when absent (Help Scout leaves it out when empty)."""
    embedded = body.get("_embedded") if isinstance(body, dict) else None
    items = embedded.get(key) if isinstance(embedded, dict) else None
    return [item for item in items or () if isinstance(item, dict)]
