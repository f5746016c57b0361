"""`kubectl depgraph check` through the CLI: one fixture repository per finding under
tests/data/check/, goldens for every format, the real examples, and a live run with the
real kubectl against the API-server double."""

import fnmatch
import json
import shutil
from pathlib import Path

import pytest

from tests.apiserver import Forbid
from tests.conftest import SHARED_ABSENT, SHARED_EXAMPLES, shared_expected
from tests.builders import gitrepo, hr, ks
from tests.clirun import ROOT, invoke

DATA = Path("tests") / "data" / "check"          # relative: goldens hold paths as typed
EXAMPLES = SHARED_EXAMPLES

# fixture folder -> (ids found, exit code with the default --fail-on error)
FIXTURES = {
    "clean": ([], 0),
    "cycle": (["DG001"], 1),
    "missing-dependency": (["DG002", "DG002", "DG002"], 1),
    "multi-cluster": (["DG002"], 1),
    "wrong-kind-dependency": (["DG003", "DG003"], 1),
    "duplicate-object": (["DG004"], 1),
    "self-dependency": (["DG005"], 1),
    "dependency-without-readiness": (["DG006"], 0),
    "deep-chain": (["DG007"], 0),
    "crd-prune": (["DG008", "DG008"], 0),
    "unresolved-variable": (["DG009", "DG009", "DG009"], 0),
}
FORMATS = {"text": "txt", "json": "json", "github": "github"}


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def run_check(*args, env=None):
    return invoke(["check", "--no-color", *args], env=env)


def found_ids(path, *args):
    out = run_check("--path", path, "-o", "json", "--fail-on", "never", *args)
    assert out.code == 0, out.stderr
    return [f["id"] for f in json.loads(out.stdout)["findings"]]


def test_every_fixture_folder_is_listed():
    assert sorted(p.name for p in (ROOT / DATA).iterdir()) == sorted(FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_findings_and_exit_code(name):
    ids, code = FIXTURES[name]
    out = run_check("--path", DATA / name)
    assert out.code == code, out.stdout + out.stderr
    assert found_ids(DATA / name) == ids


@pytest.mark.parametrize("output", sorted(FORMATS))
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_golden(name, output, golden):
    out = run_check("--path", DATA / name, "-o", output, "--fail-on", "never")
    assert out.code == 0, out.stderr
    golden.check(f"check/{name}.{FORMATS[output]}", out.stdout)


def test_fail_on_warning_and_never():
    assert run_check("--path", DATA / "deep-chain").code == 0
    assert run_check("--path", DATA / "deep-chain", "--fail-on", "warning").code == 1
    assert run_check("--path", DATA / "unresolved-variable", "--fail-on", "warning").code == 0
    assert run_check("--path", DATA / "cycle", "--fail-on", "never").code == 0


def test_ignore_and_max_depth():
    assert run_check("--path", DATA / "missing-dependency", "--ignore", "DG002").code == 0
    assert found_ids(DATA / "deep-chain", "--max-depth", "5") == []
    assert found_ids(DATA / "deep-chain", "--max-depth", "2") == ["DG007", "DG007"]
    assert found_ids(DATA / "crd-prune", "--ignore", "crd-prune") == []


def test_unknown_ignore_is_a_one_line_usage_error():
    out = run_check("--path", DATA / "clean", "--ignore", "DG042")
    assert out.code == 2
    assert out.stderr.splitlines()[0] == "error: --ignore DG042: no such check"
    assert out.stderr.splitlines()[1].startswith("hint: ids: DG001 (cycle), ")
    assert out.stdout == ""


def test_missing_path_is_an_input_error():
    out = run_check("--path", DATA / "no-such-folder")
    assert out.code in (2, 5) and out.stdout == ""


def test_namespace_narrows_the_findings():
    assert found_ids(DATA / "missing-dependency", "-n", "monitoring") == ["DG002", "DG002"]
    assert found_ids(DATA / "missing-dependency", "-n", "nowhere") == []


# --- the real repositories: no false errors ----------------------------------------------

EXPECTED = shared_expected()


def _checkout(expected, tmp_path):
    src = EXAMPLES / expected["name"].split("@")[0]
    if not expected["excluded_patterns"]:
        return src
    dst = tmp_path / "repo"
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).as_posix()
        if path.is_file() and not any(fnmatch.fnmatch(rel, p) for p in expected["excluded_patterns"]):
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)
    return dst


def real_errors(graph):
    """The errors the expected graph implies: its dangling edges (missing or wrong-kind),
    self-loops and cycles are real. Its `duplicates` span several cluster folders, which is
    not an error (DG004 is within one scope), so none are expected from them."""
    errors = set()
    for edge in graph["dangling"]:
        errors.add(("dangling", edge["from"], edge["to"]))
    for loop in graph["self_loops"]:
        errors.add(("DG005", loop if isinstance(loop, str) else loop["id"]))
    for cycle in graph["cycles"]:
        errors.add(("DG001", tuple(sorted(cycle))))
    return errors


def _as_expected(finding):
    objects = finding["objects"]
    if finding["id"] in ("DG002", "DG003"):
        return ("dangling", objects[0], objects[1])
    if finding["id"] == "DG005":
        return ("DG005", objects[0])
    if finding["id"] == "DG001":
        cycle_len = finding["message"].split(": ", 1)[1].split(";")[0].count("→")
        return ("DG001", tuple(sorted(objects[:cycle_len])))
    return (finding["id"], *objects)


@pytest.mark.skipif(not EXPECTED, reason=SHARED_ABSENT)
@pytest.mark.parametrize("path", EXPECTED, ids=[p.stem for p in EXPECTED])
def test_examples_produce_no_false_errors(path, tmp_path):
    expected = json.loads(path.read_text())
    out = run_check("--path", _checkout(expected, tmp_path), "-o", "json", "--fail-on", "never")
    assert out.code == 0, out.stderr
    errors = [f for f in json.loads(out.stdout)["findings"] if f["severity"] == "error"]
    assert {_as_expected(f) for f in errors} == real_errors(expected["graphs"]["kustomize_ns"])


# --- live: the real kubectl against the API-server double --------------------------------

def live_objects():
    stuck = "Reconciliation failed: health check failed after 5m0s"
    return [
        gitrepo(),
        ks("infra", suspend=True, ready="False", reason="HealthCheckFailed", message=stuck,
           wait=True),
        ks("apps", deps=["infra"], ready="False", wait=True,
           message="dependency 'flux-system/infra' is not ready"),
        ks("db", ns="team-b", wait=True),
        ks("web", ns="team-a", deps=["team-b/db"], ready="False", reason="DependencyNotReady",
           message="dependency 'team-b/db' not found: kustomizations.kustomize.toolkit.fluxcd.io "
                   "\"db\" not found", wait=True),
        ks("secrets", ns="vault", wait=True),
        ks("tenants", deps=["vault/secrets", "gone"], ready="False", wait=True,
           message="dependency 'flux-system/gone' not found: kustomizations.kustomize.toolkit."
                   "fluxcd.io \"gone\" not found"),
        hr("redis"),
        hr("cache", deps=["redis"]),
    ]


def test_live_findings_through_real_kubectl(apiserver, kube_env, golden):
    srv = apiserver(live_objects(), forbid=[Forbid(["list"], "kustomizations", namespaces=["vault"])])
    env = kube_env(srv)
    out = run_check(env=env)
    assert out.code == 1, out.stderr
    assert "omitted (forbidden): vault" in out.stderr
    golden.check("check/live.txt", out.stdout)
    doc = json.loads(run_check("-o", "json", env=env).stdout)
    got = sorted((f["id"], f["objects"][0]) for f in doc["findings"])
    assert got == [
        ("DG002", "Kustomization/flux-system/tenants"),
        ("DG010", "Kustomization/flux-system/infra"),
        ("DG011", "Kustomization/team-a/web"),
        ("DG012", "Kustomization/flux-system/tenants"),
    ]
    assert all(f["file"] is None and f["line"] is None for f in doc["findings"])


def test_live_clean_cluster(apiserver, kube_env):
    srv = apiserver([gitrepo(), ks("infra", wait=True), ks("apps", deps=["infra"], wait=True)])
    out = run_check(env=kube_env(srv))
    assert (out.code, out.stdout) == (0, "no findings in the cluster (2 objects checked)\n")


def test_unreachable_cluster_is_a_cluster_error(apiserver, kube_env):
    srv = apiserver([])
    out = run_check("--context", "unreachable", "--request-timeout", "2s", env=kube_env(srv))
    assert out.code == 4 and out.stdout == ""
