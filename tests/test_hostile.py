"""Hostile servers: real aiohttp servers on 127.0.0.1 that answer what Help Scout never would.

Each test shows a bound holding: a gzip bomb, an endless body, huge headers and a server that never
answers end in a failure with a reason, in bounded memory and time; redirects are not followed;
a token answer that is no token, or a create answered without a usable id, is never taken for
success; the token and the secret a server echoes are written nowhere; a self-signed certificate
is refused, once, with a message saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime
import gzip
import ipaddress
import resource
import sqlite3
import ssl
import threading
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from click.testing import Result

from importer import ImportOptions, import_csv
from importer.core.errors import AuthError, CertificateError, ConfigError
from importer.send.auth import Credentials
from importer.send.client import HelpScoutClient, Reply
from importer.send.ledger import default_state_path
from importer.send.transport import RetryPolicy

FAST = RetryPolicy(max_attempts=2, base=0.01)
APP_ID, APP_SECRET = "hostile-app-id", "s3cret-app-secret-0123456789"
TOKEN = "tok-0123456789abcdefghijklmnopqrstuvwxyz"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- servers ---------------------------------------------------------------------------------
async def token(request: web.Request) -> web.Response:
    return web.json_response({"token_type": "bearer", "access_token": TOKEN, "expires_in": 7200})


def app_of(routes: dict[str, Handler]) -> web.Application:
    """An app answering ``routes`` ("POST /v2/customers": handler), tokens to anyone."""
    app = web.Application()
    app.router.add_post("/v2/oauth2/token", routes.pop("POST /v2/oauth2/token", token))
    for route, handler in routes.items():
        method, path = route.split(" ", 1)
        app.router.add_route(method, path, handler)
    return app


@contextlib.asynccontextmanager
async def serving(routes: dict[str, Handler], *, tls: ssl.SSLContext | None = None
                  ) -> AsyncIterator[str]:  # fmt: skip
    runner = web.AppRunner(app_of(dict(routes)), shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def serving_in_a_thread(routes: dict[str, Handler], **options: Any) -> Iterator[str]:
    """The same, on its own loop in a thread: for CliRunner, whose command runs its own loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    context = serving(routes, **options)
    try:
        yield asyncio.run_coroutine_threadsafe(context.__aenter__(), loop).result(10)
    finally:
        asyncio.run_coroutine_threadsafe(context.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def client_of(url: str, **options: Any) -> HelpScoutClient:
    options.setdefault("retry", FAST)
    return HelpScoutClient(url, Credentials(APP_ID, APP_SECRET), **options)


async def create(url: str, **options: Any) -> Reply:
    async with client_of(url, **options) as client:
        return await client.create_customer({"firstName": "Ann"})


def peak_rss() -> int:
    """This process's peak resident memory so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """256 MB of zeros, gzipped to a quarter of a megabyte."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    return b"".join(squeeze.compress(zeros) for _ in range(256)) + squeeze.flush()


# --- 3: bounded answers ----------------------------------------------------------------------
@pytest.mark.parametrize("status", [201, 400])
async def test_a_gzip_bomb_is_cut_off_not_read(gzip_bomb: bytes, status: int) -> None:
    assert len(gzip_bomb) < 1 << 20 and len(gzip.decompress(gzip_bomb)) == 256 << 20

    async def bomb(request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json",
                   "Resource-ID": "123"}  # fmt: skip
        return web.Response(status=status, body=gzip_bomb, headers=headers)

    before = peak_rss()
    async with serving({"POST /v2/customers": bomb}) as url:
        reply = await create(url)
    assert reply.status == 0 and reply.uncertain  # a create's fate is unknown: looked up after
    assert str(reply.error) == f"an answer ({status}) larger than 2 MB: not read"
    assert peak_rss() - before < 150 * 1024 * 1024  # reading it whole takes 256 MB more


async def test_an_endless_body_is_cut_off_after_the_limit() -> None:
    sent = [0]

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        piece = b"x" * (1 << 16)
        with contextlib.suppress(ConnectionError, RuntimeError):
            while sent[0] < 3 * 1024**3:  # 3 GB, unless the client hangs up
                await response.write(piece)
                sent[0] += len(piece)
        return response

    async with serving({"GET /v2/customers/{id}": endless}) as url:
        async with client_of(url) as client:
            reply = await client.request("GET", "/v2/customers/1")
        await asyncio.sleep(0.05)
    assert (reply.status, reply.attempts, str(reply.error)) == (
        0, 2, "an answer (200) larger than 2 MB: not read"
    )  # fmt: skip
    assert sent[0] < 64 * 1024 * 1024  # the client hung up: the server stopped writing


@pytest.mark.parametrize(
    "headers",
    [{"X-Big": "a" * 20000}, {f"X-Many-{i}": "a" for i in range(300)}],
    ids=["one-huge-header", "too-many-headers"],
)
async def test_huge_headers_are_refused(headers: dict[str, str]) -> None:
    async def big(request: web.Request) -> web.Response:
        return web.Response(status=201, headers={"Resource-ID": "7", **headers})

    async with serving({"POST /v2/customers": big}) as url:
        reply = await create(url)
    assert reply.status == 0 and reply.uncertain
    assert str(reply.error).startswith("an answer that is not HTTP (")


async def test_a_server_that_never_answers_ends_each_request_in_time() -> None:
    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async with serving({"POST /v2/customers": silent, "GET /v2/customers": silent}) as url:
        started = time.monotonic()
        reply = await create(url, timeout=0.3)
        async with client_of(url, timeout=0.3) as client:
            read = await client.request("GET", "/v2/customers")
        took = time.monotonic() - started
    assert (str(reply.error), reply.uncertain) == ("no answer within 0.3 s", True)
    assert (str(read.error), read.attempts) == ("no answer within 0.3 s", 2)
    assert took < 3


def people_csv(tmp_path: Path, rows: int) -> tuple[Path, Path]:
    data, mapping = tmp_path / "in.csv", tmp_path / "m.yaml"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Name", "Email"])
        writer.writerows([f"Ann {i}", f"ann.{i}@example.com"] for i in range(rows))
    mapping.write_text("customer:\n  firstName: Name\n  emails:\n    - {column: Email, type: "
                       "work}\n", encoding="utf-8")  # fmt: skip
    return data, mapping


def ledger_rows(path: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT row, status, customer_id, last_error, log_ref FROM rows "
                          "ORDER BY row").fetchall()  # fmt: skip


def test_an_import_against_a_server_that_never_answers_ends_in_bounded_time(
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
) -> None:
    """Three rows that took 9 minutes: each request and each row has a deadline."""

    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    data, mapping = people_csv(tmp_path, 3)
    results = tmp_path / "results.csv"
    routes = {"POST /v2/customers": silent, "GET /v2/customers": silent,
              "GET /v2/customer-properties": silent}  # fmt: skip
    with serving_in_a_thread(routes) as url:
        started = time.monotonic()
        result = import_csv(
            data, mapping, results,
            ImportOptions(api_url=url, max_attempts=2, request_timeout=0.2, row_timeout=1.0),
            credentials=Credentials(APP_ID, APP_SECRET),
        )  # fmt: skip
        took = time.monotonic() - started
    assert (result.failed, result.created, result.exit_code) == (3, 0, 1)
    assert took < 10
    lines = read_rows(results)
    assert {line["status"] for line in lines} == {"failed"}
    assert all("it may have been created; run the same command" in x["error"] for x in lines)
    kept = ledger_rows(default_state_path(results, mapping, url))
    assert {row[1] for row in kept} == {"in_flight"}


# --- 5: redirects --------------------------------------------------------------------------
async def test_a_redirect_is_not_followed_and_names_where_it_pointed() -> None:
    elsewhere = [0]

    async def other_host(request: web.Request) -> web.Response:
        elsewhere[0] += 1
        return web.Response(status=201, headers={"Resource-ID": "666"})

    async with serving({"POST /v2/customers": other_host}) as plain:
        target = f"{plain}/v2/customers"

        async def moved(request: web.Request) -> web.Response:
            return web.Response(status=307, headers={"Location": target})

        async with serving({"POST /v2/customers": moved}) as url:
            reply = await create(url)
    assert elsewhere == [0]
    assert (reply.status, reply.uncertain, reply.resource_id) == (307, False, None)
    assert str(reply.error) == (
        f"HTTP 307 Temporary Redirect: Help Scout's API does not redirect, and this answer "
        f"pointed to {target}: not followed, nothing was sent there; check the API URL"
    )


async def test_a_redirecting_token_endpoint_is_an_auth_error() -> None:
    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=308, headers={"Location": "http://evil.example/token"})

    async with serving({"POST /v2/oauth2/token": moved, "POST /v2/customers": token}) as url:
        with pytest.raises(AuthError) as caught:
            await create(url)
    assert caught.value.status == 308
    assert "pointed to http://evil.example/token: not followed" in str(caught.value)


def test_a_run_behind_a_redirect_creates_nobody_there(
    read_rows: Callable[[Path], list[dict[str, str]]], tmp_path: Path
) -> None:
    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": "http://evil.example/v2/customers"})

    data, mapping = people_csv(tmp_path, 2)
    results = tmp_path / "results.csv"
    with serving_in_a_thread({"POST /v2/customers": moved}) as url:
        result = import_csv(data, mapping, results, ImportOptions(api_url=url),
                            credentials=Credentials(APP_ID, APP_SECRET))  # fmt: skip
    assert (result.created, result.failed, result.exit_code) == (0, 2, 1)
    assert [(x["status"], x["http_status"], x["customer_id"]) for x in read_rows(results)] == [
        ("failed", "307", "")
    ] * 2


# --- 6: the token answer -------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer",
    [
        {"access_token": "abc\r\nX-Injected: 1", "expires_in": 7200},
        {"access_token": "two words", "expires_in": 7200},
        {"access_token": 12345, "expires_in": 7200},
        {"access_token": ["a"], "expires_in": 7200},
    ],
    ids=["crlf", "space", "number", "list"],
)
def test_a_token_that_is_no_token_stops_the_run_with_exit_3(
    tmp_path: Path, answer: dict[str, Any], invoke: Callable[..., Result]
) -> None:
    async def bad_token(request: web.Request) -> web.Response:
        return web.json_response(answer)

    data, mapping = people_csv(tmp_path, 1)
    env = {"HELPSCOUT_APP_ID": APP_ID, "HELPSCOUT_APP_SECRET": APP_SECRET}
    with serving_in_a_thread({"POST /v2/oauth2/token": bad_token}) as url:
        result = invoke("run", data, "-m", mapping, "-o", tmp_path / "r.csv", "--api-url", url,
                        env=env)  # fmt: skip
    assert result.exit_code == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: HTTP 200 {url}/v2/oauth2/token answered an access token that cannot be one "
        "(it holds characters a token cannot have, such as a line break): check the API URL "
        "(Help Scout's is https://api.helpscout.net)"
    ]
    assert "Traceback" not in result.output


def test_an_access_token_with_a_line_break_in_the_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="HELPSCOUT_ACCESS_TOKEN holds characters"):
        Credentials(access_token="abc\ndef")


# --- 7: creates without a usable id --------------------------------------------------------
@pytest.mark.parametrize(
    "answer",
    [
        {"status": 201, "headers": {"Resource-ID": "abc"}},
        {"status": 201, "headers": {"Resource-ID": "12, 13"}},
        {"status": 201, "headers": {"Resource-ID": "0"}},
        {"status": 201},
        {"status": 200, "text": "<html><body>Welcome</body></html>", "content_type": "text/html"},
    ],
    ids=["abc", "two", "zero", "none", "html-page"],
)
def test_a_create_without_a_usable_id_fails_and_is_looked_up_next_run(
    read_rows: Callable[[Path], list[dict[str, str]]], tmp_path: Path, answer: dict[str, Any]
) -> None:
    data, mapping = people_csv(tmp_path, 1)
    results = tmp_path / "results.csv"
    searches = [0]

    async def created(request: web.Request) -> web.Response:
        return web.Response(**answer)

    async def search(request: web.Request) -> web.Response:  # it was created after all: as 77
        searches[0] += 1
        now = datetime.datetime.now(datetime.UTC).isoformat()  # new, and as sent: the row's
        customer = {"id": 77, "firstName": "Ann 0", "createdAt": now,
                    "_embedded": {"emails": [{"value": "ann.0@example.com"}]}}  # fmt: skip
        return web.json_response({"_embedded": {"customers": [customer]},
                                  "page": {"totalPages": 1}})  # fmt: skip

    routes = {"POST /v2/customers": created, "GET /v2/customers": search}
    creds = Credentials(APP_ID, APP_SECRET)
    with serving_in_a_thread(routes) as url:
        first = import_csv(data, mapping, results, ImportOptions(api_url=url), credentials=creds)
        line = read_rows(results)[0]
        kept = ledger_rows(default_state_path(results, mapping, url))
        second = import_csv(data, mapping, results, ImportOptions(api_url=url), credentials=creds)
    assert (first.created, first.failed, first.exit_code, searches[0] >= 1) == (0, 1, 1, True)
    assert (line["status"], line["http_status"], line["customer_id"], line["error"]) == (
        "failed", str(answer["status"]), "",
        "created, but Help Scout sent no usable id: check ann.0@example.com in Help Scout",
    )  # fmt: skip
    assert kept == [(1, "in_flight", None, None, None)]
    assert (second.created, second.failed) == (1, 0)
    assert read_rows(results)[0]["customer_id"] == "77"


# --- 9: redaction ----------------------------------------------------------------------------
def test_a_token_or_secret_the_server_echoes_is_written_nowhere(
    tmp_path: Path, invoke: Callable[..., Result]
) -> None:
    echoes = [0]

    async def echo(request: web.Request) -> web.Response:
        echoes[0] += 1
        said = request.headers["Authorization"]
        body = {"logRef": said, "message": f"Bad request from {said} ({APP_SECRET})",
                "_embedded": {"errors": [{"path": "firstName", "message": said,
                                          "rejectedValue": TOKEN}]}}  # fmt: skip
        status = 400 if echoes[0] == 1 else 403
        return web.json_response(body, status=status)

    data, mapping = people_csv(tmp_path, 3)
    results = tmp_path / "results.csv"
    env = {"HELPSCOUT_APP_ID": APP_ID, "HELPSCOUT_APP_SECRET": APP_SECRET}
    with serving_in_a_thread({"POST /v2/customers": echo}) as url:
        result = invoke("run", data, "-m", mapping, "-o", results, "--api-url", url,
                        "--concurrency", "1", env=env)  # fmt: skip
    assert result.exit_code == 3
    assert echoes[0] == 2  # the 400 failed its row, the 403 stopped the run
    files = [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.iterdir() if p.is_file()]
    written = [result.stdout, result.stderr, *files]
    with contextlib.closing(sqlite3.connect(default_state_path(results, mapping, url))) as db:
        written += [repr(row) for row in db.execute("SELECT * FROM rows")]
    assert not [text for text in written if TOKEN in text or APP_SECRET in text]
    assert "Bearer [redacted]" in result.stderr and "Bearer [redacted]" in results.read_text()


# --- 11: TLS ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 that nobody signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


async def test_a_self_signed_certificate_is_refused_once_and_said_so(
    self_signed: ssl.SSLContext,
) -> None:
    connections = [0]

    async def count(*_: Any) -> None:
        connections[0] += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_start.append(count)
    async with serving({"POST /v2/customers": token}, tls=self_signed) as url:
        with pytest.raises(CertificateError) as caught:
            await create(url, trace_configs=[trace], retry=RetryPolicy(max_attempts=5))
    port = url.rsplit(":", 1)[1]
    assert connections == [1]  # not retried
    assert str(caught.value).startswith(f"the TLS certificate of 127.0.0.1:{port} was refused (")
    assert str(caught.value).endswith(
        "): not retried; check the API URL, or give the machine the certificate authority that "
        "signed it (SSL_CERT_FILE)"
    )
    assert "self-signed" in str(caught.value) or "self signed" in str(caught.value)


def test_a_run_against_a_self_signed_server_stops_with_exit_3(
    read_rows: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
    self_signed: ssl.SSLContext,
    invoke: Callable[..., Result],
) -> None:
    data, mapping = people_csv(tmp_path, 2)
    results = tmp_path / "results.csv"
    env = {"HELPSCOUT_APP_ID": APP_ID, "HELPSCOUT_APP_SECRET": APP_SECRET}
    with serving_in_a_thread({}, tls=self_signed) as url:
        result = invoke("run", data, "-m", mapping, "-o", results, "--api-url", url, env=env)
    assert result.exit_code == 3
    error = next(line for line in result.stderr.splitlines() if line.startswith("Error:"))
    port = url.rsplit(":", 1)[1]
    assert error.startswith(f"Error: the TLS certificate of 127.0.0.1:{port} was refused (")
    assert [x["error"] for x in read_rows(results)] == [
        "not sent: the run stopped; run the same command to resume"
    ] * 2
