"""Applying a mapping to one chunk: read each column once, then ``map`` and the transforms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from importer import schema
from importer.issues import NO_ISSUES, STRING, issue_table
from importer.mapping.columns import read_cells, replace_aliases
from importer.mapping.transforms import TRANSFORMS, Step

if TYPE_CHECKING:
    from importer.mapping.model import Value

ENUM_CHOICES = {name: spec.choices for name, spec in schema.SCALARS.items() if spec.kind == "enum"}


class Run:
    """One :meth:`Mapping.apply`: the chunk, stripped columns shared by fields, issues found."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cells: dict[str, pd.Series] = {}
        self.issues: list[pd.DataFrame] = []
        self.apostrophes = 0
        """Text apostrophes removed from the columns read ('02134 read as 02134)."""

    def read(self, value: Value) -> pd.Series:
        """The stripped cells (absent when empty), with the default in place of absent ones."""
        if value.column is None:
            cells = pd.Series(value.constant, index=self.frame.index, dtype=STRING)
        else:
            if value.column not in self._cells:
                self._cells[value.column], removed = read_cells(self.frame[value.column])
                self.apostrophes += removed
            cells = self._cells[value.column]
        return cells if value.default is None else cells.fillna(value.default)

    def clean(self, cells: pd.Series, value: Value, path: str) -> pd.Series:
        """``map`` then the transforms, in order; an enum field's known values in lower case,
        as Help Scout wants them ("Male" is sent as "male"; unknown ones stay for the validator)."""
        if value.aliases:
            cells = replace_aliases(cells, value.aliases)
        for name in value.transforms:
            cells = TRANSFORMS[name](cells, Step(value, path, self))
        if choices := ENUM_CHOICES.get(path):
            lowered = cells.str.lower()
            cells = cells.where(~lowered.isin(choices), lowered)
        return cells

    def add_issues(self, bad: pd.Series, step: Step, rule: str, messages: Iterable[str]) -> None:
        """Record one issue per value of ``bad`` (a subset of a mapped column)."""
        self.issues.append(
            issue_table(bad.index, step.value.source, step.path, bad.array, rule, "error", messages)
        )

    def issue_frame(self) -> pd.DataFrame:
        return pd.concat(self.issues, ignore_index=True) if self.issues else NO_ISSUES
