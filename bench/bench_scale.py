#!/usr/bin/env python3
"""Scale: each command's wall time next to the one kubectl list it cannot avoid.

Against the test API-server double, through the real kubectl, the bare
`kubectl get <the Flux kinds> -A -o json` and each depgraph command run alternately
--repeat times; medians and their ratio are printed, with the number of kubectl processes
and API requests per command (for 100, 1,000 and 5,000 objects: they must not grow with
the fleet), peak RSS, start-up of --help, and --path on a real and a generated repository.

Usage: python bench/bench_scale.py [--repeat 5] [--quick]"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fleet import fleet, stats  # noqa: E402
from kubectl_depgraph.acquire.cluster import READ_KINDS  # noqa: E402
from kubectl_depgraph.model import resource_name  # noqa: E402
from tests.apiserver import FakeApiServer  # noqa: E402
from tests.kubectl_bin import find_kubectl  # noqa: E402

TARGETS = {"tree": 1.15, "tree -o json": 1.15, "check": 1.15, "why NAME": 1.3, "why": 2.0}
SMALL_TARGET = 1.3


def run(argv, env):
    """(seconds, max RSS MiB) of one child process; it must succeed (exit 0, 1 or 3)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 3):
        raise SystemExit(f"failed ({code}): {argv}: {proc.stderr.read().decode()[-500:]}")
    proc.stderr.close()
    return elapsed, usage.ru_maxrss / 1024


def kubeconfig(srv, path):
    path.write_text(f"apiVersion: v1\nkind: Config\nclusters: [{{name: f, cluster: {{server: '{srv.url}'}}}}]\n"
                    "users: [{name: u, user: {token: t}}]\n"
                    "contexts: [{name: c, context: {cluster: f, user: u}}]\ncurrent-context: c\n")


def counting_kubectl(real, tmp):
    """A kubectl that counts its own invocations (a line each in a file), then execs the real one."""
    log = tmp / "kubectl-calls"
    wrapper = tmp / "kubectl"
    wrapper.write_text(f"#!/bin/sh\necho x >> '{log}'\nexec '{real}' \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper, log


def bare_list_argv(kubectl):
    return [str(kubectl), "get", ",".join(resource_name(k) for k in READ_KINDS), "-A", "-o", "json"]


def side_by_side(objects, commands, repeat, tmp, label):
    """Median seconds of the bare list and of each command, run alternately; prints ratios."""
    kubectl = find_kubectl()
    with FakeApiServer(objects) as srv:
        kubeconfig(srv, tmp / "kubeconfig")
        env = dict(os.environ, KUBECONFIG=str(tmp / "kubeconfig"), KUBECACHEDIR=str(tmp / "cache"),
                   KUBECTL=kubectl, NO_COLOR="1")
        bare = bare_list_argv(kubectl)
        plugin = [sys.executable, "-m", "kubectl_depgraph"]
        run(bare, env)       # warm kubectl's discovery cache, as any second run would be
        times = {"bare list": []}
        rss = {}
        for _ in range(repeat):
            times["bare list"].append(run(bare, env)[0])
            for name, args in commands.items():
                t, r = run(plugin + args, env)
                times.setdefault(name, []).append(t)
                rss[name] = max(rss.get(name, 0), r)
        base = statistics.median(times["bare list"])
        print(f"\n{label}")
        print(f"  {'command':16} {'median s':>9} {'ratio':>7} {'target':>7} {'max RSS MiB':>12}")
        print(f"  {'bare list':16} {base:9.3f} {1.0:7.2f}")
        result = {}
        for name in commands:
            med = statistics.median(times[name])
            target = TARGETS.get(name) if len(objects) > 1000 else SMALL_TARGET
            result[name] = med / base
            print(f"  {name:16} {med:9.3f} {med / base:7.2f} {target:7.2f} {rss[name]:12.1f}")
        return result


def call_counts(sizes, commands, tmp):
    """kubectl processes and API requests per command, for each fleet size."""
    real = find_kubectl()
    wrapper, log = counting_kubectl(real, tmp)
    print("\nkubectl processes / API requests per command (must not grow with the fleet)")
    print(f"  {'command':16}" + "".join(f" {n:>14}" for n in sizes))
    rows = {name: [] for name in commands}
    for n in sizes:
        objects = fleet(n)
        first = next(o for o in objects if o["kind"] == "Kustomization" and
                     o["status"]["conditions"][0]["reason"] == "DependencyNotReady")
        with FakeApiServer(objects) as srv:
            kubeconfig(srv, tmp / "kubeconfig")
            env = dict(os.environ, KUBECONFIG=str(tmp / "kubeconfig"), KUBECACHEDIR=str(tmp / "cache"),
                       KUBECTL=str(wrapper), NO_COLOR="1")
            run([str(wrapper), "api-resources"], env)   # discovery cached, as in daily use
            for name, args in commands.items():
                args = [first["metadata"]["name"] if a == "{name}" else a for a in args]
                log.write_text("")
                srv.requests.clear()
                run([sys.executable, "-m", "kubectl_depgraph", *args], env)
                rows[name].append((len(log.read_text().splitlines()), len(srv.requests)))
    for name, cells in rows.items():
        print(f"  {name:16}" + "".join(f" {f'{k} / {r}':>14}" for k, r in cells))


def startup(repeat):
    print("\nstart-up (no cluster)")
    for args in (["--help"], ["tree", "--help"]):
        times = [run([sys.executable, "-m", "kubectl_depgraph", *args], dict(os.environ))[0]
                 for _ in range(repeat)]
        print(f"  {' '.join(args):16} {statistics.median(times):9.3f} s")
    bare = [run([sys.executable, "-c", "pass"], dict(os.environ))[0] for _ in range(repeat)]
    print(f"  {'python -c pass':16} {statistics.median(bare):9.3f} s")


def generated_repo(tmp, objects, files):
    """A Git-checkout-like folder: `objects` Flux objects spread over `files` YAML files."""
    import yaml
    root = tmp / f"repo-{objects}"
    manifests = [o for o in fleet(objects, events=False) if o["kind"] != "Event"]
    for o in manifests:
        o.pop("status", None)
    for i in range(files):
        chunk = manifests[i::files]
        path = root / f"apps/group-{i % 25}/file-{i}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(chunk))
    return root


def path_input(tmp, repeat):
    print("\n--path (kubectl renders where kustomizations need it)")
    env = dict(os.environ)
    shared = ROOT.parent / "shared" / "examples"
    cases = []
    if shared.is_dir():
        biggest = max((d for d in shared.iterdir() if d.is_dir() and d.name != "expected"),
                      key=lambda d: sum(1 for _ in d.rglob("*.yaml")))
        cases.append((f"{biggest.name}", biggest))
    for n, files in ((500, 125), (1000, 250), (2000, 500)):
        cases.append((f"generated {n} objects / {files} files", generated_repo(tmp, n, files)))
    for label, path in cases:
        times = [run([sys.executable, "-m", "kubectl_depgraph", "check", "--path", str(path),
                      "--fail-on", "never"], env)[0] for _ in range(repeat)]
        print(f"  {label:44} {statistics.median(times):7.2f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller fleets, fewer runs")
    opts = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="depgraph-bench-"))
    try:
        small = [o for o in fleet(40, namespaces=4) if o["kind"] != "Event"]
        name = next(o["metadata"]["name"] for o in small
                    if o["kind"] == "Kustomization" and o["status"]["conditions"][0]["status"] != "True")
        side_by_side(small, {"tree": ["tree"], "why NAME": ["why", name], "check": ["check"]},
                     opts.repeat, tmp, f"small cluster: {stats(small)[0]} objects")
        n = 1000 if opts.quick else 5000
        large = fleet(n)
        name = next(o["metadata"]["name"] for o in large
                    if o["kind"] == "Kustomization" and o["status"]["conditions"][0]["status"] != "True")
        work, bad = stats(large)
        side_by_side(large, {"tree": ["tree", "-A"], "tree -o json": ["tree", "-o", "json"],
                             "check": ["check"], "why NAME": ["why", name], "why": ["why"]},
                     opts.repeat, tmp, f"large cluster: {work} objects in 100 namespaces, {bad} not ready")
        call_counts([100, 1000] if opts.quick else [100, 1000, 5000],
                    {"tree": ["tree"], "check": ["check"], "why NAME": ["why", "{name}"], "why": ["why"],
                     "reconcile --dry-run": ["reconcile", "--dry-run", "--no-flux"]}, tmp)
        startup(opts.repeat)
        path_input(tmp, max(1, opts.repeat // 2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
