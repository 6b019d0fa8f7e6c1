"""Bulk-create Help Scout customers from CSV files.

The front door (:mod:`importer.jobs.front`): ``validate_csv`` checks a file against a mapping and
Help Scout's rules; ``import_csv`` creates the customers. Each takes one options object
(:class:`ValidateOptions`, :class:`ImportOptions`, from :mod:`importer.core.options`)::

    from importer import ImportOptions, import_csv

    result = import_csv("export.csv", "mapping.yaml", "results.csv", ImportOptions(rate=400))

The names are loaded on first use, so ``import importer.sandbox`` stays light (no pandas), and
validating never loads the HTTP side (``ImportResult`` comes with it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "ImportOptions",
    "ImportResult",
    "ReadOptions",
    "SendOptions",
    "UndoOptions",
    "ValidateOptions",
    "ValidationResult",
    "import_csv",
    "validate_csv",
]

if TYPE_CHECKING:
    from importer.core.options import (
        ImportOptions,
        ReadOptions,
        SendOptions,
        UndoOptions,
        ValidateOptions,
    )
    from importer.jobs.front import ValidationResult, import_csv, validate_csv
    from importer.send.tally import ImportResult

#: Where each public name lives.
_HOMES = {
    "ImportOptions": "importer.core.options",
    "ReadOptions": "importer.core.options",
    "SendOptions": "importer.core.options",
    "UndoOptions": "importer.core.options",
    "ValidateOptions": "importer.core.options",
    "ValidationResult": "importer.jobs.front",
    "import_csv": "importer.jobs.front",
    "validate_csv": "importer.jobs.front",
    "ImportResult": "importer.send.tally",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
