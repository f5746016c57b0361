"""Time `kubectl depgraph check --path` for the pre-commit use case.

Measures the two largest example repositories (../shared/examples) and a generated
repository of a few hundred Flux objects: the whole command in a fresh process (what a
hook pays, interpreter start-up included) and, in-process, reading vs checking.

    python bench/bench_check.py [--runs N] [--objects N]
"""

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT.parent / "shared" / "examples"
LARGEST = ("bjw-s-labs__home-ops", "onedr0p__home-ops")
sys.path.insert(0, str(ROOT))

from kubectl_depgraph.acquire import Inputs, load  # noqa: E402
from kubectl_depgraph.judge.check import check  # noqa: E402


def generate(root, objects, seed=1):
    """A home-ops style repository: one folder per app with a ks.yaml (Kustomization) and,
    for most apps, a HelmRelease; dependsOn edges point at earlier apps (some cross-namespace)."""
    rng = random.Random(seed)
    namespaces = ["flux-system", "apps", "media", "network", "database", "observability"]
    apps = [(f"app-{i:03d}", rng.choice(namespaces)) for i in range(objects * 3 // 5)]
    (root / "clusters" / "main").mkdir(parents=True)
    for i, (name, ns) in enumerate(apps):
        folder = root / "clusters" / "main" / "apps" / ns / name
        folder.mkdir(parents=True)
        deps = sorted({rng.randrange(i) for _ in range(rng.choice((0, 0, 1, 1, 2)))} if i else ())
        dep_lines = "".join(f"    - name: {apps[d][0]}\n      namespace: {apps[d][1]}\n" for d in deps)
        (folder / "ks.yaml").write_text(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
            f"metadata:\n  name: {name}\n  namespace: {ns}\n"
            f"spec:\n  interval: 1h\n  path: ./clusters/main/apps/{ns}/{name}/app\n  prune: true\n"
            "  wait: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
            "    namespace: flux-system\n" + ("  dependsOn:\n" + dep_lines if deps else ""))
        if len(apps) + i < objects:
            (folder / "app").mkdir()
            (folder / "app" / "helmrelease.yaml").write_text(
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
                f"metadata:\n  name: {name}\n  namespace: {ns}\n"
                "spec:\n  interval: 1h\n  chart:\n    spec:\n      chart: app-template\n"
                "      sourceRef:\n        kind: HelmRepository\n        name: bjw-s\n"
                "        namespace: flux-system\n  values:\n    replicas: 1\n")
    return root


def time_process(path, runs):
    argv = [sys.executable, "-m", "kubectl_depgraph", "check", "--path", str(path),
            "-o", "json", "--fail-on", "never"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"check failed on {path}: {proc.stderr.strip()}")
    return times


def time_in_process(path, runs):
    loads, checks, size, found = [], [], 0, 0
    for _ in range(runs):
        start = time.perf_counter()
        inventory = load(Inputs(path=str(path)))
        graph = inventory.graph()
        mid = time.perf_counter()
        findings = check(graph, duplicates=inventory.duplicates)
        end = time.perf_counter()
        loads.append(mid - start)
        checks.append(end - mid)
        size, found = len(graph.objects), len(findings)
    return loads, checks, size, found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--objects", type=int, default=400, help="size of the generated repository")
    args = parser.parse_args()

    targets = [(name, EXAMPLES / name) for name in LARGEST if (EXAMPLES / name).is_dir()]
    with tempfile.TemporaryDirectory() as tmp:
        targets.append((f"generated ({args.objects} objects)", generate(Path(tmp), args.objects)))
        print(f"check --path, median of {args.runs} runs (Python {sys.version.split()[0]})")
        print(f"{'repository':34} {'objects':>7} {'findings':>8} {'process':>9} {'read':>8} "
              f"{'check':>8}")
        for name, path in targets:
            proc = time_process(path, args.runs)
            loads, checks, size, found = time_in_process(path, args.runs)
            print(f"{name:34} {size:7d} {found:8d} {statistics.median(proc):8.2f}s "
                  f"{statistics.median(loads):7.2f}s {statistics.median(checks) * 1000:6.1f}ms")


if __name__ == "__main__":
    main()
