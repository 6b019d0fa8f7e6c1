"""What a column's values look like, whatever its header says: emails, phones, URLs, countries,
dates (and their formats), salutations, yes/no, record numbers, numbers and amounts, lists of
names, sentences, several lines; and how often they repeat.

:func:`sniff` looks at a sample of a column's cells (``init`` reads the first :data:`SAMPLE_ROWS`)
and says which kind most of the non-empty ones have, with the share, so a suggestion carries its
evidence ("97% of 200 sampled values look like emails"); a kind is claimed only when at least
:data:`THRESHOLD` of them have it. Countries are recognised by name or code in English, dotted
("U.S.A") and in most European languages ("Deutschland", "Royaume-Uni"); :attr:`Sniff.country_map`
lists the names the mapping cannot resolve itself, so the suggestion can ``map`` them. Every
function is pure: tested as tables.
"""

from __future__ import annotations

import datetime as dt
import gettext
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache

import phonenumbers
import pycountry

from importer.customer.countries import resolve_country

#: The date layouts exports write, tried in turn (``format:`` hints, date sniffing).
COMMON_DATE_FORMATS = (
    "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d",
    "%d/%m/%y", "%m/%d/%y", "%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%Y%m%d",
)  # fmt: skip


__all__ = [
    "COMMON_DATE_FORMATS",
    "DATE_FORMATS",
    "NULL_MARKERS",
    "SAMPLE_ROWS",
    "THRESHOLD",
    "Sniff",
    "country_code",
    "date_cover",
    "email_address",
    "emails_in",
    "is_phone",
    "is_street",
    "sniff",
]

#: Rows ``init`` samples from the top of the file.
SAMPLE_ROWS = 200
#: The share of non-empty sampled values a kind needs before a column is called that kind.
THRESHOLD = 0.8
#: Dates are claimed on fewer misfits: a wrong format would fail every row.
DATE_SHARE = 0.9
#: Fewer non-empty values than this say nothing.
MIN_VALUES = 3
#: Date (and date-time) formats tried, day-first before month-first on a tie.
DATE_FORMATS = (
    *COMMON_DATE_FORMATS,
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S UTC",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%d-%m-%Y %H:%M",
)  # fmt: skip
#: Languages whose country names are recognised besides English: the main European ones first
#: (a name two languages give different countries keeps the first language's).
LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "nb", "fi", "cs", "sk", "hu",
             "ro", "el", "tr", "ru", "uk", "bg", "hr", "sl", "et", "lv", "lt", "ca")  # fmt: skip
SALUTATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "madam",
        "herr",
        "frau",
        "m",
        "mme",
        "mlle",
        "sr",
        "sra",
        "srta",
        "don",
        "dona",
        "sig",
        "sigra",
        "dhr",
        "mevr",
        "mw",
        "mevrouw",
        "heer",
        "rev",
        "fr",
    ]
)
BOOLEANS = frozenset(
    ["yes", "no", "true", "false", "y", "n", "0", "1", "ja", "nein", "oui", "non", "si", "sí"]
)
#: The states a record is in (a subscriber's, an account's, a trial's): a column of them is the
#: system's bookkeeping, whatever its header says (Kit's "state": active, cancelled, bounced).
STATUSES = frozenset(
    ["active", "inactive", "cancelled", "canceled", "bounced", "complained", "unsubscribed",
     "subscribed", "unconfirmed", "confirmed", "pending", "suspended", "expired", "archived",
     "deleted", "blocked", "trial", "trialing", "past_due", "paused", "cold", "opted out",
     "enabled", "disabled", "invited", "declined"]
)  # fmt: skip
#: Cells that mean "absent" in exports: not values, whatever the column.
NULL_MARKERS = frozenset(["null", "n/a", "#n/a", "none", "(none)", "nil", "-"])
#: Separators of several emails in one cell (Google writes " ::: ").
EMAIL_SEPARATORS = (" ::: ", ";", ",", " ")

_EMAIL = re.compile(r"[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[A-Za-z]{2,}")
_URL = re.compile(
    r"(https?://\S+|www\.[^\s@]+\.[a-z]{2,}\S*|[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)*\.[a-z]{2,}/\S*)",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"\+?[\d\s().\-/]+((x|ext\.?|extension|#)\s*\d{1,6})?", re.IGNORECASE
)  # fmt: skip
_ZIP_PLUS4 = re.compile(r"\d{5}-\d{4}")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_STREET = re.compile(
    r"(?=.*\d).*(\b(street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|way|"
    r"court|ct|place|pl|square|sq|highway|hwy|rue|chemin|calle|avenida|via|viale|piazza|"
    r"plaza|carrer)|(strasse|straße|str|weg|platz|gasse|allee|laan|straat|gatan|vej))\b.*",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"[$€£¥]?\s?[-+]?(\d+([.,]\d+)?|\d{1,3}([,.\s]\d{3})+([.,]\d+)?)\s?([$€£¥]|[A-Z]{3})?"
)
#: Separators of a list in one cell (tags, list names, courses).
_LIST = re.compile(r"\s*[;,|]\s*")
#: A column whose most common value fills this share of its sampled cells is one value for all.
SAME_SHARE = 0.9
#: At most this many different values over at least :data:`FEW_OVER` cells: a code, not a detail.
FEW_VALUES = 3
FEW_OVER = 10


@dataclass(frozen=True)
class Sniff:
    """The kind most sampled values of a column have (None: no kind reaches the threshold)."""

    kind: str | None
    share: float = 0.0
    sampled: int = 0
    date_formats: tuple[str, ...] = ()
    country_map: dict[str, str] = field(default_factory=dict)
    separator: str | None = None
    wrapped: bool = False
    """Some sampled emails are in a display-name form or a ``mailto:`` link."""
    distinct: int = 0
    """How many different values were sampled."""
    top_share: float = 0.0
    """The share of the sampled values the most common one fills."""
    date_cover: tuple[str, ...] = ()
    """Several formats that together read the dates when no single one does (issue 19)."""
    digits: float = 0.0
    """The share of the sampled values with a digit in them (names have none)."""
    few_kind: str | None = None
    """What the values look like when too few were sampled to decide by (kind is None then):
    enough to tell that a Yes and a No are no emails."""

    @property
    def same(self) -> bool:
        """One value on (nearly) every sampled row: not a customer's own detail."""
        return self.sampled >= 5 and self.top_share >= SAME_SHARE

    @property
    def few(self) -> bool:
        """A few values repeated over many rows: a code or a choice, not a detail."""
        return self.sampled >= FEW_OVER and self.distinct <= FEW_VALUES

    def evidence(self) -> str:
        """``96% of 200 sampled values look like emails``; "" when nothing was claimed."""
        if self.kind is None:
            return ""
        what = _KIND_WORDS[self.kind]
        formats = self.date_cover or self.date_formats
        if self.kind == "date" and formats:
            what += " written " + (" and " if self.date_cover else " or ").join(
                f'"{f}"' for f in formats
            )
        return f"{self.share:.0%} of {self.sampled} sampled values look like {what}"


_KIND_WORDS = {
    "email": "emails",
    "emails": "several emails in one cell",
    "phone": "phone numbers",
    "url": "web addresses",
    "country": "country names or codes",
    "date": "dates",
    "salutation": "salutations (Mr, Ms...)",
    "bool": "yes/no values",
    "status": "a record's states (active, cancelled...)",
    "number": "numbers or amounts",
    "id": "record numbers (unique, in sequence)",
    "list": "lists (several names in a cell)",
    "text": "sentences",
    "multiline": "text on several lines",
    "fullname": "full names",
}


def sniff(values: Iterable[str]) -> Sniff:
    """The kind of most of ``values`` (cells as text; empty ones are skipped)."""
    texts = [v for v in (_clean(v) for v in values) if v and v.lower() not in NULL_MARKERS]
    if len(texts) < MIN_VALUES:
        return Sniff(None, sampled=len(texts), few_kind=_kind(texts).kind if texts else None)
    counts = Counter(texts)
    found = _kind(texts)
    return replace(
        found,
        distinct=len(counts),
        top_share=counts.most_common(1)[0][1] / len(texts),
        digits=sum(1 for t in texts if any(c.isdigit() for c in t)) / len(texts),
    )


def _kind(texts: list[str]) -> Sniff:
    count = len(texts)

    def share(test: Callable[[str], object]) -> float:
        return sum(1 for t in texts if test(t)) / count

    emails = [emails_in(t) for t in texts]
    if (s := sum(1 for e in emails if e) / count) >= THRESHOLD:
        several = [t for t, e in zip(texts, emails, strict=True) if len(e) > 1]
        wrapped = any(email_address(t) != t for t, e in zip(texts, emails, strict=True) if e)
        if several:
            separator = next(
                (sep for sep in EMAIL_SEPARATORS if all(sep in t for t in several)), ","
            )
            return Sniff("emails", s, count, separator=separator, wrapped=wrapped)
        return Sniff("email", s, count, wrapped=wrapped)
    if (s := share(_is_url)) >= THRESHOLD:
        return Sniff("url", s, count)
    formats = date_formats(texts, DATE_SHARE)
    if formats:
        best = sum(1 for t in texts if _reads(t, formats[0])) / count
        return Sniff("date", best, count, date_formats=formats[:2])
    if cover := date_cover(texts, DATE_SHARE):
        read = sum(1 for t in texts if any(_reads(t, f) for f in cover)) / count
        return Sniff("date", read, count, date_formats=cover[:1], date_cover=cover)
    if (s := share(lambda t: t.lower() in BOOLEANS)) >= THRESHOLD:
        return Sniff("bool", s, count)
    if (s := share(lambda t: t.lower() in STATUSES)) >= THRESHOLD:
        return Sniff("status", s, count)
    if is_sequence(texts):
        return Sniff("id", 1.0, count)
    if (s := share(is_phone)) >= THRESHOLD:
        return Sniff("phone", s, count)
    # A few values first: resolving a name that is no country is slow (its "did you mean").
    probe = [country_code(t) for t in texts[:20] if not any(c.isdigit() for c in t)]
    likely = len(probe) >= len(texts[:20]) / 2 and sum(map(bool, probe)) >= len(probe) / 2
    codes = [country_code(t) for t in texts] if likely else []
    if codes and (s := sum(1 for c in codes if c) / count) >= THRESHOLD:
        local = {
            t: c for t, c in zip(texts, codes, strict=True) if c and resolve_country(t)[0] is None
        }
        return Sniff("country", s, count, country_map=dict(sorted(local.items())))
    if (s := share(lambda t: _NUMBER.fullmatch(t) is not None)) >= THRESHOLD:
        return Sniff("number", s, count)
    if (s := share(is_salutation)) >= THRESHOLD:
        return Sniff("salutation", s, count)
    if (s := share(lambda t: "\n" in t or "\r" in t)) >= 0.3:
        return Sniff("multiline", s, count)
    if (s := share(lambda t: len(t.split()) >= 4)) >= 0.5 and len(set(texts)) > FEW_VALUES:
        return Sniff("text", s, count)
    if is_list(texts):
        return Sniff("list", share(_LIST.search), count)
    return Sniff(None, sampled=count)


def is_sequence(texts: Sequence[str]) -> bool:
    """Record numbers: bare digits, every one different, none led by 0, all close together
    (``Invoice #``, ``Member Number``). A phone written bare varies far more."""
    if len(texts) < MIN_VALUES or not all(t.isdigit() and t[0] != "0" for t in texts):
        return False
    numbers = sorted(int(t) for t in texts)
    unique = len(set(numbers)) == len(numbers)
    close = unique and numbers[0] >= 10_000 and numbers[-1] - numbers[0] <= numbers[-1] * 0.01
    return close and not _north_american(texts)


def _north_american(texts: Sequence[str]) -> bool:
    """Most are valid phone numbers written bare: North American ones (``4155550134``), or
    international ones without their ``+`` (``27825550101``): phones of one area code are close
    together too. Elsewhere a national number written bare starts with 0."""
    valid = sum(1 for t in texts if (len(t) == 10 and _valid_in(t, "US")) or _valid_in(f"+{t}"))
    return valid >= len(texts) / 2


def _valid_in(text: str, region: str | None = None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


def is_list(texts: Sequence[str]) -> bool:
    """Lists of names (tags, mailing lists, courses): short items in a cell, the same items
    recurring across rows."""
    items = [i for t in texts for i in _LIST.split(t) if i]
    several = sum(1 for t in texts if _LIST.search(t))
    short = all(len(i.split()) <= 4 for i in items)
    return several >= 0.3 * len(texts) and short and len(set(items)) <= len(items) / 2


def _clean(value: object) -> str:
    """A cell as the mapping will see it: stripped, without a spreadsheet's text apostrophe."""
    text = "" if value is None else str(value).strip()
    return text[1:].strip() if text.startswith("'") else text


#: (RE2 pattern, replacement) in turn: the address of ``Ada Lovelace <ada@example.com>``
#: (``"Lovelace, Ada" <...>``: what mail programs and some exports write) and of a
#: ``mailto:`` link (HTML exports), the ``email_address`` transform's work over a column;
#: :func:`email_address` is the same for one value, without a backtracking regex.
EMAIL_WRAPPERS = (
    (r"^(?:\"[^\"]*\"|[^<>\"@]*)\s*<\s*([^<>\s]+@[^<>\s]+)\s*>$", r"\1"),
    (r"^(?i:mailto:)([^?\s]+@[^?\s]+)(?:\?.*)?$", r"\1"),
)
#: The name of ``Ada Lovelace <ada@example.com>`` or ``"Lovelace, Ada" <...>`` (RE2), the
#: ``display_name`` transform's; a text in no such form has none.
DISPLAY_NAME = r'^"?(?P<name>[^"<>@]*?)"?\s*<\s*[^<>\s]+@[^<>\s]+\s*>$'
#: The longest text judged as a list of emails (a customer's cell, not a mailing list).
MAX_EMAILS_TEXT = 2_000


def _address(text: str) -> bool:
    return not any(c.isspace() for c in text) and "@" in text[1:-1]


def email_address(text: str) -> str:
    """The address a display-name form or a ``mailto:`` link holds; ``text`` otherwise."""
    if text.endswith(">"):
        head, bracket, inner = text[:-1].rpartition("<")
        head, inner = head.rstrip(), inner.strip()
        quoted = len(head) > 1 and head[0] == head[-1] == '"' and '"' not in head[1:-1]
        if (
            bracket
            and ">" not in inner
            and _address(inner)
            and (quoted or not any(c in head for c in '<>"@'))
        ):
            text = inner
    if text[:7].lower() == "mailto:":
        inner, _, query = text[7:].partition("?")
        if _address(inner) and "?" not in inner and "\n" not in query:
            text = inner
    return text


def emails_in(text: str) -> list[str]:
    """The emails ``text`` is made of; [] when anything else is in it."""
    if "@" not in text or len(text) > MAX_EMAILS_TEXT:
        return []
    bare = email_address(text)
    if bare != text and _EMAIL.fullmatch(bare):
        return [bare]
    found = _EMAIL.findall(text)
    rest = _EMAIL.sub("", text)
    return found if found and not re.sub(r"[\s,;:]+", "", rest) else []


def _is_url(text: str) -> bool:
    return "@" not in text and " " not in text and _URL.fullmatch(text) is not None


def is_phone(text: str) -> bool:
    """A phone number as people write them: 7 to 15 digits with + ( ) - . / and spaces."""
    if not _PHONE.fullmatch(text) or _ZIP_PLUS4.fullmatch(text) or _IPV4.fullmatch(text):
        return False
    digits = sum(
        c.isdigit() for c in re.sub(r"(x|ext\.?|extension|#)\s*\d+$", "", text, flags=re.I)
    )
    if text.isdigit() and digits > 12:
        return False  # a record number (Shopify's customer ids), not a phone written bare
    if not 7 <= digits <= 15 or re.fullmatch(r"\d+[.,]\d{1,2}", text):
        return False
    return not date_formats([text])  # the dearest test last: every date format is tried


def is_street(text: str) -> bool:
    """A street line: a number and a street word in one of the main European languages."""
    return _STREET.fullmatch(text) is not None


def is_salutation(text: str) -> bool:
    return text.lower().rstrip(".") in SALUTATIONS


def date_formats(texts: Sequence[str], share: float = 1.0) -> tuple[str, ...]:
    """The formats of :data:`DATE_FORMATS` that read at least ``share`` of ``texts`` (years
    1900-2100), best first.

    Both day-first and month-first come back when no day is above 12: the caller says so.
    """
    fits: list[tuple[float, int, str]] = []
    for order, fmt in enumerate(DATE_FORMATS):
        read = sum(1 for t in texts if _reads(t, fmt))
        if texts and read / len(texts) >= share:
            fits.append((-read / len(texts), order, fmt))
    return tuple(fmt for _, _, fmt in sorted(fits))


def date_cover(texts: Sequence[str], share: float = 1.0, most: int = 3) -> tuple[str, ...]:
    """At most ``most`` formats that together read ``share`` of ``texts`` when no single one
    does (a sheet re-typed by hand: ``2024-01-05`` and ``05/01/2024``), greedily, each reading
    the most of those left; () when none is needed or none covers them."""
    left, chosen = list(texts), list[str]()
    while left and len(chosen) < most:
        reads = {f: [t for t in left if _reads(t, f)] for f in DATE_FORMATS}
        best = max(DATE_FORMATS, key=lambda f: len(reads[f]))  # first on a tie: day-first
        if not reads[best]:
            break
        chosen.append(best)
        left = [t for t in left if t not in set(reads[best])]
    covered = texts and (len(texts) - len(left)) / len(texts) >= share
    return tuple(chosen) if covered and len(chosen) > 1 else ()


def _reads(text: str, fmt: str) -> bool:
    try:
        return 1900 <= dt.datetime.strptime(text, fmt).year <= 2100
    except ValueError:
        return False


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """The ISO alpha-2 code of a country name or code, in English or a main European language."""
    code, _ = resolve_country(text)
    if code is None and "." in text and len(text) <= 8:  # U.S.A, U.K.
        code, _ = resolve_country(text.replace(".", ""))
    if code is None and len(text) > 3:
        code = _local_names().get(_fold(text))
    return code


@cache
def _local_names() -> dict[str, str]:
    """Folded country names in :data:`LANGUAGES` -> alpha-2 code (pycountry's translations)."""
    names: dict[str, str] = {}
    for language in LANGUAGES:
        try:
            translate = gettext.translation(
                "iso3166-1", pycountry.LOCALES_DIR, languages=[language]
            ).gettext
        except OSError:
            continue
        for country in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                if english := getattr(country, attr, None):
                    names.setdefault(_fold(translate(english)), country.alpha_2)
    return names


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())
