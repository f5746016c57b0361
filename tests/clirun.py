"""Run the CLI as a user would: in-process through main() (exit code, stdout, stderr
separately), or as a real subprocess (`python -m kubectl_depgraph`)."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from kubectl_depgraph.cli import main

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def invoke(args, env=None, input=None):
    """main(args) in this process, with `env` applied to os.environ for the call."""
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (out, err, _):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return Outcome(code, out.getvalue().decode(), err.getvalue().decode())


def run_subprocess(args, env=None, input=None, timeout=120):
    """The installed entry point in a child process (real stdout/stderr, real exit code)."""
    proc = subprocess.run([sys.executable, "-m", "kubectl_depgraph", *map(str, args)], env=env,
                          input=input, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def on_a_terminal(args, env, columns=80, rows=24, stream="stdout"):
    """(exit code, text) of the CLI run with `stream` ("stdout" or "stderr") on a
    pseudo-terminal of the given size, as a person sees it (raw: \\r and escapes kept)."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, stream: slave}
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_depgraph", *map(str, args)], cwd=ROOT,
                            env=env, **pipes)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:   # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.communicate(timeout=60)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode()


def summary_rows(out):
    """{object: (result, message)} from a reconcile summary table on stdout."""
    rows = {}
    for line in out.stdout.splitlines():
        if "/" in line.split(" ")[0]:
            parts = line.split(None, 3)
            rows[parts[0]] = (parts[1], parts[3] if len(parts) > 3 else "")
    return rows
