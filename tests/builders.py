"""Small manifest builders for pure tests: dict literals as kubectl would print them."""

from kubectl_depgraph.graph import DepGraph
from kubectl_depgraph.model import parse_object

REV = "main@sha1:3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"
T0 = "2026-11-21T10:00:00Z"


def condition(type_="Ready", status="True", reason="ReconciliationSucceeded", message="", when=T0):
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": when}


def _deps(deps):
    out = []
    for d in deps:
        if isinstance(d, dict):
            out.append(d)
        elif "/" in d:
            ns, name = d.split("/", 1)
            out.append({"name": name, "namespace": ns})
        else:
            out.append({"name": d})
    return out


def ks(name, ns="flux-system", deps=(), ready="True", reason=None, message=None, generation=1,
       observed=None, suspend=False, source="flux-system", revision=REV, status=True, **spec):
    """A Kustomization; ready='True'|'False'|'Unknown'|None (no Ready condition)."""
    body = {"interval": "10m", "path": f"./{name}", "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": source}, **spec}
    if deps:
        body["dependsOn"] = _deps(deps)
    if suspend:
        body["suspend"] = True
    obj = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
           "metadata": {"name": name, "namespace": ns, "generation": generation}, "spec": body}
    if status:
        conds = []
        if ready is not None:
            if reason is None:
                reason = {"True": "ReconciliationSucceeded", "False": "DependencyNotReady",
                          "Unknown": "Progressing"}[ready]
            if message is None:
                message = f"Applied revision: {revision}" if ready == "True" else \
                    (f"dependency '{ns}/{deps[0]}' is not ready" if deps and reason == "DependencyNotReady" else "")
            conds.append(condition("Ready", ready, reason, message))
        obj["status"] = {"observedGeneration": generation if observed is None else observed,
                         "lastAppliedRevision": revision, "conditions": conds}
    return obj


def hr(name, ns="apps", deps=(), ready="True", reason=None, message=None, generation=1,
       observed=None, suspend=False, repo="bitnami", status=True):
    body = {"interval": "30m", "chart": {"spec": {"chart": name, "sourceRef": {
        "kind": "HelmRepository", "name": repo, "namespace": "flux-system"}}}}
    if deps:
        body["dependsOn"] = _deps(deps)
    if suspend:
        body["suspend"] = True
    obj = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
           "metadata": {"name": name, "namespace": ns, "generation": generation}, "spec": body}
    if status:
        conds = []
        if ready is not None:
            reason = reason or {"True": "InstallSucceeded", "False": "DependencyNotReady",
                                "Unknown": "Progressing"}[ready]
            conds.append(condition("Ready", ready, reason, message or ""))
        obj["status"] = {"observedGeneration": generation if observed is None else observed,
                         "lastAttemptedRevision": "1.0.0", "conditions": conds}
    return obj


def gitrepo(name="flux-system", ns="flux-system", revision=REV, ready="True", reason="Succeeded",
            message=None):
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": ns, "generation": 1},
            "spec": {"url": "https://github.com/acme/fleet", "interval": "1m"},
            "status": {"observedGeneration": 1, "artifact": {"revision": revision} if revision else None,
                       "conditions": [condition("Ready", ready, reason,
                                                message or f"stored artifact for revision '{revision}'")]}}


def graph_of(*manifests):
    return DepGraph.from_objects([o for o in (parse_object(m) for m in manifests) if o is not None])
