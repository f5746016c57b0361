"""Cross-kind dependsOn (issue 16) from static input: every form of an entry
(model.parse_dependency), the checks that read them (DG013, DG017, DG018, DG019 and how the
older rules treat nodes of other kinds), and `check`/`tree --path` on tests/data/crosskind."""

import pytest

from kubectl_depgraph.graph import DepGraph
from kubectl_depgraph.judge.check import check
from kubectl_depgraph.judge.rules import rule_named
from kubectl_depgraph.model import Dependency, ObjectRef, Origin, parse_dependency, parse_object, unread
from tests.builders import graph_of, hr, ks
from tests.clirun import run_subprocess

HR_API = "helm.toolkit.fluxcd.io/v2"
KS, HR, RS = "Kustomization", "HelmRelease", "ResourceSet"
CRD = ObjectRef("CustomResourceDefinition", "", "widgets.example.com")


def K(name, ns="flux-system"):
    return ObjectRef(KS, ns, name)


def H(name, ns="apps"):
    return ObjectRef(HR, ns, name)


# --- parse_dependency: every form ------------------------------------------------------

@pytest.mark.parametrize("entry, holder, expected", [
    # object form, the holder's own kind
    ({"name": "infra"}, KS, Dependency(K("infra"))),
    ({"name": "db", "namespace": "data"}, HR, Dependency(H("db", "data"))),
    ({"name": "infra", "readyExpr": "dep.status.x == 1"}, KS, Dependency(K("infra"), "dep.status.x == 1")),
    # the same kind with apiVersion: typed, still checked for readiness
    ({"name": "infra", "kind": KS, "apiVersion": "kustomize.toolkit.fluxcd.io/v1"}, KS,
     Dependency(K("infra"), None, "kustomize.toolkit.fluxcd.io/v1")),
    # another kind, with and without apiVersion
    ({"name": "cm", "kind": HR, "apiVersion": HR_API, "namespace": "cert"}, KS,
     Dependency(H("cm", "cert"), None, HR_API)),
    ({"name": "cm", "kind": HR}, KS, Dependency(H("cm", "flux-system"))),
    # ready: appliers check readiness unless ready: false
    ({"name": "infra", "ready": False}, KS, Dependency(K("infra"), ready=False)),
    ({"name": "infra", "ready": "false"}, HR, Dependency(H("infra", "flux-system"), ready=False)),
    ({"name": "infra", "ready": True}, KS, Dependency(K("infra"))),
    # ResourceSet: existence only unless ready: true
    ({"name": "apps", "kind": KS, "apiVersion": "kustomize.toolkit.fluxcd.io/v1"}, RS,
     Dependency(K("apps"), None, "kustomize.toolkit.fluxcd.io/v1", ready=False)),
    ({"name": "apps", "kind": KS, "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "ready": True}, RS,
     Dependency(K("apps"), None, "kustomize.toolkit.fluxcd.io/v1", ready=True)),
    # cluster-scoped kinds drop the namespace
    ({"name": "widgets.example.com", "kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1",
      "namespace": "ignored"}, KS, Dependency(CRD, None, "apiextensions.k8s.io/v1")),
    # string forms
    ("infra", KS, Dependency(K("infra"))),
    ("ops/infra", KS, Dependency(K("infra", "ops"))),
    ("v1/Namespace/apps", KS, Dependency(ObjectRef("Namespace", "", "apps"), None, "v1", ready=False)),
    ("apps/v1/Deployment/web", KS,
     Dependency(ObjectRef("Deployment", "flux-system", "web"), None, "apps/v1", ready=False)),
    ("apps/v1/Deployment/ns/web:ready", KS,
     Dependency(ObjectRef("Deployment", "ns", "web"), None, "apps/v1", ready=True)),
    ("helm.toolkit.fluxcd.io/v2/HelmRelease/cert-manager/cert-manager:ready@"
     "dep.status.conditions.all(c, c.message != 'a/b:c')", KS,
     Dependency(H("cert-manager", "cert-manager"), "dep.status.conditions.all(c, c.message != 'a/b:c')",
                HR_API, ready=True)),
])
def test_every_form_of_an_entry(entry, holder, expected):
    assert parse_dependency(entry, holder, "flux-system") == (expected, None)


@pytest.mark.parametrize("entry, problem", [
    ({}, "has no name"),
    ({"name": ""}, "has no name"),
    ("", "is an empty string"),
    ("a/b/c", "'a/b/c' is not apiVersion/Kind/[namespace/]name"),
    ("apps/v1/Deployment", "'apps/v1/Deployment' is not apiVersion/Kind/[namespace/]name"),
    ("v1/Namespace/ns/x/y", "'v1/Namespace/ns/x/y' is not apiVersion/Kind/[namespace/]name"),
    ("v1/Namespace/", "'v1/Namespace/' has no name"),
    ("v1//ns/x", "'v1//ns/x' has no kind"),
])
def test_malformed_entries_say_why(entry, problem):
    assert parse_dependency(entry, KS, "flux-system") == (None, problem)


def test_a_malformed_string_entry_is_one_warning_and_the_rest_is_kept():
    obj = parse_object({**ks("apps", status=False),
                        "spec": {"dependsOn": ["apps/v1/Deployment", "v1/Namespace/apps"]}})
    assert obj.warnings == ("spec.dependsOn[0] 'apps/v1/Deployment' is not apiVersion/Kind/[namespace/]name: "
                            "ignored",)
    assert [str(d) for d in obj.depends_on] == ["v1/Namespace/apps"]


# --- the checks ---------------------------------------------------------------------------

def static(*manifests):
    return check(graph_of(*(dict(m, status=None) for m in manifests)))


def typed_hr(name, ns, **extra):
    return {"apiVersion": HR_API, "kind": HR, "name": name, "namespace": ns, **extra}


def test_typed_entry_on_a_missing_object_is_dg013_not_a_wrong_kind_guess():
    # a Kustomization apps/cert exists: without the kind it would be DG003's guess
    found = static(ks("cert", ns="apps", wait=True), ks("web", deps=[typed_hr("cert", "apps")], wait=True),
                   ks("api", deps=[{"kind": HR, "name": "cert", "namespace": "apps"}], wait=True))
    assert [(f.id, f.message) for f in found if f.severity == "error"] == [
        ("DG013", "Kustomization flux-system/api depends on HelmRelease apps/cert, which does not exist: the "
                  "Kustomization waits forever; 1 other object waits behind it: ks/flux-system/web"),
        ("DG013", "Kustomization flux-system/web depends on HelmRelease apps/cert, which does not exist: the "
                  "Kustomization waits forever; 1 other object waits behind it: ks/flux-system/api")]
    assert rule_named("missing-resourceset-dependency").id == "DG013"
    assert rule_named("missing-typed-dependency").id == "DG013"


def test_dg017_wrapper_by_health_checks():
    wrapper = ks("cert-manager", wait=False, healthChecks=[
        {"apiVersion": HR_API, "kind": HR, "name": "cert-manager", "namespace": "cert-manager"}])
    found = [f for f in static(wrapper, hr("cert-manager", ns="cert-manager"),
                               ks("issuers", deps=["cert-manager"], wait=True)) if f.id == "DG017"]
    assert [(f.severity, f.message, f.fix) for f in found] == [(
        "info",
        "Kustomization flux-system/cert-manager only bridges to HelmRelease cert-manager/cert-manager: its "
        "healthChecks list only that release, and ks/flux-system/issuers depends on it to wait for it",
        "once the cluster runs Flux 2.10+, make ks/flux-system/issuers depend on the release directly "
        "instead of on flux-system/cert-manager: dependsOn: [{apiVersion: helm.toolkit.fluxcd.io/v2, kind: "
        "HelmRelease, name: cert-manager, namespace: cert-manager}]")]
    assert found[0].objects == (K("cert-manager"), H("cert-manager", "cert-manager"), K("issuers"))


def _walked(name, applies, **spec):
    obj = parse_object(dict(ks(name, **spec), status=None), origin=Origin("clusters/prod/infra.yaml", 1,
                                                                          ("clusters/prod",)))
    if applies is not None:
        obj.facts["applies"] = applies
    return obj


def _release(name, via):
    return parse_object(dict(hr(name, ns="infra"), status=None),
                        origin=Origin(f"infra/{name}.yaml", 1, ("clusters/prod",), via))


def _dependent(name, dep, **spec):
    return parse_object(dict(ks(name, deps=[dep], wait=True, **spec), status=None),
                        origin=Origin("clusters/prod/apps.yaml", 1, ("clusters/prod",)))


@pytest.mark.parametrize("applies, wait, hit", [
    (("HelmRelease", "HelmRepository", "Namespace"), True, True),
    (("Deployment", "HelmRelease", "HelmRepository"), True, False),     # applies a workload too
    (None, True, False),                                                # unknown (a live cluster)
    (("HelmRelease",), False, False),                                   # Ready once applied: DG006
])
def test_dg017_wrapper_by_what_it_applies(applies, wait, hit):
    graph = DepGraph.from_objects([_walked("db", applies, wait=wait),
                                   _release("postgres", "Kustomization flux-system/db"),
                                   _dependent("web", "db")])
    found = [f for f in check(graph) if f.id == "DG017"]
    assert [f.message for f in found] == ([
        "Kustomization flux-system/db only bridges to HelmRelease infra/postgres: with wait: true it "
        "applies only that release (besides sources and namespaces), and ks/flux-system/web depends on "
        "it to wait for it"] if hit else [])


def test_dg017_not_when_dependents_define_readiness_or_have_a_mixed_health_check():
    checks = [{"apiVersion": HR_API, "kind": HR, "name": "a", "namespace": "infra"}]
    assert not [f for f in static(ks("w", healthChecks=checks), hr("a", ns="infra"),
                                  ks("d", deps=[{"name": "w", "readyExpr": "true"}], wait=True))
                if f.id == "DG017"]
    assert not [f for f in static(ks("w", healthChecks=checks + [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x", "namespace": "infra"}]),
        hr("a", ns="infra"), ks("d", deps=["w"], wait=True)) if f.id == "DG017"]
    # the dependent already names the release itself
    assert not [f for f in static(ks("w", healthChecks=checks), hr("a", ns="infra"),
                                  ks("d", deps=["w", typed_hr("a", "infra")], wait=True))
                if f.id == "DG017"]


def test_dg018_cross_kind_entry_rejected_by_older_flux():
    found = static(ks("infra", wait=True), hr("cert", ns="flux-system"),
                   ks("apps", deps=[typed_hr("infra", "flux-system"), typed_hr("cert", "flux-system")], wait=True),
                   hr("web", ns="apps", deps=[{"name": "db", "ready": False}]), hr("db", ns="apps"))
    rejected = ("which needs Flux 2.10+: older Flux rejects the manifest (server-side apply: field not "
                "declared in schema), so the Kustomization that applies it fails and applies nothing of that "
                "revision")
    assert [(f.id, f.severity, f.message) for f in found if f.id == "DG018"] == [
        ("DG018", "warning", f"HelmRelease apps/web names HelmRelease apps/db with ready: false (existence "
                             f"only), {rejected}"),
        ("DG018", "warning", f"Kustomization flux-system/apps names HelmRelease flux-system/cert with "
                             f"kind/apiVersion (cross-kind dependsOn), {rejected}"),
        ("DG018", "warning", f"Kustomization flux-system/apps names HelmRelease flux-system/infra with "
                             f"kind/apiVersion (cross-kind dependsOn), {rejected}")]


def test_dg018_not_for_resourcesets_same_kind_entries_or_objects_read_with_status():
    rset = {"apiVersion": "fluxcd.controlplane.io/v1", "kind": RS,
            "metadata": {"name": "p", "namespace": "flux-system"},
            "spec": {"dependsOn": [typed_hr("cert", "flux-system", ready=True)]}}
    same = {"name": "infra", "kind": KS, "apiVersion": "kustomize.toolkit.fluxcd.io/v1"}
    assert not [f for f in static(rset, hr("cert", ns="flux-system"), ks("infra", wait=True),
                                  ks("apps", deps=[same], wait=True)) if f.id == "DG018"]
    live = graph_of(hr("cert", ns="flux-system"), ks("apps", deps=[typed_hr("cert", "flux-system")]))
    assert not [f for f in check(live, has_status=True) if f.id == "DG018"]


def test_dg019_an_object_the_input_cannot_show_is_unchecked_not_missing():
    apps = parse_object(dict(ks("apps", deps=[{"apiVersion": "v1", "kind": "Secret", "name": "token"}], wait=True),
                             status=None), origin=Origin("apps.yaml", 3))
    secret = ObjectRef("Secret", "flux-system", "token")
    graph = DepGraph.from_objects([apps, unread(secret, "not in path .: defined outside this repository")])
    assert not graph.is_missing(secret) and graph.missing == []
    found = [(f.id, f.severity, str(f.origin), f.message, f.fix) for f in check(graph) if f.id != "DG018"]
    assert found == [("DG019", "info", "apps.yaml:3",
                      "ks/flux-system/apps depends on Secret flux-system/token: not checked: not in path .: "
                      "defined outside this repository",
                      "check that the cluster has it: kubectl get secret token -n flux-system")]


def test_older_rules_leave_other_kinds_alone():
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"}, "spec": {}}
    from kubectl_depgraph.model import parse_external
    chain = [ks(f"k{i}", deps=[f"k{i - 1}"], wait=True) for i in range(1, 6)]
    chain[0] = ks("k1", wait=True, deps=[{"apiVersion": "apiextensions.k8s.io/v1",
                                          "kind": "CustomResourceDefinition", "name": "widgets.example.com"}])
    objects = [parse_object(m) for m in chain] + [parse_external(crd)]
    # a ready: false dependent does not need readiness (DG006), nor does a readyExpr one
    objects.append(parse_object(ks("lazy")))
    objects.append(parse_object(ks("user", deps=[{"name": "lazy", "ready": False}])))
    found = check(DepGraph.from_objects(objects), has_status=True)
    assert [f.id for f in found if f.id not in ("DG018",)] == ["DG007"]
    assert found[0].objects[-1] == CRD


def test_suspended_resourceset_and_not_found_messages_of_other_kinds_do_not_crash():
    rset = {"apiVersion": "fluxcd.controlplane.io/v1", "kind": RS,
            "metadata": {"name": "base", "namespace": "flux-system", "generation": 1},
            "spec": {"suspend": True},
            "status": {"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "False", "reason": "DependencyNotReady",
                 "message": "dependency 'flux-system/x' not found"}]}}
    user = {"apiVersion": "fluxcd.controlplane.io/v1", "kind": RS,
            "metadata": {"name": "user", "namespace": "flux-system"},
            "spec": {"dependsOn": [{"apiVersion": "fluxcd.controlplane.io/v1", "kind": RS, "name": "base",
                                    "ready": True}]}}
    graph = graph_of(rset, user, ks("x"))
    found = [f for f in check(graph, has_status=True) if f.id in ("DG010", "DG011")]
    assert [(f.id, f.fix) for f in found] == [("DG010", "set spec.suspend: false on ResourceSet flux-system/base")]


# --- the CLI on a repository ---------------------------------------------------------------

REPO = "tests/data/crosskind"
CHECK = f"""\
Warnings (2)
{REPO}/clusters/prod/apps.yaml:34: DG018 cross-kind-dependency: Kustomization flux-system/apps names CustomResourceDefinition widgets.example.com with kind/apiVersion (cross-kind dependsOn), which needs Flux 2.10+: older Flux rejects the manifest (server-side apply: field not declared in schema), so the Kustomization that applies it fails and applies nothing of that revision
    fix: make sure every cluster that applies Kustomization flux-system/apps runs Flux 2.10+ (flux check), or --ignore DG018 once they all do
{REPO}/clusters/prod/apps.yaml:34: DG018 cross-kind-dependency: Kustomization flux-system/apps names HelmRelease cert-manager/cert-manager with kind/apiVersion (cross-kind dependsOn), which needs Flux 2.10+: older Flux rejects the manifest (server-side apply: field not declared in schema), so the Kustomization that applies it fails and applies nothing of that revision
    fix: make sure every cluster that applies Kustomization flux-system/apps runs Flux 2.10+ (flux check), or --ignore DG018 once they all do

Info (2)
{REPO}/clusters/prod/infra.yaml:2: DG017 wrapper-kustomization: Kustomization flux-system/cert-manager only bridges to HelmRelease cert-manager/cert-manager: with wait: true it applies only that release (besides sources and namespaces), and ks/flux-system/issuers depends on it to wait for it
    fix: once the cluster runs Flux 2.10+, make ks/flux-system/issuers depend on the release directly instead of on flux-system/cert-manager: dependsOn: [{{apiVersion: helm.toolkit.fluxcd.io/v2, kind: HelmRelease, name: cert-manager, namespace: cert-manager}}]
{REPO}/clusters/prod/previews.yaml:1: DG019 unchecked-dependency: rset/flux-system/previews depends on Secret flux-system/registry-token: not checked: not in the repository: made by a HelmRelease or another controller, or defined elsewhere
    fix: check that the cluster has it: kubectl get secret registry-token -n flux-system
"""


def test_check_path_of_a_repository_with_cross_kind_entries():
    out = run_subprocess(["check", "--no-color", "--path", REPO])
    assert (out.code, out.stderr) == (0, "")
    findings, _, summary = out.stdout.rpartition("\n\n")
    assert findings + "\n" == CHECK
    assert summary.startswith("0 errors, 2 warnings, 2 info in path tests/data/crosskind")
    strict = run_subprocess(["check", "--no-color", "--path", REPO, "--fail-on", "warning", "--ignore", "DG017"])
    assert strict.code == 1 and "DG017" not in strict.stdout
    assert run_subprocess(["check", "--no-color", "--path", REPO, "--fail-on", "warning",
                           "--ignore", "DG018"]).code == 0


def test_tree_path_shows_the_crd_the_repository_defines():
    out = run_subprocess(["tree", "--no-color", "--path", REPO])
    assert (out.code, out.stderr) == (0, "")
    lines = out.stdout.splitlines()
    i = lines.index("· CustomResourceDefinition/widgets.example.com  infra/crds/widgets.yaml:1")
    assert lines[i + 1].startswith("└── · ks/flux-system/apps  clusters/prod/apps.yaml:34")
    # the Secret is not in the repository: a node without a file
    assert ("· Secret/flux-system/registry-token  not in the repository: made by a HelmRelease or "
            "another controller, or defined elsewhere") in lines


def test_every_file_read_still_tells_what_a_kustomization_applies(tmp_path):
    """Without cluster folders no walk sets Origin.via: gitrepo records what each Flux
    Kustomization's spec.path holds, so DG017 stays quiet when a workload comes along."""
    from kubectl_depgraph.acquire.gitrepo import read_tree
    from kubectl_depgraph.yamlio import dump_yaml
    from tests.clirun import invoke
    checks = [{"apiVersion": HR_API, "kind": HR, "name": "op", "namespace": "ops"}]
    (tmp_path / "op").mkdir()
    (tmp_path / "ks.yaml").write_text(dump_yaml(dict(ks("op", path="./op", healthChecks=checks), status=None)) +
                                      "---\n" + dump_yaml(dict(ks("users", deps=["op"], wait=True), status=None)))
    (tmp_path / "op" / "release.yaml").write_text(dump_yaml(dict(hr("op", ns="ops"), status=None)))
    assert read_tree(str(tmp_path)).applies == {("Kustomization flux-system/op", ()): ("HelmRelease",)}
    assert "DG017" in invoke(["check", "--no-color", "--path", tmp_path]).stdout
    (tmp_path / "op" / "deploy.yaml").write_text(dump_yaml(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sidecar", "namespace": "ops"}}))
    assert read_tree(str(tmp_path)).applies == {("Kustomization flux-system/op", ()): ("Deployment", "HelmRelease")}
    assert "DG017" not in invoke(["check", "--no-color", "--path", tmp_path]).stdout


def test_snapshot_without_the_kind_is_unchecked_and_kept_fields_are_not_flagged(tmp_path):
    """A snapshot read from a cluster: its API server kept the cross-kind fields (no DG018);
    it holds no Secrets, so the one named is not checked (DG019), not missing."""
    from kubectl_depgraph.yamlio import dump_yaml
    from tests.clirun import invoke
    snap = tmp_path / "snap.yaml"
    snap.write_text(dump_yaml({"apiVersion": "v1", "kind": "List", "items": [
        ks("apps", wait=True, deps=[{"apiVersion": "v1", "kind": "Secret", "name": "token"}])]}))
    out = invoke(["check", "--no-color", "-f", snap])
    assert out.code == 0
    assert out.stdout.splitlines()[:2] == [
        "Info (1)",
        f"{snap}:4: DG019 unchecked-dependency: ks/flux-system/apps depends on Secret "
        f"flux-system/token: not checked: not in snapshot {snap} (it holds no Secret objects)"]
