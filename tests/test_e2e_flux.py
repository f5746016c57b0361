"""End to end: kubectl depgraph against a real kube-apiserver (+ etcd) and the real Flux
source-controller and kustomize-controller, all built from their published Go modules by
tests/e2e/stack.py (cached in ~/.cache/kubectl-depgraph/e2e/).  The controllers fetch from
a local smart-HTTP Git server.  Each test has its own namespaces and Git repository.

Read-only commands (tree, why, check, reconcile --dry-run) are checked against the API
server's audit log: the plugin authenticates as its own user `depgraph`, and none of its
requests during those commands may be a write.
"""

from __future__ import annotations

import atexit
import copy
import itertools
import json
import os
import re

import pytest

from tests.clirun import run_subprocess
from tests.e2e import flux
from tests.e2e.flux import configmap, deployment, gitrepository, kustomization, wait_for
from tests.e2e.gitserver import GitServer
from tests.e2e.stack import (COMPONENTS, WRITE_VERBS, BuildError, Stack, StackError, build,
                             crd_dir, ensure_tools)

# --------------------------------------------------------------------------- the stack


@pytest.fixture(scope="module")
def flux_stack(tmp_path_factory, kubectl_path):
    """etcd + kube-apiserver + source-controller + kustomize-controller + a Git server.

    Module-scoped (this is the only module using it): the processes stop as soon as the e2e
    tests are done, so they do not load the machine under the timing-sensitive fast tests.
    The build itself is cached across sessions."""
    problem = None
    try:
        ensure_tools()
        bindir = build()
        crds = [crd_dir(c.module_dir, c.crd_module) for c in COMPONENTS if c.crd_module]
    except (BuildError, StackError) as e:
        problem = str(e)
    if problem:
        pytest.fail(f"e2e stack could not be built:\n{problem}", pytrace=False)
    workdir = tmp_path_factory.mktemp("e2e-stack")
    stack = Stack(bindir, workdir, kubectl_path)
    git = GitServer(workdir / "git")
    atexit.register(stack.stop)
    try:
        git.start()
        try:
            stack.start(crds)
        except StackError as e:
            problem = str(e)
        if problem:
            pytest.fail(f"e2e stack did not start:\n{problem}", pytrace=False)
        stack.git = git
        yield stack
    finally:
        stack.stop()
        git.stop()


_counter = itertools.count(1)


class E2E:
    """Per-test handle: namespaces, a Git repository, apply, and the plugin as a subprocess."""

    def __init__(self, stack: Stack, tmp_path, kubectl_path: str, label: str) -> None:
        self.stack = stack
        self.git: GitServer = stack.git
        self.tmp_path = tmp_path
        self.prefix = f"{label}-{next(_counter)}"
        self.namespaces: list[str] = []
        bindir = tmp_path / "kubectl-bin"
        bindir.mkdir()
        (bindir / "kubectl").symlink_to(kubectl_path)
        env = dict(os.environ)
        for var in ("KUBECTL_EXTERNAL_DIFF", "KUBE_EDITOR", "KUBERC", "KUBECTL_KUBERC", "KUBECTL"):
            env.pop(var, None)
        # No `flux` on PATH: reconcile takes the kubectl annotate path.
        env.update(KUBECONFIG=str(stack.plugin_kubeconfig), KUBECACHEDIR=str(tmp_path / "kubecache"),
                   PATH=str(bindir) + os.pathsep + "/usr/bin:/bin", NO_COLOR="1")
        self.env = env

    def with_cache(self, tmp_path) -> "E2E":
        """The same scenario, with this test's own KUBECACHEDIR."""
        other = copy.copy(self)
        other.env = {**self.env, "KUBECACHEDIR": str(tmp_path / "kubecache")}
        return other

    def ns(self, suffix: str) -> str:
        name = f"{self.prefix}-{suffix}"
        self.stack.kubectl_admin("create", "namespace", name)
        self.namespaces.append(name)
        return name

    def repo(self, files: dict[str, str]):
        repo = self.git.create_repo(self.prefix)
        repo.sha = repo.commit(files, "initial")
        return repo

    def apply(self, *objects: dict) -> None:
        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
        self.stack.kubectl_admin("apply", "-f", "-", input=text)

    def get(self, resource: str, ns: str, name: str) -> dict:
        return self.stack.get(resource, ns, name)

    def ks(self, ns: str, name: str) -> dict:
        return self.get("kustomizations.kustomize.toolkit.fluxcd.io", ns, name)

    def gitrepo(self, ns: str, name: str) -> dict:
        return self.get("gitrepositories.source.toolkit.fluxcd.io", ns, name)

    def table(self) -> str:
        return flux.status_table(self.stack, self.namespaces)

    def wait(self, what: str, fn, timeout: float = 120):
        return wait_for(what, fn, timeout=timeout, describe=self.table)

    def wait_ks(self, ns: str, name: str, pred, what: str, timeout: float = 120) -> dict:
        return self.wait(f"ks/{ns}/{name} {what}", lambda: (lambda o: pred(o) and o)(self.ks(ns, name)),
                         timeout)

    def wait_ready(self, *refs: tuple[str, str], timeout: float = 120) -> None:
        for ns, name in refs:
            self.wait_ks(ns, name, flux.is_ready, "Ready", timeout)

    def wait_reason(self, ns: str, name: str, reason: str, timeout: float = 120) -> dict:
        return self.wait_ks(ns, name, lambda o: (flux.ready_reason(o) or ("", "", ""))[1] == reason,
                            f"Ready reason {reason}", timeout)

    # -- the plugin

    def run(self, *args, timeout: float = 300):
        return run_subprocess(list(args), env=self.env, timeout=timeout)

    def read_only(self, *args, timeout: float = 120):
        """Run a read-only command; assert the plugin's user wrote nothing meanwhile."""
        offset = self.stack.audit_offset()
        out = self.run(*args, timeout=timeout)
        events = self.stack.audit_events(offset)
        assert events, "no audit events from the plugin's user: is the audit log filter right?"
        writes = [f"{e['verb']} {e['requestURI']}" for e in events if e["verb"] in WRITE_VERBS]
        assert writes == [], f"read-only `{' '.join(map(str, args))}` wrote: {writes}"
        return out

    def tree_json(self, *args) -> dict:
        out = self.read_only("tree", "-o", "json", *args)
        assert out.code == 0, out.stderr
        doc = json.loads(out.stdout)
        return {n["id"]: n for n in doc["nodes"]}

    def why_json(self, *args, code: int = 0) -> dict:
        out = self.read_only("why", "-o", "json", *args)
        assert out.code == code, (out.code, out.stderr, out.stdout[-2000:])
        return json.loads(out.stdout)

    def check_json(self, *args) -> tuple[int, dict]:
        out = self.read_only("check", "-o", "json", *args)
        assert out.code in (0, 1), (out.code, out.stderr)
        return out.code, json.loads(out.stdout)


def scenario_handle(flux_stack, tmp_path_factory, kubectl_path, label: str) -> E2E:
    """An E2E handle for a module-scoped scenario (set up once, asserted on by several tests)."""
    return E2E(flux_stack, tmp_path_factory.mktemp(label), kubectl_path, label)


@pytest.fixture
def e2e(request, flux_stack, tmp_path, kubectl_path) -> E2E:
    label = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().replace("test_", ""))[:30].strip("-")
    return E2E(flux_stack, tmp_path, kubectl_path, label)


def ks_id(ns: str, name: str) -> str:
    return f"Kustomization/{ns}/{name}"


def dep_ids(node: dict) -> list:
    """The ids a graph node's dependsOn entries name (schema v2: entries are objects)."""
    return [entry["id"] for entry in node["dependsOn"]]


def git_id(ns: str, name: str) -> str:
    return f"GitRepository/{ns}/{name}"


def findings_in(report: dict, *namespaces: str) -> list[tuple[str, list[str]]]:
    """(rule id, objects) of the check findings that involve `namespaces` (other tests' objects
    share the cluster)."""
    return [(f["id"], f["objects"]) for f in report["findings"]
            if any(o.split("/")[1] in namespaces for o in f["objects"])]


# --------------------------------------------------------------------------- scenarios


def test_healthy_fan_in_fan_out_across_namespaces(e2e):
    a, b = e2e.ns("a"), e2e.ns("b")
    repo = e2e.repo({
        "base/cm.yaml": configmap("base", a),
        "left/cm.yaml": configmap("left", b),
        "right/cm.yaml": configmap("right", a),
        "top/cm.yaml": configmap("top", a),
    })
    src = (a, "repo")
    e2e.apply(
        gitrepository("repo", a, repo.url),
        kustomization("base", a, "./base", src),
        kustomization("left", b, "./left", src, depends_on=[f"{a}/base"]),
        kustomization("right", a, "./right", src, depends_on=["base"]),
        kustomization("top", a, "./top", src, depends_on=[f"{b}/left", "right"]),
    )
    e2e.wait_ready((a, "base"), (b, "left"), (a, "right"), (a, "top"))

    nodes = e2e.tree_json()
    ours = {k: v for k, v in nodes.items() if k.split("/")[1] in (a, b)}
    assert {k: v["status"] for k, v in ours.items()} == {
        ks_id(a, "base"): "ready", ks_id(b, "left"): "ready", ks_id(a, "right"): "ready",
        ks_id(a, "top"): "ready"} | ({git_id(a, "repo"): "ready"} if git_id(a, "repo") in ours else {})
    assert dep_ids(ours[ks_id(a, "base")]) == []
    assert dep_ids(ours[ks_id(b, "left")]) == [ks_id(a, "base")]
    assert dep_ids(ours[ks_id(a, "right")]) == [ks_id(a, "base")]
    assert sorted(dep_ids(ours[ks_id(a, "top")])) == sorted([ks_id(b, "left"), ks_id(a, "right")])
    for k in (ks_id(a, "base"), ks_id(a, "top")):
        assert ours[k]["reason"] == "ReconciliationSucceeded"
        assert ours[k]["revision"] == f"main@sha1:{repo.sha}"
        assert ours[k]["source"] == git_id(a, "repo")

    text = e2e.read_only("tree", "-n", a)
    assert text.code == 0 and "ks/" + a + "/top" in text.stdout

    why = e2e.why_json("top", "-n", a)
    assert why["ready"] is True and why["status"] == "ready"
    assert why["rootCauses"] == []
    for ns in (a, b):
        incident = e2e.why_json("-n", ns)
        assert incident["rootCauses"] == [] and incident["notReady"] == []
    assert e2e.read_only("why", "top", "-n", a, "--exit-code").code == 0
    code, report = e2e.check_json()
    assert findings_in(report, a, b) == []

    offset = e2e.stack.audit_offset()
    out = e2e.run("reconcile", "--no-flux", "--timeout", "90s", f"ks/{a}/top", "--dependencies")
    assert out.code == 0, out.stderr + out.stdout
    patches = [ev for ev in e2e.stack.audit_events(offset) if ev["verb"] == "patch"]
    order = [(ev["objectRef"]["resource"], ev["objectRef"]["namespace"], ev["objectRef"]["name"])
             for ev in patches]
    assert order.count(("gitrepositories", a, "repo")) == 1, order
    ks_order = [(ns, n) for r, ns, n in order if r == "kustomizations"]
    assert ks_order[0] == (a, "base") and ks_order[-1] == (a, "top"), ks_order
    assert sorted(ks_order[1:3]) == sorted([(b, "left"), (a, "right")])
    assert order.index(("gitrepositories", a, "repo")) < order.index(("kustomizations", a, "base"))


# -- 2. a health check that cannot pass (no kubelet, no controller-manager) and the chain
#       waiting behind it; an independent object next to it.


@pytest.fixture(scope="module")
def health(flux_stack, tmp_path_factory, kubectl_path) -> E2E:
    e = scenario_handle(flux_stack, tmp_path_factory, kubectl_path, "health")
    a = e.a = e.ns("a")
    repo = e.repo({
        "infra/deploy.yaml": deployment("web", a),
        "apps/cm.yaml": configmap("apps", a),
        "other/cm.yaml": configmap("other", a),
    })
    src = (a, "repo")
    # interval/retryInterval 1h: after its first failure `infra` stays failed (no retry
    # flipping it back to Progressing while the assertions run).
    e.apply(
        gitrepository("repo", a, repo.url),
        kustomization("infra", a, "./infra", src, timeout="10s", interval="1h", retry="1h",
                      healthChecks=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                     "namespace": a}]),
        kustomization("apps", a, "./apps", src, depends_on=["infra"]),
        kustomization("other", a, "./other", src),
    )
    e.wait_reason(a, "infra", "HealthCheckFailed", timeout=150)
    e.wait_reason(a, "apps", "DependencyNotReady")
    e.wait_ready((a, "other"))
    return e


def test_health_check_failure_real_status(health):
    a = health.a
    status, _, message = flux.ready_reason(health.ks(a, "infra"))
    assert status == "False"
    assert re.fullmatch(rf"health check failed after [0-9.]+m?s: timeout waiting for: "
                        rf"\[Deployment/{a}/web status: 'InProgress'\]", message), message
    assert flux.ready_reason(health.ks(a, "apps"))[1:] == (
        "DependencyNotReady", f"dependency '{a}/infra' is not ready")


def test_health_check_failure_tree(health, tmp_path):
    h, a = health.with_cache(tmp_path), health.a
    nodes = h.tree_json("-n", a)
    assert nodes[ks_id(a, "infra")]["status"] == "failed"
    assert nodes[ks_id(a, "infra")]["reason"] == "HealthCheckFailed"
    assert nodes[ks_id(a, "apps")]["status"] == "waiting"
    assert nodes[ks_id(a, "apps")]["reason"] == "DependencyNotReady"
    assert dep_ids(nodes[ks_id(a, "apps")]) == [ks_id(a, "infra")]
    assert nodes[ks_id(a, "other")]["status"] == "ready"
    text = h.read_only("tree", "-n", a)
    assert text.code == 0
    assert re.search(rf"ks/{a}/infra failed\s+HealthCheckFailed", text.stdout), text.stdout
    assert re.search(rf"└── . ks/{a}/apps waiting", text.stdout), text.stdout


def test_health_check_failure_why_name(health, tmp_path):
    h, a = health.with_cache(tmp_path), health.a
    why = h.why_json("apps", "-n", a)
    assert why["status"] == "waiting"
    assert [(rc["id"], rc["label"]) for rc in why["rootCauses"]] == [
        (ks_id(a, "infra"), "health check failed")]
    assert f"Deployment/{a}/web (InProgress)" in why["rootCauses"][0]["summary"]
    assert why["eventsRead"] is True
    events = {(ev["reason"], ev["component"]) for step in why["chain"] for ev in step["events"]}
    assert ("HealthCheckFailed", "kustomize-controller") in events
    assert ("DependencyNotReady", "kustomize-controller") in events
    assert h.read_only("why", "apps", "-n", a, "--exit-code").code == 3
    text = h.read_only("why", "apps", "-n", a)
    assert "Root cause (1):" in text.stdout and f"ks/{a}/infra  health check failed" in text.stdout


def test_health_check_failure_why_edge_label(health, tmp_path):
    h, a = health.with_cache(tmp_path), health.a
    why = h.why_json("apps", "-n", a)
    hop = [e for e in why["blockedEdges"] if e["from"] == ks_id(a, "apps")]
    assert hop[0]["label"] == "not ready"


def test_health_check_failure_why_all(health, tmp_path):
    h, a = health.with_cache(tmp_path), health.a
    incident = h.why_json("-n", a)
    causes = {rc["id"]: rc for rc in incident["rootCauses"]}
    assert list(causes) == [ks_id(a, "infra")]
    assert causes[ks_id(a, "infra")]["label"] == "health check failed"
    assert causes[ks_id(a, "infra")]["blocks"] == [ks_id(a, "apps")]
    assert incident["summary"]["rootCauses"] == 1


def test_health_check_failure_check(health, tmp_path):
    h, a = health.with_cache(tmp_path), health.a
    code, report = h.check_json("-n", a)
    # infra sets wait: true (the scenario's default) and healthChecks: Flux then ignores the
    # list, and check says so (a warning: exit 0)
    assert code == 0 and findings_in(report, a) == [("DG015", [ks_id(a, "infra")])]


def test_health_check_failure_reconcile_isolates_failure(health, tmp_path):
    h, a = health.with_cache(tmp_path), health.a
    offset = h.stack.audit_offset()
    out = h.run("reconcile", "--no-flux", "--timeout", "90s",
                f"ks/{a}/infra", f"ks/{a}/apps", f"ks/{a}/other")
    assert out.code == 1, out.stderr + out.stdout
    assert re.search(rf"Kustomization/{a}/other ready in", out.stderr), out.stderr
    assert re.search(rf"Kustomization/{a}/infra failed after .*health check failed", out.stderr), out.stderr
    assert re.search(rf"Kustomization/{a}/apps skipped", out.stderr), out.stderr
    patched = [ev["objectRef"]["name"] for ev in h.stack.audit_events(offset)
               if ev["verb"] == "patch" and ev["objectRef"]["resource"] == "kustomizations"]
    assert sorted(patched) == ["infra", "other"], patched      # apps is never annotated
    assert [ev["objectRef"]["name"] for ev in h.stack.audit_events(offset)
            if ev["verb"] == "patch" and ev["objectRef"]["resource"] == "gitrepositories"] == ["repo"]


# -- 4. sources that cannot be fetched: a missing repository, a missing branch.


@pytest.fixture(scope="module")
def broken_sources(flux_stack, tmp_path_factory, kubectl_path) -> E2E:
    e = scenario_handle(flux_stack, tmp_path_factory, kubectl_path, "gitfail")
    a = e.a = e.ns("a")
    repo = e.repo({"app/cm.yaml": configmap("app", a)})
    e.git_url = e.git.url
    e.apply(
        gitrepository("no-repo", a, e.git.repo_url("does-not-exist")),
        gitrepository("no-branch", a, repo.url, branch="no-such-branch"),
        kustomization("from-no-repo", a, "./app", (a, "no-repo")),
        kustomization("from-no-branch", a, "./app", (a, "no-branch")),
        kustomization("behind", a, "./app", (a, "no-branch"), depends_on=["from-no-branch"]),
    )
    for name in ("no-repo", "no-branch"):
        e.wait(f"gitrepo {name} failing",
               lambda: (flux.ready_reason(e.gitrepo(a, name)) or ("",))[0] == "False")
    for name in ("from-no-repo", "from-no-branch", "behind"):
        e.wait_reason(a, name, "ArtifactFailed")
    return e


def test_broken_sources_real_status(broken_sources):
    e, a = broken_sources, broken_sources.a
    repo_url = e.git.repo_url(e.prefix)
    expected = {
        "no-repo": ("False", "GitOperationFailed",
                    f"failed to checkout and determine revision: unable to clone "
                    f"'{e.git.repo_url('does-not-exist')}': repository not found: "),
        "no-branch": ("False", "GitOperationFailed",
                      f"failed to checkout and determine revision: unable to clone '{repo_url}': "
                      f"couldn't find remote ref \"refs/heads/no-such-branch\""),
    }
    for name, want in expected.items():
        # between retries; during one, Ready is Unknown "building artifact" for a moment
        e.wait(f"gitrepo {name} {want}", lambda: flux.ready_reason(e.gitrepo(a, name)) == want, 60)
        src = e.gitrepo(a, name)
        assert flux.condition(src, "FetchFailed")["status"] == "True"
        assert src["status"]["observedGeneration"] == -1
    for name in ("from-no-repo", "from-no-branch", "behind"):   # own source first: hides dependsOn
        ks = e.ks(a, name)
        assert flux.ready_reason(ks) == ("False", "ArtifactFailed",
                                         "Source artifact not found, retrying in 5s")
        assert ks["status"]["observedGeneration"] == -1


def test_broken_sources_tree(broken_sources, tmp_path):
    e, a = broken_sources.with_cache(tmp_path), broken_sources.a
    nodes = e.tree_json("-n", a, "--sources")
    assert nodes[ks_id(a, "from-no-repo")]["source"] == git_id(a, "no-repo")
    assert dep_ids(nodes[ks_id(a, "behind")]) == [ks_id(a, "from-no-branch")]
    assert nodes[ks_id(a, "from-no-repo")]["ready"] is False


def test_broken_sources_tree_status(broken_sources, tmp_path):
    e, a = broken_sources.with_cache(tmp_path), broken_sources.a
    nodes = e.tree_json("-n", a)
    assert (nodes[ks_id(a, "from-no-repo")]["status"],
            nodes[ks_id(a, "from-no-repo")]["reason"]) == ("failed", "ArtifactFailed")


def test_broken_sources_why(broken_sources, tmp_path):
    e, a = broken_sources.with_cache(tmp_path), broken_sources.a
    why = e.why_json("from-no-repo", "-n", a)
    labels = {rc["id"]: rc["label"] for rc in why["rootCauses"]}
    assert labels[git_id(a, "no-repo")] == "source GitOperationFailed"
    source_link = [l for l in why["chain"][0]["links"] if l["via"] == "source"]
    assert source_link[0]["to"] == git_id(a, "no-repo") and source_link[0]["blocked"] is True
    why = e.why_json("behind", "-n", a)
    assert git_id(a, "no-branch") in {rc["id"] for rc in why["rootCauses"]}
    incident = e.why_json("-n", a)
    ids = {rc["id"] for rc in incident["rootCauses"]}
    assert {git_id(a, "no-branch"), git_id(a, "no-repo")} <= ids


def test_broken_sources_why_single_root_cause(broken_sources, tmp_path):
    e, a = broken_sources.with_cache(tmp_path), broken_sources.a
    why = e.why_json("from-no-repo", "-n", a)
    assert [rc["id"] for rc in why["rootCauses"]] == [git_id(a, "no-repo")]


def test_broken_sources_reconcile_fails(broken_sources, tmp_path):
    e, a = broken_sources.with_cache(tmp_path), broken_sources.a
    out = e.run("reconcile", "--no-flux", "--timeout", "30s", f"ks/{a}/from-no-repo")
    assert out.code == 1, out.stderr + out.stdout
    assert re.search(rf"GitRepository/{a}/no-repo failed after .*unable to clone", out.stderr), out.stderr
    assert re.search(rf"Kustomization/{a}/from-no-repo skipped", out.stderr), out.stderr


# -- 5. dependency mistakes: a missing object, a two-object cycle, a suspended dependency.


@pytest.fixture(scope="module")
def mistakes(flux_stack, tmp_path_factory, kubectl_path) -> E2E:
    e = scenario_handle(flux_stack, tmp_path_factory, kubectl_path, "mistakes")
    a = e.a = e.ns("a")
    repo = e.repo({"app/cm.yaml": configmap("app", a)})
    src = (a, "repo")
    e.apply(
        gitrepository("repo", a, repo.url),
        kustomization("orphan", a, "./app", src, depends_on=["ghost"]),
        kustomization("c1", a, "./app", src, depends_on=["c2"]),
        kustomization("c2", a, "./app", src, depends_on=["c1"]),
        kustomization("paused", a, "./app", src, suspend=True),
        kustomization("behind-paused", a, "./app", src, depends_on=["paused"]),
    )
    for name in ("orphan", "c1", "c2", "behind-paused"):
        e.wait_reason(a, name, "DependencyNotReady")
    return e


def test_mistakes_real_status(mistakes):
    e, a = mistakes, mistakes.a
    assert flux.ready_reason(e.ks(a, "orphan"))[2] == (
        f"dependency '{a}/ghost' not found: "
        f"kustomizations.kustomize.toolkit.fluxcd.io \"ghost\" not found")
    assert flux.ready_reason(e.ks(a, "c1"))[2] == f"dependency '{a}/c2' is not ready"
    assert flux.ready_reason(e.ks(a, "c2"))[2] == f"dependency '{a}/c1' is not ready"
    assert flux.ready_reason(e.ks(a, "behind-paused"))[2] == f"dependency '{a}/paused' is not ready"
    paused = e.ks(a, "paused")
    assert flux.condition(paused) is None      # suspended from the start: never reconciled
    assert paused["status"] == {"observedGeneration": -1}


def test_mistakes_tree(mistakes, tmp_path):
    e, a = mistakes.with_cache(tmp_path), mistakes.a
    nodes = e.tree_json("-n", a)
    assert nodes[ks_id(a, "orphan")]["status"] == "waiting"
    assert dep_ids(nodes[ks_id(a, "orphan")]) == [ks_id(a, "ghost")]
    assert nodes[ks_id(a, "paused")]["status"] == "suspended"
    assert dep_ids(nodes[ks_id(a, "behind-paused")]) == [ks_id(a, "paused")]
    assert dep_ids(nodes[ks_id(a, "c1")]) == [ks_id(a, "c2")]
    assert dep_ids(nodes[ks_id(a, "c2")]) == [ks_id(a, "c1")]
    text = e.read_only("tree", "-n", a)
    assert f"cycle: ks/{a}/c1 → ks/{a}/c2 → ks/{a}/c1" in text.stdout, text.stdout


def test_mistakes_why(mistakes, tmp_path):
    e, a = mistakes.with_cache(tmp_path), mistakes.a
    assert [(rc["id"], rc["label"]) for rc in e.why_json("orphan", "-n", a)["rootCauses"]] == [
        (ks_id(a, "ghost"), "missing")]
    assert [rc["label"] for rc in e.why_json("c1", "-n", a)["rootCauses"]] == ["cycle"]
    assert [(rc["id"], rc["label"]) for rc in e.why_json("behind-paused", "-n", a)["rootCauses"]] == [
        (ks_id(a, "paused"), "suspended")]
    incident = e.why_json("-n", a)
    labels = sorted(rc["label"] for rc in incident["rootCauses"])
    assert labels == ["cycle", "missing", "suspended"], incident["rootCauses"]


def test_mistakes_check(mistakes, tmp_path):
    e, a = mistakes.with_cache(tmp_path), mistakes.a
    code, report = e.check_json("-n", a)
    assert code == 1
    found = sorted(findings_in(report, a))
    assert ("DG001", [ks_id(a, "c1"), ks_id(a, "c2")]) in found or \
        any(f[0] == "DG001" and set(f[1]) >= {ks_id(a, "c1"), ks_id(a, "c2")} for f in found), found
    assert any(f[0] == "DG002" and f[1][:2] == [ks_id(a, "orphan"), ks_id(a, "ghost")] for f in found), found
    assert any(f[0] == "DG010" and f[1][0] == ks_id(a, "paused") for f in found), found
    assert {f[0] for f in found} == {"DG001", "DG002", "DG010"}, found


def test_mistakes_reconcile_skips(mistakes, tmp_path):
    e, a = mistakes.with_cache(tmp_path), mistakes.a
    offset = e.stack.audit_offset()
    out = e.run("reconcile", "--no-flux", "--timeout", "30s", "-n", a)
    assert out.code == 1, out.stderr + out.stdout
    patched = {ev["objectRef"]["name"] for ev in e.stack.audit_events(offset)
               if ev["verb"] == "patch" and ev["objectRef"]["resource"] == "kustomizations"}
    assert not patched & {"c1", "c2", "paused", "behind-paused"}, patched
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[1:] if line.strip()}
    results = {k: v.split()[1] for k, v in rows.items() if k.startswith("Kustomization/")}
    assert results == {ks_id(a, "paused"): "suspended", ks_id(a, "behind-paused"): "skipped",
                       ks_id(a, "orphan"): "skipped", ks_id(a, "c1"): "skipped",
                       ks_id(a, "c2"): "skipped"}, out.stdout
    assert "does not exist" in rows[ks_id(a, "orphan")]
    assert "dependency cycle, not reconciled" in out.stderr
    assert patched == set()         # nothing could be reconciled, so nothing was annotated


def test_new_commit_rolled_out_in_order(e2e):
    a = e2e.ns("a")
    files = {f"{n}/cm.yaml": configmap(n, a, version="1") for n in ("x", "y", "z")}
    repo = e2e.repo(files)
    src = (a, "repo")
    e2e.apply(
        gitrepository("repo", a, repo.url, interval="1h"),
        kustomization("x", a, "./x", src, interval="1h"),
        kustomization("y", a, "./y", src, depends_on=["x"], interval="1h"),
        kustomization("z", a, "./z", src, depends_on=["y"], interval="1h"),
    )
    e2e.wait_ready((a, "x"), (a, "y"), (a, "z"))
    new_sha = repo.commit({f"{n}/cm.yaml": configmap(n, a, version="2") for n in ("x", "y", "z")},
                          "version 2")

    dry = e2e.read_only("reconcile", "--no-flux", "--dry-run", f"ks/{a}/x", "--dependents")
    assert dry.code == 0, dry.stderr
    assert e2e.gitrepo(a, "repo")["status"]["artifact"]["revision"] == f"main@sha1:{repo.sha}"

    offset = e2e.stack.audit_offset()
    out = e2e.run("reconcile", "--no-flux", "--timeout", "90s", f"ks/{a}/x", "--dependents")
    assert out.code == 0, out.stderr + out.stdout
    order = [(ev["objectRef"]["resource"], ev["objectRef"]["name"])
             for ev in e2e.stack.audit_events(offset) if ev["verb"] == "patch"]
    assert order == [("gitrepositories", "repo"), ("kustomizations", "x"),
                     ("kustomizations", "y"), ("kustomizations", "z")], order
    for n in ("x", "y", "z"):
        ks = e2e.ks(a, n)
        assert ks["status"]["lastAppliedRevision"] == f"main@sha1:{new_sha}"
        cm = e2e.get("configmap", a, n)
        assert cm["data"] == {"version": "2"}
    nodes = e2e.tree_json("-n", a)
    assert {nodes[ks_id(a, n)]["revision"] for n in "xyz"} == {f"main@sha1:{new_sha}"}


def test_cross_kind_entry_on_a_flux_2_9_cluster(e2e):
    """kustomize-controller 1.9.6 (Flux 2.9) predates cross-kind dependsOn. Applied from Git,
    a typed entry is not pruned: server-side apply rejects the whole manifest (the CRD does not
    declare the fields), so the Kustomization applying it fails and applies nothing of that
    revision. check --path says so before merge (DG018); tree and why show the failure."""
    import yaml
    a = e2e.ns("a")
    child = kustomization("needs-db", a, "./app", (a, "repo"), wait=False)
    child["spec"]["dependsOn"] = [{"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                                   "name": "db", "ready": False}]
    files = {"app/cm.yaml": configmap("app", a), "flux/needs-db.yaml": yaml.safe_dump(child),
             "flux/cm.yaml": configmap("applied-with-it", a)}
    repo = e2e.repo(files)
    e2e.apply(gitrepository("repo", a, repo.url), kustomization("parent", a, "./flux", (a, "repo"), wait=False))
    parent = e2e.wait_reason(a, "parent", "ReconciliationFailed")
    message = flux.ready_reason(parent)[2]
    assert f"Kustomization/{a}/needs-db dry-run failed" in message and \
        "field not declared in schema" in message, message
    assert e2e.stack.kubectl_admin("get", "kustomization", "needs-db", "-n", a, check=False).returncode != 0
    assert e2e.stack.kubectl_admin("get", "configmap", "applied-with-it", "-n", a, check=False).returncode != 0

    nodes = e2e.tree_json("-n", a)
    assert (nodes[ks_id(a, "parent")]["status"], nodes[ks_id(a, "parent")]["reason"]) == \
        ("failed", "ReconciliationFailed")
    assert ks_id(a, "needs-db") not in nodes

    checkout = e2e.tmp_path / "checkout"
    for name, text in files.items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(text)
    out = run_subprocess(["check", "--path", checkout / "flux", "-o", "json"])
    report = json.loads(out.stdout)
    # the HelmRelease it names is in no file (DG013), and older Flux rejects the entry (DG018)
    assert [(f["id"], f["severity"]) for f in report["findings"]] == [("DG013", "error"), ("DG018", "warning")]
    assert "older Flux rejects the manifest" in report["findings"][1]["message"]
