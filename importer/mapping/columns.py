"""Column operations the mapping is built from, each over a whole column in pyarrow or pandas."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from importer.core.arrow import empty_as_null, trim_whitespace
from importer.core.issues import STRING
from importer.core.safecsv import ESCAPED_FORMULA

#: The apostrophe a spreadsheet or an exporter puts before a value that starts with a digit or
#: "+" to keep it text (Shopify's ``'02134``, ``'+1 555 0100``): a mark, not part of the value.
TEXT_APOSTROPHE = r"^'([0-9+])"


def read_cells(column: pd.Series) -> tuple[pd.Series, int]:
    """A CSV column as fields see it: stripped, without our formula guard or a text
    apostrophe, empty as absent; and how many text apostrophes went.

    Straight in pyarrow: this runs on every mapped column of every row, the stage's hot spot.
    """
    text = trim_whitespace(pa.array(column.astype(STRING).array))  # chunk by chunk, no copy
    removed = 0
    if pc.any(pc.starts_with(text, "'")).as_py():
        removed = pc.sum(pc.match_substring_regex(text, TEXT_APOSTROPHE)).as_py() or 0
        text = pc.replace_substring_regex(text, ESCAPED_FORMULA, r"\1")
        text = pc.replace_substring_regex(text, TEXT_APOSTROPHE, r"\1")
    return from_arrow(empty_as_null(text), column.index), removed


def join_cells(columns: Sequence[pd.Series], separator: str) -> pd.Series:
    """Each row's present cells of ``columns`` joined with ``separator`` (none: absent).

    Pairwise, because pyarrow's ``binary_join_element_wise(null_handling="skip")`` drops the
    rows where every input is null (seen in pyarrow 26) instead of answering null for them.
    """
    arrays = [to_arrow(c) for c in columns]
    sep = pa.scalar(separator, arrays[0].type)
    joined = arrays[0]
    for more in arrays[1:]:
        joined = pc.coalesce(pc.binary_join_element_wise(joined, more, sep), joined, more)
    return from_arrow(joined, columns[0].index)


def absent_if_empty(cells: pd.Series) -> pd.Series:
    return cells.mask(cells == "")


def to_arrow(cells: pd.Series) -> pa.Array:
    """The column as one pyarrow array (a frame joined from pieces holds chunked ones)."""
    array = pa.array(cells.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def from_arrow(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(array, dtype=STRING), index=index)


def list_item(lists: pa.Array, position: int) -> pa.Array:
    """Item ``position`` of each list (null where the list is shorter or null), without a loop."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy()
    starts = lists.offsets.to_numpy()[:-1]
    return lists.values.take(pa.array(starts + position, mask=lengths <= position))


def absent_if_in(cells: pd.Series, null_values: frozenset[str]) -> pd.Series:
    """``cells`` with those that mean "absent" (compared in lower case) made absent."""
    text = to_arrow(cells)
    hit = pc.fill_null(pc.is_in(pc.utf8_lower(text), pa.array(sorted(null_values))), False)
    if not pc.any(hit).as_py():
        return cells
    return from_arrow(pc.if_else(hit, pa.scalar(None, text.type), text), cells.index)


def replace_patterns(cells: pd.Series, patterns: tuple[tuple[str, str], ...]) -> pd.Series:
    """Each (RE2 pattern, replacement) in turn over the cells; a cell left empty is absent."""
    text = to_arrow(cells)
    for pattern, replacement in patterns:
        text = pc.replace_substring_regex(text, pattern, replacement)
    text = pc.utf8_trim_whitespace(text)
    return from_arrow(pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text), cells.index)


#: Separators that mean "a line break": CRLF, CR and LF all cut.
LINE_BREAKS = ("\n", "\r\n", "\r")


def split(cells: pd.Series, separator: str) -> list[pd.Series]:
    """One stripped column per position of a ``separator``-joined cell (as many as the longest)."""
    if separator in LINE_BREAKS:
        lists = pc.split_pattern_regex(to_arrow(cells), r"\r\n|\r|\n")
    else:
        lists = pc.split_pattern(to_arrow(cells), separator)
    longest = pc.max(pc.list_value_length(lists)).as_py() or 0
    return [
        absent_if_empty(from_arrow(list_item(lists, i), cells.index).str.strip())
        for i in range(longest)
    ]


def spread(results: Sequence[str | None], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Per-distinct results (from ``pd.factorize``'s uniques) back on every row, in C++."""
    taken = pa.array(results, type=pa.large_string()).take(pa.array(codes, mask=codes < 0))
    return from_arrow(taken, index)


def replace_aliases(cells: pd.Series, aliases: dict[str, str | None]) -> pd.Series:
    lowered = cells.str.lower()
    hit = lowered.isin(list(aliases))
    if not hit.any():
        return cells
    codes, uniques = pd.factorize(lowered[hit])
    return cells.mask(hit, spread([aliases[u] for u in uniques], codes, lowered[hit].index))
