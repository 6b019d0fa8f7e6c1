"""A transport that answers from a script, for tests (the project's, and yours) without a server.

::

    transport = ScriptedTransport([answer(503), answer(201, Resource_ID="7")])
    async with HelpScoutClient(url, credentials, transport=transport) as client:
        reply = await client.create_customer({"firstName": "Ada"})  # 201 after 2 attempts
    assert transport.paths() == ["/v2/oauth2/token", "/v2/customers", "/v2/customers"]

An answer is ``(status, headers, body)`` (:func:`answer` makes one), the body bytes, text or
JSON (None: no body), or a :class:`~importer.send.transport.NoAnswer` or ``CertificateError``
to raise. The script is a list of them, in order, or a function of the :class:`Request` (sync
or async: it may sleep, or route by path). Token requests get a new token each, outside the
script, unless ``tokens=False``. Every request is recorded (:attr:`ScriptedTransport.calls`); a
body past the client's ``max_body`` fails as the real transport's does; a script that runs out
raises :class:`ScriptExhausted`, which fails the test.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from importer.send.auth import TOKEN_PATH
from importer.send.transport import Answer, Request, too_large

#: One scripted answer: (status, headers, body), or an exception to raise.
Scripted: TypeAlias = "tuple[int, Mapping[str, str], Any] | BaseException"
Script: TypeAlias = "Iterable[Scripted] | Callable[[Request], Scripted | Awaitable[Scripted]]"


class ScriptExhausted(AssertionError):
    """A request came after the script's last answer."""


@dataclass(frozen=True)
class Call:
    """One request the transport was sent, when (loop time), and the status it answered (0: a
    failure was raised)."""

    request: Request
    at: float
    status: int

    @property
    def path(self) -> str:
        return URL(self.request.url).path


class ScriptedTransport:
    """Answers each request with the script's next answer (see the module's docstring)."""

    def __init__(self, script: Script = (), *, tokens: bool = True) -> None:
        self._answer = script if callable(script) else _in_order(script)
        self._tokens = tokens
        self._issued = itertools.count(1)
        self.calls: list[Call] = []

    @property
    def requests(self) -> list[Request]:
        return [call.request for call in self.calls]

    def paths(self, method: str | None = None) -> list[str]:
        """The paths requested (by ``method`` only, if given), in order."""
        return [c.path for c in self.calls if method in (None, c.request.method)]

    async def send(self, request: Request, *, max_body: int) -> Answer:
        at = asyncio.get_running_loop().time()
        if self._tokens and URL(request.url).path == TOKEN_PATH:
            given: Any = (200, {}, {"access_token": f"scripted-{next(self._issued)}",
                                     "expires_in": 172800})  # fmt: skip
        else:
            given = self._answer(request)
            if inspect.isawaitable(given):
                given = await given
        if isinstance(given, BaseException):
            self.calls.append(Call(request, at, 0))
            raise given
        status, headers, body = given
        self.calls.append(Call(request, at, status))
        raw = _as_bytes(body)
        if len(raw) > max_body:
            raise too_large(status, max_body)
        return Answer(status, CIMultiDictProxy(CIMultiDict(headers)), raw)


def answer(status: int, body: Any = None, **headers: str) -> tuple[int, dict[str, str], Any]:
    """A scripted answer, headers named with ``_`` for ``-``: ``answer(201, Resource_ID="7")``."""
    return status, {name.replace("_", "-"): value for name, value in headers.items()}, body


def _in_order(script: Iterable[Scripted]) -> Callable[[Request], Scripted]:
    answers = iter(list(script))

    def next_answer(request: Request) -> Scripted:
        try:
            return next(answers)
        except StopIteration:
            raise ScriptExhausted(
                f"the script has no answer left for {request.method} {URL(request.url).path}"
            ) from None

    return next_answer


def _as_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()
