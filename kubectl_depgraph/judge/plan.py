"""Reconcile in dependency order, the plan (pure): which objects to reconcile, in which
order, which sources to refresh first, and what is left out and why. Nothing here
reads the cluster; reconcile/executor.py runs a Plan."""

import collections
import enum
import heapq
from dataclasses import dataclass, field
from typing import Optional, Tuple

from kubectl_depgraph.model import (FLUX_CLI_KIND, HELMCHART, KUSTOMIZATION, SOURCE_KINDS, WORKLOAD_KINDS, ObjectRef,
                                    cycle_path)
from kubectl_depgraph.judge.status import Gate, classify, dependency_verdict, ready_for_dependents


class StepResult(str, enum.Enum):
    """What became of one selected object in a run (the summary table's RESULT column)."""

    READY = "ready"
    FAILED = "failed"
    SKIPPED = "skipped"
    SUSPENDED = "suspended"
    INTERRUPTED = "interrupted"

    def __str__(self):   # the word itself, in f-strings too
        return self.value


# --------------------------------------------------------------------------- the plan

@dataclass(frozen=True)
class Step:
    """One reconcile: a workload, or a source refreshed before its first user."""

    ref: ObjectRef
    needs: Tuple[ObjectRef, ...] = ()    # steps of this plan that must be ready first
    source: Optional[ObjectRef] = None   # the source step this workload waits for
    check_revision: bool = False         # a same-source dependent needs lastAppliedRevision current
    wave: int = 1                        # 1-based; a source shows in the wave of its first user

    @property
    def is_source(self):
        return self.ref.kind in SOURCE_KINDS


@dataclass(frozen=True)
class Excluded:
    """A selected object that will not be reconciled: result SUSPENDED or SKIPPED."""

    ref: ObjectRef
    result: StepResult
    message: str


@dataclass(frozen=True)
class OutsideWait:
    """A dependency outside the selection that is not Ready: its dependents will wait."""

    dependency: ObjectRef
    message: str
    dependents: Tuple[ObjectRef, ...]


@dataclass
class Plan:
    steps: list = field(default_factory=list)        # [Step], sources before their first user
    excluded: list = field(default_factory=list)     # [Excluded]
    outside: list = field(default_factory=list)      # [OutsideWait]
    cycles: list = field(default_factory=list)       # [[ObjectRef, …]] touching the selection
    selected: int = 0                                # workloads selected (steps + excluded)

    @property
    def workloads(self):
        return [s for s in self.steps if not s.is_source]

    @property
    def sources(self):
        return [s for s in self.steps if s.is_source]

    def waves(self):
        """[(wave number, [Step])]: each source listed before the workloads of its wave."""
        by_wave = {}
        for step in self.steps:
            by_wave.setdefault(step.wave, []).append(step)
        return [(w, sorted(by_wave[w], key=lambda s: (not s.is_source, s.ref))) for w in sorted(by_wave)]


def select(graph, starts=None, namespace=None, dependents=False, dependencies=False, kind=None):
    """The workloads to reconcile: `starts` (plus downstream/upstream), or every workload
    in `namespace` (all namespaces when None); optionally one kind. Missing nodes dropped.

    Dependents are everything that waits on a start: its dependsOn dependents and the
    Kustomizations whose healthChecks name it, transitively (graph.waiting_on)."""
    if starts:
        chosen = set(starts)
        if dependents:
            chosen |= {r for r in graph.waiting_on(starts) if r.kind in WORKLOAD_KINDS and r in graph}
        if dependencies:
            chosen |= graph.upstream(starts)
    else:
        chosen = {r for r in graph.nodes if namespace is None or r.namespace == namespace}
    # Only Kustomizations and HelmReleases take a reconcile request; what else they depend
    # on (a ResourceSet, a CRD…) is an outside dependency the plan waits for.
    chosen = {r for r in chosen if r.kind in WORKLOAD_KINDS and not graph.is_missing(r)}
    if kind:
        chosen = {r for r in chosen if r.kind == kind}
    return chosen


def health_checked(graph, ref):
    """The Flux workloads that `ref`'s healthChecks name (existing ones): it waits on them."""
    obj = graph.obj(ref)
    return [t for t in (obj.health_checks if obj is not None else ())
            if t.kind in WORKLOAD_KINDS and t in graph and not graph.is_missing(t)]


def _waits_for(graph, ref):
    """What `ref` waits on: its dependsOn targets, then the workloads it health-checks."""
    deps = graph.dependencies(ref)
    return deps + [t for t in health_checked(graph, ref) if t not in deps]


def _order(graph, selected):
    """The selected refs, each after everything it waits on (dependsOn and health-check
    edges); ties in graph.topological() order. Refs on a cycle (of either edge) keep their
    topological place at the end."""
    base = [r for r in graph.topological() if r in selected]
    position = {r: i for i, r in enumerate(base)}
    waits = {r: {d for d in _waits_for(graph, r) if d in position} for r in base}
    users = {r: [] for r in base}
    for ref, deps in waits.items():
        for dep in deps:
            users[dep].append(ref)
    pending = {r: len(d) for r, d in waits.items()}
    ready = [position[r] for r, n in pending.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        ref = base[heapq.heappop(ready)]
        order.append(ref)
        for user in users[ref]:
            pending[user] -= 1
            if pending[user] == 0:
                heapq.heappush(ready, position[user])
    placed = set(order)
    return order + [r for r in base if r not in placed]


def _path_to_cycle(graph, ref, on_cycle):
    """The shortest dependsOn path from `ref` to a cycle member: [first hop, …, member]."""
    paths = {ref: []}
    queue = collections.deque([ref])
    while queue:
        cur = queue.popleft()
        for dep in graph.dependencies(cur):
            if dep in paths:
                continue
            paths[dep] = paths[cur] + [dep]
            if dep in on_cycle:
                return paths[dep]
            queue.append(dep)
    return []


def plan(graph, selected, sources=True):
    """Build the Plan for the `selected` workloads of `graph` (see module docstring)."""
    selected = set(selected)
    result = Plan(selected=len(selected))
    behind_cycle = graph.in_or_behind_cycle()
    on_cycle = {}
    cycles = graph.cycles()
    relevant = selected | graph.upstream(selected) if cycles else selected
    for cycle in cycles:
        if set(cycle) & relevant:
            result.cycles.append(cycle)
        for ref in cycle:
            on_cycle.setdefault(ref, cycle)

    blocking = {}    # ref -> why its dependents cannot proceed
    steps = {}       # ref -> Step (workloads)
    outside = {}     # dependency -> (message, [dependents])
    order = _order(graph, selected)
    for ref in order:
        obj = graph.obj(ref)
        if ref in behind_cycle:
            if ref in on_cycle:
                text = cycle_path(on_cycle[ref])
                message = f"in a dependency cycle: {text}"
            else:
                path = _path_to_cycle(graph, ref, on_cycle)
                through = f" (through {', '.join(str(r) for r in path[:-1])})" if len(path) > 1 else ""
                message = f"depends on {path[-1]}{through}, which is in a dependency cycle"
            result.excluded.append(Excluded(ref, StepResult.SKIPPED, message))
            blocking[ref] = message
            continue
        if obj.suspended:
            if ready_for_dependents(obj):
                result.excluded.append(Excluded(ref, StepResult.SUSPENDED, "resource is suspended"))
            else:
                why = classify(obj).message if obj.has_status else "suspended; never reconciled"
                result.excluded.append(Excluded(ref, StepResult.SUSPENDED, f"resource is suspended ({why})"))
                blocking[ref] = f"dependency {ref} is suspended and not ready"
            continue
        reason = None
        needs = []
        checked = set(health_checked(graph, ref))
        for dep in _waits_for(graph, ref):
            if dep in checked:
                # A health-checked workload: wait for it when it runs, stop when it cannot.
                if dep in blocking:
                    reason = blocking[dep].replace("dependency ", "health-checked ", 1)
                    break
                if dep in steps:
                    needs.append(dep)
                continue
            if graph.is_missing(dep):
                note = graph.other_kind_note(dep)
                reason = f"dependency {dep} does not exist" + (f"; {note}" if note else "")
                break
            if dep in blocking:
                reason = blocking[dep]
                break
            if dep in steps:
                needs.append(dep)
            elif dep not in selected:
                dep_obj = graph.obj(dep)
                src_obj = graph.obj(obj.source) if obj.source else None
                gate = dependency_verdict(obj, dep_obj, src_obj)
                if gate.blocked:
                    verdict = classify(dep_obj)
                    text = "revision is not up to date" if gate.gate is Gate.REVISION_BEHIND else \
                        (verdict.message or verdict.state.value)
                    outside.setdefault(dep, (text, []))[1].append(ref)
        if reason is not None:
            result.excluded.append(Excluded(ref, StepResult.SKIPPED, reason))
            blocking[ref] = f"dependency {ref} is skipped"
            continue
        steps[ref] = Step(ref, tuple(needs))

    # Sources: each distinct one once, before the first object that uses it. A HelmRelease
    # gets what `flux reconcile hr --with-source` does: its HelmChart, after the chart's own
    # source (chart.spec: HelmChart <ns>-<name> of a HelmRepository/GitRepository/Bucket;
    # chartRef: the OCIRepository or HelmChart itself).
    source_steps = {}    # ref -> the source step it needs first (or None)
    if sources:
        for ref in order:
            if ref in steps:
                for src, needs_src in _source_chain(graph, ref):
                    if src not in source_steps and _refreshable(graph, src, result):
                        source_steps[src] = needs_src if needs_src in source_steps else None

    # Waves, the revision rule, and final order.
    wave = {}
    final = {}
    for ref in order:
        if ref not in steps:
            continue
        step = steps[ref]
        chain = [s for s, _ in _source_chain(graph, ref) if s in source_steps] if sources else []
        src = chain[-1] if chain else None
        needs = step.needs + ((src,) if src else ())
        wave[ref] = 1 + max((wave[d] for d in step.needs), default=0)
        own = graph.obj(ref).source
        same_source_dependent = ref.kind == KUSTOMIZATION and own is not None and any(
            d in steps and d.kind == KUSTOMIZATION and graph.obj(d).source == own
            for d in graph.dependents(ref))
        final[ref] = Step(ref, needs, src, same_source_dependent, wave[ref])
    placed = set()
    position = {ref: i for i, ref in enumerate(order)}
    for ref in sorted(final, key=lambda r: (wave[r], position[r])):
        step = final[ref]
        chain = []
        src = step.source
        while src is not None and src not in placed:
            chain.append(src)
            src = source_steps[src]
        for src in reversed(chain):
            placed.add(src)
            first = source_steps[src]
            result.steps.append(Step(src, (first,) if first else (), first, wave=step.wave))
        result.steps.append(step)
    result.outside = [OutsideWait(dep, text, tuple(sorted(deps)))
                      for dep, (text, deps) in sorted(outside.items())]
    return result


def _source_chain(graph, ref):
    """[(source, the source it needs first or None)] that `ref` uses, outermost first."""
    obj = graph.obj(ref)
    chart = obj.chart or (obj.source if obj.source is not None and obj.source.kind == HELMCHART else None)
    if chart is None:
        return [(obj.source, None)] if obj.source is not None else []
    chart_obj = graph.sources.get(chart)
    upstream = obj.source if obj.chart is not None else (chart_obj.source if chart_obj else None)
    chain = [(upstream, None)] if upstream is not None else []
    return chain + [(chart, upstream)]


def _refreshable(graph, src, result):
    """Whether source `src` gets a step; a suspended one is noted in `result.excluded`."""
    src_obj = graph.sources.get(src)
    if src.kind not in FLUX_CLI_KIND or src_obj is None:
        return False    # the controller reports a missing source itself
    if src_obj.suspended:
        if not any(e.ref == src for e in result.excluded):
            result.excluded.append(Excluded(src, StepResult.SUSPENDED, "source is suspended: not refreshed"))
        return False
    return True


def critical_chain(steps, durations):
    """The refs of the longest chain of durations along `needs` (steps in dependency
    order), first step first: the critical path (reconcile.executor.critical_path is its sum)."""
    longest, via = {}, {}
    for step in steps:
        if step.ref not in durations:
            continue
        before = max((n for n in step.needs if n in longest), key=longest.get, default=None)
        longest[step.ref] = durations[step.ref] + (longest[before] if before is not None else 0.0)
        via[step.ref] = before
    ref = max(longest, key=longest.get, default=None)
    chain = []
    while ref is not None:
        chain.append(ref)
        ref = via[ref]
    return chain[::-1]
