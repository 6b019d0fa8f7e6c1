"""Applying a mapping to one chunk: read each column once, then ``map`` and the transforms."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from importer.core import codes
from importer.core.issues import NO_ISSUES, STRING, issue_table
from importer.customer import schema
from importer.mapping.columns import (
    absent_if_in,
    join_cells,
    read_cells,
    replace_aliases,
    replace_patterns,
)
from importer.mapping.spec import Target, Value

ENUM_CHOICES = {name: spec.choices for name, spec in schema.SCALARS.items() if spec.kind == "enum"}


@dataclass(frozen=True)
class Step:
    """What a transform needs besides the values: its field's spec, path, and where issues go."""

    value: Value
    path: str
    run: Run


class Run:
    """One :meth:`Mapping.apply`: the chunk, stripped columns shared by fields, issues found."""

    def __init__(self, frame: pd.DataFrame, phone_region: str | None = None) -> None:
        self.frame = frame
        self.phone_region = phone_region
        self.country: pd.Series | None = None
        """Each row's address country as sent (set once the address is chosen, for ``e164``)."""
        self.names: dict[str, tuple[str | None, str | None]] = {}
        """Full names split by ``split_name`` in this chunk: (firstName, lastName)."""
        self._cells: dict[str, pd.Series] = {}
        self.issues: list[pd.DataFrame] = []
        self.apostrophes = 0
        """Text apostrophes removed from the columns read ('02134 read as 02134)."""

    def read(self, value: Value) -> pd.Series:
        """The cells as a field sees them: stripped, ``null_values`` absent, the first
        non-empty of the columns, ``default`` in place of absent ones, ``replace`` done."""
        if value.column is None:
            cells = pd.Series(value.constant, index=self.frame.index, dtype=STRING)
        elif value.join is not None:
            cells = join_cells(
                [self.cells(c, value.null_values) for c in value.columns], value.join
            )
        else:
            cells = self.cells(value.column, value.null_values)
            for fallback in value.fallbacks:
                cells = cells.fillna(self.cells(fallback, value.null_values))
        if value.default is not None:
            cells = cells.fillna(value.default)
        return replace_patterns(cells, value.replace) if value.replace else cells

    def origin(self, value: Value) -> pd.Series | None:
        """Per row, the column a value of several columns came from (with ``join``: the
        columns joined, "A + B"); None for a single column, whose name says it all."""
        if not value.fallbacks:
            return None
        named = [
            pd.Series(c, index=self.frame.index, dtype=STRING).where(
                self.cells(c, value.null_values).notna()
            )
            for c in value.columns
        ]
        if value.join is not None:
            return join_cells(named, " + ")
        found = named[0]
        for more in named[1:]:
            found = found.fillna(more)
        return found

    def cells(self, column: str, null_values: frozenset[str] = frozenset()) -> pd.Series:
        """A column stripped, empty and ``null_values`` cells absent; read once per chunk."""
        if column not in self._cells:
            self._cells[column], removed = read_cells(self.frame[column])
            self.apostrophes += removed
        cells = self._cells[column]
        return absent_if_in(cells, null_values) if null_values else cells

    def entry_types(self, target: Target) -> pd.Series:
        """Each row's entry type: the constant, or read from the type column through its map
        (a value that is no type of the list takes the default: never an error)."""
        index = self.frame.index
        spec = target.type_from
        if spec is None:
            return pd.Series(target.entry_type, index=index, dtype=STRING)
        types = schema.ENTRIES[target.field].types
        known = {**{t: t for t in types}, **spec.aliases}
        cells = self.cells(spec.column).str.lower()
        return replace_aliases(cells, dict(known)).where(cells.isin(list(known)), spec.default)

    def choose_address(
        self, groups: list[dict[str, pd.Series]], policies: tuple[str, ...], sources: dict[str, str]
    ) -> dict[str, pd.Series]:
        """The address each row sends: the first group that has a country; when none has, the
        first group with any value, by its ``on_incomplete``: ``error`` sends it as it is (the
        validator refuses it), ``drop`` sends none, with a warning on the row."""
        if len(groups) == 1 and policies == ("error",):
            return groups[0]
        index = self.frame.index
        chosen = np.full(len(index), -1)
        filled = [
            pd.DataFrame(g).notna().any(axis=1).to_numpy() if g else np.zeros(len(index), bool)
            for g in groups
        ]
        for number, group in enumerate(groups):
            country = group.get("address.country")
            if country is not None:
                chosen[(chosen < 0) & country.notna().to_numpy()] = number
        first = np.full(len(index), -1)
        for number in reversed(range(len(groups))):
            first[filled[number]] = number
        undecided = (chosen < 0) & (first >= 0)
        dropped = np.zeros(len(index), bool)
        for number, policy in enumerate(policies):
            decides = undecided & (first == number)
            if policy == "error":
                chosen[decides] = number
            else:
                dropped |= decides
        if dropped.any():
            rows = index[dropped]
            fix = (
                "fill the country to send it"
                if "address.country" in sources
                else "the mapping fills none: map the file's country column, or give one "
                "(country: {value: US}) to send it"
            )
            self.issues.append(
                issue_table(
                    rows,
                    sources.get("address.country", ""),
                    "address",
                    [None] * len(rows),
                    codes.ADDRESS_DROPPED,
                    "warning",
                    f"the address has no country, so it is not sent (on_incomplete: drop); {fix}",
                )
            )
        out: dict[str, pd.Series] = {}
        for number, group in enumerate(groups):
            here = pd.Series(chosen == number, index=index)
            for path, values in group.items():
                taken = values.where(here)
                out[path] = taken if path not in out else out[path].fillna(taken)
        return out

    def add_issues(self, bad: pd.Series, step: Step, rule: str, messages: Iterable[str]) -> None:
        """Record one issue per value of ``bad`` (a subset of a mapped column)."""
        self.issues.append(
            issue_table(bad.index, step.value.source, step.path, bad.array, rule, "error", messages)
        )

    def issue_frame(self) -> pd.DataFrame:
        return pd.concat(self.issues, ignore_index=True) if self.issues else NO_ISSUES
