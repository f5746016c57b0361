"""-o table: one row per object, in rollout order. The only importer of tabulate."""

from tabulate import tabulate

from kubectl_depgraph.judge.status import classify
from kubectl_depgraph.render.style import Style, age, one_line, short_revision
from kubectl_depgraph.judge.status import State


def render_table(graph, refs=None, style=Style(), now=None):
    # 1-based, as `reconcile --dry-run` numbers its waves.
    wave_of = {r: i for i, wave in enumerate(graph.waves(), start=1) for r in wave}
    refs = refs if refs is not None else graph.nodes
    order = sorted(refs, key=lambda r: (wave_of.get(r, len(wave_of) + 1), r))
    rows = []
    for ref in order:
        verdict = classify(graph.obj(ref))
        obj = graph.obj(ref)
        detail = verdict.message
        if verdict.state is State.READY and obj is not None:
            detail = short_revision(obj.last_applied_revision or obj.last_attempted_revision)
        rows.append([
            wave_of.get(ref, "-"),
            ref.kind, ref.namespace, ref.name,
            style.paint(f"{style.glyph(verdict.state)} {verdict.state.value}", verdict.state),
            verdict.reason,
            ", ".join(d.short for d in graph.dependencies(ref)) or "-",
            age(verdict.since, now) or "-",
            one_line(detail, 80),
        ])
    headers = ["WAVE", "KIND", "NAMESPACE", "NAME", "STATUS", "REASON", "DEPENDS ON", "AGE", "MESSAGE"]
    return "\n".join(style.fit(line) for line in plain_table(rows, headers).splitlines()) + "\n"


def plain_table(rows, headers):
    """Aligned columns without rules, as kubectl prints; cells are never parsed as numbers."""
    return tabulate(rows, headers=headers, tablefmt="plain", disable_numparse=True)
