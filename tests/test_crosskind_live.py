"""Cross-kind dependencies on a live cluster (issue 16), through the real kubectl against the
API-server double: ResourceSets and Terraforms read when served, one `kubectl get` for the
other kinds dependencies name (a CRD, a Deployment), cross-kind cycles, a kind the server
does not serve, a kind we may not list.

The exact why/tree wording of external nodes is still changing (render/explain): these
tests pin the node, its state word, the root cause and the exit codes."""

import json

import pytest

from kubectl_depgraph import runner
from tests.apiserver import (APIEXT_GROUP, CROSS_KIND_GROUPS, DEFAULT_GROUPS, NO_HELM, OPERATOR_GROUP,
                             Forbid, crd, deployment, helmrelease, kustomization, resourceset, source)
from tests.clirun import invoke

FS = "flux-system"
CRD_NAME = "widgets.example.com"
CRD_REF = "CustomResourceDefinition/widgets.example.com"
ON_CRD = {"apiVersion": f"{APIEXT_GROUP}/v1", "kind": "CustomResourceDefinition", "name": CRD_NAME,
          "ready": True}
ON_INFRA = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "infra",
            "namespace": FS, "ready": True,
            "readyExpr": "status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'True')"}
# flux-operator's words for a dependency that is not kstatus Current
RSET_WAITING = (f"dependency {APIEXT_GROUP}/v1/CustomResourceDefinition//{CRD_NAME} not ready: "
                "status InProgress")


def rset_on_crd(established=False):
    return [source("GitRepository", FS), kustomization("infra"), crd(CRD_NAME, established=established),
            resourceset("apps", depends_on=[ON_CRD, ON_INFRA], ready=established,
                        message=None if established else RSET_WAITING)]


@pytest.fixture
def kubectl_calls(monkeypatch):
    """The argv (after the binary and global flags) of every kubectl process the CLI runs."""
    calls = []
    real = runner.run

    def recording(argv, *args, **kw):
        if argv and argv[0].endswith("kubectl"):
            calls.append([a for a in argv[1:] if not a.startswith(("--kubeconfig", "--context"))])
        return real(argv, *args, **kw)
    monkeypatch.setattr(runner, "run", recording)
    return calls


def lists(server, path):
    return [r for r in server.requests if r.method == "GET" and r.path == path and "watch" not in r.query]


def test_resourceset_waiting_on_a_crd(live, kubectl_calls):
    server, env = live(rset_on_crd(), groups=CROSS_KIND_GROUPS)
    out = invoke(["tree"], env=env)
    assert (out.code, out.stderr) == (0, "")
    lines = out.stdout.splitlines()
    crd_line = next(line for line in lines if CRD_REF in line)
    assert crd_line.startswith(f"↻ {CRD_REF} progressing")
    assert lines[lines.index(crd_line) + 1].startswith("└── ◎ rset/flux-system/apps waiting  DependencyNotReady")
    assert "✔ ks/flux-system/infra ready  main@sha1:aaaaaaaa" in lines
    # the read: Flux's kinds and the API group list, the ResourceSets and Terraforms it
    # lists, then one get for the kinds the entries name
    gets = [c for c in kubectl_calls if c[:1] == ["get"]]
    assert gets[-1] == ["get", f"CustomResourceDefinition.v1.{APIEXT_GROUP}", "-A", "-o", "json"]
    assert sorted(c[2] for c in gets if c[1] == "--raw") == [
        "/apis", "/apis/fluxcd.controlplane.io/v1/resourcesets", "/apis/helm.toolkit.fluxcd.io/v2/helmreleases",
        "/apis/infra.contrib.fluxcd.io/v1alpha2/terraforms",
        "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations"]
    assert len(gets) == 7
    assert len(lists(server, f"/apis/{APIEXT_GROUP}/v1/customresourcedefinitions")) == 1
    assert not [r for r in server.requests if r.path.startswith("/apis/apps/")]

    why = invoke(["why", "rset/apps"], env=env)
    assert (why.code, why.stderr) == (0, "")
    assert why.stdout.splitlines()[0] == \
        "◎ ResourceSet/flux-system/apps is not ready: waiting (DependencyNotReady); 1 root cause"
    assert f"  Message:    {RSET_WAITING}" in why.stdout
    causes = why.stdout.split("Root cause (1):\n", 1)[1].splitlines()
    assert causes[0].startswith(f"  ✗ {CRD_REF}  ")
    assert "    Blocks:  rset/flux-system/apps" in causes
    doc = json.loads(invoke(["why", "rset/apps", "-o", "json"], env=env).stdout)
    assert [rc["id"] for rc in doc["rootCauses"]] == [CRD_REF]

    graph = json.loads(invoke(["tree", "-o", "json"], env=env).stdout)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert {k: nodes[CRD_REF][k] for k in ("kind", "namespace", "name", "status", "ready", "dependsOn")} == \
        {"kind": "CustomResourceDefinition", "namespace": "", "name": CRD_NAME, "status": "progressing",
         "ready": False, "dependsOn": []}
    assert [d["id"] for d in nodes["ResourceSet/flux-system/apps"]["dependsOn"]] == \
        [CRD_REF, "Kustomization/flux-system/infra"]
    assert server.writes() == []


def test_established_crd_is_ready(live):
    _, env = live(rset_on_crd(established=True), groups=CROSS_KIND_GROUPS)
    graph = json.loads(invoke(["tree", "-o", "json"], env=env).stdout)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert (nodes[CRD_REF]["ready"], nodes["ResourceSet/flux-system/apps"]["ready"]) == (True, True)
    assert invoke(["check"], env=env).code == 0


def test_no_extra_get_when_no_dependency_names_another_kind(live, kubectl_calls):
    server, env = live([source("GitRepository", FS), kustomization("infra"),
                        kustomization("apps", depends_on=["infra"]), crd(CRD_NAME)], groups=CROSS_KIND_GROUPS)
    assert invoke(["tree"], env=env).code == 0
    # ks, hr, the sources and the group list at once; then the ResourceSets and Terraforms it lists
    assert len([c for c in kubectl_calls if c[:1] == ["get"]]) == 6
    assert not lists(server, f"/apis/{APIEXT_GROUP}/v1/customresourcedefinitions")


def test_a_cluster_without_flux_operator_or_tofu(live, kubectl_calls):
    """The default cluster: the API group list names neither flux-operator's nor tofu's group:
    no read of their kinds at all, no retry."""
    server, env = live([source("GitRepository", FS), kustomization("infra")], groups=DEFAULT_GROUPS)
    out = invoke(["tree"], env=env)
    assert (out.code, out.stderr) == (0, "")
    assert out.stdout.splitlines()[0] == "✔ ks/flux-system/infra ready  main@sha1:aaaaaaaa"
    assert len([c for c in kubectl_calls if c[:1] == ["get"]]) == 4
    assert not [r for r in server.requests if r.path.startswith(("/apis/fluxcd.controlplane.io",
                                                                 "/apis/infra.contrib.fluxcd.io"))]


def test_full_read_takes_resourcesets_and_skips_what_is_not_served(live, kubectl_calls):
    """No HelmReleases (the fast read gives up): the full read lists the ResourceSets and
    does not ask again for the Terraforms the fast read found not served."""
    groups = {**NO_HELM, OPERATOR_GROUP: ["v1"], APIEXT_GROUP: ["v1"]}
    _, env = live(rset_on_crd(), groups=groups)
    out = invoke(["tree", "-o", "json"], env=env)
    assert (out.code, out.stderr) == (0, "")
    ids = {n["id"] for n in json.loads(out.stdout)["nodes"]}
    assert {"ResourceSet/flux-system/apps", CRD_REF} <= ids
    full = [c for c in kubectl_calls if c[:1] == ["get"] and "--raw" not in c][1:-1]
    assert [c[1].split(",") for c in full] == [[
        "kustomizations.kustomize.toolkit.fluxcd.io", "helmreleases.helm.toolkit.fluxcd.io",
        *[f"{p}.source.toolkit.fluxcd.io" for p in ("gitrepositories", "ocirepositories", "buckets",
                                                    "helmrepositories", "helmcharts", "externalartifacts")],
        "resourcesets.fluxcd.controlplane.io"], [
        "kustomizations.kustomize.toolkit.fluxcd.io",
        *[f"{p}.source.toolkit.fluxcd.io" for p in ("gitrepositories", "ocirepositories", "buckets",
                                                    "helmrepositories", "helmcharts", "externalartifacts")],
        "resourcesets.fluxcd.controlplane.io"]]


def test_crd_kind_not_served(live):
    groups = {k: v for k, v in CROSS_KIND_GROUPS.items() if k != APIEXT_GROUP}
    _, env = live(rset_on_crd(), groups=groups)
    warning = (f"warning: the API server serves no CustomResourceDefinition ({APIEXT_GROUP}/v1): "
               "is its CRD installed?\n")
    out = invoke(["tree"], env=env)
    assert (out.code, out.stderr) == (0, warning)
    assert f"? {CRD_REF} missing  not found" in out.stdout.splitlines()
    doc = json.loads(invoke(["why", "rset/apps", "-o", "json"], env=env).stdout)
    assert [(rc["id"], rc["label"]) for rc in doc["rootCauses"]] == [(CRD_REF, "missing")]
    check = invoke(["check"], env=env)
    assert (check.code, check.stderr) == (1, warning)
    assert check.stdout.splitlines()[1].startswith(
        "rset/flux-system/apps: DG013 missing-typed-dependency: ResourceSet flux-system/apps depends "
        f"on CustomResourceDefinition {CRD_NAME}, which does not exist")


def test_crd_list_forbidden_is_unknown_not_missing(live):
    _, env = live(rset_on_crd(), groups=CROSS_KIND_GROUPS,
                  forbid=[Forbid(["list"], "customresourcedefinitions")])
    warning = (f"warning: could not read CustomResourceDefinition objects ({APIEXT_GROUP}/v1): listing "
               "them is forbidden, so the dependencies on them are unknown\n")
    out = invoke(["tree", "-o", "json"], env=env)
    assert (out.code, out.stderr) == (0, warning)
    node = {n["id"]: n for n in json.loads(out.stdout)["nodes"]}[CRD_REF]
    assert node["status"] != "missing" and node["ready"] is False
    why = invoke(["why", "rset/apps"], env=env)
    assert why.code == 0
    assert "could not read CustomResourceDefinition objects (forbidden)" in why.stdout
    assert "missing" not in why.stdout
    check = invoke(["check"], env=env)
    assert (check.code, check.stderr) == (0, warning)     # unknown: no DG013


# --- a cross-kind cycle: a Kustomization waits on a HelmRelease that waits on it -------

ON_DB = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "db"}
ON_INFRA_KS = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "infra"}
CYCLE = "hr/flux-system/db → ks/flux-system/infra → hr/flux-system/db"


@pytest.fixture
def cycle(live):
    """The simulated controllers have handled both cycle members once (DependencyNotReady)."""
    objects = [source("GitRepository", FS), source("HelmRepository", "charts"),
               kustomization("infra", depends_on=[ON_DB], ready=None),
               helmrelease("db", depends_on=[ON_INFRA_KS], ready=None),
               kustomization("apps", depends_on=["infra"]), kustomization("solo")]
    server, env = live(objects, controller=True,
                       controller_options={"delay": 0.02, "requeue_interval": 60})
    server.controller.request("Kustomization", FS, "infra")
    server.controller.request("HelmRelease", FS, "db")
    assert server.controller.wait_idle(10)
    return server, env


def ready_message(server, kind, name):
    conds = server.get_object(kind, FS, name)["status"]["conditions"]
    return next((c["reason"], c["message"]) for c in conds if c["type"] == "Ready")


def test_cross_kind_cycle(cycle):
    server, env = cycle
    assert ready_message(server, "Kustomization", "infra") == (
        "DependencyNotReady", "dependency 'helm.toolkit.fluxcd.io/v2/HelmRelease/flux-system/db' is not ready")
    assert ready_message(server, "HelmRelease", "db") == (
        "DependencyNotReady",
        "dependency 'kustomize.toolkit.fluxcd.io/v1/Kustomization/flux-system/infra' is not ready")

    tree = invoke(["tree"], env=env)
    assert (tree.code, tree.stderr) == (0, "")
    assert f"cycle: {CYCLE} (these objects wait for each other forever)" in tree.stdout.splitlines()
    assert any(line.endswith("(cycle)") and "hr/flux-system/db" in line for line in tree.stdout.splitlines())

    doc = json.loads(invoke(["why", "ks/infra", "-o", "json"], env=env).stdout)
    assert [rc["label"] for rc in doc["rootCauses"]] == ["cycle"]

    check = invoke(["check"], env=env)
    assert (check.code, check.stderr) == (1, "")
    assert check.stdout.splitlines()[:2] == [
        "Errors (1)",
        "hr/flux-system/db: DG001 cycle: dependency cycle across kinds (HelmRelease, Kustomization): "
        "HelmRelease/flux-system/db → Kustomization/flux-system/infra → HelmRelease/flux-system/db; its "
        "members never become ready; 1 object waits behind it: ks/flux-system/apps"]

    server.clear_log()
    out = invoke(["reconcile", "--no-flux", "--timeout", "20s"], env=env)
    assert out.code == 1
    assert ("note: dependency cycle, not reconciled: HelmRelease/flux-system/db → "
            "Kustomization/flux-system/infra → HelmRelease/flux-system/db") in out.stderr
    rows = {line.split()[0]: line.split(None, 2)[1] for line in out.stdout.splitlines()[1:] if "/" in line[:40]}
    assert rows == {"GitRepository/flux-system/flux-system": "ready", "Kustomization/flux-system/solo": "ready",
                    "HelmRelease/flux-system/db": "skipped", "Kustomization/flux-system/infra": "skipped",
                    "Kustomization/flux-system/apps": "skipped"}
    assert "in a dependency cycle: hr/flux-system/db → ks/flux-system/infra → hr/flux-syste…" in out.stdout
    assert "depends on Kustomization/flux-system/infra, which is in a dependency cycle" in out.stdout
    assert sorted(w.path.rsplit("/", 1)[-1] for w in server.writes()) == ["flux-system", "solo"]


# --- the double's typed entries (the simulated kustomize- and helm-controller) ---------

def test_double_typed_entries(live):
    on = {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "web"}
    objects = [source("GitRepository", FS), source("HelmRepository", "charts"),
               deployment("api", "web", replicas=2, available=1),
               kustomization("exists", depends_on=[{**on, "name": "api", "ready": False}], ready=None),
               kustomization("current", depends_on=[{**on, "name": "api"}], ready=None),
               kustomization("absent", depends_on=[{**on, "name": "nope"}], ready=None),
               helmrelease("absent-hr", depends_on=[{**on, "name": "nope"}], ready=None),
               kustomization("unserved", depends_on=[{**ON_CRD, "ready": False}], ready=None)]
    server, _ = live(objects, groups={**DEFAULT_GROUPS, "apps": ["v1"]}, controller=True,
                     controller_options={"delay": 0.02, "requeue_interval": 60})
    for kind, name in [("Kustomization", n) for n in ("exists", "current", "absent", "unserved")] + \
            [("HelmRelease", "absent-hr")]:
        server.controller.request(kind, FS, name)
    assert server.controller.wait_idle(10)
    assert ready_message(server, "Kustomization", "exists")[0] == "ReconciliationSucceeded"
    assert ready_message(server, "Kustomization", "current") == (
        "DependencyNotReady", "dependency 'apps/v1/Deployment/web/api' is not ready")
    assert ready_message(server, "Kustomization", "absent") == (
        "DependencyNotReady",
        "dependency 'apps/v1/Deployment/web/nope' not found: deployments.apps \"nope\" not found")
    assert ready_message(server, "HelmRelease", "absent-hr") == (
        "DependencyNotReady",
        "unable to get 'apps/v1/Deployment/web/nope' dependency: deployments.apps \"nope\" not found")
    assert ready_message(server, "Kustomization", "unserved") == (
        "DependencyNotReady",
        f"dependency '{APIEXT_GROUP}/v1/CustomResourceDefinition/{CRD_NAME}' not found: "
        f"no matches for kind \"CustomResourceDefinition\" in version \"{APIEXT_GROUP}/v1\"")


# --- Terraforms (tofu-controller) --------------------------------------------------------

def terraform(name, depends_on=(), ready=True, waiting=False):
    """A tofu-controller Terraform; waiting: Ready=False DependencyNotReady (its first dependency)."""
    if waiting:
        return {**terraform(name, depends_on), "status": {"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "False", "reason": "DependencyNotReady",
             "message": f"dependency '{FS}/{depends_on[0]}' is not ready",
             "lastTransitionTime": "2026-11-21T10:00:00Z"}]}}
    return {"apiVersion": "infra.contrib.fluxcd.io/v1alpha2", "kind": "Terraform",
            "metadata": {"name": name, "namespace": FS, "generation": 1},
            "spec": {"path": f"./{name}", "sourceRef": {"kind": "GitRepository", "name": FS},
                     "dependsOn": [{"name": d} for d in depends_on]},
            "status": {"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False",
                 "reason": "TFExecApplySucceeded" if ready else "TFExecApplyFailed",
                 "message": "Applied successfully" if ready else "error running Apply: exit status 1",
                 "lastTransitionTime": "2026-11-21T10:00:00Z"}]}}


def test_terraforms_are_read_when_served(live):
    _, env = live([source("GitRepository", FS), kustomization("infra"), terraform("vpc", ready=False),
                   terraform("eks", depends_on=["vpc"], waiting=True)], groups=CROSS_KIND_GROUPS)
    doc = json.loads(invoke(["why", "tf/eks", "-o", "json"], env=env).stdout)
    assert [rc["id"] for rc in doc["rootCauses"]] == ["Terraform/flux-system/vpc"]
    graph = json.loads(invoke(["tree", "-o", "json"], env=env).stdout)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert [d["id"] for d in nodes["Terraform/flux-system/eks"]["dependsOn"]] == ["Terraform/flux-system/vpc"]


# --- acquire/crosskind.py on kubectl's answers, without a server ---------------------------

class FakeKubectl:
    """get_list(resources) answers from {resource arg: (items, stderr line)}; a refusal
    (`doesn't have a resource type`) fails the whole call, as kubectl does."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def get_list(self, resources):
        self.calls.append(list(resources))
        for r in resources:
            if self.answers[r] == "unserved":
                return [], f'error: the server doesn\'t have a resource type "{r.split(".")[0]}"\n'
        items, stderr = [], ""
        for r in resources:
            got, err = self.answers[r]
            items += got
            stderr += err
        return items, stderr


def _holder(*entries):
    from kubectl_depgraph.model import parse_object
    return parse_object(resourceset("apps", depends_on=entries))


def test_read_named_spellings_scope_and_refusals():
    from kubectl_depgraph.acquire.crosskind import read_named, resource_arg
    assert [resource_arg("Deployment", "apps/v1"), resource_arg("Service", "v1"), resource_arg("Foo", "")] == \
        ["Deployment.v1.apps", "Service.v1.", "Foo"]
    holder = _holder({"apiVersion": "example.com/v1", "kind": "ClusterWidget", "name": "big"},
                     {"apiVersion": "example.com/v1", "kind": "Gadget", "name": "g"},
                     {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "apps"},
                     {"apiVersion": "other.io/v1", "kind": "Thing", "name": "t"},
                     {"apiVersion": "v1", "kind": "Service", "name": "svc"})
    widget = {"apiVersion": "example.com/v1", "kind": "ClusterWidget", "metadata": {"name": "big"}}
    forbidden = ('Error from server (Forbidden): gadgets.example.com is forbidden: User "jane" cannot list '
                 'resource "gadgets" in API group "example.com" at the cluster scope\n')
    kubectl = FakeKubectl({"ClusterWidget.v1.example.com": ([widget], ""),
                           "Gadget.v1.example.com": ([], forbidden),
                           "Deployment.v1.apps": ([deployment("web", "apps"), deployment("other", "apps")], ""),
                           "Thing.v1.other.io": "unserved", "Service.v1.": ([], "")})
    objects, warnings = read_named(kubectl, [holder])
    assert len(kubectl.calls) == 2 and "Thing.v1.other.io" not in kubectl.calls[1]
    assert warnings == [
        "the API server serves no Thing (other.io/v1): is its CRD installed?",
        "could not read Gadget objects (example.com/v1): listing them is forbidden, so the dependencies "
        "on them are unknown"]
    assert [str(o.ref) for o in objects] == ["ClusterWidget/big", "Deployment/apps/web", "Gadget/flux-system/g"]
    assert objects[2].facts == {"unread": "could not read Gadget objects (forbidden)"}
    # the entry on the cluster-scoped kind lost the namespace it defaulted to
    assert [str(d.ref) for d in holder.depends_on] == [
        "ClusterWidget/big", "Gadget/flux-system/g", "Deployment/apps/web", "Thing/flux-system/t",
        "Service/flux-system/svc"]
    assert read_named(FakeKubectl({}), [_holder()]) == ([], [])


def test_resourcesets_forbidden_are_left_out_with_a_warning(live, kubectl_calls):
    """Users often may read Flux's kinds and not flux-operator's: no full read, a warning."""
    _, env = live(rset_on_crd(), groups=CROSS_KIND_GROUPS, forbid=[Forbid(["list"], "resourcesets")])
    out = invoke(["tree"], env=env)
    assert (out.code, out.stderr) == (
        0, "warning: listing resourcesets.fluxcd.controlplane.io is forbidden: ResourceSet objects are left out\n")
    assert out.stdout.splitlines() == ["✔ ks/flux-system/infra ready  main@sha1:aaaaaaaa"]
    assert len([c for c in kubectl_calls if c[:1] == ["get"]]) == 6
