"""Pre-flight checks: every mapped row against Help Scout's rules, before anything is sent.

The rules come from :mod:`importer.customer.schema`; here they are applied a whole column at a time
with pandas string operations (pyarrow-backed, so the work runs in C++), and only the failing cells
are touched one by one, to write their messages. Duplicate keys are tracked across chunks with
64-bit hashes in sorted numpy arrays, so memory stays small on files of millions of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from importer.core.issues import DROPPED, NO_ISSUES, STRING, combine, issue_table
from importer.customer import schema
from importer.customer.phones import each_number, phone_problem, plainly_possible, row_regions
from importer.customer.values import emails_in, is_phone, is_street
from importer.mapping import Mapping
from importer.read import Chunk, shown_name

ERROR, WARNING = "error", "warning"


def fullmatch(values: pd.Series, pattern: str) -> pd.Series:
    """Where ``values`` match ``pattern`` whole (False for NA), run by RE2 in pyarrow.

    pandas' ``str.fullmatch`` falls back to Python's ``re`` cell by cell for some patterns; calling
    pyarrow directly keeps every rule in C++ and allows RE2-only classes such as ``\\p{L}``.
    """
    return search(values, f"^(?:{pattern})$")


def search(values: pd.Series, pattern: str) -> pd.Series:
    """Where ``pattern`` matches anywhere in ``values`` (False for NA), by RE2 in pyarrow."""
    array = pa.array(values.array, type=pa.large_string())
    hit = pc.match_substring_regex(array, pattern)
    return pd.Series(hit.fill_null(False).to_numpy(zero_copy_only=False), index=values.index)


@dataclass
class CheckedChunk:
    """A chunk after mapping and validation."""

    rows: pd.Index
    """Every data row of the chunk, well-formed or not, in file order."""
    mapped: pd.DataFrame
    """The payload fields of the well-formed rows (enums in canonical lower case)."""
    issues: pd.DataFrame
    """One line per (row, field) problem; columns :data:`ISSUE_COLUMNS`."""
    invalid: pd.Index
    """Rows with at least one error: they will not be sent."""
    keys: pd.Series
    """Each well-formed row's identity across runs (NA when it has none)."""
    apostrophes: int = 0
    """Text apostrophes the mapping removed ('02134 read as 02134)."""

    @property
    def valid_rows(self) -> pd.Index:
        return self.mapped.index.difference(self.invalid)


class Validator:
    """Checks chunk after chunk of one file; remembers keys to find duplicates across chunks."""

    def __init__(self, mapping: Mapping, *, duplicates: str = "error") -> None:
        self.mapping = mapping
        self.duplicates = duplicates
        self._seen = SeenKeys()

    def check(self, chunk: Chunk) -> CheckedChunk:
        mapped, mapping_issues = self.mapping.apply(chunk.frame)
        values = [mapping_issues]
        for path in mapped.columns:
            rule = _rule_for(path, self.mapping)
            if rule is not None:
                values.append(rule(mapped, path, self.mapping.sources.get(path, "")))
        mapped, dropped = drop_invalid(mapped, combine(values), self.mapping.drops)
        found = [dropped, _ragged_issues(chunk), _short_rows(chunk), _stray_values(chunk),
                 _undecodable_rows(chunk)]  # fmt: skip
        found.append(_address_needs_country(mapped, self.mapping))
        found.append(_empty_rows(mapped, self.mapping))
        found.append(_no_identity(mapped))
        keys = self.mapping.key_of(mapped)
        if self.duplicates == "error":
            found.append(self._duplicate_keys(keys))
        issues = blame_columns(combine(found), self.mapping.origins)
        issues = issues.drop_duplicates(["row", "field", "severity"], keep="first")
        issues = issues.sort_values("row", kind="stable", ignore_index=True)
        invalid = pd.Index(issues.loc[issues["severity"] == ERROR, "row"].unique(), name="row")
        rows = mapped.index.append(pd.Index([r.row for r in chunk.ragged], dtype="int64"))
        return CheckedChunk(
            rows.sort_values(), mapped, issues, invalid, keys, self.mapping.apostrophes
        )

    def _duplicate_keys(self, keys: pd.Series) -> pd.DataFrame:
        present = keys.dropna()
        if present.empty:
            return NO_ISSUES
        hashes = hash_keys(present.to_numpy(dtype=object))
        first = self._seen.first_rows(hashes, present.index.to_numpy(dtype="int64"))
        dup = first > 0
        if not dup.any():
            return NO_ISSUES
        rows = present.index[dup]
        values = present[dup]
        field = self.mapping.key_field or ""
        column = self.mapping.sources.get(field, "")
        messages = [
            f"the same {self.mapping.key_name} as row {r}: this row would create a duplicate; "
            "remove or merge it, or run with --duplicates first (or last) to import one of them"
            for r in first[dup]
        ]
        return issue_table(rows, column, field, values, "duplicate_key", ERROR, messages)


def drop_invalid(
    mapped: pd.DataFrame, issues: pd.DataFrame, drops: frozenset[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``on_invalid: drop``: the values of ``drops`` paths that have an error made absent (an
    address part: the whole address, as ``on_incomplete: drop`` does), and their errors turned
    into warnings whose rule ends in ``_dropped``: the row is sent without them."""
    hit = (issues["severity"] == ERROR) & issues["field"].isin(list(drops))
    if not drops or not hit.any():
        return mapped, issues
    mapped, issues = mapped.copy(), issues.copy()
    address = [c for c in mapped.columns if c.startswith("address.")]
    for path, rows in issues.loc[hit].groupby("field")["row"]:
        paths = address if str(path).startswith("address.") else [path]
        mapped.loc[rows.unique(), paths] = pd.NA
    in_address = issues["field"].str.startswith("address.").fillna(False)
    what = np.where(in_address[hit], "the address", "this value")
    issues.loc[hit, "message"] = (
        issues.loc[hit, "message"] + "; sent without " + what + " (on_invalid: drop)"
    )
    issues.loc[hit, "rule"] = issues.loc[hit, "rule"] + DROPPED
    issues.loc[hit, "severity"] = WARNING
    return mapped, issues


def blame_columns(issues: pd.DataFrame, origins: dict[str, pd.Series]) -> pd.DataFrame:
    """Each issue of a field read from several columns names the column its row's value came
    from (the static source is only the first of the list)."""
    for path, origin in origins.items():
        hit = (issues["field"] == path).fillna(False).to_numpy()
        if hit.any():  # then ``issues`` is combine()'s own frame, not the shared empty one
            found = origin.reindex(issues.loc[hit, "row"]).to_numpy()
            column = issues.loc[hit, "column"].to_numpy()
            issues.loc[hit, "column"] = np.where(pd.isna(found), column, found)
    return issues


def check_rows(
    chunks: Iterable[Chunk], mapping: Mapping, *, duplicates: str = "error"
) -> Iterator[tuple[Chunk, CheckedChunk]]:
    """Map and validate a file chunk by chunk: each chunk as read, and as checked.

    The one loop over a file's rows: validating counts and reports what it yields, importing
    turns it into jobs (:func:`~importer.jobs.importing.row_batches`), and ``--duplicates last``'s
    first pass reads the keys from it.
    """
    validator = Validator(mapping, duplicates=duplicates)
    for chunk in chunks:
        yield chunk, validator.check(chunk)


def hash_keys(keys: object) -> np.ndarray:
    """64-bit hashes of row keys (a sequence of str), the form :class:`SeenKeys` remembers."""
    return pd.util.hash_array(np.asarray(keys, dtype=object), categorize=False)


class SeenKeys:
    """64-bit key hashes seen so far, with the row that first had each one.

    Kept as a few sorted runs of halving sizes (merged like a binary counter), so adding a chunk
    costs about its own size in sorting, not the size of everything seen: a million keys take
    12 MB and stay fast to add to and to search.
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def first_rows(self, hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each (hash, row): the earlier row with the same hash, or 0; then remember the new."""
        order = np.lexsort((rows, hashes))
        h, r = hashes[order], rows[order]
        first = np.zeros(len(h), dtype="int64")
        # within the chunk: every entry after the first of its run of equal hashes
        starts = np.r_[True, h[1:] != h[:-1]]
        run_first = r[np.maximum.accumulate(np.where(starts, np.arange(len(h)), 0))]
        first[~starts] = run_first[~starts]
        # across chunks: anything already seen (earlier chunks hold earlier rows)
        seen = np.zeros(len(h), dtype=bool)
        for run_h, run_r in self._runs:
            pos = np.minimum(np.searchsorted(run_h, h), len(run_h) - 1)
            hit = run_h[pos] == h
            first[hit] = run_r[pos[hit]]
            seen |= hit
        self._add(h[starts & ~seen], r[starts & ~seen])
        result = np.empty_like(first)
        result[order] = first
        return result

    def _add(self, h: np.ndarray, r: np.ndarray) -> None:
        if not len(h):
            return
        self._runs.append((h, r.astype("int32")))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            newer = self._runs.pop()
            self._runs.append(_merge(self._runs.pop(), newer))


def _merge(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted (hashes, rows) runs as one, placing ``b`` by binary search (no argsort copy)."""
    (a_h, a_r), (b_h, b_r) = a, b
    at = np.searchsorted(a_h, b_h) + np.arange(len(b_h))
    from_a = np.ones(len(a_h) + len(b_h), dtype=bool)
    from_a[at] = False
    h, r = np.empty(len(from_a), a_h.dtype), np.empty(len(from_a), a_r.dtype)
    h[at], r[at] = b_h, b_r
    h[from_a], r[from_a] = a_h, a_r
    return h, r


# --- once per file: what the mapping leaves out -------------------------------------------------
#: (what the values look like, the field to map them to, the test a cell passes): the same
#: tests ``init``'s value sniffing uses (importer.customer.values).
LOOKS_LIKE: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("emails", "emails", emails_in),
    ("phone numbers", "phones", is_phone),
    ("street addresses", "address: lines", is_street),
)
#: The share of a column's sampled values that must look alike.
LOOK_SHARE = 0.6


def file_warnings(mapping: Mapping, sample: pd.DataFrame) -> list[str]:
    """What the file will lose with this mapping, said once: no email at all (re-runs and Help
    Scout cannot recognise anyone), and columns whose sampled values look like emails, phone
    numbers or street addresses that no field reads."""
    said = []
    if not any(t.field == "emails" for t in mapping.targets):
        said.append(
            "the mapping fills no email: a re-run cannot recognise the customers it created and "
            "Help Scout cannot tell them from existing ones; map an email column (emails: - "
            "{column: ...})"
        )
    read = set(mapping.columns)
    for column in sample.columns:
        if column in read:
            continue
        values = [v.strip() for v in sample[column].tolist() if v.strip()]
        if len(values) < 2:
            continue
        for kind, where, looks in LOOKS_LIKE:
            alike = sum(1 for v in values if looks(v))
            if alike >= LOOK_SHARE * len(values):
                said.append(
                    f"column {shown_name(column)} looks like {kind} ({alike} of {len(values)} "
                    f"values sampled) but the mapping reads it nowhere, so it is not imported: "
                    f"map it ({where}) if it should be"
                )
                break
    return said


# --- building issue frames ----------------------------------------------------------------------
def _failing(
    values: pd.Series,
    bad: pd.Series,
    column: str,
    field: str,
    rule: str,
    message: str | Callable[[str], str],
    severity: str = ERROR,
) -> pd.DataFrame:
    """Issues for the cells where ``bad`` is true; ``message`` may be made from each value."""
    bad = bad.fillna(False).astype(bool)
    if not bad.any():
        return NO_ISSUES
    hit = values[bad]
    texts = message if isinstance(message, str) else [message(v) for v in hit]
    return issue_table(hit.index, column, field, hit, rule, severity, texts)


def _ragged_issues(chunk: Chunk) -> pd.DataFrame:
    if not chunk.ragged:
        return NO_ISSUES
    rows = [r.row for r in chunk.ragged]
    values = [r.text for r in chunk.ragged]
    messages = [
        f"this row has {r.actual} fields but the header has {r.expected}"
        + (f" (line {r.line})" if r.line else "")
        + ": a delimiter or quote is missing or extra; fix the row so its values line up"
        for r in chunk.ragged
    ]
    return issue_table(rows, "", "", values, "ragged_row", ERROR, messages)


def _short_rows(chunk: Chunk) -> pd.DataFrame:
    if not chunk.short:
        return NO_ISSUES
    messages = [
        f"this row has {r.actual} fields but the header has {r.expected}: the last "
        f"{r.expected - r.actual} are read as empty; check nothing is missing"
        for r in chunk.short
    ]
    rows = [r.row for r in chunk.short]
    return issue_table(rows, "", "", [r.text for r in chunk.short], "short_row", WARNING, messages)


def _stray_values(chunk: Chunk) -> pd.DataFrame:
    if not chunk.stray:
        return NO_ISSUES
    messages = [
        f"a value in column {s.column}, which has no name in the header: it would be lost; "
        "name the column in the header (and map it), or delete the value"
        for s in chunk.stray
    ]
    rows, values = [s.row for s in chunk.stray], [s.value for s in chunk.stray]
    return issue_table(rows, "", "", values, "unnamed_column", ERROR, messages)


def _undecodable_rows(chunk: Chunk) -> pd.DataFrame:
    if not chunk.undecodable:
        return NO_ISSUES
    messages = [
        f"line {u.line}: byte 0x{u.byte:02X} is not UTF-8, while the rest of the file is: fix "
        "the cell (retype its accented letters), or pass --encoding if the whole file is in "
        "another encoding"
        for u in chunk.undecodable
    ]
    rows = [u.row for u in chunk.undecodable]
    return issue_table(rows, "", "", [None] * len(rows), "not_utf8", ERROR, messages)


# --- the rules, one per kind of field -----------------------------------------------------------
Rule = Callable[[pd.DataFrame, str, str], pd.DataFrame]


def _rule_for(path: str, mapping: Mapping) -> Rule | None:
    parts = path.split(".")
    top = parts[0]
    spec: schema.Field | None
    if top in schema.SCALARS:
        spec = schema.SCALARS[top]
    elif top in schema.ENTRIES:
        if parts[-1] == "type":
            return None  # a constant of the mapping's, checked against the enum when it loaded
        spec = schema.ENTRIES[top].value
    elif top == "address":
        spec = schema.ADDRESS.get(parts[1]) if len(parts) > 1 else None
    elif top == "properties":
        prop = mapping.properties.get(parts[1])
        if prop is None:
            return None
        check = _PROPERTY_RULES.get(prop.type)  # dates: the mapping's date transform checks them
        if check is None:
            return None
        return lambda mapped, p, column: check(mapped[p], p, column, prop)
    else:
        spec = None
    if spec is None:
        return None
    if spec.kind == "phone":
        region = mapping.regions.get(path)
        return lambda mapped, p, column: combine([
            _check_field(spec, mapped, p, column),
            _check_possible(
                mapped[p], row_regions(mapped.get("address.country"), region, mapped.index),
                column, p,
            ),
        ])  # fmt: skip
    return lambda mapped, p, column: _check_field(spec, mapped, p, column)


def _check_field(spec: schema.Field, mapped: pd.DataFrame, path: str, column: str) -> pd.DataFrame:
    values = mapped[path]
    present = values.notna()
    if not present.any():
        return NO_ISSUES
    found = []
    if spec.kind == "enum":
        known = values.isin(spec.choices)
        found.append(
            _failing(
                values,
                present & ~known,
                column,
                path,
                "enum",
                f"must be one of: {', '.join(spec.choices)}; add a map: to translate other values",
            )
        )
    lengths = values.str.len()
    if spec.min_len and spec.kind == "text":
        found.append(
            _failing(
                values,
                present & (lengths < spec.min_len),
                column,
                path,
                "min_length",
                f"{path} must not be empty",
            )
        )
    if spec.max_len is not None:
        found.append(
            _failing(
                values,
                present & (lengths > spec.max_len),
                column,
                path,
                "max_length",
                lambda v: (
                    f"{len(v)} characters; Help Scout allows at most {spec.max_len} "
                    f"for {path}: shorten it"
                ),
            )
        )
    kind_check = _KIND_CHECKS.get(spec.kind)
    if kind_check:
        found.append(kind_check(values, present, column, path))
    return combine(found)


def _check_email(values: pd.Series, present: pd.Series, column: str, path: str) -> pd.DataFrame:
    fast = (
        fullmatch(values, schema.EMAIL_FAST_INTL)
        & (values.str.len() <= schema.EMAIL_FAST_MAX_LEN).fillna(False)
        & ~search(values, schema.SPECIAL_USE_SUFFIX)
    )
    unsure = values[present & ~fast]
    if unsure.empty:
        return NO_ISSUES
    problems = unsure.map(schema.email_problem).dropna()
    if problems.empty:
        return NO_ISSUES
    messages = [f"not a valid email address: {p}" for p in problems]
    return issue_table(
        problems.index, column, path, unsure[problems.index], "email", ERROR, messages
    )


def _check_url(values: pd.Series, present: pd.Series, column: str, path: str) -> pd.DataFrame:
    ok = fullmatch(values, schema.URL_PATTERN)
    return _failing(
        values,
        present & ~ok,
        column,
        path,
        "url",
        "not a valid web address: write it like https://www.example.com/page",
    )


def _check_phone(values: pd.Series, present: pd.Series, column: str, path: str) -> pd.DataFrame:
    mangled = fullmatch(values, schema.PHONE_MANGLED)
    no_digit = present & ~search(values, "[0-9]")
    return combine([
        _failing(
            values,
            present & mangled,
            column,
            path,
            "phone",
            "looks like the result of a spreadsheet formula or number format, not a phone "
            "number: re-export the column as text from the original data",
        ),
        _failing(
            values,
            no_digit,
            column,
            path,
            "phone_no_digit",
            "has no digit, so it is no phone number; it is sent as written: add it to the "
            "mapping's null_values to leave it out",
            WARNING,
        ),
    ])  # fmt: skip


def _check_possible(
    values: pd.Series, regions: pd.Series | None, column: str, path: str
) -> pd.DataFrame:
    """The numbers libphonenumber calls impossible: the international ones always, national
    ones when there is a region to read them in (the mangled and digitless are said above)."""
    judged = values.notna() & search(values, "[0-9]") & ~fullmatch(values, schema.PHONE_MANGLED)
    judged &= ~plainly_possible(values)  # most international numbers, cleared in C++
    if regions is None:  # then only the international ones can be judged
        judged &= search(values, r"^\s*\+")
    if not judged.any():
        return NO_ISSUES
    found = pd.Series(each_number(values.where(judged), regions, phone_problem), values.index)
    bad = found.notna()
    return issue_table(values.index[bad], column, path, values[bad], "phone", ERROR, found[bad])


def _check_country(values: pd.Series, present: pd.Series, column: str, path: str) -> pd.DataFrame:
    ok = values.isin(schema.ALPHA2)
    return _failing(
        values,
        present & ~ok,
        column,
        path,
        "country",
        "not an ISO 3166-1 alpha-2 country code: write a code like US or DE, "
        "or add transform: [country_code] to the mapping",
    )


_KIND_CHECKS = {
    "email": _check_email,
    "url": _check_url,
    "phone": _check_phone,
    "country": _check_country,
}


# --- properties ----------------------------------------------------------------------------------
PropertyRule = Callable[[pd.Series, str, str, object], pd.DataFrame]


def _check_number(values: pd.Series, path: str, column: str, prop: object) -> pd.DataFrame:
    text = values.str.strip()
    ok = fullmatch(text, schema.INTEGER_PATTERN)
    # 19 digits can still overflow int64: compare those few exactly
    long = ok & (text.str.lstrip("+-").str.len() >= 19)
    if long.any():
        ok[long] = text[long].map(lambda v: schema.parse_int(v) is not None).astype(bool)
    return _failing(
        values,
        values.notna() & ~ok,
        column,
        path,
        "number",
        "not a whole number in the signed 64-bit range: write digits only, like 42",
    )


def _check_bool(values: pd.Series, path: str, column: str, prop: object) -> pd.DataFrame:
    ok = values.str.strip().str.lower().isin(schema.TRUE_WORDS + schema.FALSE_WORDS)
    return _failing(
        values,
        values.notna() & ~ok,
        column,
        path,
        "bool",
        "not a yes/no value: write true/false, yes/no or 1/0",
    )


def _check_prop_url(values: pd.Series, path: str, column: str, prop: object) -> pd.DataFrame:
    return _check_url(values, values.notna(), column, path)


def _check_text(values: pd.Series, path: str, column: str, prop: object) -> pd.DataFrame:
    limit = schema.PROPERTY_TEXT_MAX
    return _failing(
        values,
        values.notna() & (values.str.len() > limit),
        column,
        path,
        "max_length",
        lambda v: f"{len(v)} characters; a text property holds at most {limit}: shorten it",
    )


_PROPERTY_RULES: dict[str, PropertyRule] = {
    "number": _check_number,
    "bool": _check_bool,
    "url": _check_prop_url,
    "text": _check_text,
    "dropdown": _check_text,
}


# --- rules across fields --------------------------------------------------------------------------
def _address_needs_country(mapped: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    parts = [c for c in mapped.columns if c.startswith("address.")]
    if not parts:
        return NO_ISSUES
    has_address = mapped[parts].notna().any(axis=1)
    empty = pd.Series(pd.NA, index=mapped.index, dtype=STRING)
    country = mapped.get("address.country", empty)
    missing = has_address & country.isna()
    if "address.country" in mapping.sources:
        message = (
            "an address needs a country: fill the country cell, or give the mapping's "
            "country a default (or on_incomplete: drop to send the customer without it)"
        )
    else:  # no cell to fill: the mapping is what lacks it
        message = (
            "an address needs a country, and the mapping fills none: map the file's country "
            "column (address: country: ...), or give country: {value: US}, or on_incomplete: "
            "drop to send the customers without their address"
        )
    return _failing(
        country,
        missing,
        mapping.sources.get("address.country", ""),
        "address.country",
        "country_required",
        message,
    )


def _empty_rows(mapped: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """Rows whose mapped cells are all empty (",,,"): nothing of theirs would reach Help Scout
    but the mapping's constants, a customer nobody could tell from the next."""
    from_cells = [c for c in mapped.columns if mapping.sources.get(c)]
    if not from_cells:
        return NO_ISSUES
    empty = ~mapped[from_cells].notna().any(axis=1)
    blank = pd.Series(pd.NA, index=mapped.index, dtype=STRING)
    message = "every mapped cell of this row is empty: delete the row or fill it"
    return _failing(blank, empty, "", "", "empty_row", message)


def _no_identity(mapped: pd.DataFrame) -> pd.DataFrame:
    who = [c for c in mapped.columns if c in ("firstName", "lastName") or c.startswith("emails.")]
    anonymous = ~mapped[who].notna().any(axis=1) if who else pd.Series(True, index=mapped.index)
    empty = pd.Series(pd.NA, index=mapped.index, dtype=STRING)
    fix = "fill a name or an email" if who else "the mapping fills neither: map a name or email"
    return _failing(
        empty,
        anonymous,
        "",
        "",
        "no_identity",
        f"no name and no email: Help Scout will create a nameless customer nobody can find; {fix}",
        WARNING,
    )
