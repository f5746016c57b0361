"""`impact` output: text for a terminal, Markdown for a pull-request comment, the JSON
ImpactReport document and GitHub annotations. Each function returns a str."""

from kubectl_depgraph.judge.impact import changed_kinds
from kubectl_depgraph.model import cycle_path
from kubectl_depgraph.render.data import SCHEMA, to_json
from kubectl_depgraph.render.findings import escape_data, escape_property, file_of
from kubectl_depgraph.render.style import Style, listing
from kubectl_depgraph.text import counted

_MARK = {"added": "+", "removed": "-", "modified": "~"}


def _headline(impact, against):
    counts = changed_kinds(impact)
    parts = ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "no change to Flux objects"
    return f"Change against {against}: {parts}; {counted(len(impact.affected), 'object')} affected"


def _break_lines(impact):
    lines = []
    for d in impact.dangling:
        why = "which the change removes" if d.removed else "which does not exist"
        for dependent in d.dependents:
            lines.append(f"{dependent.kind} {dependent.ns_name} depends on '{d.missing.ns_name}', {why}")
    for cycle in impact.new_cycles:
        lines.append(f"new dependency cycle: {cycle_path(cycle)}")
    return lines


def render_text(impact, against, base="", style=Style()):
    lines = [_headline(impact, against)]
    breaks = _break_lines(impact)
    if breaks:
        lines += ["", style.paint(f"Breaks ({len(breaks)}):", colour="red", bold=True)]
        lines += [style.fit("  " + style.paint("✗" if style.unicode else "x", colour="red") + f" {b}")
                  for b in breaks]
    if impact.changes:
        lines.append("")
    for c in impact.changes:
        what = f"{c.what}: {', '.join(c.fields)}" if c.fields else c.what
        where = file_of(c.origin, base)
        head = f"{_MARK[c.what]} {c.ref.short}  {what}" + (f"  ({'was ' if c.what == 'removed' else ''}{where}"
                                                           f"{':' + str(c.origin.line) if c.origin.line else ''})"
                                                           if where else "")
        lines.append(style.fit(head))
        if c.dependents:
            lines.append(style.fit(f"    dependents: {listing(r.short for r in c.dependents)}"))
        if c.affected:
            lines.append(style.fit(f"    affected:   {counted(len(c.affected), 'object')}: "
                                   f"{listing(r.short for r in c.affected)}"))
    return "\n".join(lines) + "\n"


def render_markdown(impact, against, base=""):
    """A pull-request comment: the headline, what breaks, then one table row per change."""
    lines = ["### kubectl depgraph impact", "", _headline(impact, against), ""]
    breaks = _break_lines(impact)
    if breaks:
        lines += [f"**Breaks ({len(breaks)})**", ""] + [f"- :x: {b}" for b in breaks] + [""]
    if impact.changes:
        lines += ["| change | object | fields | dependents | affected |", "|---|---|---|---|---|"]
        for c in impact.changes:
            lines.append(f"| {c.what} | `{c.ref.short}` | {', '.join(c.fields) or '—'} | "
                         f"{listing(f'`{r.short}`' for r in c.dependents) or '—'} | {len(c.affected)} |")
    return "\n".join(lines) + "\n"


def report_document(impact, against, base=""):
    counts = changed_kinds(impact)
    return {
        "apiVersion": SCHEMA,
        "kind": "ImpactReport",
        "against": against,
        "summary": {**counts, "affected": len(impact.affected), "breaks": len(_break_lines(impact))},
        "changes": [{"id": str(c.ref), "change": c.what, "fields": list(c.fields),
                     "origin": f"{file_of(c.origin, base)}:{c.origin.line}" if c.origin else None,
                     "dependents": [str(r) for r in c.dependents],
                     "affected": [str(r) for r in c.affected]} for c in impact.changes],
        "dangling": [{"id": str(d.missing), "removedByChange": d.removed,
                      "requiredBy": [str(r) for r in d.dependents]} for d in impact.dangling],
        "newCycles": [[str(r) for r in c] for c in impact.new_cycles],
        "affected": [str(r) for r in impact.affected],
    }


def render_json(impact, against, base=""):
    return to_json(report_document(impact, against, base))


def render_github(impact, against, base="", head_graph=None):
    """Errors for what breaks (on the dependent's file), notices for the other changes."""
    lines = []
    for d in impact.dangling:
        for dependent in d.dependents:
            obj = head_graph.obj(dependent) if head_graph is not None else None
            where = _where(obj.origin if obj else None, base)
            why = "which the change removes" if d.removed else "which does not exist"
            lines.append(f"::error {where}title=dangling dependency::" + escape_data(
                f"{dependent.kind} {dependent.ns_name} depends on '{d.missing.ns_name}', {why}"))
    for cycle in impact.new_cycles:
        lines.append("::error title=dependency cycle::" + escape_data(f"new dependency cycle: {cycle_path(cycle)}"))
    for c in impact.changes:
        lines.append(f"::notice {_where(c.origin, base)}title={escape_property(f'{c.what} {c.ref.short}')}::"
                     + escape_data(f"{counted(len(c.affected), 'object')} affected"))
    return "".join(line + "\n" for line in lines)


def _where(origin, base):
    path = file_of(origin, base)
    if path is None:
        return ""
    return f"file={escape_property(path)}," + (f"line={origin.line}," if origin.line else "")
