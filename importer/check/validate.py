"""Pre-flight checks: every mapped row against Help Scout's rules, before anything is sent.

The rules are the table :data:`importer.check.rules.RULES`; here each field's rows are applied a
whole column at a time (:mod:`importer.check.columns`, pyarrow-backed, so the work runs in C++),
then the row rules, and only the failing cells are touched one by one, to write their messages.
Duplicate keys are tracked across chunks with 64-bit hashes in sorted numpy arrays, so memory
stays small on files of millions of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from importer.check import columns, rules
from importer.check.rules import ERROR, WARNING
from importer.core.codes import DROPPED
from importer.core.issues import NO_ISSUES, combine, issue_table
from importer.customer import schema
from importer.customer.values import emails_in, is_phone, is_street
from importer.mapping import Mapping
from importer.read import Chunk, shown_name
from importer.suggest.headers import read_header


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
            spec = field_spec(path, self.mapping)
            if spec is not None:
                values.append(check_field(spec, mapped, path, self.mapping))
        mapped, dropped = drop_invalid(mapped, combine(values), self.mapping.drops)
        keys = self.mapping.key_of(mapped)
        first_rows = self._first_rows if self.duplicates == "error" else None
        across = columns.Rows(chunk, mapped, self.mapping, keys, first_rows)
        found = [dropped]
        for rule in rules.row_rules():
            row_check: Callable[[rules.Rule, columns.Rows], pd.DataFrame]
            row_check = getattr(columns, rule.column)
            found.append(row_check(rule, across))
        issues = blame_columns(combine(found), self.mapping.origins)
        issues = issues.drop_duplicates(["row", "field", "severity"], keep="first")
        issues = issues.sort_values("row", kind="stable", ignore_index=True)
        invalid = pd.Index(issues.loc[issues["severity"] == ERROR, "row"].unique(), name="row")
        rows = mapped.index.append(pd.Index([r.row for r in chunk.ragged], dtype="int64"))
        return CheckedChunk(
            rows.sort_values(), mapped, issues, invalid, keys, self.mapping.apostrophes
        )

    def _first_rows(self, keys: pd.Series) -> np.ndarray:
        """Each present key's earlier row with the same key (0: none), across chunks."""
        hashes = hash_keys(keys.to_numpy(dtype=object))
        return self._seen.first_rows(hashes, keys.index.to_numpy(dtype="int64"))


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
#: Header kinds that say a column is not the customer's detail, whatever its values look like
#: (Eventbrite's "Attendee #" holds 11 digits, a record's, not a phone).
NOT_THEIRS = frozenset({"id", "date", "ignore"})


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
        if column in read or read_header(column).kind in NOT_THEIRS:
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


# --- the field rules -----------------------------------------------------------------------------
def field_spec(path: str, mapping: Mapping) -> schema.Field | None:
    """The field whose rules a mapped column meets; None for what has no rule of its own (an
    entry's type, checked against its enum when the mapping loaded; an unknown property)."""
    top, _, rest = path.partition(".")
    if top in schema.SCALARS:
        return schema.SCALARS[top]
    if top in schema.ENTRIES:
        return None if path.endswith(".type") else schema.ENTRIES[top].value
    if top == "address":
        return schema.ADDRESS.get(rest.split(".")[0]) if rest else None
    if top == "properties":
        prop = mapping.properties.get(rest)
        return schema.PROPERTY_FIELDS[prop.type] if prop else None
    return None


def check_field(
    spec: schema.Field, mapped: pd.DataFrame, path: str, mapping: Mapping
) -> pd.DataFrame:
    """The issues of one mapped column: the validator's rules of its kind, in the table's order."""
    values = mapped[path]
    if not values.notna().any():
        return NO_ISSUES
    countries = mapped.get("address.country")
    cells = columns.Cells(values, spec, path, mapping.regions.get(path), countries)
    source = mapping.sources.get(path, "")
    found = []
    for rule in rules.rules_of(spec):
        if not rule.message:
            continue  # Help Scout's answer only
        if rule.column:
            details = getattr(columns, rule.column)(cells)
        else:
            details = columns.cell_by_cell(cells, rule)
        found.append(_issues(rule, cells, source, details))
    return combine(found)


def _issues(
    rule: rules.Rule, cells: columns.Cells, source: str, details: pd.Series
) -> pd.DataFrame:
    """The issues of the cells ``details`` names, each message filled in from its value."""
    if details.empty:
        return NO_ISSUES
    hit = cells.values[details.index]
    messages: str | list[str] = rule.message
    if rules.template_fields(rule.message):
        messages = [
            rule.words(rule.message, cells.spec, cells.path, v, d)
            for v, d in zip(hit, details, strict=True)
        ]
    return issue_table(hit.index, source, cells.path, hit, rule.code, rule.severity, messages)
