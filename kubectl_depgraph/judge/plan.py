"""Reconcile in dependency order, the plan (pure): which objects to reconcile, in which
order, which sources to refresh first, and what is left out and why. Nothing here
reads the cluster; reconcile/executor.py runs a Plan."""

import enum
from dataclasses import dataclass, field
from typing import Optional, Tuple

from kubectl_depgraph.errors import UsageError
from kubectl_depgraph.model import (FLUX_CLI_KIND, KUSTOMIZATION, SOURCE_KINDS, WORKLOAD_KINDS, ObjectRef,
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
    in `namespace` (all namespaces when None); optionally one kind. Missing nodes dropped."""
    if starts:
        for ref in starts:
            if ref.kind not in WORKLOAD_KINDS:
                raise UsageError(f"{ref} is a source: reconcile takes Kustomizations and HelmReleases",
                                 hint="name the Kustomization or HelmRelease that uses it; "
                                      "its source is refreshed first")
        chosen = set(starts)
        if dependents:
            chosen |= graph.downstream(starts)
        if dependencies:
            chosen |= graph.upstream(starts)
    else:
        chosen = {r for r in graph.nodes if namespace is None or r.namespace == namespace}
    chosen = {r for r in chosen if not graph.is_missing(r)}
    if kind:
        chosen = {r for r in chosen if r.kind == kind}
    return chosen


def plan(graph, selected, sources=True):
    """Build the Plan for the `selected` workloads of `graph` (see module docstring)."""
    selected = set(selected)
    result = Plan(selected=len(selected))
    behind_cycle = graph.in_or_behind_cycle()
    on_cycle = {}
    relevant = selected | graph.upstream(selected)
    for cycle in graph.cycles():
        if set(cycle) & relevant:
            result.cycles.append(cycle)
        for ref in cycle:
            on_cycle.setdefault(ref, cycle)

    blocking = {}    # ref -> why its dependents cannot proceed
    steps = {}       # ref -> Step (workloads)
    outside = {}     # dependency -> (message, [dependents])
    order = [r for r in graph.topological() if r in selected]
    for ref in order:
        obj = graph.obj(ref)
        if ref in behind_cycle:
            if ref in on_cycle:
                text = cycle_path(on_cycle[ref])
                message = f"in a dependency cycle: {text}"
            else:
                member = min(graph.upstream([ref]) & set(on_cycle))
                message = f"depends on {member}, which is in a dependency cycle"
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
        for dep in graph.dependencies(ref):
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

    # Sources: each distinct one once, before the first object that uses it.
    source_steps = {}
    if sources:
        for ref in order:
            if ref not in steps:
                continue
            src = graph.obj(ref).source
            if src is None or src in source_steps or src.kind not in FLUX_CLI_KIND:
                continue
            src_obj = graph.sources.get(src)
            if src_obj is None:
                continue    # the controller reports the missing source itself
            if src_obj.suspended:
                if not any(e.ref == src for e in result.excluded):
                    result.excluded.append(Excluded(src, StepResult.SUSPENDED,
                                                    "source is suspended: not refreshed"))
                continue
            source_steps[src] = Step(src)

    # Waves, the revision rule, and final order.
    wave = {}
    final = {}
    for ref in order:
        if ref not in steps:
            continue
        step = steps[ref]
        src = graph.obj(ref).source
        needs = step.needs + ((src,) if src in source_steps else ())
        wave[ref] = 1 + max((wave[d] for d in step.needs), default=0)
        same_source_dependent = ref.kind == KUSTOMIZATION and src is not None and any(
            d in steps and d.kind == KUSTOMIZATION and graph.obj(d).source == src
            for d in graph.dependents(ref))
        final[ref] = Step(ref, needs, src if src in source_steps else None, same_source_dependent, wave[ref])
    placed = set()
    position = {ref: i for i, ref in enumerate(order)}
    for ref in sorted(final, key=lambda r: (wave[r], position[r])):
        step = final[ref]
        if step.source is not None and step.source not in placed:
            placed.add(step.source)
            result.steps.append(Step(step.source, wave=step.wave))
        result.steps.append(step)
    result.outside = [OutsideWait(dep, text, tuple(sorted(deps)))
                      for dep, (text, deps) in sorted(outside.items())]
    return result
