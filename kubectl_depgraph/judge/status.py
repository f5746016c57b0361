"""Readiness verdicts with the controllers' own rules (flux-semantics.md). No I/O."""

import enum
import re
from dataclasses import dataclass

from kubectl_depgraph.model import KUSTOMIZATION, OWN_GROUPS

# Seconds between a waiting object's dependency checks: the kustomize- and helm-controller
# --requeue-dependency default (flux-semantics.md).
REQUEUE_DEPENDENCY = 30

# The dependency texts of a DependencyNotReady message: kustomize-controller's
# `dependency 'ns/name' is not ready[ according to readyExpr eval]|revision is not up to
# date|not found: …` and helm-controller's `unable to get 'ns/name' dependency: …`.
_DEPENDENCY_TEXT = re.compile(r"dependency '([^'/]+/[^']+)' (not found|revision is not up to date|is not ready)|"
                              r"unable to get '([^'/]+/[^']+)' dependency|"
                              # ResourceSet / cross-kind: `dependency <apiVersion>/<Kind>/<ns>/<name> not …`
                              r"dependency ((?:[^\s/']+/)?v[0-9][a-z0-9]*/[A-Za-z0-9]+/[^\s:]+):? (not found|not ready)")


def dependency_problems(message):
    """[(`ns/name` (or `apiVersion/Kind/ns/name`), 'not found' | 'revision is not up to date' |
    'is not ready' | 'not ready')] named in a controller's dependency message, in order."""
    out = []
    for a, problem, b, typed, typed_problem in _DEPENDENCY_TEXT.findall(message or ""):
        out.append((a, problem) if a else (b, "not found") if b else (typed, typed_problem))
    return out


_HEALTH = re.compile(r"timeout waiting for: \[(.*)\]", re.S)
_HEALTH_ITEM = re.compile(r"([A-Za-z0-9]+)/(?:([^/\s]+)/)?([^/\s]+) status: '([^']*)'")


def health_check_items(message):
    """[(Kind, namespace, name, status)] named by a HealthCheckFailed message."""
    m = _HEALTH.search(message or "")
    if not m:
        return []
    return [(k, ns or "", n, s) for k, ns, n, s in _HEALTH_ITEM.findall(m.group(1))]


# What a Ready/Stalled reason means, in one sentence (flux-semantics.md).
MEANINGS = {
    "HealthCheckFailed": "applied, but the objects it waits for did not become healthy in time",
    "HealthCheckCanceled": "the health check was cancelled by a newer reconciliation",
    "BuildFailed": "kustomize build of spec.path failed: the manifests in the source cannot be built",
    "ArtifactFailed": "the source artifact could not be fetched",
    "ReconciliationFailed": "applying the built manifests failed (the API server rejected them)",
    "PruneFailed": "garbage collection of objects removed from the source failed",
    "InstallFailed": "the Helm install failed",
    "UpgradeFailed": "the Helm upgrade failed",
    "TestFailed": "the Helm tests failed",
    "RollbackFailed": "the Helm rollback failed",
    "UninstallFailed": "the Helm uninstall failed",
    "ValuesError": "the Helm values could not be composed (valuesFrom ConfigMap/Secret missing or invalid)",
    "SourceNotReady": "the chart source is not ready",
    "AccessDenied": "the controller was denied access (cross-namespace reference or impersonation)",
    "InvalidCELExpression": "a CEL expression (readyExpr or healthCheckExprs) is invalid; "
                            "terminal until the spec is fixed",
    "RetriesExceeded": "remediation retries are exhausted; the helm-controller stopped retrying and "
                       "will not try again until the spec changes or a reset is requested",
    "AuthenticationFailed": "the source cannot authenticate to its remote (credentials in spec.secretRef)",
    "GitOperationFailed": "the Git clone or checkout failed",
}


# Ready=False reasons that are not a failure of the last reconciliation.
_NOT_FAILURE = ("DependencyNotReady", "Progressing")


class _Words(str, enum.Enum):
    """An enum whose members print as their value (the word users see)."""

    def __str__(self):
        return self.value


class State(_Words):
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
    """The controllers' check: status.observedGeneration equals metadata.generation. A
    ResourceSet has no status.observedGeneration: its Ready condition's counts (kstatus)."""
    if obj.observed_generation is None and obj.ref.kind in OWN_GROUPS:
        seen = observed(obj)
        return obj.generation is None or seen is None or seen == obj.generation
    return obj.generation is None or obj.observed_generation == obj.generation


def observed(obj):
    """The generation the controller last acted on. kustomize-controller keeps
    status.observedGeneration at -1 until a reconciliation first succeeds (seen with the
    real controllers): then the Ready condition's own observedGeneration says it."""
    if obj.observed_generation is not None and obj.observed_generation >= 0:
        return obj.observed_generation
    ready = obj.ready_condition
    return ready.observed_generation if ready is not None and ready.observed_generation is not None \
        else obj.observed_generation


def generation_behind(obj):
    """The controller has not acted on the current spec yet (stale)."""
    seen = observed(obj)
    return obj.generation is not None and (seen is None or seen < obj.generation)


def observed_ahead(obj):
    """observedGeneration above generation: the object was recreated, or edited out of band,
    with an old status. Not stale, but the controllers' equality check still fails."""
    return obj.generation is not None and obj.observed_generation is not None and \
        obj.observed_generation > obj.generation


def ready_for_dependents(obj):
    """The controllers' dependency predicate, checks 3 and 4: conditions present,
    generation observed, Ready=True. (The same-source revision rule is revision_behind.)"""
    if obj is None:
        return False
    if obj.ref.external:
        return kstatus(obj).ready
    if not obj.conditions:
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
    if obj.ref.external:
        return kstatus(obj)
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
    # A source retrying a failed fetch shows Ready=Unknown "building artifact" for a while,
    # FetchFailed=True still holding the error (seen with the real source-controller).
    fetch = obj.condition("FetchFailed")
    if ready.status != "True" and fetch is not None and fetch.status == "True":
        return Verdict(State.FAILED, fetch.reason, fetch.message, since)
    failed = ready.status == "False" and ready.reason not in _NOT_FAILURE
    reconciling = obj.condition("Reconciling")
    reconciling = reconciling is not None and reconciling.status == "True"
    if failed and reconciling:
        return Verdict(State.FAILED, ready.reason, ready.message, since)
    if ready.status == "Unknown" or reconciling or (ready.status == "False" and not failed):
        return Verdict(State.PROGRESSING, ready.reason or "Progressing", ready.message, since)
    if generation_behind(obj):
        return Verdict(State.STALE, "GenerationNotObserved",
                       f"generation {obj.generation} not observed yet (observed {obj.observed_generation})",
                       since)
    if ready.status == "True":
        return Verdict(State.READY, ready.reason, ready.message, since, generation_observed(obj))
    return Verdict(State.FAILED, ready.reason, ready.message, since)


EXISTS = "exists"    # the detail of an entry that asks for existence only (ready: false)


class Gate(_Words):
    """How an edge stands under the controllers' dependency checks: OK passes; every other
    value blocks the dependent (its label in `why`)."""

    OK = "ready"
    MISSING = "missing"
    NOT_OBSERVED = "not observed yet"
    NOT_READY = "not ready"
    REVISION_BEHIND = "revision behind"
    READY_EXPR = "readyExpr false"
    SUSPENDED = "suspended"
    NO_ARTIFACT = "no artifact"
    UNKNOWN = "unknown"            # the dependency's kind was not read (forbidden, not in the input)


@dataclass(frozen=True)
class GateVerdict:
    gate: Gate
    detail: str = ""

    @property
    def blocked(self):
        return self.gate is not Gate.OK


def dependency_verdict(dependent, dependency, source=None, ready_expr=None, ready=True):
    """The controllers' dependency checks for one dependsOn entry, first failure wins: does
    `dependency` (a FluxObject, None when it does not exist) let `dependent` proceed?
    `source`: the dependent's source object, for the same-source revision rule.
    `ready` False: the entry asks for existence only.
    readyExpr is not evaluated (no CEL here): the controller's own verdict, if its message
    gives one, else the readiness the expression usually asks for."""
    if dependency is None:
        return GateVerdict(Gate.MISSING, "does not exist")
    if not ready:
        return GateVerdict(Gate.OK, f"{EXISTS} (ready: false: the entry asks for existence only)")
    if dependency.ref.external:
        return _external_verdict(dependent, dependency, ready_expr)
    ready = ready_for_dependents(dependency)
    if ready_expr:
        if _ready_expr_false_by_controller(dependent, dependency.ref):
            return GateVerdict(Gate.READY_EXPR, f"readyExpr {ready_expr!r} evaluated false (controller message)")
        if not ready:
            extra = ", and it is suspended" if dependency.suspended else ""
            return GateVerdict(Gate.READY_EXPR, f"readyExpr {ready_expr!r} (not evaluated; the dependency "
                                                f"is not ready{extra})")
        return GateVerdict(Gate.OK, f"ready (readyExpr {ready_expr!r} not evaluated)")
    if dependency.suspended and not ready:
        return GateVerdict(Gate.SUSPENDED, "suspended and not ready: it stays so until resumed")
    if not dependency.conditions:
        return GateVerdict(Gate.NOT_READY, "never reconciled (no conditions)")
    not_observed = GateVerdict(Gate.NOT_OBSERVED, f"generation {dependency.generation}, observed "
                                                  f"{dependency.observed_generation}")
    if generation_behind(dependency):
        return not_observed
    cond = dependency.ready_condition
    if cond is None or cond.status != "True":
        return GateVerdict(Gate.NOT_READY, f"Ready={cond.status} {cond.reason}" if cond else "no Ready condition")
    if not generation_observed(dependency):   # the controllers compare the two exactly
        return not_observed
    if revision_behind(dependent, dependency, source):
        return GateVerdict(Gate.REVISION_BEHIND, f"applied {dependency.last_applied_revision or 'nothing'}, "
                                                 f"source has {source.artifact_revision}")
    return GateVerdict(Gate.OK, "ready")


def _external_verdict(dependent, dependency, ready_expr):
    verdict = kstatus(dependency)
    if verdict.state is State.UNKNOWN and verdict.reason == "NotRead":
        return GateVerdict(Gate.UNKNOWN, verdict.message)
    if ready_expr:
        if _ready_expr_false_by_controller(dependent, dependency.ref):
            return GateVerdict(Gate.READY_EXPR, f"readyExpr {ready_expr!r} evaluated false (controller message)")
        return GateVerdict(Gate.OK if verdict.ready else Gate.READY_EXPR,
                           f"readyExpr {ready_expr!r} not evaluated; kstatus: {verdict.state}")
    if verdict.state is State.UNKNOWN:
        return GateVerdict(Gate.UNKNOWN, "no status in this input")
    if verdict.state is State.STALE:
        return GateVerdict(Gate.NOT_OBSERVED, verdict.message)
    if not verdict.ready:
        return GateVerdict(Gate.NOT_READY, f"{verdict.state}: {verdict.message}" if verdict.message
                           else str(verdict.state))
    return GateVerdict(Gate.OK, verdict.message or "current")


def _ready_expr_false_by_controller(obj, dep_ref):
    ready = obj.ready_condition
    return bool(ready and ready.reason == "DependencyNotReady"
                and f"dependency '{dep_ref.ns_name}' is not ready according to readyExpr eval"
                in ready.message)


# Other kinds: kstatus rules (they build on the Verdict above).
from kubectl_depgraph.judge.kstatus import kstatus  # noqa: E402
