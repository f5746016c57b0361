"""What to do about root causes: concrete next steps, chosen by the kind of each cause
(never by its display title) and worded with the commands a Flux user runs."""

from kubectl_depgraph.judge.explanation import Cause, Suggestion, Via
from kubectl_depgraph.judge.names import nearest_to
from kubectl_depgraph.judge.status import health_check_items
from kubectl_depgraph.model import FLUX_CLI_KIND, HELMRELEASE, SHORT, SOURCE_KINDS, WORKLOAD_KINDS


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
    near = next(iter(nearest_to(graph, ref, limit=1)), None)
    for holder, via in rc.named_by:
        if via is Via.SOURCE:
            fix = f"; did you mean '{near.ns_name}'?" if near else " or create the source"
            out.append(Suggestion(f"fix {_source_field(graph, holder)} of {holder.short}: "
                                  f"{ref.kind} '{ref.ns_name}' does not exist{fix}", ""))
        elif via is Via.HEALTH_CHECK:
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


def _external_suggestions(ref, rc):
    """An object of another kind: kubectl shows its status; whoever applies it fixes it."""
    scope = f" -n {ref.namespace}" if ref.namespace else ""
    if rc.kind is Cause.NOT_READ:
        return [Suggestion(f"read {ref} yourself (depgraph could not: {rc.label})",
                           f"kubectl get {ref.kind.lower()} {ref.name}{scope} -o yaml")]
    out = [Suggestion(f"see why {ref} is not current", f"kubectl describe {ref.kind.lower()} {ref.name}{scope}")]
    if ref.kind == "CustomResourceDefinition":
        out.append(Suggestion("a CRD that is not Established has a rejected schema or name: check the "
                              "Kustomization or HelmRelease that installs it", ""))
    return out


def _reconcile_dependents(rc):
    return Suggestion(f"once {rc.ref.short} is fixed, roll out everything behind it in order",
                      f"kubectl depgraph reconcile {rc.ref.short} --dependents")


def _root_suggestions(graph, rc):
    ref, ns = rc.ref, rc.ref.namespace
    out = []
    words = _flux_words(ref)
    if rc.kind is Cause.CYCLE:
        members = rc.members
        a, b = members[-1], members[0]
        entry = f"'{b.ns_name}'" if a.kind == b.kind else f"the entry naming {b.kind} '{b.ns_name}'"
        out.append(Suggestion(f"break the cycle: remove {entry} from spec.dependsOn of "
                              f"{a.short} (in Git)", ""))
        return out
    if rc.kind is Cause.MISSING:
        return _missing_suggestions(graph, rc)
    if rc.kind in (Cause.NOT_CURRENT, Cause.NOT_READ):
        return _external_suggestions(ref, rc)
    obj = graph.obj(ref)
    if obj is not None and obj.suspended:
        out.append(Suggestion(f"resume {ref.short}; it blocks its dependents while suspended",
                              f"flux resume {words} {ref.name} -n {ns}" if words else ""))
    elif rc.kind is Cause.RETRIES_EXHAUSTED:
        out.append(Suggestion("see why the release failed",
                              f"flux logs --kind={ref.kind} --name={ref.name} -n {ns}"))
        out.append(Suggestion("once the cause is fixed, clear the failure counts and retry",
                              f"flux reconcile {words} {ref.name} -n {ns} --reset"))
    elif rc.kind is Cause.HEALTH_CHECK:
        ready = obj.ready_condition if obj else None
        for kind, item_ns, name, _status in health_check_items(ready.message if ready else ""):
            if kind not in WORKLOAD_KINDS:
                out.append(Suggestion(f"see why {kind}/{name} is not healthy",
                                      f"kubectl describe {kind.lower()}/{name} -n {item_ns or ns}"))
    elif rc.kind is Cause.REVISION_BEHIND:
        out.append(Suggestion(f"apply the source's new revision to {ref.short} now",
                              f"flux reconcile {words} {ref.name} -n {ns}" if words else ""))
        return out
    elif rc.kind is Cause.WAITING_RECHECK and ref.kind in WORKLOAD_KINDS:
        out.append(Suggestion("check its dependencies now instead of waiting for the next poll",
                              f"flux reconcile {words} {ref.name} -n {ns}"))
        return out
    elif rc.kind is Cause.NEVER_RECONCILED:
        out.append(Suggestion("check that the Flux controllers are running", "flux check"))
    elif rc.kind is Cause.NOT_OBSERVED:
        if words:
            out.append(Suggestion("ask the controller to reconcile the current spec now",
                                  f"flux reconcile {words} {ref.name} -n {ns}"))
        if ref.kind in WORKLOAD_KINDS:
            out.append(Suggestion("if it does not, see the controller's log for it",
                                  f"flux logs --kind={ref.kind} --name={ref.name} -n {ns}"))
        out.append(Suggestion("and check that the Flux controllers are running", "flux check"))
    elif ref.kind in SOURCE_KINDS:
        secret = obj.secret_ref if obj is not None else ""
        creds = f"the credentials in Secret {ns}/{secret} (spec.secretRef)" if secret else \
            "its credentials (spec.secretRef, if it needs any)"
        out.append(Suggestion(f"fix the source ({rc.label}; check the URL and {creds}), then fetch "
                              "it again",
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


def suggestions(graph, root_causes):
    """Concrete next steps for root causes, in their order, deduplicated."""
    out = []
    for rc in root_causes:
        for s in _root_suggestions(graph, rc):
            if s not in out:
                out.append(s)
    return out
