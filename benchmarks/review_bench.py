"""The review page on a big file: how long until it is usable, and the server's peak memory.

    python benchmarks/review_bench.py [--rows 1000000]

Starts ``helpscout-import review FILE -o MAPPING --no-browser`` on N generated rows as a child
process and asks what the page asks when it opens (the page, ``api/state``, the first
``api/preview``): "open" is from the start of the process to the preview's answer. Then "Check
all rows" (``api/check``: every row mapped and validated, streamed chunk by chunk) and "Done".
Peak RSS is the server process's own. Targets (issue 21): open < 3 s, peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, write_customers

OPEN_SECONDS, PEAK_MB = 3.0, 300


def ask(url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as answer:
        text = answer.read()
    return json.loads(text) if "/api/" in url and not url.endswith("/check") else text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data, _ = write_customers(Path(folder), args.rows)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "importer", "review", str(data), "-o",
                   str(Path(folder) / "reviewed.yaml"), "--no-browser"]  # fmt: skip
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        ask(url)
        state = ask(url + "api/state")
        preview = ask(url + "api/preview", {})
        opened = time.perf_counter() - start
        began = time.perf_counter()
        lines = ask(url + "api/check", {}).decode().splitlines()
        checked = json.loads(lines[-1])["done"]
        check = time.perf_counter() - began
        ask(url + "api/done", {})
        child.stdout.close()
        _, status, usage = os.wait4(child.pid, 0)
    peak = usage.ru_maxrss / 1024
    held = opened < OPEN_SECONDS and peak < PEAK_MB and os.waitstatus_to_exitcode(status) == 0
    print(f"rows: {args.rows:,} ({len(state['columns'])} columns; preview of "
          f"{preview['checked']} rows)")  # fmt: skip
    print(f"open: {opened:.2f} s  (target < {OPEN_SECONDS:.0f} s: process start to first preview)")
    print(f"check all rows: {check:.2f} s  ({checked['rows']:,} rows, {checked['invalid']:,} "
          "invalid)")  # fmt: skip
    print(f"peak RSS: {peak:.0f} MB  (target < {PEAK_MB} MB)")
    print(f"targets: {'OK' if held else 'NOT held'} (open {opened:.2f} s, peak RSS {peak:.0f} MB)")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
