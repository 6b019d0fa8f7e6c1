"""The three libraries behind phones, countries and names: what each costs.

    python benchmarks/lookup_bench.py [--values 20000]

Prints, each from a fresh interpreter (the tables are built lazily, once per process): the time
to build the table of country names in every language pycountry ships (paid by the first name
``country_code`` cannot find in English), the time to resolve that many distinct country
cells, the microseconds per distinct value of the phone check, ``e164`` and ``split_name``
(each runs once per distinct value of a chunk, so a column that repeats costs less), and per
value of the C++ path that clears plain international numbers before libphonenumber is asked.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COUNTRIES = """
import sys, time
from importer.customer.countries import _country_index, resolve_country, translated_names
n = int(sys.argv[1])
start = time.perf_counter(); _country_index(); english = time.perf_counter() - start
start = time.perf_counter(); table = translated_names(); built = time.perf_counter() - start
names = ["Deutschland", "Royaume-Uni", "Polska", "Germany", "Atlantis"]
cells = [f"{names[i % 5]}{' ' * (i // 5 % 7)}{'.' * (i // 35)}" for i in range(n)]
start = time.perf_counter()
for cell in cells:
    resolve_country(cell)
each = (time.perf_counter() - start) / len(cells) * 1e6
print(f"countries: English table {english * 1000:.0f} ms; every language ({len(table):,} "
      f"names) {built:.2f} s; {len(cells):,} distinct cells resolved, {each:.0f} us each")
"""
PER_VALUE = """
import sys, time
from importer.customer.names import split_full_name
from importer.customer.phones import e164, phone_problem
n = int(sys.argv[1])
cases = [
    ("phone check, international", lambda i: phone_problem(f"+49 30 {i:07d}")),
    ("phone check, national in DE", lambda i: phone_problem(f"030 {i:07d}", "DE")),
    ("e164", lambda i: e164(f"(415) 555-{i % 10000:04d} x{i}", "US")),
    ("split_name, two plain words", lambda i: split_full_name(f"Ana López{i}")),
    ("split_name, parsed", lambda i: split_full_name(f"Dr. Ana María López{i}")),
]
for name, run in cases:
    start = time.perf_counter()
    for i in range(n):
        run(i)
    print(f"{name}: {(time.perf_counter() - start) / n * 1e6:.1f} us per distinct value")
import pandas as pd
from importer.customer.phones import plainly_possible
numbers = pd.Series([f"+49 30 {i:07d}" for i in range(n)], dtype="string")
start = time.perf_counter()
cleared = plainly_possible(numbers).sum()
each = (time.perf_counter() - start) / n * 1e6
print(f"phone check, plain international in C++: {each:.2f} us per value ({cleared:,} of {n:,})")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=20_000)
    n = parser.parse_args().values
    for script in (COUNTRIES, PER_VALUE):
        subprocess.run([sys.executable, "-c", script, str(n)], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
