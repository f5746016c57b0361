"""The kinds depgraph knows: names, API groups, plurals and the spellings users type."""

KUSTOMIZATION = "Kustomization"
HELMRELEASE = "HelmRelease"
GITREPOSITORY = "GitRepository"
OCIREPOSITORY = "OCIRepository"
BUCKET = "Bucket"
HELMREPOSITORY = "HelmRepository"
HELMCHART = "HelmChart"
EXTERNALARTIFACT = "ExternalArtifact"
# Flux Operator: a node of the graph whose dependsOn entries name any kind. Read from a live
# cluster when the API server serves it (OPTIONAL_VERSIONS), from Git and snapshots.
RESOURCESET = "ResourceSet"
RESOURCESET_GROUP = "fluxcd.controlplane.io"
# tofu-controller: Terraform objects depend on Terraform objects, judged like Flux's own kinds.
TERRAFORM = "Terraform"
TERRAFORM_GROUP = "infra.contrib.fluxcd.io"
# Kinds depgraph models with their controllers' rules; any other kind a dependency names is
# an "external" node, judged with kstatus rules (judge/status.kstatus).
OWN_GROUPS = {RESOURCESET: RESOURCESET_GROUP, TERRAFORM: TERRAFORM_GROUP}
# The kinds the live read takes when the server serves them (no Flux objects depend on them
# being there), at the version the fast read asks for.
OPTIONAL_VERSIONS = ((RESOURCESET, f"{RESOURCESET_GROUP}/v1"), (TERRAFORM, f"{TERRAFORM_GROUP}/v1alpha2"))
# Kinds that are cluster-scoped wherever they are served: a dependency on one ignores its
# namespace (the API server does). Kinds read from the cluster say so themselves.
CLUSTER_SCOPED = frozenset({
    "CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass",
    "PriorityClass", "IngressClass", "PersistentVolume", "APIService", "Node", "CSIDriver",
    "RuntimeClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ClusterIssuer",
    "ClusterSecretStore", "ClusterPolicy", "GatewayClass", "ClusterResourceSet"})

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
    EXTERNALARTIFACT: "externalartifacts", RESOURCESET: "resourcesets", TERRAFORM: "terraforms",
}
SHORT = {
    KUSTOMIZATION: "ks", HELMRELEASE: "hr", GITREPOSITORY: "gitrepo", OCIREPOSITORY: "ocirepo",
    BUCKET: "bucket", HELMREPOSITORY: "helmrepo", HELMCHART: "hc", EXTERNALARTIFACT: "ea",
    RESOURCESET: "rset", TERRAFORM: "tf",
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
KIND_ALIASES.update({"resourceset": RESOURCESET, "resourcesets": RESOURCESET, "rset": RESOURCESET,
                     "terraform": TERRAFORM, "terraforms": TERRAFORM, "tf": TERRAFORM,
                     f"resourcesets.{RESOURCESET_GROUP}": RESOURCESET,
                     f"terraforms.{TERRAFORM_GROUP}": TERRAFORM})
KIND_ALIASES.update({"kustomize": KUSTOMIZATION, "helm": HELMRELEASE, "git": GITREPOSITORY,
                     "oci": OCIREPOSITORY})

RECONCILE_ANNOTATION = "reconcile.fluxcd.io/requestedAt"
# HelmRelease only, set to the requestedAt value (`flux reconcile hr --reset / --force`):
# clear the failure counts of a release whose retries are exhausted / force a Helm upgrade.
RESET_ANNOTATION = "reconcile.fluxcd.io/resetAt"
FORCE_ANNOTATION = "reconcile.fluxcd.io/forceAt"


def resource_name(kind):
    """`kustomizations.kustomize.toolkit.fluxcd.io`: unversioned, so the server's preferred version is used."""
    return f"{PLURALS[kind]}.{GROUPS.get(kind) or OWN_GROUPS[kind]}"


def applier(kind, namespace, name):
    """How Origin.via names the Flux Kustomization that applies a manifest:
    `Kustomization flux-system/apps`."""
    return f"{kind} {namespace}/{name}"


def is_external_kind(kind):
    return kind not in GROUPS and kind not in OWN_GROUPS


# kubectl's short names for the other kinds dependencies name most (`why crd/NAME`).
OTHER_ALIASES = {"crd": "CustomResourceDefinition", "crds": "CustomResourceDefinition",
                 "deploy": "Deployment", "sts": "StatefulSet", "ds": "DaemonSet"}
