"""Every benchmark, one table: figure, measured, target, held or not.

    python -m benchmarks [--rows 1000000] [--minutes 3] [--limit 1200] [--only NAME ...]
        [--markdown]

``--rows`` sizes the big-file benchmarks (validate, and ``run`` with no limit); ``--minutes`` is
how long each paced scenario imports (the budget's ``--limit``, a sliding window as on issue 10's
independent server). Each benchmark starts what it needs in its own processes and cleans up;
one that cannot run says why in its line, and the others still run. Exit status: 0 when every
figure held, 1 otherwise. The benchmarks, in the order they run:

- validate: ``validate_bench.py`` (time against pandas reading the file as text; peak RSS).
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

BENCHES = ROOT / "benchmarks"


def validate(rows: int) -> list[Figure]:
    """``validate_bench.py``'s figures, read from what it prints."""
    run = measure([sys.executable, str(BENCHES / "validate_bench.py"), "--rows", str(rows)])
    found = re.search(r"^validate:\s+([\d.]+) s\s+peak RSS\s+(\d+) MB", run.stdout, re.M)
    pandas = re.search(r"^pandas read \(str\):\s+([\d.]+) s", run.stdout, re.M)
    label = f"validate, {rows:,} rows"
    if run.code != 0 or not found or not pandas:
        why = (run.stderr.strip() or run.stdout.strip() or f"exit {run.code}").splitlines()[-1]
        return [Figure(f"{label}: time / pandas read", f"could not run: {why}", "<= 2", None)]
    seconds, peak, read = float(found[1]), float(found[2]), float(pandas[1])
    return [
        Figure(
            f"{label}: time / pandas read_csv(dtype=str)",
            f"{seconds / read:.2f} ({seconds:.1f} s / {read:.1f} s)",
            "<= 2",
            seconds / read <= 2,
        ),
        Figure(f"{label}: peak RSS (MB)", f"{peak:,.0f}", "< 300", peak < 300),
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
    names = ["validate", "bad-input", "reports", "sandbox", "chaos", "pacing", "run", "undo",
             "review"]  # fmt: skip
    parser.add_argument("--only", nargs="+", choices=names, default=names)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    benches: dict[str, Callable[[], list[Figure]]] = {
        "validate": lambda: validate(args.rows),
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
