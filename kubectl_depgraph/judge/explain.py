"""`why`: from a not-ready object down to its root causes, with the controllers' own predicates.

why() walks an object's source, its own failures and every dependsOn edge (and the Flux
objects a failed health check names), depth first, each object once. It returns data
(an Explanation); nothing here reads the cluster or prints. why_all() explains every
not-ready object and groups them by root cause (an Incident)."""

import math
from dataclasses import replace
from datetime import timedelta

from kubectl_depgraph.judge import evidence as ev
from kubectl_depgraph.judge.advice import suggestions
from kubectl_depgraph.judge.names import nearest_to
from kubectl_depgraph.judge.explanation import (Cause, Explanation, Finding, Incident, Link, NextCheck,
                                                RootCause, Step, Via)
from kubectl_depgraph.judge.status import (MEANINGS, REQUEUE_DEPENDENCY, Gate, State, classify,
                                           dependency_problems, dependency_verdict, generation_behind,
                                           health_check_items, ready_for_dependents, ready_verdict,
                                           observed_ahead, revision_behind, stalled_condition)
from kubectl_depgraph.model import (HELMRELEASE, HELMREPOSITORY, SOURCE_KINDS, WORKLOAD_KINDS, ObjectRef,
                                    canonical_cycle, cycle_path)
from kubectl_depgraph.text import counted
from kubectl_depgraph.timeutil import parse_time

STALE_EVENT = 600   # seconds: a waiting object's last retry event older than this is suspect


# --------------------------------------------------------------------------- evaluation


def _named_in_message(obj):
    """The `ns/name` dependencies the object's DependencyNotReady message names."""
    ready = obj.ready_condition if obj else None
    if ready is None or ready.reason != "DependencyNotReady":
        return set()
    return {ns_name for ns_name, _ in dependency_problems(ready.message)}


def evaluate_dependency(graph, obj, dep):
    """Label one dependsOn entry with the controller's predicates, first failure wins."""
    target = graph.obj(dep.ref)
    source = graph.sources.get(obj.source) if obj.source else None
    verdict = dependency_verdict(obj, target, source, dep.ready_expr)
    detail = verdict.detail
    if target is None:
        note = graph.other_kind_note(dep.ref)
        detail = f"{dep.ref} does not exist" + (f"; {note}" if note else "")
    return Link(dep.ref, Via.DEPENDS_ON, verdict.gate, detail, dep.ready_expr,
                dep.ref.ns_name in _named_in_message(obj), classify(target).state)


def _source_link(graph, obj):
    """The object's own source, checked first: a broken source hides dependency problems."""
    if obj.source is None:
        return None
    target = obj.source
    # A HelmRelease with chart.spec goes through the HelmChart the controller creates.
    if obj.ref.kind == HELMRELEASE and obj.chart is not None and obj.chart in graph.sources:
        target = obj.chart
    src = graph.sources.get(target)
    if src is None:
        return Link(target, Via.SOURCE, Gate.MISSING, f"source {target} not found")
    if src.suspended and not ready_for_dependents(src):
        return Link(target, Via.SOURCE, Gate.SUSPENDED, "source suspended and not ready")
    if src.has_status and not ready_for_dependents(src):
        cond = src.ready_condition
        text = f"Ready={cond.status} {cond.reason}" if cond else "never reconciled"
        if src.artifact_revision:
            text += f" (still serving {src.artifact_revision})"
        return Link(target, Via.SOURCE, Gate.NOT_READY, text)
    # OCI HelmRepositories never have an artifact; every other source needs one.
    if src.has_status and not src.artifact_revision and src.ref.kind != HELMREPOSITORY:
        return Link(target, Via.SOURCE, Gate.NO_ARTIFACT, "no artifact: nothing to apply")
    return Link(target, Via.SOURCE, Gate.OK, src.artifact_revision or "ready")


def _health_links(graph, obj, items):
    links = []
    for kind, ns, name, status in items:
        if kind not in WORKLOAD_KINDS:
            continue
        ref = ObjectRef(kind, ns or obj.ref.namespace, name)
        target = graph.obj(ref)
        if target is None:
            links.append(Link(ref, Via.HEALTH_CHECK, Gate.MISSING, f"health check names {ref}, which does not exist"))
        elif target.suspended and not ready_for_dependents(target):
            links.append(Link(ref, Via.HEALTH_CHECK, Gate.SUSPENDED, f"status: '{status}'; suspended"))
        elif not ready_for_dependents(target):
            links.append(Link(ref, Via.HEALTH_CHECK, Gate.NOT_READY, f"status: '{status}'"))
        else:
            links.append(Link(ref, Via.HEALTH_CHECK, Gate.OK, f"status: '{status}' then; ready now"))
    return links


def _counts(obj):
    return ", ".join(f"{k} {v}" for k, v in sorted(obj.failures.items()))


def _findings(graph, obj, links):
    """The object's own problems, given its evaluated links. The state is status's verdict
    of the Ready condition (ready_verdict: what classify() says unless the object is
    suspended or stalled); suspension and Stalled are findings of their own on top of it."""
    if not obj.has_status:
        return [Finding("NoStatus", Cause.NO_STATUS, "no status", "the input carries no status for this object")]
    out = []
    ok = ready_for_dependents(obj)
    source_blocked = any(link.blocked for link in links if link.via is Via.SOURCE)
    if obj.suspended:
        out.append(Finding("Suspended", Cause.SUSPENDED, "suspended",
                           "spec.suspend is true: the controller leaves it alone until resumed"
                           + ("" if ok else "; its last status is not ready, so its dependents stay "
                                             "blocked"), cause=not ok))
    stalled = stalled_condition(obj)
    if stalled is not None:
        title, kind = f"stalled: {stalled.reason}", Cause.STALLED
        if stalled.reason == "RetriesExceeded":
            kind = Cause.RETRIES_EXHAUSTED
            action = "install" if "install" in stalled.message.lower() else "upgrade"
            title = f"{action} retries exhausted"
        summary = MEANINGS.get(stalled.reason, "stalled: the controller will not retry on its own")
        if obj.failures:
            summary += f" (failure counts: {_counts(obj)})"
        out.append(Finding(stalled.reason or "Stalled", kind, title, summary, stalled.message))
    verdict = ready_verdict(obj)
    state, ready = verdict.state, obj.ready_condition
    if state is State.NEW:
        out.append(Finding("NeverReconciled", Cause.NEVER_RECONCILED, "never reconciled",
                           "no Ready condition: the controller has not processed it yet (is the "
                           "controller running and watching this namespace?)"))
        return out
    if ready.status == "True":    # READY, or STALE / PROGRESSING on a Ready=True condition
        if generation_behind(obj):
            out.append(_stale(obj))
        elif observed_ahead(obj):
            out.append(Finding("GenerationMismatch", Cause.NOT_OBSERVED, "generation mismatch",
                               f"observed generation {obj.observed_generation} is ahead of generation "
                               f"{obj.generation} (recreated, or edited out of band): its dependents do "
                               "not count it as ready until the controller reconciles it again"))
        src = graph.sources.get(obj.source) if obj.source else None
        if obj.last_applied_revision and revision_behind(obj, obj, src):
            out.append(Finding("RevisionBehind", Cause.REVISION_BEHIND, "behind its source",
                               f"applied {obj.last_applied_revision}, the source has "
                               f"{src.artifact_revision}: applied at its next reconciliation",
                               cause=False))
        return out
    reason = ready.reason
    if state is State.WAITING:
        out.append(Finding(reason, Cause.WAITING, "waiting", "waits for its dependencies (the controller re-checks "
                           f"every {REQUEUE_DEPENDENCY}s)", ready.message, cause=False))
    elif state is State.PROGRESSING:
        out.append(Finding(verdict.reason, Cause.PROGRESSING, "progressing", "a reconciliation is in progress",
                           ready.message, cause=False))
    elif reason == "HealthCheckFailed":     # FAILED, or STALE on a failure
        items = health_check_items(ready.message)
        non_flux = [i for i in items if i[0] not in WORKLOAD_KINDS]
        named = ", ".join(f"{k}/{ns + '/' if ns else ''}{n} ({s})" for k, ns, n, s in items)
        summary = MEANINGS[reason] + (f": {named}" if named else "")
        followed_blocked = any(link.blocked for link in links if link.via is Via.HEALTH_CHECK)
        out.append(Finding(reason, Cause.HEALTH_CHECK, "health check failed", summary, ready.message,
                           cause=bool(non_flux) or not followed_blocked))
    elif reason in ("ArtifactFailed", "SourceNotReady"):
        out.append(Finding(reason, Cause.SOURCE, "source not ready" if reason == "SourceNotReady" else "artifact failed",
                           MEANINGS[reason], ready.message, cause=not source_blocked))
    elif not (stalled is not None and stalled.reason == reason):
        summary = MEANINGS.get(reason, "the last reconciliation failed")
        if reason in ("InstallFailed", "UpgradeFailed") and obj.failures:
            summary += f" (failure counts: {_counts(obj)})"
        title = {"InvalidCELExpression": "invalid CEL expression", "AccessDenied": "access denied"}.get(
            reason, reason or "failed")
        if obj.ref.kind in SOURCE_KINDS:
            title = f"source {reason or 'failed'}"
        out.append(Finding(reason or "Failed", Cause.FAILED, title, summary, ready.message,
                           cause=not source_blocked))
    # A failure under ProgressingWithRetry keeps the old observedGeneration: that is the
    # failure, not a spec the controller has yet to see (FAILED, not STALE).
    if state in (State.STALE, State.PROGRESSING) and generation_behind(obj) and not obj.suspended:
        out.append(_stale(obj))
    if obj.ref.kind in SOURCE_KINDS and not obj.artifact_revision and obj.ref.kind != HELMREPOSITORY:
        out.append(Finding("NoArtifact", Cause.NO_ARTIFACT, "no artifact", "the source has no artifact: its users have "
                           "nothing to apply", cause=False))
    return out


def _stale(obj):
    return Finding("GenerationNotObserved", Cause.NOT_OBSERVED, "not observed yet",
                   f"generation {obj.generation} not observed yet (observed {obj.observed_generation}): "
                   "the controller has not reconciled the latest spec", cause=True)


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


def _missing_finding(graph, ref, via):
    # Only a dependsOn entry can name the other workload kind by mistake.
    note = graph.other_kind_note(ref) if via is Via.DEPENDS_ON else None
    summary = f"{ref} does not exist" + (f"; {note}" if note else "")
    near = next(iter(nearest_to(graph, ref, limit=1)), None)
    if near is not None and note is None:
        summary += f"; did you mean '{near.ns_name}'?"
    return Finding("NotFound", Cause.MISSING, "missing", summary, cause=True)


def _step(graph, ref, depth, via, parent):
    """One object's step, without events (attach_events adds them)."""
    obj = graph.obj(ref)
    if obj is None:
        step = Step(ref, depth, via, parent, State.MISSING)
        step.findings = [_missing_finding(graph, ref, via)]
        return step
    verdict = classify(obj)
    step = Step(ref, depth, via, parent, verdict.state, verdict.reason, verdict.message, verdict.since,
                obj.suspended, obj.generation, obj.observed_generation,
                obj.last_applied_revision or obj.artifact_revision or obj.last_attempted_revision)
    links = []
    src = _source_link(graph, obj)
    if src is not None:
        links.append(src)
    links.extend(evaluate_dependency(graph, obj, dep) for dep in obj.depends_on)
    ready = obj.ready_condition
    if ready is not None and ready.status != "True" and ready.reason == "HealthCheckFailed":
        links.extend(_health_links(graph, obj, health_check_items(ready.message)))
    step.links = [link if link.target_state else replace(link, target_state=classify(graph.obj(link.target)).state)
                  for link in links]
    step.findings = _findings(graph, obj, links)
    return step


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
    def __init__(self, graph):
        self.graph = graph
        self.chain, self.seen, self.cycles = [], {}, []
        self.children = {}      # ref -> blocked link targets (walk edges)

    def visit(self, ref, depth, via, parent, path):
        if ref in self.seen:
            first = self.seen[ref]
            self.chain.append(Step(ref, depth, via, parent, first.state, first.reason, first.message,
                                   first.since, first.suspended, repeated=True))
            return
        step = _step(self.graph, ref, depth, via, parent)
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


def _explain(graph, ref, evidence, now):
    walk = _Walk(graph)
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
    evidence = ev.Evidence(events)
    for ref in not_ready:
        expl = _explain(graph, ref, evidence, now)
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


