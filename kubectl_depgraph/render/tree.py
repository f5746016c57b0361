"""-o tree: the rollout tree. Default direction: roots depend on nothing and their
children are their dependents; reverse: children are what a node depends on."""

from kubectl_depgraph.render.style import Style, one_line, short_revision
from kubectl_depgraph.judge.status import State, classify, revision_behind
from kubectl_depgraph.model import cycle_path
from kubectl_depgraph.text import counted


def node_label(graph, ref, style, with_message=True):
    """`✔ ks/flux-system/apps  ready  Applied revision main@sha1:…` (status word, reason, detail)."""
    verdict = classify(graph.obj(ref))
    obj = graph.obj(ref)
    parts = [style.paint(style.glyph(verdict.state), verdict.state), style.paint(ref.short, bold=True),
             style.paint(verdict.state.value, verdict.state)]
    if not with_message:
        return " ".join(parts)
    detail = ""
    if verdict.state is State.MISSING:
        note = graph.other_kind_note(ref)
        detail = "not found" + (f" ({note})" if note else "")
    elif verdict.state is State.READY:
        detail = short_revision(obj.last_applied_revision or obj.last_attempted_revision)
        src = graph.sources.get(obj.source) if obj.source else None
        if revision_behind(obj, obj, src):   # its same-source dependents wait for it
            detail += f" (behind its source: {short_revision(src.artifact_revision)})"
    elif verdict.state is State.UNKNOWN:
        # --path: where it is defined, instead of a status; another kind: why it is unknown
        detail = str(obj.origin or "") or one_line(verdict.message)
    else:
        detail = " ".join(x for x in (verdict.reason, one_line(verdict.message)) if x)
    if verdict.state is State.UNKNOWN:
        parts = parts[:2]
    return "  ".join(p for p in [" ".join(parts), detail] if p)


def cluster_heading(scope, graph, style):
    """`clusters/staging: 6 objects`, above that cluster's forest (--path at a repository)."""
    return style.paint(f"{scope}: {counted(len(graph.objects), 'object')}", bold=True)


def render_tree(graph, starts=None, reverse=False, depth=None, sources=False, style=Style(),
                suffixes=None):
    """The tree as text. `starts`: the refs to print from (default: the roots of the chosen
    direction, then anything a cycle hid). A subtree already printed is referenced, not repeated.
    `suffixes`: {ref: text} appended to that object's line (tree --watch: how long it took)."""
    suffixes = suffixes or {}
    follow = graph.dependencies if reverse else graph.dependents
    if starts is None:
        starts = [r for r in graph.nodes if not (graph.dependents(r) if reverse else graph.dependencies(r))]
        explicit = False
    else:
        explicit = True
    lines, printed = [], set()
    on_cycle = {r for c in graph.cycles() for r in c}

    def walk(ref, prefix, last, level, path):
        connector = "" if level == 0 else style.branch(last)
        if ref in path:
            lines.append(f"{prefix}{connector}{node_label(graph, ref, style, False)}  "
                         f"{style.paint('(cycle)', colour='red')}")
            return
        if ref in printed and follow(ref):
            lines.append(f"{prefix}{connector}{node_label(graph, ref, style, False)}  (shown above)")
            return
        lines.append(f"{prefix}{connector}{node_label(graph, ref, style)}{suffixes.get(ref, '')}")
        printed.add(ref)
        child_prefix = prefix + ("" if level == 0 else style.stem(last))
        children = follow(ref)
        if depth is not None and level >= depth:
            if children:
                lines.append(f"{child_prefix}{style.branch(True)}… {len(children)} more (--depth {depth})")
            return
        extra = []
        if sources:
            src_ref, src = graph.source_of(ref)
            if src_ref is not None:
                extra.append(_source_line(src_ref, src, style))
        for i, line in enumerate(extra):
            lines.append(f"{child_prefix}{style.branch(i == len(extra) - 1 and not children)}{line}")
        for i, child in enumerate(children):
            walk(child, child_prefix, i == len(children) - 1, level + 1, path | {ref})

    for ref in starts:
        walk(ref, "", True, 0, frozenset())
    if not explicit:
        # Cycle members have no root above them: print each remaining one from the cycle.
        for ref in sorted(on_cycle - printed):
            if ref not in printed:
                walk(ref, "", True, 0, frozenset())
    cycles = graph.cycles()
    if cycles and not explicit:
        lines.append("")
        for cycle in cycles:
            path = cycle_path(cycle, lambda r: r.short, style.arrow)
            lines.append(style.paint(f"cycle: {path} (these objects wait for each other forever)", colour="red"))
    return "\n".join(style.fit(line) for line in lines) + "\n"


def _source_line(src_ref, src, style):
    verdict = classify(src)
    text = f"source {src_ref.short}"
    if src is None:
        return f"{text}  {style.paint('missing', State.MISSING)}"
    detail = short_revision(src.artifact_revision) if verdict.ready else one_line(verdict.message, 80)
    return f"{text}  {style.paint(verdict.state.value, verdict.state)}  {detail}".rstrip()
