"""`kubectl depgraph tree` end to end: the real kubectl against the API-server double,
snapshot files, and the errors a user sees."""

import json
import os
from pathlib import Path

import pytest

from tests.apiserver import NO_FLUX, NO_HELM, Forbid
from tests.conftest import EXAMPLE, NOW, production
from tests.clirun import invoke, on_a_terminal, run_subprocess

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args,name", [
    ([], "tree.txt"),
    (["--sources"], "tree-sources.txt"),
    (["production-config"], "tree-name.txt"),
    (["production-frontend", "--reverse"], "tree-reverse.txt"),
    (["-o", "table"], "table.txt"),
    (["-o", "json"], "graph.json"),
    (["-o", "yaml"], "graph.yaml"),
    (["-o", "dot"], "graph.dot"),
    (["-o", "mermaid"], "graph.mmd"),
    (["-n", "apps"], "tree-namespace.txt"),
])
def test_live_tree_through_real_kubectl(live, golden, args, name):
    server, env = live()
    out = invoke(["tree", *args], env=env)
    assert (out.code, out.stderr) == (0, "")
    golden.check(f"tree/live-{name}", out.stdout)
    assert server.writes() == []  # reading never changes the cluster


def test_live_reads_all_kinds_in_one_kubectl_call(live):
    server, env = live()
    invoke(["tree"], env=env)
    lists = [r.path for r in server.requests if r.method == "GET" and r.path.startswith("/apis/")
             and r.path.count("/") == 4]
    assert "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations" in lists
    assert "/apis/helm.toolkit.fluxcd.io/v2/helmreleases" in lists


def test_snapshot_gives_the_same_graph_as_live(live):
    _, env = live()
    from_cluster = json.loads(invoke(["tree", "-o", "json"], env=env).stdout)
    from_file = json.loads(invoke(["tree", "-o", "json", "-f", EXAMPLE], env=NOW).stdout)
    for doc in (from_cluster, from_file):
        doc.pop("input")
        for node in doc["nodes"]:
            node.pop("origin", None)  # file:line, only a snapshot has it
    assert from_file == from_cluster


def test_snapshot_from_stdin_and_json():
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": production()})
    out = invoke(["tree", "-f", "-", "-o", "json"], input=text, env=NOW)
    assert out.code == 0
    assert len(json.loads(out.stdout)["nodes"]) == 8


def test_helm_controller_absent_is_skipped_quietly(live):
    objs = [o for o in production() if o["kind"] not in ("HelmRelease", "HelmRepository")]
    _, env = live(objs, groups=NO_HELM)
    out = invoke(["tree"], env=env)
    assert out.code == 0 and out.stderr == ""
    assert "production-frontend" in out.stdout and "hr/" not in out.stdout


def test_flux_not_installed(live):
    _, env = live([], groups=NO_FLUX)
    out = invoke(["tree"], env=env)
    assert out.code == 4
    assert out.stderr.splitlines() == [
        "error: Flux is not installed in this cluster: the API server serves no "
        "kustomize.toolkit.fluxcd.io or helm.toolkit.fluxcd.io resources",
        "hint: check the context (--context), or install Flux: flux install"]


def test_empty_cluster_is_a_sentence(live):
    _, env = live([])
    out = invoke(["tree"], env=env)
    assert (out.code, out.stdout) == (0, "no Flux Kustomizations or HelmReleases found in the cluster\n")


def test_forbidden_cluster_wide_falls_back_to_readable_namespaces(live, golden):
    forbid = [Forbid(["list"], r, except_namespaces=["flux-system"])
              for r in ("kustomizations", "helmreleases", "gitrepositories", "helmrepositories")]
    _, env = live(forbid=forbid)
    out = invoke(["tree"], env=env)
    assert out.code == 0
    assert out.stderr.startswith("warning: listing gitrepositories, helmreleases, helmrepositories, "
                                 "kustomizations across all namespaces is forbidden")
    assert "read namespaces: flux-system; omitted (forbidden): apps, default" in out.stderr
    assert "production-frontend" in out.stdout and "hr/apps" not in out.stdout


def test_unknown_name_suggests_nearest(live):
    _, env = live()
    out = invoke(["tree", "production-fronted"], env=env)
    assert out.code == 2
    assert out.stderr == ("error: no Flux object matches 'production-fronted'\n"
                          "hint: did you mean production-frontend?\n")


def test_kubectl_missing():
    out = invoke(["tree", "--kubectl", "/nonexistent/kubectl"])
    assert out.code == 4
    assert out.stderr.splitlines()[0] == \
        "error: kubectl not found: '/nonexistent/kubectl' is not an executable on PATH"


def test_unreachable_cluster(live):
    _, env = live()
    out = invoke(["tree", "--context", "unreachable", "--request-timeout", "2s"], env=env)
    assert out.code == 4
    assert out.stderr.startswith("error: cannot reach the API server: ")
    assert "Traceback" not in out.stderr


def test_bad_context(live):
    _, env = live()
    out = invoke(["tree", "--context", "nope"], env=env)
    assert out.code == 4
    assert out.stderr.startswith("error: the context does not exist: ")


def test_entry_points_agree(tmp_path):
    """python -m, the console script's main and bin/kubectl-depgraph run the same code."""
    out = run_subprocess(["tree", "-f", EXAMPLE, "-o", "json"], env={"PATH": "/usr/bin:/bin", **NOW})
    assert out.code == 0 and json.loads(out.stdout)["apiVersion"] == "kubectl-depgraph/v2"
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, str(ROOT / "bin" / "kubectl-depgraph"), "tree", "-f",
                           str(EXAMPLE), "-o", "json"], capture_output=True, text=True, env=NOW)
    assert proc.stdout == out.stdout


@pytest.mark.parametrize("args,name", [
    (["--sources"], "path-tree.txt"),
    (["-o", "json"], "path-graph.json"),
])
def test_bundled_git_layout(golden, args, name):
    out = invoke(["tree", "--path", ROOT / "examples" / "gitops", *args])
    assert (out.code, out.stderr) == (0, "")
    golden.check(f"tree/{name}", out.stdout.replace(str(ROOT), "<root>"))


def test_depth_limits_levels():
    out = invoke(["tree", "-f", EXAMPLE, "--depth", "1"], env=NOW)
    assert "… 1 more (--depth 1)" in out.stdout
    assert "production-backend" not in out.stdout


def test_ascii_glyphs_when_stdout_is_not_utf8():
    out = run_subprocess(["tree", "-f", EXAMPLE], env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "ascii",
                                                       "LC_ALL": "C", **NOW})
    assert out.code == 0, out.stderr
    assert out.stdout.splitlines()[2] == "+ ks/flux-system/production-namespaces ready  main@sha1:3f2a9c1e"


def test_whole_multi_cluster_repo_shows_one_forest_per_cluster():
    from tests.conftest import shared_example
    out = invoke(["tree", "--path", shared_example("fluxcd__flux2-kustomize-helm-example")])
    assert out.code == 0 and out.stderr == ""
    forests = out.stdout.split("\n\n")
    assert [f.splitlines()[0] for f in forests] == ["clusters/production: 6 objects",
                                                   "clusters/staging: 6 objects"]
    assert "└── · ks/flux-system/infra-configs  clusters/staging/infrastructure.yaml:18" in forests[1]
    one = invoke(["tree", "--path", shared_example("fluxcd__flux2-kustomize-helm-example"),
                  "--cluster", "staging"])
    assert one.stdout == forests[1].split("\n", 1)[1]


def test_other_formats_merge_the_clusters_and_say_so():
    from tests.conftest import shared_example
    out = invoke(["tree", "--path", shared_example("fluxcd__flux2-kustomize-helm-example"), "-o", "json"])
    assert out.code == 0 and len(json.loads(out.stdout)["nodes"]) == 6     # 9 with the sources
    assert out.stderr == ("warning: 9 objects are defined in more than one cluster folder (clusters/production, "
                          "clusters/staging); each is shown once: pick one cluster with --cluster NAME for "
                          "its exact graph\n")


def test_cluster_must_name_a_cluster_folder():
    from tests.conftest import shared_example
    out = invoke(["tree", "--path", shared_example("fluxcd__flux2-kustomize-helm-example"),
                  "--cluster", "prod"])
    assert out.code == 2
    assert "--cluster prod: no cluster folder of that name" in out.stderr
    assert "cluster folders: clusters/production, clusters/staging" in out.stderr


def test_path_at_one_cluster_folder_reads_what_it_applies_from_the_whole_repository():
    whole = json.loads(invoke(["tree", "--path", ROOT / "examples" / "gitops", "-o", "json"]).stdout)
    out = invoke(["tree", "--path", ROOT / "examples" / "gitops" / "clusters" / "production", "-o", "json"])
    assert out.code == 0 and out.stderr == ""
    one = json.loads(out.stdout)
    assert [n["id"] for n in one["nodes"]] == [n["id"] for n in whole["nodes"]]
    assert one["edges"] == whole["edges"]


def test_path_at_one_cluster_folder_follows_an_external_artifact():
    """apps' spec.path ./staging is inside ExternalArtifact apps, which the ArtifactGenerator
    of the same folder copies from apps/staging: podinfo is reached."""
    from tests.conftest import shared_example
    repo = shared_example("fluxcd__flux2-kustomize-helm-example")
    out = invoke(["tree", "--path", repo / "clusters" / "staging", "-o", "json"])
    assert out.code == 0 and out.stderr == ""
    assert [n["id"] for n in json.loads(out.stdout)["nodes"]] == [
        "HelmRelease/cert-manager/cert-manager", "HelmRelease/envoy-gateway-system/envoy-gateway",
        "HelmRelease/podinfo/podinfo", "Kustomization/flux-system/apps",
        "Kustomization/flux-system/infra-configs", "Kustomization/flux-system/infra-controllers"]


def test_cluster_folder_below_the_repository_root(tmp_path):
    """kubernetes/clusters/main: spec.path ./kubernetes/apps is relative to the repository root,
    one level above what the cluster folder's parent holds."""
    (tmp_path / "kubernetes" / "clusters" / "main").mkdir(parents=True)
    (tmp_path / "kubernetes" / "apps").mkdir()
    (tmp_path / "kubernetes" / "clusters" / "main" / "apps.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: apps, namespace: flux-system}\n"
        "spec: {path: ./kubernetes/apps, targetNamespace: web, sourceRef: {kind: GitRepository, name: repo}}\n")
    (tmp_path / "kubernetes" / "apps" / "web.yaml").write_text(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web}\n"
        "spec: {dependsOn: [{name: db}], chartRef: {kind: OCIRepository, name: web}}\n")
    out = invoke(["tree", "--path", tmp_path / "kubernetes" / "clusters" / "main", "-o", "json"])
    assert out.code == 0, out.stderr
    assert [n["id"] for n in json.loads(out.stdout)["nodes"]] == [
        "HelmRelease/web/db", "HelmRelease/web/web", "Kustomization/flux-system/apps"]


def _on_a_terminal(args, columns=80, rows=24):
    """stdout of the CLI run on a pseudo-terminal of the given size (as a person sees it)."""
    _, out = on_a_terminal(args, dict(os.environ, NO_COLOR="1", **NOW), columns, rows)
    return out.replace("\r\n", "\n")


@pytest.mark.parametrize("command", [["tree"], ["tree", "-o", "table"], ["why", "production-frontend"]])
def test_lines_fit_an_80_column_terminal(command):
    out = _on_a_terminal([*command, "-f", EXAMPLE], columns=80)
    # Commands to copy stay whole; every other line is cut, not wrapped.
    lines = [line for line in out.splitlines() if not line.startswith(("  kubectl ", "  flux "))]
    assert lines and max(len(line) for line in lines) <= 80, out
    assert any(line.endswith("…") for line in lines)


def test_a_kind_qualified_name_of_the_other_kind_says_so():
    out = invoke(["tree", "-f", EXAMPLE, "hr/production-config"])
    assert out.code == 2
    assert out.stderr.splitlines() == [
        "error: no HelmRelease matches 'hr/production-config'; of that name there is: "
        "ks/flux-system/production-config",
        "hint: did you mean ks/flux-system/production-config?"]


def test_path_that_does_not_exist(tmp_path):
    out = invoke(["tree", "--path", tmp_path / "nope"])
    assert (out.code, out.stderr) == (5, f"error: {tmp_path / 'nope'}: does not exist\n")


def test_why_help_does_not_offer_path():
    assert "--path" not in invoke(["why", "--help"]).stdout


def test_a_ready_dependency_behind_its_source_says_so_on_its_line():
    from tests.builders import ks
    src = {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
           "metadata": {"name": "flux-system", "namespace": "flux-system", "generation": 1},
           "status": {"observedGeneration": 1, "artifact": {"revision": "main@sha1:" + "b" * 40},
                      "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}]}}
    waiting = ks("apps", deps=["infra"], ready="False",
                 message="dependency 'flux-system/infra' revision is not up to date",
                 revision="main@sha1:" + "b" * 40)
    snapshot = json.dumps({"apiVersion": "v1", "kind": "List", "items": [src, ks("infra"), waiting]})
    out = invoke(["tree", "-f", "-"], input=snapshot)
    assert out.stdout.splitlines()[0] == \
        "✔ ks/flux-system/infra ready  main@sha1:3f2a9c1e (behind its source: main@sha1:bbbbbbbb)"
