"""The Help Scout API client: one session, the access token, pacing, retries, parsed errors.

Every API call goes through :meth:`HelpScoutClient.request`, which

1. takes the call's cost (writes 2, reads 1) from the :class:`~importer.send.pacing.Pacer`, shared
   by the whole run, so the account's per-minute budget is spent evenly and a 429 pauses every
   worker, not just one;
2. sends it with the current token; on 401 one new token is fetched for everyone (single flight),
   and the call is sent again; a fresh token refused at once, or a 403, is an :class:`AuthError`
   that stops the run; a token endpoint that answers 5xx :data:`~importer.core.options.MAX_ATTEMPTS`
   times, or gives no token within :data:`TOKEN_DEADLINE` s, stops it too
   (:class:`~importer.core.errors.RunStopped`, naming the endpoint: the credentials were not
judged); 3. re-sends after 5xx answers and lost connections with exponential backoff and jitter, but
   never re-sends a POST whose fate is unknown (502/504, or the connection lost after sending): Help
   Scout may have created the customer, and sending it again would create a twin. Such a reply is
   ``uncertain``: the caller looks the customer up before sending again (see
   :mod:`importer.send.upload`).

It returns a :class:`Reply` (the last answer, how many sends it took, and the error as an
:class:`~importer.core.errors.ApiError` or :class:`~importer.core.errors.TransportError`): a row's
failure is data for the results file, not an exception. Only what must stop the run raises.

Answers are bounded, whatever the server does: redirects are never followed (a 3xx is an error
naming where it pointed: following one could carry the token, or a customer's data, to another
host or over plain http); a body is read in pieces up to :data:`MAX_BODY` bytes decompressed (a
gzip bomb or an endless body is cut off, not read); headers are capped by :data:`MAX_HEADERS`,
:data:`MAX_HEADER_LINE` and :data:`MAX_HEADER_FIELD`; every request ends within ``timeout``
seconds (:data:`REQUEST_TIMEOUT`). A TLS certificate that fails verification raises
:class:`~importer.core.errors.CertificateError`, which stops the run: sending again cannot fix it.

Secrets stay inside: credentials and tokens never appear in a repr, a message or a log line, and
aiohttp's exceptions (whose request info carries the headers) are not kept. Every token and the
app secret are registered with :mod:`importer.core.redact`, and every answer's body is redacted
before it is parsed, so nothing a server echoes (``Authorization: Bearer ...`` in a 401's body)
reaches an error message, a results cell or the ledger. A token answer whose ``access_token`` is not
a token (RFC 6750 characters only: no CR, LF or spaces) is an
:class:`~importer.core.errors.AuthError`.

``on_exchange`` hears every HTTP request the client sends (API calls, their re-sends, token
requests) as an :class:`Exchange`: method, path, status, attempt, latency, logRef; never a header,
a body or a query string (``run --log-file`` writes them, :mod:`importer.send.requestlog`).
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import json
import math
import os
import random
import re
import time
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from importer.core.errors import (
    ApiError,
    AuthError,
    CertificateError,
    ConfigError,
    FieldError,
    RateLimitError,
    RunStopped,
    TransportError,
)
from importer.core.options import DEFAULT_API_URL, MAX_ATTEMPTS, REQUEST_TIMEOUT
from importer.core.redact import redact, redact_bytes, register
from importer.customer import schema
from importer.send.pacing import Pacer, request_cost

TOKEN_PATH = "/v2/oauth2/token"
CREDENTIALS_HINT = (
    "check HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET (Help Scout: Your Profile > My Apps)"
)
NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
#: Seconds the token endpoint may take to give a token, re-sends included: then the run stops.
TOKEN_DEADLINE = 60.0
#: Seconds to open a connection (part of the request's time).
CONNECT_TIMEOUT = 10.0
#: Bytes of an answer's body read at most, after decompression (Help Scout's largest, a page of
#: 50 customers with their entries, is well under 1 MB).
MAX_BODY = 2 * 1024 * 1024
#: Limits on an answer's headers: how many, and the bytes of the status line and of one header.
MAX_HEADERS, MAX_HEADER_LINE, MAX_HEADER_FIELD = 100, 8190, 8190
#: An access token as RFC 6750 writes it (``b64token``): anything else cannot go in a header.
TOKEN_SYNTAX = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: The largest customer id a Resource-ID may carry: a signed 64-bit integer.
MAX_ID = 2**63 - 1


# --- where to send, and as whom --------------------------------------------------------------
def check_api_url(url: str) -> str:
    """The API's base URL, refused unless it is https or plain http to this machine."""
    try:
        parsed = URL(url.strip())
    except ValueError as exc:  # a broken [IPv6] host, a port out of range: not echoed (secrets)
        raise ConfigError(
            f"not a usable API URL: {exc}; give one like https://api.helpscout.net"
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(
            f"API URL {url!r} is not a web address: give one like https://api.helpscout.net"
        )
    if parsed.user or parsed.password:
        raise ConfigError("the API URL must not carry credentials: set them in the environment")
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise ConfigError(
            f"refusing plain http to {parsed.host}: the token would cross the network unencrypted; "
            "use https:// (plain http is only allowed to 127.0.0.1, ::1 or localhost)"
        )
    return str(parsed.with_query(None).with_fragment(None)).rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Credentials:
    """An app's id and secret (tokens are fetched as needed), a ready access token, or both.

    The secret and the token are left out of the repr, so they cannot leak through a log line.
    """

    app_id: str | None = None
    app_secret: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if bool(self.app_id) != bool(self.app_secret):
            missing = "HELPSCOUT_APP_SECRET" if self.app_id else "HELPSCOUT_APP_ID"
            raise ConfigError(f"{missing} is not set: the app id and secret go together")
        if not self.app_id and not self.access_token:
            raise ConfigError(
                "no credentials: set HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET (Help Scout: Your "
                "Profile > My Apps), or HELPSCOUT_ACCESS_TOKEN, in the environment or in a file "
                "that HELPSCOUT_CREDENTIALS_FILE names"
            )
        if self.access_token and not TOKEN_SYNTAX.fullmatch(self.access_token):
            raise ConfigError(
                "HELPSCOUT_ACCESS_TOKEN holds characters an access token cannot have (a line "
                "break or a space?): set it to the token alone"
            )
        register(self.app_secret)
        register(self.access_token)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``HELPSCOUT_APP_ID``/``HELPSCOUT_APP_SECRET`` and ``HELPSCOUT_ACCESS_TOKEN``
        from the environment and the file ``HELPSCOUT_CREDENTIALS_FILE`` names
        (:func:`read_settings`)."""
        return cls.from_settings(read_settings(environ).values)

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> Credentials:
        """The credentials among ``values`` (:attr:`Settings.values`)."""
        return cls(
            values.get("HELPSCOUT_APP_ID") or None,
            values.get("HELPSCOUT_APP_SECRET") or None,
            values.get("HELPSCOUT_ACCESS_TOKEN") or None,
        )

    @property
    def can_fetch_tokens(self) -> bool:
        return bool(self.app_id and self.app_secret)


#: The variables a credentials file may set: the documented ones, and the sandbox's printed
#: refresh token (so its ``export`` lines can be pasted into a file as they are; not read).
SETTINGS = ("HELPSCOUT_API_URL", "HELPSCOUT_APP_ID", "HELPSCOUT_APP_SECRET",
            "HELPSCOUT_ACCESS_TOKEN", "HELPSCOUT_REFRESH_TOKEN")  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """Where to send and as whom, from the environment and the credentials file."""

    values: dict[str, str]
    """The :data:`SETTINGS` given (empty ones left out)."""
    warnings: tuple[str, ...] = ()
    """What to tell the user (a credentials file others can read)."""


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The environment's :data:`SETTINGS`, and those of the file ``HELPSCOUT_CREDENTIALS_FILE``
    names (for a cron job whose environment should not carry the secret).

    The file is explicit, so it is not silently overridden: a name set in both with different
    values is refused (one line naming the variable and the file's line), as is a name the
    importer does not read (a typo would otherwise be ignored). A file that group or others may
    read is used with a warning, as ssh warns of a key file.
    """
    env = os.environ if environ is None else environ
    values = {name: env[name] for name in SETTINGS if env.get(name)}
    path = env.get("HELPSCOUT_CREDENTIALS_FILE")
    if not path:
        return Settings(values)
    warnings = []
    for number, name, value in read_env_file(path):
        where = f"HELPSCOUT_CREDENTIALS_FILE {path}, line {number}"
        if name not in SETTINGS:
            raise ConfigError(
                f"{where}: {name[:40]!r} is not a variable the importer reads (it reads "
                f"{', '.join(SETTINGS[:4])}): correct or remove the line"
            )
        if values.get(name, value) != value:
            raise ConfigError(
                f"{where}: {name} is also set in the environment, to another value: unset it "
                "there (or take it out of the file), so that one place says where to send"
            )
        if value:
            values[name] = value
    mode = os.stat(path).st_mode
    if mode & 0o077:
        warnings.append(
            f"HELPSCOUT_CREDENTIALS_FILE {path} can be read by others (mode {mode & 0o777:o}): "
            f"make it readable by its owner only: chmod 600 {path}"
        )
    return Settings(values, tuple(warnings))


def read_env_file(path: str) -> list[tuple[int, str, str]]:
    """``NAME=value`` lines (``export`` and quotes allowed, ``#`` comments) as
    ``(line number, name, value)``.

    Errors name the file and line but never echo a line: it may hold the secret.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"HELPSCOUT_CREDENTIALS_FILE {path}: cannot be read: {reason}") from None
    found = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.removeprefix("export ").partition("=")
        if not sep or not name.strip():
            raise ConfigError(
                f"HELPSCOUT_CREDENTIALS_FILE {path}, line {number}: write NAME=value, "
                "like HELPSCOUT_APP_ID=..."
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found.append((number, name.strip(), value))
    return found


# --- answers -------------------------------------------------------------------------------
def token_endpoint_down(url: str, what: str, tries: int) -> str:
    """Why a run stops when the token endpoint fails (not the credentials: it never judged
    them)."""
    return (
        f"the token endpoint {url} {what}, {tries} {'try' if tries == 1 else 'tries'} in a row: "
        "Help Scout's sign-in is failing (the credentials were not refused); the same command "
        "resumes once it answers"
    )


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
        message = _reason(status)
    return ApiError(status, message, _log_ref(body), fields)


def _log_ref(body: Any) -> str | None:
    """The ``logRef`` Help Scout puts in an answer (what its support asks for), if any."""
    log_ref = body.get("logRef") if isinstance(body, dict) else None
    return log_ref if isinstance(log_ref, str) else None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


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


def redirect_error(status: int, headers: Mapping[str, str]) -> ApiError:
    """A 3xx as the error it is for an API call: never followed (see the module's docstring)."""
    where = redact(headers.get("Location", "").strip()) or "nowhere"
    return ApiError(
        status,
        f"{_reason(status)}: Help Scout's API does not redirect, and this answer pointed to "
        f"{where[:200]}: not followed, nothing was sent there; check the API URL",
    )


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, read in pieces, decompressed; _NoAnswer when it grows past ``limit`` bytes."""
    parts, size = [], 0
    async for piece in response.content.iter_chunked(64 * 1024):
        size += len(piece)
        if size > limit:
            response.close()  # the connection goes: the rest is never read
            raise _NoAnswer(
                f"an answer ({response.status}) larger than {limit / 1024 / 1024:g} MB: not read",
                maybe_done=True,
            )
        parts.append(piece)
    return b"".join(parts)


def _certificate_reason(exc: aiohttp.ClientConnectorCertificateError) -> str:
    error = exc.certificate_error
    return str(getattr(error, "verify_message", "") or getattr(error, "reason", "") or error)


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


class _NoAnswer(Exception):
    """A request that got no HTTP answer; ``maybe_done`` when it may have reached the server."""

    def __init__(self, message: str, *, maybe_done: bool) -> None:
        super().__init__(message)
        self.maybe_done = maybe_done


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


#: Statuses after which a POST may have done its work: it is not re-sent.
UNSURE_STATUSES = frozenset({502, 504})
#: 401s in a row one request accepts, each answered with a new token, before the run stops.
MAX_REFUSALS = 6


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

    ``connections`` bounds the pool (keep it at the uploader's concurrency or a little above).
    TLS certificates are always verified.
    """

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        credentials: Credentials | None = None,
        *,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
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
        self.token_requests = 0
        self._connections = connections
        self._timeout = timeout
        self._max_body = max_body
        self._trace_configs = trace_configs
        self._on_exchange = on_exchange
        self._session: aiohttp.ClientSession | None = None
        self._token = self.credentials.access_token
        self._generation = 0
        self._expires_at = math.inf
        self._trusted = False
        self._after_401 = False
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<HelpScoutClient {self.api_url}>"

    async def __aenter__(self) -> HelpScoutClient:
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
                token, generation = await self._current_token()
            except BaseException:
                self.pacer.withdraw(ticket)
                raise
            sends += 1
            self.requests += 1
            if (counting := _sends.get()) is not None:
                counting.count += 1
            try:
                status, headers, body = await self._send(
                    method, url, token, json=json, params=params, attempt=sends
                )
            except CertificateError:
                self.pacer.withdraw(ticket)
                self.requests -= 1  # refused before anything was sent
                if counting is not None:
                    counting.count -= 1
                raise
            except _NoAnswer as lost:
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
                await self._token_refused(generation, body, refusals)
                continue
            refusals = 0
            if generation == self._generation:
                self._trusted = True
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

    async def _send(
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
        """One HTTP exchange: (status, headers, parsed body), or _NoAnswer; told to
        ``on_exchange`` either way (``attempt``: which send of its call this is).

        The body is redacted before it is parsed, unless ``redacting`` is False (the token's
        answer, which holds the token: its caller redacts what it keeps). Raises
        CertificateError when the server's TLS certificate is refused (nothing was sent)."""
        sent, began = time.time(), time.monotonic()

        def tell(status: int, log_ref: str | None = None, error: str | None = None) -> None:
            if self._on_exchange is not None:
                self._on_exchange(Exchange(sent, method, URL(url).path, status, attempt,
                                           time.monotonic() - began, log_ref, error))  # fmt: skip

        try:
            status, answer_headers, raw = await self._exchange(
                method, url, token, json=json, data=data, params=params
            )
        except _NoAnswer as lost:
            tell(0, error=str(lost))
            raise
        body = _parse_body(redact_bytes(raw) if redacting else raw)
        tell(status, _log_ref(body))
        return status, answer_headers, body

    async def _exchange(
        self,
        method: str,
        url: str,
        token: str | None,
        *,
        json: Any,
        data: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        if self._session is None:
            raise RuntimeError("use the client as 'async with HelpScoutClient(...) as client'")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session.request(
                method, url, json=json, data=data, params=params, headers=headers,
                allow_redirects=False,
            ) as response:  # fmt: skip
                status, answer_headers = response.status, response.headers
                raw = await _read_body(response, self._max_body)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise CertificateError(
                f"the TLS certificate of {exc.host}:{exc.port} was refused "
                f"({_certificate_reason(exc)}): not retried; check the API URL, or give the "
                "machine the certificate authority that signed it (SSL_CERT_FILE)"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise _NoAnswer(f"cannot connect to {exc.host}:{exc.port}", maybe_done=False) from None
        except TimeoutError:
            raise _NoAnswer(f"no answer within {self._timeout:g} s", maybe_done=True) from None
        except aiohttp.ClientResponseError as exc:  # the answer broke HTTP: huge headers...
            reason = redact(str(exc.message))[:200]
            raise _NoAnswer(f"an answer that is not HTTP ({reason})", maybe_done=True) from None
        except aiohttp.ClientError as exc:
            raise _NoAnswer(f"connection lost ({type(exc).__name__})", maybe_done=True) from None
        return status, answer_headers, raw

    # --- the token ---
    async def _current_token(self) -> tuple[str | None, int]:
        if self._token is None or asyncio.get_running_loop().time() >= self._expires_at:
            await self._refresh(self._generation, after_401=False)
        return self._token, self._generation

    async def _token_refused(self, generation: int, body: Any, refusals: int) -> None:
        """A 401 (the ``refusals``-th in a row for one request): one new token for everyone,
        unless this one is fresh and was refused at once, or tokens keep dying under the
        request (MAX_REFUSALS): either would otherwise loop for ever."""
        error = api_error(401, body)
        if not self.credentials.can_fetch_tokens:
            raise AuthError(
                401,
                f"{error.message}: the access token was refused (HELPSCOUT_ACCESS_TOKEN has "
                "expired or was revoked): set a new one, or set HELPSCOUT_APP_ID and "
                "HELPSCOUT_APP_SECRET so the importer can fetch its own",
                error.log_ref,
            )
        if refusals >= MAX_REFUSALS:
            raise AuthError(
                401,
                f"{error.message}; {refusals} access tokens in a row were refused for one "
                f"request: {CREDENTIALS_HINT}",
                error.log_ref,
            )
        if generation != self._generation:
            return  # someone fetched a new token since this request left: just send it again
        if self._after_401 and not self._trusted:
            raise AuthError(
                401, f"{error.message}; refused twice in a row: {CREDENTIALS_HINT}", error.log_ref
            )
        await self._refresh(generation, after_401=True)

    async def _refresh(self, generation: int, *, after_401: bool) -> None:
        async with self._token_lock:
            if generation != self._generation:
                return  # another request refreshed while this one waited for the lock
            token, lifetime = await self._fetch_token()
            loop = asyncio.get_running_loop()
            self._token, self._generation = token, generation + 1
            self._expires_at = loop.time() + lifetime - min(60.0, lifetime / 10)
            self._trusted, self._after_401 = False, after_401

    async def _fetch_token(self) -> tuple[str, float]:
        """OAuth2 client credentials: (access token, seconds it lives)."""
        creds = self.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.app_id or "",
            "client_secret": creds.app_secret or "",
        }
        url = self.api_url + TOKEN_PATH
        failures = 0
        deadline = asyncio.get_running_loop().time() + TOKEN_DEADLINE
        while True:
            self.token_requests += 1
            left = deadline - asyncio.get_running_loop().time()
            try:
                async with asyncio.timeout(max(left, 0.001)):
                    status, headers, body = await self._send(
                        "POST", url, None, data=form, redacting=False, attempt=failures + 1
                    )
            except (_NoAnswer, TimeoutError) as lost:
                failures += 1
                if failures >= self.retry.max_attempts or left <= self.retry.delay(failures):
                    why = lost if isinstance(lost, _NoAnswer) else f"no answer in {left:.0f} s"
                    what = f"gave no answer ({why})"
                    raise RunStopped(token_endpoint_down(url, what, failures)) from None
            else:
                if status == 200 and isinstance(body, dict) and body.get("access_token"):
                    token = body["access_token"]
                    if not isinstance(token, str) or not TOKEN_SYNTAX.fullmatch(token):
                        raise AuthError(
                            status,
                            f"{url} answered an access token that cannot be one (it holds "
                            "characters a token cannot have, such as a line break): check the "
                            f"API URL (Help Scout's is {DEFAULT_API_URL})",
                        )
                    register(token)
                    return token, _lifetime(body.get("expires_in"))
                body = _redacted(body)  # no token in it: what it says may be kept
                if 300 <= status < 400:
                    raise AuthError(status, f"{redirect_error(status, headers).message} "
                                            f"({url})")  # fmt: skip
                if 200 <= status < 300:  # not Help Scout's token endpoint: the URL is wrong
                    raise AuthError(
                        status,
                        f"{_reason(status)}, but {url} answered something that is not an "
                        f"access token: check the API URL (Help Scout's is {DEFAULT_API_URL})",
                    )
                failures += 1
                error = api_error(status, body)
                if status < 500 and status != 429:  # 429: the budget, not the credentials
                    raise AuthError(status, f"{error.message}: {CREDENTIALS_HINT}", error.log_ref)
                if failures >= self.retry.max_attempts:
                    raise RunStopped(token_endpoint_down(url, f"answered {error}", failures))
            await asyncio.sleep(self.retry.delay(failures))

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
        return _embedded(reply.body, "customer-properties")


# --- bringing a customer up to date ----------------------------------------------------------
#: The customer's own fields (what ``PATCH /v2/customers/{id}`` changes); ``phone`` only adds a
#: phone entry.
OWN_FIELDS = schema.OWN_FIELDS
#: Fields Help Scout answers in its own case ("Male" for "male").
CASELESS = frozenset({"gender", "photoType"})
ENTRY_ENDPOINTS = schema.ENTRY_PATHS
#: Pages of one search read at most (50 a page).
MAX_PAGES = 1000
#: Reads an update may start from (see ``HelpScoutClient.update_from``).
UPDATE_ROUNDS = 3


@dataclass(frozen=True)
class Change:
    """One request that brings part of a customer up to date."""

    what: str
    """What it changes: the own fields' names, ``properties``, ``emails``..., ``address``."""
    method: str
    path: str
    """Under ``/v2/customers/{id}``."""
    body: Any


@dataclass
class Update:
    """What bringing one customer up to date did and took."""

    changed: list[str]
    """What changed (see ``Change.what``); empty when Help Scout held it all already."""
    attempts: int
    status: int
    """The last HTTP status (0: no answer)."""
    error: ApiError | TransportError | None = None


def changes_for(customer: Mapping[str, Any], payload: Mapping[str, Any]) -> list[Change]:
    """The requests that make ``customer`` (as GET answers it) hold what ``payload`` says.

    Only what the payload gives is compared: a field the row leaves empty stays as Help Scout has
    it (an empty cell means "absent", never "erase"), which is why own fields change by JSON Patch
    and not by PUT (which nulls every field left out). Entries (emails, phones...) the customer
    lacks are added one by one; those it has beyond the row's are kept. A differing address is
    replaced whole.
    """
    changes: list[Change] = []
    own = {
        name: payload[name]
        for name in OWN_FIELDS
        if name in payload and not _same(customer.get(name), payload[name], name in CASELESS)
    }
    if own:
        ops = [{"op": "replace", "path": f"/{name}", "value": v} for name, v in own.items()]
        changes.append(Change(", ".join(own), "PATCH", "", ops))
    embedded = customer.get("_embedded")
    if not isinstance(embedded, dict):
        embedded = {}
    held = {p.get("slug"): p.get("value") for p in _embedded(customer, "properties")}
    properties = {
        slug: value
        for slug, value in (payload.get("properties") or {}).items()
        if slug not in held or _text(held[slug]) != _text(value)
    }
    if properties:
        ops = [{"op": "replace", "path": f"/{slug}", "value": v} for slug, v in properties.items()]
        changes.append(Change("properties", "PATCH", "/properties", ops))
    wanted = {name: list(payload.get(name) or ()) for name in ENTRY_ENDPOINTS}
    if payload.get("phone"):
        phone_type = schema.ENTRIES["phones"].default_type
        wanted["phones"].append({"type": phone_type, "value": payload["phone"]})
    for name, (key, segment) in ENTRY_ENDPOINTS.items():
        have = {_entry_text(name, e.get("value")) for e in _embedded(customer, key)}
        for item in wanted[name]:
            value = _entry_text(name, item.get("value"))
            if value not in have:
                have.add(value)
                changes.append(Change(name, "POST", f"/{segment}", dict(item)))
    address, current = payload.get("address"), embedded.get("address")
    if address and (
        not isinstance(current, dict) or any(current.get(k) != v for k, v in address.items())
    ):
        changes.append(Change("address", "PUT" if current else "POST", "/address", address))
    return changes


#: What Help Scout holds in a field nobody set (``"gender": "Unknown"``, ``"photoUrl": ""``).
UNSET = frozenset({"", "unknown"})
#: Fields Help Scout fills itself (a Gravatar found for the email): nobody's addition.
SET_BY_HELP_SCOUT = frozenset({"photoType", "photoUrl"})


def additions(customer: Mapping[str, Any], payload: Mapping[str, Any]) -> list[str]:
    """What ``customer`` (as ``GET`` answers it) holds that ``payload`` did not give: own
    fields, entries (``phones``...), properties (by slug), an address; a field at Help Scout's
    default (:data:`UNSET`, null), or one it fills itself (:data:`SET_BY_HELP_SCOUT`), is
    nobody's. The other half of "unchanged since created", with
    :func:`changes_for`: an agent who fills a field the import left empty changes no value sent.
    """
    added = [
        name
        for name in OWN_FIELDS
        if name not in payload and name not in SET_BY_HELP_SCOUT
        if str(customer.get(name) or "").strip().lower() not in UNSET
    ]
    sent = {name: {_entry_text(name, e.get("value")) for e in payload.get(name) or ()}
            for name in ENTRY_ENDPOINTS}  # fmt: skip
    if payload.get("phone"):
        sent["phones"].add(_entry_text("phones", payload["phone"]))
    for name, (key, _) in ENTRY_ENDPOINTS.items():
        held = {_entry_text(name, e.get("value")) for e in _embedded(customer, key)}
        if held - sent[name]:
            added.append(name)
    given = payload.get("properties") or {}
    added += [
        str(p.get("slug"))
        for p in _embedded(customer, "properties")
        if p.get("slug") not in given and p.get("value") not in (None, "")
    ]
    embedded = customer.get("_embedded")
    address = embedded.get("address") if isinstance(embedded, dict) else None
    if address and not payload.get("address"):
        added.append("address")
    return added


def _same(held: Any, wanted: Any, caseless: bool) -> bool:
    if caseless and isinstance(held, str) and isinstance(wanted, str):
        return held.casefold() == wanted.casefold()
    return held == wanted


def _text(value: Any) -> str:
    """A property value as text, so 4 and "4", True and "true" compare equal."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _entry_text(name: str, value: Any) -> str:
    text = str(value or "").strip()
    return text.lower() if name == "emails" else text


def _embedded(body: Any, key: str) -> list[dict[str, Any]]:
    """``body["_embedded"][key]``, or [] when absent (Help Scout leaves it out when empty)."""
    embedded = body.get("_embedded") if isinstance(body, dict) else None
    items = embedded.get(key) if isinstance(embedded, dict) else None
    return [item for item in items or () if isinstance(item, dict)]


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


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _redacted(body: Any) -> Any:
    """A parsed JSON body with every string redacted (see :mod:`importer.core.redact`)."""
    if isinstance(body, str):
        return redact(body)
    if isinstance(body, list):
        return [_redacted(item) for item in body]
    if isinstance(body, dict):
        return {redact(str(k)): _redacted(v) for k, v in body.items()}
    return body


def _lifetime(expires_in: Any) -> float:
    """``expires_in`` as seconds (7200 in 2019, 172800 now: read, never assumed)."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return 7200.0
    return seconds if seconds > 0 else 7200.0
