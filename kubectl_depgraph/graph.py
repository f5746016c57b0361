"""The dependsOn graph: the only importer of networkx.

Edge direction, stated once: an edge A → B means "A depends on B" (dependent →
dependency). Roots of the rollout are the nodes with no outgoing edge. A dependsOn
target that does not exist is an explicit node whose object is None (missing)."""

import itertools
from dataclasses import dataclass

import networkx as nx

from kubectl_depgraph.model import (HELMRELEASE, KUSTOMIZATION, RESOURCESET, SOURCE_KINDS, TERRAFORM,
                                    WORKLOAD_KINDS, ObjectRef, canonical_cycle)

# The kinds whose dependsOn makes edges; every object a dependsOn entry names is a node too,
# whatever its kind (a source, a CRD, a Deployment…: cross-kind dependencies).
NODE_KINDS = WORKLOAD_KINDS + (RESOURCESET, TERRAFORM)


MAX_CYCLES = 100


@dataclass(frozen=True)
class Duplicate:
    ref: ObjectRef
    origins: tuple   # Origin of each definition, first one kept

    def clashing(self):
        """The definitions that one cluster would get together (their scopes overlap): the
        same object in two cluster folders is two objects, not a duplicate."""
        return tuple(o for o in self.origins
                     if o is not None and any(p is not o and o.overlaps(p) for p in self.origins if p))


class DepGraph:
    """Kustomizations, HelmReleases, ResourceSets and Terraforms linked by spec.dependsOn,
    the objects of other kinds their entries name, and the sources they use."""

    def __init__(self):
        self._g = nx.DiGraph()
        self.sources = {}        # ObjectRef -> FluxObject (GitRepository, HelmChart, …)
        self.duplicates = []     # [Duplicate]
        self._users = {}         # source or health-checked ref -> [workloads using it]
        self._cycles = None
        self._knots = None
        self._neighbours = {}

    # --- construction -------------------------------------------------------------
    @classmethod
    def from_objects(cls, objects):
        """Build from FluxObjects (any order; output never depends on input order)."""
        graph = cls()
        seen, others = {}, {}
        for obj in sorted(objects, key=lambda o: (o.ref, str(o.origin or ""))):
            if obj.ref in seen:
                seen[obj.ref].append(obj.origin)
                continue
            seen[obj.ref] = [obj.origin]
            if obj.ref.kind in SOURCE_KINDS:
                graph.sources[obj.ref] = obj
            elif obj.ref.kind in NODE_KINDS:
                graph._g.add_node(obj.ref, obj=obj)
            else:
                others[obj.ref] = obj
        graph.duplicates = [Duplicate(ref, tuple(o)) for ref, o in sorted(seen.items()) if len(o) > 1]
        for ref in list(graph._g.nodes):
            obj = graph._g.nodes[ref]["obj"]
            for dep in obj.depends_on:
                if dep.ref not in graph._g:
                    graph._g.add_node(dep.ref, obj=graph.sources.get(dep.ref) or others.get(dep.ref))
                graph._g.add_edge(ref, dep.ref, ready_expr=dep.ready_expr, dependency=dep)
            for target in {obj.source, obj.chart, *obj.health_checks} - {None}:
                graph._users.setdefault(target, []).append(ref)
        for users in graph._users.values():
            users.sort()
        return graph

    def clashing_duplicates(self):
        """Duplicates within one cluster's scope, with only their clashing definitions."""
        found = [Duplicate(d.ref, d.clashing()) for d in self.duplicates]
        return [d for d in found if len(d.origins) > 1]

    def subgraph(self, refs):
        """A new DepGraph restricted to `refs` (sources kept); itself when that is all of it."""
        refs = set(refs)
        if len(refs) == len(self._g) and all(r in self._g for r in refs):
            return self
        sub = DepGraph()
        sub._g = self._g.subgraph(refs).copy()
        sub.sources = self.sources
        sub._users = self._users
        sub.duplicates = [d for d in self.duplicates if d.ref in sub._g]
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

    def entry(self, dependent, dependency):
        """The model.Dependency (the dependsOn entry) behind an edge."""
        return self._g.edges[dependent, dependency]["dependency"]

    def dependencies(self, ref):
        return self._sorted_neighbours(ref, self._g.successors, "out")

    def dependents(self, ref):
        return self._sorted_neighbours(ref, self._g.predecessors, "in")

    def _sorted_neighbours(self, ref, neighbours, way):
        # Renderers and the walks ask for the same node's neighbours many times.
        key = (way, ref)
        found = self._neighbours.get(key)
        if found is None:
            found = self._neighbours[key] = sorted(neighbours(ref))
        return list(found)

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

    def users(self, ref):
        """The workloads that use source `ref` (as sourceRef, chartRef or through their
        HelmChart), or that health-check workload `ref`: they wait on it without a
        dependsOn edge."""
        return self._users.get(ref, [])

    def waiting_on(self, refs):
        """Everything that waits on `refs`, transitively: dependents, users of a source, and
        objects whose health checks name one of them (excluding refs themselves)."""
        found, todo = set(), list(refs)
        while todo:
            ref = todo.pop()
            for nxt in (self.dependents(ref) if ref in self._g else []) + self.users(ref):
                if nxt not in found:
                    found.add(nxt)
                    todo.append(nxt)
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
        if ref.kind not in WORKLOAD_KINDS:
            return None
        other = HELMRELEASE if ref.kind == KUSTOMIZATION else KUSTOMIZATION
        cand = ObjectRef(other, ref.namespace, ref.name)
        return cand if self._g.nodes.get(cand, {}).get("obj") is not None else None

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
            # Only the nodes of a cycle's strongly connected component can be on one:
            # simple_cycles copies what it is given, and most of a fleet is acyclic.
            knots = self._on_cycles()
            found = nx.simple_cycles(self._g.subgraph(knots)) if knots else ()
            self._cycles = sorted(canonical_cycle(c) for c in itertools.islice(found, MAX_CYCLES))
        return [list(c) for c in self._cycles]

    def in_or_behind_cycle(self):
        """Nodes on a cycle, and everything that depends on one: they can never become ready."""
        on_cycle = self._on_cycles()
        return on_cycle | self.downstream(on_cycle)

    def cycle_edges(self):
        """Sorted edges that lie on some cycle: both ends in one strongly connected component
        (exact, unlike the bounded cycles() list)."""
        knots = self._on_cycles()
        if not knots:
            return []
        component = {}
        for i, members in enumerate(nx.strongly_connected_components(self._g.subgraph(knots))):
            component.update(dict.fromkeys(members, i))
        return sorted((a, b) for a, b in self._g.subgraph(knots).edges if component[a] == component[b])

    def _on_cycles(self):
        """Nodes on some cycle (self-dependencies included)."""
        if self._knots is None:
            self._knots = set()
            for component in nx.strongly_connected_components(self._g):
                if len(component) > 1 or self._g.has_edge(*(next(iter(component)),) * 2):
                    self._knots |= component
        return self._knots

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

    def layers(self, sweeps=4):
        """Rows for a drawing in rollout order, a list of lists of refs: row 0 holds the nodes
        that depend on nothing, every later row nodes whose dependencies are all in earlier
        rows (the members of a cycle share a row). Within a row the order reduces edge
        crossings (`sweeps` barycenter passes down and up), from an order by namespace and
        name so that a namespace's objects stay together when nothing else decides."""
        condensed = nx.condensation(self._g)   # one node per cycle; edges dependent → dependency
        rows = []
        for generation in nx.topological_generations(condensed.reverse(copy=False)):
            members = (r for c in generation for r in condensed.nodes[c]["members"])
            rows.append(sorted(members, key=lambda r: (r.namespace, r.name, r.kind)))
        row_of = {ref: i for i, row in enumerate(rows) for ref in row}
        for _ in range(sweeps):
            for order in (range(1, len(rows)), range(len(rows) - 2, -1, -1)):
                for i in order:
                    rows[i] = self._barycenter_order(rows, i, row_of, above=order.step == 1)
        return rows

    def _barycenter_order(self, rows, i, row_of, above):
        """Row i sorted by the mean relative position of each node's neighbours in the rows
        above it (or below it); a node without such neighbours keeps its place."""
        where = {ref: (pos + 0.5) / len(row) for row in rows for pos, ref in enumerate(row)}
        keyed = []
        for pos, ref in enumerate(rows[i]):
            near = self.dependencies(ref) + self.dependents(ref)
            near = [where[n] for n in near if (row_of[n] < i if above else row_of[n] > i)]
            keyed.append((sum(near) / len(near) if near else where[ref], pos, ref))
        return [ref for _, _, ref in sorted(keyed)]
