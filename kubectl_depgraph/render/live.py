"""tree --watch: the live screen (the tree redrawn in place, a status line at the bottom)
and the pipe-mode lines (one per change, like `kubectl get -w`). Strings only; the live
loop in cli/watch.py prints them."""

from collections import Counter
from dataclasses import dataclass

from kubectl_depgraph.judge.status import State, classify
from kubectl_depgraph.render.style import Style
from kubectl_depgraph.render.tree import node_label, render_tree
from kubectl_depgraph.timeutil import format_duration

# A terminal failure ends --exit-when-ready: Stalled, or a failed Ready that is neither
# DependencyNotReady nor Progressing (judge/status.classify says FAILED).
TERMINAL = (State.FAILED, State.STALLED)

# The live screen: the alternate screen without a cursor, each frame drawn from the top
# left over the last one (every line cleared to its end, the rest of the screen below).
ENTER = "\x1b[?1049h\x1b[?25l"
LEAVE = "\x1b[?25h\x1b[?1049l"
HOME, CLEAR_LINE, CLEAR_BELOW = "\x1b[H", "\x1b[K", "\x1b[J"


def seconds(value):
    """`8.1s`, `1m05s`: how long something took."""
    return f"{value:.1f}s" if value < 60 else format_duration(value)


@dataclass(frozen=True)
class Tally:
    """How the selection stands: counts per kind of state."""

    total: int
    ready: int
    failed: int
    waiting: int

    @property
    def all_ready(self):
        return self.total > 0 and self.ready == self.total


def tally(graph):
    """A Tally of every node of `graph` (missing dependencies count as waiting)."""
    states = Counter(classify(graph.obj(ref)).state for ref in graph.nodes)
    total = sum(states.values())
    ready = states[State.READY]
    failed = sum(states[s] for s in TERMINAL)
    return Tally(total, ready, failed, total - ready - failed)


def failures(graph):
    """The refs of `graph` in a terminal failure, sorted."""
    return sorted(r for r in graph.nodes if classify(graph.obj(r)).state in TERMINAL)


def status_line(t, elapsed, style=Style(), note=""):
    """`3/5 ready · 1 waiting · 1 failed · 12.4s`."""
    dot = " · " if style.unicode else " - "
    parts = [style.paint(f"{t.ready}/{t.total} ready", State.READY if t.all_ready else None, bold=True),
             f"{t.waiting} waiting",
             style.paint(f"{t.failed} failed", State.FAILED if t.failed else None),
             seconds(elapsed)]
    return style.fit(dot.join(parts) + (f"  {note}" if note else ""))


def took_suffixes(took):
    """{ref: ' (8.1s)'} for the objects that turned Ready during the watch."""
    return {ref: f" ({seconds(t)})" for ref, t in took.items()}


def screen(graph, took, elapsed, style, rows, starts=None, reverse=False, depth=None,
           sources=False, focus=None, note=""):
    """One frame of the live screen: the tree (each line with its state, and how long it
    took to turn Ready), cut to the width, scrolled to `focus` (the ref that changed last)
    when it is taller than the terminal, the status line on the bottom row."""
    text = render_tree(graph, starts=starts, reverse=reverse, depth=depth, sources=sources,
                       style=style, suffixes=took_suffixes(took))
    lines = text.rstrip("\n").split("\n") if len(graph) else ["(nothing selected)"]
    area = max(rows - 2, 1)   # a blank line, then the status line
    lines = _window(lines, area, _line_of(lines, focus), style)
    lines += [""] * (area - len(lines)) + ["", status_line(tally(graph), elapsed, style, note)]
    return HOME + (CLEAR_LINE + "\n").join(lines) + CLEAR_LINE + CLEAR_BELOW


def _line_of(lines, ref):
    if ref is None:
        return 0
    needle = f" {ref.short} "
    return next((i for i, line in enumerate(lines) if needle in line + " "), 0)


def _window(lines, height, focus, style):
    """At most `height` lines around `focus` (a third from the top), with `… N more` marks
    where lines are cut off."""
    if len(lines) <= height:
        return lines
    ell = "…" if style.unicode else "..."
    first = min(max(focus - height // 3, 0), len(lines) - height)
    shown = lines[first:first + height]
    if first > 0:
        shown[0] = f"{ell} {first + 1} lines above"
    below = len(lines) - first - height
    if below > 0:
        shown[-1] = f"{ell} {below + 1} lines below"
    return shown


def change_line(graph, ref, elapsed, style=Style(), took=None):
    """`[  12.4s] ✔ ks/flux-system/apps ready (took 8.1s)`: one change, for pipes."""
    if took is not None:
        label = f"{node_label(graph, ref, style, with_message=False)} (took {seconds(took)})"
    else:
        label = node_label(graph, ref, style)
    return style.fit(f"[{elapsed:7.1f}s] {label}")


def summary(graph, took, elapsed, outcome, style=Style()):
    """The closing lines: the outcome, the counts, and the slowest objects to turn Ready."""
    t = tally(graph)
    lines = [f"{outcome}: {t.ready}/{t.total} ready, {t.waiting} waiting, {t.failed} failed "
             f"after {seconds(elapsed)}"]
    not_ready = [r for r in graph.nodes if classify(graph.obj(r)).state is not State.READY]
    for ref in sorted(not_ready, key=lambda r: (classify(graph.obj(r)).state not in TERMINAL, r)):
        lines.append("  " + node_label(graph, ref, style))
    return "\n".join(style.fit(line) for line in lines) + "\n"
