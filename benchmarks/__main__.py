"""Every benchmark, one table: figure, measured, target, held or not.

    python -m benchmarks [--rows 1000000] [--minutes 3] [--limit 1200] [--only NAME ...]
        [--markdown]

``--rows`` sizes the big-file benchmarks (validate, and ``run`` with no limit); ``--minutes`` is
how long each paced scenario imports (the budget's ``--limit``, a sliding window as on issue 10's
independent server). Each benchmark starts what it needs in its own processes and cleans up;
one that cannot run says why in its line, and the others still run. Exit status: 0 when every
figure held, 1 otherwise. The benchmarks, in the order they run:

- validate: ``validate_bench.py`` (time against pandas and pyarrow reading the file; peak RSS).
- sheet: ``sheet_bench.py`` (an .xlsx: time against calamine's own read; peak RSS).
- bad-input: ``bad_input_bench.py`` (hostile files: one line, exit 2, < 300 MB each).
- reports: ``report_bench.py`` (every report format on rows that all have issues: < 300 MB).
- sandbox: ``sandbox_bench.py`` (creates a second the sandbox answers).
- chaos: ``chaos_bench.py`` (killed and resumed: nobody created twice, nobody lost).
- pacing: ``upload_bench.py`` rate, alone, beside, burst (the budget shared with others).
- run: ``upload_bench.py`` unlimited (``run`` on ``--rows`` rows: peak RSS, creates a second).
- undo: ``undo_bench.py`` (an import of 5,000 taken back: all deleted, none left, < 300 MB).
- review: ``review_bench.py`` (the review page on ``--rows`` rows: open < 3 s, < 300 MB).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import sys
from collections.abc import Callable

from benchmarks import chaos_bench, sandbox_bench, undo_bench, upload_bench
from benchmarks.common import ROOT, Figure, measure, table
from benchmarks.validate_bench import TARGETS

BENCHES = ROOT / "benchmarks"
READERS = {"pandas": "pandas read_csv(dtype=str)", "pyarrow": "pyarrow open_csv (streamed)"}


def validate(rows: int) -> list[Figure]:
    """``validate_bench.py``'s figures, read from what it prints."""
    run = measure([sys.executable, str(BENCHES / "validate_bench.py"), "--rows", str(rows)])
    found = re.search(r"^validate:\s+([\d.]+) s\s+peak RSS\s+(\d+) MB", run.stdout, re.M)
    readers = {
        name: re.search(rf"^{label}:\s+([\d.]+) s", run.stdout, re.M)
        for name, label in (("pandas", r"pandas read \(str\)"), ("pyarrow", "pyarrow stream read"))
    }
    label = f"validate, {rows:,} rows (HTML report)"
    if run.code != 0 or not found or not all(readers.values()):
        why = (run.stderr.strip() or run.stdout.strip() or f"exit {run.code}").splitlines()[-1]
        return [Figure(f"{label}: time / pandas read", f"could not run: {why}", "<= 1", None)]
    seconds, peak = float(found[1]), float(found[2])
    figures = []
    for name, read in readers.items():
        assert read is not None
        limit, taken = TARGETS[name], float(read[1])
        figures.append(
            Figure(
                f"{label}: time / {READERS[name]}",
                f"{seconds / taken:.2f} ({seconds:.1f} s / {taken:.1f} s)",
                f"<= {limit:g}",
                seconds / taken <= limit,
            )
        )
    return [*figures, Figure(f"{label}: peak RSS (MB)", f"{peak:,.0f}", "< 300", peak < 300)]


def sheet(rows: int) -> list[Figure]:
    """``sheet_bench.py``'s figures: validate on an .xlsx against calamine's own read of it."""
    run = measure([sys.executable, str(BENCHES / "sheet_bench.py"), "--rows", str(rows)])
    found = re.search(r"^validate:\s+([\d.]+) s\s+peak RSS\s+(\d+) MB", run.stdout, re.M)
    read = re.search(r"^calamine read:\s+([\d.]+) s\s+peak RSS\s+(\d+) MB", run.stdout, re.M)
    label = f"validate, {rows:,}-row .xlsx"
    if run.code != 0 or not found or not read:
        why = (run.stderr.strip() or run.stdout.strip() or f"exit {run.code}").splitlines()[-1]
        return [Figure(f"{label}: time / calamine read", f"could not run: {why}", "<= 2", None)]
    seconds, peak, own, own_peak = (float(g) for g in (*found.groups(), *read.groups()))
    return [
        Figure(
            f"{label}: time / calamine read",
            f"{seconds / own:.2f} ({seconds:.1f} s / {own:.1f} s)",
            "<= 2",
            seconds / own <= 2,
        ),
        Figure(
            f"{label}: peak RSS (MB)",
            f"{peak:,.0f} (calamine alone {own_peak:,.0f})",
            "< 600",
            peak < 600,
        ),
    ]


def verdict(script: str, label: str, target: str, *args: str) -> list[Figure]:
    """The verdict a script prints as its last word (``targets: OK ...``), when it exists."""
    path = BENCHES / script
    if not path.exists():
        print(f"{script} is not in this checkout: skipped", file=sys.stderr)
        return []
    run = measure([sys.executable, str(path), *args])
    found = re.search(r"^targets: (.*)$", run.stdout, re.M)
    if not found:
        why = (run.stderr.strip() or f"exit {run.code}").splitlines()[-1]
        return [Figure(label, f"could not run: {why}", target, None)]
    return [Figure(label, found[1], target, found[1].startswith("OK"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="big-file benchmarks' rows")
    parser.add_argument("--minutes", type=float, default=3.0, help="each paced scenario's length")
    parser.add_argument("--limit", type=int, default=1200, help="the paced scenarios' budget")
    names = ["validate", "sheet", "bad-input", "reports", "sandbox", "chaos", "pacing", "run",
             "undo", "review"]  # fmt: skip
    parser.add_argument("--only", nargs="+", choices=names, default=names)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    benches: dict[str, Callable[[], list[Figure]]] = {
        "validate": lambda: validate(args.rows),
        "sheet": lambda: sheet(args.rows),
        "bad-input": lambda: verdict(
            "bad_input_bench.py", "hostile files: exit 2 in one line, peak RSS", "< 300 MB each"
        ),
        "reports": lambda: verdict(
            "report_bench.py",
            f"reports, {args.rows:,} rows all with issues: peak RSS",
            "< 300 MB each",
            "--rows",
            str(args.rows),
        ),
        "sandbox": sandbox_bench.figures,
        "chaos": chaos_bench.figures,
        "pacing": lambda: upload_bench.figures(
            ("rate", "alone", "beside", "burst"), limit=args.limit, minutes=args.minutes
        ),
        "run": lambda: upload_bench.figures(("unlimited",), rows=args.rows),
        "undo": undo_bench.figures,
        "review": lambda: verdict(
            "review_bench.py",
            f"review page, {args.rows:,} rows: open, server's peak RSS",
            "< 3 s, < 300 MB",
            "--rows",
            str(args.rows),
        ),
    }
    figures: list[Figure] = []
    for name in args.only:
        print(f"running {name}...", file=sys.stderr, flush=True)
        try:
            figures += benches[name]()
        except Exception as exc:  # one benchmark that breaks leaves the others' lines
            figures.append(Figure(name, f"could not run: {type(exc).__name__}: {exc}", "", None))
    print(f"python -m benchmarks {shlex.join(sys.argv[1:])}".rstrip())
    print(f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}")
    print()
    print(table(figures, markdown=args.markdown))
    sys.exit(0 if all(f.held for f in figures) else 1)


if __name__ == "__main__":
    main()
