"""The pre-commit hook (pre-commit try-repo on a copy of a real Flux repository) and the
GitHub Action (its steps' scripts, run as the runner runs them). Both install the plugin from
this checkout into a fresh virtual environment with pip, so they need PyPI."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHARED_ABSENT, SHARED_EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
REPO = "fluxcd__flux2-kustomize-helm-example"   # 0 errors, 2 DG006 warnings (check --path .)
GIT = ["git", "-c", "user.email=test@example.com", "-c", "user.name=test", "-c", "commit.gpgsign=false"]


def example_repo(tmp_path):
    """A Git repository holding a copy of one of ../shared/examples."""
    source = SHARED_EXAMPLES / REPO
    if not source.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{source} is missing: shared/ must sit beside the checkout in CI")
        pytest.skip(SHARED_ABSENT)
    repo = tmp_path / "gitops"
    shutil.copytree(source, repo)
    for path in repo.rglob("*"):   # shared/ is read-only in CI; git and pre-commit write here
        path.chmod(path.stat().st_mode | 0o200)
    repo.chmod(0o755)
    subprocess.run([*GIT, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "copy"], cwd=repo, check=True)
    return repo


def checkout_copy(tmp_path):
    """This checkout's files (tracked and new, as in the working tree): what a runner or
    pre-commit gets at a tag."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.splitlines()
    copy = tmp_path / "kubectl-depgraph"
    for name in files:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


# --------------------------------------------------------------------------- pre-commit


def test_pre_commit_hook_checks_the_whole_repository(tmp_path):
    # git is a test requirement (impact and --path read Git): no skip that hides it.
    assert shutil.which("git"), "git is not installed: the test suite needs it"
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["depgraph-check"]
    assert hooks[0]["pass_filenames"] is False and hooks[0]["language"] == "python"
    repo = example_repo(tmp_path)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "PIP_NO_COMPILE": "1"}   # pip would compile all of networkx: 20 s on a busy machine
    env.pop("PRE_COMMIT", None)
    argv = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "depgraph-check", "--all-files",
            "--verbose"]
    proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"kubectl depgraph check\.+Passed", proc.stdout)
    assert "0 errors, 2 warnings, 2 info in path . (6 objects checked)" in proc.stdout
    # an error fails the commit, with the finding shown
    apps = repo / "clusters" / "production" / "apps.yaml"
    apps.write_text(apps.read_text().replace("name: infra-configs", "name: infra-config"))
    subprocess.run([*GIT, "commit", "-qam", "typo"], cwd=repo, check=True)
    proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"kubectl depgraph check\.+Failed", proc.stdout)
    assert "DG002 missing-dependency" in proc.stdout


# --------------------------------------------------------------------------- GitHub Action


def run_action(action_path, workspace, runner_temp, inputs, path_prefix, first_step=0):
    """Run the composite action's steps from `first_step` on as the runner does (bash -e -o
    pipefail, inputs substituted into each step's env, $GITHUB_PATH prepended to PATH for the
    later steps). Returns the last step's CompletedProcess."""
    action = yaml.safe_load((action_path / "action.yml").read_text())
    values = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    values.update(inputs)
    github_path = runner_temp / "github_path"   # kept between calls, like the runner's PATH
    github_path.touch()
    proc = None
    for step in action["runs"]["steps"][first_step:]:
        assert step["shell"] == "bash"
        extra_path = [line for line in github_path.read_text().splitlines() if line][::-1]
        env = {**os.environ, "GITHUB_ACTION_PATH": str(action_path), "RUNNER_TEMP": str(runner_temp),
               "GITHUB_PATH": str(github_path), "GITHUB_WORKSPACE": str(workspace),
               "PATH": os.pathsep.join([*extra_path, path_prefix, os.environ["PATH"]])}
        for name, value in (step.get("env") or {}).items():
            env[name] = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], value)
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            return proc
    return proc


def test_github_action_installs_the_plugin_and_annotates_findings(tmp_path, kube_env):
    repo = example_repo(tmp_path)
    action_path = checkout_copy(tmp_path)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    kubectl_dir = os.path.dirname(kube_env("http://127.0.0.1:1")["PATH"].split(os.pathsep)[0] + "/kubectl")
    proc = run_action(action_path, repo, runner_temp, {}, kubectl_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("::warning file=clusters/") for line in lines[:2])
    assert "title=DG006 dependency-without-readiness::" in lines[0]
    assert all(line.startswith("::notice file=clusters/") and "title=DG017 wrapper-kustomization::" in line
               for line in lines[2:])
    assert (runner_temp / "kubectl-depgraph" / "bin" / "kubectl-depgraph").is_file()

    # the same installation, other inputs
    failing = run_action(action_path, repo, runner_temp, {"fail-on": "warning"}, kubectl_dir, 1)
    assert failing.returncode == 1 and failing.stdout == proc.stdout
    quiet = run_action(action_path, repo, runner_temp,
                       {"fail-on": "warning", "args": "--ignore DG006  --ignore DG017 --max-depth 6"}, kubectl_dir, 1)
    assert (quiet.returncode, quiet.stdout) == (0, "")
    missing = run_action(action_path, repo, runner_temp, {"path": "no/such/folder"}, kubectl_dir, 1)
    assert missing.returncode == 5 and missing.stderr.startswith("error: ")
