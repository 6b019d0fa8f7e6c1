"""Arrow string kernels, written over the arrays' buffers with numpy where pyarrow's own cost more.

RE2's ``replace_substring_regex`` walks a column cell by cell through the regex engine (about
0.9 s a million phone numbers for ``[^0-9]``), and ``utf8_trim_whitespace`` decodes every
character of every cell; a look at each cell's first and last byte, or one pass over the
column's bytes, gives the same result for a fraction of that. Each kernel is tested against
the pyarrow call it stands for.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ascii_digits", "empty_as_null", "offsets_and_bytes", "trim_whitespace"]

_ZERO, _NINE = ord("0"), ord("9")
#: Bytes that may begin or end white space: the ASCII characters pyarrow trims (TAB to CR, the
#: four separators 0x1C-0x1F, space: asked of pyarrow itself), and any byte of a character beyond
#: ASCII (U+00A0, U+3000...), which pyarrow then judges.
_MAY_BE_SPACE = np.zeros(256, dtype=bool)
_ASCII = [chr(c) + "x" for c in range(128)]
_MAY_BE_SPACE[:128] = np.array(pc.utf8_trim_whitespace(pa.array(_ASCII)).to_pylist()) != _ASCII
_MAY_BE_SPACE[0x80:] = True
Kernel = Callable[[pa.Array | pa.ChunkedArray], pa.Array | pa.ChunkedArray]


def _each_chunk(kernel: Callable[[pa.Array], pa.Array]) -> Kernel:
    """``kernel`` over an array, or over each chunk of a chunked one (no copy into one)."""

    def over(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        if isinstance(array, pa.ChunkedArray):
            return pa.chunked_array([kernel(c) for c in array.chunks], array.type)
        return kernel(array)

    over.__doc__, over.__name__ = kernel.__doc__, kernel.__name__
    return over


def offsets_and_bytes(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's start in the bytes returned, plus the end (``len(array) + 1`` offsets)."""
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=width)[
        array.offset : array.offset + len(array) + 1
    ]
    start, end = int(offsets[0]), int(offsets[-1])
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)[start:end]
        if data_buffer
        else np.empty(0, np.uint8)
    )
    return offsets - start, data


def _valid(array: pa.Array) -> np.ndarray:
    if not array.null_count:
        return np.ones(len(array), dtype=bool)
    return array.is_valid().to_numpy(zero_copy_only=False)


@_each_chunk
def ascii_digits(array: pa.Array) -> pa.Array:
    """Each string with every character but ``0``-``9`` removed (``[^0-9]`` replaced by ``""``);
    nulls stay null. ``string`` stays ``string``, ``large_string`` stays ``large_string``."""
    offsets, data = offsets_and_bytes(array)
    # a multi-byte UTF-8 character has no byte below 0x80, so it goes whole
    kept = np.flatnonzero((data >= _ZERO) & (data <= _NINE))
    new_offsets = np.searchsorted(kept, offsets).astype(offsets.dtype)  # digits before each
    kind = pa.LargeStringArray if pa.types.is_large_string(array.type) else pa.StringArray
    digits = kind.from_buffers(len(array), pa.py_buffer(new_offsets), pa.py_buffer(data[kept]))
    if array.null_count:
        digits = pc.if_else(array.is_valid(), digits, pa.scalar(None, array.type))
    return digits


@_each_chunk
def trim_whitespace(array: pa.Array) -> pa.Array:
    """``pc.utf8_trim_whitespace``, run only on the cells whose first or last byte may be white
    space; the array itself when none is (most columns of most files)."""
    offsets, data = offsets_and_bytes(array)
    filled = (offsets[1:] > offsets[:-1]) & _valid(array)
    doubtful = np.zeros(len(array), dtype=bool)
    at = np.flatnonzero(filled)
    doubtful[at] = _MAY_BE_SPACE[data[offsets[at]]] | _MAY_BE_SPACE[data[offsets[at + 1] - 1]]
    if not doubtful.any():
        return array
    mask = pa.array(doubtful)
    return pc.replace_with_mask(array, mask, pc.utf8_trim_whitespace(array.filter(mask)))


@_each_chunk
def empty_as_null(array: pa.Array) -> pa.Array:
    """Empty strings made null (``if_else(equal(a, ""), null, a)``); the array itself when it has
    none."""
    offsets, _ = offsets_and_bytes(array)
    empty = offsets[1:] == offsets[:-1]
    if not empty.any():
        return array
    valid = _valid(array) & ~empty
    # the validity bitmap counts from the buffers' start, as the offsets do
    bits = np.packbits(np.concatenate([np.zeros(array.offset, bool), valid]), bitorder="little")
    _, offsets_buffer, data_buffer = array.buffers()
    return pa.Array.from_buffers(
        array.type,
        len(array),
        [pa.py_buffer(bits), offsets_buffer, data_buffer],
        offset=array.offset,
    )
