"""`why` output: the human explanation (flux-style `Key:  value` blocks, the chain indented
by depth) and the versioned data document (-o json/yaml, README "why" schema). Pure:
every function returns a string or a dict, deterministic for a given `now`."""

from kubectl_depgraph.judge.explanation import Cause, Via
from kubectl_depgraph.judge.status import EXISTS, Gate, State
from kubectl_depgraph.model import cycle_path
from kubectl_depgraph.render.data import SCHEMA
from kubectl_depgraph.render.style import Style, age, listing, one_line, short_revision
from kubectl_depgraph.timeutil import go_duration

INDENT = "    "
MESSAGE_WIDTH = 160


# --------------------------------------------------------------------------- human


def _block(pairs, indent):
    """Aligned `Key:  value` lines; a list value continues on the following lines."""
    pairs = [(k, v) for k, v in pairs if v]
    if not pairs:
        return []
    width = max(len(k) for k, _ in pairs) + 2
    lines = []
    for key, value in pairs:
        values = value if isinstance(value, list) else [value]
        for i, text in enumerate(values):
            head = f"{key}:".ljust(width) if i == 0 else " " * width
            lines.append(f"{indent}{head}{text}")
    return lines


def _glyph(style, state):
    return style.paint(style.glyph(state), state)


def _link_text(link, style):
    ok = link.label is Gate.OK
    state = State.READY if ok else link.target_state or State.FAILED
    text = f"{_glyph(style, state)} {link.target.short}  "
    text += link.label.value if ok else style.paint(link.label.value, state)
    # An OK dependency says only "ready", unless the entry asks for existence alone.
    detail = link.detail if not ok or link.via is Via.SOURCE or link.detail.startswith(EXISTS) else ""
    if link.via is Via.SOURCE and ok:
        detail = short_revision(detail)
    if detail and detail != link.label:
        text += f"  {detail}"
    if link.named:
        text += "  (named by its Ready message)"
    return text


def _event_text(event, now):
    when = age(event.last, now)
    count = f" ×{event.count}" if event.count > 1 else ""
    where = f" {when} ago" if when else ""
    return f"{event.type} {event.reason}{count}{where}: {one_line(event.message, MESSAGE_WIDTH)}"


def _status_text(step, style, now):
    text = style.paint(step.state.value, step.state)
    if step.reason and step.reason not in (step.state.value,):
        text += f" ({step.reason})"
    since = age(step.since, now)
    if since:
        text += f" for {since}"
    return text


def _next_check_text(nc, ref):
    every = go_duration(nc.interval)
    if not nc.retrying:
        return (f"not expected: the controller retries every {every}, but its last "
                f"DependencyNotReady event is from {nc.last}: it does not appear to be retrying "
                f"(see its logs: flux logs --kind={ref.kind} --name={ref.name} -n {ref.namespace})")
    if nc.in_seconds is None:
        return f"about {nc.at} (every {every}; a reconcile request checks at once)"
    return (f"in about {nc.in_seconds}s (polled every {every} since the last "
            f"{'DependencyNotReady event' if nc.basis == 'event' else 'transition'}; "
            "a reconcile request checks at once)")


def _step_lines(step, style, now, events_read):
    indent = INDENT * step.depth
    head = f"{indent}{_glyph(style, step.state)} {style.paint(str(step.ref), bold=True)}"
    if step.via and step.via is not Via.DEPENDS_ON:
        head += f"  (via {'source' if step.via is Via.SOURCE else 'health check'})"
    if step.repeated:
        return [f"{head}  {step.state.value}, explained above"]
    lines = [head]
    sub = indent + "  "
    pairs = [("Status", _status_text(step, style, now))]
    if step.message and step.state is not State.READY:
        pairs.append(("Message", one_line(step.message, MESSAGE_WIDTH)))
    if step.state is State.READY and step.revision:
        pairs.append(("Revision", step.revision))
    if step.generation is not None and step.observed_generation != step.generation:
        pairs.append(("Generation", f"{step.generation} (observed {step.observed_generation})"))
    if step.next_check is not None:
        pairs.append(("Next check", _next_check_text(step.next_check, step.ref)))
    source = [_link_text(lk, style) for lk in step.links if lk.via is Via.SOURCE]
    pairs.append(("Source", source))
    pairs.append(("Depends on", [_link_text(lk, style) for lk in step.links if lk.via is Via.DEPENDS_ON]))
    pairs.append(("Health check", [_link_text(lk, style) for lk in step.links if lk.via is Via.HEALTH_CHECK]))
    problems = [f"{f.title}: {f.summary}" for f in step.findings
                if f.type not in ("DependencyNotReady", "NotFound") or step.state is State.MISSING]
    pairs.append(("Problem", problems))
    if events_read:
        pairs.append(("Events", [_event_text(e, now) for e in step.events]))
    lines.extend(_block(pairs, sub))
    return [style.fit(line) for line in lines]


def _root_lines(rc, style, extra=()):
    state = {Cause.MISSING: State.MISSING, Cause.SUSPENDED: State.SUSPENDED}.get(rc.kind, State.FAILED)
    name = cycle_path(rc.members, lambda r: r.short, "->") if rc.members else rc.ref.short
    lines = [f"  {_glyph(style, state)} {style.paint(name, bold=True)}  {style.paint(rc.label, state)}"]
    pairs = [("Meaning", rc.summary), ("Message", one_line(rc.detail, MESSAGE_WIDTH))]
    if rc.required_by:
        pairs.append(("Required by", listing(r.short for r in rc.required_by)))
    pairs.append(("Blocks", listing(r.short for r in rc.blocks) or "nothing else"))
    return [style.fit(line) for line in lines + _block(pairs + list(extra), "    ")]


def _suggestion_lines(suggestions, style):
    """Commands whole (they are copied), the words around them fitted to the terminal."""
    lines = []
    for s in suggestions:
        if s.command:
            lines.append(f"  {s.command}")
            lines.append(style.fit(f"      # {s.text}"))
        else:
            lines.append(style.fit(f"  - {s.text}"))
    return lines


def _notes(notes):
    return [f"note: {n}" for n in notes]


def render_explanation(expl, style=Style(), now=None, events_read=True):
    """The human form of one Explanation."""
    head_state = State.READY if expl.ready else expl.state
    lines = [style.fit(f"{_glyph(style, head_state)} {expl.summary}"), ""]
    for step in expl.chain:
        lines.extend(_step_lines(step, style, now, events_read))
    if expl.ready:
        lines.extend([""] + _notes(expl.notes) if expl.notes else [])
        return "\n".join(lines) + "\n"
    lines.append("")
    word = "Root cause" if len(expl.root_causes) == 1 else "Root causes"
    lines.append(f"{word} ({len(expl.root_causes)}):")
    for rc in expl.root_causes:
        lines.extend(_root_lines(rc, style))
    if expl.suggestions:
        lines.extend(["", "Next steps:"] + _suggestion_lines(expl.suggestions, style))
    if expl.notes:
        lines.extend([""] + _notes(expl.notes))
    return "\n".join(lines) + "\n"


def render_incident(incident, style=Style(), now=None, scope="", events_read=True):
    """The human form of why without NAME: root causes, each with what it blocks."""
    notes = _notes(incident.notes)
    if not incident.not_ready:
        where = f" in {scope}" if scope else ""
        return "\n".join([f"{_glyph(style, State.READY)} every Kustomization and HelmRelease{where} "
                          "is ready"] + notes) + "\n"
    n, m = len(incident.root_causes), len(incident.not_ready)
    blocked = len({r for rc in incident.root_causes for r in rc.blocks})
    lines = [f"{_glyph(style, State.FAILED)} {n} root cause{'s' if n != 1 else ''} "
             f"block{'s' if n == 1 else ''} {blocked} object{'s' if blocked != 1 else ''} "
             f"({m} not ready)", ""]
    first_steps = {}
    for expl in incident.explanations.values():
        for step in expl.chain:
            if not step.repeated:
                first_steps.setdefault(step.ref, step)
    for rc in incident.root_causes:
        step = first_steps.get(rc.ref) if events_read else None
        evidence = [("Events", [_event_text(e, now) for e in step.events])] if step else []
        lines.extend(_root_lines(rc, style, evidence))
        lines.append("")
    if incident.suggestions:
        lines.extend(["Next steps:"] + _suggestion_lines(incident.suggestions, style) + [""])
    lines.append("Run 'kubectl depgraph why NAME' for the full chain of one object.")
    lines.extend(notes)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- data


def _ref(ref):
    return str(ref) if ref is not None else None


def _link_record(link):
    return {"to": str(link.target), "via": link.via.value, "label": link.label.value, "blocked": link.blocked,
            "detail": link.detail, "readyExpr": link.ready_expr, "namedByController": link.named,
            "status": link.target_state.value if link.target_state else None}


def _event_record(e):
    return {"type": e.type, "reason": e.reason, "message": e.message, "count": e.count,
            "lastTimestamp": e.last or None, "component": e.component or None}


def _step_record(step):
    record = {"id": str(step.ref), "kind": step.ref.kind, "namespace": step.ref.namespace,
              "name": step.ref.name, "depth": step.depth, "via": str(step.via) or None,
              "parent": _ref(step.parent), "status": step.state.value, "reason": step.reason,
              "message": step.message, "since": step.since or None, "repeated": step.repeated}
    if step.repeated:
        return record
    record.update({
        "suspended": step.suspended, "generation": step.generation,
        "observedGeneration": step.observed_generation, "revision": step.revision or None,
        "findings": [{"type": f.type, "title": f.title, "summary": f.summary, "detail": f.detail,
                      "rootCause": f.cause} for f in step.findings],
        "links": [_link_record(lk) for lk in step.links],
        "events": [_event_record(e) for e in step.events],
        "nextCheck": None if step.next_check is None else {
            "at": step.next_check.at, "inSeconds": step.next_check.in_seconds,
            "last": step.next_check.last, "basis": step.next_check.basis,
            "intervalSeconds": step.next_check.interval, "retrying": step.next_check.retrying},
    })
    return record


def _root_record(rc):
    return {"id": str(rc.ref), "label": rc.label, "summary": rc.summary, "detail": rc.detail,
            "cycle": [str(r) for r in rc.members] or None,
            "requiredBy": [str(r) for r in rc.required_by],
            "blocks": [str(r) for r in rc.blocks]}


def _suggestion_record(s):
    return {"text": s.text, "command": s.command or None}


def explanation_document(expl, description="", events_read=True, warnings=()):
    """One Explanation as the v1 `Explanation` document."""
    return {
        "apiVersion": SCHEMA,
        "kind": "Explanation",
        "input": description,
        "target": str(expl.target),
        "status": expl.state.value,
        "ready": expl.ready,
        "summary": expl.summary,
        "chain": [_step_record(s) for s in expl.chain],
        "blockedEdges": [{"from": str(src), **_link_record(lk)} for src, lk in expl.blocked_edges],
        "cycles": [[str(r) for r in c] for c in expl.cycles],
        "rootCauses": [_root_record(rc) for rc in expl.root_causes],
        "suggestions": [_suggestion_record(s) for s in expl.suggestions],
        "eventsRead": events_read,
        "notes": list(expl.notes),
        "warnings": sorted(warnings),
    }


def incident_document(incident, description="", events_read=True, warnings=()):
    """why without NAME as the v1 `Incident` document."""
    return {
        "apiVersion": SCHEMA,
        "kind": "Incident",
        "input": description,
        "summary": {"rootCauses": len(incident.root_causes), "notReady": len(incident.not_ready)},
        "rootCauses": [_root_record(rc) for rc in incident.root_causes],
        "notReady": [{"id": str(ref), "status": e.state.value,
                      "rootCauses": [str(rc.ref) for rc in e.root_causes]}
                     for ref, e in sorted(incident.explanations.items())],
        "cycles": [[str(r) for r in c] for c in incident.cycles],
        "suggestions": [_suggestion_record(s) for s in incident.suggestions],
        "eventsRead": events_read,
        "notes": list(incident.notes),
        "warnings": sorted(warnings),
    }


def explanation_record(expl, ctx):
    """The -o json/yaml document of `why NAME` (render.RENDERERS)."""
    return explanation_document(expl, ctx.description, ctx.events_read, ctx.warnings)


def incident_record(incident, ctx):
    """The -o json/yaml document of `why` (render.RENDERERS)."""
    return incident_document(incident, ctx.description, ctx.events_read, ctx.warnings)
