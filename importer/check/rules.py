"""Every rule once: the one table the validator, the sandbox's 400 answers and the README's rule
table come from.

The table is ``rules.yaml`` beside this module, a record per rule, loaded into :class:`Rule`:
its code (a constant of :mod:`importer.core.codes`, what reports carry in their ``rule``
column), severity, what it applies to (field kinds, :data:`ROW` or :data:`MAPPING`), the
per-value check (a function here, by name), the name of its vectorised check in
:mod:`importer.check.columns`, the validator's message, Help Scout's 400 answer, the pages' words
and the README line. This module imports no pandas: the sandbox reads it. Adding a rule is its
code, one record in rules.yaml and its test; a rule with only a per-value check is applied cell
by cell, and the README's table is :func:`rule_table` pasted (a test says so).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from string import Formatter
from typing import Any

import yaml

from importer.core import codes
from importer.core.codes import DROPPED, MAX_LENGTH
from importer.customer import schema
from importer.customer.schema import Field

ERROR, WARNING = "error", "warning"
#: What a rule across a whole row (or the file's reading of it) applies to.
ROW = "row"
#: What a rule the mapping checks as it reads the cells applies to (:mod:`importer.mapping`).
MAPPING = "mapping"

#: The documented codes (:mod:`importer.core.codes`): a rule's is one of them.
_CODES = frozenset(v for k, v in vars(codes).items() if k.isupper() and isinstance(v, str))

ValueCheck = Callable[[object, Field], str | None]
"""A value (as the API receives it) and its field -> None when it passes, else the detail the
message may quote ("" when it has none)."""


@dataclass(frozen=True)
class Rule:
    """One rule. ``message`` is the validator's (empty: the validator leaves it to Help Scout),
    ``answer`` the 400 message (empty: Help Scout does not check it); both are templates of
    :meth:`words`."""

    code: str
    severity: str
    applies: tuple[str, ...]
    docs: str
    label: str = ""
    """What is wrong, in a few words, for the pages (empty: the code in words)."""
    message: str = ""
    answer: str = ""
    value: ValueCheck | None = None
    column: str = ""
    """The vectorised check's name in :mod:`importer.check.columns` (a row rule's builds the
    issues); empty: derived from ``value``, cell by cell."""
    needs: str = ""
    """The field's limit the rule reads (``min_len``, ``max_len``, ``choices``): a field of its
    kind without one meets no such rule."""

    def __post_init__(self) -> None:
        """A new row's slip (a kind misspelt, a check on no side) fails at import, not quietly."""
        unknown = set(self.applies) - {*schema.FIELD_KINDS, ROW, MAPPING}
        if unknown or self.severity not in (ERROR, WARNING):
            raise ValueError(
                f"rule {self.code}: unknown kind or severity {unknown or self.severity}"
            )
        if self.code not in _CODES:
            raise ValueError(f"rule {self.code}: not a code of importer.core.codes")
        if ROW in self.applies and not self.column:
            raise ValueError(f"rule {self.code}: a row rule names its check in check.columns")

    def meets(self, spec: Field) -> bool:
        """Whether a value of ``spec`` can break this rule."""
        return spec.kind in self.applies and (not self.needs or bool(getattr(spec, self.needs)))

    def words(
        self, template: str, spec: Field, path: str = "", value: object = None, detail: str = ""
    ) -> str:
        """A field rule's ``template`` filled in: ``{path}``, ``{min}``, ``{limit}`` (the
        maximum or "any"), ``{choices}`` of the field, ``{length}`` of the value, ``{detail}``
        of the check."""
        if not template_fields(template):
            return template
        return template.format(
            path=path or spec.name,
            min=spec.min_len,
            limit=spec.max_len or "any",
            choices=", ".join(spec.choices),
            length=len(value) if isinstance(value, str) else 0,
            detail=detail,
        )


@cache
def template_fields(template: str) -> tuple[str, ...]:
    """The names a message template fills in (none: the message is the same for every value)."""
    return tuple(name for _, name, _, _ in Formatter().parse(template) if name)


# --- the per-value checks, by the names rules.yaml gives them -----------------------------------
VALUE_CHECKS: dict[str, ValueCheck] = {}


def _check(check: ValueCheck) -> ValueCheck:
    VALUE_CHECKS[check.__name__.removeprefix("_")] = check
    return check


def _fails(failed: bool) -> str | None:
    return "" if failed else None


@_check
def _too_short(value: object, spec: Field) -> str | None:
    return _fails(len(str(value)) < spec.min_len)


@_check
def _too_long(value: object, spec: Field) -> str | None:
    return _fails(len(str(value)) > (spec.max_len or 0))


@_check
def _not_a_choice(value: object, spec: Field) -> str | None:
    return _fails(value not in spec.choices)


@_check
def _not_an_option(value: object, spec: Field) -> str | None:
    """A dropdown defined without options takes any value."""
    return _fails(bool(spec.choices) and value not in spec.choices)


@_check
def _not_an_email(value: object, spec: Field) -> str | None:
    return schema.email_problem(str(value))


@_check
def _not_a_url(value: object, spec: Field) -> str | None:
    return _fails(not schema.is_url(str(value)))


@_check
def _mangled_phone(value: object, spec: Field) -> str | None:
    return _fails(re.fullmatch(schema.PHONE_MANGLED, str(value)) is not None)


@_check
def _impossible_phone(value: object, spec: Field) -> str | None:
    """Read with no region (the validator's column check reads each row's)."""
    from importer.customer.phones import phone_problem  # phonenumbers and pandas: not at import

    text = str(value)
    if _no_digit(text, spec) is not None or _mangled_phone(text, spec) is not None:
        return None  # said by the rules before
    return phone_problem(text)


@_check
def _no_digit(value: object, spec: Field) -> str | None:
    return _fails(re.search("[0-9]", str(value)) is None)


@_check
def _blank(value: object, spec: Field) -> str | None:
    return _fails(not str(value).strip())


@_check
def _not_a_country(value: object, spec: Field) -> str | None:
    return _fails(not schema.is_country_code(str(value)))


@_check
def _not_an_integer(value: object, spec: Field) -> str | None:
    """A JSON integer (the mapping converts the cell's text with :func:`schema.parse_int`)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return ""
    return _fails(not schema.INT64_MIN <= value <= schema.INT64_MAX)


@_check
def _not_a_boolean(value: object, spec: Field) -> str | None:
    """A JSON boolean (the mapping converts the cell's text with :func:`schema.parse_bool`)."""
    return _fails(not isinstance(value, bool))


@_check
def _not_a_date(value: object, spec: Field) -> str | None:
    return _fails(not schema.is_iso_date(str(value)))


# --- the table: rules.yaml, in the order of checking (the first error of a field is kept) -----
def _loaded(row: dict[str, Any]) -> Rule:
    """A record of rules.yaml as a :class:`Rule`: its kinds a tuple, its per-value check the
    function of that name."""
    value, applies = row.pop("value", None), tuple(row.pop("applies"))
    return Rule(**row, applies=applies, value=VALUE_CHECKS[value] if value else None)


_TABLE = Path(__file__).with_name("rules.yaml").read_text(encoding="utf-8")
RULES: tuple[Rule, ...] = tuple(
    _loaded(row) for row in yaml.load(_TABLE, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
)


@cache
def row_rules() -> tuple[Rule, ...]:
    """The rules across a row, in checking order."""
    return tuple(rule for rule in RULES if ROW in rule.applies)


@lru_cache(maxsize=1024)
def rules_of(spec: Field) -> tuple[Rule, ...]:
    """The rules a field's values meet, in checking order."""
    return tuple(rule for rule in RULES if rule.meets(spec))


def rule_of(code: str, scope: str = ROW) -> Rule:
    """The one rule of ``code`` that applies to ``scope`` (a field kind, :data:`ROW`)."""
    (rule,) = (r for r in RULES if r.code == code and scope in r.applies)
    return rule


def first_broken(value: object, spec: Field) -> tuple[Rule, str] | None:
    """The first rule Help Scout checks that ``value`` breaks, with its detail (the 400 answer
    names one per field)."""
    for rule in rules_of(spec):
        if rule.answer and rule.value and (detail := rule.value(value, spec)) is not None:
            return rule, detail
    return None


_SCOPES: dict[tuple[str, ...], str] = {(ROW,): "each row", (MAPPING,): "the mapping"}


def fields_meeting(rule: Rule) -> list[str]:
    """The payload fields whose values can break ``rule``, as the README names them."""
    fields = [
        *schema.SCALARS.items(),
        *((name, entries.value) for name, entries in schema.ENTRIES.items()),
        *((f"address {name}", part) for name, part in schema.ADDRESS.items()),
        *((f"{kind} properties", prop) for kind, prop in schema.PROPERTY_FIELDS.items()),
    ]
    return [f"`{name}`" if " " not in name else name for name, spec in fields if rule.meets(spec)]


def rule_table() -> str:
    """The README's table of rules, one line per row of :data:`RULES`."""
    lines = ["| rule | severity | applies to | checks |", "|---|---|---|---|"]
    for rule in RULES:
        where = _SCOPES.get(rule.applies) or ", ".join(fields_meeting(rule))
        lines.append(f"| `{rule.code}` | {rule.severity} | {where} | {rule.docs} |")
    return "\n".join(lines) + "\n"


def rule_label(code: str, field: str = "") -> str:
    """A rule in words for the pages; a length says its limit for ``field`` ("too long (max
    40)"); a value ``on_invalid: drop`` left out ends in ``_dropped``. The CSV and JSON reports
    keep the codes, which scripts match on."""
    if code.endswith(DROPPED) and (kept := code.removesuffix(DROPPED)) in _LABELS:
        return f"{rule_label(kept, field)}: dropped, the row sent without it"
    words = _LABELS.get(code) or code.replace("_", " ")
    if code == MAX_LENGTH:
        limit = _max_length(field)
        return f"{words} (max {limit})" if limit else words
    return words


_LABELS = {rule.code: rule.label for rule in RULES}


def _max_length(field: str) -> int | None:
    if field in schema.SCALARS:
        return schema.SCALARS[field].max_len
    if field.startswith("properties."):
        return schema.PROPERTY_TEXT_MAX
    part = field.removeprefix("address.")
    return schema.ADDRESS[part].max_len if part in schema.ADDRESS else None
