"""Taking an import back: ``helpscout-import undo`` on every customer an import created.

    python benchmarks/undo_bench.py [--rows 5000]

The sandbox runs in its own process without a budget; ``helpscout-import run`` imports ``--rows``
invented customers, then ``helpscout-import undo --state ... --yes`` (measured: wall time and peak
RSS of the command) deletes them, after reading each one and its conversations to decide whether
to keep it (``?async=true``: the sandbox deletes each one ``async_delete_after`` seconds later,
as Help Scout does in the background). Held when every created customer is deleted, none is kept
or left in the sandbox, and the command stays under 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks.common import (
    Figure,
    figure,
    importer_env,
    measure,
    sandbox_process,
    stats,
    table,
    write_customers,
)
from importer.sandbox import SandboxConfig


def _left_after(url: str, seconds: float) -> int:
    """Customers still in the sandbox once its asynchronous deletes had time to happen."""
    deadline = time.monotonic() + seconds
    while (left := stats(url)["customers"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    return int(left)


def figures(rows: int = 5000) -> list[Figure]:
    config = SandboxConfig()
    label = f"undo, {rows:,} customers created by an import"
    with tempfile.TemporaryDirectory() as folder, sandbox_process(config) as url:
        data, mapping = write_customers(Path(folder), rows)
        state, undone = Path(folder) / "s.sqlite", Path(folder) / "undo.csv"
        env = importer_env(url, config)
        run = measure([sys.executable, "-m", "importer", "run", str(data), "-m", str(mapping),
                       "-o", str(Path(folder) / "r.csv"), "--state", str(state), "-q"],
                      env=env)  # fmt: skip
        undo = measure([sys.executable, "-m", "importer", "undo", "--state", str(state), "-o",
                        str(undone), "--yes"], env=env)  # fmt: skip
        if run.code != 0 or undo.code != 0:
            failed = run if run.code != 0 else undo
            why = (failed.stderr.strip().splitlines() or [f"exit {failed.code}"])[-1]
            return [Figure(f"{label}: deleted", f"failed: {why}", f"{rows:,}", None)]
        left = _left_after(url, config.async_delete_after + 30)
        with undone.open(newline="", encoding="utf-8") as fh:
            statuses = Counter(line["status"] for line in csv.DictReader(fh))
    deleted = statuses["deleted"]
    return [
        figure(f"{label}: deleted, kept, left", deleted, f"{rows:,}, 0, 0",
               deleted == rows and not statuses["kept"] and left == 0,
               shown=f"{{:,.0f}}, {statuses['kept']:,}, {left:,}"),
        figure(f"{label}: deletes/s (whole command)", deleted / undo.seconds, ">= 200",
               deleted / undo.seconds >= 200),
        figure(f"{label}: peak RSS (MB)", undo.peak_mb, "< 300", undo.peak_mb < 300),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    print(table(figures(args.rows)))


if __name__ == "__main__":
    main()
