"""The reports on a file where every row has something wrong: time and peak memory.

    python benchmarks/report_bench.py [--rows 1000000]

Generates N rows, each with an issue (an address with two @, a first name too long by 1 to 9
characters, every tenth row a duplicate email), and runs ``helpscout-import validate`` on it as a
child process: without a report, with ``--report`` .html, .csv and .json, and with ``--rejects``.
Prints each run's seconds, peak RSS and the size of what it wrote. The HTML page must stay
bounded (a few MB, whatever N) and no run may hold the issues in memory: peak RSS < 300 MB
(DESIGN.md's validate target), as without a report.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

from validate_bench import measure

MAPPING = """\
customer:
  firstName: First Name
  lastName: Last Name
  emails: [{column: Email, type: work}]
  phones: [{column: Phone, type: work}]
"""


def generate(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", "Last Name", "Email", "Phone"])
        for i in range(rows):
            email = f"p{i - 1}@example.com" if i % 10 == 9 else f"p{i}@@example.com"
            writer.writerow(["N" * (41 + i % 9), f"Last{i}", email, f"+1 415 555 {i % 10000:04d}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, mapping = Path(tmp) / "bad.csv", Path(tmp) / "mapping.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        start = time.perf_counter()
        generate(data, args.rows)
        took, size = time.perf_counter() - start, data.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows, every one with an issue ({size:.0f} MB) in {took:.1f} s"
        )
        base = [sys.executable, "-m", "importer", "validate", str(data), "-m", str(mapping)]
        worst = 0.0
        for name, extra in [
            ("no report", []),
            ("--report .html", ["--report", str(Path(tmp) / "r.html")]),
            ("--report .csv", ["--report", str(Path(tmp) / "r.csv")]),
            ("--report .json", ["--report", str(Path(tmp) / "r.json")]),
            ("--rejects", ["--rejects", str(Path(tmp) / "rejects.csv")]),
        ]:
            seconds, mb, note = measure([*base, *extra])
            written = Path(extra[1]).stat().st_size / 1e6 if extra else 0.0
            worst = max(worst, mb)
            print(f"{name:<16}{seconds:7.2f} s  peak RSS {mb:5.0f} MB  wrote {written:8.2f} MB"
                  f"   ({note})")  # fmt: skip
    print(f"targets: {'OK' if worst < 300 else 'MISSED'} (peak RSS < 300 MB)")


if __name__ == "__main__":
    main()
