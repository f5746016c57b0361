"""The pure plan of resume/suspend/delete (judge/lifecycle.py) and its text
(render/lifecycle.py), without a cluster."""

import pytest

from kubectl_depgraph.judge.lifecycle import (DELETE, RESUME, SUSPEND, lifecycle_plan,
                                              unselected_dependents)
from kubectl_depgraph.judge.plan import StepResult, select
from kubectl_depgraph.model import ObjectRef
from kubectl_depgraph.reconcile.executor import Outcome, Result
from kubectl_depgraph.render.lifecycle import render_commands, render_left_out, render_summary
from tests.builders import gitrepo, graph_of, ks


def K(name):
    return ObjectRef("Kustomization", "flux-system", name)


def diamond():
    return graph_of(gitrepo(), ks("infra"), ks("cache", deps=["infra"]), ks("db", deps=["infra"]),
                    ks("apps", deps=["cache", "db"]))


def order(p):
    return [(s.wave, s.ref.name, tuple(n.name for n in s.needs)) for s in p.steps]


def test_resume_goes_dependencies_first():
    graph = diamond()
    p = lifecycle_plan(graph, select(graph), RESUME)
    assert order(p) == [(1, "infra", ()), (2, "cache", ("infra",)), (2, "db", ("infra",)),
                        (3, "apps", ("cache", "db"))]


@pytest.mark.parametrize("action", [SUSPEND, DELETE])
def test_suspend_and_delete_go_dependents_first(action):
    graph = diamond()
    p = lifecycle_plan(graph, select(graph), action)
    assert order(p) == [(1, "apps", ()), (2, "cache", ("apps",)), (2, "db", ("apps",)),
                        (3, "infra", ("cache", "db"))]
    assert not p.sources, "sources are never touched"


def test_only_edges_inside_the_selection_order_steps():
    graph = diamond()
    p = lifecycle_plan(graph, {K("infra"), K("apps")}, DELETE)
    assert order(p) == [(1, "apps", ()), (1, "infra", ())]


def test_cycles_are_left_alone_and_noted():
    graph = graph_of(ks("a", deps=["b"]), ks("b", deps=["a"]), ks("c", deps=["a"]), ks("solo"))
    p = lifecycle_plan(graph, select(graph), SUSPEND)
    assert [s.ref.name for s in p.steps] == ["solo"]
    assert {e.ref.name: e.result for e in p.excluded} == {"a": StepResult.SKIPPED, "b": StepResult.SKIPPED,
                                                         "c": StepResult.SKIPPED}
    assert render_left_out(p, SUSPEND).splitlines()[0] == \
        "note: Kustomization/flux-system/a not suspended: in a dependency cycle: " \
        "flux-system/a → flux-system/b → flux-system/a; not ordered, left alone"


def test_plan_does_not_depend_on_input_order():
    docs = [gitrepo(), ks("infra"), ks("cache", deps=["infra"]), ks("db", deps=["infra"]),
            ks("apps", deps=["cache", "db"])]
    a, b = graph_of(*docs), graph_of(*reversed(docs))
    assert lifecycle_plan(a, select(a), DELETE) == lifecycle_plan(b, select(b), DELETE)


def test_unselected_dependents_include_health_checks():
    graph = graph_of(gitrepo(), ks("infra"), ks("db", deps=["infra"]),
                     ks("watcher", healthChecks=[{"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                                                  "kind": "Kustomization", "name": "db",
                                                  "namespace": "flux-system"}]))
    assert unselected_dependents(graph, {K("infra"), K("db")}) == {K("db"): [K("watcher")],
                                                                    K("infra"): [K("watcher")]}
    assert unselected_dependents(graph, {K("infra"), K("db"), K("watcher")}) == {}


def test_commands_and_summary_text():
    graph = diamond()
    p = lifecycle_plan(graph, {K("apps"), K("db")}, DELETE)
    assert render_commands(p, lambda s: f"delete {s.ref.name}") == "delete apps\ndelete db\n"
    outcome = Outcome([Result(K("apps"), StepResult.READY, "deleted", 1.5, 0.0),
                       Result(K("db"), StepResult.FAILED, "delete failed: forbidden", 0.2, 1.5)], 1.7, 1.7)
    text = render_summary(DELETE, outcome)
    assert "Kustomization/flux-system/apps  deleted" in text
    assert text.splitlines()[-1] == "2 objects: 1 deleted, 1 failed; total 1.7s"
