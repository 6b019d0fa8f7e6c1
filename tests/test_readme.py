"""The README as a test: every ``helpscout-import`` command it shows is run as written, and ends
with the exit code it documents; every option it names exists; every mapping example loads.

The conventions the README follows (and this file reads):

- commands are the lines of ``sh`` and ``crontab`` code blocks that hold ``helpscout-import``, the
  ``$ `` lines of ``console`` blocks, and inline code spans that start with ``helpscout-import``
  and name no metavariable (``FILE``, ``[--report ...]``: those are synopses); only the
  ``helpscout-import`` part of a line runs (not what ``&&``, ``>`` or ``|`` join to it);
- a command's exit code is written ``exits N`` in its line's comment, or in the comment lines just
  above it; a command that says nothing exits 0;
- the files a command reads that are not in the repository are placeholders, named as such in
  the README's text (``placeholders: `export.csv`, ...``); each block of commands runs in a
  fresh folder holding them and a copy of ``sample_data/`` and ``mappings/``, in order; then the
  first screen's block and the recipes' blocks run once more one after the other in one such
  folder, as a newcomer runs them (what one leaves, the next meets);
- commands that send do it to a sandbox started here, through the environment its ``export``
  lines give (the README's ``export HELPSCOUT_...`` lines stand for them);
- ``helpscout-import sandbox`` serves until Ctrl-C: it is started, its first lines are compared
  with the README's, and it is interrupted.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from importer.cli import main
from importer.customer.schema import PROPERTY_TYPES, SCALARS, TOP_LEVEL_FIELDS
from importer.mapping import TRANSFORMS, load_mapping
from importer.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: What each placeholder the README names is, here.
PLACEHOLDERS = {
    "export.csv": ROOT / "sample_data" / "customers.csv",
    "mapping.yaml": ROOT / "mappings" / "example.yaml",
    "customers_export.csv": ROOT / "tests" / "data" / "exports" / "shopify-customers.csv",
}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
OPERATORS = {"&&", "||", ";", "|", ">", ">>", "<", "&", "2>&1"}
EXITS = re.compile(r"\bexits (\d)\b")


@dataclass
class Command:
    words: list[str]
    exit_code: int
    line: str


@dataclass
class Block:
    where: str
    """The README's line number and the block's first command, for the test id."""
    start: int = 0
    """Where the block starts in the README (characters)."""
    commands: list[Command] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    """A console block's lines that are not commands: what the command prints."""


def helpscout_words(line: str) -> list[str]:
    """The ``helpscout-import ...`` part of a shell line, as the shell would split it."""
    lexer = shlex.shlex(line[line.index("helpscout-import") :], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = []
    for word in lexer:
        if word in OPERATORS:
            break
        words.append(word)
    return words


def blocks() -> Iterator[Block]:
    for match in FENCE.finditer(README):
        lang, body = match.group(1), match.group(2)
        if lang not in ("sh", "console", "crontab"):
            continue
        block = Block(f"README line {README[: match.start()].count(chr(10)) + 1}", match.start())
        comments: list[str] = []
        for line in body.splitlines():
            text = line.strip()
            if lang == "console" and not text.startswith("$ "):
                block.output.append(line)
                continue
            text = text.removeprefix("$ ")
            if text.startswith("#") or not text:
                comments = [*comments, text] if text else []
                continue
            if "helpscout-import" in text:
                said = EXITS.search(text.partition(" # ")[2]) or EXITS.search(" ".join(comments))
                code = int(said.group(1)) if said else 0
                block.commands.append(Command(helpscout_words(text), code, text))
            comments = []
        if block.commands:
            block.where += ": " + " ".join(block.commands[0].words[:2])
            yield block


def inline_commands() -> list[str]:
    """Inline ``helpscout-import ...`` spans that are commands, not synopses."""
    spans = re.findall(r"(?<!`)`(helpscout-import [^`]+)`(?!`)", README)
    synopsis = re.compile(r"\[|\.\.\.|\b[A-Z][A-Z_.]+\b")
    return sorted({span for span in spans if not synopsis.search(span)})


BLOCKS = list(blocks())
#: The first screen's block, then every block of the recipes, as a newcomer meets them.
RECIPES = (README.index("## Three jobs, as recipes"), README.index("## Commands"))
IN_ORDER = [BLOCKS[0], *(b for b in BLOCKS if RECIPES[0] <= b.start < RECIPES[1])]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder with the placeholders and a copy of the sample data and mappings."""
    for name, source in PLACEHOLDERS.items():
        shutil.copyfile(source, tmp_path / name)
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def readme_env(
    serve_sandbox: Callable[..., Sandbox], sandbox_env: Callable[..., dict[str, str | None]]
) -> dict[str, str | None]:
    """What the README's ``export`` lines set, for a sandbox started here."""
    return sandbox_env(serve_sandbox())


@pytest.fixture
def run_as_written(
    invoke: Callable[..., Result], readme_env: dict[str, str | None]
) -> Callable[[list[str]], tuple[int, str]]:
    """A ``helpscout-import ...`` command as written, with the README's exports: (exit code,
    everything it printed)."""

    def run(command: list[str]) -> tuple[int, str]:
        assert command[0] == "helpscout-import", command
        done = invoke(*command[1:], env=readme_env)
        return done.exit_code, done.output + done.stderr

    return run


@pytest.fixture
def serve_and_stop(
    folder: Path, process_env: Callable[..., dict[str, str]]
) -> Callable[[list[str], list[str]], None]:
    """``helpscout-import sandbox ...`` in ``folder``: its first lines as the README shows them
    (``output``), then Ctrl-C (the README: it serves until then, and exits 0)."""

    def serve_and_stop(words: list[str], output: list[str]) -> None:
        child = subprocess.Popen(
            [sys.executable, "-m", "importer", *words[1:]], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=folder, env=process_env(),
        )  # fmt: skip
        try:
            assert child.stdout is not None
            printed = [child.stdout.readline().rstrip("\n") for _ in output or [""]]
            port = re.compile(r"127\.0\.0\.1:\d+")
            assert printed[0].startswith("export HELPSCOUT_API_URL=http://127.0.0.1:")
            if output:
                assert [port.sub("PORT", line) for line in printed] == [
                    port.sub("PORT", line) for line in output
                ]
        finally:
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=30)
        assert child.returncode == 0, err

    return serve_and_stop


@pytest.fixture
def review_and_done(
    folder: Path, review_process: Callable[..., Any], post: Callable[[str, object], Any]
) -> Callable[[list[str]], None]:
    """``helpscout-import review ...`` in ``folder``: its first line is the page's address; the
    page's "Done" stops it, with exit 0."""

    def review_and_done(words: list[str]) -> None:
        child, url = review_process(*words[2:], cwd=folder)
        assert url.startswith("http://127.0.0.1:"), child.stderr and child.stderr.read()
        post(url + "api/done", {})
        _, err = child.communicate(timeout=30)
        assert child.returncode == 0, err

    return review_and_done


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_every_command_in_the_readme_exits_as_documented(
    block: Block,
    run_as_written: Callable[[list[str]], tuple[int, str]],
    serve_and_stop: Callable[[list[str], list[str]], None],
    review_and_done: Callable[[list[str]], None],
) -> None:
    for command in block.commands:
        if command.words[1] == "sandbox":
            serve_and_stop(command.words, [line for line in block.output if line.strip()])
            continue
        if command.words[1] == "review":
            review_and_done(command.words)
            continue
        code, printed = run_as_written(command.words)
        assert code == command.exit_code, f"{command.line}\n{printed}"


def test_the_quick_start_then_the_recipes_run_in_order_in_one_folder(
    run_as_written: Callable[[list[str]], tuple[int, str]],
    serve_and_stop: Callable[[list[str], list[str]], None],
    review_and_done: Callable[[list[str]], None],
) -> None:
    """What a newcomer does: the quick start, then each recipe as written, in one folder (what
    one command leaves, the next meets), sending to one sandbox."""
    assert "--sandbox" in IN_ORDER[0].commands[0].words and len(IN_ORDER) >= 4
    for block in IN_ORDER:
        for command in block.commands:
            if command.words[1] == "sandbox":
                serve_and_stop(command.words, [line for line in block.output if line.strip()])
                continue
            if command.words[1] == "review":  # a page: served, then its Done pressed
                review_and_done(command.words)
                continue
            code, printed = run_as_written(command.words)
            assert code == command.exit_code, f"{block.where}: {command.line}\n{printed}"


@pytest.mark.parametrize("span", inline_commands())
def test_every_inline_command_in_the_readme_runs(
    span: str,
    run_as_written: Callable[[list[str]], tuple[int, str]],
    serve_and_stop: Callable[[list[str], list[str]], None],
) -> None:
    words = shlex.split(span)
    if words[1] == "sandbox":
        serve_and_stop(words, [])
        return
    code, printed = run_as_written(words)
    assert code == 0, f"{span}\n{printed}"


def test_the_readme_shows_commands_of_every_kind_and_names_its_placeholders() -> None:
    """The extraction above finds what it should: a test that runs nothing would pass."""
    shown = [c for block in BLOCKS for c in block.commands]
    assert {c.words[1] for c in shown} >= {"run", "validate", "init", "history", "undo",
                                           "sandbox"}  # fmt: skip
    assert {c.exit_code for c in shown} == {0, 1, 2}
    cron = next(c for c in shown if "--summary-json" in c.words)
    assert {"--quiet", "--log-file"} <= set(cron.words) and cron.exit_code == 1
    named = re.findall(r"\(placeholders?:\s+((?:`[^`]+`(?:,\s+)?)+)\)", README)
    assert {name for names in named for name in re.findall(r"`([^`]+)`", names)} == set(
        PLACEHOLDERS
    )


def all_options() -> set[str]:
    found = {"--help", "--version"}
    for command in main.commands.values():
        for param in command.params:
            names = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
            found.update(opt for opt in names if opt.startswith("--"))
    return found


def test_every_option_the_readme_names_exists() -> None:
    """(The development section's are other tools' options: ruff's, pytest's.)"""
    text = README[: README.index("## Development")]
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", text))
    assert named - all_options() == set()
    assert len(named) > 30


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help(command: str) -> None:
    """``helpscout-import COMMAND --help``, for each COMMAND the README's table lists."""
    assert f"`helpscout-import {command} " in README
    done = CliRunner().invoke(main, [command, "--help"])
    assert done.exit_code == 0 and done.output.startswith(f"Usage: main {command}")


def test_the_library_example_runs(
    folder: Path, readme_env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    (code,) = re.findall(r"^```python\n(.*?)^```", README, re.M | re.S)
    for name, value in readme_env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == ["40 rows read: 31 valid, 9 invalid, 1 warning.", "31 0 1"]
    # the plan: no writes; reads: the account's user (the state's guard) and its properties
    assert printed[2] == "Counter({'unchanged': 31, 'invalid': 9}) 2 0"
    assert printed[3].startswith("31 customers:") and len(printed) == 4, printed
    assert (folder / "issues.html").is_file() and (folder / "results.csv").is_file()


# --- the mapping reference ---------------------------------------------------------------------
REFERENCE = README[README.index("## Mapping reference") : README.index("### Starting from")]
EXAMPLES = re.findall(r"^```yaml\n(.*?)^```", REFERENCE, re.M | re.S)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_every_mapping_example_loads(example: str, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(example, encoding="utf-8")
    assert load_mapping(path).path == str(path)


def test_the_reference_shows_every_field_transform_option_and_property_type() -> None:
    shown = "\n".join(EXAMPLES)
    keys = {key for example in EXAMPLES for key in _keys(yaml.safe_load(example))}
    assert set(TOP_LEVEL_FIELDS) - keys == set()
    assert {"name"} <= set(re.findall(r"`(\w+)`", REFERENCE))
    assert {t for t in TRANSFORMS if not re.search(rf"\b{t}\b", shown)} == set()
    options = {"column", "value", "transform", "map", "default", "format", "null_values",
               "replace", "join", "type", "separator", "on_incomplete", "key", "lines", "city",
               "state", "postalCode", "country"}  # fmt: skip
    assert options - keys == set()
    assert {t for t in PROPERTY_TYPES if f"type: {t}" not in shown} == {"text"}  # the default
    assert "a text property" in shown


def _keys(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


# --- where the tool points people ----------------------------------------------------------------
COMPLETIONS = re.findall(r"_HELPSCOUT_IMPORT_COMPLETE=(\w+) helpscout-import", README)


@pytest.mark.parametrize("shell", COMPLETIONS)
def test_the_completion_scripts_the_readme_shows_are_produced(shell: str) -> None:
    done = CliRunner().invoke(main, [], prog_name="helpscout-import",
                              env={"_HELPSCOUT_IMPORT_COMPLETE": shell})  # fmt: skip
    assert done.exit_code == 0
    assert "_HELPSCOUT_IMPORT_COMPLETE" in done.output and "helpscout-import" in done.output
    assert len(done.output.splitlines()) > 5  # a script, not a usage line


def test_completion_completes_commands_and_options() -> None:
    assert set(COMPLETIONS) == {"bash_source", "zsh_source", "fish_source"}

    def complete(line: str) -> list[str]:
        env = {"_HELPSCOUT_IMPORT_COMPLETE": "bash_complete", "COMP_WORDS": line,
               "COMP_CWORD": str(len(line.split()) - (0 if line.endswith(" ") else 1))}  # fmt: skip
        done = CliRunner().invoke(main, [], prog_name="helpscout-import", env=env)
        return [item.split(",", 1)[1] for item in done.output.splitlines()]

    assert complete("helpscout-import va") == ["validate"]
    assert "--report" in complete("helpscout-import validate --re")
    assert complete("helpscout-import run x.csv --on-existing ") == ["skip", "update"]


def test_the_mapping_option_says_where_mappings_come_from() -> None:
    """``-m``'s help names what exists wherever the tool is installed (``init``) and the example
    by its place in the project, not a ``mappings/`` of the current folder."""
    done = CliRunner().invoke(main, ["validate", "--help"], terminal_width=200)
    text = " ".join(done.output.split())
    assert "'helpscout-import init FILE' writes a first one" in text
    assert "mappings/example.yaml in the project" in text and "(see mappings/)" not in text


def test_the_example_mapping_points_at_files_that_exist() -> None:
    comments = [line for line in (ROOT / "mappings" / "example.yaml").read_text().splitlines()
                if line.lstrip().startswith("#")]  # fmt: skip
    named = re.findall(r"[\w/]+\.(?:py|md|csv)\b", " ".join(comments))
    assert "importer/mapping/__init__.py" in named
    assert [path for path in named if not (ROOT / path).is_file()] == []
    assert '"Mapping reference"' in " ".join(comments) and "## Mapping reference" in README


def test_the_quick_start_makes_a_venv_first_and_names_the_python_it_needs() -> None:
    """Debian's and Ubuntu's Python refuse a plain ``pip install .``: the venv comes first, and
    the version is the one pyproject.toml requires."""
    first = FENCE.search(README)
    assert first is not None
    lines = [line for line in first.group(2).splitlines() if line and not line.startswith("#")]
    assert lines[0] == "python3 -m venv .venv && . .venv/bin/activate"
    assert lines[1].startswith("pip install . && helpscout-import run sample_data/customers.csv")
    assert lines[2] == "pip install '.[test]' && pytest"
    needed = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text())
    assert needed is not None and f"Python {needed.group(1)} or newer" in first.group(2)
    assert "apt-get install python3-venv" in README and "apt-get install chromium" in README


def field_rows() -> Iterator[tuple[list[str], str]]:
    """The README's table of customer fields: (the fields of a row, Help Scout's rule there)."""
    section = README[README.index("### Customer fields") : README.index("### Lists")]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            yield re.findall(r"`(\w+)`", cells[0]), cells[1]


def test_the_customer_fields_table_says_the_schemas_limits() -> None:
    """Each limit the table writes by hand is the schema's: a changed limit fails here."""
    rows = list(field_rows())
    assert {f for fields, _ in rows for f in fields} >= set(SCALARS)
    for fields, rule in rows:
        for name in fields:
            if name not in SCALARS:
                continue
            spec = SCALARS[name]
            span = re.search(r"(\d+) to (\d+)", rule)
            most = re.search(r"at most (\d+)", rule)
            said = (int(span[1]), int(span[2])) if span else (0, int(most[1]) if most else None)
            assert said == (spec.min_len or 0, spec.max_len), name
            if spec.choices:
                assert re.findall(r"`(\w+)`", rule) == list(spec.choices), name
