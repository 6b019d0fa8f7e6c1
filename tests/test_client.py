"""The API client against the real sandbox over loopback (the pacer's tests are in
test_pacing.py): everything that talks HTTP talks to a running :class:`~importer.sandbox.Sandbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from importer.core.errors import (
    ApiError,
    AuthError,
    ConfigError,
    RateLimitError,
    RunStopped,
)
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.client import (
    MAX_REFUSALS,
    Credentials,
    HelpScoutClient,
    Reply,
    RetryPolicy,
    Settings,
    api_error,
    changes_for,
    check_api_url,
    read_settings,
)
from importer.send.pacing import Pacer, retry_after

FIXTURES = Path(__file__).resolve().parent / "data" / "helpscout-fixtures"
FAST = RetryPolicy(max_attempts=8, base=0.005)


# --- helpers -------------------------------------------------------------------------------
def client_of(box: Sandbox, **options: Any) -> HelpScoutClient:
    options.setdefault("retry", FAST)
    return HelpScoutClient(box.url, Credentials(box.app_id, box.app_secret), **options)


def headers(**values: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in values.items()}))


@contextlib.asynccontextmanager
async def tiny_api(*routes: web.RouteDef) -> AsyncIterator[str]:
    """A small aiohttp app on 127.0.0.1 answering ``routes`` (and tokens to anyone, unless a
    route answers them); its URL."""

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": uuid.uuid4().hex, "expires_in": 172800})

    app = web.Application()
    if not any(route.path == "/v2/oauth2/token" for route in routes):
        app.add_routes([web.post("/v2/oauth2/token", token)])
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class Timeline:
    """When each request started and each answer ended, from aiohttp's tracing (client side)."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, Any]] = []
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._start)
        self.config.on_request_end.append(self._end)

    async def _start(self, session: Any, context: Any, params: Any) -> None:
        self.events.append((time.monotonic(), "start", params.url.path))

    async def _end(self, session: Any, context: Any, params: Any) -> None:
        self.events.append((time.monotonic(), "end", params.response))


# --- where to send, as whom ----------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "https://api.helpscout.net",
        "https://api.helpscout.net/",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:5000",
        "http://[::1]:5000",
    ],
)
def test_accepted_api_urls(url: str) -> None:
    assert check_api_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url, says",
    [
        ("http://api.helpscout.net", "refusing plain http to api.helpscout.net"),
        ("http://10.0.0.7:8080", "refusing plain http to 10.0.0.7"),
        ("http://localhost.example.com", "refusing plain http"),
        ("ftp://api.helpscout.net", "is not a web address"),
        ("api.helpscout.net", "is not a web address"),
        ("https://id:secret@api.helpscout.net", "must not carry credentials"),
        ("http://[::1", "not a usable API URL: Invalid IPv6 URL"),
        ("http://127.0.0.1:99999", "not a usable API URL: Port out of range"),
        ("https://id:secret@[::1", "not a usable API URL"),
    ],
)
def test_refused_api_urls(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        check_api_url(url)
    assert "\n" not in str(caught.value)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"HELPSCOUT_APP_ID": "id", "HELPSCOUT_APP_SECRET": "s3"}, Credentials("id", "s3")),
        ({"HELPSCOUT_ACCESS_TOKEN": "t0k"}, Credentials(access_token="t0k")),
        ({"HELPSCOUT_APP_ID": "id", "HELPSCOUT_APP_SECRET": "s3", "HELPSCOUT_ACCESS_TOKEN": "t0k"},
         Credentials("id", "s3", "t0k")),
    ],
)  # fmt: skip
def test_credentials_from_the_environment(env: dict[str, str], expected: Credentials) -> None:
    credentials = Credentials.from_env(env)
    assert credentials == expected
    assert "s3" not in repr(credentials) and "t0k" not in repr(credentials)


@pytest.mark.parametrize(
    "env, says",
    [
        ({}, "no credentials: set HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET"),
        ({"HELPSCOUT_APP_ID": "id"}, "HELPSCOUT_APP_SECRET is not set"),
        ({"HELPSCOUT_APP_SECRET": "s3"}, "HELPSCOUT_APP_ID is not set"),
    ],
)
def test_missing_credentials(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        Credentials.from_env(env)
    assert "s3" not in str(caught.value)


# --- answers -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "found, expected",
    [
        (headers(Resource_ID="42"), "42"),
        (headers(resource_id="43"), "43"),
        (headers(Location="https://api.helpscout.net/v2/customers/44"), "44"),
        (headers(Location="https://api.helpscout.net/v2/customers/45/"), "45"),
        (headers(), None),
    ],
)
def test_resource_id_from_either_header(found: CIMultiDictProxy[str], expected: str) -> None:
    assert Reply(201, found, None, 1).resource_id == expected


def test_error_shape_with_a_links_list() -> None:
    """The PHP SDK's fixture: ``links`` lists instead of ``_links`` objects."""
    body = json.loads((FIXTURES / "php-sdk/json/error_validation_400.json").read_text())
    error = api_error(400, body)
    assert (error.status, error.message, error.log_ref) == (
        400,
        "Validation error",
        "cb73aad3-9a81-44fd-bf70-48250ea256ff#12",
    )
    assert [str(e) for e in error.field_errors] == ["country: may not be empty"]
    assert str(error) == (
        "HTTP 400 Validation error: country: may not be empty "
        "(logRef cb73aad3-9a81-44fd-bf70-48250ea256ff#12)"
    )


@pytest.mark.parametrize(
    "status, body, message",
    [
        (500, {"logRef": "r#1", "message": "Internal error"}, "Internal error"),
        (401, {"error": "invalid_client", "error_description": "Bad client credentials"},
         "Bad client credentials"),
        (502, None, "Bad Gateway"),
        (599, ["not", "an", "object"], "error"),
    ],
)  # fmt: skip
def test_other_error_bodies(status: int, body: Any, message: str) -> None:
    error = api_error(status, body)
    assert (error.status, error.message, error.field_errors) == (status, message, [])


# --- against the sandbox -------------------------------------------------------------------
async def test_create_gives_the_sandboxs_id(person: Callable[..., dict[str, Any]]) -> None:
    async with Sandbox() as box, client_of(box) as client:
        replies = [await client.create_customer(person(i)) for i in range(3)]
    assert [r.resource_id for r in replies] == [str(i) for i in box.state.customers]
    assert [(r.status, r.attempts, r.error) for r in replies] == [(201, 1, None)] * 3
    assert client.token_requests == 1


async def test_a_400_comes_back_with_field_messages_and_log_ref_and_is_not_retried(
    person: Callable[..., dict[str, Any]],
) -> None:
    async with Sandbox() as box, client_of(box) as client:
        reply = await client.create_customer(person(1, firstName="A" * 41, gender="robot"))
    error = reply.error
    assert (reply.status, reply.attempts, error.status) == (400, 1, 400)
    assert {e.path for e in error.field_errors} == {"firstName", "gender"}
    assert error.log_ref and error.log_ref.count("#") == 1
    assert box.state.customers == {}


async def test_500_and_503_are_retried_until_they_succeed(
    person: Callable[..., dict[str, Any]],
) -> None:
    config = SandboxConfig(schedule={1: "500", 2: "503", 3: "500", 5: "503"})
    async with Sandbox(config) as box, client_of(box) as client:
        replies = [await client.create_customer(person(i)) for i in range(3)]
    assert [(r.status, r.attempts) for r in replies] == [(201, 4), (201, 2), (201, 1)]
    assert len(box.state.customers) == 3


async def test_retries_stop_after_max_attempts(person: Callable[..., dict[str, Any]]) -> None:
    config = SandboxConfig(fail_rate=1.0, fail_statuses=(503,))
    retry = RetryPolicy(max_attempts=3, base=0.001)
    async with Sandbox(config) as box, client_of(box, retry=retry) as client:
        reply = await client.create_customer(person(1))
    assert (reply.status, reply.attempts, reply.error.message) == (503, 3, "Service unavailable")


@pytest.mark.parametrize(
    "fault, status, error",
    [
        ("504", 504, "HTTP 504 Gateway timeout (logRef "),
        ("drop", 0, "connection lost (ServerDisconnectedError)"),
    ],
)
async def test_a_create_whose_fate_is_unknown_is_not_sent_again_and_says_so(
    person: Callable[..., dict[str, Any]], fault: str, status: int, error: str
) -> None:
    """Help Scout may have created the customer: a second POST would create a twin."""
    async with Sandbox(SandboxConfig(schedule={1: fault})) as box, client_of(box) as client:
        reply = await client.create_customer(person(1))
        again = await client.get_customer(next(iter(box.state.customers)))
        later = await client.create_customer(person(2))
    assert (reply.status, reply.attempts, reply.uncertain) == (status, 1, True)
    assert str(reply.error).startswith(error)
    assert len(box.state.customers) == 2 and again["lastName"] == "Lee1"
    assert (later.ok, later.uncertain) == (True, False)


async def test_only_creates_are_uncertain(person: Callable[..., dict[str, Any]]) -> None:
    """A 503 did nothing (retried); a lost read is read again; neither is uncertain."""
    config = SandboxConfig(schedule={1: "503"}, fail_rate=0)
    async with Sandbox(config) as box, client_of(box) as client:
        created = await client.create_customer(person(1))
        box.state.config.drop_rate = 0.5
        reads = [await client.request("GET", "/v2/customer-properties") for _ in range(4)]
    assert (created.status, created.attempts, created.uncertain) == (201, 2, False)
    assert [(r.status, r.uncertain) for r in reads] == [(200, False)] * 4


async def test_reads_are_retried_after_a_lost_connection(
    person: Callable[..., dict[str, Any]],
) -> None:
    async with Sandbox(SandboxConfig(drop_rate=0.5, seed=3)) as box, client_of(box) as client:
        customer_id = box.state.seed([person(1)])[0]
        found = [await client.get_customer(customer_id) for _ in range(6)]
    assert {c["id"] for c in found} == {customer_id}
    assert box.state.stats["GET", r"/v2/customers/{id}", "dropped"] > 0


async def test_nobody_listening_stops_the_run_naming_the_token_endpoint(
    person: Callable[..., dict[str, Any]],
) -> None:
    async with Sandbox() as box:
        url = box.url
    client = HelpScoutClient(url, Credentials("id", "s3"), retry=RetryPolicy(2, base=0.001))
    async with client:
        with pytest.raises(RunStopped, match=r"the token endpoint .*/v2/oauth2/token gave no "
                           r"answer \(cannot connect to .*\), 2 tries in a row"):  # fmt: skip
            await client.create_customer(person(1))
    assert client.token_requests == 2


# --- tokens --------------------------------------------------------------------------------
async def test_many_401s_at_once_cause_one_token_request(
    person: Callable[..., dict[str, Any]],
) -> None:
    """Every 25th request kills every token: the requests in flight all get 401, one of them
    fetches a token, all of them are sent again."""
    config = SandboxConfig(token_revoke_every=25, latency_ms=5)
    async with Sandbox(config) as box, client_of(box) as client:
        replies = await asyncio.gather(*(client.create_customer(person(i)) for i in range(120)))
    assert all(r.status == 201 for r in replies)
    assert len(box.state.customers) == 120
    revocations = box.state.authorized_seen // 25
    assert revocations >= 4
    assert box.state.tokens_issued == client.token_requests == 1 + revocations


async def test_a_token_that_expires_mid_run_is_fetched_once_per_expiry(
    person: Callable[..., dict[str, Any]],
) -> None:
    """Tokens die 0.1 s after issue whatever expires_in says: one new token per dead one."""
    timeline = Timeline()
    config = SandboxConfig(token_revoke_after=0.1, latency_ms=20, jitter_ms=10)
    async with Sandbox(config) as box, client_of(box, trace_configs=[timeline.config]) as client:
        for _ in range(8):
            await asyncio.gather(*(client.create_customer(person(i)) for i in range(12)))
    refused = {
        (response.request_info.headers["Authorization"])
        for _, kind, response in timeline.events
        if kind == "end" and response.status == 401
    }
    assert len(box.state.customers) == 96
    assert len(refused) >= 2
    assert box.state.tokens_issued == 1 + len(refused)


async def test_a_fresh_token_refused_at_once_stops_the_run(
    person: Callable[..., dict[str, Any]],
) -> None:
    config = SandboxConfig(token_revoke_every=1)
    async with Sandbox(config) as box, client_of(box) as client:
        with pytest.raises(AuthError) as caught:
            await client.create_customer(person(1))
    assert caught.value.exit_code == 3
    assert box.state.tokens_issued == 2
    assert str(caught.value) == (
        "HTTP 401 The access token was revoked; refused twice in a row: check HELPSCOUT_APP_ID "
        "and HELPSCOUT_APP_SECRET (Help Scout: Your Profile > My Apps)"
    )


async def test_wrong_app_credentials(person: Callable[..., dict[str, Any]]) -> None:
    async with Sandbox() as box:
        client = HelpScoutClient(box.url, Credentials(box.app_id, "not-the-s3cret"), retry=FAST)
        async with client:
            with pytest.raises(AuthError) as caught:
                await client.create_customer(person(1))
    assert str(caught.value) == (
        "HTTP 401 Bad client credentials: check HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET "
        "(Help Scout: Your Profile > My Apps)"
    )
    assert client.token_requests == 1


async def test_a_refused_access_token_without_app_credentials(
    person: Callable[..., dict[str, Any]],
) -> None:
    async with Sandbox() as box:
        client = HelpScoutClient(box.url, Credentials(access_token="expired-t0ken"))
        async with client:
            with pytest.raises(AuthError, match="HELPSCOUT_ACCESS_TOKEN has expired") as caught:
                await client.create_customer(person(1))
    assert "expired-t0ken" not in str(caught.value)
    assert "the access token was refused" in str(caught.value)
    assert "twice" not in str(caught.value)  # it was refused once: nothing else to try
    assert client.token_requests == 0


async def test_tokens_are_taken_after_pacing_so_a_short_lived_one_never_leaves_expired(
    person: Callable[..., dict[str, Any]],
) -> None:
    """expires_in=1 and one create a second: creates wait in the pacer longer than a token
    lives, yet each leaves with a live token (a new one fetched before the old one dies)."""
    async with Sandbox(SandboxConfig(token_ttl=1)) as box:
        async with client_of(box, pacer=Pacer(120)) as client:
            replies = await asyncio.gather(*(client.create_customer(person(i)) for i in range(3)))
        refused = box.state.stats["POST", "/v2/customers", 401]
    assert [(r.status, r.attempts) for r in replies] == [(201, 1)] * 3
    assert refused == 0
    assert 2 <= box.state.tokens_issued == client.token_requests <= 4


async def test_a_request_whose_tokens_keep_being_refused_stops_after_max_refusals(
    person: Callable[..., dict[str, Any]],
) -> None:
    """Creates are refused with every token while reads succeed with it: each 401 fetches a
    new token, and after MAX_REFUSALS of them the run stops instead of looping for ever."""
    refusals: list[str] = []

    async def create(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)  # a read succeeds with the new token meanwhile
        refusals.append(request.headers["Authorization"])
        return web.json_response({"error": "invalid_token"}, status=401)

    async def properties(request: web.Request) -> web.Response:
        return web.json_response({})

    routes = (web.post("/v2/customers", create), web.get("/v2/customer-properties", properties))
    async with (
        tiny_api(*routes) as url,
        HelpScoutClient(url, Credentials("id", "s3"), pacer=Pacer(100_000)) as client,
    ):
        creating = asyncio.ensure_future(client.create_customer(person(1)))
        while not creating.done():
            await client.request("GET", "/v2/customer-properties")
            await asyncio.sleep(0.005)
        with pytest.raises(AuthError, match=f"{MAX_REFUSALS} access tokens in a row") as caught:
            await creating
    assert caught.value.exit_code == 3
    assert len(refusals) == len(set(refusals)) == MAX_REFUSALS
    assert client.token_requests == MAX_REFUSALS


async def test_a_token_endpoint_answering_200_without_a_token_names_the_url(
    person: Callable[..., dict[str, Any]],
) -> None:
    async def not_a_token(request: web.Request) -> web.Response:
        return web.Response(text="<html>hi</html>", content_type="text/html")

    async with (
        tiny_api(web.post("/v2/oauth2/token", not_a_token)) as url,
        HelpScoutClient(url, Credentials("id", "s3")) as client,
    ):
        with pytest.raises(AuthError) as caught:
            await client.create_customer(person(1))
    assert str(caught.value) == (
        f"HTTP 200 OK, but {url}/v2/oauth2/token answered something that is not an access "
        "token: check the API URL (Help Scout's is https://api.helpscout.net)"
    )
    assert client.token_requests == 1 and client.requests == 0


async def test_a_ready_access_token_is_used_then_replaced_with_app_credentials(
    person: Callable[..., dict[str, Any]],
) -> None:
    async with Sandbox(SandboxConfig(token_revoke_every=3)) as box:
        token = box.state.issue_token()
        client = HelpScoutClient(box.url, Credentials(box.app_id, box.app_secret, token))
        async with client:
            replies = [await client.create_customer(person(i)) for i in range(4)]
    assert [r.status for r in replies] == [201] * 4
    assert client.token_requests == 1


async def test_403_stops_the_run(person: Callable[..., dict[str, Any]]) -> None:
    async with Sandbox(SandboxConfig(deny_api=True)) as box, client_of(box) as client:
        with pytest.raises(AuthError) as caught:
            await client.create_customer(person(1))
    assert caught.value.exit_code == 3
    assert str(caught.value) == (
        "HTTP 403 Access denied: Help Scout denies this account access to the API; check that "
        f"the app's user may manage customers and that the plan includes the API (logRef "
        f"{caught.value.log_ref})"
    )
    assert caught.value.log_ref


# --- 429 -----------------------------------------------------------------------------------
async def test_429_holds_every_request_until_retry_after(
    person: Callable[..., dict[str, Any]],
) -> None:
    """An undocumented limit of 10 writes a second and 15 creates sent at once: after each 429
    answer, no request leaves before its Retry-After has passed."""
    timeline = Timeline()
    config = SandboxConfig(burst=(10, 1.0))
    pacer = Pacer(100_000)
    async with (
        Sandbox(config) as box,
        client_of(box, pacer=pacer, trace_configs=[timeline.config]) as client,
    ):
        replies = await asyncio.gather(*(client.create_customer(person(i)) for i in range(15)))
    assert [r.status for r in replies] == [201] * 15
    assert client.rate_limited >= 1
    limited = [
        (at, retry_after(response.headers))
        for at, kind, response in timeline.events
        if kind == "end" and response.status == 429
    ]
    assert limited and all(wait == 1.0 for _, wait in limited)
    starts = [
        at for at, kind, path in timeline.events if kind == "start" and path != "/v2/oauth2/token"
    ]
    for answered, wait in limited:
        assert not [s for s in starts if answered < s < answered + wait]


async def test_429s_are_not_retried_for_ever(person: Callable[..., dict[str, Any]]) -> None:
    """An account whose budget never comes back: after max_rate_limited 429s in a row the call
    fails with a message that says so."""

    async def create(request: web.Request) -> web.Response:
        headers = {"X-RateLimit-Retry-After": "0"}
        body = {"message": "API rate limit exceeded"}
        return web.json_response(body, status=429, headers=headers)

    retry = RetryPolicy(max_rate_limited=2)
    async with (
        tiny_api(web.post("/v2/customers", create)) as url,
        HelpScoutClient(url, Credentials("id", "s3"), pacer=Pacer(100_000), retry=retry) as client,
    ):
        started = time.monotonic()
        reply = await client.create_customer(person(1))
        took = time.monotonic() - started
    assert (reply.status, reply.attempts, client.rate_limited) == (429, 2, 2)
    assert isinstance(reply.error, RateLimitError) and not reply.uncertain
    assert reply.error.message == (
        "API rate limit exceeded: Help Scout kept answering 429 (rate limit) to 2 tries in a "
        "row; something else is spending the account's budget: lower --rate or import later"
    )
    assert took >= 1.0  # the first 429 was waited out (at least a second)


# --- the other calls -----------------------------------------------------------------------
async def test_find_customers_by_email_compares_exactly_across_pages(
    person: Callable[..., dict[str, Any]],
) -> None:
    """The search matches emails containing the text: 61 hits, two pages, one exact."""
    async with Sandbox() as box:
        ids = box.state.seed(
            [person(0, emails=[{"type": "work", "value": "A1@x.com"}])]
            + [person(i, emails=[{"type": "work", "value": f"{i}a1@x.com"}]) for i in range(1, 61)]
            + [person(99, emails=[{"type": "home", "value": "b@y.com"}])]
        )
        async with client_of(box) as client:
            found = await client.find_customers_by_email(
                ["a1@x.com", "B@y.com", "nobody@x.com", ""], batch=2
            )
    assert {email: [c["id"] for c in hits] for email, hits in found.items()} == {
        "a1@x.com": [ids[0]],
        "b@y.com": [ids[-1]],
        "nobody@x.com": [],
    }
    pages = box.state.stats["GET", "/v2/customers", 200]
    assert pages == 3  # two pages for the first pair, one for the second


def search_answer(*customers: dict[str, Any]) -> dict[str, Any]:
    page = {"size": 50, "totalElements": len(customers), "totalPages": 1, "number": 1}
    return {"_embedded": {"customers": list(customers)}, "page": page}


def emails(*values: str) -> dict[str, Any]:
    return {"emails": [{"id": 1, "type": "work", "value": v} for v in values]}


@pytest.mark.parametrize(
    "body, says",
    [
        ([1, 2], "not a JSON object"),
        (None, "not a JSON object"),
        ({"page": "one"}, "page.totalPages is not a number"),
        ({"page": {"totalPages": "lots"}}, "page.totalPages is not a number"),
        ({"_embedded": "none"}, "_embedded.customers is not a list of customers"),
        ({"_embedded": {"customers": [7]}}, "_embedded.customers is not a list of customers"),
        (search_answer({"id": 1, "_embedded": {"emails": ["a@x.com"]}}),
         "a customer's _embedded.emails is not a list of emails"),
        (search_answer({"_embedded": emails("a@x.com")}),
         "the customer with a@x.com has no usable id"),
        (search_answer({"id": "12ab", "_embedded": emails("a@x.com")}),
         "the customer with a@x.com has no usable id"),
    ],
)  # fmt: skip
async def test_a_malformed_search_answer_is_an_api_error_not_nobody(body: Any, says: str) -> None:
    """Taking an unreadable answer for "nobody has it" would create a twin: it is an error."""

    async def search(request: web.Request) -> web.Response:
        return web.json_response(body)

    async with (
        tiny_api(web.get("/v2/customers", search)) as url,
        HelpScoutClient(url, Credentials("id", "s3"), pacer=Pacer(100_000)) as client,
    ):
        with pytest.raises(ApiError) as caught:
            await client.find_customers_by_email(["a@x.com"])
    assert str(caught.value) == f"HTTP 200 Help Scout's search answer is malformed: {says}"
    assert not isinstance(caught.value, AuthError)


async def test_a_search_answer_is_read_leniently_where_it_is_harmless() -> None:
    """Customers without the email are ignored whatever their shape; a text id is an id; no
    ``page`` is one page; an empty page ends the search even if totalPages says more."""
    answers = [
        {"_embedded": {"customers": [{"_embedded": emails("xa@x.com")},
                                     {"id": "7", "_embedded": emails("A@x.com")}]}},
        {**search_answer({"id": 8, "_embedded": emails("b@x.com")}), "page": {"totalPages": 10**6}},
        {"page": {"totalPages": 10**6}},
    ]  # fmt: skip
    asked: list[str] = []

    async def search(request: web.Request) -> web.Response:
        asked.append(request.query["page"])
        return web.json_response(answers[len(asked) - 1])

    async with (
        tiny_api(web.get("/v2/customers", search)) as url,
        HelpScoutClient(url, Credentials("id", "s3"), pacer=Pacer(100_000)) as client,
    ):
        first = await client.find_customers_by_email(["a@x.com"])
        second = await client.find_customers_by_email(["b@x.com"])
    assert {e: [c["id"] for c in found] for e, found in (first | second).items()} == {
        "a@x.com": ["7"],
        "b@x.com": [8],
    }
    assert asked == ["1", "1", "2"]


async def test_get_update_properties_and_entries(person: Callable[..., dict[str, Any]]) -> None:
    async with Sandbox() as box, client_of(box) as client:
        customer_id = (await client.create_customer(person(1))).resource_id
        put = await client.update_customer(customer_id, {"firstName": "Anna", "jobTitle": "CTO"})
        patched = await client.set_properties(customer_id, {"plan": "pro", "seats": 3})
        removed = await client.set_properties(customer_id, {"seats": None})
        added = await client.add_entry(customer_id, "phones", {"type": "work", "value": "+1 555"})
        customer = await client.get_customer(customer_id)
        definitions = await client.customer_properties()
    assert [r.status for r in (put, patched, removed, added)] == [204, 204, 204, 201]
    assert added.resource_id
    assert (customer["firstName"], customer["lastName"], customer["jobTitle"]) == (
        "Anna",
        None,
        "CTO",
    )
    assert [(p["slug"], p["value"]) for p in customer["_embedded"]["properties"]] == [
        ("plan", "pro")
    ]
    assert [p["value"] for p in customer["_embedded"]["phones"]] == ["+1 555"]
    assert {"plan", "seats", "signup-date"} <= {d["slug"] for d in definitions}


HELD = {
    "id": 7,
    "firstName": "Ann",
    "lastName": "Lee",
    "jobTitle": "CTO",
    "gender": "Female",
    "_embedded": {
        "emails": [{"id": 1, "type": "work", "value": "Ann@Example.com"}],
        "phones": [{"id": 2, "type": "work", "value": "+1 555 0100"}],
        "websites": [],
        "properties": [{"slug": "seats", "value": 4}, {"slug": "vip", "value": True}],
        "address": {"lines": ["1 Main St"], "city": "Boston", "country": "US"},
    },
}


@pytest.mark.parametrize(
    "payload, expected",
    [
        # what Help Scout holds already, in its own case and types: nothing to send
        ({"firstName": "Ann", "gender": "female", "emails": [{"type": "work",
          "value": "ann@example.com"}], "properties": {"seats": "4", "vip": "true"},
          "address": {"lines": ["1 Main St"], "city": "Boston", "country": "US"}}, []),
        # fields the row leaves out are not erased; only what differs is sent
        ({"firstName": "Anna", "jobTitle": "CEO"},
         [("firstName, jobTitle", "PATCH", "", [
             {"op": "replace", "path": "/firstName", "value": "Anna"},
             {"op": "replace", "path": "/jobTitle", "value": "CEO"}])]),
        ({"properties": {"seats": 5, "plan": "pro"}},
         [("properties", "PATCH", "/properties", [
             {"op": "replace", "path": "/seats", "value": 5},
             {"op": "replace", "path": "/plan", "value": "pro"}])]),
        # new entries are added, known ones are not, a top-level phone is a phone entry
        ({"emails": [{"type": "work", "value": "ANN@example.com"},
                     {"type": "home", "value": "a@home.example"}],
          "phone": "+1 555 0199", "websites": [{"value": "https://ann.example"}]},
         [("emails", "POST", "/emails", {"type": "home", "value": "a@home.example"}),
          ("phones", "POST", "/phones", {"type": "work", "value": "+1 555 0199"}),
          ("websites", "POST", "/websites", {"value": "https://ann.example"})]),
        ({"address": {"lines": ["2 Main St"], "city": "Boston", "country": "US"}},
         [("address", "PUT", "/address",
           {"lines": ["2 Main St"], "city": "Boston", "country": "US"})]),
    ],
)  # fmt: skip
def test_changes_for_sends_only_what_differs(payload: dict, expected: list) -> None:
    changes = [(c.what, c.method, c.path, c.body) for c in changes_for(HELD, payload)]
    assert changes == expected


def test_an_address_is_created_when_there_is_none() -> None:
    held = {"id": 7, "_embedded": {}}
    address = {"lines": ["1 Main St"], "country": "US"}
    assert [(c.method, c.path) for c in changes_for(held, {"address": address})] == [
        ("POST", "/address")
    ]


async def test_update_from_brings_the_customer_up_to_date_once(
    person: Callable[..., dict[str, Any]],
) -> None:
    """A dropped entry POST (added, no answer) starts over from a read: not added twice."""
    async with Sandbox() as box, client_of(box) as client:
        customer_id = box.state.seed([person(1, jobTitle="CTO")])[0]
        payload = person(1, firstName="Anna", properties={"plan": "pro"},
                         phones=[{"type": "work", "value": "+1 555"}])  # fmt: skip
        first = await client.update_from(customer_id, payload)
        again = await client.update_from(customer_id, payload)
        customer = box.state.customers[customer_id]
    assert (first.changed, first.error, first.status) == (
        ["firstName", "properties", "phones"],
        None,
        201,
    )
    assert first.attempts == 4  # the read and three writes
    assert (again.changed, again.attempts, again.status) == ([], 1, 200)
    assert (customer["firstName"], customer["jobTitle"]) == ("Anna", "CTO")
    assert [p["value"] for p in customer["phones"]] == ["+1 555"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_an_uncertain_entry_post_is_read_again_not_sent_twice(
    person: Callable[..., dict[str, Any]], seed: int
) -> None:
    """Answers lost after the work (504s, drops) on reads and writes: each email added once."""
    config = SandboxConfig(gateway_timeout_rate=0.3, drop_rate=0.2, seed=seed)
    async with Sandbox(config) as box, client_of(box) as client:
        customer_id = box.state.seed([person(1)])[0]
        emails = [f"ann{i}@home.example" for i in range(4)]
        payload = person(1, emails=[{"type": "home", "value": e} for e in emails])
        update = await client.update_from(customer_id, payload)
        held = [e["value"] for e in box.state.customers[customer_id]["emails"]]
        unsure = sum(n for (method, route, status), n in box.state.stats.items()
                     if method == "POST" and status in (504, "dropped"))  # fmt: skip
    assert unsure > 0
    assert sorted(held) == sorted({"ann.lee1@example.com", *held}) and len(held) <= 5
    assert update.error is None or "no certain answer to 3 updates" in str(update.error)
    if update.error is None:
        assert sorted(held) == sorted(["ann.lee1@example.com", *emails])


async def test_a_missing_customer_raises_a_404_api_error() -> None:
    async with Sandbox() as box, client_of(box) as client:
        with pytest.raises(ApiError) as caught:
            await client.get_customer(999)
    assert str(caught.value).startswith("HTTP 404 Resource not found (logRef ")


async def test_nothing_secret_in_reprs(person: Callable[..., dict[str, Any]]) -> None:
    async with Sandbox() as box, client_of(box) as client:
        await client.create_customer(person(1))
        token = next(iter(box.state.tokens))
        shown = repr(client) + repr(client.credentials)
    assert box.app_secret not in shown
    assert token not in shown


def test_credentials_can_come_from_a_file_named_in_the_environment(tmp_path) -> None:
    secret_file = tmp_path / "helpscout.env"
    secret_file.write_text(
        "# Help Scout app\nexport HELPSCOUT_APP_ID=app-1\nHELPSCOUT_APP_SECRET='s3cr3t=x'\n",
        encoding="utf-8",
    )
    creds = Credentials.from_env({"HELPSCOUT_CREDENTIALS_FILE": str(secret_file)})
    assert (creds.app_id, creds.app_secret, creds.access_token) == ("app-1", "s3cr3t=x", None)
    # the same value in both places is one setting
    env = {"HELPSCOUT_CREDENTIALS_FILE": str(secret_file), "HELPSCOUT_APP_ID": "app-1"}
    assert Credentials.from_env(env).app_id == "app-1"


@pytest.mark.parametrize(
    ("lines", "env", "expected"),
    [
        # every documented variable is honoured, the API URL included
        (["HELPSCOUT_API_URL=http://127.0.0.1:8080", "HELPSCOUT_ACCESS_TOKEN=tok"], {},
         {"HELPSCOUT_API_URL": "http://127.0.0.1:8080", "HELPSCOUT_ACCESS_TOKEN": "tok"}),
        # the sandbox's printed exports can be pasted as they are
        (["export HELPSCOUT_API_URL=http://127.0.0.1:1", "export HELPSCOUT_APP_ID=a",
          "export HELPSCOUT_APP_SECRET=s", "export HELPSCOUT_REFRESH_TOKEN=r"], {},
         {"HELPSCOUT_API_URL": "http://127.0.0.1:1", "HELPSCOUT_APP_ID": "a",
          "HELPSCOUT_APP_SECRET": "s", "HELPSCOUT_REFRESH_TOKEN": "r"}),
        # the environment adds what the file does not say
        (["HELPSCOUT_APP_ID=a"], {"HELPSCOUT_API_URL": "https://x.example"},
         {"HELPSCOUT_APP_ID": "a", "HELPSCOUT_API_URL": "https://x.example"}),
        # an empty value in the environment is no value
        (["HELPSCOUT_APP_ID=a"], {"HELPSCOUT_APP_ID": ""}, {"HELPSCOUT_APP_ID": "a"}),
        # refused: a name the importer does not read (a typo), with its line
        (["# app", "HELPSCOUT_APP_ID=a", "HELPSCOUT_API_ULR=https://x.example"], {},
         "line 3: 'HELPSCOUT_API_ULR' is not a variable the importer reads"),
        # refused: a variable the environment sets to another value
        (["HELPSCOUT_API_URL=https://api.helpscout.net"],
         {"HELPSCOUT_API_URL": "http://127.0.0.1:8080"},
         "line 1: HELPSCOUT_API_URL is also set in the environment, to another value"),
    ],
)  # fmt: skip
def test_a_credentials_file_says_where_to_send_and_refuses_what_it_cannot_mean(
    tmp_path, lines, env, expected
) -> None:
    path = tmp_path / "credentials.env"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    environ = {"HELPSCOUT_CREDENTIALS_FILE": str(path), **env}
    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=re.escape(expected)):
            read_settings(environ)
    else:
        assert read_settings(environ) == Settings(expected)


@pytest.mark.parametrize(
    ("mode", "warned"), [(0o600, False), (0o400, False), (0o640, True), (0o604, True)]
)
def test_a_credentials_file_others_can_read_is_used_with_a_warning(tmp_path, mode, warned) -> None:
    path = tmp_path / "credentials.env"
    path.write_text("HELPSCOUT_APP_ID=a\nHELPSCOUT_APP_SECRET=s3cr3t\n", encoding="utf-8")
    path.chmod(mode)
    settings = read_settings({"HELPSCOUT_CREDENTIALS_FILE": str(path)})
    assert settings.values["HELPSCOUT_APP_ID"] == "a"
    assert settings.warnings == (
        (f"HELPSCOUT_CREDENTIALS_FILE {path} can be read by others (mode {mode:o}): make it "
         f"readable by its owner only: chmod 600 {path}",) if warned else ()
    )  # fmt: skip
    assert "s3cr3t" not in "".join(settings.warnings)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("HELPSCOUT_APP_SECRET s3cr3t\n", "line 1: write NAME=value"),
        (None, "cannot be read"),
    ],
)
def test_a_bad_credentials_file_is_one_line_that_never_shows_the_secret(
    tmp_path, text, message
) -> None:
    path = tmp_path / "helpscout.env"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Credentials.from_env({"HELPSCOUT_CREDENTIALS_FILE": str(path)})
    assert message in str(caught.value) and "s3cr3t" not in str(caught.value)
