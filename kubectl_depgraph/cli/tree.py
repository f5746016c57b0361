"""kubectl depgraph tree [NAME…]"""

import click

from kubectl_depgraph.cli import cli
from kubectl_depgraph.cli.common import empty_sentence, in_view, input_options, load_graph, \
    print_warnings
from kubectl_depgraph.errors import UsageError
from kubectl_depgraph.render import data, document, dot, mermaid, table
from kubectl_depgraph.render.tree import render_tree

FORMATS = ("tree", "table", "json", "yaml", "dot", "mermaid")


@cli.command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("-o", "--output", type=click.Choice(FORMATS), default="tree", show_default=True,
              help="Output format.")
@click.option("--reverse", "--dependencies", "reverse", is_flag=True,
              help="Show what NAME depends on (children are dependencies).")
@click.option("--depth", type=click.IntRange(min=0), metavar="N", help="Print at most N levels.")
@click.option("--sources", is_flag=True, help="Show each object's source under it.")
@input_options
def tree(common, names, output, reverse, depth, sources):
    """What depends on what, and the state of each object.

    \b
    Roots are the objects that depend on nothing; under each object are its
    dependents. NAME is name, ns/name, kind/name or kind/ns/name (ks, hr, …).

    \b
    Examples:
      kubectl depgraph tree
      kubectl depgraph tree apps --reverse      # what apps waits for
      kubectl depgraph tree -f snapshot.yaml -o dot | dot -Tsvg > graph.svg
      kubectl depgraph tree --path ./clusters/production"""
    inventory, graph = load_graph(common)
    scopes = inventory.scopes()
    if len(scopes) > 1 and graph.duplicates:
        print_warnings([f"{len(graph.duplicates)} objects are defined in more than one cluster folder "
                        f"({', '.join(scopes)}); each is shown once: point --path at one cluster "
                        "folder for its exact graph"])
    starts = [graph.resolve(n, common.namespace) for n in names] if names else None
    for ref in starts or ():
        if ref not in graph:   # a source: not part of the dependsOn graph
            raise UsageError(f"{ref.short} is a source; tree starts from Kustomizations and "
                             "HelmReleases", hint="tree --sources shows the source of each object")
    if starts:
        starts = sorted(set(starts))
        reach = graph.upstream(starts) if reverse else graph.downstream(starts)
        shown = set(starts) | reach
    else:
        shown = in_view(graph, common.namespace)
    view = graph.subgraph(shown)
    if not len(view):
        click.echo(empty_sentence(common, inventory))
        return 0
    if output == "tree":
        click.echo(render_tree(view, starts=starts, reverse=reverse, depth=depth, sources=sources,
                               style=common.style), nl=False)
    elif output == "table":
        click.echo(table.render_table(view, style=common.style, now=common.now), nl=False)
    elif output in ("json", "yaml"):
        doc = document.graph_document(view, inventory.description, inventory.warnings)
        click.echo((data.to_json if output == "json" else data.to_yaml)(doc), nl=False)
    elif output == "dot":
        click.echo(dot.render_dot(view), nl=False)
    else:
        click.echo(mermaid.render_mermaid(view), nl=False)
    return 0
