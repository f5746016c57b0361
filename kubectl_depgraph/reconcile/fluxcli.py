"""The flux CLI as a subprocess: `flux reconcile` argv, its ► ✔ ◎ ✗ output read back, and
one running reconcile that can be stopped early (reconcile/backends.py FluxBackend runs
them). Every command is an argv list run through runner.run or runner.stream."""

import re
from dataclasses import dataclass

from kubectl_depgraph import runner
from kubectl_depgraph.errors import CommandFailed, CommandNotFound
from kubectl_depgraph.judge.status import dependency_problems
from kubectl_depgraph.model import FLUX_CLI_KIND, HELMRELEASE
from kubectl_depgraph.timeutil import go_duration


def flux_argv(ref, timeout, with_source=False, flux="flux", kube_options=None, reset=False, force=False):
    """`flux [--kubeconfig/--context] reconcile kustomization -n NS [--with-source] [--reset]
    [--force] --timeout T -- NAME` (argv items; --reset/--force for HelmReleases only).

    -n is always passed: flux defaults to flux-system, not the kube-context namespace.
    The name comes after `--`, so a name read from a file can never pass for an option."""
    globals_ = kube_options.global_args(request_timeout=False) if kube_options is not None else []
    argv = [flux, *globals_, "reconcile", *FLUX_CLI_KIND[ref.kind], "-n", ref.namespace]
    if with_source:
        argv.append("--with-source")
    if ref.kind == HELMRELEASE:
        argv += (["--reset"] if reset else []) + (["--force"] if force else [])
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


def flux_not_found(flux="flux"):
    """The one-line error for a missing flux CLI (exit 4)."""
    return CommandNotFound(f"flux not found: {flux!r} is not an executable on PATH",
                           hint="install the flux CLI, or pass --no-flux to use kubectl")


def run_flux(argv, timeout, run=None):
    """Run one `flux reconcile` argv through `run` (runner.run unless a test passes a
    fake); returns a FluxOutput (never raises for exit 1)."""
    try:
        res = (run or runner.run)(argv, ok_codes=(0, 1), timeout=timeout + 30)
    except CommandNotFound as exc:
        raise flux_not_found(argv[0]) from exc
    except CommandFailed as exc:
        return parse_flux_output(exc.stderr, exc.returncode if exc.returncode is not None else 1)
    return parse_flux_output(res.stderr, res.returncode)


class FluxRun:
    """One running `flux reconcile`: `output` (a FluxOutput, or the exception it raised) once
    it has ended; stop() ends it early. Runs as a runner.stream process, or through `run` in
    `pool` when a test passes a fake runner.run."""

    def __init__(self, argv, timeout, on_exit, run=None, pool=None):
        self.output = None
        self._on_exit = on_exit
        self._stream = None
        if run is not None:
            pool.submit(self._call, argv, timeout, run)
            return
        try:
            self._stream = runner.stream(argv, lambda line: None, on_exit=self._exited)
        except CommandNotFound as exc:
            raise flux_not_found(argv[0]) from exc

    def _call(self, argv, timeout, run):
        try:
            self.output = run_flux(argv, timeout, run)
        except Exception as exc:   # handed to poll(), which reports it
            self.output = exc
        self._on_exit()

    def _exited(self, stream):
        self.output = parse_flux_output(stream.stderr, stream.exit_code if stream.exit_code is not None else 1)
        self._on_exit()

    def stop(self):
        if self._stream is not None:
            self._stream.stop(wait=False)
