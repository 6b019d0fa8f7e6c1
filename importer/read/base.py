"""The one interface every input format is read through (:func:`~importer.read.open_source`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

import pandas as pd

from importer.read.delimited import Chunk

__all__ = ["Source"]


class Source(Protocol):
    """What the pipeline reads: a header, then chunks of numbered rows of text cells."""

    name: str
    """What messages call the input (its path as given, ``-`` for stdin)."""
    columns: list[str]
    encoding: str
    """The text encoding read (a workbook: its format, ``xlsx``)."""
    delimiter: str
    """The CSV's delimiter (a workbook: ``,``, what its rejects are written with)."""
    warnings: list[str]
    late_warnings: list[str]
    """What only reading to the end found (a sheet's footer), once each, none of them among
    ``warnings``: every job adds them to its notes after the rows."""
    fingerprint: str
    """What a run records to know the input again (size and time, or a content hash)."""

    @property
    def frame_columns(self) -> list[str]: ...

    def sample(self, rows: int = 200) -> pd.DataFrame: ...

    def select(self, columns: Iterable[str]) -> Source: ...

    def __iter__(self) -> Iterator[Chunk]: ...
