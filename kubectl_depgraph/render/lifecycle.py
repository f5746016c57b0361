"""Text for `resume`, `suspend` and `delete`: the dry-run commands, progress lines (► ✔ ✗)
and the summary table. Each returns a str."""

from kubectl_depgraph.judge.lifecycle import PAST, RESUME
from kubectl_depgraph.judge.plan import StepResult
from kubectl_depgraph.judge.status import State
from kubectl_depgraph.model import cycle_path
from kubectl_depgraph.render.style import Style, one_line
from kubectl_depgraph.render.table import plain_table
from kubectl_depgraph.timeutil import format_duration

_ING = {"resume": "resuming", "suspend": "suspending", "delete": "deleting"}
_STATE = {StepResult.READY: State.READY, StepResult.FAILED: State.FAILED,
          StepResult.SKIPPED: State.FAILED, StepResult.SUSPENDED: State.SUSPENDED,
          StepResult.INTERRUPTED: State.WAITING}


def result_word(action, result):
    """The RESULT column: `resumed`/`suspended`/`deleted` for a step that is done."""
    return PAST[action] if result is StepResult.READY else str(result)


def render_commands(plan, command_of):
    """The dry-run: the exact commands, one a line, in the order they would run."""
    return "".join(command_of(step) + "\n" for step in plan.steps)


def render_left_out(plan, action, style=Style()):
    """Notes (stderr): the selected objects left alone and the cycles, or ''."""
    lines = [f"note: {item.ref} not {PAST[action]}: {one_line(item.message)}" for item in plan.excluded]
    lines += [f"note: dependency cycle: {cycle_path(c, str, style.arrow)}" for c in plan.cycles]
    return "".join(line + "\n" for line in lines)


def render_event(action, event, style=Style()):
    """One progress line for an executor Event, or ''."""
    stamp = f"[{format_duration(event.at):>6}] "
    ref = event.ref
    if event.kind == "start":
        return stamp + ("►" if style.unicode else ">") + f" {_ING[action]} {ref}"
    if event.kind == StepResult.READY:
        done = f"{ref} {PAST[action]}"
        if action == RESUME:
            done += f" and ready in {format_duration(event.elapsed)}"
        return stamp + style.paint(style.glyph(State.READY), colour="green") + " " + done
    if event.kind == StepResult.FAILED:
        return stamp + style.paint(style.glyph(State.FAILED), colour="red") + \
            f" {ref} failed after {format_duration(event.elapsed)}: {one_line(event.message)}"
    if event.kind == StepResult.SKIPPED:
        return stamp + style.paint(style.glyph(State.FAILED), colour="yellow") + \
            f" {ref} skipped: {one_line(event.message)}"
    if event.kind == "waiting":
        return stamp + style.paint(style.glyph(State.WAITING), colour="yellow") + \
            f" {ref} waiting: {one_line(event.message)}"
    if event.kind == "warning":
        return stamp + f"warning: {one_line(event.message)}"
    return ""


def render_summary(action, outcome, style=Style()):
    """The table (object, result, duration, message) and a totals line."""
    rows = [[str(r.ref), style.paint(result_word(action, r.result), _STATE[r.result]),
             format_duration(r.duration) if r.duration is not None else "-", one_line(r.message, 80)]
            for r in outcome.results]
    out = [plain_table(rows, ["OBJECT", "RESULT", "DURATION", "MESSAGE"])] if rows else []
    counts = [f"{sum(1 for r in outcome.results if r.result == k)} {result_word(action, k)}"
              for k in StepResult if any(r.result == k for r in outcome.results)]
    n = len(outcome.results)
    out += ["", f"{n} object{'s' if n != 1 else ''}: {', '.join(counts) or 'none'}; "
                f"total {format_duration(outcome.total)}" + ("; interrupted" if outcome.interrupted else "")]
    return "\n".join(out) + "\n"
