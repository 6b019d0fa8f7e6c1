"""The sample import's results, reports and messages, byte for byte, as they were before the
package-by-stage move (issue 20: move, then change; behaviour unchanged).

``GOLDEN_UPDATE=1 pytest tests/test_sample_golden.py`` writes the files again; do that only for a
change that means to alter what users see, and say so in the commit.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "data" / "sample-golden"
SAMPLE = ROOT / "sample_data" / "customers.csv"
MAPPING = ROOT / "mappings" / "example.yaml"

#: (name, command after the file and mapping, files it writes).
COMMANDS = [
    ("validate-html", ["validate", "--report", "report.html"], ["report.html"]),
    ("validate-json", ["validate", "--report", "report.json"], ["report.json"]),
    (
        "validate-csv",
        ["validate", "--report", "report.csv", "--rejects", "rejects.csv"],
        ["report.csv", "rejects.csv"],
    ),
    ("run", ["run", "--sandbox", "-o", "results.csv"], ["results.csv"]),
]

#: How long the run took is the one thing the machine decides.
DURATION = re.compile(r"\bin \d+(\.\d+)? (ms|s|min)\b")


def steady(text: str) -> str:
    return DURATION.sub("in <time>", text)


@pytest.mark.parametrize(("name", "command", "written"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_sample_outputs_are_unchanged(
    name: str, command: list[str], written: list[str], invoke, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the files by their names, as a user types them: no path of ours
    shutil.copy(SAMPLE, "customers.csv")
    shutil.copy(MAPPING, "example.yaml")
    verb, *options = command
    result = invoke(verb, "customers.csv", "-m", "example.yaml", *options)
    produced = {f"{name}.out": result.stdout, f"{name}.err": result.stderr}
    produced |= {f"{name}.{f}": (tmp_path / f).read_text("utf-8") for f in written}
    produced[f"{name}.exit"] = f"{result.exit_code}\n"
    for file, text in ((f, steady(t)) for f, t in produced.items()):
        golden = GOLDEN / file
        if os.environ.get("GOLDEN_UPDATE"):
            golden.write_text(text, "utf-8")
        assert text == golden.read_text("utf-8"), file
