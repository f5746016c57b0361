"""Run the CLI as a user would: in-process through main() (exit code, stdout, stderr
separately), or as a real subprocess (`python -m kubectl_depgraph`)."""

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
