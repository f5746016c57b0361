"""Typed Flux objects parsed from manifest dicts (from kubectl, a snapshot or Git).

parse_object() is the one place that reads a raw manifest; everything downstream works
on ObjectRef / FluxObject. Malformed fields become warnings, not crashes."""

import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple, Optional, Tuple

from kubectl_depgraph.kinds import (  # noqa: F401 (re-exported: the model's vocabulary)
    KUSTOMIZATION, HELMRELEASE, GITREPOSITORY, OCIREPOSITORY, BUCKET, HELMREPOSITORY, HELMCHART,
    EXTERNALARTIFACT, RESOURCESET, RESOURCESET_GROUP, TERRAFORM, TERRAFORM_GROUP, OWN_GROUPS,
    CLUSTER_SCOPED, WORKLOAD_KINDS, SOURCE_KINDS, GROUPS, PLURALS, SHORT, FLUX_CLI_KIND,
    KIND_ALIASES, RECONCILE_ANNOTATION, RESET_ANNOTATION, FORCE_ANNOTATION, resource_name,
    is_external_kind, applier)


class ObjectRef(NamedTuple):
    """A Flux object's identity; prints as Kind/namespace/name. A tuple: hashing and ordering
    in C, which a fleet of thousands of objects does millions of times."""

    kind: str
    namespace: str
    name: str

    def __str__(self):
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def short(self):
        kind = SHORT.get(self.kind, self.kind)
        return f"{kind}/{self.namespace}/{self.name}" if self.namespace else f"{kind}/{self.name}"

    @property
    def ns_name(self):
        """`namespace/name`, as Flux's own messages spell a dependency (`name` when
        cluster-scoped)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def external(self):
        """Not a kind depgraph judges with a Flux controller's rules (a CRD, a Deployment…)."""
        return is_external_kind(self.kind)


def cycle_path(cycle, spell=None, arrow="→"):
    """A cycle written closed, `a → b → a` (kustomize-controller logs it with `->`); its
    members as `ns/name`, or as `kind/ns/name` when it spans kinds."""
    if spell is None:
        spell = (lambda ref: ref.ns_name) if len({r.kind for r in cycle}) == 1 else (lambda ref: ref.short)
    return f" {arrow} ".join(spell(ref) for ref in [*cycle, cycle[0]])


def canonical_cycle(cycle):
    """The cycle as a list starting at its smallest member: one spelling per cycle."""
    start = cycle.index(min(cycle))
    return list(cycle[start:]) + list(cycle[:start])


@dataclass(frozen=True)
class Origin:
    """Where a manifest came from: a file (relative path), 1-based line, and for --path the
    cluster folders ("clusters/prod", …) whose build reaches it (() = any) and the Flux
    Kustomization that applies it ("Kustomization flux-system/apps"; "" when unknown)."""

    file: str
    line: int = 0
    scope: Tuple[str, ...] = ()
    via: str = ""

    def in_scope(self, scope):
        return not self.scope or scope in self.scope

    def overlaps(self, other):
        """Could both definitions reach one cluster? An unscoped one reaches every cluster."""
        return not self.scope or not other.scope or bool(set(self.scope) & set(other.scope))

    def __str__(self):
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Dependency:
    """One spec.dependsOn entry. `ready` False: existence is enough (the cross-kind
    `ready: false`, and a ResourceSet entry without `ready: true`). `api_version` is what
    the entry names ("" when it names its holder's own kind)."""

    ref: ObjectRef
    ready_expr: Optional[str] = None
    api_version: str = ""
    ready: bool = True

    def __str__(self):
        """The cross-kind string form `apiVersion/Kind/[ns/]name[:ready][@readyExpr]`
        (fluxcd/pkg#1229), or `ns/name` for an entry on the holder's own kind."""
        if not self.api_version:
            text = self.ref.ns_name
        else:
            text = f"{self.api_version}/{self.ref.kind}/{self.ref.ns_name}" + (":ready" if self.ready else "")
        return text + (f"@{self.ready_expr}" if self.ready_expr else "")


@dataclass(frozen=True)
class Condition:
    type: str
    status: str               # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: str = ""
    observed_generation: Optional[int] = None


@dataclass
class FluxObject:
    """A Kustomization, HelmRelease or source, with the fields depgraph judges by."""

    ref: ObjectRef
    api_version: str = ""
    generation: Optional[int] = None
    suspended: bool = False
    depends_on: Tuple[Dependency, ...] = ()
    source: Optional[ObjectRef] = None          # sourceRef / chart sourceRef / chartRef
    chart: Optional[ObjectRef] = None           # HelmChart the helm-controller creates (chart.spec)
    has_status: bool = False
    observed_generation: Optional[int] = None
    conditions: Tuple[Condition, ...] = ()
    last_applied_revision: str = ""
    last_attempted_revision: str = ""
    last_handled_reconcile_at: str = ""
    requested_at: str = ""                      # metadata.annotations[RECONCILE_ANNOTATION]
    artifact_revision: str = ""                 # sources: status.artifact.revision
    failures: dict = field(default_factory=dict)  # HelmRelease failure counters
    path: str = ""
    wait: bool = False
    prune: bool = False
    health_checks: Tuple[ObjectRef, ...] = ()
    secret_ref: str = ""                        # sources: spec.secretRef.name (credentials)
    facts: dict = field(default_factory=dict)   # external kinds: the status fields kstatus reads
    origin: Optional[Origin] = None
    warnings: Tuple[str, ...] = ()

    def condition(self, type_):
        for cond in self.conditions:
            if cond.type == type_:
                return cond
        return None

    @property
    def ready_condition(self):
        return self.condition("Ready")


def kind_of(manifest):
    """The Flux kind of a manifest dict, or None when it is not a Flux object we model."""
    if not isinstance(manifest, dict):
        return None
    kind, api = manifest.get("kind"), manifest.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api, str):
        return None
    group = api.split("/", 1)[0] if "/" in api else ""
    if kind in GROUPS and GROUPS[kind] == group:
        return kind
    if OWN_GROUPS.get(kind) == group:
        return kind
    return None


def _str(value):
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


def _int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _dict(value):
    return value if isinstance(value, dict) else {}


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _source_ref(spec_ref, default_ns, default_kind=None):
    spec_ref = _dict(spec_ref)
    name = _str(spec_ref.get("name"))
    kind = _str(spec_ref.get("kind")) or default_kind
    if not name or not kind:
        return None
    return ObjectRef(kind, _str(spec_ref.get("namespace")) or default_ns, name)


_VERSION = re.compile(r"v\d+(?:(?:alpha|beta)\d+)?$")


def parse_dependency(entry, holder_kind, namespace):
    """(Dependency, None) for one dependsOn entry of a `holder_kind` object in `namespace`,
    or (None, why it is unusable). Reads the object form (name, namespace, readyExpr, and
    the cross-kind apiVersion, kind, ready) and the string form
    `[apiVersion/Kind/][ns/]name[:ready][@readyExpr]` (fluxcd/pkg#1229)."""
    if isinstance(entry, str):
        return _parse_dependency_text(entry.strip(), holder_kind, namespace)
    entry = _dict(entry)
    name = _str(entry.get("name"))
    if not name:
        return None, "has no name"
    kind, api_version = _str(entry.get("kind")), _str(entry.get("apiVersion"))
    if not kind or (kind == holder_kind and not api_version):
        kind, api_version = holder_kind, ""
    # A ResourceSet entry checks readiness only with `ready: true`; the appliers' cross-kind
    # entries check it unless `ready: false` (their backward-compatible default).
    if holder_kind == RESOURCESET:
        ready = _truthy(entry.get("ready"))
    else:
        ready = not (entry.get("ready") is False or _str(entry.get("ready")).lower() == "false")
    dep_ns = "" if kind in CLUSTER_SCOPED else (_str(entry.get("namespace")) or namespace)
    return Dependency(ObjectRef(kind, dep_ns, name), _str(entry.get("readyExpr")) or None,
                      api_version, ready), None


def _parse_dependency_text(text, holder_kind, namespace):
    head, _, expr = text.partition("@")
    typed_ready = head.endswith(":ready")
    head = head[:-len(":ready")] if typed_ready else head
    parts = head.split("/")
    if len(parts) <= 2:
        name, dep_ns = parts[-1], (parts[0] if len(parts) == 2 else namespace)
        kind, api_version, ready = holder_kind, "", True
    else:
        core = bool(_VERSION.match(parts[0]))
        api_version = parts[0] if core else f"{parts[0]}/{parts[1]}"
        kind, rest = (parts[1], parts[2:]) if core else (parts[2], parts[3:])
        if len(rest) not in (1, 2):
            return None, f"{text!r} is not apiVersion/Kind/[namespace/]name"
        name, dep_ns = rest[-1], (rest[0] if len(rest) == 2 else namespace)
        ready = typed_ready
    if not text:
        return None, "is an empty string"
    if not name or not kind:
        return None, f"{text!r} has no {'kind' if name else 'name'}"
    if kind in CLUSTER_SCOPED:
        dep_ns = ""
    return Dependency(ObjectRef(kind, dep_ns, name), expr or None, api_version, ready), None


def _conditions(status_d):
    conditions = []
    raw_conds = status_d.get("conditions")
    for cond in raw_conds if isinstance(raw_conds, list) else ():
        cond = _dict(cond)
        if not cond.get("type"):
            continue
        cstatus = cond.get("status")
        if isinstance(cstatus, bool):
            cstatus = "True" if cstatus else "False"
        conditions.append(Condition(
            type=_str(cond.get("type")), status=_str(cstatus) or "Unknown",
            reason=_str(cond.get("reason")), message=_str(cond.get("message")),
            last_transition_time=_str(cond.get("lastTransitionTime")),
            observed_generation=_int(cond.get("observedGeneration"))))
    return tuple(conditions)


# The spec fields kstatus reads besides status (replica counts, Service type).
_KSTATUS_SPEC = ("replicas", "type", "updateStrategy", "parallelism", "completions")


def parse_external(manifest, origin=None, default_namespace="default"):
    """Any other kind of object, kept for the kstatus rules when a dependency names it.
    None when it has no kind or name. Cluster-scoped kinds get namespace ""."""
    if not isinstance(manifest, dict):
        return None
    kind, meta = _str(manifest.get("kind")), _dict(manifest.get("metadata"))
    name = _str(meta.get("name"))
    if not kind or not name:
        return None
    namespace = "" if kind in CLUSTER_SCOPED else (_str(meta.get("namespace")) or default_namespace)
    spec, status_d = _dict(manifest.get("spec")), _dict(manifest.get("status"))
    return FluxObject(
        ref=ObjectRef(kind, namespace, name),
        api_version=_str(manifest.get("apiVersion")),
        generation=_int(meta.get("generation")),
        has_status="status" in manifest,
        observed_generation=_int(status_d.get("observedGeneration")),
        conditions=_conditions(status_d),
        facts={"status": status_d, "spec": {k: spec[k] for k in _KSTATUS_SPEC if k in spec},
               "deleting": bool(meta.get("deletionTimestamp"))},
        origin=origin,
    )


def named_externals(objects):
    """The refs of other kinds that the objects' dependsOn entries name."""
    return {dep.ref for obj in objects for dep in obj.depends_on if dep.ref.external}


def with_cluster_scoped(objects, kinds):
    """The objects, their dependsOn entries on `kinds` (found cluster-scoped when read)
    without the namespace they defaulted to: the API server ignores it."""
    kinds = set(kinds) - CLUSTER_SCOPED
    if not kinds:
        return objects
    for obj in objects:
        if any(d.ref.kind in kinds and d.ref.namespace for d in obj.depends_on):
            obj.depends_on = tuple(replace(d, ref=d.ref._replace(namespace="")) if d.ref.kind in kinds else d
                                   for d in obj.depends_on)
    return objects


def unread(ref, why):
    """A placeholder for an object of another kind that the input could not show: judged
    unknown (why), not missing."""
    return FluxObject(ref=ref, facts={"unread": why})


def parse_object(manifest, origin=None, default_namespace="default"):
    """Parse a manifest dict into a FluxObject; return None when it is not a Flux object.

    A missing metadata.namespace takes `default_namespace` (kubectl's rule for
    namespaced objects); odd field types are recorded in `warnings`."""
    kind = kind_of(manifest)
    if kind is None:
        return None
    warnings = []
    meta = _dict(manifest.get("metadata"))
    spec = _dict(manifest.get("spec"))
    status = manifest.get("status")
    name = _str(meta.get("name"))
    if not name:
        return None
    namespace = _str(meta.get("namespace")) or default_namespace
    ref = ObjectRef(kind, namespace, name)

    depends = []
    raw_deps = spec.get("dependsOn")
    if raw_deps is not None and not isinstance(raw_deps, list):
        warnings.append("spec.dependsOn is not a list: ignored")
        raw_deps = []
    for i, entry in enumerate(raw_deps or ()):
        dep, problem = parse_dependency(entry, kind, namespace)
        if dep is None:
            warnings.append(f"spec.dependsOn[{i}] {problem}: ignored")
        else:
            depends.append(dep)

    source = chart = None
    if kind in (KUSTOMIZATION, TERRAFORM):
        source = _source_ref(spec.get("sourceRef"), namespace)
    elif kind == HELMRELEASE:
        chart_spec = _dict(_dict(spec.get("chart")).get("spec"))
        if chart_spec:
            source = _source_ref(chart_spec.get("sourceRef"), namespace)
            if source:
                chart = ObjectRef(HELMCHART, source.namespace, f"{namespace}-{name}")
        elif spec.get("chartRef") is not None:
            source = _source_ref(spec.get("chartRef"), namespace)
    elif kind == HELMCHART:
        source = _source_ref(spec.get("sourceRef"), namespace)

    health = []
    for check in spec.get("healthChecks") or () if isinstance(spec.get("healthChecks"), list) else ():
        check = _dict(check)
        if check.get("kind") and check.get("name"):
            health.append(ObjectRef(_str(check["kind"]), _str(check.get("namespace")) or namespace,
                                    _str(check["name"])))

    status_d = _dict(status)
    conditions = _conditions(status_d)

    failures = {k: _int(status_d.get(k)) for k in ("failures", "installFailures", "upgradeFailures")
                if _int(status_d.get(k))}
    return FluxObject(
        ref=ref,
        api_version=_str(manifest.get("apiVersion")),
        generation=_int(meta.get("generation")),
        suspended=_truthy(spec.get("suspend")),
        depends_on=tuple(depends),
        source=source,
        chart=chart,
        has_status=bool(status_d),
        observed_generation=_int(status_d.get("observedGeneration")),
        conditions=conditions,
        last_applied_revision=_str(status_d.get("lastAppliedRevision")),
        last_attempted_revision=_str(status_d.get("lastAttemptedRevision")),
        last_handled_reconcile_at=_str(status_d.get("lastHandledReconcileAt")),
        requested_at=_str(_dict(meta.get("annotations")).get(RECONCILE_ANNOTATION)),
        artifact_revision=_str(_dict(status_d.get("artifact")).get("revision")),
        failures=failures,
        path=_str(spec.get("path")),
        wait=_truthy(spec.get("wait")),
        prune=_truthy(spec.get("prune")),
        health_checks=tuple(health),
        secret_ref=_str(_dict(spec.get("secretRef")).get("name")),
        origin=origin,
        warnings=tuple(warnings),
    )


def involved_ref(event):
    """The ObjectRef an Event is about, or None."""
    if not isinstance(event, dict):
        return None
    inv = event.get("involvedObject") or event.get("regarding") or {}
    if not isinstance(inv, dict) or not inv.get("kind") or not inv.get("name"):
        return None
    namespace = inv.get("namespace") or (event.get("metadata") or {}).get("namespace") or ""
    return ObjectRef(str(inv["kind"]), str(namespace), str(inv["name"]))
