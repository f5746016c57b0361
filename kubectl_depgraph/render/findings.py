"""check findings as text (for people and editors), JSON (versioned) and GitHub
workflow-command annotations. Each renderer returns a str; findings arrive sorted.

`base` is the --path directory as the user typed it: origins are relative to it, and
joining them gives paths an editor or GitHub can open from the working directory."""

import posixpath

from kubectl_depgraph.judge.rules import SEVERITIES, counts
from kubectl_depgraph.render.data import SCHEMA, to_json
from kubectl_depgraph.render.style import Style
from kubectl_depgraph.text import counted

_COLOUR = {"error": "red", "warning": "yellow", "info": "cyan"}
_GITHUB_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
_HEADINGS = {"error": "Errors", "warning": "Warnings", "info": "Info"}


def file_of(origin, base=""):
    """The origin's file as seen from the working directory, or None."""
    if origin is None or not origin.file:
        return None
    if not base:
        return origin.file
    return posixpath.normpath(posixpath.join(base.replace("\\", "/"), origin.file))


def _where(finding, base):
    path = file_of(finding.origin, base)
    if path is None:
        return finding.objects[0].short
    return f"{path}:{finding.origin.line}" if finding.origin.line else path


def summary_line(findings, description, checked):
    c = counts(findings)
    parts = [f"{c['error']} error{'s' if c['error'] != 1 else ''}",
             f"{c['warning']} warning{'s' if c['warning'] != 1 else ''}",
             f"{c['info']} info"]
    return f"{', '.join(parts)} in {description} ({counted(checked, 'object')} checked)"


def render_text(findings, description, checked, base="", style=Style(colour=False)):
    """Grouped by severity; each finding starts with `file:line:` (or the object when the
    input has no files) so editors and terminals can jump to it; the fix follows indented."""
    if not findings:
        return f"no findings in {description} ({counted(checked, 'object')} checked)\n"
    lines = []
    for severity in SEVERITIES:
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        if lines:
            lines.append("")
        lines.append(style.paint(f"{_HEADINGS[severity]} ({len(group)})", colour=_COLOUR[severity],
                                 bold=True))
        for f in group:
            tag = style.paint(f"{f.id} {f.name}", colour=_COLOUR[severity])
            lines.append(f"{_where(f, base)}: {tag}: {f.message}")
            lines.append(f"    fix: {f.fix}")
    lines.append("")
    lines.append(summary_line(findings, description, checked))
    return "\n".join(lines) + "\n"


def finding_record(finding, base=""):
    """One finding as plain data (the v1 CheckReport schema)."""
    return {
        "id": finding.id,
        "name": finding.name,
        "severity": finding.severity,
        "objects": [str(r) for r in finding.objects],
        "file": file_of(finding.origin, base),
        "line": (finding.origin.line or None) if finding.origin else None,
        "message": finding.message,
        "fix": finding.fix,
    }


def render_json(findings, description, checked, base="", warnings=()):
    doc = {
        "apiVersion": SCHEMA,
        "kind": "CheckReport",
        "input": description,
        "summary": {**counts(findings), "objects": checked},
        "findings": [finding_record(f, base) for f in findings],
        "warnings": sorted(warnings),
    }
    return to_json(doc)


def escape_data(text):
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text):
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings, base=""):
    """`::error file=…,line=…,title=…::message` lines: GitHub Actions turns them into
    annotations on the pull request's diff. info becomes `notice`."""
    lines = []
    for f in findings:
        props = []
        path = file_of(f.origin, base)
        if path is not None:
            props.append(f"file={escape_property(path)}")
            if f.origin.line:
                props.append(f"line={f.origin.line}")
        props.append(f"title={escape_property(f'{f.id} {f.name}')}")
        body = escape_data(f"{f.message}\nfix: {f.fix}")
        lines.append(f"::{_GITHUB_COMMAND[f.severity]} {','.join(props)}::{body}")
    return "".join(line + "\n" for line in lines)
