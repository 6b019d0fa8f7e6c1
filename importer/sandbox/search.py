"""Help Scout's search syntax (``parse_query``) and the email index behind the look-ups."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any


# --- email look-ups ----------------------------------------------------------------------------
class EmailIndex:
    """Emails to customer ids: exact (v3 filter, duplicate policy) and Help Scout's "containing"
    search (v2), which scans blocks of ``email\\tid`` lines with ``str.find`` rather than testing
    every address in Python, so looking before leaping stays cheap with many customers.

    The blocks are append-only: a changed or removed email leaves its line, so ``containing``
    gives candidates that the caller checks against the customers as they are now.
    """

    BLOCK = 4096

    def __init__(self) -> None:
        self.exact: dict[str, list[int]] = {}
        self._blocks: list[str] = []
        self._open: list[str] = []

    def add(self, email: str, customer_id: int) -> None:
        key = email.lower()
        self.exact.setdefault(key, []).append(customer_id)
        self._open.append(f"{key}\t{customer_id}")
        if len(self._open) == self.BLOCK:
            self._blocks.append("\n".join(self._open) + "\n")
            self._open = []

    def remove(self, email: str, customer_id: int) -> None:
        key = email.lower()
        holders = self.exact.get(key, [])
        if customer_id in holders:
            holders.remove(customer_id)
        if not holders:
            self.exact.pop(key, None)

    def containing(self, needle: str) -> set[int]:
        needle = needle.lower()
        found: set[int] = set()
        if not needle or "\t" in needle or "\n" in needle:
            return found
        for block in (*self._blocks, "\n".join(self._open) + "\n"):
            pos = block.find(needle)
            while pos != -1:
                tab, end = block.find("\t", pos), block.find("\n", pos)
                if tab < end:  # the match is in the email, not in the id after it
                    found.add(int(block[tab + 1 : end]))
                pos = block.find(needle, end)
        return found


# --- search syntax -------------------------------------------------------------------------------
class QueryError(ValueError):
    """A ``query`` (or filter) the sandbox cannot read; answered 400 naming what to write, with
    ``param`` the request parameter at fault."""

    def __init__(self, message: str, param: str = "query") -> None:
        super().__init__(message)
        self.param = param


#: A parsed query: ``("or"|"and", (node, ...))``, ``("match", field, text)`` or
#: ``("range", field, low, high)`` (ISO strings, None for ``*``).
Node = tuple[Any, ...]

_TOKENS = re.compile(
    r'\s*(?:(?P<quoted>"[^"]*")|(?P<range>\[[^\]]*\])|(?P<punct>[():])|(?P<word>[^\s():"\[\]]+))'
)
_KEYWORDS = frozenset({"AND", "OR", "NOT", "TO"})


def parse_query(text: str) -> Node:
    """Help Scout's search syntax as far as the sandbox answers it: ``field:"text"``,
    ``field:word``, ``field:("a" OR "b")``, ``field:[2024-01-01T00:00:00Z TO *]``, joined with
    ``AND`` / ``OR`` (AND binds tighter) and grouped with parentheses. Raises QueryError."""
    tokens: list[tuple[str, str]] = []
    position, end = 0, len(text.rstrip())
    while position < end:
        found = _TOKENS.match(text, position)
        if found is None or found.end() == position:
            rest = text[position:].strip()
            hint = "a quote is not closed" if rest.startswith('"') else "cannot read it"
            raise QueryError(f"{hint} at {rest[:20]!r}")
        kind = found.lastgroup or "word"
        tokens.append((kind, found.group(kind)))
        position = found.end()
    if not tokens:
        raise QueryError("the query is empty")
    parser = _QueryParser(tokens)
    node = parser.expression(None)
    if parser.peek() is not None:
        raise QueryError(f"unexpected {parser.peek()!r}: join terms with AND or OR")
    return node


class _QueryParser:
    """Recursive descent over the tokens; a field named before ``:(`` applies inside."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.at == len(self.tokens):
            raise QueryError("the query ends too soon")
        self.at += 1
        return self.tokens[self.at - 1]

    def expression(self, field: str | None) -> Node:
        return self.joined("OR", self.conjunction, field)

    def conjunction(self, field: str | None) -> Node:
        return self.joined("AND", self.atom, field)

    def joined(self, word: str, part: Callable[[str | None], Node], field: str | None) -> Node:
        """``part`` once, or several joined by ``word`` (a node of its own)."""
        parts = [part(field)]
        while self.peek() == word:
            self.take()
            parts.append(part(field))
        return parts[0] if len(parts) == 1 else (word.lower(), tuple(parts))

    def atom(self, field: str | None) -> Node:
        kind, text = self.take()
        if text == "(" and kind == "punct":
            node = self.expression(field)
            if self.peek() is None:
                raise QueryError("a parenthesis is not closed")
            if self.take() != ("punct", ")"):
                raise QueryError(
                    f"unexpected {self.tokens[self.at - 1][1]!r}: join terms with AND or OR"
                )
            return node
        if kind == "word" and text not in _KEYWORDS and self.peek() == ":":
            if field is not None:
                raise QueryError(f"{text}: a field inside {field}:(...) is not understood")
            self.take()
            return self.atom(text)
        if field is None or kind == "punct" or text in _KEYWORDS:
            raise QueryError(f'unexpected {text!r}: write field:value, e.g. email:"a@b.com"')
        if kind == "range":
            low, to, high = text[1:-1].strip().partition(" TO ")
            if not to:
                raise QueryError(f"{field}: a range is written [FROM TO UNTIL], * for open")
            return ("range", field, *(None if v.strip() == "*" else v.strip() for v in (low, high)))
        return ("match", field, text[1:-1] if kind == "quoted" else text)


def evaluate(
    node: Node,
    matchers: Mapping[str, Callable[[str], set[int]]],
    ranges: Mapping[str, Callable[[float | None, float | None], set[int]]],
) -> set[int]:
    """The ids a parsed query selects: ``matchers[field](text)`` and ``ranges[field](low, high)``
    (Unix seconds) give each term's ids; AND intersects, OR unites."""
    kind = node[0]
    if kind in ("and", "or"):
        found = evaluate(node[1][0], matchers, ranges)
        for part in node[1][1:]:
            if kind == "and" and not found:
                break
            other = evaluate(part, matchers, ranges)
            found = found & other if kind == "and" else found | other
        return found
    field = node[1]
    if kind == "range":
        if field not in ranges:
            raise QueryError(f"{field}: ranges are searched on {', '.join(ranges)} only")
        return ranges[field](*(None if v is None else parse_instant(v, field) for v in node[2:]))
    if field not in matchers:
        raise QueryError(f"{field}: the sandbox searches {', '.join(matchers)}")
    return matchers[field](node[2])


_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)")


def parse_instant(text: str, name: str) -> float:
    """``2019-05-21T12:00:00Z`` (or an offset instead of Z) as Unix seconds; QueryError else."""
    try:
        if not _INSTANT.fullmatch(text):
            raise ValueError(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise QueryError(
            f"{name}: expected an ISO 8601 time like 2019-05-21T12:00:00Z (no milliseconds; "
            "a + offset is written %2B in a URL)",
            name if name.endswith("Since") else "query",
        ) from None
