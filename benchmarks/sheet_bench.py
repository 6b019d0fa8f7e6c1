"""Validate an N-row .xlsx and compare with python-calamine alone reading the same sheet.

    python benchmarks/sheet_bench.py [--rows 1000000] [--cache DIR]

The workbook (validate_bench's customers, seats as numbers) is written once with xlsxwriter in
constant-memory mode (``pip install .[bench]``) and kept in ``--cache`` (default: the system's
temporary folder), since writing a million rows takes minutes. Prints the seconds, CPU seconds
and peak RSS of ``helpscout-import validate`` (start-up included) and of a Python process doing
only what the reader must do (calamine loads the sheet and hands every row to Python), and their
ratios; each figure is one fresh child process (the CPU time, user and system, is the steadier
figure on a machine shared with other work). Targets (DESIGN.md): ratio <= 2, validate < 600 MB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout, as a script or as python -m benchmarks
    sys.path.insert(0, str(ROOT))

from benchmarks.validate_bench import HEADER, MAPPING, compile_importer, measure, people  # noqa: E402


def measured(command: list[str]) -> tuple[float, float, float, str]:
    """:func:`measure`'s (seconds, peak MB, last line), with the child's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, mb, note = measure(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, cpu, mb, note


CALAMINE_READ = """
import sys, time, python_calamine
start = time.perf_counter()
sheet = python_calamine.load_workbook(sys.argv[1]).get_sheet_by_index(0)
rows = sum(1 for _ in sheet.iter_rows())
print(f"{rows - 1:,} rows in {time.perf_counter() - start:.2f} s")
"""


def workbook(path: Path, rows: int) -> None:
    """The customers as a spreadsheet types them (seats as numbers), written row by row."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_urls": False})
    sheet = book.add_worksheet("Customers")
    sheet.write_row(0, 0, HEADER)
    for r, person in enumerate(people(rows), 1):
        seats = person[-1]
        sheet.write_row(r, 0, [*person[:-1], int(seats) if seats.isdigit() else seats])
    book.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    path = args.cache / f"helpscout-bench-{args.rows}.xlsx"
    if not path.is_file():
        start = time.perf_counter()
        partial = path.with_suffix(".partial.xlsx")
        workbook(partial, args.rows)
        partial.rename(path)
        print(f"wrote {path} ({args.rows:,} rows x {len(HEADER)} columns) in "
              f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    print(f"workbook: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    with tempfile.TemporaryDirectory() as tmp:
        mapping = Path(tmp) / "mapping.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        compile_importer()
        v_sec, v_cpu, v_mb, v_note = measured(
            [sys.executable, "-m", "importer", "validate", str(path), "-m", str(mapping)]
        )
    c_sec, c_cpu, c_mb, c_note = measured([sys.executable, "-c", CALAMINE_READ, str(path)])
    # python -m benchmarks reads the seconds and peak RSS of these lines: CPU comes after them.
    print(f"validate:            {v_sec:7.2f} s  peak RSS {v_mb:6.0f} MB  CPU {v_cpu:6.2f} s   "
          f"({v_note})")  # fmt: skip
    print(f"calamine read:       {c_sec:7.2f} s  peak RSS {c_mb:6.0f} MB  CPU {c_cpu:6.2f} s   "
          f"({c_note})")  # fmt: skip
    print(f"ratio validate/read: {v_sec / c_sec:7.2f}   CPU {v_cpu / c_cpu:5.2f}   (target <= 2)")
    verdict = "OK" if v_sec / c_sec <= 2 and v_mb < 600 else "MISSED"
    print(f"targets: {verdict} (time <= 2x calamine's read, peak RSS < 600 MB)")


if __name__ == "__main__":
    main()
