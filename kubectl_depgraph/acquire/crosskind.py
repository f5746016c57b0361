"""The live read of the other kinds that dependencies name (a CRD, a Deployment…): one
`kubectl get Kind.version.group,… -A -o json` for the kinds actually named, none when no
dependency names one. What the read cannot show is said, never guessed: a kind the server
does not serve leaves its objects missing (a warning asks for the CRD); a kind we may not
list leaves them unknown (model.unread), never missing."""

import json
import re

from kubectl_depgraph.kinds import OPTIONAL_VERSIONS
from kubectl_depgraph.model import named_externals, parse_external, unread, with_cluster_scoped

# kubectl's refusal names the type as typed, up to its first dot (`Widget` for Widget.v1.example.com).
_NO_TYPE = re.compile(r'(?:doesn\'t have a resource type|no matches for kind) "([^"./]+)')
_FORBIDDEN = re.compile(r'cannot list resource "([^"]+)" in API group "([^"]*)"')


def served_optional(group_list):
    """([(kind, apiVersion)] of the optional kinds (ResourceSet, Terraform) whose group the
    server's API group list (`get --raw /apis`) names, at the version we read, else the
    group's preferred one; {the kinds not served}). No list: ask for each (a 404 says it)."""
    try:
        groups = {g["name"]: g for g in json.loads(group_list).get("groups", [])}
    except (ValueError, AttributeError, KeyError, TypeError):
        return list(OPTIONAL_VERSIONS), set()
    found, unserved = [], set()
    for kind, version in OPTIONAL_VERSIONS:
        group = groups.get(version.split("/")[0])
        if group is None:
            unserved.add(kind)
            continue
        served = [v.get("groupVersion") for v in group.get("versions") or ()]
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        found.append((kind, version if version in served or not preferred else preferred))
    return found, unserved


def resource_arg(kind, api_version):
    """The `kubectl get` spelling of a kind at an apiVersion: `Deployment.v1.apps`,
    `Service.v1.` (the core group: an empty group after the dot), `Kind` alone when the
    entry named no apiVersion (the server's preferred version)."""
    if not api_version:
        return kind
    group, _, version = api_version.rpartition("/")
    return f"{kind}.{version}.{group}"


def _named_kinds(objects):
    """{(Kind, apiVersion)} the dependsOn entries name, in a stable order."""
    return sorted({(dep.ref.kind, dep.api_version) for obj in objects for dep in obj.depends_on
                   if dep.ref.external})


def _plural_guesses(kind):
    low = kind.lower()
    return {low + "s", low + "es", (low[:-1] + "ies") if low.endswith("y") else low + "s"}


def read_named(kubectl, objects):
    """(objects of other kinds that `objects` depend on, warnings). Narrows the
    dependencies of `objects` on kinds found cluster-scoped (model.with_cluster_scoped)."""
    pending = _named_kinds(objects)
    if not pending:
        return [], []
    warnings, items, denied = [], [], set()
    while pending:
        found, stderr = kubectl.get_list([resource_arg(k, v) for k, v in pending])
        refused = set(_NO_TYPE.findall(stderr))
        if refused:   # kubectl printed nothing: drop the kinds it lacks, ask again for the rest
            for kind, version in pending:
                if kind in refused:
                    warnings.append(f"the API server serves no {kind} ({version or 'any version'}): "
                                    "is its CRD installed?")
            pending = [(k, v) for k, v in pending if k not in refused]
            continue
        items = found
        for plural, group in _FORBIDDEN.findall(stderr):
            kinds = {(k, v) for k, v in pending if v.rpartition("/")[0] == group}
            guessed = {(k, v) for k, v in kinds if plural in _plural_guesses(k)}
            denied |= guessed or {(k, v) for k, v in kinds if not any(i.get("kind") == k for i in found)}
        break
    for kind, version in sorted(denied):
        warnings.append(f"could not read {kind} objects ({version or 'any version'}): listing them "
                        "is forbidden, so the dependencies on them are unknown")
    parsed = [obj for obj in (parse_external(item, default_namespace="") for item in items) if obj]
    with_cluster_scoped(objects, {o.ref.kind for o in parsed if not o.ref.namespace})
    named = named_externals(objects)
    kept = {o.ref: o for o in parsed if o.ref in named}
    denied_kinds = {k for k, _ in denied}
    for ref in sorted(named - set(kept)):
        if ref.kind in denied_kinds:
            kept[ref] = unread(ref, f"could not read {ref.kind} objects (forbidden)")
    return [kept[r] for r in sorted(kept)], warnings
