"""Country names and codes to ISO 3166-1 alpha-2, with a message for what cannot be resolved."""

from __future__ import annotations

import difflib
import gettext
import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Collection
from contextlib import suppress
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pycountry

__all__ = ["COUNTRY_ALIASES", "country_of", "resolve_country", "translated_names"]

#: Names pycountry does not know for a current country: former ISO 3166-1 short names of entries
#: whose code did not change, and everyday names.
COUNTRY_ALIASES = {
    "Britain": "GB",
    "Brunei": "BN",
    "Cape Verde": "CV",
    "England": "GB",
    "Great Britain": "GB",
    "Holland": "NL",
    "Ivory Coast": "CI",
    "Libyan Arab Jamahiriya": "LY",
    "Macau": "MO",
    "Macedonia": "MK",
    "Northern Ireland": "GB",
    "Palestinian Territories": "PS",
    "Palestinian Territory": "PS",
    "Palestinian Territory, Occupied": "PS",
    "Russia": "RU",
    "Scotland": "GB",
    "Swaziland": "SZ",
    "Turkey": "TR",
    "UK": "GB",
    "United States Virgin Islands": "VI",
    "US Virgin Islands": "VI",
    "Vatican": "VA",
    "Vatican City": "VA",
    "Wales": "GB",
}
#: Everyday names of countries ISO 3166-3 withdrew, by their four-letter code.
HISTORIC_ALIASES = {"Soviet Union": "SUHH", "East Germany": "DDDE"}
#: Where the territory of a withdrawn country is now, when its ISO 3166-3 code does not say
#: (it ends in "HH", or in a code itself withdrawn).
SUCCESSORS = {
    "ANHH": "BQ CW SX",
    "BYAA": "BY",
    "CSHH": "CZ SK",
    "CSXX": "RS ME",
    "FQHH": "AQ TF",
    "GEHH": "KI TV",
    "NTHH": "IQ SA",
    "PCHH": "FM MH MP PW",
    "SUHH": "AM AZ BY EE GE KG KZ LT LV MD RU TJ TM UA UZ",
    "YUCS": "BA HR ME MK RS SI",
}


#: Letters that do not decompose but are often typed without their stroke ("Faeroerne").
_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d",
                          "þ": "th", "ı": "i"})  # fmt: skip
#: What separates words: white space and punctuation (ASCII, Latin-1, general and CJK), never
#: the letters or marks of any script.
_SEPARATORS = re.compile(r"[\s!-/:-@\[-`{-~\u00a0-\u00bf\u2000-\u206f\u3000-\u303f]+")
#: The accents Latin, Greek and Cyrillic letters decompose into (NFKD), dropped: "Österreich" is
#: also written "Osterreich"; other scripts' marks are their own, part of the letter.
_ACCENTS = re.compile("[\u0300-\u036f]")


def _fold(text: str) -> str:
    """Compare country names without case, accents, punctuation, "the" or "St." spellings."""
    text = text.replace("&", " and ")
    if not text.isascii():
        text = _ACCENTS.sub("", unicodedata.normalize("NFKD", text))
        text = text.casefold().translate(_LETTERS)
    text = text.lower()
    words = _SEPARATORS.sub(" ", text).split()
    return " ".join("saint" if w == "st" else w for w in words if w != "the")


def _name_forms(name: str) -> set[str]:
    """The ways a name may be written: "Korea, Republic of" also as "Republic of Korea" and
    "Korea"; "Saint Martin (French part)" also as "Saint Martin"; "Cook Islands" also as "Cook"."""
    forms = {name, re.sub(r"\s*\([^)]*\)", "", name)}
    if "," in name:
        base, rest = name.split(",", 1)
        forms |= {base, f"{rest} {base}"}
    folded = {_fold(f) for f in forms}
    return folded | {re.sub(r" islands?$", "", f) for f in folded}


@cache
def _country_index() -> tuple[dict[str, set[str]], dict[str, Any]]:
    current: dict[str, set[str]] = {}
    for country in pycountry.countries:
        names = [getattr(country, a, None) for a in ("name", "official_name", "common_name")]
        for form in {country.alpha_2.lower(), country.alpha_3.lower()}.union(
            *(_name_forms(n) for n in names if n)
        ):
            current.setdefault(form, set()).add(country.alpha_2)
    for alias, code in COUNTRY_ALIASES.items():
        current.setdefault(_fold(alias), set()).add(code)
    historic: dict[str, Any] = {}
    by_alpha4 = {c.alpha_4: c for c in pycountry.historic_countries}
    for country in by_alpha4.values():
        for form in _name_forms(country.name) | {country.alpha_3.lower(), country.alpha_2.lower()}:
            historic.setdefault(form, country)
    for alias, alpha4 in HISTORIC_ALIASES.items():
        historic[_fold(alias)] = by_alpha4[alpha4]
    return current, historic


def translation_files() -> list[Path]:
    """The catalogues of country names pycountry ships, one per language (iso-codes')."""
    return sorted(Path(pycountry.LOCALES_DIR).glob("*/LC_MESSAGES/iso3166-1.mo"))


def cache_path() -> Path:
    """Where :func:`translated_names` keeps its table between runs: the user's cache folder
    (``$XDG_CACHE_HOME``, else ``~/.cache``), in a file named after what the table is made of
    (this module's text and pycountry's catalogues), so a change to either makes a new one."""
    made_of = hashlib.sha256(Path(__file__).read_bytes())
    for catalogue in translation_files():
        made_of.update(f"{catalogue}:{catalogue.stat().st_size}".encode())
    folder = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(folder) / "helpscout-importer" / f"country-names-{made_of.hexdigest()[:16]}.json"


@cache
def translated_names() -> dict[str, frozenset[str]]:
    """Folded country names in every language pycountry ships -> the codes they may mean:
    ``deutschland``, ``royaume uni``, ``германия`` -> one code each; ``kongo`` -> CD and CG.

    Reading ~150 catalogues takes 0.4 s, so the table is kept in :func:`cache_path` (loaded in
    0.03 s); a cache that cannot be read or written is made again, never trusted half.

    Where names of two countries meet, each named so in two languages or more, the name is
    ambiguous ("Corea" is both Koreas in Spanish and Galician, "Kongo" both Congos); a country
    only one language names so is that translation's slip, and the other wins. English names,
    codes and aliases come first: no translation changes what they mean.
    """
    path = cache_path()
    alone = {c.alpha_2: frozenset({c.alpha_2}) for c in pycountry.countries}  # shared, not copied
    try:
        return _loaded(json.loads(path.read_text(encoding="utf-8")), alone)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # absent, or not whole: made again
    table = _translated_names(alone)
    with suppress(OSError):  # a read-only home only costs the next run the 0.4 s
        path.parent.mkdir(parents=True, exist_ok=True)
        written = path.with_suffix(f".{os.getpid()}.tmp")
        written.write_text(json.dumps(_stored(table), ensure_ascii=False), encoding="utf-8")
        os.replace(written, path)
    return table


def _stored(table: dict[str, frozenset[str]]) -> dict[str, list[str]]:
    """The table as JSON keeps it: the forms of each code (one list per country), and each
    ambiguous form's codes under the form itself, marked by a leading space."""
    stored: dict[str, list[str]] = {}
    for form, codes in sorted(table.items()):
        if len(codes) == 1:
            stored.setdefault(next(iter(codes)), []).append(form)
        else:
            stored[f" {form}"] = sorted(codes)
    return stored


def _loaded(
    stored: dict[str, list[str]], alone: dict[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for key, values in stored.items():
        if key.startswith(" "):
            table[key[1:]] = frozenset(values)
        else:
            table.update(dict.fromkeys(values, alone[key]))
    return table


def _translated_names(alone: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    current, _ = _country_index()
    names = [
        (
            c.alpha_2,
            {getattr(c, a) for a in ("name", "official_name", "common_name") if hasattr(c, a)},
        )
        for c in pycountry.countries
    ]
    said: Counter[tuple[str, str]] = Counter()  # (form, code) -> languages that say so
    forms: dict[str, tuple[str, ...]] = {}  # languages share many translations: each read once
    for catalogue in translation_files():
        with catalogue.open("rb") as file:
            text = gettext.GNUTranslations(file)
        here: set[tuple[str, str]] = set()
        for code, english in names:
            for name in english:
                if (translated := text.gettext(name)) == name:
                    continue
                if translated not in forms:
                    found = _name_forms(translated)
                    forms[translated] = tuple(f for f in found if f and f not in current)
                here.update((form, code) for form in forms[translated])
        said.update(here)
    votes: dict[str, list[tuple[int, str]]] = {}
    for (form, code), count in said.items():
        votes.setdefault(form, []).append((count, code))
    return {form: _verdict(counted, alone) for form, counted in votes.items()}


def _verdict(votes: list[tuple[int, str]], alone: dict[str, frozenset[str]]) -> frozenset[str]:
    """The codes a translated name means: the one most languages say, unless another is said
    by two languages or more (then the name is ambiguous between them)."""
    ranked = sorted(votes, reverse=True)
    said = [code for count, code in ranked if count > 1] or [code for _, code in ranked]
    return alone[said[0]] if len(said) == 1 else frozenset(said)


def country_of(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code ``text`` names (a code, or a name in any language pycountry
    knows), or None when it names none or several: for ``init``'s value sniffing."""
    return resolve_country(text)[0]


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country is not None else code


@lru_cache(maxsize=4096)
def resolve_country(text: str) -> tuple[str | None, str | None]:
    """(alpha-2 code, None), or (None, why not and what to write)."""
    current, historic = _country_index()
    folded = _fold(text)
    tries = [folded, _fold(re.sub(r"\([^)]*\)", "", text))]
    tries += [re.sub(r" islands?$", "", t) for t in tries]
    for form in tries:
        if found := _decided(text, current.get(form)):
            return found
        if form in historic:
            return None, _historic_message(text, historic[form])
    for form in tries:  # read only for a name that is no English one
        if found := _decided(text, translated_names().get(form)):
            return found
    close = difflib.get_close_matches(folded, [k for k in current if len(k) > 3], n=1, cutoff=0.8)
    hint = ""
    if close:
        code = next(iter(current[close[0]]))
        hint = f" (did you mean {_country_name(code)}, {code}?)"
    return None, (
        f"'{text}' is not a country name or ISO code{hint}: "
        "write the two-letter ISO 3166-1 code, like US or DE"
    )


def _decided(text: str, codes: Collection[str] | None) -> tuple[str | None, str | None] | None:
    """The answer for a name that means ``codes``: the code, or which ones it could be."""
    if not codes:
        return None
    if len(codes) == 1:
        return next(iter(codes)), None
    choices = " or ".join(f"{c} ({_country_name(c)})" for c in sorted(codes))
    return None, f"'{text}' could be {choices}: write the two-letter code you mean"


def _historic_message(text: str, country: Any) -> str:
    year = country.withdrawal_date[:4]
    successors = SUCCESSORS.get(country.alpha_4, "").split()
    if not successors and pycountry.countries.get(alpha_2=country.alpha_4[2:]) is not None:
        successors = [country.alpha_4[2:]]
    said = f"'{text}' no longer exists (ISO 3166 withdrew it in {year})"
    if not successors:
        return f"{said}: write the two-letter code of the country the address is in today"
    if len(successors) == 1:
        name = _country_name(successors[0])
        return f"{said}: its territory is now {name}; write {successors[0]}"
    return (
        f"{said}: its territory is now {', '.join(successors[:-1])} or {successors[-1]}; "
        "write the code of the one the address is in"
    )
