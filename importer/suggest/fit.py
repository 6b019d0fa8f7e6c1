"""Do a column's values fit the field its header names? Values decide, headers suggest.

:func:`judge` takes the kind a header names (:mod:`importer.suggest.headers`) and what the
column's sampled values look like (:mod:`importer.customer.values`) and returns a :class:`Verdict`:
the kind kept (None: ruled out), how sure, and why. Values that contradict a header rule the
column out whatever it says: ``Last Login`` holds dates, ``Email Opt-In`` yes/no, ``Invoice #``
record numbers; a value on (nearly) every row is the account's, not each customer's. Confidence:
**high**, the header names the field and the values agree (or, for names, do not contradict it);
**medium**, the values alone decide, clearly, or too few to check the header; **low**, header and
values half agree, or the values decide on a narrow share: left for review, never mapped on a
guess. Pure functions, tested as tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from importer.customer.values import MIN_VALUES, Sniff

__all__ = ["CONFIDENCES", "Verdict", "judge", "lowest"]

CONFIDENCES = ("high", "medium", "low")
#: The values' share at which the values alone map a column that its header says nothing of.
CLEAR_SHARE = 0.9

_NAMES = ("firstName", "lastName", "fullName", "displayName")
_CONTACT = {"date", "bool", "status", "id", "number", "email", "emails", "url", "phone"}
#: Field kind -> the value kinds that rule a column out of it.
RULED_OUT: dict[str, frozenset[str]] = {
    **dict.fromkeys(_NAMES, frozenset(_CONTACT | {"list", "text", "country"})),
    "phone": frozenset(_CONTACT - {"phone", "id"} | {"list", "text", "country", "salutation"}),
    "street": frozenset(_CONTACT | {"list"}),
    "formatted": frozenset(_CONTACT | {"list"}),
    **dict.fromkeys(("city", "state", "country"), frozenset(_CONTACT | {"list", "text"})),
    **dict.fromkeys(("postalCode", "code"), frozenset(_CONTACT - {"number", "id"} | {"text"})),
    **dict.fromkeys(("organization", "location"), frozenset(_CONTACT)),
    "jobTitle": frozenset(_CONTACT | {"list"}),
    "background": frozenset({"date", "bool", "status", "id", "number"}),
    "gender": frozenset(_CONTACT - {"bool"} | {"text", "list"}),
    "age": frozenset(_CONTACT - {"number"}),
    **dict.fromkeys(
        ("chat", "social"), frozenset({"date", "bool", "status", "id", "number", "list"})
    ),
}
#: Fields whose values must have their own shape: anything else rules the column out.
MUST_BE = {"email": {"email", "emails"}, "website": {"url"}, "photoUrl": {"url"}}
#: Fields the values confirm when they have this shape.
CONFIRMED_BY = {**MUST_BE, "phone": {"phone"}, "country": {"country"}}
#: Fields no customer shares with (nearly) all others: one value on every row is not theirs.
NOT_SHARED = frozenset({*_NAMES, "email", "phone", "website", "photoUrl", "street", "formatted",
                        "postalCode", "background", "jobTitle", "location", "chat",
                        "social"})  # fmt: skip
#: Fields a few values repeated over many rows (a code, a choice) cannot be.
NOT_A_CHOICE = frozenset({*_NAMES, "email", "phone", "website"})
#: Kinds a column's values alone can map, and the field kind each gives.
FROM_VALUES = {"email": "email", "emails": "email", "phone": "phone", "url": "website",
               "country": "country", "date": "date"}  # fmt: skip
#: Kinds that are no customer field: nothing to judge.
_NOT_FIELDS = frozenset({"ignore", "id", "date", "label", "title"})


@dataclass(frozen=True)
class Verdict:
    """The kind a column keeps (None: ruled out), how sure, and why (for the draft and ``init``)."""

    kind: str | None
    confidence: str
    reason: str


def judge(kind: str | None, values: Sniff) -> Verdict:
    """The verdict on a column whose header names ``kind`` (None: says nothing) and whose
    sampled values look like ``values``."""
    seen = values.evidence()
    if kind is None:
        if values.kind not in FROM_VALUES:
            return Verdict(None, "high", seen or "neither the header nor the values say")
        sure = "medium" if values.share >= CLEAR_SHARE else "low"
        return Verdict(FROM_VALUES[values.kind], sure, f"the header says nothing; {seen}")
    if kind in _NOT_FIELDS:
        return Verdict(kind, "high", seen)
    if values.sampled < MIN_VALUES:
        if kind in MUST_BE and values.sampled and values.few_kind not in MUST_BE[kind]:
            # Xero's "Person1IncludeInEmail": a Yes or two, no email however few
            return Verdict(None, "high", f"none of the {values.sampled} sampled values looks "
                           f"like {_FIELD_WORDS[kind]}")  # fmt: skip
        return Verdict(kind, "medium", "too few values sampled to confirm the header")
    if values.kind in RULED_OUT.get(kind, ()):
        return Verdict(None, "high", f"{seen}, not {_FIELD_WORDS.get(kind, kind)}")
    if kind in _NAMES and values.digits >= 0.5:
        return Verdict(None, "high", f"{values.digits:.0%} of {values.sampled} sampled values "
                       "have digits, which names do not")  # fmt: skip
    if kind in NOT_SHARED and values.same:
        share = f"{values.top_share:.0%} of {values.sampled} sampled rows"
        return Verdict(None, "high", f"the same value on {share}: not each customer's own")
    if kind in NOT_A_CHOICE and values.few:
        return Verdict(None, "high", f"only {values.distinct} different values in "
                       f"{values.sampled} sampled rows: a code or a choice")  # fmt: skip
    if kind in MUST_BE and values.kind not in MUST_BE[kind]:
        found = seen or f"no sampled value looks like {_FIELD_WORDS[kind]}"
        return Verdict(None, "high", found)
    if values.kind in CONFIRMED_BY.get(kind, ()):
        return Verdict(kind, "high", f"the header and the values agree: {seen}")
    if kind == "phone":
        why = seen or "the values do not look like phone numbers"
        return Verdict(kind, "low", f"{why}, so maybe not phones")
    if kind == "country":
        return Verdict(kind, "low", "the values are not country names or codes it knows")
    return Verdict(kind, "high", seen or "the values do not contradict the header")


def lowest(confidences: list[str]) -> str:
    """The least sure of ``confidences`` (high when there are none)."""
    return max(confidences, key=CONFIDENCES.index, default="high")


_FIELD_WORDS = {
    "firstName": "first names", "lastName": "last names", "fullName": "names",
    "displayName": "names", "email": "emails", "phone": "phone numbers",
    "website": "web addresses", "photoUrl": "web addresses", "street": "street lines",
    "formatted": "postal addresses", "city": "cities", "state": "states or regions",
    "country": "countries", "postalCode": "postal codes", "code": "postal codes",
    "organization": "companies", "location": "locations", "jobTitle": "job titles",
    "background": "notes", "gender": "genders", "age": "ages", "chat": "chat handles",
    "social": "social profiles",
}  # fmt: skip
