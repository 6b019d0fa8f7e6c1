"""What the benchmarks share: the figures' table, a sandbox in its own process, measured children.

A :class:`Figure` is one line of the table ``python -m benchmarks`` prints: what was measured, the
target, and whether it held (None: it could not be measured, and the line says why).
"""

from __future__ import annotations

import contextlib
import csv
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout, as a script or as python -m benchmarks
    sys.path.insert(0, str(ROOT))

from importer.sandbox import SandboxConfig, serve  # noqa: E402


@dataclass(frozen=True)
class Figure:
    """One line of the table."""

    name: str
    measured: str
    target: str
    held: bool | None
    """None: not measured (``measured`` says why)."""

    @property
    def verdict(self) -> str:
        return {True: "held", False: "NOT HELD", None: "not measured"}[self.held]


def figure(name: str, value: float, target: str, held: bool, shown: str = "{:,.0f}") -> Figure:
    return Figure(name, shown.format(value), target, held)


def table(figures: Sequence[Figure], *, markdown: bool = False) -> str:
    """The figures as a table: plain columns for a terminal, or Markdown."""
    rows = [("figure", "measured", "target", "held")]
    rows += [(f.name, f.measured, f.target, f.verdict) for f in figures]
    if markdown:
        lines = [f"| {' | '.join(row)} |" for row in rows]
        lines.insert(1, "|---|---|---|---|")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)  # fmt: skip


# --- a sandbox in its own process --------------------------------------------------------------
def _serve(ready: Any, config: SandboxConfig) -> None:
    serve(config, on_ready=ready.put)


@contextlib.contextmanager
def sandbox_process(config: SandboxConfig) -> Iterator[str]:
    """The sandbox served by a child process, as ``helpscout-import sandbox`` would; its URL."""
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=_serve, args=(ready, config), daemon=True)
    server.start()
    try:
        yield ready.get(timeout=60)
    finally:
        server.terminate()
        server.join(timeout=10)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.load(answer)


def stats(url: str) -> dict[str, Any]:
    """The sandbox's ``/_sandbox/stats``."""
    return get_json(f"{url}/_sandbox/stats")


def importer_env(url: str, config: SandboxConfig) -> dict[str, str]:
    """This process's environment, pointed at the sandbox at ``url`` with its credentials."""
    return {**os.environ, "HELPSCOUT_API_URL": url, "HELPSCOUT_APP_ID": config.app_id,
            "HELPSCOUT_APP_SECRET": config.app_secret}  # fmt: skip


def answered(stats_: dict[str, Any], route: str, status: str) -> int:
    """How many requests of ``route`` (``"POST /v2/customers"``) got ``status``."""
    return int(stats_["requests"].get(route, {}).get(status, 0))


def in_child(target: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``target(*args)`` in a fresh child process, so its peak RSS is its own."""
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    child = context.Process(target=_report, args=(done, target, args))
    child.start()
    found = done.get()
    child.join()
    if "error" in found:
        raise RuntimeError(found["error"])
    return found


def _report(done: Any, target: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> None:
    import resource

    try:
        found = target(*args)
    except Exception as exc:  # the parent says what went wrong
        done.put({"error": f"{type(exc).__name__}: {exc}"})
        return
    found["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    done.put(found)


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    code: int
    stdout: str
    stderr: str


def measure(command: Sequence[str], *, env: dict[str, str] | None = None) -> Measured:
    """Run ``command`` as a child process: wall seconds, its peak RSS (MB), exit code, output."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=errors, text=True)  # fmt: skip
        assert child.stdout is not None
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.stdout.close()
        errors.seek(0)
        err = errors.read()
    return Measured(seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out, err)


# --- input ------------------------------------------------------------------------------------
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


def write_customers(folder: Path, rows: int) -> tuple[Path, Path]:
    """A CSV of ``rows`` invented, valid customers and the mapping for it."""
    data, mapping = folder / f"customers-{rows}.csv", folder / "mapping.yaml"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(["Ada", f"Lovelace{i}", f"ada.{i}@example.com", "+44 20 7946 0000",
                             "Analytical Engines", "pro", str(i % 100)])  # fmt: skip
    mapping.write_text(MAPPING, encoding="utf-8")
    return data, mapping
