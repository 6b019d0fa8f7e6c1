"""How the uploader spends the account's budget beside others, and how fast it goes with none.

    python benchmarks/upload_bench.py [--scenario NAME ...] [--limit 1200] [--window sliding]
        [--minutes 3] [--rows 1000000] [--latency-ms 100] [--jitter-ms 30]

Every scenario runs the whole path (reading, mapping, validation, ledger, uploader, client,
results) against the sandbox in its own process, as ``helpscout-import sandbox`` would serve it,
and the import in another, so the two ends use both cores and the importer's peak RSS is its
own. The paced scenarios import what ``--minutes`` of their target pace takes, against a budget
of ``--limit`` a minute in a ``--window`` window (Help Scout's kind is not documented; the
independent server of issue 10 slides), with ``--latency-ms`` +/- ``--jitter-ms`` a request:

- rate: ``--rate 0.8 x L``: creates a minute >= 0.97 of rate / 2 (a create costs 2), no 429.
- alone: no ``--rate``, the budget learned from the answers' headers: creates a minute >= 0.97
  of (0.9 x L) / 2, no 429.
- beside: the sandbox's simulated agent spends 30% of the budget on reads (``--background-load
  0.3``): the agent gets no 429, nor the importer, which makes >= 0.9 of (L - 0.3 L - 0.1 L) / 2
  creates a minute (the headroom, 10% of L, stays free).
- burst: a write limit of 12 per 5 s on top (``--burst 12/5``, Help Scout v1's): at most 3
  answers 429 after the first minute, and after it >= 0.8 of the 144 creates a minute allowed.
- unlimited: ``helpscout-import run`` on ``--rows`` rows, no limit, no latency: peak RSS < 300 MB
  and >= 1,000 creates a second.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks.common import (
    Figure,
    answered,
    figure,
    importer_env,
    in_child,
    measure,
    sandbox_process,
    stats,
    table,
    write_customers,
)
from importer.sandbox import SandboxConfig

SHARE, HEADROOM, OTHERS = 0.9, 0.1, 0.3
BURST = (12, 5.0)
SCENARIOS = ("rate", "alone", "beside", "burst", "unlimited")
CREATE = "POST /v2/customers"


def _import(url: str, data: str, mapping: str, results: str, rate: int | None) -> dict[str, Any]:
    """In a child process: import, and report what the run says of itself."""
    from importer import ImportOptions, import_csv
    from importer.send.auth import Credentials

    config = SandboxConfig()
    result = import_csv(data, mapping, results, ImportOptions(api_url=url, rate=rate),
                        credentials=Credentials(config.app_id, config.app_secret))  # fmt: skip
    return {"created": result.created, "failed": result.failed, "seconds": result.seconds,
            "rate_limited": result.rate_limited, "budget_used": result.budget_used,
            "others_peak": result.others_peak, "stopped": result.stopped}  # fmt: skip


def paced(
    name: str,
    config: SandboxConfig,
    *,
    rows: int,
    rate: int | None = None,
    watch_after: float | None = None,
) -> dict[str, Any]:
    """Import ``rows`` into a sandbox serving ``config``; the run's figures, the sandbox's
    stats, and (``watch_after``) the importer's 429s after that many seconds."""
    with tempfile.TemporaryDirectory() as folder, sandbox_process(config) as url:
        data, mapping = write_customers(Path(folder), rows)
        early: dict[str, int] = {}

        def watch() -> None:
            if watch_after is not None:
                time.sleep(watch_after)
                then = stats(url)
                early["429"], early["201"] = (answered(then, CREATE, s) for s in ("429", "201"))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        found = in_child(_import, url, str(data), str(mapping), str(Path(folder) / "r.csv"), rate)
        final = stats(url)
    found["answered_429"] = answered(final, CREATE, "429")
    found["agent"] = final.get("background", {})
    if watch_after is not None:  # the watcher started with the import, give or take a second
        found["429_after"] = found["answered_429"] - early.get("429", found["answered_429"])
        after = found["seconds"] - watch_after
        made = found["created"] - early.get("201", found["created"])
        found["per_minute_after"] = made / after * 60 if after > 0 else 0.0
    found["per_minute"] = found["created"] / found["seconds"] * 60 if found["seconds"] else 0.0
    return found


def unlimited(rows: int) -> list[Figure]:
    """``helpscout-import run`` on ``rows`` rows into an unlimited sandbox in its own process."""
    config = SandboxConfig()
    with tempfile.TemporaryDirectory() as folder, sandbox_process(config) as url:
        data, mapping = write_customers(Path(folder), rows)
        env = importer_env(url, config)
        run = measure([sys.executable, "-m", "importer", "run", str(data), "-m", str(mapping),
                       "-o", str(Path(folder) / "r.csv")], env=env)  # fmt: skip
        held = stats(url)["customers"]
    seconds = _upload_seconds(run.stderr) or run.seconds
    label = f"run, {rows:,} rows, no limit"
    if run.code not in (0, 1) or held != rows:
        why = (run.stderr.strip().splitlines() or [f"exit {run.code}"])[-1]
        return [Figure(f"{label}: creates/s", f"failed: {why}", ">= 1,000", None)]
    return [
        figure(f"{label}: peak RSS (MB)", run.peak_mb, "< 300", run.peak_mb < 300),
        Figure(
            f"{label}: creates/s",
            f"{held / seconds:,.0f} ({held / run.seconds:,.0f} with start-up and reading)",
            ">= 1,000",
            held / seconds >= 1000,
        ),
    ]


def _upload_seconds(stderr: str) -> float | None:
    """The upload's seconds from the closing line (``1,000 requests in 2 min 5 s (...``)."""
    found = re.search(r"requests? in ((?:\d+ h ?)?(?:\d+ min ?)?(?:\d+ s)?) \(", stderr)
    if not found:
        return None
    units = {"h": 3600, "min": 60, "s": 1}
    parts = re.findall(r"(\d+) (h|min|s)", found.group(1))
    return float(sum(int(n) * units[u] for n, u in parts)) or None


def figures(
    scenarios: Sequence[str] = SCENARIOS,
    *,
    limit: int = 1200,
    window: str = "sliding",
    minutes: float = 3.0,
    rows: int = 1_000_000,
    latency_ms: float = 100.0,
    jitter_ms: float = 30.0,
) -> list[Figure]:
    """Run ``scenarios``; their lines of the table."""
    base: dict[str, Any] = {"rate_limit": limit, "rate_window": window, "latency_ms": latency_ms,
                            "jitter_ms": jitter_ms, "seed": 1}  # fmt: skip
    at = f"L = {limit:,}/min {window}"
    out: list[Figure] = []
    if "rate" in scenarios:
        rate = round(0.8 * limit)
        f = paced("rate", SandboxConfig(**base), rows=math.ceil(rate / 2 * minutes), rate=rate)
        target = 0.97 * rate / 2
        out += [
            figure(
                f"--rate {rate:,} ({at}): creates/min",
                f["per_minute"],
                f">= {target:,.0f}",
                f["per_minute"] >= target,
            ),
            figure(f"--rate {rate:,}: answers 429", f["answered_429"], "0", not f["answered_429"]),
        ]
    if "alone" in scenarios:
        share = SHARE * limit / 2
        f = paced("alone", SandboxConfig(**base), rows=math.ceil(share * minutes))
        out += [
            figure(
                f"alone, budget learned ({at}): creates/min",
                f["per_minute"],
                f">= {0.97 * share:,.0f}",
                f["per_minute"] >= 0.97 * share,
            ),
            figure("alone: answers 429", f["answered_429"], "0", not f["answered_429"]),
        ]
    if "beside" in scenarios:
        left = (limit - OTHERS * limit - HEADROOM * limit) / 2
        config = SandboxConfig(**base, background_load=OTHERS)
        f = paced("beside", config, rows=math.ceil(left * minutes))
        agent = f["agent"]
        out += [
            figure(
                f"beside an agent spending 30% ({at}): creates/min",
                f["per_minute"],
                f">= {0.9 * left:,.0f}",
                f["per_minute"] >= 0.9 * left,
            ),
            figure(
                "beside: the agent's answers 429",
                agent.get("rate_limited", -1),
                f"0 (of {agent.get('requests', 0):,})",
                agent.get("rate_limited") == 0,
            ),
            figure(
                "beside: the importer's answers 429", f["answered_429"], "0", not f["answered_429"]
            ),
        ]
    if "burst" in scenarios:
        allowed = BURST[0] / BURST[1] * 60
        config = SandboxConfig(**base, burst=BURST)
        f = paced("burst", config, rows=math.ceil(allowed * minutes), watch_after=60)
        out += [
            figure(
                f"burst limit 12/5 s ({at}): 429s after the first minute",
                f["429_after"],
                "<= 3",
                f["429_after"] <= 3,
            ),
            figure(
                "burst: creates/min after the first minute",
                f["per_minute_after"],
                f">= {0.8 * allowed:,.0f} (of {allowed:,.0f} allowed)",
                f["per_minute_after"] >= 0.8 * allowed,
            ),
        ]
    if "unlimited" in scenarios:
        out += unlimited(rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--limit", type=int, default=1200, help="budget L, requests/minute")
    parser.add_argument("--window", choices=["sliding", "fixed"], default="sliding")
    parser.add_argument("--minutes", type=float, default=3.0, help="of each paced scenario")
    parser.add_argument("--rows", type=int, default=1_000_000, help="for the unlimited run")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=30.0)
    args = parser.parse_args()
    print(table(figures(args.scenario, limit=args.limit, window=args.window,
                        minutes=args.minutes, rows=args.rows, latency_ms=args.latency_ms,
                        jitter_ms=args.jitter_ms)))  # fmt: skip


if __name__ == "__main__":
    main()
