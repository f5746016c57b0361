"""Events as evidence for `why`: the ones about an object, most relevant first. Events are
supporting history only (aggregated, sometimes dropped); conditions stay the source of
truth. Fetching them is acquire/events.py."""

from dataclasses import dataclass
from datetime import datetime, timezone

from kubectl_depgraph.model import involved_ref
from kubectl_depgraph.timeutil import parse_time

_NEVER = datetime.min.replace(tzinfo=timezone.utc)

SHOWN_PER_OBJECT = 3      # events kept per object, most relevant first


@dataclass(frozen=True)
class EventRecord:
    type: str           # Normal | Warning
    reason: str
    message: str
    count: int
    last: str           # RFC3339 of the last occurrence ("" when unknown)
    component: str      # kustomize-controller, helm-controller, …


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
