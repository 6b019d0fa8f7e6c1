"""The docs in code stay short and their links hold: every module of ``importer/`` has a docstring
of at most 20 lines, every ``docs/internals.md#anchor`` the code cites is a heading there, and the
house drawn in docs/internals.md has one line for every package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "importer"
INTERNALS = ROOT / "docs" / "internals.md"
#: The most lines a module docstring may take (the aim is ~15; the long stories live in the docs).
MOST_LINES = 20
#: Modules whose docstrings other parts of issue 20 own and had not cut yet (strict: once one is
#: cut, its line here must go).
ANCHOR = re.compile(r"docs/internals\.md#([a-z0-9_-]+)")


def docstring_lines(source: str) -> int | None:
    """How many lines the module's docstring takes as written (None: it has none)."""
    text = ast.get_docstring(ast.parse(source), clean=False)
    return None if text is None else len(text.strip("\n").splitlines())


def slug(heading: str) -> str:
    """A Markdown heading's anchor, as GitHub makes it: lower case, punctuation dropped, spaces
    to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors of a Markdown text's headings (outside code blocks)."""
    found, fenced = set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,6} (.+)", line)):
            found.add(slug(heading[1]))
    return found


def house(markdown: str) -> list[str]:
    """The packages the section "The house" draws: the first word of each line of its diagram."""
    section = markdown.split("\n## The house\n", 1)[1].split("\n## ", 1)[0]
    diagram = section.split("```", 2)[1]
    return [line.split()[0] for line in diagram.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ('"""One line."""\n', 1),
        ('"""First.\n\nThird.\n"""\nx = 1\n', 3),
        ('"""\nAfter an opening break.\n"""\n', 1),
        ("x = 1\n", None),
        ('from __future__ import annotations\n"""Not first: no docstring."""\n', None),
    ],
)
def test_docstring_lines(source: str, lines: int | None) -> None:
    assert docstring_lines(source) == lines


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Exactly-once", "exactly-once"),
        ("The house", "the-house"),
        ("A cell's way through the mapping", "a-cells-way-through-the-mapping"),
        ("`importer.read`", "importerread"),
        ("Pacing: 429s, others' share", "pacing-429s-others-share"),
    ],
)
def test_slug(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_anchors_skip_code_blocks() -> None:
    text = "# Top\n```\n# not a heading\n```\n## Next one\n"
    assert anchors(text) == {"top", "next-one"}


def _modules() -> list[object]:
    return [
        pytest.param(p, id=p.relative_to(ROOT).as_posix()) for p in sorted(PACKAGE.rglob("*.py"))
    ]


@pytest.mark.parametrize("path", _modules())
def test_module_docstring_is_short(path: Path) -> None:
    lines = docstring_lines(path.read_text(encoding="utf-8"))
    assert lines is not None, "a module says what it is for"
    assert lines <= MOST_LINES, f"{lines} lines: say what it is for; move the story to the docs"


def test_internals_anchors_cited_in_code_exist() -> None:
    known = anchors(INTERNALS.read_text(encoding="utf-8"))
    cited = {
        (path.relative_to(ROOT).as_posix(), anchor)
        for folder in (PACKAGE, ROOT / "benchmarks")
        for path in folder.rglob("*.py")
        for anchor in ANCHOR.findall(path.read_text(encoding="utf-8"))
    }
    assert cited, "the code links its long stories to docs/internals.md"
    assert [(name, anchor) for name, anchor in sorted(cited) if anchor not in known] == []


def test_the_house_draws_every_package_once() -> None:
    drawn = house(INTERNALS.read_text(encoding="utf-8"))
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert sorted(drawn) == sorted(packages | {"importer", "cli"})
    assert drawn[-1] == "core" and drawn[:2] == ["cli", "importer"]  # drawn top floor first
