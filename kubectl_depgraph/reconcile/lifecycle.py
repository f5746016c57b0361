"""The writes of `resume`, `suspend` and `delete`, one per step, and when each is done:
a reconcile.Backend for executor.py. Every write is one argv (flux resume|suspend, or
kubectl patch / kubectl delete) run through runner.run; the objects are read from one
watch per kind, as a reconcile reads them (backends.WatchingBackend).

- suspend: done when the write succeeded.
- resume: flux resume waits for Ready itself (its exit decides); through kubectl, done when
  the object shows suspend false and is Ready for its new generation.
- delete: done when the object is gone, finalizers included (`--wait=false`: depgraph waits
  on its watch, so a slow finalizer holds back only what depends on it)."""

import json

from kubectl_depgraph import runner
from kubectl_depgraph.errors import CommandFailed, DepgraphError
from kubectl_depgraph.judge.lifecycle import DELETE, SUSPEND
from kubectl_depgraph.model import FLUX_CLI_KIND, resource_name
from kubectl_depgraph.reconcile.backends import WatchingBackend
from kubectl_depgraph.reconcile.executor import Observation, Observed, judge
from kubectl_depgraph.reconcile.fluxcli import flux_not_found, parse_flux_output

def action_argv(action, ref, use_flux, kubectl, flux="flux"):
    """The one command that does `action` to `ref` (argv items):
    `flux [globals] resume|suspend kustomization|helmrelease NAME -n NS`, or
    `kubectl [globals] patch --type=merge -p '{"spec":{"suspend":B}}' -n NS RESOURCE/NAME`,
    or `kubectl [globals] delete -n NS RESOURCE/NAME --wait=false`."""
    target = f"{resource_name(ref.kind)}/{ref.name}"
    if action == DELETE:
        return kubectl.argv("delete", "-n", ref.namespace, target, "--wait=false")
    if use_flux:
        globals_ = kubectl.opts.global_args(request_timeout=False)
        return [flux, *globals_, action, *FLUX_CLI_KIND[ref.kind], ref.name, "-n", ref.namespace]
    patch = json.dumps({"spec": {"suspend": action == SUSPEND}}, separators=(",", ":"))
    return kubectl.argv("patch", "--type=merge", "-p", patch, "-n", ref.namespace, target)


def describe(action, ref, use_flux, kubectl, flux="flux"):
    """The exact command as a copy-pasteable shell line."""
    return runner.quote(action_argv(action, ref, use_flux, kubectl, flux))


class LifecycleBackend(WatchingBackend):
    """Runs each step's command in the pool, then judges the step from its watch."""

    def __init__(self, kubectl, versions, action, use_flux=False, flux="flux", workers=8,
                 watch=True, run=None):
        super().__init__(kubectl, versions, workers, watch)
        self.action = action
        self.use_flux = use_flux and action != DELETE
        self.flux = flux
        self._run = run or runner.run
        self._writes = {}    # ref -> Future of the command's result

    def start(self, step, timeout):
        self._ensure_watches(step)
        argv = action_argv(self.action, step.ref, self.use_flux, self.kubectl, self.flux)
        future = self.pool.submit(self._call, argv, timeout)
        future.add_done_callback(lambda _: self._news.set())
        self._writes[step.ref] = future

    def _call(self, argv, timeout):
        if self.use_flux:
            # flux resume waits for Ready (exit 1 with ✗ when it is not); its exit decides.
            try:
                res = self._run(argv, ok_codes=(0, 1), timeout=timeout + 30)
            except DepgraphError as exc:
                if argv[0] == self.flux and "not found" in exc.message:
                    raise flux_not_found(self.flux) from exc
                raise
            return parse_flux_output(res.stderr, res.returncode)
        try:
            return self._run(argv, timeout=timeout + 30)
        except CommandFailed as exc:
            # Gone already (deleted by someone else meanwhile): the watch says so.
            if self.action == DELETE and "(NotFound)" in (exc.stderr or ""):
                return None
            raise

    def poll(self, steps):
        seen, written = {}, []
        for step in steps:
            future = self._writes[step.ref]
            if not future.done():
                continue
            exc = future.exception()
            if exc is not None:
                seen[step.ref] = Observation(Observed.FAILED, f"{self.action} failed: " +
                                             (exc.message if isinstance(exc, DepgraphError) else str(exc)))
            elif self.action == SUSPEND:
                seen[step.ref] = _flux_said(future.result()) or Observation(Observed.READY, "suspended")
            elif self.use_flux and _flux_said(future.result()).state is not Observed.WAITING:
                seen[step.ref] = _flux_said(future.result())
            else:
                # kubectl's write, or flux gave up on a DependencyNotReady: the object says the rest.
                written.append(step)
        if written:
            objects = self._read([s.ref for s in written])
            for step in written:
                if step.ref in objects:
                    seen[step.ref] = self._judge_written(step, objects[step.ref])
        return seen

    def _judge_written(self, step, obj):
        if self.action == DELETE:
            if obj is None:
                return Observation(Observed.READY, "deleted")
            return Observation(Observed.PENDING, "waiting for it to be gone (finalizers)")
        if obj is not None and obj.suspended:
            return Observation(Observed.PENDING, "waiting for the patch to show")
        return judge(step, obj)


def _flux_said(out):
    """An Observation from a finished flux command's output (None: not a flux result)."""
    if not hasattr(out, "ok"):
        return None
    if out.ok:
        return Observation(Observed.READY, out.message)
    return Observation(Observed.WAITING if out.waiting else Observed.FAILED, out.message)
