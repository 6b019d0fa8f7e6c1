"""The benchmarks: scripts that measure and print, run on demand, never part of the tests.

``python -m benchmarks`` runs them all and prints one table (see ``benchmarks/__main__.py``);
each script also runs alone (``python benchmarks/upload_bench.py --help``).
"""
