"""Words for people in place of the machine codes the reports carry: a rule (``max_length``) as
"too long (max 40)", a payload path (``emails.0.value``) as "Email 1".

The pages show these; the CSV and JSON reports keep the codes, which scripts match on.
"""

from __future__ import annotations

import re

from importer.customer.schema import ADDRESS, PROPERTY_TEXT_MAX, SCALARS

__all__ = ["field_label", "rule_label"]

#: What each rule's issue is, in a few words; a rule not listed is its code in words.
RULES = {
    "max_length": "too long",
    "min_length": "empty",
    "enum": "not one of the allowed values",
    "email": "not a valid email address",
    "url": "not a valid web address",
    "phone": "not a phone number",
    "phone_no_digit": "a phone number without a digit",
    "country": "not a country",
    "number": "not a whole number",
    "bool": "not yes or no",
    "date": "not a date",
    "duplicate_key": "the same as an earlier row",
    "no_identity": "no name and no email",
    "address_dropped": "address left out",
    "country_required": "an address without a country",
    "ragged_row": "more cells than the header has columns",
    "short_row": "fewer cells than the header has columns",
    "unnamed_column": "a value under a header without a name",
}
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


def rule_label(rule: str, field: str = "") -> str:
    """``rule`` in words; a length says its limit for ``field`` ("too long (max 40)")."""
    if rule.endswith("_dropped") and rule.removesuffix("_dropped") in RULES:  # on_invalid: drop
        return (
            f"{rule_label(rule.removesuffix('_dropped'), field)}: dropped, the row sent without it"
        )
    words = RULES.get(rule, rule.replace("_", " "))
    if rule == "max_length":
        limit = _max_length(field)
        return f"{words} (max {limit})" if limit else words
    return words


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


def _max_length(field: str) -> int | None:
    if field in SCALARS:
        return SCALARS[field].max_len
    if field.startswith("properties."):
        return PROPERTY_TEXT_MAX
    part = field.removeprefix("address.")
    return ADDRESS[part].max_len if part in ADDRESS else None
