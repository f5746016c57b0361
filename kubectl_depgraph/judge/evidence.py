"""Events as evidence for `why`: the ones about an object, most relevant first. Events are
supporting history only (aggregated, sometimes dropped); conditions stay the source of
truth. Fetching them is acquire/events.py."""

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from kubectl_depgraph.model import involved_ref
from kubectl_depgraph.timeutil import parse_duration, parse_time

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


class Evidence:
    """Events indexed once by the object they are about: a fleet's incident view asks for
    thousands of objects, and rescanning every event for each was quadratic."""

    def __init__(self, events=()):
        self._by_ref = {}
        for event in events or ():
            ref = involved_ref(event)
            if ref is not None:
                self._by_ref.setdefault(ref, []).append(record(event))
        for records in self._by_ref.values():
            records.sort(key=lambda e: (e.reason, e.message))
            records.sort(key=lambda e: _when(e.last), reverse=True)   # stable: newest first

    def about(self, ref, limit=SHOWN_PER_OBJECT):
        """The most relevant events about `ref`: Warnings first, then the most recent."""
        return sorted(self._by_ref.get(ref, ()), key=lambda e: e.type != "Warning")[:limit]

    def latest(self, ref, reason):
        """The most recent event about `ref` with `reason`, or None."""
        return next((e for e in self._by_ref.get(ref, ()) if e.reason == reason), None)


_RETRY = re.compile(r"retrying in (\d+(?:\.\d+)?(?:ms|s|m|h))+")


def retry_interval(message):
    """Seconds of a controller's `… retrying in 2s` (None when the message states none)."""
    m = _RETRY.search(message or "")
    return parse_duration(m.group(0).rsplit(" ", 1)[-1]) if m else None


def _when(text):
    # As times, not strings: "…:05Z" sorts after "…:05.300Z" as text.
    return parse_time(text) or _NEVER
