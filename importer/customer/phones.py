"""Phone numbers judged and written by Google's libphonenumber (the ``phonenumbers`` package).

A number in international form (``+49 30 1234567``) says its country itself. A national one
(``030 1234567``) is read in a region: the row's country, else the mapping's ``region:`` or
``phone_region:``; with neither setting, a national number is not judged here (a US customer
may well give a UK mobile, ``07700 900123``), only by the validator's looser checks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, ValidationResult

from importer.core.arrow import ascii_digits, offsets_and_bytes
from importer.customer.schema import ALPHA2, PHONE_MANGLED

__all__ = [
    "e164",
    "each_number",
    "phone_problem",
    "plainly_possible",
    "row_regions",
    "write_e164",
]

_TOO = {
    ValidationResult.TOO_SHORT: "too few digits",
    ValidationResult.TOO_LONG: "too many digits",
    ValidationResult.INVALID_LENGTH: "a number of digits no number has",
}
_NO_COUNTRY = "its country calling code (after the +) exists nowhere"
_UNREADABLE = {
    NumberParseException.INVALID_COUNTRY_CODE: _NO_COUNTRY,
    NumberParseException.NOT_A_NUMBER: "it does not read as a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too few digits after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too few digits",
    NumberParseException.TOO_LONG: "too many digits",
}


def _parse(value: str, region: str | None) -> phonenumbers.PhoneNumber | str | None:
    """The number, or why it cannot be one; None when there is nothing to judge it by."""
    if region is None and not value.lstrip().startswith("+"):
        return None
    try:
        return phonenumbers.parse(value, region)
    except NumberParseException as exc:
        return _UNREADABLE.get(exc.error_type, str(exc))


def _where(number: phonenumbers.PhoneNumber) -> str:
    code = number.country_code or 0
    region = phonenumbers.region_code_for_country_code(code)
    named = f"{region}, " if region not in ("ZZ", "001") else ""
    return f"({named}+{code})"


@lru_cache(maxsize=65536)
def phone_problem(value: str, region: str | None = None) -> str | None:
    """Why libphonenumber calls ``value`` impossible, read in ``region`` (alpha-2) when it is
    national; None when it is possible, or national with no region to read it in."""
    number = _parse(value, region)
    if number is None:
        return None
    if isinstance(number, str):
        how = f" read in {region}" if region and not value.lstrip().startswith("+") else ""
        return f"not a possible phone number{how}: {number}"
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return None
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        return f"not a possible phone number: {_NO_COUNTRY}"
    return (
        f"not a possible phone number {_where(number)}: {_TOO.get(reason, 'impossible')}; "
        "check the digits, or write it in international form (+ and the country code)"
    )


@lru_cache(maxsize=65536)
def e164(value: str, region: str | None = None) -> str | None:
    """``value`` as ``+4930123456`` (an extension kept after `` ext. ``); None when it is not a
    possible number, or national with no region to read it in."""
    number = _parse(value, region)
    if number is None or isinstance(number, str) or not phonenumbers.is_possible_number(number):
        return None
    written = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return f"{written} ext. {number.extension}" if number.extension else written


def row_regions(
    country: pd.Series | None, configured: str | None, index: pd.Index
) -> pd.Series | None:
    """Where each row's national numbers are read: the row's country (when it is a valid
    code), else ``configured`` (``region:``, ``phone_region:``); None when none is configured."""
    if configured is None:
        return None
    if country is None:
        return pd.Series(configured, index=index, dtype=object)
    return country.astype(object).where(country.isin(ALPHA2).to_numpy(), configured)


def each_number(
    values: pd.Series, regions: pd.Series | None, judge: Callable[[str, str | None], object]
) -> np.ndarray:
    """``judge(value, region)`` of each present value (None for absent ones), called once per
    distinct pair: exports repeat numbers, and libphonenumber takes ~30 µs a number."""
    present = values.notna().to_numpy()
    out = np.full(len(values), None, dtype=object)
    if not present.any():
        return out
    if regions is None:
        codes, uniques = pd.factorize(values[present])
        results = [judge(value, None) for value in uniques]
    else:
        pairs = pd.MultiIndex.from_arrays([values[present], regions[present].fillna("")])
        codes, uniques = pd.factorize(pairs)
        results = [judge(value, region or None) for value, region in uniques]
    out[present] = np.array(results, dtype=object)[codes]
    return out


_ZERO = ord("0")
#: An international number of digits and plain separators only (no extension, no letters).
_PLAIN_INTERNATIONAL = r"^\s*\+[0-9][0-9 ().\-/]*$"


@cache
def _calling_code(code: int) -> tuple[list[int], str | None] | None:
    """(the national lengths libphonenumber calls possible, the start its parser would strip as
    a national prefix) of a country calling code, from its own metadata; None for no such code.
    Read per code a file has (reading all 215 cost 0.1 s at start-up)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    meta = regions and PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
    if not meta or meta.general_desc is None:
        return None
    desc = meta.general_desc
    lengths = [
        n
        for n in (*(desc.possible_length or ()), *(desc.possible_length_local_only or ()))
        if n > 0
    ]
    return lengths, meta.national_prefix_for_parsing


def write_e164(values: pd.Series, regions: pd.Series | None) -> pd.Series:
    """:func:`e164` of each value, the plainly possible ones straight in C++ (``+`` and their
    digits is what libphonenumber writes for them); None where it cannot be written, and for
    what a spreadsheet left of a number (``-5361``, ``4.9E+12``: the validator names those)."""
    plain = plainly_possible(values)
    text = pa.array(values.array, type=pa.large_string())
    mangled = pc.fill_null(pc.match_substring_regex(text, f"^(?:{PHONE_MANGLED})$"), False)
    asked = ~plain & ~mangled.to_numpy(zero_copy_only=False)
    written = pd.Series(each_number(values.where(asked), regions, e164), values.index)
    digits = "+" + values[plain].str.replace(r"[^0-9]", "", regex=True)
    return written.astype(values.dtype).mask(plain, digits)


def plainly_possible(values: pd.Series) -> np.ndarray:
    """Where libphonenumber would surely call the number possible, decided in C++ by its own
    rule: a plain international number whose national part has a possible length for its
    calling code and does not start like a national prefix (which its parser may strip). The
    rest is asked of libphonenumber itself, one distinct number at a time."""
    text = pa.array(values.array, type=pa.large_string())
    plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_INTERNATIONAL), False)
    ok = np.zeros(len(values), dtype=bool)
    if not pc.any(plain).as_py():
        return ok
    digits = ascii_digits(pc.if_else(plain, text, None))
    if isinstance(digits, pa.ChunkedArray):
        digits = digits.combine_chunks()
    offsets, data = offsets_and_bytes(digits)  # the digits are ASCII: a byte each
    count = np.where(plain.to_numpy(zero_copy_only=False), np.diff(offsets), 0)
    for width in (1, 2, 3):  # calling codes are prefix-free: at most one width fits
        long = np.flatnonzero(count > width)  # some national part follows the code
        code = np.zeros(len(long), dtype=np.int64)
        for place in range(width):
            code = code * 10 + (data[offsets[long] + place] - _ZERO)
        for found in np.unique(code).tolist():
            known = _calling_code(found) if len(str(found)) == width else None  # not 0-led
            if known is None:
                continue
            lengths, prefix = known
            here = long[(code == found) & np.isin(count[long] - width, lengths)]
            if prefix and len(here):
                national = pc.utf8_slice_codeunits(digits.take(pa.array(here)), width)
                try:
                    starts = pc.match_substring_regex(national, f"^(?:{prefix})")
                except pa.ArrowInvalid:  # a pattern RE2 cannot read: libphonenumber decides
                    continue
                here = here[~starts.to_numpy(zero_copy_only=False)]
            ok[here] = True
    return ok
