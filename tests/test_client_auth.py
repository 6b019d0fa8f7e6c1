"""Where to send and as whom: the API URL, the credentials and their file (pure), and the access
token's life against scripted answers (``scripted_client``), each token path once against the
sandbox end to end.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from importer.core.errors import AuthError, ConfigError, RunStopped
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.auth import MAX_REFUSALS, Credentials, Settings, check_api_url, read_settings
from importer.send.client import HelpScoutClient
from importer.send.pacing import Pacer
from importer.send.scripted import ScriptedTransport, answer
from importer.send.transport import NotSent, Request, RetryPolicy, TimedOut

FAST = RetryPolicy(max_attempts=8, base=0.005)
Scripted = Callable[..., tuple[HelpScoutClient, ScriptedTransport]]
TOKEN_URL = "https://api.scripted.test/v2/oauth2/token"
HINT = "check HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET (Help Scout: Your Profile > My Apps)"


def client_of(box: Sandbox, **options: Any) -> HelpScoutClient:
    options.setdefault("retry", FAST)
    return HelpScoutClient(box.url, Credentials(box.app_id, box.app_secret), **options)


def token(value: str = "t0ken", expires_in: Any = 172800) -> tuple[int, dict[str, str], Any]:
    return answer(200, {"access_token": value, "expires_in": expires_in})


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


# --- the credentials file ------------------------------------------------------------------
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


# --- the token, scripted -------------------------------------------------------------------
DOWN = ("Help Scout's sign-in is failing (the credentials were not refused); the same command "
        "resumes once it answers")  # fmt: skip


@pytest.mark.parametrize(
    "script, raised, message, fetched",
    [
        # a token after a 5xx: the call goes on
        ([answer(503), token(), answer(201)], None, None, 2),
        # the endpoint failing max_attempts times stops the run, naming it, not the credentials
        ([answer(503)] * 2, RunStopped, f"the token endpoint {TOKEN_URL} answered HTTP 503 "
         f"Service Unavailable, 2 tries in a row: {DOWN}", 2),
        ([answer(429, {"message": "API rate limit exceeded"})] * 2, RunStopped,
         f"the token endpoint {TOKEN_URL} answered HTTP 429 API rate limit exceeded, 2 tries in "
         f"a row: {DOWN}", 2),
        ([NotSent("cannot connect to api.scripted.test:443"), TimedOut("no answer within 30 s")],
         RunStopped, f"the token endpoint {TOKEN_URL} gave no answer (no answer within 30 s), 2 "
         f"tries in a row: {DOWN}", 2),
        # refused credentials, at once
        ([answer(401, {"error": "invalid_client", "error_description": "Bad client credentials"})],
         AuthError, f"HTTP 401 Bad client credentials: {HINT}", 1),
        # something that is not Help Scout's token endpoint
        ([answer(200, "<html>hi</html>", Content_Type="text/html")], AuthError,
         f"HTTP 200 OK, but {TOKEN_URL} answered something that is not an access token: check "
         "the API URL (Help Scout's is https://api.helpscout.net)", 1),
        ([token("a\r\nX-Injected: 1")], AuthError, f"HTTP 200 {TOKEN_URL} answered an access "
         "token that cannot be one (it holds characters a token cannot have, such as a line "
         "break): check the API URL (Help Scout's is https://api.helpscout.net)", 1),
        ([answer(302, Location="http://elsewhere.example/token")], AuthError,
         "HTTP 302 Found: Help Scout's API does not redirect, and this answer pointed to "
         "http://elsewhere.example/token: not followed, nothing was sent there; check the API "
         f"URL ({TOKEN_URL})", 1),
    ],
)  # fmt: skip
async def test_what_the_token_endpoint_answers(
    scripted_client: Scripted, script: list[Any], raised: type | None, message: str, fetched: int
) -> None:
    client, transport = scripted_client(script, tokens=False, retry=RetryPolicy(2, base=0.001))
    async with client:
        if raised is None:
            assert (await client.create_customer({"firstName": "Ann"})).status == 201
        else:
            with pytest.raises(raised) as caught:
                await client.create_customer({"firstName": "Ann"})
            assert str(caught.value) == message
            assert caught.value.exit_code == 3
    assert client.token_requests == fetched
    assert transport.paths().count("/v2/customers") == (raised is None)


async def test_a_fresh_token_refused_at_once_stops_the_run(scripted_client: Scripted) -> None:
    revoked = answer(
        401, {"error": "invalid_token", "error_description": "The access token was revoked"}
    )
    client, _ = scripted_client(lambda request: revoked)
    async with client:
        with pytest.raises(AuthError) as caught:
            await client.create_customer({"firstName": "Ann"})
    assert caught.value.exit_code == 3
    assert client.token_requests == 2
    assert str(caught.value) == (
        f"HTTP 401 The access token was revoked; refused twice in a row: {HINT}"
    )


async def test_a_refused_access_token_without_app_credentials(scripted_client: Scripted) -> None:
    client, _ = scripted_client(
        [answer(401, {"error": "invalid_token"})],
        credentials=Credentials(access_token="expired-t0ken"),
    )
    async with client:
        with pytest.raises(AuthError, match="HELPSCOUT_ACCESS_TOKEN has expired") as caught:
            await client.create_customer({"firstName": "Ann"})
    assert "expired-t0ken" not in str(caught.value)
    assert "the access token was refused" in str(caught.value)
    assert "twice" not in str(caught.value)  # it was refused once: nothing else to try
    assert client.token_requests == 0


async def test_tokens_are_taken_after_pacing_so_a_short_lived_one_never_leaves_expired(
    scripted_client: Scripted,
) -> None:
    """Tokens that live 0.1 s, and 12 creates: 9 leave at once (the pacer's burst), then one
    every 0.1 s, waiting in the pacer longer than a token lives; yet each leaves with a live
    token (a new one fetched before the old one dies), where a token older than its life would
    be refused."""
    issued: dict[str, float] = {}
    refused: list[str] = []

    def script(request: Request) -> tuple[int, dict[str, str], Any]:
        now = asyncio.get_running_loop().time()
        if request.url == TOKEN_URL:
            issued[value := f"t{len(issued)}"] = now
            return token(value, expires_in=0.1)
        value = request.headers["Authorization"].removeprefix("Bearer ")
        if now - issued[value] > 0.1:
            refused.append(value)
            return answer(401, {"error": "invalid_token"})
        return answer(201, Resource_ID="7")

    client, _ = scripted_client(script, tokens=False, pacer=Pacer(1200))
    async with client:
        replies = await asyncio.gather(*(client.create_customer({"n": i}) for i in range(12)))
    assert [(r.status, r.attempts) for r in replies] == [(201, 1)] * 12
    assert refused == []
    assert 2 <= len(issued) == client.token_requests <= 4


async def test_a_request_whose_tokens_keep_being_refused_stops_after_max_refusals(
    scripted_client: Scripted,
) -> None:
    """Creates are refused with every token while reads succeed with it: each 401 fetches a
    new token, and after MAX_REFUSALS of them the run stops instead of looping for ever."""
    refusals: list[str] = []

    async def script(request: Request) -> tuple[int, dict[str, str], Any]:
        if request.method == "GET":
            return answer(200, {})
        await asyncio.sleep(0.01)  # a read succeeds with the new token meanwhile
        refusals.append(request.headers["Authorization"])
        return answer(401, {"error": "invalid_token"})

    client, _ = scripted_client(script)
    async with client:
        creating = asyncio.ensure_future(client.create_customer({"firstName": "Ann"}))
        while not creating.done():
            await client.request("GET", "/v2/customer-properties")
            await asyncio.sleep(0.002)
        with pytest.raises(AuthError, match=f"{MAX_REFUSALS} access tokens in a row") as caught:
            await creating
    assert caught.value.exit_code == 3
    assert len(refusals) == len(set(refusals)) == MAX_REFUSALS
    assert client.token_requests == MAX_REFUSALS


async def test_nothing_secret_in_reprs(scripted_client: Scripted) -> None:
    client, _ = scripted_client([answer(201)])
    async with client:
        await client.create_customer({"firstName": "Ann"})
    shown = repr(client) + repr(client.credentials) + repr(client.tokens)
    assert "app-s3cret" not in shown and "scripted-1" not in shown


# --- the token, end to end -----------------------------------------------------------------
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


async def test_a_token_that_dies_mid_run_is_fetched_once_per_death(
    person: Callable[..., dict[str, Any]],
) -> None:
    """Tokens die 0.1 s after issue whatever expires_in says: one new token per dead one."""
    refused: set[str] = set()

    async def answered(session: Any, context: Any, params: Any) -> None:
        if params.response.status == 401:
            refused.add(params.response.request_info.headers["Authorization"])

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(answered)
    config = SandboxConfig(token_revoke_after=0.1, latency_ms=20, jitter_ms=10)
    async with Sandbox(config) as box, client_of(box, trace_configs=[trace]) as client:
        for _ in range(8):
            await asyncio.gather(*(client.create_customer(person(i)) for i in range(12)))
    assert len(box.state.customers) == 96
    assert len(refused) >= 2
    assert box.state.tokens_issued == client.token_requests == 1 + len(refused)


async def test_wrong_app_credentials(person: Callable[..., dict[str, Any]]) -> None:
    async with Sandbox() as box:
        client = HelpScoutClient(box.url, Credentials(box.app_id, "not-the-s3cret"), retry=FAST)
        async with client:
            with pytest.raises(AuthError) as caught:
                await client.create_customer(person(1))
    assert str(caught.value) == f"HTTP 401 Bad client credentials: {HINT}"
    assert client.token_requests == 1


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
