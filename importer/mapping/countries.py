"""Country names and codes to ISO 3166-1 alpha-2, with a message for what cannot be resolved."""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache, lru_cache
from typing import Any

import pycountry

__all__ = ["COUNTRY_ALIASES", "resolve_country"]

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


def _fold(text: str) -> str:
    """Compare country names without case, accents, punctuation, "the" or "St." spellings."""
    text = unicodedata.normalize("NFKD", text.replace("&", " and "))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
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
        if len(codes := current.get(form, ())) == 1:
            return next(iter(codes)), None
        if codes:
            choices = " or ".join(f"{c} ({_country_name(c)})" for c in sorted(codes))
            return None, f"'{text}' could be {choices}: write the two-letter code you mean"
        if form in historic:
            return None, _historic_message(text, historic[form])
    close = difflib.get_close_matches(folded, [k for k in current if len(k) > 3], n=1, cutoff=0.8)
    hint = ""
    if close:
        code = next(iter(current[close[0]]))
        hint = f" (did you mean {_country_name(code)}, {code}?)"
    return None, (
        f"'{text}' is not a country name or ISO code{hint}: "
        "write the two-letter ISO 3166-1 code, like US or DE"
    )


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
