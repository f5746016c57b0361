"""check() and its renderers on graphs built from dict literals: no files, no cluster."""

import json
import random
import re
from pathlib import Path

import pytest

from kubectl_depgraph.cli.check import _ignored as resolve_ignores
from kubectl_depgraph.judge.check import check
from kubectl_depgraph.judge.rules import RULES, at_or_above, counts
from kubectl_depgraph.errors import UsageError
from kubectl_depgraph.graph import DepGraph, Duplicate
from kubectl_depgraph.model import ObjectRef, Origin, parse_object
from kubectl_depgraph.render.findings import render_github, render_json, render_text
from tests.builders import graph_of, hr, ks

README = Path(__file__).resolve().parents[1] / "README.md"


def ids(findings):
    return [f.id for f in findings]


def static(*manifests, **facts):
    """Findings as for --path: the manifests carry no status."""
    return check(graph_of(*(dict(m, status=None) if "status" in m else m for m in manifests)),
                 **facts)


def K(name, ns="flux-system"):
    return ObjectRef("Kustomization", ns, name)


def H(name, ns="apps"):
    return ObjectRef("HelmRelease", ns, name)


def test_clean_graph_has_no_findings():
    assert static(ks("infra", wait=True), ks("apps", deps=["infra"], wait=True)) == []


# --- errors ------------------------------------------------------------------------------

def test_cycle_gives_the_full_path_and_the_objects_blocked_behind_it():
    (f,) = static(ks("a", deps=["c"], wait=True), ks("b", deps=["a"], wait=True),
                  ks("c", deps=["b"], wait=True), ks("apps", deps=["b"], wait=True),
                  ks("web", deps=["apps"]))
    assert (f.id, f.severity) == ("DG001", "error")
    assert "flux-system/a → flux-system/c → flux-system/b → flux-system/a" in f.message
    assert "2 objects wait behind it: ks/flux-system/apps, ks/flux-system/web" in f.message
    assert f.objects == (K("a"), K("c"), K("b"), K("apps"), K("web"))


def test_self_dependency_is_not_also_a_cycle():
    (f,) = static(ks("infra", deps=["infra"], wait=True), ks("apps", deps=["infra"]))
    assert f.id == "DG005"
    assert "depends on itself" in f.message and "ks/flux-system/apps" in f.message
    assert "remove 'infra' from the spec.dependsOn" in f.fix


def test_missing_dependency_names_the_nearest_existing_objects():
    (f,) = static(ks("infra-configs", wait=True), ks("infra-controllers", wait=True),
                  ks("apps", deps=["infra-config"], wait=True), ks("web", deps=["apps"]))
    assert (f.id, f.severity) == ("DG002", "error")
    assert f.objects[:2] == (K("apps"), K("infra-config"))
    assert "nearest: flux-system/infra-configs; " in f.message     # infra-controllers: not a typo
    assert "1 other object waits behind it: ks/flux-system/web" in f.message
    assert f.fix.startswith("did you mean 'flux-system/infra-configs'?")


def test_missing_dependency_in_the_defaulted_namespace_points_at_the_other_namespace():
    (f,) = static(ks("infra", wait=True), ks("monitoring", ns="monitoring", deps=["infra"]))
    assert f.id == "DG002"
    assert "'monitoring/infra'" in f.message
    assert "did you mean 'flux-system/infra'?" in f.fix and "namespace defaults" in f.fix


def test_missing_dependency_without_anything_close():
    (f,) = static(ks("apps", deps=["zzz"]))
    assert "nearest" not in f.message
    assert "add the Kustomization flux-system/zzz" in f.fix


def test_one_finding_per_dependent_of_a_missing_object():
    found = static(ks("a", deps=["gone"], wait=True), ks("b", deps=["gone"], wait=True))
    assert ids(found) == ["DG002", "DG002"]
    assert [f.objects[0] for f in found] == [K("a"), K("b")]


def test_kustomization_depending_on_a_helmrelease_says_so_in_the_exact_words():
    (f,) = static(hr("podinfo", ns="apps"), ks("apps", ns="apps", deps=["podinfo"]))
    assert (f.id, f.severity) == ("DG003", "error")
    assert ("a HelmRelease of that name exists: Kustomizations can only depend on "
            "Kustomizations — list it under healthChecks instead") in f.message
    assert f.objects[:2] == (K("apps", "apps"), H("podinfo"))
    assert "kind: HelmRelease, name: podinfo, namespace: apps" in f.fix


def test_helmrelease_depending_on_a_kustomization_is_the_mirror_case():
    (f,) = static(ks("ingress", ns="apps", wait=True), hr("frontend", deps=["ingress"]))
    assert f.id == "DG003"
    assert ("a Kustomization of that name exists: HelmReleases can only depend on "
            "HelmReleases") in f.message
    assert "the Kustomization that applies this HelmRelease" in f.fix


def test_duplicates_come_from_the_input_facts():
    origins = [Origin("clusters/prod/b.yaml", 1), Origin("clusters/prod/a.yaml", 7)]
    (f,) = static(ks("infra"), duplicates=[Duplicate(K("infra"), tuple(origins))])
    assert (f.id, f.origin) == ("DG004", Origin("clusters/prod/b.yaml", 1))
    assert "clusters/prod/a.yaml:7, clusters/prod/b.yaml:1" in f.message


# --- warnings ----------------------------------------------------------------------------

def test_cycle_members_are_not_also_asked_for_wait():
    assert ids(static(ks("a", deps=["b"]), ks("b", deps=["a"]))) == ["DG001"]


def test_dependency_without_readiness():
    found = static(ks("infra"), ks("apps", deps=["infra"], wait=True))
    (f,) = found
    assert (f.id, f.severity, f.objects) == ("DG006", "warning", (K("infra"), K("apps")))


@pytest.mark.parametrize("spec", [
    {"wait": True},
    {"healthChecks": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "x", "namespace": "x"}]},
])
def test_wait_or_health_checks_signal_readiness(spec):
    assert static(ks("infra", **spec), ks("apps", deps=["infra"], wait=True)) == []


def test_ready_expr_dependents_define_readiness_themselves():
    dep = {"name": "infra", "readyExpr": "status.conditions[0].status == 'True'"}
    assert static(ks("infra"), ks("apps", deps=[dep], wait=True)) == []


def test_helmreleases_are_not_asked_for_wait():
    assert static(hr("redis"), hr("backend", deps=["redis"])) == []


def _chain(hops):
    return [ks("l0", wait=True)] + [ks(f"l{i}", deps=[f"l{i - 1}"], wait=True)
                                    for i in range(1, hops + 1)]


def test_chain_of_max_depth_hops_is_fine():
    assert static(*_chain(4)) == []


def test_deeper_chain_is_reported_once_at_its_far_end():
    (f,) = static(*_chain(6), ks("side", deps=["l1"], wait=True))
    assert (f.id, f.severity, f.objects[0]) == ("DG007", "warning", K("l6"))
    assert "chain of 6 dependencies (more than --max-depth 4)" in f.message
    assert "flux-system/l6 → flux-system/l5" in f.message and "30s" in f.message
    assert static(*_chain(6), max_depth=6) == []


def test_side_branches_deeper_than_the_limit_are_reported_separately():
    found = static(*_chain(5), ks("side", deps=["l4"], wait=True))
    assert [f.objects[0] for f in found] == [K("l5"), K("side")]


@pytest.mark.parametrize("name,path,prune,hit", [
    ("cert-manager-crds", "./infra/cert-manager", True, True),
    ("operators", "./infrastructure/crds/operators", True, True),
    ("crd", "./x", True, True),
    ("crds", "./x", False, False),
    ("crdb", "./apps/crdb", True, False),
    ("microcrds", "./x", True, False),
])
def test_crd_kustomization_with_prune(name, path, prune, hit):
    found = static(ks(name, path=path, prune=prune))
    assert ids(found) == (["DG008"] if hit else [])


# --- info --------------------------------------------------------------------------------

def test_variable_in_a_dependency_is_info_not_missing():
    found = static(ks("apps", deps=["${APP}-db", "${CLUSTER}/infra"], wait=True))
    assert ids(found) == ["DG009", "DG009"]
    assert {f.severity for f in found} == {"info"}


def test_dependency_that_a_templated_name_may_satisfy_is_info():
    (f,) = static(hr("${APP}-anubis"), hr("web", deps=["site-anubis"]))
    assert f.id == "DG009"
    assert "may be hr/apps/${APP}-anubis" in f.message


# --- live only ---------------------------------------------------------------------------

def test_suspended_dependency_not_ready_blocks_its_dependents():
    graph = graph_of(ks("infra", suspend=True, ready="False", reason="HealthCheckFailed",
                        message="timeout", wait=True),
                     ks("apps", deps=["infra"], ready="False", wait=True))
    (f,) = check(graph, has_status=True)
    assert (f.id, f.severity) == ("DG010", "warning")
    assert f.fix == "flux resume kustomization infra -n flux-system"
    assert "HealthCheckFailed: timeout" in f.message


def test_suspended_but_ready_dependency_is_fine_and_status_is_needed():
    ok = graph_of(ks("infra", suspend=True, wait=True), ks("apps", deps=["infra"], wait=True))
    assert check(ok, has_status=True) == []
    stuck = graph_of(ks("infra", suspend=True, ready="False", wait=True),
                     ks("apps", deps=["infra"], wait=True))
    assert check(stuck, has_status=False) == []


def test_dependency_the_controller_cannot_see():
    graph = graph_of(
        ks("db", ns="team-b", wait=True),
        ks("web", ns="team-a", deps=["team-b/db"], ready="False", reason="DependencyNotReady",
           message="dependency 'team-b/db' not found: kustomizations.kustomize.toolkit.fluxcd.io "
                   "\"db\" not found", wait=True),
        hr("cache", ns="team-b"),
        hr("api", ns="team-a", deps=["team-b/cache"], ready="False", reason="DependencyNotReady",
           message="unable to get 'team-b/cache' dependency: helmreleases.helm.toolkit.fluxcd.io "
                   "\"cache\" not found"))
    found = check(graph, has_status=True)
    assert ids(found) == ["DG011", "DG011"]
    assert {f.objects[0] for f in found} == {K("web", "team-a"), H("api", "team-a")}
    assert "cannot see namespace team-b" in found[1].message


def test_dependency_in_an_unreadable_namespace_is_unverified_not_missing():
    graph = graph_of(ks("apps", deps=["vault/secrets"], wait=True))
    (f,) = check(graph, has_status=True, namespaces_read=["flux-system"])
    assert (f.id, f.severity) == ("DG012", "info")
    (g,) = check(graph, has_status=True, namespaces_read=["flux-system", "vault"])
    assert g.id == "DG002"


# --- selection, thresholds, determinism --------------------------------------------------

def test_ignore_by_id_or_name():
    assert resolve_ignores(["dg006", "deep-chain,DG001"]) == {"DG006", "DG007", "DG001"}
    assert static(ks("infra"), ks("apps", deps=["infra"], wait=True), ignore={"DG006"}) == []


def test_unknown_ignore_is_a_usage_error_listing_the_ids():
    with pytest.raises(UsageError) as exc:
        resolve_ignores(["DG999"])
    assert "DG001 (cycle)" in exc.value.hint


def test_thresholds():
    found = static(ks("infra"), ks("apps", deps=["infra", "gone"], wait=True),
                   ks("x", deps=["${V}"], wait=True))
    assert counts(found) == {"error": 1, "warning": 1, "info": 1}
    assert ids(at_or_above(found, "error")) == ["DG002"]
    assert ids(at_or_above(found, "warning")) == ["DG002", "DG006"]
    assert at_or_above(found, "never") == []


def zoo():
    return [ks("a", deps=["b"]), ks("b", deps=["a"]), ks("self", deps=["self"]),
            ks("apps", deps=["infra-config", "podinfo", "${X}"]), ks("infra-configs"),
            hr("podinfo", ns="flux-system"), hr("web", deps=["ingress"]), ks("ingress", ns="apps"),
            ks("crds", path="./crds"), *_chain(5)]


def test_output_does_not_depend_on_input_order():
    manifests = [dict(m, status=None) for m in zoo()]
    objects = [parse_object(m, origin=Origin(f"f{i}.yaml", i + 1)) for i, m in enumerate(manifests)]
    want = check(DepGraph.from_objects(objects))
    for seed in range(5):
        shuffled = objects[:]
        random.Random(seed).shuffle(shuffled)
        assert check(DepGraph.from_objects(shuffled)) == want
    assert [f.severity for f in want] == sorted((f.severity for f in want),
                                                key=["error", "warning", "info"].index)


# --- renderers ---------------------------------------------------------------------------

def _findings():
    objects = [parse_object(dict(m, status=None), origin=Origin(f"clusters/prod/{i}.yaml", 3))
               for i, m in enumerate(zoo())]
    return check(DepGraph.from_objects(objects))


def test_text_groups_by_severity_with_file_line_prefixes():
    text = render_text(_findings(), "path repo", 12, base="repo")
    heads = [line for line in text.splitlines() if re.match(r"^(Errors|Warnings|Info) \(\d+\)$", line)]
    assert heads == ["Errors (5)", "Warnings (2)", "Info (1)"]
    assert re.search(r"^repo/clusters/prod/\d+\.yaml:3: DG001 cycle: ", text, re.M)
    assert text.endswith("5 errors, 2 warnings, 1 info in path repo (12 objects checked)\n")


def test_text_without_files_names_the_object():
    graph = graph_of(ks("apps", deps=["gone"], wait=True))
    text = render_text(check(graph, has_status=True), "the cluster", 1)
    assert text.startswith("Errors (1)\nks/flux-system/apps: DG002 missing-dependency: ")


def test_text_clean():
    assert render_text([], "path .", 3) == "no findings in path . (3 objects checked)\n"


def test_json_is_the_versioned_check_report():
    doc = json.loads(render_json(_findings(), "path repo", 12, base="repo", warnings=["w"]))
    assert (doc["apiVersion"], doc["kind"]) == ("kubectl-depgraph/v2", "CheckReport")
    assert doc["summary"] == {"error": 5, "warning": 2, "info": 1, "objects": 12}
    first = doc["findings"][0]
    assert list(first) == ["id", "name", "severity", "objects", "file", "line", "message", "fix"]
    assert first["file"].startswith("repo/clusters/prod/") and first["line"] == 3


def test_github_annotations_escape_properties_and_data():
    lines = render_github(_findings(), base="./repo").splitlines()
    assert len(lines) == 8
    assert lines[0].startswith("::error file=repo/clusters/prod/")
    assert ",line=3,title=DG001 cycle::" in lines[0]
    assert "%0Afix: " in lines[0] and "\n" not in lines[0]
    notice = [line for line in lines if line.startswith("::notice ")]
    assert len(notice) == 1 and "title=DG009 unresolved-variable" in notice[0]
    graph = graph_of(ks("apps", deps=["gone"], wait=True))
    assert render_github(check(graph, has_status=True)).startswith(
        "::error title=DG002 missing-dependency::")


def test_readme_table_lists_every_rule_with_its_severity():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## `kubectl depgraph check`"):text.index("## When things break")]
    rows = dict(re.findall(r"^\| `(DG\d{3})` \| `[a-z-]+` \| (\w+) \|", section, re.M))
    assert rows == {r.id: r.severity for r in RULES.values()}


def test_a_removed_dependency_gets_no_unrelated_suggestion():
    (f,) = static(hr("open-webui", ns="ai"), hr("app", ns="apps", deps=["openebs/openebs"]))
    assert f.id == "DG002" and "nearest" not in f.message
    assert f.fix.startswith("add the HelmRelease openebs/openebs, or remove the entry")


def _rset(name, deps, ns="flux-system"):
    return {"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSet",
            "metadata": {"name": name, "namespace": ns}, "spec": {"dependsOn": deps}}


def test_resourceset_dependencies_of_any_kind():
    rset = _rset("previews", [
        {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "apps",
         "ready": True},
        {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "gone", "namespace": "apps"},
        {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "name": "nowhere"},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "name": "x.example.com"}])
    graph = graph_of(ks("apps", wait=True), rset)
    R = ObjectRef("ResourceSet", "flux-system", "previews")
    assert graph.dependencies(R) == [ObjectRef("CustomResourceDefinition", "", "x.example.com"),
                                     ObjectRef("GitRepository", "flux-system", "nowhere"),
                                     ObjectRef("HelmRelease", "apps", "gone"), K("apps")]
    found = check(graph)
    assert [(f.id, f.severity, f.message) for f in found] == [
        ("DG013", "error", "ResourceSet flux-system/previews depends on CustomResourceDefinition "
                           "x.example.com, which does not exist: the ResourceSet waits forever"),
        ("DG013", "error", "ResourceSet flux-system/previews depends on GitRepository flux-system/nowhere, "
                           "which does not exist: the ResourceSet waits forever"),
        ("DG013", "error", "ResourceSet flux-system/previews depends on HelmRelease apps/gone, which "
                           "does not exist: the ResourceSet waits forever")]
    assert found[2].fix == ("add the HelmRelease apps/gone, or remove the entry from the spec.dependsOn "
                            "of ResourceSet flux-system/previews")


def test_unreached_files_are_one_info_finding():
    from kubectl_depgraph.judge.check import unreached_files
    assert unreached_files([]) is None
    f = unreached_files([f"old/{i}.yaml" for i in range(10)])
    assert (f.id, f.severity, f.origin, f.objects) == ("DG014", "info", Origin("old/0.yaml"), ())
    assert f.message == ("10 files with Flux objects are applied by no cluster folder, so left out of "
                         "every graph: old/0.yaml, old/1.yaml, old/2.yaml, old/3.yaml, old/4.yaml, "
                         "old/5.yaml, old/6.yaml, old/7.yaml and 2 more")


def test_wait_together_with_health_checks_ignores_them():
    doc = ks("infra", wait=True, healthChecks=[{"apiVersion": "helm.toolkit.fluxcd.io/v2",
                                                "kind": "HelmRelease", "name": "ingress",
                                                "namespace": "ingress"}])
    (f,) = [f for f in static(doc) if f.id == "DG015"]
    assert f.message == ("Kustomization flux-system/infra sets wait: true and healthChecks "
                         "(hr/ingress/ingress): with wait the controller checks everything it "
                         "applies and ignores the healthChecks list")


def test_wait_on_a_kustomization_that_applies_a_suspended_release():
    from kubectl_depgraph.graph import DepGraph
    from kubectl_depgraph.model import Origin, parse_object
    apps = parse_object(dict(ks("apps", wait=True), status=None), origin=Origin("clusters/prod/apps.yaml", 1))
    release = parse_object(dict(hr("podinfo", suspend=True), status=None),
                           origin=Origin("apps/podinfo.yaml", 1, (), "Kustomization flux-system/apps"))
    (f,) = [f for f in check(DepGraph.from_objects([apps, release])) if f.id == "DG016"]
    assert (f.severity, str(f.origin)) == ("warning", "clusters/prod/apps.yaml:1")
    assert f.message == ("Kustomization flux-system/apps applies HelmRelease apps/podinfo, which is "
                         "suspended, with wait: true: it waits for the release until its timeout, and "
                         "so do its dependents")
