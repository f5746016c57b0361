"""kubectl depgraph tree [NAME…]"""

import click

from kubectl_depgraph.cli.common import empty_sentence, input_options, load_graph, print_warnings
from kubectl_depgraph.errors import UsageError
from kubectl_depgraph.text import counted
from kubectl_depgraph.render import Context, formats, render


@click.command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("-o", "--output", type=click.Choice(formats("graph")), default="tree", show_default=True,
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
        n = len(graph.duplicates)
        print_warnings([f"{counted(n, 'object')} {'is' if n == 1 else 'are'} defined in more than one cluster folder "
                        f"({', '.join(scopes)}); each is shown once: point --path at one cluster "
                        "folder for its exact graph"])
    view = common.resolve(graph, names)
    for ref in view.starts:
        if ref not in graph:   # a source: not part of the dependsOn graph
            raise UsageError(f"{ref.short} is a source; tree starts from Kustomizations and "
                             "HelmReleases", hint="tree --sources shows the source of each object")
    shown = graph.subgraph(view.shown(graph, reverse))
    if not len(shown):
        click.echo(empty_sentence(common, inventory))
        return 0
    ctx = Context(style=common.style, now=common.now, description=inventory.description,
                  warnings=tuple(inventory.warnings), starts=view.starts or None, reverse=reverse,
                  depth=depth, sources=sources,
                  events=tuple(inventory.events) if inventory.events is not None else None)
    click.echo(render("graph", output, shown, ctx), nl=False)
    return 0
