"""A local Help Scout Mailbox API server (aiohttp.web) for trials, tests and benchmarks.

This machine has no internet, so the sandbox is where users, tests and benchmarks meet Help Scout.
It follows the project's HELPSCOUT_API.md, the recorded fixtures and the query shapes of real
clients (docs/sandbox.md says where each fact comes from); where the record is silent the
behaviour is configurable (``SandboxConfig``: rate windows, a burst limit, another client spending
the budget, faults, search lag). Its routes, rate limit and order of work:
docs/internals.md#the-sandbox.

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
