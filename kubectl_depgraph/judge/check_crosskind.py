"""The checks of cross-kind dependencies (Flux 2.10: a Kustomization or HelmRelease
dependsOn entry with apiVersion/kind/ready names any kind; fluxcd/pkg#1229): entries older
controllers reject (DG018), wrapper Kustomizations such entries make unneeded (DG017),
and targets the input could not show (DG019)."""

from kubectl_depgraph.judge.check_words import _finding, _label, _listing
from kubectl_depgraph.model import GROUPS, HELMRELEASE, KUSTOMIZATION, SOURCE_KINDS, WORKLOAD_KINDS, applier

# What a Kustomization may apply and still only bridge to its HelmReleases (DG017).
_BRIDGE_KINDS = frozenset({HELMRELEASE, "Namespace", *SOURCE_KINDS})
_HR_API = f"{GROUPS[HELMRELEASE]}/v2"


def typed(dependent, entry):
    """Does the dependsOn entry name its kind (a ResourceSet's entries, a cross-kind entry)?
    Then it names exactly that object: no guess at a wrong kind."""
    return bool(entry.api_version) or entry.ref.kind != dependent.kind


def bridging_wrappers(graph, on_cycle=frozenset()):
    """DG017: a Kustomization whose readiness is only its HelmReleases', that Kustomizations
    depend on to wait for those releases (a Flux ≤ 2.9 workaround: Kustomizations could not
    depend on HelmReleases)."""
    for wrapper in graph.objects:
        if wrapper.ref.kind != KUSTOMIZATION or wrapper.ref in on_cycle:
            continue
        applies = wrapper.facts.get("applies")
        if applies is not None and not set(applies) <= _BRIDGE_KINDS:
            continue                     # it applies more than releases: dependents may need it
        if not wrapper.wait and wrapper.health_checks and \
                all(h.kind == HELMRELEASE for h in wrapper.health_checks):
            releases, how = sorted(set(wrapper.health_checks)), "its healthChecks list only"
        elif wrapper.wait and applies is not None and HELMRELEASE in applies:
            scope = wrapper.origin.scope if wrapper.origin else ()
            releases = [o.ref for o in graph.objects if o.ref.kind == HELMRELEASE and o.origin
                        and o.origin.via == applier(*wrapper.ref) and o.origin.scope == scope]
            how = "with wait: true it applies only"
        else:
            continue
        dependents = [d for d in graph.dependents(wrapper.ref)
                      if d.kind == KUSTOMIZATION and d != wrapper.ref
                      and not graph.ready_expr(d, wrapper.ref) and graph.entry(d, wrapper.ref).ready
                      and not set(releases) <= set(graph.dependencies(d))]
        if not releases or not dependents:
            continue
        names = ", ".join(_label(r) for r in releases)
        entries = ", ".join(
            f"{{apiVersion: {(graph.obj(r).api_version if graph.obj(r) else '') or _HR_API}, "
            f"kind: HelmRelease, name: {r.name}, namespace: {r.namespace}}}" for r in releases)
        yield _finding(
            "DG017", [wrapper.ref, *releases, *dependents], wrapper.origin,
            f"{_label(wrapper.ref)} only bridges to {names}: {how} "
            f"{'that release' if len(releases) == 1 else 'those releases'}"
            f"{'' if how.startswith('its') else ' (besides sources and namespaces)'}, and "
            f"{_listing(dependents)} {'depends' if len(dependents) == 1 else 'depend'} on it to wait "
            f"for {'it' if len(releases) == 1 else 'them'}",
            f"once the cluster runs Flux 2.10+, make {_listing(dependents)} depend on the "
            f"{'release' if len(releases) == 1 else 'releases'} directly instead of on "
            f"{wrapper.ref.ns_name}: dependsOn: [{entries}]")


def cross_kind_fields(graph):
    """DG018: Kustomization/HelmRelease dependsOn entries with the fields Flux 2.10 added
    (kind, apiVersion, ready), read from manifests (an object read with status comes from
    an API server that kept the fields, so it serves them). Older CRD schemas do not declare
    them: server-side apply rejects the whole object (seen with kustomize-controller 1.9.6:
    `dry-run failed: … .spec.dependsOn[0].ready: field not declared in schema`), so the
    Kustomization applying it fails and applies nothing of that revision."""
    for obj in graph.objects:
        if obj.ref.kind not in WORKLOAD_KINDS or obj.has_status:
            continue
        for dep in obj.depends_on:
            if dep.ref.kind == obj.ref.kind and dep.ready:
                continue                 # apiVersion of its own kind only: the same entry as ever
            field = "kind/apiVersion (cross-kind dependsOn)" if dep.ref.kind != obj.ref.kind else \
                "ready: false (existence only)"
            applier = f"the Kustomization that applies it ({obj.origin.via})" \
                if obj.origin is not None and obj.origin.via else "the Kustomization that applies it"
            yield _finding(
                "DG018", [obj.ref, dep.ref], obj.origin,
                f"{_label(obj.ref)} names {_label(dep.ref)} with {field}, which needs Flux 2.10+: "
                f"older Flux rejects the manifest (server-side apply: field not declared in schema), "
                f"so {applier} fails and applies nothing of that revision",
                f"make sure every cluster that applies {_label(obj.ref)} runs Flux 2.10+ "
                "(flux check), or --ignore DG018 once they all do")


def unread_targets(graph):
    """DG019: dependsOn targets of other kinds that the input could not show (model.unread):
    not missing, not checked either."""
    for ref in graph.nodes:
        obj = graph.obj(ref)
        why = obj.facts.get("unread") if obj is not None else None
        dependents = [d for d in graph.dependents(ref) if d != ref]
        if not why or not dependents:
            continue
        first = graph.obj(dependents[0])
        kind = ref.kind.lower()
        yield _finding(
            "DG019", [*dependents, ref], first.origin if first else None,
            f"{_listing(dependents)} {'depends' if len(dependents) == 1 else 'depend'} on "
            f"{_label(ref)}: not checked: {why}",
            f"check that the cluster has it: kubectl get {kind} {ref.name}"
            + (f" -n {ref.namespace}" if ref.namespace else ""))
