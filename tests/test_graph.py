import random

import pytest

from kubectl_depgraph.cli.common import resolve
from kubectl_depgraph.errors import UsageError
from kubectl_depgraph.model import ObjectRef
from tests.builders import graph_of, hr, ks

K = lambda name, ns="flux-system": ObjectRef("Kustomization", ns, name)  # noqa: E731
H = lambda name, ns="apps": ObjectRef("HelmRelease", ns, name)  # noqa: E731


def chain():
    return [ks("namespaces"), ks("infra", deps=["namespaces"]), ks("config", deps=["infra"]),
            ks("backend", deps=["config"]), ks("frontend", deps=["backend"]),
            hr("redis"), hr("backend", deps=["redis"])]


def test_edges_point_from_dependent_to_dependency():
    g = graph_of(*chain())
    assert (K("infra"), K("namespaces")) in g.edges()
    assert (H("backend"), H("redis")) in g.edges()
    assert g.roots() == [H("redis"), K("namespaces")]
    assert g.dependencies(K("config")) == [K("infra")]
    assert g.dependents(K("config")) == [K("backend")]


def test_dependency_namespace_defaults_to_the_holders_namespace():
    g = graph_of(ks("app", ns="apps", deps=["db", "flux-system/infra"]), ks("infra"))
    assert g.dependencies(K("app", "apps")) == [K("db", "apps"), K("infra")]
    assert g.missing == [K("db", "apps")]


def test_missing_dependency_that_exists_as_the_other_kind():
    g = graph_of(ks("apps", ns="apps", deps=["redis"]), hr("redis"))
    assert g.missing == [K("redis", "apps")]
    assert g.other_kind(K("redis", "apps")) == H("redis")


def test_waves_and_topological_order():
    g = graph_of(*chain())
    assert g.waves() == [[H("redis"), K("namespaces")], [H("backend"), K("infra")], [K("config")],
                         [K("backend")], [K("frontend")]]


def test_cycles_are_kept_and_reported_with_their_path():
    g = graph_of(ks("a", deps=["b"]), ks("b", deps=["c"]), ks("c", deps=["a"]), ks("d", deps=["a"]),
                 ks("self", deps=["self"]))
    assert g.cycles() == [[K("a"), K("b"), K("c")], [K("self")]]
    assert g.in_or_behind_cycle() == {K("a"), K("b"), K("c"), K("d"), K("self")}
    assert g.waves() == []


def test_upstream_downstream_and_duplicates():
    g = graph_of(*chain(), ks("infra", deps=["namespaces"]))
    assert g.upstream([K("config")]) == {K("infra"), K("namespaces")}
    assert g.downstream([K("config")]) == {K("backend"), K("frontend")}
    assert [d.ref for d in g.duplicates] == [K("infra")]


def test_shuffled_input_gives_the_same_graph():
    manifests = chain() + [ks("x", deps=["missing"])]
    g1 = graph_of(*manifests)
    random.Random(4).shuffle(manifests)
    g2 = graph_of(*manifests)
    assert (g1.nodes, g1.edges(), g1.waves()) == (g2.nodes, g2.edges(), g2.waves())


@pytest.mark.parametrize("text,expected", [
    ("frontend", K("frontend")),
    ("flux-system/frontend", K("frontend")),
    ("ks/frontend", K("frontend")),
    ("hr/backend", H("backend")),
    ("hr/apps/backend", H("backend")),
    ("Kustomization/flux-system/backend", K("backend")),
    ("kustomizations.kustomize.toolkit.fluxcd.io/flux-system/backend", K("backend")),
])
def test_resolve_accepts_every_spelling(text, expected):
    assert resolve(graph_of(*chain()), text) == expected


def test_resolve_ambiguous_lists_candidates():
    with pytest.raises(UsageError) as err:
        resolve(graph_of(*chain()), "backend")
    assert err.value.message == "'backend' is ambiguous: hr/apps/backend, ks/flux-system/backend"
    assert err.value.hint == "qualify it as ns/name or kind/ns/name"
    assert err.value.exit_code == 2


def test_resolve_unknown_suggests_nearest_names():
    with pytest.raises(UsageError) as err:
        resolve(graph_of(*chain()), "frontnd")
    assert err.value.message == "no Flux object matches 'frontnd'"
    assert err.value.hint == "did you mean frontend?"


@pytest.mark.parametrize("text", ["a//b", "/x", "a/b/c/d", "", "bogus/ns/name"])
def test_resolve_rejects_malformed_names(text):
    with pytest.raises(UsageError):
        resolve(graph_of(*chain()), text)


def test_a_dense_knot_of_mutual_dependencies_stays_bounded():
    names = [f"k{i}" for i in range(12)]
    g = graph_of(*[ks(n, deps=[m for m in names if m != n]) for n in names])  # ~10^8 cycles
    assert len(g.cycles()) == 100
    assert g.in_or_behind_cycle() == {K(n) for n in names}


def test_resolve_prefers_the_namespace_given_with_n():
    g = graph_of(ks("apps", ns="team-a"), ks("apps", ns="team-b"))
    assert resolve(g, "apps", namespace="team-b") == K("apps", "team-b")
    with pytest.raises(UsageError):
        resolve(g, "apps")
