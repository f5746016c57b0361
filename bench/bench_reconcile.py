"""Benchmark `kubectl depgraph reconcile` on a simulated fleet.

A seeded fleet (default 200 Kustomizations, dependency depth 6, reconcile times 0.2–2 s,
4 GitRepositories at 0.2–0.5 s, controller requeue interval 3 s) runs on the API-server
double's simulated Flux controller (tests/apiserver.py) through the real kubectl.
Printed, in seconds:

  critical path   the sum of reconcile times along the longest chain (source included):
                  the physical limit
  depgraph        wall time of `kubectl depgraph reconcile --no-flux --parallel N` (process
                  start and graph read included), with its list reads and watches, for each
                  N of --parallel (default: 4, the command's default, and 50); its ratio to
                  the critical path at that parallelism: the longest chain when the run's
                  actual reconcile times (the controller's, measured) are list-scheduled on
                  N slots, the longest remaining chain first, as depgraph schedules them
  sequential      a reconcile loop in topological order: estimated as the sum of all
                  reconcile times plus the measured per-object protocol overhead
                  (--run-sequential runs it for real, with --parallel 1)
  annotate-all    annotate every object at once, then wait while the controllers' own
                  dependency polling (requeue interval) converges

Usage: python bench/bench_reconcile.py [--objects 200] [--depth 6] [--parallel 4,50]
                                       [--seed 7] [--requeue 3] [--repeat 3] [--run-sequential]
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kubectl_depgraph.judge.plan import Step  # noqa: E402
from kubectl_depgraph.model import ObjectRef  # noqa: E402
from kubectl_depgraph.reconcile.executor import critical_path as chain_path, list_schedule  # noqa: E402
from tests.apiserver import FakeApiServer, TEST_DELAY, kustomization, source  # noqa: E402
from tests.kubectl_bin import find_kubectl  # noqa: E402

NAMESPACES = ("flux-system", "infra", "apps")
RESOURCES = "kustomizations.kustomize.toolkit.fluxcd.io"


def fleet(objects, depth, seed, sources=4):
    """(manifests, delays {name: s}, deps {name: [names]}, source_of {name: repo})."""
    rng = random.Random(seed)
    repos = [f"repo{i}" for i in range(sources)]
    delays = {r: round(rng.uniform(0.2, 0.5), 2) for r in repos}
    levels = [[] for _ in range(depth + 1)]
    names = [f"ks{i:03d}" for i in range(objects)]
    for i, name in enumerate(names):
        levels[i % (depth + 1) if i <= depth else rng.randrange(depth + 1)].append(name)
    deps, source_of, ns_of = {}, {}, {}
    manifests = [source("GitRepository", r, "flux-system", annotations={TEST_DELAY: str(delays[r])})
                 for r in repos]
    for level, members in enumerate(levels):
        for name in members:
            delays[name] = round(rng.uniform(0.2, 2.0), 2)
            ns_of[name] = NAMESPACES[level * len(NAMESPACES) // (depth + 1)]
            parents = rng.sample(levels[level - 1], min(len(levels[level - 1]), rng.choice((1, 1, 2)))) \
                if level else []
            deps[name] = parents
            source_of[name] = rng.choice(repos)
    for name in names:
        manifests.append(kustomization(
            name, ns_of[name], depends_on=[f"{ns_of[d]}/{d}" for d in deps[name]],
            source=("GitRepository", source_of[name], "flux-system"),
            annotations={TEST_DELAY: str(delays[name])}))
    return manifests, delays, deps, source_of


def critical_path(delays, deps, source_of):
    memo = {}

    def cp(name):
        if name not in memo:
            memo[name] = delays[name] + max([cp(d) for d in deps[name]] + [delays[source_of[name]]])
        return memo[name]
    return max(cp(n) for n in deps)


def topological(deps):
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        for d in deps[name]:
            visit(d)
        order.append(name)
    for name in sorted(deps):
        visit(name)
    return order


def kube_env(server, tmp):
    kubeconfig = Path(tmp) / f"kubeconfig-{server.port}"
    kubeconfig.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: bench, cluster: {{server: "{server.url}"}}}}]
users: [{{name: bench, user: {{token: bench}}}}]
contexts: [{{name: bench, context: {{cluster: bench, user: bench, namespace: flux-system}}}}]
current-context: bench
""")
    kubectl = find_kubectl()
    return dict(os.environ, KUBECONFIG=str(kubeconfig), KUBECACHEDIR=str(Path(tmp) / "cache"),
                KUBECTL=kubectl, PATH=str(Path(kubectl).parent) + os.pathsep + os.environ["PATH"])


def start_server(manifests, requeue):
    return FakeApiServer(manifests, controller=True,
                         controller_options={"delay": 0.5, "requeue_interval": requeue}).start()


def run_depgraph(manifests, requeue, tmp, parallel):
    """(wall, summary line, (list reads, watches), {name: measured reconcile seconds})."""
    server = start_server(manifests, requeue)
    try:
        env = kube_env(server, tmp)
        began = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "kubectl_depgraph", "reconcile", "--no-flux",
                               "--parallel", str(parallel), "--timeout", "2m"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.monotonic() - began
        if proc.returncode != 0:
            sys.exit(f"depgraph reconcile failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        # The first read is the graph's (paged by kubectl get, or one get --raw); what is
        # left are the reconcile's own reads.
        reads = [r for r in server.requests if r.method == "GET" and r.path.endswith("/kustomizations")]
        reads = [r for r in reads[1:] if "limit" not in r.query]
        watches = sum(1 for r in reads if "watch" in r.query)
        measured = {h.name: h.end - h.start for h in server.controller.handled()
                    if h.trigger == "request" and h.end is not None}
        return wall, proc.stdout.strip().splitlines()[-1], (len(reads) - watches, watches), measured
    finally:
        server.stop()


def steps_of(deps, source_of):
    """The plan's shape as Steps (sources first), for the executor's own path helpers."""
    repo = {r: ObjectRef("GitRepository", "flux-system", r) for r in set(source_of.values())}
    ref = {n: ObjectRef("Kustomization", "ns", n) for n in deps}
    steps = [Step(r) for _, r in sorted(repo.items())]
    steps += [Step(ref[n], tuple(ref[d] for d in deps[n]) + (repo[source_of[n]],)) for n in topological(deps)]
    return steps, {**{r.name: r for r in repo.values()}, **{n: r for n, r in ref.items()}}


def paths(measured, deps, source_of, parallel):
    """(critical path, critical path on `parallel` slots) of the measured reconcile times."""
    steps, refs = steps_of(deps, source_of)
    durations = {refs[name]: seconds for name, seconds in measured.items() if name in refs}
    return chain_path(steps, durations), list_schedule(steps, durations, parallel)


def all_done(server, value):
    for obj in server.objects("Kustomization"):
        st = obj.get("status") or {}
        ready = [c for c in st.get("conditions", []) if c["type"] == "Ready"]
        if st.get("lastHandledReconcileAt") != value or not ready or ready[0]["status"] != "True":
            return False
    return True


def run_annotate_all(manifests, names_by_ns, requeue, tmp):
    server = start_server(manifests, requeue)
    try:
        env = kube_env(server, tmp)
        value = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
        began = time.monotonic()
        repos = sorted({m["metadata"]["name"] for m in manifests if m["kind"] == "GitRepository"})
        subprocess.run(["kubectl", "annotate", "--overwrite", "-n", "flux-system",
                        *[f"gitrepositories.source.toolkit.fluxcd.io/{r}" for r in repos],
                        f"reconcile.fluxcd.io/requestedAt={value}"], env=env, check=True,
                       capture_output=True)
        for ns, names in sorted(names_by_ns.items()):
            subprocess.run(["kubectl", "annotate", "--overwrite", "-n", ns,
                            *[f"{RESOURCES}/{n}" for n in names],
                            f"reconcile.fluxcd.io/requestedAt={value}"], env=env, check=True,
                           capture_output=True)
        # Wait the way a user would: read the objects until every one is Ready.
        while True:
            out = subprocess.run(["kubectl", "get", "--raw", "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations"],
                                 env=env, capture_output=True, text=True, check=True).stdout
            items = json.loads(out)["items"]
            if all((i.get("status") or {}).get("lastHandledReconcileAt") == value
                   and any(c["type"] == "Ready" and c["status"] == "True"
                           for c in i["status"].get("conditions", [])) for i in items):
                return time.monotonic() - began
            if time.monotonic() - began > 600:
                sys.exit("annotate-all did not converge in 10 minutes")
            time.sleep(0.2)
    finally:
        server.stop()


def protocol_overhead(tmp, requeue):
    """Seconds one reconcile costs beyond the controller's own time (annotate + reads)."""
    server = start_server([source("GitRepository", "flux-system", annotations={TEST_DELAY: "0"}),
                           kustomization("one", annotations={TEST_DELAY: "0"})], requeue)
    try:
        env = kube_env(server, tmp)
        runs = []
        for _ in range(3):
            began = time.monotonic()
            subprocess.run([sys.executable, "-m", "kubectl_depgraph", "reconcile", "--no-flux",
                            "--no-source", "one"], cwd=ROOT, env=env, capture_output=True, check=True)
            runs.append(time.monotonic() - began)
        return min(runs)
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--parallel", type=lambda text: [int(n) for n in text.split(",")], default=[4, 50],
                        help="comma-separated --parallel values to run (default 4,50)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requeue", type=float, default=3.0)
    parser.add_argument("--run-sequential", action="store_true")
    parser.add_argument("--repeat", type=int, default=3,
                        help="depgraph runs (the median is reported: on a small machine the "
                             "kubectl processes compete for CPU and runs vary by a few %%)")
    args = parser.parse_args()

    manifests, delays, deps, source_of = fleet(args.objects, args.depth, args.seed)
    names_by_ns = {}
    for m in manifests:
        if m["kind"] == "Kustomization":
            names_by_ns.setdefault(m["metadata"]["namespace"], []).append(m["metadata"]["name"])
    cp = critical_path(delays, deps, source_of)
    work = sum(delays[n] for n in deps) + sum(delays[r] for r in set(source_of.values()))
    print(f"fleet: {args.objects} Kustomizations, depth {args.depth}, {len(set(source_of.values()))} "
          f"GitRepositories, requeue interval {args.requeue:g}s, seed {args.seed}; "
          f"total reconcile work {work:.1f}s")
    print(f"(a) critical path            {cp:7.2f}s")
    with tempfile.TemporaryDirectory() as tmp:
        for parallel in args.parallel:
            runs = sorted((run_depgraph(manifests, args.requeue, tmp, parallel)
                           for _ in range(max(args.repeat, 1))), key=lambda run: run[0])
            wall, summary, (lists, watches), measured = runs[len(runs) // 2]
            spread = f"; runs {runs[0][0]:.2f}–{runs[-1][0]:.2f}s" if len(runs) > 1 else ""
            plain, slots = paths(measured, deps, source_of, parallel)
            print(f"    depgraph --parallel {parallel:<3}    {wall:7.2f}s  (median of {len(runs)}{spread}; "
                  f"Kustomizations: {lists} list reads, {watches} watch)")
            print(f"      critical path of this run's reconcile times {plain:6.2f}s, on {parallel} slots "
                  f"{slots:6.2f}s: {wall / slots:.2f}x the critical path at --parallel {parallel} "
                  f"({wall / plain:.2f}x the plain one)")
            print(f"      its summary: {summary}")
        overhead = protocol_overhead(tmp, args.requeue)
        print(f"    one-object run (process start, read, annotate, watch): {overhead:.2f}s")
        if args.run_sequential:
            server_wall = run_depgraph(manifests, args.requeue, tmp, 1)[0]
            print(f"(b) sequential loop          {server_wall:7.2f}s  (measured, --parallel 1)")
        else:
            seq = work + overhead * (len(deps) + len(set(source_of.values())))
            print(f"(b) sequential loop        ~ {seq:7.2f}s  (reconcile work + {overhead:.2f}s per object; "
                  f"--run-sequential measures it)")
        annotate_all = run_annotate_all(manifests, names_by_ns, args.requeue, tmp)
        print(f"(c) annotate all, let the controllers poll {annotate_all:7.2f}s")


if __name__ == "__main__":
    main()
