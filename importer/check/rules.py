"""Every rule once: the one table the validator, the sandbox's 400 answers and the README's rule
table come from.

A :class:`Rule` is a row: its code (a constant of :mod:`importer.core.codes`, what reports carry
in their ``rule`` column), severity, what it applies to (field kinds, :data:`ROW` or
:data:`MAPPING`), the per-value check, the name of its vectorised check in
:mod:`importer.check.columns`, the validator's message, Help Scout's 400 answer, the pages' words
and the README line. This module imports no pandas: the sandbox reads it. Adding a rule is its
code, one row here and its test; a rule with only a per-value check is applied cell by cell, and the
README's table is :func:`rule_table` pasted (a test says so).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from string import Formatter

from importer.core.codes import (
    ADDRESS_DROPPED,
    BOOL,
    COUNTRY,
    COUNTRY_REQUIRED,
    DATE,
    DROPDOWN,
    DROPPED,
    DUPLICATE_KEY,
    EMAIL,
    EMPTY_ROW,
    ENUM,
    MAX_LENGTH,
    MIN_LENGTH,
    NO_IDENTITY,
    NOT_UTF8,
    NUMBER,
    PHONE,
    PHONE_EMPTY,
    PHONE_NO_DIGIT,
    RAGGED_ROW,
    SHORT_ROW,
    UNNAMED_COLUMN,
    URL,
)
from importer.customer import schema
from importer.customer.schema import Field

ERROR, WARNING = "error", "warning"
#: What a rule across a whole row (or the file's reading of it) applies to.
ROW = "row"
#: What a rule the mapping checks as it reads the cells applies to (:mod:`importer.mapping`).
MAPPING = "mapping"

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


# --- the per-value checks -------------------------------------------------------------------------
def _fails(failed: bool) -> str | None:
    return "" if failed else None


def _too_short(value: object, spec: Field) -> str | None:
    return _fails(len(str(value)) < spec.min_len)


def _too_long(value: object, spec: Field) -> str | None:
    return _fails(len(str(value)) > (spec.max_len or 0))


def _not_a_choice(value: object, spec: Field) -> str | None:
    return _fails(value not in spec.choices)


def _not_an_option(value: object, spec: Field) -> str | None:
    """A dropdown defined without options takes any value."""
    return _fails(bool(spec.choices) and value not in spec.choices)


def _not_an_email(value: object, spec: Field) -> str | None:
    return schema.email_problem(str(value))


def _not_a_url(value: object, spec: Field) -> str | None:
    return _fails(not schema.is_url(str(value)))


def _mangled_phone(value: object, spec: Field) -> str | None:
    return _fails(re.fullmatch(schema.PHONE_MANGLED, str(value)) is not None)


def _impossible_phone(value: object, spec: Field) -> str | None:
    """Read with no region (the validator's column check reads each row's)."""
    from importer.customer.phones import phone_problem  # phonenumbers and pandas: not at import

    text = str(value)
    if _no_digit(text, spec) is not None or _mangled_phone(text, spec) is not None:
        return None  # said by the rules before
    return phone_problem(text)


def _no_digit(value: object, spec: Field) -> str | None:
    return _fails(re.search("[0-9]", str(value)) is None)


def _blank(value: object, spec: Field) -> str | None:
    return _fails(not str(value).strip())


def _not_a_country(value: object, spec: Field) -> str | None:
    return _fails(not schema.is_country_code(str(value)))


def _not_an_integer(value: object, spec: Field) -> str | None:
    """A JSON integer (the mapping converts the cell's text with :func:`schema.parse_int`)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return ""
    return _fails(not schema.INT64_MIN <= value <= schema.INT64_MAX)


def _not_a_boolean(value: object, spec: Field) -> str | None:
    """A JSON boolean (the mapping converts the cell's text with :func:`schema.parse_bool`)."""
    return _fails(not isinstance(value, bool))


def _not_a_date(value: object, spec: Field) -> str | None:
    return _fails(not schema.is_iso_date(str(value)))


# --- the table: order is the order of checking (the first error of a field is the one kept) ------
_URLS = ("url", "property url")

RULES: tuple[Rule, ...] = (
    Rule(
        MIN_LENGTH, ERROR, ("text",), "a name is at least 1 character",
        label="empty",
        message="{path} must not be empty",
        answer="size must be between {min} and {limit}",
        value=_too_short, column="too_short", needs="min_len",
    ),
    Rule(
        MAX_LENGTH, ERROR, ("text", "url"),
        "at most 40 characters for names, 200 for `photoUrl` and `background`, else 60",
        label="too long",
        message="{length} characters; Help Scout allows at most {limit} for {path}: shorten it",
        answer="size must be between {min} and {limit}",
        value=_too_long, column="too_long", needs="max_len",
    ),
    Rule(
        ENUM, ERROR, ("enum",), "one of the field's values (any case; sent in lower case)",
        label="not one of the allowed values",
        message="must be one of: {choices}; add a map: to translate other values",
        answer="must be one of: {choices}",
        value=_not_a_choice, column="not_a_choice", needs="choices",
    ),
    Rule(
        EMAIL, ERROR, ("email",), "a well-formed address, as email-validator judges it",
        label="not a valid email address",
        message="not a valid email address: {detail}",
        answer="must be a well-formed email address ({detail})",
        value=_not_an_email, column="not_an_email",
    ),
    Rule(
        URL, ERROR, _URLS, "a web address (the scheme may be left out)",
        label="not a valid web address",
        message="not a valid web address: write it like https://www.example.com/page",
        answer="must be a valid URL",
        value=_not_a_url, column="not_a_url",
    ),
    Rule(
        PHONE, ERROR, ("phone",), "not what a spreadsheet made of a number (-5361, 4.9E+12)",
        label="not a phone number",
        message="looks like the result of a spreadsheet formula or number format, not a phone "
        "number: re-export the column as text from the original data",
        value=_mangled_phone, column="mangled_phone",
    ),
    Rule(
        PHONE_NO_DIGIT, WARNING, ("phone",), "at least one digit (else sent as written)",
        label="a phone number without a digit",
        message="has no digit, so it is no phone number; it is sent as written: add it to the "
        "mapping's null_values to leave it out",
        value=_no_digit, column="no_digit",
    ),
    Rule(
        PHONE, ERROR, ("phone",), "a possible number (international, or national in its region)",
        label="not a phone number",
        message="{detail}", value=_impossible_phone, column="impossible_phone",
    ),
    Rule(
        PHONE_EMPTY, ERROR, ("phone",), "not blank (the API's answer; a blank cell is never sent)",
        answer="may not be empty", value=_blank,
    ),
    Rule(
        COUNTRY, ERROR, ("country",), "an ISO 3166-1 alpha-2 code, upper case",
        label="not a country",
        message="not an ISO 3166-1 alpha-2 country code: write a code like US or DE, "
        "or add transform: [country_code] to the mapping",
        answer="must be an ISO 3166-1 alpha-2 country code",
        value=_not_a_country, column="not_a_country",
    ),
    Rule(
        NUMBER, ERROR, ("property number",), "a whole number in the signed 64-bit range",
        label="not a whole number",
        message="not a whole number in the signed 64-bit range: write digits only, like 42",
        answer="must be an integer",
        value=_not_an_integer, column="not_an_integer",
    ),
    Rule(
        BOOL, ERROR, ("property bool",), "true/false, yes/no, y/n, 1/0, on/off, t/f",
        label="not yes or no",
        message="not a yes/no value: write true/false, yes/no or 1/0",
        answer="must be a boolean",
        value=_not_a_boolean, column="not_a_boolean",
    ),
    Rule(
        DATE, ERROR, ("property date",), "a date (the mapping reads it with its format:)",
        label="not a date",
        answer="must be a date in YYYY-MM-DD format", value=_not_a_date,
    ),
    Rule(
        DROPDOWN, ERROR, ("property dropdown",), "one of the property's options (the API's answer)",
        answer="must be one of the property's options", value=_not_an_option,
    ),
    Rule(
        MAX_LENGTH, ERROR, ("property text", "property dropdown"), "at most 255 characters",
        label="too long",
        message="{length} characters; a text property holds at most {limit}: shorten it",
        answer="size must be at most {limit}",
        value=_too_long, column="too_long", needs="max_len",
    ),
    Rule(
        RAGGED_ROW, ERROR, (ROW,), "no more cells than the header has names",
        label="more cells than the header has columns",
        message="this row has {actual} fields but the header has {expected}{line}: a delimiter "
        "or quote is missing or extra; fix the row so its values line up",
        column="ragged_rows",
    ),
    Rule(
        SHORT_ROW, WARNING, (ROW,), "as many cells as the header has names (else read as empty)",
        label="fewer cells than the header has columns",
        message="this row has {actual} fields but the header has {expected}: the last "
        "{missing} are read as empty; check nothing is missing",
        column="short_rows",
    ),
    Rule(
        UNNAMED_COLUMN, ERROR, (ROW,), "no value under a header without a name",
        label="a value under a header without a name",
        message="a value in column {column}, which has no name in the header: it would be lost; "
        "name the column in the header (and map it), or delete the value",
        column="stray_values",
    ),
    Rule(
        NOT_UTF8, ERROR, (ROW,), "UTF-8 like the rest of the file",
        message="line {line}: byte 0x{byte:02X} is not UTF-8, while the rest of the file is: fix "
        "the cell (retype its accented letters), or pass --encoding if the whole file is in "
        "another encoding",
        column="undecodable_rows",
    ),
    Rule(
        COUNTRY_REQUIRED, ERROR, (ROW,), "an address has a country",
        label="an address without a country",
        message="an address needs a country{how}", answer="may not be null",
        column="address_needs_country",
    ),
    Rule(
        EMPTY_ROW, ERROR, (ROW,), "not every mapped cell empty",
        message="every mapped cell of this row is empty: delete the row or fill it",
        column="empty_rows",
    ),
    Rule(
        NO_IDENTITY, WARNING, (ROW,), "a name or an email",
        label="no name and no email",
        message="no name and no email: Help Scout will create a nameless customer nobody can "
        "find; {fix}",
        column="no_identity",
    ),
    Rule(
        DUPLICATE_KEY, ERROR, (ROW,), "a key no earlier row has (with --duplicates error)",
        label="the same as an earlier row",
        message="the same {key} as row {first}: this row would create a duplicate; remove or "
        "merge it, or run with --duplicates first (or last) to import one of them",
        column="duplicate_keys",
    ),
    Rule(
        ADDRESS_DROPPED, WARNING, (MAPPING,), "an address without a country, with on_incomplete: "
        "drop, is left out",
        label="address left out",
    ),
)  # fmt: skip


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
