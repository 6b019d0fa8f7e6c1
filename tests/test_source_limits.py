"""importer.read on hostile files: every scan bounded, every refusal one line naming the limit.

The memory each case takes is measured by benchmarks/bad_input_bench.py; here, the two cases that
used to read a whole multi-gigabyte "line" run under an address-space limit, so a regression
fails instead of passing slowly.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from importer.core.errors import SourceError
from importer.read.delimited import (
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_LINE_CHARS,
    MAX_ROW_BYTES,
    open_csv,
    shown_name,
)

MAPPING = "customer:\n  emails:\n    - {column: Email}\n"


def refusal(path: Path) -> str:
    with pytest.raises(SourceError) as caught:
        list(open_csv(path))
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) < 400
    return message


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(refusal(fifo)), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # it blocked in open(): let it go, then fail
        with open(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK), "wb"):
            pass
        pytest.fail("open_csv blocked on a FIFO")
    assert found == [
        f"{fifo}: is a named pipe, not a regular file: save the export to a file and pass that file"
    ]


def test_a_symlink_to_a_regular_file_is_read(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("Email\na@example.com\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(real)
    assert open_csv(tmp_path / "link.csv").columns == ["Email"]


def test_a_line_over_the_limit_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    with path.open("w", encoding="ascii") as fh:
        fh.write("Email,Note\na@example.com,short\n")
        fh.write("b@example.com," + "x" * (MAX_LINE_CHARS + 10) + "\nc@example.com,y\n")
    assert refusal(path) == (
        f"{path}, line 3: the line is longer than 16 MB: is this a CSV? (a CSV has one row per "
        "line; check the file is a text export)"
    )


def test_a_line_just_under_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    cell = "x" * (MAX_FIELD_CHARS - 10)
    path.write_text(f"Email,Note\na@example.com,{cell}\n", encoding="ascii")
    (chunk,) = list(open_csv(path))
    assert chunk.frame.loc[1, "Note"] == cell


def test_a_field_over_the_limit_is_refused_naming_its_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    cell = "lorem ipsum\n" * (MAX_FIELD_CHARS // 12 + 10)
    path.write_text(f'Email,Note\na@example.com,ok\nb@example.com,"{cell}"\n', encoding="ascii")
    assert refusal(path) == (
        f"{path}: data row 2 has a field longer than 1 MB in column 'Note': is a quote opened "
        "and never closed? (Help Scout keeps no field that long: shorten the cell or delete the "
        "column)"
    )


def test_a_run_that_meets_an_unreadable_row_before_sending_is_refused(
    tmp_path: Path, invoke
) -> None:
    """Exit 2 and 'nothing was sent', not 3 and 'the same command resumes': it never would."""
    path = tmp_path / "in.csv"
    cell = "lorem ipsum\n" * (MAX_FIELD_CHARS // 12 + 10)
    path.write_text(f'Email,Note\na@example.com,ok\nb@example.com,"{cell}"\n', encoding="ascii")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "customer:\n  background: Note\n  emails: [{column: Email, type: work}]\n", "utf-8"
    )
    summary = tmp_path / "summary.json"
    result = invoke("run", path, "-m", mapping, "--sandbox", "-o", tmp_path / "r.csv",
                    "--summary-json", summary)  # fmt: skip
    assert result.exit_code == 2
    assert "data row 2 has a field longer than 1 MB" in result.stderr
    assert "Nothing was sent: fix the file" in result.stderr and "resume" not in result.stderr
    assert json.loads(summary.read_text("utf-8"))["outcome"] == "refused"


def test_a_row_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    cell = "lorem ipsum dolor\n" * (2 * MAX_ROW_BYTES // 18 + 10)
    path.write_text(f'Email,Note\na@example.com,"{cell}"\n', encoding="ascii")
    assert refusal(path) == (
        f"{path}: data row 1 is longer than 16 MB: is a quote opened and never closed? (inside "
        'a quoted field write each " as "")'
    )


def test_a_long_field_in_a_column_not_selected_costs_nothing_and_is_not_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f'Email,Note\na@example.com,"{"x" * (MAX_FIELD_CHARS + 10)}"\n', "ascii")
    (chunk,) = list(open_csv(path).select(["Email"]))
    assert chunk.frame.to_dict("records") == [{"Email": "a@example.com"}]


def test_an_unclosed_quote_on_one_long_line_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('Email,Note\na@example.com,"' + "x" * 5_000_000 + "\n", encoding="ascii")
    assert refusal(path) == (
        f"{path}, line 2: a quoted field starts on this line and is never closed: add the closing "
        '" or write each " inside it as ""'
    )


@pytest.mark.parametrize(
    ("columns", "said"), [(MAX_COLUMNS + 1, "10,001"), (100_000, "more than 40,000")]
)
def test_too_many_columns_are_refused(tmp_path: Path, columns: int, said: str) -> None:
    path = tmp_path / "in.csv"
    header = ",".join(["Email", *(f"c{i}" for i in range(1, columns))])
    path.write_text(header + "\n" + "," * (columns - 1) + "\n", encoding="ascii")
    assert refusal(path) == (
        f"{path}, line 1: the header has {said} columns, and at most 10,000 are read: is this a "
        "CSV? (if its delimiter is not the one detected, pass --delimiter)"
    )


def test_as_many_columns_as_allowed_are_read(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS))
    path.write_text(header + "\n" + "x," * (MAX_COLUMNS - 1) + "y\n", encoding="ascii")
    source = open_csv(path).select(["c0", f"c{MAX_COLUMNS - 1}"])
    (chunk,) = list(source)
    assert chunk.frame.to_dict("records") == [{"c0": "x", f"c{MAX_COLUMNS - 1}": "y"}]


def test_a_header_name_over_the_field_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('Email,"' + "N" * (MAX_FIELD_CHARS + 1) + '"\na,b\n', encoding="ascii")
    assert refusal(path) == (
        f"{path}, line 1: the header has a field longer than 1 MB: is this a CSV? (or a quote "
        "in the header is never closed)"
    )


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Email", "'Email'"), ("x" * 60, "'" + "x" * 60 + "'"), ("x" * 61, "'" + "x" * 59 + "…'")],
)
def test_shown_name_cuts_long_names(name: str, shown: str) -> None:
    assert shown_name(name) == shown


def test_select_keeps_only_the_columns_asked_for_and_still_finds_ragged_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n", encoding="ascii")
    source = open_csv(path).select(["c", "a"])
    assert source.columns == ["a", "b", "c"]
    assert source.frame_columns == ["a", "c"]
    (chunk,) = list(source)
    assert chunk.frame.to_dict("index") == {1: {"a": "1", "c": "3"}, 3: {"a": "8", "c": "10"}}
    assert [(r.row, r.actual) for r in chunk.ragged] == [(2, 4)]
    with pytest.raises(ValueError, match="nope"):
        source.select(["a", "nope"])


def test_chunks_end_at_chunk_bytes_before_chunk_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a,b\n" + "".join(f"{i},{'x' * 100}\n" for i in range(2000)), "ascii")
    sizes = [len(c.frame) for c in open_csv(path, chunk_bytes=20_000, block_size=4096)]
    assert sum(sizes) == 2000
    assert len(sizes) > 5
    assert max(sizes) < 2000 // 5


# --- in a child process under a memory limit -------------------------------------------------
LIMIT = 2 << 30  # address space: the interpreter with pandas and pyarrow needs about 0.8 GB


def run_limited(
    path: Path, tmp_path: Path, *more: str, command: str = "validate"
) -> subprocess.CompletedProcess[str]:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    command_line = [sys.executable, "-m", "importer", command, str(path), "-m", str(mapping)]
    return subprocess.run(
        [*command_line, *more],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
        check=False,
    )


def test_a_sparse_2_gb_file_is_refused_at_its_nul_line_within_bounded_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sparse.csv"
    with path.open("wb") as fh:
        fh.write(b"Email,Name\na@example.com,Ann\n")
        fh.truncate(2 << 30)
    done = run_limited(path, tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"Error: {path}, line 3: contains a NUL byte, so it is not plain text: if it is UTF-16 "
        "without a byte-order mark pass --encoding utf-16-le, else export it again as CSV\n"
    )


def test_200_mb_without_a_line_break_is_refused_within_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("w", encoding="ascii") as fh:
        fh.write("Email,")
        for _ in range(200):
            fh.write("abcdefghij" * 100_000)
    done = run_limited(path, tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"Error: {path}, line 1: the line is longer than 16 MB")
    assert done.stderr.count("\n") == 1


def test_a_row_over_the_limit_ends_the_process_with_its_one_line(tmp_path: Path) -> None:
    """pyarrow's reader, kept alive by the error's traceback, once aborted the exit."""
    path = tmp_path / "in.csv"
    cell = "lorem ipsum dolor\n" * (2 * MAX_ROW_BYTES // 18 + 10)
    path.write_text(f'Email,Note\na@example.com,"{cell}"\n', encoding="ascii")
    done = run_limited(path, tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"Error: {path}: data row 1 is longer than 16 MB: is a quote opened and never closed? "
        '(inside a quoted field write each " as "")\n'
    )


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_stream_ends_in_one_line_and_exit_2(tmp_path: Path, kind: str, command: str) -> None:
    if kind == "fifo":
        path = tmp_path / "export.csv"
        os.mkfifo(path)
        said = "a named pipe"
    else:
        path = Path("/dev/zero")
        if not path.exists():
            pytest.skip("no /dev/zero here")
        said = "a device or socket"
    more = ["--sandbox", "-o", str(tmp_path / "results.csv")] if command == "run" else []
    done = run_limited(path, tmp_path, *more, command=command)  # times out if it blocks
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"Error: {path}: is {said}, not a regular file: save the export to a file and pass "
        "that file\n"
    )
