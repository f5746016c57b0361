"""Renderers: each takes data and returns a str, deterministic and sorted. RENDERERS maps
what a command produced and the -o value the user chose to the renderer; only the chosen
one is imported (start-up time)."""

from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Optional

from kubectl_depgraph.render.style import Style


@dataclass(frozen=True)
class Context:
    """What renderers need besides the data: how the terminal looks, where the data came
    from, and the tree command's shape options."""

    style: Style = Style()
    now: Optional[datetime] = None
    description: str = ""        # "the cluster", "snapshot prod.yaml", …
    scope: str = ""              # description narrowed by -n
    warnings: tuple = ()
    base: str = ""               # --path: the folder origins are relative to
    events_read: bool = True
    starts: Optional[tuple] = None
    reverse: bool = False
    depth: Optional[int] = None
    sources: bool = False
    checked: int = 0             # check: objects checked
    events: Optional[tuple] = None   # html: Event dicts for the embedded `why` texts (None: not read)


def _tree(graph, ctx):
    return import_module("kubectl_depgraph.render.tree").render_tree(
        graph, starts=ctx.starts, reverse=ctx.reverse, depth=ctx.depth, sources=ctx.sources,
        style=ctx.style)


def _document(build, serialise):
    """A renderer that builds a document and serialises it as JSON or YAML."""
    module, name = build.rsplit(".", 1)

    def render(data, ctx):
        doc = getattr(import_module(f"kubectl_depgraph.render.{module}"), name)(data, ctx)
        return getattr(import_module("kubectl_depgraph.render.data"), serialise)(doc)
    return render


def _call(module, name, *fields):
    """A renderer `module.name(data, field=ctx.field, …)`."""
    def render(data, ctx):
        return getattr(import_module(f"kubectl_depgraph.render.{module}"), name)(
            data, **{f: getattr(ctx, f) for f in fields})
    return render


RENDERERS = {
    "graph": {
        "tree": _tree,
        "table": _call("table", "render_table", "style", "now"),
        "json": _document("document.graph_record", "to_json"),
        "yaml": _document("document.graph_record", "to_yaml"),
        "dot": _call("dot", "render_dot"),
        "mermaid": _call("mermaid", "render_mermaid"),
        "html": _call("html", "render_html", "description", "warnings", "now", "events"),
    },
    "explanation": {
        "text": _call("why", "render_explanation", "style", "now", "events_read"),
        "json": _document("why.explanation_record", "to_json"),
        "yaml": _document("why.explanation_record", "to_yaml"),
    },
    "incident": {
        "text": _call("why", "render_incident", "style", "now", "scope", "events_read"),
        "json": _document("why.incident_record", "to_json"),
        "yaml": _document("why.incident_record", "to_yaml"),
    },
    "findings": {
        "text": _call("findings", "render_text", "description", "checked", "base", "style"),
        "json": _call("findings", "render_json", "description", "checked", "base", "warnings"),
        "github": _call("findings", "render_github", "base"),
    },
}


def formats(kind):
    """The -o values for one kind of result, in the order --help lists them."""
    return tuple(RENDERERS[kind])


def render(kind, fmt, data, ctx=Context()):
    return RENDERERS[kind][fmt](data, ctx)
