"""A generated Flux fleet for benchmarks: a layered DAG (CRDs → operators → infrastructure →
apps) of Kustomizations and HelmReleases across namespaces, with their sources, and the
status and events a real cluster would show: some failures (health checks, installs whose
retries are exhausted, a broken source), the chains waiting behind them with the
controllers' own DependencyNotReady messages, suspended objects and one cycle.

    from bench.fleet import fleet
    objects = fleet(2000, not_ready=0.4)      # list of manifest dicts (Events included)
"""

import random

REV = "main@sha1:" + "a" * 40
T0 = "2026-11-21T10:00:00Z"
LAYERS = ("crds", "operators", "infra", "apps")


def _cond(type_, status, reason, message):
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": T0}


def _event(ref, kind, reason, message, type_="Warning", component="kustomize-controller"):
    ns, name = ref
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.{abs(hash((kind, ns, name, reason))) % 10**12:x}", "namespace": ns},
            "involvedObject": {"kind": kind, "namespace": ns, "name": name},
            "reason": reason, "message": message, "type": type_, "count": 3,
            "lastTimestamp": T0, "source": {"component": component}}


def fleet(n, not_ready=0.4, namespaces=100, seed=1, events=True):
    """About `n` Kustomizations and HelmReleases (plus sources and events). `not_ready`: the
    fraction that should end up not Ready (failures plus everything waiting behind them)."""
    rng = random.Random(seed)
    out = [
        {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
         "metadata": {"name": "flux-system", "namespace": "flux-system", "generation": 1},
         "spec": {"url": "https://git.example.com/fleet", "interval": "1m"},
         "status": {"observedGeneration": 1, "artifact": {"revision": REV},
                    "conditions": [_cond("Ready", "True", "Succeeded", f"stored artifact for revision '{REV}'")]}},
        {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
         "metadata": {"name": "charts", "namespace": "flux-system", "generation": 1},
         "spec": {"url": "https://charts.example.com", "interval": "10m"},
         "status": {"observedGeneration": 1, "artifact": {"revision": "sha256:" + "b" * 64},
                    "conditions": [_cond("Ready", "True", "Succeeded", "stored artifact")]}},
        {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
         "metadata": {"name": "broken", "namespace": "flux-system", "generation": 1},
         "spec": {"url": "https://git.example.com/gone", "interval": "1m"},
         "status": {"observedGeneration": 1, "conditions": [_cond(
             "Ready", "False", "GitOperationFailed",
             "failed to checkout and determine revision: unable to clone: repository not found")]}},
    ]
    nss = [f"team-{i:03d}" for i in range(namespaces)]
    # Layer sizes: few CRDs and operators, more infrastructure, most apps.
    sizes = [max(1, n // 50), max(1, n // 20), max(1, n // 5)]
    sizes.append(max(1, n - sum(sizes)))
    nodes = []            # (layer, kind, ns, name, deps)
    by_layer = []
    for layer, size in zip(LAYERS, sizes):
        current = []
        for i in range(size):
            kind = "HelmRelease" if layer in ("operators", "apps") and i % 2 else "Kustomization"
            ns = "flux-system" if kind == "Kustomization" and layer != "apps" else nss[i % namespaces]
            name = f"{layer}-{i}"
            same_kind = [x for prev in by_layer[-2:] for x in prev if x[1] == kind]
            deps = rng.sample(same_kind, min(len(same_kind), rng.randint(1, 3))) if same_kind else []
            node = (layer, kind, ns, name, [(d[2], d[3]) for d in deps])
            nodes.append(node)
            current.append(node)
        by_layer.append(current)
    # Root failures, added one at a time until they and what waits behind them reach
    # `not_ready` (objects high in the layers block more).
    suspended = set(rng.sample(range(len(nodes)), max(1, len(nodes) // 200)))
    candidates = [i for i in range(len(nodes)) if i not in suspended]
    rng.shuffle(candidates)
    failing = set()

    def judge():
        state = {}   # (kind, ns, name) -> "ready" | "failed" | "waiting" | "suspended"
        for i, (layer, kind, ns, name, deps) in enumerate(nodes):
            blocked = [d for d in deps if state.get((kind, *d)) not in ("ready", None)]
            state[(kind, ns, name)] = ("failed" if i in failing else "suspended" if i in suspended
                                       else "waiting" if blocked else "ready")
        return state

    state = judge()
    while candidates and sum(v != "ready" for v in state.values()) < not_ready * len(nodes):
        failing.add(candidates.pop())
        state = judge()
    # One object uses the broken source; a pair of apps depend on each other.
    broken_user = nodes[-1]
    cycle = [x for x in nodes[-3:-1] if x[1] == "Kustomization"]
    for i, (layer, kind, ns, name, deps) in enumerate(nodes):
        key = (kind, ns, name)
        st = state[key]
        deps = list(deps)
        if len(cycle) == 2 and (layer, kind, ns, name, nodes[i][4]) in cycle:
            other = cycle[1] if nodes[i] is cycle[0] else cycle[0]
            deps.append((other[2], other[3]))
            st = "waiting"
        spec = {"interval": "10m", "dependsOn": [{"name": d[1], "namespace": d[0]} for d in deps]}
        if st == "suspended":
            spec["suspend"] = True
        conds, extra = [], {}
        blocking = next(((d[0], d[1]) for d in deps if state.get((kind, *d)) != "ready"), None)
        if kind == "Kustomization":
            api, component = "kustomize.toolkit.fluxcd.io/v1", "kustomize-controller"
            src = "broken" if nodes[i] is broken_user else "flux-system"
            spec.update(path=f"./{layer}/{name}", prune=True, wait=True,
                        sourceRef={"kind": "GitRepository", "name": src, "namespace": "flux-system"})
            if src == "broken":
                st = "source"
            ok_msg, fail = f"Applied revision: {REV}", ("HealthCheckFailed",
                "health check failed after 5m0.01s: timeout waiting for: "
                f"[Deployment/{ns}/{name} status: 'InProgress']")
        else:
            api, component = "helm.toolkit.fluxcd.io/v2", "helm-controller"
            spec["chart"] = {"spec": {"chart": name, "version": "1.x",
                                      "sourceRef": {"kind": "HelmRepository", "name": "charts",
                                                    "namespace": "flux-system"}}}
            ok_msg, fail = "Helm install succeeded for release", ("InstallFailed",
                "Helm install failed for release: context deadline exceeded")
        events_for = []
        if st in ("ready", "suspended"):
            conds.append(_cond("Ready", "True", "ReconciliationSucceeded", ok_msg))
            extra["lastAppliedRevision"] = REV
        elif st == "failed":
            conds.append(_cond("Ready", "False", *fail))
            if kind == "HelmRelease":
                conds.append(_cond("Stalled", "True", "RetriesExceeded", "Failed to install after 4 attempt(s)"))
                extra["installFailures"] = 4
            events_for.append((fail[0], fail[1], "Warning"))
        elif st == "source":
            conds.append(_cond("Ready", "False", "ArtifactFailed",
                               "Source artifact not found, retrying in 30s"))
            events_for.append(("ArtifactFailed", "Source artifact not found, retrying in 30s", "Warning"))
        else:
            dep = blocking or (deps[-1][0], deps[-1][1])
            msg = f"dependency '{dep[0]}/{dep[1]}' is not ready"
            conds.append(_cond("Ready", "False", "DependencyNotReady", msg))
            if kind == "HelmRelease":
                conds.append(_cond("Reconciling", "True", "Progressing", "Fulfilling prerequisites"))
            events_for.append(("DependencyNotReady", "Dependencies do not meet ready condition, "
                               "retrying in 30s" if kind == "Kustomization" else msg, "Normal"))
        out.append({"apiVersion": api, "kind": kind,
                    "metadata": {"name": name, "namespace": ns, "generation": 2},
                    "spec": spec,
                    "status": {"observedGeneration": 2, "conditions": conds, **extra}})
        if events:
            for reason, message, type_ in events_for:
                out.append(_event((ns, name), kind, reason, message, type_, component))
    return out


def stats(objects):
    """(workloads, not ready) of a generated fleet."""
    work = [o for o in objects if o["kind"] in ("Kustomization", "HelmRelease")]
    bad = [o for o in work if o["status"]["conditions"][0]["status"] != "True" or o["spec"].get("suspend")]
    return len(work), len(bad)
