"""The HTTP side: answers in Help Scout's shapes and the route handlers, with the middleware that
adds latency, auth, budget, faults and headers around them."""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from importer.check.payload import REQUEST, Violation, as_received, check_payload
from importer.sandbox.config import (
    CONVERSATION_SORTS,
    CONVERSATION_STATUSES,
    CUSTOMER_SORTS,
    EMBEDDED_OF,
    ENTRY_KINDS,
    ERRORS_DOC,
    HAL_JSON,
    INSPECT_PREFIX,
    LINK_RELS,
    MAILBOX_CREATED,
    OWN_FIELDS,
    PAGE_SIZE,
    PLAIN_JSON,
    SORT_ORDERS,
    TOKEN_PATH,
    VND_ERROR,
    WRITE_METHODS,
    conversation_problem,
)
from importer.sandbox.search import QueryError, parse_instant
from importer.sandbox.state import InvalidSeed, SandboxState


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


def _error(status: int, message: str, violations: Sequence[Violation] = ()) -> web.Response:
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


def _bad_request(violations: Sequence[Violation], strip: str = "") -> web.Response:
    """400 with the field errors; ``strip`` drops a path prefix for sub-resource endpoints."""
    if strip:
        violations = [
            Violation(v.path.removeprefix(strip), v.rule, v.message, v.rejected_value)
            for v in violations
        ]
    return _error(400, "Bad request", violations)


def _request_error(path: str, message: str, value: object = None) -> Violation:
    """A complaint about the request's form (not a customer rule: importer.check.rules)."""
    return Violation(path, REQUEST, message, value)


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
    return {n: parse_instant(request.query[n], n) for n in names if n in request.query}


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


def _numbered_page(
    request: web.Request,
    path: str,
    ids: Sequence[int],
    page: int,
    embed: Callable[[Sequence[int], str], dict[str, Any]],
) -> web.Response:
    """Page ``page`` of ``ids`` as v2 lists answer: ``embed``'s resources, ``page``, ``_links``."""
    pages = math.ceil(len(ids) / PAGE_SIZE)
    body = embed(ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], _base(request))
    body["page"] = {"size": PAGE_SIZE, "totalElements": len(ids), "totalPages": pages,
                    "number": page}  # fmt: skip
    body["_links"] = _page_links(request, path, page, pages)
    return _json_response(body)


# --- handlers ------------------------------------------------------------------------------------
class Api:
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
            response = _error(exc.status, exc.reason)
            if "Allow" in exc.headers:  # a 405 names the methods the path takes (RFC 9110)
                response.headers["Allow"] = exc.headers["Allow"]
            return response

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
        payload = as_received(await _json_body(request))
        violations = check_payload(payload, state.properties)
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
        return _numbered_page(request, "/v2/customers", ids, page, self._customers_page)

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
            return _bad_request(check_payload(body))
        given = as_received(body)
        violations = check_payload(given, self.state.properties)
        if violations:
            return _bad_request(violations)
        self.state.set_fields(customer, {name: given.get(name) for name in OWN_FIELDS})
        return web.Response(status=204)

    async def patch(self, request: web.Request) -> web.Response:
        """JSON Patch (add/remove/replace) on own fields; all or nothing."""
        customer = self._customer(request)
        changes: dict[str, Any] = {}
        violations: list[Violation] = []
        for i, op, name, value in self._operations(await _json_body(request)):
            if name not in OWN_FIELDS:
                violations.append(_request_error(f"[{i}].path", "not a customer field", name))
            elif op in ("add", "replace") and value is not None:
                received = as_received({name: value})
                violations.extend(check_payload(received))
                changes[name] = received.get(name)  # None: a value that means "not set"
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
        violations: list[Violation] = []
        for i, op, slug, value in self._operations(await _json_body(request)):
            if op == "replace":
                violations.extend(check_payload({"properties": {slug: value}}, definitions))
                changes[slug] = value
            elif op == "remove" and slug in definitions:
                removed.append(slug)
            elif op == "remove":
                violations.extend(check_payload({"properties": {slug: None}}, definitions))
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
        violations = check_payload({payload_field: [item]})
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
        body = await _json_body(request)
        address = as_received({"address": body}).get("address", body)
        violations = check_payload({"address": address})
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
        return _numbered_page(request, "/v2/conversations", ids, page, self._conversations_page)

    def _conversations_page(self, ids: Sequence[int], base: str) -> dict[str, Any]:
        """``_embedded.conversations``, absent when nothing matched."""
        if not ids:
            return {}
        found = self.state.conversations
        return {
            "_embedded": {"conversations": [self.render_conversation(found[i], base) for i in ids]}
        }

    async def get_conversation(self, request: web.Request) -> web.Response:
        conversation = self.state.conversations.get(int(request.match_info["id"]))
        if conversation is None:
            return _not_found()
        return _json_response(self.render_conversation(conversation, _base(request)))

    async def me(self, request: web.Request) -> web.Response:
        """``GET /v2/users/me``: the user the token belongs to, in Help Scout's shape."""
        user = self.state.user_id
        url = f"{_base(request)}/v2/users/{user}"
        return _json_response(
            {
                "id": user,
                "firstName": "Sandbox",
                "lastName": "Owner",
                "email": f"owner-{user}@sandbox.example",
                "role": "owner",
                "timezone": "UTC",
                "type": "user",
                "_links": {"self": {"href": url}},
            }
        )

    def _mailboxes(self) -> list[int]:
        """The account's mailboxes: 1, and each one a seeded conversation is in."""
        return sorted({1, *(c["mailboxId"] for c in self.state.conversations.values())})

    @staticmethod
    def _mailbox(number: int, base: str) -> dict[str, Any]:
        """One mailbox in Help Scout's shape (its docs' List Mailboxes): a fixed, made-up one."""
        href = f"{base}/v2/mailboxes/{number}"
        return {
            "id": number,
            "name": "Sandbox" if number == 1 else f"Sandbox {number}",
            "slug": f"{number:016x}",
            "email": f"support-{number}@sandbox.example",
            "createdAt": MAILBOX_CREATED,
            "updatedAt": MAILBOX_CREATED,
            "_links": {
                "self": {"href": href},
                "folders": {"href": f"{href}/folders"},
                "fields": {"href": f"{href}/fields"},
            },
        }

    async def list_mailboxes(self, request: web.Request) -> web.Response:
        """``GET /v2/mailboxes``: what a client asks to check its credentials, or to find the
        ``mailbox`` a customer search is narrowed to; one page."""
        base, numbers = _base(request), self._mailboxes()
        url = f"{base}/v2/mailboxes"
        return _json_response(
            {
                "_embedded": {"mailboxes": [self._mailbox(n, base) for n in numbers]},
                "_links": {
                    "self": {"href": url},
                    "first": {"href": f"{url}?page=1"},
                    "last": {"href": f"{url}?page=1"},
                    "page": {"href": f"{url}{{?page}}", "templated": True},
                },
                "page": {"size": PAGE_SIZE, "totalElements": len(numbers), "totalPages": 1,
                         "number": 1},
            }
        )  # fmt: skip

    async def get_mailbox(self, request: web.Request) -> web.Response:
        """``GET /v2/mailboxes/{id}``: where a conversation's ``mailbox`` link leads."""
        number = int(request.match_info["id"])
        if number not in self._mailboxes():
            return _not_found()
        return _json_response(self._mailbox(number, _base(request)))

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
            problem = conversation_problem(seed)
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
