"""`kubectl depgraph reconcile` through the real kubectl against the API-server double's
simulated Flux controller (tests/apiserver.py FluxController): order, overlap, no wave
barrier, failures, timeouts, suspension, cycles, source deduplication, dry-run."""

import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest

from kubectl_depgraph.cli.reconcile import parse_timeout
from tests.apiserver import TEST_DELAY, TEST_OUTCOME, helmchart, helmrelease, kustomization, source
from tests.clirun import invoke, on_a_terminal, summary_rows
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
    assert "4 objects: 4 ready; 1 source: 1 ready" in out.stdout and "critical path" in out.stdout
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
    # --no-source: under load the source's own request could outlast a 1 s timeout too
    out = reconcile(env, "--timeout", "1s", "--no-source")
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


# --------------------------------------------------------------------------- issue 10

FAKE_FLUX = Path(__file__).parent / "fake_flux.py"


@pytest.fixture
def with_flux(tmp_path):
    """with_flux(env, poll=2) -> env with tests/fake_flux.py on PATH as `flux` (polling
    every `poll` seconds like the real CLI)."""
    bindir = tmp_path / "flux-bin"
    bindir.mkdir()
    launcher = bindir / "flux"
    launcher.write_text(f"#!{sys.executable}\nimport runpy, sys\nsys.argv[0] = 'flux'\n"
                        f"runpy.run_path({str(FAKE_FLUX)!r}, run_name='__main__')\n")
    launcher.chmod(0o755)

    def add(env, poll=2):
        return {**env, "PATH": str(bindir) + os.pathsep + env["PATH"], "FAKE_FLUX_POLL": str(poll)}
    return add


def test_flux_missing_fails_at_once(live):
    server, env = live([git(), ks("apps")])
    env = {**env, "PATH": os.path.dirname(env["KUBECTL"])}   # kubectl only, no flux
    started = time.monotonic()
    out = invoke(["reconcile", "--flux", "--timeout", "5m"], env=env)
    assert time.monotonic() - started < 10
    assert out.code == 4
    assert out.stderr.splitlines() == ["error: flux not found: 'flux' is not an executable on PATH",
                                       "hint: install the flux CLI, or pass --no-flux to use kubectl"]
    assert out.stdout == "" and server.writes() == []


def test_dry_run_with_flux_says_flux_is_missing(live):
    server, env = live([git(), ks("apps")])
    env = {**env, "PATH": os.path.dirname(env["KUBECTL"])}
    out = invoke(["reconcile", "--flux", "--dry-run"], env=env)
    assert out.code == 0, out.stderr
    assert "note: flux is not on PATH: install the flux CLI to run these commands, or use --no-flux" \
        in out.stdout.splitlines()
    assert "$ flux reconcile kustomization -n flux-system --timeout 5m0s -- apps" in out.stdout


def test_flux_path_stops_at_a_terminal_failure_with_its_cause(live, with_flux):
    objects = [git(), ks("db", annotations={TEST_OUTCOME: "fail"}), ks("apps", depends_on=["db"])]
    server, env = live(objects)
    started = time.monotonic()
    out = invoke(["reconcile", "--flux", "--timeout", "40s"], env=with_flux(env))
    took = time.monotonic() - started
    assert out.code == 1, out.stdout + out.stderr
    result, message = summary_rows(out)["Kustomization/flux-system/db"]
    assert result == "failed"
    assert message.startswith("HealthCheckFailed: health check failed after 30.001s"), message
    assert summary_rows(out)["Kustomization/flux-system/apps"][0] == "skipped"
    assert took < 30, f"waited {took:.0f}s: the failure should end the step, not the timeout"


def test_flux_path_does_not_wait_for_the_cli_poll(live, with_flux):
    # The CLI polls every 2 s (30 s here); depgraph's own watch sees each hop at once.
    names = ["one", "two", "three"]
    objects = [git()] + [ks(n, depends_on=[names[i - 1]] if i else []) for i, n in enumerate(names)]
    server, env = live(objects)
    out = invoke(["reconcile", "--flux", "--timeout", "2m"], env=with_flux(env, poll=30))
    assert out.code == 0, out.stdout + out.stderr
    spans = [handling(server, n) for n in names]
    assert spans[-1].end - spans[0].start < 25, "a hop waited for flux's poll"
    assert "3 objects: 3 ready; 1 source: 1 ready" in out.stdout


def stalled_release():
    return [source("HelmRepository", "charts"),
            helmrelease("postgres", "databases", stalled=True, annotations={TEST_DELAY: "0.1"})]


def test_stalled_release_says_reset_is_needed(live):
    server, env = live(stalled_release())
    out = reconcile(env, "hr/databases/postgres")
    assert out.code == 1
    result, message = summary_rows(out)["HelmRelease/databases/postgres"]
    assert result == "failed"
    assert "retries are exhausted: rerun with --reset" in out.stdout
    assert server.get_object("HelmRelease", "databases", "postgres")["status"]["installFailures"] == 3


@pytest.mark.parametrize("path", ["--no-flux", "--flux"])
def test_reset_clears_a_stalled_release(live, with_flux, path):
    server, env = live(stalled_release())
    out = invoke(["reconcile", path, "hr/databases/postgres", "--reset", "--force"], env=with_flux(env))
    assert out.code == 0, out.stdout + out.stderr
    obj = server.get_object("HelmRelease", "databases", "postgres")
    ann = obj["metadata"]["annotations"]
    assert ann["reconcile.fluxcd.io/resetAt"] == ann["reconcile.fluxcd.io/requestedAt"] == \
        ann["reconcile.fluxcd.io/forceAt"]
    assert "installFailures" not in obj["status"]
    assert not [c for c in obj["status"]["conditions"] if c["type"] == "Stalled"]


def test_dry_run_shows_reset_and_force(live):
    server, env = live(stalled_release())
    out = reconcile(env, "hr/databases/postgres", "--reset", "--dry-run")
    assert out.code == 0, out.stderr
    assert ('reconcile.fluxcd.io/requestedAt="$now" reconcile.fluxcd.io/resetAt="$now"') in out.stdout
    out = invoke(["reconcile", "--flux", "hr/databases/postgres", "--reset", "--force", "--dry-run"], env=env)
    assert "$ flux reconcile helmrelease -n databases --reset --force --timeout 5m0s -- postgres" in out.stdout


def test_dependents_include_the_kustomization_that_health_checks_it(live):
    check = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "postgres",
             "namespace": "databases"}
    checker = ks("databases-ready")
    checker["spec"]["healthChecks"] = [check]
    objects = [git(), source("HelmRepository", "charts"),
               helmrelease("postgres", "databases", annotations={TEST_DELAY: "0.3"}),
               checker, ks("apps", depends_on=["databases-ready"]), ks("unrelated")]
    server, env = live(objects)
    out = reconcile(env, "hr/databases/postgres", "--dependents")
    assert out.code == 0, out.stdout + out.stderr
    pg = handling(server, "postgres", "HelmRelease", "databases")
    gate, apps = handling(server, "databases-ready"), handling(server, "apps")
    assert pg.end <= gate.start and gate.end <= apps.start
    assert server.controller.handled_count("Kustomization", FS, "unrelated") == 0
    assert "3 objects: 3 ready" in out.stdout


def test_helm_chart_refreshed_after_its_repository(live):
    releases = [helmrelease(f"web{i}", "apps", repo="charts", annotations={TEST_DELAY: "0.1"})
                for i in range(2)]
    for r in releases:
        r["spec"]["chart"]["spec"]["sourceRef"]["namespace"] = FS
    objects = [source("HelmRepository", "charts", annotations={TEST_DELAY: "0.1"}), *releases,
               *[helmchart(r, annotations={TEST_DELAY: "0.1"}) for r in releases]]
    server, env = live(objects)
    out = reconcile(env, "--parallel", "8")
    assert out.code == 0, out.stdout + out.stderr
    assert server.controller.handled_count("HelmRepository", FS, "charts") == 1
    repo = handling(server, "charts", "HelmRepository")
    for i in range(2):
        chart = handling(server, f"apps-web{i}", "HelmChart")
        release = handling(server, f"web{i}", "HelmRelease", "apps")
        assert server.controller.handled_count("HelmChart", FS, f"apps-web{i}") == 1
        assert repo.end <= chart.start and chart.end <= release.start
    assert "2 objects: 2 ready; 3 sources: 3 ready" in out.stdout


def test_live_line_fits_an_80_column_terminal(live):
    names = [f"a-rather-long-kustomization-name-{i}" for i in range(6)]
    server, env = live([git()] + [ks(n, delay=0.5) for n in names])
    code, raw = on_a_terminal(["reconcile", "--no-flux"], dict(env, NO_COLOR="1"), columns=80, stream="stderr")
    assert code == 0, raw
    parts = [part.replace("\x1b[K", "") for line in raw.replace("\r\n", "\n").split("\n")
             for part in line.split("\r")]
    live_lines = [part for part in parts if re.search(r"running \d+.*queued \d+", part)]
    assert len(live_lines) > 3, raw
    # Never wider than the terminal (a wrapped line leaves fragments the \r cannot clear).
    assert max(len(part) for part in live_lines) < 80, live_lines
    assert any(part.endswith("…") for part in live_lines)
