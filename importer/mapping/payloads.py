"""Mapped columns to the JSON bodies sent to ``POST /v2/customers``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from importer.customer import schema

if TYPE_CHECKING:
    from importer.mapping.spec import Property


class PayloadPlan:
    """Where each mapped column goes in the payload, worked out once per call to payloads()."""

    def __init__(self, columns: list[str], properties: dict[str, Property]) -> None:
        self.scalars: list[tuple[str, int]] = []
        self.entries: dict[str, list[tuple[int, int, int | None]]] = {}
        self.lines: list[tuple[int, int]] = []
        self.address: list[tuple[str, int]] = []
        self.properties: list[tuple[str, int, schema.Field | None]] = []
        types = {c: i for i, c in enumerate(columns) if c.endswith(".type")}
        for i, column in enumerate(columns):
            top, _, rest = column.partition(".")
            if top in schema.SCALARS:
                self.scalars.append((column, i))
            elif top in schema.ENTRIES and rest.endswith(".value"):
                position = int(rest.split(".")[0])
                kind = types.get(f"{top}.{position}.type")
                self.entries.setdefault(top, []).append((position, i, kind))
            elif column.startswith("address.lines."):
                self.lines.append((int(column.rsplit(".", 1)[1]), i))
            elif top == "address":
                self.address.append((rest, i))
            elif top == "properties":
                prop = properties.get(rest)
                self.properties.append(
                    (rest, i, schema.PROPERTY_FIELDS[prop.type] if prop else None)
                )
        for items in self.entries.values():
            items.sort()
        self.lines.sort()

    def __call__(self, cells: list[object]) -> dict:
        payload: dict = {}
        for name, i in self.scalars:
            if cells[i] is not None:
                payload[name] = cells[i]
        for name, items in self.entries.items():
            seen: set[str] = set()
            found = [
                {"type": cells[t], "value": cells[v]} if t is not None else {"value": cells[v]}
                for _, v, t in items
                if cells[v] is not None and _first(cells[v], seen)
            ]
            if found:
                payload[name] = found
        address: dict = {}
        lines = [cells[i] for _, i in self.lines if cells[i] is not None]
        if lines:
            address["lines"] = lines
        for name, i in self.address:
            if cells[i] is not None:
                address[name] = cells[i]
        if address:
            payload["address"] = address
        props = {}
        for slug, i, spec in self.properties:
            text = cells[i]
            if text is not None:
                props[slug] = spec.sent(str(text)) if spec else text
        if props:
            payload["properties"] = props
        return payload


def _first(value: object, seen: set[str]) -> bool:
    """Whether ``value`` is the first of its list in the row: two columns holding the same
    email or phone (an export's "Phone" and "Default Address Phone") send it once."""
    key = "".join(str(value).split()).casefold()
    if key in seen:
        return False
    seen.add(key)
    return True
