"""-o mermaid: a flowchart; `A --> B` means A depends on B; missing nodes dashed."""

import re

CLASS = {
    "ready": "fill:#c8e6c9", "failed": "fill:#ffcdd2", "stalled": "fill:#ffcdd2",
    "waiting": "fill:#fff9c4", "progressing": "fill:#b3e5fc", "suspended": "fill:#e1bee7",
    "stale": "fill:#fff9c4", "never reconciled": "fill:#eeeeee",
    "missing": "fill:#ffffff,stroke:#d32f2f,stroke-dasharray: 5 5", "no status": "fill:#ffffff",
}


def _class_name(state):
    return re.sub(r"[^a-z]", "_", state)


def render_mermaid(graph):
    ids = {ref: f"n{i}" for i, ref in enumerate(graph.nodes)}
    out = ["flowchart BT"]
    used = set()
    for ref in graph.nodes:
        state = graph.verdict(ref).state.value
        used.add(state)
        label = f"{ref.short}<br/>{state}".replace('"', "#quot;")
        out.append(f'  {ids[ref]}["{label}"]:::{_class_name(state)}')
    for a, b in graph.edges():
        arrow = "-.->" if graph.is_missing(b) else "-->"
        out.append(f"  {ids[a]} {arrow} {ids[b]}")
    for state in sorted(used):
        out.append(f"  classDef {_class_name(state)} {CLASS[state]}")
    return "\n".join(out) + "\n"
