"""How fast the sandbox alone answers creates (target: at least 1,000 per second on 2 cores).

The sandbox runs in its own process (as ``helpscout-import sandbox`` would) and a separate client
process drives it over keep-alive connections, so the figure is the server's, not one event loop
shared by both ends. Not a test: it prints its line of the table (``python -m benchmarks``).

    python benchmarks/sandbox_bench.py [--requests 20000] [--concurrency 48] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks.common import Figure, sandbox_process, table
from importer.sandbox import SandboxConfig


def _payload(i: int) -> dict:
    """A typical mapped row: names, a work email, a phone, two properties."""
    return {
        "firstName": "Ada",
        "lastName": f"Lovelace{i}",
        "organization": "Analytical Engines",
        "emails": [{"type": "work", "value": f"ada.{i}@example.com"}],
        "phones": [{"type": "work", "value": "+44 20 7946 0000"}],
        "properties": {"plan": "pro", "seats": i % 100},
    }


async def _drive(url: str, requests: int, concurrency: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        config = SandboxConfig()
        form = {
            "grant_type": "client_credentials",
            "client_id": config.app_id,
            "client_secret": config.app_secret,
        }
        async with session.post(f"{url}/v2/oauth2/token", data=form) as answer:
            token = (await answer.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        create_url = f"{url}/v2/customers"
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        numbers = iter(range(requests))

        async def worker() -> None:
            for i in numbers:
                body = _payload(i)
                start = time.perf_counter()
                async with session.post(create_url, json=body, headers=headers) as answer:
                    await answer.read()
                latencies.append(time.perf_counter() - start)
                statuses[answer.status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        async with session.get(f"{url}/_sandbox/stats") as answer:
            held = (await answer.json())["customers"]
    cuts = statistics.quantiles(latencies, n=100)
    return {"seconds": elapsed, "p50": cuts[49], "p99": cuts[98], "statuses": dict(statuses),
            "held": held}  # fmt: skip


def figures(requests: int = 20_000, concurrency: int = 48, latency_ms: float = 0.0) -> list[Figure]:
    """Creates a second the sandbox answers, the client in another process."""
    with sandbox_process(SandboxConfig(latency_ms=latency_ms)) as url:
        found = asyncio.run(_drive(url, requests, concurrency))
    per_second = requests / found["seconds"]
    shown = (f"{per_second:,.0f} (p50 {found['p50'] * 1000:.1f} ms, p99 "
             f"{found['p99'] * 1000:.1f} ms)")  # fmt: skip
    label = f"sandbox, {requests:,} creates, {concurrency} at once: creates/s"
    if found["held"] != requests or set(found["statuses"]) != {201}:
        return [Figure(label, f"{shown}; answers {found['statuses']}", ">= 1,000", False)]
    return [Figure(label, shown, ">= 1,000", per_second >= 1000)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    print(table(figures(args.requests, args.concurrency, args.latency_ms)))


if __name__ == "__main__":
    main()
