"""Bulk-create Help Scout customers from CSV files.

``validate_csv`` checks a file against a mapping and Help Scout's rules; ``import_csv`` creates the
customers. Both are loaded on first use, so ``import importer.sandbox`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["import_csv", "validate_csv"]

if TYPE_CHECKING:
    from importer.pipeline import validate_csv
    from importer.run import import_csv


def __getattr__(name: str) -> Any:
    if name == "validate_csv":
        from importer.pipeline import validate_csv

        return validate_csv
    if name == "import_csv":
        from importer.run import import_csv

        return import_csv
    raise AttributeError(f"module 'importer' has no attribute {name!r}")
