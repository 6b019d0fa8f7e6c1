"""The API client: one call's retries, 429s, redirects, body limits and redaction against scripted
answers (``scripted_client``, no server), and each path once end to end against the sandbox.

The token's tests are in test_client_auth.py, the customer diff's in test_client_diff.py, the
transports' in test_client_transport.py, the pacer's in test_pacing.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from importer.core.errors import ApiError, AuthError, CertificateError, RateLimitError
from importer.core.redact import REDACTED
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.auth import Credentials
from importer.send.client import HelpScoutClient, Reply, Sends, count_sends
from importer.send.scripted import ScriptedTransport, answer
from importer.send.transport import Lost, NotSent, Request, RetryPolicy, TimedOut, api_error

FIXTURES = Path(__file__).resolve().parent / "data" / "helpscout-fixtures"
FAST = RetryPolicy(max_attempts=8, base=0.005)
Scripted = Callable[..., tuple[HelpScoutClient, ScriptedTransport]]


# --- helpers -------------------------------------------------------------------------------
def client_of(box: Sandbox, **options: Any) -> HelpScoutClient:
    options.setdefault("retry", FAST)
    return HelpScoutClient(box.url, Credentials(box.app_id, box.app_secret), **options)


# --- answers -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "found, expected",
    [
        ([("Resource-ID", "42")], "42"),
        ([("resource-id", " 43 ")], "43"),
        ([("Location", "https://api.helpscout.net/v2/customers/44")], "44"),
        ([("Location", "https://api.helpscout.net/v2/customers/45/")], "45"),
        # only one positive integer (a signed 64-bit one) is an id
        ([], None),
        ([("Resource-ID", "abc")], None),
        ([("Resource-ID", "-5")], None),
        ([("Resource-ID", "0")], None),
        ([("Resource-ID", "012")], None),
        ([("Resource-ID", "12, 13")], None),
        ([("Resource-ID", "12"), ("Resource-ID", "13")], None),
        ([("Resource-ID", str(2**63))], None),
        ([("Resource-ID", "1" * 26)], None),
        ([("Resource-ID", "٣")], None),  # an Arabic-Indic digit: isdigit() says yes
        ([("Location", "https://api.helpscout.net/v2/customers/abc")], None),
        ([("Location", "https://api.helpscout.net/v2/customers/")], None),
        ([("Location", "http://[::1/v2/customers/46")], None),
    ],
)
def test_only_one_positive_integer_is_the_created_id(
    found: list[tuple[str, str]], expected: str | None
) -> None:
    assert Reply(201, CIMultiDictProxy(CIMultiDict(found)), None, 1).resource_id == expected


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


# --- one call, scripted --------------------------------------------------------------------
FIELDS_400 = {
    "message": "Validation error",
    "logRef": "r#2",
    "_embedded": {
        "errors": [
            {"path": "firstName", "message": "may not be longer than 40", "rejectedValue": "A" * 41}
        ]
    },
}
ELSEWHERE = "https://elsewhere.example/v2/customers"
TOO_BIG = "x" * (1024 * 1024 + 1)


@pytest.mark.parametrize(
    "method, script, max_attempts, expected",
    [
        # 5xx: re-sent until an answer comes, or max_attempts
        ("GET", [answer(500), answer(503), answer(200, {})], 8, (200, 3, False, None)),
        ("POST", [answer(500), answer(503), answer(201, Resource_ID="7")], 8,
         (201, 3, False, None)),
        ("GET", [answer(503)] * 3, 3, (503, 3, False, "HTTP 503 Service Unavailable")),
        # a create answered 502/504 may have been done: never re-sent, uncertain
        ("POST", [answer(502)], 8, (502, 1, True, "HTTP 502 Bad Gateway")),
        ("POST", [answer(504, {"message": "Gateway timeout", "logRef": "r#3"})], 8,
         (504, 1, True, "HTTP 504 Gateway timeout (logRef r#3)")),
        ("GET", [answer(502), answer(504), answer(200, {})], 8, (200, 3, False, None)),
        ("PUT", [answer(504), answer(204)], 8, (204, 2, False, None)),
        # no answer: a create that may have left is uncertain; one refused before sending is
        # re-sent, as is any read
        ("POST", [Lost("connection lost (ServerDisconnectedError)")], 8,
         (0, 1, True, "connection lost (ServerDisconnectedError)")),
        ("POST", [TimedOut("no answer within 30 s")], 8, (0, 1, True, "no answer within 30 s")),
        ("POST", [NotSent("cannot connect to h:1"), answer(201, Resource_ID="7")], 8,
         (201, 2, False, None)),
        ("GET", [Lost("connection lost"), TimedOut("no answer"), answer(200, {})], 8,
         (200, 3, False, None)),
        ("GET", [NotSent("cannot connect to h:1")] * 2, 2,
         (0, 2, False, "cannot connect to h:1")),
        # a body past max_body is not read: the answer is lost
        ("POST", [answer(201, TOO_BIG)], 8,
         (0, 1, True, "an answer (201) larger than 1 MB: not read")),
        ("GET", [answer(200, TOO_BIG), answer(200, {})], 8, (200, 2, False, None)),
        # a 4xx is the row's error, at once
        ("POST", [answer(400, FIELDS_400)], 8, (400, 1, False,
         "HTTP 400 Validation error: firstName: may not be longer than 40 (logRef r#2)")),
        # a redirect is never followed
        ("POST", [answer(307, Location=ELSEWHERE)], 8, (307, 1, False,
         "HTTP 307 Temporary Redirect: Help Scout's API does not redirect, and this answer "
         f"pointed to {ELSEWHERE}: not followed, nothing was sent there; check the API URL")),
    ],
)  # fmt: skip
async def test_one_calls_answers(
    scripted_client: Scripted, method: str, script: list[Any], max_attempts: int, expected: tuple
) -> None:
    retry = RetryPolicy(max_attempts=max_attempts, base=0.001)
    client, transport = scripted_client(script, retry=retry, max_body=1024 * 1024)
    async with client:
        reply = await client.request(method, "/v2/customers", json={"firstName": "Ann"})
    error = None if reply.error is None else str(reply.error)
    assert (reply.status, reply.attempts, reply.uncertain, error) == expected
    assert transport.paths() == ["/v2/oauth2/token"] + ["/v2/customers"] * reply.attempts
    assert client.requests == reply.attempts and client.token_requests == 1
    assert client.pacer.in_flight == 0


async def test_every_request_carries_the_token_and_asks_for_json(scripted_client: Scripted) -> None:
    client, transport = scripted_client([answer(201, Resource_ID="7")])
    async with client:
        reply = await client.create_customer({"firstName": "Ann"})
    token, create = transport.requests
    assert token.data == {"grant_type": "client_credentials", "client_id": "app-id",
                          "client_secret": "app-s3cret-0123456789"}  # fmt: skip
    assert "Authorization" not in token.headers
    assert (create.method, create.url, create.json) == (
        "POST",
        "https://api.scripted.test/v2/customers",
        {"firstName": "Ann"},
    )
    assert dict(create.headers) == {"Accept": "application/json",
                                    "Authorization": "Bearer scripted-1"}  # fmt: skip
    assert reply.resource_id == "7"


async def test_a_refused_certificate_stops_the_call_and_counts_nothing(
    scripted_client: Scripted,
) -> None:
    client, transport = scripted_client([CertificateError("the TLS certificate was refused")])
    sends = Sends()
    async with client:
        count_sends(sends)
        with pytest.raises(CertificateError):
            await client.create_customer({"firstName": "Ann"})
    assert (client.requests, sends.count, client.pacer.in_flight) == (0, 0, 0)
    assert len(transport.paths("POST")) == 2  # the token's request, then the refused one


async def test_sends_count_the_requests_of_their_own_task(scripted_client: Scripted) -> None:
    """A Sends counts its task's requests as they leave; another task's are not in it."""
    creates = iter([answer(503), answer(201)])
    client, _ = scripted_client(lambda r: next(creates) if r.method == "POST" else answer(200))
    mine = Sends()

    async def other() -> None:
        await client.request("GET", "/v2/customer-properties")

    async with client:
        elsewhere = asyncio.create_task(other())  # its context is copied now, without mine
        count_sends(mine)
        await client.create_customer({"firstName": "Ann"})
        await elsewhere
    assert (mine.count, client.requests) == (2, 3)


async def test_what_a_server_echoes_of_a_secret_is_redacted(scripted_client: Scripted) -> None:
    """A 400 that echoes the token and the app secret: neither reaches the error or the body."""
    echo = {"message": "Bearer scripted-1 was sent with app-s3cret-0123456789",
            "logRef": "r#4", "seen": ["app-s3cret-0123456789"]}  # fmt: skip
    client, _ = scripted_client([answer(400, echo)])
    async with client:
        reply = await client.create_customer({"firstName": "Ann"})
    shown = f"{reply.error} {reply.body}"
    assert "scripted-1" not in shown and "app-s3cret" not in shown
    assert str(reply.error) == f"HTTP 400 Bearer {REDACTED} was sent with {REDACTED} (logRef r#4)"


async def test_403_stops_the_run(scripted_client: Scripted) -> None:
    client, _ = scripted_client([answer(403, {"message": "Access denied", "logRef": "r#5"})])
    async with client:
        with pytest.raises(AuthError) as caught:
            await client.create_customer({"firstName": "Ann"})
    assert caught.value.exit_code == 3
    assert str(caught.value) == (
        "HTTP 403 Access denied: Help Scout denies this account access to the API; check that "
        "the app's user may manage customers and that the plan includes the API (logRef r#5)"
    )


async def test_every_exchange_is_told_without_headers_or_bodies(scripted_client: Scripted) -> None:
    heard: list[Any] = []
    script = [answer(503, {"logRef": "r#6"}), Lost("connection lost"), answer(200, {})]
    client, _ = scripted_client(script, on_exchange=heard.append)
    async with client:
        await client.request("GET", "/v2/customers/7", params={"query": "secret"})
    assert [(e.method, e.path, e.status, e.attempt, e.log_ref, e.error) for e in heard] == [
        ("POST", "/v2/oauth2/token", 200, 1, None, None),
        ("GET", "/v2/customers/7", 503, 1, "r#6", None),
        ("GET", "/v2/customers/7", 0, 2, None, "connection lost"),
        ("GET", "/v2/customers/7", 200, 3, None, None),
    ]
    assert all(e.latency >= 0 for e in heard)


# --- 429 -----------------------------------------------------------------------------------
async def test_a_429_holds_every_request_until_its_retry_after(scripted_client: Scripted) -> None:
    """Three creates in flight; the first answered 429 (wait 1 s): no request leaves before the
    wait is over, and the limited create is sent again."""
    answers = iter([answer(429, {"message": "API rate limit exceeded"},
                           X_RateLimit_Retry_After="1")])  # fmt: skip

    async def script(request: Request) -> tuple[int, dict[str, str], Any]:
        await asyncio.sleep(0.01)
        return next(answers, answer(201, Resource_ID="7"))

    client, transport = scripted_client(script)
    async with client:
        replies = await asyncio.gather(*(client.create_customer({"n": i}) for i in range(3)))
    assert [(r.status, r.ok) for r in replies] == [(201, True)] * 3
    assert (client.rate_limited, sum(r.attempts for r in replies)) == (1, 4)
    creates = [c for c in transport.calls if c.path == "/v2/customers"]
    limited = next(c for c in creates if c.status == 429)
    answered = limited.at + 0.01
    assert [c for c in creates if answered < c.at < answered + 1.0] == []
    assert any(c.at >= answered + 1.0 for c in creates)


async def test_429s_are_not_waited_out_for_ever(scripted_client: Scripted) -> None:
    """After max_rate_limited 429s in a row the call fails, saying why and how long to wait."""
    limited = answer(429, {"message": "API rate limit exceeded"}, X_RateLimit_Retry_After="0")
    client, _ = scripted_client([limited], retry=RetryPolicy(max_rate_limited=1))
    async with client:
        reply = await client.create_customer({"firstName": "Ann"})
    assert (reply.status, reply.attempts, client.rate_limited) == (429, 1, 1)
    assert isinstance(reply.error, RateLimitError) and not reply.uncertain
    assert reply.error.retry_after == 1.0  # a 429 holds for a second at least
    assert reply.error.message == (
        "API rate limit exceeded: Help Scout kept answering 429 (rate limit) to 1 tries in a "
        "row; something else is spending the account's budget: lower --rate or import later"
    )


# --- searching -----------------------------------------------------------------------------
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
async def test_a_malformed_search_answer_is_an_api_error_not_nobody(
    scripted_client: Scripted, body: Any, says: str
) -> None:
    """Taking an unreadable answer for "nobody has it" would create a twin: it is an error."""
    client, _ = scripted_client([answer(200, body)])
    async with client:
        with pytest.raises(ApiError) as caught:
            await client.find_customers_by_email(["a@x.com"])
    assert str(caught.value) == f"HTTP 200 Help Scout's search answer is malformed: {says}"
    assert not isinstance(caught.value, AuthError)


async def test_a_search_answer_is_read_leniently_where_it_is_harmless(
    scripted_client: Scripted,
) -> None:
    """Customers without the email are ignored whatever their shape; a text id is an id; no
    ``page`` is one page; an empty page ends the search even if totalPages says more."""
    answers = [
        {"_embedded": {"customers": [{"_embedded": emails("xa@x.com")},
                                     {"id": "7", "_embedded": emails("A@x.com")}]}},
        {**search_answer({"id": 8, "_embedded": emails("b@x.com")}), "page": {"totalPages": 10**6}},
        {"page": {"totalPages": 10**6}},
    ]  # fmt: skip
    client, transport = scripted_client([answer(200, body) for body in answers])
    async with client:
        first = await client.find_customers_by_email(["a@x.com"])
        second = await client.find_customers_by_email(["b@x.com"])
    assert {e: [c["id"] for c in found] for e, found in (first | second).items()} == {
        "a@x.com": ["7"],
        "b@x.com": [8],
    }
    searches = [r.params for r in transport.requests if r.method == "GET"]
    assert searches == [
        {"query": '(email:"a@x.com")', "page": "1"},
        {"query": '(email:"b@x.com")', "page": "1"},
        {"query": '(email:"b@x.com")', "page": "2"},
    ]
    assert client.lookups == 3


# --- conversations and deletes, scripted --------------------------------------------------
NOT_COUNTS = "page.totalElements and page.totalPages are not counts"


def conversations(listed: int, **page: Any) -> dict[str, Any]:
    return {"_embedded": {"conversations": [{"id": i} for i in range(listed)]}, "page": page}


@pytest.mark.parametrize(
    "bodies, expected",
    [
        ([conversations(2, totalElements=2, totalPages=1)], 2),
        ([conversations(1, totalElements=5, totalPages=1)], 5),
        ([{"page": {"totalElements": 0, "totalPages": 1}}], 0),  # nothing matched: no _embedded
        ([conversations(0, totalPages=3), conversations(1, totalPages=3)], 1),
        ([conversations(0, totalPages=2), conversations(0, totalPages=2)], 0),
        # an answer that is no list of conversations is an error, never "none"
        ([[1]], "not a JSON object"),
        ([{"_embedded": {"conversations": "none"}, "page": {}}],
         "_embedded.conversations is not a list"),
        ([conversations(0) | {"page": None}], "no page"),
        ([conversations(0, totalElements=-1)], NOT_COUNTS),
        ([conversations(0, totalPages=True)], NOT_COUNTS),
    ],
)  # fmt: skip
async def test_conversation_count_reads_pages_until_one_counts_some(
    scripted_client: Scripted, bodies: list[Any], expected: int | str
) -> None:
    """Undo deletes a customer only when this says 0: an unreadable answer raises."""
    client, transport = scripted_client([answer(200, body) for body in bodies])
    async with client:
        if isinstance(expected, int):
            assert await client.conversation_count(7) == expected
        else:
            with pytest.raises(ApiError) as caught:
                await client.conversation_count(7)
            assert str(caught.value) == (
                f"HTTP 200 Help Scout's conversation search answer is malformed: {expected}"
            )
    asked = [r.params for r in transport.requests if r.method == "GET"]
    assert asked == [{"query": "(customerIds:7)", "status": "all", "page": str(n + 1)}
                     for n in range(len(bodies))]  # fmt: skip


async def test_a_delete_is_asynchronous_and_a_failed_count_raises(
    scripted_client: Scripted,
) -> None:
    client, transport = scripted_client([answer(202), answer(503, {"message": "Down"})],
                                        retry=RetryPolicy(max_attempts=1))  # fmt: skip
    async with client:
        deleted = await client.delete_customer(7)
        with pytest.raises(ApiError, match="HTTP 503 Down"):
            await client.conversation_count(7)
    assert (deleted.status, deleted.ok) == (202, True)
    delete = transport.requests[1]
    assert (delete.method, delete.url, delete.params) == (
        "DELETE",
        "https://api.scripted.test/v2/customers/7",
        {"async": "true"},
    )


# --- end to end, against the sandbox -------------------------------------------------------
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


async def test_reads_are_retried_after_a_lost_connection(
    person: Callable[..., dict[str, Any]],
) -> None:
    async with Sandbox(SandboxConfig(drop_rate=0.5, seed=3)) as box, client_of(box) as client:
        customer_id = box.state.seed([person(1)])[0]
        found = [await client.get_customer(customer_id) for _ in range(6)]
    assert {c["id"] for c in found} == {customer_id}
    assert box.state.stats["GET", r"/v2/customers/{id}", "dropped"] > 0


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


async def test_update_from_brings_the_customer_up_to_date_once(
    person: Callable[..., dict[str, Any]],
) -> None:
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


def holding(*phones: str) -> tuple[int, dict[str, str], Any]:
    """A customer's GET answer holding ``phones``."""
    entries = [{"id": i, "type": "work", "value": v} for i, v in enumerate(phones)]
    return answer(200, {"id": 7, "firstName": "Ann", "_embedded": {"phones": entries}})


@pytest.mark.parametrize(
    "script, expected, posted",
    [
        # the first entry POST's answer is lost: read again, only the missing one is added
        ([holding(), Lost("connection lost"), holding("+1 1"), answer(201)],
         (["phones"], 4, 201, None), ["+1 1", "+1 2"]),
        ([holding(), answer(201), answer(504), holding("+1 1", "+1 2")],
         (["phones"], 4, 200, None), ["+1 1", "+1 2"]),
        # never a certain answer (and never done): UPDATE_ROUNDS reads, then an error
        ([holding(), answer(504)] * 3,
         ([], 6, 0, "no certain answer to 3 updates in a row"), ["+1 1"] * 3),
        # an error on the read ends it
        ([answer(404, {"message": "Resource not found"})],
         ([], 1, 404, "HTTP 404 Resource not found"), []),
    ],
)  # fmt: skip
async def test_an_uncertain_entry_post_is_read_again_not_sent_twice(
    scripted_client: Scripted, script: list[Any], expected: tuple, posted: list[str]
) -> None:
    payload = {"phones": [{"type": "work", "value": "+1 1"}, {"type": "work", "value": "+1 2"}]}
    client, transport = scripted_client(script)
    async with client:
        update = await client.update_from(7, payload)
    error = None if update.error is None else str(update.error)
    assert (update.changed, update.attempts, update.status, error) == expected
    assert [r.json["value"] for r in transport.requests if r.url.endswith("/phones")] == posted


@pytest.mark.parametrize("seed", [1, 2])
async def test_lost_answers_to_an_update_never_add_an_entry_twice(
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
