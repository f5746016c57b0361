"""What a user typed (`name`, `ns/name`, `kind/name`, `kind/ns/name`) matched against a
graph, and the nearest names when nothing matches: the one "did you mean" ranking of the
tool. Returns candidates; the CLI decides what is an error."""

import difflib
from dataclasses import dataclass
from typing import Optional

from kubectl_depgraph.kinds import OTHER_ALIASES
from kubectl_depgraph.model import KIND_ALIASES, WORKLOAD_KINDS

SIMILAR = 0.6    # difflib ratio from which two spellings are "close"
# A dependsOn name is a typo of another only when nearly equal: a removed dependency
# (openebs) must not be "corrected" to an unrelated one (open-webui, ratio 0.71).
TYPO = 0.8


@dataclass(frozen=True)
class Match:
    """The objects `text` names. `invalid` (with `hint`) when it cannot name any object;
    `near`: the closest known spellings when it names none."""

    text: str
    refs: tuple = ()
    near: tuple = ()
    invalid: str = ""
    hint: str = ""
    other_kind: tuple = ()       # `hr/x` named nothing, but objects of another kind are named x


def similarity(a, b):
    return difflib.SequenceMatcher(None, a, b).ratio()


def nearest(text, candidates, limit=3):
    """The closest spellings to `text` (ratio >= SIMILAR, within 0.05 of the best)."""
    scored = sorted((-similarity(text, c), c) for c in candidates)
    scored = [(-s, c) for s, c in scored if -s >= SIMILAR]
    return [c for s, c in scored if s >= scored[0][0] - 0.05][:limit] if scored else []


def nearest_to(graph, missing, limit=3):
    """Existing objects of `missing`'s kind it was probably meant to name: the same name in
    another namespace first (dependsOn's namespace defaults to the holder's own), then
    close spellings, same namespace first."""
    ranked = []
    for ref in known(graph):
        if ref.kind != missing.kind:
            continue
        if ref.name == missing.name:
            ranked.append(((0, 0.0), ref))
            continue
        ratio = similarity(missing.name, ref.name)
        if ratio >= TYPO:
            ranked.append(((1 if ref.namespace == missing.namespace else 2, -ratio), ref))
    return [ref for _, ref in sorted(ranked)[:limit]]


def known(graph):
    """Every existing object a name can resolve to: workloads, then sources."""
    return [r for r in graph.nodes if not graph.is_missing(r)] + sorted(graph.sources)


def match(graph, text, namespace=None):
    """The Match for `text`; with `namespace` (-n), a name found in several namespaces
    means the one in that namespace."""
    parts = text.split("/")
    if not text or any(not p for p in parts) or len(parts) > 3:
        return Match(text, invalid=f"invalid object name {text!r}",
                     hint="use name, ns/name, kind/name or kind/ns/name")
    kind = _kind(graph, parts[0]) if len(parts) > 1 else None
    if len(parts) == 3 and kind is None:
        return Match(text, invalid=f"unknown kind {parts[0]!r} in {text!r}",
                     hint="kinds: ks, hr, gitrepo, ocirepo, helmrepo, hc, bucket, rset, tf, or a kind "
                          "a dependency names")
    refs = _candidates(known(graph), parts, kind)
    if len(refs) > 1 and namespace:
        refs = [r for r in refs if r.namespace == namespace] or refs
    if refs:
        return Match(text, tuple(refs))
    if kind is not None:
        same = [r for r in known(graph) if r.name == parts[-1] and r.kind != kind
                and (len(parts) == 2 or r.namespace == parts[1])]
        if same:
            return Match(text, other_kind=tuple(same))
    spell = {1: lambda r: r.name, 2: lambda r: r.ns_name, 3: lambda r: r.short}[len(parts)]
    return Match(text, near=tuple(nearest(text, {spell(r) for r in known(graph)})))


def _kind(graph, word):
    """The kind `word` spells: a Flux alias, kubectl's short name of another kind, or the
    name of a kind in the graph (any case, singular or plural); None when none."""
    word = word.lower()
    kind = KIND_ALIASES.get(word) or OTHER_ALIASES.get(word)
    if kind is None:
        kind = next((r.kind for r in graph.nodes if r.kind.lower() in (word, word.removesuffix("s"))), None)
    return kind


def _candidates(known_refs, parts, kind):
    if len(parts) == 3:
        return [r for r in known_refs if (r.kind, r.namespace, r.name) == (kind, parts[1], parts[2])]
    if len(parts) == 2:
        if kind is not None:
            by_kind = [r for r in known_refs if r.kind == kind and r.name == parts[1]]
            if by_kind:
                return by_kind
        in_ns = [r for r in known_refs if r.namespace == parts[0] and r.name == parts[1]]
        return [r for r in in_ns if r.kind in WORKLOAD_KINDS] or in_ns
    named = [r for r in known_refs if r.name == parts[0]]
    return [r for r in named if r.kind in WORKLOAD_KINDS] or named


@dataclass(frozen=True)
class View:
    """What the user asked to look at: -n NAMESPACE (None: every namespace) and the objects
    NAME arguments resolved to. The graph is always read whole; a view only narrows it."""

    namespace: Optional[str] = None
    starts: tuple = ()

    def owns(self, ref):
        return self.namespace is None or ref.namespace == self.namespace

    def own(self, graph):
        """The graph's nodes in the namespace (missing ones included)."""
        return {r for r in graph.nodes if self.owns(r)}

    def shown(self, graph, reverse=False):
        """What a tree of this view holds: the starts and their dependents (with `reverse`,
        their dependencies); without starts, the namespace's objects and what they depend on."""
        if self.starts:
            starts = set(self.starts)
            return starts | (graph.upstream(starts) if reverse else graph.downstream(starts))
        own = self.own(graph)
        return own if self.namespace is None else own | graph.upstream(own)
