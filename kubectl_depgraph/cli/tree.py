"""kubectl depgraph tree [NAME…]"""

import click

from kubectl_depgraph.cli.common import empty_sentence, input_options, load_graph, print_warnings
from kubectl_depgraph.errors import UsageError
from kubectl_depgraph.text import counted
from kubectl_depgraph.render import Context, formats, render


def path_options(func):
    """--cluster and --all-files: how --path reads a repository with cluster folders."""
    func = click.option("--all-files", is_flag=True,
                        help="--path: every Flux file of the checkout, not what each cluster folder "
                             "applies (for repositories whose cluster folders are not clusters/NAME).")(func)
    return click.option("--cluster", metavar="NAME",
                        help="--path at a repository: walk only cluster folder clusters/NAME, or any "
                             "folder of the repository holding a cluster's Flux sync "
                             "(e.g. kubernetes/flux/cluster).")(func)


@click.command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("-o", "--output", type=click.Choice(formats("graph")), default="tree", show_default=True,
              help="Output format.")
@click.option("--reverse", "--dependencies", "reverse", is_flag=True,
              help="Show what NAME depends on (children are dependencies).")
@click.option("--depth", type=click.IntRange(min=0), metavar="N", help="Print at most N levels.")
@click.option("--sources", is_flag=True, help="Show each object's source under it.")
@click.option("-w", "--watch", is_flag=True,
              help="Follow the cluster: redraw the tree as objects change (one line per change "
                   "when not on a terminal) until Ctrl-C.")
@click.option("--exit-when-ready", is_flag=True,
              help="With --watch: exit 0 once everything shown is Ready, 1 on the first failure.")
@click.option("--timeout", metavar="DURATION", help="With --watch: stop after DURATION (exit 1 unless all Ready).")
@path_options
@input_options
def tree(common, names, output, reverse, depth, sources, cluster, all_files, watch, exit_when_ready, timeout):
    """What depends on what, and the state of each object.

    \b
    Roots are the objects that depend on nothing; under each object are its
    dependents. NAME is name, ns/name, kind/name or kind/ns/name (ks, hr, …).

    \b
    Examples:
      kubectl depgraph tree
      kubectl depgraph tree apps --reverse      # what apps waits for
      kubectl depgraph tree -f snapshot.yaml -o dot | dot -Tsvg > graph.svg
      kubectl depgraph tree --path ./clusters/production
      kubectl depgraph tree --path . --cluster staging
      kubectl depgraph tree --watch --exit-when-ready --timeout 10m"""
    common.narrow_path(cluster, all_files)
    if watch or exit_when_ready or timeout is not None:
        from kubectl_depgraph.cli.watch import watch_tree
        return watch_tree(common, names, watch=watch, output=output, reverse=reverse, depth=depth,
                          sources=sources, exit_when_ready=exit_when_ready, timeout=timeout)
    inventory, graph = load_graph(common)
    scopes = inventory.scopes()
    if len(scopes) > 1 and output == "tree" and not names and not all_files:
        return _forests(common, inventory, scopes, depth, sources)
    if len(scopes) > 1 and graph.duplicates:
        n = len(graph.duplicates)
        print_warnings([f"{counted(n, 'object')} {'is' if n == 1 else 'are'} defined in more than one cluster folder "
                        f"({', '.join(scopes)}); each is shown once: pick one cluster with --cluster "
                        "NAME for its exact graph"])
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


def _forests(common, inventory, scopes, depth, sources):
    """One forest per cluster folder, each under a heading naming it."""
    from kubectl_depgraph.graph import DepGraph
    from kubectl_depgraph.render.tree import cluster_heading
    ctx = Context(style=common.style, now=common.now, description=inventory.description,
                  warnings=tuple(inventory.warnings), depth=depth, sources=sources)
    parts = []
    for scope in scopes:
        graph = DepGraph.from_objects(inventory.objects_of(scope))
        shown = graph.subgraph(common.view.shown(graph))
        body = render("graph", "tree", shown, ctx) if len(shown) else "(no Kustomizations or HelmReleases)\n"
        parts.append(cluster_heading(scope, shown, common.style) + "\n" + body)
    click.echo("\n".join(parts), nl=False)
    return 0
