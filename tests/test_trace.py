"""`reconcile --trace FILE`: a real run through the real kubectl against the API-server
double writes a trace-event JSON (or a Mermaid Gantt chart) whose marked critical path is
the run's own."""

import json
import re

from kubectl_depgraph.judge.plan import Plan, Step, StepResult, critical_chain
from kubectl_depgraph.model import ObjectRef
from kubectl_depgraph.reconcile.executor import Outcome, Result, critical_path
from kubectl_depgraph.render.trace import render_trace
from tests.test_reconcile_live import git, ks, live, reconcile  # noqa: F401 (live: a fixture)

CRITICAL = re.compile(r"critical path (\d+(?:\.\d+)?)(ms|s)")


def _seconds(stdout):
    value, unit = CRITICAL.search(stdout).groups()
    return float(value) / (1000 if unit == "ms" else 1)


def test_live_run_writes_a_trace_whose_critical_path_is_the_runs(live, tmp_path):
    objects = [git(), ks("infra", delay=0.3), ks("slow", delay=0.8, depends_on=["infra"]),
               ks("fast", delay=0.1, depends_on=["infra"]), ks("apps", delay=0.2, depends_on=["slow", "fast"])]
    server, env = live(objects)
    path = tmp_path / "run.json"
    out = reconcile(env, "--trace", path)
    assert out.code == 0, out.stderr
    trace = json.loads(path.read_text())
    events = trace["traceEvents"]
    assert all({"ph", "pid", "tid", "name"} <= set(e) for e in events)
    complete = [e for e in events if e["ph"] == "X"]
    assert all(isinstance(e["ts"], int) and isinstance(e["dur"], int) and e["dur"] >= 0 for e in complete)
    runs = {e["name"]: e for e in complete if e["cat"] in ("reconcile", "source")}
    assert set(runs) == {"GitRepository/flux-system/flux-system"} | \
        {f"Kustomization/flux-system/{n}" for n in ("infra", "slow", "fast", "apps")}
    assert len({e["tid"] for e in runs.values()}) == 5, "one row per object"
    marked = [e for e in runs.values() if e["args"]["critical"]]
    assert [e["name"].rsplit("/", 1)[1] for e in sorted(marked, key=lambda e: e["ts"])] == \
        ["flux-system", "infra", "slow", "apps"]
    total = sum(e["dur"] for e in marked) / 1e6
    # The summary prints the critical path rounded; the trace's metadata has it exactly.
    assert abs(total - trace["metadata"]["critical_path_s"]) < 1e-4
    assert abs(total - _seconds(out.stdout)) <= 0.06 * total
    # A dependent's wait on its dependencies ends when the last of them was ready.
    apps_wait = next(e for e in complete if e["name"] == "waiting on dependencies"
                     and e["args"]["object"] == "Kustomization/flux-system/apps")
    slow = runs["Kustomization/flux-system/slow"]
    assert abs(apps_wait["dur"] - (slow["ts"] + slow["dur"])) <= 1
    assert "trace written to" in out.stderr
    # Per object: requested (nested in its reconcile), then handled by the controller.
    for name, run in runs.items():
        requested = next(e for e in complete if e["name"] == "requested" and e["args"]["object"] == name)
        handled = next(e for e in events if e["name"] == "handled" and e["args"]["object"] == name)
        assert run["ts"] == requested["ts"] and requested["dur"] <= run["dur"]
        assert abs(handled["ts"] - (requested["ts"] + requested["dur"])) <= 1


def test_live_run_writes_a_mermaid_gantt(live, tmp_path):
    server, env = live([git(), ks("infra"), ks("apps", depends_on=["infra"])])
    path = tmp_path / "run.mmd"
    out = reconcile(env, "--trace", path)
    assert out.code == 0, out.stderr
    text = path.read_text()
    assert text.startswith("gantt\n") and "    dateFormat x\n" in text
    assert "    section Kustomization/flux-system/apps\n" in text
    assert re.search(r"^    reconcile ready :crit, done, s3, \d+, \d+$", text, re.M)
    md = tmp_path / "run.md"
    assert reconcile(env, "--trace", md).code == 0
    assert md.read_text().startswith("```mermaid\ngantt\n")


def test_trace_with_dry_run_is_a_usage_error(tmp_path):
    from tests.clirun import invoke
    out = invoke(["reconcile", "--dry-run", "--trace", tmp_path / "t.json", "-f", "/dev/null"])
    assert out.code == 2 and "--trace records a run" in out.stderr


def K(name):
    return ObjectRef("Kustomization", "ns", name)


def test_critical_chain_and_marks_pure():
    a, b, c = Step(K("a")), Step(K("b"), needs=(K("a"),)), Step(K("c"), needs=(K("a"),))
    durations = {K("a"): 1.0, K("b"): 2.0, K("c"): 0.5}
    assert critical_chain([a, b, c], durations) == [K("a"), K("b")]
    assert critical_path([a, b, c], durations) == 3.0
    results = [Result(K("a"), StepResult.READY, "", 1.0, 0.0), Result(K("b"), StepResult.READY, "", 2.0, 1.0),
               Result(K("c"), StepResult.FAILED, "boom", 0.5, 1.2)]
    outcome = Outcome(results, 3.0, 3.0, parallel=4)
    trace = json.loads(render_trace("t.json", Plan(steps=[a, b, c]), outcome))
    marked = {e["name"]: e["dur"] for e in trace["traceEvents"] if e["ph"] == "X" and e["args"].get("critical")}
    assert marked == {"Kustomization/ns/a": 1_000_000, "Kustomization/ns/b": 2_000_000}
    slot = [e for e in trace["traceEvents"] if e["name"] == "queued"]
    assert [(e["ts"], e["dur"]) for e in slot] == [(1_000_000, 200_000)]
    gantt = render_trace("t.mmd", Plan(steps=[a, b, c]), outcome)
    assert "    reconcile failed :active, s3, 1200, 1700\n" in gantt
