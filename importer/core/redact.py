"""Redaction: the access token and the app secret never leave the process, whatever a server
echoed.

A server may repeat what it was sent: a 401, 403 or 400 body quoting the ``Authorization``
header, a proxy's error page showing the token request's form. The secrets this process holds
are registered here (:func:`register`: the client registers the app secret and every token it
gets or is given), and :func:`redact` replaces each of them, and anything written as
``Bearer <token>``, with :data:`REDACTED`.

Where it applies: once where server text enters (the client redacts every answer's body before
it is parsed, so an :class:`~importer.core.errors.ApiError`, a ``Reply`` body or a search result
never holds a secret), and again where text leaves, belt and braces: the CLI's messages, every
results cell and every ledger field. Secrets shorter than :data:`MIN_LENGTH` characters are not
registered: they would cut ordinary words out of messages (real ones are 32 characters or more).
"""

from __future__ import annotations

import re
import threading

__all__ = ["MIN_LENGTH", "REDACTED", "redact", "redact_bytes", "register"]

REDACTED = "[redacted]"
MIN_LENGTH = 8
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_BEARER_BYTES = re.compile(rb"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_secrets: set[str] = set()
_lock = threading.Lock()
_longest_first: tuple[str, ...] = ()
"""The secrets, longest first (so one that holds another goes whole): rebuilt by each
:func:`register`, read without the lock by :func:`redact` (a tuple is replaced, never changed),
which every cell of a results file passes through."""


def register(secret: str | None) -> None:
    """Remember ``secret`` so that :func:`redact` removes it from now on (in this process)."""
    if secret and len(secret) >= MIN_LENGTH:
        global _longest_first
        with _lock:
            _secrets.add(secret)
            _longest_first = tuple(sorted(_secrets, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` without any registered secret or bearer token."""
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(rf"\1 {REDACTED}", text)
    return text


def redact_bytes(raw: bytes) -> bytes:
    """:func:`redact` for a body as it came off the wire (before it is decoded and parsed)."""
    for secret in _longest_first:
        encoded = secret.encode("utf-8")
        if encoded in raw:
            raw = raw.replace(encoded, REDACTED.encode())
    return _BEARER_BYTES.sub(rb"\1 " + REDACTED.encode(), raw)
