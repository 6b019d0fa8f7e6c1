"""The read stage: every input format behind one :class:`Source` (see :mod:`.formats`).

:func:`open_source` opens a CSV (:mod:`.delimited`), a workbook (:mod:`.sheet`), a ``.gz`` or a
``.zip`` of one CSV, or standard input (``-``); every later stage reads :class:`Chunk` objects
of numbered rows of text cells from it, whatever the format.
"""

from importer.read.base import Source
from importer.read.delimited import (
    TEXT,
    Chunk,
    CsvSource,
    Guessed,
    RaggedRow,
    StrayValue,
    Undecodable,
    find_header,
    open_csv,
    shown_name,
)
from importer.read.formats import STDIN, count_rows, open_source
from importer.read.sheet import SheetSource, cell_text

__all__ = [
    "STDIN",
    "TEXT",
    "Chunk",
    "CsvSource",
    "Guessed",
    "RaggedRow",
    "SheetSource",
    "Source",
    "StrayValue",
    "Undecodable",
    "cell_text",
    "count_rows",
    "find_header",
    "open_csv",
    "open_source",
    "shown_name",
]
