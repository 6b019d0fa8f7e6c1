"""The library's front door: its public names, its options objects and their defaults."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import importer
from importer.cli import main
from importer.core.errors import ConfigError
from importer.core.options import (
    DEFAULT_IMPORT,
    DEFAULT_UNDO,
    DEFAULT_VALIDATE,
    ImportOptions,
    ValidateOptions,
)

SAMPLE = Path(__file__).parent.parent / "sample_data" / "customers.csv"
EXAMPLE = Path(__file__).parent.parent / "mappings" / "example.yaml"


def test_all_lists_the_public_names_sorted_and_each_is_importable() -> None:
    """As httpx checks its ``__all__``: sorted, and every name there resolves (lazily here)."""
    assert importer.__all__ == sorted(importer.__all__)
    assert set(importer.__all__) == {
        "ImportOptions",
        "ImportResult",
        "ReadOptions",
        "SendOptions",
        "UndoOptions",
        "ValidateOptions",
        "ValidationResult",
        "import_csv",
        "validate_csv",
    }
    for name in importer.__all__:
        value = getattr(importer, name)
        assert value.__name__ == name
        assert set(importer.__all__) <= set(dir(importer))
    with pytest.raises(AttributeError, match="no attribute 'run'"):
        importer.run  # noqa: B018


def test_every_modules_all_names_what_it_has() -> None:
    """A module's ``__all__`` never names something it lacks (a rename left behind)."""
    for info in pkgutil.walk_packages(importer.__path__, "importer."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), f"{info.name}.__all__ names {name}, which it lacks"


def test_options_and_validating_never_load_the_http_side() -> None:
    code = (
        "import sys; from importer import ImportOptions, ValidateOptions, validate_csv; "
        f"ImportOptions(rate=100); validate_csv({str(SAMPLE)!r}, {str(EXAMPLE)!r}); "
        "print(sorted(m for m in ('aiohttp', 'importer.jobs.importing') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (loaded.stdout.strip(), loaded.returncode) == ("[]", 0), loaded.stderr


@pytest.mark.parametrize(
    ("command", "defaults", "library_only"),
    [
        ("run", DEFAULT_IMPORT, {"request_timeout", "row_timeout"}),
        ("validate", DEFAULT_VALIDATE, {"keep_issues"}),
        ("undo", DEFAULT_UNDO, {"request_timeout"}),
    ],
)
def test_the_command_lines_defaults_are_the_options_own(
    command: str, defaults: Any, library_only: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the command takes when given nothing is what its options object holds by default."""
    monkeypatch.delenv("HELPSCOUT_API_URL", raising=False)
    args = ["--state", "s.sqlite"] if command == "undo" else ["in.csv", "-m", "m.yaml"]
    ctx = main.commands[command].make_context(command, args)
    fields = {f.name for f in dataclasses.fields(defaults)}
    given = {name: value for name, value in ctx.params.items() if name in fields}
    assert set(given) == fields - library_only
    expected = {name: getattr(defaults, name) for name in given}
    assert given == expected  # api_url None: HELPSCOUT_API_URL (or its file's), then Help Scout's


@pytest.mark.parametrize(
    ("kind", "given", "message"),
    [
        (ImportOptions, {"rate": 0}, "--rate must be more than 0 requests a minute, not 0"),
        (ImportOptions, {"rate": float("inf")}, "--rate must be more than 0"),
        (ImportOptions, {"budget_share": 0}, "--budget-share must be more than 0 and at most 1"),
        (ImportOptions, {"budget_share": 1.5}, "--budget-share must be more than 0 and at most 1"),
        (ImportOptions, {"concurrency": 0}, "--concurrency must be at least 1 and at most 256"),
        (ImportOptions, {"max_attempts": 0}, "--max-attempts must be at least 1, not 0"),
        (ImportOptions, {"on_existing": "merge"}, "--on-existing must be one of skip, update"),
        (ImportOptions, {"duplicates": "all"}, "--duplicates must be one of error, first, last"),
        (ImportOptions, {"settle_time": -1}, "--settle-time must be at least 0 seconds"),
        (ImportOptions, {"settle_time": float("nan")}, "--settle-time must be at least 0"),
        (ImportOptions, {"request_timeout": 0}, "request_timeout must be more than 0 seconds"),
        (ImportOptions, {"row_timeout": -3}, "row_timeout must be more than 0 seconds"),
        (ImportOptions, {"skip_lines": -1}, "--skip-lines must be at least 0, not -1"),
        (ValidateOptions, {"show": -1}, "--show must be at least 0, not -1"),
        (ValidateOptions, {"skip_lines": -2}, "--skip-lines must be at least 0, not -2"),
        (ValidateOptions, {"keep_issues": -1}, "keep_issues must be at least 0"),
    ],
)
def test_options_are_checked_when_made(kind: Any, given: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")) as caught:
        kind(**given)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "given",
    [
        {"rate": 1, "budget_share": 1, "concurrency": 1, "max_attempts": 1, "settle_time": 0},
        {"on_existing": "update", "duplicates": "last", "skip_lines": 0},
    ],
)
def test_edge_values_are_accepted(given: dict) -> None:
    options = ImportOptions(**given)
    assert {name: getattr(options, name) for name in given} == given


def test_options_are_frozen_and_keyword_only() -> None:
    options = ImportOptions(rate=100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.rate = 200  # type: ignore[misc]
    assert dataclasses.replace(options, rate=200).rate == 200 and options.rate == 100
    with pytest.raises(TypeError):
        ImportOptions(100)  # type: ignore[misc]
    with pytest.raises(ConfigError, match="--rate"):
        dataclasses.replace(options, rate=-1)
