"""A mapping suggested from a file no preset fits: its header words, then its values.

:func:`suggest` reads every header (:func:`~importer.suggest.headers.read_header`) and every
sampled column (:func:`~importer.customer.values.sniff`), then decides column by column: the
header's words name the field and the values decide (:func:`~importer.suggest.fit.judge`: values
that contradict it rule the column out; low confidence is held for review, not mapped); a header
that says nothing is mapped by its values alone; "Title" is a job title unless its values are
Mr/Ms; a full-name column alone is ``name:``; address parts are grouped by the address they belong
to, every group offered, most complete first (``on_incomplete: drop``); columns used by nothing
are listed as commented-out properties. Every field carries its evidence as comment lines. Pure
functions of the headers and the sample.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from importer.customer import schema
from importer.customer.values import NULL_MARKERS, Sniff, sniff
from importer.suggest.draft import AddressGroup, Draft, Field, Held, columns_of
from importer.suggest.fit import judge, lowest
from importer.suggest.headers import ENTRY_TYPE_WORDS, HeaderReading, read_header, words

__all__ = ["Column", "empty_columns", "leftovers", "null_values", "read_columns", "suggest"]

#: Label text (Google's "E-mail 1 - Type", Outlook's "E-mail Type") -> entry type, by list.
LABEL_MAPS = {
    "emails": {"* Home": "home", "Home": "home", "* Work": "work", "Work": "work",
               "* Other": "other", "Other": "other"},
    "phones": {"* Mobile": "mobile", "Mobile": "mobile", "* Home": "home", "Home": "home",
               "* Work": "work", "Work": "work", "Main": "work", "* Main": "work",
               "Home Fax": "fax", "Work Fax": "fax", "Fax": "fax", "Pager": "pager",
               "* Other": "other", "Other": "other"},
}  # fmt: skip
_MALE = "m male man mann mannlich männlich homme h hombre masculino maschio uomo masculin herr"
_FEMALE = "f w female woman frau weiblich femme mujer femenino femmina donna vrouw v feminin"
GENDER_WORDS = {**dict.fromkeys(_MALE.split(), "male"), **dict.fromkeys(_FEMALE.split(), "female")}
_SCALARS = ("organization", "jobTitle", "background", "gender", "age", "location", "photoUrl")
_PARTS = {"street": "lines", "city": "city", "state": "state", "postalCode": "postalCode",
          "country": "country", "formatted": "lines", "code": "postalCode"}  # fmt: skip
_AGREE = {"email": {"email", "emails"}, "phone": {"phone"}, "website": {"url"},
          "photoUrl": {"url"}, "country": {"country"}, "date": {"date"}}  # fmt: skip


@dataclass
class Column:
    """One column as read: its header, its values, the kind decided and the evidence."""

    name: str
    position: int
    header: HeaderReading
    values: Sniff
    kind: str | None
    notes: list[str] = field(default_factory=list)
    cells: Sequence[str] = ()
    confidence: str = "high"

    @property
    def filled(self) -> int:
        return sum(1 for c in self.cells if c and c.strip())


def read_columns(columns: Sequence[str], sample: Mapping[str, Sequence[str]]) -> list[Column]:
    """Every column with the kind its header and values give, and why."""
    out = []
    for position, (name, header) in enumerate(zip(columns, _headers(columns), strict=True)):
        cells = list(sample.get(name, ()))
        values = sniff(cells)
        out.append(_decide(Column(name, position, header, values, header.kind, cells=cells)))
    return out


#: Words that name another person only beside the customer's own column of the same field:
#: Eventbrite's "Buyer Email" beside the attendee's "Email"; Amazon's lone "buyer-email" is the
#: customer's own, as Gumroad's "Buyer Name" is.
_OTHER_BESIDE_OWN = frozenset({"buyer"})
_NAME_KINDS = frozenset({"firstName", "lastName", "fullName", "displayName"})


def _headers(columns: Sequence[str]) -> list[HeaderReading]:
    """Each column's :func:`read_header`, a buyer's read as the customer's when no column is
    the customer's own of that field."""
    headers = [read_header(name) for name in columns]
    own = {_field_of(h.kind) for h in headers}
    for at, header in enumerate(headers):
        if header.kind == "ignore" and header.phrase in _OTHER_BESIDE_OWN:
            alone = read_header(" ".join(w for w in header.words if w not in _OTHER_BESIDE_OWN))
            if alone.kind not in (None, "ignore") and _field_of(alone.kind) not in own:
                headers[at] = replace(alone, column=header.column)
    return headers


def _field_of(kind: str | None) -> str | None:
    return "name" if kind in _NAME_KINDS else kind


def _decide(column: Column) -> Column:
    """The kind the header names, kept only when the values fit it (:func:`judge`)."""
    header, values, kind = column.header, column.values, column.kind
    said = f'header "{column.name}"'
    if kind == "id" and header.phrase == "number":
        kind = None  # "Text Reminder Number", "Lucky Number": the values say which
    if kind == "chat" and values.kind == "phone":
        kind = "phone"  # WhatsApp, Signal: a phone number
    if kind == "social" and _organisation_pages(column):
        column.kind = "ignore"
        column.notes = [f"{said}: LinkedIn pages of companies or schools, not the person's"]
        return column
    if kind == "title":
        if values.kind == "salutation":
            column.kind = "ignore"
            column.notes = [f"{said}: {values.evidence()}, not job titles"]
        else:
            column.kind = "jobTitle"
            column.notes = [f"{said}: a job title (check: some exports write Mr/Ms there)"]
        return column
    verdict = judge(kind, values)
    column.confidence = verdict.confidence
    if verdict.kind is None:
        column.kind = None if kind is None else "misfit"
        named = f" names {_field_words(kind, header)}" if kind else ""
        column.notes = [f"{said}{named}, but {verdict.reason}" if kind else verdict.reason]
        return column
    if kind is None:
        column.kind = verdict.kind
        column.notes = [f"{said} says nothing; {values.evidence()}"]
        return column
    column.kind = verdict.kind
    whole = header.phrase == " ".join(header.words)
    notes = [said if whole or not header.phrase else f'{said} ("{header.phrase}")']
    if values.kind and verdict.kind in _AGREE and values.kind in _AGREE[verdict.kind]:
        notes[0] += f"; {values.evidence()}"
    elif verdict.confidence != "high":
        notes.append(f"check: {verdict.reason}")
    column.notes = notes
    return column


def _field_words(kind: str, header: HeaderReading) -> str:
    return f'"{header.phrase}"' if header.phrase else kind


def suggest(columns: Sequence[str], sample: Mapping[str, Sequence[str]] | None = None) -> Draft:
    """A draft mapping for ``columns``; ``sample`` (column -> first rows' cells) adds evidence."""
    read = read_columns(columns, sample or {})
    draft = Draft()
    used: set[str] = set()
    _names(read, draft, used)
    _scalars(read, draft, used)
    _entries(read, draft, used)
    _names_in_emails(read, draft)
    _addresses(read, draft, used)
    _leftovers(read, draft, used)
    _null_values(read, draft, used)
    _hold_unsure(read, draft)
    draft.ruled_out = {c.name: c.notes[0] for c in read if c.kind == "misfit"}
    if "emails" in draft.entries:
        draft.key = "email"
    return draft


def _hold_unsure(read: list[Column], draft: Draft) -> None:
    """Each field's confidence, the lowest of its columns'; the low ones go to the draft's
    review list (written commented out), not into the mapping."""
    sure = {c.name: c for c in read}

    def held(path: str, item: Field) -> bool:
        found = [sure[c] for c in columns_of(item.spec) if c in sure]
        item.confidence = lowest([c.confidence for c in found])
        if item.confidence != "low":
            item.notes = [*item.notes, f"confidence: {item.confidence}"]
            return False
        draft.review.append(Held(path, item, "; ".join(n for c in found for n in c.notes)))
        return True

    draft.fields = {n: f for n, f in draft.fields.items() if not held(n, f)}
    draft.entries = {
        name: kept
        for name, items in draft.entries.items()
        if (kept := [f for f in items if not held(name, f)])
    }
    for group in draft.addresses:
        group.parts = {
            n: p
            for n, p in group.parts.items()
            if n == "on_incomplete" or not held(f"address.{n}", p)
        }
    draft.addresses = [g for g in draft.addresses if set(g.parts) - {"on_incomplete"}]


# --- names ----------------------------------------------------------------------------------------
def _of(read: list[Column], *kinds: str) -> list[Column]:
    """Columns of these kinds, the ungrouped ones ("Name") before "Billing Name", "Card Name"."""
    found = (c for c in read if c.kind in kinds)
    return sorted(found, key=lambda c: (c.header.group != "", c.position))


def _column_spec(found: list[Column], **more: object) -> dict:
    names = [c.name for c in found]
    return {"column": names[0] if len(names) == 1 else names, **more}


def _notes(found: list[Column], extra: str = "") -> list[str]:
    notes = [n for c in found for n in c.notes]
    if len(found) > 1:
        notes.append("the first of these columns that is filled wins")
    return notes + ([extra] if extra else [])


def _names(read: list[Column], draft: Draft, used: set[str]) -> None:
    first, last = _of(read, "firstName"), _of(read, "lastName")
    full = _of(read, "fullName", "displayName")
    named = full and full[0].header.kind == "fullName" and not full[0].header.group
    if first and not last and named:
        # "Name" beside "Vorname"/"Prénom": the family name, as German and French sheets write it.
        last, full = full[:1], full[1:]
        last[0].notes = [*last[0].notes, "the family name, beside a first-name column"]
    if last and not first and named and not _mostly_two_words(full[0]):
        # "Name" beside "Last name" (MailerLite, many sign-up forms): the given name.
        first, full = full[:1], full[1:]
        first[0].notes = [*first[0].notes, "the given name, beside a last-name column"]
    if first and not last and _mostly_two_words(first[0]):
        full, first = first + full, []
        full[0].notes = [*full[0].notes, "its values are whole names: split in two"]
    if first or last:
        for name, found in (("firstName", first), ("lastName", last)):
            if found:
                draft.fields[name] = Field(_column_spec(found), _notes(found))
                used.update(c.name for c in found)
        if first and full:
            # a whole-name column is the fallback when the first name is empty
            spec = draft.fields["firstName"].spec
            columns = spec["column"] if isinstance(spec["column"], list) else [spec["column"]]
            spec["column"] = [*columns, full[0].name]
            draft.fields["firstName"].notes.append(
                f'"{full[0].name}" when the first name is empty (it goes in whole)'
            )
            used.add(full[0].name)
    elif full:
        notes = _notes(full, "name: cuts it, the first word the first name, the rest the last")
        spec = full[0].name if len(full) == 1 else {"column": [c.name for c in full]}
        draft.fields["name"] = Field(spec, notes)
        used.update(c.name for c in full)


def _names_in_emails(read: list[Column], draft: Draft) -> None:
    """With no name column, the names an email column writes before its addresses
    (``Ada Lovelace <ada@example.com>``) are the customers' names."""
    if {"name", "firstName", "lastName"} & set(draft.fields):
        return
    wrapped = next((c for c in read if c.kind == "email" and c.values.wrapped), None)
    if wrapped is not None:
        notes = [f'the names before the addresses of "{wrapped.name}" (no name column)']
        draft.fields["name"] = Field({"column": wrapped.name, "transform": ["display_name"]},
                                     notes)  # fmt: skip


def _mostly_two_words(column: Column) -> bool:
    filled = [c for c in column.cells if c and c.strip()]
    return len(filled) >= 3 and sum(len(c.split()) >= 2 for c in filled) >= 0.8 * len(filled)


# --- scalar fields --------------------------------------------------------------------------------
def _scalars(read: list[Column], draft: Draft, used: set[str]) -> None:
    for name in _SCALARS:
        found = _of(read, name)
        if not found:
            continue
        if name == "gender":
            found = found[:1]
            spec = _column_spec(found, map=_gender_map(found[0]))
        else:
            spec = _column_spec(found)
        draft.fields[name] = Field(spec, _notes(found))
        used.update(c.name for c in found)


def _gender_map(column: Column) -> dict[str, str]:
    """M/F and the words for them in the main languages; any other value seen -> unknown."""
    seen = {c.strip() for c in column.cells if c and c.strip()}
    mapping = {"M": "male", "F": "female"}
    for value in sorted(seen):
        if value.lower() not in ("m", "f", "male", "female", "unknown"):
            mapping[value] = GENDER_WORDS.get(value.lower(), "unknown")
    return mapping


# --- emails, phones, websites, social profiles, chats --------------------------------------------
def _entries(read: list[Column], draft: Draft, used: set[str]) -> None:
    labels = [c for c in read if c.kind == "label"]
    typed: tuple[tuple[str, str, tuple[str, ...]], ...] = (
        ("email", "emails", schema.EMAIL_TYPES),
        ("phone", "phones", schema.PHONE_TYPES),
    )
    for kind, name, types in typed:
        items = []
        for position, column in enumerate(c for c in read if c.kind == kind):
            fallback = _default_type(column, types, position)
            spec: dict = {"column": column.name, "type": _type(column, kind, name, fallback,
                                                               labels, used)}  # fmt: skip
            if column.values.wrapped:
                spec["transform"] = ["email_address"]
                column.notes.append("some values are 'Name <address>' or mailto: links: the "
                                    "address is sent")  # fmt: skip
            # "Emails" may hold several; "emails.1" (a JSON list's first) holds one
            listed = column.header.words[:1] == ("emails",) and column.header.number is None
            if column.values.kind == "emails" and column.values.separator:
                spec["separator"] = column.values.separator
            elif kind == "email" and listed:
                spec["separator"] = ";"
                column.notes.append("several emails in a cell: check the separator")
            items.append(Field(spec, column.notes))
            used.add(column.name)
        if items:
            draft.entries[name] = items
    for column in read:
        if column.kind == "website" and (network := _network_of(column)):
            column.kind = "social"  # LinkedIn's Connections.csv: "URL", every one a profile
            column.notes.append(f"every sampled value is a {network} profile")
    websites = [c for c in read if c.kind == "website"]
    if websites:
        draft.entries["websites"] = [Field({"column": c.name}, c.notes) for c in websites]
        used.update(c.name for c in websites)
    named: tuple[tuple[str, str, tuple[str, ...]], ...] = (
        ("social", "socialProfiles", schema.SOCIAL_TYPES),
        ("chat", "chats", schema.CHAT_TYPES),
    )
    for kind, name, types in named:
        found = [c for c in read if c.kind == kind]
        if found:
            draft.entries[name] = [
                Field({"column": c.name,
                       "type": _type(c, kind, name, _named_type(c, types), labels, used)},
                      c.notes)
                for c in found
            ]  # fmt: skip
            used.update(c.name for c in found)


def _type(
    column: Column, kind: str, name: str, fallback: str, labels: list[Column], used: set[str]
) -> str | dict[str, object]:
    """An entry's type: read from the label column beside it (Google's "E-mail 1 - Type",
    vCards' "IM Address 1 Type", a JSON list's "phones.1.type"), ``fallback`` where it says
    none; ``fallback`` alone without such a column."""
    label = _label_for(column, kind, labels)
    if label is None:
        return fallback
    used.add(label.name)
    column.notes.append(f'its type from "{label.name}"')
    return {"column": label.name, "map": _label_map(name, label), "default": fallback}


def _default_type(column: Column, types: tuple[str, ...], position: int) -> str:
    said = column.header.entry_type
    if said in types:
        return said
    if said == "mobile":  # a "mobile" email is the person's own
        return "home"
    # "E-mail 2 Address" is a second email; "col3" says nothing about order
    number = column.header.number if column.header.kind else None
    return "work" if position == 0 and (number is None or number <= 1) else "other"


def _label_for(column: Column, kind: str, labels: list[Column]) -> Column | None:
    """The type column beside an entry: same list word, same number (Google, Outlook)."""
    for label in labels:
        if read_header_kind_word(label) == kind and label.header.number == column.header.number:
            return label
    return None


def read_header_kind_word(label: Column) -> str | None:
    """Which list a label column types: its email or phone word."""
    folded = set(label.header.words)
    if folded & {"email", "emails", "mail", "correo", "courriel"}:
        return "email"
    if folded & {"phone", "phones", "telephone", "tel", "telefon", "telefono", "telefoon"}:
        return "phone"
    if folded & {"im", "chat", "chats", "messenger"}:
        return "chat"
    if folded & {"social", "profile", "profiles"}:
        return "social"
    return None


def _label_map(name: str, label: Column) -> dict[str, str]:
    """The label texts of the export's own vocabulary, plus those seen in the sample."""
    types = schema.ENTRIES[name].types
    mapping = dict(LABEL_MAPS.get(name, {}))
    for value in sorted({c.strip() for c in label.cells if c and c.strip()} - set(mapping)):
        found = [value.lower(), *(ENTRY_TYPE_WORDS.get(w) for w in words(value))]
        kind = next((k for k in found if k in types), None)
        if kind:
            mapping[value] = kind
    return mapping


def _named_type(column: Column, types: tuple[str, ...]) -> str:
    word = next((w for w in column.header.words if w in types), None)
    return word or _network_of(column) or ("skype" if "skype" in column.header.words else "other")


#: Sites whose pages are a person's profile there: the socialProfiles type they are.
SOCIAL_SITES = {"linkedin.com": "linkedin", "twitter.com": "twitter", "x.com": "twitter",
                "facebook.com": "facebook", "youtube.com": "youtube", "quora.com": "quora",
                "flickr.com": "flickr", "about.me": "aboutme"}  # fmt: skip


def _network_of(column: Column) -> str | None:
    """The social network every sampled value of ``column`` is a page of, else None."""
    found = set()
    for cell in filter(None, (c.strip() for c in column.cells)):
        host = urlsplit(cell if "//" in cell else f"//{cell}").hostname or ""
        found.add(SOCIAL_SITES.get(".".join(host.split(".")[-2:])))
    return found.pop() if len(found) == 1 and None not in found else None


def _organisation_pages(column: Column) -> bool:
    """Every sampled value a LinkedIn page of a company or a school (a lead list's company
    "LinkedIn"): no person's profile."""
    cells = [c.strip().lower() for c in column.cells if c and c.strip()]
    return bool(cells) and all(re.search(r"linkedin\.com/(company|school|showcase)/", c)
                               for c in cells)  # fmt: skip


# --- addresses --------------------------------------------------------------------------------
@dataclass
class _Group:
    name: str
    parts: dict[str, list[Column]] = field(default_factory=dict)

    def columns(self) -> list[Column]:
        return [c for found in self.parts.values() for c in found]

    def score(self) -> tuple[int, int, int]:
        """Complete first (a country), then the more rows filled, then the more parts."""
        country = self.parts.get("country", [])
        rows = max((c.filled for c in self.columns()), default=0)
        filled = max((c.filled for c in country), default=rows)
        return (1 if country else 0, filled, len(self.parts))


_GROUP_NAMES = {"": "address", "billing": "billing address", "shipping": "shipping address",
                "mailing": "mailing address", "card": "card address", "home": "home address",
                "work": "work address", "other": "other address"}  # fmt: skip


def _addresses(read: list[Column], draft: Draft, used: set[str]) -> None:
    groups: dict[str, _Group] = {}
    tags = _tags([c for c in read if c.kind in _PARTS and not c.header.group])
    for column in read:
        part = _PARTS.get(column.kind or "")
        name = column.header.group or tags.get(column.name, "")
        if part is None or (column.kind == "code" and not name):
            continue
        group = groups.setdefault(name, _Group(name))
        group.parts.setdefault(part, []).append(column)
    ranked = sorted(_joined(groups).values(), key=lambda g: g.score(), reverse=True)
    for number, group in enumerate(ranked):
        parts = _group_parts(group)
        if not parts:
            continue
        shown = group.name.upper() if len(group.name) <= 3 else group.name
        label = _GROUP_NAMES.get(group.name, f"address {shown}")
        filled = max((c.filled for c in group.columns()), default=0)
        sampled = max((len(c.cells) for c in group.columns()), default=0)
        note = f"{label}: {len(group.parts)} parts" + (
            f", filled in {filled} of {sampled} sampled rows" if sampled else ""
        )
        if len(ranked) > 1 and number == 0:
            note += "; the first complete address (with a country) of these is sent"
        notes = [note]
        if "country" in parts:
            notes.append("a row without a country is sent without this address, with a warning")
        else:
            notes.append(
                "no country column: Help Scout needs one, so this address is dropped (with a "
                "warning) unless you add one, e.g. country: {value: US}"
            )
        parts["on_incomplete"] = Field("drop")
        draft.addresses.append(AddressGroup(parts, notes))
        used.update(c.name for c in group.columns())


def _joined(groups: dict[str, _Group]) -> dict[str, _Group]:
    """Unnamed street lines alone beside one named address without lines are its lines: Etsy's
    "Street 1" and "Street 2" beside "Ship City", "Ship Zipcode" and "Ship Country" (apart, the
    lines would be an address of no city and no country, never sent)."""
    plain, named = groups.get(""), [g for name, g in groups.items() if name]
    if plain is None or set(plain.parts) != {"lines"} or len(named) != 1:
        return groups
    if "lines" in named[0].parts:
        return groups
    joined = _Group(named[0].name, {**plain.parts, **named[0].parts})
    return {joined.name: joined}


def _tags(parts: list[Column]) -> dict[str, str]:
    """Address parts whose first word is no word of their own, by that word, when two or more
    such words each lead two or more parts: the addresses of an export that tags them with a
    word no list knows (Xero's POCity and SACity, "Postal City" and "Physical City")."""
    first = {c.name: c.header.words[0] for c in parts if c.header.words}
    plain = Counter(
        first[c.name] for c in parts
        if first.get(c.name, "").isalpha() and first[c.name] not in c.header.phrase.split()
    )  # fmt: skip
    kept = {tag for tag, count in plain.items() if count >= 2}
    if len(kept) < 2:
        return {}
    # a plain tag tags "Postal Address Line 1" too, whose phrase ("postal address") took it
    return {name: word for name, word in first.items() if word in kept}


def _group_parts(group: _Group) -> dict[str, Field]:
    parts: dict[str, Field] = {}
    streets = [c for c in group.parts.get("lines", []) if c.kind == "street"]
    formatted = [c for c in group.parts.get("lines", []) if c.kind == "formatted"]
    if streets:
        if any(c.values.kind == "multiline" for c in streets) and len(streets) == 1:
            parts["lines"] = Field(
                {"column": streets[0].name, "separator": "\n"},
                [*streets[0].notes, "several lines in one cell: cut at each line break"],
            )
        else:
            parts["lines"] = Field([c.name for c in streets], [n for c in streets for n in c.notes])
    elif formatted:
        parts["lines"] = Field(
            {"column": formatted[0].name, "separator": "\n"},
            [*formatted[0].notes, "the whole address in one cell: each line becomes a line"],
        )
    for part in ("city", "state", "postalCode"):
        found = group.parts.get(part, [])
        if found:
            parts[part] = Field(found[0].name, found[0].notes)
    countries = group.parts.get("country", [])
    if countries:
        country = countries[0]
        spec: dict = {"column": country.name}
        if country.values.country_map:
            spec["map"] = dict(country.values.country_map)
            country.notes.append("names the country_code transform does not read, as seen")
        spec["transform"] = ["country_code"]
        parts["country"] = Field(spec, country.notes)
    return parts


# --- what is left -------------------------------------------------------------------------------
def _leftovers(read: list[Column], draft: Draft, used: set[str]) -> None:
    empty = set(empty_columns(read))
    draft.leftovers.update(leftovers([c for c in read if c.name not in used | empty]))
    if left_out := [c.name for c in read if c.name in empty - used]:
        names = ", ".join(left_out)  # an empty column a field reads is mapped, not left out
        text = f"Empty in every sampled row, so left out: {names}."
        draft.notes += textwrap.wrap(text, 96, break_on_hyphens=False)


def empty_columns(read: list[Column]) -> list[str]:
    """Columns sampled and found empty in every row (not offered: nothing to import)."""
    return [c.name for c in read if c.cells and not c.filled]


def leftovers(columns: list[Column]) -> dict[str, Field]:
    """Columns no field reads, as commented-out properties (slug -> spec, with what the values
    look like): a date property with its format, a number, a URL, else text."""
    out: dict[str, Field] = {}
    for column in columns:
        slug = _slug(column.name)
        while slug in out:
            slug += "-2"
        values = column.values
        notes = []
        if column.kind in ("ignore", "id", "label") and column.header.phrase:
            notes.append(f'header "{column.name}" ("{column.header.phrase}"): not a customer field')
        if column.kind == "misfit":
            notes.extend(column.notes)
        elif values.kind:
            notes.append(values.evidence())
        if values.kind == "date" and values.date_cover:
            notes.append("written several ways: each cell is read with the first format that fits")
            spec = {"column": column.name, "type": "date", "format": list(values.date_cover)}
        elif values.kind == "date" and values.date_formats:
            fmt = values.date_formats[0]
            if len(values.date_formats) > 1:
                notes.append("day-first and month-first both fit: check the format")
            spec = {"column": column.name, "type": "date", "format": fmt}
        elif column.kind == "date":
            spec = {"column": column.name, "type": "date", "format": "%Y-%m-%d"}
            notes.append("check the format: the way the dates are written")
        elif values.kind == "number":
            spec = {"column": column.name, "type": "number"}
        elif values.kind == "url":
            spec = {"column": column.name, "type": "url"}
        else:
            spec = {"column": column.name, "type": "text"}
        out[slug] = Field(spec, notes)
    return out


def _slug(name: str) -> str:
    """A property slug from a header: lower case, accents dropped, other characters as dashes."""
    folded = unicodedata.normalize("NFKD", name.replace("ß", "ss").lower())
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-") or "column"


def _null_values(read: list[Column], draft: Draft, used: set[str]) -> None:
    if found := null_values([c for c in read if c.name in used]):
        draft.settings["null_values"] = found


def null_values(columns: list[Column]) -> Field | None:
    """``null_values`` for the markers of absence ("null", "N/A", "-"...) seen in these columns'
    sampled cells, with how many; None when there are none."""
    seen: dict[str, int] = {}
    for column in columns:
        for cell in column.cells:
            if cell and (marker := cell.strip().lower()) in NULL_MARKERS:
                seen[marker] = seen.get(marker, 0) + 1
    if not seen:
        return None
    counts = ", ".join(f"{v} ({n} cells)" for v, n in sorted(seen.items()))
    return Field(sorted(seen), [f"cells that mean 'absent' in this file's sample: {counts}"])
