"""The ``transform`` steps a mapping can name, each over a whole column."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from importer.core.codes import COUNTRY, DATE
from importer.customer.countries import resolve_country
from importer.customer.names import split_full_name
from importer.customer.phones import row_regions, write_e164
from importer.customer.values import DATE_FORMATS, DISPLAY_NAME, EMAIL_WRAPPERS
from importer.mapping.apply import ENUM_CHOICES, Run, Step
from importer.mapping.columns import from_arrow, replace_aliases, spread, to_arrow
from importer.mapping.spec import Value

Transform = Callable[[pd.Series, Step], pd.Series]


def _keep(cells: pd.Series, step: Step) -> pd.Series:
    """``strip`` runs on every cell when it is read; naming it in a mapping is allowed."""
    return cells


def _collapse_spaces(cells: pd.Series, step: Step) -> pd.Series:
    return cells.str.replace(r"\s+", " ", regex=True)


def _email_address(cells: pd.Series, step: Step) -> pd.Series:
    """The address inside a display-name form or a link; other values as they are."""
    text = to_arrow(cells)
    for pattern, replacement in EMAIL_WRAPPERS:
        text = pc.replace_substring_regex(text, pattern, replacement)
    return from_arrow(text, cells.index)


def _display_name(cells: pd.Series, step: Step) -> pd.Series:
    """The name before the address of ``Ada Lovelace <ada@example.com>`` (its quotes off);
    absent for a bare address."""
    text = to_arrow(cells)
    found = pc.extract_regex(text, DISPLAY_NAME).field("name")
    found = pc.utf8_trim_whitespace(found)
    return from_arrow(pc.if_else(pc.equal(found, ""), pa.scalar(None, found.type), found),
                      cells.index)  # fmt: skip


def _country_code(cells: pd.Series, step: Step) -> pd.Series:
    codes, uniques = pd.factorize(cells)
    found = [resolve_country(u) for u in uniques]
    result = spread(
        [code or u for u, (code, _) in zip(uniques, found, strict=True)], codes, cells.index
    )
    failed = np.array([code is None for code, _ in found] + [False])[codes]
    if failed.any():
        messages = np.array([problem for _, problem in found] + [None], dtype=object)
        step.run.add_issues(cells[failed], step, COUNTRY, messages[codes[failed]])
    return result


def _date(cells: pd.Series, step: Step) -> pd.Series:
    formats = step.value.formats
    codes, uniques = pd.factorize(cells)
    if not len(uniques):
        return cells
    texts = pd.Series(uniques, dtype=object)
    read = pd.Series(iso_dates(list(texts), formats), dtype=object)
    unread = read.isna()
    result = spread(list(read.where(~unread, texts)), codes, cells.index)
    failed = np.append(unread.to_numpy(), False)[codes]
    if failed.any():
        examples = " or ".join(dt.date(2024, 1, 31).strftime(f) for f in formats)
        how = _date_hint(guess_date_formats(texts[unread]), formats, some_read=not unread.all())
        message = f"not a date written like {examples} (format {' or '.join(formats)}): {how}"
        step.run.add_issues(cells[failed], step, DATE, [message] * int(failed.sum()))
    return result


#: Dates read so far, per list of formats: each text's ISO date, or None when it is none. A file
#: repeats its dates from chunk to chunk, so each is parsed once; at most _DATES_KEPT are kept.
_DATES_READ: dict[tuple[str, ...], dict[str, str | None]] = {}
_DATES_KEPT = 1 << 17


def iso_dates(texts: list[str], formats: tuple[str, ...]) -> list[str | None]:
    """Each text as ``YYYY-MM-DD`` read by the first of ``formats`` that fits, or None.

    The answer is built from a copy of what was known, so another thread (the review page
    checks while it previews) clearing the memory cannot take a date away mid-way."""
    known = _DATES_READ.setdefault(formats, {})
    if len(known) > _DATES_KEPT:
        known.clear()
    found: dict[str, str | None] = {}
    unread = []
    for text in dict.fromkeys(texts):
        try:
            found[text] = known[text]
        except KeyError:
            unread.append(text)
    new = pd.Series(unread, dtype=object)
    if unread:
        parsed = pd.to_datetime(new, format=formats[0], errors="coerce")
        for fmt in formats[1:]:
            parsed = parsed.fillna(pd.to_datetime(new, format=fmt, errors="coerce"))
        iso = parsed.dt.strftime("%Y-%m-%d").astype(object).where(parsed.notna(), None)
        read = dict(zip(new, iso, strict=True))
        known.update(read)
        found.update(read)
    return [found[t] for t in texts]


def guess_date_formats(texts: pd.Series) -> list[str]:
    """The common formats, date-times included, that read every one of ``texts``: a hint for a
    wrong ``format:``.

    Day-first and month-first both fit when no day is above 12; then both are named.
    """
    sample = texts.head(1000).astype(object)
    return [
        fmt
        for fmt in DATE_FORMATS
        if pd.to_datetime(sample, format=fmt, errors="coerce").notna().all()
    ]


def _date_hint(fits: list[str], formats: tuple[str, ...], *, some_read: bool) -> str:
    """How to read the dates that failed: their format in place of the mapping's, or beside it
    when the mapping's read other cells (a sheet writes a date-time cell at midnight as a date)."""
    if not fits:
        return "fix the date, or change format: in the mapping"
    found = f"these dates read as {' or '.join(fits)}"
    if not some_read:
        return f'{found}: set format: "{fits[0]}" in the mapping'
    both = ", ".join(f'"{f}"' for f in (*formats, fits[0]))
    return f"{found}: add it to the mapping's formats, format: [{both}]"


def _e164(cells: pd.Series, step: Step) -> pd.Series:
    """Phone numbers as +4930123456, read in the row's country or the configured region; one
    that cannot be read is left as written (the validator says why)."""
    configured = step.value.region or step.run.phone_region
    regions = row_regions(step.run.country, configured, cells.index)
    return write_e164(cells, regions).fillna(cells)


def _split_name(cells: pd.Series, step: Step) -> pd.Series:
    """The field's part of each full name, parsed once per distinct name of the chunk (the
    other part's field finds it in the run's memo)."""
    codes, uniques = pd.factorize(cells)
    memo = step.run.names
    part = 0 if step.path == "firstName" else 1
    found = [(memo.get(u) or memo.setdefault(u, split_full_name(u)))[part] for u in uniques]
    return spread(found, codes, cells.index)


TRANSFORMS: dict[str, Transform] = {
    "strip": _keep,
    "lower": lambda cells, step: cells.str.lower(),
    "upper": lambda cells, step: cells.str.upper(),
    "title": lambda cells, step: cells.str.title(),
    "collapse_spaces": _collapse_spaces,
    "email_address": _email_address,
    "display_name": _display_name,
    "country_code": _country_code,
    "date": _date,
    "split_name": _split_name,
    "e164": _e164,
}
#: Transforms that only make sense on some fields.
ONLY_ON = {"split_name": ("firstName", "lastName"), "e164": ("phone", "phones"),
           "email_address": ("emails",), "display_name": ("firstName", "lastName")}  # fmt: skip
#: Transforms that give the full name ``split_name`` cuts: ``name:`` runs them before it.
BEFORE_SPLIT = ("display_name",)


def clean(run: Run, cells: pd.Series, value: Value, path: str) -> pd.Series:
    """``map`` then the transforms, in order; an enum field's known values in lower case,
    as Help Scout wants them ("Male" is sent as "male"; unknown ones stay for the validator)."""
    if value.aliases:
        cells = replace_aliases(cells, value.aliases)
    for name in value.transforms:
        cells = TRANSFORMS[name](cells, Step(value, path, run))
    if choices := ENUM_CHOICES.get(path):
        lowered = cells.str.lower()
        cells = cells.where(~lowered.isin(choices), lowered)
    return cells
