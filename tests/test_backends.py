"""The flux CLI path: exact argv, real `flux reconcile` output and exit codes (a fake
runner passed in for runner.run), and the kubectl protocol's pieces (request values,
durations)."""

import re
from pathlib import Path

import pytest

from kubectl_depgraph import runner
from kubectl_depgraph.reconcile import backends, fluxcli
from kubectl_depgraph.acquire.cluster import KubeOptions, Kubectl
from kubectl_depgraph.errors import ClusterError, CommandFailed, CommandNotFound
from kubectl_depgraph.timeutil import go_duration
from kubectl_depgraph.model import ObjectRef, parse_object
from kubectl_depgraph.judge.plan import Plan, Step, StepResult
from kubectl_depgraph.reconcile.executor import Backend, Observation, Observed, execute
from tests.builders import gitrepo, ks

DATA = Path(__file__).parent / "data" / "flux"
KS = ObjectRef("Kustomization", "team-a", "apps")
HR = ObjectRef("HelmRelease", "apps", "redis")
GIT = ObjectRef("GitRepository", "flux-system", "fleet")
READY, FAILED = StepResult.READY, StepResult.FAILED


def text(name):
    return (DATA / name).read_text(encoding="utf-8")


def result(stderr, code=0, argv=("flux",)):
    return runner.Result(tuple(argv), "", stderr, code)


class FakeRun:
    """Stands in for runner.run: records each call; answers with `answer(argv)`, a
    runner.Result or an exception to raise."""

    def __init__(self, answer):
        self.answer = answer if callable(answer) else (lambda argv: answer)
        self.calls = []

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        got = self.answer(argv)
        if isinstance(got, Exception):
            raise got
        return got


# --------------------------------------------------------------------------- argv

def test_argv_always_passes_the_namespace():
    assert fluxcli.flux_argv(KS, 300) == [
        "flux", "reconcile", "kustomization", "-n", "team-a", "--timeout", "5m0s", "--", "apps"]
    assert fluxcli.flux_argv(HR, 90, with_source=True) == [
        "flux", "reconcile", "helmrelease", "-n", "apps", "--with-source", "--timeout", "1m30s", "--", "redis"]
    assert fluxcli.flux_argv(GIT, 2.5) == [
        "flux", "reconcile", "source", "git", "-n", "flux-system", "--timeout", "2.5s", "--", "fleet"]


def test_names_are_argv_items_never_shell_text():
    odd = ObjectRef("Kustomization", "ns", "a; rm -rf /")
    assert "a; rm -rf /" in fluxcli.flux_argv(odd, 60)


@pytest.mark.parametrize("seconds,expected", [(300, "5m0s"), (60, "1m0s"), (3600, "1h0m0s"),
                                              (5400, "1h30m0s"), (45, "45s"), (0.5, "0.5s")])
def test_go_duration(seconds, expected):
    assert go_duration(seconds) == expected


def test_request_value_is_rfc3339nano():
    assert backends.request_value(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", backends.request_value())


def test_global_flags_reach_flux():
    run = FakeRun(result(text("reconcile_kustomization_from_git.golden")))
    backend = backends.FluxBackend(None, {}, kube_options=KubeOptions(context="prod", kubeconfig="/k"), run=run)
    step = Step(KS)
    backend.start(step, 60)
    backend.pool.shutdown(wait=True)
    argv, kwargs = run.calls[-1]
    assert argv == ["flux", "--kubeconfig=/k", "--context=prod", "reconcile", "kustomization",
                    "-n", "team-a", "--timeout", "1m0s", "--", "apps"]
    assert kwargs["ok_codes"] == (0, 1)


# --------------------------------------------------------------------------- output

def test_real_kustomization_output():
    out = fluxcli.parse_flux_output(text("reconcile_kustomization_from_git.golden"), 0)
    assert out.ok and out.message == "applied revision 6.3.5@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9"


def test_real_helmrelease_output():
    out = fluxcli.parse_flux_output(text("reconcile_helmrelease_from_git.golden"), 0)
    assert out.ok and out.message == "applied revision 6.3.5"


def test_failure_output():
    out = fluxcli.parse_flux_output(text("reconcile_failed.txt"), 1)
    assert not out.ok and not out.waiting
    assert out.message.startswith("Kustomization reconciliation failed: health check failed")


def test_dependency_wait_is_not_failure():
    out = fluxcli.parse_flux_output(text("reconcile_dependency.txt"), 1)
    assert not out.ok and out.waiting
    assert "dependency 'flux-system/infra' is not ready" in out.message


def test_suspended_and_timeout():
    assert fluxcli.parse_flux_output(text("reconcile_suspended.txt"), 1).message == "resource is suspended"
    out = fluxcli.parse_flux_output(text("reconcile_timeout.txt"), 1)
    assert out.message == "timed out (flux: context deadline exceeded)" and not out.waiting


def test_other_exit_codes_use_the_last_line():
    out = fluxcli.parse_flux_output("Error: unable to connect: connection refused\n", 2)
    assert not out.ok and out.message == "unable to connect: connection refused"


def test_run_flux_maps_exit_codes():
    assert not fluxcli.run_flux(["flux"], 60, FakeRun(result(text("reconcile_failed.txt"), 1))).ok
    failed = FakeRun(CommandFailed("x", ["flux"], 2, "✗ boom\n"))
    assert fluxcli.run_flux(["flux"], 60, failed).message == "boom"
    with pytest.raises(CommandNotFound) as err:
        fluxcli.run_flux(["flux"], 60, FakeRun(CommandNotFound("flux: command not found")))
    assert "--no-flux" in err.value.hint


# --------------------------------------------------------------------------- the flux backend in a run

class Reads:
    """A stand-in ObjectReader: each read returns the next of `answers` ({ref: obj}), the
    last one again once they run out."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def read(self, refs):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_flux_backend_end_to_end():
    outputs = {"fleet": result(text("reconcile_kustomization_from_git.golden").split("► annotating Kustomization")[0]),
               "infra": result(text("reconcile_failed.txt"), 1),
               "apps": result(text("reconcile_kustomization_from_git.golden"))}
    run = FakeRun(lambda argv: outputs[argv[-1]])
    infra = ObjectRef("Kustomization", "flux-system", "infra")
    apps = ObjectRef("Kustomization", "flux-system", "apps")
    other = ObjectRef("Kustomization", "flux-system", "other")
    git = ObjectRef("GitRepository", "flux-system", "fleet")
    outputs["other"] = result(text("reconcile_kustomization_from_git.golden"))
    steps = [Step(git), Step(infra, (git,), git), Step(apps, (infra, git), git), Step(other, (git,), git)]
    backend = backends.FluxBackend(None, {}, run=run)
    backend.reader = Reads({})
    outcome = execute(Plan(steps), backend, sleep=lambda s: None, poll_interval=0)
    results = {r.ref.name: (r.result, r.message) for r in outcome.results}
    assert results["fleet"] == (READY, "fetched revision 6.3.5@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9")
    assert results["infra"][0] == FAILED
    assert results["apps"] == ("skipped", "dependency Kustomization/flux-system/infra failed")
    assert results["other"][0] == READY
    called = sorted(argv[-1] for argv, _ in run.calls)
    assert called == ["fleet", "infra", "other"]


def test_flux_waiting_then_ready_from_the_object():
    apps = ObjectRef("Kustomization", "flux-system", "apps")
    backend = backends.FluxBackend(None, {}, run=FakeRun(result(text("reconcile_dependency.txt"), 1)))
    waiting = parse_object(ks("apps", deps=["infra"], ready="False"))
    ready = parse_object(ks("apps", deps=["infra"]))
    backend.reader = Reads({apps: waiting}, {apps: waiting}, {apps: ready})
    seen = []
    outcome = execute(Plan([Step(apps)]), backend, sleep=lambda s: None, poll_interval=0, on_event=seen.append)
    assert outcome.results[0].result == READY
    assert [e.kind for e in seen if e.ref == apps][:2] == ["start", "waiting"]


def test_flux_ok_then_revision_rule_checked():
    infra = ObjectRef("Kustomization", "flux-system", "infra")
    git = ObjectRef("GitRepository", "flux-system", "flux-system")
    step = Step(infra, (), git, check_revision=True)
    backend = backends.FluxBackend(None, {}, run=FakeRun(result(text("reconcile_kustomization_from_git.golden"))))
    behind = parse_object(ks("infra", revision="main@sha1:" + "1" * 40))
    current = parse_object(ks("infra"))
    src = parse_object(gitrepo())
    backend.reader = Reads({infra: behind, git: src}, {infra: current, git: src})
    outcome = execute(Plan([step]), backend, sleep=lambda s: None, poll_interval=0)
    assert outcome.results[0].result == READY



def test_a_start_that_fails_at_once_frees_its_slot():
    # The executor starts new work only when something finished: a failed start counts.
    class FailsA(Backend):
        def start(self, step, timeout):
            if step.ref.name == "a":
                raise ClusterError("annotate refused")

        def poll(self, steps):
            return {s.ref: Observation(Observed.READY, "ok") for s in steps}

    a, b = ObjectRef("Kustomization", "ns", "a"), ObjectRef("Kustomization", "ns", "b")
    outcome = execute(Plan([Step(a), Step(b)]), FailsA(), parallel=1, sleep=lambda s: None, poll_interval=0)
    assert [(r.ref.name, r.result) for r in outcome.results] == [("a", FAILED), ("b", READY)]


def test_annotate_passes_the_users_global_flags_once():
    run = FakeRun(result(""))
    kubectl = Kubectl(KubeOptions(context="prod", kubeconfig="/k", request_timeout="10s"), run=run)
    kubectl.request_reconcile([KS], "2026-11-21T10:00:00.000000001Z")
    assert run.calls[-1][0] == [
        "kubectl", "--kubeconfig=/k", "--context=prod", "--request-timeout=10s", "annotate", "--overwrite",
        "-n", "team-a", "kustomizations.kustomize.toolkit.fluxcd.io/apps",
        "reconcile.fluxcd.io/requestedAt=2026-11-21T10:00:00.000000001Z"]
