"""The reader's guards (issue 17), through the command line and the library: broken bytes, a file
still being written, impossible encodings, a skip past the end, rows of empty cells, and a
rejects file read back with the export's row numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from importer import import_csv
from importer.core.options import ImportOptions
from importer.read.renumber import export_rows
from importer.sandbox import Sandbox, SandboxConfig
from importer.send.auth import Credentials

Invoke = Callable[..., Result]
Rows = Callable[[Path], list[dict[str, str]]]
MAPPING_TEXT = """\
customer:
  firstName: First Name
  lastName: Last Name
  emails:
    - {column: Email, type: work}
"""


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING_TEXT, encoding="utf-8")
    return path


def people(count: int, start: int = 1) -> list[str]:
    return [f"Ann{i},Lee,ann{i}@example.com" for i in range(start, start + count)]


def export(tmp_path: Path, lines: list[str], name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(["First Name,Last Name,Email", *lines]) + "\n", encoding="utf-8")
    return path


# --- impossible encodings, a skip past the end ------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        ("utf-16", "UTF-16 stream does not start with BOM"),
        ("utf-32", "UTF-32 stream does not start with BOM"),
        ("utf-16-le", "its line breaks are not line breaks in that encoding"),
        ("cp037", "its line breaks are not line breaks in that encoding"),
    ],
)
def test_an_encoding_the_file_cannot_be_in_is_one_line_exit_2(
    invoke: Invoke, mapping: Path, tmp_path: Path, encoding: str, reason: str
) -> None:
    path = export(tmp_path, people(3))
    for command in ("validate", "run"):
        args = [command, path, "-m", mapping, "--encoding", encoding]
        result = invoke(*args, *(["--sandbox", "-o", tmp_path / "r.csv"] * (command == "run")))
        assert (result.exit_code, result.stderr) == (
            2,
            f"Error: {path}: cannot be read as {encoding} ({reason}): pass the file's encoding, "
            "or leave --encoding out to detect it\n",
        )


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--encoding", "klingon", "unknown encoding 'klingon': pass a name Python knows, such as "
         "utf-8, cp1252, latin-1 or utf-16"),
        ("--skip-lines", "99999999", "--skip-lines 99999999 skips past the end of the file (it "
         "has 4 lines): give the number of lines before the header, or leave --skip-lines out "
         "to detect it"),
    ],
)  # fmt: skip
def test_a_reading_option_the_file_cannot_take_is_one_line_exit_2(
    invoke: Invoke, mapping: Path, tmp_path: Path, option: str, value: str, says: str
) -> None:
    path = export(tmp_path, people(3))
    result = invoke("validate", path, "-m", mapping, option, value)
    assert (result.exit_code, result.stderr) == (2, f"Error: {path}: {says}\n")


# --- rows of empty cells ------------------------------------------------------------------------
def test_a_row_of_empty_cells_is_a_blank_line_not_a_row(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Invoke,
    read_rows: Rows,
    mapping: Path,
    tmp_path: Path,
) -> None:
    path = export(tmp_path, [*people(2), ",,", '"","",""', " , ,", *people(2, start=3)])
    result = invoke("validate", path, "-m", mapping)
    assert (result.exit_code, result.stdout) == (
        0,
        "4 rows read: 4 valid, 0 invalid, 0 warnings.\n",
    )
    box = serve_sandbox()
    results = tmp_path / "results.csv"
    result = invoke("run", path, "-m", mapping, "-o", results, "--yes", env=sandbox_env(box))
    assert result.exit_code == 0, result.output
    assert [(line["row"], line["status"]) for line in read_rows(results)] == [
        ("1", "created"), ("2", "created"), ("3", "created"), ("4", "created")
    ]  # fmt: skip
    emails = sorted(c["emails"][0]["value"] for c in box.state.customers.values())
    assert emails == [f"ann{i}@example.com" for i in range(1, 5)]


# --- a file that changes while it is read -------------------------------------------------------
def test_a_file_still_being_written_stops_the_run_before_its_half_last_line(
    serve_sandbox: Callable[..., Sandbox], read_rows: Rows, tmp_path: Path
) -> None:
    """The export is appended to while the run reads it (here: when the run says the account's
    property type differs, after the file was opened and before its rows are read)."""
    path = tmp_path / "export.csv"
    path.write_text("First Name,Last Name,Email,Seats\nAnn,Lee,ann@example.com,3\nZed,Doe,zed@"
                    "example.co", encoding="utf-8")  # fmt: skip
    (tmp_path / "m.yaml").write_text(
        MAPPING_TEXT + "  properties:\n    seats: {column: Seats, type: text}\n", encoding="utf-8"
    )
    box = serve_sandbox(SandboxConfig())

    def notice(message: str) -> None:
        with path.open("a", encoding="utf-8") as fh:
            fh.write("m,4\n")

    result = import_csv(path, tmp_path / "m.yaml", tmp_path / "results.csv",
                        ImportOptions(api_url=box.url, state=tmp_path / "s.sqlite"),
                        credentials=Credentials(box.app_id, box.app_secret),
                        notice=notice)  # fmt: skip
    assert result.exit_code == 3
    assert result.stopped is not None
    assert result.stopped.startswith(f"{path} changed while it was read (size=")
    assert result.stopped.endswith(
        "it is still being written; the rows after the last ones sent were not imported. Wait "
        "until the export is complete, then run the same command"
    )
    assert box.state.customers == {}  # zed@example.co never went out
    assert all(line["status"] != "created" for line in read_rows(tmp_path / "results.csv"))


# --- encodings ------------------------------------------------------------------------------------
def test_a_utf8_file_with_one_broken_byte_imports_the_rest_as_utf8(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Invoke,
    read_rows: Rows,
    mapping: Path,
    tmp_path: Path,
) -> None:
    path = export(tmp_path, [f"Zoë{i},Müller,zoe{i}@example.com" for i in range(1, 21)])
    path.write_bytes(path.read_bytes().replace(b"Zo\xc3\xab12,", b"Zo\xeb12,"))
    box = serve_sandbox()
    results = tmp_path / "results.csv"
    result = invoke("run", path, "-m", mapping, "-o", results, "--yes", "-q",
                    env=sandbox_env(box))  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == f"Error: 1 row not imported (1 invalid, 0 failed): see {results}\n"
    lines = read_rows(results)
    assert lines[11]["status"] == "invalid"
    assert lines[11]["error"] == (
        "line 13: byte 0xEB is not UTF-8, while the rest of the file is: fix the cell (retype its "
        "accented letters), or pass --encoding if the whole file is in another encoding"
    )
    names = {(c["firstName"], c["lastName"]) for c in box.state.customers.values()}
    assert len(names) == 19 and ("Zoë1", "Müller") in names


def test_a_cp1252_guess_is_said_even_with_quiet(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Invoke,
    mapping: Path,
    tmp_path: Path,
) -> None:
    path = tmp_path / "export.csv"
    lines = ["First Name,Last Name,Email", *(f"Zoë{i},Müller,z{i}@example.com" for i in range(9))]
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    box = serve_sandbox()
    result = invoke("run", path, "-m", mapping, "-o", tmp_path / "r.csv", "--yes", "-q",
                    env=sandbox_env(box))  # fmt: skip
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == (
        "Warning: file is not UTF-8 (byte 0xEB on line 2); read it as cp1252: pass --encoding to "
        "choose another\n"
    )
    assert {c["lastName"] for c in box.state.customers.values()} == {"Müller"}


# --- a rejects file read back ---------------------------------------------------------------------
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "customers.csv"
EXAMPLE = Path(__file__).resolve().parent.parent / "mappings" / "example.yaml"
SAMPLE_INVALID = [12, 15, 18, 21, 23, 26, 28, 34, 37]


@pytest.mark.parametrize(
    ("cells", "numbers"),
    [
        (["12", "15", " 37 "], [12, 15, 37]),
        (["12", "12"], None),
        (["15", "12"], None),
        (["12", ""], None),
        (["0"], None),
        (["12.0"], None),
        ([], []),
    ],
)
def test_the_row_column_of_a_rejects_file_renumbers_it_only_when_it_can(
    cells: list[str], numbers: list[int] | None
) -> None:
    assert export_rows(cells) == numbers


def test_a_rejects_file_read_back_keeps_the_exports_row_numbers(
    serve_sandbox: Callable[..., Sandbox],
    sandbox_env: Callable[..., dict[str, str | None]],
    invoke: Invoke,
    read_rows: Rows,
    tmp_path: Path,
) -> None:
    rejects = tmp_path / "fix.csv"
    assert invoke("validate", SAMPLE, "-m", EXAMPLE, "--rejects", rejects).exit_code == 1
    result = invoke("validate", rejects, "-m", EXAMPLE, "--report", tmp_path / "issues.csv")
    assert result.exit_code == 1
    assert "9 rows read: 1 valid, 8 invalid, 0 warnings." in result.stdout.splitlines()
    reported = {int(line["row"]) for line in read_rows(tmp_path / "issues.csv")}
    assert reported <= set(SAMPLE_INVALID) and 12 in reported
    box = serve_sandbox()
    results = tmp_path / "results.csv"
    result = invoke("run", rejects, "-m", EXAMPLE, "-o", results, "--yes", env=sandbox_env(box))
    assert result.exit_code == 1
    assert [int(line["row"]) for line in read_rows(results)] == SAMPLE_INVALID


def test_a_rejects_file_whose_rows_were_reordered_is_numbered_as_it_stands(
    invoke: Invoke, mapping: Path, tmp_path: Path
) -> None:
    path = tmp_path / "fix.csv"
    path.write_text("row,error,First Name,Last Name,Email\n15,x,Ann,Lee,ann@example.com\n"
                    "12,y,Bo,Lee,bo@@example.com\n", encoding="utf-8")  # fmt: skip
    result = invoke("validate", path, "-m", mapping)
    assert result.exit_code == 1
    assert result.stdout.startswith("row 2, Email: error: email:")
    assert result.stderr == (
        "Warning: the file starts with the columns row and error, as a rejects file does, but "
        "its row column does not hold increasing row numbers: its rows are numbered as they "
        "stand\n"
    )
