"""The two ways to run one reconcile: the flux CLI, or the same protocol through kubectl.

Both are reconcile.Backend implementations. They own the only threads of a run (a small
pool for the blocking subprocesses, one thread per watch) so the scheduler in executor.py
stays single-threaded. Every command is an argv list run through runner.run, or
runner.stream for the long-lived watches."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kubectl_depgraph import runner
from kubectl_depgraph.errors import ClusterError, CommandFailed, CommandNotFound, DepgraphError
from kubectl_depgraph.model import FLUX_CLI_KIND, RECONCILE_ANNOTATION
from kubectl_depgraph.acquire.watch import ObjectReader, Watches
from kubectl_depgraph.reconcile.executor import Backend, Observation, Observed, judge
from kubectl_depgraph.judge.status import dependency_problems
from kubectl_depgraph.timeutil import go_duration

# --------------------------------------------------------------------------- shared bits


def request_value(now_ns=None):
    """A fresh RFC3339Nano timestamp (what `flux reconcile` writes to requestedAt)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    secs, nanos = divmod(now_ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{stamp}.{nanos:09d}Z"


# --------------------------------------------------------------------------- flux CLI

def flux_argv(ref, timeout, with_source=False, flux="flux", kube_options=None):
    """`flux [--kubeconfig/--context] reconcile kustomization -n NS [--with-source] --timeout T
    -- NAME` (argv items).

    -n is always passed: flux defaults to flux-system, not the kube-context namespace.
    The name comes after `--`, so a name read from a file can never pass for an option."""
    globals_ = kube_options.global_args(request_timeout=False) if kube_options is not None else []
    argv = [flux, *globals_, "reconcile", *FLUX_CLI_KIND[ref.kind], "-n", ref.namespace]
    if with_source:
        argv.append("--with-source")
    return argv + ["--timeout", go_duration(timeout), "--", ref.name]


@dataclass(frozen=True)
class FluxOutput:
    """A finished `flux reconcile`: ok, the last ✔ or ✗ text, and whether it is waiting."""

    ok: bool
    message: str
    waiting: bool = False
    lines: tuple = ()


_GLYPHS = ("►", "✔", "◎", "✗", "⚠")


def parse_flux_output(stderr, returncode):
    """Read `flux reconcile`'s stderr (► ✔ ◎ ✗ lines) and exit status."""
    lines = tuple(line.rstrip() for line in (stderr or "").splitlines() if line.strip())
    steps = [line for line in lines if line.startswith(_GLYPHS)]
    errors = [line[1:].strip() for line in steps if line.startswith("✗")]
    if returncode == 0 and not errors:
        done = [line[1:].strip() for line in steps if line.startswith("✔")]
        return FluxOutput(True, done[-1] if done else "reconciled", False, lines)
    if errors:
        message = errors[-1]
    else:
        message = next((line.strip() for line in reversed(lines)
                        if not line.startswith(_GLYPHS)), "") or f"flux exited with status {returncode}"
        message = re.sub(r"^(Error|error): ", "", message)
    if message == "context deadline exceeded":
        message = "timed out (flux: context deadline exceeded)"
    waiting = bool(dependency_problems(message)) or "DependencyNotReady" in message
    return FluxOutput(False, message, waiting, lines)


def run_flux(argv, timeout, run=None):
    """Run one `flux reconcile` argv through `run` (runner.run unless a test passes a
    fake); returns a FluxOutput (never raises for exit 1)."""
    try:
        res = (run or runner.run)(argv, ok_codes=(0, 1), timeout=timeout + 30)
    except CommandNotFound as exc:
        raise CommandNotFound(f"flux not found: {exc.message}",
                              hint="install the flux CLI, or pass --no-flux to use kubectl") from exc
    except CommandFailed as exc:
        return parse_flux_output(exc.stderr, exc.returncode if exc.returncode is not None else 1)
    return parse_flux_output(res.stderr, res.returncode)


# --------------------------------------------------------------------------- backends

class KubectlBackend(Backend):
    """`flux reconcile`'s protocol through kubectl: annotate requestedAt with a fresh
    RFC3339Nano value, then read until status.lastHandledReconcileAt equals it.

    Objects are read from one watch per kind (see KindWatch), so a handled request is
    seen within milliseconds; kinds whose watch is not available are listed on each poll."""

    RETRIES = 3
    # kubectl annotate sends a GET and a PATCH per object through its client-side rate
    # limiter (burst 10): 5 objects per process stay within the burst; 30 take 4 s.
    BATCH = 5
    # Even while watching, list now and then: a watch that stalls silently (a half-open
    # connection, a buffering proxy) must slow a run down, not stall it.
    RESYNC = 30.0

    def __init__(self, kubectl, versions, workers=8, sleep=time.sleep, watch=True, clock=time.monotonic):
        self.kubectl = kubectl
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="depgraph-kubectl")
        self.reader = ObjectReader(kubectl, versions, self.pool)
        self.sleep = sleep
        self.clock = clock
        self._news = threading.Event()     # set by watch events and finished annotates
        self.watches = Watches(self.reader, kubectl, self._news.set) if watch else None
        self._listed = clock()
        self._requests = {}     # ref -> (value, Future of the annotate: {ref: error})
        self._batch = []        # refs started since the last poll
        self._judged = {}       # ref -> (object, source) last judged

    def prepare(self, steps):
        # Open the watches now: their list and process start overlap the first annotates.
        for step in steps:
            self._ensure_watches(step)

    def _ensure_watches(self, step):
        if self.watches is not None:
            self.watches.ensure(step.ref.kind)
            if step.source is not None and step.check_revision:
                self.watches.ensure(step.source.kind)

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
        if len(refs) > 1:
            try:
                self.kubectl.request_reconcile(refs, value)
                return {}
            except ClusterError:
                pass
        errors = {}
        for ref in refs:
            try:
                self._annotate_one(ref, value)
            except DepgraphError as exc:
                errors[ref] = exc.message
        return errors

    def _annotate_one(self, ref, value):
        delay = 0.2
        for attempt in range(self.RETRIES):
            try:
                return self.kubectl.request_reconcile([ref], value)
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
                needs_source = step.source is not None and step.check_revision
                if step.ref not in objects or (needs_source and step.source not in objects):
                    continue   # its watch is starting
                src = objects.get(step.source) if needs_source else None
                # Each watch event wakes a poll: judge only what changed (same verdict else).
                last = self._judged.get(step.ref)
                if last is not None and last[0] is objects[step.ref] and last[1] is src:
                    continue
                self._judged[step.ref] = (objects[step.ref], src)
                seen[step.ref] = judge(step, objects[step.ref], self._requests[step.ref][0], src)
        return seen

    def _read(self, refs):
        found, rest = self.watches.read(refs) if self.watches is not None else ({}, list(refs))
        if self.clock() - self._listed >= self.RESYNC:
            rest = list(refs)
        if rest:
            self._listed = self.clock()
            found.update(self.reader.read(rest))
        return found

    def wait(self, timeout):
        # Wake on the first watch event or finished annotate instead of sleeping it out.
        self._news.wait(timeout)
        self._news.clear()
        return True

    def close(self, interrupted=False):
        try:
            if self.watches is not None:
                self.watches.stop()
        finally:
            self.pool.shutdown(wait=not interrupted, cancel_futures=interrupted)


class FluxBackend(Backend):
    """One `flux reconcile` process per step (sources are separate steps, so no
    --with-source). When flux ends on DependencyNotReady the step waits: depgraph keeps
    reading the object until Ready, as the controller retries on its own."""

    def __init__(self, kubectl, versions, flux="flux", workers=8, kube_options=None, run=None):
        self.flux = flux
        self.kube_options = kube_options
        self._run = run   # runner.run unless a test passes a fake
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="depgraph-flux")
        self.reader = ObjectReader(kubectl, versions, self.pool)
        self._runs = {}         # ref -> Future of run_flux
        self._watch = set()     # refs whose flux run ended waiting or needs the revision rule

    def start(self, step, timeout):
        argv = flux_argv(step.ref, timeout, flux=self.flux, kube_options=self.kube_options)
        self._runs[step.ref] = self.pool.submit(run_flux, argv, timeout, self._run)

    def poll(self, steps):
        seen, watch = {}, []
        for step in steps:
            future = self._runs[step.ref]
            if step.ref in self._watch:
                watch.append(step)
                continue
            if not future.done():
                continue
            exc = future.exception()
            if exc is not None:
                if isinstance(exc, CommandNotFound):
                    raise exc
                message = exc.message if isinstance(exc, DepgraphError) else str(exc)
                seen[step.ref] = Observation(Observed.FAILED, message)
                continue
            out = future.result()
            if out.ok and not step.check_revision:
                seen[step.ref] = Observation(Observed.READY, out.message)
            elif out.ok or out.waiting:
                if out.waiting:
                    seen[step.ref] = Observation(Observed.WAITING, out.message)
                self._watch.add(step.ref)
                watch.append(step)
            else:
                seen[step.ref] = Observation(Observed.FAILED, out.message)
        if watch:
            objects = self.reader.read(_refs_to_read(watch))
            for step in watch:
                src = objects.get(step.source) if step.source and step.check_revision else None
                obs = judge(step, objects[step.ref], None, src)
                # flux's own "waiting" verdict stands until the object says more.
                if not (obs.state == Observed.PROGRESSING and step.ref in seen):
                    seen[step.ref] = obs
        return seen

    def close(self, interrupted=False):
        self.pool.shutdown(wait=not interrupted, cancel_futures=interrupted)


def _refs_to_read(steps):
    refs = set()
    for step in steps:
        refs.add(step.ref)
        if step.source is not None and step.check_revision:
            refs.add(step.source)
    return sorted(refs)


# --------------------------------------------------------------------------- dry-run text

def describe(step, timeout, use_flux, kubectl, kube_options=None, flux="flux"):
    """The exact command a step runs, as a copy-pasteable shell line."""
    if use_flux:
        return runner.quote(flux_argv(step.ref, timeout, flux=flux, kube_options=kube_options))
    argv = kubectl.argv(*kubectl.annotate_args([step.ref], "VALUE"))
    # The value is a fresh RFC3339Nano time at run time: show it as the shell would make it.
    return runner.quote(argv[:-1]) + f' {RECONCILE_ANNOTATION}="$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"'


def flux_available(flux="flux"):
    return runner.which(flux) is not None

