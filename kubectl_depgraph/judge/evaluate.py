"""One object of a `why` walk, judged: its links (source, each dependsOn entry, the Flux
objects a failed health check names), each labelled with the controllers' own checks, and
its own findings (failures, suspension, staleness…). No I/O."""

from dataclasses import replace

from kubectl_depgraph.judge.explanation import Cause, Finding, Link, Step, Via
from kubectl_depgraph.judge.names import nearest_to
from kubectl_depgraph.judge.status import (MEANINGS, REQUEUE_DEPENDENCY, Gate, State, classify,
                                           dependency_problems, dependency_verdict, generation_behind,
                                           health_check_items, observed, observed_ahead, ready_for_dependents,
                                           ready_verdict, revision_behind, stalled_condition)
from kubectl_depgraph.model import HELMRELEASE, HELMREPOSITORY, OWN_GROUPS, SOURCE_KINDS, WORKLOAD_KINDS, ObjectRef


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
    verdict = dependency_verdict(obj, target, source, dep.ready_expr, dep.ready)
    detail = verdict.detail
    if target is None:
        note = graph.other_kind_note(dep.ref)
        detail = f"{dep.ref} does not exist" + (f"; {note}" if note else "")
    return Link(dep.ref, Via.DEPENDS_ON, verdict.gate, detail, dep.ready_expr,
                _named(dep.ref, _named_in_message(obj)), classify(target).state)


def _named(ref, named):
    """Does the message name `ref`: `ns/name`, or `Kind/ns/name` in the cross-kind and
    ResourceSet wording (`dependency <apiVersion>/<Kind>/<ns>/<name> not ready`)?"""
    return ref.ns_name in named or any(n.endswith(f"/{ref.kind}/{ref.ns_name}") for n in named)


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


def _missing_finding(graph, ref, via):
    # Only a dependsOn entry can name the other workload kind by mistake.
    note = graph.other_kind_note(ref) if via is Via.DEPENDS_ON else None
    summary = f"{ref} does not exist" + (f"; {note}" if note else "")
    near = next(iter(nearest_to(graph, ref, limit=1)), None)
    if near is not None and note is None:
        summary += f"; did you mean '{near.ns_name}'?"
    return Finding("NotFound", Cause.MISSING, "missing", summary, cause=True)


def _observed(obj):
    """The observed generation to show: a ResourceSet keeps it on its conditions only."""
    if obj.observed_generation is None and obj.ref.kind in OWN_GROUPS:
        seen = observed(obj)
        return obj.generation if seen is None else seen
    return obj.observed_generation


def _external_findings(obj, verdict):
    """An object of another kind: its kstatus verdict is the whole story."""
    if verdict.reason == "NotRead":
        return [Finding("NotRead", Cause.NOT_READ, "not read", verdict.message)]
    if verdict.state in (State.READY, State.UNKNOWN):
        return []
    what = f"{verdict.state}" + (f" ({verdict.reason})" if verdict.reason else "")
    return [Finding(verdict.reason or "NotCurrent", Cause.NOT_CURRENT, f"not current: {what}",
                    f"kstatus: {verdict.message or verdict.state}; the dependents that ask for its "
                    "readiness wait until it is Current")]


def step(graph, ref, depth, via, parent):
    """One object's step, without events (attach_events adds them)."""
    obj = graph.obj(ref)
    if obj is None:
        step = Step(ref, depth, via, parent, State.MISSING)
        step.findings = [_missing_finding(graph, ref, via)]
        return step
    if ref.external:
        verdict = classify(obj)
        step = Step(ref, depth, via, parent, verdict.state, verdict.reason, verdict.message, verdict.since)
        step.findings = _external_findings(obj, verdict)
        return step
    verdict = classify(obj)
    step = Step(ref, depth, via, parent, verdict.state, verdict.reason, verdict.message, verdict.since,
                obj.suspended, obj.generation, _observed(obj),
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
