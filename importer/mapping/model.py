"""The compiled mapping: what each field is filled from, and the methods that use it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pandas as pd

from importer.errors import MappingError
from importer.issues import STRING
from importer.mapping.apply import Run
from importer.mapping.columns import split
from importer.mapping.payloads import PayloadPlan
from importer.source import shown_name

SPLIT_NAME_FIELDS = ("firstName", "lastName")


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
    apostrophes: int = 0
    """Text apostrophes removed from the cells of the chunk just mapped ('02134 -> 02134)."""

    def __post_init__(self) -> None:
        self.sources = self._static_sources()

    # --- against the CSV ---
    @property
    def columns(self) -> list[str]:
        """The CSV columns the mapping reads, each once, in the mapping's order."""
        return list(dict.fromkeys(t.value.column for t in self.targets if t.value.column))

    def bind(self, columns: list[str]) -> None:
        """Check that every column the mapping reads is in the CSV's header."""
        present = set(columns)
        for value in sorted((t.value for t in self.targets), key=lambda v: v.line):
            if value.column is not None and value.column not in present:
                raise MappingError(
                    f"column {shown_name(value.column)} is not in the CSV file"
                    f"{did_you_mean_column(value.column, columns)}; its columns are: "
                    f"{list_columns(columns)}",
                    path=self.path,
                    line=value.line,
                )

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Map one chunk: (one column per payload field path, issues transforms ran into)."""
        self.bind(list(frame.columns))
        run = Run(frame)
        out: dict[str, pd.Series] = {}
        sources = self._static_sources()
        counts: dict[str, int] = {}
        for target in self.targets:
            base = run.read(target.value)
            if not target.entry:
                out[target.field] = run.clean(base, target.value, target.field)
                continue
            pieces = split(base, target.separator) if target.separator else [base]
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
        self.apostrophes = run.apostrophes
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
        build = PayloadPlan(list(mapped.columns), self.properties)
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


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    folded = {c.casefold(): c for c in choices}
    close = [folded[word.casefold()]] if word.casefold() in folded else []
    close = close or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _squash(text: str) -> str:
    return "".join(text.split()).casefold()


def did_you_mean_column(column: str, columns: list[str]) -> str:
    same = [c for c in columns if _squash(c) == _squash(column)]
    close = same or difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
    return f" (did you mean {shown_name(close[0])}?)" if close else ""


def list_columns(columns: list[str], limit: int = 60) -> str:
    shown = ", ".join(shown_name(c) for c in columns[:limit])
    return shown + (f" ... and {len(columns) - limit} more" if len(columns) > limit else "")
