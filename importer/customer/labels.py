"""Words for people in place of the payload paths the reports carry: ``emails.0.value`` as
"Email 1" (a rule's words are its row's in :mod:`importer.check.rules`).

The pages show these; the CSV and JSON reports keep the paths, which scripts match on.
"""

from __future__ import annotations

import re

from importer.customer.schema import SCALARS

__all__ = ["field_label"]

#: The customer's own fields as Help Scout's screens name them.
FIELDS = {
    "firstName": "First name",
    "lastName": "Last name",
    "jobTitle": "Job title",
    "photoUrl": "Photo URL",
    "photoType": "Photo type",
    "background": "Notes",
    "organization": "Company",
}
#: A list field's one entry, named with its number.
ENTRIES = {
    "emails": "Email",
    "phones": "Phone",
    "chats": "Chat",
    "socialProfiles": "Social profile",
    "websites": "Website",
}
_ENTRY = re.compile(r"(\w+)\.(\d+)\.(value|type)")


def field_label(path: str) -> str:
    """A payload path as a person names the field: ``emails.0.value`` is "Email 1",
    ``address.city`` "City", ``properties.plan`` "Property plan"; an unknown path stays."""
    if path in FIELDS:
        return FIELDS[path]
    if path in SCALARS:
        return path[0].upper() + path[1:]
    entry = _ENTRY.fullmatch(path)
    if entry and entry.group(1) in ENTRIES:
        name = f"{ENTRIES[entry.group(1)]} {int(entry.group(2)) + 1}"
        return name if entry.group(3) == "value" else f"{name} type"
    top, _, rest = path.partition(".")
    if top == "address" and rest:
        part, _, line = rest.partition(".")
        if part == "lines":
            return f"Address line {int(line) + 1}" if line.isdigit() else "Address lines"
        return {"postalCode": "Postal code"}.get(part, part.capitalize())
    if top == "properties" and rest:
        return f"Property {rest}"
    return path
