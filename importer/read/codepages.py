"""Which single-byte code page a file that is not UTF-8 was written in.

Windows' cp1252 is by far the commonest, but Excel for Mac's "CSV (Macintosh)" writes Mac
Roman and DOS-era programs cp850: read as cp1252, their accented letters become signs and
capitals inside words (``Müller`` as ``MŸller``). Each code page's reading of a sample is scored
by how word-like its non-ASCII characters are, and the best wins; a tie keeps the earlier.
Pure functions of the bytes, tested as tables.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import numpy as np

__all__ = ["CODE_PAGES", "KNOWN_AS", "best_code_page", "word_score"]

#: The code pages tried, commonest first; latin-1 reads every byte, as a last resort.
CODE_PAGES = ("cp1252", "mac_roman", "cp850", "latin-1")
#: What the warning calls the less common ones.
KNOWN_AS = {
    "mac_roman": "Mac Roman, as Excel for Mac's CSV (Macintosh) writes",
    "cp850": "DOS Latin-1, as DOS-era programs write",
}
_APOSTROPHES = "\u2019"


def word_score(before: str, char: str, after: str) -> int:
    """How word-like a non-ASCII ``char`` is between its neighbours: +1 for a letter in a word
    (or an apostrophe between letters), -1 for a sign inside a word, a lone letter or a capital
    inside a word of small letters, -3 for a control character; 0 for anything else."""
    kind = unicodedata.category(char)[0]
    if kind == "C":
        return -3
    if kind == "L":
        if not (before.isalpha() or after.isalpha()):
            return -1
        # a capital inside a word: "MŸller", "RenŽ" (a word in capitals is "MÜLLER")
        midword = before.isalpha() and (before.islower() or after.islower())
        return -1 if char.isupper() and midword else 1
    # within a word, or a run of other such characters in one ("Gr³▀e")
    if _wordy(before) and _wordy(after):
        return 1 if char in _APOSTROPHES else -1
    return 0


def _wordy(char: str) -> bool:
    return char.isalpha() or not char.isascii()


def best_code_page(sample: bytes, candidates: Iterable[str] = CODE_PAGES) -> str:
    """The candidate whose reading of ``sample``'s non-ASCII bytes, each with its neighbours,
    is the most word-like (the first on a tie); one that cannot decode them is passed over.
    A byte is one character in each, so the contexts are found once, in numpy, and each
    distinct one is scored once."""
    data = np.frombuffer(b" " + sample + b" ", np.uint8).astype(np.uint32)
    at = np.flatnonzero(data >= 0x80)
    keys, counts = np.unique(data[at - 1] << 16 | data[at] << 8 | data[at + 1], return_counts=True)
    contexts = [(int(k).to_bytes(3, "big"), int(n)) for k, n in zip(keys, counts, strict=True)]
    best, best_score = "latin-1", None
    for codec in candidates:
        try:
            score = sum(n * word_score(*key.decode(codec)) for key, n in contexts)
        except UnicodeDecodeError:
            continue
        if best_score is None or score > best_score:
            best, best_score = codec, score
    return best
