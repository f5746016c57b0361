"""Glyphs, colour and small text helpers shared by the human renderers."""

import re
from dataclasses import dataclass
from typing import Optional

from kubectl_depgraph.judge.status import State
from kubectl_depgraph.timeutil import parse_time

# Glyph and terminal colour per status (ASCII where stdout is not UTF-8).
GLYPHS = {
    State.READY: "✔", State.FAILED: "✗", State.WAITING: "◎", State.PROGRESSING: "↻",
    State.STALLED: "✗", State.SUSPENDED: "⏸", State.STALE: "◌", State.NEW: "○",
    State.MISSING: "?", State.UNKNOWN: "·",
}
ASCII_GLYPHS = {
    State.READY: "+", State.FAILED: "x", State.WAITING: "~", State.PROGRESSING: ">",
    State.STALLED: "x", State.SUSPENDED: "=", State.STALE: "~", State.NEW: "o",
    State.MISSING: "?", State.UNKNOWN: "-",
}
COLOURS = {
    State.READY: "green", State.FAILED: "red", State.STALLED: "red", State.WAITING: "yellow",
    State.PROGRESSING: "cyan", State.SUSPENDED: "magenta", State.STALE: "yellow",
    State.NEW: "yellow", State.MISSING: "red", State.UNKNOWN: None,
}

# Fill colour per status for the graph drawings (dot, mermaid); keyed by State.value.
FILL = {
    "ready": "#c8e6c9", "failed": "#ffcdd2", "stalled": "#ffcdd2", "waiting": "#fff9c4",
    "progressing": "#b3e5fc", "suspended": "#e1bee7", "stale": "#fff9c4",
    "never reconciled": "#eeeeee", "missing": "#ffffff", "no status": "#ffffff",
}

_ANSI = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36}


_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Style:
    colour: bool = False
    unicode: bool = True
    width: Optional[int] = None   # terminal columns; None: not a terminal, lines are not cut

    def fit(self, line):
        """`line` cut to the terminal's width with an ellipsis (colour codes kept whole), so
        that it never wraps; unchanged when the output is not a terminal."""
        if self.width is None or visible_len(line) <= self.width:
            return line
        out, seen, pos = [], 0, 0
        for m in _ESCAPE.finditer(line):
            text = line[pos:m.start()]
            take = text[:max(self.width - 1 - seen, 0)]
            out.append(take)
            seen += len(take)
            out.append(m.group(0))
            pos = m.end()
        out.append(line[pos:][:max(self.width - 1 - seen, 0)])
        return "".join(out).rstrip() + ("…" if self.unicode else "~") + ("\x1b[0m" if self.colour else "")

    def glyph(self, state):
        return (GLYPHS if self.unicode else ASCII_GLYPHS)[state]

    def paint(self, text, state=None, colour=None, bold=False):
        colour = colour or (COLOURS.get(state) if state is not None else None)
        if not self.colour or (not colour and not bold):
            return text
        codes = ([str(_ANSI[colour])] if colour else []) + (["1"] if bold else [])
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"

    def branch(self, last):
        if self.unicode:
            return "└── " if last else "├── "
        return "`-- " if last else "|-- "

    def stem(self, last):
        if self.unicode:
            return "    " if last else "│   "
        return "    " if last else "|   "

    @property
    def arrow(self):
        return "→" if self.unicode else "->"


def visible_len(text):
    """Length on screen: without colour codes."""
    return len(_ESCAPE.sub("", text))


def one_line(text, width=100):
    """First line of a message, whitespace collapsed, cut to `width` with an ellipsis."""
    text = re.sub(r"\s+", " ", str(text or "")).strip()
    if len(text) > width:
        text = text[: width - 1].rstrip() + "…"
    return text


def listing(items, limit=8):
    """`a, b, c and 795 more`: a long list cut to `limit` names (the data forms keep all)."""
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def short_revision(rev):
    """`main@sha1:696f056df2…` → `main@sha1:696f056d` (flux get's 8 characters)."""
    m = re.match(r"^(.*?)(sha1|sha256):([0-9a-f]{12,})$", rev or "")
    if m:
        return f"{m.group(1)}{m.group(2)}:{m.group(3)[:8]}"
    return rev or ""


def age(since, now):
    """kubectl-style age ('45s', '12m', '3h', '5d') of an RFC3339 time, or '' when unknown."""
    then = parse_time(since)
    if then is None or now is None:
        return ""
    seconds = int((now - then).total_seconds())
    if seconds < 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "d" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
