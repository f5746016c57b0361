"""kubectl depgraph why [NAME]"""

import click

from kubectl_depgraph.cli.common import input_options, load_graph
from kubectl_depgraph.errors import NOT_READY, OK, UsageError
from kubectl_depgraph.render import Context, formats, render


@click.command()
@click.argument("name", required=False, metavar="[NAME]")
@click.option("-o", "--output", type=click.Choice(formats("explanation")), default="text",
              show_default=True, help="Output format.")
@click.option("--exit-code", is_flag=True,
              help="Exit 3 when NAME (without NAME: anything) is not ready.")
@input_options(path=False)
def why(common, name, output, exit_code):
    """Why an object is not ready, down to the root causes, with evidence.

    \b
    Evaluates every dependency with the controllers' own checks, the object's source
    and its own failures, follows the chain to the deepest blocked objects, and ends
    with the commands to run. Without NAME: every not-ready object, grouped by root
    cause (the smallest set of things to fix). Read-only.

    \b
    Examples:
      kubectl depgraph why apps
      kubectl depgraph why hr/monitoring/kube-prometheus-stack -o json
      kubectl depgraph why -f snapshot.yaml --exit-code"""
    if common.inputs.path:
        raise UsageError("why needs status, and --path reads Git manifests, which carry none",
                         hint="run it on the cluster, or on a snapshot: kubectl get ks,hr,gitrepo,"
                              "ocirepo,helmrepo,hc -A -o yaml > snap.yaml && "
                              "kubectl depgraph why -f snap.yaml")
    inventory, graph = load_graph(common)
    from kubectl_depgraph.judge.explain import attach_events, why as explain_one, why_all
    now = common.now
    if name:
        (target,) = common.resolve(graph, [name]).starts
        result = explain_one(graph, target, now=now)
    else:
        refs = sorted(r for r in common.view.shown(graph) if not graph.is_missing(r))
        result = why_all(graph, now=now, refs=refs)
    # Events are fetched for the objects the walk reached, then attached: one walk.
    events, notes = _evidence(common, inventory, result.refs)
    if events is not None:
        attach_events(graph, result, events, now)
    result.notes.extend(notes)
    ctx = Context(style=common.style, now=now, description=inventory.description,
                  scope=common.scope_text(inventory), warnings=tuple(inventory.warnings),
                  events_read=events is not None)
    click.echo(render("explanation" if name else "incident", output, result, ctx), nl=False)
    not_ready = (not result.ready) if name else bool(result.not_ready)
    return NOT_READY if exit_code and not_ready else OK


def _evidence(common, inventory, refs):
    """(events or None, notes): live events in a bounded number of calls, a snapshot's own
    events, or none with a note saying why."""
    if not refs:
        return [], []
    if inventory.live:
        from kubectl_depgraph.acquire import events as live_events
        fetched = live_events.fetch(common.kubectl, refs)
        return (fetched.events if fetched.note is None else None), \
            ([fetched.note] if fetched.note else [])
    if inventory.events is None:
        return None, ["the snapshot holds no Events: evidence from events omitted (save them with "
                      "kubectl get events -A -o yaml > events.yaml and add -f events.yaml)"]
    return inventory.events, []
