"""The kinds of finding `check` reports: one table of stable ids (the README mirrors it),
severities, and the Finding record. Data only."""

from dataclasses import dataclass
from typing import Optional, Tuple

from kubectl_depgraph.model import ObjectRef, Origin

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)          # most severe first
_RANK = {s: i for i, s in enumerate(SEVERITIES)}



@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: str
    fix: str          # the default fix; a finding usually words its own


RULES = {r.id: r for r in (
    Rule("DG001", "cycle", ERROR,
         "remove one dependsOn entry on the cycle"),
    Rule("DG002", "missing-dependency", ERROR,
         "correct the name or namespace (it defaults to the dependent's own), or remove the entry"),
    Rule("DG003", "wrong-kind-dependency", ERROR,
         "Kustomization → HelmRelease: list it under healthChecks; HelmRelease → Kustomization: "
         "make the Kustomization that applies the HelmRelease depend on it"),
    Rule("DG004", "duplicate-object", ERROR,
         "keep one definition, or rename one of them"),
    Rule("DG005", "self-dependency", ERROR,
         "remove the entry naming the object itself"),
    Rule("DG006", "dependency-without-readiness", WARNING,
         "set spec.wait: true (or list the workloads under spec.healthChecks)"),
    Rule("DG007", "deep-chain", WARNING,
         "depend directly on what is needed instead of through intermediate objects"),
    Rule("DG008", "crd-prune", WARNING,
         "set spec.prune: false, or annotate the CRDs kustomize.toolkit.fluxcd.io/prune: disabled"),
    Rule("DG009", "unresolved-variable", INFO,
         "make sure the Kustomization that applies this file substitutes the variable"),
    Rule("DG010", "suspended-dependency", WARNING,
         "flux resume the dependency, or remove the dependsOn entries on it"),
    Rule("DG011", "dependency-not-visible", WARNING,
         "let the controller watch that namespace, or move the dependency where it can see it"),
    Rule("DG012", "unverified-dependency", INFO,
         "rerun with read access to Flux objects in that namespace"),
    Rule("DG013", "missing-typed-dependency", ERROR,
         "correct the kind, name or namespace of the dependsOn entry, or remove it"),
    Rule("DG014", "unreached-file", INFO,
         "list the file in a cluster's kustomization.yaml, or delete it"),
    Rule("DG015", "wait-ignores-health-checks", WARNING,
         "drop spec.wait (to keep the listed health checks) or drop spec.healthChecks"),
    Rule("DG016", "wait-on-suspended-release", WARNING,
         "resume the HelmRelease, or set spec.wait: false while it is suspended"),
    Rule("DG017", "wrapper-kustomization", INFO,
         "with Flux 2.10+, depend on the HelmRelease directly (a cross-kind dependsOn entry)"),
    Rule("DG018", "cross-kind-dependency", WARNING,
         "make sure every cluster that applies it runs Flux 2.10+"),
    Rule("DG019", "unchecked-dependency", INFO,
         "check on the cluster that the object exists"),
)}
# Names a rule had before (--ignore keeps accepting them).
_OLD_NAMES = {"missing-resourceset-dependency": "DG013"}
_BY_NAME = {r.name: r for r in RULES.values()} | {n: RULES[i] for n, i in _OLD_NAMES.items()}


@dataclass(frozen=True)
class Finding:
    """One problem: `objects[0]` is where the fix goes; origin is its file:line (--path/-f)."""

    id: str
    severity: str
    objects: Tuple[ObjectRef, ...]
    origin: Optional[Origin]
    message: str
    fix: str

    @property
    def name(self):
        return RULES[self.id].name

    def sort_key(self):
        origin = self.origin or Origin("")
        return (_RANK[self.severity], origin.file, origin.line, self.id, self.objects, self.message)


def rule_named(text):
    """The Rule an id or a name (any case) stands for, or None."""
    return RULES.get(text.upper()) or _BY_NAME.get(text.lower())


def at_or_above(findings, threshold):
    """Findings whose severity is at or above `threshold` ('error', 'warning' or 'never')."""
    if threshold == "never":
        return []
    return [f for f in findings if _RANK[f.severity] <= _RANK[threshold]]


def counts(findings):
    """{'error': n, 'warning': n, 'info': n}."""
    return {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
