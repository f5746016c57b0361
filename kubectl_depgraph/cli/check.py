"""kubectl depgraph check"""

import click

from kubectl_depgraph.cli.common import input_options, load_input
from kubectl_depgraph.cli.tree import path_options
from kubectl_depgraph.errors import FAILED, OK, UsageError
from kubectl_depgraph.judge.check import DEFAULT_MAX_DEPTH, check as run_checks, unreached_files
from kubectl_depgraph.judge.rules import RULES, Finding, at_or_above, rule_named
from kubectl_depgraph.render import Context, formats, render


@click.command()
@click.option("-o", "--output", type=click.Choice(formats("findings")), default="text", show_default=True,
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
@path_options
@input_options
def check(common, output, fail_on, ignore, max_depth, cluster, all_files):
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
      kubectl depgraph check --path . --cluster staging  # one cluster of the repository
      kubectl depgraph check --path . -o github          # in a pull-request workflow
      kubectl depgraph check --fail-on warning --ignore DG007"""
    ignored = _ignored(ignore)
    common.narrow_path(cluster, all_files)
    inventory = load_input(common)
    from kubectl_depgraph.graph import DepGraph   # networkx: imported while kubectl ran
    # One graph per cluster folder: each cluster's graph must hold on its own.
    scopes = inventory.scopes()
    graphs = [DepGraph.from_objects(inventory.objects_of(s)) for s in scopes] or \
        [DepGraph.from_objects(inventory.objects)]
    view = common.view
    findings = sorted({f for g in graphs for f in run_checks(
        g, duplicates=g.clashing_duplicates() if inventory.base else (),
        has_status=inventory.has_status, namespaces_read=inventory.namespaces_read,
        max_depth=max_depth, ignore=ignored) if any(view.owns(r) for r in f.objects)},
        key=Finding.sort_key)
    unreached = unreached_files(list(inventory.unreached))
    if unreached is not None and unreached.id not in ignored and common.view.namespace is None:
        findings = sorted(findings + [unreached], key=Finding.sort_key)
    checked = len({o.ref for g in graphs for o in g.objects if view.owns(o.ref)})
    ctx = Context(style=common.style, description=common.scope_text(inventory),
                  warnings=tuple(inventory.warnings), base=inventory.base, checked=checked)
    click.echo(render("findings", output, findings, ctx), nl=False)
    return FAILED if at_or_above(findings, fail_on) else OK


def _ignored(values):
    """`--ignore` values (ids or names, any case, comma-separated) → set of ids."""
    ids = set()
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            rule = rule_named(part)
            if rule is None:
                raise UsageError(f"--ignore {part}: no such check",
                                 hint="ids: " + ", ".join(f"{r.id} ({r.name})" for r in RULES.values()))
            ids.add(rule.id)
    return ids
