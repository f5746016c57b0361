"""The API-server double, exercised through the real kubectl binary.

The exact stderr texts asserted here are what kubectl prints against a real API server
returning the same Status objects; the plugin's error handling depends on them.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests import conftest
from tests.apiserver import (NO_FLUX, NO_HELM, OLD_FLUX, REQUESTED_AT, TEST_DELAY, TEST_OUTCOME,
                             Forbid, condition, event, helmrelease, kustomization, source)
from tests.kubectl_bin import KubectlNotFound, layer_kubectl

FLUX_TYPES = ("kustomizations.kustomize.toolkit.fluxcd.io,helmreleases.helm.toolkit.fluxcd.io,"
              "gitrepositories.source.toolkit.fluxcd.io")
KS = "kustomizations.kustomize.toolkit.fluxcd.io"


def kubectl(env: dict, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([env["KUBECTL"], *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def as_json(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def names(doc: dict) -> list[str]:
    return [f"{i['kind']}/{i['metadata'].get('namespace', '')}/{i['metadata']['name']}"
            for i in doc["items"]]


def basic_objects() -> list[dict]:
    return [source("GitRepository", "flux-system"),
            source("HelmRepository", "charts"),
            kustomization("infra"),
            kustomization("apps", depends_on=["infra"]),
            helmrelease("podinfo", "apps")]


def _binaries() -> list:
    """The kubectl the tests use, and the PyPI 1.35 binary too where it is installed (the
    README's test command installs it only on machines without a kubectl)."""
    try:
        layer = layer_kubectl()
    except KubectlNotFound:
        return [pytest.param(None, id="path")]
    return [pytest.param(None, id="path"), pytest.param(layer, id="pypi-1.35")]


# --------------------------------------------------------------------------- discovery


@pytest.mark.parametrize("aggregated", [True, False], ids=["aggregated", "legacy"])
@pytest.mark.parametrize("binary", _binaries())
def test_discovery_and_multi_type_list(apiserver, kube_env, binary, aggregated):
    srv = apiserver(basic_objects(), aggregated_discovery=aggregated)
    env = kube_env(srv)
    if binary:
        env["KUBECTL"] = binary
    doc = as_json(kubectl(env, "get", FLUX_TYPES, "-A", "-o", "json"))
    assert doc["kind"] == "List"
    assert names(doc) == ["Kustomization/flux-system/apps", "Kustomization/flux-system/infra",
                          "HelmRelease/apps/podinfo", "GitRepository/flux-system/flux-system"]
    discovery = srv.requests_matching("GET", r"^/apis?$")
    assert discovery, "kubectl did no discovery"
    aggregated_accept = all("APIGroupDiscoveryList" in r.headers.get("Accept", "")
                            for r in discovery)
    assert aggregated_accept  # every kubectl here asks for aggregated discovery first
    if not aggregated:  # ... and falls back to per-group legacy discovery
        assert srv.requests_matching("GET", r"^/apis/kustomize.toolkit.fluxcd.io/v1$")
    # short names come from discovery
    assert names(as_json(kubectl(env, "get", "ks", "-o", "json"))) == [
        "Kustomization/flux-system/apps", "Kustomization/flux-system/infra"]


def test_dispatcher_picks_binary_by_server_version(apiserver, kube_env, kubectl_path):
    srv = apiserver([kustomization("a")], git_version="v1.29.3")
    as_json(kubectl(kube_env(srv), "get", "ks", "-o", "json"))
    agents = {r.headers.get("User-Agent", "") for r in srv.requests}
    # Without a server the dispatcher reports itself; with one, the kubectl it picked.
    alone = dict(kube_env(srv), KUBECONFIG=os.devnull)
    client = as_json(kubectl(alone, "version", "--client", "-o", "json"))["clientVersion"]
    if client["gitVersion"].endswith("-dispatcher"):
        # The gcloud dispatcher asks /version, then runs its kubectl for that minor version.
        assert any(a.startswith("kubectl-dispatcher") for a in agents), agents
        assert any(a.startswith("kubectl/v1.29.") for a in agents), agents
    else:   # a plain kubectl talks to the server as itself, whatever the server's version
        assert all(f"/{client['gitVersion']} " in a for a in agents), agents
    version = as_json(kubectl(kube_env(srv), "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == "v1.29.3"


def test_old_flux_versions_are_served_with_rewritten_api_version(apiserver, kube_env):
    srv = apiserver([kustomization("infra"), helmrelease("podinfo")], groups=OLD_FLUX)
    doc = as_json(kubectl(kube_env(srv), "get", f"{KS},helmreleases.helm.toolkit.fluxcd.io",
                          "-A", "-o", "json"))
    assert [i["apiVersion"] for i in doc["items"]] == ["kustomize.toolkit.fluxcd.io/v1beta2",
                                                       "helm.toolkit.fluxcd.io/v2beta1"]


def test_unknown_type_in_multi_type_get_fails_whole_command(apiserver, kube_env):
    srv = apiserver(basic_objects(), groups=NO_HELM)
    proc = kubectl(kube_env(srv), "get", FLUX_TYPES, "-A", "-o", "json")
    assert proc.returncode == 1
    assert proc.stdout == ""  # nothing at all, not even the other types
    assert proc.stderr == 'error: the server doesn\'t have a resource type "helmreleases"\n'
    assert not srv.requests_matching("GET", r"/kustomizations$")  # fails before any list


def test_no_flux_at_all(apiserver, kube_env):
    srv = apiserver([], groups=NO_FLUX)
    proc = kubectl(kube_env(srv), "get", KS, "-A", "-o", "json")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == ('error: the server doesn\'t have a resource type '
                           '"kustomizations"\n')


def test_openapi_404_is_tolerated(apiserver, kube_env):
    srv = apiserver([kustomization("apps")])
    env = kube_env(srv)
    proc = kubectl(env, "patch", f"{KS}/apps", "--type", "merge", "-p",
                   '{"spec":{"suspend":true}}')
    assert proc.returncode == 0, proc.stderr
    proc = kubectl(env, "annotate", "--overwrite", f"{KS}/apps", "a=b")
    assert proc.returncode == 0, proc.stderr
    assert not [r for r in srv.requests if r.status >= 400 and not r.path.startswith("/openapi")]


# --------------------------------------------------------------------------- list, paging, selectors


def test_paging_over_500_objects(apiserver, kube_env):
    objs = [kustomization(f"ks-{i:04d}", f"ns-{i % 3}") for i in range(1203)]
    objs += [kustomization(f"small-{i}", "small") for i in range(7)]
    srv = apiserver(objs)
    env = kube_env(srv)
    doc = as_json(kubectl(env, "get", KS, "-A", "-o", "json"))
    assert len(doc["items"]) == 1210
    lists = srv.requests_matching("GET", r"/kustomizations$")
    assert [r.query.get("limit") for r in lists] == ["500", "500", "500"]
    assert "continue" not in lists[0].query and all("continue" in r.query for r in lists[1:])
    srv.clear_log()
    doc = as_json(kubectl(env, "get", KS, "-n", "small", "--chunk-size", "2", "-o", "json"))
    assert [i["metadata"]["name"] for i in doc["items"]] == [f"small-{i}" for i in range(7)]
    pages = srv.requests_matching("GET", r"/namespaces/small/kustomizations$")
    assert [r.query["limit"] for r in pages] == ["2"] * 4
    # every item carries a resourceVersion, and the List too
    assert all(i["metadata"]["resourceVersion"] for i in doc["items"])


def test_event_field_selectors(apiserver, kube_env):
    infra, apps = kustomization("infra"), kustomization("apps")
    evs = [event(infra, "ReconciliationSucceeded", "ok", name="e1"),
           event(apps, "DependencyNotReady", "waiting", name="e2"),
           event(apps, "HealthCheckFailed", "boom", "Warning", name="e3"),
           event(helmrelease("apps"), "UpgradeSucceeded", "hr ok", name="e4")]
    srv = apiserver([infra, apps, *evs])
    env = kube_env(srv)

    def get(selector):
        doc = as_json(kubectl(env, "get", "events", "-n", "flux-system", "--field-selector",
                              selector, "-o", "json"))
        return sorted(i["metadata"]["name"] for i in doc["items"])

    assert get("involvedObject.kind=Kustomization,involvedObject.name=apps") == ["e2", "e3"]
    assert get("involvedObject.name=apps") == ["e2", "e3", "e4"]
    assert get("involvedObject.kind=Kustomization,type=Warning") == ["e3"]
    assert get("involvedObject.namespace=flux-system,type!=Warning") == ["e1", "e2", "e4"]
    assert get("metadata.name=e4") == ["e4"]
    rec = srv.requests_matching("GET", r"/events$")[0]
    assert rec.query["fieldSelector"] == "involvedObject.kind=Kustomization,involvedObject.name=apps"
    proc = kubectl(env, "get", "events", "--field-selector", "spec.bogus=1", "-o", "json")
    assert proc.returncode == 1
    assert "field label not supported: spec.bogus" in proc.stderr


def test_label_selector(apiserver, kube_env):
    objs = [kustomization("a", labels={"team": "x"}), kustomization("b", labels={"team": "y"}),
            kustomization("c")]
    srv = apiserver(objs)
    env = kube_env(srv)
    for selector, expected in [("team=x", ["a"]), ("team!=x", ["b", "c"]), ("team", ["a", "b"]),
                               ("!team", ["c"]), ("team in (x,y)", ["a", "b"])]:
        doc = as_json(kubectl(env, "get", "ks", "-l", selector, "-o", "json"))
        assert [i["metadata"]["name"] for i in doc["items"]] == expected, selector


# --------------------------------------------------------------------------- writes


def test_annotate_round_trip_and_get_makes_no_writes(apiserver, kube_env):
    srv = apiserver([kustomization("apps")])
    env = kube_env(srv)
    as_json(kubectl(env, "get", FLUX_TYPES, "-A", "-o", "json"))
    as_json(kubectl(env, "get", KS, "apps", "-o", "json"))
    assert srv.writes() == []
    before = srv.get_object("Kustomization", "flux-system", "apps")
    proc = kubectl(env, "annotate", "--overwrite", f"{KS}/apps", "-n", "flux-system",
                   f"{REQUESTED_AT}=2025-01-01T00:00:00Z")
    # kubectl <= 1.27 prints "... annotate" (sic), newer ones "... annotated"
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout in ("kustomization.kustomize.toolkit.fluxcd.io/apps annotated\n",
                           "kustomization.kustomize.toolkit.fluxcd.io/apps annotate\n")
    [w] = srv.writes()
    assert w.method == "PATCH" and w.headers["Content-Type"] == "application/merge-patch+json"
    assert w.body["metadata"]["annotations"] == {REQUESTED_AT: "2025-01-01T00:00:00Z"}
    after = srv.get_object("Kustomization", "flux-system", "apps")
    assert after["metadata"]["annotations"][REQUESTED_AT] == "2025-01-01T00:00:00Z"
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    doc = as_json(kubectl(env, "get", KS, "apps", "-o", "json"))
    assert doc["metadata"]["annotations"][REQUESTED_AT] == "2025-01-01T00:00:00Z"


@pytest.mark.parametrize("ptype,patch", [
    ("merge", '{"spec":{"suspend":true}}'),
    ("strategic", '{"spec":{"suspend":true}}'),
    ("json", '[{"op":"add","path":"/spec/suspend","value":true}]'),
])
def test_patch_types_bump_generation_on_spec_change(apiserver, kube_env, ptype, patch):
    srv = apiserver([kustomization("apps")])
    proc = kubectl(kube_env(srv), "patch", f"{KS}/apps", "--type", ptype, "-p", patch)
    assert proc.returncode == 0, proc.stderr
    obj = srv.get_object("Kustomization", "flux-system", "apps")
    assert obj["spec"]["suspend"] is True and obj["metadata"]["generation"] == 2
    assert obj["status"]["observedGeneration"] == 1  # status untouched through the main resource


def test_protobuf_body_is_refused_and_json_answered(apiserver):
    srv = apiserver([kustomization("apps")])
    base = f"{srv.url}/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations"
    req = urllib.request.Request(f"{base}/apps", headers={
        "Accept": "application/vnd.kubernetes.protobuf, application/json"})
    with urllib.request.urlopen(req) as resp:
        assert resp.headers["Content-Type"] == "application/json"
        assert json.load(resp)["metadata"]["name"] == "apps"
    req = urllib.request.Request(f"{base}/apps", data=b"k8s\x00\x01", method="PATCH", headers={
        "Content-Type": "application/vnd.kubernetes.protobuf"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 415 and json.load(err.value)["reason"] == "UnsupportedMediaType"


# --------------------------------------------------------------------------- errors as kubectl prints them


def test_not_found(apiserver, kube_env):
    srv = apiserver([kustomization("apps")])
    proc = kubectl(kube_env(srv), "get", KS, "nope", "-n", "flux-system", "-o", "json")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == ('Error from server (NotFound): kustomizations.kustomize.toolkit.fluxcd.io'
                           ' "nope" not found\n')


def test_forbidden_one_type_among_several_still_prints_the_others(apiserver, kube_env):
    srv = apiserver(basic_objects(), forbid=[Forbid(["list"], "kustomizations")])
    proc = kubectl(kube_env(srv), "get", FLUX_TYPES, "-A", "-o", "json")
    assert proc.returncode == 1
    assert proc.stderr == (
        'Error from server (Forbidden): kustomizations.kustomize.toolkit.fluxcd.io is forbidden: '
        'User "jane" cannot list resource "kustomizations" in API group '
        '"kustomize.toolkit.fluxcd.io" at the cluster scope\n')
    assert names(json.loads(proc.stdout)) == ["HelmRelease/apps/podinfo",
                                              "GitRepository/flux-system/flux-system"]


def test_forbidden_shapes(apiserver, kube_env):
    srv = apiserver(basic_objects(), forbid=[
        Forbid(["list"], "events", namespaces=["apps"]),
        Forbid(["patch"], "kustomizations"),
        Forbid(["list"], "namespaces"),
        Forbid(["list"], "helmreleases", except_namespaces=["apps"]),
    ])
    env = kube_env(srv)
    proc = kubectl(env, "get", "events", "-n", "apps", "-o", "json")
    assert proc.stderr == ('Error from server (Forbidden): events is forbidden: User "jane" cannot '
                           'list resource "events" in API group "" in the namespace "apps"\n')
    assert kubectl(env, "get", "events", "-n", "flux-system", "-o", "json").returncode == 0
    proc = kubectl(env, "annotate", "--overwrite", f"{KS}/apps", f"{REQUESTED_AT}=x")
    assert proc.returncode == 1
    assert proc.stderr == (
        'Error from server (Forbidden): kustomizations.kustomize.toolkit.fluxcd.io "apps" is '
        'forbidden: User "jane" cannot patch resource "kustomizations" in API group '
        '"kustomize.toolkit.fluxcd.io" in the namespace "flux-system"\n')
    proc = kubectl(env, "get", "namespaces", "-o", "json")
    assert proc.stderr == ('Error from server (Forbidden): namespaces is forbidden: User "jane" '
                           'cannot list resource "namespaces" in API group "" at the cluster scope\n')
    assert kubectl(env, "get", "hr", "-n", "apps", "-o", "json").returncode == 0
    assert kubectl(env, "get", "hr", "-A", "-o", "json").returncode == 1


@pytest.mark.parametrize("kind,stderr", [
    ("unauthorized", "error: You must be logged in to the server (Unauthorized)\n"),
    ("error", 'Error from server (InternalError): an error on the server ("etcdserver: request '
              'timed out") has prevented the request from succeeding\n'),
    ("garbage", "error: serializer for text/html doesn't exist\n"),
])
def test_faults(apiserver, kube_env, kind, stderr):
    srv = apiserver([kustomization("apps")])
    env = kube_env(srv)
    as_json(kubectl(env, "get", "ks", "-A", "-o", "json"))  # warm the discovery cache
    srv.add_fault(r"/kustomizations", kind)
    proc = kubectl(env, "get", "ks", "-A", "-o", "json")
    assert (proc.returncode, proc.stderr) == (1, stderr)
    # surprising but true: with -o json kubectl still prints an empty List on stdout
    assert json.loads(proc.stdout)["items"] == []


def test_fail_next_then_recover(apiserver, kube_env):
    srv = apiserver([kustomization("apps")])
    env = kube_env(srv)
    srv.fail_next(1, "error", pattern=r"/kustomizations")
    assert kubectl(env, "get", "ks", "-A", "-o", "json").returncode == 1
    assert len(as_json(kubectl(env, "get", "ks", "-A", "-o", "json"))["items"]) == 1


def test_hang_hits_request_timeout(apiserver, kube_env):
    srv = apiserver([kustomization("apps")])
    env = kube_env(srv)
    as_json(kubectl(env, "get", "ks", "-A", "-o", "json"))
    srv.add_fault(r"/kustomizations", "hang", seconds=5)
    started = time.monotonic()
    proc = kubectl(env, "get", "ks", "-A", "-o", "json", "--request-timeout", "1s")
    assert time.monotonic() - started < 4
    assert proc.returncode == 1
    # kubectl 1.32: "...: net/http: request canceled (Client.Timeout exceeded while awaiting
    # headers)"; kubectl 1.27 and 1.35: "...: context deadline exceeded"
    assert proc.stderr.startswith("Unable to connect to the server: "), proc.stderr
    assert ("context deadline exceeded" in proc.stderr
            or "Client.Timeout exceeded" in proc.stderr), proc.stderr


def test_unreachable_context(apiserver, kube_env):
    srv = apiserver([])
    proc = kubectl(kube_env(srv), "--context", "unreachable", "get", "ks", "-A", "-o", "json")
    assert proc.returncode == 1 and proc.stdout == ""
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("The connection to the server 127.0.0.1:")
    assert last.endswith(" was refused - did you specify the right host or port?")


# --------------------------------------------------------------------------- the simulated controller


def wait_for(predicate, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def ready_status(srv, kind, name, ns="flux-system"):
    c = condition(srv.get_object(kind, ns, name), "Ready") or {}
    return c.get("status"), c.get("reason"), c.get("message")


def test_controller_handles_chain_in_order(apiserver, kube_env):
    objs = [source("GitRepository", "flux-system"),
            kustomization("infra", ready=None),
            kustomization("apps", depends_on=["infra"], ready=None),
            kustomization("web", depends_on=["flux-system/apps"], ready=None)]
    srv = apiserver(objs, controller=True,
                    controller_options={"delay": 0.05, "requeue_interval": 0.2})
    env = kube_env(srv)
    # annotate the dependents first: they must wait for the chain
    proc = kubectl(env, "annotate", "--overwrite", KS, "web", "apps", "infra",
                   f"{REQUESTED_AT}=t1")
    assert proc.returncode == 0, proc.stderr
    assert wait_for(lambda: ready_status(srv, "Kustomization", "web")[0] == "True", 5)
    ctl = srv.controller
    assert ctl.order() == ["Kustomization/flux-system/infra", "Kustomization/flux-system/apps",
                           "Kustomization/flux-system/web"]
    infra = ctl.handled("Kustomization", name="infra", result="ready")[0]
    apps = ctl.handled("Kustomization", name="apps", result="ready")[0]
    assert apps.start >= infra.end
    waits = ctl.handled("Kustomization", name="web", result="dependency-not-ready")
    assert waits and waits[0].requested_at == "t1"
    web = srv.get_object("Kustomization", "flux-system", "web")
    assert web["status"]["lastHandledReconcileAt"] == "t1"
    assert web["status"]["observedGeneration"] == 1
    assert web["status"]["lastAppliedRevision"] == "main@sha1:" + "a" * 40
    doc = as_json(kubectl(env, "get", "events", "--field-selector",
                          "involvedObject.kind=Kustomization,involvedObject.name=web", "-o", "json"))
    reasons = {(e["type"], e["reason"], e["message"], e["source"]["component"])
               for e in doc["items"]}
    assert ("Normal", "DependencyNotReady",
            "Dependencies do not meet ready condition, retrying in 30s",
            "kustomize-controller") in reasons
    assert ctl.handled_count("Kustomization", "flux-system", "web") == 1


def test_controller_dependency_messages(apiserver):
    objs = [source("GitRepository", "flux-system", revision="main@sha1:" + "b" * 40),
            kustomization("stale", revision="main@sha1:" + "a" * 40),
            kustomization("a", depends_on=["missing"], ready=None),
            kustomization("b", depends_on=["stale"], ready=None),
            kustomization("c", depends_on=["apps/broken"], ready=None),
            kustomization("broken", "apps", ready=False),
            helmrelease("h", "apps", depends_on=["nothere"], ready=None),
            kustomization("s", suspend=True, ready=None)]
    srv = apiserver(objs, controller=True, controller_options={"requeue_interval": 10})
    ctl = srv.controller
    for kind, ns, name in [("Kustomization", "flux-system", n) for n in "abcs"] + [
            ("HelmRelease", "apps", "h")]:
        ctl.request(kind, ns, name, "t1")
    assert wait_for(lambda: len(ctl.handled(result="dependency-not-ready")) >= 4)
    assert ready_status(srv, "Kustomization", "a") == (
        "False", "DependencyNotReady", "dependency 'flux-system/missing' not found: "
        "kustomizations.kustomize.toolkit.fluxcd.io \"missing\" not found")
    assert ready_status(srv, "Kustomization", "b") == (
        "False", "DependencyNotReady", "dependency 'flux-system/stale' revision is not up to date")
    assert ready_status(srv, "Kustomization", "c") == (
        "False", "DependencyNotReady", "dependency 'apps/broken' is not ready")
    assert ready_status(srv, "HelmRelease", "h", "apps") == (
        "False", "DependencyNotReady", "unable to get 'apps/nothere' dependency: "
        "helmreleases.helm.toolkit.fluxcd.io \"nothere\" not found")
    h = srv.get_object("HelmRelease", "apps", "h")
    assert condition(h, "Reconciling")["message"] == "Fulfilling prerequisites"
    assert "observedGeneration" not in h["status"]
    assert ctl.handled(name="s") == []  # suspended: never handled
    [ev] = srv.events_for("HelmRelease", "apps", "h")
    assert ev["message"] == ready_status(srv, "HelmRelease", "h", "apps")[2]


def test_controller_requeue_unblocks_waiting_object_without_new_request(apiserver):
    objs = [source("GitRepository", "flux-system"),
            kustomization("infra", ready=False),
            kustomization("apps", depends_on=["infra"], ready=None)]
    srv = apiserver(objs, controller=True, controller_options={"requeue_interval": 0.1})
    ctl = srv.controller
    ctl.request("Kustomization", "flux-system", "apps", "t1")
    assert wait_for(lambda: ready_status(srv, "Kustomization", "apps")[1] == "DependencyNotReady")
    ctl.request("Kustomization", "flux-system", "infra", "t2")
    assert wait_for(lambda: ready_status(srv, "Kustomization", "apps")[0] == "True")
    assert [h.trigger for h in ctl.handled(name="apps")][-1] == "requeue"


def test_controller_outcomes_from_annotations_and_configure(apiserver):
    objs = [source("GitRepository", "flux-system"),
            kustomization("slow", ready=None, annotations={TEST_DELAY: "0.3"}),
            kustomization("bad", ready=None, annotations={TEST_OUTCOME: "fail"}),
            kustomization("stuck", ready=None),
            helmrelease("hr", ready=None)]
    srv = apiserver(objs, controller=True)
    ctl = srv.controller
    ctl.configure("Kustomization", "flux-system", "stuck", outcome="never")
    ctl.configure("GitRepository", "flux-system", "flux-system", new_revision="main@sha1:" + "c" * 40)
    for kind, name in [("Kustomization", "slow"), ("Kustomization", "bad"),
                       ("Kustomization", "stuck"), ("HelmRelease", "hr"),
                       ("GitRepository", "flux-system")]:
        ctl.request(kind, "flux-system", name, "r1")
    assert wait_for(lambda: ready_status(srv, "Kustomization", "slow")[0] == "True")
    slow = ctl.handled(name="slow")[0]
    assert slow.end - slow.start >= 0.3
    status, reason, message = ready_status(srv, "Kustomization", "bad")
    assert (status, reason) == ("False", "HealthCheckFailed")
    assert message.startswith("health check failed after ")
    assert [e["type"] for e in srv.events_for("Kustomization", "flux-system", "bad")] == ["Warning"]
    assert ready_status(srv, "HelmRelease", "hr")[:2] == ("True", "UpgradeSucceeded")
    src = srv.get_object("GitRepository", "flux-system", "flux-system")
    assert src["status"]["artifact"]["revision"] == "main@sha1:" + "c" * 40
    assert src["status"]["lastHandledReconcileAt"] == "r1"
    stuck = srv.get_object("Kustomization", "flux-system", "stuck")
    assert "lastHandledReconcileAt" not in stuck.get("status", {})
    assert ctl.handled_count("GitRepository", "flux-system", "flux-system") == 1


# --------------------------------------------------------------------------- fixtures themselves


def test_golden_fixture(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "GOLDEN_DIR", tmp_path)
    conftest.Golden(update=True).check("x/out.txt", "hello\n")
    conftest.Golden(update=False).check("x/out.txt", "hello\n")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)-hello.*\+bye.*--update-golden"):
        conftest.Golden(update=False).check("x/out.txt", "bye\n")


def test_kube_env_shape(apiserver, kube_env, kubectl_path):
    srv = apiserver([])
    env = kube_env(srv, namespace="apps")
    assert env["KUBECTL"] == kubectl_path and env["KUBECACHEDIR"].endswith("kubecache")
    assert env["HOME"] == os.environ["HOME"]
    proc = kubectl(env, "config", "view", "--minify", "-o", "json")
    cfg = json.loads(proc.stdout)
    assert cfg["clusters"][0]["cluster"]["server"] == srv.url
    assert cfg["contexts"][0]["context"]["namespace"] == "apps"
