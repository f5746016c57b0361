"""The two ways to run one reconcile: the flux CLI (reconcile/fluxcli.py), or the same
protocol through kubectl.

Both are reconcile.Backend implementations. They own the only threads of a run (a small
pool for the blocking calls, one thread per watch) so the scheduler in executor.py stays
single-threaded. Every command is an argv list run through runner.run, or runner.stream
for the long-lived processes (watches, the kubectl proxy, flux)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from kubectl_depgraph import runner
from kubectl_depgraph.errors import ClusterError, CommandNotFound, DepgraphError
from kubectl_depgraph.model import FORCE_ANNOTATION, HELMRELEASE, RECONCILE_ANNOTATION, RESET_ANNOTATION
from kubectl_depgraph.acquire.proxy import ProxyUnavailable
from kubectl_depgraph.acquire.watch import ObjectReader, Watches
from kubectl_depgraph.reconcile.executor import Backend, Observation, Observed, judge
from kubectl_depgraph.reconcile.fluxcli import FluxRun, flux_argv
from kubectl_depgraph.timeutil import parse_time

# --------------------------------------------------------------------------- shared bits


def request_value(now_ns=None):
    """A fresh RFC3339Nano timestamp (what `flux reconcile` writes to requestedAt)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    secs, nanos = divmod(now_ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{stamp}.{nanos:09d}Z"


def extra_annotations(ref, reset=False, force=False):
    """The annotations set with requestedAt (same value), as `flux reconcile hr --reset
    --force` does: resetAt and forceAt, HelmReleases only."""
    if ref.kind != HELMRELEASE:
        return ()
    return tuple(key for key, on in ((RESET_ANNOTATION, reset), (FORCE_ANNOTATION, force)) if on)


# --------------------------------------------------------------------------- backends

class WatchingBackend(Backend):
    """What both backends share: the objects of running steps read from one watch per kind
    (see KindWatch), so a handled request is seen within milliseconds; kinds whose watch is
    not available are listed on each poll. A blocking call runs in a small thread pool."""

    # Even while watching, list now and then: a watch that stalls silently (a half-open
    # connection, a buffering proxy) must slow a run down, not stall it.
    RESYNC = 30.0

    def __init__(self, kubectl, versions, workers=8, watch=True, clock=time.monotonic,
                 reset=False, force=False):
        self.kubectl = kubectl
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="depgraph-reconcile")
        self.reader = ObjectReader(kubectl, versions, self.pool)
        self.clock = clock
        self.reset = reset
        self.force = force
        self._news = threading.Event()     # set by watch events and finished commands
        self.watches = Watches(self.reader, kubectl, self._news.set) if watch else None
        self._listed = clock()

    def prepare(self, steps):
        # Open the watches now: their list and process start overlap the first requests.
        for step in steps:
            self._ensure_watches(step)

    def _ensure_watches(self, step):
        if self.watches is not None:
            self.watches.ensure(step.ref.kind)
            if step.source is not None and step.check_revision:
                self.watches.ensure(step.source.kind)

    def _read(self, refs):
        found, rest = self.watches.read(refs) if self.watches is not None else ({}, list(refs))
        if self.clock() - self._listed >= self.RESYNC:
            rest = list(refs)
        if rest:
            self._listed = self.clock()
            found.update(self.reader.read(rest))
        return found

    def _judge(self, step, objects, requested):
        """judge() of `step` from `objects` (None while its watch is starting)."""
        if step.ref not in objects:
            return None
        needs_source = step.source is not None and step.check_revision
        if needs_source and step.source not in objects:
            return None
        src = objects.get(step.source) if needs_source else None
        return judge(step, objects[step.ref], requested, src, reset=self.reset)

    def wait(self, timeout):
        # Wake on the first watch event or finished command instead of sleeping it out.
        self._news.wait(timeout)
        self._news.clear()
        return True

    def close(self, interrupted=False):
        try:
            if self.watches is not None:
                self.watches.stop()
        finally:
            self.pool.shutdown(wait=not interrupted, cancel_futures=interrupted)


class KubectlBackend(WatchingBackend):
    """`flux reconcile`'s protocol through kubectl: annotate requestedAt with a fresh
    RFC3339Nano value (and resetAt/forceAt for --reset/--force), then read until
    status.lastHandledReconcileAt equals it."""

    RETRIES = 3
    # kubectl annotate sends a GET and a PATCH per object through its client-side rate
    # limiter (burst 10): 5 objects per process stay within the burst; 30 take 4 s.
    BATCH = 5

    def __init__(self, kubectl, versions, workers=8, sleep=time.sleep, watch=True, clock=time.monotonic,
                 reset=False, force=False, proxy=None):
        super().__init__(kubectl, versions, workers, watch, clock, reset, force)
        self.sleep = sleep
        self.proxy = proxy      # acquire.proxy.KubectlProxy: requests without a process each
        self._requests = {}     # ref -> (value, Future of the annotate: {ref: error})
        self._batch = []        # refs started since the last poll
        self._judged = {}       # ref -> (object, source) last judged

    def start(self, step, timeout):
        self._ensure_watches(step)
        # Batched: steps started in the same scheduler pass share one annotate per
        # namespace and kind, sent by the poll that follows in the same pass (no waiting).
        self._batch.append(step.ref)

    def _flush(self):
        groups = {}
        for ref in self._batch:
            groups.setdefault((ref.namespace, ref.kind), []).append(ref)
        self._batch = []
        chunks = [refs[i:i + self.BATCH] for refs in groups.values()
                  for i in range(0, len(refs), self.BATCH)]
        for refs in chunks:
            value = request_value()
            future = self.pool.submit(self._annotate, refs, value)
            future.add_done_callback(lambda _: self._news.set())
            for ref in refs:
                self._requests[ref] = (value, future)

    def _annotate(self, refs, value):
        """Annotate `refs` (one namespace and kind) in one call; on failure, one by one
        so that each object gets its own error."""
        also = extra_annotations(refs[0], self.reset, self.force)
        if self._patch(refs, value, also):
            return {}
        if len(refs) > 1:
            try:
                self.kubectl.request_reconcile(refs, value, also)
                return {}
            except ClusterError:
                pass
        errors = {}
        for ref in refs:
            try:
                self._annotate_one(ref, value, also)
            except DepgraphError as exc:
                errors[ref] = exc.message
        return errors

    def _patch(self, refs, value, also):
        """The annotations as merge patches through the kubectl proxy; False when it cannot
        (not serving yet, or any error: kubectl annotate then says what went wrong)."""
        if self.proxy is None or not self.proxy.serving or refs[0].kind not in self.reader.versions:
            return False
        patch = {"metadata": {"annotations": {key: value for key in (RECONCILE_ANNOTATION, *also)}}}
        try:
            for ref in refs:
                self.proxy.merge_patch(f"{self.reader.path(ref.kind, ref.namespace)}/{ref.name}", patch)
        except ProxyUnavailable:
            return False
        return True

    def _annotate_one(self, ref, value, also):
        delay = 0.2
        for attempt in range(self.RETRIES):
            try:
                return self.kubectl.request_reconcile([ref], value, also)
            except ClusterError as exc:
                if attempt == self.RETRIES - 1 or not exc.transient:
                    raise
                self.sleep(delay)
                delay *= 2

    def poll(self, steps):
        self._flush()
        seen, handled = {}, []
        for step in steps:
            value, future = self._requests[step.ref]
            if not future.done():
                # kubectl exits some 50 ms after its PATCH; a watched object showing our
                # value as handled needs no wait for that (the value is unique).
                if self.watches is not None and self.watches.live(step.ref.kind):
                    handled.append(step)
                continue
            exc = future.exception()
            error = (exc.message if isinstance(exc, DepgraphError) else str(exc)) if exc is not None \
                else future.result().get(step.ref)
            if error:
                seen[step.ref] = Observation(Observed.FAILED, f"annotate failed: {error}")
                continue
            handled.append(step)
        if handled:
            objects = self._read(_refs_to_read(handled))
            for step in handled:
                # Each watch event wakes a poll: judge only what changed (same verdict else).
                key = (objects.get(step.ref), objects.get(step.source))
                last = self._judged.get(step.ref)
                if last is not None and last[0] is key[0] and last[1] is key[1]:
                    continue
                obs = self._judge(step, objects, self._requests[step.ref][0])
                if obs is not None:
                    self._judged[step.ref] = key
                    seen[step.ref] = obs
        return seen


    def close(self, interrupted=False):
        try:
            super().close(interrupted)
        finally:
            if self.proxy is not None:
                self.proxy.stop()


class FluxBackend(WatchingBackend):
    """One `flux reconcile` process per step (sources are separate steps, so no
    --with-source), judged like the kubectl path: depgraph watches the object and ends the
    step as soon as flux's request is handled and the object is Ready or has failed (the
    CLI itself polls every 2 s). flux's exit decides only what the object does not show:
    a refusal (suspended, annotate failed), or DependencyNotReady (the step waits)."""

    # A request value flux wrote is the local time when it annotated: at most this much
    # before the step started (clock resolution), never earlier.
    SLACK = 1.0

    def __init__(self, kubectl, versions, flux="flux", workers=8, kube_options=None, run=None,
                 watch=True, clock=time.monotonic, reset=False, force=False):
        super().__init__(kubectl, versions, workers, watch and kubectl is not None, clock, reset, force)
        self.flux = flux
        self.kube_options = kube_options
        self._run = run   # runner.run unless a test passes a fake
        self._runs = {}         # ref -> FluxRun
        self._started = {}      # ref -> wall time of start

    def start(self, step, timeout):
        self._ensure_watches(step)
        argv = flux_argv(step.ref, timeout, flux=self.flux, kube_options=self.kube_options,
                         reset=self.reset, force=self.force)
        self._started[step.ref] = time.time()
        self._runs[step.ref] = FluxRun(argv, timeout, self._news.set, self._run, self.pool)

    def _request_of(self, ref, obj):
        """The requestedAt value flux set for this step, once it shows on the object."""
        when = parse_time(obj.requested_at) if obj is not None else None
        if when is None or when.timestamp() < self._started[ref] - self.SLACK:
            return None
        return obj.requested_at

    def poll(self, steps):
        seen = {}
        objects = self._read(_refs_to_read(steps))
        for step in steps:
            run, ref = self._runs[step.ref], step.ref
            requested = self._request_of(ref, objects.get(ref))
            obs = self._judge(step, objects, requested) if requested else None
            if obs is not None and obs.state in _DONE:
                run.stop()
                seen[ref] = obs
                continue
            out = run.output
            if out is None:
                if obs is not None and obs.state is Observed.WAITING:
                    seen[ref] = obs
                continue
            if isinstance(out, Exception):
                if isinstance(out, CommandNotFound):
                    raise out
                seen[ref] = Observation(Observed.FAILED, out.message if isinstance(out, DepgraphError) else str(out))
            elif out.ok and not step.check_revision:
                seen[ref] = Observation(Observed.READY, out.message)
            elif out.ok or out.waiting:
                # flux's request is handled: the object says the rest (the revision rule,
                # or Ready once the controller's requeue finds the dependencies ready).
                obs = self._judge(step, objects, None)
                if obs is None or (out.waiting and obs.state is Observed.PROGRESSING):
                    obs = Observation(Observed.WAITING, out.message) if out.waiting else None
                if obs is not None:
                    seen[ref] = obs
            else:
                seen[ref] = Observation(Observed.FAILED, with_last_ready(out.message, objects.get(ref)))
        return seen

    def close(self, interrupted=False):
        for run in self._runs.values():
            run.stop()
        super().close(interrupted)


_DONE = (Observed.READY, Observed.FAILED)


def with_last_ready(message, obj):
    """`message`, with the object's last Ready reason and message when it does not say them."""
    ready = obj.ready_condition if obj is not None else None
    if ready is None or not ready.message or ready.message in message:
        return message
    return f"{message}; last Ready: {ready.reason}: {ready.message}" if ready.reason else \
        f"{message}; last Ready: {ready.message}"


def _refs_to_read(steps):
    refs = set()
    for step in steps:
        refs.add(step.ref)
        if step.source is not None and step.check_revision:
            refs.add(step.source)
    return sorted(refs)


# --------------------------------------------------------------------------- dry-run text

def describe(step, timeout, use_flux, kubectl, kube_options=None, flux="flux", reset=False, force=False):
    """The exact command a step runs, as a copy-pasteable shell line."""
    if use_flux:
        return runner.quote(flux_argv(step.ref, timeout, flux=flux, kube_options=kube_options,
                                      reset=reset, force=force))
    also = extra_annotations(step.ref, reset, force)
    keys = (RECONCILE_ANNOTATION, *also)
    argv = kubectl.argv(*kubectl.annotate_args([step.ref], "VALUE", also))[:-len(keys)]
    # The value is a fresh RFC3339Nano time at run time: show it as the shell would make it.
    now = '"$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"'
    if not also:
        return runner.quote(argv) + f" {RECONCILE_ANNOTATION}={now}"
    # resetAt/forceAt carry the same value as requestedAt.
    return f"now={now}; " + runner.quote(argv) + "".join(f' {key}="$now"' for key in keys)


def flux_available(flux="flux"):
    return runner.which(flux) is not None
