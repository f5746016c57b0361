"""`why`: from a not-ready object down to its root causes, with the controllers' own predicates.

why() walks an object's source, its own failures and every dependsOn edge (and the Flux
objects a failed health check names), depth first, each object once (evaluate.py judges
each). It returns data
(an Explanation); nothing here reads the cluster or prints. why_all() explains every
not-ready object and groups them by root cause (an Incident)."""

import math
from dataclasses import replace
from datetime import timedelta

from kubectl_depgraph.judge import evidence as ev
from kubectl_depgraph.judge.advice import suggestions
from kubectl_depgraph.judge.evaluate import step as judged_step
from kubectl_depgraph.judge.explanation import Cause, Explanation, Incident, NextCheck, RootCause, Step, Via
from kubectl_depgraph.judge.status import REQUEUE_DEPENDENCY, Gate, State, ready_for_dependents
from kubectl_depgraph.model import canonical_cycle, cycle_path
from kubectl_depgraph.text import counted
from kubectl_depgraph.timeutil import parse_time

STALE_EVENT = 600   # seconds: a waiting object's last retry event older than this is suspect


def _next_check(obj, evidence, now):
    """For a waiting object: when the controller polls its dependencies again. The interval
    is the one the controller's last event states (`retrying in 2s`), else its default."""
    event = evidence.latest(obj.ref, "DependencyNotReady")
    interval = (ev.retry_interval(event.message) if event else None) or REQUEUE_DEPENDENCY
    interval = int(interval) if float(interval).is_integer() else interval
    if event is not None and event.last:
        base, basis = event.last, "event"
    else:
        base, basis = (obj.ready_condition.last_transition_time if obj.ready_condition else ""), "transition"
    then = parse_time(base)
    if then is None:
        return None
    at, in_seconds, retrying = then + timedelta(seconds=interval), None, True
    if now is not None:
        elapsed = (now - then).total_seconds()
        # The event's time moves on at each retry (aggregated, at worst rate-limited to one
        # per few minutes): one this stale means the controller stopped polling.
        retrying = basis != "event" or elapsed <= max(10 * interval, STALE_EVENT)
        periods = max(1, math.ceil(elapsed / interval))
        at = then + timedelta(seconds=periods * interval)
        in_seconds = int((at - now).total_seconds())
    return NextCheck(base, basis, at.strftime("%Y-%m-%dT%H:%M:%SZ"), in_seconds, interval, retrying)


def _attach(graph, chain, evidence, now):
    """Fill the events and the next-check estimate of a walked chain's steps."""
    for step in chain:
        if step.repeated or step.state is State.MISSING:
            continue
        step.events = evidence.about(step.ref)
        if step.state is State.WAITING:
            step.next_check = _next_check(graph.obj(step.ref), evidence, now)


def attach_events(graph, result, events, now=None):
    """Add evidence to an Explanation or an Incident computed without it: each step's events
    and a waiting object's next-check estimate (the only things events change). Lets the
    caller fetch events for `result.refs` and walk the graph once."""
    explanations = result.explanations.values() if isinstance(result, Incident) else [result]
    evidence = events if isinstance(events, ev.Evidence) else ev.Evidence(events)
    for expl in explanations:
        _attach(graph, expl.chain, evidence, now)
    return result


# --------------------------------------------------------------------------- the walk


class _Walk:
    def __init__(self, graph, judged=None):
        self.graph = graph
        self.chain, self.seen, self.cycles = [], {}, []
        self.children = {}      # ref -> blocked link targets (walk edges)
        # the object's judged step: the same wherever a walk meets it, so a whole
        # incident judges each object once (why_all shares it across walks)
        self.judged = {} if judged is None else judged

    def visit(self, ref, depth, via, parent, path):
        if ref in self.seen:
            first = self.seen[ref]
            self.chain.append(Step(ref, depth, via, parent, first.state, first.reason, first.message,
                                   first.since, first.suspended, repeated=True))
            return
        # A missing object's finding depends on how it is named (dependsOn vs source).
        key = (ref, via if self.graph.obj(ref) is None else None)
        if key not in self.judged:
            self.judged[key] = judged_step(self.graph, ref, depth, via, parent)
        step = replace(self.judged[key], depth=depth, via=via, parent=parent)
        self.seen[ref] = step
        self.chain.append(step)
        kids = self.children.setdefault(ref, [])
        if step.suspended and step.state is not State.READY and depth > 0:
            return   # resuming comes first; what is behind it shows once it runs again
        for link in step.blocked_links:
            kids.append(link.target)
            if link.target in path:
                cycle = canonical_cycle(path[path.index(link.target):])
                if cycle not in self.cycles:
                    self.cycles.append(cycle)
                continue
            self.visit(link.target, depth + 1, link.via, ref, path + [link.target])

    def reaches(self, start, goal):
        todo, seen = [start], set()
        while todo:
            ref = todo.pop()
            if ref == goal:
                return True
            if ref not in seen:
                seen.add(ref)
                todo.extend(self.children.get(ref, ()))
        return False


def _root_causes(walk):
    causes = {}
    for step in walk.chain:
        if step.repeated:
            continue
        cause_findings = [f for f in step.findings if f.cause]
        # A dependency that is ready but behind its source: the edge label is the cause.
        behind = [link for s in walk.chain if not s.repeated for link in s.links
                  if link.target == step.ref and link.label is Gate.REVISION_BEHIND]
        leaf = not step.blocked_links and (step.state is not State.READY or behind)
        if not cause_findings and not leaf:
            continue
        if cause_findings:
            main = cause_findings[0]
            detail = "; ".join(f.detail for f in cause_findings if f.detail)
            kind, label, summary = main.kind, main.title, main.summary
        elif step.state is State.WAITING:
            kind, label, summary, detail = Cause.WAITING_RECHECK, Cause.WAITING_RECHECK.value, (
                "all its dependencies pass the controller's checks now; it becomes ready at the "
                f"controller's next poll (every {REQUEUE_DEPENDENCY}s) or on a reconcile request"), step.message
        else:
            kind = Cause.NEVER_RECONCILED if step.state is State.NEW else Cause.OTHER
            label, summary, detail = step.state.value, step.message or step.state.value, ""
        if behind and not cause_findings:
            kind, label, summary = Cause.REVISION_BEHIND, Gate.REVISION_BEHIND.value, behind[0].detail + \
                ": it is reapplied when its controller reconciles the new revision"
        named_by = tuple(sorted({(s.ref, link.via) for s in walk.chain for link in s.links
                                 if link.target == step.ref and link.label is Gate.MISSING}))
        rc = RootCause(step.ref, kind, label, summary, detail, named_by=named_by)
        causes.setdefault(rc.key, rc)
    for cycle in walk.cycles:
        path = cycle_path(cycle, arrow="->")
        rc = RootCause(cycle[0], Cause.CYCLE, "cycle", f"dependency cycle {path}: its members wait for each other "
                       "forever; it never resolves by itself", members=tuple(cycle))
        causes.setdefault(rc.key, rc)
    result = list(causes.values())
    not_ready = [s.ref for s in walk.chain if not s.repeated and s.state is not State.READY
                 and s.state is not State.MISSING]
    for rc in result:
        goals = rc.members or (rc.ref,)
        rc.blocks = sorted({r for r in not_ready if r not in goals
                            and any(walk.reaches(r, g) for g in goals)})
    return result


def why(graph, ref, events=None, now=None):
    """Explain `ref` (an ObjectRef in the graph): an Explanation. `events` are raw Event dicts
    (live or from a snapshot), `now` an aware datetime for the re-check estimate."""
    expl = _explain(graph, ref, ev.Evidence(events), now)
    # The walk goes down from `ref`; what waits on each root cause is found going up.
    for rc in expl.root_causes:
        waiting = graph.waiting_on(rc.members or [rc.ref])
        rc.blocks = sorted(set(rc.blocks) | {r for r in waiting if graph.obj(r) is not None
                                             and not ready_for_dependents(graph.obj(r))})
    expl.suggestions = suggestions(graph, expl.root_causes)
    return expl


def _explain(graph, ref, evidence, now, judged=None):
    walk = _Walk(graph, judged)
    walk.visit(ref, 0, "", None, [ref])
    _attach(graph, walk.chain, evidence, now)
    target = walk.chain[0]
    ready = ready_for_dependents(graph.obj(ref)) and not any(f.cause for f in target.findings)
    roots = [] if ready else _root_causes(walk)
    return Explanation(ref, target.state, ready, _summary(target, ready, roots), walk.chain, roots,
                       walk.cycles, suggestions(graph, roots))


def _summary(target, ready, roots):
    if ready:
        deps = [link for link in target.links if link.via is Via.DEPENDS_ON]
        if not deps:
            return f"{target.ref} is ready; it depends on nothing"
        blocked = [link for link in deps if link.blocked]
        tail = "all ready" if not blocked else f"{len(blocked)} of them blocked now"
        return f"{target.ref} is ready; it depends on {counted(len(deps), 'object')}, {tail}"
    n = len(roots)
    word = "root cause" if n == 1 else "root causes"
    if target.state is State.READY:   # Ready=True, yet its dependents' check fails
        causes = ", ".join(dict.fromkeys(rc.label for rc in roots if rc.ref == target.ref))
        return f"{target.ref} is Ready but does not count as ready for its dependents" + \
            (f" ({causes})" if causes else "") + f"; {n} {word}"
    what = f"{target.state.value}" + (f" ({target.reason})" if target.reason else "")
    return f"{target.ref} is not ready: {what}; {n} {word}"


def why_all(graph, events=None, now=None, refs=None):
    """Explain every not-ready Kustomization/HelmRelease (or `refs`), grouped by root cause."""
    if refs is None:
        refs = [o.ref for o in graph.objects]
    not_ready = sorted(r for r in refs if graph.obj(r) is not None
                       and not ready_for_dependents(graph.obj(r)))
    explanations, causes, cycles = {}, {}, []
    evidence, judged = ev.Evidence(events), {}
    for ref in not_ready:
        expl = _explain(graph, ref, evidence, now, judged)
        if expl.ready:
            continue
        explanations[ref] = expl
        for rc in expl.root_causes:
            merged = causes.setdefault(rc.key, RootCause(rc.ref, rc.kind, rc.label, rc.summary,
                                                         rc.detail, rc.members, rc.named_by))
            merged.blocks = sorted(set(merged.blocks) | set(rc.blocks) | ({ref} - {rc.ref}
                                   if ref not in rc.members else set()))
            merged.named_by = tuple(sorted(set(merged.named_by) | set(rc.named_by)))
        for cycle in expl.cycles:
            if cycle not in cycles:
                cycles.append(cycle)
    roots = sorted(causes.values(), key=lambda rc: (-len(rc.blocks), rc.ref, rc.label))
    return Incident(roots, sorted(explanations), explanations, sorted(cycles), suggestions(graph, roots))


