"""Whole-output goldens for every renderer (python -m pytest --update-golden to regenerate)."""

import random
from datetime import datetime, timezone

import pytest

from kubectl_depgraph.render import data, document, dot, mermaid, table
from kubectl_depgraph.render.style import Style, age, short_revision
from kubectl_depgraph.render.tree import render_tree
from tests.builders import gitrepo, graph_of, hr, ks

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def zoo():
    """Every status and graph feature at once: failure chain, missing (incl. other kind),
    cycle, suspended, stale, progressing, never reconciled, HelmRelease chain, readyExpr."""
    return [
        gitrepo(),
        ks("namespaces"),
        ks("infra", deps=["namespaces"], ready="False", reason="HealthCheckFailed",
           message="health check failed after 5m0s: timeout waiting for: "
                   "[Deployment/ingress/ingress-nginx status: 'InProgress']"),
        ks("config", deps=["infra"], ready="False"),
        ks("apps", deps=["config", {"name": "redis"}], ready="False",
           message="dependency 'flux-system/redis' not found"),
        ks("monitoring", deps=["namespaces"], suspend=True),
        ks("crds", generation=3, observed=2),
        ks("tenants", ready="Unknown", message="Reconciliation in progress"),
        ks("new", ready=None),
        ks("a", deps=["b"], ready="False"), ks("b", deps=["a"], ready="False"),
        ks("behind-cycle", deps=["a"], ready="False"),
        ks("gated", deps=[{"name": "namespaces", "readyExpr": "status.conditions[0].status == 'True'"}]),
        hr("redis", ns="flux-system"), hr("redis"),
        hr("backend", deps=["redis"], ready="False", reason="InstallFailed",
           message="Helm install failed for release apps/backend with chart backend@1.0.0: "
                   "context deadline exceeded\nsecond line"),
    ]


FORMATS = {
    "tree.txt": lambda g: render_tree(g),
    "tree-ascii-sources.txt": lambda g: render_tree(g, sources=True, style=Style(unicode=False)),
    "tree-depth1.txt": lambda g: render_tree(g, depth=1),
    "tree-reverse.txt": lambda g: render_tree(g, reverse=True),
    "table.txt": lambda g: table.render_table(g, now=NOW),
    "graph.json": lambda g: data.to_json(document.graph_document(g, "test")),
    "graph.dot": dot.render_dot,
    "graph.mmd": mermaid.render_mermaid,
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_renderer_golden(name, golden):
    golden.check(f"render/{name}", FORMATS[name](graph_of(*zoo())))


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_renderers_are_deterministic_under_shuffled_input(name):
    manifests = zoo()
    expected = FORMATS[name](graph_of(*manifests))
    for seed in range(3):
        random.Random(seed).shuffle(manifests)
        assert FORMATS[name](graph_of(*manifests)) == expected


def test_yaml_matches_json_document():
    import yaml
    doc = document.graph_document(graph_of(*zoo()), "test")
    assert yaml.safe_load(data.to_yaml(doc)) == doc


def test_colour_only_when_asked():
    g = graph_of(ks("a"))
    assert "\x1b[" not in render_tree(g)
    assert "\x1b[32m✔\x1b[0m" in render_tree(g, style=Style(colour=True))


@pytest.mark.parametrize("since,expected", [
    ("2026-11-21T11:59:30Z", "30s"), ("2026-11-21T11:58:01Z", "119s"), ("2026-11-21T11:58:00Z", "2m"), ("2026-11-21T11:50:00Z", "10m"),
    ("2026-11-21T09:00:00Z", "3h"), ("2026-11-18T12:00:00Z", "3d"), ("not a time", ""), ("", ""),
])
def test_age(since, expected):
    assert age(since, NOW) == expected


def test_short_revision_cuts_hashes_like_flux_get():
    assert short_revision("main@sha1:696f056df216eea4f9401adbee0ff744d4df390f") == "main@sha1:696f056d"
    assert short_revision("6.3.5") == "6.3.5"
