"""The compiled mapping: what each field is filled from, and the methods that use it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pandas as pd

from importer.core.errors import MappingError
from importer.core.issues import STRING
from importer.mapping.apply import Run
from importer.mapping.columns import split
from importer.mapping.payloads import PayloadPlan
from importer.mapping.spec import Property, Target
from importer.mapping.transforms import clean
from importer.read import shown_name

SPLIT_NAME_FIELDS = ("firstName", "lastName")


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
    on_incomplete: tuple[str, ...] = ("error",)
    """Per address group: what to do with an address that has no country (error, drop)."""
    on_invalid: str = "error"
    """The top-level ``on_invalid``: what a field that sets none does with a bad value."""
    phone_region: str | None = None
    """The top-level ``phone_region``: national phone numbers' region when a row has no country."""
    drops: frozenset[str] = frozenset()
    """The field paths of the chunk just mapped whose bad values are dropped (``on_invalid``)."""
    regions: dict[str, str] = field(default_factory=dict)
    """Phone field path -> its configured region (``region:``, else ``phone_region``)."""
    origins: dict[str, pd.Series] = field(default_factory=dict)
    """Field path -> each row's column, for the fields read from several columns (``column:
    [A, B]``, ``join``) in the chunk just mapped: the column a value is blamed on."""

    def __post_init__(self) -> None:
        self.sources = self._static_sources()

    # --- against the CSV ---
    @property
    def columns(self) -> list[str]:
        """The CSV columns the mapping reads, each once, in the mapping's order."""
        return list(dict.fromkeys(c for _, c in self._reads()))

    def _reads(self) -> list[tuple[int, str]]:
        """(YAML line, column) of every column read: values, fallbacks, entry types."""
        found = [(t.value.line, c) for t in self.targets for c in t.value.columns]
        found += [(t.type_from.line, t.type_from.column) for t in self.targets if t.type_from]
        return found

    def bind(self, columns: list[str]) -> None:
        """Check that every column the mapping reads is in the CSV's header."""
        present = set(columns)
        for line, column in sorted(self._reads(), key=lambda read: read[0]):
            if column not in present:
                raise MappingError(
                    f"column {shown_name(column)} is not in the CSV file"
                    f"{did_you_mean_column(column, columns)}; its columns are: "
                    f"{list_columns(columns)}",
                    path=self.path,
                    line=line,
                )

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Map one chunk: (one column per payload field path, issues transforms ran into)."""
        self.bind(list(frame.columns))
        run = Run(frame, self.phone_region)
        found = _Found()
        groups: list[dict[str, pd.Series]] = [{} for _ in self.on_incomplete]
        out: dict[str, pd.Series] = {}
        # the address first: a phone read in its row's country (e164) needs it chosen
        for target in self.targets:
            if target.field.startswith("address"):
                self._fill(run, target, groups[target.group], found)
        address = run.choose_address(groups, self.on_incomplete, found.sources)
        run.country = address.get("address.country")
        for target in self.targets:
            if not target.field.startswith("address"):
                self._fill(run, target, out, found)
        out.update(address)
        self.sources, self.origins = found.sources, found.origins
        self.drops, self.regions = frozenset(found.drops), found.regions
        self.apostrophes = run.apostrophes
        mapped = pd.DataFrame(out, index=frame.index)
        mapped.index.name = "row"
        return mapped, run.issue_frame()

    def _fill(self, run: Run, target: Target, into: dict[str, pd.Series], found: _Found) -> None:
        """The columns ``target`` fills in ``into`` (an entry: one a piece), noted in ``found``."""
        base = run.read(target.value)
        origin = run.origin(target.value)
        if not target.entry:
            into[target.field] = clean(run, base, target.value, target.field)
            found.note(target, target.field, origin, self)
            return
        pieces = split(base, target.separator) if target.separator else [base]
        for piece in pieces:
            if target.separator and not piece.notna().any():
                continue
            position = found.counts.get((target.group, target.field), 0)
            found.counts[target.group, target.field] = position + 1
            path = _entry_path(target.field, position)
            values = clean(run, piece, target.value, path)
            into[path] = values
            found.note(target, path, origin, self)
            if target.entry_type is not None:
                type_path = f"{target.field}.{position}.type"
                into[type_path] = run.entry_types(target).where(values.notna())
                found.sources[type_path] = target.type_from.column if target.type_from else ""

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
        """Field path -> the column it is read from (an address group's: the first group's)."""
        sources: dict[str, str] = {}
        counts: dict[tuple[int, str], int] = {}
        for target in self.targets:
            if not target.entry:
                sources.setdefault(target.field, target.value.source)
            elif not target.separator:
                position = counts.get((target.group, target.field), 0)
                counts[target.group, target.field] = position + 1
                sources.setdefault(_entry_path(target.field, position), target.value.source)
                if target.entry_type is not None:
                    type_column = target.type_from.column if target.type_from else ""
                    sources.setdefault(f"{target.field}.{position}.type", type_column)
        return sources


@dataclass
class _Found:
    """What one :meth:`Mapping.apply` learns of the paths it fills, besides their values."""

    sources: dict[str, str] = field(default_factory=dict)
    origins: dict[str, pd.Series] = field(default_factory=dict)
    drops: set[str] = field(default_factory=set)
    regions: dict[str, str] = field(default_factory=dict)
    counts: dict[tuple[int, str], int] = field(default_factory=dict)

    def note(self, target: Target, path: str, origin: pd.Series | None, mapping: Mapping) -> None:
        """``path``'s column (the first address group's wins), its rows' columns when it reads
        several, whether its bad values are dropped, a phone's configured region."""
        self.sources.setdefault(path, target.value.source)
        if origin is not None:
            known = self.origins.get(path)
            self.origins[path] = origin if known is None else known.fillna(origin)
        if (target.value.on_invalid or mapping.on_invalid) == "drop":
            self.drops.add(path)
        region = target.value.region or mapping.phone_region
        if region and target.field in ("phone", "phones"):
            self.regions.setdefault(path, region)


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
