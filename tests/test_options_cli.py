"""The command line's options come from the options objects: a field's Flag is its click option,
and a command receives the object built from what was parsed (cli.flags_of, cli.builds)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from importer import cli
from importer.cli import READABLE_FILE, builds, click_type, command_line, flags_of, main
from importer.core.options import (
    DEFAULT_IMPORT,
    Bounds,
    Flag,
    ImportOptions,
    UndoOptions,
    ValidateOptions,
    flag,
    output_flags,
)
from importer.sandbox.config import SandboxConfig

CLI_SOURCE = Path(cli.__file__)


@pytest.mark.parametrize(
    ("spec", "given", "parsed"),
    [
        (Flag(("--n",), "", kind="int", low=1), "3", 3),
        (Flag(("--n",), "", kind="int", low=1), "0", None),
        (Flag(("--n",), "", kind="int", low=1, high=256), "257", None),
        (Flag(("--s",), "", kind="float", low=0, high=1, open_low=True), "1", 1.0),
        (Flag(("--s",), "", kind="float", low=0, high=1, open_low=True), "0", None),
        (Flag(("--s",), "", kind="float", low=0, high=1, open_high=True), "1", None),
        (Flag(("--s",), "", kind="float", low=0), "60", 60.0),
        (Flag(("--s",), "", kind="float"), "-2.5", -2.5),
        (Flag(("--n",), "", kind="int"), "-7", -7),
        (Flag(("--n",), "", kind="int"), "x", None),
        (Flag(("--c",), "", choices=("skip", "update")), "update", "update"),
        (Flag(("--c",), "", choices=("skip", "update")), "delete", None),
        (Flag(("--t",), ""), "cp1252", "cp1252"),
        (Flag(("--o",), "", kind="output"), "out.csv", Path("out.csv")),
    ],
)
def test_a_flags_values_are_parsed_within_its_bounds(spec: Flag, given: str, parsed: Any) -> None:
    """None: refused, which click says as a usage error (exit 2)."""
    kind = click_type(spec) or click.STRING
    if parsed is None:
        with pytest.raises(click.BadParameter):
            kind.convert(given, None, None)
    else:
        assert kind.convert(given, None, None) == parsed


def test_a_number_without_bounds_is_a_plain_number_in_the_help() -> None:
    """No "x<=None" range text beside its help: the sandbox's --latency-ms, --seed..."""
    assert click_type(Flag(("--s",), "", kind="float")) is click.FLOAT
    assert click_type(Flag(("--n",), "", kind="int")) is click.INT


def test_a_path_to_read_is_left_to_the_library_to_judge() -> None:
    """--only-listed names a folder: the library says what is wrong, not click."""
    assert click_type(Flag(("--only-listed",), "", kind="input")) is READABLE_FILE


@pytest.mark.parametrize(
    ("command", "kind"), [("run", ImportOptions), ("validate", ValidateOptions),
                          ("undo", UndoOptions), ("sandbox", SandboxConfig)],
)  # fmt: skip
def test_every_flagged_field_is_an_option_of_its_command(command: str, kind: type) -> None:
    """Each flag's names and help are the command's option; the option's name is the field's."""
    params = {p.name: p for p in main.commands[command].params}
    for field in dataclasses.fields(kind):
        if "flag" not in field.metadata:
            continue
        spec: Flag = field.metadata["flag"]
        option = params[field.name]
        assert isinstance(option, click.Option)
        assert [*option.opts, *option.secondary_opts] == list(spec.names)
        assert option.help == spec.help


@dataclasses.dataclass(frozen=True, kw_only=True)
class WithExtra(ImportOptions):
    """An options class with one field more, as a new flag would be."""

    extra: int = flag(3, "--extra", kind="int", low=0, metavar="N", help="A flag more.")


@click.command()
@flags_of(ImportOptions, last="settle_time")
@flags_of(WithExtra)
@builds(WithExtra)
def told(options: WithExtra) -> None:
    click.echo(f"{options.extra} {options.on_existing} {options.settle_time:g}")


@pytest.mark.parametrize(
    ("args", "output", "exit_code"),
    [
        ([], f"3 skip {DEFAULT_IMPORT.settle_time:g}\n", 0),
        (["--extra", "5", "--on-existing", "update"], "5 update 60\n", 0),
        (["--extra", "-1"], "Invalid value for '--extra': -1 is not in the range x>=0.", 2),
    ],
)
def test_a_new_field_is_a_new_option_and_reaches_the_command(
    args: list[str], output: str, exit_code: int
) -> None:
    done = CliRunner().invoke(told, args)
    assert done.exit_code == exit_code
    assert (done.output if exit_code == 0 else done.output.splitlines()[-1]).endswith(output)


def test_options_that_do_not_fit_together_end_as_one_line_naming_the_flag(invoke, tmp_path):
    """What the object refuses as it is made (here: --max-invalid's form) is a usage error."""
    done = invoke("run", "in.csv", "-m", "m.yaml", "-o", tmp_path / "r.csv", "--max-invalid",
                  "5 rows")  # fmt: skip
    assert done.exit_code == 2
    assert done.output == (
        "Error: --max-invalid must be a count of rows (5) or a percentage of them (2%), "
        "not '5 rows'\n"
    )


@pytest.mark.parametrize(
    ("options", "but", "named"),
    [
        (ValidateOptions(report="r.html"), (), [("--report", "r.html"), ("--rejects", None)]),
        (
            ImportOptions(state="s.sqlite", log_file="l.jsonl"),
            {"state"},
            [("--report", None), ("--rejects", None), ("--summary-json", None),
             ("--log-file", "l.jsonl")],
        ),
        (UndoOptions(results="u.csv"), (), [("--output", "u.csv")]),
    ],
)  # fmt: skip
def test_the_files_options_write_are_named_by_their_flags(
    options: Any, but: set[str], named: list[tuple[str, Any]]
) -> None:
    """What the output guard checks: a new output flag is guarded without a word more."""
    assert output_flags(options, but=but) == named


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["in.csv", "-m", "m.yaml", "-o", "r.csv"],
         "in.csv --mapping m.yaml --output r.csv"),
        (["in.csv", "-m", "m.yaml", "--rate", "100", "-o", "r.csv", "--on-existing", "update"],
         "in.csv --mapping m.yaml --output r.csv --rate 100 --on-existing update"),
        (["in.csv", "-m", "m.yaml", "--no-check-existing", "-q"],
         "in.csv --mapping m.yaml --no-check-existing --quiet"),
        (["in.csv", "-m", "m.yaml", "--check-existing", "--include-source"],
         "in.csv --mapping m.yaml --include-source --check-existing"),
    ],
)  # fmt: skip
def test_the_resume_line_repeats_what_was_typed_in_the_options_order(
    args: list[str], words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long names, the flags' own order; an option turned off (--no-check-existing) stays off."""
    monkeypatch.delenv("HELPSCOUT_API_URL", raising=False)
    ctx = main.commands["run"].make_context("run", args)
    assert command_line(ctx) == f"helpscout-import run {words}"


def function_lengths(source: str) -> dict[str, int]:
    """Each function's lines, from its ``def`` to its last line (decorators not counted)."""
    tree = ast.parse(source)
    return {
        node.name: (node.end_lineno or node.lineno) - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_function_lengths_are_counted_from_def_to_the_last_line() -> None:
    source = "@deco\ndef f(\n    a,\n):\n    '''doc'''\n    return a\n\n\ndef g():\n    pass\n"
    assert function_lengths(source) == {"f": 5, "g": 2}


def test_no_function_of_the_cli_is_over_50_lines() -> None:
    long = {name: n for name, n in function_lengths(CLI_SOURCE.read_text()).items() if n > 50}
    assert long == {}


@pytest.mark.parametrize(
    ("bounds", "words", "held", "refused"),
    [
        (Bounds(low=1), "at least 1", [1, 7], [0, -1, float("nan")]),
        (Bounds(low=0, open_low=True, unit=" s"), "more than 0 s", [0.5], [0, float("inf")]),
        (Bounds(low=0, high=1, open_high=True), "at least 0 and below 1", [0, 0.99], [1, 2]),
        (Bounds(high=9, why=" (a cap)"), "at most 9 (a cap)", [-5, 9], [10]),
        (Bounds(), None, [], []),
    ],
)
def test_bounds_say_and_judge_alike(bounds, words, held, refused) -> None:
    """One declaration gives the message and the verdict (the CLI's range reads the same)."""
    assert bounds.words() == words
    assert all(bounds.holds(v) for v in held)
    assert not any(bounds.holds(v) for v in refused)
