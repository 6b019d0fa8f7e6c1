"""Help Scout's Create Customer payload, as data: its fields, their kinds and limits, and the
patterns and predicates a value is judged by.

The rules built on these (codes, messages, the order of checking) are the one table of
:mod:`importer.check.rules`, which the validator and the sandbox both read.
Facts come from HELPSCOUT_API.md; where Help Scout's limits are unknown, no limit is invented.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
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

    ``kind`` is one of :data:`FIELD_KINDS`: the rules of :mod:`importer.check.rules` apply by it.
    """

    name: str
    kind: str = "text"
    min_len: int = 0
    max_len: int | None = None
    choices: tuple[str, ...] = ()
    sent_as: Callable[[str], object] | None = None
    """How a cell's text is sent (a number property's as an integer) when it converts; None:
    as text."""

    def sent(self, text: str) -> object:
        """``text`` as the payload carries it (the text itself when it does not convert: the
        rules then refuse it)."""
        converted = self.sent_as(text) if self.sent_as else None
        return text if converted is None else converted


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


def _url_pattern(letters: str) -> str:
    """A URL whose host names may hold ``letters`` beyond ASCII (a range of a character class)."""
    label = rf"[A-Za-z0-9{letters}](?:[A-Za-z0-9{letters}-]{{0,61}}[A-Za-z0-9{letters}])?"
    return (
        r"(?:[Hh][Tt][Tt][Pp][Ss]?://)?"
        r"(?:[^\x00-\x20\x7f/?#@]+@)?"
        rf"(?:(?:{label}\.)+(?:[A-Za-z{letters}]{{2,63}}|[Xx][Nn]--[A-Za-z0-9-]{{1,59}})"
        r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|localhost)"
        r"(?::[0-9]{1,5})?"
        r"(?:[/?#][^\x00-\x20\x7f]*)?"
    )


URL_PATTERN = _url_pattern(_UNI)
#: The same on text that is all ASCII, where it matches alike: RE2 runs it 1.6x as fast.
URL_PATTERN_ASCII = _url_pattern("")
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


#: A property's value of each type, as a field: the rules apply to kind ``property TYPE``.
PROPERTY_FIELDS: dict[str, Field] = {
    t: Field(
        t,
        f"property {t}",
        max_len=PROPERTY_TEXT_MAX if t in ("text", "dropdown") else None,
        sent_as={"number": parse_int, "bool": parse_bool}.get(t),
    )
    for t in PROPERTY_TYPES
}
#: Every kind of field a rule may apply to.
FIELD_KINDS = (
    "text",
    "enum",
    "email",
    "url",
    "phone",
    "country",
    *(f.kind for f in PROPERTY_FIELDS.values()),
)
