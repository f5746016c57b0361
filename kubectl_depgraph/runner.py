"""The subprocess boundary: the only importer of `sh`.

Every command is an argv list (never a shell string). Failures become our errors,
naming the exact command, its exit status and its stderr."""

import atexit
import logging
import os
import re
import shlex
import shutil
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import sh

from kubectl_depgraph.errors import CommandFailed, CommandNotFound, CommandTimeout

# What runs, for --debug: the CLI attaches a handler; nothing is printed without one.
log = logging.getLogger("kubectl_depgraph")


@dataclass(frozen=True)
class Result:
    argv: tuple
    stdout: str
    stderr: str
    returncode: int


def quote(argv):
    """The argv as a copy-pasteable shell line (for messages only)."""
    return " ".join(shlex.quote(str(a)) for a in argv)


def which(program):
    """Absolute path of `program` (a name on PATH or a path), or None."""
    if not program:
        return None
    if os.sep in program:
        return program if os.path.isfile(program) and os.access(program, os.X_OK) else None
    return shutil.which(program)


def why_not_runnable(program):
    """Why `program` cannot be run, in a few words ("does not exist", "is a directory", …)."""
    if not program:
        return "is empty"
    if os.sep not in program:
        return "is not on PATH"
    if not os.path.lexists(program):
        return "does not exist"
    if not os.path.exists(program):
        return "is a broken symlink"
    if os.path.isdir(program):
        return "is a directory"
    if not os.access(program, os.X_OK):
        return "is not executable"
    return "cannot be run"


# Secrets that must never reach a message or the --debug log, whatever a program prints:
# bearer tokens, kubeconfig credential fields, passwords in URLs and flags.
_SECRETS = [
    (re.compile(r"(?i)(\bbearer\s+)[^\s\"',]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(\b(?:token|id-token|refresh-token|access-token|password|passwd|secret|"
                r"client-key-data|client-certificate-data|client-secret)\b[\"']?\s*[:=]\s*[\"']?)"
                r"[^\s\"',}]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(--(?:token|password|client-key)[= ])\S+"), r"\1<redacted>"),
    (re.compile(r"(://[^/\s:@]+:)[^/\s@]+@"), r"\1<redacted>@"),
]


def redact(text):
    """`text` with credentials replaced by <redacted> (for messages and debug logs)."""
    if not text:
        return text or ""
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


def _first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


@contextmanager
def _interrupt_deferred():
    """In the main thread, Ctrl-C during a command interrupts the command, and the
    KeyboardInterrupt is raised once it has ended. Raised at a random point inside sh, it
    could leave a lock (logging's, sh's) held and hang the exit."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield {}
        return
    state = {"hits": 0, "pid": None}

    def handler(signum, frame):
        state["hits"] += 1
        if state["pid"]:
            try:   # the child usually got it from the terminal too; a second ^C kills it
                os.kill(state["pid"], signal.SIGINT if state["hits"] == 1 else signal.SIGKILL)
            except OSError:
                pass
    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if state["hits"]:
            raise KeyboardInterrupt


def run(argv, stdin=None, timeout=None, ok_codes=(0,), env=None):
    """Run argv and return a Result; raise CommandNotFound/CommandFailed/CommandTimeout.

    `ok_codes` lists exit statuses that are returned instead of raised."""
    with _interrupt_deferred() as state:
        return _run(argv, stdin, timeout, ok_codes, env, state)


def _run(argv, stdin, timeout, ok_codes, env, state):
    if isinstance(argv, (str, bytes)):
        raise TypeError("runner.run takes an argv list, never a shell string")
    argv = [str(a) for a in argv]
    log.debug("running: %s", redact(quote(argv)))
    path = _resolve(argv[0])
    # _bg: we wait ourselves, so that Ctrl-C can cancel sh's timeout timer (a non-daemon
    # thread that would otherwise keep the interpreter alive until the timeout).
    # Block-buffered output: sh's default hands over a large list (MBs of JSON) line by line.
    kwargs = dict(_return_cmd=True, _ok_code=list(ok_codes), _in=stdin, _out_bufsize=1 << 16,
                  _decode_errors="replace", _bg=True, _bg_exc=False)
    if timeout is not None:
        kwargs["_timeout"] = timeout
    if env is not None:
        kwargs["_env"] = env
    try:
        proc = _spawn(path, argv[1:], kwargs)
        state["pid"] = proc.pid
        try:
            proc.wait()
        except KeyboardInterrupt:
            _abandon(proc)
            raise
    except sh.ErrorReturnCode as exc:
        stderr = redact(_decode(exc.stderr))
        log.debug("exit %s: %s", exc.exit_code, _first_line(stderr))
        raise CommandFailed(
            f"{redact(quote(argv))} failed (exit {exc.exit_code}): "
            f"{_first_line(stderr) or redact(_first_line(_decode(exc.stdout)))}",
            argv, exc.exit_code, stderr) from None
    except sh.TimeoutException:
        raise CommandTimeout(f"{redact(quote(argv))} did not finish within {timeout:g}s",
                             argv, None, "") from None
    except sh.ForkException as exc:
        # exec failed in the child: not a binary for this machine, a bad #! line, …
        detail = _exec_error(str(exc))
        raise CommandNotFound(f"{argv[0]}: {detail}") from None
    except PermissionError:
        raise CommandNotFound(f"{argv[0]}: is not executable") from None
    except sh.CommandNotFound:
        raise CommandNotFound(f"{argv[0]}: {why_not_runnable(argv[0])}") from None
    except OSError as exc:
        raise CommandNotFound(f"{argv[0]}: cannot run ({exc.strerror or exc})") from None
    stderr = redact(_decode(proc.stderr))
    if stderr.strip():
        log.debug("exit %s: %s", proc.exit_code, _first_line(stderr))
    return Result(tuple(argv), _decode(proc.stdout), stderr, proc.exit_code)


def _resolve(program):
    path = which(program)
    if path is None:
        raise CommandNotFound(f"{program}: {why_not_runnable(program)}")
    return path


def _spawn(path, args, kwargs):
    """Start `path args` through sh. SIGINT stays blocked from fork to exec: sh runs Python
    in the forked child, where a KeyboardInterrupt escapes sh's `except Exception` and
    leaves a stray process."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return sh.Command(path)(*args, _preexec_fn=_child_sigint_default, **kwargs)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _child_sigint_default():
    # In the child, just before exec: Ctrl-C kills it (no Python handler), then unblock.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _abandon(proc):
    """Interrupted: stop the child and sh's timeout timer, so nothing outlives us."""
    timer = getattr(getattr(proc, "process", None), "_timeout_timer", None)
    if timer is not None:
        timer.cancel()
    try:
        proc.kill()
    except Exception:  # already gone
        pass


def _exec_error(text):
    """The OSError text out of sh's ForkException dump ("Exec format error")."""
    found = re.findall(r"(?:OSError|\w+Error): \[Errno \d+\] ([^\n]+)", text)
    return found[-1].strip() if found else "exec failed"


def _decode(data):
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data or ""


# --------------------------------------------------------------------------- long-lived commands

_streams = set()        # running Streams, stopped at interpreter exit whatever happened
_streams_lock = threading.Lock()


class Stream:
    """A running long-lived command (e.g. a watch): stdout goes line by line to a callback.

    stop() ends it (SIGTERM, then SIGKILL) and is safe to call twice; exit_code and stderr
    are there once it has ended. Every Stream is also stopped at interpreter exit."""

    STOP_GRACE = 2.0

    def __init__(self, argv, on_line, on_exit=None, env=None):
        self.argv = tuple(argv)
        self.stderr = ""
        self.exit_code = None
        self._on_line = on_line
        self._on_exit = on_exit
        self._ended = threading.Event()
        self._err = []
        path = _resolve(argv[0])
        kwargs = dict(_bg=True, _bg_exc=False, _out=self._line, _err=self._err_line,
                      _tty_out=False, _decode_errors="replace", _done=self._done,
                      _ok_code=list(range(256)))
        if env is not None:
            kwargs["_env"] = env
        with _streams_lock:
            _streams.add(self)
        try:
            self._proc = _spawn(path, argv[1:], kwargs)
        except (sh.ForkException, sh.CommandNotFound, OSError) as exc:
            with _streams_lock:
                _streams.discard(self)
            detail = _exec_error(str(exc)) if isinstance(exc, sh.ForkException) else "cannot run"
            raise CommandNotFound(f"{argv[0]}: {detail}") from None

    @property
    def pid(self):
        return self._proc.pid

    @property
    def running(self):
        return not self._ended.is_set()

    def _line(self, line):
        self._on_line(line)

    def _err_line(self, line):
        if len(self._err) < 50:   # a chatty failure must not grow without bound
            self._err.append(line)

    def _done(self, cmd, success, exit_code):
        self.exit_code = exit_code
        self.stderr = redact("".join(self._err))
        with _streams_lock:
            _streams.discard(self)
        log.debug(f"stream ended (exit {exit_code}): {redact(quote(self.argv))}"
                  + (f": {_first_line(self.stderr)}" if self.stderr.strip() else ""))
        if self._on_exit:
            self._on_exit(self)
        self._ended.set()   # last: wait() returns once on_exit has run too

    def wait(self, timeout=None):
        """True once the command has ended (and its output has been delivered)."""
        return self._ended.wait(timeout)

    def stop(self, wait=True):
        """End the command: SIGTERM, then SIGKILL if it is still there after STOP_GRACE.
        wait=False only sends SIGTERM (from an output callback, which must not block)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self._ended.is_set():
                return
            try:
                self._proc.signal(sig)
            except (ProcessLookupError, OSError):
                pass
            if not wait or self._ended.wait(self.STOP_GRACE):
                return


def stream(argv, on_line, on_exit=None, env=None):
    """Start argv in the background; each stdout line (str, with its newline) goes to
    on_line(line) from a reader thread; on_exit(stream) runs once it has ended.

    Returns the Stream (call stop()). Raises CommandNotFound like run()."""
    if isinstance(argv, (str, bytes)):
        raise TypeError("runner.stream takes an argv list, never a shell string")
    argv = [str(a) for a in argv]
    log.debug("streaming: %s", redact(quote(argv)))
    return Stream(argv, on_line, on_exit, env)


@atexit.register
def _stop_streams():
    with _streams_lock:
        running = list(_streams)
    for s in running:
        s.stop()
