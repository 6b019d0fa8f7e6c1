"""Reading a mapping file: the YAML node tree checked into a :class:`Mapping`, naming lines."""

from __future__ import annotations

import datetime as dt
import stat
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from importer.core.errors import MappingError
from importer.customer import schema
from importer.customer.countries import resolve_country
from importer.mapping.apply import ENUM_CHOICES
from importer.mapping.model import SPLIT_NAME_FIELDS, Mapping, did_you_mean
from importer.mapping.spec import Property, Target, TypeFrom, Value
from importer.mapping.transforms import BEFORE_SPLIT, ONLY_ON, TRANSFORMS

_VALUE_KEYS = (
    "column", "value", "transform", "map", "default", "format", "null_values", "replace", "join",
    "on_invalid",
)  # fmt: skip
_SECTIONS = ("customer", "key", "null_values", "on_invalid", "phone_region")
ON_INCOMPLETE = ("error", "drop")
ON_INVALID = ("error", "drop")
#: The fields whose values are phone numbers, which take ``region:``.
PHONE_FIELDS = ("phone", "phones")
_NULL_TAG = "tag:yaml.org,2002:null"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
#: A mapping is a short file; one this big is something else.
MAX_MAPPING_BYTES = 1 << 20
#: How deep YAML may nest (a mapping needs about 7 levels); deeper is refused before
#: PyYAML's recursive composer runs out of stack.
MAX_DEPTH = 32


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, composing no deeper than :data:`MAX_DEPTH`."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file alone (the CSV is checked later, by :meth:`Mapping.bind`)."""
    where = str(path)
    return mapping_from_text(_read_text(Path(path), where), where)


def mapping_from_text(text: str, where: str) -> Mapping:
    """Check a mapping's YAML text as :func:`load_mapping` checks a file (``where`` names it in
    the errors): the review page checks its edits before anything is written."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except _TooDeep as exc:
        raise MappingError(
            f"the YAML nests more than {MAX_DEPTH} levels deep: a mapping needs a handful "
            "(check the brackets and indentation)",
            path=where,
            line=exc.mark.line + 1,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise MappingError(
            f"not valid YAML: {exc.problem or exc.context} (check the indentation and quotes)",
            path=where,
            line=mark.line + 1 if mark else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"not valid YAML: {exc}", path=where) from exc
    return _Reader(where).mapping(root)


def _read_text(path: Path, where: str) -> str:
    """The file's text: a regular file of at most :data:`MAX_MAPPING_BYTES`, in UTF-8."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise MappingError("is a directory, not a mapping file", path=where)
        if not stat.S_ISREG(info.st_mode):
            raise MappingError(
                "is not a regular file (a pipe or a device): save the mapping to a file",
                path=where,
            )
        if info.st_size > MAX_MAPPING_BYTES:
            raise MappingError(
                f"is {info.st_size:,} bytes: a mapping is a short YAML file (at most 1 MB)",
                path=where,
            )
        with path.open("rb") as file:
            data = file.read(MAX_MAPPING_BYTES + 1)
    except FileNotFoundError:
        raise MappingError("no such mapping file: check the path", path=where) from None
    except OSError as exc:
        raise MappingError(
            f"cannot read the mapping file: {exc.strerror or exc}", path=where
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MappingError(
            f"byte 0x{data[exc.start]:02X} is not UTF-8: save the mapping as UTF-8 text",
            path=where,
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from None


class _Reader:
    """Turns the YAML node tree into a :class:`Mapping`, naming the line of anything wrong."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.properties_found: dict[str, Property] = {}
        self.null_values: frozenset[str] = frozenset()
        self.on_incomplete: list[str] = ["error"]

    def fail(self, message: str, node: yaml.Node) -> MappingError:
        return MappingError(message, path=self.path, line=node.start_mark.line + 1)

    # --- YAML shapes ---
    def items(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """A YAML mapping's (key, key node, value node), refusing repeated keys."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(f"{what} must be a mapping of names to values (name: value)", node)
        seen: dict[str, yaml.Node] = {}
        found = []
        for key_node, value_node in node.value:
            key = self.text(key_node, "a name")
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise self.fail(
                    f"'{key}' is given twice (first on line {first}): keep one", key_node
                )
            seen[key] = key_node
            found.append((key, key_node, value_node))
        return found

    def text(self, node: yaml.Node, what: str) -> str:
        """A scalar as written (YAML 1.1's yes/no/octal never apply); null or empty refused."""
        if not isinstance(node, yaml.ScalarNode):
            shape = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
            raise self.fail(f"expected {what} here, not {shape}", node)
        if _is_empty(node):
            raise self.fail(f"{what} is missing here", node)
        return node.value

    def texts(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        """A scalar or a list of scalars."""
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        return [(self.text(n, what), n) for n in nodes]

    def column_name(self, node: yaml.Node, path: str) -> str:
        """A CSV column's name; a plain number is refused (``firstName: 1`` is no column
        anyone names), a quoted one is a name."""
        name = self.text(node, f"a column name for {path}")
        if node.tag in _NUMBER_TAGS and node.style is None:  # type: ignore[attr-defined]
            raise self.fail(
                f"expected a column name for {path} here, not the number {name}: if a column "
                f'is named so, quote it ("{name}")',
                node,
            )
        return name

    # --- the file ---
    def mapping(self, root: yaml.Node | None) -> Mapping:
        if root is None:
            raise MappingError(
                "the mapping file is empty: it needs a customer: section", path=self.path
            )
        if not isinstance(root, yaml.MappingNode):
            raise self.fail(
                "the mapping file must be a YAML mapping with a customer: section", root
            )
        sections = {}
        for name, key_node, value_node in self.items(root, "the mapping file"):
            if name not in _SECTIONS:
                hint = did_you_mean(name, _SECTIONS)
                raise self.fail(
                    f"unknown section '{name}'{hint}: use {', '.join(f'{s}:' for s in _SECTIONS)}",
                    key_node,
                )
            sections[name] = value_node
        if "customer" not in sections:
            raise self.fail("no customer: section: it says which column fills which field", root)
        if "null_values" in sections:
            self.null_values = self.nulls(sections["null_values"])
        targets = self.customer(sections["customer"])
        mapping = Mapping(self.path, tuple(targets), self.properties_found, "email", None, "email")
        mapping.on_incomplete = tuple(self.on_incomplete)
        if "on_invalid" in sections:
            mapping.on_invalid = self.choice(sections["on_invalid"], ON_INVALID, "on_invalid value")
        if "phone_region" in sections:
            mapping.phone_region = self.region(sections["phone_region"])
        self.key(mapping, sections.get("key"))
        return mapping

    def key(self, mapping: Mapping, node: yaml.Node | None) -> None:
        """Fill in what identifies a row: the first email, a field path, or a column's field."""
        emails = [t for t in mapping.targets if t.field == "emails"]
        if node is None:
            if emails:
                mapping.key_field = "emails.0.value"
            return
        key = self.text(node, "the key (email, a field or a column)")
        if key == "email":
            if not emails:
                raise self.fail(
                    "key: email, but the mapping fills no emails: map an email column", node
                )
            mapping.key_field = "emails.0.value"
            return
        paths = [p for p in mapping.sources if not p.endswith(".type")]
        by_column = [p for p in paths if mapping.sources[p] == key]
        if key in paths:
            mapping.key_field = key
        elif by_column:
            mapping.key_field = by_column[0]
        else:
            raise self.fail(
                f"key '{key}' is neither a field the mapping fills nor a column it reads: "
                f"use email, one of {', '.join(paths)}, or a column mapped to a field "
                "(a text property, for instance)",
                node,
            )
        mapping.key = key
        mapping.key_name = key

    # --- customer: ---
    def customer(self, node: yaml.Node) -> list[Target]:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
            raise self.fail("the customer: section is empty: map at least one field", node)
        targets: list[Target] = []
        names = [name for name, _, _ in self.items(node, "customer:")]
        for name, key_node, value_node in self.items(node, "customer:"):
            if name in schema.SCALARS:
                extra = ("region",) if name in PHONE_FIELDS else ()
                value, more = self.value_with(value_node, name, extra)
                targets.append(Target(name, self.valued(value, more)))
            elif name in schema.ENTRIES:
                targets += self.entries(value_node, name, schema.ENTRIES[name].types)
            elif name == "address":
                targets += self.address(value_node)
            elif name == "properties":
                targets += self.properties(value_node)
            elif name == "name":
                twice = [n for n in SPLIT_NAME_FIELDS if n in names]
                if twice:
                    raise self.fail(
                        f"name: fills firstName and lastName; {twice[0]}: too", key_node
                    )
                for part in SPLIT_NAME_FIELDS:
                    value = self.value(value_node, part)
                    if "split_name" not in value.transforms:
                        first = [t for t in value.transforms if t in BEFORE_SPLIT]
                        rest = [t for t in value.transforms if t not in BEFORE_SPLIT]
                        value = replace(value, transforms=(*first, "split_name", *rest))
                    targets.append(Target(part, value))
            else:
                hint = did_you_mean(name, (*schema.TOP_LEVEL_FIELDS, "name"))
                raise self.fail(
                    f"unknown field '{name}'{hint}; Help Scout customers have: "
                    f"{', '.join(schema.TOP_LEVEL_FIELDS)}",
                    key_node,
                )
        if not targets:
            raise self.fail("the customer: section maps no field: map at least one", node)
        return targets

    def entries(
        self, node: yaml.Node, name: str, types: tuple[str, ...], group: int = 0
    ) -> list[Target]:
        """A list field: one entry per column (an item holds several values with ``separator``)."""
        extra: tuple[str, ...] = ("type", "separator") if types else ("separator",)
        extra += ("region",) if name in PHONE_FIELDS else ()
        found = []
        for item in node.value if isinstance(node, yaml.SequenceNode) else [node]:
            value, more = self.value_with(item, name, extra)
            value = self.valued(value, more)
            entry_type = schema.ENTRIES[name].default_type if name in schema.ENTRIES else None
            type_from = None
            if "type" in more and isinstance(more["type"], yaml.MappingNode):
                type_from = self.type_from(more["type"], name, types)
                entry_type = type_from.default
            elif "type" in more:
                entry_type = self.choice(more["type"], types, f"type for {name}").lower()
            separator = None
            if "separator" in more:
                node_ = more["separator"]
                if _is_empty(node_):
                    raise self.fail("separator must not be empty", node_)
                separator = self.text(node_, "the separator (text such as ; or a space)")
            found.append(Target(name, value, True, entry_type, separator, type_from, group))
        return found

    def type_from(self, node: yaml.Node, name: str, types: tuple[str, ...]) -> TypeFrom:
        """``type: {column: ..., map: {cell: type}, default: type}``."""
        parts = {key: value for key, _, value in self.items(node, f"type for {name}")}
        unknown = [k for k in parts if k not in ("column", "map", "default")]
        if unknown:
            raise self.fail(
                f"unknown setting '{unknown[0]}' for the type of {name}; use column, map, default",
                node,
            )
        if "column" not in parts:
            raise self.fail(
                f"the type of {name} needs column: (the column that says the type), or is one "
                f"of: {', '.join(types)}",
                node,
            )
        column_node = parts["column"]
        column = self.column_name(column_node, f"the type of {name}")
        aliases: dict[str, str] = {}
        if "map" in parts:
            for key, _, value_node in self.items(parts["map"], f"map: of the type of {name}"):
                aliases[key.strip().lower()] = self.choice(value_node, types, f"type for {name}")
        default = schema.ENTRIES[name].default_type or types[0]
        if "default" in parts:
            default = self.choice(parts["default"], types, f"type for {name}")
        aliases = {k: v.lower() for k, v in aliases.items()}
        return TypeFrom(column, aliases, default.lower(), _line(column_node))

    def address(self, node: yaml.Node) -> list[Target]:
        """One address group, or a list of them tried in order."""
        if not isinstance(node, yaml.SequenceNode):
            return self.address_group(node, 0)
        if not node.value:
            raise self.fail("address: is an empty list: give at least one address", node)
        self.on_incomplete = []
        found = []
        for group, item in enumerate(node.value):
            found += self.address_group(item, group)
        return found

    def address_group(self, node: yaml.Node, group: int) -> list[Target]:
        found = []
        policy = "error"
        on_invalid = None
        fields = (*schema.ADDRESS, "on_incomplete", "on_invalid")
        for name, key_node, value_node in self.items(node, "address:"):
            if name == "lines":
                found += self.entries(value_node, "address.lines", (), group)
            elif name == "on_incomplete":
                policy = self.choice(value_node, ON_INCOMPLETE, "on_incomplete value").lower()
            elif name == "on_invalid":
                on_invalid = self.choice(value_node, ON_INVALID, "on_invalid value").lower()
            elif name in schema.ADDRESS:
                value = self.value(value_node, f"address.{name}")
                found.append(Target(f"address.{name}", value, group=group))
            else:
                hint = did_you_mean(name, fields)
                raise self.fail(
                    f"unknown address field '{name}'{hint}; an address has: {', '.join(fields)}",
                    key_node,
                )
        if group == len(self.on_incomplete):
            self.on_incomplete.append(policy)
        else:
            self.on_incomplete[group] = policy
        return [  # the group's on_invalid for its fields that set none
            replace(t, value=replace(t.value, on_invalid=t.value.on_invalid or on_invalid))
            for t in found
        ]

    def properties(self, node: yaml.Node) -> list[Target]:
        found = []
        for slug, _, value_node in self.items(node, "properties:"):
            path = f"properties.{slug}"
            kind = "text"
            type_node = _child(value_node, "type")
            if type_node is not None:
                kind = self.choice(type_node, schema.PROPERTY_TYPES, "property type").lower()
            value, _ = self.value_with(value_node, path, ("type",), date_format=kind == "date")
            if kind == "date" and "date" not in value.transforms:
                formats = value.formats or ("%Y-%m-%d",)
                value = replace(value, transforms=(*value.transforms, "date"), formats=formats)
            found.append(Target(path, value))
            formats_text = " or ".join(value.formats) or None
            self.properties_found[slug] = Property(slug, kind, formats_text, value.source)
        return found

    # --- one field's value ---
    def value(self, node: yaml.Node, path: str) -> Value:
        return self.value_with(node, path, ())[0]

    def value_with(
        self, node: yaml.Node, path: str, extra: tuple[str, ...], *, date_format: bool = False
    ) -> tuple[Value, dict[str, yaml.Node]]:
        """A column name, or ``{column|value, transform, map, default, format}`` and ``extra``."""
        if isinstance(node, yaml.ScalarNode):
            name = self.column_name(node, path)
            return Value(name, None, (), {}, None, (), _line(node), (), self.null_values), {}
        allowed = (*_VALUE_KEYS, *extra)
        parts: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, key_node, value_node in self.items(node, path):
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                raise self.fail(
                    f"unknown setting '{key}' for {path}{hint}; use {', '.join(allowed)}", key_node
                )
            parts[key] = (key_node, value_node)
        if ("column" in parts) == ("value" in parts):
            raise self.fail(
                f"{path} needs either column: (a CSV column) or value: (a constant)", node
            )
        choices = ENUM_CHOICES.get(path)
        column: str | None = None
        constant: str | None = None
        default: str | None = None
        line = _line(node)
        fallbacks: tuple[str, ...] = ()
        if "column" in parts:
            column_node = parts["column"][1]
            names = [
                (self.column_name(n, path), n)
                for n in (
                    column_node.value
                    if isinstance(column_node, yaml.SequenceNode)
                    else [column_node]
                )
            ]
            if not names:
                raise self.fail(f"column: of {path} is an empty list: name a column", column_node)
            column, fallbacks = names[0][0], tuple(n for n, _ in names[1:])
            line = _line(column_node)
        join: str | None = None
        if "join" in parts:
            key_node, join_node = parts["join"]
            if not fallbacks:
                raise self.fail(
                    f"join: puts the cells of several columns together: give {path} a column "
                    "list, e.g. column: [Street, House Number]",
                    key_node,
                )
            join = self.text(join_node, 'the text that joins the cells (join: " ")')
        nulls = self.null_values
        if "null_values" in parts:
            nulls = nulls | self.nulls(parts["null_values"][1])
        patterns = self.patterns(parts["replace"][1], path) if "replace" in parts else ()
        aliases = self.aliases(parts["map"][1], path, choices) if "map" in parts else {}
        if "value" in parts:
            constant = self.enum_value(parts["value"][1], path, choices, aliases, "value")
        if "default" in parts:
            default = self.enum_value(parts["default"][1], path, choices, aliases, "default")
        transforms = self.transforms(parts["transform"][1], path) if "transform" in parts else ()
        formats: tuple[str, ...] = ()
        if "format" in parts:
            key_node, format_node = parts["format"]
            if not (date_format or "date" in transforms):
                raise self.fail(
                    "format: is only read by the date transform or a date property", key_node
                )
            formats = tuple(
                self.date_format(text, n) for text, n in self.texts(format_node, "a date format")
            )
            if not formats:
                raise self.fail(
                    'format: is an empty list: give the date format, e.g. format: "%d/%m/%Y"',
                    format_node,
                )
        elif "date" in transforms:
            raise self.fail(
                f"the date transform needs format: (how {path} is written, "
                'e.g. format: "%d/%m/%Y")',
                parts["transform"][1],
            )
        more = {k: v for k, (_, v) in parts.items() if k in extra}
        on_invalid = None
        if "on_invalid" in parts:
            on_invalid = self.choice(parts["on_invalid"][1], ON_INVALID, "on_invalid value").lower()
        value = Value(
            column,
            constant,
            transforms,
            aliases,
            default,
            formats,
            line,
            fallbacks,
            nulls,
            patterns,
            join,
            on_invalid,
        )
        return value, more

    def valued(self, value: Value, more: dict[str, yaml.Node]) -> Value:
        """``value`` with a phone's ``region:`` from ``more``."""
        return replace(value, region=self.region(more["region"])) if "region" in more else value

    def region(self, node: yaml.Node) -> str:
        """A phone region: an ISO 3166-1 alpha-2 code (a country name resolves to its code)."""
        text = self.text(node, "a region (a two-letter country code such as DE)")
        code, problem = resolve_country(text)
        if code is None:
            raise self.fail(f"region {problem}", node)
        return code

    def nulls(self, node: yaml.Node) -> frozenset[str]:
        """``null_values``: a list of cells that mean "absent" (compared in lower case)."""
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(
                'null_values: must be a list of cells that mean "absent", like ["N/A", "-"]', node
            )
        texts = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                texts.append(self.text(item, "a cell that means absent"))  # refuses it
            texts.append(item.value.strip().lower())
        return frozenset(texts) - {""}

    def patterns(self, node: yaml.Node, path: str) -> tuple[tuple[str, str], ...]:
        """``replace: {pattern: text}``: RE2 patterns (checked now), each with its replacement
        (``\\1`` is the first group)."""
        found = []
        for pattern, key_node, value_node in self.items(node, f"replace: of {path}"):
            replacement = "" if _is_empty(value_node) else self.text(value_node, "the replacement")
            try:
                pc.replace_substring_regex(pa.array([""]), pattern, replacement)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                reason = str(exc).split(":", 1)[-1].strip()
                raise self.fail(
                    f"'{pattern}' is not a regular expression this tool reads ({reason}): "
                    "write it in RE2 syntax (no look-ahead or back-references)",
                    key_node,
                ) from None
            found.append((pattern, replacement))
        return tuple(found)

    def transforms(self, node: yaml.Node, path: str) -> tuple[str, ...]:
        names = []
        for name, item in self.texts(node, "a transform name"):
            if name not in TRANSFORMS:
                hint = did_you_mean(name, tuple(TRANSFORMS))
                raise self.fail(
                    f"unknown transform '{name}'{hint}; known: {', '.join(TRANSFORMS)}", item
                )
            fields = ONLY_ON.get(name)
            if fields and path.split(".")[0] not in fields:
                raise self.fail(f"{name} only fills {' and '.join(fields)}", item)
            names.append(name)
        return tuple(names)

    def aliases(
        self, node: yaml.Node, path: str, choices: tuple[str, ...] | None
    ) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for key, _, value_node in self.items(node, f"map: of {path}"):
            if _is_empty(value_node):
                found[key.lower()] = None
            elif choices:
                found[key.lower()] = self.choice(value_node, choices, path).lower()
            else:
                found[key.lower()] = self.text(value_node, f"the value '{key}' becomes")
        return found

    def enum_value(
        self,
        node: yaml.Node,
        path: str,
        choices: tuple[str, ...] | None,
        aliases: dict[str, str | None],
        what: str,
    ) -> str:
        text = self.text(node, f"the {what} of {path}")
        if not choices:
            return text
        if text.lower() in aliases:
            return text
        return self.choice(node, choices, path).lower()

    def choice(self, node: yaml.Node, choices: tuple[str, ...], what: str) -> str:
        """One of ``choices`` (case-insensitively), or an error listing them."""
        text = self.text(node, what)
        if text.lower() in choices:
            return text
        hint = did_you_mean(text.lower(), choices)
        raise self.fail(f"'{text}' is not a {what}{hint}; use one of: {', '.join(choices)}", node)

    def date_format(self, text: str, node: yaml.Node) -> str:
        try:
            example = dt.datetime(2024, 1, 31, 13, 45).strftime(text)
            dt.datetime.strptime(example, text)
        except ValueError:
            raise self.fail(
                f"'{text}' is not a usable date format: "
                "write it with strftime codes, e.g. %d/%m/%Y",
                node,
            ) from None
        if text == example:
            raise self.fail(f"'{text}' has no date codes: write it like %d/%m/%Y", node)
        return text


def _is_empty(node: yaml.Node) -> bool:
    """A null (``~``, ``null`` or nothing) or an empty string."""
    if not isinstance(node, yaml.ScalarNode):
        return False
    return (node.tag == _NULL_TAG and node.style is None) or node.value == ""


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    return None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1
