"""The plan of `resume`, `suspend` and `delete` (pure): the selected workloads as Steps of a
judge.plan.Plan, so reconcile/executor.py runs them. Resume goes dependencies first (each
waits for the Ready of what it depends on); suspend and delete go dependents first (each
waits for what depends on it to be suspended or gone)."""

from kubectl_depgraph.judge.plan import Excluded, Plan, Step, StepResult, _order, _waits_for
from kubectl_depgraph.model import WORKLOAD_KINDS, cycle_path

RESUME, SUSPEND, DELETE = "resume", "suspend", "delete"
ACTIONS = (RESUME, SUSPEND, DELETE)
# Dependents first: an object is suspended/deleted only once nothing selected waits on it.
REVERSED = (SUSPEND, DELETE)
# What a step that is done did (the summary's RESULT column).
PAST = {RESUME: "resumed", SUSPEND: "suspended", DELETE: "deleted"}


def lifecycle_plan(graph, selected, action):
    """Plan for `action` on the `selected` workloads: Steps in execution order (a step
    after the steps it needs), objects in or behind a dependency cycle Excluded (SKIPPED).
    Only dependsOn and health-check edges inside the selection order the steps."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    selected = {r for r in selected if r.kind in WORKLOAD_KINDS}
    result = Plan(selected=len(selected))
    behind_cycle = graph.in_or_behind_cycle()
    cycles = graph.cycles()
    result.cycles = [c for c in cycles if set(c) & selected]
    on_cycle = {ref: cycle for cycle in cycles for ref in cycle}
    order = [r for r in _order(graph, selected) if r not in behind_cycle]
    for ref in _order(graph, selected):
        if ref in behind_cycle:
            why = f"in a dependency cycle: {cycle_path(on_cycle[ref])}" if ref in on_cycle else \
                "depends on a dependency cycle"
            result.excluded.append(Excluded(ref, StepResult.SKIPPED, f"{why}; not ordered, left alone"))
    kept = set(order)
    needs = {ref: [d for d in _waits_for(graph, ref) if d in kept] for ref in order}
    if action in REVERSED:
        users = {ref: [] for ref in order}
        for ref, deps in needs.items():
            for dep in deps:
                users[dep].append(ref)
        needs, order = users, order[::-1]
    wave = {}
    for ref in order:
        wave[ref] = 1 + max((wave[n] for n in needs[ref]), default=0)
    # Wave by wave, sorted within one: the dry-run's order, stable for any input order.
    result.steps = [Step(ref, tuple(sorted(needs[ref])), wave=wave[ref])
                    for ref in sorted(order, key=lambda r: (wave[r], r))]
    return result


def unselected_dependents(graph, selected):
    """{ref: [refs outside the selection that wait on it]} for the selected workloads: what
    a delete would leave waiting on an object that is gone (sorted, empty ones left out)."""
    out = {}
    for ref in sorted(selected):
        outside = sorted(r for r in graph.waiting_on([ref])
                         if r.kind in WORKLOAD_KINDS and r not in selected and not graph.is_missing(r))
        if outside:
            out[ref] = outside
    return out
