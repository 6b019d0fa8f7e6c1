"""What the sandbox holds (customers, conversations, tokens, counts) and the rules changing it."""

from __future__ import annotations

import math
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from importer.check.payload import Violation, as_received, check_payload
from importer.customer import schema
from importer.sandbox.budget import Agent, BurstLimit, FixedWindow, SlidingWindow
from importer.sandbox.config import (
    AFTER_FAULTS,
    BEFORE_FAULTS,
    EMBEDDED_OF,
    OWN_FIELDS,
    SandboxConfig,
    property_definitions,
)
from importer.sandbox.search import EmailIndex, QueryError, evaluate, parse_query


class InvalidSeed(ValueError):
    """Seed customers that break Help Scout's rules (``violations`` says which)."""

    def __init__(self, violations: list[Violation]) -> None:
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
        self.user_id = 100_000 + secrets.randbelow(900_000)
        """The app's user (``GET /v2/users/me``), its own in each sandbox, kept by a reset: two
        sandboxes are two accounts, as the importer's state guard must see them."""
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
        self.emails = EmailIndex()
        self.limiter: FixedWindow | SlidingWindow | None = None
        self.agent: Agent | None = None
        if cfg.rate_limit:
            window = FixedWindow if cfg.rate_window == "fixed" else SlidingWindow
            self.limiter = window(cfg.rate_limit)
            self.agent = Agent(self.limiter, cfg.background_load, cfg.clock())
        self.burst = BurstLimit(*cfg.burst) if cfg.burst else None
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
            ids = evaluate(parse_query(query), *self._customer_terms())
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
        """Store a conversation (``conversation_problem`` says whether ``seed`` is one)."""
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
            ids = evaluate(parse_query(query), self._conversation_terms(), {})
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
        payloads = [as_received(p) for p in payloads]
        violations = [
            Violation(f"[{i}].{v.path}", v.rule, v.message, v.rejected_value)
            for i, payload in enumerate(payloads)
            for v in check_payload(payload, self.properties)
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
