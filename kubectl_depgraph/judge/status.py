"""Readiness verdicts with the controllers' own rules (flux-semantics.md). No I/O."""

import enum
import re
from dataclasses import dataclass

from kubectl_depgraph.model import KUSTOMIZATION

# Seconds between a waiting object's dependency checks: the kustomize- and helm-controller
# --requeue-dependency default (flux-semantics.md).
REQUEUE_DEPENDENCY = 30

# The dependency texts of a DependencyNotReady message: kustomize-controller's
# `dependency 'ns/name' is not ready[ according to readyExpr eval]|revision is not up to
# date|not found: …` and helm-controller's `unable to get 'ns/name' dependency: …`.
_DEPENDENCY_TEXT = re.compile(r"dependency '([^'/]+/[^']+)' (not found|revision is not up to date|is not ready)|"
                              r"unable to get '([^'/]+/[^']+)' dependency")


def dependency_problems(message):
    """[(`ns/name`, 'not found' | 'revision is not up to date' | 'is not ready')] named in a
    controller's dependency message, in order."""
    return [(a, problem) if a else (b, "not found")
            for a, problem, b in _DEPENDENCY_TEXT.findall(message or "")]


# Ready=False reasons that are not a failure of the last reconciliation.
_NOT_FAILURE = ("DependencyNotReady", "Progressing")


class State(str, enum.Enum):
    READY = "ready"
    FAILED = "failed"
    WAITING = "waiting"           # DependencyNotReady
    PROGRESSING = "progressing"
    STALLED = "stalled"
    SUSPENDED = "suspended"
    STALE = "stale"               # generation not observed yet
    NEW = "never reconciled"      # no Ready condition
    MISSING = "missing"           # a dependsOn target that does not exist
    UNKNOWN = "no status"         # --path input: manifests carry no status


@dataclass(frozen=True)
class Verdict:
    state: State
    reason: str = ""
    message: str = ""
    since: str = ""        # lastTransitionTime of the Ready condition
    ready: bool = False    # satisfies a dependent's readiness check (before the revision rule)

    @property
    def ok(self):
        return self.state is State.READY


MISSING = Verdict(State.MISSING, "NotFound", "object does not exist")


def generation_observed(obj):
    return obj.generation is None or obj.observed_generation == obj.generation


def ready_for_dependents(obj):
    """The controllers' dependency predicate, checks 3 and 4: conditions present,
    generation observed, Ready=True. (The same-source revision rule is revision_behind.)"""
    if obj is None or not obj.conditions:
        return False
    ready = obj.ready_condition
    return generation_observed(obj) and ready is not None and ready.status == "True"


def revision_behind(dependent, dependency, source_obj):
    """True when Kustomization `dependency` shares `dependent`'s source and has not applied
    the source's current artifact revision (check 5; Kustomizations only).

    Pass the dependency itself as `dependent` to ask whether it is behind its own source,
    i.e. what any same-source dependent would see."""
    if dependent is None or dependency is None or source_obj is None:
        return False
    if dependent.ref.kind != KUSTOMIZATION or dependency.ref.kind != KUSTOMIZATION:
        return False
    if dependent.source is None or dependent.source != dependency.source:
        return False
    return bool(source_obj.artifact_revision) and \
        dependency.last_applied_revision != source_obj.artifact_revision


def stalled_condition(obj):
    """The Stalled condition when it is True (the controller gave up retrying), else None."""
    stalled = obj.condition("Stalled")
    return stalled if stalled is not None and stalled.status == "True" else None


def classify(obj):
    """Verdict for a FluxObject (None means missing)."""
    if obj is None:
        return MISSING
    ready_flag = ready_for_dependents(obj)
    if not obj.has_status:
        if obj.suspended:
            return Verdict(State.SUSPENDED, "Suspended", "suspended", ready=False)
        return Verdict(State.UNKNOWN, "", "")
    ready = obj.ready_condition
    since = ready.last_transition_time if ready else ""
    if obj.suspended:
        msg = ("suspended; last status ready" if ready_flag else
               f"suspended; last status not ready: {ready.message}" if ready else
               "suspended; never reconciled")
        return Verdict(State.SUSPENDED, "Suspended", msg, since, ready_flag)
    stalled = stalled_condition(obj)
    if stalled is not None:
        return Verdict(State.STALLED, stalled.reason, stalled.message, stalled.last_transition_time)
    return ready_verdict(obj)


def ready_verdict(obj):
    """The verdict of an existing object's Ready condition alone (with Reconciling and the
    generation rule), suspension and Stalled aside: NEW, WAITING, FAILED, PROGRESSING,
    STALE or READY. classify() is this unless the object is suspended or stalled.

    Ready=False with a failure reason is FAILED even while Reconciling=True: the
    controllers set Reconciling reason ProgressingWithRetry on a failed reconciliation that
    they will retry, and keep the old observedGeneration (it is updated only when Ready or
    Stalled). Ready=Unknown, Ready=False Progressing, or Reconciling=True without such a
    failure is PROGRESSING."""
    ready = obj.ready_condition
    if ready is None:
        return Verdict(State.NEW, "", "waiting to be reconciled")
    since = ready.last_transition_time
    if ready.status == "False" and ready.reason == "DependencyNotReady":
        return Verdict(State.WAITING, ready.reason, ready.message, since)
    failed = ready.status == "False" and ready.reason not in _NOT_FAILURE
    reconciling = obj.condition("Reconciling")
    reconciling = reconciling is not None and reconciling.status == "True"
    if failed and reconciling:
        return Verdict(State.FAILED, ready.reason, ready.message, since)
    if ready.status == "Unknown" or reconciling or (ready.status == "False" and not failed):
        return Verdict(State.PROGRESSING, ready.reason or "Progressing", ready.message, since)
    if not generation_observed(obj):
        return Verdict(State.STALE, "GenerationNotObserved",
                       f"generation {obj.generation} not observed yet (observed {obj.observed_generation})",
                       since)
    if ready.status == "True":
        return Verdict(State.READY, ready.reason, ready.message, since, True)
    return Verdict(State.FAILED, ready.reason, ready.message, since)
