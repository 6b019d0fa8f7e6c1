"""The request log (``run --log-file PATH``): one JSON line per HTTP request an import sends.

The client tells every request it sends to its ``on_exchange`` observer
(:class:`~importer.send.transport.Exchange`: API calls, their re-sends, token requests); a
:class:`RequestLog` is such an observer and writes each as one line, in the order they ended::

    {"time": "2025-05-04T02:00:01.135Z", "run": 7, "method": "POST", "path": "/v2/customers",
     "status": 201, "attempt": 1, "latency": 0.184, "logRef": null}

``time`` is when the request left (UTC, milliseconds); ``run`` the ledger's run id (what
``history`` lists); ``status`` 0 when no answer came, with ``error`` saying why (a timeout, a
lost connection); ``attempt`` counts the sends of one call from 1; ``latency`` is seconds to the
answer's last byte; ``logRef`` is Help Scout's reference for an error answer (what its support
asks for). The keys are always these, in this order, so ``jq`` or a log shipper can rely on them.

The file is appended to, so one file can hold every night's requests; each line is written whole
(line-buffered), so a killed run leaves no half line but its last. No line holds a token or a
secret: the client hands over no header, no body and no query string (which would hold
customers' emails), and every line passes :func:`~importer.core.redact.redact` before it is written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

from importer.core.errors import ConfigError
from importer.core.files import open_private
from importer.core.redact import redact
from importer.core.text import utc_stamp

if TYPE_CHECKING:
    from importer.send.transport import Exchange

__all__ = ["LOG_KEYS", "RequestLog", "log_line"]

#: The keys of every line, in order (``error`` only when no answer came).
LOG_KEYS = ("time", "run", "method", "path", "status", "attempt", "latency", "logRef")


def log_line(exchange: Exchange, run: int | None) -> str:
    """``exchange`` as one line of the log, redacted, without its line break."""
    values = (utc_stamp(datetime.fromtimestamp(exchange.sent, UTC)), run, exchange.method,
              exchange.path, exchange.status, exchange.attempt, round(exchange.latency, 3),
              exchange.log_ref)  # fmt: skip
    record: dict[str, object] = dict(zip(LOG_KEYS, values, strict=True))
    if exchange.error is not None:
        record["error"] = exchange.error
    return redact(json.dumps(record, ensure_ascii=False))


class RequestLog:
    """Appends a line per request to ``path``; call it with each Exchange (``on_exchange``).

    ``run`` (the ledger's run id) is set once the run has begun; lines before it carry null.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.run: int | None = None
        self.failure: str | None = None
        """Why the log stopped being written (a full disk), else None: the import goes on."""
        try:
            self._file: IO[str] = open_private(self.path, "a", encoding="utf-8", buffering=1)
        except OSError as exc:
            raise ConfigError(
                f"cannot write --log-file {self.path}: {exc.strerror or exc}"
            ) from None

    def __call__(self, exchange: Exchange) -> None:
        if self.failure is not None:
            return
        try:
            self._file.write(log_line(exchange, self.run) + "\n")
        except OSError as exc:  # the import matters more than its log: it goes on without
            self.failure = f"--log-file {self.path} could not be written: {exc.strerror or exc}"

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as exc:
            self.failure = self.failure or f"--log-file {self.path}: {exc.strerror or exc}"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
