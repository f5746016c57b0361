"""A run's timeline (`reconcile --trace FILE`): Chrome trace-event JSON (Perfetto,
chrome://tracing) or a Mermaid Gantt chart. Each returns a str.

Per object, one row (tid): the wait on its dependencies (from the run's start until the
last step it needs was ready), the time queued (for a free slot, or while the run
started), then its own reconcile (from the request until it was judged ready or failed)
with, nested in it, the request until the controller handled it (a "handled" instant), and
"waiting" instants when the controller handled it but reported DependencyNotReady. The steps of the critical path carry
args.critical=true (Mermaid: `crit`); their durations sum to Outcome.critical_path."""

import json
from typing import NamedTuple, Optional

from kubectl_depgraph.judge.plan import StepResult, critical_chain
from kubectl_depgraph.timeutil import format_duration

PROCESS = "kubectl depgraph reconcile"
# Waits shorter than this are scheduling noise, not a bar worth drawing.
_MIN_WAIT = 0.001


class Row(NamedTuple):
    step: object
    result: object        # executor.Result
    deps_done: Optional[float]   # when the last step it needs was done (None: one never was)
    waits: list           # [(at, message)] of its "waiting" events
    handled: Optional[float]     # when the controller took the request (None: not seen)


def timeline(plan, outcome, events=()):
    """([Row] for the plan's steps in plan order, the critical chain as a set)."""
    results = {r.ref: r for r in outcome.results}
    ends = {ref: r.started + r.duration for ref, r in results.items()
            if r.started is not None and r.duration is not None}
    waits, handled = {}, {}
    for event in events:
        if event.kind == "waiting" and event.ref is not None:
            waits.setdefault(event.ref, []).append((event.at, event.message))
        elif event.kind == "handled" and event.ref is not None:
            handled.setdefault(event.ref, event.at)
    rows = []
    for step in plan.steps:
        done = [ends.get(n) for n in step.needs]
        deps_done = max(done, default=0.0) if None not in done else None
        rows.append(Row(step, results[step.ref], deps_done, waits.get(step.ref, []), handled.get(step.ref)))
    durations = {ref: r.duration for ref, r in results.items() if r.duration is not None}
    return rows, set(critical_chain(plan.steps, durations))


def _us(seconds):
    return int(round(seconds * 1_000_000))


def render_trace_json(plan, outcome, events=()):
    """{"traceEvents": [...]}: metadata, then per object X events (waits, the reconcile)
    and i instants (waiting, skipped); ts/dur in microseconds from the run's start."""
    rows, critical = timeline(plan, outcome, events)
    out = [{"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": PROCESS}}]
    skipped_at = {e.ref: e.at for e in events if e.kind == StepResult.SKIPPED and e.ref is not None}
    for tid, (step, result, deps_done, waits, handled) in enumerate(rows, start=1):
        ref = str(step.ref)
        out.append({"ph": "M", "name": "thread_name", "pid": 1, "tid": tid, "args": {"name": ref}})
        out.append({"ph": "M", "name": "thread_sort_index", "pid": 1, "tid": tid, "args": {"sort_index": tid}})
        base = {"pid": 1, "tid": tid}
        if result.started is None:
            out.append({**base, "ph": "i", "s": "t", "name": f"{result.result}", "cat": "skip",
                        "ts": _us(skipped_at.get(step.ref, outcome.total)),
                        "args": {"object": ref, "message": result.message}})
            continue
        ready_to_go = min(deps_done if deps_done is not None else 0.0, result.started)
        if step.needs and ready_to_go > _MIN_WAIT:
            out.append({**base, "ph": "X", "name": "waiting on dependencies", "cat": "wait",
                        "ts": 0, "dur": _us(ready_to_go),
                        "args": {"object": ref, "needs": [str(n) for n in step.needs]}})
        if result.started - ready_to_go > _MIN_WAIT:
            out.append({**base, "ph": "X", "name": "queued", "cat": "wait",
                        "ts": _us(ready_to_go), "dur": _us(result.started - ready_to_go),
                        "args": {"object": ref, "parallel": outcome.parallel}})
        out.append({**base, "ph": "X", "name": ref, "cat": "source" if step.is_source else "reconcile",
                    "ts": _us(result.started), "dur": _us(result.duration or 0.0),
                    "args": {"object": ref, "result": str(result.result), "message": result.message,
                             "wave": step.wave, "critical": step.ref in critical}})
        if handled is not None and result.duration is not None and \
                result.started <= handled <= result.started + result.duration:
            # Nested in the reconcile's slice: the request until the controller took it.
            out.append({**base, "ph": "X", "name": "requested", "cat": "request",
                        "ts": _us(result.started), "dur": _us(handled - result.started),
                        "args": {"object": ref}})
            out.append({**base, "ph": "i", "s": "t", "name": "handled", "cat": "controller",
                        "ts": _us(handled), "args": {"object": ref}})
        for at, message in waits:
            out.append({**base, "ph": "i", "s": "t", "name": "waiting", "cat": "controller",
                        "ts": _us(at), "args": {"object": ref, "message": message}})
    meta = {"total_s": round(outcome.total, 6), "critical_path_s": round(outcome.critical_path, 6),
            "critical_path": [str(s.ref) for s in plan.steps if s.ref in critical],
            "parallel": outcome.parallel, "interrupted": outcome.interrupted}
    # One event a line: small, and still readable in a diff.
    events = ",\n".join("  " + json.dumps(e, sort_keys=True) for e in out)
    return '{"traceEvents": [\n' + events + '\n ],\n "displayTimeUnit": "ms",\n "metadata": ' + \
        json.dumps(meta, sort_keys=True) + "}\n"


def _task_name(text):
    # Mermaid ends a task's name at ':' and a statement at ';' or '#'.
    return text.replace(":", " ").replace(";", ",").replace("#", "")


def render_trace_gantt(plan, outcome, events=()):
    """A Mermaid Gantt chart (times in ms from the run's start, `dateFormat x`): a section
    per object, the critical path's tasks tagged crit, ready ones done."""
    rows, critical = timeline(plan, outcome, events)
    title = f"{PROCESS}, total {format_duration(outcome.total)}, " \
            f"critical path {format_duration(outcome.critical_path)}"
    out = ["gantt", f"    title {_task_name(title)}", "    dateFormat x", "    axisFormat %M:%S.%L"]
    for number, (step, result, deps_done, _waits, _handled) in enumerate(rows, start=1):
        out.append(f"    section {_task_name(str(step.ref))}")
        if result.started is None:
            out.append(f"    {result.result} :milestone, m{number}, {_ms(outcome.total)}, {_ms(outcome.total)}")
            continue
        ready_to_go = min(deps_done if deps_done is not None else 0.0, result.started)
        if step.needs and ready_to_go > _MIN_WAIT:
            out.append(f"    waiting on dependencies :w{number}, 0, {_ms(ready_to_go)}")
        if result.started - ready_to_go > _MIN_WAIT:
            out.append(f"    queued :q{number}, {_ms(ready_to_go)}, {_ms(result.started)}")
        tags = (["crit"] if step.ref in critical else []) + \
            (["done"] if result.result == StepResult.READY else ["active"])
        end = result.started + (result.duration or 0.0)
        label = "refresh" if step.is_source else "reconcile"
        out.append(f"    {label} {result.result} :{', '.join(tags)}, s{number}, "
                   f"{_ms(result.started)}, {_ms(end)}")
    return "\n".join(out) + "\n"


def _ms(seconds):
    return str(int(round(seconds * 1000)))


def render_trace(path, plan, outcome, events=()):
    """The trace for `path`: Mermaid for .md/.mmd (a .md gets a ```mermaid fence), else JSON."""
    name = str(path).lower()
    if name.endswith(".mmd"):
        return render_trace_gantt(plan, outcome, events)
    if name.endswith(".md"):
        return "```mermaid\n" + render_trace_gantt(plan, outcome, events) + "```\n"
    return render_trace_json(plan, outcome, events)
