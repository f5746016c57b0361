"""The --path reader against the independently computed graphs of six real repositories
(/work/shared/examples/expected/*.json, graph `kustomize_ns`)."""

import fnmatch
import json
import shutil

import pytest

from kubectl_depgraph.graph import DepGraph
from kubectl_depgraph.acquire.cluster import Kubectl, KubeOptions
from kubectl_depgraph.acquire.gitrepo import read_tree
from kubectl_depgraph.model import parse_object
from tests.conftest import SHARED_ABSENT, SHARED_EXAMPLES, shared_expected

EXAMPLES = SHARED_EXAMPLES
# The shared README lists what the expected data does not model (replacements, component
# patches adding dependsOn, Flux spec.patches, postBuild names, reachability). The three
# repositories with clusters/ folders are walked as Flux applies them; none of these changes
# their graphs (every file there is reached), so the sets must match exactly. The other three
# have no clusters/ folder: every file is read, as before.
EXPECTED = shared_expected()
pytestmark = pytest.mark.skipif(not EXPECTED, reason=SHARED_ABSENT)


def _checkout(expected, tmp_path):
    """The example folder, without `excluded_patterns` (single-cluster views)."""
    src = EXAMPLES / expected["name"].split("@")[0]
    patterns = expected["excluded_patterns"]
    if not patterns:
        return src
    dst = tmp_path / "repo"
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).as_posix()
        if path.is_file() and not any(fnmatch.fnmatch(rel, p) for p in patterns):
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)
    return dst


@pytest.fixture(scope="module", params=EXPECTED, ids=[p.stem for p in EXPECTED])
def case(request, tmp_path_factory):
    expected = json.loads(request.param.read_text())
    loaded = read_tree(str(_checkout(expected, tmp_path_factory.mktemp("ex"))),
                       kubectl=Kubectl(KubeOptions()))
    objects = [o for o in (parse_object(d.obj, d.origin) for d in loaded.documents) if o]
    return expected, loaded, objects, DepGraph.from_objects(objects)


def test_graph_matches_kustomize_namespaces(case):
    expected, _, _, graph = case
    name, want = expected["name"], expected["graphs"]["kustomize_ns"]
    nodes = {str(n) for n in graph.nodes}
    edges = {(str(a), str(b)) for a, b in graph.edges()}
    want_nodes = {n["id"] for n in want["nodes"]}
    want_edges = {tuple(e) for e in want["edges"]}
    assert (nodes - want_nodes, want_nodes - nodes) == (set(), set()), name
    assert (edges - want_edges, want_edges - edges) == (set(), set()), name


def test_definitions_and_lines(case):
    """The walk gives a shared file once per cluster that applies it (each with its
    cluster's scope); the expected data counts each file:line once."""
    expected, _, objects, _ = case
    want = expected["graphs"]["kustomize_ns"]
    defined = {}
    for obj in objects:
        if obj.ref.kind in ("Kustomization", "HelmRelease") and \
                str(obj.origin) not in defined.get(str(obj.ref), []):
            defined.setdefault(str(obj.ref), []).append(str(obj.origin))
    assert sum(map(len, defined.values())) == want["definitions_total"]
    assert {k: sorted(v) for k, v in defined.items()} == \
        {n["id"]: sorted(n["defined_at"]) for n in want["nodes"] if n["defined_at"]}


# Only the views whose repository has patch files: the others would check nothing.
PATCHED = [p for p in EXPECTED if json.loads(p.read_text())["patch_documents_excluded"]]


@pytest.mark.parametrize("path", PATCHED, ids=[p.stem for p in PATCHED])
def test_patch_files_are_not_objects(path, tmp_path):
    expected = json.loads(path.read_text())
    loaded = read_tree(str(_checkout(expected, tmp_path)), kubectl=Kubectl(KubeOptions()))
    files = {d.origin.file for d in loaded.documents}
    for patch in expected["patch_documents_excluded"]:
        assert patch["file"] not in files


def test_duplicates_only_within_a_cluster(case):
    """The expected `duplicates` are per-cluster copies (clusters/staging and
    clusters/production): the whole-repo graph sees them, the scoped check does not."""
    expected, loaded, _, graph = case
    want = expected["graphs"]["kustomize_ns"]["duplicates"]
    # A file two clusters apply is one definition (in two scopes), not a duplicate.
    assert {str(d.ref) for d in graph.duplicates if len({str(o) for o in d.origins}) > 1} == \
        {d["id"] for d in want}
    assert graph.clashing_duplicates() == []


# --- what a user sees on every repository and every cluster folder ----------------------

def _targets():
    if not EXPECTED:
        return []
    repos = sorted(p for p in EXAMPLES.iterdir() if p.is_dir() and p.name != "expected")
    clusters = sorted(c for r in repos for c in r.glob("clusters/*") if c.is_dir())
    return [p.relative_to(EXAMPLES).as_posix() for p in repos + clusters]


@pytest.mark.parametrize("target", _targets())
def test_tree_and_check_golden(target, golden):
    """`tree` and `check` as printed, with warnings: review changes with git diff. Errors
    here must be real mistakes of the repository (there are none at these commits)."""
    from tests.clirun import invoke
    path = EXAMPLES / target
    tree = invoke(["tree", "--path", path])
    check = invoke(["check", "--path", path, "--no-color"])
    assert tree.code == 0 and check.code == 0, check.stdout
    text = (f"$ kubectl depgraph tree --path {target}\n{tree.stdout}{tree.stderr}\n"
            f"$ kubectl depgraph check --path {target}\n{check.stdout}")
    golden.check(f"examples/{target.replace('/', '@')}.txt", text.replace(str(EXAMPLES) + "/", ""))
