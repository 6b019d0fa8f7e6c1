"""A local Help Scout Mailbox API server (aiohttp.web) for trials, tests and benchmarks.

This machine has no internet, so the sandbox is where users, tests and benchmarks meet Help Scout.
It follows the project's HELPSCOUT_API.md, the recorded fixtures and the query shapes of real
clients (python-helpscout, helpscout-mailbox, tap-helpscout: see docs/sandbox.md); where the public
record is silent it makes the behaviour configurable (``SandboxConfig``). Routes:

- ``POST /v2/oauth2/token``: client credentials, or the ``refresh_token`` grant (a new access
  token and a rotated refresh token; the one used stops working), form or JSON. It neither spends
  the rate budget nor carries the ``X-RateLimit-*`` headers: the recorded real answers carry none.
- ``POST /v2/customers`` (validated by ``schema.check_payload``, the one source of the rules),
  ``GET|PUT|PATCH|DELETE /v2/customers/{id}`` (``DELETE ?async=true``: 202, gone
  ``async_delete_after`` seconds later), ``PATCH /v2/customers/{id}/properties``,
  ``GET|POST /v2/customers/{id}/{emails|phones|chats|social-profiles|websites}``,
  ``PUT|DELETE`` one of them by id, ``GET|POST|PUT|DELETE /v2/customers/{id}/address``,
  ``GET /v2/customer-properties``.
- ``GET /v2/customers``: ``firstName``, ``lastName`` (equal, ignoring case), ``modifiedSince``,
  ``mailbox`` (customers with a conversation there), ``query`` (``parse_query``: firstName,
  lastName, email and phone, the last two "containing", createdAt/modifiedAt ranges, AND/OR,
  parentheses), ``sortField``/``sortOrder`` (newest first by default), numbered pages of 50 whose
  absolute ``_links`` keep every parameter. ``GET /v3/customers``: the same with ``email``
  (exact) and ``createdSince``, newest first, paged by ``cursor``.
- ``GET /v2/conversations?query=(customerIds:ID)&status=all`` (status active by default) and
  ``GET /v2/conversations/{id}``: the conversations seeded for customers, so that what deletes
  customers can check them first. A customer's delete takes its conversations along.
- Outside the API, free of auth, budget and faults: ``GET /_sandbox/customers``,
  ``POST /_sandbox/customers`` (seed existing customers), ``POST /_sandbox/conversations``
  (``{"customerId": N, "status": "closed"}`` or a list), ``GET /_sandbox/stats``,
  ``POST /_sandbox/background-load``, ``POST /_sandbox/reset``. The same state is
  ``Sandbox.state`` in-process.

Answers: customers carry ``createdAt``/``updatedAt`` (ISO 8601 UTC, whole seconds; ``updatedAt``
moves on every change, entries and address included) and their entries under ``_embedded``, in
lists as in ``GET`` one; a field never set is left out (a PUT that leaves a field out makes it
null, as HELPSCOUT_API.md says). Times are the sandbox's clock plus the wall-clock offset at start.

Rate limit: one budget per clock minute for the account, writes (POST/PUT/PATCH/DELETE) cost 2
and reads 1. ``rate_window="fixed"`` (default) resets the budget at every multiple of 60 s of the
clock; ``"sliding"`` gives each request's cost back 60 s after it was spent (stricter on bursts).
Requests refused with 401 or 429 spend nothing; 500/503 faults do (the request reached the API).
Every API answer carries the ``X-RateLimit-*`` headers when a limit is set (none when unlimited).
``burst=(N, S)`` adds a write limit on top: at most N writes in any S seconds, then 429 with
``X-RateLimit-Retry-After``. ``background_load=P`` is another client of the same account (an
agent) spending the share P of the budget on reads, evenly spread, from the same window: the
importer sees ``X-RateLimit-Remaining-Minute`` drop, and the agent's requests and 429s are in
``GET /_sandbox/stats`` under ``background``; ``POST /_sandbox/background-load {"share": P}``
starts, changes or stops it mid-run.

Search lags (``search_lag``): a new customer shows in list and search answers (v2 and v3) only that
many seconds after its create, on the sandbox's clock; ``GET /v2/customers/{id}`` and the duplicate
policy see it at once, as behind a search index that lags.

Order of work for an API request: latency, the token check (401), the budget (429), faults before
the handler (500/503), the handler, faults after it (504 or a dropped connection: work done).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import itertools
import json
import logging
import math
import random
import re
import secrets
import signal
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from importer import schema
from importer.errors import ConfigError

__all__ = [
    "DEFAULT_PROPERTIES",
    "InvalidSeed",
    "QueryError",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "create_app",
    "load_properties",
    "parse_burst",
    "parse_query",
    "property_definitions",
    "serve",
]

TOKEN_PATH = "/v2/oauth2/token"
INSPECT_PREFIX = "/_sandbox/"
PAGE_SIZE = 50
WINDOW = 60.0
WRITE_METHODS = schema.WRITE_METHODS
ERRORS_DOC = "https://developer.helpscout.com/mailbox-api/overview/errors/"
HAL_JSON = "application/hal+json;charset=UTF-8"
VND_ERROR = "application/vnd.error+json"
PLAIN_JSON = "application/json;charset=UTF-8"
BEFORE_FAULTS = ("500", "503")
AFTER_FAULTS = ("504", "drop")

OWN_FIELDS = schema.OWN_FIELDS
#: URL segment of an entry endpoint -> (payload field, key under the customer's ``_embedded``).
ENTRY_KINDS = {
    segment: (field, embedded) for field, (embedded, segment) in schema.ENTRY_PATHS.items()
}
EMBEDDED_OF = {payload_field: key for payload_field, key in ENTRY_KINDS.values()}
LINK_RELS = ("address", "chats", "emails", "phones", "social-profiles", "websites")

#: ``sortField`` of ``GET /v2/customers`` (the docs' list); ``score`` orders as ``createdAt``: every
#: match of the sandbox's search scores the same.
CUSTOMER_SORTS = ("createdAt", "firstName", "lastName", "modifiedAt", "score")
CONVERSATION_SORTS = ("createdAt", "modifiedAt", "number", "score", "status", "subject")
SORT_ORDERS = ("asc", "desc")
CONVERSATION_STATUSES = ("active", "pending", "closed", "spam")
CONVERSATION_TYPES = ("email", "chat", "phone")

DEFAULT_PROPERTIES: tuple[dict[str, Any], ...] = (
    {"type": "text", "slug": "plan", "name": "Plan"},
    {"type": "date", "slug": "signup-date", "name": "Signup Date"},
    {"type": "number", "slug": "seats", "name": "Seats"},
    {"type": "text", "slug": "customer-id", "name": "Customer ID"},
    {"type": "date", "slug": "subscription-date", "name": "Subscription Date"},
    {"type": "bool", "slug": "vip", "name": "VIP"},
    {"type": "url", "slug": "profile-url", "name": "Profile URL"},
    {
        "type": "dropdown",
        "slug": "tier",
        "name": "Tier",
        "options": [
            {"id": "1", "label": "Bronze"},
            {"id": "2", "label": "Silver"},
            {"id": "3", "label": "Gold"},
        ],
    },
)
MAX_PROPERTIES = 50


@dataclass
class SandboxConfig:
    """How the sandbox behaves; the defaults are a friendly, unlimited, fault-free account.

    ``rate_limit`` is the budget per minute (None or 0: unlimited). ``latency_ms`` (plus or minus up
    to ``jitter_ms``) is slept before each API request, so concurrent requests overlap as over a
    network. Faults, on every API request but the token's: ``fail_rate`` answers 500/503 (one of
    ``fail_statuses``) before doing anything; ``gateway_timeout_rate`` answers 504 and
    ``drop_rate`` closes the connection without an answer AFTER the work was done. ``schedule``
    maps the n-th create request (1-based, counting those past the token check and the budget) to
    "500", "503", "504" or "drop". Forced token expiry: ``token_revoke_after`` seconds after issue
    (whatever ``expires_in`` promised), or every ``token_revoke_every`` authenticated requests
    (that request gets the 401 and every token dies). ``seed`` makes the dice reproducible.
    ``duplicate_email="conflict"`` answers 409 to a create (or a new email entry) whose email a
    customer already has; ``"allow"`` creates a second profile (Help Scout's choice is unknown).
    ``deny_api`` is an account whose plan has no API access: tokens are issued, then every API
    request answers 403. ``search_lag`` is how many seconds a new customer stays out of list and
    search answers (v2 and v3) after its create, as a search index that lags behind writes would;
    ``GET /v2/customers/{id}`` finds it at once. ``burst=(N, S)`` allows at most N writes in any S
    seconds (Help Scout's older API: 12 per 5 s); more answer 429. ``background_load`` is the
    share of ``rate_limit`` a simulated agent of the same account spends on reads, evenly spread.
    ``refresh_token`` is the first refresh token of the authorization-code flow (each use rotates
    it). ``async_delete_after`` is how long a ``DELETE ...?async=true`` takes to happen.
    ``conversations`` exist from the start: ``{"customerId": N, "status": "active", "subject":
    ..., "mailboxId": 1}`` each, for customers present or to come (ids are ``first_id``,
    ``first_id + 1``... in create order).
    """

    app_id: str = "sandbox-app-id"
    app_secret: str = "sandbox-secret"
    token_ttl: float = 172800.0
    rate_limit: int | None = None
    rate_window: Literal["fixed", "sliding"] = "fixed"
    retry_after_header: bool = False
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fail_rate: float = 0.0
    fail_statuses: tuple[int, ...] = (500, 503)
    gateway_timeout_rate: float = 0.0
    drop_rate: float = 0.0
    schedule: Mapping[int, str] = field(default_factory=dict)
    token_revoke_after: float | None = None
    token_revoke_every: int | None = None
    duplicate_email: Literal["allow", "conflict"] = "allow"
    deny_api: bool = False
    search_lag: float = 0.0
    burst: tuple[int, float] | None = None
    background_load: float = 0.0
    refresh_token: str = "sandbox-refresh-token"
    async_delete_after: float = 2.0
    conversations: Sequence[Mapping[str, Any]] = ()
    seed: int | None = None
    first_id: int = 100_000_001
    properties: Sequence[Mapping[str, Any]] = DEFAULT_PROPERTIES
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        """Refuse settings that cannot work (ConfigError: exit 2 in the CLI)."""
        if self.duplicate_email not in ("allow", "conflict"):
            raise ConfigError(
                f"duplicate_email must be allow or conflict, not {self.duplicate_email!r}"
            )
        if self.rate_window not in ("fixed", "sliding"):
            raise ConfigError(f"rate_window must be fixed or sliding, not {self.rate_window!r}")
        if self.rate_limit is not None and self.rate_limit < 0:
            raise ConfigError("rate_limit must be 0 (unlimited) or a positive number per minute")
        for name in ("fail_rate", "gateway_timeout_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be a probability between 0 and 1")
        if self.gateway_timeout_rate + self.drop_rate > 1.0:
            raise ConfigError("gateway_timeout_rate + drop_rate must not exceed 1")
        if not self.fail_statuses or any(not 500 <= s <= 599 for s in self.fail_statuses):
            raise ConfigError("fail_statuses must be 5xx statuses")
        self.schedule = {int(n): str(fault) for n, fault in self.schedule.items()}
        for n, fault in self.schedule.items():
            if fault not in BEFORE_FAULTS + AFTER_FAULTS:
                raise ConfigError(
                    f"schedule: create {n}: unknown fault {fault!r}; use one of "
                    f"{', '.join(BEFORE_FAULTS + AFTER_FAULTS)}"
                )
        if self.token_revoke_every is not None and self.token_revoke_every < 1:
            raise ConfigError("token_revoke_every must be at least 1")
        if not 0.0 <= self.search_lag < math.inf:
            raise ConfigError("search_lag must be 0 or more seconds")
        if self.burst is not None:
            count, seconds = self.burst
            if count < 1 or not 0 < seconds < math.inf:
                raise ConfigError("burst must be N writes per S seconds, both above 0 (e.g. 12/5)")
        if not 0.0 <= self.background_load <= 1.0:
            raise ConfigError("background_load must be a share of the budget between 0 and 1")
        if not self.refresh_token:
            raise ConfigError("refresh_token must not be empty")
        if not 0.0 <= self.async_delete_after < math.inf:
            raise ConfigError("async_delete_after must be 0 or more seconds")
        for i, seed in enumerate(self.conversations):
            problem = _conversation_problem(seed)
            if problem:
                raise ConfigError(f"conversation {i + 1}: {problem}")
        if self.background_load and not self.rate_limit:
            raise ConfigError(
                "background_load needs a rate_limit (--rate-limit N): it is a share of that budget"
            )
        property_definitions(self.properties)


def _conversation_problem(seed: object) -> str | None:
    """What is wrong with a conversation to seed, or None: ``customerId`` (a positive integer) is
    needed; ``status``, ``type``, ``mailboxId`` and ``subject`` are optional."""
    if not isinstance(seed, Mapping):
        return 'expected an object like {"customerId": 100000001, "status": "closed"}'
    customer_id, mailbox = seed.get("customerId"), seed.get("mailboxId", 1)
    if isinstance(customer_id, bool) or not isinstance(customer_id, int) or customer_id < 1:
        return "customerId must be a customer's id"
    if seed.get("status", "active") not in CONVERSATION_STATUSES:
        return f"status must be one of {', '.join(CONVERSATION_STATUSES)}"
    if seed.get("type", "email") not in CONVERSATION_TYPES:
        return f"type must be one of {', '.join(CONVERSATION_TYPES)}"
    if isinstance(mailbox, bool) or not isinstance(mailbox, int) or mailbox < 1:
        return "mailboxId must be a positive integer"
    if not isinstance(seed.get("subject", ""), str):
        return "subject must be text"
    unknown = set(seed) - {"customerId", "status", "type", "mailboxId", "subject"}
    if unknown:
        return f"unknown field {sorted(unknown)[0]!r}"
    return None


def parse_burst(text: str) -> tuple[int, float]:
    """``"12/5"`` -> ``(12, 5.0)``: at most 12 writes in any 5 seconds."""
    count, slash, seconds = text.partition("/")
    try:
        burst = (int(count), float(seconds))
    except ValueError:
        burst = (0, 0.0)
    if not slash or burst[0] < 1 or not 0 < burst[1] < math.inf:
        raise ConfigError(f"burst {text!r}: write it N/S, N writes in any S seconds (e.g. 12/5)")
    return burst


def property_definitions(properties: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The account's customer properties by slug, as ``schema.check_payload`` wants them."""
    found: dict[str, dict[str, Any]] = {}
    for i, prop in enumerate(properties):
        slug, kind = prop.get("slug"), prop.get("type")
        if not isinstance(slug, str) or not slug:
            raise ConfigError(f"customer property {i + 1}: needs a slug")
        if kind not in schema.PROPERTY_TYPES:
            raise ConfigError(
                f"customer property {slug!r}: type must be one of "
                f"{', '.join(schema.PROPERTY_TYPES)}, not {kind!r}"
            )
        if slug in found:
            raise ConfigError(f"customer property {slug!r} is defined twice")
        found[slug] = {"type": kind, "slug": slug, "name": prop.get("name") or slug}
        if prop.get("options"):
            found[slug]["options"] = [dict(o) for o in prop["options"]]
    if len(found) > MAX_PROPERTIES:
        raise ConfigError(
            f"{len(found)} customer properties: Help Scout allows at most {MAX_PROPERTIES}"
        )
    return found


def load_properties(path: str | Path) -> list[dict[str, Any]]:
    """Read property definitions from JSON or YAML: a list of ``{type, slug, name, options?}``,
    or a saved ``GET /v2/customer-properties`` answer, so a real account's set can be replayed."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read customer properties: {exc}") from exc
    if isinstance(data, dict):
        embedded = data.get("_embedded", data)
        data = embedded.get("customer-properties") if isinstance(embedded, dict) else None
    if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
        raise ConfigError(
            f"{path}: expected a list of customer properties "
            "({type, slug, name}) or a GET /v2/customer-properties answer"
        )
    return list(property_definitions(data).values())


# --- rate budget ---------------------------------------------------------------------------------
class _FixedWindow:
    """The budget resets at every multiple of 60 s of the clock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._start = -math.inf
        self._used = 0

    def _roll(self, now: float) -> None:
        start = now // WINDOW * WINDOW
        if start != self._start:
            self._start, self._used = start, 0

    def remaining(self, now: float) -> int:
        self._roll(now)
        return self.limit - self._used

    def take(self, cost: int, now: float) -> float | None:
        """Spend ``cost``; None when spent, else the seconds until it would fit."""
        self._roll(now)
        if self._used + cost > self.limit:
            return self._start + WINDOW - now
        self._used += cost
        return None


class _SlidingWindow:
    """Each request's cost comes back 60 s after it was spent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._spent: deque[tuple[float, int]] = deque()
        self._used = 0

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - WINDOW:
            self._used -= self._spent.popleft()[1]

    def remaining(self, now: float) -> int:
        self._expire(now)
        return self.limit - self._used

    def take(self, cost: int, now: float) -> float | None:
        self._expire(now)
        missing = self._used + cost - self.limit
        if missing > 0:
            for spent_at, spent in self._spent:
                missing -= spent
                if missing <= 0:
                    return spent_at + WINDOW - now
            return WINDOW
        self._spent.append((now, cost))
        self._used += cost
        return None


class _Burst:
    """At most ``count`` writes in any ``seconds``: a limit on top of the minute's budget."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count, self.seconds = count, seconds
        self._writes: deque[float] = deque()

    def wait(self, now: float) -> float | None:
        """None when one more write fits now, else the seconds until it would."""
        writes = self._writes
        while writes and writes[0] <= now - self.seconds:
            writes.popleft()
        if len(writes) < self.count:
            return None
        return writes[0] + self.seconds - now

    def record(self, now: float) -> None:
        self._writes.append(now)


class _Agent:
    """A simulated agent of the same account: reads spending ``share`` of the minute's budget,
    one every ``60 / (share x limit)`` seconds, from the same window as every other client.

    It is simulated lazily: ``catch_up(now)`` makes the reads that fell due since the last call,
    each at its own time, so a fake clock drives it exactly and a live sandbox (which calls it on
    every request and a few times a second) is the same account as with a real agent.
    """

    def __init__(self, limiter: _FixedWindow | _SlidingWindow, share: float, now: float) -> None:
        self.limiter = limiter
        self.requests = self.rate_limited = 0
        self.share = 0.0
        self.set_share(share, now)

    def set_share(self, share: float, now: float) -> None:
        """Change the load from now on (what fell due before is spent at the old one)."""
        self.catch_up(now)
        self.share, self._origin, self._done = share, now, 0

    def catch_up(self, now: float) -> None:
        if not self.share:
            return
        interval = WINDOW / (self.share * self.limiter.limit)
        due = math.floor((now - self._origin) / interval) + 1
        while self._done < due:
            at = self._origin + self._done * interval
            self._done += 1
            self.requests += 1
            if self.limiter.take(1, at) is not None:
                self.rate_limited += 1

    def summary(self) -> dict[str, float | int]:
        return {"share": self.share, "requests": self.requests, "rate_limited": self.rate_limited}


# --- email look-ups ----------------------------------------------------------------------------
class _EmailIndex:
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
        parts = [self.conjunction(field)]
        while self.peek() == "OR":
            self.take()
            parts.append(self.conjunction(field))
        return parts[0] if len(parts) == 1 else ("or", tuple(parts))

    def conjunction(self, field: str | None) -> Node:
        parts = [self.atom(field)]
        while self.peek() == "AND":
            self.take()
            parts.append(self.atom(field))
        return parts[0] if len(parts) == 1 else ("and", tuple(parts))

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


def _evaluate(
    node: Node,
    matchers: Mapping[str, Callable[[str], set[int]]],
    ranges: Mapping[str, Callable[[float | None, float | None], set[int]]],
) -> set[int]:
    """The ids a parsed query selects: ``matchers[field](text)`` and ``ranges[field](low, high)``
    (Unix seconds) give each term's ids; AND intersects, OR unites."""
    kind = node[0]
    if kind in ("and", "or"):
        found = _evaluate(node[1][0], matchers, ranges)
        for part in node[1][1:]:
            if kind == "and" and not found:
                break
            other = _evaluate(part, matchers, ranges)
            found = found & other if kind == "and" else found | other
        return found
    field = node[1]
    if kind == "range":
        if field not in ranges:
            raise QueryError(f"{field}: ranges are searched on {', '.join(ranges)} only")
        return ranges[field](*(None if v is None else _parse_instant(v, field) for v in node[2:]))
    if field not in matchers:
        raise QueryError(f"{field}: the sandbox searches {', '.join(matchers)}")
    return matchers[field](node[2])


_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)")


def _parse_instant(text: str, name: str) -> float:
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


class InvalidSeed(ValueError):
    """Seed customers that break Help Scout's rules (``violations`` says which)."""

    def __init__(self, violations: list[schema.Violation]) -> None:
        super().__init__("; ".join(f"{v.path}: {v.message}" for v in violations))
        self.violations = violations


# --- state ---------------------------------------------------------------------------------------
class SandboxState:
    """Everything the sandbox holds: customers, tokens, budget, fault dice, request counts.

    ``customers`` maps id to a stored record (own fields, None when unset, with ``nulled`` the
    ones a PUT or PATCH made null; ``created``/``updated`` on the sandbox's clock; entry lists
    under their ``_embedded`` names; ``address`` or None; ``properties`` by slug);
    ``conversations`` maps id to ``{id, number, customerId, status, type, subject, mailboxId,
    created, updated}``; ``stats`` counts answers by ``(method, route, status)`` where route is
    the route's pattern and status an int or ``"dropped"``.

    Timestamps are the sandbox's clock plus a fixed offset taken at start, so ``createdAt`` reads
    as the wall-clock time and moves when a test's fake clock does.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.wall_offset = time.time() - config.clock()
        self.properties = property_definitions(config.properties)
        self.tokens: dict[str, float] = {}
        self.refresh_tokens = {config.refresh_token}
        self.tokens_issued = 0
        self.reset()

    def reset(self) -> None:
        """Back to a fresh account (customers, conversations, counts, budget, fault dice); tokens
        survive, so a connected client carries on."""
        cfg = self.config
        self.customers: dict[int, dict[str, Any]] = {}
        self.conversations: dict[int, dict[str, Any]] = {}
        self.deleting: dict[int, float] = {}  # async deletes: customer id -> when it goes
        self.stats: Counter[tuple[str, str, int | str]] = Counter()
        self.emails = _EmailIndex()
        self.limiter: _FixedWindow | _SlidingWindow | None = None
        self.agent: _Agent | None = None
        if cfg.rate_limit:
            window = _FixedWindow if cfg.rate_window == "fixed" else _SlidingWindow
            self.limiter = window(cfg.rate_limit)
            self.agent = _Agent(self.limiter, cfg.background_load, cfg.clock())
        self.burst = _Burst(*cfg.burst) if cfg.burst else None
        self.creates_seen = 0
        self.authorized_seen = 0
        self.fault_dice = random.Random(cfg.seed)
        self.latency_dice = random.Random(cfg.seed)
        self._next_id = cfg.first_id
        self._next_entry_id = 1
        self._next_conversation = 1
        for seed in cfg.conversations:
            self.add_conversation(seed)

    # customers
    def add_customer(self, payload: Mapping[str, Any]) -> int:
        """Store a valid Create Customer payload; returns the new id."""
        customer_id, self._next_id = self._next_id, self._next_id + 1
        customer: dict[str, Any] = {"id": customer_id}
        for name in OWN_FIELDS:
            customer[name] = payload.get(name)
        customer["created"] = customer["updated"] = self.config.clock()
        customer["nulled"] = set()  # own fields a PUT or PATCH made null (shown as null)
        for key in EMBEDDED_OF.values():
            customer[key] = []
        customer["address"] = None
        customer["properties"] = dict(payload.get("properties") or {})
        self.customers[customer_id] = customer
        for payload_field, key in EMBEDDED_OF.items():
            for item in payload.get(payload_field) or ():
                self.add_entry(customer, key, item)
        if payload.get("phone"):
            phone_type = schema.ENTRIES["phones"].default_type
            self.add_entry(customer, "phones", {"type": phone_type, "value": payload["phone"]})
        if payload.get("address"):
            self.set_address(customer, payload["address"])
        return customer_id

    def add_entry(self, customer: dict[str, Any], key: str, item: Mapping[str, Any]) -> int:
        entry_id, self._next_entry_id = self._next_entry_id, self._next_entry_id + 1
        entry = {"id": entry_id, "value": item["value"]}
        if key != "websites":
            entry["type"] = item["type"]
        customer[key].append(entry)
        if key == "emails":
            self.emails.add(item["value"], customer["id"])
        self.touch(customer)
        return entry_id

    def set_fields(self, customer: dict[str, Any], changes: Mapping[str, Any]) -> None:
        """Own fields changed by PUT or PATCH; None makes a field null (shown), not unset."""
        for name, value in changes.items():
            customer[name] = value
            if value is None:
                customer["nulled"].add(name)
            else:
                customer["nulled"].discard(name)
        self.touch(customer)

    @staticmethod
    def entry(customer: Mapping[str, Any], key: str, entry_id: int) -> dict[str, Any] | None:
        return next((e for e in customer[key] if e["id"] == entry_id), None)

    def replace_entry(
        self, customer: dict[str, Any], key: str, entry: dict[str, Any], item: Mapping[str, Any]
    ) -> None:
        if key == "emails":
            self.emails.remove(entry["value"], customer["id"])
            self.emails.add(item["value"], customer["id"])
        entry["value"] = item["value"]
        if key != "websites":
            entry["type"] = item["type"]
        self.touch(customer)

    def remove_entry(self, customer: dict[str, Any], key: str, entry: dict[str, Any]) -> None:
        customer[key].remove(entry)
        if key == "emails":
            self.emails.remove(entry["value"], customer["id"])
        self.touch(customer)

    def set_address(self, customer: dict[str, Any], address: Mapping[str, Any] | None) -> None:
        """Replace the address (None removes it); parts not given are left out."""
        if address is None:
            customer["address"] = None
        else:
            customer["address"] = {
                n: address[n] for n in schema.ADDRESS if address.get(n) is not None
            }
        self.touch(customer)

    def delete_customer(self, customer_id: int) -> None:
        """A hard delete, as Help Scout's: the customer and its conversations go."""
        customer = self.customers.pop(customer_id)
        for entry in customer["emails"]:
            self.emails.remove(entry["value"], customer_id)
        self.deleting.pop(customer_id, None)
        for conversation_id in self.conversations_of(customer_id):
            del self.conversations[conversation_id]

    def delete_later(self, customer_id: int, now: float) -> None:
        """``DELETE ?async=true``: gone ``async_delete_after`` seconds from now."""
        self.deleting.setdefault(customer_id, now + self.config.async_delete_after)

    def touch(self, customer: dict[str, Any]) -> None:
        """Record a change: ``updatedAt`` moves to now."""
        customer["updated"] = self.config.clock()

    def iso(self, stamp: float) -> str:
        """A time on the sandbox's clock as Help Scout writes it: ISO 8601 UTC, whole seconds."""
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.unix(stamp)))

    def unix(self, stamp: float) -> int:
        """A time on the sandbox's clock as whole Unix seconds, as the answers show it."""
        return math.floor(stamp + self.wall_offset)

    def searchable(self, customer_ids: Iterable[int], now: float) -> list[int]:
        """The ids the search index has caught up with (``search_lag`` after their create)."""
        lag = self.config.search_lag
        if not lag:
            return list(customer_ids)
        customers = self.customers
        return [i for i in customer_ids if customers[i]["created"] + lag <= now]

    def email_taken(self, emails: Iterable[str], by_other_than: int | None = None) -> bool:
        exact = self.emails.exact
        return any(set(exact.get(e.lower(), ())) - {by_other_than} for e in emails)

    def emails_containing(self, text: str) -> set[int]:
        """Help Scout's email search: customers with an email containing ``text``."""
        needle, customers = text.lower(), self.customers
        return {
            i
            for i in self.emails.containing(needle)
            if i in customers and any(needle in e["value"].lower() for e in customers[i]["emails"])
        }

    # search
    def select_customers(
        self,
        query: str | None,
        now: float,
        *,
        names: Mapping[str, str] | None = None,
        email: str | None = None,
        created_since: float | None = None,
        modified_since: float | None = None,
        mailbox: int | None = None,
    ) -> list[int]:
        """The ids a list or search answer holds, in no order: matching ``query`` (QueryError if
        unreadable) and every filter (``names``: firstName/lastName equal, ignoring case;
        ``email`` exactly; ``..._since``: created/updated at or after those Unix seconds;
        ``mailbox``: with a conversation there), and caught up by the index (``search_lag``)."""
        customers = self.customers
        ids: Iterable[int] = customers
        if query is not None:
            ids = _evaluate(parse_query(query), *self._customer_terms())
        if email is not None:
            ids = set(ids) & set(self.emails.exact.get(email.lower(), ()))
        if mailbox is not None:
            ids = set(ids) & {
                c["customerId"] for c in self.conversations.values() if c["mailboxId"] == mailbox
            }
        tests = [(n, v.casefold()) for n, v in (names or {}).items()]
        stamps = [
            (k, v)
            for k, v in (("created", created_since), ("updated", modified_since))
            if v is not None
        ]
        if tests or stamps:
            unix = self.unix
            ids = [
                i
                for i in ids
                if all((customers[i][n] or "").casefold() == v for n, v in tests)
                and all(unix(customers[i][key]) >= floor for key, floor in stamps)
            ]
        return self.searchable(ids, now)

    def _customer_terms(
        self,
    ) -> tuple[dict[str, Callable[[str], set[int]]], dict[str, Callable[..., set[int]]]]:
        """The query's fields over customers: email and phone match when containing the text,
        names when equal (ignoring case); createdAt and modifiedAt take ranges."""
        customers, unix = self.customers, self.unix

        def name(field: str) -> Callable[[str], set[int]]:
            return lambda text: {
                i for i, c in customers.items() if (c[field] or "").casefold() == text.casefold()
            }

        def phone(text: str) -> set[int]:
            needle = text.lower()
            return {
                i
                for i, c in customers.items()
                if any(needle in p["value"].lower() for p in c["phones"])
            }

        def stamped(key: str) -> Callable[..., set[int]]:
            return lambda low, high: {
                i for i, c in customers.items() if _within(unix(c[key]), low, high)
            }

        matchers = {
            "firstName": name("firstName"),
            "lastName": name("lastName"),
            "email": self.emails_containing,
            "phone": phone,
        }
        return matchers, {"createdAt": stamped("created"), "modifiedAt": stamped("updated")}

    def order_customers(self, ids: Iterable[int], field: str, descending: bool) -> list[int]:
        """``sortField`` order, ties by id; customers without the field come last."""
        customers = self.customers
        if field in ("firstName", "lastName"):
            return _ordered(ids, lambda i: _folded(customers[i][field]), descending)
        key = "updated" if field == "modifiedAt" else "created"
        return _ordered(ids, lambda i: customers[i][key], descending)

    # conversations
    def add_conversation(self, seed: Mapping[str, Any]) -> int:
        """Store a conversation (``_conversation_problem`` says whether ``seed`` is one)."""
        conversation_id, self._next_conversation = (
            self._next_conversation,
            self._next_conversation + 1,
        )
        now = self.config.clock()
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "number": conversation_id,
            "customerId": seed["customerId"],
            "status": seed.get("status", "active"),
            "type": seed.get("type", "email"),
            "subject": seed.get("subject") or f"Conversation {conversation_id}",
            "mailboxId": seed.get("mailboxId", 1),
            "created": now,
            "updated": now,
        }
        return conversation_id

    def conversations_of(self, customer_id: int) -> list[int]:
        return [i for i, c in self.conversations.items() if c["customerId"] == customer_id]

    def select_conversations(
        self,
        query: str | None,
        statuses: Iterable[str],
        *,
        mailbox: int | None = None,
        since: float | None = None,
    ) -> list[int]:
        """Conversations matching ``query`` (customerIds, email, subject), with one of
        ``statuses``, in ``mailbox``, modified at or after ``since`` (Unix seconds)."""
        conversations, unix = self.conversations, self.unix
        ids: Iterable[int] = conversations
        if query is not None:
            ids = _evaluate(parse_query(query), self._conversation_terms(), {})
        wanted = set(statuses)
        return [
            i
            for i in ids
            if conversations[i]["status"] in wanted
            and (mailbox is None or conversations[i]["mailboxId"] == mailbox)
            and (since is None or unix(conversations[i]["updated"]) >= since)
        ]

    def _conversation_terms(self) -> dict[str, Callable[[str], set[int]]]:
        conversations = self.conversations

        def customer_ids(text: str) -> set[int]:
            if not text.isdigit():
                raise QueryError(f"customerIds: {text!r} is not a customer id")
            return {i for i, c in conversations.items() if c["customerId"] == int(text)}

        def email(text: str) -> set[int]:
            holders = self.emails_containing(text)
            return {i for i, c in conversations.items() if c["customerId"] in holders}

        def subject(text: str) -> set[int]:
            needle = text.casefold()
            return {i for i, c in conversations.items() if needle in c["subject"].casefold()}

        return {"customerIds": customer_ids, "email": email, "subject": subject}

    def order_conversations(self, ids: Iterable[int], field: str, descending: bool) -> list[int]:
        conversations = self.conversations
        keys: dict[str, Callable[[int], Any]] = {
            "modifiedAt": lambda i: conversations[i]["updated"],
            "number": lambda i: conversations[i]["number"],
            "status": lambda i: conversations[i]["status"],
            "subject": lambda i: conversations[i]["subject"].casefold(),
        }
        return _ordered(ids, keys.get(field, lambda i: conversations[i]["created"]), descending)

    def seed(self, payloads: Iterable[Any]) -> list[int]:
        """Add existing customers, bypassing the budget and the duplicate policy; all or none.

        Raises ``InvalidSeed`` (its ``violations`` paths prefixed ``[i].``) when any payload
        breaks a rule, as a create would.
        """
        payloads = list(payloads)
        violations = [
            schema.Violation(f"[{i}].{v.path}", v.rule, v.message, v.rejected_value)
            for i, payload in enumerate(payloads)
            for v in schema.check_payload(payload, self.properties)
        ]
        if violations:
            raise InvalidSeed(violations)
        return [self.add_customer(p) for p in payloads]

    # tokens
    def rotate_refresh_token(self, refresh_token: str) -> str | None:
        """A new refresh token for a valid one, which stops working; None if it is not valid."""
        if refresh_token not in self.refresh_tokens:
            return None
        self.refresh_tokens.discard(refresh_token)
        rotated = secrets.token_hex(16)
        self.refresh_tokens.add(rotated)
        return rotated

    def issue_token(self) -> str:
        now = self.config.clock()
        self.tokens = {t: end for t, end in self.tokens.items() if end > now}
        token = secrets.token_hex(16)
        lifetime = self.config.token_ttl
        if self.config.token_revoke_after is not None:
            lifetime = min(lifetime, self.config.token_revoke_after)
        self.tokens[token] = now + lifetime
        self.tokens_issued += 1
        return token

    def token_valid(self, token: str | None) -> bool:
        end = self.tokens.get(token) if token else None
        return end is not None and end > self.config.clock()

    # faults
    def fault_before(self, is_create: bool) -> int | None:
        """The 5xx to answer instead of doing the work, if any."""
        cfg = self.config
        if is_create:
            self.creates_seen += 1
            scheduled = cfg.schedule.get(self.creates_seen)
            if scheduled in BEFORE_FAULTS:
                return int(scheduled)
        if cfg.fail_rate and self.fault_dice.random() < cfg.fail_rate:
            return self.fault_dice.choice(cfg.fail_statuses)
        return None

    def fault_after(self, is_create: bool) -> str | None:
        """The fault to answer with once the work is done ("504" or "drop"), if any."""
        cfg = self.config
        if is_create and cfg.schedule.get(self.creates_seen) in AFTER_FAULTS:
            return cfg.schedule[self.creates_seen]
        if cfg.gateway_timeout_rate or cfg.drop_rate:
            roll = self.fault_dice.random()
            if roll < cfg.gateway_timeout_rate:
                return "504"
            if roll < cfg.gateway_timeout_rate + cfg.drop_rate:
                return "drop"
        return None

    def latency(self) -> float:
        cfg = self.config
        jitter = self.latency_dice.uniform(-cfg.jitter_ms, cfg.jitter_ms) if cfg.jitter_ms else 0.0
        return max(0.0, cfg.latency_ms + jitter) / 1000

    # time
    def catch_up(self, now: float) -> None:
        """Do what fell due by ``now``: the background agent's reads, async deletes."""
        if self.agent is not None:
            self.agent.catch_up(now)
        if self.deleting:
            for customer_id, when in list(self.deleting.items()):
                if when <= now:
                    self.delete_customer(customer_id)

    def set_background_load(self, share: float) -> None:
        """Start, change or stop (0) the simulated agent mid-run."""
        if not 0.0 <= share <= 1.0:
            raise ValueError("the share must be between 0 and 1")
        if self.agent is None:
            raise ValueError("the sandbox has no rate limit: there is no budget to share")
        self.agent.set_share(share, self.config.clock())

    # inspection
    def stats_summary(self) -> dict[str, Any]:
        """Counts for ``GET /_sandbox/stats``: ``requests["POST /v2/customers"]["201"] == 3``;
        ``background`` is the simulated agent's ``{share, requests, rate_limited}``."""
        now = self.config.clock()
        self.catch_up(now)
        requests: dict[str, dict[str, int]] = {}
        for (method, route, status), count in sorted(self.stats.items(), key=str):
            requests.setdefault(f"{method} {route}", {})[str(status)] = count
        limiter = self.limiter
        idle = {"share": 0.0, "requests": 0, "rate_limited": 0}
        return {
            "requests": requests,
            "customers": len(self.customers),
            "tokens_issued": self.tokens_issued,
            "rate_limit_remaining": limiter.remaining(now) if limiter else None,
            "background": self.agent.summary() if self.agent else idle,
        }


def _within(stamp: int, low: float | None, high: float | None) -> bool:
    return (low is None or stamp >= low) and (high is None or stamp <= high)


def _folded(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def _ordered(ids: Iterable[int], key: Callable[[int], Any], descending: bool) -> list[int]:
    """``ids`` by ``key`` then id, ascending or descending; those whose key is None last."""
    present: list[int] = []
    missing: list[int] = []
    for i in ids:
        (missing if key(i) is None else present).append(i)
    present.sort(key=lambda i: (key(i), i), reverse=descending)
    missing.sort(reverse=descending)
    return present + missing


# --- answers -------------------------------------------------------------------------------------
class _Answer(Exception):
    """Raised by request-parsing helpers to answer at once with ``response``."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _json_response(
    body: Any,
    status: int = 200,
    content_type: str = HAL_JSON,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    response = web.Response(status=status, body=json.dumps(body).encode(), headers=headers)
    response.headers["Content-Type"] = content_type
    return response


_log_refs = itertools.count(1)


def _log_ref() -> str:
    """Shaped like the real ``cb73aad3-9a81-44fd-bf70-48250ea256ff#12``."""
    return f"{uuid.uuid4()}#{next(_log_refs)}"


def _error(status: int, message: str, violations: Sequence[schema.Violation] = ()) -> web.Response:
    """An error answer shaped like Help Scout's (``application/vnd.error+json``)."""
    body: dict[str, Any] = {"logRef": _log_ref(), "message": message}
    if violations:
        errors = []
        for v in violations:
            item: dict[str, Any] = {"path": v.path, "message": v.message}
            if v.rejected_value is not None:
                item["rejectedValue"] = v.rejected_value
            item["source"] = "JSON"
            item["_links"] = {"about": {"href": f"{ERRORS_DOC}#{v.rule}"}}
            errors.append(item)
        body["_embedded"] = {"errors": errors}
    body["_links"] = {"about": {"href": ERRORS_DOC}}
    return _json_response(body, status, VND_ERROR)


def _bad_request(violations: Sequence[schema.Violation], strip: str = "") -> web.Response:
    """400 with the field errors; ``strip`` drops a path prefix for sub-resource endpoints."""
    if strip:
        violations = [
            schema.Violation(v.path.removeprefix(strip), v.rule, v.message, v.rejected_value)
            for v in violations
        ]
    return _error(400, "Bad request", violations)


def _request_error(path: str, message: str, value: object = None) -> schema.Violation:
    """A complaint about the request's form (not a customer rule, which schema.py owns)."""
    return schema.Violation(path, "request", message, value)


def _not_found() -> web.Response:
    return _error(404, "Resource not found")


async def _json_body(request: web.Request) -> Any:
    content_type = request.content_type
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise _Answer(_error(415, f"Content type '{content_type}' not supported: send JSON"))
    try:
        return json.loads(await request.read())
    except ValueError as exc:
        raise _Answer(_bad_request([_request_error("", f"malformed JSON: {exc}")])) from None


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def _page_number(request: web.Request) -> int:
    text = request.query.get("page", "1")
    if not text.isdigit() or int(text) < 1:
        raise _Answer(_bad_request([_request_error("page", "must be a positive integer", text)]))
    return int(text)


def _number(request: web.Request, name: str) -> int | None:
    """A positive integer parameter (``mailbox``), or None when not given."""
    text = request.query.get(name)
    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise _Answer(_bad_request([_request_error(name, "must be a positive integer", text)]))
    return int(text)


def _choice(request: web.Request, name: str, choices: Sequence[str], default: str) -> str:
    """A parameter that is one of ``choices`` (compared ignoring case), or ``default``."""
    text = request.query.get(name, default)
    for choice in choices:
        if text.lower() == choice.lower():
            return choice
    problem = _request_error(name, f"must be one of {', '.join(choices)}", text)
    raise _Answer(_bad_request([problem]))


def _since(request: web.Request, *names: str) -> dict[str, float]:
    """The ``...Since`` parameters given, as Unix seconds (QueryError when unreadable)."""
    return {n: _parse_instant(request.query[n], n) for n in names if n in request.query}


def _page_links(request: web.Request, path: str, page: int, pages: int) -> dict[str, Any]:
    """Absolute ``_links`` of a numbered page that keep every parameter the client gave."""
    keep = [(k, v) for k, v in request.query.items() if k != "page"]
    url = URL(_base(request)).with_path(path)

    def at(number: int) -> dict[str, str]:
        return {"href": str(url.with_query([*keep, ("page", str(number))]))}

    links: dict[str, dict[str, Any]] = {"self": at(page), "first": at(1), "last": at(pages)}
    if page < pages:
        links["next"] = at(page + 1)
    if 1 < page <= pages + 1:
        links["previous"] = at(page - 1)
    template = f"{url.with_query(keep)}{{&page}}" if keep else f"{url}{{?page}}"
    links["page"] = {"href": template, "templated": True}
    return links


# --- handlers ------------------------------------------------------------------------------------
class _Api:
    """The routes, bound to one state (bound methods avoid per-request look-ups)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.config = state.config

    # cross-cutting: latency, auth, budget, faults, headers, counts
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        state, cfg = self.state, self.config
        if request.path.startswith(INSPECT_PREFIX):
            state.catch_up(cfg.clock())
            return await handler(request)
        if cfg.latency_ms or cfg.jitter_ms:
            await asyncio.sleep(state.latency())
        method = request.method
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "(unknown)"
        if request.path == TOKEN_PATH:
            issued = await self._run(handler, request)
            state.stats[method, route, issued.status] += 1
            return issued
        now = cfg.clock()
        state.catch_up(now)
        is_create = method == "POST" and route == "/v2/customers"
        refusal = self._refusal(request, is_create, now)
        fault = None
        if refusal is not None:
            response: web.StreamResponse = refusal
        else:
            response = await self._run(handler, request)
            fault = state.fault_after(is_create)
        if fault == "drop":
            state.stats[method, route, "dropped"] += 1
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=204)  # never reaches the client: the transport is closed
        if fault == "504":
            response = _error(504, "Gateway timeout")
        if state.limiter:
            response.headers["X-RateLimit-Limit-Minute"] = str(state.limiter.limit)
            remaining = max(0, state.limiter.remaining(now))
            response.headers["X-RateLimit-Remaining-Minute"] = str(remaining)
        state.stats[method, route, response.status] += 1
        return response

    def _refusal(self, request: web.Request, is_create: bool, now: float) -> web.Response | None:
        """The answer that replaces the handler's (401, 429, 500/503 fault), or None to go on."""
        state, every = self.state, self.config.token_revoke_every
        if not state.token_valid(_bearer(request.headers.get("Authorization"))):
            return self._unauthorized("The access token is invalid or has expired")
        state.authorized_seen += 1
        if every and state.authorized_seen % every == 0:
            state.tokens.clear()
            return self._unauthorized("The access token was revoked")
        if self.config.deny_api:
            return _error(403, "Access denied")
        is_write = request.method in WRITE_METHODS
        if is_write and state.burst:
            wait = state.burst.wait(now)
            if wait is not None:
                return self._rate_limited(wait)
        if state.limiter:
            wait = state.limiter.take(2 if is_write else 1, now)
            if wait is not None:
                return self._rate_limited(wait)
        if is_write and state.burst:
            state.burst.record(now)
        status = state.fault_before(is_create)
        if status is not None:
            return _error(status, "Internal error" if status == 500 else "Service unavailable")
        return None

    @staticmethod
    async def _run(handler: Handler, request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except _Answer as answer:
            return answer.response
        except web.HTTPException as exc:  # the router's 404/405
            return _error(exc.status, exc.reason)

    @staticmethod
    def _unauthorized(description: str) -> web.Response:
        return _json_response(
            {"error": "invalid_token", "error_description": description},
            401,
            PLAIN_JSON,
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    def _rate_limited(self, wait: float) -> web.Response:
        seconds = str(max(1, math.ceil(wait)))
        headers = {"X-RateLimit-Retry-After": seconds}
        if self.config.retry_after_header:
            headers["Retry-After"] = seconds
        return _json_response({"message": "API rate limit exceeded"}, 429, PLAIN_JSON, headers)

    def _customer(self, request: web.Request) -> dict[str, Any]:
        customer = self.state.customers.get(int(request.match_info["id"]))
        if customer is None:
            raise _Answer(_not_found())
        return customer

    def render(self, customer: Mapping[str, Any], base: str) -> dict[str, Any]:
        """A customer as ``GET /v2/customers/{id}`` shows it (the recorded real shape)."""
        href = f"{base}/v2/customers/{customer['id']}"
        out: dict[str, Any] = {"id": customer["id"]}
        nulled = customer["nulled"]
        for name in OWN_FIELDS:
            if customer[name] is not None or name in nulled:  # never set: left out, not null
                out[name] = customer[name]
        if customer["gender"]:
            out["gender"] = customer["gender"].capitalize()  # real answers say "Male" for "male"
        out["createdAt"] = self.state.iso(customer["created"])
        out["updatedAt"] = self.state.iso(customer["updated"])
        embedded = {key: customer[key] for key in EMBEDDED_OF.values()}
        if customer["address"]:
            embedded["address"] = customer["address"]
        if customer["properties"]:
            definitions = self.state.properties
            embedded["properties"] = [
                {
                    "type": definitions[slug]["type"],
                    "slug": slug,
                    "name": definitions[slug]["name"],
                    "value": value,
                }
                for slug, value in customer["properties"].items()
            ]
        out["_embedded"] = embedded
        links = {rel: {"href": f"{href}/{rel}"} for rel in LINK_RELS}
        links["self"] = {"href": href}
        out["_links"] = links
        return out

    def _customers_page(self, ids: Sequence[int], base: str) -> dict[str, Any]:
        """A list answer's start: ``_embedded.customers``, absent when nothing matched."""
        if not ids:
            return {}
        customers = self.state.customers
        return {"_embedded": {"customers": [self.render(customers[i], base) for i in ids]}}

    # OAuth2
    async def token(self, request: web.Request) -> web.Response:
        """Client credentials, or the authorization-code flow's ``refresh_token`` grant: a new
        access token and a rotated refresh token (the one used stops working)."""
        if request.content_type == "application/json":
            try:
                data = json.loads(await request.read())
            except ValueError:
                data = None
        else:
            data = await request.post()
        if not isinstance(data, Mapping):
            return self._oauth_error(400, "invalid_request", "send a form or a JSON object")
        if not data.get("grant_type"):
            return self._oauth_error(400, "invalid_request", "Missing grant type")
        grant = data["grant_type"]
        if grant not in ("client_credentials", "refresh_token"):
            return self._oauth_error(
                400,
                "unsupported_grant_type",
                "Unsupported grant type: use client_credentials or refresh_token",
            )
        cfg = self.config
        if not data.get("client_id") or not data.get("client_secret"):
            return self._oauth_error(400, "invalid_request", "client_id and client_secret needed")
        if data["client_id"] != cfg.app_id or data["client_secret"] != cfg.app_secret:
            return self._oauth_error(401, "invalid_client", "Bad client credentials")
        rotated = None
        if grant == "refresh_token":
            if not data.get("refresh_token"):
                return self._oauth_error(400, "invalid_request", "refresh_token needed")
            rotated = self.state.rotate_refresh_token(str(data["refresh_token"]))
            if rotated is None:
                return self._oauth_error(400, "invalid_grant", "Invalid refresh token")
        body = {
            "token_type": "bearer",
            "access_token": self.state.issue_token(),
            "expires_in": int(cfg.token_ttl),
        }
        if rotated is not None:
            body["refresh_token"] = rotated
        return _json_response(
            body,
            200,
            "application/json; charset=utf-8",
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    @staticmethod
    def _oauth_error(status: int, error: str, description: str) -> web.Response:
        return _json_response(
            {"error": error, "error_description": description},
            status,
            "application/json; charset=utf-8",
        )

    # customers
    async def create(self, request: web.Request) -> web.Response:
        state = self.state
        payload = await _json_body(request)
        violations = schema.check_payload(payload, state.properties)
        if violations:
            return _bad_request(violations)
        if self.config.duplicate_email == "conflict" and state.email_taken(
            e["value"] for e in payload.get("emails") or ()
        ):
            return _error(409, "conflicting entity already exists")
        customer_id = str(state.add_customer(payload))
        return web.Response(
            status=201,
            text="",
            headers={
                "Resource-ID": customer_id,
                "Location": f"{_base(request)}/v2/customers/{customer_id}",
            },
        )

    async def get(self, request: web.Request) -> web.Response:
        return _json_response(self.render(self._customer(request), _base(request)))

    async def list_customers(self, request: web.Request) -> web.Response:
        """v2 list and search: filters, ``query``, ``sortField``/``sortOrder`` (newest first by
        default), numbered pages of 50 with links that keep every parameter."""
        state, query = self.state, request.query
        page = _page_number(request)
        field = _choice(request, "sortField", CUSTOMER_SORTS, "createdAt")
        order = _choice(request, "sortOrder", SORT_ORDERS, "desc")
        try:
            ids = state.select_customers(
                query.get("query"),
                self.config.clock(),
                names={n: query[n] for n in ("firstName", "lastName") if n in query},
                modified_since=_since(request, "modifiedSince").get("modifiedSince"),
                mailbox=_number(request, "mailbox"),
            )
        except QueryError as exc:
            return _bad_request([_request_error(exc.param, str(exc), query.get(exc.param))])
        ids = state.order_customers(ids, field, order == "desc")
        pages = math.ceil(len(ids) / PAGE_SIZE)
        chosen = ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        body = self._customers_page(chosen, _base(request))
        body["page"] = {
            "size": PAGE_SIZE,
            "totalElements": len(ids),
            "totalPages": pages,
            "number": page,
        }
        body["_links"] = _page_links(request, "/v2/customers", page, pages)
        return _json_response(body)

    async def list_v3(self, request: web.Request) -> web.Response:
        """v3 list: the same filters plus ``email`` (exact) and ``createdSince``, newest first
        with the id as tiebreaker, paged by an opaque cursor (base64 JSON of the last id)."""
        state, query = self.state, request.query
        try:
            since = _since(request, "createdSince", "modifiedSince")
            ids = state.select_customers(
                query.get("query"),
                self.config.clock(),
                names={n: query[n] for n in ("firstName", "lastName") if n in query},
                email=query.get("email"),
                created_since=since.get("createdSince"),
                modified_since=since.get("modifiedSince"),
            )
        except QueryError as exc:
            return _bad_request([_request_error(exc.param, str(exc), query.get(exc.param))])
        ids = state.order_customers(ids, "createdAt", descending=True)
        cursor = query.get("cursor")
        if cursor:
            try:
                after = int(json.loads(base64.urlsafe_b64decode(cursor))["id"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                problem = _request_error("cursor", "not a cursor this API gave", cursor)
                return _bad_request([problem])
            ids = [i for i in ids if i < after]
        chosen = ids[:PAGE_SIZE]
        base = _base(request)
        body = self._customers_page(chosen, base)
        links = {"self": {"href": str(URL(base).with_path("/v3/customers").with_query(query))}}
        if len(ids) > PAGE_SIZE:
            token = base64.urlsafe_b64encode(json.dumps({"id": chosen[-1]}).encode()).decode()
            keep = [(k, v) for k, v in query.items() if k != "cursor"]
            next_url = URL(base).with_path("/v3/customers").with_query([*keep, ("cursor", token)])
            links["next"] = {"href": str(next_url)}
        body["_links"] = links
        return _json_response(body)

    async def replace(self, request: web.Request) -> web.Response:
        """PUT: own fields replaced, those left out become null; entries untouched."""
        customer = self._customer(request)
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _bad_request(schema.check_payload(body))
        given = {k: v for k, v in body.items() if v is not None and k != "id"}
        violations = schema.check_payload(given, self.state.properties)
        if violations:
            return _bad_request(violations)
        self.state.set_fields(customer, {name: given.get(name) for name in OWN_FIELDS})
        return web.Response(status=204)

    async def patch(self, request: web.Request) -> web.Response:
        """JSON Patch (add/remove/replace) on own fields; all or nothing."""
        customer = self._customer(request)
        changes: dict[str, Any] = {}
        violations: list[schema.Violation] = []
        for i, op, name, value in self._operations(await _json_body(request)):
            if name not in OWN_FIELDS:
                violations.append(_request_error(f"[{i}].path", "not a customer field", name))
            elif op in ("add", "replace") and value is not None:
                violations.extend(schema.check_payload({name: value}))
                changes[name] = value
            elif op in ("add", "replace", "remove"):
                changes[name] = None
            else:
                violations.append(_request_error(f"[{i}].op", "must be add, remove or replace", op))
        if violations:
            return _bad_request(violations)
        self.state.set_fields(customer, changes)
        return web.Response(status=204)

    async def patch_properties(self, request: web.Request) -> web.Response:
        """Set or drop property values: ``[{"op": "replace", "path": "/slug", "value": v},
        {"op": "remove", "path": "/slug"}]``; all or nothing."""
        customer = self._customer(request)
        definitions = self.state.properties
        changes: dict[str, Any] = {}
        removed: list[str] = []
        violations: list[schema.Violation] = []
        for i, op, slug, value in self._operations(await _json_body(request)):
            if op == "replace":
                violations.extend(schema.check_payload({"properties": {slug: value}}, definitions))
                changes[slug] = value
            elif op == "remove" and slug in definitions:
                removed.append(slug)
            elif op == "remove":
                violations.extend(schema.check_payload({"properties": {slug: None}}, definitions))
            else:
                violations.append(_request_error(f"[{i}].op", "must be replace or remove", op))
        if violations:
            return _bad_request(violations)
        for slug in removed:
            customer["properties"].pop(slug, None)
        customer["properties"].update(changes)
        self.state.touch(customer)
        return web.Response(status=204)

    @staticmethod
    def _operations(ops: Any) -> list[tuple[int, Any, str, Any]]:
        """(index, op, name after the leading slash, value) of a JSON Patch array."""
        if not isinstance(ops, list) or not all(
            isinstance(o, dict) and isinstance(o.get("path"), str) and o["path"].startswith("/")
            for o in ops
        ):
            raise _Answer(
                _bad_request(
                    [
                        _request_error(
                            "",
                            'expected a JSON Patch array like [{"op": "replace", "path": "/name", '
                            '"value": ...}]',
                            ops,
                        )
                    ]
                )
            )
        return [(i, o.get("op"), o["path"][1:], o.get("value")) for i, o in enumerate(ops)]

    async def _entry_body(
        self, request: web.Request, customer: Mapping[str, Any], key: str
    ) -> dict[str, Any]:
        """The entry a POST or PUT sends, checked as in a create; raises _Answer with the 400
        (or the 409 of a taken email under ``duplicate_email="conflict"``)."""
        payload_field = ENTRY_KINDS[request.match_info["kind"]][0]
        item = await _json_body(request)
        violations = schema.check_payload({payload_field: [item]})
        if violations:
            raise _Answer(_bad_request(violations, strip=f"{payload_field}[0]."))
        if (
            key == "emails"
            and self.config.duplicate_email == "conflict"
            and self.state.email_taken([item["value"]], by_other_than=customer["id"])
        ):
            raise _Answer(_error(409, "conflicting entity already exists"))
        return dict(item)

    def _entry_of(self, request: web.Request) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """(customer, embedded key, entry) named by the path; raises _Answer 404."""
        customer = self._customer(request)
        key = ENTRY_KINDS[request.match_info["kind"]][1]
        entry = self.state.entry(customer, key, int(request.match_info["entry"]))
        if entry is None:
            raise _Answer(_not_found())
        return customer, key, entry

    async def list_entries(self, request: web.Request) -> web.Response:
        """``GET .../emails`` (phones, chats, social-profiles, websites): the customer's list."""
        customer = self._customer(request)
        segment = request.match_info["kind"]
        href = f"{_base(request)}/v2/customers/{customer['id']}/{segment}"
        items = [
            {**entry, "_links": {"self": {"href": f"{href}/{entry['id']}"}}}
            for entry in customer[ENTRY_KINDS[segment][1]]
        ]
        return _json_response({"_embedded": {segment: items}, "_links": {"self": {"href": href}}})

    async def add_entry(self, request: web.Request) -> web.Response:
        """POST an email, phone, chat, social profile or website to a customer."""
        customer = self._customer(request)
        segment = request.match_info["kind"]
        key = ENTRY_KINDS[segment][1]
        item = await self._entry_body(request, customer, key)
        entry_id = str(self.state.add_entry(customer, key, item))
        location = f"{_base(request)}/v2/customers/{customer['id']}/{segment}/{entry_id}"
        return web.Response(
            status=201, text="", headers={"Resource-ID": entry_id, "Location": location}
        )

    async def replace_entry(self, request: web.Request) -> web.Response:
        customer, key, entry = self._entry_of(request)
        item = await self._entry_body(request, customer, key)
        self.state.replace_entry(customer, key, entry, item)
        return web.Response(status=204)

    async def delete_entry(self, request: web.Request) -> web.Response:
        customer, key, entry = self._entry_of(request)
        self.state.remove_entry(customer, key, entry)
        return web.Response(status=204)

    async def get_address(self, request: web.Request) -> web.Response:
        customer = self._customer(request)
        if customer["address"] is None:
            return _not_found()
        href = f"{_base(request)}/v2/customers/{customer['id']}/address"
        return _json_response({**customer["address"], "_links": {"self": {"href": href}}})

    async def delete_address(self, request: web.Request) -> web.Response:
        customer = self._customer(request)
        if customer["address"] is None:
            return _not_found()
        self.state.set_address(customer, None)
        return web.Response(status=204)

    async def delete(self, request: web.Request) -> web.Response:
        """204 once deleted; with ``?async=true``, 202 and gone ``async_delete_after`` later."""
        customer_id = self._customer(request)["id"]
        if request.query.get("async", "").lower() == "true":
            self.state.delete_later(customer_id, self.config.clock())
            return web.Response(status=202)
        self.state.delete_customer(customer_id)
        return web.Response(status=204)

    async def set_address(self, request: web.Request) -> web.Response:
        """POST creates (201), PUT updates (204); either replaces whatever address was there."""
        customer = self._customer(request)
        address = await _json_body(request)
        violations = schema.check_payload({"address": address})
        if violations:
            return _bad_request(violations, strip="address.")
        self.state.set_address(customer, address)
        if request.method == "PUT":
            return web.Response(status=204)
        location = f"{_base(request)}/v2/customers/{customer['id']}/address"
        return web.Response(
            status=201, text="", headers={"Resource-ID": str(customer["id"]), "Location": location}
        )

    # conversations (only as far as deleting customers needs them: listed, never written)
    def render_conversation(self, conversation: Mapping[str, Any], base: str) -> dict[str, Any]:
        """A conversation as ``GET /v2/conversations`` lists it (the documented fields the
        sandbox has; threads and tags are empty)."""
        iso, customer_id = self.state.iso, conversation["customerId"]
        person: dict[str, Any] = {"id": customer_id, "type": "customer"}
        customer = self.state.customers.get(customer_id)
        if customer is not None:
            for key, name in (("first", "firstName"), ("last", "lastName")):
                if customer[name] is not None:
                    person[key] = customer[name]
            if customer["emails"]:
                person["email"] = customer["emails"][0]["value"]
        href = f"{base}/v2/conversations/{conversation['id']}"
        created, updated = iso(conversation["created"]), iso(conversation["updated"])
        out: dict[str, Any] = {
            "id": conversation["id"],
            "number": conversation["number"],
            "threads": 1,
            "type": conversation["type"],
            "status": conversation["status"],
            "state": "published",
            "subject": conversation["subject"],
            "preview": conversation["subject"],
            "mailboxId": conversation["mailboxId"],
            "createdBy": person,
            "createdAt": created,
            "userUpdatedAt": updated,
            "customerWaitingSince": {"time": created},
            "source": {"type": conversation["type"], "via": "customer"},
            "tags": [],
            "cc": [],
            "bcc": [],
            "primaryCustomer": person,
            "customFields": [],
            "_links": {
                "self": {"href": href},
                "mailbox": {"href": f"{base}/v2/mailboxes/{conversation['mailboxId']}"},
                "primaryCustomer": {"href": f"{base}/v2/customers/{customer_id}"},
                "threads": {"href": f"{href}/threads"},
            },
        }
        if conversation["status"] == "closed":
            out["closedAt"] = updated
        return out

    async def list_conversations(self, request: web.Request) -> web.Response:
        """``GET /v2/conversations?query=(customerIds:ID)&status=all``: ``status`` defaults to
        active; paged and linked like customers, under ``_embedded.conversations``."""
        state, query = self.state, request.query
        page = _page_number(request)
        status = _choice(request, "status", (*CONVERSATION_STATUSES, "all"), "active")
        field = _choice(request, "sortField", CONVERSATION_SORTS, "createdAt")
        order = _choice(request, "sortOrder", SORT_ORDERS, "desc")
        try:
            ids = state.select_conversations(
                query.get("query"),
                CONVERSATION_STATUSES if status == "all" else (status,),
                mailbox=_number(request, "mailbox"),
                since=_since(request, "modifiedSince").get("modifiedSince"),
            )
        except QueryError as exc:
            return _bad_request([_request_error(exc.param, str(exc), query.get(exc.param))])
        ids = state.order_conversations(ids, field, order == "desc")
        pages = math.ceil(len(ids) / PAGE_SIZE)
        chosen = ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        base = _base(request)
        body: dict[str, Any] = {}
        if chosen:
            conversations = state.conversations
            body["_embedded"] = {
                "conversations": [self.render_conversation(conversations[i], base) for i in chosen]
            }
        body["page"] = {
            "size": PAGE_SIZE,
            "totalElements": len(ids),
            "totalPages": pages,
            "number": page,
        }
        body["_links"] = _page_links(request, "/v2/conversations", page, pages)
        return _json_response(body)

    async def get_conversation(self, request: web.Request) -> web.Response:
        conversation = self.state.conversations.get(int(request.match_info["id"]))
        if conversation is None:
            return _not_found()
        return _json_response(self.render_conversation(conversation, _base(request)))

    async def customer_properties(self, request: web.Request) -> web.Response:
        url = f"{_base(request)}/v2/customer-properties"
        return _json_response(
            {
                "_embedded": {"customer-properties": list(self.state.properties.values())},
                "_links": {"self": {"href": url}},
            }
        )

    # inspection (outside the API: no auth, budget or faults)
    async def inspect_customers(self, request: web.Request) -> web.Response:
        base = _base(request)
        return _json_response(
            {"customers": [self.render(c, base) for c in self.state.customers.values()]},
            content_type=PLAIN_JSON,
        )

    async def seed(self, request: web.Request) -> web.Response:
        """Add existing customers: a payload or a list of them; 201 ``{"ids": [...]}``."""
        try:
            body = await _json_body(request)
        except _Answer as answer:
            return answer.response
        try:
            ids = self.state.seed(body if isinstance(body, list) else [body])
        except InvalidSeed as invalid:
            return _bad_request(invalid.violations)
        return _json_response({"ids": ids}, 201, PLAIN_JSON)

    async def seed_conversations(self, request: web.Request) -> web.Response:
        """Give customers conversations: ``{"customerId": N, "status": "closed"}`` or a list of
        them; all or none; 201 ``{"ids": [...]}``."""
        try:
            body = await _json_body(request)
        except _Answer as answer:
            return answer.response
        seeds = body if isinstance(body, list) else [body]
        problems = []
        for i, seed in enumerate(seeds):
            problem = _conversation_problem(seed)
            if problem is None and seed["customerId"] not in self.state.customers:
                problem = f"no customer {seed['customerId']}"
            if problem:
                problems.append(_request_error(f"[{i}]", problem, seed))
        if problems:
            return _bad_request(problems)
        ids = [self.state.add_conversation(seed) for seed in seeds]
        return _json_response({"ids": ids}, 201, PLAIN_JSON)

    async def stats(self, request: web.Request) -> web.Response:
        return _json_response(self.state.stats_summary(), content_type=PLAIN_JSON)

    async def background_load(self, request: web.Request) -> web.Response:
        """``{"share": 0.3}`` starts or changes the simulated agent; 0 stops it."""
        try:
            body = await _json_body(request)
        except _Answer as answer:
            return answer.response
        share = body.get("share") if isinstance(body, dict) else None
        try:
            if isinstance(share, bool) or not isinstance(share, int | float):
                raise ValueError('send {"share": P}, P between 0 and 1')
            self.state.set_background_load(float(share))
        except ValueError as exc:
            return _bad_request([_request_error("share", str(exc), share)])
        return _json_response(self.state.stats_summary()["background"], content_type=PLAIN_JSON)

    async def reset(self, request: web.Request) -> web.Response:
        self.state.reset()
        return web.Response(status=204)


STATE_KEY = web.AppKey("sandbox_state", SandboxState)
TICK = 0.25


async def _ticking(app: web.Application) -> AsyncIterator[None]:
    """While serving, let time pass a few times a second even when nobody asks (the background
    agent's reads), so ``/_sandbox/stats`` is current; requests catch up on their own too."""
    state = app[STATE_KEY]

    async def tick() -> None:
        while True:
            state.catch_up(state.config.clock())
            await asyncio.sleep(TICK)

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(config: SandboxConfig | None = None) -> web.Application:
    """The sandbox as an aiohttp application (for ``aiohttp_client`` or your own runner)."""
    state = SandboxState(config or SandboxConfig())
    api = _Api(state)
    app = web.Application(middlewares=[api.middleware])
    app[STATE_KEY] = state
    app.cleanup_ctx.append(_ticking)
    customer = r"/v2/customers/{id:\d+}"
    entries = customer + "/{kind:" + "|".join(ENTRY_KINDS) + "}"
    entry = entries + r"/{entry:\d+}"
    address = customer + "/address"
    app.router.add_routes(
        [
            web.post(TOKEN_PATH, api.token),
            web.post("/v2/customers", api.create),
            web.get("/v2/customers", api.list_customers, allow_head=False),
            web.get("/v3/customers", api.list_v3, allow_head=False),
            web.get(customer, api.get, allow_head=False),
            web.put(customer, api.replace),
            web.patch(customer, api.patch),
            web.delete(customer, api.delete),
            web.patch(customer + "/properties", api.patch_properties),
            # real answers link the entry lists with a trailing slash (".../emails/")
            web.get(entries, api.list_entries, allow_head=False),
            web.get(entries + "/", api.list_entries, allow_head=False),
            web.post(entries, api.add_entry),
            web.put(entry, api.replace_entry),
            web.delete(entry, api.delete_entry),
            web.get(address, api.get_address, allow_head=False),
            web.get(address + "/", api.get_address, allow_head=False),
            web.post(address, api.set_address),
            web.put(address, api.set_address),
            web.delete(address, api.delete_address),
            web.get("/v2/conversations", api.list_conversations, allow_head=False),
            web.get(r"/v2/conversations/{id:\d+}", api.get_conversation, allow_head=False),
            web.get("/v2/customer-properties", api.customer_properties, allow_head=False),
            web.get(INSPECT_PREFIX + "customers", api.inspect_customers, allow_head=False),
            web.post(INSPECT_PREFIX + "customers", api.seed),
            web.post(INSPECT_PREFIX + "conversations", api.seed_conversations),
            web.get(INSPECT_PREFIX + "stats", api.stats, allow_head=False),
            web.post(INSPECT_PREFIX + "background-load", api.background_load),
            web.post(INSPECT_PREFIX + "reset", api.reset),
        ]
    )
    return app


class _ClientGone(logging.Filter):
    """Drop aiohttp's "Error handling request" for a client that went away mid-request (a killed
    importer, a test that drops its connection): for the sandbox that is a normal day."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, ConnectionResetError | asyncio.CancelledError)


_server_log = logging.getLogger("aiohttp.server")
if not any(isinstance(f, _ClientGone) for f in _server_log.filters):
    _server_log.addFilter(_ClientGone())


class Sandbox:
    """The sandbox served on loopback for the length of an ``async with`` block::

    async with Sandbox(SandboxConfig(rate_limit=400)) as sandbox:
        await import_into(sandbox.url, sandbox.app_id, sandbox.app_secret)
        assert len(sandbox.state.customers) == 3
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.app = create_app(config)
        self.state = self.app[STATE_KEY]
        self.config = self.state.config
        self.host, self.port = host, port
        self.url = ""
        self._runner: web.AppRunner | None = None

    @property
    def app_id(self) -> str:
        return self.config.app_id

    @property
    def app_secret(self) -> str:
        return self.config.app_secret

    @property
    def refresh_token(self) -> str:
        """The first refresh token (``grant_type=refresh_token`` rotates it)."""
        return self.config.refresh_token

    async def __aenter__(self) -> Sandbox:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        host, port = self._runner.addresses[0][:2]
        self.url = str(URL.build(scheme="http", host=host, port=port))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def serve(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], object] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready(url)`` once bound. Prints nothing: the CLI does."""

    async def main() -> None:
        async with Sandbox(config, host=host, port=port) as sandbox:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signum, stop.set)
            if on_ready is not None:
                on_ready(sandbox.url)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
