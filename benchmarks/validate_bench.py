"""Validate N generated rows and compare with pandas alone reading the same file.

    python benchmarks/validate_bench.py [--rows 1000000] [--keep FILE] [--report .html ...]

Prints the seconds of ``helpscout-import validate`` (read, map, check, no report; start-up
included), the seconds of a Python process doing only ``pandas.read_csv(path, dtype=str)`` (C
engine), their ratio, and the peak RSS of each: every figure is one fresh child process.
Each ``--report SUFFIX`` (``.csv``, ``.json``, ``.html``) adds a run that also writes that report,
and ``--rejects`` one that writes the rejects file, with their seconds and peak RSS.
Targets (DESIGN.md): ratio <= 3, validate peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
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
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{command[2:4]} failed: {out}")
    return seconds, usage.ru_maxrss / 1024, (out.strip().splitlines() or [""])[-1]


PANDAS_READ = """
import sys, time, pandas as pd
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
print(f"{len(frame):,} rows in {time.perf_counter() - start:.2f} s")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the generated CSV here and keep it")
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
        generate(path, args.rows)
        size = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows x {len(HEADER)} columns ({size:.0f} MB) "
              f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
        # the whole command, as a user runs it: start-up, imports and the console summary included
        v_sec, v_mb, v_note = measure(
            [sys.executable, "-m", "importer", "validate", str(path), "-m", str(mapping)]
        )
        p_sec, p_mb, _ = measure([sys.executable, "-c", PANDAS_READ, str(path)])
        base = [sys.executable, "-m", "importer", "validate", str(path), "-m", str(mapping)]
        for suffix in args.report:
            out = Path(tmp) / f"report{suffix}"
            sec, mb, _ = measure([*base, "--report", str(out)])
            extra.append(
                (
                    f"validate --report {suffix}",
                    [
                        f"{sec:7.2f} s",
                        f"peak RSS {mb:6.0f} MB",
                        f"({out.stat().st_size / 1e6:.0f} MB)",
                    ],
                )
            )
        if args.rejects:
            out = Path(tmp) / "rejects.csv"
            sec, mb, _ = measure([*base, "--rejects", str(out)])
            extra.append(
                (
                    "validate --rejects",
                    [
                        f"{sec:7.2f} s",
                        f"peak RSS {mb:6.0f} MB",
                        f"({out.stat().st_size / 1e6:.0f} MB)",
                    ],
                )
            )
    print(f"validate:            {v_sec:7.2f} s  peak RSS {v_mb:6.0f} MB   ({v_note})")
    for name, figures in extra:
        print(f"{name + ':':<21}{'  '.join(figures)}")
    print(f"pandas read (str):   {p_sec:7.2f} s  peak RSS {p_mb:6.0f} MB")
    print(f"ratio validate/read: {v_sec / p_sec:7.2f}   (target <= 3)")
    verdict = "OK" if v_sec / p_sec <= 3 and v_mb < 300 else "MISSED"
    print(f"targets: {verdict}")
    sys.exit(0)


if __name__ == "__main__":
    main()
