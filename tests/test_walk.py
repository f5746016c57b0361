"""--path at a repository with cluster folders: the walk Flux does (acquire/fluxwalk.py),
checked against what `kubectl kustomize` itself builds, and the postBuild substitution."""

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kubectl_depgraph.acquire.cluster import Kubectl, KubeOptions
from kubectl_depgraph.acquire.gitrepo import read_tree
from kubectl_depgraph.acquire.postbuild import substitute, variables
from kubectl_depgraph.graph import DepGraph
from kubectl_depgraph.model import parse_object
from tests.clirun import ROOT, invoke

REPO = ROOT / "tests" / "data" / "walk"


def kustomize(kubectl_path, folder):
    """What `kubectl kustomize` builds from a folder of the test repository."""
    out = subprocess.run([kubectl_path, "kustomize", "--load-restrictor", "LoadRestrictionsNone",
                          str(REPO / folder)], capture_output=True, text=True, check=True).stdout
    return list(yaml.safe_load_all(out))


def graphs(loaded):
    """{cluster: DepGraph} of a walked checkout."""
    by_scope = {}
    for doc in loaded.documents:
        obj = parse_object(doc.obj, doc.origin)
        if obj is not None:
            by_scope.setdefault(doc.origin.scope[0], []).append(obj)
    return {scope: DepGraph.from_objects(objs) for scope, objs in by_scope.items()}


@pytest.fixture(scope="module")
def walked(kubectl_path):
    return read_tree(str(REPO), kubectl=Kubectl(KubeOptions(kubectl=kubectl_path)))


def test_the_walk_gets_what_kustomize_builds(walked, kubectl_path):
    home = graphs(walked)["clusters/home"]
    nodes = {str(r) for r in home.nodes}
    settings = yaml.safe_load((REPO / "clusters/home/settings.yaml").read_text())["data"]
    # replacements copy the Namespace's name into web's targetNamespace: its HelmRelease lands there
    (web,) = [o for o in kustomize(kubectl_path, "apps/web") if o["kind"] == "Kustomization"]
    assert web["spec"]["targetNamespace"] == "web"
    assert f"HelmRelease/{web['spec']['targetNamespace']}/web" in nodes
    # the component adds a dependsOn entry, whose name postBuild substitution completes
    dep = web["spec"]["dependsOn"][0]["name"].replace("${CLUSTER}", settings["CLUSTER"])
    assert dep == "db-home"
    assert home.dependencies(next(r for r in home.nodes if str(r) == "Kustomization/flux-system/web")) == \
        [next(r for r in home.nodes if str(r) == f"Kustomization/flux-system/{dep}")]
    # one file, three namespaces: two Kustomizations of home (one by a default) and the lab cluster
    redis = yaml.safe_load((REPO / "apps/redis/app/release.yaml").read_text())   # no kustomization
    assert {str(r) for r in home.nodes if r.name == redis["metadata"]["name"]} == \
        {"HelmRelease/team-a/redis", "HelmRelease/team-b/redis"}
    assert [str(r) for r in graphs(walked)["clusters/lab"].nodes] == [
        "HelmRelease/lab/redis", "Kustomization/flux-system/redis"]
    # what the apps build yields, each object with the file:line it came from
    apps = {(o["kind"], o["metadata"]["name"]) for o in kustomize(kubectl_path, "apps")}
    assert {("Kustomization", "db-${CLUSTER}"), ("ResourceSet", "previews")} <= apps
    origins = {str(d.origin) for d in walked.documents if d.origin.scope == ("clusters/home",)}
    assert {"apps/db/ks.yaml:1", "apps/previews.yaml:1", "apps/redis/ks.yaml:2",
            "apps/redis/ks.yaml:16", "apps/web/ks.yaml:1"} <= origins
    assert walked.warnings == []


def test_files_no_cluster_applies_are_in_no_graph(walked):
    assert walked.unreached == ["apps/old/ks.yaml", "archive/legacy/ks.yaml"]
    assert not [d for d in walked.documents if d.origin.file in walked.unreached]
    assert walked.clusters == ["clusters/home", "clusters/lab"]


def test_which_kustomization_applies_each_object(walked):
    via = {(d.obj["kind"], d.obj["metadata"].get("namespace"), d.obj["metadata"]["name"]): d.origin.via
           for d in walked.documents if d.origin.scope == ("clusters/home",)}
    assert via[("HelmRelease", "web", "web")] == "Kustomization flux-system/web"
    assert via[("Kustomization", "flux-system", "web")] == "Kustomization flux-system/apps"
    assert via[("Kustomization", "flux-system", "apps")] == ""        # the cluster folder itself


def test_tree_and_check_of_the_repository(golden):
    tree = invoke(["tree", "--path", REPO])
    check = invoke(["check", "--path", REPO, "--no-color"])
    assert (tree.code, check.code) == (0, 0)
    assert tree.stderr == check.stderr == ""
    golden.check("walk/tree.txt", tree.stdout)
    golden.check("walk/check.txt", check.stdout.replace(str(REPO), "REPO"))


def test_one_cluster_folder():
    out = invoke(["tree", "--path", REPO / "clusters" / "lab"])
    assert out.code == 0 and out.stderr == ""
    assert out.stdout == ("· hr/lab/redis  apps/redis/app/release.yaml:1\n"
                          "· ks/flux-system/redis  clusters/lab/redis.yaml:1\n")
    check = invoke(["check", "--path", REPO / "clusters" / "lab", "-o", "json"])
    assert '"findings": []' in check.stdout     # no DG014 for one cluster: the others apply the rest


def test_cluster_names_a_cluster_or_any_folder_holding_one():
    by_name = invoke(["tree", "--path", REPO, "--cluster", "lab"])
    by_path = invoke(["tree", "--path", REPO / "clusters" / "lab"])
    assert by_name.stdout == by_path.stdout != ""
    # a folder without kustomization.yaml gets every manifest below it, as Flux generates it
    out = invoke(["tree", "--path", REPO / "apps", "--cluster", "db"])   # apps/ has no clusters/
    assert out.code == 0 and out.stderr == ""
    assert out.stdout == ("· hr/databases/postgres  db/app/release.yaml:1\n"
                          "· hr/default/postgres  db/app/release.yaml:1\n"
                          "· ks/default/db-${CLUSTER}  db/ks.yaml:1\n")


def test_cluster_with_a_cluster_folder_path_is_a_usage_error():
    out = invoke(["tree", "--path", REPO / "clusters" / "lab", "--cluster", "home"])
    assert out.code == 2 and out.stdout == ""
    assert out.stderr == (f"error: --cluster home: --path already names cluster folder clusters/lab\n"
                          f"hint: point --path at {REPO} to pick a cluster with --cluster\n")


def test_all_files_reads_every_file_as_before():
    out = invoke(["check", "--path", REPO, "--all-files", "-o", "json", "--fail-on", "never"])
    assert '"id": "DG002"' in out.stdout and "DG014" not in out.stdout


def test_without_kubectl_the_folders_are_read_as_they_are(tmp_path):
    loaded = read_tree(str(REPO), kubectl=Kubectl(KubeOptions(kubectl=str(tmp_path / "no-kubectl"))))
    assert loaded.warnings == [
        f"{tmp_path / 'no-kubectl'} not found: folders are read as they are (kustomize components, "
        "patches and replacements, and Flux spec.patches and spec.components are not applied)"]
    home = {str(r) for r in graphs(loaded)["clusters/home"].nodes}
    assert "HelmRelease/set-by-replacements/web" in home       # what plain reading can know
    assert "HelmRelease/team-b/redis" in home                  # substitution needs no kubectl


def test_a_failed_build_names_kustomizes_error_not_its_warning(tmp_path, kubectl_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    (repo / "apps" / "kustomization.yaml").write_text("bases:\n  - ./missing\n")
    loaded = read_tree(str(repo), kubectl=Kubectl(KubeOptions(kubectl=kubectl_path)))
    (warning,) = [w for w in loaded.warnings if "kustomize failed" in w]
    assert warning.startswith("apps: kubectl kustomize failed: accumulating resources: ")
    assert "deprecated" not in warning and warning.endswith("; its files are read as they are")


def test_an_external_artifact_source_outside_the_checkout_is_said(tmp_path, kubectl_path):
    (tmp_path / "clusters" / "one").mkdir(parents=True)
    (tmp_path / "clusters" / "one" / "ks.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: apps, namespace: flux-system}\n"
        "spec: {path: ./x, sourceRef: {kind: ExternalArtifact, name: apps}}\n")
    loaded = read_tree(str(tmp_path), kubectl=Kubectl(KubeOptions(kubectl=kubectl_path)))
    assert loaded.warnings == [
        "Kustomization flux-system/apps: its source ExternalArtifact flux-system/apps is made by no "
        "ArtifactGenerator in this checkout: what it applies is not in the graph"]


# --- postBuild substitution ---------------------------------------------------------------

KS = {"kind": "Kustomization", "metadata": {"name": "apps", "namespace": "flux-system"},
      "spec": {"postBuild": {"substitute": {"A": "inline"},
                             "substituteFrom": [{"kind": "ConfigMap", "name": "vars"},
                                                {"kind": "Secret", "name": "secret"},
                                                {"kind": "Secret", "name": "absent", "optional": True},
                                                {"kind": "Secret", "name": "sops"}]}}}


def test_variables_from_inline_values_configmaps_and_secrets():
    objects = {
        ("ConfigMap", "flux-system", "vars"): {"kind": "ConfigMap", "data": {"A": "map", "B": "map"}},
        ("Secret", "flux-system", "secret"): {"kind": "Secret",
                                              "data": {"C": base64.b64encode(b"secret").decode()}},
        ("Secret", "flux-system", "sops"): {"kind": "Secret", "data": {"D": "ENC[AES256_GCM,data:x]"},
                                            "sops": {}},
    }
    values, missing = variables(KS, objects)
    assert values == {"A": "inline", "B": "map", "C": "secret"}     # inline values win
    assert missing == ["Secret flux-system/sops"]


def test_substitute_defaults_escapes_and_opt_out():
    obj = {"metadata": {"name": "${A}-${B:=b}-${C:-c}-${D}-$${A}"}}
    assert substitute(obj, {"A": "a", "C": ""})["metadata"]["name"] == "a-b-c-${D}-${A}"
    off = {"metadata": {"name": "${A}", "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}}}
    assert substitute(off, {"A": "a"}) == off


def test_repository_without_cluster_folders_is_read_as_before():
    loaded = read_tree(str(Path(ROOT) / "tests" / "data" / "walk" / "apps"), kubectl=None)
    assert loaded.clusters == [] and loaded.unreached == []
    assert {d.origin.file for d in loaded.documents} >= {"old/ks.yaml", "db/ks.yaml"}
