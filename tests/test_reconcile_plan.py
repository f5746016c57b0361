"""The reconcile plan and scheduler, pure: graphs from dict literals, a simulated
backend and clock (no threads, no cluster)."""

import pytest

from kubectl_depgraph.model import ObjectRef
from kubectl_depgraph.judge.plan import StepResult, Step, plan, select
from kubectl_depgraph.reconcile.executor import (Backend, Observation, Observed, critical_path, execute,
                                                 judge, list_schedule)
from kubectl_depgraph.render.reconcile import render_event, render_notes, render_plan, render_summary
from kubectl_depgraph.render.style import Style
from kubectl_depgraph.model import parse_object
from tests.builders import REV, condition, gitrepo, graph_of, hr, ks


def K(name, ns="flux-system"):
    return ObjectRef("Kustomization", ns, name)


GIT = ObjectRef("GitRepository", "flux-system", "flux-system")
READY, FAILED, SKIPPED = StepResult.READY, StepResult.FAILED, StepResult.SKIPPED
SUSPENDED, INTERRUPTED = StepResult.SUSPENDED, StepResult.INTERRUPTED


def step_of(p, ref):
    """The plan's step for `ref`."""
    return next(s for s in p.steps if s.ref == ref)


def diamond(**extra):
    return graph_of(gitrepo(), ks("infra"), ks("cache", deps=["infra"]), ks("db", deps=["infra"]),
                    ks("apps", deps=["cache", "db"]), **extra)


# --------------------------------------------------------------------------- selection and plan

def test_all_workloads_in_scope():
    graph = graph_of(ks("a"), ks("b", ns="team"), hr("web", ns="team"))
    assert select(graph) == {K("a"), K("b", "team"), ObjectRef("HelmRelease", "team", "web")}
    assert select(graph, namespace="team", kind="Kustomization") == {K("b", "team")}


def test_names_with_dependents_and_dependencies():
    graph = diamond()
    assert select(graph, [K("cache")]) == {K("cache")}
    assert select(graph, [K("cache")], dependents=True) == {K("cache"), K("apps")}
    assert select(graph, [K("cache")], dependencies=True) == {K("cache"), K("infra")}


def test_a_source_name_is_refused():
    from tests.clirun import invoke
    from tests.conftest import EXAMPLE
    out = invoke(["reconcile", "--dry-run", "-f", EXAMPLE, "gitrepo/flux-system/flux-system"])
    assert out.code == 2 and out.stderr.splitlines() == [
        "error: GitRepository/flux-system/flux-system is a source: reconcile takes Kustomizations "
        "and HelmReleases",
        "hint: name the Kustomization or HelmRelease that uses it; its source is refreshed first"]


def test_diamond_waves_and_one_source_step():
    graph = diamond()
    p = plan(graph, select(graph))
    assert [(w, [s.ref.name for s in steps]) for w, steps in p.waves()] == [
        (1, ["flux-system", "infra"]), (2, ["cache", "db"]), (3, ["apps"])]
    assert step_of(p, K("apps")).needs == (K("cache"), K("db"), GIT)
    assert p.steps[0] == Step(GIT, wave=1)
    # infra shares the source with its dependents: the revision rule applies to it.
    assert step_of(p, K("infra")).check_revision and not step_of(p, K("apps")).check_revision


def test_plan_does_not_depend_on_input_order():
    docs = [gitrepo(), ks("infra"), ks("cache", deps=["infra"]), ks("db", deps=["infra"]),
            ks("apps", deps=["cache", "db"])]
    a = graph_of(*docs)
    b = graph_of(*reversed(docs))
    assert plan(a, select(a)) == plan(b, select(b))


def test_no_source():
    graph = diamond()
    p = plan(graph, select(graph), sources=False)
    assert not p.sources and step_of(p, K("infra")).needs == ()


def test_outside_dependency_not_ready_is_noted():
    graph = graph_of(gitrepo(), ks("infra", ready="False", reason="HealthCheckFailed", message="boom"),
                     ks("apps", deps=["infra"]))
    p = plan(graph, select(graph, [K("apps")]))
    assert [s.ref for s in p.workloads] == [K("apps")]
    assert p.outside[0].dependency == K("infra") and p.outside[0].dependents == (K("apps"),)
    assert "boom" in p.outside[0].message
    assert render_notes(p) == ("note: Kustomization/flux-system/infra is not ready (boom); "
                               "Kustomization/flux-system/apps will wait for it\n")


def test_cycle_members_and_dependents_excluded():
    graph = graph_of(ks("a", deps=["b"]), ks("b", deps=["a"]), ks("c", deps=["a"]), ks("solo"))
    p = plan(graph, select(graph), sources=False)
    assert [s.ref for s in p.steps] == [K("solo")]
    assert p.cycles == [[K("a"), K("b")]]
    why = {e.ref.name: e.message for e in p.excluded}
    assert why["a"] == "in a dependency cycle: flux-system/a → flux-system/b → flux-system/a"
    assert why["c"] == "depends on Kustomization/flux-system/a, which is in a dependency cycle"


def test_suspended_skip_and_blocking():
    graph = graph_of(ks("ok-paused", suspend=True), ks("uses-ok", deps=["ok-paused"]),
                     ks("bad-paused", suspend=True, ready="False", reason="BuildFailed", message="x"),
                     ks("uses-bad", deps=["bad-paused"]), ks("third", deps=["uses-bad"]))
    p = plan(graph, select(graph), sources=False)
    assert [s.ref for s in p.steps] == [K("uses-ok")]
    results = {e.ref.name: (e.result, e.message) for e in p.excluded}
    assert results["ok-paused"] == (SUSPENDED, "resource is suspended")
    assert results["bad-paused"][0] == SUSPENDED
    assert results["uses-bad"] == (SKIPPED, "dependency Kustomization/flux-system/bad-paused is suspended and not ready")
    assert results["third"] == (SKIPPED, "dependency Kustomization/flux-system/uses-bad is skipped")


def test_missing_dependency_skips_with_the_wrong_kind_hint():
    graph = graph_of(hr("redis", ns="flux-system"), ks("apps", deps=["redis"]))
    p = plan(graph, select(graph), sources=False)
    skipped = {e.ref.name: e.message for e in p.excluded}
    assert skipped["apps"] == ("dependency Kustomization/flux-system/redis does not exist; "
                               "a HelmRelease of that name exists, but a Kustomization can only "
                               "depend on Kustomizations")


def test_dry_run_text():
    graph = diamond()
    p = plan(graph, select(graph))
    text = render_plan(p, lambda step: f"do {step.ref.name}")
    assert text.splitlines()[0] == "Plan: 4 objects in 3 waves, 1 source refreshed first."
    assert "  Kustomization/flux-system/apps after flux-system/cache, flux-system/db\n    $ do apps" in text


# --------------------------------------------------------------------------- judging

def test_judge_waits_for_the_request_then_reads_ready():
    obj = parse_object(ks("apps"))
    step = Step(K("apps"))
    assert judge(step, obj, requested="t1").state == "pending"
    handled = parse_object({**ks("apps"), "status": {**ks("apps")["status"], "lastHandledReconcileAt": "t1"}})
    assert judge(step, handled, requested="t1") == Observation(Observed.READY, f"applied revision {REV}")
    waiting = parse_object(ks("apps", deps=["infra"], ready="False"))
    assert judge(step, waiting).state == Observed.WAITING
    failed = parse_object(ks("apps", ready="False", reason="BuildFailed", message="kustomize build failed"))
    assert judge(step, failed) == Observation(Observed.FAILED, "BuildFailed: kustomize build failed")
    stale = parse_object(ks("apps", generation=2, observed=1))
    assert judge(step, stale).state == Observed.PROGRESSING


def test_judge_revision_rule():
    step = Step(K("infra"), (), GIT, check_revision=True)
    behind = parse_object(ks("infra", revision="main@sha1:" + "0" * 40))
    assert judge(step, behind, source_obj=parse_object(gitrepo())).state == Observed.PROGRESSING
    assert judge(step, parse_object(ks("infra")), source_obj=parse_object(gitrepo())).state == Observed.READY



def test_judge_failure_retried_by_the_controller_fails_the_step():
    # The handled request ended Ready=False BuildFailed with Reconciling=True
    # ProgressingWithRetry (and the old observedGeneration): this run failed; waiting for
    # the controller's retry would only run into --timeout.
    m = ks("apps", ready="False", reason="BuildFailed", message="kustomize build failed",
           generation=2, observed=1)
    m["status"]["lastHandledReconcileAt"] = "t1"
    m["status"]["conditions"].append(condition("Reconciling", "True", "ProgressingWithRetry",
                                               "Detecting drift for revision x with a timeout of 50s"))
    obj = parse_object(m)
    assert judge(Step(K("apps")), obj, requested="t1") == Observation(Observed.FAILED, "BuildFailed: kustomize build failed")
    # A run in progress (Ready=Unknown, Reconciling Progressing) is still progressing.
    m["status"]["conditions"] = [condition("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
                                 condition("Reconciling", "True", "Progressing", "")]
    assert judge(Step(K("apps")), parse_object(m), requested="t1").state == Observed.PROGRESSING

# --------------------------------------------------------------------------- the scheduler

class SimBackend(Backend):
    """Each step takes durations[name] simulated seconds; outcome per name; a fake clock."""

    def __init__(self, durations, outcomes=None, interrupt_at=None):
        self.now = 0.0
        self.durations = durations
        self.outcomes = outcomes or {}
        self.started = {}
        self.interrupt_at = interrupt_at
        self.closed = None

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        if self.interrupt_at is not None and self.now >= self.interrupt_at:
            raise KeyboardInterrupt

    def start(self, step, timeout):
        self.started[step.ref.name] = self.now

    def poll(self, steps):
        seen = {}
        for step in steps:
            name = step.ref.name
            if self.now - self.started[name] >= self.durations.get(name, 1.0):
                outcome = self.outcomes.get(name, Observed.READY)
                if outcome != "never":
                    seen[step.ref] = Observation(outcome, f"{name} {outcome}")
            else:
                seen[step.ref] = Observation(Observed.PROGRESSING, "reconciling")
        return seen

    def close(self, interrupted=False):
        self.closed = interrupted


def run(graph, backend, **options):
    p = plan(graph, select(graph), sources=options.pop("sources", False))
    events = []
    outcome = execute(p, backend, clock=backend.clock, sleep=backend.sleep, on_event=events.append,
                      poll_interval=0.25, **options)
    return outcome, events


def test_no_barrier_and_critical_path():
    graph = graph_of(ks("slow"), ks("fast"), ks("after-fast", deps=["fast"]))
    sim = SimBackend({"slow": 5.0, "fast": 1.0, "after-fast": 1.0})
    outcome, _ = run(graph, sim)
    assert sim.started["after-fast"] == pytest.approx(1.0)
    assert outcome.ok and outcome.total == pytest.approx(5.0)
    assert outcome.critical_path == pytest.approx(5.0)


def test_parallel_bound_and_priority_to_the_longest_chain():
    graph = graph_of(ks("a"), ks("b"), ks("c"), ks("chain1"), ks("chain2", deps=["chain1"]),
                     ks("chain3", deps=["chain2"]))
    sim = SimBackend({})
    run(graph, sim, parallel=1)
    assert min(sim.started, key=sim.started.get) == "chain1"
    starts = sorted(sim.started.values())
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(starts, starts[1:]))


def test_failure_skips_dependents_only():
    graph = diamond()
    sim = SimBackend({}, outcomes={"cache": Observed.FAILED})
    outcome, events = run(graph, sim)
    results = {r.ref.name: (r.result, r.message) for r in outcome.results}
    assert results["apps"] == (SKIPPED, "dependency Kustomization/flux-system/cache failed")
    assert results["db"][0] == READY
    assert "apps" not in sim.started
    assert not outcome.ok
    assert [e.kind for e in events if e.ref == K("apps")] == ["skipped"]


def test_fail_fast():
    graph = graph_of(ks("bad"), ks("x1"), ks("x2"), ks("x3"))
    sim = SimBackend({"bad": 0.5}, outcomes={"bad": Observed.FAILED})
    outcome, _ = run(graph, sim, parallel=1, fail_fast=True)
    results = {r.ref.name: r.result for r in outcome.results}
    assert results["bad"] == FAILED
    assert list(results.values()).count(SKIPPED) == 3


def test_timeout():
    graph = graph_of(ks("stuck"), ks("after", deps=["stuck"]))
    sim = SimBackend({}, outcomes={"stuck": "never"})
    outcome, _ = run(graph, sim, timeout=3.0)
    results = {r.ref.name: (r.result, r.message) for r in outcome.results}
    assert results["stuck"] == (FAILED, "timed out after 3.0s (reconciling)")
    assert results["after"][0] == SKIPPED


def test_ctrl_c_reports_in_flight_and_stops():
    graph = graph_of(ks("a"), ks("b", deps=["a"]))
    sim = SimBackend({"a": 10.0}, interrupt_at=2.0)
    outcome, events = run(graph, sim)
    results = {r.ref.name: r.result for r in outcome.results}
    assert outcome.interrupted and results == {"a": INTERRUPTED, "b": SKIPPED}
    assert sim.closed is True
    assert render_event(events[-1]).endswith("Kustomization/flux-system/a interrupted after 2.0s")


def test_summary_text():
    graph = diamond()
    sim = SimBackend({"flux-system": 0.5, "infra": 1.0, "cache": 2.0, "db": 1.0, "apps": 1.0})
    outcome, events = run(graph, sim, sources=True)
    text = render_summary(outcome)
    assert text.splitlines()[0].split() == ["OBJECT", "RESULT", "DURATION", "MESSAGE"]
    # The plan said "4 objects …, 1 source refreshed first": the same counts, sources apart.
    assert text.rstrip().endswith("4 objects: 4 ready; 1 source: 1 ready; total 4.5s, critical path 4.5s (1.00×)")
    assert render_event(events[0]) == "[   0ms] ► refreshing source GitRepository/flux-system/flux-system"


def test_critical_path_helper():
    a, b, c = Step(K("a")), Step(K("b"), (K("a"),)), Step(K("c"))
    assert critical_path([a, b, c], {K("a"): 1.0, K("b"): 2.0, K("c"): 2.5}) == 3.0


def test_summary_repeats_a_cut_failure_message_in_full():
    from kubectl_depgraph.reconcile.executor import Outcome, Result
    msg = ('kustomizations.kustomize.toolkit.fluxcd.io "b" is forbidden: User "jane" cannot patch '
           'resource "kustomizations" in API group "kustomize.toolkit.fluxcd.io" in the namespace "flux-system"')
    text = render_summary(Outcome([Result(K("a"), READY, "ok", 1.0), Result(K("b"), FAILED, msg, 0.1)], 1.0, 1.0),
                          style=Style(unicode=False))
    assert text.splitlines()[-3] == f"x Kustomization/flux-system/b: {msg}"
    assert text.splitlines()[-1] == "2 objects: 1 ready, 1 failed; total 1.0s, critical path 1.0s (1.00x)"


# --------------------------------------------------------------------------- issue 10

def H(name, ns="databases"):
    return ObjectRef("HelmRelease", ns, name)


def test_skip_names_the_cycle_member_on_its_path():
    graph = graph_of(ks("loop-x", deps=["loop-y"]), ks("loop-y", deps=["loop-x"]),
                     ks("after-loop", deps=["loop-y"]), ks("further", deps=["after-loop"]))
    p = plan(graph, select(graph), sources=False)
    why = {e.ref.name: e.message for e in p.excluded}
    assert why["after-loop"] == "depends on Kustomization/flux-system/loop-y, which is in a dependency cycle"
    assert why["further"] == ("depends on Kustomization/flux-system/loop-y (through "
                              "Kustomization/flux-system/after-loop), which is in a dependency cycle")


def health_graph():
    """apps health-checks the postgres HelmRelease; web depends on apps."""
    check = [{"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "postgres",
              "namespace": "databases"}]
    return graph_of(gitrepo(), hr("postgres", ns="databases"), ks("apps", healthChecks=check),
                    ks("web", deps=["apps"]), ks("other"))


def test_dependents_include_health_check_holders_ordered_after():
    graph = health_graph()
    chosen = select(graph, [H("postgres")], dependents=True)
    assert chosen == {H("postgres"), K("apps"), K("web")}
    p = plan(graph, chosen, sources=False)
    assert [s.ref for s in p.steps] == [H("postgres"), K("apps"), K("web")]
    assert step_of(p, K("apps")).needs == (H("postgres"),)
    assert [(w, [s.ref.name for s in steps]) for w, steps in p.waves()] == [
        (1, ["postgres"]), (2, ["apps"]), (3, ["web"])]


def test_health_check_holder_waits_even_when_sorted_first():
    # "a-checker" sorts before the Kustomization it health-checks: still ordered after it.
    check = [{"kind": "Kustomization", "name": "zz", "namespace": "flux-system"}]
    graph = graph_of(ks("a-checker", healthChecks=check), ks("zz"))
    p = plan(graph, select(graph), sources=False)
    assert [s.ref.name for s in p.steps] == ["zz", "a-checker"]
    assert step_of(p, K("a-checker")).needs == (K("zz"),)


def helmchart(name, ns="flux-system", repo="bitnami", kind="HelmRepository"):
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
            "metadata": {"name": name, "namespace": ns, "generation": 1},
            "spec": {"chart": "x", "sourceRef": {"kind": kind, "name": repo}},
            "status": {"observedGeneration": 1, "artifact": {"revision": "1.0.0"},
                       "conditions": [condition("Ready", "True", "ChartPullSucceeded", "pulled x@1.0.0")]}}


def helmrepo(name="bitnami", ns="flux-system"):
    doc = gitrepo(name, ns)
    doc["kind"] = "HelmRepository"
    return doc


def test_helm_release_chart_refreshed_after_its_repository_once_each():
    graph = graph_of(helmrepo(), helmchart("apps-web"), helmchart("apps-api"),
                     hr("web"), hr("api"))
    p = plan(graph, select(graph))
    repo = ObjectRef("HelmRepository", "flux-system", "bitnami")
    web_chart = ObjectRef("HelmChart", "flux-system", "apps-web")
    api_chart = ObjectRef("HelmChart", "flux-system", "apps-api")
    assert [s.ref for s in p.steps] == [repo, api_chart, H("api", "apps"), web_chart, H("web", "apps")]
    assert step_of(p, api_chart).needs == (repo,) and step_of(p, web_chart).needs == (repo,)
    assert step_of(p, H("web", "apps")).needs == (web_chart,)


def test_chart_ref_to_a_helm_chart_refreshes_its_source_first():
    doc = hr("web")
    doc["spec"] = {"interval": "30m", "chartRef": {"kind": "HelmChart", "name": "shared",
                                                   "namespace": "flux-system"}}
    graph = graph_of(helmrepo(), helmchart("shared"), doc)
    p = plan(graph, select(graph))
    assert [s.ref.kind for s in p.steps] == ["HelmRepository", "HelmChart", "HelmRelease"]


def test_missing_helm_chart_leaves_the_repository_step():
    graph = graph_of(helmrepo(), hr("web"))
    p = plan(graph, select(graph))
    assert [s.ref.kind for s in p.steps] == ["HelmRepository", "HelmRelease"]


def test_judge_stalled_helm_release_says_reset_is_what_it_needs():
    m = hr("db", ready="False", reason="InstallFailed", message="Helm install failed: timed out")
    m["status"]["conditions"].append(condition("Stalled", "True", "RetriesExceeded",
                                               "Failed to install after 3 attempt(s)"))
    obj = parse_object(m)
    step = Step(ObjectRef("HelmRelease", "apps", "db"))
    assert judge(step, obj) == Observation(
        Observed.FAILED, "RetriesExceeded: Failed to install after 3 attempt(s); retries are exhausted: "
                         "rerun with --reset to clear the failure counts")
    assert judge(step, obj, reset=True) == Observation(
        Observed.FAILED, "RetriesExceeded: Failed to install after 3 attempt(s)")


def test_summary_of_a_run_bound_by_parallel_says_so():
    # cache and db could run together, but --parallel 1 makes them wait for each other.
    graph = diamond()
    sim = SimBackend({"infra": 1.0, "cache": 2.0, "db": 1.0, "apps": 1.0})
    outcome, _ = run(graph, sim, parallel=1)
    assert outcome.slot_bound and outcome.critical_path == 4.0 and outcome.scheduled_path == 5.0
    assert render_summary(outcome).splitlines()[-1] == (
        "4 objects: 4 ready; total 5.0s, critical path 4.0s; bound by --parallel 1: 5.0s on 1 slot (1.00×)")
    free, _ = run(graph, SimBackend({"infra": 1.0, "cache": 2.0, "db": 1.0, "apps": 1.0}), parallel=4)
    assert not free.slot_bound and render_summary(free).splitlines()[-1].endswith("critical path 4.0s (1.00×)")


def test_list_schedule_helper():
    a, b, c, d = Step(K("a")), Step(K("b"), (K("a"),)), Step(K("c")), Step(K("d"))
    durations = {K("a"): 1.0, K("b"): 2.0, K("c"): 2.5, K("d"): 1.0}
    assert list_schedule([a, b, c, d], durations, 1) == 6.5
    # Two slots: the longest remaining chain (a → b, 3 s) first, then c, then d.
    assert list_schedule([a, b, c, d], durations, 2) == 3.5
    assert list_schedule([a, b, c, d], durations, 4) == critical_path([a, b, c, d], durations) == 3.0


def test_plan_head_counts_what_is_left_out():
    graph = graph_of(ks("a", deps=["b"]), ks("b", deps=["a"]), ks("solo"))
    text = render_plan(plan(graph, select(graph), sources=False), lambda s: "cmd")
    assert text.splitlines()[:2] == ["Plan: 1 object in 1 wave.", "2 more selected objects not reconciled (see below)."]


def test_not_reconciled_lines_fit_the_terminal_not_100_columns():
    long = "x" * 150
    graph = graph_of(hr("redis", ns="flux-system"), ks("apps", deps=["redis"]),
                     ks("paused", suspend=True, ready="False", reason="BuildFailed", message=long))
    p = plan(graph, select(graph), sources=False)
    wide = render_plan(p, lambda s: "cmd")
    assert long in wide                      # not a terminal: whole
    narrow = render_plan(p, lambda s: "cmd", style=Style(width=60))
    lines = narrow.split("Not reconciled:")[1].strip("\n").splitlines()
    assert lines and all(len(line) <= 60 for line in lines) and lines[-1].endswith("…")
