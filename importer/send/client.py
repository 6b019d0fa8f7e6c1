"""The Help Scout API client: the Mailbox API v2 calls the importer makes, each paced and retried.

Every call goes through :meth:`HelpScoutClient.request`: it takes the call's cost from the
run's :class:`~importer.send.pacing.Pacer` (a 429 pauses every worker), sends it with the
:class:`~importer.send.auth.Tokens`' token (a 401 fetches one new token for everyone), and
re-sends after 5xx answers and lost connections with jittered backoff, but never re-sends a
POST whose fate is unknown (502/504, or lost after sending): it comes back ``uncertain`` and
the caller looks the customer up (:mod:`importer.send.upload`). A row's failure is data (a
:class:`Reply` with its error); only what must stop the run raises. Redirects are refused,
bodies bounded and redacted, certificates verified: see :mod:`importer.send.transport`, the
seam through which every request goes (:class:`~importer.send.scripted.ScriptedTransport`
answers from a script in tests). What a customer lacks is :mod:`importer.send.diff`'s.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from importer.core.errors import (
    ApiError,
    AuthError,
    CertificateError,
    RateLimitError,
    TransportError,
)
from importer.core.options import DEFAULT_API_URL, REQUEST_TIMEOUT
from importer.send.auth import Credentials, Tokens, check_api_url
from importer.send.diff import changes_for, embedded_items
from importer.send.pacing import Pacer, request_cost
from importer.send.transport import (
    MAX_BODY,
    NO_HEADERS,
    AiohttpTransport,
    Exchange,
    Exchanger,
    NoAnswer,
    RetryPolicy,
    Transport,
    api_error,
    redirect_error,
)

#: The largest customer id a Resource-ID may carry: a signed 64-bit integer.
MAX_ID = 2**63 - 1
#: Pages of one search read at most (50 a page).
MAX_PAGES = 1000
#: Reads an update may start from (see ``HelpScoutClient.update_from``).
UPDATE_ROUNDS = 3


@dataclass
class Reply:
    """The last answer to one API call, after any retries."""

    status: int
    """HTTP status; 0 when no answer came at all."""
    headers: CIMultiDictProxy[str]
    body: Any
    """The parsed JSON body; None when empty."""
    attempts: int
    """Requests sent for this call (re-sends after 401, 429, 5xx and lost connections included)."""
    error: ApiError | TransportError | None = None
    uncertain: bool = False
    """A POST that may have been carried out although no success came back (502, 504, no
    answer after the request left)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def resource_id(self) -> str | None:
        """The id of what a 201 created: ``Resource-ID`` (any case), else the ``Location``'s last
        path segment; None unless it is one positive integer (a signed 64-bit one)."""
        found = self.headers.getall("Resource-ID", [])
        if found:
            return _usable_id(found)
        locations = self.headers.getall("Location", [])
        if len(locations) != 1:
            return None
        try:
            segment = URL(locations[0].strip()).path.rstrip("/").rpartition("/")[2]
        except ValueError:
            return None
        return _usable_id([segment])

    def raise_for_error(self) -> Reply:
        if self.error is not None:
            raise self.error
        return self


def _usable_id(values: list[str]) -> str | None:
    """The one id ``values`` hold, as digits, or None (several, not a positive integer, too big)."""
    if len(values) != 1:
        return None
    text = values[0].strip()
    if not text.isascii() or not text.isdigit() or text.startswith("0") or int(text) > MAX_ID:
        return None
    return text


#: Statuses after which a POST may have done its work: it is not re-sent.
UNSURE_STATUSES = frozenset({502, 504})


class Sends:
    """The requests that left for one piece of work, counted as they leave: a Reply counts
    them only when the call returns, too late for a call cut off in flight."""

    def __init__(self) -> None:
        self.count = 0
        self.refused = 0
        """Of them, those answered 429: certainly not carried out."""


_sends: contextvars.ContextVar[Sends | None] = contextvars.ContextVar("sends", default=None)


def count_sends(sends: Sends) -> None:
    """Count in ``sends`` the API requests the current asyncio task sends from now on (not
    those other tasks send for it, such as batched look-ups)."""
    _sends.set(sends)


# --- the client ----------------------------------------------------------------------------
class HelpScoutClient:
    """The Mailbox API v2, as the importer uses it; an async context manager::

        async with HelpScoutClient(url, Credentials.from_env(), pacer=Pacer(400)) as client:
            reply = await client.create_customer({"firstName": "Ada"})

    ``transport`` carries the requests (:mod:`importer.send.transport`); without one, the client
    opens and closes its own :class:`~importer.send.transport.AiohttpTransport`, whose pool
    ``connections`` bounds (keep it at the uploader's concurrency or a little above), each
    request ending within ``timeout`` seconds. A transport you give stays yours to open and
    close. TLS certificates are always verified.
    """

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        credentials: Credentials | None = None,
        *,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
        connections: int = 16,
        timeout: float = REQUEST_TIMEOUT,
        max_body: int = MAX_BODY,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.api_url = check_api_url(api_url)
        self.credentials = credentials if credentials is not None else Credentials.from_env()
        self.pacer = pacer if pacer is not None else Pacer()
        self.retry = retry if retry is not None else RetryPolicy()
        self.requests = 0
        """API requests sent (token requests not included)."""
        self.rate_limited = 0
        """429 answers received."""
        self.lookups = 0
        """Search requests sent to find customers by email (part of ``requests``)."""
        self._own: AiohttpTransport | None = None
        if transport is None:
            transport = self._own = AiohttpTransport(
                connections=connections, timeout=timeout, trace_configs=trace_configs
            )
        self._exchanger = Exchanger(transport, max_body=max_body, on_exchange=on_exchange)
        self.tokens = Tokens(self.api_url, self.credentials, self.retry, self._exchanger)

    @property
    def token_requests(self) -> int:
        """Token requests sent (re-sends included)."""
        return self.tokens.requests

    def __repr__(self) -> str:
        return f"<HelpScoutClient {self.api_url}>"

    async def __aenter__(self) -> HelpScoutClient:
        if self._own is not None:
            await self._own.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own is not None:
            await self._own.close()

    # --- one call, with everything around it ---
    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one API call; see the module's docstring for what happens around it.

        Raises :class:`AuthError` (the credentials or the account refuse) and nothing else on
        purpose: other failures come back in ``Reply.error``.
        """
        method = method.upper()
        cost = request_cost(method)
        url = self.api_url + path
        sends = failures = refusals = limited = 0
        while True:
            ticket = await self.pacer.acquire(cost)
            try:  # the token is taken after pacing, so it cannot die while the request waits
                token, generation = await self.tokens.current()
            except BaseException:
                self.pacer.withdraw(ticket)
                raise
            sends += 1
            self.requests += 1
            if (counting := _sends.get()) is not None:
                counting.count += 1
            try:
                status, headers, body = await self._exchanger.send(
                    method, url, token, json=json, params=params, attempt=sends
                )
            except CertificateError:
                self.pacer.withdraw(ticket)
                self.requests -= 1  # refused before anything was sent
                if counting is not None:
                    counting.count -= 1
                raise
            except NoAnswer as lost:
                self.pacer.settle(ticket, 0, None)
                failures += 1
                unsure = lost.maybe_done and method == "POST"
                if unsure or failures >= self.retry.max_attempts:
                    lost_error = TransportError(str(lost))
                    return Reply(0, NO_HEADERS, None, sends, lost_error, uncertain=unsure)
                await asyncio.sleep(self.retry.delay(failures))
                continue
            hold = self.pacer.settle(ticket, status, headers)  # a 429 holds every worker
            if status == 401:
                refusals += 1
                await self.tokens.refused(generation, body, refusals)
                continue
            refusals = 0
            self.tokens.accepted(generation)
            if status == 403:
                error = api_error(status, body)
                raise AuthError(
                    403,
                    f"{error.message}: Help Scout denies this account access to the API; check "
                    "that the app's user may manage customers and that the plan includes the API",
                    error.log_ref,
                )
            if status == 429:
                self.rate_limited += 1
                limited += 1
                if counting is not None:
                    counting.refused += 1
                if limited < self.retry.max_rate_limited:
                    continue
                error = api_error(status, body)
                message = (
                    f"{error.message}: Help Scout kept answering 429 (rate limit) to {limited} "
                    "tries in a row; something else is spending the account's budget: lower "
                    "--rate or import later"
                )
                limit = RateLimitError(status, message, error.log_ref, retry_after=hold)
                return Reply(status, headers, body, sends, limit)
            if status >= 500:
                failures += 1
                unsure = method == "POST" and status in UNSURE_STATUSES
                if not unsure and failures < self.retry.max_attempts:
                    await asyncio.sleep(self.retry.delay(failures))
                    continue
            unsure = method == "POST" and status in UNSURE_STATUSES
            failure = api_error(status, body) if status >= 400 else None
            if 300 <= status < 400:
                failure = redirect_error(status, headers)
            return Reply(status, headers, body, sends, failure, uncertain=unsure)

    # --- the calls ---
    async def create_customer(self, payload: Mapping[str, Any]) -> Reply:
        """``POST /v2/customers``; the new id is ``reply.resource_id``."""
        return await self.request("POST", "/v2/customers", json=payload)

    async def get_customer(self, customer_id: int | str) -> dict[str, Any]:
        """``GET /v2/customers/{id}``: the customer, entries under ``_embedded``."""
        reply = await self.request("GET", f"/v2/customers/{customer_id}")
        return reply.raise_for_error().body

    async def find_customers_by_email(
        self, emails: Iterable[str], *, batch: int = 10
    ) -> dict[str, list[dict[str, Any]]]:
        """The customers that have each email, compared exactly (case-insensitive).

        Help Scout's search matches emails *containing* the text, so the answers are filtered
        here; ``batch`` emails go in one query: ``(email:("a@x.com" OR "b@y.com"))``. Every email
        asked for is a key of the result (an empty list when nobody has it).

        An answer that cannot be read (not a search result, or a customer with a matching email
        but no usable id) raises an ApiError: taking it for "nobody" could create a twin.
        """
        wanted = sorted({e.strip().lower() for e in emails if e and e.strip()})
        found: dict[str, dict[int, dict[str, Any]]] = {email: {} for email in wanted}
        searchable = [e for e in wanted if '"' not in e]  # a quote cannot be searched for
        for start in range(0, len(searchable), batch):
            group = searchable[start : start + batch]
            terms = " OR ".join(f'"{e}"' for e in group)
            query = f"(email:{terms})" if len(group) == 1 else f"(email:({terms}))"
            page = pages = 1
            while page <= pages:
                params = {"query": query, "page": str(page)}
                reply = await self.request("GET", "/v2/customers", params=params)
                self.lookups += reply.attempts
                reply.raise_for_error()
                try:
                    customers, pages = _search_page(reply.body, found)
                except ValueError as exc:
                    message = f"Help Scout's search answer is malformed: {exc}"
                    raise ApiError(reply.status, message) from None
                for customer_id, customer, emails in customers:
                    for email in emails:
                        found[email][customer_id] = customer
                if not customers:
                    break  # an empty page ends the search, whatever totalPages says
                page += 1
        return {email: list(customers.values()) for email, customers in found.items()}

    async def update_customer(self, customer_id: int | str, fields: Mapping[str, Any]) -> Reply:
        """``PUT /v2/customers/{id}``: replaces the customer's own fields (those left out become
        null); entries (emails, phones...) are not touched."""
        return await self.request("PUT", f"/v2/customers/{customer_id}", json=dict(fields))

    async def update_from(self, customer_id: int | str, payload: Mapping[str, Any]) -> Update:
        """Make the customer hold what a create ``payload`` says, sending only what differs.

        Reads the customer, then sends :func:`changes_for`'s requests. An entry POST whose fate is
        unknown (``uncertain``) starts over from the read, so no entry is added twice; at most
        :data:`UPDATE_ROUNDS` reads.
        """
        changed: list[str] = []
        attempts = 0
        for _ in range(UPDATE_ROUNDS):
            reply = await self.request("GET", f"/v2/customers/{customer_id}")
            attempts += reply.attempts
            if reply.error is not None:
                return Update(changed, attempts, reply.status, reply.error)
            status = reply.status
            for change in changes_for(reply.body, payload):
                path = f"/v2/customers/{customer_id}{change.path}"
                reply = await self.request(change.method, path, json=change.body)
                attempts += reply.attempts
                if reply.uncertain:
                    break
                if reply.error is not None:
                    return Update(changed, attempts, reply.status, reply.error)
                changed.append(change.what)
                status = reply.status
            else:
                return Update(list(dict.fromkeys(changed)), attempts, status)
        error = TransportError(f"no certain answer to {UPDATE_ROUNDS} updates in a row")
        return Update(changed, attempts, 0, error)

    async def set_properties(self, customer_id: int | str, values: Mapping[str, Any]) -> Reply:
        """``PATCH /v2/customers/{id}/properties``: each slug to its value; None removes it."""
        ops = [
            {"op": "remove", "path": f"/{slug}"}
            if value is None
            else {"op": "replace", "path": f"/{slug}", "value": value}
            for slug, value in values.items()
        ]
        return await self.request("PATCH", f"/v2/customers/{customer_id}/properties", json=ops)

    async def add_entry(self, customer_id: int | str, kind: str, entry: Mapping[str, Any]) -> Reply:
        """``POST /v2/customers/{id}/{kind}``: kind is emails, phones, chats, social-profiles or
        websites; the new entry's id is ``reply.resource_id``."""
        return await self.request("POST", f"/v2/customers/{customer_id}/{kind}", json=dict(entry))

    async def delete_customer(self, customer_id: int | str) -> Reply:
        """``DELETE /v2/customers/{id}?async=true``: Help Scout answers 202 and deletes the
        customer, and its conversations, in the background (a later ``GET`` answers 404). There
        is no undo."""
        path = f"/v2/customers/{customer_id}"
        return await self.request("DELETE", path, params={"async": "true"})

    async def conversation_count(self, customer_id: int | str) -> int:
        """How many conversations the customer has, in any status:
        ``GET /v2/conversations?query=(customerIds:ID)&status=all``, page after page until one
        lists some (or ``totalElements`` counts some) or the pages end.

        Raises the ApiError or TransportError the search got, or an ApiError for an answer that
        is no list of conversations: taking it for "none" could delete a customer who has some.
        """
        params = {"query": f"(customerIds:{customer_id})", "status": "all"}
        page = pages = 1
        while page <= min(pages, MAX_PAGES):
            asked = {**params, "page": str(page)}
            reply = (await self.request("GET", "/v2/conversations", params=asked)).raise_for_error()
            try:
                listed, counted, pages = _conversations_page(reply.body)
            except ValueError as exc:
                raise ApiError(reply.status, f"Help Scout's conversation search answer is "
                                             f"malformed: {exc}") from None  # fmt: skip
            if listed or counted:
                return max(listed, counted)
            page += 1
        return 0

    async def customer_properties(self) -> list[dict[str, Any]]:
        """``GET /v2/customer-properties``: the account's property definitions."""
        reply = (await self.request("GET", "/v2/customer-properties")).raise_for_error()
        return embedded_items(reply.body, "customer-properties")


@dataclass
class Update:
    """What bringing one customer up to date did and took."""

    changed: list[str]
    """What changed (see ``Change.what``); empty when Help Scout held it all already."""
    attempts: int
    status: int
    """The last HTTP status (0: no answer)."""
    error: ApiError | TransportError | None = None


def _search_page(
    body: Any, wanted: Container[str]
) -> tuple[list[tuple[int, dict[str, Any], list[str]]], int]:
    """A search answer's customers that have a ``wanted`` email, each as (id, customer, those
    emails), and its number of pages; ValueError says what makes it no search answer."""
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    embedded = body.get("_embedded", {})  # absent when nobody matched
    customers = embedded.get("customers", []) if isinstance(embedded, dict) else None
    if not isinstance(customers, list) or not all(isinstance(c, dict) for c in customers):
        raise ValueError("_embedded.customers is not a list of customers")
    page = body.get("page", {})
    pages = page.get("totalPages", 1) if isinstance(page, dict) else None
    if not isinstance(pages, int) or isinstance(pages, bool):
        raise ValueError("page.totalPages is not a number")
    matches = []
    for customer in customers:
        embedded = customer.get("_embedded", {})
        entries = embedded.get("emails", []) if isinstance(embedded, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError("a customer's _embedded.emails is not a list of emails")
        emails = [e for e in (str(x.get("value", "")).lower() for x in entries) if e in wanted]
        if not emails:
            continue
        customer_id = _customer_id(customer.get("id"))
        if customer_id is None:
            raise ValueError(f"the customer with {emails[0]} has no usable id")
        matches.append((customer_id, customer, emails))
    return matches, pages


def _conversations_page(body: Any) -> tuple[int, int, int]:
    """A conversation search answer's (conversations listed, ``totalElements``, ``totalPages``);
    ValueError says what makes it no such answer."""
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    embedded = body.get("_embedded", {})  # absent when nothing matched
    items = embedded.get("conversations", []) if isinstance(embedded, dict) else None
    if not isinstance(items, list):
        raise ValueError("_embedded.conversations is not a list")
    page = body.get("page")
    if not isinstance(page, dict):
        raise ValueError("no page")
    total, pages = page.get("totalElements", 0), page.get("totalPages", 1)
    for value in (total, pages):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError("page.totalElements and page.totalPages are not counts")
    return len(items), total, pages


def _customer_id(value: Any) -> int | None:
    """A customer id as Help Scout gives it (a positive integer, maybe as text), else None."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
