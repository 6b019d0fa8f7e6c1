"""Full names cut into Help Scout's firstName and lastName, by ``nameparser``.

Help Scout has no field for a title, a middle name or a suffix, so: the title goes ("Dr. Ana
López" is Ana, López), a nickname in quotes goes, a suffix stays on the last name ("King Jr.").
Middle names follow the writer: "First Middle Last" keeps the first word as firstName, the rest
as lastName ("Ana María López": Ana, María López; "Gabriel García Márquez" is right so, and no
rule tells the two apart); "Last, First Middle" puts everything after the comma in firstName.
Particles stay with the last name ("Jan van der Berg": Jan, van der Berg).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

__all__ = ["split_full_name"]


@cache
def _nameparser() -> tuple[Any, Any]:
    """nameparser's ``HumanName`` and ``CONSTANTS``, imported on the first name split: the
    import costs 60 ms, and most imports split no name."""
    from nameparser import HumanName
    from nameparser.config import CONSTANTS

    return HumanName, CONSTANTS


_PLAIN = re.compile(r"[^\W\d_][\w'’-]* [^\W\d_][\w'’-]*")


def _word(text: str) -> str:
    return text.lower().replace(".", "")


def _special(word: str) -> bool:
    """A word nameparser reads as more than a name: a title, suffix, particle or conjunction."""
    w, constants = _word(word), _nameparser()[1]
    return any(
        w in group
        for group in (
            constants.titles,
            constants.suffix_acronyms,
            constants.suffix_not_acronyms,
            constants.prefixes,
            constants.conjunctions,
        )
    )


def split_full_name(text: str) -> tuple[str | None, str | None]:
    """(firstName, lastName) of a full name (either may be None: "Cher", "Dr. López")."""
    text = " ".join(text.split())
    if _PLAIN.fullmatch(text) and not any(_special(w) for w in text.split()):
        first, last = text.split()  # "Ana López", the common case, without the parser
        return first, last
    head, comma, tail = text.partition(",")
    if comma and not tail.strip():  # "Lovelace,": a last name alone
        return None, head.strip() or None
    name = _nameparser()[0](text)
    after = tail.split()
    comma_first = any(not _special(w) for w in after)  # "López, Ana", not "Smith, PhD"
    if comma_first:
        parts = ([name.first, name.middle], [name.last, name.suffix])
    else:
        parts = ([name.first], [name.middle, name.last, name.suffix])
    given, family = (" ".join(p for p in words if p) for words in parts)
    if not given and not family:  # a lone title: "Prince" is somebody's name
        return text or None, None
    return given or None, family or None
