"""The sandbox over real HTTP on loopback, checked against Help Scout's recorded shapes.

Every test talks to a running ``Sandbox`` (or ``create_app`` under aiohttp's test server) through a
real ``aiohttp.ClientSession``; time is a fake clock, never a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from click.testing import CliRunner
from multidict import CIMultiDictProxy
from yarl import URL

from importer.check.payload import check_payload
from importer.cli import main
from importer.core.errors import ConfigError
from importer.customer import schema
from importer.sandbox import (
    DEFAULT_PROPERTIES,
    InvalidSeed,
    QueryError,
    Sandbox,
    SandboxConfig,
    SandboxState,
    create_app,
    load_properties,
    parse_burst,
    parse_query,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "data" / "helpscout-fixtures"
CREATED = 201
DROPPED = (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def cassette(name: str) -> list[dict[str, Any]]:
    """The recorded (request, response) pairs of a ruby-sdk VCR cassette."""
    text = (FIXTURES / "ruby-sdk" / "cassettes" / name).read_text(encoding="utf-8")
    return yaml.safe_load(text)["http_interactions"]


def shape(value: Any) -> Any:
    """The keys of a JSON value, recursively, without the values (lists by their items' keys).

    The PHP SDK's list-form ``links: [{rel, href}]`` is read as the documented ``_links`` object.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "links" and isinstance(item, list):
                out["_links"] = {link["rel"]: {"href": None} for link in item}
            else:
                out[key] = shape(item)
        return out
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in value:
            merged.update(shape(item))
        return [merged] if value else []
    return None


def assert_covers(ours: Any, theirs: Any, where: str = "") -> None:
    """Every key of ``theirs`` is in ``ours``, with the same nesting (extra keys allowed)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        for key, sub in theirs.items():
            assert key in ours, f"{where}.{key} missing"
            assert_covers(ours[key], sub, f"{where}.{key}")
    elif isinstance(theirs, list) and theirs:
        assert isinstance(ours, list) and ours, where
        assert_covers(ours[0], theirs[0], f"{where}[]")


class FakeClock:
    """The sandbox's clock in tests: moves only when told."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """A real HTTP client of one running sandbox, holding a token."""

    def __init__(self, sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.session = session
        self.state: SandboxState = sandbox.state
        self.bearer = ""

    async def call(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Reply:
        headers = kwargs.pop("headers", {})
        if auth:
            headers.setdefault("Authorization", f"Bearer {self.bearer}")
        url = self.sandbox.url + path
        async with self.session.request(method, url, headers=headers, **kwargs) as answer:
            return Reply(answer.status, answer.headers, await answer.read())

    async def token(self, **form: str) -> Reply:
        credentials = {
            "grant_type": "client_credentials",
            "client_id": self.sandbox.app_id,
            "client_secret": self.sandbox.app_secret,
        }
        return await self.call("POST", "/v2/oauth2/token", auth=False, data={**credentials, **form})

    async def login(self) -> None:
        self.bearer = (await self.token()).json()["access_token"]

    async def create(self, payload: Any) -> Reply:
        return await self.call("POST", "/v2/customers", json=payload)

    async def created_id(self, payload: Any) -> int:
        reply = await self.create(payload)
        assert reply.status == CREATED, reply.body
        return int(reply.headers["Resource-ID"])

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("GET", path, **kwargs)

    async def follow(self, href: str) -> Reply:
        """GET an absolute link as an answer gave it (as python-helpscout follows ``next``)."""
        headers = {"Authorization": f"Bearer {self.bearer}"}
        async with self.session.get(href, headers=headers) as answer:
            return Reply(answer.status, answer.headers, await answer.read())


Start = Callable[..., Awaitable[Api]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Start sandboxes with the given ``SandboxConfig`` fields; all stop at the test's end."""
    async with contextlib.AsyncExitStack() as stack:

        async def factory(**config: Any) -> Api:
            sandbox = await stack.enter_async_context(Sandbox(SandboxConfig(**config)))
            session = await stack.enter_async_context(aiohttp.ClientSession())
            api = Api(sandbox, session)
            await api.login()
            return api

        yield factory


@pytest.fixture
async def api(start: Start) -> Api:
    return await start()


def person(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "firstName": "Ada",
        "lastName": f"Lovelace{i}",
        "emails": [{"type": "work", "value": f"ada{i}@example.com"}],
        **fields,
    }


# --- tokens --------------------------------------------------------------------------------------
@pytest.mark.parametrize("ttl", [7200, 172800])
@pytest.mark.parametrize("encoding", ["form", "json"])
async def test_token_answers_like_help_scout(start: Start, encoding: str, ttl: int) -> None:
    api = await start(token_ttl=ttl)
    credentials = {
        "grant_type": "client_credentials",
        "client_id": "sandbox-app-id",
        "client_secret": "sandbox-secret",
    }
    body = {"data": credentials} if encoding == "form" else {"json": credentials}
    reply = await api.call("POST", "/v2/oauth2/token", auth=False, **body)
    assert reply.status == 200
    token = reply.json()
    assert shape(token) == shape(fixture("ruby-sdk/fixtures/access_token.json"))
    assert token["token_type"] == "bearer" and token["expires_in"] == ttl
    assert len(token["access_token"]) == 32 and token["access_token"] != api.bearer
    listed = await api.get(
        "/v2/customer-properties", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert listed.status == 200


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"client_secret": ""}, 400, "invalid_request"),
        ({"grant_type": ""}, 400, "invalid_request"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
async def test_token_refusals(api: Api, form: dict[str, str], status: int, error: str) -> None:
    reply = await api.token(**form)
    assert reply.status == status
    assert set(reply.json()) == {"error", "error_description"}
    assert reply.json()["error"] == error


async def test_configured_credentials_are_the_only_ones(start: Start) -> None:
    api = await start(app_id="my-app", app_secret="s3cret")
    assert (
        await api.token(client_id="sandbox-app-id", client_secret="sandbox-secret")
    ).status == 401
    assert (await api.token()).status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/customers"),
        ("GET", "/v2/customers"),
        ("GET", "/v2/customers/100000001"),
        ("PUT", "/v2/customers/100000001"),
        ("PATCH", "/v2/customers/100000001"),
        ("PATCH", "/v2/customers/100000001/properties"),
        ("POST", "/v2/customers/100000001/emails"),
        ("PUT", "/v2/customers/100000001/address"),
        ("GET", "/v2/customer-properties"),
        ("GET", "/v3/customers"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic c2FuZGJveA=="])
async def test_every_api_route_wants_a_valid_bearer_token(
    start: Start, method: str, path: str, authorization: str | None
) -> None:
    api = await start(rate_limit=100)
    await api.created_id(person(1))
    headers = {"Authorization": authorization} if authorization else {}
    reply = await api.call(method, path, auth=False, headers=headers, json={})
    assert reply.status == 401
    assert reply.json()["error"] == "invalid_token"
    assert reply.headers["X-RateLimit-Remaining-Minute"] == "98"  # only the create spent


async def test_token_expires_after_its_lifetime(start: Start) -> None:
    clock = FakeClock(1000.0)
    api = await start(token_ttl=100, clock=clock)
    clock.advance(99.9)
    assert (await api.get("/v2/customer-properties")).status == 200
    clock.advance(0.1)
    assert (await api.get("/v2/customer-properties")).status == 401
    await api.login()
    assert (await api.get("/v2/customer-properties")).status == 200


async def test_forced_expiry_after_seconds_despite_expires_in(start: Start) -> None:
    clock = FakeClock()
    api = await start(token_revoke_after=30, clock=clock)
    assert (await api.token()).json()["expires_in"] == 172800
    clock.advance(29)
    assert (await api.get("/v2/customer-properties")).status == 200
    clock.advance(1)
    assert (await api.get("/v2/customer-properties")).status == 401


@pytest.mark.parametrize("every", [1, 3, 5])
async def test_forced_expiry_every_n_requests(start: Start, every: int) -> None:
    api = await start(token_revoke_every=every)
    statuses = []
    for _ in range(2 * every):
        reply = await api.get("/v2/customer-properties")
        statuses.append(reply.status)
        if reply.status == 401:
            await api.login()
    assert statuses == ([200] * (every - 1) + [401]) * 2


async def test_an_account_without_api_access_gets_tokens_then_403(start: Start) -> None:
    api = await start(deny_api=True)
    denied = [await api.get("/v2/customer-properties"), await api.create(person(1))]
    assert [(r.status, r.json()["message"]) for r in denied] == [(403, "Access denied")] * 2
    assert api.state.customers == {}
    api.bearer = "not-a-token"
    assert (await api.get("/v2/customer-properties")).status == 401  # the token is checked first


# --- create --------------------------------------------------------------------------------------
async def test_create_answers_201_with_empty_body_and_id_headers(start: Start) -> None:
    api = await start(rate_limit=400)
    reply = await api.create(person(1))
    assert reply.status == 201 and reply.body == b""
    assert {"Resource-ID", "Location"} <= {str(name) for name in reply.headers}  # as PHP reads
    customer_id = reply.headers["Resource-ID"]
    assert reply.headers["Location"] == f"{api.sandbox.url}/v2/customers/{customer_id}"
    real = next(
        i["response"]
        for i in cassette("conversation_create_201_location_resource_id.yml")
        if i["response"]["status"]["code"] == 201
    )
    for name in (
        "Location",
        "Resource-Id",
        "X-Ratelimit-Limit-Minute",
        "X-Ratelimit-Remaining-Minute",
        "Content-Length",
    ):
        assert name in real["headers"] and name in reply.headers  # real case differs: match any
    assert reply.headers["Content-Length"] == real["headers"]["Content-Length"][0] == "0"
    assert int(customer_id) in api.state.customers


@pytest.mark.parametrize("first_id", [1, 100_000_001])
async def test_ids_are_increasing_integers_from_the_configured_start(
    start: Start, first_id: int
) -> None:
    api = await start(first_id=first_id)
    ids = [await api.created_id(person(i)) for i in range(3)]
    assert ids == [first_id, first_id + 1, first_id + 2]


INVALID_PAYLOADS = [
    {"firstName": ""},
    {"firstName": "x" * 41},
    {"jobTitle": "x" * 61},
    {"gender": "other"},
    {"photoType": "myspace"},
    {"emails": [{"type": "work", "value": "not-an-address"}]},
    {"emails": [{"type": "mobile", "value": "ada@example.com"}]},
    {"websites": [{"value": "not a url"}]},
    {"address": {"city": "Dallas"}},
    {"address": {"city": "Dallas", "country": "Germany"}},
    {"properties": {"unknown-slug": "x"}},
    {"properties": {"seats": "12"}},
    {"properties": {"signup-date": "02/01/2019"}},
    {"properties": {"vip": "yes"}},
    {"properties": {"tier": "Platinum"}},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("payload", INVALID_PAYLOADS)
async def test_invalid_creates_answer_400_with_schema_errors(api: Api, payload: Any) -> None:
    reply = await api.create(payload)
    assert reply.status == 400
    assert reply.headers["Content-Type"] == "application/vnd.error+json"
    body = reply.json()
    assert body["message"] == "Bad request" and body["logRef"]
    assert_covers(shape(body), shape(fixture("php-sdk/json/error_validation_400.json")))
    errors = body["_embedded"]["errors"]
    expected = check_payload(payload, {p["slug"]: p for p in DEFAULT_PROPERTIES})
    assert [e["path"] for e in errors] == [v.path for v in expected]  # the one table of rules
    for error in errors:
        assert set(error) <= {"path", "message", "rejectedValue", "source", "_links"}
        assert error["source"] == "JSON" and error["_links"]["about"]["href"]
    assert api.state.customers == {}


# What real clients send that Help Scout takes: its docs' own create example ("Male",
# organizationId), the PHP SDK's Customer::extract() (a top-level email beside emails, an
# address's unset state and postalCode as null), a serialiser's null for an unset field.
ACCEPTED_PAYLOADS = [
    ({"firstName": "Vernon", "gender": "Male", "organizationId": 35}, {"gender": "Male"}),
    ({"firstName": "Ada", "email": "ada@example.com", "emails": [{"type": "work",
      "value": "ada@example.com"}]}, {"firstName": "Ada"}),
    ({"firstName": "Ada", "address": {"lines": ["1 Main St"], "city": "Dallas", "state": None,
      "postalCode": None, "country": "US"}}, {"firstName": "Ada"}),
    ({"firstName": "Ada", "lastName": None, "photoType": "Gravatar"}, {"photoType": "gravatar"}),
    # how Help Scout shows a customer without a photo (its PHP SDK's customer_get_200.json)
    ({"firstName": "Ada", "photoType": "unknown", "photoUrl": ""}, {"photoType": "unknown"}),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "shown"), ACCEPTED_PAYLOADS)
async def test_what_real_clients_send_is_created(api: Api, payload: dict, shown: dict) -> None:
    reply = await api.create(payload)
    assert reply.status == 201, reply.body
    got = (await api.call("GET", f"/v2/customers/{reply.headers['Resource-ID']}")).json()
    assert {k: got[k] for k in shown} == shown
    assert "email" not in got and "organizationId" not in got and got.get("lastName") is None
    if "address" in payload:
        address = (await api.call("GET", URL(got["_links"]["address"]["href"]).path)).json()
        assert (address["city"], "state" in address) == ("Dallas", False)


async def test_a_customer_read_can_be_put_back_as_it_came(api: Api) -> None:
    """A client that GETs, changes one field and PUTs the whole body back (createdAt, _links,
    _embedded and the capitalised gender included)."""
    customer_id = await api.created_id(person(1, gender="female", jobTitle="Countess"))
    read = (await api.call("GET", f"/v2/customers/{customer_id}")).json()
    assert read["gender"] == "Female" and {"createdAt", "_links", "_embedded"} <= set(read)
    reply = await api.call("PUT", f"/v2/customers/{customer_id}", json={**read, "age": "36"})
    assert reply.status == 204, reply.body
    again = (await api.call("GET", f"/v2/customers/{customer_id}")).json()
    assert (again["gender"], again["jobTitle"], again["age"]) == ("Female", "Countess", "36")


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PUT", {"firstName": "Ada", "photoUrl": ""}),
        ("PATCH", [{"op": "replace", "path": "/photoUrl", "value": ""}]),
    ],
)
async def test_an_empty_photo_url_clears_the_photo(api: Api, method: str, body: Any) -> None:
    """Help Scout shows a customer without a photo with ``"photoUrl": ""``: a client sending
    that back means no photo, not a URL to refuse."""
    customer_id = await api.created_id(person(1, photoUrl="https://example.com/ada.png"))
    reply = await api.call(method, f"/v2/customers/{customer_id}", json=body)
    assert reply.status == 204, reply.body
    again = (await api.call("GET", f"/v2/customers/{customer_id}")).json()
    assert again.get("photoUrl") is None


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": b"firstName=Ada", "headers": {"Content-Type": "text/plain"}}, 415),
    ],
)
async def test_unreadable_bodies(api: Api, kwargs: dict[str, Any], status: int) -> None:
    reply = await api.call("POST", "/v2/customers", **kwargs)
    assert reply.status == status
    assert reply.headers["Content-Type"] == "application/vnd.error+json"
    assert {"logRef", "message"} <= set(reply.json())


async def test_the_sample_mappings_properties_exist_by_default(api: Api) -> None:
    properties = {
        "plan": "pro",
        "signup-date": "2019-01-02",
        "seats": 44,
        "customer-id": "C-0042",
        "subscription-date": "2020-02-29",
    }
    customer_id = await api.created_id(person(1, properties=properties))
    shown = (await api.get(f"/v2/customers/{customer_id}")).json()["_embedded"]["properties"]
    assert {p["slug"]: p["value"] for p in shown} == properties
    assert {p["slug"]: p["type"] for p in shown} == {
        "plan": "text",
        "signup-date": "date",
        "seats": "number",
        "customer-id": "text",
        "subscription-date": "date",
    }


# --- customer properties -------------------------------------------------------------------------
async def test_customer_properties_list_the_default_set(api: Api) -> None:
    reply = await api.get("/v2/customer-properties")
    assert reply.status == 200
    definitions = reply.json()["_embedded"]["customer-properties"]
    assert all(set(d) <= {"type", "slug", "name", "options"} for d in definitions)
    assert {d["type"] for d in definitions} == set(schema.PROPERTY_TYPES)
    dropdown = next(d for d in definitions if d["type"] == "dropdown")
    assert dropdown["options"] and {"id", "label"} <= set(dropdown["options"][0])


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".hal.json"])
async def test_properties_from_a_file_are_served_and_enforced(
    start: Start, tmp_path: Path, suffix: str
) -> None:
    definitions = [{"type": "bool", "slug": "beta", "name": "Beta tester"}]
    path = tmp_path / f"properties{suffix}"
    if suffix == ".yaml":
        path.write_text(yaml.safe_dump(definitions))
    elif suffix == ".hal.json":  # a saved GET /v2/customer-properties answer
        path.write_text(json.dumps({"_embedded": {"customer-properties": definitions}}))
    else:
        path.write_text(json.dumps(definitions))
    api = await start(properties=load_properties(path))
    served = (await api.get("/v2/customer-properties")).json()["_embedded"]["customer-properties"]
    assert served == definitions
    assert (await api.create(person(1, properties={"beta": True}))).status == 201
    assert (await api.create(person(2, properties={"plan": "pro"}))).status == 400


@pytest.mark.parametrize(
    "content",
    [
        "not: [valid",
        json.dumps({"something": "else"}),
        json.dumps([{"slug": "x", "type": "colour"}]),
        json.dumps([{"type": "text"}]),
        json.dumps([{"slug": "x", "type": "text"}, {"slug": "x", "type": "number"}]),
        json.dumps([{"slug": f"p{i}", "type": "text"} for i in range(51)]),
    ],
)
def test_bad_property_files_are_config_errors(tmp_path: Path, content: str) -> None:
    path = tmp_path / "properties.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match="customer propert"):
        load_properties(path)


@pytest.mark.parametrize(
    "config",
    [
        {"duplicate_email": "maybe"},
        {"rate_window": "tumbling"},
        {"rate_limit": -1},
        {"fail_rate": 1.5},
        {"drop_rate": -0.1},
        {"gateway_timeout_rate": 0.6, "drop_rate": 0.6},
        {"fail_statuses": (404,)},
        {"schedule": {3: "418"}},
        {"token_revoke_every": 0},
        {"properties": [{"slug": "x", "type": "colour"}]},
        {"search_lag": -1},
        {"search_lag": float("nan")},
        {"burst": (0, 5.0)},
        {"burst": (12, 0.0)},
        {"rate_limit": 100, "background_load": 1.5},
        {"background_load": 0.3},  # no budget to share
        {"refresh_token": ""},
        {"async_delete_after": -1},
        {"conversations": [{"customerId": 100_000_001, "status": "archived"}]},
        {"conversations": [{"customerId": 100_000_001, "mailboxId": "support"}]},
        {"conversations": [{"customerId": 100_000_001, "folder": 3}]},
        {"conversations": [{"customerId": 100_000_001, "type": "fax"}]},
        {"conversations": [{"customerId": 100_000_001, "subject": 3}]},
    ],
)
def test_unusable_settings_are_config_errors(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        SandboxConfig(**config)


# --- reading customers ---------------------------------------------------------------------------
async def test_get_customer_has_the_recorded_shape(api: Api) -> None:
    customer_id = await api.created_id(
        {
            "firstName": "Vernon",
            "lastName": "Bear",
            "gender": "male",
            "age": "30-35",
            "jobTitle": "CEO",
            "location": "Dallas",
            "organization": "Acme",
            "photoType": "twitter",
            "photoUrl": "https://example.com/a.jpg",
            "background": "Notes",
            "emails": [{"type": "work", "value": "vernon@example.org"}],
        }
    )
    reply = await api.get(f"/v2/customers/{customer_id}")
    ours = reply.json()
    assert shape(ours) == shape(fixture("ruby-sdk/fixtures/customer/get.json"))
    php = fixture("php-sdk/json/customer_get_200.json")
    assert_covers(shape(ours), shape(php))
    assert set(ours["_links"]) == set(php["_links"])
    assert ours["gender"] == "Male"  # as real answers spell it
    assert ours["_links"]["self"]["href"] == f"{api.sandbox.url}/v2/customers/{customer_id}"


async def test_get_customer_matches_a_real_recorded_answer(api: Api) -> None:
    recorded = cassette("customer_get_200.yml")[1]["response"]
    real = json.loads(recorded["body"]["string"].replace("<TEST_CUSTOMER_ID>", "1"))
    own = ("firstName", "lastName", "gender", "jobTitle", "location", "organization", "photoType")
    customer_id = await api.created_id(
        {
            **{name: real[name].lower() if name == "gender" else real[name] for name in own},
            "photoUrl": "https://example.com/a.jpg",
            "background": "",
            "emails": [{"type": "work", "value": "andre@example.com"}],
            "websites": [{"value": "http://BruiserConversions.com"}],
            "socialProfiles": [{"type": "flickr", "value": "https://flickr.com/people/x"}],
        }
    )
    reply = await api.get(f"/v2/customers/{customer_id}")
    assert reply.headers["Content-Type"] == recorded["headers"]["Content-Type"][0]
    ours = reply.json()
    assert shape(ours) == shape(real)  # no age key: never set, as the recorded customer's
    assert ours["background"] == ""  # set empty is not never set


async def test_get_customer_shows_every_entry_the_create_gave(api: Api) -> None:
    customer_id = await api.created_id(
        {
            "firstName": "Big",
            "phone": "222-333-4444",
            "emails": [{"type": "work", "value": "bigbird@sesamestreet.com"}],
            "chats": [{"type": "aim", "value": "jsprout"}],
            "socialProfiles": [{"type": "twitter", "value": "bigbird22"}],
            "websites": [{"value": "https://www.sesamestreet.com"}],
            "address": {
                "lines": ["123 West Main St", "Suite 123"],
                "city": "Dallas",
                "state": "TX",
                "postalCode": "74206",
                "country": "US",
            },
        }
    )
    embedded = (await api.get(f"/v2/customers/{customer_id}")).json()["_embedded"]
    for key, name in [
        ("emails", "emails"),
        ("phones", "phones"),
        ("chats", "chats"),
        ("social_profiles", "social-profiles"),
        ("websites", "websites"),
    ]:
        php = fixture(f"php-sdk/json/customer_{name.replace('-', '_')}.json")["_embedded"][name]
        expected = [{k: v for k, v in item.items() if k not in ("id", "_links")} for item in php]
        assert [{k: v for k, v in e.items() if k != "id"} for e in embedded[key]] == expected
    address = fixture("php-sdk/json/customer_address.json")
    del address["_links"]
    assert embedded["address"] == address


async def test_unknown_customer_is_404_with_an_error_body(api: Api) -> None:
    reply = await api.get("/v2/customers/999")
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/vnd.error+json"
    assert shape(reply.json()) == shape(fixture("php-sdk/json/error_internal_500.json"))


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"firstName": "A"}),
        ("PATCH", "", [{"op": "replace", "path": "/firstName", "value": "A"}]),
        ("PATCH", "/properties", [{"op": "replace", "path": "/plan", "value": "pro"}]),
        ("POST", "/emails", {"type": "work", "value": "a@example.com"}),
        ("POST", "/websites", {"value": "https://example.com"}),
        ("POST", "/address", {"city": "Dallas", "country": "US"}),
        ("PUT", "/address", {"city": "Dallas", "country": "US"}),
    ],
)
async def test_every_customer_route_answers_404_for_unknown_ids(
    api: Api, method: str, suffix: str, body: Any
) -> None:
    reply = await api.call(method, f"/v2/customers/424242{suffix}", json=body)
    assert reply.status == 404
    assert {"logRef", "message"} <= set(reply.json())


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v2/customer-properties", {"GET"}),
        ("PATCH", "/v2/customers", {"GET", "POST"}),
        ("HEAD", "/v2/customers/1", {"GET", "PUT", "PATCH", "DELETE"}),
    ],
)
async def test_a_method_a_path_does_not_take_is_405_naming_those_it_does(
    api: Api, method: str, path: str, allowed: set[str]
) -> None:
    reply = await api.call(method, path)
    assert reply.status == 405
    assert set(reply.headers["Allow"].split(",")) == allowed


SEARCHABLE = [
    "ann@example.com",
    "joann@example.com",
    "ANN@EXAMPLE.COM",
    "ann@example.com.au",
    "bob@example.org",
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('(email:"ann@example.com")', [0, 1, 2, 3]),
        ('(email:"ANN@example.COM")', [0, 1, 2, 3]),
        ('(email:"bob@example.org")', [4]),
        ('(email:("bob@example.org" OR "joann@"))', [1, 4]),
        ('(email:( "ann@example.com.au" OR "nobody@x.com" ))', [3]),
        ('(email:"example.org")', [4]),
        ('(email:"nobody@example.com")', []),
    ],
)
async def test_search_by_email_means_containing(api: Api, query: str, expected: list[int]) -> None:
    ids = api.state.seed({"emails": [{"type": "work", "value": e}]} for e in SEARCHABLE)
    reply = await api.get("/v2/customers", params={"query": query})
    assert reply.status == 200
    body = reply.json()
    found = [c["id"] for c in body.get("_embedded", {}).get("customers", [])]
    assert found == [ids[i] for i in reversed(expected)]  # newest first
    assert body["page"] == {
        "size": 50,
        "totalElements": len(expected),
        "totalPages": 1 if expected else 0,
        "number": 1,
    }
    assert ("_embedded" in body) == bool(expected)


async def test_search_finds_emails_added_after_many_customers(api: Api) -> None:
    """The search index spans blocks: the first, a middle and the last customer are all found."""
    ids = api.state.seed(
        {"emails": [{"type": "work", "value": f"c{i}@bulk.example"}]} for i in range(9000)
    )
    for i in (0, 4095, 4096, 8999):
        body = (await api.get("/v2/customers", params={"query": f'(email:"c{i}@bulk.")'})).json()
        assert [c["id"] for c in body["_embedded"]["customers"]] == [ids[i]]


async def test_list_pages_have_the_recorded_shape(api: Api) -> None:
    listed = fixture("ruby-sdk/fixtures/customer/list.json")["_embedded"]["customers"][0]
    own = {k: v for k, v in listed.items() if k in schema.OWN_FIELDS}
    ids = api.state.seed([{**own, "gender": "male", "lastName": f"N{i}"} for i in range(60)])
    first = (await api.get("/v2/customers")).json()
    recorded = fixture("php-sdk/json/customers_list_page1_total25.json")
    assert set(first) == set(recorded)
    assert set(first["page"]) == set(recorded["page"])
    assert set(first["_links"]) == set(recorded["_links"])
    assert first["_links"]["page"]["templated"] is True
    assert shape(first["_embedded"]["customers"][0]) == shape(listed)
    second = (await api.get("/v2/customers", params={"page": "2"})).json()
    assert first["page"] == {"size": 50, "totalElements": 60, "totalPages": 2, "number": 1}
    assert second["page"]["number"] == 2 and "next" not in second["_links"]
    assert second["_links"]["previous"]["href"] == first["_links"]["self"]["href"]
    seen = [c["id"] for page in (first, second) for c in page["_embedded"]["customers"]]
    assert seen == ids[::-1]  # newest first, as the docs say


async def test_empty_list_has_no_embedded_key(api: Api) -> None:
    body = (await api.get("/v2/customers", params={"query": '(email:"x@y.com")'})).json()
    recorded = fixture("php-sdk/json/customers_list_empty.json")
    assert set(body) == set(recorded) == {"page", "_links"}
    assert set(body["page"]) == set(recorded["page"])
    assert set(body["_links"]) <= set(recorded["_links"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"query": '(age:"30")'}, "age: the sandbox searches firstName, lastName, email, phone"),
        ({"query": "ada@example.com"}, "unexpected 'ada@example.com': write field:value"),
        ({"query": '(email:"ada@example.com"'}, "a parenthesis is not closed"),
        ({"query": '(email:"ada@example.com)'}, "a quote is not closed"),
        ({"query": '(firstName:"Ada" lastName:"L")'}, "join terms with AND or OR"),
        ({"query": "(firstName:[a TO b])"}, "ranges are searched on createdAt, modifiedAt only"),
        ({"query": "(modifiedAt:[2019-01-01 TO *])"}, "expected an ISO 8601 time"),
        ({"page": "0"}, "must be a positive integer"),
        ({"page": "two"}, "must be a positive integer"),
        ({"sortField": "age"}, "must be one of createdAt, firstName, lastName, modifiedAt, score"),
        ({"sortOrder": "up"}, "must be one of asc, desc"),
        ({"modifiedSince": "2019-01-01"}, "expected an ISO 8601 time like 2019-05-21T12:00:00Z"),
        ({"modifiedSince": "2019-01-01T00:00:00.123Z"}, "no milliseconds"),
        ({"modifiedSince": "2019-01-01T00:00:00 01:00"}, "a + offset is written %2B"),
        ({"mailbox": "inbox"}, "must be a positive integer"),
    ],
)
async def test_searches_the_sandbox_cannot_answer_are_400(
    api: Api, params: dict, message: str
) -> None:
    reply = await api.get("/v2/customers", params=params)
    assert reply.status == 400
    [error] = reply.json()["_embedded"]["errors"]
    assert error["path"] in params and message in error["message"]
    assert error["rejectedValue"] == next(iter(params.values()))


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ann@example.com", [2, 0]),
        ("Ann@Example.com", [2, 0]),
        ("joann@", []),
        ("bob@example.org", [4]),
    ],
)
async def test_v3_filters_by_exact_email_newest_first(
    api: Api, email: str, expected: list[int]
) -> None:
    ids = api.state.seed({"emails": [{"type": "work", "value": e}]} for e in SEARCHABLE)
    body = (await api.get("/v3/customers", params={"email": email})).json()
    found = [c["id"] for c in body.get("_embedded", {}).get("customers", [])]
    assert found == [ids[i] for i in expected]
    assert "next" not in body["_links"]


async def test_v3_pages_with_a_cursor(api: Api) -> None:
    ids = api.state.seed([{"firstName": f"N{i}"} for i in range(120)])
    seen, path, pages = [], "/v3/customers", 0
    while True:
        body = (await api.get(path)).json()
        seen += [c["id"] for c in body["_embedded"]["customers"]]
        pages += 1
        if "next" not in body["_links"]:
            break
        path = body["_links"]["next"]["href"].removeprefix(api.sandbox.url)
    assert pages == 3 and seen == ids[::-1]
    assert (await api.get("/v3/customers", params={"cursor": "garbage"})).status == 400


# --- updating customers --------------------------------------------------------------------------
async def test_put_replaces_own_fields_and_leaves_entries(api: Api) -> None:
    customer_id = await api.created_id(person(1, jobTitle="Countess", organization="Engines"))
    update = fixture("php-sdk/json/exchanges.json")[1]
    assert update["name"] == "update_customer_204"
    body = {**update["request"]["json"], "id": customer_id}
    reply = await api.call("PUT", f"/v2/customers/{customer_id}", json=body)
    assert reply.status == update["response"]["status"] == 204
    stored = api.state.customers[customer_id]
    assert (stored["firstName"], stored["lastName"]) == ("Big", "Bird")
    assert stored["jobTitle"] is None and stored["organization"] is None
    assert [e["value"] for e in stored["emails"]] == ["ada1@example.com"]


async def test_invalid_put_changes_nothing(api: Api) -> None:
    customer_id = await api.created_id(person(1))
    reply = await api.call("PUT", f"/v2/customers/{customer_id}", json={"firstName": "x" * 41})
    assert reply.status == 400
    assert api.state.customers[customer_id]["firstName"] == "Ada"


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "replace", "path": "/firstName", "value": "Grace"}], {"firstName": "Grace"}),
        ([{"op": "add", "path": "/organization", "value": "Navy"}], {"organization": "Navy"}),
        ([{"op": "remove", "path": "/jobTitle"}], {"jobTitle": None}),
        ([{"op": "replace", "path": "/lastName", "value": None}], {"lastName": None}),
        (
            [
                {"op": "replace", "path": "/gender", "value": "female"},
                {"op": "replace", "path": "/age", "value": "36"},
            ],
            {"gender": "female", "age": "36"},
        ),
    ],
)
async def test_json_patch_changes_own_fields(api: Api, ops: list, expected: dict) -> None:
    customer_id = await api.created_id(person(1, jobTitle="Countess"))
    reply = await api.call("PATCH", f"/v2/customers/{customer_id}", json=ops)
    assert reply.status == 204
    stored = api.state.customers[customer_id]
    assert {k: stored[k] for k in expected} == expected


@pytest.mark.parametrize(
    "ops",
    [
        [
            {"op": "replace", "path": "/firstName", "value": "Grace"},
            {"op": "replace", "path": "/lastName", "value": "x" * 41},
        ],
        [{"op": "move", "path": "/firstName", "from": "/lastName"}],
        [{"op": "replace", "path": "/emails", "value": []}],
        [{"op": "replace", "path": "firstName", "value": "Grace"}],
        {"firstName": "Grace"},
    ],
)
async def test_bad_json_patch_is_400_and_changes_nothing(api: Api, ops: Any) -> None:
    customer_id = await api.created_id(person(1))
    reply = await api.call("PATCH", f"/v2/customers/{customer_id}", json=ops)
    assert reply.status == 400
    assert api.state.customers[customer_id]["firstName"] == "Ada"


@pytest.mark.parametrize(
    ("ops", "status", "expected"),
    [
        ([{"op": "replace", "path": "/plan", "value": "gold"}], 204, {"plan": "gold", "seats": 3}),
        ([{"op": "replace", "path": "/seats", "value": 5}], 204, {"plan": "pro", "seats": 5}),
        ([{"op": "remove", "path": "/plan"}], 204, {"seats": 3}),
        (
            [{"op": "replace", "path": "/vip", "value": True}, {"op": "remove", "path": "/seats"}],
            204,
            {"plan": "pro", "vip": True},
        ),
        ([{"op": "replace", "path": "/seats", "value": "5"}], 400, {"plan": "pro", "seats": 3}),
        ([{"op": "replace", "path": "/nope", "value": "x"}], 400, {"plan": "pro", "seats": 3}),
        ([{"op": "remove", "path": "/nope"}], 400, {"plan": "pro", "seats": 3}),
        ([{"op": "add", "path": "/plan", "value": "x"}], 400, {"plan": "pro", "seats": 3}),
    ],
)
async def test_property_patches(api: Api, ops: list, status: int, expected: dict) -> None:
    customer_id = await api.created_id(person(1, properties={"plan": "pro", "seats": 3}))
    reply = await api.call("PATCH", f"/v2/customers/{customer_id}/properties", json=ops)
    assert reply.status == status
    assert api.state.customers[customer_id]["properties"] == expected


@pytest.mark.parametrize(
    ("segment", "key", "good", "bad", "bad_path"),
    [
        (
            "emails",
            "emails",
            {"type": "home", "value": "ada@home.example"},
            {"type": "home", "value": "nope"},
            "value",
        ),
        (
            "phones",
            "phones",
            {"type": "mobile", "value": "555-0100"},
            {"type": "car", "value": "555-0100"},
            "type",
        ),
        (
            "chats",
            "chats",
            {"type": "skype", "value": "ada"},
            {"type": "skype", "value": ""},
            "value",
        ),
        (
            "social-profiles",
            "social_profiles",
            {"type": "twitter", "value": "ada"},
            {"type": "myspace", "value": "ada"},
            "type",
        ),
        ("websites", "websites", {"value": "https://ada.example"}, {"value": "not a url"}, "value"),
    ],
)
async def test_entry_endpoints(
    api: Api, segment: str, key: str, good: dict, bad: dict, bad_path: str
) -> None:
    customer_id = await api.created_id(person(1))
    path = f"/v2/customers/{customer_id}/{segment}"
    reply = await api.call("POST", path, json=good)
    assert reply.status == 201 and reply.body == b""
    entry_id = int(reply.headers["Resource-ID"])
    assert reply.headers["Location"] == f"{api.sandbox.url}{path}/{entry_id}"
    embedded = (await api.get(f"/v2/customers/{customer_id}")).json()["_embedded"]
    assert {"id": entry_id, **good} in embedded[key]
    refused = await api.call("POST", path, json=bad)
    assert refused.status == 400
    assert [e["path"] for e in refused.json()["_embedded"]["errors"]] == [bad_path]


async def test_address_endpoints(api: Api) -> None:
    customer_id = await api.created_id(person(1))
    path = f"/v2/customers/{customer_id}/address"
    created = await api.call(
        "POST", path, json={"lines": ["1 Main St"], "city": "Dallas", "country": "US"}
    )
    assert created.status == 201 and created.headers["Resource-ID"]
    updated = await api.call("PUT", path, json={"city": "Austin", "country": "US"})
    assert updated.status == 204
    embedded = (await api.get(f"/v2/customers/{customer_id}")).json()["_embedded"]
    assert embedded["address"] == {"city": "Austin", "country": "US"}  # nothing set: left out
    refused = await api.call("PUT", path, json={"city": "Paris"})
    recorded = fixture("php-sdk/json/error_validation_400.json")["_embedded"]["errors"]
    assert [e["path"] for e in refused.json()["_embedded"]["errors"]] == [recorded[0]["path"]]


# --- listing and searching, in the shapes real clients send ---------------------------------------
# python-helpscout (santiher/python-helpscout-v2, PyPI python-helpscout) joins its params unencoded
# and follows ``_links.next.href`` as given; tap-helpscout (singer-io) sends a raw query string
# ``sortField=modifiedAt&sortOrder=asc&modifiedSince=...&page=N`` and pages by ``page.totalPages``;
# helpscout-mailbox (Connectify) sends ``query=(...)&status=all&sortField=createdAt&sortOrder=desc``
# to list conversations.
PEOPLE = [
    # firstName, lastName, email, phone
    ("Ada", "Lovelace", "ada@engines.example", "+44 20 7946 0001"),
    ("Grace", "Hopper", "grace@navy.example", "+1 555 0102"),
    ("ada", "Byron", "a.byron@poets.example", None),
    ("Alan", "Turing", "alan@bletchley.example", "+44 20 7946 0004"),
    ("Grace", "Murray", "gm@navy.example", "+1 555 0105"),
    (None, "Anonymous", "anon+tag@example.com", None),
]


def seed_people(api: Api) -> list[int]:
    payloads = []
    for first, last, email, phone in PEOPLE:
        payload: dict[str, Any] = {"lastName": last, "emails": [{"type": "work", "value": email}]}
        if first is not None:
            payload["firstName"] = first
        if phone is not None:
            payload["phones"] = [{"type": "work", "value": phone}]
        payloads.append(payload)
    return api.state.seed(payloads)


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        ('(email:"a@b.com")', ("match", "email", "a@b.com")),
        ("email:a@b.com", ("match", "email", "a@b.com")),
        (
            '(email:("a@b.com" OR "c@d.com"))',
            ("or", (("match", "email", "a@b.com"), ("match", "email", "c@d.com"))),
        ),
        (
            '(firstName:"Ann Lee" AND lastName:"X" OR phone:"555")',
            (
                "or",
                (
                    ("and", (("match", "firstName", "Ann Lee"), ("match", "lastName", "X"))),
                    ("match", "phone", "555"),
                ),
            ),
        ),
        (
            '(firstName:"A" AND (lastName:"X" OR lastName:"Y"))',
            (
                "and",
                (
                    ("match", "firstName", "A"),
                    ("or", (("match", "lastName", "X"), ("match", "lastName", "Y"))),
                ),
            ),
        ),
        (
            "modifiedAt:[2013-11-20T00:00:00Z TO *]",
            ("range", "modifiedAt", "2013-11-20T00:00:00Z", None),
        ),
        ("(customerIds:123)", ("match", "customerIds", "123")),
    ],
)
def test_the_search_syntax(query: str, parsed: tuple) -> None:
    assert parse_query(query) == parsed


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", "the query is empty"),
        ('(email:"a"', "a parenthesis is not closed"),
        ('email:"a', "a quote is not closed"),
        ('email:"a" OR', "the query ends too soon"),
        ('(firstName:"a" lastName:"b")', "unexpected 'lastName': join terms with AND or OR"),
        ("a@b.com", "write field:value"),
        ("email:(firstName:a)", "a field inside email:(...) is not understood"),
        ("modifiedAt:[2019]", "a range is written [FROM TO UNTIL]"),
    ],
)
def test_unreadable_queries_say_what_to_write(query: str, problem: str) -> None:
    with pytest.raises(QueryError, match=re.escape(problem)):
        parse_query(query)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [5, 4, 3, 2, 1, 0]),  # newest first
        ({"firstName": "ada"}, [2, 0]),  # equal, ignoring case
        ({"firstName": "Ad"}, []),  # a filter is not a prefix search
        ({"lastName": "HOPPER"}, [1]),
        ({"firstName": "Grace", "lastName": "Murray"}, [4]),  # filters are joined by AND
        ({"query": '(firstName:"Grace")'}, [4, 1]),
        ({"query": '(lastName:"Turing")'}, [3]),
        ({"query": '(firstName:"Grace" OR firstName:"Alan")'}, [4, 3, 1]),
        ({"query": '(firstName:"Grace" AND lastName:"Hopper")'}, [1]),
        ({"query": '(email:"navy.example")'}, [4, 1]),  # containing
        ({"query": '(email:("ada@" OR "alan@"))'}, [3, 0]),
        ({"query": '(phone:"7946")'}, [3, 0]),
        ({"query": '(phone:"555-0102")'}, []),
        ({"query": '((firstName:"Grace" OR firstName:"Ada") AND phone:"+1")'}, [4, 1]),
        ({"query": '(firstName:"Ada" OR firstName:"Grace" AND lastName:"Murray")'}, [4, 2, 0]),
        ({"query": "(lastName:Turing)"}, [3]),  # a bare word
        ({"query": '(email:"navy.example")', "firstName": "grace", "lastName": "hopper"}, [1]),
        ({"query": '(email:"anon+tag@example.com")'}, [5]),  # sent as %2B: found
    ],
)
async def test_list_filters_and_queries(api: Api, params: dict, expected: list[int]) -> None:
    ids = seed_people(api)
    body = (await api.get("/v2/customers", params=params)).json()
    assert found(body) == [ids[i] for i in expected]
    assert body["page"]["totalElements"] == len(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ({"sortField": "createdAt", "sortOrder": "asc"}, [0, 1, 2, 3, 4, 5]),
        ({"sortField": "createdAt"}, [5, 4, 3, 2, 1, 0]),  # desc by default
        ({"sortField": "score"}, [5, 4, 3, 2, 1, 0]),  # all matches score alike
        ({"sortField": "firstName", "sortOrder": "asc"}, [0, 2, 3, 1, 4, 5]),  # no name: last
        ({"sortField": "firstName", "sortOrder": "desc"}, [4, 1, 3, 2, 0, 5]),
        ({"sortField": "lastName", "sortOrder": "ASC"}, [5, 2, 1, 0, 4, 3]),
        ({"sortField": "lastName", "sortOrder": "desc"}, [3, 4, 0, 1, 2, 5]),
    ],
)
async def test_sort_field_and_order(api: Api, sort: dict, expected: list[int]) -> None:
    ids = seed_people(api)
    body = (await api.get("/v2/customers", params=sort)).json()
    assert found(body) == [ids[i] for i in expected]


async def test_modified_at_order_and_since_follow_every_change(start: Start) -> None:
    """The Singer tap's incremental read: modifiedAt ascending, from a bookmark, raw query."""
    clock = FakeClock(1000.0)
    api = await start(clock=clock)
    ids = []
    for i in range(3):
        ids.append(await api.created_id(person(i)))
        clock.advance(10)
    bookmark = api.state.iso(1010.0)
    await api.call("PUT", f"/v2/customers/{ids[0]}", json={"firstName": "Ada", "lastName": "L"})
    raw = f"sortField=modifiedAt&sortOrder=asc&modifiedSince={bookmark}&page=1"
    body = (await api.get(f"/v2/customers?{raw}")).json()
    assert found(body) == [ids[1], ids[2], ids[0]]  # at or after the bookmark, oldest change first
    assert body["page"] == {"size": 50, "totalElements": 3, "totalPages": 1, "number": 1}
    ranged = f"(modifiedAt:[{api.state.iso(1015.0)} TO *])"
    assert found((await api.get("/v2/customers", params={"query": ranged})).json()) == [
        ids[2],
        ids[0],
    ]
    created = f"(createdAt:[* TO {bookmark}])"
    assert found((await api.get("/v2/customers", params={"query": created})).json()) == [
        ids[1],
        ids[0],
    ]


async def test_the_mailbox_filter_means_a_conversation_there(api: Api) -> None:
    ids = seed_people(api)
    api.state.add_conversation({"customerId": ids[1], "mailboxId": 7})
    api.state.add_conversation({"customerId": ids[3], "mailboxId": 8, "status": "closed"})
    assert found((await api.get("/v2/customers", params={"mailbox": "7"})).json()) == [ids[1]]
    assert found((await api.get("/v2/customers", params={"mailbox": "9"})).json()) == []


async def test_paging_by_next_through_1000_filtered_customers_gets_each_once(api: Api) -> None:
    people = []
    for i in range(3504):
        grace = i % 5 in (1, 3)
        people.append(
            {
                "firstName": "Grace" if grace else "Ada",
                "lastName": f"L{i % 7}",
                "emails": [
                    {"type": "work", "value": f"p{i}@{'navy' if i % 3 else 'army'}.example"}
                ],
            }
        )
    ids = api.state.seed(people)
    wanted = {
        ids[i]
        for i, p in enumerate(people)
        if p["firstName"] == "Grace" and (i % 3 or p["lastName"] == "L2")
    }
    assert len(wanted) == 1000
    params = {
        "firstName": "grace",
        "query": '(email:"@navy.example" OR lastName:"L2")',
        "sortField": "lastName",  # many ties: the id breaks them, so pages never overlap
        "sortOrder": "asc",
    }
    seen: list[int] = []
    href = str(URL(api.sandbox.url + "/v2/customers").with_query(params))
    pages = 0
    while href:
        body = (await api.follow(href)).json()
        pages += 1
        seen += found(body)
        assert body["page"]["number"] == pages and body["page"]["totalElements"] == 1000
        link = body["_links"].get("next")
        href = link["href"] if link else ""
        if link:  # absolute, and keeps every filter
            assert URL(href).query == {**params, "page": str(pages + 1)}
    assert pages == 20 and len(seen) == 1000 and set(seen) == wanted
    keys = [(api.state.customers[i]["lastName"], i) for i in seen]
    assert keys == sorted(keys)


async def test_page_links_are_absolute_and_keep_every_parameter(api: Api) -> None:
    api.state.seed([person(i) for i in range(120)])
    params = {"query": '(email:"ada")', "sortOrder": "asc", "page": "2"}
    links = (await api.get("/v2/customers", params=params)).json()["_links"]
    keep = {k: v for k, v in params.items() if k != "page"}
    for rel, page in [("self", 2), ("first", 1), ("last", 3), ("next", 3), ("previous", 1)]:
        url = URL(links[rel]["href"])
        assert str(url.origin()) == api.sandbox.url, rel
        assert url.path == "/v2/customers" and url.query == {**keep, "page": str(page)}, rel
    assert links["page"]["templated"] is True and links["page"]["href"].endswith("{&page}")


async def test_python_helpscout_sends_params_unencoded(api: Api) -> None:
    """It joins ``k=v`` pairs as they are: ``+`` then reaches the server as a space, as with any
    server that reads a query string the standard way; ``%2B`` is how a plus is sent."""
    ids = seed_people(api)
    headers = {"content-type": "application/json", "charset": "UTF-8"}
    plain = await api.get('/v2/customers?query=(email:"anon+tag@example.com")', headers=headers)
    encoded = await api.get('/v2/customers?query=(email:"anon%2Btag@example.com")', headers=headers)
    assert found(plain.json()) == [] and found(encoded.json()) == [ids[5]]
    v3 = await api.get("/v3/customers?email=anon%2Btag%40example.com")
    assert found(v3.json()) == [ids[5]]


EMBEDDED_KEYS = {"emails", "phones", "chats", "social_profiles", "websites"}


async def test_list_items_carry_what_get_one_shows(api: Api) -> None:
    customer_id = await api.created_id(
        {
            **person(1, properties={"plan": "pro"}),
            "phone": "+1 555 0100",
            "address": {"city": "Dallas", "country": "US"},
        }
    )
    one = (await api.get(f"/v2/customers/{customer_id}")).json()
    listed = (await api.get("/v2/customers")).json()["_embedded"]["customers"][0]
    v3 = (await api.get("/v3/customers")).json()["_embedded"]["customers"][0]
    assert listed == one == v3
    assert set(one["_embedded"]) == {*EMBEDDED_KEYS, "address", "properties"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"firstName": "grace"}, [4, 1]),
        ({"lastName": "byron", "email": "A.Byron@poets.example"}, [2]),
        ({"query": '(email:"navy")'}, [4, 1]),
        ({"email": "navy.example"}, []),  # v3's email filter is exact here
    ],
)
async def test_v3_filters(api: Api, params: dict, expected: list[int]) -> None:
    ids = seed_people(api)
    body = (await api.get("/v3/customers", params=params)).json()
    assert found(body) == [ids[i] for i in expected]


async def test_v3_created_since_and_a_cursor_that_keeps_the_filters(start: Start) -> None:
    clock = FakeClock(0.0)
    api = await start(clock=clock)
    ids = api.state.seed([person(i, firstName="Old" if i % 2 else "Ada") for i in range(70)])
    clock.advance(5)
    newer = api.state.seed([person(i) for i in range(100, 160)])
    since = api.state.iso(5.0)
    params = {"firstName": "Ada", "createdSince": since}
    first = (await api.get("/v3/customers", params=params)).json()
    next_url = URL(first["_links"]["next"]["href"])
    assert {k: v for k, v in next_url.query.items() if k != "cursor"} == params
    second = (await api.follow(str(next_url))).json()
    assert found(first) + found(second) == newer[::-1]
    assert "next" not in second["_links"] and len(ids) == 70  # the old ones were left out


# --- timestamps and fields never set --------------------------------------------------------------
ISO_SECONDS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "", {"firstName": "Ann"}),
        ("PATCH", "", [{"op": "replace", "path": "/jobTitle", "value": "CTO"}]),
        ("PATCH", "/properties", [{"op": "replace", "path": "/plan", "value": "pro"}]),
        ("POST", "/emails", {"type": "home", "value": "ann@home.example"}),
        ("PUT", "/emails/{email}", {"type": "home", "value": "ann@home.example"}),
        ("DELETE", "/emails/{email}", None),
        ("POST", "/address", {"city": "Paris", "country": "FR"}),
        ("PUT", "/address", {"city": "Paris", "country": "FR"}),
        ("DELETE", "/address", None),
    ],
)
async def test_updated_at_moves_on_every_change(
    start: Start, method: str, path: str, body: Any
) -> None:
    clock = FakeClock(0.0)
    api = await start(clock=clock)
    customer_id = await api.created_id(person(1, address={"city": "Dallas", "country": "US"}))
    before = (await api.get(f"/v2/customers/{customer_id}")).json()
    assert (
        re.fullmatch(ISO_SECONDS, before["createdAt"])
        and before["updatedAt"] == before["createdAt"]
    )
    clock.advance(61)
    email = before["_embedded"]["emails"][0]["id"]
    reply = await api.call(
        method, f"/v2/customers/{customer_id}{path.format(email=email)}", json=body
    )
    assert reply.status in (201, 204)
    after = (await api.get(f"/v2/customers/{customer_id}")).json()
    assert after["createdAt"] == before["createdAt"]
    assert after["updatedAt"] == api.state.iso(61.0) != before["updatedAt"]


async def test_fields_never_set_are_left_out_and_those_cleared_are_null(api: Api) -> None:
    customer_id = await api.created_id(
        {"firstName": "Ann", "emails": [{"type": "work", "value": "a@x.com"}]}
    )
    fresh = (await api.get(f"/v2/customers/{customer_id}")).json()
    assert set(fresh) == {"id", "firstName", "createdAt", "updatedAt", "_embedded", "_links"}
    assert set(fresh["_embedded"]) == EMBEDDED_KEYS  # lists, even empty; no address, no properties
    await api.call("PUT", f"/v2/customers/{customer_id}", json={"lastName": "Lee"})
    replaced = (await api.get(f"/v2/customers/{customer_id}")).json()
    assert replaced["lastName"] == "Lee" and replaced["firstName"] is None  # PUT: left out is null
    assert all(replaced[name] is None for name in schema.OWN_FIELDS if name != "lastName")


# --- entries and the address ----------------------------------------------------------------------
def typed(kind: str, value: str) -> dict[str, str]:
    return {"type": kind, "value": value}


@pytest.mark.parametrize(
    ("segment", "key", "first", "second", "bad"),
    [
        (
            "emails",
            "emails",
            typed("work", "a@x.com"),
            typed("home", "b@y.com"),
            typed("work", "no"),
        ),
        ("phones", "phones", typed("work", "+1 555"), typed("fax", "+1 556"), typed("car", "1")),
        ("chats", "chats", typed("skype", "ann"), typed("aim", "ann2"), typed("skype", "")),
        (
            "social-profiles",
            "social_profiles",
            typed("twitter", "ann"),
            typed("other", "x"),
            typed("myspace", "x"),
        ),
        (
            "websites",
            "websites",
            {"value": "https://a.example"},
            {"value": "https://b.example"},
            {"value": "x"},
        ),
    ],
)
async def test_entries_are_listed_replaced_and_deleted(
    api: Api, segment: str, key: str, first: dict, second: dict, bad: dict
) -> None:
    customer_id = await api.created_id(
        {"firstName": "Ann", {"social-profiles": "socialProfiles"}.get(segment, segment): [first]}
    )
    path = f"/v2/customers/{customer_id}/{segment}"
    listed = (await api.get(path)).json()
    [entry] = listed["_embedded"][segment]
    recorded = fixture(f"php-sdk/json/customer_{segment.replace('-', '_')}.json")
    assert shape(listed) == shape(recorded)
    assert entry["_links"]["self"]["href"] == f"{api.sandbox.url}{path}/{entry['id']}"
    assert (await api.get(path + "/")).json() == listed  # as real answers link it
    assert (await api.call("PUT", f"{path}/{entry['id']}", json=second)).status == 204
    refused = await api.call("PUT", f"{path}/{entry['id']}", json=bad)
    assert refused.status == 400
    held = (await api.get(f"/v2/customers/{customer_id}")).json()["_embedded"][key]
    assert held == [{"id": entry["id"], **second}]
    assert (await api.call("PUT", f"{path}/999", json=second)).status == 404
    assert (await api.call("DELETE", f"{path}/{entry['id']}")).status == 204
    assert (await api.call("DELETE", f"{path}/{entry['id']}")).status == 404
    assert (await api.get(path)).json()["_embedded"][segment] == []


async def test_changed_and_removed_emails_leave_the_search(api: Api) -> None:
    customer_id = await api.created_id(person(1))
    entry = api.state.customers[customer_id]["emails"][0]["id"]
    path = f"/v2/customers/{customer_id}/emails/{entry}"

    async def search(email: str) -> tuple[list[int], list[int]]:
        v2 = await api.get("/v2/customers", params={"query": f'(email:"{email}")'})
        v3 = await api.get("/v3/customers", params={"email": email})
        return found(v2.json()), found(v3.json())

    await api.call("PUT", path, json={"type": "work", "value": "ann@new.example"})
    assert await search("ada1@example.com") == ([], [])
    assert await search("ann@new.example") == ([customer_id], [customer_id])
    await api.call("DELETE", path)
    assert await search("ann@new.example") == ([], [])


async def test_an_email_entry_changed_to_anothers_conflicts_when_asked(start: Start) -> None:
    api = await start(duplicate_email="conflict")
    await api.created_id(person(1))
    other = await api.created_id(person(2))
    entry = api.state.customers[other]["emails"][0]["id"]
    path = f"/v2/customers/{other}/emails/{entry}"
    assert (
        await api.call("PUT", path, json={"type": "home", "value": "ADA1@example.com"})
    ).status == 409
    assert (
        await api.call("PUT", path, json={"type": "home", "value": "ada2@example.com"})
    ).status == 204


async def test_the_address_is_read_and_deleted(api: Api) -> None:
    address = fixture("php-sdk/json/customer_address.json")
    customer_id = await api.created_id(
        person(1, address={k: v for k, v in address.items() if k != "_links"})
    )
    path = f"/v2/customers/{customer_id}/address"
    read = (await api.get(path)).json()
    assert read == {**address, "_links": {"self": {"href": api.sandbox.url + path}}}
    assert (await api.call("DELETE", path)).status == 204
    assert (await api.get(path)).status == 404
    assert (await api.call("DELETE", path)).status == 404
    assert "address" not in (await api.get(f"/v2/customers/{customer_id}")).json()["_embedded"]


# --- deleting customers ---------------------------------------------------------------------------
async def test_delete_is_204_then_404_and_the_email_is_no_longer_found(api: Api) -> None:
    customer_id = await api.created_id(person(1))
    api.state.add_conversation({"customerId": customer_id})
    headers = {"content-type": "application/json"}  # python-helpscout sends one with no body
    reply = await api.call("DELETE", f"/v2/customers/{customer_id}", headers=headers)
    assert reply.status == 204 and reply.body == b""
    assert (await api.get(f"/v2/customers/{customer_id}")).status == 404
    assert (await api.call("DELETE", f"/v2/customers/{customer_id}")).status == 404
    search = await api.get("/v2/customers", params={"query": '(email:"ada1@example.com")'})
    assert found(search.json()) == []
    v3 = await api.get("/v3/customers", params={"email": "ada1@example.com"})
    assert found(v3.json()) == []
    assert api.state.conversations == {}  # a hard delete takes the conversations along
    again = await api.created_id(person(1))
    assert found((await api.get("/v3/customers", params={"email": "ada1@example.com"})).json()) == [
        again
    ]


@pytest.mark.parametrize("delay", [0.0, 2.0, 30.0])
async def test_an_async_delete_is_202_then_the_customer_goes(start: Start, delay: float) -> None:
    clock = FakeClock(0.0)
    api = await start(async_delete_after=delay, clock=clock)
    customer_id = await api.created_id(person(1))
    reply = await api.call("DELETE", f"/v2/customers/{customer_id}", params={"async": "true"})
    assert reply.status == 202 and reply.body == b""
    if delay:
        clock.advance(delay - 0.01)
        assert (await api.get(f"/v2/customers/{customer_id}")).status == 200
        clock.advance(0.01)
    assert (await api.get("/_sandbox/customers", auth=False)).json() == {"customers": []}
    assert (await api.get(f"/v2/customers/{customer_id}")).status == 404


# --- conversations --------------------------------------------------------------------------------
async def test_conversations_of_a_customer_by_status(api: Api) -> None:
    ann, bob = api.state.seed([person(1), person(2)])
    seeds = [
        {"customerId": ann, "status": "active", "subject": "Where is my order?"},
        {"customerId": ann, "status": "closed", "mailboxId": 2},
        {"customerId": bob, "status": "pending"},
        {"customerId": ann, "status": "spam"},
        {"customerId": ann, "status": "pending", "type": "chat"},
    ]
    reply = await api.call("POST", "/_sandbox/conversations", auth=False, json=seeds)
    assert reply.status == 201
    ids = reply.json()["ids"]

    async def listed(**params: str) -> list[int]:
        body = (await api.get("/v2/conversations", params=params)).json()
        return [c["id"] for c in body.get("_embedded", {}).get("conversations", [])]

    query = f"(customerIds:{ann})"
    assert await listed(query=query, status="all") == [ids[4], ids[3], ids[1], ids[0]]
    assert await listed(query=query) == [ids[0]]  # active by default
    assert await listed(query=query, status="pending") == [ids[4]]
    assert await listed(query=query, status="closed") == [ids[1]]
    assert await listed(query=query, status="spam") == [ids[3]]
    assert await listed(status="pending") == [ids[4], ids[2]]
    assert (
        await listed(
            query=f"(customerIds:{ann} OR customerIds:{bob})", status="all", sortOrder="asc"
        )
        == ids
    )
    assert await listed(query='(subject:"order")', status="all") == [ids[0]]
    assert await listed(query='(email:"ada2@")', status="all", mailbox="1") == [ids[2]]
    one = (await api.get(f"/v2/conversations/{ids[1]}")).json()
    assert (one["status"], one["mailboxId"], one["primaryCustomer"]["id"]) == ("closed", 2, ann)
    assert one["primaryCustomer"]["email"] == "ada1@example.com"
    assert one["closedAt"] == one["userUpdatedAt"] and one["customerWaitingSince"]["time"]
    assert (await api.get("/v2/conversations/999")).status == 404


async def test_the_mailboxes_are_listed_and_each_conversations_mailbox_link_leads_to_one(
    api: Api,
) -> None:
    """A client checks its credentials with ``GET /v2/mailboxes``, or follows a conversation's
    ``mailbox`` link: mailbox 1, and each one a conversation is in, in the docs' shape."""
    (ann,) = api.state.seed([person(1)])
    api.state.add_conversation({"customerId": ann, "mailboxId": 7})
    listed = (await api.get("/v2/mailboxes")).json()
    assert [m["id"] for m in listed["_embedded"]["mailboxes"]] == [1, 7]
    assert listed["page"] == {"size": 50, "totalElements": 2, "totalPages": 1, "number": 1}
    conversation = (await api.get("/v2/conversations", params={"status": "all"})).json()
    link = URL(conversation["_embedded"]["conversations"][0]["_links"]["mailbox"]["href"])
    one = await api.get(link.path)
    assert one.status == 200 and one.headers["Content-Type"].startswith("application/hal+json")
    assert one.json() == listed["_embedded"]["mailboxes"][1]
    assert {"id", "name", "slug", "email", "createdAt", "updatedAt"} <= set(one.json())
    assert (await api.get("/v2/mailboxes/2")).status == 404


async def test_conversations_page_like_customers(api: Api) -> None:
    [ann] = api.state.seed([person(1)])
    for _ in range(60):
        api.state.add_conversation({"customerId": ann, "status": "closed"})
    params = {"query": f"(customerIds:{ann})", "status": "all"}
    first = (await api.get("/v2/conversations", params=params)).json()
    assert first["page"] == {"size": 50, "totalElements": 60, "totalPages": 2, "number": 1}
    second = (await api.follow(first["_links"]["next"]["href"])).json()
    seen = [c["id"] for page in (first, second) for c in page["_embedded"]["conversations"]]
    assert sorted(seen) == sorted(api.state.conversations) and len(set(seen)) == 60
    empty = (
        await api.get("/v2/conversations", params={"query": "(customerIds:1)", "status": "all"})
    ).json()
    assert "_embedded" not in empty and empty["page"]["totalElements"] == 0


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"status": "open-ish"}, "status"),
        ({"query": "(customerIds:ann)"}, "query"),
        ({"query": "(tag:vip)"}, "query"),
        ({"sortField": "customerEmail"}, "sortField"),
    ],
)
async def test_conversation_lists_the_sandbox_cannot_answer_are_400(
    api: Api, params: dict, path: str
) -> None:
    reply = await api.get("/v2/conversations", params=params)
    assert reply.status == 400 and reply.json()["_embedded"]["errors"][0]["path"] == path


@pytest.mark.parametrize(
    ("seed", "problem"),
    [
        ({"customerId": 999}, "no customer 999"),
        ({"customerId": "x"}, "customerId must be a customer's id"),
        ({"status": "active"}, "customerId must be a customer's id"),
        ({"customerId": 0, "status": "open"}, "customerId"),
        ({"customerId": None}, "customerId"),
        ("hello", "expected an object"),
    ],
)
async def test_bad_conversation_seeds_are_refused_whole(api: Api, seed: Any, problem: str) -> None:
    [ann] = api.state.seed([person(1)])
    reply = await api.call(
        "POST", "/_sandbox/conversations", auth=False, json=[{"customerId": ann}, seed]
    )
    assert reply.status == 400
    [error] = reply.json()["_embedded"]["errors"]
    assert error["path"] == "[1]" and problem in error["message"]
    assert api.state.conversations == {}


async def test_configured_conversations_exist_from_the_start_and_after_reset(start: Start) -> None:
    api = await start(conversations=[{"customerId": 100_000_002, "status": "closed"}])
    await api.created_id(person(1))
    second = await api.created_id(person(2))
    params = {"query": f"(customerIds:{second})", "status": "all"}
    assert (await api.get("/v2/conversations", params=params)).json()["page"]["totalElements"] == 1
    await api.call("POST", "/_sandbox/reset", auth=False)
    assert [c["customerId"] for c in api.state.conversations.values()] == [100_000_002]


# --- the authorization-code flow's refresh token --------------------------------------------------
async def test_a_refresh_token_gives_a_new_access_token_and_is_rotated(start: Start) -> None:
    api = await start(token_ttl=7200)
    first = api.sandbox.refresh_token
    assert first == api.sandbox.config.refresh_token == "sandbox-refresh-token"
    form = {
        "grant_type": "refresh_token",
        "client_id": "sandbox-app-id",
        "client_secret": "sandbox-secret",
    }
    reply = await api.call(
        "POST", "/v2/oauth2/token", auth=False, data={**form, "refresh_token": first}
    )
    assert reply.status == 200
    body = reply.json()
    assert set(body) == {"token_type", "access_token", "expires_in", "refresh_token"}
    assert body["expires_in"] == 7200 and body["refresh_token"] != first
    api.bearer = body["access_token"]
    assert (await api.get("/v2/customer-properties")).status == 200
    reused = await api.call(
        "POST", "/v2/oauth2/token", auth=False, data={**form, "refresh_token": first}
    )
    assert reused.status == 400 and reused.json()["error"] == "invalid_grant"
    rotated = await api.call(
        "POST",
        "/v2/oauth2/token",
        auth=False,
        json={**form, "refresh_token": body["refresh_token"]},
    )
    assert rotated.status == 200 and rotated.json()["refresh_token"] != body["refresh_token"]
    assert "refresh_token" not in (await api.token()).json()  # client credentials: none


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"refresh_token": ""}, 400, "invalid_request"),
        ({"refresh_token": "made-up"}, 400, "invalid_grant"),
    ],
)
async def test_refresh_token_refusals(api: Api, form: dict, status: int, error: str) -> None:
    given = {
        "grant_type": "refresh_token",
        "client_id": "sandbox-app-id",
        "client_secret": "sandbox-secret",
        "refresh_token": "sandbox-refresh-token",
        **form,
    }
    reply = await api.call("POST", "/v2/oauth2/token", auth=False, data=given)
    assert (reply.status, reply.json()["error"]) == (status, error)
    assert api.state.refresh_tokens == {"sandbox-refresh-token"}  # a refusal rotates nothing


# --- search lag ----------------------------------------------------------------------------------
def found(body: dict[str, Any]) -> list[int]:
    return [c["id"] for c in body.get("_embedded", {}).get("customers", [])]


@pytest.mark.parametrize("lag", [2.0, 10.0])
async def test_a_new_customer_is_searchable_only_after_the_lag(start: Start, lag: float) -> None:
    clock = FakeClock(100.0)
    api = await start(search_lag=lag, clock=clock)
    old = api.state.seed([person(1)])[0]
    clock.advance(lag)
    new = await api.created_id(person(2))
    lookups = {
        "v2 search": ("/v2/customers", {"query": '(email:("ada1@example.com" OR "ada2@"))'}),
        "v2 list": ("/v2/customers", {}),
        "v3 email": ("/v3/customers", {"email": "ada2@example.com"}),
        "v3 list": ("/v3/customers", {}),
    }

    async def seen() -> dict[str, set[int]]:
        """Who each look-up finds (order is not the point here)."""
        answers = {name: await api.get(path, params=q) for name, (path, q) in lookups.items()}
        return {name: set(found(reply.json())) for name, reply in answers.items()}

    assert (await api.get(f"/v2/customers/{new}")).status == 200  # by id: at once
    clock.advance(lag - 0.001)
    assert await seen() == {
        "v2 search": {old},
        "v2 list": {old},
        "v3 email": set(),
        "v3 list": {old},
    }
    clock.advance(0.001)
    both = {new, old}
    assert await seen() == {"v2 search": both, "v2 list": both, "v3 email": {new}, "v3 list": both}


async def test_without_a_lag_a_create_is_found_at_once(start: Start) -> None:
    api = await start(clock=FakeClock())
    new = await api.created_id(person(1))
    body = (await api.get("/v3/customers", params={"email": "ada1@example.com"})).json()
    assert found(body) == [new]


async def test_the_lag_does_not_hide_a_customer_from_the_duplicate_policy(start: Start) -> None:
    """The index lags; the account's own uniqueness check (409) does not."""
    api = await start(search_lag=30, duplicate_email="conflict", clock=FakeClock())
    await api.created_id(person(1))
    assert (await api.create(person(1))).status == 409


# --- rate limit ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("window", "started", "retry"),
    [("fixed", 0.0, 60), ("fixed", 15.0, 45), ("fixed", 59.5, 1), ("sliding", 15.0, 60)],
)
@pytest.mark.parametrize("limit", [10, 11, 40])
async def test_a_burst_of_creates_is_refused_after_half_the_limit(
    start: Start, window: str, started: float, retry: int, limit: int
) -> None:
    clock = FakeClock(started)
    api = await start(rate_limit=limit, rate_window=window, clock=clock)
    remaining = []
    for i in range(limit // 2):
        reply = await api.create(person(i))
        assert reply.status == 201
        remaining.append(int(reply.headers["X-RateLimit-Remaining-Minute"]))
    assert remaining == [limit - 2 * n for n in range(1, limit // 2 + 1)]
    refused = await api.create(person(-1))
    assert refused.status == 429
    assert refused.json() == fixture("php-sdk/json/error_rate_limit_429.json")
    assert refused.headers["X-RateLimit-Retry-After"] == str(retry)
    assert refused.headers["X-RateLimit-Limit-Minute"] == str(limit)
    assert refused.headers["X-RateLimit-Remaining-Minute"] == str(limit % 2)
    assert "Retry-After" not in refused.headers
    clock.advance(retry - 1)
    assert (await api.create(person(-2))).status == 429
    clock.advance(1)
    assert (await api.create(person(-3))).status == 201
    assert len(api.state.customers) == limit // 2 + 1


async def test_reads_cost_one_and_writes_two(start: Start) -> None:
    api = await start(rate_limit=7, clock=FakeClock())
    await api.created_id(person(1))
    statuses = [(await api.get("/v2/customer-properties")).status for _ in range(6)]
    assert statuses == [200] * 5 + [429]


@pytest.mark.parametrize(
    ("window", "at_61"),
    [("fixed", 201), ("sliding", 429)],
)
async def test_fixed_window_resets_on_the_minute_sliding_does_not(
    start: Start, window: str, at_61: int
) -> None:
    clock = FakeClock(50.0)
    api = await start(rate_limit=4, rate_window=window, clock=clock)
    assert [(await api.create(person(i))).status for i in range(3)] == [201, 201, 429]
    clock.advance(11)
    assert (await api.create(person(9))).status == at_61
    clock.advance(49)
    assert (await api.create(person(10))).status == 201


async def test_the_standard_retry_after_header_is_optional(start: Start) -> None:
    api = await start(rate_limit=2, retry_after_header=True, clock=FakeClock(30.0))
    await api.created_id(person(1))
    refused = await api.create(person(2))
    assert refused.status == 429
    assert refused.headers["Retry-After"] == refused.headers["X-RateLimit-Retry-After"] == "30"


async def test_rate_headers_are_on_every_api_answer(start: Start) -> None:
    api = await start(
        rate_limit=17, duplicate_email="conflict", schedule={3: "500", 4: "504"}, clock=FakeClock()
    )
    customer_id = await api.created_id(person(1))
    replies = [
        await api.create(person(1)),  # 409
        await api.create(person(2)),  # 500 (scheduled)
        await api.create(person(3)),  # 504 (scheduled, after creating)
        await api.create({"firstName": ""}),  # 400
        await api.get(f"/v2/customers/{customer_id}"),  # 200
        await api.call("PUT", f"/v2/customers/{customer_id}", json={"firstName": "A"}),  # 204
        await api.get("/v2/customers/1"),  # 404
        await api.get("/v2/customers", auth=False),  # 401
        await api.call("DELETE", "/v2/customer-properties"),  # 405
        await api.create(person(4)),  # 429
    ]
    assert [r.status for r in replies] == [409, 500, 504, 400, 200, 204, 404, 401, 405, 429]
    remaining = [int(r.headers["X-RateLimit-Remaining-Minute"]) for r in replies]
    assert remaining == [13, 11, 9, 7, 6, 4, 3, 3, 1, 1]
    assert all(r.headers["X-RateLimit-Limit-Minute"] == "17" for r in replies)
    token = await api.token()
    assert "X-RateLimit-Remaining-Minute" not in token.headers  # as the recorded token answers


async def test_no_rate_headers_without_a_limit(api: Api) -> None:
    reply = await api.create(person(1))
    assert reply.status == 201 and "X-RateLimit-Limit-Minute" not in reply.headers


@pytest.mark.parametrize(
    ("text", "burst"),
    [("12/5", (12, 5.0)), ("3/0.5", (3, 0.5)), (" 12 / 5 ", (12, 5.0))],
)
def test_burst_is_written_n_per_s(text: str, burst: tuple[int, float]) -> None:
    assert parse_burst(text) == burst


@pytest.mark.parametrize(
    "text", ["12", "12/", "/5", "a/5", "0/5", "12/0", "12/-1", "12/5/3", "1.5/5"]
)
def test_unreadable_bursts_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ConfigError, match="N/S"):
        parse_burst(text)


async def test_writes_over_the_burst_limit_get_429_with_the_retry_header(start: Start) -> None:
    clock = FakeClock(100.0)
    api = await start(rate_limit=1000, burst=(12, 5.0), clock=clock)
    statuses = []
    for i in range(12):
        statuses.append((await api.create(person(i))).status)
        clock.advance(0.25)  # 12 writes in 3 s
    refused = await api.create(person(12))
    assert statuses == [201] * 12 and refused.status == 429
    assert refused.json() == fixture("php-sdk/json/error_rate_limit_429.json")
    assert refused.headers["X-RateLimit-Retry-After"] == "2"  # the first write leaves at 105
    assert int(refused.headers["X-RateLimit-Remaining-Minute"]) == 1000 - 24  # a 429 costs nothing
    assert (await api.get("/v2/customer-properties")).status == 200  # reads are not limited
    clock.advance(1.99)
    assert (await api.create(person(13))).status == 429
    clock.advance(0.01)
    assert (await api.create(person(14))).status == 201
    assert (await api.create(person(15))).status == 429  # the second write left at 105.25
    assert len(api.state.customers) == 13


async def test_a_burst_limit_counts_every_write_method(start: Start) -> None:
    api = await start(burst=(2, 5.0), clock=FakeClock())
    customer_id = await api.created_id(person(1))
    path = f"/v2/customers/{customer_id}"
    assert (await api.call("PUT", path, json={"firstName": "A"})).status == 204
    assert (await api.call("PATCH", path, json=[])).status == 429


def agent(api: Api) -> dict[str, Any]:
    return api.state.stats_summary()["background"]


@pytest.mark.parametrize("window", ["fixed", "sliding"])
async def test_the_background_agent_spends_its_share_evenly(start: Start, window: str) -> None:
    clock = FakeClock(0.0)
    api = await start(rate_limit=600, background_load=0.25, rate_window=window, clock=clock)
    clock.advance(29.9)  # one read every 0.4 s, the first at 0
    reply = await api.get("/v2/customer-properties")
    assert agent(api) == {"share": 0.25, "requests": 75, "rate_limited": 0}
    assert reply.headers["X-RateLimit-Remaining-Minute"] == str(600 - 75 - 1)
    clock.advance(30)
    assert agent(api)["requests"] == 150  # 150 a minute: a quarter of 600
    stats = (await api.get("/_sandbox/stats", auth=False)).json()
    assert stats["background"] == agent(api) and stats["rate_limit_remaining"] == 600 - 151
    assert stats["requests"] == {  # the importer's only
        "POST /v2/oauth2/token": {"200": 1},
        "GET /v2/customer-properties": {"200": 1},
    }


@pytest.mark.parametrize("window", ["fixed", "sliding"])
async def test_the_agent_gets_429s_when_the_importer_overspends(start: Start, window: str) -> None:
    clock = FakeClock(0.0)
    api = await start(rate_limit=100, background_load=0.5, rate_window=window, clock=clock)
    for i in range(50):  # 49 creates fit beside the agent's first read: 98 + 1 of 100
        await api.create(person(i))
    assert (await api.get("/v2/customer-properties")).status == 200  # the last one
    assert len(api.state.customers) == 49
    clock.advance(59.9)  # the agent's reads fall due every 1.2 s: 50 this minute
    assert agent(api) == {"share": 0.5, "requests": 50, "rate_limited": 49}
    clock.advance(0.1)  # a new minute (fixed) / what was spent at 0 comes back (sliding)
    assert agent(api) == {"share": 0.5, "requests": 51, "rate_limited": 49}


async def test_the_agent_can_be_started_and_stopped_mid_run(start: Start) -> None:
    clock = FakeClock(0.0)
    api = await start(rate_limit=1200, clock=clock)
    clock.advance(10)
    assert agent(api)["requests"] == 0
    set_load = "/_sandbox/background-load"
    started = await api.call("POST", set_load, auth=False, json={"share": 0.5})
    assert started.status == 200 and started.json() == {
        "share": 0.5,
        "requests": 1,
        "rate_limited": 0,
    }
    clock.advance(9.95)  # ten reads a second
    assert agent(api)["requests"] == 100
    stopped = await api.call("POST", set_load, auth=False, json={"share": 0})
    assert stopped.json() == {"share": 0.0, "requests": 100, "rate_limited": 0}
    clock.advance(30)
    assert agent(api)["requests"] == 100
    reply = await api.get("/v2/customer-properties")
    assert reply.headers["X-RateLimit-Remaining-Minute"] == str(1200 - 100 - 1)


@pytest.mark.parametrize(
    ("config", "body", "problem"),
    [
        ({"rate_limit": 100}, {"share": 2}, "between 0 and 1"),
        ({"rate_limit": 100}, {"share": "half"}, "share"),
        ({"rate_limit": 100}, {"share": True}, "share"),
        ({"rate_limit": 100}, [0.5], "share"),
        ({}, {"share": 0.5}, "no rate limit"),
    ],
)
async def test_bad_background_loads_are_400(
    start: Start, config: dict, body: Any, problem: str
) -> None:
    api = await start(**config)
    reply = await api.call("POST", "/_sandbox/background-load", auth=False, json=body)
    assert reply.status == 400
    assert problem in reply.json()["_embedded"]["errors"][0]["message"]


# --- duplicate emails ----------------------------------------------------------------------------
async def test_duplicate_email_allowed_makes_a_second_profile(api: Api) -> None:
    first = await api.created_id(person(1))
    second = await api.created_id(person(1, emails=[{"type": "home", "value": "ADA1@example.com"}]))
    body = (await api.get("/v3/customers", params={"email": "ada1@example.com"})).json()
    assert [c["id"] for c in body["_embedded"]["customers"]] == [second, first]


@pytest.mark.parametrize("via", ["create", "entry"])
async def test_duplicate_email_conflict_answers_409(start: Start, via: str) -> None:
    api = await start(duplicate_email="conflict")
    await api.created_id(person(1))
    if via == "create":
        reply = await api.create(person(2, emails=[{"type": "work", "value": "Ada1@Example.com"}]))
    else:
        other = await api.created_id(person(2))
        reply = await api.call(
            "POST",
            f"/v2/customers/{other}/emails",
            json={"type": "home", "value": "ada1@example.com"},
        )
    assert reply.status == 409
    assert reply.json()["message"] == "conflicting entity already exists" and reply.json()["logRef"]
    assert api.state.emails.exact["ada1@example.com"] == [api.sandbox.config.first_id]


# --- faults --------------------------------------------------------------------------------------
async def creates(api: Api, count: int) -> list[int | str]:
    """The status of ``count`` sequential creates; ``"dropped"`` when no answer came."""
    seen: list[int | str] = []
    for i in range(count):
        try:
            seen.append((await api.create(person(i))).status)
        except DROPPED:
            seen.append("dropped")
    return seen


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({3: "500", 7: "503"}, [201, 201, 500, 201, 201, 201, 503, 201]),
        ({1: "504", 2: "drop"}, [504, "dropped", 201, 201, 201, 201, 201, 201]),
        ({8: "drop"}, [201] * 7 + ["dropped"]),
    ],
)
async def test_schedules_are_exact(start: Start, schedule: dict, expected: list) -> None:
    api = await start(schedule=schedule)
    assert await creates(api, 8) == expected
    counted = {
        status: n for (_, route, status), n in api.state.stats.items() if route == "/v2/customers"
    }
    assert counted == Counter(expected)
    done = sum(1 for s in expected if s in (201, 504, "dropped"))
    assert len(api.state.customers) == done  # 500/503 did nothing; 504 and drops did the work


@pytest.mark.parametrize("fault", ["504", "drop"])
async def test_faults_after_the_create_really_created_the_customer(
    start: Start, fault: str
) -> None:
    api = await start(schedule={1: fault})
    if fault == "drop":
        with pytest.raises(DROPPED):
            await api.create(person(1))
    else:
        reply = await api.create(person(1))
        assert reply.status == 504 and "Resource-ID" not in reply.headers
        assert shape(reply.json()) == shape(fixture("php-sdk/json/error_internal_500.json"))
    found = (await api.get("/v2/customers", params={"query": '(email:"ada1@example.com")'})).json()
    assert len(found["_embedded"]["customers"]) == 1


async def test_internal_errors_have_the_recorded_shape(start: Start) -> None:
    api = await start(fail_rate=1.0, fail_statuses=(500,))
    reply = await api.create(person(1))
    assert reply.status == 500
    body = reply.json()
    assert shape(body) == shape(fixture("php-sdk/json/error_internal_500.json"))
    assert body["message"] == "Internal error"
    assert api.state.customers == {}


@pytest.mark.parametrize("seed", [7, 2024])
async def test_random_faults_are_reproducible_with_a_seed(start: Start, seed: int) -> None:
    config = {"fail_rate": 0.2, "gateway_timeout_rate": 0.15, "drop_rate": 0.15, "seed": seed}
    runs = [await creates(await start(**config), 40) for _ in range(2)]
    other = await creates(await start(**{**config, "seed": seed + 1}), 40)
    assert runs[0] == runs[1] != other
    assert {500, 503, 504, "dropped", 201} <= set(runs[0])


async def test_latency_is_slept_concurrently(start: Start) -> None:
    api = await start(latency_ms=200)
    started = time.perf_counter()
    replies = await asyncio.gather(*(api.get("/v2/customer-properties") for _ in range(10)))
    elapsed = time.perf_counter() - started
    assert all(r.status == 200 for r in replies)
    assert 0.2 <= elapsed < 2.0  # ten requests overlapped: one after another takes 10 x 200 ms


def test_jitter_is_bounded_and_reproducible() -> None:
    def delays(seed: int) -> list[float]:
        state = SandboxState(SandboxConfig(latency_ms=50, jitter_ms=20, seed=seed))
        return [state.latency() for _ in range(200)]

    assert delays(1) == delays(1) != delays(2)
    assert all(0.030 <= d <= 0.070 for d in delays(1))
    assert max(delays(1)) - min(delays(1)) > 0.030


# --- inspection ----------------------------------------------------------------------------------
async def test_seeding_spends_no_budget_and_ignores_the_duplicate_policy(start: Start) -> None:
    api = await start(rate_limit=2, duplicate_email="conflict", clock=FakeClock())
    one = await api.call("POST", "/_sandbox/customers", auth=False, json=person(1))
    many = await api.call(
        "POST", "/_sandbox/customers", auth=False, json=[person(1), person(2), person(3)]
    )
    assert one.status == many.status == 201
    assert len(one.json()["ids"]) == 1 and len(many.json()["ids"]) == 3
    assert "X-RateLimit-Remaining-Minute" not in one.headers
    assert (await api.create(person(9))).status == 201
    listed = (await api.get("/_sandbox/customers", auth=False)).json()["customers"]
    assert [c["id"] for c in listed] == [
        *one.json()["ids"],
        *many.json()["ids"],
        api.sandbox.config.first_id + 4,
    ]


@pytest.mark.parametrize("via", ["http", "state"])
async def test_invalid_seeds_are_refused_whole(api: Api, via: str) -> None:
    payloads = [person(1), {"firstName": ""}, person(3, properties={"nope": 1})]
    if via == "http":
        reply = await api.call("POST", "/_sandbox/customers", auth=False, json=payloads)
        assert reply.status == 400
        paths = [e["path"] for e in reply.json()["_embedded"]["errors"]]
    else:
        with pytest.raises(InvalidSeed) as refused:
            api.state.seed(payloads)
        paths = [v.path for v in refused.value.violations]
    assert paths == ["[1].firstName", "[2].properties.nope"]
    assert api.state.customers == {}


async def test_stats_count_requests_by_method_route_and_status(start: Start) -> None:
    api = await start(rate_limit=5, clock=FakeClock())
    customer_id = await api.created_id(person(1))
    await api.create({"firstName": ""})
    await api.get(f"/v2/customers/{customer_id}")
    await api.get(f"/v2/customers/{customer_id}")
    stats = (await api.get("/_sandbox/stats", auth=False)).json()
    assert stats == {
        "requests": {
            "POST /v2/oauth2/token": {"200": 1},
            "POST /v2/customers": {"201": 1, "400": 1},
            "GET /v2/customers/{id}": {"200": 1, "429": 1},
        },
        "customers": 1,
        "tokens_issued": 1,
        "rate_limit_remaining": 0,
        "background": {"share": 0.0, "requests": 0, "rate_limited": 0},
    }
    assert api.state.stats_summary() == stats


async def test_reset_starts_a_fresh_account_but_keeps_tokens(start: Start) -> None:
    api = await start(rate_limit=4, clock=FakeClock())
    first = await api.created_id(person(1))
    await api.created_id(person(2))
    assert (await api.create(person(3))).status == 429
    assert (await api.call("POST", "/_sandbox/reset", auth=False)).status == 204
    assert api.state.customers == {} and api.state.stats_summary()["requests"] == {}
    assert await api.created_id(person(1)) == first  # ids restart; the budget is whole again
    assert (await api.get("/v2/customers", params={"query": '(email:"ada2@")'})).status == 200


# --- ways to run it ------------------------------------------------------------------------------
async def test_create_app_runs_under_aiohttp_test_client(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(SandboxConfig(app_id="a", app_secret="b")))
    answer = await client.post(
        "/v2/oauth2/token",
        json={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
    )
    token = (await answer.json())["access_token"]
    created = await client.post(
        "/v2/customers", json=person(1), headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status == 201
    assert client.app is not None


async def test_sandbox_binds_loopback_on_a_free_port() -> None:
    async with Sandbox() as one, Sandbox() as two:
        assert one.url.startswith("http://127.0.0.1:") and two.url.startswith("http://127.0.0.1:")
        assert one.url != two.url
        assert (one.app_id, one.app_secret) == ("sandbox-app-id", "sandbox-secret")


def test_serve_reports_its_url_and_stops_on_sigterm() -> None:
    code = "from importer.sandbox import serve; serve(on_ready=lambda url: print(url, flush=True))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as server:
        try:
            url = server.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            form = urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": "sandbox-app-id",
                    "client_secret": "sandbox-secret",
                }
            ).encode()
            with urllib.request.urlopen(f"{url}/v2/oauth2/token", form, timeout=10) as answer:
                assert json.load(answer)["token_type"] == "bearer"
        finally:
            server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
        assert server.stdout.read() == "" and server.stderr.read() == ""


@contextlib.contextmanager
def sandbox_command(*options: str) -> Any:
    """``helpscout-import sandbox`` in its own process; yields the lines it printed first."""
    with subprocess.Popen(
        [sys.executable, "-m", "importer", "sandbox", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
    ) as server:
        try:
            yield [server.stdout.readline().rstrip("\n") for _ in range(4)]
        finally:
            server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0


def call(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> Any:
    """One blocking request (the sandbox runs in another process); the JSON answer or None."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def test_the_command_passes_its_options_on() -> None:
    options = ["--search-lag", "600", "--rate-limit", "600", "--rate-window", "sliding"]
    with sandbox_command(*options, "--burst", "1/600", "--background-load", "0.5") as lines:
        url = lines[0].removeprefix("export HELPSCOUT_API_URL=")
        login = {"grant_type": "client_credentials", "client_id": "sandbox-app-id"}
        token = call(f"{url}/v2/oauth2/token", "POST", {**login, "client_secret": "sandbox-secret"})
        bearer = token["access_token"]
        call(f"{url}/v2/customers", "POST", person(1), bearer)
        with pytest.raises(urllib.error.HTTPError) as refused:
            call(f"{url}/v2/customers", "POST", person(2), bearer)
        listed = call(f"{url}/v3/customers?email=ada1%40example.com", token=bearer)
        inspected = call(f"{url}/_sandbox/customers")
        stats = call(f"{url}/_sandbox/stats")
    assert lines[1:] == [  # the three contract lines, then the refresh token
        "export HELPSCOUT_APP_ID=sandbox-app-id",
        "export HELPSCOUT_APP_SECRET=sandbox-secret",
        "export HELPSCOUT_REFRESH_TOKEN=sandbox-refresh-token",
    ]
    assert refused.value.code == 429
    assert 590 <= int(refused.value.headers["X-RateLimit-Retry-After"]) <= 600
    assert "_embedded" not in listed  # not searchable for ten minutes
    assert [c["lastName"] for c in inspected["customers"]] == ["Lovelace1"]
    assert stats["background"]["share"] == 0.5 and stats["background"]["requests"] >= 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--burst", "12"],
            "Error: Invalid value for '--burst': burst '12': write it N/S, "
            "N writes in any S seconds (e.g. 12/5)",
        ),
        (["--background-load", "1.5"], "Error: Invalid value for '--background-load'"),
        (
            ["--background-load", "0.3"],
            "Error: background_load needs a rate_limit (--rate-limit N): "
            "it is a share of that budget",
        ),
    ],
)
def test_unusable_command_options_are_one_line_and_exit_2(options: list, message: str) -> None:
    result = CliRunner().invoke(main, ["sandbox", *options])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(message)
