"""What `resume`, `suspend` and `delete` share: their options, and one run through the
planner (judge/lifecycle.py) and the executor (reconcile/executor.py). Progress on stderr,
the summary table on stdout; --dry-run prints only the exact commands, one a line."""

import functools
import time

import click

from kubectl_depgraph.acquire.watch import versions_of
from kubectl_depgraph.cli.common import empty_sentence, input_options, load_graph
from kubectl_depgraph.cli.reconcile import KIND_CHOICES, POLL_INTERVAL, _stderr_style, parse_timeout
from kubectl_depgraph.errors import FAILED, INTERRUPTED, OK, UsageError
from kubectl_depgraph.judge import plan as planner
from kubectl_depgraph.judge.lifecycle import DELETE, lifecycle_plan, unselected_dependents
from kubectl_depgraph.model import KIND_ALIASES, WORKLOAD_KINDS
from kubectl_depgraph.reconcile import backends, executor, fluxcli
from kubectl_depgraph.reconcile.lifecycle import LifecycleBackend, describe
from kubectl_depgraph.render.lifecycle import render_commands, render_event, render_left_out, render_summary


def lifecycle_options(func):
    """NAME…, --dry-run and reconcile's selection flags (plus --flux/--no-flux unless delete)."""
    options = [
        click.argument("names", nargs=-1, metavar="[NAME]..."),
        click.option("--dry-run", is_flag=True, help="Print the exact commands, in order; change nothing."),
        click.option("--dependents", is_flag=True, help="Also everything that depends on NAME."),
        click.option("--dependencies", is_flag=True, help="Also everything NAME depends on."),
        click.option("--kind", type=click.Choice(KIND_CHOICES), help="Only Kustomizations (ks) or HelmReleases (hr)."),
        click.option("--parallel", type=click.IntRange(min=1), default=executor.DEFAULT_PARALLEL,
                     show_default=True, metavar="N", help="At most N objects at a time."),
        click.option("--timeout", default="5m", show_default=True, metavar="DURATION",
                     help="Per-object timeout (e.g. 90s, 5m)."),
    ]
    for option in reversed(options):
        func = option(func)
    return input_options(func)


flux_option = click.option("--flux/--no-flux", "use_flux", default=None,
                           help="Use the flux CLI / kubectl patch (default: flux if on PATH).")


def run(action, common, names, dry_run, dependents, dependencies, kind, parallel, timeout,
        use_flux=False, force=False):
    """One resume/suspend/delete; returns the exit code."""
    seconds = parse_timeout(timeout)
    if seconds is None:
        raise UsageError(f"invalid --timeout {timeout!r}", hint="use a duration such as 90s, 5m or 1h")
    if (dependents or dependencies) and not names:
        raise UsageError("--dependents/--dependencies need a NAME",
                         hint=f"kubectl depgraph {action} NAME --dependents")
    if not dry_run and not common.inputs.live:
        raise UsageError(f"{action} runs against the live cluster; -f/--path only work with --dry-run",
                         hint="add --dry-run to print the commands for this input")
    if action == DELETE:
        use_flux = False
    elif use_flux and not dry_run and not backends.flux_available():
        raise fluxcli.flux_not_found()
    elif use_flux is None:
        use_flux = backends.flux_available()

    inventory, graph = load_graph(common)
    starts = list(common.resolve(graph, names).starts) or None
    for ref in starts or ():
        if ref.kind not in WORKLOAD_KINDS:
            raise UsageError(f"{ref} is a source: {action} takes Kustomizations and HelmReleases",
                             hint=f"name the Kustomizations and HelmReleases to {action}")
    selected = planner.select(graph, starts, common.view.namespace, dependents, dependencies,
                              KIND_ALIASES.get(kind))
    if not selected:
        click.echo(empty_sentence(common, inventory) if not names else f"nothing selected to {action}")
        return OK
    if action == DELETE and not force:
        left = unselected_dependents(graph, selected)
        if left:
            ref, users = next(iter(left.items()))
            who = f"{users[0]} and {len(users) - 1} more depend on it and are" if len(users) > 1 else \
                f"{users[0]} depends on it and is"
            raise UsageError(f"refusing to delete {ref}: {who} not selected",
                             hint="add --dependents to delete them first, or --force to leave them waiting")
    plan = lifecycle_plan(graph, selected, action)
    kubectl = common.kubectl
    err_style = _stderr_style(common.style)
    click.echo(render_left_out(plan, action, err_style), nl=False, err=True)
    if dry_run:
        click.echo(render_commands(plan, lambda step: describe(action, step.ref, use_flux, kubectl)), nl=False)
        return OK

    versions = versions_of(list(graph.objects))
    backend = LifecycleBackend(kubectl, versions, action, use_flux=use_flux,
                               workers=max(4, min(parallel * 2, 32)))
    outcome = executor.execute(plan, backend, parallel=parallel, timeout=seconds, clock=time.monotonic,
                               sleep=time.sleep, poll_interval=POLL_INTERVAL,
                               on_event=functools.partial(_progress, action, err_style))
    click.echo(render_summary(action, outcome, common.style), nl=False)
    if outcome.interrupted:
        return INTERRUPTED
    return OK if outcome.ok else FAILED


def _progress(action, style, event):
    line = render_event(action, event, style)
    if line:
        click.echo(line, err=True)
