"""Live input and cluster writes through the real kubectl (and flux) binaries.

argv builders are pure; every call goes through runner.run. Reading uses one
`kubectl get <all flux kinds> -o json` call in the common case."""

import json
import os
import re
from dataclasses import dataclass, field
from typing import Optional

from kubectl_depgraph import runner
from kubectl_depgraph.errors import ClusterError, CommandFailed, CommandNotFound, CommandTimeout
from kubectl_depgraph.model import GROUPS, KUSTOMIZATION, HELMRELEASE, RECONCILE_ANNOTATION, resource_name

READ_KINDS = tuple(GROUPS)   # workloads first, then sources

_NO_TYPE = re.compile(r'(?:doesn\'t have a resource type|no matches for kind) "([^"]+)"')
_FORBIDDEN = re.compile(r'Error from server \(Forbidden\): (\S+) is forbidden: .*?'
                        r'(?:in the namespace "([^"]+)"|at the cluster scope)')


@dataclass
class KubeOptions:
    """kubectl's own conventions, passed through as given."""

    kubectl: str = "kubectl"
    context: Optional[str] = None
    kubeconfig: Optional[str] = None
    namespace: Optional[str] = None
    all_namespaces: bool = False
    request_timeout: Optional[str] = None


@dataclass
class Fetched:
    items: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    namespaces_read: Optional[list] = None   # None: cluster-wide


def _kind_for_resource(text):
    text = text.split("/")[0]
    for kind in GROUPS:
        if text in (resource_name(kind), resource_name(kind).split(".")[0]):
            return kind
    return None


class Kubectl:
    """A kubectl binary plus the user's global flags."""

    def __init__(self, opts: KubeOptions):
        self.opts = opts

    def argv(self, *args):
        o = self.opts
        argv = [o.kubectl]
        if o.kubeconfig:
            argv.append(f"--kubeconfig={o.kubeconfig}")
        if o.context:
            argv.append(f"--context={o.context}")
        if o.request_timeout:
            argv.append(f"--request-timeout={o.request_timeout}")
        return argv + list(args)

    def run(self, *args, ok_codes=(0,), stdin=None):
        try:
            return runner.run(self.argv(*args), ok_codes=ok_codes, stdin=stdin,
                              timeout=self._process_timeout())
        except CommandNotFound as exc:
            raise CommandNotFound(
                f"kubectl not found: {self.opts.kubectl!r} is not an executable on PATH",
                hint="install kubectl, or point --kubectl / $KUBECTL at it") from exc
        except CommandTimeout as exc:
            raise ClusterError(f"kubectl did not answer: {exc.message}",
                               hint="check the cluster is reachable; --request-timeout bounds each request") from exc
        except CommandFailed as exc:
            raise cluster_error(exc) from exc

    def _process_timeout(self):
        # A hung server must never hang us: bound the whole process too.
        text = self.opts.request_timeout
        if not text or text in ("0", "0s"):
            return 300
        seconds = parse_duration(text)
        return max(5.0, seconds * 3 + 5) if seconds else 300

    # --- reads --------------------------------------------------------------------
    def current_namespace(self):
        res = self.run("config", "view", "--minify", "-o", "jsonpath={..namespace}", ok_codes=(0, 1))
        return res.stdout.strip() or "default"

    def get_list(self, resources, namespace=None):
        """`kubectl get r1,r2 -o json` across all namespaces (or one); returns (items, stderr)."""
        scope = ["-n", namespace] if namespace else ["-A"]
        res = self.run("get", ",".join(resources), *scope, "-o", "json", ok_codes=(0, 1))
        items = []
        if res.stdout.strip():
            try:
                doc = json.loads(res.stdout)
            except ValueError:
                raise ClusterError("kubectl printed something that is not JSON for 'get -o json'",
                                   hint="the API server may be returning garbage; retry with --debug") from None
            items = doc.get("items", [doc]) if isinstance(doc, dict) else []
        if res.returncode != 0 and not items and not _FORBIDDEN.search(res.stderr) \
                and not _NO_TYPE.search(res.stderr):
            raise cluster_error(CommandFailed("kubectl get failed", res.argv, res.returncode, res.stderr))
        return items, res.stderr

    def flux_objects(self):
        """Every Flux Kustomization, HelmRelease and source the user may read."""
        kinds = list(READ_KINDS)
        fetched = Fetched()
        while True:
            # Always cluster-wide: dependencies cross namespaces; -n narrows the view only.
            items, stderr = self.get_list([resource_name(k) for k in kinds])
            absent = {_kind_for_resource(m) for m in _NO_TYPE.findall(stderr)} - {None}
            if not absent:
                break
            kinds = [k for k in kinds if k not in absent]
            if not any(k in (KUSTOMIZATION, HELMRELEASE) for k in kinds):
                raise ClusterError(
                    "Flux is not installed in this cluster: the API server serves no "
                    "kustomize.toolkit.fluxcd.io or helm.toolkit.fluxcd.io resources",
                    hint="check the context (--context), or install Flux: flux install")
        forbidden = _FORBIDDEN.findall(stderr)
        if not forbidden:
            fetched.items = items
            return fetched
        return self._per_namespace(kinds, items, forbidden, fetched)

    def _per_namespace(self, kinds, items, forbidden, fetched):
        # Like kubectl-tree: list what we may, say what was omitted.
        denied = sorted({_kind_for_resource(r) for r, _ in forbidden} - {None})
        allowed_items = [i for i in items if i.get("kind") not in denied]
        namespaces = self._readable_namespaces()
        seen = {(i.get("kind"), (i.get("metadata") or {}).get("namespace"),
                 (i.get("metadata") or {}).get("name")) for i in allowed_items}
        omitted = []
        for ns in namespaces:
            ns_items, stderr = self.get_list([resource_name(k) for k in denied], ns)
            if _FORBIDDEN.search(stderr):
                omitted.append(ns)
            for item in ns_items:
                key = (item.get("kind"), (item.get("metadata") or {}).get("namespace"),
                       (item.get("metadata") or {}).get("name"))
                if key not in seen:
                    seen.add(key)
                    allowed_items.append(item)
        read = [ns for ns in namespaces if ns not in omitted]
        kinds_text = ", ".join(resource_name(k).split(".")[0] for k in denied)
        fetched.warnings.append(
            f"listing {kinds_text} across all namespaces is forbidden; read namespaces: "
            f"{', '.join(read) or 'none'}" + (f"; omitted (forbidden): {', '.join(omitted)}" if omitted else ""))
        fetched.items = allowed_items
        fetched.namespaces_read = read
        if not read and not allowed_items:
            raise ClusterError(f"forbidden: you may not list {kinds_text} in any namespace tried "
                               f"({', '.join(namespaces)})",
                               hint="ask for list permission on Flux resources, or pass -n NAMESPACE")
        return fetched

    def _readable_namespaces(self):
        if self.opts.namespace:
            return [self.opts.namespace]
        res = self.run("get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}", ok_codes=(0, 1))
        if res.returncode == 0 and res.stdout.strip():
            return sorted(res.stdout.split())
        return [self.current_namespace()]

    def events(self, namespace=None, field_selector=None):
        """Core v1 Events (dicts); [] plus a warning string when events are forbidden."""
        args = ["get", "events", "-o", "json"]
        args += ["-n", namespace] if namespace else ["-A"]
        if field_selector:
            args += ["--field-selector", field_selector]
        res = self.run(*args, ok_codes=(0, 1))
        if res.returncode != 0:
            first = next((line for line in res.stderr.splitlines() if line.strip()), "")
            return [], f"events not read: {first.strip()}"
        try:
            return json.loads(res.stdout).get("items", []), None
        except ValueError:
            return [], "events not read: kubectl printed no JSON"

    def get_object(self, ref):
        """The object as a dict, or None when it does not exist."""
        res = self.run("get", "-n", ref.namespace, f"{resource_name(ref.kind)}/{ref.name}", "-o", "json",
                       ok_codes=(0, 1))
        if res.returncode != 0:
            if "NotFound" in res.stderr:
                return None
            raise cluster_error(CommandFailed("kubectl get failed", res.argv, res.returncode, res.stderr))
        return json.loads(res.stdout)

    # --- writes (reconcile only) ---------------------------------------------------
    def annotate_argv(self, ref, value):
        return self.argv("annotate", "--overwrite", "-n", ref.namespace,
                         f"{resource_name(ref.kind)}/{ref.name}", f"{RECONCILE_ANNOTATION}={value}")

    def request_reconcile(self, ref, value):
        """Set reconcile.fluxcd.io/requestedAt=value: the protocol `flux reconcile` uses."""
        argv = self.annotate_argv(ref, value)
        return self.run(*argv[1:])


def parse_duration(text):
    """Seconds in a Go-style duration ('30s', '5m', '1h30m', '2'); None if unparseable."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


_HINTS = [
    (re.compile(r"context was not found|no context exists with the name", re.I),
     "the context does not exist", "list contexts with: kubectl config get-contexts"),
    (re.compile(r"Unauthorized|You must be logged in|provide credentials", re.I),
     "the cluster rejected your credentials (Unauthorized)", "refresh your credentials and retry"),
    (re.compile(r"connection refused|no such host|dial tcp|i/o timeout|connect: ", re.I),
     "cannot reach the API server", "check --context/--kubeconfig and that the cluster is up"),
    (re.compile(r"Client.Timeout|context deadline exceeded|timeout awaiting|Timeout exceeded", re.I),
     "the API server did not answer in time", "raise --request-timeout, or check the cluster"),
    (re.compile(r"invalid configuration|no configuration has been provided|"
                r"The connection to the server localhost:8080", re.I),
     "kubectl has no usable kubeconfig", "set KUBECONFIG or pass --kubeconfig"),
    (re.compile(r"\(Forbidden\)", re.I), "forbidden", "ask your cluster admin for read access"),
    (re.compile(r"\(InternalError\)|status code 5\d\d|Internal error", re.I),
     "the API server returned an internal error", "retry; check the API server's health"),
]


def cluster_error(exc: CommandFailed):
    """Turn a failed kubectl call into a one-line ClusterError with a hint."""
    lines = [line.strip() for line in exc.stderr.splitlines()
             if line.strip() and not line.startswith(("I1", "W1", "E1"))]
    detail = lines[-1] if lines else f"exit {exc.returncode}"
    detail = re.sub(r"^error: ", "", detail)
    for pattern, what, hint in _HINTS:
        if pattern.search(exc.stderr):
            return ClusterError(f"{what}: {detail}", hint=hint)
    return ClusterError(f"kubectl failed: {detail}", hint="rerun with --debug to see the command")


def kubectl_from_env(flag_value=None):
    return flag_value or os.environ.get("KUBECTL") or "kubectl"
