"""kubectl depgraph why [NAME]"""

import click

from kubectl_depgraph.acquire import events as ev
from kubectl_depgraph.cli import cli
from kubectl_depgraph.cli.common import in_view, input_options, load_graph
from kubectl_depgraph.errors import NOT_READY, OK, UsageError
from kubectl_depgraph.judge.explain import attach_events, why as explain_one, why_all
from kubectl_depgraph.render import data
from kubectl_depgraph.render import why as render

FORMATS = ("text", "json", "yaml")


@cli.command()
@click.argument("name", required=False, metavar="[NAME]")
@click.option("-o", "--output", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
@click.option("--exit-code", is_flag=True,
              help="Exit 3 when NAME (without NAME: anything) is not ready.")
@input_options
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
    now = common.now
    if name:
        result = explain_one(graph, graph.resolve(name, common.namespace), now=now)
    else:
        refs = sorted(r for r in in_view(graph, common.namespace) if not graph.is_missing(r))
        result = why_all(graph, now=now, refs=refs)
    # Events are fetched for the objects the walk reached, then attached: one walk.
    events, notes = _evidence(inventory, result.refs)
    if events is not None:
        attach_events(graph, result, events, now)
    result.notes.extend(notes)
    scope = common.scope_text(inventory)
    if output == "text":
        if name:
            text = render.render_explanation(result, common.style, now, events is not None)
        else:
            text = render.render_incident(result, common.style, now, scope, events is not None)
    else:
        doc = (render.explanation_document if name else render.incident_document)(
            result, inventory.description, events is not None, inventory.warnings)
        text = (data.to_json if output == "json" else data.to_yaml)(doc)
    click.echo(text, nl=False)
    not_ready = (not result.ready) if name else bool(result.not_ready)
    return NOT_READY if exit_code and not_ready else OK


def _evidence(inventory, refs):
    """(events or None, notes): live events in a bounded number of calls, a snapshot's own
    events, or none with a note saying why."""
    if not refs:
        return [], []
    if inventory.kubectl is not None:
        fetched = ev.fetch(inventory.kubectl, refs)
        return (fetched.events if fetched.note is None else None), \
            ([fetched.note] if fetched.note else [])
    if inventory.events is None:
        return None, ["the snapshot holds no Events: evidence from events omitted (save them with "
                      "kubectl get events -A -o yaml > events.yaml and add -f events.yaml)"]
    return inventory.events, []
