"""The vectorised checks of :data:`importer.check.rules.RULES`, each named by its row's ``column``.

A field rule's check takes a mapped column (:class:`Cells`) and answers the failing cells' details
(a Series on their rows; "" when the message quotes none), whole columns at a time in pyarrow's
C++ (RE2 regexes), only doubtful cells one by one. A row rule's check builds its issues itself
from what :class:`Rows` holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from importer.check import rules
from importer.core.issues import NO_ISSUES, STRING, issue_table
from importer.customer import schema
from importer.customer.phones import each_number, phone_problem, plainly_possible, row_regions
from importer.customer.values import EMAIL_SEPARATORS, email_address, emails_in
from importer.mapping import Mapping
from importer.read import Chunk, RaggedRow, StrayValue, Undecodable


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
class Cells:
    """One mapped column to check, with what reads a phone: the mapping's region for it and
    each row's address country."""

    values: pd.Series
    spec: schema.Field
    path: str = ""
    region: str | None = None
    countries: pd.Series | None = None
    _found: dict[str, pd.Series] = field(default_factory=dict, repr=False)

    @property
    def present(self) -> pd.Series:
        return self.values.notna()

    def search(self, pattern: str) -> pd.Series:
        """:func:`search` of the values, once per pattern: a phone's rules ask the same twice."""
        if pattern not in self._found:
            self._found[pattern] = search(self.values, pattern)
        return self._found[pattern]

    def fullmatch(self, pattern: str) -> pd.Series:
        return self.search(f"^(?:{pattern})$")


def failing(cells: Cells, bad: pd.Series) -> pd.Series:
    """The details of the present cells where ``bad`` holds: none to quote."""
    bad = (bad & cells.present).fillna(False).astype(bool)
    return pd.Series("", index=cells.values.index[bad.to_numpy()], dtype=object)


def cell_by_cell(cells: Cells, rule: rules.Rule) -> pd.Series:
    """The column check of a rule that has only its per-value one, judging each value as it is
    sent (a number property's text as an integer)."""
    assert rule.value is not None, rule.code
    check, spec = rule.value, cells.spec
    found = cells.values.dropna().map(lambda v: check(spec.sent(v), spec))
    return found.dropna().astype(object)


# --- field rules ----------------------------------------------------------------------------------
def too_short(cells: Cells) -> pd.Series:
    return failing(cells, cells.values.str.len() < cells.spec.min_len)


def too_long(cells: Cells) -> pd.Series:
    return failing(cells, cells.values.str.len() > (cells.spec.max_len or 0))


def not_a_choice(cells: Cells) -> pd.Series:
    return failing(cells, ~cells.values.isin(cells.spec.choices))


def all_ascii(values: pd.Series) -> bool:
    """Whether every present value is ASCII: then a pattern's ASCII form matches alike, and RE2
    builds and runs it faster."""
    return pc.all(pc.string_is_ascii(pa.array(values.array))).as_py() is not False


def not_an_email(cells: Cells) -> pd.Series:
    values = cells.values
    # on ASCII text the two patterns agree, and RE2 builds the ASCII one 17x faster (each chunk)
    fast = (
        fullmatch(values, schema.EMAIL_FAST if all_ascii(values) else schema.EMAIL_FAST_INTL)
        & (values.str.len() <= schema.EMAIL_FAST_MAX_LEN).fillna(False)
        & ~search(values, schema.SPECIAL_USE_SUFFIX)
    )
    unsure = values[cells.present & ~fast]
    return unsure.map(email_problem).dropna().astype(object)


def email_problem(value: str) -> str | None:
    """:func:`~importer.customer.schema.email_problem`, saying so when the value holds a good
    address in a display-name form or a ``mailto:`` link."""
    problem = schema.email_problem(value)
    if problem is None:
        return None
    bare = email_address(value)
    if bare != value and schema.email_problem(bare) is None:
        return f"{problem} (transform: [email_address] sends the address alone, {bare})"
    if len(emails_in(value)) > 1:
        separator = next((s for s in EMAIL_SEPARATORS if s in value), ",")
        return f'{problem} (several addresses: separator: "{separator}" sends each)'
    return problem


def not_a_url(cells: Cells) -> pd.Series:
    pattern = schema.URL_PATTERN_ASCII if all_ascii(cells.values) else schema.URL_PATTERN
    return failing(cells, ~fullmatch(cells.values, pattern))


def mangled_phone(cells: Cells) -> pd.Series:
    return failing(cells, cells.fullmatch(schema.PHONE_MANGLED))


def no_digit(cells: Cells) -> pd.Series:
    return failing(cells, ~cells.search("[0-9]"))


def impossible_phone(cells: Cells) -> pd.Series:
    """The numbers libphonenumber calls impossible: the international ones always, national
    ones when there is a region to read them in (the mangled and digitless are said before)."""
    values = cells.values
    judged = values.notna() & cells.search("[0-9]") & ~cells.fullmatch(schema.PHONE_MANGLED)
    judged &= ~plainly_possible(values)  # most international numbers, cleared in C++
    regions = row_regions(cells.countries, cells.region, values.index)
    if regions is None:  # then only the international ones can be judged
        judged &= search(values, r"^\s*\+")
    if not judged.any():
        return pd.Series(dtype=object)
    found = pd.Series(each_number(values.where(judged), regions, phone_problem), values.index)
    return found.dropna().astype(object)


def not_a_country(cells: Cells) -> pd.Series:
    return failing(cells, ~cells.values.isin(schema.ALPHA2))


def not_an_integer(cells: Cells) -> pd.Series:
    text = cells.values.str.strip()
    ok = fullmatch(text, schema.INTEGER_PATTERN)
    # 19 digits can still overflow int64: compare those few exactly
    long = ok & (text.str.lstrip("+-").str.len() >= 19)
    if long.any():
        ok[long] = text[long].map(lambda v: schema.parse_int(v) is not None).astype(bool)
    return failing(cells, ~ok)


def not_a_boolean(cells: Cells) -> pd.Series:
    words = schema.TRUE_WORDS + schema.FALSE_WORDS
    return failing(cells, ~cells.values.str.strip().str.lower().isin(words))


# --- row rules ------------------------------------------------------------------------------------
@dataclass
class Rows:
    """A chunk as read and as mapped, for the rules across a row."""

    chunk: Chunk
    mapped: pd.DataFrame
    mapping: Mapping
    keys: pd.Series
    """Each row's identity across runs (NA when it has none)."""
    first_rows: Callable[[pd.Series], np.ndarray] | None = None
    """The present keys -> the earlier row of each with the same key (0: none), remembering
    them; None when duplicates are not errors."""


def _blank(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype=STRING)


def _where(
    rule: rules.Rule, values: pd.Series, bad: pd.Series, column: str, field: str, message: str
) -> pd.DataFrame:
    """The issues of the rows where ``bad`` holds, one message for all."""
    bad = bad.fillna(False).astype(bool)
    if not bad.any():
        return NO_ISSUES
    hit = values[bad]
    return issue_table(hit.index, column, field, hit, rule.code, rule.severity, message)


Found = TypeVar("Found", RaggedRow, StrayValue, Undecodable)


def _each(
    rule: rules.Rule,
    found: Sequence[Found],
    value: Callable[[Found], str | None],
    words: Callable[[Found], dict[str, object]],
) -> pd.DataFrame:
    """One issue per row the reader set aside, its message filled in from what it found."""
    if not found:
        return NO_ISSUES
    messages = [rule.message.format(**words(f)) for f in found]
    values = [value(f) for f in found]
    return issue_table([f.row for f in found], "", "", values, rule.code, rule.severity, messages)


def ragged_rows(rule: rules.Rule, rows: Rows) -> pd.DataFrame:
    return _each(
        rule,
        rows.chunk.ragged,
        lambda r: r.text,
        lambda r: {
            "actual": r.actual,
            "expected": r.expected,
            "line": f" (line {r.line})" if r.line else "",
        },
    )


def short_rows(rule: rules.Rule, rows: Rows) -> pd.DataFrame:
    return _each(
        rule,
        rows.chunk.short,
        lambda r: r.text,
        lambda r: {"actual": r.actual, "expected": r.expected, "missing": r.expected - r.actual},
    )


def stray_values(rule: rules.Rule, rows: Rows) -> pd.DataFrame:
    return _each(rule, rows.chunk.stray, lambda s: s.value, lambda s: {"column": s.column})


def undecodable_rows(rule: rules.Rule, rows: Rows) -> pd.DataFrame:
    return _each(
        rule, rows.chunk.undecodable, lambda u: None, lambda u: {"line": u.line, "byte": u.byte}
    )


def address_needs_country(rule: rules.Rule, rows: Rows) -> pd.DataFrame:
    mapped, mapping = rows.mapped, rows.mapping
    parts = [c for c in mapped.columns if c.startswith("address.")]
    if not parts:
        return NO_ISSUES
    has_address = mapped[parts].notna().any(axis=1)
    country = mapped.get("address.country", _blank(mapped.index))
    if "address.country" in mapping.sources:
        how = (
            ": fill the country cell, or give the mapping's country a default (or "
            "on_incomplete: drop to send the customer without it)"
        )
    else:  # no cell to fill: the mapping is what lacks it
        how = (
            ", and the mapping fills none: map the file's country column (address: country: "
            "...), or give country: {value: US}, or on_incomplete: drop to send the customers "
            "without their address"
        )
    column = mapping.sources.get("address.country", "")
    message = rule.message.format(how=how)
    return _where(rule, country, has_address & country.isna(), column, "address.country", message)


def empty_rows(rule: rules.Rule, rows: Rows) -> pd.DataFrame:
    """Rows whose mapped cells are all empty (",,,"): nothing of theirs would reach Help Scout
    but the mapping's constants, a customer nobody could tell from the next."""
    mapped = rows.mapped
    from_cells = [c for c in mapped.columns if rows.mapping.sources.get(c)]
    if not from_cells:
        return NO_ISSUES
    empty = ~mapped[from_cells].notna().any(axis=1)
    return _where(rule, _blank(mapped.index), empty, "", "", rule.message)


def no_identity(rule: rules.Rule, rows: Rows) -> pd.DataFrame:
    mapped = rows.mapped
    who = [c for c in mapped.columns if c in ("firstName", "lastName") or c.startswith("emails.")]
    anonymous = ~mapped[who].notna().any(axis=1) if who else pd.Series(True, index=mapped.index)
    fix = "fill a name or an email" if who else "the mapping fills neither: map a name or email"
    message = rule.message.format(fix=fix)
    return _where(rule, _blank(mapped.index), anonymous, "", "", message)


def duplicate_keys(rule: rules.Rule, rows: Rows) -> pd.DataFrame:
    present = rows.keys.dropna()
    if rows.first_rows is None or present.empty:
        return NO_ISSUES
    first = rows.first_rows(present)
    dup = first > 0
    if not dup.any():
        return NO_ISSUES
    mapping = rows.mapping
    field = mapping.key_field or ""
    messages = [rule.message.format(key=mapping.key_name, first=r) for r in first[dup]]
    return issue_table(
        present.index[dup], mapping.sources.get(field, ""), field, present[dup], rule.code,
        rule.severity, messages,
    )  # fmt: skip
