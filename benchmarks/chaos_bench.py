"""Kill the importer at random moments, run the same command again, count what went wrong.

    python benchmarks/chaos_bench.py [--rows 2000] [--kills 12] [--seed 1] [--concurrency 16]
        [--drop-rate 0.03] [--timeout-rate 0.03] [--fail-rate 0.05] [--revoke-every 150]
        [--search-lag 0] [--settle-time S]

The sandbox runs in its own process (``helpscout-import sandbox`` would do the same), with
connections dropped and 504s answered after the customer was created, 503s before, and every
token revoked every N requests, and a search index that shows a new customer only
``--search-lag`` seconds after its create. The importer runs as ``python -m importer run``
(with ``--settle-time``: by default just above the lag, so the last run does not wait the
default minute for nothing) and is killed
with SIGKILL ``--kills`` times, each time once it has created a random number of customers (the
sandbox's request counts say when), plus a random fraction of a second; then the same command
runs to the end. Seeded: the same seed kills at the same points of progress.

It prints the figures issue 5 asks for: rows, kills, customers created twice (must be 0), rows lost
(a valid row with no customer, or whose results line lacks the customer's id: must be 0), and the
search requests spent on look-ups against the rows. Not a test: it prints.
"""

from __future__ import annotations

import argparse
import csv
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks.common import ROOT, Figure, figure, get_json, importer_env, sandbox_process, stats
from importer.sandbox import SandboxConfig

MAPPING = """\
customer:
  firstName: First Name
  lastName: Last Name
  emails:
    - {column: Email, type: work}
  properties:
    plan: {column: Plan, type: text}
"""


def _creates(url: str) -> int:
    """Create requests the sandbox has answered (or dropped) so far."""
    return sum(stats(url)["requests"].get("POST /v2/customers", {}).values())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--drop-rate", type=float, default=0.03)
    parser.add_argument("--timeout-rate", type=float, default=0.03)
    parser.add_argument("--fail-rate", type=float, default=0.05)
    parser.add_argument("--revoke-every", type=int, default=150)
    parser.add_argument("--search-lag", type=float, default=0.0)
    parser.add_argument("--settle-time", type=float, help="default: the lag plus 20%% and 1 s")
    return parser


def chaos(args: argparse.Namespace) -> dict[str, Any]:
    """The kill-and-resume loop ``args`` describe; what it found."""
    settle = args.settle_time if args.settle_time is not None else args.search_lag * 1.2 + 1
    config = SandboxConfig(latency_ms=args.latency_ms, jitter_ms=args.latency_ms / 2,
                           drop_rate=args.drop_rate, gateway_timeout_rate=args.timeout_rate,
                           fail_rate=args.fail_rate, fail_statuses=(503,),
                           token_revoke_every=args.revoke_every, search_lag=args.search_lag,
                           seed=args.seed)  # fmt: skip
    dice = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder, sandbox_process(config) as url:
        data, mapping, results = (Path(folder) / n for n in ("in.csv", "m.yaml", "results.csv"))
        with data.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["First Name", "Last Name", "Email", "Plan"])
            writer.writerows(["Ada", f"Lovelace{i}", f"ada.{i}@example.com", "pro"]
                             for i in range(args.rows))  # fmt: skip
        mapping.write_text(MAPPING, encoding="utf-8")
        env = importer_env(url, config)
        command = [sys.executable, "-m", "importer", "run", str(data), "-m", str(mapping),
                   "-o", str(results), "--concurrency", str(args.concurrency),
                   "--settle-time", str(settle)]  # fmt: skip
        share = max(1, args.rows // (3 * args.kills))  # creates between kills, on average
        kills, started = 0, time.monotonic()
        while kills < args.kills:
            child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
            goal = _creates(url) + dice.randint(1, 2 * share)
            while child.poll() is None and _creates(url) < goal:
                time.sleep(0.01)
            time.sleep(dice.uniform(0, 0.05))
            child.send_signal(signal.SIGKILL)
            kills += child.wait() == -signal.SIGKILL
            if child.returncode == 0:
                break  # the import ended before the kill: nothing left to interrupt
        last = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        customers = get_json(f"{url}/_sandbox/customers")["customers"]
        requests = stats(url)["requests"]
        with results.open(newline="", encoding="utf-8") as fh:
            lines = list(csv.DictReader(fh))
    ids: dict[str, list[str]] = {}
    for customer in customers:
        for entry in customer["_embedded"]["emails"]:
            ids.setdefault(entry["value"], []).append(str(customer["id"]))
    twice = sum(len(found) - 1 for found in ids.values())
    by_row = {int(line["row"]): line for line in lines}
    lost = sum(
        1
        for i in range(args.rows)
        if len(ids.get(f"ada.{i}@example.com", ())) != 1
        or by_row.get(i + 1, {}).get("customer_id") not in ids.get(f"ada.{i}@example.com", ())
    )
    lookups = sum(requests.get("GET /v2/customers", {}).values())
    summary = last.stdout.splitlines()[0] if last.stdout else "-"
    return {"rows": args.rows, "kills": kills, "code": last.returncode, "summary": summary,
            "twice": twice, "lost": lost, "lookups": lookups, "seconds": seconds,
            "creates": requests.get("POST /v2/customers", {}), "settle": settle,
            "search_lag": args.search_lag}  # fmt: skip


def figures(rows: int = 2000, kills: int = 12, seed: int = 1) -> list[Figure]:
    """The table's lines: customers created twice and rows lost, both 0."""
    found = chaos(_parser().parse_args(["--rows", str(rows), "--kills", str(kills),
                                        "--seed", str(seed)]))  # fmt: skip
    label = f"chaos, {rows:,} rows, {found['kills']} kills"
    return [
        figure(f"{label}: customers created twice", found["twice"], "0", not found["twice"]),
        figure(f"{label}: rows lost", found["lost"], "0", not found["lost"]),
    ]


def main() -> None:
    found = chaos(_parser().parse_args())
    rows, creates = found["rows"], found["creates"]
    print(f"rows: {rows:,}; search lag {found['search_lag']:g} s, "
          f"--settle-time {found['settle']:g} s")  # fmt: skip
    print(f"kills: {found['kills']} (SIGKILL at random points), then a run to the end "
          f"(exit {found['code']}: {found['summary']})")  # fmt: skip
    print(f"customers created twice: {found['twice']}")
    print(f"rows lost: {found['lost']}")
    print(f"look-up requests: {found['lookups']:,} for {rows:,} rows "
          f"({found['lookups'] / rows:.3f} a row)")  # fmt: skip
    faults = ", ".join(f"{creates.get(s, 0)} {s}" for s in ("dropped", "504", "503", "401"))
    print(f"create requests: {sum(creates.values()):,} ({faults}); {found['seconds']:.0f} s in all")


if __name__ == "__main__":
    main()
