"""The Arrow kernels of importer.core.arrow give what the regular expressions they replace give."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from importer.core.arrow import ascii_digits

CELLS = ["+1 (415) 555-0100", None, "", "é٣4x", "12", None, "abc", "+49 30 1234 5678 ext. 9"]


def _as_regex(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    found = pc.replace_substring_regex(array, "[^0-9]", "")
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
@pytest.mark.parametrize(
    "part",
    [
        lambda a: a,
        lambda a: a.slice(1),
        lambda a: a.slice(2, 3),
        lambda a: a.slice(len(a)),
        lambda a: pa.chunked_array([a, a.slice(3)]),
        lambda a: pa.array([None, None], a.type),
    ],
    ids=["whole", "sliced", "middle", "empty", "chunked", "only nulls"],
)
def test_ascii_digits_is_the_regex(kind, part):
    array = part(pa.array(CELLS, kind))
    found = ascii_digits(array)
    assert found.type == kind
    assert found.equals(_as_regex(array))


@pytest.mark.parametrize(
    ("cell", "digits"),
    [("+1 (415) 555-0100", "14155550100"), ("٣٤", ""), ("0ü9", "09"), ("", ""), (None, None)],
)
def test_ascii_digits_keeps_only_ascii_digits(cell, digits):
    assert ascii_digits(pa.array([cell], pa.string())).to_pylist() == [digits]
