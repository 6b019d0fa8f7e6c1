"""How fast the sandbox alone answers creates (target: at least 1,000 per second on 2 cores).

The sandbox runs in its own process (as ``helpscout-import sandbox`` would) and a separate client
process drives it over keep-alive connections, so the figure is the server's, not one event loop
shared by both ends. Not a test: it prints figures.

    python benchmarks/sandbox_bench.py [--requests 20000] [--concurrency 48] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from importer.sandbox import SandboxConfig, serve


def _serve(ready: multiprocessing.Queue, latency_ms: float) -> None:
    serve(SandboxConfig(latency_ms=latency_ms), on_ready=ready.put)


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


async def _drive(url: str, requests: int, concurrency: int) -> None:
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
    print(f"sandbox: {requests} creates, concurrency {concurrency}, {elapsed:.2f} s")
    print(f"creates/s: {requests / elapsed:,.0f}")
    print(f"latency ms: p50 {cuts[49] * 1000:.2f}  p99 {cuts[98] * 1000:.2f}")
    print(f"statuses: {dict(statuses)}; the sandbox holds {held} customers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=_serve, args=(ready, args.latency_ms), daemon=True)
    server.start()
    try:
        url = ready.get(timeout=30)
        asyncio.run(_drive(url, args.requests, args.concurrency))
    finally:
        server.terminate()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
