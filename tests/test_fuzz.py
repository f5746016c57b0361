"""Fuzz: real Flux objects, mutated in hostile ways, through tree, why and check.

Corpus: the project's examples/production.yaml (objects with status), a copy of Flux
objects from ../shared/examples in tests/data/fuzz/examples.yaml (so the test never depends
on shared/ being there), plus a few more from ../shared/examples when it is present.
Mutations: wrong types anywhere, missing metadata.namespace, dependsOn not a list, entries
without name, non-string values, conditions without status, odd timestamps, multi-line and
very long messages, unicode names. The only promise checked: no traceback, no internal
error, a documented exit code."""

import json
import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_depgraph.model import kind_of
from tests.clirun import invoke
from tests.conftest import SHARED_EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
SHARED = SHARED_EXAMPLES
NOW = {"DEPGRAPH_NOW": "2026-11-21T12:00:00Z"}
EXIT_CODES = {0, 1, 2, 3}    # ok, check findings, a NAME that no longer resolves, not ready


def _flux_docs(text):
    docs = []
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and isinstance(doc.get("items"), list):
            docs.extend(doc["items"])
        elif doc:
            docs.append(doc)
    return [d for d in docs if kind_of(d)]


def corpus():
    objs = _flux_docs((ROOT / "examples" / "production.yaml").read_text())
    objs += _flux_docs((ROOT / "tests" / "data" / "fuzz" / "examples.yaml").read_text())
    if SHARED.is_dir():   # a few more, the same ones every run
        extra = []
        for path in sorted(SHARED.rglob("*.yaml"))[:400]:
            try:
                extra += _flux_docs(path.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError, OSError):
                continue
        objs += random.Random(6).sample(extra, min(12, len(extra)))
    return objs


CORPUS = corpus()

ODD = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63),
    st.floats(allow_nan=False), st.just(""), st.just([]), st.just({}),
    st.text(max_size=20),
    st.sampled_from([
        "yesterday", "2026-13-45T99:99:99Z", "0001-01-01T00:00:00Z", "1700000000",
        "2026-11-21T12:00:00.123456789+05:30", "line one\nline two\n\n  three",
        "x" * 20000, "名前-ünïcødé-🚀", "--all-namespaces", "-n", "a/b/c", "../..", "\x00\x1b[31m",
        "True", "False", "Unknown", "DependencyNotReady",
        "dependency 'flux-system/ghost' is not ready",
        "health check failed after 1s: timeout waiting for: [HelmRelease/apps/x status: 'Failed']",
    ]),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)

# Paths the code reads, so mutations hit them often (plus random paths anywhere).
HOT = [
    ("metadata", "namespace"), ("metadata", "name"), ("metadata", "generation"),
    ("metadata", "labels"), ("metadata", "annotations"), ("metadata",),
    ("spec", "dependsOn"), ("spec", "sourceRef"), ("spec", "sourceRef", "kind"),
    ("spec", "sourceRef", "name"), ("spec", "chart"), ("spec", "chart", "spec"),
    ("spec", "chart", "spec", "sourceRef"), ("spec", "chartRef"), ("spec", "suspend"),
    ("spec", "healthChecks"), ("spec", "postBuild"), ("spec", "path"), ("spec", "wait"),
    ("spec", "targetNamespace"), ("spec",), ("status",), ("status", "conditions"),
    ("status", "observedGeneration"), ("status", "lastAppliedRevision"),
    ("status", "artifact"), ("status", "artifact", "revision"), ("status", "failures"),
    ("status", "lastHandledReconcileAt"), ("apiVersion",), ("kind",),
]


def _set(obj, path, value):
    node = obj
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


def _delete(obj, path):
    node = obj
    for key in path[:-1]:
        node = node.get(key)
        if not isinstance(node, dict):
            return
    node.pop(path[-1], None)


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))


@st.composite
def mutation(draw, obj):
    """One hostile change to `obj` (in place)."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        _delete(obj, ("metadata", "namespace"))
    elif choice == 1:
        deps = draw(st.lists(st.one_of(
            ODD, st.fixed_dictionaries({}, optional={"name": ODD, "namespace": ODD,
                                                      "readyExpr": ODD})), max_size=4))
        _set(obj, ("spec", "dependsOn"), deps if draw(st.booleans()) else draw(ODD))
    elif choice == 2:
        conds = draw(st.lists(st.fixed_dictionaries(
            {"type": st.sampled_from(["Ready", "Stalled", "Reconciling", "Healthy"])},
            optional={"status": ODD, "reason": ODD, "message": ODD, "lastTransitionTime": ODD,
                      "observedGeneration": ODD}), max_size=4))
        _set(obj, ("status", "conditions"), conds)
    elif choice == 3:
        _set(obj, ("metadata", "name"), draw(st.sampled_from(
            ["名前-ünïcødé", "-n", "--", "a/b", "x" * 300, "with space", "ÅÄÖ"])))
    elif choice == 4:
        path = draw(st.sampled_from(list(_paths(obj)) or HOT))
        _delete(obj, path)
    elif choice in (5, 6):
        paths = list(_paths(obj))
        path = draw(st.sampled_from(paths)) if paths and choice == 6 else draw(st.sampled_from(HOT))
        _set(obj, path, draw(ODD))
    else:
        _set(obj, draw(st.sampled_from(HOT)), draw(ODD))


@st.composite
def snapshots(draw):
    """A List of 2–8 corpus objects, some of them mutated (deep copies)."""
    indices = draw(st.lists(st.integers(0, len(CORPUS) - 1), min_size=2, max_size=8))
    items = [json.loads(json.dumps(CORPUS[i])) for i in indices]
    for _ in range(draw(st.integers(1, 6))):
        obj = items[draw(st.integers(0, len(items) - 1))]
        draw(mutation(obj))
    return items


def _check(out, args):
    assert "Traceback" not in out.stderr + out.stdout, (args, out.stderr)
    assert "error: internal error" not in out.stderr, (args, out.stderr)
    assert out.code in EXIT_CODES | {5}, (args, out.code, out.stderr)


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(items=snapshots(), fmt=st.sampled_from(["tree", "table", "json", "dot"]))
def test_mutated_objects_never_crash(items, fmt):
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    name = next((str((i.get("metadata") or {}).get("name")) for i in items
                 if isinstance(i, dict) and isinstance(i.get("metadata"), dict)
                 and isinstance(i["metadata"].get("name"), str) and i["metadata"]["name"]),
                "nothing")
    for args in (["tree", "-o", fmt, "--sources"], ["tree", "--reverse", "--", name],
                 ["why"], ["why", "-o", "json"], ["why", "--", name], ["check"],
                 ["check", "-o", "json"]):
        out = invoke([*args[:1], "-f", "-", *args[1:]], input=text, env=NOW)
        _check(out, args)


def test_corpus_is_not_empty():
    kinds = {d["kind"] for d in CORPUS}
    assert {"Kustomization", "HelmRelease", "GitRepository"} <= kinds
    assert any("namespace" not in (d.get("metadata") or {}) for d in CORPUS)


@pytest.mark.parametrize("as_yaml", [False, True])
def test_every_corpus_object_alone_and_all_together(as_yaml):
    for items in [[d] for d in CORPUS] + [CORPUS]:
        doc = {"apiVersion": "v1", "kind": "List", "items": items}
        text = yaml.safe_dump(doc) if as_yaml else json.dumps(doc)
        for args in (["tree"], ["why"], ["check"]):
            out = invoke([args[0], "-f", "-"], input=text, env=NOW)
            _check(out, args)
