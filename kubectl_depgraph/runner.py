"""The subprocess boundary: the only importer of `sh`.

Every command is an argv list (never a shell string). Failures become our errors,
naming the exact command, its exit status and its stderr."""

import os
import re
import shlex
import shutil
from dataclasses import dataclass

import sh

from kubectl_depgraph.errors import CommandFailed, CommandNotFound, CommandTimeout

# Debug log sink: set by the CLI under --debug (a callable taking one line).
debug_log = None


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


def run(argv, stdin=None, timeout=None, ok_codes=(0,), env=None):
    """Run argv and return a Result; raise CommandNotFound/CommandFailed/CommandTimeout.

    `ok_codes` lists exit statuses that are returned instead of raised."""
    if isinstance(argv, (str, bytes)):
        raise TypeError("runner.run takes an argv list, never a shell string")
    argv = [str(a) for a in argv]
    if debug_log:
        debug_log("running: " + redact(quote(argv)))
    path = which(argv[0])
    if path is None:
        raise CommandNotFound(f"{argv[0]}: {why_not_runnable(argv[0])}")
    try:
        cmd = sh.Command(path)
    except sh.CommandNotFound:
        raise CommandNotFound(f"{argv[0]}: {why_not_runnable(argv[0])}") from None
    kwargs = dict(_return_cmd=True, _ok_code=list(ok_codes), _in=stdin,
                  _decode_errors="replace")
    if timeout is not None:
        kwargs["_timeout"] = timeout
    if env is not None:
        kwargs["_env"] = env
    try:
        proc = cmd(*argv[1:], **kwargs)
    except sh.ErrorReturnCode as exc:
        stderr = redact(_decode(exc.stderr))
        if debug_log:
            debug_log(f"exit {exc.exit_code}: {_first_line(stderr)}")
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
    except OSError as exc:
        raise CommandNotFound(f"{argv[0]}: cannot run ({exc.strerror or exc})") from None
    stderr = redact(_decode(proc.stderr))
    if debug_log and stderr.strip():
        debug_log(f"exit {proc.exit_code}: {_first_line(stderr)}")
    return Result(tuple(argv), _decode(proc.stdout), stderr, proc.exit_code)


def _exec_error(text):
    """The OSError text out of sh's ForkException dump ("Exec format error")."""
    found = re.findall(r"(?:OSError|\w+Error): \[Errno \d+\] ([^\n]+)", text)
    return found[-1].strip() if found else "exec failed"


def _decode(data):
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data or ""
