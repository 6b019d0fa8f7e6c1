"""The house plan (issue 20): ``importer/`` as packages by stage, each importing only the ones
below it, and no import cycle between modules (imports made only for type checking, or inside
a function, count: they are arrows a reader follows all the same)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import importer

PACKAGE = Path(importer.__file__).parent

#: Bottom to top: a package may import only those before it. ``importer`` is the facade
#: (``from importer import import_csv``), ``cli`` the command line on top of it.
FLOORS = [
    "core", "read", "customer", "mapping", "suggest", "check", "send", "sandbox", "outputs",
    "jobs", "review", "importer", "cli",
]  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported(path: Path) -> Iterator[str]:
    """Every importer module ``path`` imports, wherever the import statement is."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            names = [s for s in subs if s in MODULES] or [node.module]
        else:
            continue
        for name in names:
            while name not in MODULES and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in MODULES:
                yield name


GRAPH = {name: set(imported(path)) - {name} for name, path in MODULES.items()}


def floor(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in FLOORS) else "importer"


def test_every_module_sits_on_a_floor() -> None:
    homeless = {m for m in MODULES if floor(m) not in FLOORS and m != "importer.__main__"}
    assert not homeless


def test_packages_import_only_the_ones_below() -> None:
    def level(module: str) -> int:
        return len(FLOORS) if module == "importer.__main__" else FLOORS.index(floor(module))

    upward = sorted(
        f"{a} -> {b}"
        for a, targets in GRAPH.items()
        for b in targets
        if floor(a) != floor(b) and level(b) > level(a)
    )
    assert not upward


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each back edge a depth-first walk meets."""
    found, state, path = [], {}, []

    def walk(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node)
    return found


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c", "a"]]),
    ],
)
def test_cycles_are_found(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_no_module_imports_itself_round_a_cycle() -> None:
    assert cycles(GRAPH) == []
