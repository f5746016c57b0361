"""Text for `kubectl depgraph reconcile`: the dry-run plan, progress lines in flux's
style (► ✔ ◎ ✗), a one-line live view, and the summary table. Each returns a str."""

from kubectl_depgraph.model import SOURCE_KINDS, cycle_path
from kubectl_depgraph.judge.plan import StepResult
from kubectl_depgraph.render.style import Style, one_line
from kubectl_depgraph.render.table import plain_table
from kubectl_depgraph.judge.status import State
from kubectl_depgraph.timeutil import format_duration

# The status whose glyph and colour show a result in the plan and the summary.
_RESULT_STATE = {StepResult.READY: State.READY, StepResult.FAILED: State.FAILED,
                 StepResult.SKIPPED: State.FAILED, StepResult.SUSPENDED: State.SUSPENDED,
                 StepResult.INTERRUPTED: State.WAITING}
# Progress lines, flux's way: the status whose glyph an event shows, and its colour
# (a skip or an interruption is ✗ but not red: nothing of its own went wrong).
_EVENT_LOOK = {StepResult.READY: (State.READY, "green"), StepResult.FAILED: (State.FAILED, "red"),
               StepResult.SKIPPED: (State.FAILED, "yellow"),
               StepResult.INTERRUPTED: (State.FAILED, "yellow"), "waiting": (State.WAITING, "yellow")}
# The two events that are no status: (unicode, ASCII) glyph, colour.
_EVENT_GLYPHS = {"start": ("►", ">", None), "warning": ("⚠", "!", "yellow")}


def _count(n, word):
    return f"{n} {word}{'s' if n != 1 else ''}"


def render_plan(plan, command_of, style=Style(), how="", note=""):
    """The dry-run: waves with the exact command per step, then what is left out and why.

    `command_of(step)` returns the shell line; `how` names the path (flux CLI / kubectl);
    `note`: a line printed under the head (e.g. the flux CLI is missing). Counted: the
    Kustomizations and HelmReleases reconciled ("objects"), sources apart."""
    out = []
    n_work, n_src = len(plan.workloads), len(plan.sources)
    waves = plan.waves()
    head = f"Plan: {_count(n_work, 'object')} in {_count(len(waves), 'wave')}"
    if n_src:
        head += f", {_count(n_src, 'source')} refreshed first"
    out.append(head + (f" ({how})" if how else "") + ".")
    left_out = plan.selected - n_work
    if left_out > 0:
        out.append(f"{_count(left_out, 'more selected object')} not reconciled (see below).")
    if note:
        out.append(f"note: {note}")
    if not plan.steps:
        out.append("Nothing to reconcile.")
    for number, steps in waves:
        out.append("")
        out.append(style.paint(f"wave {number}", bold=True))
        for step in steps:
            needs = [n for n in step.needs if n != step.source]
            after = ""
            if needs:
                after = " after " + ", ".join(n.ns_name if n.kind == step.ref.kind else str(n)
                                              for n in needs)
            tag = "source" if step.is_source else ""
            out.append(f"  {step.ref}{(' (' + tag + ')') if tag else ''}{after}")
            out.append(f"    $ {command_of(step)}")
    if plan.outside:
        out.append("")
        out.append("Dependencies outside the selection that are not ready (not reconciled):")
        for wait in plan.outside:
            names = ", ".join(str(d) for d in wait.dependents)
            out.append(f"  {style.paint(style.glyph(State.WAITING), State.WAITING)} {wait.dependency}: "
                       f"{one_line(wait.message)}; {names} will wait for it")
    if plan.cycles:
        out.append("")
        out.append("Dependency cycles (members and their dependents are not reconciled):")
        for cycle in plan.cycles:
            out.append("  " + cycle_path(cycle, str, style.arrow))
    if plan.excluded:
        out.append("")
        out.append("Not reconciled:")
        for item in plan.excluded:
            state = _RESULT_STATE[item.result]
            out.append(style.fit(f"  {style.paint(style.glyph(state), state)} {item.ref}: {item.result}, "
                                 f"{one_line(item.message, 10**6)}"))
    return "\n".join(out) + "\n"


def render_notes(plan, style=Style()):
    """Before a real run (stderr): what will wait on objects outside the selection, and the
    cycles left out."""
    lines = [f"note: {wait.dependency} is not ready ({one_line(wait.message)}); "
             f"{', '.join(str(d) for d in wait.dependents)} will wait for it" for wait in plan.outside]
    lines += [f"note: dependency cycle, not reconciled: {cycle_path(cycle, str, style.arrow)}"
              for cycle in plan.cycles]
    return "".join(line + "\n" for line in lines)


def render_event(event, style=Style()):
    """One progress line for a reconcile.Event, or '' for events that print nothing."""
    ref = event.ref
    if event.kind in _EVENT_LOOK:
        state, colour = _EVENT_LOOK[event.kind]
        glyph = style.glyph(state)
    elif event.kind in _EVENT_GLYPHS:
        unicode, ascii_, colour = _EVENT_GLYPHS[event.kind]
        glyph = unicode if style.unicode else ascii_
    else:
        return ""
    stamp = f"[{format_duration(event.at):>6}] "
    if event.kind == "start":
        verb = "refreshing source" if ref.kind in SOURCE_KINDS else "reconciling"
        text = f"{verb} {ref}"
    elif event.kind == StepResult.READY:
        text = f"{ref} ready in {format_duration(event.elapsed)}" + \
            (f": {one_line(event.message)}" if event.message else "")
    elif event.kind == "waiting":
        text = f"{ref} waiting after {format_duration(event.elapsed)}: {one_line(event.message)}"
    elif event.kind == StepResult.FAILED:
        text = f"{ref} failed after {format_duration(event.elapsed)}: {one_line(event.message)}"
    elif event.kind == StepResult.SKIPPED:
        text = f"{ref} skipped: {one_line(event.message)}"
    elif event.kind == StepResult.INTERRUPTED:
        text = f"{ref} interrupted after {format_duration(event.elapsed)}"
    else:
        text = f"warning: {one_line(event.message)}"
    return stamp + style.paint(glyph, colour=colour) + " " + text


def render_live(event, style=Style()):
    """A one-line view of what is running and queued (for a terminal only), cut to the
    terminal's width so that it never wraps (the next \\r and erase must clear all of it).
    The counts and time come first: they survive the cut."""
    names = ", ".join(r.name for r in event.running)
    text = f"[{format_duration(event.at):>6}] running {len(event.running)}, queued {event.queued}"
    if names:
        text += f": {names}"
    # One column spare: a line exactly as wide as the terminal wraps on some terminals.
    width = style.width - 1 if style.width else 100
    return Style(unicode=style.unicode, width=width).fit(one_line(text, 10**6))


def render_summary(outcome, style=Style(), parallel=None):
    """The summary table (object, result, duration, message) and the totals line: the
    Kustomizations and HelmReleases counted as objects, sources apart, as in the plan."""
    rows = []
    for res in outcome.results:
        state = _RESULT_STATE[res.result]
        rows.append([str(res.ref), style.paint(res.result, state),
                     format_duration(res.duration) if res.duration is not None else "-",
                     one_line(res.message, 80)])
    out = []
    if rows:
        out.append(plain_table(rows, ["OBJECT", "RESULT", "DURATION", "MESSAGE"]))
    # The table cuts messages; a failure's whole message is what the user needs next.
    cut = [res for res in outcome.results
           if res.result == StepResult.FAILED and len(one_line(res.message, 10**6)) > 80]
    if cut:
        out.append("")
        out.extend(f"{style.paint(style.glyph(State.FAILED), State.FAILED)} {res.ref}: "
                   f"{one_line(res.message, 10**6)}" for res in cut)
    groups = []
    for word, results in (("object", [r for r in outcome.results if r.ref.kind not in SOURCE_KINDS]),
                          ("source", [r for r in outcome.results if r.ref.kind in SOURCE_KINDS])):
        if results:
            counts = [f"{sum(1 for r in results if r.result == kind)} {kind}" for kind in StepResult
                      if any(r.result == kind for r in results)]
            groups.append(f"{_count(len(results), word)}: {', '.join(counts)}")
    out.append("")
    out.append("; ".join(groups or ["nothing reconciled"]) + f"; {_timing(outcome, style, parallel)}" +
               ("; interrupted" if outcome.interrupted else ""))
    return "\n".join(out) + "\n"


def _timing(outcome, style, parallel=None):
    """`total T, critical path C (R×)`; when steps waited for a free slot, the ratio is to
    the critical path on that many slots, and says so."""
    times = "×" if style.unicode else "x"
    text = f"total {format_duration(outcome.total)}"
    if not outcome.critical_path:
        return text
    text += f", critical path {format_duration(outcome.critical_path)}"
    parallel = parallel or outcome.parallel
    if outcome.slot_bound and parallel:
        bound = outcome.scheduled_path or outcome.critical_path
        return text + f"; bound by --parallel {parallel}: {format_duration(bound)} on {_count(parallel, 'slot')} " \
                      f"({outcome.total / bound:.2f}{times})"
    return text + f" ({outcome.total / outcome.critical_path:.2f}{times})"
