"""A local Help Scout Mailbox API server (aiohttp.web) for trials, tests and benchmarks.

This machine has no internet, so the sandbox is where users, tests and benchmarks meet Help Scout.
It follows the project's HELPSCOUT_API.md, the recorded fixtures and the query shapes of real
clients (python-helpscout, helpscout-mailbox, tap-helpscout: see docs/sandbox.md); where the public
record is silent it makes the behaviour configurable (``SandboxConfig``). Routes:

- ``POST /v2/oauth2/token``: client credentials, or the ``refresh_token`` grant (a new access
  token and a rotated refresh token; the one used stops working), form or JSON. It neither spends
  the rate budget nor carries the ``X-RateLimit-*`` headers: the recorded real answers carry none.
- ``POST /v2/customers`` (validated by ``importer.check.payload``, from the one table of rules),
  ``GET|PUT|PATCH|DELETE /v2/customers/{id}`` (``DELETE ?async=true``: 202, gone
  ``async_delete_after`` seconds later), ``PATCH /v2/customers/{id}/properties``,
  ``GET|POST /v2/customers/{id}/{emails|phones|chats|social-profiles|websites}``,
  ``PUT|DELETE`` one of them by id, ``GET|POST|PUT|DELETE /v2/customers/{id}/address``,
  ``GET /v2/customer-properties``, ``GET /v2/users/me`` (the app's user: its own id in each
  sandbox, so that two sandboxes are two accounts).
- ``GET /v2/customers``: ``firstName``, ``lastName`` (equal, ignoring case), ``modifiedSince``,
  ``mailbox`` (customers with a conversation there), ``query`` (``parse_query``: firstName,
  lastName, email and phone, the last two "containing", createdAt/modifiedAt ranges, AND/OR,
  parentheses), ``sortField``/``sortOrder`` (newest first by default), numbered pages of 50 whose
  absolute ``_links`` keep every parameter. ``GET /v3/customers``: the same with ``email``
  (exact) and ``createdSince``, newest first, paged by ``cursor``.
- ``GET /v2/conversations?query=(customerIds:ID)&status=all`` (status active by default) and
  ``GET /v2/conversations/{id}``: the conversations seeded for customers, so that what deletes
  customers can check them first. A customer's delete takes its conversations along.
- Outside the API, free of auth, budget and faults: ``GET /_sandbox/customers``,
  ``POST /_sandbox/customers`` (seed existing customers), ``POST /_sandbox/conversations``
  (``{"customerId": N, "status": "closed"}`` or a list), ``GET /_sandbox/stats``,
  ``POST /_sandbox/background-load``, ``POST /_sandbox/reset``. The same state is
  ``Sandbox.state`` in-process.

Answers: customers carry ``createdAt``/``updatedAt`` (ISO 8601 UTC, whole seconds; ``updatedAt``
moves on every change, entries and address included) and their entries under ``_embedded``, in
lists as in ``GET`` one; a field never set is left out (a PUT that leaves a field out makes it
null, as HELPSCOUT_API.md says). Times are the sandbox's clock plus the wall-clock offset at start.

Rate limit: one budget per clock minute for the account, writes (POST/PUT/PATCH/DELETE) cost 2
and reads 1. ``rate_window="fixed"`` (default) resets the budget at every multiple of 60 s of the
clock; ``"sliding"`` gives each request's cost back 60 s after it was spent (stricter on bursts).
Requests refused with 401 or 429 spend nothing; 500/503 faults do (the request reached the API).
Every API answer carries the ``X-RateLimit-*`` headers when a limit is set (none when unlimited).
``burst=(N, S)`` adds a write limit on top: at most N writes in any S seconds, then 429 with
``X-RateLimit-Retry-After``. ``background_load=P`` is another client of the same account (an
agent) spending the share P of the budget on reads, evenly spread, from the same window: the
importer sees ``X-RateLimit-Remaining-Minute`` drop, and the agent's requests and 429s are in
``GET /_sandbox/stats`` under ``background``; ``POST /_sandbox/background-load {"share": P}``
starts, changes or stops it mid-run.

Search lags (``search_lag``): a new customer shows in list and search answers (v2 and v3) only that
many seconds after its create, on the sandbox's clock; ``GET /v2/customers/{id}`` and the duplicate
policy see it at once, as behind a search index that lags.

Order of work for an API request: latency, the token check (401), the budget (429), faults before
the handler (500/503), the handler, faults after it (504 or a dropped connection: work done).

The package, one seam a module: ``config`` (``SandboxConfig``, constants, property definitions),
``budget`` (the per-minute windows, the burst limit, the background agent), ``search`` (the query
syntax and the email index), ``state`` (customers, conversations, tokens, counts), ``api`` (the
answers and route handlers), ``server`` (``create_app``, ``Sandbox``, ``serve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from importer.sandbox.config import (
    DEFAULT_PROPERTIES,
    SandboxConfig,
    load_properties,
    parse_burst,
    property_definitions,
)
from importer.sandbox.search import QueryError, parse_query
from importer.sandbox.state import InvalidSeed, SandboxState

if TYPE_CHECKING:
    from importer.sandbox.server import Sandbox, create_app, serve

__all__ = [
    "DEFAULT_PROPERTIES",
    "InvalidSeed",
    "QueryError",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "create_app",
    "load_properties",
    "parse_burst",
    "parse_query",
    "property_definitions",
    "serve",
]


def __getattr__(name: str) -> object:
    """The server's names, loaded when first asked for: aiohttp stays out of the commands that
    only read the sandbox's defaults (the CLI's help) or never serve (validate)."""
    if name in ("Sandbox", "create_app", "serve"):
        from importer.sandbox import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
