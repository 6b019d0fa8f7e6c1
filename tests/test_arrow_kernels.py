"""The Arrow kernels of importer.core.arrow give what the regular expressions they replace give."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from importer.core.arrow import ascii_digits, empty_as_null, trim_whitespace

CELLS = ["+1 (415) 555-0100", None, "", "é٣4x", "12", None, "abc", "+49 30 1234 5678 ext. 9"]
#: White space of every kind at either end, letters beyond ASCII at the ends, cells of spaces.
SPACED = [" Ana ", "\tBruno", "Chloé", "\u00a0Dmitri\u3000", "Émeka", "  ", "", None,
          "x\r\n", "\u2003", "Giulia", "日本", "\u200bzero width\u200b", " \u00e9 ",
          "\x0bv\x0c", "\x1cfile separated\x1f", "\x1d\x1e", "\x00nul\x7f"]  # fmt: skip

#: Each kernel and the pyarrow call it stands for.
KERNELS = [
    (ascii_digits, lambda a: pc.replace_substring_regex(a, "[^0-9]", "")),
    (trim_whitespace, pc.utf8_trim_whitespace),
    (empty_as_null, lambda a: pc.if_else(pc.equal(a, ""), pa.scalar(None, a.type), a)),
]


def _whole(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
@pytest.mark.parametrize("cells", [CELLS, SPACED], ids=["phones", "spaced"])
@pytest.mark.parametrize(("kernel", "pyarrow_call"), KERNELS, ids=lambda k: k.__name__)
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
def test_kernel_is_the_pyarrow_call(kernel, pyarrow_call, cells, kind, part):
    array = part(pa.array(cells, kind))
    found = kernel(array)
    assert found.type == kind
    assert type(found) is type(array)
    assert _whole(found).equals(_whole(pyarrow_call(array)))


@pytest.mark.parametrize(
    ("cell", "digits"),
    [("+1 (415) 555-0100", "14155550100"), ("٣٤", ""), ("0ü9", "09"), ("", ""), (None, None)],
)
def test_ascii_digits_keeps_only_ascii_digits(cell, digits):
    assert ascii_digits(pa.array([cell], pa.string())).to_pylist() == [digits]


@pytest.mark.parametrize("kernel", [trim_whitespace, empty_as_null], ids=lambda k: k.__name__)
def test_nothing_to_do_returns_the_array_itself(kernel):
    array = pa.array(["Ana", "Chloé Dubois", "a 日本 z"], pa.large_string())
    assert kernel(array) is array
