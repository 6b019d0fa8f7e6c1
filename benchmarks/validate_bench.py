"""Validate N generated rows beside pandas and pyarrow merely reading the same file.

    python benchmarks/validate_bench.py [--rows 1000000] [--keep FILE] [--report .html ...]

Prints, each from one fresh child process run side by side: the seconds and peak RSS of
``helpscout-import validate FILE -m MAPPING --report out.html`` (start-up, reading, mapping,
checks and the HTML report), of a process doing only ``pandas.read_csv(path, dtype=str)``, and
of one reading every batch of ``pyarrow.csv.open_csv`` with every column as text; then the two
ratios and whether they hold. Each ``--report SUFFIX`` (``.csv``, ``.json``, ``.html``) adds a
run writing that report, and ``--rejects`` one writing the rejects file.
Targets (issue 20): validate <= 1.0x pandas and <= 3x pyarrow, peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HEADER = [
    "First Name", "Last Name", "Email", "Personal Email", "Phone", "Mobile", "Company", "Title",
    "Street", "City", "Zip", "Country", "Website", "Plan", "Signed Up", "Seats",
]  # fmt: skip
MAPPING = """\
customer:
  firstName: First Name
  lastName: Last Name
  jobTitle: {column: Title, transform: [title]}
  organization: Company
  emails:
    - {column: Email, type: work}
    - {column: Personal Email, type: home}
  phones:
    - {column: Phone, type: work}
    - {column: Mobile, type: mobile}
  websites:
    - {column: Website}
  address:
    lines: [Street]
    city: City
    postalCode: Zip
    country: {column: Country, transform: [country_code]}
  properties:
    plan: {column: Plan, type: text}
    signup-date: {column: Signed Up, type: date, format: "%d/%m/%Y"}
    seats: {column: Seats, type: number}
"""
FIRST = ["Ana", "Bruno", "Chloé", "Dmitri", "Emeka", "Fatima", "Giulia", "Hiroshi", "Ingrid"]
LAST = ["Almeida", "Berger", "Chen", "Dubois", "Eze", "Fischer", "García", "Hoffmann"]
COUNTRIES = ["Germany", "US", "France", "United Kingdom", "JPN", "Canada", "Brazil", "Atlantis"]


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """A customers file with about 1% of rows breaking a rule, as real exports do."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(people(rows, seed))


def people(rows: int, seed: int = 1) -> Iterator[list[str]]:
    """The rows of :func:`generate` (the sheet benchmark writes them into a workbook)."""
    rnd = random.Random(seed)
    for i in range(rows):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        bad = rnd.random() < 0.01
        yield [
            first, last,
            f"{first.lower()}.{i}@example.com" if not bad else f"{first}@@example.com",
            f"{i}@mail.example.org" if i % 3 == 0 else "",
            f"+1 415 555 {i % 10000:04d}", "" if i % 4 else f"0170 {i:07d}",
            f"Company {i % 5000}", "support lead", f"{i % 999} Main Street",
            "Springfield", f"{i % 99999:05d}", rnd.choice(COUNTRIES),
            f"https://www.site{i % 777}.example.com/", rnd.choice(["free", "pro"]),
            f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/20{rnd.randint(10, 24)}",
            str(rnd.randint(1, 500)) if not bad else "many",
        ]  # fmt: skip


def measure(command: list[str]) -> tuple[float, float, str]:
    """Run ``command`` as a child process: (wall seconds, its peak RSS in MB, its last line)."""
    seconds, _, peak, last = measure_cpu(command)
    return seconds, peak, last


def measure_cpu(command: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS in MB, last line) of ``command`` as a child process.

    CPU seconds (user + system) move less than wall time on a machine others share."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{command[2:4]} failed: {out}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, (out.strip().splitlines() or [""])[-1]


PANDAS_READ = """
import sys, time, pandas as pd
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
print(f"{len(frame):,} rows in {time.perf_counter() - start:.2f} s")
"""
# pyarrow's streaming reader as it comes (its own threads), every column as text, every batch read
PYARROW_READ = """
import sys, time, pyarrow as pa, pyarrow.csv as pacsv
start = time.perf_counter()
names = pacsv.open_csv(sys.argv[1]).schema.names
text = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()))
rows = sum(batch.num_rows for batch in pacsv.open_csv(sys.argv[1], convert_options=text))
print(f"{rows:,} rows in {time.perf_counter() - start:.2f} s")
"""
#: validate's time at most this many times each reader's (issue 20).
TARGETS = {"pandas": 1.0, "pyarrow": 3.0}
PEAK_MB = 300


def verdicts(seconds: float, peak_mb: float, readers: dict[str, float]) -> dict[str, bool]:
    """Which targets hold: each reader's ratio, and the peak RSS."""
    held = {name: seconds / readers[name] <= limit for name, limit in TARGETS.items()}
    return {**held, "peak RSS": peak_mb < PEAK_MB}


def compile_importer() -> None:
    """Compile the importer's modules, as ``pip install`` does: a checkout run with
    PYTHONDONTWRITEBYTECODE set would compile them again at every start (0.06 s a run)."""
    found = subprocess.run(
        [sys.executable, "-c", "import importer; print(importer.__file__)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    compileall.compile_dir(Path(found.stdout.strip()).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--keep", type=Path, help="write the generated CSV here and keep it (reused if it exists)"
    )
    parser.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="SUFFIX",
        help="also time validate --report with this format (repeatable)",
    )
    parser.add_argument("--rejects", action="store_true", help="also time validate --rejects")
    args = parser.parse_args()
    extra: list[tuple[str, list[str]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "customers.csv"
        mapping = Path(tmp) / "mapping.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        start = time.perf_counter()
        if not path.exists():
            generate(path, args.rows)
        size = path.stat().st_size / 1e6
        compile_importer()
        print(f"{path}: {args.rows:,} rows x {len(HEADER)} columns ({size:.0f} MB), ready "
              f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
        base = [sys.executable, "-m", "importer", "validate", str(path), "-m", str(mapping)]
        # side by side, each a fresh process: the whole command as a user runs it (start-up,
        # imports, the console summary and the HTML report included), then the two readers
        page = Path(tmp) / "report.html"
        v_sec, v_cpu, v_mb, v_note = measure_cpu([*base, "--report", str(page)])
        p_sec, p_cpu, p_mb, _ = measure_cpu([sys.executable, "-c", PANDAS_READ, str(path)])
        a_sec, a_cpu, a_mb, _ = measure_cpu([sys.executable, "-c", PYARROW_READ, str(path)])
        for suffix in args.report:
            out = Path(tmp) / f"report{suffix}"
            sec, mb, _ = measure([*base, "--report", str(out)])
            extra.append((f"validate --report {suffix}", _figures(sec, mb, out)))
        if args.rejects:
            out = Path(tmp) / "rejects.csv"
            sec, mb, _ = measure([*base, "--rejects", str(out)])
            extra.append(("validate --rejects", _figures(sec, mb, out)))
    print(f"validate:            {v_sec:7.2f} s  peak RSS {v_mb:6.0f} MB  cpu {v_cpu:6.2f} s  "
          f"({v_note}; HTML report)")  # fmt: skip
    for name, figures in extra:
        print(f"{name + ':':<21}{'  '.join(figures)}")
    print(f"pandas read (str):   {p_sec:7.2f} s  peak RSS {p_mb:6.0f} MB  cpu {p_cpu:6.2f} s")
    print(f"pyarrow stream read: {a_sec:7.2f} s  peak RSS {a_mb:6.0f} MB  cpu {a_cpu:6.2f} s")
    held = verdicts(v_sec, v_mb, {"pandas": p_sec, "pyarrow": a_sec})
    for name, seconds, cpu in (("pandas", p_sec, p_cpu), ("pyarrow", a_sec, a_cpu)):
        ratio = f"ratio validate/{name}:"
        verdict = "held" if held[name] else "NOT HELD"
        print(f"{ratio:<21}{v_sec / seconds:7.2f}   (target <= {TARGETS[name]:g}: {verdict}; "
              f"in CPU seconds {v_cpu / cpu:.2f})")  # fmt: skip
    print(f"peak RSS:            {v_mb:7.0f} MB (target < {PEAK_MB}: "
          f"{'held' if held['peak RSS'] else 'NOT HELD'})")  # fmt: skip
    print(f"targets: {'OK' if all(held.values()) else 'MISSED'}")
    sys.exit(0)


def _figures(seconds: float, peak_mb: float, out: Path) -> list[str]:
    return [
        f"{seconds:7.2f} s",
        f"peak RSS {peak_mb:6.0f} MB",
        f"({out.stat().st_size / 1e6:.0f} MB)",
    ]


if __name__ == "__main__":
    main()
