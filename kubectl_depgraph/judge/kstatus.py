"""Readiness of the objects of any other kind a dependency names (a CRD, a Deployment, a
cert-manager Issuer…), with kstatus's rules, as the controllers judge cross-kind
dependencies and ResourceSet entries (status.Compute: Current = ready). No I/O."""

from kubectl_depgraph.judge.status import State, Verdict, stalled_condition


def kstatus(obj):
    """The verdict of an object of any other kind (a CRD, a Deployment, a cert-manager
    Issuer…), with kstatus's rules as the controllers use them for cross-kind dependencies
    (status.Compute; Current = ready): generation observed, the kind's own rules for the
    built-in kinds, else the Stalled/Reconciling/Ready conditions. An object read without
    status (Git) has no verdict; `facts["unread"]` says why an object was not read."""
    facts = obj.facts or {}
    if facts.get("unread"):
        return Verdict(State.UNKNOWN, "NotRead", facts["unread"])
    if not obj.has_status:
        return Verdict(State.UNKNOWN, "", "")
    if facts.get("deleting"):
        return Verdict(State.PROGRESSING, "Terminating", "being deleted")
    if obj.generation is not None and obj.observed_generation is not None \
            and obj.observed_generation < obj.generation:
        return Verdict(State.STALE, "GenerationNotObserved",
                       f"generation {obj.generation} not observed yet (observed {obj.observed_generation})")
    rule = _KIND_RULES.get(obj.ref.kind)
    found = rule(obj, facts.get("status") or {}, facts.get("spec") or {}) if rule else None
    if found is not None:
        return found
    return _generic_kstatus(obj)


def _generic_kstatus(obj):
    stalled = stalled_condition(obj)
    if stalled is not None:
        return Verdict(State.FAILED, stalled.reason or "Stalled", stalled.message, stalled.last_transition_time)
    reconciling = obj.condition("Reconciling")
    if reconciling is not None and reconciling.status == "True":
        return Verdict(State.PROGRESSING, reconciling.reason or "Reconciling", reconciling.message,
                       reconciling.last_transition_time)
    ready = obj.ready_condition
    if ready is not None and ready.status != "True":
        return Verdict(State.PROGRESSING, ready.reason or "NotReady", ready.message, ready.last_transition_time)
    since = ready.last_transition_time if ready else ""
    return Verdict(State.READY, ready.reason if ready else "Current",
                   ready.message if ready else "current", since, ready=True)


def _crd(obj, status, spec):
    names = obj.condition("NamesAccepted")
    if names is not None and names.status == "False":
        return Verdict(State.FAILED, names.reason or "NamesNotAccepted", names.message)
    established = obj.condition("Established")
    if established is None or established.status != "True":
        return Verdict(State.PROGRESSING, "NotEstablished", "CRD is not established yet")
    return Verdict(State.READY, "Established", "CRD is established", established.last_transition_time, ready=True)


def _replicas(obj, status, spec):
    """Deployments, StatefulSets and ReplicaSets: every replica updated, ready and available."""
    want = spec.get("replicas", 1)
    want = want if isinstance(want, int) else 1
    if obj.ref.kind == "Deployment":
        progressing = obj.condition("Progressing")
        if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
            return Verdict(State.FAILED, "ProgressDeadlineExceeded", progressing.message)
    counts = [("updated", status.get("updatedReplicas", 0)), ("ready", status.get("readyReplicas", 0))]
    if obj.ref.kind == "Deployment":
        counts.append(("available", status.get("availableReplicas", 0)))
    for word, have in counts:
        if not isinstance(have, int) or have < want:
            return Verdict(State.PROGRESSING, "ReplicasNotReady", f"{word} replicas: {have or 0} of {want}")
    return Verdict(State.READY, "Current", f"{want}/{want} replicas ready", ready=True)


def _daemonset(obj, status, spec):
    want = status.get("desiredNumberScheduled")
    for field in ("updatedNumberScheduled", "numberAvailable", "numberReady"):
        have = status.get(field, 0)
        if not isinstance(want, int) or have != want:
            return Verdict(State.PROGRESSING, "PodsNotReady", f"{field}: {have or 0} of {want}")
    return Verdict(State.READY, "Current", f"{want} pods ready", ready=True)


def _phase(wanted):
    def rule(obj, status, spec):
        phase = status.get("phase")
        if phase == wanted:
            return Verdict(State.READY, phase, f"phase {phase}", ready=True)
        return Verdict(State.FAILED if phase in ("Failed", "Lost") else State.PROGRESSING,
                       phase or "NoPhase", f"phase {phase or 'not set'}")
    return rule


def _job(obj, status, spec):
    failed = obj.condition("Failed")
    if failed is not None and failed.status == "True":
        return Verdict(State.FAILED, failed.reason or "JobFailed", failed.message)
    complete = obj.condition("Complete")
    if complete is not None and complete.status == "True":
        return Verdict(State.READY, "Complete", "job complete", ready=True)
    return Verdict(State.PROGRESSING, "JobRunning", f"succeeded pods: {status.get('succeeded', 0)}")


def _pod(obj, status, spec):
    phase = status.get("phase")
    if phase == "Succeeded":
        return Verdict(State.READY, phase, "pod succeeded", ready=True)
    if phase == "Failed":
        return Verdict(State.FAILED, phase, status.get("message") or "pod failed")
    ready = obj.ready_condition
    if ready is not None and ready.status == "True":
        return Verdict(State.READY, "Ready", "pod ready", ready=True)
    return Verdict(State.PROGRESSING, "PodNotReady", f"phase {phase or 'Pending'}")


def _service(obj, status, spec):
    if spec.get("type") == "LoadBalancer" and not (status.get("loadBalancer") or {}).get("ingress"):
        return Verdict(State.PROGRESSING, "NoIngress", "waiting for a load balancer address")
    return Verdict(State.READY, "Current", "service ready", ready=True)


_KIND_RULES = {
    "CustomResourceDefinition": _crd, "Deployment": _replicas, "StatefulSet": _replicas,
    "ReplicaSet": _replicas, "DaemonSet": _daemonset, "Job": _job, "Pod": _pod,
    "PersistentVolumeClaim": _phase("Bound"), "Namespace": _phase("Active"), "Service": _service,
}
