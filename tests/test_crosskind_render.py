"""Cross-kind dependencies as a user sees them, from the bundled snapshot
examples/crosskind.yaml (Flux 2.10 typed dependsOn entries, a ResourceSet, CRDs, a
Deployment, a Namespace): tree, why, -o json, dot and reconcile --dry-run, whole outputs in
tests/golden/crosskind/ (regenerate with --update-golden)."""

import json
from pathlib import Path

import pytest

from kubectl_depgraph.acquire import Inputs, load
from kubectl_depgraph.graph import DepGraph
from kubectl_depgraph.judge.status import State, classify
from kubectl_depgraph.model import ObjectRef, parse_external
from tests.clirun import invoke

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = "examples/crosskind.yaml"
ENV = {"DEPGRAPH_NOW": "2026-12-01T10:30:00Z", "NO_COLOR": "1"}


@pytest.fixture(autouse=True)
def at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("args,name", [
    (["tree"], "tree.txt"),
    (["tree", "-o", "table"], "table.txt"),
    (["tree", "-o", "dot"], "graph.dot"),
    (["tree", "-o", "json"], "graph.json"),
    (["why"], "why-incident.txt"),
    (["why", "rset/previews"], "why-previews.txt"),
    (["why", "crd/gateways.gateway.networking.k8s.io", "-o", "json"], "why-crd.json"),
    (["reconcile", "--dry-run"], "reconcile-dry-run.txt"),
])
def test_outputs(golden, args, name):
    out = invoke([*args, "-f", SNAPSHOT], env=ENV)
    assert (out.code, out.stderr) == (0, "")
    golden.check(f"crosskind/{name}", out.stdout)


def test_why_exit_code_and_root_causes():
    out = invoke(["why", "apps", "--exit-code", "-f", SNAPSHOT, "-o", "json"], env=ENV)
    assert out.code == 3
    doc = json.loads(out.stdout)
    assert doc["apiVersion"] == "kubectl-depgraph/v2"
    assert [(r["id"], r["label"]) for r in doc["rootCauses"]] == [
        ("Deployment/cert-manager/cert-manager-webhook", "not current: progressing (ReplicasNotReady)")]


def test_graph_json_carries_the_cross_kind_fields():
    doc = json.loads(invoke(["tree", "-o", "json", "-f", SNAPSHOT], env=ENV).stdout)
    nodes = {n["id"]: n for n in doc["nodes"]}
    crd = nodes["CustomResourceDefinition/gateways.gateway.networking.k8s.io"]
    assert (crd["apiVersion"], crd["namespace"], crd["readiness"], crd["status"], crd["ready"]) == \
        ("apiextensions.k8s.io/v1", "", "kstatus", "progressing", False)
    apps = nodes["Kustomization/flux-system/apps"]
    assert apps["readiness"] == "flux"
    assert apps["dependsOn"] == [
        {"id": "Kustomization/flux-system/issuers", "apiVersion": None, "ready": True, "readyExpr": None},
        {"id": "Namespace/apps", "apiVersion": "v1", "ready": False, "readyExpr": None}]
    edges = {(e["from"], e["to"]): e for e in doc["edges"]}
    assert edges["Kustomization/flux-system/apps", "Namespace/apps"]["ready"] is False
    rset_ks = edges["ResourceSet/flux-system/previews", "Kustomization/flux-system/apps"]
    assert rset_ks["ready"] is True and rset_ks["readyExpr"].startswith("status.conditions")


def test_a_dependency_on_a_kind_the_snapshot_lacks_is_unknown_not_missing(tmp_path):
    snap = tmp_path / "s.yaml"
    snap.write_text("""\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: apps}
spec:
  dependsOn:
  - {apiVersion: cert-manager.io/v1, kind: ClusterIssuer, name: letsencrypt}
status:
  conditions: [{type: Ready, status: "True", reason: ReconciliationSucceeded}]
""")
    inv = load(Inputs(files=(str(snap),)), kubectl=None)
    graph = DepGraph.from_objects(inv.objects)
    ref = ObjectRef("ClusterIssuer", "", "letsencrypt")
    assert not graph.is_missing(ref)
    verdict = classify(graph.obj(ref))
    assert (verdict.state, verdict.message) == (
        State.UNKNOWN, f"not in snapshot {snap} (it holds no ClusterIssuer objects)")
    out = invoke(["check", "-f", str(snap)], env=ENV)
    assert out.code == 0 and "DG002" not in out.stdout and "DG013" not in out.stdout


KSTATUS = [
    ({"kind": "CustomResourceDefinition", "status": {"conditions": [
        {"type": "NamesAccepted", "status": "False", "reason": "NameConflict", "message": "x"}]}},
     State.FAILED, "NameConflict"),
    ({"kind": "Deployment", "metadata": {"generation": 3}, "spec": {"replicas": 2},
      "status": {"observedGeneration": 2}}, State.STALE, "GenerationNotObserved"),
    ({"kind": "Deployment", "spec": {"replicas": 1}, "status": {"updatedReplicas": 1, "readyReplicas": 1,
                                                               "availableReplicas": 1}}, State.READY, "Current"),
    ({"kind": "Deployment", "status": {"conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}},
     State.FAILED, "ProgressDeadlineExceeded"),
    ({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}}, State.READY, "Complete"),
    ({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}, State.PROGRESSING, "Pending"),
    ({"kind": "Namespace", "status": {"phase": "Active"}}, State.READY, "Active"),
    ({"kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {}}, State.PROGRESSING, "NoIngress"),
    ({"kind": "Certificate", "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Issuing"}]}},
     State.PROGRESSING, "Issuing"),
    ({"kind": "Widget", "status": {"conditions": [{"type": "Stalled", "status": "True", "reason": "Broken"}]}},
     State.FAILED, "Broken"),
    ({"kind": "ConfigMap"}, State.UNKNOWN, ""),            # no status at all: from Git
    ({"kind": "ConfigMap", "status": {}}, State.READY, "Current"),
    ({"kind": "Deployment", "metadata": {"deletionTimestamp": "2026-12-01T10:00:00Z"}, "status": {}},
     State.PROGRESSING, "Terminating"),
]


@pytest.mark.parametrize("manifest,state,reason", KSTATUS, ids=[f"{m['kind']}-{s}" for m, s, _ in KSTATUS])
def test_kstatus_rules(manifest, state, reason):
    manifest = {"apiVersion": "x/v1", **manifest,
                "metadata": {"name": "n", "namespace": "ns", **manifest.get("metadata", {})}}
    verdict = classify(parse_external(manifest))
    assert (verdict.state, verdict.reason) == (state, reason)
    assert verdict.ready is (state is State.READY)
