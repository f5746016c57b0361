"""Options shared by every command, and the steps every command body shares: read the
input, build the graph, resolve NAME arguments, print warnings."""

import dataclasses
import functools
import importlib
import logging
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import click

from kubectl_depgraph.acquire import Inputs, load
from kubectl_depgraph.errors import UsageError
from kubectl_depgraph.judge.names import View, match
from kubectl_depgraph.model import KIND_ALIASES
from kubectl_depgraph.render.style import Style
from kubectl_depgraph.timeutil import parse_duration, parse_time

if TYPE_CHECKING:
    from kubectl_depgraph.acquire.cluster import Kubectl


def echo_err(text):
    click.echo(text, err=True)


class _DebugHandler(logging.Handler):
    def emit(self, record):
        echo_err(f"debug: {record.getMessage()}")


def input_options(func=None, *, path=True):
    """-f/--file, --path and kubectl's conventions; the result arrives as `common`.
    path=False: --path is not offered in --help (the command explains why it refuses it)."""
    if func is None:
        return functools.partial(input_options, path=path)
    options = [
        click.option("-f", "--file", "files", multiple=True, metavar="PATH",
                     help="Read a snapshot (kubectl get … -o yaml|json); repeatable; '-' is stdin."),
        click.option("--path", type=click.Path(file_okay=False), metavar="DIR", hidden=not path,
                     help="Read the Flux manifests of a Git checkout (no status)."),
        click.option("-n", "--namespace", metavar="NS",
                     help="Only objects in NS (the graph is still read cluster-wide)."),
        click.option("-A", "--all-namespaces", is_flag=True,
                     help="All namespaces (the default)."),
        click.option("--context", metavar="NAME", help="kubeconfig context to use."),
        click.option("--kubeconfig", metavar="PATH", help="kubeconfig file to use."),
        click.option("--request-timeout", metavar="DURATION",
                     help="Per-request timeout passed to kubectl (e.g. 10s)."),
        click.option("--kubectl", "kubectl_bin", metavar="PATH",
                     help="kubectl binary (default: $KUBECTL, else kubectl on PATH)."),
        click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1)."),
        click.option("--debug", is_flag=True, help="Log commands run; tracebacks on errors."),
    ]

    @functools.wraps(func)
    def wrapper(files, path, namespace, all_namespaces, context, kubeconfig, request_timeout,
                kubectl_bin, no_color, debug, **kwargs):
        ctx = click.get_current_context()
        if debug:
            _debug_on(ctx)
        _check_request_timeout(request_timeout)
        if files and path:
            raise UsageError("--file and --path cannot be combined", hint="analyse one input at a time")
        from kubectl_depgraph.acquire.cluster import Kubectl, KubeOptions, kubectl_from_env   # sh
        kube = KubeOptions(kubectl=kubectl_from_env(kubectl_bin), context=context,
                           kubeconfig=kubeconfig, namespace=namespace,
                           request_timeout=request_timeout)
        common = Common(Inputs(tuple(files), path), Kubectl(kube),
                        View(namespace if not all_namespaces else None), terminal_style(no_color),
                        PRELOAD.get(ctx.info_name, ()))
        return func(common=common, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


# What each command needs once its input is read. Imported on a thread while the input is
# read (kubectl runs), so that networkx & co. cost no wall time (bench/bench_scale.py).
PRELOAD = {
    "tree": ("kubectl_depgraph.graph", "kubectl_depgraph.render.tree"),
    "why": ("kubectl_depgraph.graph", "kubectl_depgraph.judge.explain", "kubectl_depgraph.render.why"),
    "check": ("kubectl_depgraph.graph", "kubectl_depgraph.judge.check", "kubectl_depgraph.render.findings"),
    "reconcile": ("kubectl_depgraph.graph", "kubectl_depgraph.judge.plan"),
    **{name: ("kubectl_depgraph.graph", "kubectl_depgraph.judge.lifecycle")
       for name in ("resume", "suspend", "delete")},
}


def _preload(modules):
    if modules:
        threading.Thread(target=lambda: [importlib.import_module(m) for m in modules],
                         daemon=True, name="depgraph-preload").start()


def _debug_on(ctx):
    """Print what runs, for this invocation only; main() reads ctx.meta for tracebacks."""
    ctx.meta["debug"] = True
    handler = _DebugHandler()
    log = logging.getLogger("kubectl_depgraph")   # runner.log
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    ctx.call_on_close(lambda: log.removeHandler(handler))


def _check_request_timeout(text):
    # kubectl's rule: an integer (seconds) or a duration with a unit; "0" means none.
    if text is None:
        return
    if re.fullmatch(r"\d+", text.strip()) is None and \
            (parse_duration(text) is None or re.fullmatch(r"[\d.]+", text.strip())):
        raise UsageError(f"invalid --request-timeout {text!r}",
                         hint="give a duration such as 10s, 2m or 1h (0: no timeout)")


@dataclass
class Common:
    inputs: Inputs
    kubectl: "Kubectl"   # the one kubectl (binary + the user's global flags) every step uses
    view: View
    style: Style
    preload: tuple = ()  # modules the command needs after reading: imported during the read

    @property
    def now(self):
        """Now, for ages. DEPGRAPH_NOW (RFC3339) pins it for reproducible output."""
        pinned = parse_time(os.environ.get("DEPGRAPH_NOW"))
        return pinned or datetime.now(timezone.utc)

    def scope_text(self, inventory):
        where = inventory.description
        ns = self.view.namespace
        return f"namespace {ns!r} of {where}" if ns else where

    def narrow_path(self, cluster, all_files):
        """--cluster and --all-files applied to the input (UsageError when they conflict)."""
        if cluster and all_files:
            raise UsageError(f"--cluster {cluster}: --all-files reads every file, not one cluster",
                             hint="use one of them")
        if cluster and self.inputs.path:
            from kubectl_depgraph.acquire.gitrepo import cluster_folder
            root, scope = cluster_folder(self.inputs.path)
            if scope:
                raise UsageError(f"--cluster {cluster}: --path already names cluster folder {scope}",
                                 hint=f"point --path at {root} to pick a cluster with --cluster")
        self.inputs = dataclasses.replace(self.inputs, cluster=cluster, all_files=all_files)

    def with_inputs(self, inputs):
        """The same options, another input (impact reads two trees)."""
        return dataclasses.replace(self, inputs=inputs)

    def resolve(self, graph, names):
        """NAME arguments → a View with them as starts (UsageError for a bad or unknown one)."""
        starts = tuple(sorted({resolve(graph, n, self.view.namespace) for n in names}))
        return View(self.view.namespace, starts)


def terminal_style(no_color=False):
    stream = sys.stdout
    colour = (not no_color and "NO_COLOR" not in os.environ and hasattr(stream, "isatty")
              and stream.isatty())
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    tty = hasattr(stream, "isatty") and stream.isatty()
    return Style(colour=colour, unicode=encoding in ("utf8", "utf_8"),
                 width=shutil.get_terminal_size().columns if tty else None)


def print_warnings(warnings):
    for w in warnings:
        echo_err(f"warning: {w}")


def load_input(common, quiet=False):
    """Read the input and print its warnings (quiet: not); the Inventory."""
    _preload(common.preload)   # sh is imported; from here the main thread mostly waits on kubectl
    inventory = load(common.inputs, common.kubectl)
    if not quiet:
        print_warnings(inventory.warnings)
    return inventory


def load_graph(common):
    """Read the input and build its graph; (inventory, graph)."""
    inventory = load_input(common)
    from kubectl_depgraph.graph import DepGraph   # networkx: imported while kubectl ran
    return inventory, DepGraph.from_objects(inventory.objects)


def resolve(graph, text, namespace=None):
    """The one object `text` names; UsageError naming the candidates or the nearest names."""
    found = match(graph, text, namespace)
    if found.invalid:
        raise UsageError(found.invalid, hint=found.hint)
    if len(found.refs) == 1:
        return found.refs[0]
    if found.refs:
        raise UsageError(f"{text!r} is ambiguous: {', '.join(r.short for r in found.refs)}",
                         hint="qualify it as ns/name or kind/ns/name")
    if found.other_kind:
        kind = KIND_ALIASES[text.split("/")[0].lower()]
        others = ", ".join(r.short for r in found.other_kind)
        raise UsageError(f"no {kind} matches {text!r}; of that name there is: {others}",
                         hint=f"did you mean {found.other_kind[0].short}?")
    hint = ("did you mean " + ", ".join(found.near) + "?") if found.near else \
        "run 'kubectl depgraph tree' to list the objects"
    raise UsageError(f"no Flux object matches {text!r}", hint=hint)


def empty_sentence(common, inventory):
    return f"no Flux Kustomizations or HelmReleases found in {common.scope_text(inventory)}"
