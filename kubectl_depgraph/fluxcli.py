"""The two ways to run one reconcile: the flux CLI, or the same protocol through kubectl.

Both are reconcile.Backend implementations. They own the only threads of a run (a small
pool for the blocking subprocesses) so the scheduler in reconcile.py stays single-threaded.
Every command is an argv list run through runner.run."""

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kubectl_depgraph import runner
from kubectl_depgraph.cluster import parse_duration
from kubectl_depgraph.errors import ClusterError, CommandFailed, CommandNotFound, DepgraphError
from kubectl_depgraph.model import (FLUX_CLI_KIND, GROUPS, PLURALS, RECONCILE_ANNOTATION,
                                    parse_object, resource_name)
from kubectl_depgraph.reconcile import (FAILED, PROGRESSING, READY, WAITING, Backend, Observation,
                                        judge)

# --------------------------------------------------------------------------- shared bits


def go_duration(seconds):
    """Seconds as a Go duration the flux CLI accepts: 300 → `5m0s`, 90.5 → `1m30.5s`."""
    seconds = max(float(seconds), 0.001)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    secs_text = f"{secs:.3f}".rstrip("0").rstrip(".") + "s"
    text = ""
    if hours:
        text += f"{int(hours)}h"
    if hours or minutes:
        text += f"{int(minutes)}m"
    return text + secs_text


def parse_timeout(text):
    """`--timeout` value (Go duration or seconds) → seconds; None when invalid."""
    seconds = parse_duration(text)
    return seconds if seconds and seconds > 0 else None


def request_value(now_ns=None):
    """A fresh RFC3339Nano timestamp (what `flux reconcile` writes to requestedAt)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    secs, nanos = divmod(now_ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{stamp}.{nanos:09d}Z"


# --------------------------------------------------------------------------- flux CLI

def flux_argv(ref, timeout, with_source=False, flux="flux"):
    """`flux reconcile kustomization NAME -n NS [--with-source] --timeout T` (argv items).

    -n is always passed: flux defaults to flux-system, not the kube-context namespace."""
    argv = [flux, "reconcile", *FLUX_CLI_KIND[ref.kind], ref.name, "-n", ref.namespace]
    if with_source:
        argv.append("--with-source")
    return argv + ["--timeout", go_duration(timeout)]


def flux_global_args(kube):
    """The user's --context/--kubeconfig for flux (the same flags as kubectl's)."""
    args = []
    if kube.kubeconfig:
        args.append(f"--kubeconfig={kube.kubeconfig}")
    if kube.context:
        args.append(f"--context={kube.context}")
    return args


@dataclass(frozen=True)
class FluxOutput:
    """A finished `flux reconcile`: ok, the last ✔ or ✗ text, and whether it is waiting."""

    ok: bool
    message: str
    waiting: bool = False
    lines: tuple = ()


_DEPENDENCY = re.compile(r"dependency '[^']+' (is not ready|revision is not up to date|not found)|"
                         r"unable to get '[^']+' dependency|DependencyNotReady")
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
    return FluxOutput(False, message, bool(_DEPENDENCY.search(message)), lines)


def run_flux(argv, timeout):
    """Run one `flux reconcile` argv; returns a FluxOutput (never raises for exit 1)."""
    try:
        res = runner.run(argv, ok_codes=(0, 1), timeout=timeout + 30)
    except CommandNotFound as exc:
        raise CommandNotFound(f"flux not found: {exc.message}",
                              hint="install the flux CLI, or pass --no-flux to use kubectl") from exc
    except CommandFailed as exc:
        return parse_flux_output(exc.stderr, exc.returncode if exc.returncode is not None else 1)
    return parse_flux_output(res.stderr, res.returncode)


# --------------------------------------------------------------------------- reading objects

class ObjectReader:
    """Reads the objects of running steps: one `kubectl get --raw` list per kind and scope.

    `get --raw` skips kubectl's discovery round trips (4× faster than `kubectl get`), so
    polling many objects stays cheap; the API version comes from the objects already read."""

    def __init__(self, kubectl, versions, pool):
        self.kubectl = kubectl
        self.versions = dict(versions)     # kind -> apiVersion ("group/version")
        self.pool = pool
        self._per_namespace = set()        # kinds we may not list cluster-wide

    def read(self, refs):
        """{ref: FluxObject or None} for `refs` (None: does not exist)."""
        by_kind = {}
        for ref in refs:
            by_kind.setdefault(ref.kind, set()).add(ref)
        jobs = []
        for kind, wanted in sorted(by_kind.items()):
            if kind not in self.versions:
                jobs += [(kind, None, ref) for ref in sorted(wanted)]
            elif kind in self._per_namespace:
                jobs += [(kind, ns, None) for ns in sorted({r.namespace for r in wanted})]
            else:
                jobs.append((kind, None, None))
        found = {}
        for items in self.pool.map(lambda job: self._fetch(*job), jobs):
            for item in items:
                obj = parse_object(item)
                if obj is not None:
                    found[obj.ref] = obj
        return {ref: found.get(ref) for ref in refs}

    def _fetch(self, kind, namespace, ref):
        if ref is not None:
            item = self.kubectl.get_object(ref)
            return [item] if item else []
        path = f"/apis/{self.versions[kind]}"
        path += f"/namespaces/{namespace}/{PLURALS[kind]}" if namespace else f"/{PLURALS[kind]}"
        try:
            res = self.kubectl.run("get", "--raw", path)
        except ClusterError as exc:
            if namespace is None and "forbidden" in exc.message.lower():
                self._per_namespace.add(kind)
                raise ClusterError(f"listing {resource_name(kind)} cluster-wide is forbidden; "
                                   "reading per namespace from now on") from exc
            raise
        try:
            return json.loads(res.stdout).get("items") or []
        except ValueError:
            raise ClusterError(f"kubectl get --raw {path} printed no JSON",
                               hint="retry with --debug") from None


def versions_of(objects):
    """kind -> apiVersion from objects already read (the server's preferred versions)."""
    versions = {}
    for obj in objects:
        if obj.api_version.startswith(GROUPS.get(obj.ref.kind, "?") + "/"):
            versions.setdefault(obj.ref.kind, obj.api_version)
    return versions


# --------------------------------------------------------------------------- backends

class KubectlBackend(Backend):
    """`flux reconcile`'s protocol through kubectl: annotate requestedAt with a fresh
    RFC3339Nano value, then read until status.lastHandledReconcileAt equals it."""

    RETRIES = 3
    # kubectl annotate sends a GET and a PATCH per object through its client-side rate
    # limiter (burst 10): 5 objects per process stay within the burst; 30 take 4 s.
    BATCH = 5

    def __init__(self, kubectl, versions, workers=8, sleep=time.sleep):
        self.kubectl = kubectl
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="depgraph-kubectl")
        self.reader = ObjectReader(kubectl, versions, self.pool)
        self.sleep = sleep
        self._requests = {}     # ref -> (value, Future of the annotate: {ref: error})
        self._batch = []        # refs started since the last poll

    def start(self, step, timeout):
        # Batched: steps started in the same scheduler pass share one annotate per
        # namespace and kind (sent at the next poll); one kubectl process costs ~0.2 s.
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
            for ref in refs:
                self._requests[ref] = (value, future)

    def _annotate(self, refs, value):
        """Annotate `refs` (one namespace and kind) in one call; on failure, one by one
        so that each object gets its own error."""
        if len(refs) > 1:
            try:
                self.kubectl.run("annotate", "--overwrite", "-n", refs[0].namespace,
                                 *[f"{resource_name(r.kind)}/{r.name}" for r in refs],
                                 f"{RECONCILE_ANNOTATION}={value}")
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
                return self.kubectl.request_reconcile(ref, value)
            except ClusterError as exc:
                if attempt == self.RETRIES - 1 or not _transient(exc):
                    raise
                self.sleep(delay)
                delay *= 2

    def poll(self, steps):
        self._flush()
        seen, handled = {}, []
        for step in steps:
            value, future = self._requests[step.ref]
            if not future.done():
                continue
            exc = future.exception()
            error = (exc.message if isinstance(exc, DepgraphError) else str(exc)) if exc is not None \
                else future.result().get(step.ref)
            if error:
                seen[step.ref] = Observation(FAILED, f"annotate failed: {error}")
                continue
            handled.append(step)
        if handled:
            objects = self.reader.read(_refs_to_read(handled))
            for step in handled:
                src = objects.get(step.source) if step.source and step.check_revision else None
                seen[step.ref] = judge(step, objects[step.ref], self._requests[step.ref][0], src)
        return seen

    def close(self, interrupted=False):
        self.pool.shutdown(wait=not interrupted, cancel_futures=interrupted)


class FluxBackend(Backend):
    """One `flux reconcile` process per step (sources are separate steps, so no
    --with-source). When flux ends on DependencyNotReady the step waits: depgraph keeps
    reading the object until Ready, as the controller retries on its own."""

    def __init__(self, kubectl, versions, flux="flux", workers=8, kube_options=None):
        self.flux = flux
        self.kube_options = kube_options
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="depgraph-flux")
        self.reader = ObjectReader(kubectl, versions, self.pool)
        self._runs = {}         # ref -> Future of run_flux
        self._watch = set()     # refs whose flux run ended waiting or needs the revision rule

    def argv(self, step, timeout):
        argv = flux_argv(step.ref, timeout, flux=self.flux)
        if self.kube_options is not None:
            argv[1:1] = flux_global_args(self.kube_options)
        return argv

    def start(self, step, timeout):
        self._runs[step.ref] = self.pool.submit(run_flux, self.argv(step, timeout), timeout)

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
                seen[step.ref] = Observation(FAILED, exc.message if isinstance(exc, DepgraphError) else str(exc))
                continue
            out = future.result()
            if out.ok and not step.check_revision:
                seen[step.ref] = Observation(READY, out.message)
            elif out.ok or out.waiting:
                if out.waiting:
                    seen[step.ref] = Observation(WAITING, out.message)
                self._watch.add(step.ref)
                watch.append(step)
            else:
                seen[step.ref] = Observation(FAILED, out.message)
        if watch:
            objects = self.reader.read(_refs_to_read(watch))
            for step in watch:
                src = objects.get(step.source) if step.source and step.check_revision else None
                obs = judge(step, objects[step.ref], None, src)
                # flux's own "waiting" verdict stands until the object says more.
                if not (obs.state == PROGRESSING and step.ref in seen):
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


def _transient(exc):
    text = exc.message.lower()
    return any(word in text for word in ("internal error", "did not answer", "cannot reach",
                                         "timeout", "too many requests", "unavailable"))


# --------------------------------------------------------------------------- dry-run text

def describe(step, timeout, use_flux, kubectl, kube_options=None, flux="flux"):
    """The exact command a step runs, as a copy-pasteable shell line."""
    if use_flux:
        argv = flux_argv(step.ref, timeout, flux=flux)
        if kube_options is not None:
            argv[1:1] = flux_global_args(kube_options)
        return runner.quote(argv)
    argv = kubectl.annotate_argv(step.ref, "VALUE")
    # The value is a fresh RFC3339Nano time at run time: show it as the shell would make it.
    return runner.quote(argv[:-1]) + f' {RECONCILE_ANNOTATION}="$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"'


def flux_available(flux="flux"):
    return runner.which(flux) is not None

