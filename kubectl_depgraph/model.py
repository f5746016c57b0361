"""Typed Flux objects parsed from manifest dicts (from kubectl, a snapshot or Git).

parse_object() is the one place that reads a raw manifest; everything downstream works
on ObjectRef / FluxObject. Malformed fields become warnings, not crashes."""

from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Tuple

KUSTOMIZATION = "Kustomization"
HELMRELEASE = "HelmRelease"
GITREPOSITORY = "GitRepository"
OCIREPOSITORY = "OCIRepository"
BUCKET = "Bucket"
HELMREPOSITORY = "HelmRepository"
HELMCHART = "HelmChart"
EXTERNALARTIFACT = "ExternalArtifact"
# Flux Operator: a node of the graph whose dependsOn entries name any kind. Not read from a
# live cluster (not in GROUPS); read from Git and snapshots.
RESOURCESET = "ResourceSet"
RESOURCESET_GROUP = "fluxcd.controlplane.io"

WORKLOAD_KINDS = (KUSTOMIZATION, HELMRELEASE)
SOURCE_KINDS = (GITREPOSITORY, OCIREPOSITORY, BUCKET, HELMREPOSITORY, HELMCHART, EXTERNALARTIFACT)

GROUPS = {
    KUSTOMIZATION: "kustomize.toolkit.fluxcd.io",
    HELMRELEASE: "helm.toolkit.fluxcd.io",
    **{k: "source.toolkit.fluxcd.io" for k in SOURCE_KINDS},
}
PLURALS = {
    KUSTOMIZATION: "kustomizations", HELMRELEASE: "helmreleases",
    GITREPOSITORY: "gitrepositories", OCIREPOSITORY: "ocirepositories", BUCKET: "buckets",
    HELMREPOSITORY: "helmrepositories", HELMCHART: "helmcharts",
    EXTERNALARTIFACT: "externalartifacts",
}
SHORT = {
    KUSTOMIZATION: "ks", HELMRELEASE: "hr", GITREPOSITORY: "gitrepo", OCIREPOSITORY: "ocirepo",
    BUCKET: "bucket", HELMREPOSITORY: "helmrepo", HELMCHART: "hc", EXTERNALARTIFACT: "ea",
    RESOURCESET: "rset",
}
# The words `flux reconcile` takes for each kind (`flux reconcile source git`, …).
FLUX_CLI_KIND = {
    KUSTOMIZATION: ("kustomization",), HELMRELEASE: ("helmrelease",),
    GITREPOSITORY: ("source", "git"), OCIREPOSITORY: ("source", "oci"),
    BUCKET: ("source", "bucket"), HELMREPOSITORY: ("source", "helm"),
    HELMCHART: ("source", "chart"),
}
# Every spelling a user may type for a kind (lower case) → Kind.
KIND_ALIASES = {}
for _kind in GROUPS:
    for _alias in (_kind.lower(), PLURALS[_kind], SHORT[_kind], f"{PLURALS[_kind]}.{GROUPS[_kind]}"):
        KIND_ALIASES[_alias] = _kind
KIND_ALIASES.update({"resourceset": RESOURCESET, "resourcesets": RESOURCESET, "rset": RESOURCESET})
KIND_ALIASES.update({"kustomize": KUSTOMIZATION, "helm": HELMRELEASE, "git": GITREPOSITORY,
                     "oci": OCIREPOSITORY})

RECONCILE_ANNOTATION = "reconcile.fluxcd.io/requestedAt"
# HelmRelease only, set to the requestedAt value (`flux reconcile hr --reset / --force`):
# clear the failure counts of a release whose retries are exhausted / force a Helm upgrade.
RESET_ANNOTATION = "reconcile.fluxcd.io/resetAt"
FORCE_ANNOTATION = "reconcile.fluxcd.io/forceAt"


def resource_name(kind):
    """`kustomizations.kustomize.toolkit.fluxcd.io`: unversioned, so the server's preferred version is used."""
    return f"{PLURALS[kind]}.{GROUPS[kind]}"


class ObjectRef(NamedTuple):
    """A Flux object's identity; prints as Kind/namespace/name. A tuple: hashing and ordering
    in C, which a fleet of thousands of objects does millions of times."""

    kind: str
    namespace: str
    name: str

    def __str__(self):
        return f"{self.kind}/{self.namespace}/{self.name}"

    @property
    def short(self):
        return f"{SHORT.get(self.kind, self.kind)}/{self.namespace}/{self.name}"

    @property
    def ns_name(self):
        """`namespace/name`, as Flux's own messages spell a dependency."""
        return f"{self.namespace}/{self.name}"


def cycle_path(cycle, spell=lambda ref: ref.ns_name, arrow="→"):
    """A cycle written closed, `a → b → a` (kustomize-controller logs it with `->`)."""
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
    ref: ObjectRef
    ready_expr: Optional[str] = None


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
    if kind == RESOURCESET and group == RESOURCESET_GROUP:
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
        if isinstance(entry, str):  # tolerate a bare name
            entry = {"name": entry}
        entry = _dict(entry)
        dep_name = _str(entry.get("name"))
        if not dep_name:
            warnings.append(f"spec.dependsOn[{i}] has no name: ignored")
            continue
        dep_ns = _str(entry.get("namespace")) or namespace
        # A ResourceSet names the kind of each dependency; the others depend on their own kind.
        dep_kind = (_str(entry.get("kind")) or kind) if kind == RESOURCESET else kind
        depends.append(Dependency(ObjectRef(dep_kind, dep_ns, dep_name),
                                  _str(entry.get("readyExpr")) or None))

    source = chart = None
    if kind == KUSTOMIZATION:
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

    conditions = []
    status_d = _dict(status)
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
        conditions=tuple(conditions),
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
