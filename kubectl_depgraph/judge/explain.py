"""`why`: from a not-ready object down to its root causes, with the controllers' own predicates.

why() walks an object's source, its own failures and every dependsOn edge (and the Flux
objects a failed health check names), depth first, each object once. It returns data
(an Explanation); nothing here reads the cluster or prints. why_all() explains every
not-ready object and groups them by root cause (an Incident)."""

import math
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Optional

from kubectl_depgraph.judge import evidence as ev
from kubectl_depgraph.graph import cycle_path
from kubectl_depgraph.model import (FLUX_CLI_KIND, HELMRELEASE, HELMREPOSITORY, SHORT,
                                    SOURCE_KINDS, WORKLOAD_KINDS, ObjectRef)
from kubectl_depgraph.judge.status import (REQUEUE_DEPENDENCY, State, classify, dependency_problems,
                                     generation_observed, ready_for_dependents, ready_verdict,
                                     revision_behind, stalled_condition)
from kubectl_depgraph.timeutil import parse_time

# Labels of a link (an edge the walk evaluates). OK links do not block.
OK = "ready"
MISSING = "missing"
NOT_OBSERVED = "not observed yet"
NOT_READY = "not ready"
REVISION_BEHIND = "revision behind"
READY_EXPR = "readyExpr false"
SUSPENDED = "suspended"
NO_ARTIFACT = "no artifact"

DEPENDS_ON, SOURCE, HEALTH_CHECK = "dependsOn", "source", "healthCheck"

_HEALTH = re.compile(r"timeout waiting for: \[(.*)\]", re.S)
_HEALTH_ITEM = re.compile(r"([A-Za-z0-9]+)/(?:([^/\s]+)/)?([^/\s]+) status: '([^']*)'")

# What a Ready/Stalled reason means, in one sentence (flux-semantics.md).
MEANINGS = {
    "HealthCheckFailed": "applied, but the objects it waits for did not become healthy in time",
    "HealthCheckCanceled": "the health check was cancelled by a newer reconciliation",
    "BuildFailed": "kustomize build of spec.path failed: the manifests in the source cannot be built",
    "ArtifactFailed": "the source artifact could not be fetched",
    "ReconciliationFailed": "applying the built manifests failed (the API server rejected them)",
    "PruneFailed": "garbage collection of objects removed from the source failed",
    "InstallFailed": "the Helm install failed",
    "UpgradeFailed": "the Helm upgrade failed",
    "TestFailed": "the Helm tests failed",
    "RollbackFailed": "the Helm rollback failed",
    "UninstallFailed": "the Helm uninstall failed",
    "ValuesError": "the Helm values could not be composed (valuesFrom ConfigMap/Secret missing or invalid)",
    "SourceNotReady": "the chart source is not ready",
    "AccessDenied": "the controller was denied access (cross-namespace reference or impersonation)",
    "InvalidCELExpression": "a CEL expression (readyExpr or healthCheckExprs) is invalid; "
                            "terminal until the spec is fixed",
    "RetriesExceeded": "remediation retries are exhausted; the helm-controller stopped retrying and "
                       "will not try again until the spec changes or a reset is requested",
    "AuthenticationFailed": "the source cannot authenticate to its remote (credentials in spec.secretRef)",
    "GitOperationFailed": "the Git clone or checkout failed",
}


@dataclass(frozen=True)
class Finding:
    """Something about one object itself: a failure, a suspension, a wait."""

    type: str            # the controller's reason, or Suspended/NeverReconciled/Stale/NotFound/…
    title: str           # short label ("install retries exhausted")
    summary: str         # what it means
    detail: str = ""     # the controller's message, verbatim
    cause: bool = True   # True: the object itself must be fixed (not explained by a deeper one)


@dataclass(frozen=True)
class Link:
    """One evaluated edge from an object: a dependency, its source, or a health-checked object."""

    target: ObjectRef
    via: str                     # dependsOn | source | healthCheck
    label: str                   # OK or one of the blocking labels
    detail: str = ""
    ready_expr: Optional[str] = None
    named: bool = False          # the object's own Ready message names this dependency
    target_state: Optional[State] = None   # the target's verdict (None: not evaluated)

    @property
    def blocked(self):
        return self.label != OK


@dataclass(frozen=True)
class NextCheck:
    """When the controller next evaluates a waiting object's dependencies."""

    last: str                    # RFC3339 of the last check we know of
    basis: str                   # "event" (last DependencyNotReady event) or "transition"
    at: str                      # RFC3339 of the next check (estimate)
    in_seconds: Optional[int]    # from now; None when now is unknown
    interval: int = REQUEUE_DEPENDENCY


@dataclass
class Step:
    """One object on the chain, at its depth below the target."""

    ref: ObjectRef
    depth: int
    via: str                     # "" for the target, else how the parent reached it
    parent: Optional[ObjectRef]
    state: State
    reason: str = ""
    message: str = ""
    since: str = ""
    suspended: bool = False
    generation: Optional[int] = None
    observed_generation: Optional[int] = None
    revision: str = ""
    findings: list = field(default_factory=list)
    links: list = field(default_factory=list)
    events: list = field(default_factory=list)
    next_check: Optional[NextCheck] = None
    repeated: bool = False       # already explained earlier in the chain (diamond)

    @property
    def blocked_links(self):
        return [link for link in self.links if link.blocked]


@dataclass(frozen=True)
class Suggestion:
    text: str                    # what to do and why
    command: str = ""            # a command to run, when there is one


@dataclass
class RootCause:
    """A deepest blocked thing: an object to fix, a missing name, or a cycle."""

    ref: ObjectRef
    label: str
    summary: str
    detail: str = ""
    members: tuple = ()          # cycle members, in order
    named_by: tuple = ()         # for a missing object: (holder, via) for each link naming it
    blocks: list = field(default_factory=list)   # not-ready objects waiting on it

    @property
    def key(self):
        return (self.ref, self.label)

    @property
    def required_by(self):
        """For a missing object: who names it (in spec.dependsOn, as source, in a health check)."""
        return tuple(sorted({holder for holder, _via in self.named_by}))


@dataclass
class Explanation:
    target: ObjectRef
    state: State
    ready: bool
    summary: str
    chain: list
    root_causes: list
    cycles: list
    suggestions: list
    notes: list = field(default_factory=list)

    @property
    def refs(self):
        """Existing objects on the chain (for fetching their events)."""
        return sorted({s.ref for s in self.chain if s.state is not State.MISSING})

    @property
    def blocked_edges(self):
        return [(s.ref, link) for s in self.chain if not s.repeated for link in s.blocked_links]


@dataclass
class Incident:
    """Every not-ready object, grouped by the root causes that block it."""

    root_causes: list
    not_ready: list
    explanations: dict
    cycles: list
    suggestions: list
    notes: list = field(default_factory=list)

    @property
    def refs(self):
        return sorted({r for e in self.explanations.values() for r in e.refs})


# --------------------------------------------------------------------------- evaluation


def _named_in_message(obj):
    """The `ns/name` dependencies the object's DependencyNotReady message names."""
    ready = obj.ready_condition if obj else None
    if ready is None or ready.reason != "DependencyNotReady":
        return set()
    return {ns_name for ns_name, _ in dependency_problems(ready.message)}


def _ready_expr_false_by_controller(obj, dep_ref):
    ready = obj.ready_condition
    return bool(ready and ready.reason == "DependencyNotReady"
                and f"dependency '{dep_ref.ns_name}' is not ready according to readyExpr eval"
                in ready.message)


def evaluate_dependency(graph, obj, dep):
    """Label one dependsOn entry with the controller's predicates, first failure wins."""
    named = dep.ref.ns_name in _named_in_message(obj)
    target = graph.obj(dep.ref)

    def link(label, detail=""):
        return Link(dep.ref, DEPENDS_ON, label, detail, dep.ready_expr, named,
                    classify(target).state)

    if target is None:
        note = graph.other_kind_note(dep.ref)
        return link(MISSING, f"{dep.ref} does not exist" + (f"; {note}" if note else ""))
    ready = ready_for_dependents(target)
    if dep.ready_expr:
        if _ready_expr_false_by_controller(obj, dep.ref):
            return link(READY_EXPR, f"readyExpr {dep.ready_expr!r} evaluated false (controller message)")
        if not ready:
            extra = ", and it is suspended" if target.suspended else ""
            return link(READY_EXPR, f"readyExpr {dep.ready_expr!r} (not evaluated; the dependency "
                                    f"is not ready{extra})")
        return link(OK, f"ready (readyExpr {dep.ready_expr!r} not evaluated)")
    if target.suspended and not ready:
        return link(SUSPENDED, "suspended and not ready: it stays so until resumed")
    if not target.conditions:
        return link(NOT_READY, "never reconciled (no conditions)")
    if not generation_observed(target):
        return link(NOT_OBSERVED, f"generation {target.generation}, observed {target.observed_generation}")
    cond = target.ready_condition
    if cond is None or cond.status != "True":
        text = f"Ready={cond.status} {cond.reason}" if cond else "no Ready condition"
        return link(NOT_READY, text)
    source = graph.sources.get(obj.source) if obj.source else None
    if revision_behind(obj, target, source):
        return link(REVISION_BEHIND, f"applied {target.last_applied_revision or 'nothing'}, "
                                     f"source has {source.artifact_revision}")
    return link(OK, "ready")


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
        return Link(target, SOURCE, MISSING, f"source {target} not found")
    if src.suspended and not ready_for_dependents(src):
        return Link(target, SOURCE, SUSPENDED, "source suspended and not ready")
    if src.has_status and not ready_for_dependents(src):
        cond = src.ready_condition
        text = f"Ready={cond.status} {cond.reason}" if cond else "never reconciled"
        if src.artifact_revision:
            text += f" (still serving {src.artifact_revision})"
        return Link(target, SOURCE, NOT_READY, text)
    # OCI HelmRepositories never have an artifact; every other source needs one.
    if src.has_status and not src.artifact_revision and src.ref.kind != HELMREPOSITORY:
        return Link(target, SOURCE, NO_ARTIFACT, "no artifact: nothing to apply")
    return Link(target, SOURCE, OK, src.artifact_revision or "ready")


def _health_items(message):
    """[(Kind, namespace, name, status)] named by a HealthCheckFailed message."""
    m = _HEALTH.search(message or "")
    if not m:
        return []
    return [(k, ns or "", n, s) for k, ns, n, s in _HEALTH_ITEM.findall(m.group(1))]


def _health_links(graph, obj, items):
    links = []
    for kind, ns, name, status in items:
        if kind not in WORKLOAD_KINDS:
            continue
        ref = ObjectRef(kind, ns or obj.ref.namespace, name)
        target = graph.obj(ref)
        if target is None:
            links.append(Link(ref, HEALTH_CHECK, MISSING, f"health check names {ref}, which does not exist"))
        elif target.suspended and not ready_for_dependents(target):
            links.append(Link(ref, HEALTH_CHECK, SUSPENDED, f"status: '{status}'; suspended"))
        elif not ready_for_dependents(target):
            links.append(Link(ref, HEALTH_CHECK, NOT_READY, f"status: '{status}'"))
        else:
            links.append(Link(ref, HEALTH_CHECK, OK, f"status: '{status}' then; ready now"))
    return links


def _counts(obj):
    return ", ".join(f"{k} {v}" for k, v in sorted(obj.failures.items()))


def _findings(graph, obj, links):
    """The object's own problems, given its evaluated links. The state is status's verdict
    of the Ready condition (ready_verdict: what classify() says unless the object is
    suspended or stalled); suspension and Stalled are findings of their own on top of it."""
    if not obj.has_status:
        return [Finding("NoStatus", "no status", "the input carries no status for this object")]
    out = []
    ok = ready_for_dependents(obj)
    source_blocked = any(link.blocked for link in links if link.via == SOURCE)
    if obj.suspended:
        out.append(Finding("Suspended", "suspended",
                           "spec.suspend is true: the controller leaves it alone until resumed"
                           + ("" if ok else "; its last status is not ready, so its dependents stay "
                                             "blocked"), cause=not ok))
    stalled = stalled_condition(obj)
    if stalled is not None:
        title = f"stalled: {stalled.reason}"
        if stalled.reason == "RetriesExceeded":
            action = "install" if "install" in stalled.message.lower() else "upgrade"
            title = f"{action} retries exhausted"
        summary = MEANINGS.get(stalled.reason, "stalled: the controller will not retry on its own")
        if obj.failures:
            summary += f" (failure counts: {_counts(obj)})"
        out.append(Finding(stalled.reason or "Stalled", title, summary, stalled.message))
    verdict = ready_verdict(obj)
    state, ready = verdict.state, obj.ready_condition
    if state is State.NEW:
        out.append(Finding("NeverReconciled", "never reconciled",
                           "no Ready condition: the controller has not processed it yet (is the "
                           "controller running and watching this namespace?)"))
        return out
    if ready.status == "True":    # READY, or STALE / PROGRESSING on a Ready=True condition
        if not generation_observed(obj):
            out.append(_stale(obj))
        src = graph.sources.get(obj.source) if obj.source else None
        if obj.last_applied_revision and revision_behind(obj, obj, src):
            out.append(Finding("RevisionBehind", "behind its source",
                               f"applied {obj.last_applied_revision}, the source has "
                               f"{src.artifact_revision}: applied at its next reconciliation",
                               cause=False))
        return out
    reason = ready.reason
    if state is State.WAITING:
        out.append(Finding(reason, "waiting", "waits for its dependencies (the controller re-checks "
                           f"every {REQUEUE_DEPENDENCY}s)", ready.message, cause=False))
    elif state is State.PROGRESSING:
        out.append(Finding(verdict.reason, "progressing", "a reconciliation is in progress",
                           ready.message, cause=False))
    elif reason == "HealthCheckFailed":     # FAILED, or STALE on a failure
        items = _health_items(ready.message)
        non_flux = [i for i in items if i[0] not in WORKLOAD_KINDS]
        named = ", ".join(f"{k}/{ns + '/' if ns else ''}{n} ({s})" for k, ns, n, s in items)
        summary = MEANINGS[reason] + (f": {named}" if named else "")
        followed_blocked = any(link.blocked for link in links if link.via == HEALTH_CHECK)
        out.append(Finding(reason, "health check failed", summary, ready.message,
                           cause=bool(non_flux) or not followed_blocked))
    elif reason in ("ArtifactFailed", "SourceNotReady"):
        out.append(Finding(reason, "source not ready" if reason == "SourceNotReady" else "artifact failed",
                           MEANINGS[reason], ready.message, cause=not source_blocked))
    elif not (stalled is not None and stalled.reason == reason):
        summary = MEANINGS.get(reason, "the last reconciliation failed")
        if reason in ("InstallFailed", "UpgradeFailed") and obj.failures:
            summary += f" (failure counts: {_counts(obj)})"
        title = {"InvalidCELExpression": "invalid CEL expression", "AccessDenied": "access denied"}.get(
            reason, reason or "failed")
        if obj.ref.kind in SOURCE_KINDS:
            title = f"source {reason or 'failed'}"
        out.append(Finding(reason or "Failed", title, summary, ready.message,
                           cause=not source_blocked))
    # A failure under ProgressingWithRetry keeps the old observedGeneration: that is the
    # failure, not a spec the controller has yet to see (FAILED, not STALE).
    if state in (State.STALE, State.PROGRESSING) and not generation_observed(obj) \
            and not obj.suspended:
        out.append(_stale(obj))
    if obj.ref.kind in SOURCE_KINDS and not obj.artifact_revision and obj.ref.kind != HELMREPOSITORY:
        out.append(Finding("NoArtifact", "no artifact", "the source has no artifact: its users have "
                           "nothing to apply", cause=False))
    return out


def _stale(obj):
    return Finding("GenerationNotObserved", "not observed yet",
                   f"generation {obj.generation} not observed yet (observed {obj.observed_generation}): "
                   "the controller has not reconciled the latest spec", cause=True)


def _next_check(obj, events, now):
    """For a waiting object: when the controller polls its dependencies again."""
    base = ev.last_of(events, obj.ref, "DependencyNotReady")
    basis = "event"
    if not base:
        base = obj.ready_condition.last_transition_time if obj.ready_condition else ""
        basis = "transition"
    then = parse_time(base)
    if then is None:
        return None
    at, in_seconds = then + timedelta(seconds=REQUEUE_DEPENDENCY), None
    if now is not None:
        elapsed = (now - then).total_seconds()
        periods = max(1, math.ceil(elapsed / REQUEUE_DEPENDENCY))
        at = then + timedelta(seconds=periods * REQUEUE_DEPENDENCY)
        in_seconds = int((at - now).total_seconds())
    return NextCheck(base, basis, at.strftime("%Y-%m-%dT%H:%M:%SZ"), in_seconds)


def _missing_finding(graph, ref, via):
    # Only a dependsOn entry can name the other workload kind by mistake.
    note = graph.other_kind_note(ref) if via == DEPENDS_ON else None
    summary = f"{ref} does not exist" + (f"; {note}" if note else "")
    near = next(iter(graph.nearest_to(ref, limit=1)), None)
    if near is not None and note is None:
        summary += f"; did you mean '{near.ns_name}'?"
    return Finding("NotFound", "missing", summary, cause=True)


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
        links.extend(_health_links(graph, obj, _health_items(ready.message)))
    step.links = [link if link.target_state else replace(link, target_state=graph.verdict(link.target).state)
                  for link in links]
    step.findings = _findings(graph, obj, links)
    return step


def _attach(graph, chain, events, now):
    """Fill the events and the next-check estimate of a walked chain's steps."""
    for step in chain:
        if step.repeated or step.state is State.MISSING:
            continue
        step.events = ev.select(events, step.ref)
        if step.state is State.WAITING:
            step.next_check = _next_check(graph.obj(step.ref), events, now)


def attach_events(graph, result, events, now=None):
    """Add evidence to an Explanation or an Incident computed without it: each step's events
    and a waiting object's next-check estimate (the only things events change). Lets the
    caller fetch events for `result.refs` and walk the graph once."""
    explanations = result.explanations.values() if isinstance(result, Incident) else [result]
    for expl in explanations:
        _attach(graph, expl.chain, events, now)
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
                cycle = list(path[path.index(link.target):])
                start = cycle.index(min(cycle))
                cycle = cycle[start:] + cycle[:start]
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
                  if link.target == step.ref and link.label == REVISION_BEHIND]
        leaf = not step.blocked_links and (step.state is not State.READY or behind)
        if not cause_findings and not leaf:
            continue
        if cause_findings:
            main = cause_findings[0]
            detail = "; ".join(f.detail for f in cause_findings if f.detail)
            label, summary = main.title, main.summary
        elif step.state is State.WAITING:
            label, summary, detail = "waiting for re-check", (
                "all its dependencies pass the controller's checks now; it becomes ready at the "
                f"controller's next poll (every {REQUEUE_DEPENDENCY}s) or on a reconcile request"), step.message
        else:
            label, summary, detail = step.state.value, step.message or step.state.value, ""
        if behind and not cause_findings:
            label, summary = REVISION_BEHIND, behind[0].detail + \
                ": it is reapplied when its controller reconciles the new revision"
        named_by = tuple(sorted({(s.ref, link.via) for s in walk.chain for link in s.links
                                 if link.target == step.ref and link.label == MISSING}))
        rc = RootCause(step.ref, label, summary, detail, named_by=named_by)
        causes.setdefault(rc.key, rc)
    for cycle in walk.cycles:
        path = cycle_path(cycle, arrow="->")
        rc = RootCause(cycle[0], "cycle", f"dependency cycle {path}: its members wait for each other "
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
    walk = _Walk(graph)
    walk.visit(ref, 0, "", None, [ref])
    _attach(graph, walk.chain, events, now)
    target = walk.chain[0]
    obj = graph.obj(ref)
    ready = ready_for_dependents(obj) and not any(f.cause for f in target.findings)
    if ready:
        roots = []
    else:
        roots = _root_causes(walk)
    summary = _summary(target, ready, roots)
    expl = Explanation(ref, target.state, ready, summary, walk.chain, roots, walk.cycles, [])
    expl.suggestions = suggestions(graph, expl) if not ready else []
    return expl


def _summary(target, ready, roots):
    if ready:
        deps = [link for link in target.links if link.via == DEPENDS_ON]
        if not deps:
            return f"{target.ref} is ready; it depends on nothing"
        blocked = [link for link in deps if link.blocked]
        tail = "all ready" if not blocked else f"{len(blocked)} of them blocked now"
        return f"{target.ref} is ready; it depends on {len(deps)} object(s), {tail}"
    n = len(roots)
    word = "root cause" if n == 1 else "root causes"
    what = f"{target.state.value}" + (f" ({target.reason})" if target.reason else "")
    return f"{target.ref} is not ready: {what}; {n} {word}"


def why_all(graph, events=None, now=None, refs=None):
    """Explain every not-ready Kustomization/HelmRelease (or `refs`), grouped by root cause."""
    if refs is None:
        refs = [o.ref for o in graph.objects]
    not_ready = sorted(r for r in refs if graph.obj(r) is not None
                       and not ready_for_dependents(graph.obj(r)))
    explanations, causes, cycles = {}, {}, []
    for ref in not_ready:
        expl = why(graph, ref, events, now)
        if expl.ready:
            continue
        explanations[ref] = expl
        for rc in expl.root_causes:
            merged = causes.setdefault(rc.key, RootCause(rc.ref, rc.label, rc.summary, rc.detail,
                                                         rc.members, rc.named_by))
            merged.blocks = sorted(set(merged.blocks) | set(rc.blocks) | ({ref} - {rc.ref}
                                   if ref not in rc.members else set()))
            merged.named_by = tuple(sorted(set(merged.named_by) | set(rc.named_by)))
        for cycle in expl.cycles:
            if cycle not in cycles:
                cycles.append(cycle)
    roots = sorted(causes.values(), key=lambda rc: (-len(rc.blocks), rc.ref, rc.label))
    incident = Incident(roots, sorted(explanations), explanations, sorted(cycles), [])
    seen, merged_suggestions = set(), []
    for rc in roots:
        for s in _root_suggestions(graph, rc):
            if s not in seen:
                seen.add(s)
                merged_suggestions.append(s)
    incident.suggestions = merged_suggestions
    return incident


# --------------------------------------------------------------------------- what to do


def _flux_words(ref):
    """How the flux CLI names the object's kind: `ks` / `hr` (its short aliases) for the
    workloads, `source git` … for the sources; None when it has no command for it."""
    if ref.kind in WORKLOAD_KINDS:
        return SHORT[ref.kind]
    words = FLUX_CLI_KIND.get(ref.kind)
    return " ".join(words) if words else None


def _source_field(graph, holder):
    """The spec field through which `holder` names its source."""
    obj = graph.obj(holder)
    if holder.kind == HELMRELEASE:
        return "spec.chart.spec.sourceRef" if obj is not None and obj.chart is not None else "spec.chartRef"
    return "spec.sourceRef"


def _missing_suggestions(graph, rc):
    """A missing object: fix the reference in each object that names it, by how it names it."""
    ref, out = rc.ref, []
    other = graph.other_kind(ref)
    near = next(iter(graph.nearest_to(ref, limit=1)), None)
    for holder, via in rc.named_by:
        if via == SOURCE:
            fix = f"; did you mean '{near.ns_name}'?" if near else " or create the source"
            out.append(Suggestion(f"fix {_source_field(graph, holder)} of {holder.short}: "
                                  f"{ref.kind} '{ref.ns_name}' does not exist{fix}", ""))
        elif via == HEALTH_CHECK:
            out.append(Suggestion(f"{holder.short} health-checks {ref}, which does not exist: fix "
                                  f"spec.healthChecks of {holder.short} (or what it applies) or "
                                  "create the object", ""))
        elif other is not None:
            out.append(Suggestion(
                f"{holder.short} names {ref.ns_name} in spec.dependsOn, but that is a "
                f"{other.kind}: remove the entry and list it under spec.healthChecks instead "
                f"(kind: {other.kind}, name: {ref.name}, namespace: {ref.namespace})", ""))
        else:
            fix = f"; did you mean '{near.ns_name}'?" if near else " or create the object"
            out.append(Suggestion(f"fix spec.dependsOn of {holder.short}: '{ref.ns_name}' "
                                  f"does not exist{fix}", ""))
    return out


def _reconcile_dependents(rc):
    return Suggestion(f"once {rc.ref.short} is fixed, roll out everything behind it in order",
                      f"kubectl depgraph reconcile {rc.ref.short} --dependents")


def _root_suggestions(graph, rc):
    ref, ns = rc.ref, rc.ref.namespace
    out = []
    words = _flux_words(ref)
    if rc.label == "cycle":
        members = rc.members
        a, b = members[-1], members[0]
        out.append(Suggestion(f"break the cycle: remove '{b.ns_name}' from spec.dependsOn of "
                              f"{a.short} (in Git)", ""))
        return out
    if rc.label == MISSING:
        return _missing_suggestions(graph, rc)
    obj = graph.obj(ref)
    if obj is not None and obj.suspended:
        out.append(Suggestion(f"resume {ref.short}; it blocks its dependents while suspended",
                              f"flux resume {words} {ref.name} -n {ns}" if words else ""))
    elif rc.label in ("install retries exhausted", "upgrade retries exhausted"):
        out.append(Suggestion("see why the release failed",
                              f"flux logs --kind={ref.kind} --name={ref.name} -n {ns}"))
        out.append(Suggestion("once the cause is fixed, clear the failure counts and retry",
                              f"flux reconcile {words} {ref.name} -n {ns} --reset"))
    elif rc.label == "health check failed":
        ready = obj.ready_condition if obj else None
        for kind, item_ns, name, _status in _health_items(ready.message if ready else ""):
            if kind not in WORKLOAD_KINDS:
                out.append(Suggestion(f"see why {kind}/{name} is not healthy",
                                      f"kubectl describe {kind.lower()}/{name} -n {item_ns or ns}"))
    elif rc.label == REVISION_BEHIND:
        out.append(Suggestion(f"apply the source's new revision to {ref.short} now",
                              f"flux reconcile {words} {ref.name} -n {ns}" if words else ""))
        return out
    elif rc.label == "waiting for re-check" and ref.kind in WORKLOAD_KINDS:
        out.append(Suggestion("check its dependencies now instead of waiting for the next poll",
                              f"flux reconcile {words} {ref.name} -n {ns}"))
        return out
    elif rc.label == "never reconciled":
        out.append(Suggestion("check that the Flux controllers are running", "flux check"))
    elif rc.label == NOT_OBSERVED:
        out.append(Suggestion("the controller has not seen the latest spec; check it is running",
                              "flux check"))
    elif ref.kind in SOURCE_KINDS:
        out.append(Suggestion(f"fix the source ({rc.label}; check the URL and the credentials in "
                              "spec.secretRef), then fetch it again",
                              f"flux reconcile {words} {ref.name} -n {ns}" if words else ""))
    elif ref.kind in WORKLOAD_KINDS:
        out.append(Suggestion(f"see the controller's log for {ref.short}",
                              f"flux logs --kind={ref.kind} --name={ref.name} -n {ns}"))
    if ref.kind in WORKLOAD_KINDS and rc.blocks:
        out.append(_reconcile_dependents(rc))
    elif ref.kind in SOURCE_KINDS:
        users = [r for r in rc.blocks if r.kind in WORKLOAD_KINDS and ref in
                 (graph.obj(r).source, graph.obj(r).chart)]
        # `--dependents` of a user already covers the users that depend on it.
        users = [u for u in users if not graph.upstream([u]) & set(users)]
        for user in users:
            out.append(Suggestion(f"once {ref.short} is fixed, roll out {user.short} and what "
                                  "waits for it, in order",
                                  f"kubectl depgraph reconcile {user.short} --dependents"))
    return out


def suggestions(graph, expl):
    """Concrete next steps for an Explanation, root causes in chain order, deduplicated."""
    out = []
    for rc in expl.root_causes:
        for s in _root_suggestions(graph, rc):
            if s not in out:
                out.append(s)
    return out
