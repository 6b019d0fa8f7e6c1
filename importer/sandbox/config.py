"""What a sandbox is configured with, its constants, and the property definitions it serves."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from importer.core.errors import ConfigError
from importer.core.options import flag
from importer.customer import schema

TOKEN_PATH = "/v2/oauth2/token"
INSPECT_PREFIX = "/_sandbox/"
PAGE_SIZE = 50
#: When the sandbox's mailboxes were made: before any customer (a fixed date, not the clock's).
MAILBOX_CREATED = "2020-01-01T00:00:00Z"
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

RateWindow = Literal["fixed", "sliding"]
"""``fixed``: the budget comes back at each clock minute; ``sliding``: 60 s after each request."""
DuplicateEmail = Literal["allow", "conflict"]
"""What a create with a known email does: a second customer, or 409."""


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

    # The flagged fields are the ``sandbox`` command's options, in its order.
    rate_limit: int | None = flag(
        None, "--rate-limit", kind="int", low=0, metavar="N",
        help="The account's budget in requests per minute (writes count 2); 0: none.",
    )  # fmt: skip
    rate_window: RateWindow = flag(
        "fixed", "--rate-window", choices=get_args(RateWindow), show_default=True,
        help="Budget back at each clock minute, or each request's cost back 60 s after it.",
    )  # fmt: skip
    background_load: float = flag(
        0.0, "--background-load", kind="float", low=0, high=1, metavar="P",
        help="Share of the budget a simulated agent spends on reads (needs --rate-limit); "
        "POST /_sandbox/background-load changes it while running.",
    )  # fmt: skip
    latency_ms: float = flag(0.0, "--latency-ms", kind="float", metavar="MS",
                             help="Delay per request.")  # fmt: skip
    jitter_ms: float = flag(0.0, "--jitter-ms", kind="float", metavar="MS",
                            help="Random +/- on the delay.")  # fmt: skip
    fail_rate: float = flag(0.0, "--fail-rate", kind="float", metavar="P",
                            help="Probability of a 500/503 before doing anything.")  # fmt: skip
    drop_rate: float = flag(
        0.0, "--drop-rate", kind="float", metavar="P",
        help="Probability of dropping the connection after doing the work.",
    )  # fmt: skip
    gateway_timeout_rate: float = flag(
        0.0, "--timeout-rate", kind="float", metavar="P",
        help="Probability of a 504 after doing the work.",
    )  # fmt: skip
    token_ttl: float = flag(172800.0, "--token-ttl", kind="float", low=0, open_low=True,
                            show_default=True, metavar="S",
                            help="Seconds an access token lives.")  # fmt: skip
    duplicate_email: DuplicateEmail = flag(
        "allow", "--duplicate-email", choices=get_args(DuplicateEmail), show_default=True,
        help="Create a second customer with a known email, or answer 409.",
    )  # fmt: skip
    retry_after_header: bool = flag(
        False, "--retry-after-header", kind="flag",
        help="Send a standard Retry-After beside X-RateLimit-Retry-After on 429.",
    )  # fmt: skip
    search_lag: float = flag(
        0.0, "--search-lag", kind="float", low=0, metavar="S",
        help="Seconds before a new customer shows in search and list answers (GET by id: at once).",
    )  # fmt: skip
    seed: int | None = flag(None, "--seed", kind="int",
                            help="Seed for reproducible faults.")  # fmt: skip
    app_id: str = "sandbox-app-id"
    app_secret: str = "sandbox-secret"
    fail_statuses: tuple[int, ...] = (500, 503)
    schedule: Mapping[int, str] = field(default_factory=dict)
    token_revoke_after: float | None = None
    token_revoke_every: int | None = None
    deny_api: bool = False
    burst: tuple[int, float] | None = None
    refresh_token: str = "sandbox-refresh-token"
    async_delete_after: float = 2.0
    conversations: Sequence[Mapping[str, Any]] = ()
    first_id: int = 100_000_001
    properties: Sequence[Mapping[str, Any]] = DEFAULT_PROPERTIES
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        """Refuse settings that cannot work (ConfigError: exit 2 in the CLI)."""
        if self.duplicate_email not in get_args(DuplicateEmail):
            raise ConfigError(
                f"duplicate_email must be allow or conflict, not {self.duplicate_email!r}"
            )
        if self.rate_window not in get_args(RateWindow):
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
            problem = conversation_problem(seed)
            if problem:
                raise ConfigError(f"conversation {i + 1}: {problem}")
        if self.background_load and not self.rate_limit:
            raise ConfigError(
                "background_load needs a rate_limit (--rate-limit N): it is a share of that budget"
            )
        property_definitions(self.properties)


def conversation_problem(seed: object) -> str | None:
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
    """The account's customer properties by slug, as ``check.payload.check_payload`` wants them."""
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
