"""-o dot: Graphviz. Edges point from dependent to dependency; missing nodes dashed;
fill colour by status."""

from kubectl_depgraph.judge.status import classify
from kubectl_depgraph.render.style import FILL


def _q(*lines):
    """A quoted DOT string; several lines are joined with DOT's line break."""
    return '"' + "\\n".join(str(t).replace("\\", "\\\\").replace('"', '\\"') for t in lines) + '"'


def render_dot(graph):
    out = ["digraph depgraph {", "  rankdir=BT;",
           '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    on_cycle = {(a, b) for c in graph.cycles() for a, b in zip(c, c[1:] + c[:1])}
    for ref in graph.nodes:
        verdict = classify(graph.obj(ref))
        attrs = [f"label={_q(ref.short, verdict.state.value)}",
                 f"fillcolor={_q(FILL[verdict.state.value])}"]
        if graph.is_missing(ref):
            attrs.append('style="rounded,dashed"')
            attrs.append("color=red")
        out.append(f"  {_q(ref)} [{', '.join(attrs)}];")
    for a, b in graph.edges():
        attrs = []
        if (a, b) in on_cycle:
            attrs.append("color=red")
        if graph.is_missing(b):
            attrs.append("style=dashed")
        expr = graph.ready_expr(a, b)
        if expr:
            attrs.append(f"label={_q(expr)}")
        out.append(f"  {_q(a)} -> {_q(b)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"
