"""What `why` returns: the evaluated chain of an object down to its root causes, as data.
Built by explain.py, advised by advice.py, printed by render/why.py."""

import enum
from dataclasses import dataclass, field
from typing import Optional

from kubectl_depgraph.judge.status import REQUEUE_DEPENDENCY, Gate, State, _Words
from kubectl_depgraph.model import ObjectRef


class Via(_Words):
    """How an object reaches what it waits on."""

    DEPENDS_ON = "dependsOn"
    SOURCE = "source"
    HEALTH_CHECK = "healthCheck"


class Cause(enum.Enum):
    """The kind of a finding or root cause: what is wrong, and so what to advise."""

    MISSING = "missing"
    CYCLE = "cycle"
    SUSPENDED = "suspended"
    RETRIES_EXHAUSTED = "retries exhausted"
    STALLED = "stalled"
    HEALTH_CHECK = "health check failed"
    SOURCE = "source or artifact not ready"
    FAILED = "failed"
    NEVER_RECONCILED = "never reconciled"
    NOT_OBSERVED = "not observed yet"
    REVISION_BEHIND = "revision behind"
    WAITING_RECHECK = "waiting for re-check"
    WAITING = "waiting"
    PROGRESSING = "progressing"
    NO_ARTIFACT = "no artifact"
    NO_STATUS = "no status"
    NOT_CURRENT = "not current"      # an object of another kind, by kstatus (a CRD, a Deployment…)
    NOT_READ = "not read"            # an object of another kind the input could not show
    OTHER = "other"


@dataclass(frozen=True)
class Finding:
    """Something about one object itself: a failure, a suspension, a wait."""

    type: str            # the controller's reason, or Suspended/NeverReconciled/Stale/NotFound/…
    kind: "Cause"        # what advice applies
    title: str           # short label ("install retries exhausted")
    summary: str         # what it means
    detail: str = ""     # the controller's message, verbatim
    cause: bool = True   # True: the object itself must be fixed (not explained by a deeper one)


@dataclass(frozen=True)
class Link:
    """One evaluated edge from an object: a dependency, its source, or a health-checked object."""

    target: ObjectRef
    via: "Via"
    label: Gate                  # Gate.OK, or how the edge blocks
    detail: str = ""
    ready_expr: Optional[str] = None
    named: bool = False          # the object's own Ready message names this dependency
    target_state: Optional[State] = None   # the target's verdict (None: not evaluated)

    @property
    def blocked(self):
        return self.label is not Gate.OK


@dataclass(frozen=True)
class NextCheck:
    """When the controller next evaluates a waiting object's dependencies."""

    last: str                    # RFC3339 of the last check we know of
    basis: str                   # "event" (last DependencyNotReady event) or "transition"
    at: str                      # RFC3339 of the next check (estimate)
    in_seconds: Optional[int]    # from now; None when now is unknown
    interval: float = REQUEUE_DEPENDENCY   # seconds, as the controller's event states it
    retrying: bool = True        # False: the last event is far older than the interval


@dataclass
class Step:
    """One object on the chain, at its depth below the target."""

    ref: ObjectRef
    depth: int
    via: str                     # "" for the target, else the Via the parent reached it by
    parent: Optional[ObjectRef]
    state: State
    reason: str = ""
    message: str = ""
    since: str = ""
    suspended: bool = False
    generation: Optional[int] = None
    observed_generation: Optional[int] = None
    revision: str = ""
    findings: list = field(default_factory=list)
    links: list = field(default_factory=list)
    events: list = field(default_factory=list)
    next_check: Optional[NextCheck] = None
    repeated: bool = False       # already explained earlier in the chain (diamond)

    @property
    def blocked_links(self):
        return [link for link in self.links if link.blocked]


@dataclass(frozen=True)
class Suggestion:
    text: str                    # what to do and why
    command: str = ""            # a command to run, when there is one


@dataclass
class RootCause:
    """A deepest blocked thing: an object to fix, a missing name, or a cycle."""

    ref: ObjectRef
    kind: "Cause"
    label: str                   # display title
    summary: str
    detail: str = ""
    members: tuple = ()          # cycle members, in order
    named_by: tuple = ()         # for a missing object: (holder, via) for each link naming it
    blocks: list = field(default_factory=list)   # not-ready objects waiting on it

    @property
    def key(self):
        return (self.ref, self.kind, self.label)

    @property
    def required_by(self):
        """For a missing object: who names it (in spec.dependsOn, as source, in a health check)."""
        return tuple(sorted({holder for holder, _via in self.named_by}))


@dataclass
class Explanation:
    target: ObjectRef
    state: State
    ready: bool
    summary: str
    chain: list
    root_causes: list
    cycles: list
    suggestions: list
    notes: list = field(default_factory=list)

    @property
    def refs(self):
        """Existing objects on the chain (for fetching their events)."""
        return sorted({s.ref for s in self.chain if s.state is not State.MISSING})

    @property
    def blocked_edges(self):
        return [(s.ref, link) for s in self.chain if not s.repeated for link in s.blocked_links]


@dataclass
class Incident:
    """Every not-ready object, grouped by the root causes that block it."""

    root_causes: list
    not_ready: list
    explanations: dict
    cycles: list
    suggestions: list
    notes: list = field(default_factory=list)

    @property
    def refs(self):
        return sorted({r for e in self.explanations.values() for r in e.refs})
