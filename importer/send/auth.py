"""Where to send and as whom: the API URL, the credentials, and the access token's life.

:func:`read_settings` reads the environment and the file ``HELPSCOUT_CREDENTIALS_FILE`` names;
:class:`Credentials` holds an app's id and secret and/or a ready token, kept out of every repr
and registered with :mod:`importer.core.redact`. :class:`Tokens` keeps one access token for a
whole run: fetched by OAuth2 client credentials when missing or about to expire, and on a 401
fetched once for everyone (single flight). A fresh token refused at once, :data:`MAX_REFUSALS`
refusals for one request, or a token answer that is no RFC 6750 token is an
:class:`~importer.core.errors.AuthError`; a token endpoint that answers 5xx/429 or nothing
``max_attempts`` times, or gives no token within :data:`TOKEN_DEADLINE` s, stops the run
(:class:`~importer.core.errors.RunStopped`, naming the endpoint: the credentials were not judged).
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yarl import URL

from importer.core.errors import AuthError, ConfigError, RunStopped
from importer.core.options import DEFAULT_API_URL
from importer.core.redact import redact, register
from importer.send.transport import (
    Exchanger,
    NoAnswer,
    RetryPolicy,
    api_error,
    reason,
    redirect_error,
)

TOKEN_PATH = "/v2/oauth2/token"
CREDENTIALS_HINT = (
    "check HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET (Help Scout: Your Profile > My Apps)"
)
#: Seconds the token endpoint may take to give a token, re-sends included: then the run stops.
TOKEN_DEADLINE = 60.0
#: An access token as RFC 6750 writes it (``b64token``): anything else cannot go in a header.
TOKEN_SYNTAX = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: 401s in a row one request accepts, each answered with a new token, before the run stops.
MAX_REFUSALS = 6


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


# --- the token ---------------------------------------------------------------------------
def token_endpoint_down(url: str, what: str, tries: int) -> str:
    """Why a run stops when the token endpoint fails (not the credentials: it never judged
    them)."""
    return (
        f"the token endpoint {url} {what}, {tries} {'try' if tries == 1 else 'tries'} in a row: "
        "Help Scout's sign-in is failing (the credentials were not refused); the same command "
        "resumes once it answers"
    )


class Tokens:
    """The run's access token: ``current()`` before each request, ``refused()`` on its 401,
    ``accepted()`` on any other answer; ``requests`` counts the token requests sent."""

    def __init__(
        self, api_url: str, credentials: Credentials, retry: RetryPolicy, exchanger: Exchanger
    ) -> None:
        self.credentials = credentials
        self.requests = 0
        self._url = api_url + TOKEN_PATH
        self._retry = retry
        self._exchanger = exchanger
        self._token = credentials.access_token
        self._generation = 0
        self._expires_at = math.inf
        self._trusted = False
        self._after_401 = False
        self._lock = asyncio.Lock()

    async def current(self) -> tuple[str | None, int]:
        """The token to send and its generation (what ``refused`` and ``accepted`` are told)."""
        if self._token is None or asyncio.get_running_loop().time() >= self._expires_at:
            await self._refresh(self._generation, after_401=False)
        return self._token, self._generation

    def accepted(self, generation: int) -> None:
        """An answer other than 401 came with the token of ``generation``."""
        if generation == self._generation:
            self._trusted = True

    async def refused(self, generation: int, body: Any, refusals: int) -> None:
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
        async with self._lock:
            if generation != self._generation:
                return  # another request refreshed while this one waited for the lock
            token, lifetime = await self._fetch()
            loop = asyncio.get_running_loop()
            self._token, self._generation = token, generation + 1
            self._expires_at = loop.time() + lifetime - min(60.0, lifetime / 10)
            self._trusted, self._after_401 = False, after_401

    async def _fetch(self) -> tuple[str, float]:
        """OAuth2 client credentials: (access token, seconds it lives)."""
        creds = self.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.app_id or "",
            "client_secret": creds.app_secret or "",
        }
        url = self._url
        failures = 0
        deadline = asyncio.get_running_loop().time() + TOKEN_DEADLINE
        while True:
            self.requests += 1
            left = deadline - asyncio.get_running_loop().time()
            try:
                async with asyncio.timeout(max(left, 0.001)):
                    status, headers, body = await self._exchanger.send(
                        "POST", url, None, data=form, redacting=False, attempt=failures + 1
                    )
            except (NoAnswer, TimeoutError) as lost:
                failures += 1
                if failures >= self._retry.max_attempts or left <= self._retry.delay(failures):
                    why = lost if isinstance(lost, NoAnswer) else f"no answer in {left:.0f} s"
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
                        f"{reason(status)}, but {url} answered something that is not an "
                        f"access token: check the API URL (Help Scout's is {DEFAULT_API_URL})",
                    )
                failures += 1
                error = api_error(status, body)
                if status < 500 and status != 429:  # 429: the budget, not the credentials
                    raise AuthError(status, f"{error.message}: {CREDENTIALS_HINT}", error.log_ref)
                if failures >= self._retry.max_attempts:
                    raise RunStopped(token_endpoint_down(url, f"answered {error}", failures))
            await asyncio.sleep(self._retry.delay(failures))


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
