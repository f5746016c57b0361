"""What a change does to the dependency graph: objects it adds, removes and modifies, what
waits on each of them (directly and transitively), and the mistakes it introduces —
dependencies it leaves dangling (the classic: an object removed while others still depend
on it) and new cycles. Pure: two graphs in, an Impact out."""

from dataclasses import dataclass, field

from kubectl_depgraph.model import canonical_cycle

# The FluxObject fields a reviewer cares about, in the order they are reported.
FIELDS = (("depends_on", "dependsOn"), ("source", "source"), ("chart", "chart"),
          ("health_checks", "healthChecks"), ("suspended", "suspend"), ("path", "path"),
          ("wait", "wait"), ("prune", "prune"))


@dataclass(frozen=True)
class Change:
    ref: object                   # ObjectRef
    what: str                     # added | removed | modified
    fields: tuple = ()            # for modified: the spec fields that changed (their YAML names)
    origin: object = None         # where it is defined now (base's for removed)
    dependents: tuple = ()        # objects that depend on it directly
    affected: tuple = ()          # everything that waits on it, transitively


@dataclass(frozen=True)
class Dangling:
    """A dependency the change leaves pointing at nothing."""

    missing: object               # ObjectRef that does not exist after the change
    dependents: tuple             # who still names it
    removed: bool                 # the change removed it (else: a new reference to nothing)


@dataclass
class Impact:
    changes: list = field(default_factory=list)      # [Change]: removed, modified, added; by ref
    dangling: list = field(default_factory=list)     # [Dangling]
    new_cycles: list = field(default_factory=list)   # [[ObjectRef, …]]

    @property
    def affected(self):
        """Every object the change reaches (changed or waiting on a change), sorted."""
        return sorted({c.ref for c in self.changes} | {r for c in self.changes for r in c.affected})

    @property
    def breaks(self):
        return bool(self.dangling or self.new_cycles)


def _comparable(obj):
    return {name: getattr(obj, attr) for attr, name in FIELDS}


def compare(base, head):
    """The Impact of going from graph `base` to graph `head` (DepGraphs)."""
    # An object of another kind that the input cannot show (model.unread) is not there:
    # a CRD the change stops defining is removed, with what depends on it.
    old = {o.ref: o for o in [*base.objects, *base.sources.values()] if not o.facts.get("unread")}
    new = {o.ref: o for o in [*head.objects, *head.sources.values()] if not o.facts.get("unread")}
    impact = Impact()
    for ref in sorted(set(old) | set(new)):
        if ref not in old:
            what, fields, origin, graphs = "added", (), new[ref].origin, (head,)
        elif ref not in new:   # what waited on it before, and what still names it now
            what, fields, origin, graphs = "removed", (), old[ref].origin, (base, head)
        else:
            a, b = _comparable(old[ref]), _comparable(new[ref])
            fields = tuple(name for name in a if a[name] != b[name])
            if not fields:
                continue
            what, origin, graphs = "modified", new[ref].origin, (head,)
        direct = {r for g in graphs for r in [*(g.dependents(ref) if ref in g else ()), *g.users(ref)]}
        affected = {r for g in graphs for r in g.waiting_on([ref]) if g.obj(r) is not None or r in new}
        impact.changes.append(Change(ref, what, fields, origin, tuple(sorted(direct)),
                                     tuple(sorted(affected))))
    order = {"removed": 0, "modified": 1, "added": 2}
    impact.changes.sort(key=lambda c: (order[c.what], c.ref))
    was_missing = set(base.missing)
    for missing in head.missing:
        if missing in was_missing:
            continue
        impact.dangling.append(Dangling(missing, tuple(head.dependents(missing)), missing in old))
    old_cycles = {tuple(canonical_cycle(c)) for c in base.cycles()}
    impact.new_cycles = [c for c in head.cycles() if tuple(c) not in old_cycles]
    return impact


def changed_kinds(impact):
    """{'added': n, 'removed': n, 'modified': n}."""
    counts = {"added": 0, "removed": 0, "modified": 0}
    for change in impact.changes:
        counts[change.what] += 1
    return counts

