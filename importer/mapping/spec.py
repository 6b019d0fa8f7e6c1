"""A mapping's records, as the YAML reader builds them: where each field's text comes from
(:class:`Value`), which field it fills (:class:`Target`), and the properties; plain frozen data,
on the floor of the modules that apply them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Property", "Target", "TypeFrom", "Value"]


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
    fallbacks: tuple[str, ...] = ()
    """Columns tried in order where ``column``'s cell is empty (``column: [A, B]``)."""
    null_values: frozenset[str] = frozenset()
    """Cells that mean "absent" (lower case), this field's and the mapping's."""
    replace: tuple[tuple[str, str], ...] = ()
    """(RE2 pattern, replacement) pairs, applied in order."""
    join: str | None = None
    """With a column list: the non-empty cells joined with this text, instead of the first."""
    on_invalid: str | None = None
    """``error`` or ``drop`` (send the customer without the bad value); None: the mapping's."""
    region: str | None = None
    """A phone's default region (ISO 3166-1 alpha-2) when the row has no country."""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the value reads, the first first."""
        return (self.column, *self.fallbacks) if self.column else ()

    @property
    def source(self) -> str:
        return self.column or ""


@dataclass(frozen=True)
class TypeFrom:
    """An entry's type read from a column of the row: ``map`` of its values, else ``default``."""

    column: str
    aliases: dict[str, str]
    """Cell (lower case) -> entry type."""
    default: str
    line: int


@dataclass(frozen=True)
class Target:
    """One field the mapping fills: a single path, or one entry of a list field."""

    field: str
    """A field path (``firstName``, ``properties.plan``) or a list (``emails``)."""
    value: Value
    entry: bool = False
    entry_type: str | None = None
    separator: str | None = None
    type_from: TypeFrom | None = None
    """The entry's type from another column (``entry_type`` is then the list's default)."""
    group: int = 0
    """For address fields: which address group (``address:`` as a list) the field is in."""


@dataclass(frozen=True)
class Property:
    """A customer property the mapping fills; ``format``: the input date format(s), for messages."""

    slug: str
    type: str
    format: str | None
    column: str
