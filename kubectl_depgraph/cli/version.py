"""kubectl depgraph version"""

import json
import os
import re
import shutil
import subprocess
import sys

import click

from kubectl_depgraph import __version__
from kubectl_depgraph.render.data import SCHEMA

TIMEOUT = 5.0   # seconds each of kubectl and flux may take to say their version


@click.command()
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def version(output):
    """Versions of the plugin, kubectl, flux and Python.

    \b
    kubectl is $KUBECTL, else kubectl on PATH; flux is optional ("not found").

    \b
    Examples:
      kubectl depgraph version
      kubectl depgraph version -o json"""
    # subprocess, not runner (sh): version must start fast and never fails on a missing tool
    kubectl = _start([os.environ.get("KUBECTL") or "kubectl", "version", "--client", "-o", "json"])
    flux = _start(["flux", "version", "--client", "-o", "json"])
    doc = {"apiVersion": SCHEMA, "kind": "Version", "plugin": __version__,
           "kubectl": _version_of(kubectl, ("clientVersion", "gitVersion")),
           "flux": _version_of(flux, ("flux",)),
           "python": sys.version.split()[0], "pythonExecutable": sys.executable}
    if output == "json":
        click.echo(json.dumps(doc, indent=2))
        return 0
    rows = [("kubectl-depgraph", doc["plugin"]), ("kubectl", doc["kubectl"] or "not found"),
            ("flux", doc["flux"] or "not found"), ("python", f"{doc['python']} ({sys.executable})")]
    for name, value in rows:
        click.echo(f"{name:<18}{value}")
    return 0


def _start(argv):
    """The running process, or None when the program is not installed (or not runnable)."""
    path = shutil.which(argv[0])
    if path is None:
        return None
    try:
        return subprocess.Popen([path, *argv[1:]], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    except OSError:
        return None


def _version_of(proc, keys):
    """The version the process printed (JSON `keys`, else the first vX.Y.Z), or None."""
    if proc is None:
        return None
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return "unknown (no answer)"
    text = out.decode("utf-8", "replace")
    try:
        value = json.loads(text)
        for key in keys:
            value = value[key]
        if isinstance(value, str):
            return value
    except (ValueError, KeyError, TypeError):
        pass
    found = re.search(r"v?\d+\.\d+\.\d+\S*", text)
    return found.group(0) if found else f"unknown (exit {proc.returncode})"
