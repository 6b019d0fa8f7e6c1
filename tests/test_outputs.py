"""The output guard: no command writes over a file it reads, or two outputs into one file."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from importer.core.errors import ConfigError
from importer.core.files import check_outputs, same_file
from importer.outputs.summary import write_summary

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "customers.csv"
EXAMPLE = ROOT / "mappings" / "example.yaml"


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the sample CSV and of its mapping, to be guarded."""
    data, mapping = tmp_path / "a.csv", tmp_path / "mapping.yaml"
    data.write_bytes(SAMPLE.read_bytes())
    mapping.write_bytes(EXAMPLE.read_bytes())
    return data, mapping


@pytest.fixture
def run_cli(invoke: Callable[..., Result]) -> Callable[..., tuple[int, str, str]]:
    """A command's (exit code, stdout, stderr)."""

    def run(*args: object) -> tuple[int, str, str]:
        result = invoke(*args)
        return result.exit_code, result.stdout, result.stderr

    return run


def unchanged(data: Path, mapping: Path) -> bool:
    return data.read_bytes() == SAMPLE.read_bytes() and mapping.read_bytes() == EXAMPLE.read_bytes()


def test_validate_refuses_a_report_over_the_csv(
    run_cli: Callable[..., tuple[int, str, str]], inputs: tuple[Path, Path]
) -> None:
    data, mapping = inputs
    assert run_cli("validate", data, "-m", mapping, "--report", data) == (
        2,
        "",
        f"Error: --report {data} is the same file as FILE {data}, which is read: write "
        "--report elsewhere\n",
    )
    assert unchanged(data, mapping)


def test_run_refuses_results_over_the_mapping(
    run_cli: Callable[..., tuple[int, str, str]], inputs: tuple[Path, Path]
) -> None:
    data, mapping = inputs
    assert run_cli("run", data, "-m", mapping, "--sandbox", "-o", mapping) == (
        2,
        "",
        f"Error: --output {mapping} is the same file as --mapping {mapping}, which is read: "
        "write --output elsewhere\n",
    )
    assert unchanged(data, mapping)


@pytest.mark.parametrize("link", ["symlink", "hard link", "dot-dot"])
@pytest.mark.parametrize("target", ["FILE", "--mapping"])
def test_another_name_for_an_input_is_refused(
    run_cli: Callable[..., tuple[int, str, str]],
    inputs: tuple[Path, Path],
    tmp_path: Path,
    link: str,
    target: str,
) -> None:
    data, mapping = inputs
    original = data if target == "FILE" else mapping
    other = tmp_path / "sub" / "other.csv"
    other.parent.mkdir()
    if link == "symlink":
        other.symlink_to(original)
    elif link == "hard link":
        os.link(original, other)
    else:
        other = tmp_path / "sub" / ".." / original.name
    for command in (["validate", data, "-m", mapping, "--report", other],
                    ["run", data, "-m", mapping, "--sandbox", "-o", other]):  # fmt: skip
        code, out, err = run_cli(*command)
        option = "--report" if command[0] == "validate" else "--output"
        assert (code, out) == (2, "")
        assert err == (
            f"Error: {option} {other} is the same file as {target} {original}, which is read: "
            f"write {option} elsewhere\n"
        )
    assert unchanged(data, mapping)


@pytest.mark.parametrize("which", ["a.csv", "results.csv", "mapping.yaml"])
def test_the_state_is_neither_an_input_nor_the_results(
    run_cli: Callable[..., tuple[int, str, str]],
    inputs: tuple[Path, Path],
    tmp_path: Path,
    which: str,
) -> None:
    data, mapping = inputs
    results, state = tmp_path / "results.csv", tmp_path / which
    code, out, err = run_cli("run", data, "-m", mapping, "--sandbox", "-o", results,
                             "--state", state)  # fmt: skip
    other = {"a.csv": "FILE", "mapping.yaml": "--mapping"}.get(which)
    tail = ", which is read: write --state elsewhere" if other else ": give each its own path"
    assert (code, out) == (2, "")
    first = other or "--output"
    assert err == f"Error: --state {state} is the same file as {first} {state}{tail}\n"
    assert unchanged(data, mapping) and not results.exists()


def test_results_over_the_default_states_lock_are_refused(
    run_cli: Callable[..., tuple[int, str, str]], inputs: tuple[Path, Path]
) -> None:
    data, mapping = inputs
    lock = data.with_name("mapping.127.0.0.1-9.state.sqlite.lock")  # the mapping's, the API's
    code, _, err = run_cli("run", data, "-m", mapping, "--api-url", "http://127.0.0.1:9", "-o",
                           lock)  # fmt: skip
    assert code == 2
    assert err == (
        f"Error: --state's lock {lock} is the same file as --output {lock}: give each its own "
        "path\n"
    )


def test_outputs_through_a_symlinked_folder_are_one_file(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    one, two = tmp_path / "real" / "r.csv", tmp_path / "alias" / "r.csv"  # neither exists
    assert same_file(one, two) and not same_file(one, tmp_path / "real" / "s.csv")
    with pytest.raises(ConfigError, match=r"--log-file .* is the same file as --output"):
        check_outputs([], [("--output", one), ("--summary-json", None), ("--log-file", two)])


def test_distinct_files_pass(tmp_path: Path) -> None:
    names = ["FILE", "--mapping", "--output", "--report"]
    paths = [tmp_path / n.strip("-") for n in names]
    paths[0].write_text("x")
    check_outputs(list(zip(names[:2], paths[:2], strict=True)),
                  list(zip(names[2:], paths[2:], strict=True)))  # fmt: skip


def test_a_new_summary_is_its_owners_alone_and_a_replaced_one_keeps_its_mode(
    tmp_path: Path,
) -> None:
    new, shared = tmp_path / "new.json", tmp_path / "shared.json"
    shared.write_text("{}", encoding="utf-8")
    shared.chmod(0o644)  # its owner chose it
    (tmp_path / f".new.json.{os.getpid()}.tmp").write_text("", encoding="utf-8")  # a killed run's
    old = os.umask(0o022)
    try:
        write_summary(new, {"rows": 1})
        write_summary(shared, {"rows": 2})
    finally:
        os.umask(old)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644
    assert json.loads(shared.read_text("utf-8")) == {"rows": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "shared.json"]
