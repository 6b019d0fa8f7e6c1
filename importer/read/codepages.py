"""Which single-byte code page a file that is not UTF-8 was written in.

Windows' cp1252 is by far the commonest, but Excel for Mac's "CSV (Macintosh)" writes Mac
Roman and DOS-era programs cp850: read as cp1252, their accented letters become signs and
capitals inside words (``Müller`` as ``MŸller``). Each code page's reading of a sample is scored
by how word-like its non-ASCII characters are, and the best wins; a tie keeps the earlier.
Pure functions of the bytes, tested as tables.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["CODE_PAGES", "best_code_page", "plausibility"]

#: The code pages tried, commonest first; latin-1 reads every byte, as a last resort.
CODE_PAGES = ("cp1252", "mac_roman", "cp850", "latin-1")
#: What the warning calls the less common ones.
KNOWN_AS = {
    "mac_roman": "Mac Roman, as Excel for Mac's CSV (Macintosh) writes",
    "cp850": "DOS Latin-1, as DOS-era programs write",
}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_APOSTROPHES = "\u2019"


def plausibility(text: str) -> int:
    """How word-like the non-ASCII characters of ``text`` are: +1 for a letter in a word (or an
    apostrophe between letters), -1 for a sign inside a word, a lone letter or a capital inside
    a word of small letters, -3 for a control character; 0 for anything else."""
    score = 0
    for found in _NON_ASCII.finditer(text):
        at, char = found.start(), found.group()
        before = text[at - 1] if at else " "
        after = text[at + 1] if at + 1 < len(text) else " "
        score += _score(char, before, after)
    return score


def _score(char: str, before: str, after: str) -> int:
    kind = unicodedata.category(char)[0]
    if kind == "C":
        return -3
    # within a word, or a run of other such characters in one ("Gr³▀e")
    inside = _wordy(before) and _wordy(after)
    if kind == "L":
        if not (before.isalpha() or after.isalpha()):
            return -1
        # a capital inside a word: "MŸller", "RenŽ" (a word in capitals is "MÜLLER")
        midword = before.isalpha() and (before.islower() or after.islower())
        return -1 if char.isupper() and midword else 1
    if inside:
        return 1 if char in _APOSTROPHES else -1
    return 0


def _wordy(char: str) -> bool:
    return char.isalpha() or not char.isascii()


def best_code_page(sample: bytes, candidates: Iterable[str] = CODE_PAGES) -> str:
    """The candidate whose reading of ``sample`` is the most plausible (the first on a tie);
    one that cannot decode it is passed over."""
    best, best_score = "latin-1", None
    for codec in candidates:
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        score = plausibility(text)
        if best_score is None or score > best_score:
            best, best_score = codec, score
    return best
