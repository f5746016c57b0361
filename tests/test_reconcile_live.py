"""`kubectl depgraph reconcile` through the real kubectl against the API-server double's
simulated Flux controller (tests/apiserver.py FluxController): order, overlap, no wave
barrier, failures, timeouts, suspension, cycles, source deduplication, dry-run."""

import threading
import time

import pytest

from kubectl_depgraph.cli.reconcile import parse_timeout
from tests.apiserver import TEST_DELAY, TEST_OUTCOME, helmrelease, kustomization, source
from tests.clirun import invoke
from tests.conftest import load_scenario

FS = "flux-system"


@pytest.fixture
def live(apiserver, kube_env):
    """live(objects, **controller options) -> (server, env) with the controller running."""
    def start(objects, **controller):
        server = apiserver(objects, controller=True,
                           controller_options={"delay": 0.05, "requeue_interval": 0.5, **controller})
        return server, kube_env(server)
    return start


def ks(name, delay=0.1, **kw):
    annotations = {TEST_DELAY: str(delay), **kw.pop("annotations", {})}
    return kustomization(name, annotations=annotations, **kw)


def git(name=FS, delay=0.1, **kw):
    return source("GitRepository", name, annotations={TEST_DELAY: str(delay)}, **kw)


def reconcile(env, *args):
    return invoke(["reconcile", "--no-flux", *args], env=env)


def handling(server, name, kind="Kustomization", ns=FS):
    """The controller's last handling of a request for the object (start, end)."""
    hs = [h for h in server.controller.handled(kind, ns, name) if h.trigger == "request" and h.end]
    assert hs, f"{kind}/{ns}/{name} was never reconciled on request"
    return hs[-1]


def test_diamond_order_and_sibling_overlap(live):
    server, env = live(load_scenario("reconcile-diamond"))
    out = reconcile(env)
    assert out.code == 0, out.stderr
    src, infra = handling(server, FS, "GitRepository"), handling(server, "infra")
    cache, db, apps = handling(server, "cache"), handling(server, "db"), handling(server, "apps")
    assert src.end <= infra.start
    assert infra.end <= cache.start and infra.end <= db.start
    assert max(cache.end, db.end) <= apps.start
    assert cache.start < db.end and db.start < cache.end, "siblings should run at the same time"
    assert "5 ready" in out.stdout and "critical path" in out.stdout
    assert "✔ Kustomization/flux-system/apps ready in" in out.stderr


def test_deep_chain_in_order(live):
    names = [f"level{i}" for i in range(5)]
    objects = [git()] + [ks(n, depends_on=[names[i - 1]] if i else []) for i, n in enumerate(names)]
    server, env = live(objects)
    out = reconcile(env, "level4", "--dependencies")
    assert out.code == 0, out.stderr
    spans = [handling(server, n) for n in names]
    for before, after in zip(spans, spans[1:]):
        assert before.end <= after.start
    # The controllers never had to poll: every hop was started by depgraph.
    assert not server.controller.handled(result="dependency-not-ready")


def test_no_wave_barrier(live):
    # slow and fast are both wave 1; after-fast must start long before slow ends.
    objects = [git(), ks("slow", delay=2.5), ks("fast", delay=0.1),
               ks("after-fast", delay=0.1, depends_on=["fast"])]
    server, env = live(objects)
    out = reconcile(env)
    assert out.code == 0, out.stderr
    assert handling(server, "after-fast").end < handling(server, "slow").end - 1.0


def test_failure_skips_dependents_independent_branches_go_on(live):
    objects = [git(), ks("infra"), ks("db", depends_on=["infra"], annotations={TEST_OUTCOME: "fail"}),
               ks("apps", depends_on=["db"]), ks("web", depends_on=["apps"]),
               ks("cache", depends_on=["infra"])]
    server, env = live(objects)
    out = reconcile(env)
    assert out.code == 1
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.startswith("Kustomization/")}
    assert " failed " in lines["Kustomization/flux-system/db"]
    assert "health check failed" in lines["Kustomization/flux-system/db"]
    assert "dependency Kustomization/flux-system/db failed" in lines["Kustomization/flux-system/apps"]
    assert "dependency Kustomization/flux-system/db failed" in lines["Kustomization/flux-system/web"]
    assert " ready " in lines["Kustomization/flux-system/cache"]
    assert server.controller.handled_count("Kustomization", FS, "apps") == 0
    assert "✗ Kustomization/flux-system/db failed after" in out.stderr


def test_fail_fast_starts_nothing_new(live):
    objects = [git(), ks("bad", delay=0.1, annotations={TEST_OUTCOME: "fail"}),
               ks("later", depends_on=["other"]), ks("other", delay=1.0)]
    server, env = live(objects)
    out = reconcile(env, "--fail-fast", "--parallel", "2")
    assert out.code == 1
    assert "--fail-fast" in out.stdout
    assert server.controller.handled_count("Kustomization", FS, "later") == 0


def test_timeout_fails_the_object_and_skips_dependents(live):
    objects = [git(), ks("stuck", annotations={TEST_OUTCOME: "never"}), ks("after", depends_on=["stuck"])]
    server, env = live(objects)
    started = time.monotonic()
    out = reconcile(env, "--timeout", "1s")
    assert time.monotonic() - started < 8
    assert out.code == 1
    assert "timed out after 1.0s" in out.stdout
    assert "dependency Kustomization/flux-system/stuck failed" in out.stdout


def test_suspended_skipped_and_dependents_of_not_ready_ones(live):
    objects = [git(), ks("paused-ready", suspend=True), ks("uses-ready", depends_on=["paused-ready"]),
               ks("paused-broken", suspend=True, ready=False), ks("uses-broken", depends_on=["paused-broken"])]
    server, env = live(objects)
    out = reconcile(env)
    assert out.code == 1     # uses-broken is skipped
    rows = {line.split()[0]: line.split()[1] for line in out.stdout.splitlines()
            if line.startswith("Kustomization/")}
    assert rows == {"Kustomization/flux-system/paused-ready": "suspended",
                    "Kustomization/flux-system/paused-broken": "suspended",
                    "Kustomization/flux-system/uses-ready": "ready",
                    "Kustomization/flux-system/uses-broken": "skipped"}
    assert not [w for w in server.writes() if "paused" in w.path]


def test_cycles_are_reported_not_reconciled(live):
    server, env = live(load_scenario("reconcile-cycle"))
    out = reconcile(env)
    assert out.code == 1
    assert "dependency cycle" in out.stderr
    assert "flux-system/a → flux-system/b → flux-system/a" in out.stdout
    assert "depends on Kustomization/flux-system/a, which is in a dependency cycle" in out.stdout
    assert [w.path.rsplit("/", 1)[-1] for w in server.writes()
            if "kustomizations" in w.path] == ["solo"]


def test_each_source_fetched_once(live):
    objects = [git(), source("HelmRepository", "charts")] + \
        [ks(f"app{i}", depends_on=["app0"] if i else []) for i in range(4)] + \
        [helmrelease(f"hr{i}") for i in range(3)]
    server, env = live(objects)
    out = reconcile(env, "--parallel", "8")
    assert out.code == 0, out.stderr
    assert server.controller.handled_count("GitRepository", FS, FS) == 1
    assert server.controller.handled_count("HelmRepository", FS, "charts") == 1
    git_done = handling(server, FS, "GitRepository").end
    assert all(handling(server, f"app{i}").start >= git_done for i in range(4))


def test_no_source_leaves_sources_alone(live):
    server, env = live([git(), ks("apps")])
    out = reconcile(env, "--no-source")
    assert out.code == 0, out.stderr
    assert server.controller.handled_count("GitRepository", FS, FS) == 0


def test_waiting_on_a_dependency_outside_the_selection(live):
    # infra is not selected and not ready; apps waits (DependencyNotReady is not failure)
    # until infra becomes ready, then the controller's requeue finishes it.
    objects = [git(), ks("infra", ready=False), ks("apps", depends_on=["infra"])]
    server, env = live(objects)

    def heal():
        time.sleep(1.5)
        server.controller.request("Kustomization", FS, "infra")
    threading.Thread(target=heal, daemon=True).start()
    out = reconcile(env, "apps", "--timeout", "20s")
    assert out.code == 0, out.stdout + out.stderr
    assert "◎ Kustomization/flux-system/apps waiting" in out.stderr
    assert "flux-system/infra is not ready" in out.stderr


def test_dry_run_writes_nothing(live, golden):
    server, env = live(load_scenario("reconcile-diamond"))
    out = reconcile(env, "--dry-run")
    assert out.code == 0
    assert server.writes() == []
    assert "wave 3" in out.stdout and "kubectl annotate --overwrite -n flux-system" in out.stdout


def test_dry_run_with_flux_prints_flux_commands(live):
    server, env = live(load_scenario("reconcile-diamond"))
    out = invoke(["reconcile", "--flux", "--dry-run", "apps", "--dependencies"], env=env)
    assert out.code == 0, out.stderr
    assert "$ flux reconcile kustomization -n flux-system --timeout 5m0s -- infra" in out.stdout
    assert "$ flux reconcile source git -n flux-system --timeout 5m0s -- flux-system" in out.stdout
    assert server.writes() == []


def test_unknown_name_is_a_usage_error(live):
    server, env = live(load_scenario("reconcile-diamond"))
    out = reconcile(env, "nope")
    assert out.code == 2
    assert "no Flux object matches 'nope'" in out.stderr


@pytest.mark.parametrize("value,seconds", [("5m", 300), ("90s", 90), ("1h30m", 5400), ("20", 20),
                                           ("nope", None), ("0s", None)])
def test_parse_timeout(value, seconds):
    assert parse_timeout(value) == seconds
