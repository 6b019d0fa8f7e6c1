"""init's suggestions from header names (moving to importer.suggest)."""

from __future__ import annotations

import json
import re

from importer import schema
from importer.mapping.model import SPLIT_NAME_FIELDS

#: (field, pattern over the folded header) in the order they are tried; the first match wins.
#: Fields: a scalar or address field path, or "emails:<type>", "phones", "lines", "websites",
#: "fullName", "socialProfiles:<type>", "chats:<type>".
HEADER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("firstName", r"(first|given|fore) ?names?|first|fname|forename"),
    ("lastName", r"(last|family|sur) ?names?|last|lname|surname"),
    ("fullName", r"(full |customer |contact |client |display )?name|fullname|contact"),
    ("emails:home", r"(personal|home|private) e ?mail( address)?"),
    (
        "emails:other",
        r"(other|secondary|alternate|alternative|additional) e ?mail( address)?( \d+)?",
    ),
    ("emails:plural", r"e ?mails|e ?mail addresses"),
    ("emails:work", r"((work|primary|business|office|contact) )?e ?mail( address)?( \d+)?|mail"),
    ("phones", r"(\w+ )?(phone|telephone|tel|mobile|cell|fax|pager)( number| no)?( \d+)?"),
    ("organization", r"(company|organi[sz]ation|employer|business|account)( name)?|org"),
    ("jobTitle", r"(job )?title|job|position|role|occupation|designation"),
    ("lines", r"(street|address)( line)?( ?[12])?|street address|addr( ?[12])?"),
    ("address.city", r"city|town|locality"),
    ("address.state", r"state|province|region|county|state province"),
    ("address.postalCode", r"zip( ?code)?|postal( ?code)?|post ?code"),
    ("address.country", r"country( code| name)?|nation"),
    ("websites", r"web ?site( url)?|url|home ?page|web|site|web address"),
    ("background", r"notes?|background|comments?|description|about|bio"),
    ("gender", r"gender|sex"),
    ("age", r"age( range)?"),
    ("location", r"location"),
    ("photoUrl", r"(photo|avatar|picture|image)( url)?"),
    ("socialProfiles", rf"({'|'.join(schema.SOCIAL_TYPES)})( url| profile| handle)?"),
    ("chats", rf"({'|'.join(schema.CHAT_TYPES)})( id| name| handle)?"),
)
_PHONE_WORDS = {
    "mobile": "mobile",
    "cell": "mobile",
    "home": "home",
    "fax": "fax",
    "pager": "pager",
}


def suggest_mapping(columns: list[str]) -> str:
    """A starting mapping (YAML text) from a CSV's headers, for ``helpscout-import init``.

    Recognised headers fill their fields; the rest are listed as commented text properties, since
    a property must exist in the Help Scout account before it can be filled. The text loads with
    :func:`load_mapping`.
    """
    scalars: dict[str, str] = {}
    entries: dict[str, list[str]] = {}
    lines: list[str] = []
    full_name = None
    other: list[str] = []
    for column in columns:
        kind = _header_kind(column)
        if kind is None:
            other.append(column)
        elif kind == "fullName":
            if full_name is None:
                full_name = column
            else:
                other.append(column)
        elif kind == "lines":
            lines.append(_q(column))
        elif ":" in kind or kind in ("phones", "websites", "socialProfiles", "chats"):
            name, item = _entry_item(kind, column, len(entries.get(kind.split(":")[0], [])))
            entries.setdefault(name, []).append(item)
        elif kind in scalars:
            other.append(column)
        else:
            scalars[kind] = column
    if full_name and not ({"firstName", "lastName"} & scalars.keys()):
        for part in SPLIT_NAME_FIELDS:
            scalars[part] = f"{{column: {_q(full_name)}, transform: [split_name]}}"
    elif full_name:
        other.append(full_name)

    out = [
        "# Suggested from the CSV's headers by helpscout-import init: check every line.",
        "customer:",
    ]
    address = {k: v for k, v in scalars.items() if k.startswith("address.")}
    for name, column in scalars.items():
        if not name.startswith("address."):
            out.append(f"  {name}: {_scalar_spec(name, column)}")
    for name, items in entries.items():
        out.append(f"  {name}:")
        out += [f"    - {item}" for item in items]
    if lines or address:
        out.append("  address:")
        if lines:
            out.append(f"    lines: [{', '.join(lines)}]")
        out += [f"    {k.split('.')[1]}: {_scalar_spec(k, v)}" for k, v in address.items()]
    if other:
        out += _property_lines(other, active=len(out) == 2)
    if "emails" in entries:
        out.append("key: email")
    return "\n".join(out) + "\n"


def _header_kind(column: str) -> str | None:
    """The field a header names, read as written ("LinkedIn") and camelCase split ("jobTitle")."""
    for spelling in (column, re.sub(r"(?<=[a-z])(?=[A-Z])", " ", column)):
        folded = " ".join(re.sub(r"[^a-z0-9]+", " ", spelling.lower()).split())
        for kind, pattern in HEADER_PATTERNS:
            if re.fullmatch(pattern, folded):
                return _typed_kind(kind, folded)
    return None


def _typed_kind(kind: str, folded: str) -> str:
    """The entry type a header names: "Mobile" a mobile phone, "Twitter" a twitter profile."""
    if kind == "phones":
        words = [_PHONE_WORDS[w] for w in folded.split() if w in _PHONE_WORDS]
        return f"phones:{words[0]}" if words else kind
    if kind in ("socialProfiles", "chats"):
        return f"{kind}:{folded.split()[0]}"
    return kind


def _entry_item(kind: str, column: str, position: int) -> tuple[str, str]:
    name, _, entry_type = kind.partition(":")
    spec = f"column: {_q(column)}"
    if entry_type == "plural":
        return name, f'{{{spec}, type: work, separator: ";"}}  # check the separator'
    if name == "phones" and not entry_type:
        entry_type = "work" if position == 0 else "other"
    return name, f"{{{spec}, type: {entry_type}}}" if entry_type else f"{{{spec}}}"


def _scalar_spec(name: str, column: str) -> str:
    if column.startswith("{"):
        return column
    if name == "address.country":
        return f"{{column: {_q(column)}, transform: [country_code]}}"
    if name == "gender":
        return f"{{column: {_q(column)}, map: {{M: male, F: female}}}}"
    return _q(column)


def _property_lines(columns: list[str], *, active: bool) -> list[str]:
    """Columns no field was found for, as text properties (date properties when the header says
    date): commented out, unless nothing else is mapped (a mapping must fill something)."""
    mark = "" if active else "# "
    out = [
        "  # Other columns, as customer properties: each must exist in Help Scout (Settings >",
        "  # Customer Properties) with this slug; "
        + ("remove the ones not wanted." if active else "uncomment the ones wanted."),
        f"  {mark}properties:",
    ]
    slugs: set[str] = set()
    for column in columns:
        slug = re.sub(r"[^a-z0-9]+", "-", column.lower()).strip("-") or "column"
        while slug in slugs:
            slug += "-2"
        slugs.add(slug)
        if re.search(r"date|\bsince\b|\bon\b", column, re.IGNORECASE):
            spec = 'type: date, format: "%Y-%m-%d"}  # the way the dates are written'
        else:
            spec = "type: text}"
        out.append(f"  {mark}  {_q(slug)}: {{column: {_q(column)}, {spec}")
    return out


def _q(text: str) -> str:
    """``text`` as a YAML scalar that other YAML readers take as the same text too."""
    plain = re.fullmatch(r"[A-Za-z_][\w .()/-]*(?<! )", text)
    special = text.lower() in ("y", "n", "yes", "no", "on", "off", "true", "false", "null")
    return text if plain and not special else json.dumps(text, ensure_ascii=False)
