"""A local Help Scout Mailbox API server (aiohttp.web) for trials, tests and benchmarks.

This machine has no internet, so the sandbox is where users, tests and benchmarks meet Help Scout.
It follows the project's HELPSCOUT_API.md and the recorded fixtures; where the public record is
silent it makes the behaviour configurable (``SandboxConfig``). Routes:

- ``POST /v2/oauth2/token`` client credentials (form or JSON). It neither spends the rate budget nor
  carries the ``X-RateLimit-*`` headers: the recorded real token answers carry none.
- ``POST /v2/customers`` (validated by ``schema.check_payload``, the one source of the rules),
  ``GET /v2/customers/{id}``, ``GET /v2/customers?query=(email:"...")&page=N``,
  ``GET /v3/customers?email=...&cursor=...``, ``PUT|PATCH /v2/customers/{id}``,
  ``PATCH /v2/customers/{id}/properties``, ``POST /v2/customers/{id}/{emails|phones|chats|
  social-profiles|websites}``, ``POST|PUT /v2/customers/{id}/address``,
  ``GET /v2/customer-properties``.
- Outside the API, free of auth, budget and faults: ``GET /_sandbox/customers``,
  ``POST /_sandbox/customers`` (seed existing customers), ``GET /_sandbox/stats``,
  ``POST /_sandbox/reset``. The same state is ``Sandbox.state`` in-process.

Rate limit: one budget per clock minute for the account, writes (POST/PUT/PATCH/DELETE) cost 2
and reads 1. ``rate_window="fixed"`` (default) resets the budget at every multiple of 60 s of the
clock; ``"sliding"`` gives each request's cost back 60 s after it was spent (stricter on bursts).
Requests refused with 401 or 429 spend nothing; 500/503 faults do (the request reached the API).
Every API answer carries the ``X-RateLimit-*`` headers when a limit is set (none when unlimited).

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from importer import schema
from importer.errors import ConfigError

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
    ``GET /v2/customers/{id}`` finds it at once.
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
        property_definitions(self.properties)


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


# --- email look-ups ----------------------------------------------------------------------------
class _EmailIndex:
    """Emails to customer ids: exact (v3 filter, duplicate policy) and Help Scout's "containing"
    search (v2), which scans blocks of ``email\\tid`` lines with ``str.find`` rather than testing
    every address in Python, so looking before leaping stays cheap with many customers."""

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


class InvalidSeed(ValueError):
    """Seed customers that break Help Scout's rules (``violations`` says which)."""

    def __init__(self, violations: list[schema.Violation]) -> None:
        super().__init__("; ".join(f"{v.path}: {v.message}" for v in violations))
        self.violations = violations


# --- state ---------------------------------------------------------------------------------------
class SandboxState:
    """Everything the sandbox holds: customers, tokens, budget, fault dice, request counts.

    ``customers`` maps id to a stored record (own fields, ``created``/``updated`` on the
    sandbox's clock, entry lists under their ``_embedded`` names, ``address`` or None,
    ``properties`` by slug); ``stats`` counts answers by ``(method, route, status)`` where route
    is the route's pattern and status an int or ``"dropped"``.

    Timestamps are the sandbox's clock plus a fixed offset taken at start, so ``createdAt`` reads
    as the wall-clock time and moves when a test's fake clock does.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.wall_offset = time.time() - config.clock()
        self.properties = property_definitions(config.properties)
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.reset()

    def reset(self) -> None:
        """Back to a fresh account (customers, counts, budget, fault dice); tokens survive, so a
        connected client carries on."""
        cfg = self.config
        self.customers: dict[int, dict[str, Any]] = {}
        self.stats: Counter[tuple[str, str, int | str]] = Counter()
        self.emails = _EmailIndex()
        self.limiter: _FixedWindow | _SlidingWindow | None = None
        if cfg.rate_limit:
            window = _FixedWindow if cfg.rate_window == "fixed" else _SlidingWindow
            self.limiter = window(cfg.rate_limit)
        self.creates_seen = 0
        self.authorized_seen = 0
        self.fault_dice = random.Random(cfg.seed)
        self.latency_dice = random.Random(cfg.seed)
        self._next_id = cfg.first_id
        self._next_entry_id = 1

    # customers
    def add_customer(self, payload: Mapping[str, Any]) -> int:
        """Store a valid Create Customer payload; returns the new id."""
        customer_id, self._next_id = self._next_id, self._next_id + 1
        customer: dict[str, Any] = {"id": customer_id}
        for name in OWN_FIELDS:
            customer[name] = payload.get(name)
        customer["created"] = customer["updated"] = self.config.clock()
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

    def set_address(self, customer: dict[str, Any], address: Mapping[str, Any]) -> None:
        customer["address"] = {name: address.get(name) for name in schema.ADDRESS}
        self.touch(customer)

    def touch(self, customer: dict[str, Any]) -> None:
        """Record a change: ``updatedAt`` moves to now."""
        customer["updated"] = self.config.clock()

    def iso(self, stamp: float) -> str:
        """A time on the sandbox's clock as Help Scout writes it: ISO 8601 UTC, whole seconds."""
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp + self.wall_offset))

    def searchable(self, customer_ids: Iterable[int], now: float) -> list[int]:
        """The ids the search index has caught up with (``search_lag`` after their create)."""
        lag = self.config.search_lag
        if not lag:
            return list(customer_ids)
        customers = self.customers
        return [i for i in customer_ids if customers[i]["created"] + lag <= now]

    def email_taken(self, emails: Iterable[str]) -> bool:
        return any(e.lower() in self.emails.exact for e in emails)

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

    # inspection
    def stats_summary(self) -> dict[str, Any]:
        """Counts for ``GET /_sandbox/stats``: ``requests["POST /v2/customers"]["201"] == 3``."""
        requests: dict[str, dict[str, int]] = {}
        for (method, route, status), count in sorted(self.stats.items(), key=str):
            requests.setdefault(f"{method} {route}", {})[str(status)] = count
        limiter = self.limiter
        return {
            "requests": requests,
            "customers": len(self.customers),
            "tokens_issued": self.tokens_issued,
            "rate_limit_remaining": limiter.remaining(self.config.clock()) if limiter else None,
        }


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


_QUOTED_TEXT = r'"[^"]*"'
_EMAIL_QUERY = re.compile(
    rf"\(\s*email\s*:\s*(?:{_QUOTED_TEXT}|\(\s*{_QUOTED_TEXT}(?:\s+OR\s+{_QUOTED_TEXT})*\s*\))\s*\)"
)
_QUOTED = re.compile(r'"([^"]*)"')


def _page_number(request: web.Request) -> int:
    text = request.query.get("page", "1")
    if not text.isdigit() or int(text) < 1:
        raise _Answer(_bad_request([_request_error("page", "must be a positive integer", text)]))
    return int(text)


# --- handlers ------------------------------------------------------------------------------------
class _Api:
    """The routes, bound to one state (bound methods avoid per-request look-ups)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.config = state.config

    # cross-cutting: latency, auth, budget, faults, headers, counts
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(INSPECT_PREFIX):
            return await handler(request)
        state, cfg = self.state, self.config
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
        if state.limiter:
            wait = state.limiter.take(2 if request.method in WRITE_METHODS else 1, now)
            if wait is not None:
                return self._rate_limited(wait)
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
        for name in OWN_FIELDS:
            out[name] = customer[name]
        if out["gender"]:
            out["gender"] = out["gender"].capitalize()  # real answers say "Male" for "male"
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
        if data["grant_type"] != "client_credentials":
            return self._oauth_error(
                400, "unsupported_grant_type", "Unsupported grant type: use client_credentials"
            )
        cfg = self.config
        if not data.get("client_id") or not data.get("client_secret"):
            return self._oauth_error(400, "invalid_request", "client_id and client_secret needed")
        if data["client_id"] != cfg.app_id or data["client_secret"] != cfg.app_secret:
            return self._oauth_error(401, "invalid_client", "Bad client credentials")
        body = {
            "token_type": "bearer",
            "access_token": self.state.issue_token(),
            "expires_in": int(cfg.token_ttl),
        }
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

    async def search(self, request: web.Request) -> web.Response:
        """v2 list/search: email "containing" semantics, numbered pages of 50."""
        state = self.state
        query = request.query.get("query")
        page = _page_number(request)
        if query is None:
            ids = list(state.customers)
        elif _EMAIL_QUERY.fullmatch(query.strip()):
            ids = sorted(set().union(*(state.emails.containing(v) for v in _QUOTED.findall(query))))
        else:
            return _bad_request(
                [
                    _request_error(
                        "query",
                        'the sandbox searches by email only: (email:"a@b.com") or '
                        '(email:("a@b.com" OR "c@d.com"))',
                        query,
                    )
                ]
            )
        ids = state.searchable(ids, self.config.clock())
        total = len(ids)
        pages = math.ceil(total / PAGE_SIZE)
        base = _base(request)
        body = self._customers_page(ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], base)
        body["page"] = {
            "size": PAGE_SIZE,
            "totalElements": total,
            "totalPages": pages,
            "number": page,
        }
        url = URL(base).with_path("/v2/customers")
        keep = {"query": query} if query is not None else {}

        def at(number: int) -> dict[str, str]:
            return {"href": str(url.with_query({**keep, "page": number}))}

        links: dict[str, dict[str, Any]] = {"self": at(page), "first": at(1), "last": at(pages)}
        if page < pages:
            links["next"] = at(page + 1)
        if page > 1:
            links["prev"] = at(page - 1)
        links["page"] = {"href": f"{url}{{?page}}", "templated": True}
        body["_links"] = links
        return _json_response(body)

    async def list_v3(self, request: web.Request) -> web.Response:
        """v3 list: exact email filter, newest first, an opaque cursor (base64 JSON of an id)."""
        state = self.state
        email = request.query.get("email")
        ids = state.emails.exact.get(email.lower(), []) if email else state.customers
        ids = state.searchable(sorted(set(ids), reverse=True), self.config.clock())
        cursor = request.query.get("cursor")
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
        links = {"self": {"href": str(request.url)}}
        if len(ids) > PAGE_SIZE:
            token = base64.urlsafe_b64encode(json.dumps({"id": chosen[-1]}).encode()).decode()
            query = {"email": email} if email else {}
            next_url = URL(base).with_path("/v3/customers").with_query({**query, "cursor": token})
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
        for name in OWN_FIELDS:
            customer[name] = given.get(name)
        self.state.touch(customer)
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
        customer.update(changes)
        self.state.touch(customer)
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

    async def add_entry(self, request: web.Request) -> web.Response:
        """POST an email, phone, chat, social profile or website to a customer."""
        customer = self._customer(request)
        segment = request.match_info["kind"]
        payload_field, key = ENTRY_KINDS[segment]
        item = await _json_body(request)
        violations = schema.check_payload({payload_field: [item]})
        if violations:
            return _bad_request(violations, strip=f"{payload_field}[0].")
        if (
            key == "emails"
            and self.config.duplicate_email == "conflict"
            and self.state.email_taken([item["value"]])
        ):
            return _error(409, "conflicting entity already exists")
        entry_id = str(self.state.add_entry(customer, key, item))
        location = f"{_base(request)}/v2/customers/{customer['id']}/{segment}/{entry_id}"
        return web.Response(
            status=201, text="", headers={"Resource-ID": entry_id, "Location": location}
        )

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

    async def stats(self, request: web.Request) -> web.Response:
        return _json_response(self.state.stats_summary(), content_type=PLAIN_JSON)

    async def reset(self, request: web.Request) -> web.Response:
        self.state.reset()
        return web.Response(status=204)


STATE_KEY = web.AppKey("sandbox_state", SandboxState)


def create_app(config: SandboxConfig | None = None) -> web.Application:
    """The sandbox as an aiohttp application (for ``aiohttp_client`` or your own runner)."""
    state = SandboxState(config or SandboxConfig())
    api = _Api(state)
    app = web.Application(middlewares=[api.middleware])
    app[STATE_KEY] = state
    customer = r"/v2/customers/{id:\d+}"
    kinds = "|".join(ENTRY_KINDS)
    app.router.add_routes(
        [
            web.post(TOKEN_PATH, api.token),
            web.post("/v2/customers", api.create),
            web.get("/v2/customers", api.search, allow_head=False),
            web.get("/v3/customers", api.list_v3, allow_head=False),
            web.get(customer, api.get, allow_head=False),
            web.put(customer, api.replace),
            web.patch(customer, api.patch),
            web.patch(customer + "/properties", api.patch_properties),
            web.post(customer + "/{kind:" + kinds + "}", api.add_entry),
            web.post(customer + "/address", api.set_address),
            web.put(customer + "/address", api.set_address),
            web.get("/v2/customer-properties", api.customer_properties, allow_head=False),
            web.get(INSPECT_PREFIX + "customers", api.inspect_customers, allow_head=False),
            web.post(INSPECT_PREFIX + "customers", api.seed),
            web.get(INSPECT_PREFIX + "stats", api.stats, allow_head=False),
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
