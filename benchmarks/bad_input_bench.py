"""Peak memory of ``validate`` on hostile files: each must end in one line, exit 2, under 300 MB.

    python benchmarks/bad_input_bench.py [--only NAME] [--limit-mb 2048]

Each case is one fresh child process (``python -m importer validate FILE -m MAPPING``) whose peak
RSS is read from ``wait4``; the child runs under an address-space limit (``--limit-mb``), so a
case that would grow for ever ends as "over the limit" instead of taking the machine down, and
under a time limit, so one that would block for ever (a FIFO with no writer) ends as "hung".
Target (DESIGN.md, issue 8): every hostile case exit 2 with one line on stderr, the wide file
that is allowed read with exit 0; peak RSS < 300 MB each.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

MAPPING = "customer:\n  emails:\n    - {column: Email}\n"
TARGET_MB = 300
TIMEOUT_S = 60


def sparse(path: Path) -> Path:
    """2 GB of zero bytes that take no disk: one endless "line" of NULs."""
    with path.open("wb") as fh:
        fh.truncate(2 * 1024**3)
    return path


def wide(path: Path) -> Path:
    """100,000 columns in 0.9 MB: a header of short names, then three rows of empty cells."""
    columns = 100_000
    header = ",".join(["Email", *(f"c{i}" for i in range(1, columns))])
    path.write_text(header + "\n" + ("," * (columns - 1) + "\n") * 3, encoding="ascii")
    return path


def unclosed_quote(path: Path) -> Path:
    """A quote opened on row 1 and never closed, 5 MB of lines after it."""
    body = "".join(f"name{i}@example.com,note {i}\n" for i in range(200_000))
    path.write_text('Email,Note\na@example.com,"never closed\n' + body, encoding="ascii")
    return path


def unclosed_quote_one_line(path: Path) -> Path:
    """The same, with no line break after the quote: 5 MB on one line."""
    path.write_text('Email,Note\na@example.com,"' + "x" * 5_000_000 + "\n", encoding="ascii")
    return path


def long_line(path: Path) -> Path:
    """200 MB of text with no line break: not a CSV."""
    with path.open("w", encoding="ascii") as fh:
        fh.write("Email,")
        block = "abcdefghij" * 100_000
        for _ in range(200):
            fh.write(block)
    return path


def long_field(path: Path) -> Path:
    """A well-quoted 50 MB cell (with line breaks in it) in an otherwise normal file."""
    cell = ("lorem ipsum dolor sit amet\n" * 2_000_000)[:50_000_000]
    path.write_text(f'Email,Note\na@example.com,"{cell}"\nb@example.com,short\n', "ascii")
    return path


def long_header_name(path: Path) -> Path:
    """A 20 MB column name (the mapping's column is not in the file, so it is quoted back)."""
    path.write_text("Mail," + "N" * 20_000_000 + "\na@example.com,x\n", encoding="ascii")
    return path


def field_over_limit(path: Path) -> Path:
    """A 2 MB quoted cell in the mapped column: a row within the limit, a field over it."""
    path.write_text(f'Email,Note\n"{"x" * 2_000_000}",note\n', encoding="ascii")
    return path


def wide_allowed(path: Path) -> Path:
    """10,000 columns (the most read) by 2,000 rows, 60 MB: read, not refused, memory flat."""
    columns = 10_000
    with path.open("w", encoding="ascii") as fh:
        fh.write(",".join(["Email", *(f"c{i}" for i in range(1, columns))]) + "\n")
        cells = ",".join(["xy"] * (columns - 1))
        for row in range(2000):
            fh.write(f"u{row}@example.com,{cells}\n")
    return path


def gzip_bomb(path: Path) -> Path:
    """256 MB of zero bytes in a 250 KB .csv.gz: refused while unpacking, not spooled whole."""
    path = path.with_name(path.name + ".gz")
    with gzip.open(path, "wb", compresslevel=1) as packed:
        for _ in range(256):
            packed.write(bytes(1 << 20))
    return path


def fifo(path: Path) -> Path:
    """A named pipe nobody writes to."""
    os.mkfifo(path)
    return path


def deep_json(path: Path) -> Path:
    """A JSON array nested 1,000,000 deep (2 MB): past Python's parser."""
    path.write_text("[" * 1_000_000 + "]" * 1_000_000, encoding="ascii")
    return path


def endless_vcard(path: Path) -> Path:
    """A vCard whose PHOTO folds on for 200 MB: one logical line, refused, not held."""
    with path.open("w", encoding="ascii") as fh:
        fh.write("BEGIN:VCARD\nVERSION:3.0\nPHOTO;ENCODING=b:")
        for _ in range(200):
            fh.write(" " + "QUJD" * (1 << 18) + "\n")
        fh.write("END:VCARD\n")
    return path


def big_page(path: Path) -> Path:
    """An "Excel" .xls that is a 120 MB web page: read whole, so refused before it is read."""
    row = "<tr><td>a@example.com</td><td>" + "x" * 1000 + "</td></tr>\n"
    with path.open("w", encoding="ascii") as fh:
        fh.write("<html><body><table><tr><th>Email</th><th>Note</th></tr>\n")
        for _ in range(120_000):
            fh.write(row)
    return path


#: name -> (the file, or how to make it; the exit code due)
CASES: dict[str, tuple[Callable[[Path], Path] | str, str]] = {
    "/dev/zero": ("/dev/zero", "2"),
    "2 GB sparse file": (sparse, "2"),
    "100,000 columns (0.9 MB)": (wide, "2"),
    "5 MB unclosed quote": (unclosed_quote, "2"),
    "5 MB unclosed quote, one line": (unclosed_quote_one_line, "2"),
    "200 MB without a line break": (long_line, "2"),
    "50 MB quoted cell": (long_field, "2"),
    "2 MB quoted cell": (field_over_limit, "2"),
    "20 MB column name": (long_header_name, "2"),
    "FIFO without a writer": (fifo, "2"),
    "gzip bomb (256 MB of NULs)": (gzip_bomb, "2"),
    "10,000 columns x 2,000 rows": (wide_allowed, "0"),
    "JSON nested 1,000,000 deep": (deep_json, "2"),
    "vCard line folded for 200 MB": (endless_vcard, "2"),
    "120 MB web page as .xls": (big_page, "2"),
}


def measure(file: str, mapping: Path, limit_mb: int) -> tuple[str, float, float, str]:
    """(exit code or what ended it, seconds, peak RSS in MB, stderr) of one validate child."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb * 1024**2, limit_mb * 1024**2))

    command = [sys.executable, "-m", "importer", "validate", file, "-m", str(mapping)]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=limits)
        deadline = start + TIMEOUT_S
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    if seconds > TIMEOUT_S:
        ended = "hung"
    elif "MemoryError" in stderr or "std::bad_alloc" in stderr:
        ended = f"over {limit_mb} MB"
    else:
        ended = str(code)
    return ended, seconds, usage.ru_maxrss / 1024, stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--limit-mb", type=int, default=2048, help="address-space limit")
    args = parser.parse_args()
    failed = 0
    print(f"{'case':32} {'exit':>6} {'seconds':>8} {'peak MB':>8}  stderr")
    with tempfile.TemporaryDirectory() as tmp:
        mapping = Path(tmp) / "mapping.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        for number, (name, (make, due)) in enumerate(CASES.items()):
            if args.only and args.only not in name:
                continue
            file = make if isinstance(make, str) else str(make(Path(tmp) / f"case{number}.csv"))
            ended, seconds, peak, stderr = measure(file, mapping, args.limit_mb)
            lines = stderr.splitlines()
            shown = (lines[-1] if lines else "")[:110]
            one_line = len(lines) == (1 if due == "2" else 0) and len(stderr) < 1000
            good = ended == due and one_line and peak < TARGET_MB
            failed += not good
            mark = "" if good else "  <-- MISSED"
            print(f"{name:32} {ended:>6} {seconds:8.2f} {peak:8.0f}  {shown}{mark}")
            print(f"{'':32} {'':>6} {'':>8} {'':>8}  ({len(lines)} lines, {len(stderr):,} chars)")
            if not isinstance(make, str):
                Path(file).unlink()
    print(f"targets: {'OK' if not failed else f'MISSED in {failed} cases'}")


if __name__ == "__main__":
    main()
