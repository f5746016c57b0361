"""kubectl depgraph reconcile [NAME…]

Progress goes to stderr (flux's ► ✔ ◎ ✗ lines); the summary table is the command's
result and goes to stdout, so `… 2>/dev/null` leaves only the table."""

import os
import shutil
import sys
import time

import click

from kubectl_depgraph.acquire.proxy import KubectlProxy
from kubectl_depgraph.acquire.watch import versions_of
from kubectl_depgraph.judge import plan as planner
from kubectl_depgraph.reconcile import backends, executor, fluxcli
from kubectl_depgraph.cli.common import empty_sentence, input_options, load_graph
from kubectl_depgraph.errors import FAILED, INTERRUPTED, OK, UsageError   # FAILED…OK: exit codes
from kubectl_depgraph.model import KIND_ALIASES, SHORT, WORKLOAD_KINDS
from kubectl_depgraph.render.reconcile import (render_event, render_live, render_notes, render_plan,
                                               render_summary)
from kubectl_depgraph.render.style import Style
from kubectl_depgraph.timeutil import parse_duration

# Between reads of the running objects: each read is one `kubectl get --raw` per kind.
POLL_INTERVAL = 0.05
# --kind takes the short and the singular spelling (model.KIND_ALIASES reads them).
KIND_CHOICES = sorted(spelling for kind in WORKLOAD_KINDS for spelling in (SHORT[kind], kind.lower()))


@click.command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--dry-run", is_flag=True, help="Print the plan (waves and exact commands); change nothing.")
@click.option("--dependents", is_flag=True, help="Also reconcile everything that depends on NAME.")
@click.option("--dependencies", is_flag=True, help="Also reconcile everything NAME depends on (first).")
@click.option("--kind", type=click.Choice(KIND_CHOICES), help="Only Kustomizations (ks) or HelmReleases (hr).")
@click.option("--parallel", type=click.IntRange(min=1), default=executor.DEFAULT_PARALLEL, show_default=True,
              metavar="N", help="At most N reconciles at a time.")
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION",
              help="Per-object timeout (e.g. 90s, 5m).")
@click.option("--fail-fast", is_flag=True, help="Start nothing new after the first failure.")
@click.option("--no-source", is_flag=True, help="Do not refresh sources first.")
@click.option("--reset", is_flag=True,
              help="HelmReleases: also clear the failure counts (reconcile.fluxcd.io/resetAt), "
                   "for a release whose retries are exhausted (Stalled, RetriesExceeded).")
@click.option("--force", is_flag=True,
              help="HelmReleases: force a Helm upgrade even without changes (reconcile.fluxcd.io/forceAt).")
@click.option("--flux/--no-flux", "use_flux", default=None,
              help="Use the flux CLI / the kubectl annotate protocol (default: flux if on PATH).")
@input_options
def reconcile(common, names, dry_run, dependents, dependencies, kind, parallel, timeout, fail_fast,
              no_source, reset, force, use_flux):
    """Reconcile in dependency order, each object as soon as its own dependencies are Ready.

    \b
    Without NAME: every Kustomization and HelmRelease (in -n NS, or all namespaces).
    Each distinct source is refreshed once, before the first object that uses it.
    Objects in a dependency cycle, suspended objects and dependents of failures are
    skipped and reported. Progress on stderr, the summary table on stdout.

    \b
    Exit status: 0 all ready; 1 something failed or was skipped; 4 no cluster or no
    flux CLI (with --flux); 130 interrupted.

    \b
    Examples:
      kubectl depgraph reconcile --dry-run
      kubectl depgraph reconcile apps --dependencies
      kubectl depgraph reconcile infra --dependents --parallel 8 --timeout 10m
      kubectl depgraph reconcile --path ./clusters/prod --dry-run"""
    seconds = parse_timeout(timeout)
    if seconds is None:
        raise UsageError(f"invalid --timeout {timeout!r}", hint="use a duration such as 90s, 5m or 1h")
    if (dependents or dependencies) and not names:
        raise UsageError("--dependents/--dependencies need a NAME",
                         hint="kubectl depgraph reconcile NAME --dependents")
    if not dry_run and not common.inputs.live:
        raise UsageError("reconcile runs against the live cluster; -f/--path only work with --dry-run",
                         hint="add --dry-run to print the plan for this input")
    flux_missing = use_flux and not backends.flux_available()
    if flux_missing and not dry_run:
        raise fluxcli.flux_not_found()
    if use_flux is None:
        use_flux = backends.flux_available()

    # The proxy's process starts while the graph is read (see acquire/proxy.py).
    proxy = KubectlProxy(common.kubectl) if not dry_run and not use_flux else None
    if proxy is not None:
        click.get_current_context().call_on_close(proxy.stop)
    inventory, graph = load_graph(common)
    starts = list(common.resolve(graph, names).starts) or None
    for ref in starts or ():
        if ref.kind not in WORKLOAD_KINDS:
            raise UsageError(f"{ref} is a source: reconcile takes Kustomizations and HelmReleases",
                             hint="name the Kustomization or HelmRelease that uses it; "
                                  "its source is refreshed first")
    selected = planner.select(graph, starts, common.view.namespace, dependents, dependencies,
                              KIND_ALIASES.get(kind))
    if not selected:
        click.echo(empty_sentence(common, inventory) if not names else "nothing selected to reconcile")
        return OK
    plan = planner.plan(graph, selected, sources=not no_source)
    kubectl = common.kubectl
    err_style = _stderr_style(common.style)

    if dry_run:
        how = "flux CLI" if use_flux else "kubectl annotate, then wait for lastHandledReconcileAt"
        note = "flux is not on PATH: install the flux CLI to run these commands, or use --no-flux" \
            if flux_missing else ""
        click.echo(render_plan(plan, lambda step: backends.describe(
            step, seconds, use_flux, kubectl, kubectl.opts, reset=reset, force=force),
            style=common.style, how=how, note=note), nl=False)
        return OK

    versions = versions_of(list(graph.objects) + list(graph.sources.values()))
    workers = max(4, min(parallel * 2, 32))
    backend = (backends.FluxBackend(kubectl, versions, workers=workers, kube_options=kubectl.opts,
                                    reset=reset, force=force)
               if use_flux else backends.KubectlBackend(kubectl, versions, workers=workers, reset=reset,
                                                        force=force, proxy=proxy))
    click.echo(render_notes(plan, err_style), nl=False, err=True)
    progress = Progress(err_style, live=_stderr_is_tty())
    outcome = executor.execute(plan, backend, parallel=parallel, timeout=seconds, fail_fast=fail_fast,
                           clock=time.monotonic, sleep=time.sleep, on_event=progress,
                           poll_interval=POLL_INTERVAL)
    progress.clear()
    click.echo(render_summary(outcome, style=common.style, parallel=parallel), nl=False)
    if outcome.interrupted:
        return INTERRUPTED
    return OK if outcome.ok else FAILED


def parse_timeout(text):
    """`--timeout` value (Go duration or seconds) → seconds; None when invalid."""
    seconds = parse_duration(text)
    return seconds if seconds and seconds > 0 else None


def _stderr_is_tty():
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def _stderr_style(style):
    tty = _stderr_is_tty()
    return Style(colour=style.colour and tty, unicode=style.unicode, width=_stderr_columns() if tty else None)


def _stderr_columns():
    """The width of the terminal on stderr, where the progress goes ($COLUMNS first, as
    shutil.get_terminal_size() reads it for stdout)."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        size = os.terminal_size((80, 24))
    if os.environ.get("COLUMNS"):
        size = shutil.get_terminal_size(size)
    return max(size.columns, 20)


class Progress:
    """Prints each event on stderr; on a terminal keeps a last line with running/queued."""

    def __init__(self, style, live=False):
        self.style = style
        self.live = live
        self._shown = False

    def __call__(self, event):
        line = render_event(event, self.style)
        if self.live:
            self.clear()
        if line:
            click.echo(line, err=True)
        if self.live and (event.running or event.queued):
            click.echo(render_live(event, self.style), err=True, nl=False)
            self._shown = True

    def clear(self):
        if self._shown:
            click.echo("\r\x1b[K", err=True, nl=False)
            self._shown = False
