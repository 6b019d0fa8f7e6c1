"""The seam between the client and the network: one request out, one answer (or a failure) back.

A :class:`Transport` has one method, ``send``: it gives the answer's status, headers and body
(at most ``max_body`` bytes, decompressed), or raises what the retry logic tells apart:
:class:`NotSent` (refused before anything left: safe to send again), :class:`Lost` (the request
may have reached the server) or :class:`TimedOut` (no answer in time, maybe done), and
:class:`~importer.core.errors.CertificateError` (a TLS certificate refused: nothing was sent).
It never follows a redirect. :class:`AiohttpTransport` is the real one; tests (the project's and
yours) script answers with :class:`~importer.send.scripted.ScriptedTransport`.

:class:`Exchanger` wraps a transport for the client and the token keeper: it adds the headers,
redacts and parses each body, and tells ``on_exchange`` of every request (:class:`Exchange`:
no header, body or query string). :class:`RetryPolicy` and :func:`api_error` are what both
make of the answers.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NamedTuple, Protocol

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from importer.core.errors import ApiError, CertificateError, ConfigError, FieldError
from importer.core.options import MAX_ATTEMPTS, REQUEST_TIMEOUT
from importer.core.redact import redact, redact_bytes

NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
#: Seconds to open a connection (part of the request's time).
CONNECT_TIMEOUT = 10.0
#: Bytes of an answer's body read at most, after decompression (Help Scout's largest, a page of
#: 50 customers with their entries, is well under 1 MB).
MAX_BODY = 2 * 1024 * 1024
#: Limits on an answer's headers: how many, and the bytes of the status line and of one header.
MAX_HEADERS, MAX_HEADER_LINE, MAX_HEADER_FIELD = 100, 8190, 8190


# --- the seam ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """One HTTP request as it leaves (the token, if any, is in ``headers``: never log them)."""

    method: str
    url: str
    headers: Mapping[str, str]
    json: Any = None
    data: Mapping[str, str] | None = None
    """A form (the token request)."""
    params: Mapping[str, str] | None = None


class Answer(NamedTuple):
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class NoAnswer(Exception):
    """A request that got no HTTP answer; ``maybe_done`` when it may have reached the server."""

    maybe_done = True


class NotSent(NoAnswer):
    """Nothing left (no connection): sending again cannot do anything twice."""

    maybe_done = False


class Lost(NoAnswer):
    """The connection broke, or the answer was not HTTP or too large, after the request left."""


class TimedOut(NoAnswer):
    """No answer in time; the request may have been carried out."""


class Transport(Protocol):
    async def send(self, request: Request, *, max_body: int) -> Answer:
        """The answer to ``request``, or :class:`NoAnswer` / CertificateError (see above)."""
        ...


def too_large(status: int, limit: int) -> Lost:
    """The failure for an answer whose body grows past ``limit`` bytes: it is not read."""
    return Lost(f"an answer ({status}) larger than {limit / 1024 / 1024:g} MB: not read")


class AiohttpTransport:
    """The real transport: one aiohttp session, opened and closed with ``async with``.

    ``connections`` bounds the pool; every request ends within ``timeout`` seconds; headers are
    capped by :data:`MAX_HEADERS`, :data:`MAX_HEADER_LINE` and :data:`MAX_HEADER_FIELD`; TLS
    certificates are always verified; aiohttp's exceptions (whose request info carries the
    headers) are not kept.
    """

    def __init__(
        self,
        *,
        connections: int = 16,
        timeout: float = REQUEST_TIMEOUT,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
    ) -> None:
        self._connections = connections
        self._timeout = timeout
        self._trace_configs = trace_configs
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AiohttpTransport:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections),
            timeout=aiohttp.ClientTimeout(
                total=self._timeout, sock_connect=min(self._timeout, CONNECT_TIMEOUT)
            ),
            trace_configs=self._trace_configs,
            raise_for_status=False,
            max_line_size=MAX_HEADER_LINE,
            max_field_size=MAX_HEADER_FIELD,
            max_headers=MAX_HEADERS,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, request: Request, *, max_body: int) -> Answer:
        if self._session is None:
            raise RuntimeError("use the client as 'async with HelpScoutClient(...) as client'")
        try:
            async with self._session.request(
                request.method, request.url, json=request.json, data=request.data,
                params=request.params, headers=dict(request.headers), allow_redirects=False,
            ) as response:  # fmt: skip
                body = await _read_body(response, max_body)
                return Answer(response.status, response.headers, body)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise CertificateError(
                f"the TLS certificate of {exc.host}:{exc.port} was refused "
                f"({_certificate_reason(exc)}): not retried; check the API URL, or give the "
                "machine the certificate authority that signed it (SSL_CERT_FILE)"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise NotSent(f"cannot connect to {exc.host}:{exc.port}") from None
        except TimeoutError:
            raise TimedOut(f"no answer within {self._timeout:g} s") from None
        except aiohttp.ClientResponseError as exc:  # the answer broke HTTP: huge headers...
            reason = redact(str(exc.message))[:200]
            raise Lost(f"an answer that is not HTTP ({reason})") from None
        except aiohttp.ClientError as exc:
            raise Lost(f"connection lost ({type(exc).__name__})") from None


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, read in pieces, decompressed; :func:`too_large` past ``limit`` bytes."""
    parts, size = [], 0
    async for piece in response.content.iter_chunked(64 * 1024):
        size += len(piece)
        if size > limit:
            response.close()  # the connection goes: the rest is never read
            raise too_large(response.status, limit)
        parts.append(piece)
    return b"".join(parts)


def _certificate_reason(exc: aiohttp.ClientConnectorCertificateError) -> str:
    error = exc.certificate_error
    return str(getattr(error, "verify_message", "") or getattr(error, "reason", "") or error)


# --- what the client and the token keeper send through ------------------------------------
@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer, as an observer of the client hears it (``on_exchange``):
    no header, no body, no query string, so neither a token nor a customer's data."""

    sent: float
    """When the request left (seconds since the epoch)."""
    method: str
    path: str
    """The URL's path (``/v2/customers``, ``/v2/oauth2/token``)."""
    status: int
    """The answer's HTTP status; 0 when none came (``error`` says why)."""
    attempt: int
    """1 for a call's first request, 2 for its first re-send..."""
    latency: float
    """Seconds from sending to the answer's last byte (or to giving up)."""
    log_ref: str | None = None
    """Help Scout's ``logRef`` for an error answer, which its support asks for."""
    error: str | None = None


class Exchanger:
    """A transport as the client uses it: JSON in and out, bodies redacted, exchanges told."""

    def __init__(
        self,
        transport: Transport,
        *,
        max_body: int = MAX_BODY,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.transport = transport
        self._max_body = max_body
        self._on_exchange = on_exchange

    async def send(
        self,
        method: str,
        url: str,
        token: str | None,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        redacting: bool = True,
        attempt: int = 1,
    ) -> tuple[int, CIMultiDictProxy[str], Any]:
        """One HTTP exchange: (status, headers, parsed body), or NoAnswer; told to
        ``on_exchange`` either way (``attempt``: which send of its call this is).

        The body is redacted before it is parsed, unless ``redacting`` is False (the token's
        answer, which holds the token: its caller redacts what it keeps)."""
        sent, began = time.time(), time.monotonic()

        def tell(status: int, log_ref: str | None = None, error: str | None = None) -> None:
            if self._on_exchange is not None:
                self._on_exchange(Exchange(sent, method, URL(url).path, status, attempt,
                                           time.monotonic() - began, log_ref, error))  # fmt: skip

        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = Request(method, url, headers, json, data, params)
        try:
            status, answer_headers, raw = await self.transport.send(
                request, max_body=self._max_body
            )
        except NoAnswer as lost:
            tell(0, error=str(lost))
            raise
        body = _parse_body(redact_bytes(raw) if redacting else raw)
        tell(status, log_ref(body))
        return status, answer_headers, body


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


# --- what answers mean ---------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to re-send after a 5xx answer or a lost connection, and
    how many 429s one call waits out before it fails (never retrying for ever)."""

    max_attempts: int = MAX_ATTEMPTS
    base: float = 0.5
    cap: float = 30.0
    max_rate_limited: int = 10

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("--max-attempts must be at least 1")
        if self.max_rate_limited < 1:
            raise ConfigError("max_rate_limited must be at least 1")

    def delay(self, failures: int) -> float:
        """Full jitter: workers that failed together do not come back together."""
        return random.uniform(0, min(self.cap, self.base * 2 ** (failures - 1)))


def api_error(status: int, body: Any) -> ApiError:
    """Help Scout's error body as an ApiError: message, field errors and logRef.

    Both recorded shapes are read: ``_embedded.errors[]`` items with a ``_links`` object (the live
    API) or a ``links`` list (the PHP SDK's fixtures); OAuth errors carry ``error_description``.
    """
    body = body if isinstance(body, dict) else {}
    embedded = body.get("_embedded")
    items = embedded.get("errors") if isinstance(embedded, dict) else None
    fields = [
        FieldError(str(item.get("path") or ""), str(item.get("message") or ""),
                   item.get("rejectedValue"))
        for item in items or ()
        if isinstance(item, dict)
    ]  # fmt: skip
    message = body.get("message") or body.get("error_description") or body.get("error")
    if not isinstance(message, str) or not message:
        message = reason(status)
    return ApiError(status, message, log_ref(body), fields)


def redirect_error(status: int, headers: Mapping[str, str]) -> ApiError:
    """A 3xx as the error it is for an API call: never followed (following one could carry the
    token, or a customer's data, to another host or over plain http)."""
    where = redact(headers.get("Location", "").strip()) or "nowhere"
    return ApiError(
        status,
        f"{reason(status)}: Help Scout's API does not redirect, and this answer pointed to "
        f"{where[:200]}: not followed, nothing was sent there; check the API URL",
    )


def log_ref(body: Any) -> str | None:
    """The ``logRef`` Help Scout puts in an answer (what its support asks for), if any."""
    found = body.get("logRef") if isinstance(body, dict) else None
    return found if isinstance(found, str) else None


def reason(status: int) -> str:
    """The status's phrase (``Not Found``), or ``error`` for one HTTP does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"
