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


def render_plan(plan, command_of, style=Style(), how=""):
    """The dry-run: waves with the exact command per step, then what is left out and why.

    `command_of(step)` returns the shell line; `how` names the path (flux CLI / kubectl)."""
    out = []
    n_work, n_src = len(plan.workloads), len(plan.sources)
    waves = plan.waves()
    head = f"Plan: {n_work} object{'s' if n_work != 1 else ''} in {len(waves)} wave{'s' if len(waves) != 1 else ''}"
    if n_src:
        head += f", {n_src} source{'s' if n_src != 1 else ''} refreshed first"
    out.append(head + (f" ({how})" if how else "") + ".")
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
            out.append(f"  {style.paint(style.glyph(state), state)} {item.ref}: {item.result}, "
                       f"{one_line(item.message)}")
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


def render_live(event, style=Style(), width=100):
    """A one-line view of what is running and queued (for a terminal only)."""
    names = ", ".join(r.name for r in event.running)
    text = f"running {len(event.running)}: {names}" if event.running else "running 0"
    text += f" | queued {event.queued} | {format_duration(event.at)}"
    return one_line(text, width)


def render_summary(outcome, style=Style()):
    """The summary table (object, result, duration, message) and the totals line."""
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
    counts = [f"{outcome.count(r)} {r}" for r in StepResult if outcome.count(r)]
    total = f"total {format_duration(outcome.total)}"
    if outcome.critical_path:
        total += f", critical path {format_duration(outcome.critical_path)} " \
                 f"({outcome.total / outcome.critical_path:.2f}{'×' if style.unicode else 'x'})"
    out.append("")
    out.append(", ".join(counts or ["nothing reconciled"]) + f"; {total}" +
               ("; interrupted" if outcome.interrupted else ""))
    return "\n".join(out) + "\n"
