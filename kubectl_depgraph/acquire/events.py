"""Events from the live cluster for a set of objects, in a bounded number of kubectl calls."""

from dataclasses import dataclass
from typing import Optional

from kubectl_depgraph.model import involved_ref

PER_OBJECT_LIMIT = 5      # up to this many objects: one precise call each
PER_NAMESPACE_LIMIT = 5   # up to this many namespaces: one call per namespace


@dataclass
class Fetched:
    events: list                  # raw Event dicts
    calls: int                    # kubectl calls made
    note: Optional[str] = None    # why some or all events are missing


def plan_calls(refs):
    """The (namespace, field selector) pairs to query for `refs`; namespace None means -A.

    At most max(PER_OBJECT_LIMIT, PER_NAMESPACE_LIMIT, number of kinds) calls, whatever the
    number of objects: per object when few, per namespace when they share few namespaces,
    else one cluster-wide call per kind."""
    refs = sorted(set(refs))
    if len(refs) <= PER_OBJECT_LIMIT:
        return [(r.namespace, f"involvedObject.kind={r.kind},involvedObject.name={r.name}")
                for r in refs]
    namespaces = sorted({r.namespace for r in refs})
    if len(namespaces) <= PER_NAMESPACE_LIMIT:
        return [(ns, None) for ns in namespaces]
    return [(None, f"involvedObject.kind={kind}") for kind in sorted({r.kind for r in refs})]


def fetch(kubectl, refs):
    """Events about `refs` from the live cluster (a Kubectl). Stops at the first refusal
    (e.g. events are forbidden) and says so in `note`; never raises for that."""
    found, calls = [], 0
    wanted = set(refs)
    for namespace, selector in plan_calls(refs):
        items, warning = kubectl.events(namespace=namespace, field_selector=selector)
        calls += 1
        if warning:
            return Fetched(_only(found, wanted), calls, f"{warning} (explained without events)")
        found.extend(items)
    return Fetched(_only(found, wanted), calls)


def _only(events, wanted):
    return [e for e in events if involved_ref(e) in wanted]
