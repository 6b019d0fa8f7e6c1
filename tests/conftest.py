"""Shared fixtures: the project's own test data and the external material in ../shared/data."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from importer.sandbox import Sandbox, SandboxConfig

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The external test material; tests that need it skip on a clone without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"external test material not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def serve_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes on 127.0.0.1, each run by its own event loop in a thread (so the CLI, which
    runs its own loop, can talk to them); stopped at the end of the test."""
    stops: list[Callable[[], None]] = []

    def start(config: SandboxConfig | None = None) -> Sandbox:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        box = Sandbox(config)
        asyncio.run_coroutine_threadsafe(box.__aenter__(), loop).result(10)

        def stop() -> None:
            asyncio.run_coroutine_threadsafe(box.__aexit__(None, None, None), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

        stops.append(stop)
        return box

    yield start
    for stop in reversed(stops):
        stop()
