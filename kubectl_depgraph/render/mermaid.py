"""-o mermaid: a flowchart; `A --> B` means A depends on B; missing nodes dashed."""

import re

from kubectl_depgraph.judge.status import classify
from kubectl_depgraph.render.style import FILL


def _class_def(state):
    extra = ",stroke:#d32f2f,stroke-dasharray: 5 5" if state == "missing" else ""
    return f"fill:{FILL[state]}{extra}"


def _class_name(state):
    return re.sub(r"[^a-z]", "_", state)


def render_mermaid(graph):
    ids = {ref: f"n{i}" for i, ref in enumerate(graph.nodes)}
    out = ["flowchart BT"]
    used = set()
    for ref in graph.nodes:
        state = classify(graph.obj(ref)).state.value
        used.add(state)
        label = f"{ref.short}<br/>{state}".replace('"', "#quot;")
        out.append(f'  {ids[ref]}["{label}"]:::{_class_name(state)}')
    for a, b in graph.edges():
        arrow = "-.->" if graph.is_missing(b) else "-->"
        out.append(f"  {ids[a]} {arrow} {ids[b]}")
    for state in sorted(used):
        out.append(f"  classDef {_class_name(state)} {_class_def(state)}")
    return "\n".join(out) + "\n"
