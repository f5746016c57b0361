"""kubectl depgraph check"""

import click

from kubectl_depgraph.judge.check import DEFAULT_MAX_DEPTH, Finding, at_or_above, check as run_checks, \
    resolve_ignores
from kubectl_depgraph.cli import cli
from kubectl_depgraph.cli.common import input_options, load_graph
from kubectl_depgraph.errors import FAILED, OK
from kubectl_depgraph.render.findings import render_github, render_json, render_text

FORMATS = ("text", "json", "github")


@cli.command()
@click.option("-o", "--output", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: grouped by severity with file:line; json: CheckReport v1; "
                   "github: workflow-command annotations.")
@click.option("--fail-on", type=click.Choice(("error", "warning", "never")), default="error",
              show_default=True, help="Exit 1 when a finding has this severity or worse.")
@click.option("--ignore", multiple=True, metavar="ID",
              help="Silence one kind of finding (DG006 or dependency-without-readiness); "
                   "repeatable.")
@click.option("--max-depth", type=click.IntRange(min=1), default=DEFAULT_MAX_DEPTH,
              show_default=True, metavar="N",
              help="Warn about dependency chains of more than N hops.")
@input_options
def check(common, output, fail_on, ignore, max_depth):
    """Find dependency mistakes before they deadlock a cluster.

    \b
    Cycles, missing and wrong-kind dependencies, self-dependencies and duplicates
    are errors; dependencies that cannot signal readiness, deep chains and pruned
    CRDs are warnings. With status (live or -f), also suspended dependencies and
    dependencies the controller cannot see. Exit code 1 when a finding is at or
    above --fail-on.

    \b
    Examples:
      kubectl depgraph check --path ./clusters/production
      kubectl depgraph check --path . -o github          # in a pull-request workflow
      kubectl depgraph check --fail-on warning --ignore DG007"""
    ignored = resolve_ignores(ignore)
    inventory, graph = load_graph(common)
    # One check per cluster folder: each cluster's graph must hold on its own.
    graphs = [inventory.graph(scope) for scope in inventory.scopes()] or [graph]
    findings = sorted({f for g in graphs for f in run_checks(
        g, duplicates=inventory.duplicates, has_status=inventory.has_status,
        namespaces_read=inventory.namespaces_read, max_depth=max_depth, ignore=ignored)},
        key=Finding.sort_key)
    if common.namespace:
        findings = [f for f in findings if any(r.namespace == common.namespace for r in f.objects)]
    checked = len(graph.objects)
    base = inventory.base
    description = common.scope_text(inventory)
    if output == "json":
        text = render_json(findings, description, checked, base, inventory.warnings)
    elif output == "github":
        text = render_github(findings, base)
    else:
        text = render_text(findings, description, checked, base, common.style)
    click.echo(text, nl=False)
    return FAILED if at_or_above(findings, fail_on) else OK
