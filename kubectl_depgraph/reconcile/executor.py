"""Running a Plan: a scheduler with no wave barrier. A step starts the moment the steps
it needs are ready, at most `parallel` at a time. All I/O goes through a backend
(backends.KubectlBackend / FluxBackend); time through injected `clock`/`sleep`; progress
through an `on_event` callback. Nothing here prints."""

import abc
import enum
import heapq
import time
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from kubectl_depgraph.errors import DepgraphError
from kubectl_depgraph.judge.plan import StepResult, critical_chain
from kubectl_depgraph.judge.status import State, classify, revision_behind
from kubectl_depgraph.model import HELMRELEASE, KUSTOMIZATION, SOURCE_KINDS, ObjectRef
from kubectl_depgraph.timeutil import format_duration

DEFAULT_PARALLEL = 4
DEFAULT_TIMEOUT = 300.0
# The Stalled reason of a HelmRelease whose remediation retries are exhausted.
RETRIES_EXHAUSTED = "RetriesExceeded"
# A step's place in the scheduler before it has a StepResult.
_QUEUED = "queued"
_RUNNING = "running"


# --------------------------------------------------------------------------- judging

class Observed(str, enum.Enum):
    """What a backend sees of a running step."""

    PENDING = "pending"          # request not handled yet
    PROGRESSING = "progressing"  # handled, not yet Ready for the current generation
    WAITING = "waiting"          # handled, DependencyNotReady: waiting, not failure
    READY = "ready"              # done: the step's result is READY
    FAILED = "failed"            # done: the step's result is FAILED

    def __str__(self):
        return self.value


# The observations that end a step, and the result each gives it.
_FINAL = {Observed.READY: StepResult.READY, Observed.FAILED: StepResult.FAILED}


@dataclass(frozen=True)
class Observation:
    """What a backend saw of a running step, and the message that goes with it."""

    state: Observed
    message: str = ""


def judge(step, obj, requested=None, source_obj=None, reset=False):
    """Observation of a step from the object as read now.

    `requested`: the requestedAt value set for this step (None when the flux CLI already
    waited for the request to be handled). `source_obj`: the step's source, for the revision
    rule. `reset`: resetAt was set with the request (a failure with exhausted retries then
    needs no hint). A failure's message is the object's Ready (or Stalled) reason and message."""
    if obj is None:
        return Observation(Observed.FAILED, "object not found")
    if requested is not None and obj.last_handled_reconcile_at != requested:
        return Observation(Observed.PENDING, "waiting for the controller to handle the request")
    if obj.suspended:
        return Observation(Observed.FAILED, "resource is suspended")
    verdict = classify(obj)
    if verdict.state is State.READY:
        if step.is_source:
            return Observation(Observed.READY, f"fetched revision {obj.artifact_revision}"
                               if obj.artifact_revision else verdict.message)
        # A same-source Kustomization depends on it: it must have applied the source's revision.
        if step.check_revision and revision_behind(obj, obj, source_obj):
            return Observation(Observed.PROGRESSING, f"applied {obj.last_applied_revision or 'nothing'}, "
                                                     f"source is at {source_obj.artifact_revision}")
        if obj.ref.kind == KUSTOMIZATION and obj.last_applied_revision:
            return Observation(Observed.READY, f"applied revision {obj.last_applied_revision}")
        return Observation(Observed.READY, verdict.message)
    if verdict.state is State.WAITING:
        return Observation(Observed.WAITING, verdict.message)
    # FAILED includes Ready=False with a failure reason under Reconciling=True
    # ProgressingWithRetry: this run failed (a retry is another run), so it does not wait
    # out the timeout.
    if verdict.state in (State.FAILED, State.STALLED):
        text = f"{verdict.reason}: {verdict.message}" if verdict.reason and verdict.message else \
            (verdict.message or verdict.reason)
        if obj.ref.kind == HELMRELEASE and verdict.reason == RETRIES_EXHAUSTED and not reset:
            text += "; retries are exhausted: rerun with --reset to clear the failure counts"
        return Observation(Observed.FAILED, text)
    return Observation(Observed.PROGRESSING, verdict.message or verdict.state.value)


# --------------------------------------------------------------------------- execution

@dataclass(frozen=True)
class Event:
    """Progress: kind is "start", "handled" (the controller took the request: the first
    observation that is not PENDING), "waiting", "warning", or the StepResult a step got.

    `elapsed`: seconds since the step started (0 for skips); `at`: since the run started;
    `running`/`queued`: the scheduler's state after the event (for a live view)."""

    kind: str
    ref: Optional[ObjectRef]
    message: str = ""
    elapsed: float = 0.0
    at: float = 0.0
    running: Tuple[ObjectRef, ...] = ()
    queued: int = 0


@dataclass(frozen=True)
class Result:
    """One row of the summary: what became of one object."""

    ref: ObjectRef
    result: StepResult
    message: str = ""
    duration: Optional[float] = None
    started: Optional[float] = None   # seconds since the run started


@dataclass
class Outcome:
    results: list          # [Result]: plan steps in plan order, then excluded objects
    total: float           # wall time
    critical_path: float   # longest chain of actual step durations
    interrupted: bool = False
    parallel: Optional[int] = None   # the --parallel of the run
    slot_bound: bool = False         # a step that could start waited for a free slot
    scheduled_path: float = 0.0      # the durations list-scheduled on `parallel` slots

    def count(self, result):
        return sum(1 for r in self.results if r.result == result)

    @property
    def ok(self):
        """Every object ready (suspended ones were left alone on purpose)."""
        done = (StepResult.READY, StepResult.SUSPENDED)
        return not self.interrupted and all(r.result in done for r in self.results)


class Backend(abc.ABC):
    """The I/O a run needs; see reconcile/backends.py for the real ones and the tests for fakes."""

    def prepare(self, steps):
        """Called once before the first start with every step of the plan (e.g. to open
        watches before they are needed)."""

    @abc.abstractmethod
    def start(self, step, timeout):
        """Request the reconcile of `step` (may return before it is handled)."""

    @abc.abstractmethod
    def poll(self, steps):
        """{ref: Observation} for the running `steps` (missing ref: nothing new)."""

    def wait(self, timeout):
        """Block up to `timeout` s or until there is news to poll; False: did not wait
        (the executor sleeps instead)."""
        return False

    def close(self, interrupted=False):
        """Release resources (threads, processes); do not wait for work in flight when
        interrupted."""


def list_schedule(steps, durations, parallel):
    """Wall time of the steps' actual `durations` on `parallel` slots, each started as soon
    as its needs are done and a slot is free, the longest remaining chain first: the
    critical path for that parallelism (steps without a duration take none)."""
    remaining = {}
    users = {s.ref: [] for s in steps}
    for step in steps:
        for need in set(step.needs):
            users.setdefault(need, []).append(step.ref)
    for step in reversed(steps):
        remaining[step.ref] = durations.get(step.ref, 0.0) + \
            max((remaining[u] for u in users[step.ref]), default=0.0)
    index = {s.ref: i for i, s in enumerate(steps)}
    waiting = {s.ref: sum(1 for n in set(s.needs) if n in remaining) for s in steps}
    ready = [(-remaining[r], index[r], r) for r, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    running, now = [], 0.0   # running: a heap of (end, index, ref)
    while ready or running:
        while ready and len(running) < parallel:
            _, i, ref = heapq.heappop(ready)
            heapq.heappush(running, (now + durations.get(ref, 0.0), i, ref))
        now, _, ref = heapq.heappop(running)
        for user in users[ref]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (-remaining[user], index[user], user))
    return now


def critical_path(steps, durations):
    """The longest sum of durations along `needs` chains (steps in dependency order)."""
    return sum(durations[r] for r in critical_chain(steps, durations))


class Executor:
    """Runs a Plan through a Backend. Single-threaded: concurrency lives in the backend."""

    def __init__(self, plan_, backend, parallel=DEFAULT_PARALLEL, timeout=DEFAULT_TIMEOUT,
                 fail_fast=False, clock=time.monotonic, sleep=time.sleep,
                 on_event: Optional[Callable[[Event], None]] = None, poll_interval=0.1):
        if parallel < 1:   # the CLI's --parallel is an IntRange(min=1)
            raise ValueError("parallel must be at least 1")
        self.plan = plan_
        self.backend = backend
        self.parallel = parallel
        self.timeout = timeout
        self.fail_fast = fail_fast
        self.clock = clock
        self.sleep = sleep
        self.on_event = on_event or (lambda event: None)
        self.poll_interval = poll_interval
        self._steps = {s.ref: s for s in plan_.steps}
        self._index = {s.ref: i for i, s in enumerate(plan_.steps)}
        self._users = {r: [] for r in self._steps}
        for step in plan_.steps:
            for need in step.needs:
                self._users[need].append(step.ref)
        self._rank = self._ranks()
        self._state = {r: _QUEUED for r in self._steps}    # _QUEUED | _RUNNING | a StepResult
        self._started = {}
        self._results = {}
        self._last_message = {}
        self._handled = set()
        self._slot_bound = False
        self._t0 = 0.0
        self._stopping = None

    def _ranks(self):
        # Longest chain of steps still to come after each step: start those first.
        rank = {}
        for step in reversed(self.plan.steps):
            rank[step.ref] = 1 + max((rank[u] for u in self._users[step.ref]), default=0)
        return rank

    # --- helpers -------------------------------------------------------------------
    def _running(self):
        return [r for r, s in self._state.items() if s is _RUNNING]

    def _emit(self, kind, ref, message="", elapsed=0.0):
        running = tuple(sorted(self._running(), key=self._index.get))
        queued = sum(1 for s in self._state.values() if s is _QUEUED)
        self.on_event(Event(kind, ref, message, elapsed, self.clock() - self._t0, running, queued))

    def _finish(self, ref, result, message):
        now = self.clock()
        started = self._started.get(ref)
        duration = now - started if started is not None else None
        self._state[ref] = result
        self._results[ref] = Result(ref, result, message, duration,
                                    started - self._t0 if started is not None else None)
        self._emit(result, ref, message, duration or 0.0)
        if result is StepResult.FAILED:
            self._skip_users(ref)
            if self.fail_fast and self._stopping is None:
                self._stopping = f"not started: --fail-fast after {ref} failed"

    def _skip_users(self, failed):
        what = "source" if failed.kind in SOURCE_KINDS else "dependency"
        stack = [(u, f"{what} {failed} failed") for u in self._users[failed]]
        while stack:
            ref, message = stack.pop()
            if self._state[ref] is not _QUEUED:
                continue
            self._state[ref] = StepResult.SKIPPED
            self._results[ref] = Result(ref, StepResult.SKIPPED, message)
            self._emit(StepResult.SKIPPED, ref, message)
            stack.extend((u, message) for u in self._users[ref])

    def _eligible(self):
        ready = [r for r, s in self._state.items()
                 if s is _QUEUED and all(self._state[n] is StepResult.READY for n in self._steps[r].needs)]
        return sorted(ready, key=lambda r: (-self._rank[r], self._index[r]))

    # --- the loop ------------------------------------------------------------------
    def run(self):
        """Execute the plan; returns an Outcome (Ctrl-C included: interrupted=True)."""
        self._t0 = self.clock()
        interrupted = False
        try:
            self.backend.prepare(self.plan.steps)
            self._loop()
        except KeyboardInterrupt:
            interrupted = True
            for ref in self._running():
                self._finish(ref, StepResult.INTERRUPTED, "interrupted while reconciling; "
                                               "the controller finishes the request on its own")
            self._stopping = "not started: interrupted"
        finally:
            self.backend.close(interrupted=interrupted)
        for ref, state in self._state.items():
            if state is _QUEUED:
                self._state[ref] = StepResult.SKIPPED
                self._results[ref] = Result(ref, StepResult.SKIPPED, self._stopping or "not started")
        total = self.clock() - self._t0
        durations = {r: res.duration for r, res in self._results.items() if res.duration is not None}
        results = [self._results[s.ref] for s in self.plan.steps] + \
            [Result(e.ref, e.result, e.message) for e in self.plan.excluded]
        return Outcome(results, total, critical_path(self.plan.steps, durations), interrupted,
                       self.parallel, self._slot_bound, list_schedule(self.plan.steps, durations, self.parallel))

    def _loop(self):
        changed = True
        while True:
            # Only a finished step frees a slot or makes others eligible.
            if changed and self._stopping is None:
                free = self.parallel - len(self._running())
                eligible = self._eligible()
                self._slot_bound |= len(eligible) > free
                started = eligible[:max(free, 0)]
                for ref in started:
                    self._start(ref)
                if any(self._state[ref] is not _RUNNING for ref in started):
                    continue   # failed at once: its slot is free again
            running = self._running()
            if not running:
                return
            changed = self._observe(running)
            if not changed and not self.backend.wait(self.poll_interval):
                self.sleep(self.poll_interval)

    def _start(self, ref):
        self._state[ref] = _RUNNING
        self._started[ref] = self.clock()
        self._emit("start", ref)
        try:
            self.backend.start(self._steps[ref], self.timeout)
        except DepgraphError as exc:
            self._finish(ref, StepResult.FAILED, exc.message)

    def _observe(self, running):
        changed = False
        try:
            seen = self.backend.poll([self._steps[r] for r in running])
        except DepgraphError as exc:
            # Transient API trouble: objects keep their own timeouts; say it once.
            if self._last_message.get(None) != exc.message:
                self._last_message[None] = exc.message
                self._emit("warning", None, exc.message)
            seen = {}
        now = self.clock()
        for ref in running:
            obs = seen.get(ref)
            if obs is not None and obs.state is not Observed.PENDING and ref not in self._handled:
                self._handled.add(ref)
                self._emit("handled", ref, elapsed=now - self._started[ref])
            if obs is not None and obs.state in _FINAL:
                self._finish(ref, _FINAL[obs.state], obs.message)
                changed = True
                continue
            if obs is not None:
                if obs.state == Observed.WAITING and self._last_message.get(ref) != obs.message:
                    self._emit("waiting", ref, obs.message, now - self._started[ref])
                self._last_message[ref] = obs.message
            if now - self._started[ref] >= self.timeout:
                last = self._last_message.get(ref)
                text = f"timed out after {format_duration(self.timeout)}" + (f" ({last})" if last else "")
                self._finish(ref, StepResult.FAILED, text)
                changed = True
        return changed


def execute(plan_, backend, **options):
    """Run `plan_` through `backend`; options as Executor. Returns an Outcome."""
    return Executor(plan_, backend, **options).run()
