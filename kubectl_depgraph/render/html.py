"""-o html: one self-contained page (inline CSS, SVG and a small script; no network) that
draws the graph in rollout order: objects that depend on nothing at the top, each row below
depending only on rows above it (DepGraph.layers). Fill colour by status (the dot/mermaid
palette), missing nodes dashed, cycles red, cross-namespace edges dashed blue. A click, the
search box or the URL hash #select=Kind/ns/name shows an object's details and, for a
not-ready object with status, its `why` explanation (computed here, embedded as text).

Deterministic: the layout is computed here from sorted data; the page carries no time but
the data's own (and the ages `why` states relative to Context.now)."""

import json
from html import escape

from kubectl_depgraph.judge.status import State, classify
from kubectl_depgraph.model import SHORT
from kubectl_depgraph.render.document import node_record, summary_counts
from kubectl_depgraph.render.html_assets import CSS, ERROR_HOOK, JS
from kubectl_depgraph.render.style import FILL, Style, one_line

NODE_W, NODE_H = 200, 42      # a node's box
GAP_X, GAP_Y = 26, 46         # between boxes in a row, between rows
LAYER_GAP = 30                # extra space between two layers
ROW_MAX = 8                   # boxes per row: a wider layer wraps onto several rows
MARGIN = 40
LABEL_W = 40                  # the layer numbers' column
DENSE = 150                   # more edges than this: drawn fainter until a node is selected
LABEL_CHARS = 27              # longer names are cut (the full name is in the tooltip)
PLAIN = Style(colour=False, unicode=True)


def _cut(text, width=LABEL_CHARS):
    return text if len(text) <= width else text[: width - 1] + "…"


# Distinct hues for the namespace tags, assigned in namespace order (then repeated).
NS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
              "#7f7f7f", "#d62728", "#393b79", "#637939")


def _ns_colours(graph):
    """{namespace: colour} for the tag on each box and the swatch in the namespace list."""
    names = sorted({ref.namespace for ref in graph.nodes})
    return {ns: NS_COLOURS[i % len(NS_COLOURS)] for i, ns in enumerate(names)}


def layout(graph):
    """{ref: (x, y)} of each box's top-left corner, the layer bands [(y0, y1)], and the
    canvas (width, height). A layer wider than ROW_MAX boxes wraps onto several lines; each
    line is centred."""
    lines, bands, y = [], [], MARGIN
    for row in graph.layers():
        # Objects with no edge at all go last, by namespace: the lines with edges stay short.
        row = [r for r in row if _linked(graph, r)] + \
            sorted((r for r in row if not _linked(graph, r)), key=lambda r: (r.namespace, r.name, r.kind))
        top = y
        for start in range(0, len(row), ROW_MAX):
            lines.append((y, row[start:start + ROW_MAX]))
            y += NODE_H + GAP_Y
        bands.append((top - GAP_Y / 2, y - GAP_Y / 2))
        y += LAYER_GAP
    widest = max((len(line) for _, line in lines), default=0)
    pos = {}
    for line_y, line in lines:
        left = MARGIN + LABEL_W + (widest - len(line)) * (NODE_W + GAP_X) / 2
        for i, ref in enumerate(line):
            pos[ref] = (left + i * (NODE_W + GAP_X), line_y)
    width = 2 * MARGIN + LABEL_W + widest * (NODE_W + GAP_X) - GAP_X
    return pos, bands, (width, y - LAYER_GAP - GAP_Y + MARGIN)


def _linked(graph, ref):
    return bool(graph.dependencies(ref) or graph.dependents(ref))


def _edge_path(a, b, pos):
    """Path from dependent `a` to dependency `b` (the arrow points at the dependency): up
    from a's top to b's bottom, or a loop over the top when b is not above a (cycles)."""
    (ax, ay), (bx, by) = pos[a], pos[b]
    ax, bx = ax + NODE_W / 2, bx + NODE_W / 2
    if by < ay:
        y1, y2 = ay, by + NODE_H
        bend = max(30, (y1 - y2) / 2)
        return f"M{ax:g},{y1:g} C{ax:g},{y1 - bend:g} {bx:g},{y2 + bend:g} {bx:g},{y2:g}"
    ax, bx = ax - 8, bx + 8   # two edges of a 2-cycle stay apart
    lift = min(ay, by) - 30 - abs(ax - bx) / 12
    return f"M{ax:g},{ay:g} C{ax:g},{lift:g} {bx:g},{lift:g} {bx:g},{by:g}"


def _why_text(graph, ref, obj, state, events, now):
    if obj is None or not obj.has_status or state is State.READY:
        return ""
    from kubectl_depgraph.judge.explain import why
    from kubectl_depgraph.render.why import render_explanation
    expl = why(graph, ref, events=list(events) if events is not None else None, now=now)
    return render_explanation(expl, style=PLAIN, now=now, events_read=events is not None)


def page_data(graph, ids, events=None, now=None):
    """What the script shows on selection, per node (in id order)."""
    nodes = []
    for ref in graph.nodes:
        obj = graph.obj(ref)
        record = node_record(graph, ref)
        state = classify(obj).state
        message = record["message"] or ""
        if obj is None and record.get("otherKind"):
            message = f"{message}; {graph.other_kind_note(ref)}"
        source_rev = ""
        if obj is not None and obj.source is not None and obj.source in graph.sources:
            source_rev = graph.sources[obj.source].artifact_revision
        nodes.append({
            "id": ids[ref], "ref": str(ref), "short": ref.short, "kind": ref.kind, "ns": ref.namespace,
            "name": ref.name, "state": record["status"], "reason": record["reason"] or "",
            "message": message, "since": record["since"] or "",
            "source": (record.get("source") or "") + (f" ({source_rev})" if source_rev else ""),
            "revision": record.get("revision") or "", "path": obj.path if obj is not None else "",
            "origin": record.get("origin") or "",
            "deps": [ids[r] for r in graph.dependencies(ref)],
            "dependents": [ids[r] for r in graph.dependents(ref)],
            "why": _why_text(graph, ref, obj, state, events, now),
        })
    return {"nodes": nodes}


def _svg(graph, ids, pos, bands, size, on_cycle):
    width, height = size
    dense = ' class="dense"' if len(graph.edges()) > DENSE else ""
    out = [f'<svg id="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
           f'data-nodes="{len(ids)}"{dense}>',
           "<defs>" + "".join(
               f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
               f'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
               f"</marker>" for name, colour in (("plain", "#9e9e9e"), ("cross", "#1e88e5"),
                                                  ("red", "#d32f2f"))) + "</defs>"]
    for n, (y0, y1) in enumerate(bands):
        if n % 2 == 0:
            out.append(f'<rect class="layer-band" x="0" y="{y0:g}" width="{width:g}" height="{y1 - y0:g}"/>')
        out.append(f'<text class="layer-label" x="12" y="{y0 + 18:g}">{n + 1}</text>')
    for a, b in graph.edges():
        classes, marker = ["edge"], "plain"
        if graph.is_missing(b):
            classes.append("to-missing")
            marker = "red"
        elif a.namespace != b.namespace:
            classes.append("cross")
            marker = "cross"
        if (a, b) in on_cycle:
            classes.append("cycle")
            marker = "red"
        out.append(f'<path class="{" ".join(classes)}" data-from="{ids[a]}" data-to="{ids[b]}" '
                   f'd="{_edge_path(a, b, pos)}" marker-end="url(#arrow-{marker})"/>')
    cycle_nodes = {r for edge in on_cycle for r in edge}
    tag = _ns_colours(graph)
    for ref in graph.nodes:
        state = classify(graph.obj(ref)).state.value
        x, y = pos[ref]
        classes = ["node"] + (["missing"] if graph.is_missing(ref) else []) + \
            (["cycle"] if ref in cycle_nodes else [])
        out.append(
            f'<g class="{" ".join(classes)}" id="{ids[ref]}" data-ref="{escape(str(ref))}" '
            f'data-state="{escape(state)}" data-ns="{escape(ref.namespace)}" transform="translate({x:g},{y:g})">'
            f"<title>{escape(ref.short)} ({escape(state)})</title>"
            f'<rect class="box" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{FILL[state]}"/>'
            f'<rect x="0" y="0" width="5" height="{NODE_H}" rx="2" fill="{tag[ref.namespace]}"/>'
            f'<text x="12" y="17">{escape(_cut(ref.name))}</text>'
            f'<text class="sub" x="12" y="33">{escape(_cut(SHORT.get(ref.kind, ref.kind) + " · " + ref.namespace))}'
            f" · {escape(state)}</text></g>")
    out.append("</svg>")
    return "\n".join(out)


def _legend(graph):
    counts = summary_counts(graph)
    rows = [f'<div class="legend-row"><span class="swatch" style="background:{FILL[s]}"></span>'
            f"{escape(s)} <span class=\"n\">{counts[s]}</span></div>" for s in sorted(counts)]
    for cls, text in (("", "depends on (arrow → dependency)"), ("cross", "across namespaces"),
                      ("to-missing", "on a missing object"), ("cycle", "on a cycle")):
        rows.append(f'<div class="legend-row"><svg width="34" height="10"><path class="edge {cls}" '
                    f'd="M2,5 L32,5"/></svg>{text}</div>')
    rows.append('<div class="legend-row"><span class="swatch" style="border:1.5px dashed #d32f2f">'
                "</span>missing object</div>")
    return "\n".join(rows)


def _namespaces(graph):
    tag = _ns_colours(graph)
    counts = {}
    for ref in graph.nodes:
        counts[ref.namespace] = counts.get(ref.namespace, 0) + 1
    return "\n".join(
        f'<label><input type="checkbox" value="{escape(ns)}" checked>'
        f'<span class="swatch" style="background:{tag[ns]}"></span>{escape(ns)}'
        f'<span class="n">{n}</span></label>' for ns, n in sorted(counts.items()))


def render_html(graph, description="", warnings=(), now=None, events=None):
    """The page, as a str."""
    ids = {ref: f"n{i}" for i, ref in enumerate(graph.nodes)}
    pos, bands, size = layout(graph)
    on_cycle = set(graph.cycle_edges())
    data = json.dumps(page_data(graph, ids, events, now), ensure_ascii=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c")   # nothing in the data can close the script element
    counts = summary_counts(graph)
    # Git manifests (--path) carry no status: nothing to call "not ready" there.
    not_ready = sum(n for s, n in counts.items() if s not in (State.READY.value, State.UNKNOWN.value))
    title = "kubectl depgraph" + (f" — {description}" if description else "")
    warn = ""
    if warnings:
        warn = ("<h2>Warnings</h2><ul>" + "".join(f"<li>{escape(one_line(w, 300))}</li>" for w in sorted(warnings))
                + "</ul>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<script>{ERROR_HOOK}</script>
<header><h1>{escape(title)}</h1>
<span class="counts">{len(graph)} objects · {len(graph.edges())} dependencies{f" · {not_ready} not ready" if not_ready else ""}</span>
<span id="shown" class="counts"></span>
<input id="search" type="search" placeholder="Filter by name (Enter selects)" autocomplete="off">
<button id="fit" type="button">Fit</button></header>
<nav id="side">
<h2>Legend</h2>
{_legend(graph)}
<h2>Namespaces <button id="ns-all" type="button">all</button> <button id="ns-none" type="button">none</button></h2>
<div id="namespaces">
{_namespaces(graph)}
</div>
{warn}
</nav>
<main id="canvas">
{_svg(graph, ids, pos, bands, size, on_cycle)}
</main>
<aside id="details"><h2>Details</h2><p class="hint">Click an object (or search and press Enter) to see
its details{", and why it is not ready" if not_ready else ""}. Wheel zooms, drag pans.</p></aside>
<script type="application/json" id="depgraph-data">{data}</script>
<script>{JS}</script>
</body>
</html>
"""
