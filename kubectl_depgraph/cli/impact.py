"""kubectl depgraph impact"""

import click

from kubectl_depgraph.cli.common import input_options, load_input
from kubectl_depgraph.errors import FAILED, OK, UsageError

FORMATS = ("text", "markdown", "json", "github")


@click.command()
@click.option("--base", "base_ref", metavar="REF",
              help="Compare with this Git ref of the same checkout (e.g. origin/main).")
@click.option("--base-path", metavar="DIR", type=click.Path(file_okay=False),
              help="Compare with another checkout instead of a Git ref.")
@click.option("-o", "--output", type=click.Choice(FORMATS), default="text", show_default=True,
              help="markdown: a pull-request comment; github: workflow annotations.")
@input_options
def impact(common, base_ref, base_path, output):
    """What a change does to the dependency graph, before it is merged.

    \b
    Compares the Flux manifests of --path (default: the current folder) with the same
    folder at --base REF (or with --base-path DIR): the objects the change adds,
    removes and modifies (dependsOn, source, healthChecks, suspend, …), what waits on
    each of them, and what it breaks: dependencies it leaves dangling and new cycles.
    Exit code 1 when it breaks something.

    \b
    Examples:
      kubectl depgraph impact --base origin/main
      kubectl depgraph impact --path clusters/prod --base HEAD~1 -o markdown"""
    if common.inputs.files or not (base_ref or base_path):
        raise UsageError("impact compares two Git trees: give --base REF or --base-path DIR (and --path)",
                         hint="kubectl depgraph impact --base origin/main")
    if base_ref and base_path:
        raise UsageError("--base and --base-path cannot be combined", hint="compare with one base")
    from kubectl_depgraph.acquire import Inputs, gitbase
    from kubectl_depgraph.graph import DepGraph
    from kubectl_depgraph.judge.impact import compare
    from kubectl_depgraph.render import impact as render

    path = common.inputs.path or "."
    head = load_input(common.with_inputs(Inputs(path=path)))
    if base_ref:
        with gitbase.tree_at(path, base_ref) as (base_dir, commit):
            base = load_input(common.with_inputs(Inputs(path=base_dir)), quiet=True)
        against = f"{base_ref} ({commit[:8]})"
    else:
        base = load_input(common.with_inputs(Inputs(path=base_path)), quiet=True)
        against = base_path
    head_graph = DepGraph.from_objects(head.objects)
    result = compare(DepGraph.from_objects(base.objects), head_graph)
    if output == "markdown":
        text = render.render_markdown(result, against, head.base)
    elif output == "json":
        text = render.render_json(result, against, head.base)
    elif output == "github":
        text = render.render_github(result, against, head.base, head_graph)
    else:
        text = render.render_text(result, against, head.base, common.style)
    click.echo(text, nl=False)
    return FAILED if result.breaks else OK
