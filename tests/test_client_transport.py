"""The transport seam: the scripted transport answers and records as documented; the aiohttp one
turns each way a request can fail into the failure the retry logic tells apart, against the
sandbox over loopback; the exchanger redacts before it parses and tells every exchange."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from importer.core.redact import REDACTED, register
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.auth import Credentials
from importer.send.client import HelpScoutClient
from importer.send.scripted import ScriptedTransport, ScriptExhausted, answer
from importer.send.transport import (
    AiohttpTransport,
    Exchanger,
    Lost,
    NoAnswer,
    NotSent,
    Request,
    TimedOut,
    too_large,
)

API = "https://api.scripted.test"


def get(path: str, **headers: str) -> Request:
    return Request("GET", API + path, headers)


# --- the scripted transport ----------------------------------------------------------------
@pytest.mark.parametrize(
    "body, raw",
    [
        ({"id": 7}, b'{"id": 7}'),
        ([1, "a"], b'[1, "a"]'),
        ("<html>hi</html>", b"<html>hi</html>"),
        (b"\x1f\x8b", b"\x1f\x8b"),
        (None, b""),
    ],
)
async def test_a_scripted_body_is_json_text_or_bytes(body: Any, raw: bytes) -> None:
    transport = ScriptedTransport([(200, {"resource-id": "7"}, body)])
    status, headers, sent = await transport.send(get("/v2/customers/7"), max_body=100)
    assert (status, headers["Resource-ID"], sent) == (200, "7", raw)


async def test_answers_come_in_order_and_every_request_is_recorded() -> None:
    transport = ScriptedTransport([(503, {}, None), Lost("connection lost"), (200, {}, {})])
    requests = [get(f"/v2/customers/{n}") for n in range(4)]
    assert (await transport.send(requests[0], max_body=100)).status == 503
    with pytest.raises(Lost, match="connection lost"):
        await transport.send(requests[1], max_body=100)
    assert (await transport.send(requests[2], max_body=100)).status == 200
    with pytest.raises(ScriptExhausted, match="no answer left for GET /v2/customers/3"):
        await transport.send(requests[3], max_body=100)
    assert transport.requests == requests[:3]
    assert [(c.path, c.status) for c in transport.calls] == [
        ("/v2/customers/0", 503),
        ("/v2/customers/1", 0),
        ("/v2/customers/2", 200),
    ]


async def test_a_script_may_be_an_async_function_of_the_request() -> None:
    async def route(request: Request) -> tuple[int, dict[str, str], Any]:
        await asyncio.sleep(0)
        return (404, {}, None) if request.url.endswith("/9") else (200, {}, {"ok": True})

    transport = ScriptedTransport(route)
    found = [await transport.send(get(f"/v2/customers/{n}"), max_body=100) for n in (1, 9)]
    assert [(a.status, a.body) for a in found] == [(200, b'{"ok": true}'), (404, b"")]


async def test_token_requests_are_answered_outside_the_script_unless_told() -> None:
    token = Request("POST", API + "/v2/oauth2/token", {}, data={"grant_type": "x"})
    given = ScriptedTransport([])
    answers = [await given.send(token, max_body=1000) for _ in range(2)]
    assert [a.body for a in answers] == [
        b'{"access_token": "scripted-1", "expires_in": 172800}',
        b'{"access_token": "scripted-2", "expires_in": 172800}',
    ]
    assert given.paths("POST") == ["/v2/oauth2/token"] * 2
    with pytest.raises(ScriptExhausted):
        await ScriptedTransport([], tokens=False).send(token, max_body=1000)


async def test_a_scripted_body_past_max_body_fails_as_the_real_ones_do() -> None:
    transport = ScriptedTransport([(201, {}, "x" * 101)])
    with pytest.raises(Lost) as caught:
        await transport.send(get("/v2/customers"), max_body=100)
    assert str(caught.value) == str(too_large(201, 100))
    assert caught.value.maybe_done


# --- the aiohttp transport, over loopback --------------------------------------------------
@pytest.mark.parametrize(
    "config, timeout, failure, message",
    [
        (SandboxConfig(schedule={1: "drop"}), 5.0, Lost,
         "connection lost (ServerDisconnectedError)"),
        (SandboxConfig(latency_ms=200), 0.05, TimedOut, "no answer within 0.05 s"),
    ],
)  # fmt: skip
async def test_a_request_without_an_answer_says_whether_it_may_have_been_done(
    config: SandboxConfig, timeout: float, failure: type[NoAnswer], message: str
) -> None:
    async with Sandbox(config) as box, AiohttpTransport(timeout=timeout) as transport:
        headers = {"Authorization": f"Bearer {box.state.issue_token()}"}
        create = Request("POST", box.url + "/v2/customers", headers, json={"firstName": "Ann"})
        with pytest.raises(failure) as caught:
            await transport.send(create, max_body=1 << 20)
    assert (str(caught.value), caught.value.maybe_done) == (message, True)


async def test_nobody_listening_is_not_sent() -> None:
    async with Sandbox() as box:
        url = box.url
    async with AiohttpTransport() as transport:
        with pytest.raises(NotSent) as caught:
            await transport.send(Request("GET", url + "/v2/customers", {}), max_body=100)
    assert str(caught.value) == f"cannot connect to 127.0.0.1:{url.rpartition(':')[2]}"
    assert not caught.value.maybe_done


async def test_an_answer_past_max_body_is_cut_off() -> None:
    async with Sandbox() as box, AiohttpTransport() as transport:
        headers = {"Authorization": f"Bearer {box.state.issue_token()}"}
        read = Request("GET", box.url + "/v2/customer-properties", headers)
        whole = await transport.send(read, max_body=1 << 20)
        with pytest.raises(Lost) as caught:
            await transport.send(read, max_body=len(whole.body) - 1)
    assert whole.status == 200
    assert str(caught.value) == str(too_large(200, len(whole.body) - 1))


async def test_a_transport_not_opened_says_how_to_use_it() -> None:
    with pytest.raises(RuntimeError, match="use the client as 'async with HelpScoutClient"):
        await AiohttpTransport().send(get("/v2/customers"), max_body=100)


# --- the exchanger -------------------------------------------------------------------------
async def test_the_exchanger_redacts_before_it_parses_unless_told_not_to() -> None:
    register("s3cr3t-echoed-0123456789")
    echo = {"said": "s3cr3t-echoed-0123456789", "Authorization": "Bearer abc.def"}
    answers = [(400, {}, echo), (200, {}, echo), (200, {}, "not json")]
    transport = ScriptedTransport(answers, tokens=False)
    exchanger = Exchanger(transport)
    _, _, redacted = await exchanger.send("GET", API + "/v2/customers", "t0k")
    _, _, raw = await exchanger.send("POST", API + "/v2/oauth2/token", None, redacting=False)
    _, _, unparsed = await exchanger.send("GET", API + "/v2/customers", "t0k")
    assert redacted == {"said": REDACTED, "Authorization": f"Bearer {REDACTED}"}
    assert raw == echo
    assert unparsed is None
    assert [dict(r.headers) for r in transport.requests] == [
        {"Accept": "application/json", "Authorization": "Bearer t0k"},
        {"Accept": "application/json"},
        {"Accept": "application/json", "Authorization": "Bearer t0k"},
    ]


async def test_the_scripted_transports_own_example_holds() -> None:
    """The example in :mod:`importer.send.scripted`'s docstring, as written there."""
    url, credentials = API, Credentials("app-id", "app-s3cret-0123456789")
    transport = ScriptedTransport([answer(503), answer(201, Resource_ID="7")])
    async with HelpScoutClient(url, credentials, transport=transport) as client:
        reply = await client.create_customer({"firstName": "Ada"})
    assert transport.paths() == ["/v2/oauth2/token", "/v2/customers", "/v2/customers"]
    assert (reply.status, reply.attempts, reply.resource_id) == (201, 2, "7")
