"""Help Scout's Create Customer rules, as data.

One source for the validator (vectorised over pandas columns, with messages that say how to fix a
cell) and the sandbox (one JSON payload at a time, answering as Help Scout does). Each rule has a
name: the report's ``rule`` column.
Facts come from HELPSCOUT_API.md; where Help Scout's limits are unknown, no limit is invented.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import email_validator
import pycountry

PHOTO_TYPES = (
    "unknown",
    "gravatar",
    "twitter",
    "facebook",
    "googleprofile",
    "googleplus",
    "linkedin",
    "instagram",
)
GENDERS = ("male", "female", "unknown")
EMAIL_TYPES = ("home", "work", "other")
PHONE_TYPES = ("fax", "home", "mobile", "other", "pager", "work")
CHAT_TYPES = ("aim", "gtalk", "icq", "msn", "other", "qq", "skype", "xmpp", "yahoo")
SOCIAL_TYPES = (
    "aboutme",
    "facebook",
    "flickr",
    "forsquare",
    "google",
    "googleplus",
    "linkedin",
    "other",
    "quora",
    "tungleme",
    "twitter",
    "youtube",
)
PROPERTY_TYPES = ("text", "number", "bool", "url", "date", "dropdown")
PROPERTY_TEXT_MAX = 255
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Field:
    """A string field of the payload and the rule its value must meet.

    ``kind`` is one of: text, enum, email, url, phone, country.
    """

    name: str
    kind: str = "text"
    min_len: int = 0
    max_len: int | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entries:
    """A list field of ``{type, value}`` objects (``websites`` has no type)."""

    name: str
    value: Field
    types: tuple[str, ...] = ()
    default_type: str | None = None


SCALARS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("firstName", min_len=1, max_len=40),
        Field("lastName", min_len=1, max_len=40),
        Field("phone", "phone"),
        Field("photoUrl", "url", max_len=200),
        Field("photoType", "enum", choices=PHOTO_TYPES),
        Field("jobTitle", max_len=60),
        Field("background", max_len=200),
        Field("location", max_len=60),
        Field("organization", max_len=60),
        Field("gender", "enum", choices=GENDERS),
        Field("age"),
    )
}

ENTRIES: dict[str, Entries] = {
    e.name: e
    for e in (
        Entries("emails", Field("value", "email"), EMAIL_TYPES, "work"),
        Entries("phones", Field("value", "phone"), PHONE_TYPES, "work"),
        Entries("chats", Field("value", min_len=1), CHAT_TYPES, "other"),
        Entries("socialProfiles", Field("value", min_len=1), SOCIAL_TYPES, "other"),
        Entries("websites", Field("value", "url")),
    )
}

ADDRESS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("lines"),
        Field("city"),
        Field("state"),
        Field("postalCode"),
        Field("country", "country"),
    )
}

#: The customer's own fields (what PUT replaces); ``phone`` only adds a phone entry on create.
OWN_FIELDS = tuple(name for name in SCALARS if name != "phone")
#: Payload list field -> (its key under a customer's ``_embedded``, its endpoint's URL segment).
ENTRY_PATHS = {
    "emails": ("emails", "emails"),
    "phones": ("phones", "phones"),
    "chats": ("chats", "chats"),
    "socialProfiles": ("social_profiles", "social-profiles"),
    "websites": ("websites", "websites"),
}
#: Requests that cost 2 of the per-minute budget.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Every top-level field a mapping may fill, for "did you mean" suggestions.
TOP_LEVEL_FIELDS = (*SCALARS, *ENTRIES, "address", "properties")

# --- value rules -------------------------------------------------------------------------------
# The patterns below use only syntax that Python's ``re`` and RE2 (pyarrow's regex engine) read
# alike (no \s, \d or \w, whose meanings differ on non-ASCII text), so the same text serves the
# per-value checks and the vectorised ones.

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
# no "--" in a label: "xn--" (Punycode) and "ab--" forms are for email-validator to judge
_LABEL = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
#: Plain ASCII addresses that email-validator surely accepts; anything else is asked of it.
EMAIL_FAST = rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}"
#: The same, for RE2 only: letters and digits of any script in the local part ("chloé@", "伊昭傑@"),
#: which email-validator accepts as internationalized addresses.
_ATEXT_INTL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\p{L}\p{N}-]"
EMAIL_FAST_INTL = rf"{_ATEXT_INTL}+(?:\.{_ATEXT_INTL}+)*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}"
#: Addresses this short cannot break a length limit (local part 64, domain 253, whole 254).
EMAIL_FAST_MAX_LEN = 64
#: Top-level domains email-validator refuses as special-use (RFC 6761 and friends).
SPECIAL_USE_TLDS = ("arpa", "invalid", "local", "localhost", "onion", "test")
SPECIAL_USE_SUFFIX = r"(?i)\.(?:" + "|".join(SPECIAL_USE_TLDS) + ")$"

_UNI = "\u00a1-\U0010ffff"
_HOST_LABEL = rf"[A-Za-z0-9{_UNI}](?:[A-Za-z0-9{_UNI}-]{{0,61}}[A-Za-z0-9{_UNI}])?"
URL_PATTERN = (
    r"(?:[Hh][Tt][Tt][Pp][Ss]?://)?"
    r"(?:[^\x00-\x20\x7f/?#@]+@)?"
    rf"(?:(?:{_HOST_LABEL}\.)+(?:[A-Za-z{_UNI}]{{2,63}}|[Xx][Nn]--[A-Za-z0-9-]{{1,59}})"
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|localhost)"
    r"(?::[0-9]{1,5})?"
    r"(?:[/?#][^\x00-\x20\x7f]*)?"
)
#: What a spreadsheet leaves in a phone cell after evaluating it as a formula or a number:
#: "+1-313-882-4167" becomes "-5361", "4915112345678" becomes "4.91511E+12", errors become "#NAME?".
PHONE_MANGLED = r"-[0-9]+(?:\.[0-9]+)?|[+-]?[0-9]+(?:\.[0-9]+)?[Ee][+-]?[0-9]+|#[A-Z/0!?]+|=.*"
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
INTEGER_PATTERN = r"[+-]?[0-9]{1,19}"
TRUE_WORDS = ("true", "yes", "y", "1", "on", "t")
FALSE_WORDS = ("false", "no", "n", "0", "off", "f")

_email_fast = re.compile(EMAIL_FAST)
_url = re.compile(URL_PATTERN)


@lru_cache(maxsize=65536)
def email_problem(value: str) -> str | None:
    """Why ``value`` is not a well-formed address (email-validator's words), or None."""
    if value.count("@") != 1:
        # quoted local parts, the only place a second "@" may stand, are refused anyway
        return "An email address must have exactly one @-sign."
    if (
        len(value) <= EMAIL_FAST_MAX_LEN
        and _email_fast.fullmatch(value)
        and value.rsplit(".", 1)[1].lower() not in SPECIAL_USE_TLDS
    ):
        return None
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        return str(exc)
    return None


def is_url(value: str) -> bool:
    return _url.fullmatch(value) is not None


def parse_int(value: str) -> int | None:
    """The integer in ``value`` when it fits a signed 64-bit property, else None."""
    text = value.strip()
    if not re.fullmatch(INTEGER_PATTERN, text):
        return None
    number = int(text)
    return number if INT64_MIN <= number <= INT64_MAX else None


def parse_bool(value: str) -> bool | None:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def is_iso_date(value: str) -> bool:
    if not re.fullmatch(DATE_PATTERN, value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


#: Every current ISO 3166-1 alpha-2 code, sorted (the validator checks whole columns against it).
ALPHA2 = tuple(sorted(c.alpha_2 for c in pycountry.countries))
_ALPHA2 = frozenset(ALPHA2)


def is_country_code(value: str) -> bool:
    """Help Scout wants an ISO 3166-1 alpha-2 code, upper case."""
    return value in _ALPHA2


# --- whole payloads (the sandbox's check) ------------------------------------------------------
@dataclass(frozen=True)
class Violation:
    """One rule a payload breaks, shaped like Help Scout's ``_embedded.errors[]`` item."""

    path: str
    rule: str
    message: str
    rejected_value: object = None


def check_value(spec: Field, value: object, path: str | None = None) -> Violation | None:
    """Check one field's value against its rule; ``path`` is the error's JSON path."""
    path = path or spec.name
    if not isinstance(value, str):
        return Violation(path, "type", "must be a string", value)
    if spec.kind == "text" and len(value) < spec.min_len:
        return Violation(
            path,
            "min_length",
            f"size must be between {spec.min_len} and {spec.max_len or 'any'}",
            value,
        )
    if spec.max_len is not None and len(value) > spec.max_len:
        lower = spec.min_len
        return Violation(
            path, "max_length", f"size must be between {lower} and {spec.max_len}", value
        )
    if spec.kind == "enum" and value not in spec.choices:
        return Violation(path, "enum", f"must be one of: {', '.join(spec.choices)}", value)
    if spec.kind == "email" and (detail := email_problem(value)):
        return Violation(path, "email", f"must be a well-formed email address ({detail})", value)
    if spec.kind == "url" and not is_url(value):
        return Violation(path, "url", "must be a valid URL", value)
    if spec.kind == "phone" and not value.strip():
        return Violation(path, "phone_empty", "may not be empty", value)
    if spec.kind == "country" and not is_country_code(value):
        return Violation(path, "country", "must be an ISO 3166-1 alpha-2 country code", value)
    return None


def check_property(
    slug: str, value: object, prop_type: str, options: Iterable[dict] = ()
) -> Violation | None:
    """Check a property value as the API receives it (already converted to JSON types)."""
    path = f"properties.{slug}"
    if prop_type == "number":
        ok = (
            isinstance(value, int)
            and not isinstance(value, bool)
            and INT64_MIN <= value <= INT64_MAX
        )
        return None if ok else Violation(path, "number", "must be an integer", value)
    if prop_type == "bool":
        return (
            None if isinstance(value, bool) else Violation(path, "bool", "must be a boolean", value)
        )
    if not isinstance(value, str):
        return Violation(path, "type", "must be a string", value)
    if prop_type == "date" and not is_iso_date(value):
        return Violation(path, "date", "must be a date in YYYY-MM-DD format", value)
    if prop_type == "url" and not is_url(value):
        return Violation(path, "url", "must be a valid URL", value)
    if prop_type == "text" and len(value) > PROPERTY_TEXT_MAX:
        return Violation(path, "max_length", f"size must be at most {PROPERTY_TEXT_MAX}", value)
    if prop_type == "dropdown":
        options = list(options)
        allowed = {str(o.get("id")) for o in options} | {str(o.get("label")) for o in options}
        if options and value not in allowed:
            return Violation(path, "dropdown", "must be one of the property's options", value)
    return None


def check_payload(payload: object, properties: dict[str, dict] | None = None) -> list[Violation]:
    """Every rule a Create Customer payload breaks; ``properties`` maps slug to its definition
    (``{"type": ..., "options": [...]}``) and, when given, unknown slugs are violations."""
    if not isinstance(payload, dict):
        return [Violation("", "type", "request body must be a JSON object", None)]
    found: list[Violation] = []

    def add(violation: Violation | None) -> None:
        if violation:
            found.append(violation)

    for name, value in payload.items():
        if name in SCALARS:
            add(check_value(SCALARS[name], value))
        elif name in ENTRIES:
            found.extend(_check_entries(ENTRIES[name], value))
        elif name == "address":
            found.extend(_check_address(value))
        elif name == "properties":
            found.extend(_check_properties(value, properties))
        else:
            found.append(Violation(name, "unknown_field", "unknown field", value))
    return found


def _check_entries(spec: Entries, items: object) -> list[Violation]:
    if not isinstance(items, list):
        return [Violation(spec.name, "type", "must be an array", items)]
    found = []
    for i, item in enumerate(items):
        path = f"{spec.name}[{i}]"
        if not isinstance(item, dict) or "value" not in item:
            found.append(Violation(path, "type", "must be an object with a value", item))
            continue
        if spec.types and item.get("type") not in spec.types:
            found.append(
                Violation(
                    f"{path}.type",
                    "enum",
                    f"must be one of: {', '.join(spec.types)}",
                    item.get("type"),
                )
            )
        if violation := check_value(spec.value, item["value"], f"{path}.value"):
            found.append(violation)
    return found


def _check_address(address: object) -> list[Violation]:
    if not isinstance(address, dict):
        return [Violation("address", "type", "must be an object", address)]
    found = []
    for name, value in address.items():
        if name not in ADDRESS:
            found.append(Violation(f"address.{name}", "unknown_field", "unknown field", value))
        elif name == "lines":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                found.append(
                    Violation("address.lines", "type", "must be an array of strings", value)
                )
        elif violation := check_value(ADDRESS[name], value, f"address.{name}"):
            found.append(violation)
    if "country" not in address:
        found.append(Violation("address.country", "country_required", "may not be null", None))
    return found


def _check_properties(values: object, definitions: dict[str, dict] | None) -> list[Violation]:
    if not isinstance(values, dict):
        return [Violation("properties", "type", "must be an object", values)]
    found = []
    for slug, value in values.items():
        if definitions is None:
            continue
        definition = definitions.get(slug)
        if definition is None:
            found.append(
                Violation(
                    f"properties.{slug}",
                    "unknown_property",
                    "customer property does not exist",
                    value,
                )
            )
        elif violation := check_property(
            slug, value, definition["type"], definition.get("options", ())
        ):
            found.append(violation)
    return found
