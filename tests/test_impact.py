"""impact: a change's effect on the graph, between two commits of a repository built here."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clirun import invoke

ROOT = Path(__file__).resolve().parents[1]
GITOPS = ROOT / "examples" / "gitops"


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                   check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    """examples/gitops committed, then a change: infra-configs removed (apps still depends on
    it), podinfo suspended, a monitoring Kustomization added that depends on apps."""
    path = tmp_path / "repo"
    shutil.copytree(GITOPS, path)
    _git(path, "init", "-q")
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "base")
    infra = path / "clusters/production/infrastructure.yaml"
    infra.write_text("---".join(d for d in infra.read_text().split("---") if "name: infra-configs" not in d))
    release = path / "apps/base/podinfo/release.yaml"
    release.write_text(release.read_text().replace("spec:\n", "spec:\n  suspend: true\n", 1))
    (path / "clusters/production/monitoring.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata:\n  name: monitoring\n  namespace: flux-system\n"
        "spec:\n  interval: 10m\n  path: ./apps/production\n  prune: true\n"
        "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  dependsOn:\n    - name: apps\n")
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "change")
    return path


def test_impact_names_what_the_change_breaks_and_affects(repo):
    out = invoke(["impact", "--path", repo, "--base", "HEAD~1", "--no-color"])
    assert out.code == 1, out.stderr
    head, *rest = out.stdout.splitlines()
    assert head.startswith("Change against HEAD~1 (") and \
        head.endswith("): 1 added, 1 removed, 1 modified; 4 objects affected")
    assert rest == [
        "",
        "Breaks (1):",
        "  ✗ Kustomization flux-system/apps depends on 'flux-system/infra-configs', which the change removes",
        "",
        f"- ks/flux-system/infra-configs  removed  (was {repo}/clusters/production/infrastructure.yaml:15)",
        "    dependents: ks/flux-system/apps",
        "    affected:   2 objects: ks/flux-system/apps, ks/flux-system/monitoring",
        f"~ hr/podinfo/podinfo  modified: suspend  ({repo}/apps/base/podinfo/release.yaml:1)",
        f"+ ks/flux-system/monitoring  added  ({repo}/clusters/production/monitoring.yaml:1)",
    ]


def test_impact_as_a_pull_request_comment_and_as_data(repo):
    md = invoke(["impact", "--path", repo, "--base", "HEAD~1", "-o", "markdown"]).stdout
    assert "| removed | `ks/flux-system/infra-configs` | — | `ks/flux-system/apps` | 2 |" in md
    assert "- :x: Kustomization flux-system/apps depends on 'flux-system/infra-configs', " \
           "which the change removes" in md
    import json
    doc = json.loads(invoke(["impact", "--path", repo, "--base", "HEAD~1", "-o", "json"]).stdout)
    assert doc["kind"] == "ImpactReport" and doc["summary"] == {
        "added": 1, "removed": 1, "modified": 1, "affected": 4, "breaks": 1}
    assert doc["dangling"] == [{"id": "Kustomization/flux-system/infra-configs", "removedByChange": True,
                                "requiredBy": ["Kustomization/flux-system/apps"]}]
    gh = invoke(["impact", "--path", repo, "--base", "HEAD~1", "-o", "github"]).stdout.splitlines()
    assert gh[0] == (f"::error file={repo}/clusters/production/apps.yaml,line=1,title=dangling dependency::"
                     "Kustomization flux-system/apps depends on 'flux-system/infra-configs', "
                     "which the change removes")


def test_impact_between_two_checkouts_without_git(repo, tmp_path):
    out = invoke(["impact", "--path", repo, "--base-path", GITOPS])
    assert out.code == 1 and "infra-configs  removed" in out.stdout


def test_a_change_that_breaks_nothing_exits_0(repo):
    out = invoke(["impact", "--path", repo, "--base", "HEAD"])
    assert (out.code, out.stdout) == (0, out.stdout.splitlines()[0] + "\n")
    assert out.stdout.endswith(": no change to Flux objects; 0 objects affected\n")


def test_impact_needs_a_base_and_a_real_ref(repo):
    out = invoke(["impact", "--path", repo])
    assert (out.code, out.stderr.splitlines()[0]) == (
        2, "error: impact compares two Git trees: give --base REF or --base-path DIR (and --path)")
    out = invoke(["impact", "--path", repo, "--base", "no-such-ref"])
    assert out.code == 5
    assert out.stderr.startswith(f"error: git rev-parse --verify failed in {repo}: ")


def test_a_crd_the_change_stops_defining_is_removed_with_its_dependents(tmp_path):
    """tests/data/crosskind: ks/flux-system/apps depends (cross-kind) on a CRD the repository
    defines; the change deletes that file. Not dangling (a HelmRelease or another controller
    may create the CRD), but removed, and what waits on it is named."""
    path = tmp_path / "repo"
    shutil.copytree(ROOT / "tests" / "data" / "crosskind", path)
    _git(path, "init", "-q")
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "base")
    (path / "infra/crds/widgets.yaml").unlink()
    _git(path, "commit", "-qam", "drop the widgets CRD")
    out = invoke(["impact", "--path", path, "--base", "HEAD~1", "--no-color"])
    assert (out.code, out.stderr) == (0, "")
    head, *rest = out.stdout.splitlines()
    assert head.endswith("): 1 removed; 3 objects affected"), head
    assert rest == [
        "",
        f"- CustomResourceDefinition/widgets.example.com  removed  (was {path}/infra/crds/widgets.yaml:1)",
        "    dependents: ks/flux-system/apps",
        "    affected:   2 objects: ks/flux-system/apps, rset/flux-system/previews",
    ]
