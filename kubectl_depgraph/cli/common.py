"""Options shared by every command and the helpers that turn them into core inputs."""

import functools
import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

import click

from kubectl_depgraph.acquire import Inputs, load
from kubectl_depgraph.acquire.cluster import KubeOptions, kubectl_from_env
from kubectl_depgraph.errors import UsageError
from kubectl_depgraph.render.style import Style
from kubectl_depgraph.timeutil import parse_duration, parse_time


def echo_err(text):
    click.echo(text, err=True)


def input_options(func):
    """-f/--file, --path and kubectl's conventions; the result arrives as `common`."""
    options = [
        click.option("-f", "--file", "files", multiple=True, metavar="PATH",
                     help="Read a snapshot (kubectl get … -o yaml|json); repeatable; '-' is stdin."),
        click.option("--path", type=click.Path(file_okay=False), metavar="DIR",
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
        # main() reads --debug itself, before parsing, so that errors in parsing are logged too.
        click.option("--debug", is_flag=True, help="Log commands run; tracebacks on errors."),
    ]

    @functools.wraps(func)
    def wrapper(files, path, namespace, all_namespaces, context, kubeconfig, request_timeout,
                kubectl_bin, no_color, debug, **kwargs):
        _check_request_timeout(request_timeout)
        kube = KubeOptions(kubectl=kubectl_from_env(kubectl_bin), context=context,
                           kubeconfig=kubeconfig, namespace=namespace,
                           request_timeout=request_timeout)
        common = Common(Inputs(tuple(files), path, kube), namespace if not all_namespaces else None,
                        style=terminal_style(no_color))
        return func(common=common, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


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
    namespace: str   # view filter, None for all
    style: Style

    @property
    def now(self):
        """Now, for ages. DEPGRAPH_NOW (RFC3339) pins it for reproducible output."""
        pinned = parse_time(os.environ.get("DEPGRAPH_NOW"))
        return pinned or datetime.now(timezone.utc)

    def scope_text(self, inventory):
        where = inventory.description
        return f"namespace {self.namespace!r} of {where}" if self.namespace else where


def terminal_style(no_color=False):
    stream = sys.stdout
    colour = (not no_color and "NO_COLOR" not in os.environ and hasattr(stream, "isatty")
              and stream.isatty())
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    return Style(colour=colour, unicode=encoding in ("utf8", "utf_8"))


def print_warnings(warnings):
    for w in warnings:
        echo_err(f"warning: {w}")


def load_graph(common):
    """Read the input, print its warnings, return (inventory, graph)."""
    inventory = load(common.inputs)
    graph = inventory.graph()
    print_warnings(inventory.warnings)
    return inventory, graph


def in_view(graph, namespace):
    """Nodes shown for -n NS: that namespace's objects plus everything they depend on."""
    if not namespace:
        return set(graph.nodes)
    own = {r for r in graph.nodes if r.namespace == namespace}
    return own | graph.upstream(own)


def empty_sentence(common, inventory):
    return f"no Flux Kustomizations or HelmReleases found in {common.scope_text(inventory)}"
