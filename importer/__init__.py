"""Bulk-create Help Scout customers from CSV files.

``validate_csv`` checks a file against a mapping and Help Scout's rules; ``import_csv`` creates the
customers. Both are loaded on first use, so ``import importer.sandbox`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["import_csv", "validate_csv"]

if TYPE_CHECKING:
    from importer.pipeline import import_csv, validate_csv


def __getattr__(name: str) -> Any:
    if name in __all__:
        from importer import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'importer' has no attribute {name!r}")
