"""A stand-in for the `flux` CLI's `reconcile` command, for tests (there is no real flux
binary here). It follows flux2 cmd/flux/reconcile.go through the real kubectl against the
API-server double: get the object, refuse a suspended one, reconcile the source first with
--with-source, annotate requestedAt (plus resetAt/forceAt for `hr --reset/--force`), poll
every 2 s like the real CLI until lastHandledReconcileAt equals the value and the object is
Current, then report Ready. Output on stderr in flux's words (tests/data/flux/*).

Usage: flux [--kubeconfig=K] [--context=C] reconcile KIND… -n NS [--with-source] [--reset]
            [--force] --timeout T [--] NAME
"""

import datetime
import json
import os
import re
import subprocess
import sys
import time

POLL = float(os.environ.get("FAKE_FLUX_POLL", "2"))   # the real CLI's poll interval
KINDS = {   # flux's words → (Kind, resource, short name in messages)
    ("kustomization",): ("Kustomization", "kustomizations.kustomize.toolkit.fluxcd.io"),
    ("ks",): ("Kustomization", "kustomizations.kustomize.toolkit.fluxcd.io"),
    ("helmrelease",): ("HelmRelease", "helmreleases.helm.toolkit.fluxcd.io"),
    ("hr",): ("HelmRelease", "helmreleases.helm.toolkit.fluxcd.io"),
    ("source", "git"): ("GitRepository", "gitrepositories.source.toolkit.fluxcd.io"),
    ("source", "oci"): ("OCIRepository", "ocirepositories.source.toolkit.fluxcd.io"),
    ("source", "bucket"): ("Bucket", "buckets.source.toolkit.fluxcd.io"),
    ("source", "helm"): ("HelmRepository", "helmrepositories.source.toolkit.fluxcd.io"),
    ("source", "chart"): ("HelmChart", "helmcharts.source.toolkit.fluxcd.io"),
}
RESOURCE = {kind: resource for kind, resource in KINDS.values()}


class Failed(Exception):
    pass


def say(glyph, text):
    print(f"{glyph} {text}", file=sys.stderr, flush=True)


def now_rfc3339nano():
    """Go's time.Now().Format(time.RFC3339Nano) in UTC: trailing zeros of the fraction cut."""
    ns = time.time_ns()
    secs, nanos = divmod(ns, 1_000_000_000)
    stamp = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{nanos:09d}".rstrip("0")
    return stamp + (f".{frac}" if frac else "") + "Z"


class Cli:
    def __init__(self, kube_args, timeout):
        self.kube_args = kube_args
        self.deadline = time.monotonic() + timeout

    def kubectl(self, *args):
        proc = subprocess.run([os.environ.get("KUBECTL", "kubectl"), *self.kube_args, *args],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise Failed((proc.stderr.strip().splitlines() or [f"kubectl exit {proc.returncode}"])[-1]
                         .replace("Error from server (NotFound): ", ""))
        return proc.stdout

    def get(self, kind, ns, name):
        return json.loads(self.kubectl("get", "-n", ns, f"{RESOURCE[kind]}/{name}", "-o", "json"))

    def reconcile(self, kind, ns, name, with_source=False, reset=False, force=False):
        obj = self.get(kind, ns, name)
        if (obj.get("spec") or {}).get("suspend"):
            raise Failed("resource is suspended")
        if with_source:
            for src_kind, src_ns, src_name in sources_of(obj):
                self.reconcile(src_kind, src_ns, src_name, with_source=True)
        say("►", f"annotating {kind} {name} in {ns} namespace")
        value = now_rfc3339nano()
        keys = ["reconcile.fluxcd.io/requestedAt"]
        if kind == "HelmRelease":
            keys += (["reconcile.fluxcd.io/resetAt"] if reset else []) + \
                (["reconcile.fluxcd.io/forceAt"] if force else [])
        self.kubectl("annotate", "--overwrite", "-n", ns, f"{RESOURCE[kind]}/{name}",
                     *[f"{key}={value}" for key in keys])
        say("✔", f"{kind} annotated")
        say("◎", f"waiting for {kind} reconciliation")
        while True:
            obj = self.get(kind, ns, name)
            st = obj.get("status") or {}
            conds = {c.get("type"): c for c in st.get("conditions") or []}
            stalled = conds.get("Stalled", {}).get("status") == "True"
            if st.get("lastHandledReconcileAt") == value and (stalled or current(obj, conds)):
                break
            if time.monotonic() + POLL > self.deadline:
                raise Failed("context deadline exceeded")
            time.sleep(POLL)
        ready = conds.get("Ready") or {}
        if ready.get("status") != "True":
            message = (conds["Stalled"] if stalled else ready).get("message", "")
            raise Failed(f"{kind} reconciliation failed: {message}")
        if kind == "Kustomization":
            say("✔", f"applied revision {st.get('lastAppliedRevision', '')}")
        elif kind == "HelmRelease":
            say("✔", f"applied revision {st.get('lastAttemptedRevision', '')}")
        else:
            say("✔", f"fetched revision {(st.get('artifact') or {}).get('revision', '')}")


def current(obj, conds):
    """kstatus Current: the generation observed, not reconciling."""
    st = obj.get("status") or {}
    return st.get("observedGeneration") == obj["metadata"].get("generation") and \
        conds.get("Reconciling", {}).get("status") != "True" and "Ready" in conds


def sources_of(obj):
    """[(kind, ns, name)] `--with-source` reconciles first (the chart's own source with it)."""
    spec = obj.get("spec") or {}
    ns = obj["metadata"]["namespace"]
    if obj["kind"] == "HelmRelease":
        chart = (spec.get("chart") or {}).get("spec")
        if chart:
            ref = chart.get("sourceRef") or {}
            return [("HelmChart", ref.get("namespace") or ns, f"{ns}-{obj['metadata']['name']}")]
        ref = spec.get("chartRef") or {}
    else:
        ref = spec.get("sourceRef") or {}
    if ref.get("kind") in RESOURCE:
        return [(ref["kind"], ref.get("namespace") or ns, ref["name"])]
    return []


def parse_duration(text):
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)(h|ms|m|s)", text):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total or 300.0


def main(argv):
    kube_args, rest = [], []
    for arg in argv:
        (kube_args if arg.startswith(("--kubeconfig=", "--context=")) else rest).append(arg)
    if not rest or rest[0] != "reconcile":
        print(f"✗ fake flux: only `reconcile` is implemented, not {rest[:1]}", file=sys.stderr)
        return 1
    rest = rest[1:]
    words = tuple(rest[:2]) if tuple(rest[:2]) in KINDS else tuple(rest[:1])
    if words not in KINDS:
        print(f"✗ unknown kind {rest[:2]}", file=sys.stderr)
        return 1
    rest = rest[len(words):]
    ns, timeout, flags, name = "flux-system", 300.0, set(), None
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("-n", "--namespace"):
            ns, i = rest[i + 1], i + 2
            continue
        if arg == "--timeout":
            timeout, i = parse_duration(rest[i + 1]), i + 2
            continue
        if arg == "--":
            name = rest[i + 1]
            break
        if arg.startswith("--"):
            flags.add(arg)
        else:
            name = arg
        i += 1
    kind = KINDS[words][0]
    cli = Cli(kube_args, timeout)
    try:
        cli.reconcile(kind, ns, name, "--with-source" in flags, "--reset" in flags, "--force" in flags)
    except Failed as exc:
        say("✗", str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
