"""The versioned, documented data form of a graph (-o json / -o yaml). README "JSON schema"."""

from kubectl_depgraph.judge.status import classify
from kubectl_depgraph.render.data import SCHEMA
from kubectl_depgraph.judge.status import State


def node_record(graph, ref):
    """One node as plain data: identity, status verdict, source, revision, dependencies."""
    obj = graph.obj(ref)
    verdict = classify(graph.obj(ref))
    record = {
        "id": str(ref), "apiVersion": (obj.api_version if obj else _named_api_version(graph, ref)) or None,
        "kind": ref.kind, "namespace": ref.namespace, "name": ref.name,
        "readiness": "kstatus" if ref.external else "flux",
        "status": verdict.state.value, "ready": verdict.ready,
        "reason": verdict.reason, "message": verdict.message, "since": verdict.since or None,
    }
    if obj is None:
        other = graph.other_kind(ref)
        record["otherKind"] = str(other) if other else None
        record["requiredBy"] = [str(r) for r in graph.dependents(ref)]
        return record
    record.update({
        "suspended": obj.suspended,
        "source": str(obj.source) if obj.source else None,
        "revision": obj.last_applied_revision or obj.last_attempted_revision or None,
        "generation": obj.generation, "observedGeneration": obj.observed_generation,
        "dependsOn": [entry_record(d) for d in obj.depends_on],
    })
    if obj.origin:
        record["origin"] = str(obj.origin)
    return record


def entry_record(dep):
    """One dependsOn entry: the object it names, and how (cross-kind fields)."""
    return {"id": str(dep.ref), "apiVersion": dep.api_version or None, "ready": dep.ready,
            "readyExpr": dep.ready_expr}


def _named_api_version(graph, ref):
    """A missing node's apiVersion, as a dependsOn entry names it (None: the holder's kind)."""
    return next((graph.entry(d, ref).api_version for d in graph.dependents(ref)
                 if graph.entry(d, ref).api_version), None)


def graph_document(graph, description="", warnings=()):
    """The whole graph as the documented data: nodes, edges, missing, cycles, waves."""
    return {
        "apiVersion": SCHEMA,
        "kind": "DependencyGraph",
        "input": description,
        "nodes": [node_record(graph, r) for r in graph.nodes],
        "edges": [{"from": str(a), "to": str(b), "ready": graph.entry(a, b).ready,
                   "readyExpr": graph.ready_expr(a, b)} for a, b in graph.edges()],
        "missing": [node_record(graph, r) for r in graph.missing],
        "cycles": [[str(r) for r in cycle] for cycle in graph.cycles()],
        "waves": [[str(r) for r in wave] for wave in graph.waves()],
        "summary": summary_counts(graph),
        "warnings": sorted(warnings),
    }


def graph_record(graph, ctx):
    """The -o json/yaml document of a graph (render.RENDERERS)."""
    return graph_document(graph, ctx.description, ctx.warnings)


def summary_counts(graph):
    counts = {}
    for ref in graph.nodes:
        state = classify(graph.obj(ref)).state
        counts[state.value] = counts.get(state.value, 0) + 1
    return {s.value: counts[s.value] for s in State if s.value in counts}
