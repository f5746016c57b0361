#!/usr/bin/env python3
"""Benchmark `kubectl depgraph tree` on a generated fleet: snapshot input, and the live
path through the real kubectl against the test API-server double (paging included).

Prints wall time and peak memory (max RSS of the child process) per case.
Usage: python bench/bench_tree.py [--objects 3000] [--repeat 3]"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.apiserver import FakeApiServer  # noqa: E402
from tests.kubectl_bin import find_kubectl  # noqa: E402

REV = "main@sha1:" + "a" * 40


def fleet(n, seed=1):
    """n objects: 2/3 Kustomizations, 1/3 HelmReleases, over 20 namespaces, depth up to 6."""
    rng = random.Random(seed)
    objs = [{"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
             "metadata": {"name": "flux-system", "namespace": "flux-system", "generation": 1},
             "spec": {"url": "https://example.com/fleet"},
             "status": {"observedGeneration": 1, "artifact": {"revision": REV},
                        "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}]}}]
    levels = {}
    for i in range(n):
        kind = "Kustomization" if i % 3 else "HelmRelease"
        ns = f"team-{i % 20}" if kind == "HelmRelease" else "flux-system"
        name = f"{kind[:2].lower()}-{i}"
        same = [k for k in levels if k[0] == kind and k[1] == ns and levels[k] < 6]
        deps = rng.sample(same, min(len(same), rng.randint(0, 2)))
        levels[(kind, ns, name)] = 1 + max([levels[d] for d in deps], default=0)
        ready = rng.random() > 0.1
        spec = {"interval": "10m", "dependsOn": [{"name": d[2]} for d in deps]}
        if kind == "Kustomization":
            spec.update(path=f"./{name}", prune=True, sourceRef={"kind": "GitRepository", "name": "flux-system"})
            api = "kustomize.toolkit.fluxcd.io/v1"
        else:
            spec["chart"] = {"spec": {"chart": name, "sourceRef": {"kind": "HelmRepository", "name": "charts",
                                                                   "namespace": "flux-system"}}}
            api = "helm.toolkit.fluxcd.io/v2"
        objs.append({"apiVersion": api, "kind": kind,
                     "metadata": {"name": name, "namespace": ns, "generation": 2},
                     "spec": spec,
                     "status": {"observedGeneration": 2, "lastAppliedRevision": REV, "conditions": [
                         {"type": "Ready", "status": "True" if ready else "False",
                          "reason": "ReconciliationSucceeded" if ready else "HealthCheckFailed",
                          "message": "Applied revision: " + REV if ready else "health check failed",
                          "lastTransitionTime": "2026-11-21T10:00:00Z"}]}})
    return objs


def run(args, env):
    """(seconds, max RSS MiB) of one CLI run in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kubectl_depgraph", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {args}: {proc.stderr}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(rss, before) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    opts = ap.parse_args()
    objs = fleet(opts.objects)
    tmp = Path(tempfile.mkdtemp())
    snap = tmp / "snapshot.json"
    snap.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
    kubectl = find_kubectl()
    print(f"fleet: {opts.objects} Kustomizations/HelmReleases (+1 source), kubectl {kubectl}")
    with FakeApiServer(objs) as srv:
        kc = tmp / "kubeconfig"
        kc.write_text(f"apiVersion: v1\nkind: Config\nclusters: [{{name: f, cluster: {{server: '{srv.url}'}}}}]\n"
                      "users: [{name: u, user: {token: t}}]\n"
                      "contexts: [{name: c, context: {cluster: f, user: u}}]\ncurrent-context: c\n")
        env = dict(os.environ, KUBECONFIG=str(kc), KUBECACHEDIR=str(tmp / "cache"), KUBECTL=kubectl)
        cases = [
            ("snapshot  tree -f (tree)", ["tree", "-f", str(snap)]),
            ("snapshot  tree -f -o json", ["tree", "-f", str(snap), "-o", "json"]),
            ("snapshot  tree -f -o table", ["tree", "-f", str(snap), "-o", "table"]),
            ("live      tree (kubectl, paged by 500)", ["tree"]),
            ("live      tree -o json", ["tree", "-o", "json"]),
        ]
        run(["tree"], env)  # warm kubectl's discovery cache, as a user's second run would be
        print(f"{'case':42} {'median s':>9} {'min s':>7} {'max RSS MiB':>12}")
        for label, args in cases:
            times, rss = [], 0.0
            for _ in range(opts.repeat):
                t, r = run(args, env)
                times.append(t)
                rss = max(rss, r)
            print(f"{label:42} {statistics.median(times):9.2f} {min(times):7.2f} {rss:12.1f}")
        lists = len([r for r in srv.requests if r.path.endswith("/kustomizations")])
        print(f"kustomization list requests in the last live run: {lists // (opts.repeat * 2 + 1)} "
              f"(pages of 500)")


if __name__ == "__main__":
    main()
