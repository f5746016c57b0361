"""The dependsOn graph: the only importer of networkx.

Edge direction, stated once: an edge A → B means "A depends on B" (dependent →
dependency). Roots of the rollout are the nodes with no outgoing edge. A dependsOn
target that does not exist is an explicit node whose object is None (missing)."""

import difflib
import itertools
from dataclasses import dataclass

import networkx as nx

from kubectl_depgraph.errors import UsageError
from kubectl_depgraph.model import (HELMRELEASE, KIND_ALIASES, KUSTOMIZATION, SOURCE_KINDS,
                                    WORKLOAD_KINDS, ObjectRef)
from kubectl_depgraph.judge.status import classify


MAX_CYCLES = 100


def cycle_path(cycle, spell=lambda ref: ref.ns_name, arrow="→"):
    """A cycle written closed, `a → b → a` (kustomize-controller logs it with `->`)."""
    return f" {arrow} ".join(spell(ref) for ref in [*cycle, cycle[0]])


@dataclass(frozen=True)
class Duplicate:
    ref: ObjectRef
    origins: tuple   # Origin of each definition, first one kept


def nearest(text, candidates, limit=3):
    """The closest spellings to `text` (difflib ratio >= 0.6, within 0.05 of the best)."""
    scored = sorted((-difflib.SequenceMatcher(None, text, c).ratio(), c) for c in candidates)
    scored = [(-s, c) for s, c in scored if -s >= 0.6]
    return [c for s, c in scored if s >= scored[0][0] - 0.05][:limit] if scored else []


class DepGraph:
    """Kustomizations and HelmReleases linked by spec.dependsOn, plus the sources they use."""

    def __init__(self):
        self._g = nx.DiGraph()
        self.sources = {}        # ObjectRef -> FluxObject (GitRepository, HelmChart, …)
        self.duplicates = []     # [Duplicate]
        self.warnings = []       # malformed-object notes, "Kind/ns/name: …"
        self._cycles = None

    # --- construction -------------------------------------------------------------
    @classmethod
    def from_objects(cls, objects):
        """Build from FluxObjects (any order; output never depends on input order)."""
        graph = cls()
        seen = {}
        for obj in sorted(objects, key=lambda o: (o.ref, str(o.origin or ""))):
            if obj.ref in seen:
                seen[obj.ref].append(obj.origin)
                continue
            seen[obj.ref] = [obj.origin]
            graph.warnings.extend(f"{obj.ref}: {w}" for w in obj.warnings)
            if obj.ref.kind in SOURCE_KINDS:
                graph.sources[obj.ref] = obj
            elif obj.ref.kind in WORKLOAD_KINDS:
                graph._g.add_node(obj.ref, obj=obj)
        graph.duplicates = [Duplicate(ref, tuple(o)) for ref, o in sorted(seen.items()) if len(o) > 1]
        for ref in list(graph._g.nodes):
            obj = graph._g.nodes[ref]["obj"]
            for dep in obj.depends_on:
                if dep.ref not in graph._g:
                    graph._g.add_node(dep.ref, obj=None)
                graph._g.add_edge(ref, dep.ref, ready_expr=dep.ready_expr)
        return graph

    def subgraph(self, refs):
        """A new DepGraph restricted to `refs` (sources kept)."""
        sub = DepGraph()
        sub._g = self._g.subgraph(refs).copy()
        sub.sources = self.sources
        sub.duplicates = [d for d in self.duplicates if d.ref in sub._g]
        sub.warnings = self.warnings
        return sub

    # --- queries ------------------------------------------------------------------
    def __contains__(self, ref):
        return ref in self._g

    def __len__(self):
        return self._g.number_of_nodes()

    @property
    def nodes(self):
        return sorted(self._g.nodes)

    @property
    def objects(self):
        """Existing (not missing) Kustomizations and HelmReleases, sorted."""
        return [self._g.nodes[r]["obj"] for r in self.nodes if self._g.nodes[r]["obj"] is not None]

    def obj(self, ref):
        if ref in self._g:
            return self._g.nodes[ref]["obj"]
        return self.sources.get(ref)

    def verdict(self, ref):
        return classify(self.obj(ref))

    def is_missing(self, ref):
        return ref in self._g and self._g.nodes[ref]["obj"] is None

    @property
    def missing(self):
        return [r for r in self.nodes if self._g.nodes[r]["obj"] is None]

    def edges(self):
        """Sorted (dependent, dependency) pairs."""
        return sorted(self._g.edges)

    def ready_expr(self, dependent, dependency):
        return self._g.edges[dependent, dependency].get("ready_expr")

    def dependencies(self, ref):
        return sorted(self._g.successors(ref))

    def dependents(self, ref):
        return sorted(self._g.predecessors(ref))

    def roots(self):
        """Nodes that depend on nothing: where a rollout starts."""
        return [r for r in self.nodes if self._g.out_degree(r) == 0]

    def upstream(self, refs):
        """Everything `refs` transitively depend on (excluding refs themselves)."""
        found = set()
        for ref in refs:
            found |= nx.descendants(self._g, ref)
        return found - set(refs)

    def downstream(self, refs):
        """Everything that transitively depends on `refs` (excluding refs themselves)."""
        found = set()
        for ref in refs:
            found |= nx.ancestors(self._g, ref)
        return found - set(refs)

    def source_of(self, ref):
        """(source ref, source object or None) for a workload, or (None, None)."""
        obj = self.obj(ref)
        if obj is None or obj.source is None:
            return None, None
        return obj.source, self.sources.get(obj.source)

    def other_kind(self, ref):
        """For a missing dependency: the existing object of the other workload kind with
        the same namespace/name (the classic 'Kustomization depends on a HelmRelease')."""
        other = HELMRELEASE if ref.kind == KUSTOMIZATION else KUSTOMIZATION
        cand = ObjectRef(other, ref.namespace, ref.name)
        return cand if self._g.nodes.get(cand, {}).get("obj") is not None else None

    def nearest_to(self, missing, limit=3):
        """Existing objects of `missing`'s kind it was probably meant to name: the same name in
        another namespace first (dependsOn's namespace defaults to the holder's own), then
        close spellings, same namespace first."""
        ranked = []
        for ref in self._known():
            if ref.kind != missing.kind:
                continue
            ratio = difflib.SequenceMatcher(None, missing.name, ref.name).ratio()
            if ref.name == missing.name:
                ranked.append(((0, 0.0), ref))
            elif ratio >= 0.6:
                ranked.append(((1 if ref.namespace == missing.namespace else 2, -ratio), ref))
        return [ref for _, ref in sorted(ranked)[:limit]]

    def other_kind_note(self, ref):
        """For a missing dependency named like an object of the other kind, the sentence that
        says why it still does not count; else None."""
        other = self.other_kind(ref)
        if other is None:
            return None
        return f"a {other.kind} of that name exists, but a {ref.kind} can only depend on {ref.kind}s"

    def cycles(self):
        """Each elementary cycle once, as a list starting at its smallest node, sorted.

        Bounded: a dense knot of mutual dependencies has exponentially many cycles, so at
        most MAX_CYCLES are listed (in_or_behind_cycle stays exact)."""
        if self._cycles is None:   # the graph never changes after construction
            result = []
            for cycle in itertools.islice(nx.simple_cycles(self._g), MAX_CYCLES):
                start = cycle.index(min(cycle))
                result.append(cycle[start:] + cycle[:start])
            self._cycles = sorted(result)
        return [list(c) for c in self._cycles]

    def in_or_behind_cycle(self):
        """Nodes on a cycle, and everything that depends on one: they can never become ready."""
        on_cycle = set()
        for component in nx.strongly_connected_components(self._g):
            if len(component) > 1 or self._g.has_edge(*(next(iter(component)),) * 2):
                on_cycle |= component
        return on_cycle | self.downstream(on_cycle)

    def waves(self):
        """Rollout waves: wave 0 depends on nothing, wave n only on earlier waves. Missing
        nodes and nodes in or behind a cycle are left out (they never become ready)."""
        keep = set(self._g) - self.in_or_behind_cycle()
        dag = self._g.subgraph(keep).reverse(copy=False)  # a view: dependency → dependent
        waves = []
        for generation in nx.topological_generations(dag):
            wave = sorted(r for r in generation if self._g.nodes[r]["obj"] is not None)
            if wave:
                waves.append(wave)
        return waves

    def topological(self):
        """All existing nodes, dependencies before dependents, ties sorted; cycle members
        come last in sorted order."""
        order = [r for wave in self.waves() for r in wave]
        rest = sorted(set(r for r in self.nodes if not self.is_missing(r)) - set(order))
        return order + rest

    # --- names --------------------------------------------------------------------
    def resolve(self, text, namespace=None):
        """Resolve a user-typed name to one ObjectRef (Kustomization, HelmRelease or source).

        Accepts name, ns/name, kind/name, kind/ns/name (kind: ks, hr, Kustomization, …); with
        `namespace` (-n), a name found in several namespaces means the one in that namespace.
        Raises UsageError naming the candidates or the nearest names."""
        matches = self._matches(text)
        if len(matches) > 1 and namespace:
            matches = [r for r in matches if r.namespace == namespace] or matches
        if len(matches) == 1:
            return matches[0]
        if not matches:
            parts = text.count("/") + 1
            spell = {1: lambda r: r.name, 2: lambda r: r.ns_name, 3: lambda r: r.short}[min(parts, 3)]
            near = nearest(text, {spell(r) for r in self._known()})
            hint = ("did you mean " + ", ".join(near) + "?") if near else \
                "run 'kubectl depgraph tree' to list the objects"
            raise UsageError(f"no Flux object matches {text!r}", hint=hint)
        listed = ", ".join(r.short for r in matches)
        raise UsageError(f"{text!r} is ambiguous: {listed}",
                         hint="qualify it as ns/name or kind/ns/name")

    def _known(self):
        return [r for r in self.nodes if not self.is_missing(r)] + sorted(self.sources)

    def _matches(self, text):
        parts = text.split("/")
        if not text or any(not p for p in parts) or len(parts) > 3:
            raise UsageError(f"invalid object name {text!r}",
                             hint="use name, ns/name, kind/name or kind/ns/name")
        known = self._known()
        if len(parts) == 3:
            kind = KIND_ALIASES.get(parts[0].lower())
            if kind is None:
                raise UsageError(f"unknown kind {parts[0]!r} in {text!r}",
                                 hint="kinds: ks, hr, gitrepo, ocirepo, helmrepo, hc, bucket")
            return [r for r in known if (r.kind, r.namespace, r.name) == (kind, parts[1], parts[2])]
        if len(parts) == 2:
            kind = KIND_ALIASES.get(parts[0].lower())
            if kind is not None:
                by_kind = [r for r in known if r.kind == kind and r.name == parts[1]]
                if by_kind:
                    return by_kind
            return [r for r in known if r.namespace == parts[0] and r.name == parts[1]
                    and r.kind in WORKLOAD_KINDS] or \
                [r for r in known if r.namespace == parts[0] and r.name == parts[1]]
        workloads = [r for r in known if r.name == text and r.kind in WORKLOAD_KINDS]
        return workloads or [r for r in known if r.name == text]
