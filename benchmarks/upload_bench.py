"""How close the uploader comes to the account's budget, and how fast it goes with none.

    python benchmarks/upload_bench.py [--scenario all|rate|learned|unlimited] [--limit 600]
        [--rows 600] [--latency-ms 100] [--jitter-ms 30] [--unlimited-rows 10000]

Each scenario imports a generated CSV through ``import_csv`` (validation, mapping, uploader,
client, results file: the whole path) into the sandbox, which runs in its own process as
``helpscout-import sandbox`` would, so the two ends use both cores. The import runs in a fresh
child process too, so its peak RSS is its own.

- rate: sandbox with a budget of L requests/minute and 100 ms +/- jitter latency; ``--rate L``.
  Prints creates per minute / (L/2) (a create costs 2): target >= 0.95, with 0 answers 429.
- learned: the same sandbox, no ``--rate``: the budget is learned from X-RateLimit-Limit-Minute and
  0.9 of it is used, so the figure is creates per minute / (L/2 * 0.9): target >= 0.95, no 429.
- unlimited: no limit, no latency: creates per second, target >= 300 on 2 cores.

The defaults (L=600, 600 rows) take about two minutes per paced scenario. Not a test: it prints.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from importer.sandbox import SandboxConfig, serve

HEADER = ["First Name", "Last Name", "Email", "Phone", "Company", "Plan", "Seats"]
MAPPING = """\
customer:
  firstName: First Name
  lastName: Last Name
  organization: Company
  emails:
    - {column: Email, type: work}
  phones:
    - {column: Phone, type: work}
  properties:
    plan: {column: Plan, type: text}
    seats: {column: Seats, type: number}
"""
SHARE = 0.9


def _serve(ready: Any, config: SandboxConfig) -> None:
    serve(config, on_ready=ready.put)


def _write_input(folder: Path, rows: int) -> tuple[Path, Path]:
    data, mapping = folder / f"customers-{rows}.csv", folder / "mapping.yaml"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(["Ada", f"Lovelace{i}", f"ada.{i}@example.com", "+44 20 7946 0000",
                             "Analytical Engines", "pro", str(i % 100)])  # fmt: skip
    mapping.write_text(MAPPING, encoding="utf-8")
    return data, mapping


def _import(done: Any, url: str, data: str, mapping: str, results: str, rate: int | None) -> None:
    """In a child process: import, then report the figures and this process's peak RSS."""
    from importer import ImportOptions, import_csv
    from importer.client import Credentials

    config = SandboxConfig()
    result = import_csv(data, mapping, results,
                        ImportOptions(api_url=url, rate=rate, budget_share=SHARE),
                        credentials=Credentials(config.app_id, config.app_secret))  # fmt: skip
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    done.put({"created": result.created, "failed": result.failed, "seconds": result.seconds,
              "requests": result.requests, "budget": result.budget, "peak_mb": peak_mb,
              "stopped": result.stopped})  # fmt: skip


def _stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_sandbox/stats") as answer:
        return json.load(answer)


def run_scenario(
    name: str, config: SandboxConfig, data: Path, mapping: Path, rate: int | None
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    ready, done = context.Queue(), context.Queue()
    server = context.Process(target=_serve, args=(ready, config), daemon=True)
    server.start()
    try:
        url = ready.get(timeout=30)
        results = data.with_name(f"results-{name}.csv")
        client = context.Process(target=_import, args=(done, url, str(data), str(mapping),
                                                       str(results), rate))  # fmt: skip
        client.start()
        figures = done.get()
        client.join()
        stats = _stats(url)
    finally:
        server.terminate()
        server.join(timeout=10)
    creates = stats["requests"].get("POST /v2/customers", {})
    figures["answered_429"] = creates.get("429", 0)
    figures["held"] = stats["customers"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["all", "rate", "learned", "unlimited"],
                        default="all")  # fmt: skip
    parser.add_argument("--limit", type=int, default=600, help="budget L, requests/minute")
    parser.add_argument("--rows", type=int, default=600, help="rows for the paced scenarios")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=30.0)
    parser.add_argument("--unlimited-rows", type=int, default=10_000)
    args = parser.parse_args()
    paced = SandboxConfig(rate_limit=args.limit, latency_ms=args.latency_ms,
                          jitter_ms=args.jitter_ms, seed=1)  # fmt: skip
    plans = {
        "rate": (paced, args.rows, args.limit, args.limit / 2),
        "learned": (paced, args.rows, None, args.limit / 2 * SHARE),
        "unlimited": (SandboxConfig(), args.unlimited_rows, None, None),
    }
    chosen = plans if args.scenario == "all" else {args.scenario: plans[args.scenario]}
    with tempfile.TemporaryDirectory() as folder:
        for name, (config, rows, rate, target) in chosen.items():
            data, mapping = _write_input(Path(folder), rows)
            started = time.perf_counter()
            f = run_scenario(name, config, data, mapping, rate)
            wall = time.perf_counter() - started
            per_minute = f["created"] / f["seconds"] * 60
            print(f"{name}: {rows:,} rows, {f['created']:,} created ({f['held']:,} held by the "
                  f"sandbox), {f['failed']} failed, {f['answered_429']} answered 429, "
                  f"{f['seconds']:.1f} s uploading ({wall:.1f} s with start-up)")  # fmt: skip
            if target is not None:
                print(
                    f"  paced at {f['budget']:.0f} requests/minute; {per_minute:.1f} creates/min"
                    f" / {target:g} = {per_minute / target:.3f} (target >= 0.95, 0 x 429)"
                )
            else:
                print(f"  {f['created'] / f['seconds']:,.0f} creates/s (target >= 300)")
            print(f"  peak RSS of the importing process: {f['peak_mb']:.0f} MB")
            if f["stopped"]:
                print(f"  stopped: {f['stopped']}")


if __name__ == "__main__":
    main()
