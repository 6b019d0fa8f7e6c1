"""Self-contained HTML pages for people: the validation report and the results report.

A page written here keeps three promises, whatever the cells it shows hold:

- **Nothing leaves it.** No script, no stylesheet, font or image fetched: the CSS is inline and
  charts are inline SVG. A ``Content-Security-Policy`` meta (``default-src 'none'``, the one
  stylesheet allowed by its hash) makes a browser refuse any request the page might still try.
- **Cells are text.** Everything that comes from a file or an answer goes through :func:`esc`
  (HTML escaping, quotes included), and cells are cut to :data:`CELL_WIDTH` characters, so a
  20 MB cell does not make a 20 MB page.
- **Bounded.** :class:`Groups` keeps a count per group and only the first examples of each, and a
  fixed number of groups: listing a million issues costs the same memory as listing a thousand.

It needs no JavaScript: expandable parts are ``<details>``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = [
    "CELL_WIDTH",
    "Group",
    "Groups",
    "bar_chart",
    "cell",
    "clip",
    "esc",
    "line_chart",
    "page",
    "pattern",
]

#: Characters of a cell a page shows; the rest is counted, not shown.
CELL_WIDTH = 200

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:72em;
padding:0 1.5em;color:#1d2733;background:#fff}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em}
.meta{color:#52606d;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1.2em 0}
.card{border:1px solid #d5dbe1;border-radius:6px;padding:.6em 1em;min-width:9em}
.card b{display:block;font-size:1.5em}.card span{color:#52606d}
.card.bad b{color:#b3261e}.card.good b{color:#1e7b34}.card.warn b{color:#8a5a00}
.charts{display:flex;flex-wrap:wrap;gap:2em}.charts figure{margin:0}
figcaption{font-weight:600;margin-bottom:.3em}
svg text{font:12px system-ui,sans-serif;fill:#1d2733}svg .axis{stroke:#8795a1}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #d5dbe1;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f1f4f7}td.n{text-align:right}
details{border:1px solid #d5dbe1;border-radius:6px;margin:.6em 0;padding:.4em .8em}
details[open]{padding-bottom:.8em}
summary{cursor:pointer}summary .what{margin:.2em 0 0 1.4em}
.badge{display:inline-block;border-radius:4px;padding:0 .4em;font-size:.85em;font-weight:600;
color:#fff}.badge.error,.badge.failed{background:#b3261e}.badge.warning{background:#8a5a00}
.badge.invalid{background:#8a5a00}
.value{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
mark{background:#ffe08a;padding:0 .15em;border-radius:2px}
.empty{color:#8795a1;font-style:italic}.own{color:#52606d;font-size:.9em}
.more{color:#52606d;font-style:italic}
ul.notes li{color:#8a5a00}
table.toc td{border:0;border-bottom:1px solid #eef1f4;padding:.15em .6em}
a{color:#1f5aa6;text-decoration:none}a:hover{text-decoration:underline}
"""

_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; base-uri 'none'; form-action 'none'"


def esc(value: object) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def cell(value: object, length: int | None = None) -> str:
    """A cell as a page shows it: escaped, cut to :data:`CELL_WIDTH` characters, empty said in
    words. ``length`` is the cell's whole length when ``value`` was cut already (:func:`clip`)."""
    if value is None or value == "":
        return '<span class="empty">(empty)</span>'
    text = str(value)[:CELL_WIDTH]
    more = max(len(str(value)), length or 0) - len(text)
    if more > 0:
        return f'{esc(text)}<span class="more">… ({more:,} more characters)</span>'
    return esc(text)


def clip(value: object) -> tuple[str | None, int]:
    """What a page keeps of a cell until it is written: its first characters and its length."""
    if value is None:
        return None, 0
    text = str(value)
    return text[:CELL_WIDTH], len(text)


def page(title: str, body: Iterable[str]) -> Iterator[str]:
    """The page around ``body`` (pieces of HTML), as pieces to write one after the other."""
    yield (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body>\n"
    )
    yield from body
    yield "\n</body></html>\n"


# --- charts --------------------------------------------------------------------------------------
BAR_COLOR = "#3b6fb6"
#: The dashed levels of a line chart, in order: the first is the one that matters most.
GUIDE_COLORS = ("#b3261e", "#52606d", "#8a5a00")
LABEL_CHARS = 28


def bar_chart(
    items: Sequence[tuple[str, int]],
    *,
    title: str,
    colors: dict[str, str] | None = None,
    top: int = 15,
    width: int = 420,
    ordered: bool = False,
) -> str:
    """Horizontal bars, one per (label, count), largest first (``ordered``: as given); past
    ``top``, one bar for the others."""
    items = list(items) if ordered else sorted(items, key=lambda item: -item[1])
    if len(items) > top:
        rest = sum(n for _, n in items[top - 1 :])
        items = [*items[: top - 1], (f"{len(items) - top + 1} others", rest)]
    if not items:
        return ""
    label_w, bar_h, gap = 190, 18, 6
    biggest = max(n for _, n in items) or 1
    room = width - label_w - 70
    height = len(items) * (bar_h + gap) + gap
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(title)}">'
    ]
    for i, (label, count) in enumerate(items):
        y = gap + i * (bar_h + gap)
        shown = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        length = max(1, round(room * count / biggest)) if count else 0
        color = (colors or {}).get(label, BAR_COLOR)
        parts.append(
            f"<g><title>{esc(label)}: {count:,}</title>"
            f'<text x="{label_w - 6}" y="{y + bar_h - 5}" text-anchor="end">{esc(shown)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar_h}" rx="2" '
            f'fill="{esc(color)}"></rect>'
            f'<text x="{label_w + length + 5}" y="{y + bar_h - 5}">{count:,}</text></g>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{esc(title)}</figcaption>{''.join(parts)}</figure>"


def line_chart(
    points: Sequence[tuple[float, float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    guides: Sequence[tuple[float, str]] = (),
    width: int = 520,
    height: int = 220,
) -> str:
    """A line through ``points`` (x, y), with axes from 0, and a dashed level at each of
    ``guides`` (level, label)."""
    if len(points) < 2:
        return ""
    left, right, top, bottom = 56, 16, 12, 38
    x_max = max(x for x, _ in points) or 1.0
    y_max = max([y for _, y in points] + [level for level, _ in guides]) * 1.1 or 1.0
    w, h = width - left - right, height - top - bottom

    def at(x: float, y: float) -> str:
        return f"{left + w * x / x_max:.1f},{top + h - h * y / y_max:.1f}"

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(title)}">',
        f'<path class="axis" d="M{left},{top} V{top + h} H{left + w}" fill="none"></path>',
    ]
    for tick in _ticks(y_max):
        y = top + h - h * tick / y_max
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
            f'<path d="M{left},{y:.1f} H{left + w}" stroke="#eef1f4"></path>'
        )
    for tick in _ticks(x_max):
        x = left + w * tick / x_max
        parts.append(
            f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="middle">{_number(tick)}</text>'
        )
    for i, ((level, label), color) in enumerate(zip(guides, GUIDE_COLORS, strict=False)):
        y = top + h - h * level / y_max
        # labels at the right end, then the left: two close levels keep theirs apart
        x, anchor = (left + w, "end") if i % 2 == 0 else (left + 6, "start")
        parts.append(
            f'<path d="M{left},{y:.1f} H{left + w}" stroke="{color}" stroke-dasharray="5 4">'
            f'</path><text x="{x}" y="{y - 4:.1f}" text-anchor="{anchor}">{esc(label)}</text>'
        )
    line = " ".join(at(x, y) for x, y in points)
    parts.append(f'<polyline points="{line}" fill="none" stroke="{BAR_COLOR}" stroke-width="2">'
                 "</polyline>")  # fmt: skip
    parts.append(
        f'<text x="{left + w / 2:.0f}" y="{height - 4}" text-anchor="middle">{esc(x_label)}'
        f'</text><text x="12" y="{top + h / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + h / 2:.0f})">{esc(y_label)}</text></svg>'
    )
    return f"<figure><figcaption>{esc(title)}</figcaption>{''.join(parts)}</figure>"


def _ticks(top: float) -> list[float]:
    """Round values (steps of 1, 2 or 5 times a power of ten) from 0 up to ``top``: about five."""
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(int(top / step) + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


# --- bounded groups ------------------------------------------------------------------------------
#: What differs between messages of one kind ("47 characters", "as row 3", "'Atlantis'"): quoted
#: parts and numbers, blanked to group messages (:func:`pattern`).
QUOTED, QUOTED_BLANK = r"'[^']*'|\"[^\"]*\"", "'…'"
NUMBER, NUMBER_BLANK = r"[0-9]+", "#"


def pattern(message: str) -> str:
    """``message`` with its quoted parts and numbers blanked: messages of one kind share it."""
    return re.sub(NUMBER, NUMBER_BLANK, re.sub(QUOTED, QUOTED_BLANK, message))


K = TypeVar("K", bound=Hashable)
E = TypeVar("E")


@dataclass
class Group(Generic[E]):
    """One group: how many it holds, and the first of them."""

    count: int = 0
    examples: list[E] = field(default_factory=list)


class Groups(Generic[K, E]):
    """Counts per key and the first ``examples`` of each key, for at most ``limit`` keys.

    Keys past the limit are counted under ``overflow(key)``, which must map them onto a small set
    (say, the key without its message), so memory stays bounded whatever comes.
    """

    def __init__(
        self, *, examples: int, limit: int, overflow: Callable[[K], K] | None = None
    ) -> None:
        self.examples = examples
        self.limit = limit
        self._overflow = overflow
        self.groups: dict[K, Group[E]] = {}

    def key(self, key: K) -> K:
        """The key ``key`` is counted under: itself, or its overflow once the groups are full."""
        if key in self.groups or len(self.groups) < self.limit or self._overflow is None:
            return key
        return self._overflow(key)

    def room(self, key: K) -> int:
        """How many more examples the group of ``key`` takes."""
        group = self.groups.get(key)
        return self.examples - len(group.examples) if group else self.examples

    def add(self, key: K, count: int = 1, examples: Iterable[E] = ()) -> None:
        """Count ``count`` more under ``key`` (as :meth:`key` places it), keeping the examples
        that fit."""
        group = self.groups.setdefault(key, Group())
        group.count += count
        room = self.examples - len(group.examples)
        if room > 0:
            group.examples.extend(list(examples)[:room])

    def largest(self) -> list[tuple[K, Group[E]]]:
        return sorted(self.groups.items(), key=lambda item: -item[1].count)
