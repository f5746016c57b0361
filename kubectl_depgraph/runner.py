"""The subprocess boundary: the only importer of `sh`.

Every command is an argv list (never a shell string). Failures become our errors,
naming the exact command, its exit status and its stderr."""

import os
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
    if os.sep in program:
        return program if os.path.isfile(program) and os.access(program, os.X_OK) else None
    return shutil.which(program)


def _first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def run(argv, stdin=None, timeout=None, ok_codes=(0,), env=None):
    """Run argv and return a Result; raise CommandNotFound/CommandFailed/CommandTimeout.

    `ok_codes` lists exit statuses that are returned instead of raised."""
    argv = [str(a) for a in argv]
    if debug_log:
        debug_log("running: " + quote(argv))
    path = which(argv[0])
    if path is None:
        raise CommandNotFound(f"{argv[0]}: command not found")
    try:
        cmd = sh.Command(path)
    except sh.CommandNotFound:
        raise CommandNotFound(f"{argv[0]}: command not found") from None
    kwargs = dict(_return_cmd=True, _ok_code=list(ok_codes), _in=stdin,
                  _decode_errors="replace")
    if timeout is not None:
        kwargs["_timeout"] = timeout
    if env is not None:
        kwargs["_env"] = env
    try:
        proc = cmd(*argv[1:], **kwargs)
    except sh.ErrorReturnCode as exc:
        stderr = _decode(exc.stderr)
        raise CommandFailed(
            f"{quote(argv)} failed (exit {exc.exit_code}): {_first_line(stderr) or _first_line(_decode(exc.stdout))}",
            argv, exc.exit_code, stderr) from None
    except sh.TimeoutException:
        raise CommandTimeout(f"{quote(argv)} did not finish within {timeout:g}s",
                             argv, None, "") from None
    except PermissionError:
        raise CommandNotFound(f"{argv[0]}: not executable ({path})") from None
    except OSError as exc:
        raise CommandNotFound(f"{argv[0]}: cannot run ({exc.strerror})") from None
    return Result(tuple(argv), _decode(proc.stdout), _decode(proc.stderr), proc.exit_code)


def _decode(data):
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data or ""
