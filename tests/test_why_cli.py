"""`kubectl depgraph why` end to end: the real kubectl against the API-server double loaded
with the tests/data/scenarios/why-* scenarios, the same files as a snapshot (-f), and the
errors a user sees. Goldens: tests/golden/why/ (regenerate with --update-golden)."""

import json
import re
from pathlib import Path

import pytest

from tests.apiserver import Forbid
from tests.clirun import invoke, run_subprocess
from tests.conftest import SCENARIOS_DIR

ROOT = Path(__file__).resolve().parents[1]
NOW = {"DEPGRAPH_NOW": "2026-11-21T10:30:00Z"}

# scenario -> (NAME to explain, expected root causes as (id, label))
SCENARIOS = {
    "why-chain-health": ("apps", [("Kustomization/flux-system/infrastructure", "health check failed")]),
    "why-helm-retries": ("backend", [("HelmRelease/data/postgresql", "install retries exhausted")]),
    "why-cycle": ("apps", [("Kustomization/flux-system/logging", "cycle")]),
    "why-other-kind": ("ks/apps", [("Kustomization/flux-system/ingress-nginx", "missing")]),
    "why-suspended": ("apps", [("Kustomization/flux-system/infrastructure", "suspended")]),
    "why-stale": ("apps", [("Kustomization/flux-system/infrastructure", "not observed yet")]),
    "why-revision": ("apps", [("Kustomization/flux-system/infrastructure", "revision behind")]),
    "why-git-auth": ("apps", [("GitRepository/flux-system/flux-system", "source AuthenticationFailed")]),
}
# scenario -> the blocked edge label on NAME's own dependency
EDGE_LABELS = {
    "why-chain-health": "not ready", "why-helm-retries": "not ready", "why-cycle": "not ready",
    "why-other-kind": "missing", "why-suspended": "suspended", "why-stale": "not observed yet",
    "why-revision": "revision behind", "why-git-auth": "not ready",
}


def snapshot_args(scenario):
    folder = SCENARIOS_DIR.relative_to(ROOT) / scenario
    return ["-f", folder / "objects.yaml", "-f", folder / "events.yaml"]


@pytest.fixture(autouse=True)
def at_repo_root(monkeypatch):
    # Snapshot paths are given relative to the repository, as the goldens show them.
    monkeypatch.chdir(ROOT)


def event_lists(server):
    return [r for r in server.requests if r.method == "GET" and r.path.endswith("/events")]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_live_why_through_real_kubectl(live, golden, scenario):
    name, expected = SCENARIOS[scenario]
    server, env = live(scenario)
    text = invoke(["why", name], env=env)
    assert (text.code, text.stderr) == (0, "")
    golden.check(f"why/{scenario}.txt", text.stdout)
    out = invoke(["why", name, "-o", "json"], env=env)
    assert out.code == 0
    golden.check(f"why/{scenario}.json", out.stdout)
    doc = json.loads(out.stdout)
    assert [(rc["id"], rc["label"]) for rc in doc["rootCauses"]] == expected
    first_hop = [e for e in doc["blockedEdges"] if e["from"] == doc["target"] and e["via"] == "dependsOn"]
    assert first_hop[0]["label"] == EDGE_LABELS[scenario]
    assert doc["eventsRead"] is True and doc["notes"] == []
    assert any(step["events"] for step in doc["chain"])      # evidence came from the cluster
    assert server.writes() == []                              # why never changes the cluster


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_snapshot_why_matches_live(live, golden, scenario):
    name, expected = SCENARIOS[scenario]
    _, env = live(scenario)
    from_file = invoke(["why", name, *snapshot_args(scenario)], env=NOW)
    assert (from_file.code, from_file.stderr) == (0, "")
    golden.check(f"why/{scenario}-snapshot.txt", from_file.stdout)
    assert from_file.stdout == invoke(["why", name], env=env).stdout
    doc = json.loads(invoke(["why", name, "-o", "json", *snapshot_args(scenario)], env=NOW).stdout)
    golden.check(f"why/{scenario}-snapshot.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    live_doc = json.loads(invoke(["why", name, "-o", "json"], env=env).stdout)
    assert doc["input"].startswith("snapshot ") and live_doc["input"] == "the cluster"
    doc.pop("input"), live_doc.pop("input")
    assert doc == live_doc
    assert [(rc["id"], rc["label"]) for rc in doc["rootCauses"]] == expected


@pytest.mark.parametrize("scenario", ["why-chain-health", "why-git-auth", "why-cycle"])
def test_incident_view_groups_by_root_cause(live, golden, scenario):
    server, env = live(scenario)
    out = invoke(["why"], env=env)
    assert (out.code, out.stderr) == (0, "")
    golden.check(f"why/{scenario}-all.txt", out.stdout)
    doc = json.loads(invoke(["why", "-o", "json"], env=env).stdout)
    assert doc["kind"] == "Incident"
    assert [rc["id"] for rc in doc["rootCauses"]] == [SCENARIOS[scenario][1][0][0]]
    assert server.writes() == []


def test_incident_headline_counts():
    out = invoke(["why", *snapshot_args("why-chain-health")], env=NOW)
    assert out.stdout.splitlines()[0] == "✗ 1 root cause blocks 5 objects (6 not ready)"


def test_yaml_output_is_the_same_document():
    import yaml
    as_json = json.loads(invoke(["why", "apps", "-o", "json", *snapshot_args("why-stale")], env=NOW).stdout)
    as_yaml = yaml.safe_load(invoke(["why", "apps", "-o", "yaml", *snapshot_args("why-stale")], env=NOW).stdout)
    assert as_yaml == as_json


def test_events_take_a_bounded_number_of_kubectl_calls(live):
    server, env = live("why-helm-retries")             # 2 objects on the chain: one call each
    invoke(["why", "backend"], env=env)
    calls = event_lists(server)
    assert len(calls) == 2
    assert {c.query.get("fieldSelector") for c in calls} == {
        "involvedObject.kind=HelmRelease,involvedObject.name=backend",
        "involvedObject.kind=HelmRelease,involvedObject.name=postgresql"}
    server, env = live("why-chain-health")             # 6 objects, one namespace: one call
    invoke(["why", "apps"], env=env)
    assert [c.path for c in event_lists(server)] == ["/api/v1/namespaces/flux-system/events"]


def test_events_forbidden_explains_without_them(live):
    server, env = live("why-chain-health", forbid=[Forbid(["list"], "events")])
    out = invoke(["why", "apps"], env=env)
    assert out.code == 0 and out.stderr == ""
    assert not re.search(r"^ +Events: ", out.stdout, re.M)
    assert "note: events not read: Error from server (Forbidden)" in out.stdout
    assert "(explained without events)" in out.stdout
    assert "Root cause (1):\n  ✗ ks/flux-system/infrastructure  health check failed" in out.stdout
    doc = json.loads(invoke(["why", "apps", "-o", "json"], env=env).stdout)
    assert doc["eventsRead"] is False and doc["rootCauses"][0]["label"] == "health check failed"


def test_snapshot_without_events_says_so():
    folder = SCENARIOS_DIR.relative_to(ROOT) / "why-suspended"
    out = invoke(["why", "apps", "-f", folder / "objects.yaml"], env=NOW)
    assert out.code == 0
    assert "note: the snapshot holds no Events: evidence from events omitted" in out.stdout
    assert not re.search(r"^ +Events: ", out.stdout, re.M)


@pytest.mark.parametrize("args,code", [
    (["why", "apps", "--exit-code"], 3),
    (["why", "--exit-code"], 3),
    (["why", "ks/infrastructure", "--exit-code"], 0),     # ready, only behind its source
    (["why", "apps"], 0),
])
def test_exit_code(args, code):
    out = invoke([*args, *snapshot_args("why-revision")], env=NOW)
    assert out.code == code, out.stderr


def test_ready_object_short_answer(golden):
    out = invoke(["why", "infrastructure", *snapshot_args("why-revision")], env=NOW)
    golden.check("why/ready.txt", out.stdout)
    assert out.stdout.startswith("✔ Kustomization/flux-system/infrastructure is ready")
    assert "Root cause" not in out.stdout


def test_exit_code_through_a_real_process():
    out = run_subprocess(["why", "apps", "--exit-code", *snapshot_args("why-cycle")], env=None)
    assert out.code == 3 and "never resolves by itself" in out.stdout


def test_path_input_has_no_status(tmp_path):
    out = invoke(["why", "apps", "--path", tmp_path], env=NOW)
    assert out.code == 2 and out.stdout == ""
    assert out.stderr.splitlines()[0] == \
        "error: why needs status, and --path reads Git manifests, which carry none"
    assert out.stderr.splitlines()[1].startswith("hint: run it on the cluster, or on a snapshot")


def test_unknown_name_is_a_usage_error_with_the_nearest_name():
    out = invoke(["why", "infrastucture", *snapshot_args("why-stale")], env=NOW)
    assert out.code == 2
    assert "error: no Flux object matches 'infrastucture'" in out.stderr
    assert "did you mean" in out.stderr and "infrastructure" in out.stderr


def test_unreachable_cluster_is_an_environment_error(live):
    _, env = live("why-stale")
    out = invoke(["why", "apps", "--context", "unreachable", "--request-timeout", "2s"], env=env)
    assert out.code == 4 and out.stderr.startswith("error: cannot reach the API server")


def test_the_walk_runs_once_with_events(monkeypatch):
    from kubectl_depgraph.judge import explain
    stepped = []
    real = explain.judged_step
    monkeypatch.setattr(explain, "judged_step", lambda graph, ref, *rest: stepped.append(ref) or real(graph, ref, *rest))
    out = invoke(["why", "apps", *snapshot_args("why-chain-health")], env=NOW)
    assert out.code == 0 and "Events:" in out.stdout
    assert stepped and len(stepped) == len(set(stepped))      # each object explained once
    for_one = len(stepped)
    stepped.clear()
    folder = SCENARIOS_DIR.relative_to(ROOT) / "why-chain-health"
    invoke(["why", "apps", "-f", folder / "objects.yaml"], env=NOW)    # no events: one walk
    assert len(stepped) == for_one
    stepped.clear()
    invoke(["why", *snapshot_args("why-chain-health")], env=NOW)
    with_events = len(stepped)
    stepped.clear()
    invoke(["why", "-f", folder / "objects.yaml"], env=NOW)
    assert with_events == len(stepped)
