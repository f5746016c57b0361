"""Events as evidence for `why`: fetch them for a set of objects with a bounded number of
kubectl calls (live), or pick them out of a snapshot's Event list. Events are supporting
history only (aggregated, sometimes dropped); conditions stay the source of truth."""

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from kubectl_depgraph.model import ObjectRef
from kubectl_depgraph.timeutil import parse_time

_NEVER = datetime.min.replace(tzinfo=timezone.utc)

PER_OBJECT_LIMIT = 5      # up to this many objects: one precise call each
PER_NAMESPACE_LIMIT = 5   # up to this many namespaces: one call per namespace
SHOWN_PER_OBJECT = 3      # events kept per object, most relevant first


@dataclass(frozen=True)
class EventRecord:
    type: str           # Normal | Warning
    reason: str
    message: str
    count: int
    last: str           # RFC3339 of the last occurrence ("" when unknown)
    component: str      # kustomize-controller, helm-controller, …


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


def involved_ref(event):
    """The ObjectRef an Event is about, or None."""
    if not isinstance(event, dict):
        return None
    inv = event.get("involvedObject") or event.get("regarding") or {}
    if not isinstance(inv, dict) or not inv.get("kind") or not inv.get("name"):
        return None
    namespace = inv.get("namespace") or (event.get("metadata") or {}).get("namespace") or ""
    return ObjectRef(str(inv["kind"]), str(namespace), str(inv["name"]))


def record(event):
    """An Event dict as an EventRecord."""
    meta = event.get("metadata") or {}
    last = (event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
            or meta.get("creationTimestamp") or "")
    source = event.get("source") or {}
    count = event.get("count")
    if not isinstance(count, int) or isinstance(count, bool):
        count = (event.get("series") or {}).get("count") or 1
    return EventRecord(
        type=str(event.get("type") or "Normal"), reason=str(event.get("reason") or ""),
        message=str(event.get("message") or ""), count=int(count), last=str(last),
        component=str(source.get("component") or event.get("reportingComponent") or ""))


def select(events, ref, limit=SHOWN_PER_OBJECT):
    """The most relevant events about `ref`: Warnings first, then the most recent."""
    mine = [record(e) for e in events or () if involved_ref(e) == ref]
    mine.sort(key=lambda e: (e.reason, e.message))
    mine.sort(key=lambda e: _when(e.last), reverse=True)
    mine.sort(key=lambda e: e.type != "Warning")
    return mine[:limit]


def last_of(events, ref, reason):
    """RFC3339 time of the latest event about `ref` with `reason`, or ''."""
    times = [record(e).last for e in events or () if involved_ref(e) == ref
             and e.get("reason") == reason]
    return max(times, key=_when, default="")


def _when(text):
    # As times, not strings: "…:05Z" sorts after "…:05.300Z" as text.
    return parse_time(text) or _NEVER
