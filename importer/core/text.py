"""Text for a terminal: what the CLI prints from a file or a server can neither steer the
terminal nor flood it.

A CSV header or a server's error message may hold ESC sequences (an OSC sequence retitles the
window or plants a link; CSI moves the cursor), other controls, or 20 MB of text. Everything the
CLI prints that came from outside goes through :func:`for_terminal`, which shows every C0 and C1
control, DEL and the bidirectional-override characters (which make text read in another order
than it is) escaped, Python style (``\\x1b``, ``\\n``, ``\\u202e``), and cuts the text to ``width``
characters, keeping its start and its end around an ellipsis (the end of a message says what to
do). Only terminal output goes through here, never a data file: results and reports keep every
character (:mod:`importer.core.safecsv` makes those safe for spreadsheets).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from datetime import UTC, datetime

__all__ = ["MESSAGE_WIDTH", "VALUE_WIDTH", "for_terminal", "issue_line", "plural", "utc_stamp"]

#: Characters longer messages are cut to (an error line stays readable).
MESSAGE_WIDTH = 1500
#: Characters longer values (a cell, a header name) are cut to in a listing.
VALUE_WIDTH = 60

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(text: object, width: int | None = MESSAGE_WIDTH) -> str:
    """``text`` as a terminal may show it: controls escaped, cut to ``width`` (None: whole)."""
    text = str(text)
    if width is not None and len(text) > 4 * width:  # escaping 20 MB to show 500 characters
        text = text[: 3 * width] + "…" + text[-width:]
    shown = _UNSAFE.sub(_escape, text)
    if width is None or len(shown) <= width:
        return shown
    tail = max(0, (width - 1) // 3)
    return shown[: width - 1 - tail] + "…" + (shown[-tail:] if tail else "")


def issue_line(issue: Mapping[Hashable, object]) -> str:
    """A validation issue as ``validate`` prints it: where, severity, rule, the cell, the message.
    The cell is left out when the message quotes it already (``'Atlantis' is not a country``):
    said twice, it reads as two values."""
    column = for_terminal(issue["column"], VALUE_WIDTH) if issue["column"] else ""
    where = f"row {issue['row']}" + (f", {column}" if column else "")
    cell, message = issue["value"], str(issue["message"])
    quoted = isinstance(cell, str) and (repr(cell) in message or f"'{cell}'" in message)
    value = (
        f" {for_terminal(repr(cell), VALUE_WIDTH)}" if isinstance(cell, str) and not quoted else ""
    )
    return f"{where}: {issue['severity']}: {issue['rule']}:{value} {for_terminal(message)}"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def utc_stamp(moment: datetime) -> str:
    """``moment`` in ISO 8601, UTC, to the millisecond, with a Z: the one time format of the
    files machines read (the summary, the request log, ``history --json``)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
