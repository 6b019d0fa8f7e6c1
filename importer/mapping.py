"""Mapping files: which CSV column fills which Help Scout customer field, and how it is cleaned.

A mapping is a YAML file (the format is DESIGN.md's; this module accepts all of it)::

    customer:
      firstName: First Name                       # a bare string is a column name
      jobTitle: {column: Title, transform: [title]}
      gender: {column: Sex, map: {M: male, F: female}, default: unknown}
      photoType: {value: unknown}                 # a constant
      emails:                                     # list fields: one entry per column
        - {column: Email, type: work}
        - {column: Other Emails, type: other, separator: ";"}   # several values in one cell
      address:
        lines: [Street, Street 2]
        country: {column: Country, transform: [country_code]}
      properties:                                 # slug: column, or {column, type, format}
        signup-date: {column: Signed Up, type: date, format: "%d/%m/%Y"}
    key: email

What happens to a cell, in order:

1. It is stripped of surrounding white space (``strip`` is always on), and loses the apostrophe
   this tool's own CSV files put before a value starting with = + - @ (so a results file can be
   fixed and fed back); an empty cell is absent, then ``default`` (if any) takes its place as if
   it had been written there.
2. With ``separator``, the cell is cut into several values, each stripped; empty pieces add
   nothing.
3. ``map`` replaces values found among its keys (compared case-insensitively); others pass as
   written.
   A key mapped to nothing (``map: {"-": ~}``) makes that value absent.
4. ``transform`` steps run in the order given:

   ``strip``, ``lower``, ``upper``, ``title``, ``collapse_spaces`` (runs of white space to one
   space);
   ``country_code``: a country name, alpha-2 or alpha-3 code to the ISO 3166-1 alpha-2 code
   ("Germany", "deu", "Côte d'Ivoire", "Korea, Republic of" and former ISO names such as "Swaziland"
   all resolve); a name shared by two countries ("Korea", "Congo") or one ISO 3166-3 withdrew
   ("Netherlands Antilles", "Burma") is left as written with an issue that says what to write;
   ``date``: the text read with ``format`` (a strptime format, or a list tried in order) and
   written as YYYY-MM-DD; a value that does not match is left as written with an issue;
   ``split_name``: a full-name column cut into its first word (``firstName``) and the rest
   (``lastName``); "Last, First" is understood too. The field it is on says which part it takes::

       firstName: {column: Full Name, transform: [split_name]}
       lastName: {column: Full Name, transform: [split_name]}

   ``name: Full Name`` (or ``name: {column: Full Name, transform: [title]}``) is short for that
   pair.

A ``date`` property runs ``date`` last, with its ``format`` (YYYY-MM-DD when none is given).
``map`` results, ``value`` and ``default`` of enum fields (gender, photoType) are checked when the
file is loaded and kept in canonical lower case. Every YAML scalar is read as the text written
(``NO`` stays "NO", ``01234`` stays "01234"): YAML 1.1's booleans and octal numbers never apply.

``key`` says what identifies a row across runs: ``email`` (the default) is the first email the row
has, lower-cased; otherwise a field path (``properties.customer-id``, ``phone``) or the name of a
column the mapping reads (the first field filled from it). An email key is compared lower-cased.

A key given twice at the same level is refused (YAML would silently keep the last one).

Extensions to DESIGN.md's core: ``separator``; ``format`` as a list; ``date`` as a transform on any
field; ``map`` to nothing; the ``name`` shorthand; a constant ``value`` on entries and properties;
a bare string as a property means a text property; ``lines`` and list fields take a single item.

Speed: every step is a pandas or pyarrow operation over a whole column; ``map``,
``country_code`` and ``date`` do their Python work once per distinct value of the chunk.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pycountry
import yaml

from importer import schema
from importer.errors import MappingError
from importer.safecsv import ESCAPED_FORMULA
from importer.source import TEXT

STRING = TEXT
#: The columns of every issues table (validation report, mapping problems).
ISSUE_COLUMNS = ["row", "column", "field", "value", "rule", "severity", "message"]
SPLIT_NAME_FIELDS = ("firstName", "lastName")
_ENUM_CHOICES = {name: spec.choices for name, spec in schema.SCALARS.items() if spec.kind == "enum"}
_VALUE_KEYS = ("column", "value", "transform", "map", "default", "format")
_NULL_TAG = "tag:yaml.org,2002:null"


#: The shared "no issues" answer (read-only): building an empty frame takes about a millisecond.
NO_ISSUES = pd.DataFrame(
    {c: pd.Series(dtype="int64" if c == "row" else STRING) for c in ISSUE_COLUMNS}
)


def issue_table(
    rows: object,
    column: str,
    field: str,
    values: object,
    rule: str,
    severity: str,
    messages: str | Iterable[str],
) -> pd.DataFrame:
    """One issue per row: the same column, field, rule and severity; a value and message each
    (one message may stand for all). The one builder of issues, for the mapping and validator."""
    n = len(rows)  # type: ignore[arg-type]
    messages = [messages] * n if isinstance(messages, str) else list(messages)
    return pd.DataFrame(
        {
            "row": np.asarray(rows, dtype="int64"),
            "column": pd.array([column] * n, dtype=STRING),
            "field": pd.array([field] * n, dtype=STRING),
            "value": pd.array(np.asarray(values, dtype=object), dtype=STRING),
            "rule": pd.array([rule] * n, dtype=STRING),
            "severity": pd.array([severity] * n, dtype=STRING),
            "message": pd.array(messages, dtype=STRING),
        }
    )


# --- the compiled mapping ------------------------------------------------------------------------
@dataclass(frozen=True)
class Value:
    """Where one field's text comes from and how it is cleaned (see the module docstring)."""

    column: str | None
    constant: str | None
    transforms: tuple[str, ...]
    aliases: dict[str, str | None]
    default: str | None
    formats: tuple[str, ...]
    line: int
    """The YAML line of the column's name (of the field, for a constant): for bind()'s errors."""

    @property
    def source(self) -> str:
        return self.column or ""


@dataclass(frozen=True)
class Target:
    """One field the mapping fills: a single path, or one entry of a list field."""

    field: str
    """A field path (``firstName``, ``properties.plan``) or a list (``emails``)."""
    value: Value
    entry: bool = False
    entry_type: str | None = None
    separator: str | None = None


@dataclass(frozen=True)
class Property:
    """A customer property the mapping fills; ``format``: the input date format(s), for messages."""

    slug: str
    type: str
    format: str | None
    column: str


@dataclass
class Mapping:
    """A checked mapping file, ready to turn chunks of CSV rows into Help Scout payloads."""

    path: str
    targets: tuple[Target, ...]
    properties: dict[str, Property]
    key: str
    key_field: str | None
    """The field path the key is read from (for reports); None when the mapping has no emails."""
    key_name: str
    sources: dict[str, str] = field(default_factory=dict)
    """Field path -> CSV column ("" for constants). Separator lists add paths per chunk: after
    :meth:`apply` it describes the chunk just mapped."""

    def __post_init__(self) -> None:
        self.sources = self._static_sources()

    # --- against the CSV ---
    def bind(self, columns: list[str]) -> None:
        """Check that every column the mapping reads is in the CSV's header."""
        present = set(columns)
        for value in sorted((t.value for t in self.targets), key=lambda v: v.line):
            if value.column is not None and value.column not in present:
                raise MappingError(
                    f"column '{value.column}' is not in the CSV file"
                    f"{_did_you_mean_column(value.column, columns)}; its columns are: "
                    f"{_list_columns(columns)}",
                    path=self.path,
                    line=value.line,
                )

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Map one chunk: (one column per payload field path, issues transforms ran into)."""
        self.bind(list(frame.columns))
        run = _Run(frame)
        out: dict[str, pd.Series] = {}
        sources = self._static_sources()
        counts: dict[str, int] = {}
        for target in self.targets:
            base = run.read(target.value)
            if not target.entry:
                out[target.field] = run.clean(base, target.value, target.field)
                continue
            pieces = _split(base, target.separator) if target.separator else [base]
            for piece in pieces:
                if target.separator and not piece.notna().any():
                    continue
                position = counts.get(target.field, 0)
                counts[target.field] = position + 1
                path = _entry_path(target.field, position)
                values = run.clean(piece, target.value, path)
                out[path] = values
                sources[path] = target.value.source
                if target.entry_type is not None:
                    type_path = f"{target.field}.{position}.type"
                    kinds = pd.Series(target.entry_type, index=frame.index, dtype=STRING)
                    out[type_path] = kinds.where(values.notna())
                    sources[type_path] = ""
        self.sources = sources
        mapped = pd.DataFrame(out, index=frame.index)
        mapped.index.name = "row"
        return mapped, run.issue_frame()

    # --- identity ---
    def key_of(self, mapped: pd.DataFrame) -> pd.Series:
        """Each row's identity across runs (NA when the row has none)."""
        if self.key_field is None:
            return pd.Series(pd.NA, index=mapped.index, dtype=STRING)
        if self.key == "email":
            columns = [c for c in mapped.columns if re.fullmatch(r"emails\.\d+\.value", c)]
        else:
            columns = [self.key_field]
        key = pd.Series(pd.NA, index=mapped.index, dtype=STRING)
        for column in columns:
            key = key.fillna(mapped[column]) if column in mapped else key
        return key.str.lower() if _is_email_path(self.key_field) else key

    # --- payloads ---
    def payloads(self, mapped: pd.DataFrame) -> Iterator[tuple[int, dict]]:
        """The JSON bodies to POST to /v2/customers, row by row; absent fields are left out."""
        build = _PayloadPlan(list(mapped.columns), self.properties)
        # pandas-stubs do not list na_value=None, which pandas takes (absent -> None)
        columns = [mapped[c].to_numpy(dtype=object, na_value=None) for c in mapped.columns]  # type: ignore[call-overload]
        for row, *cells in zip(mapped.index.tolist(), *columns, strict=True):
            yield row, build(cells)

    def _static_sources(self) -> dict[str, str]:
        sources: dict[str, str] = {}
        counts: dict[str, int] = {}
        for target in self.targets:
            if not target.entry:
                sources[target.field] = target.value.source
            elif not target.separator:
                position = counts.get(target.field, 0)
                counts[target.field] = position + 1
                sources[_entry_path(target.field, position)] = target.value.source
                if target.entry_type is not None:
                    sources[f"{target.field}.{position}.type"] = ""
        return sources


def _entry_path(list_field: str, position: int) -> str:
    return (
        f"{list_field}.{position}"
        if list_field == "address.lines"
        else f"{list_field}.{position}.value"
    )


def _is_email_path(path: str | None) -> bool:
    return path is not None and path.startswith("emails.")


# --- applying a mapping to a chunk ---------------------------------------------------------------
class _Run:
    """One :meth:`Mapping.apply`: the chunk, stripped columns shared by fields, issues found."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cells: dict[str, pd.Series] = {}
        self.issues: list[pd.DataFrame] = []

    def read(self, value: Value) -> pd.Series:
        """The stripped cells (absent when empty), with the default in place of absent ones."""
        if value.column is None:
            cells = pd.Series(value.constant, index=self.frame.index, dtype=STRING)
        else:
            if value.column not in self._cells:
                self._cells[value.column] = _read_cells(self.frame[value.column])
            cells = self._cells[value.column]
        return cells if value.default is None else cells.fillna(value.default)

    def clean(self, cells: pd.Series, value: Value, path: str) -> pd.Series:
        """``map`` then the transforms, in order; an enum field's known values in lower case,
        as Help Scout wants them ("Male" is sent as "male"; unknown ones stay for the validator)."""
        if value.aliases:
            cells = _replace_aliases(cells, value.aliases)
        for name in value.transforms:
            cells = TRANSFORMS[name](cells, _Step(value, path, self))
        if choices := _ENUM_CHOICES.get(path):
            lowered = cells.str.lower()
            cells = cells.where(~lowered.isin(choices), lowered)
        return cells

    def add_issues(self, bad: pd.Series, step: _Step, rule: str, messages: Iterable[str]) -> None:
        """Record one issue per value of ``bad`` (a subset of a mapped column)."""
        self.issues.append(
            issue_table(bad.index, step.value.source, step.path, bad.array, rule, "error", messages)
        )

    def issue_frame(self) -> pd.DataFrame:
        return pd.concat(self.issues, ignore_index=True) if self.issues else NO_ISSUES


@dataclass(frozen=True)
class _Step:
    """What a transform needs besides the values: its field's spec, path, and where issues go."""

    value: Value
    path: str
    run: _Run


def _read_cells(column: pd.Series) -> pd.Series:
    """A CSV column as fields see it: stripped, without our formula guard, empty as absent.

    Straight in pyarrow: this runs on every mapped column of every row, the stage's hot spot.
    """
    text = pc.utf8_trim_whitespace(_to_arrow(column.astype(STRING)))
    if pc.any(pc.starts_with(text, "'")).as_py():
        text = pc.replace_substring_regex(text, ESCAPED_FORMULA, r"\1")
    absent = pa.scalar(None, text.type)
    return _from_arrow(pc.if_else(pc.equal(text, ""), absent, text), column.index)


def _absent_if_empty(cells: pd.Series) -> pd.Series:
    return cells.mask(cells == "")


def _to_arrow(cells: pd.Series) -> pa.Array:
    return pa.array(cells.array)


def _from_arrow(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(array, dtype=STRING), index=index)


def _list_item(lists: pa.Array, position: int) -> pa.Array:
    """Item ``position`` of each list (null where the list is shorter or null), without a loop."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy()
    starts = lists.offsets.to_numpy()[:-1]
    return lists.values.take(pa.array(starts + position, mask=lengths <= position))


def _split(cells: pd.Series, separator: str) -> list[pd.Series]:
    """One stripped column per position of a ``separator``-joined cell (as many as the longest)."""
    lists = pc.split_pattern(_to_arrow(cells), separator)
    longest = pc.max(pc.list_value_length(lists)).as_py() or 0
    return [
        _absent_if_empty(_from_arrow(_list_item(lists, i), cells.index).str.strip())
        for i in range(longest)
    ]


def _spread(results: Sequence[str | None], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Per-distinct results (from ``pd.factorize``'s uniques) back on every row, in C++."""
    taken = pa.array(results, type=pa.large_string()).take(pa.array(codes, mask=codes < 0))
    return _from_arrow(taken, index)


def _replace_aliases(cells: pd.Series, aliases: dict[str, str | None]) -> pd.Series:
    lowered = cells.str.lower()
    hit = lowered.isin(list(aliases))
    if not hit.any():
        return cells
    codes, uniques = pd.factorize(lowered[hit])
    return cells.mask(hit, _spread([aliases[u] for u in uniques], codes, lowered[hit].index))


# --- transforms ----------------------------------------------------------------------------------
Transform = Callable[[pd.Series, _Step], pd.Series]


def _keep(cells: pd.Series, step: _Step) -> pd.Series:
    """``strip`` runs on every cell when it is read; naming it in a mapping is allowed."""
    return cells


def _collapse_spaces(cells: pd.Series, step: _Step) -> pd.Series:
    return cells.str.replace(r"\s+", " ", regex=True)


def _country_code(cells: pd.Series, step: _Step) -> pd.Series:
    codes, uniques = pd.factorize(cells)
    found = [resolve_country(u) for u in uniques]
    result = _spread(
        [code or u for u, (code, _) in zip(uniques, found, strict=True)], codes, cells.index
    )
    failed = np.array([code is None for code, _ in found] + [False])[codes]
    if failed.any():
        messages = np.array([problem for _, problem in found] + [None], dtype=object)
        step.run.add_issues(cells[failed], step, "country", messages[codes[failed]])
    return result


def _date(cells: pd.Series, step: _Step) -> pd.Series:
    formats = step.value.formats
    codes, uniques = pd.factorize(cells)
    if not len(uniques):
        return cells
    texts = pd.Series(uniques, dtype=object)
    parsed = pd.to_datetime(texts, format=formats[0], errors="coerce")
    for fmt in formats[1:]:
        parsed = parsed.fillna(pd.to_datetime(texts, format=fmt, errors="coerce"))
    iso = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), texts)
    result = _spread(list(iso), codes, cells.index)
    failed = np.append(parsed.isna().to_numpy(), False)[codes]
    if failed.any():
        examples = " or ".join(dt.date(2024, 1, 31).strftime(f) for f in formats)
        fits = guess_date_formats(texts[parsed.isna()])
        how = (
            f'these dates read as {" or ".join(fits)}: set format: "{fits[0]}" in the mapping'
            if fits
            else "fix the date, or change format: in the mapping"
        )
        message = f"not a date written like {examples} (format {' or '.join(formats)}): {how}"
        step.run.add_issues(cells[failed], step, "date", [message] * int(failed.sum()))
    return result


COMMON_DATE_FORMATS = (
    "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d",
    "%d/%m/%y", "%m/%d/%y", "%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%Y%m%d",
)  # fmt: skip


def guess_date_formats(texts: pd.Series) -> list[str]:
    """The common formats that read every one of ``texts``: a hint for a wrong ``format:``.

    Day-first and month-first both fit when no day is above 12; then both are named.
    """
    sample = texts.head(1000).astype(object)
    return [
        fmt
        for fmt in COMMON_DATE_FORMATS
        if pd.to_datetime(sample, format=fmt, errors="coerce").notna().all()
    ]


def _split_name(cells: pd.Series, step: _Step) -> pd.Series:
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(_to_arrow(cells), r"\s+", " "))
    has_comma = pc.fill_null(pc.match_substring(text, ","), False)
    by_comma = pc.split_pattern(text, ",", max_splits=1)  # "Last, First"
    by_space = pc.split_pattern(text, " ", max_splits=1)  # "First Rest of the name"
    first = step.path == "firstName"
    part = pc.if_else(
        has_comma, _list_item(by_comma, 1 if first else 0), _list_item(by_space, 0 if first else 1)
    )
    return _absent_if_empty(_from_arrow(part, cells.index).str.strip())


TRANSFORMS: dict[str, Transform] = {
    "strip": _keep,
    "lower": lambda cells, step: cells.str.lower(),
    "upper": lambda cells, step: cells.str.upper(),
    "title": lambda cells, step: cells.str.title(),
    "collapse_spaces": _collapse_spaces,
    "country_code": _country_code,
    "date": _date,
    "split_name": _split_name,
}


# --- countries -----------------------------------------------------------------------------------
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


# --- payloads ------------------------------------------------------------------------------------
_CONVERT: dict[str, Callable[[str], object]] = {
    "number": schema.parse_int,
    "bool": schema.parse_bool,
}


class _PayloadPlan:
    """Where each mapped column goes in the payload, worked out once per call to payloads()."""

    def __init__(self, columns: list[str], properties: dict[str, Property]) -> None:
        self.scalars: list[tuple[str, int]] = []
        self.entries: dict[str, list[tuple[int, int, int | None]]] = {}
        self.lines: list[tuple[int, int]] = []
        self.address: list[tuple[str, int]] = []
        self.properties: list[tuple[str, int, Callable[[str], object] | None]] = []
        types = {c: i for i, c in enumerate(columns) if c.endswith(".type")}
        for i, column in enumerate(columns):
            top, _, rest = column.partition(".")
            if top in schema.SCALARS:
                self.scalars.append((column, i))
            elif top in schema.ENTRIES and rest.endswith(".value"):
                position = int(rest.split(".")[0])
                kind = types.get(f"{top}.{position}.type")
                self.entries.setdefault(top, []).append((position, i, kind))
            elif column.startswith("address.lines."):
                self.lines.append((int(column.rsplit(".", 1)[1]), i))
            elif top == "address":
                self.address.append((rest, i))
            elif top == "properties":
                prop = properties.get(rest)
                self.properties.append((rest, i, _CONVERT.get(prop.type) if prop else None))
        for items in self.entries.values():
            items.sort()
        self.lines.sort()

    def __call__(self, cells: list[object]) -> dict:
        payload: dict = {}
        for name, i in self.scalars:
            if cells[i] is not None:
                payload[name] = cells[i]
        for name, items in self.entries.items():
            found = [
                {"type": cells[t], "value": cells[v]} if t is not None else {"value": cells[v]}
                for _, v, t in items
                if cells[v] is not None
            ]
            if found:
                payload[name] = found
        address: dict = {}
        lines = [cells[i] for _, i in self.lines if cells[i] is not None]
        if lines:
            address["lines"] = lines
        for name, i in self.address:
            if cells[i] is not None:
                address[name] = cells[i]
        if address:
            payload["address"] = address
        props = {}
        for slug, i, convert in self.properties:
            text = cells[i]
            if text is not None:
                converted = convert(str(text)) if convert else text
                props[slug] = text if converted is None else converted
        if props:
            payload["properties"] = props
        return payload


# --- loading and checking the YAML ---------------------------------------------------------------
def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file alone (the CSV is checked later, by :meth:`Mapping.bind`)."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"cannot read the mapping file: {exc}", path=where) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise MappingError(
            f"not valid YAML: {exc.problem or exc.context} (check the indentation and quotes)",
            path=where,
            line=mark.line + 1 if mark else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"not valid YAML: {exc}", path=where) from exc
    return _Reader(where).mapping(root)


class _Reader:
    """Turns the YAML node tree into a :class:`Mapping`, naming the line of anything wrong."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.properties_found: dict[str, Property] = {}

    def fail(self, message: str, node: yaml.Node) -> MappingError:
        return MappingError(message, path=self.path, line=node.start_mark.line + 1)

    # --- YAML shapes ---
    def items(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """A YAML mapping's (key, key node, value node), refusing repeated keys."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(f"{what} must be a mapping of names to values (name: value)", node)
        seen: dict[str, yaml.Node] = {}
        found = []
        for key_node, value_node in node.value:
            key = self.text(key_node, "a name")
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise self.fail(
                    f"'{key}' is given twice (first on line {first}): keep one", key_node
                )
            seen[key] = key_node
            found.append((key, key_node, value_node))
        return found

    def text(self, node: yaml.Node, what: str) -> str:
        """A scalar as written (YAML 1.1's yes/no/octal never apply); null or empty refused."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(f"expected {what} here, not a list or mapping", node)
        if _is_empty(node):
            raise self.fail(f"{what} is missing here", node)
        return node.value

    def texts(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        """A scalar or a list of scalars."""
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        return [(self.text(n, what), n) for n in nodes]

    # --- the file ---
    def mapping(self, root: yaml.Node | None) -> Mapping:
        if root is None:
            raise MappingError(
                "the mapping file is empty: it needs a customer: section", path=self.path
            )
        if not isinstance(root, yaml.MappingNode):
            raise self.fail(
                "the mapping file must be a YAML mapping with a customer: section", root
            )
        sections = {}
        for name, key_node, value_node in self.items(root, "the mapping file"):
            if name not in ("customer", "key"):
                hint = _did_you_mean(name, ("customer", "key"))
                raise self.fail(f"unknown section '{name}'{hint}: use customer: and key:", key_node)
            sections[name] = value_node
        if "customer" not in sections:
            raise self.fail("no customer: section: it says which column fills which field", root)
        targets = self.customer(sections["customer"])
        mapping = Mapping(self.path, tuple(targets), self.properties_found, "email", None, "email")
        self.key(mapping, sections.get("key"))
        return mapping

    def key(self, mapping: Mapping, node: yaml.Node | None) -> None:
        """Fill in what identifies a row: the first email, a field path, or a column's field."""
        emails = [t for t in mapping.targets if t.field == "emails"]
        if node is None:
            if emails:
                mapping.key_field = "emails.0.value"
            return
        key = self.text(node, "the key (email, a field or a column)")
        if key == "email":
            if not emails:
                raise self.fail(
                    "key: email, but the mapping fills no emails: map an email column", node
                )
            mapping.key_field = "emails.0.value"
            return
        paths = [p for p in mapping.sources if not p.endswith(".type")]
        by_column = [p for p in paths if mapping.sources[p] == key]
        if key in paths:
            mapping.key_field = key
        elif by_column:
            mapping.key_field = by_column[0]
        else:
            raise self.fail(
                f"key '{key}' is neither a field the mapping fills nor a column it reads: "
                f"use email, one of {', '.join(paths)}, or a column mapped to a field "
                "(a text property, for instance)",
                node,
            )
        mapping.key = key
        mapping.key_name = key

    # --- customer: ---
    def customer(self, node: yaml.Node) -> list[Target]:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
            raise self.fail("the customer: section is empty: map at least one field", node)
        targets: list[Target] = []
        names = [name for name, _, _ in self.items(node, "customer:")]
        for name, key_node, value_node in self.items(node, "customer:"):
            if name in schema.SCALARS:
                targets.append(Target(name, self.value(value_node, name)))
            elif name in schema.ENTRIES:
                targets += self.entries(value_node, name, schema.ENTRIES[name].types)
            elif name == "address":
                targets += self.address(value_node)
            elif name == "properties":
                targets += self.properties(value_node)
            elif name == "name":
                twice = [n for n in SPLIT_NAME_FIELDS if n in names]
                if twice:
                    raise self.fail(
                        f"name: fills firstName and lastName; {twice[0]}: too", key_node
                    )
                for part in SPLIT_NAME_FIELDS:
                    value = self.value(value_node, part)
                    if "split_name" not in value.transforms:
                        value = replace(value, transforms=("split_name", *value.transforms))
                    targets.append(Target(part, value))
            else:
                hint = _did_you_mean(name, (*schema.TOP_LEVEL_FIELDS, "name"))
                raise self.fail(
                    f"unknown field '{name}'{hint}; Help Scout customers have: "
                    f"{', '.join(schema.TOP_LEVEL_FIELDS)}",
                    key_node,
                )
        if not targets:
            raise self.fail("the customer: section maps no field: map at least one", node)
        return targets

    def entries(self, node: yaml.Node, name: str, types: tuple[str, ...]) -> list[Target]:
        """A list field: one entry per column (an item holds several values with ``separator``)."""
        extra = ("type", "separator") if types else ("separator",)
        found = []
        for item in node.value if isinstance(node, yaml.SequenceNode) else [node]:
            value, more = self.value_with(item, name, extra)
            entry_type = schema.ENTRIES[name].default_type if name in schema.ENTRIES else None
            if "type" in more:
                entry_type = self.choice(more["type"], types, f"type for {name}").lower()
            separator = None
            if "separator" in more:
                separator = more["separator"].value
                if not separator:
                    raise self.fail("separator must not be empty", more["separator"])
            found.append(Target(name, value, True, entry_type, separator))
        return found

    def address(self, node: yaml.Node) -> list[Target]:
        found = []
        for name, key_node, value_node in self.items(node, "address:"):
            if name == "lines":
                found += self.entries(value_node, "address.lines", ())
            elif name in schema.ADDRESS:
                found.append(Target(f"address.{name}", self.value(value_node, f"address.{name}")))
            else:
                hint = _did_you_mean(name, tuple(schema.ADDRESS))
                raise self.fail(
                    f"unknown address field '{name}'{hint}; an address has: "
                    f"{', '.join(schema.ADDRESS)}",
                    key_node,
                )
        return found

    def properties(self, node: yaml.Node) -> list[Target]:
        found = []
        for slug, _, value_node in self.items(node, "properties:"):
            path = f"properties.{slug}"
            kind = "text"
            type_node = _child(value_node, "type")
            if type_node is not None:
                kind = self.choice(type_node, schema.PROPERTY_TYPES, "property type").lower()
            value, _ = self.value_with(value_node, path, ("type",), date_format=kind == "date")
            if kind == "date" and "date" not in value.transforms:
                formats = value.formats or ("%Y-%m-%d",)
                value = replace(value, transforms=(*value.transforms, "date"), formats=formats)
            found.append(Target(path, value))
            formats_text = " or ".join(value.formats) or None
            self.properties_found[slug] = Property(slug, kind, formats_text, value.source)
        return found

    # --- one field's value ---
    def value(self, node: yaml.Node, path: str) -> Value:
        return self.value_with(node, path, ())[0]

    def value_with(
        self, node: yaml.Node, path: str, extra: tuple[str, ...], *, date_format: bool = False
    ) -> tuple[Value, dict[str, yaml.Node]]:
        """A column name, or ``{column|value, transform, map, default, format}`` and ``extra``."""
        if isinstance(node, yaml.ScalarNode):
            name = self.text(node, f"a column name for {path}")
            return Value(name, None, (), {}, None, (), _line(node)), {}
        allowed = (*_VALUE_KEYS, *extra)
        parts: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, key_node, value_node in self.items(node, path):
            if key not in allowed:
                hint = _did_you_mean(key, allowed)
                raise self.fail(
                    f"unknown setting '{key}' for {path}{hint}; use {', '.join(allowed)}", key_node
                )
            parts[key] = (key_node, value_node)
        if ("column" in parts) == ("value" in parts):
            raise self.fail(
                f"{path} needs either column: (a CSV column) or value: (a constant)", node
            )
        choices = _ENUM_CHOICES.get(path)
        column: str | None = None
        constant: str | None = None
        default: str | None = None
        line = _line(node)
        if "column" in parts:
            column_node = parts["column"][1]
            column = self.text(column_node, f"a column name for {path}")
            line = _line(column_node)
        aliases = self.aliases(parts["map"][1], path, choices) if "map" in parts else {}
        if "value" in parts:
            constant = self.enum_value(parts["value"][1], path, choices, aliases, "value")
        if "default" in parts:
            default = self.enum_value(parts["default"][1], path, choices, aliases, "default")
        transforms = self.transforms(parts["transform"][1], path) if "transform" in parts else ()
        formats: tuple[str, ...] = ()
        if "format" in parts:
            key_node, format_node = parts["format"]
            if not (date_format or "date" in transforms):
                raise self.fail(
                    "format: is only read by the date transform or a date property", key_node
                )
            formats = tuple(
                self.date_format(text, n) for text, n in self.texts(format_node, "a date format")
            )
        elif "date" in transforms:
            raise self.fail(
                f"the date transform needs format: (how {path} is written, "
                'e.g. format: "%d/%m/%Y")',
                parts["transform"][1],
            )
        more = {k: v for k, (_, v) in parts.items() if k in extra}
        return Value(column, constant, transforms, aliases, default, formats, line), more

    def transforms(self, node: yaml.Node, path: str) -> tuple[str, ...]:
        names = []
        for name, item in self.texts(node, "a transform name"):
            if name not in TRANSFORMS:
                hint = _did_you_mean(name, tuple(TRANSFORMS))
                raise self.fail(
                    f"unknown transform '{name}'{hint}; known: {', '.join(TRANSFORMS)}", item
                )
            if name == "split_name" and path not in SPLIT_NAME_FIELDS:
                raise self.fail("split_name only fills firstName and lastName", item)
            names.append(name)
        return tuple(names)

    def aliases(
        self, node: yaml.Node, path: str, choices: tuple[str, ...] | None
    ) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for key, _, value_node in self.items(node, f"map: of {path}"):
            if _is_empty(value_node):
                found[key.lower()] = None
            elif choices:
                found[key.lower()] = self.choice(value_node, choices, path).lower()
            else:
                found[key.lower()] = self.text(value_node, f"the value '{key}' becomes")
        return found

    def enum_value(
        self,
        node: yaml.Node,
        path: str,
        choices: tuple[str, ...] | None,
        aliases: dict[str, str | None],
        what: str,
    ) -> str:
        text = self.text(node, f"the {what} of {path}")
        if not choices:
            return text
        if text.lower() in aliases:
            return text
        return self.choice(node, choices, path).lower()

    def choice(self, node: yaml.Node, choices: tuple[str, ...], what: str) -> str:
        """One of ``choices`` (case-insensitively), or an error listing them."""
        text = self.text(node, what)
        if text.lower() in choices:
            return text
        hint = _did_you_mean(text.lower(), choices)
        raise self.fail(f"'{text}' is not a {what}{hint}; use one of: {', '.join(choices)}", node)

    def date_format(self, text: str, node: yaml.Node) -> str:
        example = dt.datetime(2024, 1, 31, 13, 45).strftime(text)
        try:
            dt.datetime.strptime(example, text)
        except ValueError:
            raise self.fail(
                f"'{text}' is not a usable date format: "
                "write it with strftime codes, e.g. %d/%m/%Y",
                node,
            ) from None
        if text == example:
            raise self.fail(f"'{text}' has no date codes: write it like %d/%m/%Y", node)
        return text


def _is_empty(node: yaml.Node) -> bool:
    """A null (``~``, ``null`` or nothing) or an empty string."""
    if not isinstance(node, yaml.ScalarNode):
        return False
    return (node.tag == _NULL_TAG and node.style is None) or node.value == ""


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    return None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    folded = {c.casefold(): c for c in choices}
    close = [folded[word.casefold()]] if word.casefold() in folded else []
    close = close or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _squash(text: str) -> str:
    return "".join(text.split()).casefold()


def _did_you_mean_column(column: str, columns: list[str]) -> str:
    same = [c for c in columns if _squash(c) == _squash(column)]
    close = same or difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _list_columns(columns: list[str], limit: int = 60) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f" ... and {len(columns) - limit} more" if len(columns) > limit else "")


# --- suggesting a mapping from a CSV's headers ---------------------------------------------------
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
