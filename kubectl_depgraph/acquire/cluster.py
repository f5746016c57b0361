"""Live input and cluster writes through the real kubectl (and flux) binaries.

argv builders are pure; every call goes through runner.run (or runner.stream for a
watch), injectable for tests. Reading runs its few kubectl processes at once in the
common case (Kubectl._fast_read)."""

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Optional

from kubectl_depgraph import runner
from kubectl_depgraph.errors import ClusterError, CommandFailed, CommandNotFound, CommandTimeout
from kubectl_depgraph.acquire.crosskind import served_optional
from kubectl_depgraph.kinds import OPTIONAL_VERSIONS
from kubectl_depgraph.model import (GROUPS, HELMRELEASE, KUSTOMIZATION, PLURALS, RECONCILE_ANNOTATION,
                                    SOURCE_KINDS, resource_name)
from kubectl_depgraph.timeutil import parse_duration

READ_KINDS = tuple(GROUPS)   # workloads first, then sources
# ResourceSets and Terraforms: read when served, silently left out when not.
OPTIONAL_KINDS = tuple(kind for kind, _ in OPTIONAL_VERSIONS)
# The versions the fast read asks for (Flux 2.x); any other answer falls back to the full read.
FAST_VERSIONS = ((KUSTOMIZATION, "kustomize.toolkit.fluxcd.io/v1"), (HELMRELEASE, "helm.toolkit.fluxcd.io/v2"))

_NO_TYPE = re.compile(r'(?:doesn\'t have a resource type|no matches for kind) "([^"]+)"')
_FORBIDDEN = re.compile(r'Error from server \(Forbidden\): (\S+) is forbidden: .*?'
                        r'(?:in the namespace "([^"]+)"|at the cluster scope)')
# kubectl's own log lines (klog: I/W/E + MMDD) and server warnings are not errors.
_NOISE = re.compile(r"^(?:[IWEF]\d{4} |Warning: )")
# Without --request-timeout, kubectl waits forever on a hung server: bound the process.
DEFAULT_PROCESS_TIMEOUT = 120.0


@dataclass
class KubeOptions:
    """kubectl's own conventions, passed through as given."""

    kubectl: str = "kubectl"
    context: Optional[str] = None
    kubeconfig: Optional[str] = None
    namespace: Optional[str] = None
    request_timeout: Optional[str] = None

    def global_args(self, request_timeout=True):
        """The user's --kubeconfig/--context (and --request-timeout), for kubectl or flux."""
        args = [f"--kubeconfig={self.kubeconfig}"] if self.kubeconfig else []
        args += [f"--context={self.context}"] if self.context else []
        if request_timeout and self.request_timeout:
            args.append(f"--request-timeout={self.request_timeout}")
        return args


@dataclass
class Fetched:
    items: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    namespaces_read: Optional[list] = None   # None: cluster-wide


def _kind_for_resource(text):
    text = text.split("/")[0]
    for kind in READ_KINDS + OPTIONAL_KINDS:
        if text in (resource_name(kind), resource_name(kind).split(".")[0]):
            return kind
    return None


class Kubectl:
    """A kubectl binary plus the user's global flags, and what RBAC let it list.

    `run` and `stream` default to runner.run and runner.stream (looked up when the
    Kubectl is made); tests pass fakes."""

    def __init__(self, opts: KubeOptions, run=None, stream=None):
        self.opts = opts
        self._run = run or runner.run
        self._stream = stream or runner.stream
        self._per_namespace = set()   # kinds we may not list across all namespaces
        self._unserved = set()        # optional kinds the fast read found not served…
        self._refused = {}            # …or may not list: {kind: warning}

    def argv(self, *args):
        return [self.opts.kubectl, *self.opts.global_args(), *args]

    def run(self, *args, ok_codes=(0,), stdin=None):
        try:
            return self._run(self.argv(*args), ok_codes=ok_codes, stdin=stdin,
                             timeout=self._process_timeout())
        except CommandNotFound as exc:
            if runner.which(self.opts.kubectl):   # there, but exec failed
                detail = exc.message.split(": ", 1)[-1]
                raise CommandNotFound(
                    f"cannot run kubectl {self.opts.kubectl!r}: {detail}",
                    hint="point --kubectl / $KUBECTL at a kubectl binary built for this machine") \
                    from exc
            why = runner.why_not_runnable(self.opts.kubectl)
            raise CommandNotFound(
                f"kubectl not found: {self.opts.kubectl!r} is not an executable on PATH",
                hint=(f"{self.opts.kubectl} {why}; " if os.sep in self.opts.kubectl else "") +
                "install kubectl, or point --kubectl / $KUBECTL at it") from exc
        except CommandTimeout as exc:
            raise ClusterError(f"kubectl did not answer within {exc.message.rsplit(' ', 1)[-1]}: "
                               "the API server accepts connections but does not respond",
                               hint="check the cluster's health; --request-timeout bounds each "
                                    "request (e.g. --request-timeout 10s)", transient=True) from exc
        except CommandFailed as exc:
            raise cluster_error(exc) from exc

    def _process_timeout(self):
        # A hung server must never hang us: bound the whole process too.
        text = self.opts.request_timeout
        seconds = parse_duration(text) if text else None
        if not seconds:   # unset, "0" (kubectl: no timeout) or unparseable (kubectl refuses it)
            return DEFAULT_PROCESS_TIMEOUT
        # kubectl makes a few requests per call (discovery, then the lists)
        return max(5.0, seconds * 3 + 5)

    # --- where a kind may be listed (RBAC) ------------------------------------------
    def refused_cluster_wide(self, kinds):
        """Listing `kinds` across all namespaces is forbidden: list them per namespace
        from now on (like kubectl-tree: read what we may)."""
        self._per_namespace.update(kinds)

    def list_scopes(self, kind, namespaces):
        """Where to list `kind` to find its objects in `namespaces`: [None] (one list
        across all namespaces), or each namespace once that list was refused."""
        return sorted(set(namespaces)) if kind in self._per_namespace else [None]

    # --- reads --------------------------------------------------------------------
    def current_namespace(self):
        res = self.run("config", "view", "--minify", "-o", "jsonpath={..namespace}", ok_codes=(0, 1))
        return res.stdout.strip() or "default"

    def get_list(self, resources, namespace=None):
        """`kubectl get r1,r2 -o json` across all namespaces (or one); returns (items, stderr)."""
        scope = ["-n", namespace] if namespace else ["-A"]
        res = self.run("get", ",".join(resources), *scope, "-o", "json", ok_codes=(0, 1))
        if res.returncode != 0 and not _only_explained_errors(res.stderr):
            # Any other failure (401, 500, garbage, timeout) fails the whole read, even when
            # kubectl printed the kinds it did get: a graph silently missing a kind misleads.
            raise cluster_error(CommandFailed("kubectl get failed", res.argv, res.returncode, res.stderr))
        doc = parse_json(res.stdout, "get -o json") if res.stdout.strip() else {}
        return list_items(doc), res.stderr

    def flux_objects(self):
        """Every Flux Kustomization, HelmRelease and source the user may read."""
        fast = self._fast_read()
        if fast is not None:
            return fast
        # kubectl maps every type before its first list: one it lacks fails the whole call
        kinds = list(READ_KINDS) + [k for k in OPTIONAL_KINDS if k not in self._unserved | set(self._refused)]
        fetched = Fetched(warnings=list(self._refused.values()))
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
        denied = sorted({_kind_for_resource(r) for r, _ in forbidden} - {None})
        self.refused_cluster_wide(denied)
        return self._read_per_namespace(denied, items, fetched)

    def _fast_read(self):
        """Four kubectl processes at once: Kustomizations and HelmReleases by `get --raw` at
        their stable versions (the server's JSON: 7x faster than kubectl re-printing
        thousands), the sources by one `kubectl get`, the API group list; then, where that
        lists them, ResourceSets and Terraforms (`get --raw` each: in the sources' `get`, a
        type not served fails the whole call). None when that is not the whole story (an old
        Flux, RBAC, a broken answer): the full read explains it. A timeout is final."""
        jobs = [("get", "--raw", f"/apis/{version}/{PLURALS[kind]}") for kind, version in FAST_VERSIONS]
        jobs.append(("get", ",".join(resource_name(k) for k in SOURCE_KINDS), "-A", "-o", "json"))
        jobs.append(("get", "--raw", "/apis"))
        results = self._parallel(self._attempt, jobs)
        groups = results.pop()
        optional, unserved = served_optional(groups.stdout if groups is not None else None)
        self._unserved |= unserved    # the full read does not ask for them either
        if any(r is None for r in results):
            return None
        results += self._parallel(self._attempt_optional, optional)
        items = []
        for res in results:
            try:
                doc = json.loads(res.stdout) if res is not None else None
            except ValueError:
                return None
            if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
                return None
            items.extend(list_items(doc))
        return Fetched(items, list(self._refused.values()))

    @staticmethod
    def _parallel(fn, jobs):
        with ThreadPoolExecutor(max_workers=max(len(jobs), 1), thread_name_prefix="depgraph-read") as pool:
            return list(pool.map(lambda job: fn(*job), jobs))

    def _attempt(self, *args, ok_codes=(0,)):
        """run(*args), or None when it failed in a way the full read handles."""
        try:
            return self.run(*args, ok_codes=ok_codes)
        except ClusterError as exc:
            if exc.transient and "did not answer" in exc.message:
                raise
            return None

    def _attempt_optional(self, kind, version):
        """An optional kind's List; empty when not served (404) or not listable (a warning:
        RBAC often leaves them out); None: the full read must explain a failure."""
        res = self._attempt("get", "--raw", f"/apis/{version}/{PLURALS[kind]}", ok_codes=(0, 1))
        if res is None or res.returncode == 0:
            return res
        lines = error_lines(res.stderr)
        if lines and all("the server could not find the requested resource" in line for line in lines):
            self._unserved.add(kind)
        elif lines and all("(Forbidden)" in line for line in lines):
            self._refused[kind] = f"listing {resource_name(kind)} is forbidden: {kind} objects are left out"
        else:
            return None
        return runner.Result(res.argv, '{"items": []}', res.stderr, 0)

    def _read_per_namespace(self, denied, items, fetched):
        # List what we may, say what was omitted.
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
            lines = error_lines(res.stderr)
            return [], f"events not read: {lines[-1] if lines else f'kubectl exit {res.returncode}'}"
        try:
            doc = json.loads(res.stdout)
        except ValueError:
            return [], "events not read: kubectl printed no JSON"
        return list_items(doc), None

    def get_object(self, ref):
        """The object as a dict, or None when it does not exist."""
        res = self.run("get", "-n", ref.namespace, f"{resource_name(ref.kind)}/{ref.name}", "-o", "json",
                       ok_codes=(0, 1))
        if res.returncode != 0:
            if "NotFound" in res.stderr:
                return None
            raise cluster_error(CommandFailed("kubectl get failed", res.argv, res.returncode, res.stderr))
        doc = parse_json(res.stdout, "get -o json")
        if not isinstance(doc, dict):
            raise ClusterError(f"kubectl get {ref} printed JSON that is not an object",
                               hint="the API server may be returning garbage; retry with --debug")
        return doc

    # --- writes (reconcile only) ---------------------------------------------------
    @staticmethod
    def annotate_args(refs, value, also=()):
        """`annotate --overwrite -n NS kind/name… requestedAt=value [ANNOTATION=value…]` for
        objects of one namespace; `kind/name` items keep a name from ever reading as an option."""
        return ["annotate", "--overwrite", "-n", refs[0].namespace,
                *[f"{resource_name(r.kind)}/{r.name}" for r in refs],
                *[f"{key}={value}" for key in (RECONCILE_ANNOTATION, *also)]]

    def request_reconcile(self, refs, value, also=()):
        """Set reconcile.fluxcd.io/requestedAt=value (and the annotations `also`, e.g.
        resetAt) on `refs` (one namespace and kind): the protocol `flux reconcile` uses."""
        return self.run(*self.annotate_args(refs, value, also))

    # --- watches (reconcile only) ---------------------------------------------------
    def watch_argv(self, path, resource_version=None):
        """`kubectl get --raw 'PATH?watch=1…'`: the API server's watch as one JSON event per
        line, resumable from `resource_version` (no discovery round trips, unlike `get -w`)."""
        query = "watch=1&allowWatchBookmarks=true"
        if resource_version:
            query += f"&resourceVersion={resource_version}"
        return self.argv("get", "--raw", f"{path}?{query}")

    def watch(self, path, resource_version, on_line):
        """Start the watch of `path` in the background; each stdout line goes to
        on_line(line). Returns the runner.Stream (stop(), wait(), exit_code, stderr)."""
        return self._stream(self.watch_argv(path, resource_version), on_line)

    def proxy(self, on_line, on_exit=None):
        """Start `kubectl proxy` on a free port of 127.0.0.1 in the background (the user's
        kubeconfig and credentials); it prints `Starting to serve on HOST:PORT` to
        on_line. Returns the runner.Stream."""
        return self._stream(self.argv("proxy", "--port=0", "--address=127.0.0.1"), on_line, on_exit)

    # --- offline (--path) -------------------------------------------------------------
    def kustomize(self, folder, timeout):
        """`kubectl kustomize FOLDER` as text: a local build, no cluster and no global flags."""
        argv = [self.opts.kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", folder]
        return self._run(argv, timeout=timeout).stdout


def parse_json(text, what):
    """kubectl's JSON output, or a ClusterError saying the server answered garbage."""
    try:
        return json.loads(text)
    except ValueError:
        raise ClusterError(f"kubectl printed something that is not JSON for '{what}'",
                           hint="the API server (or a proxy in front of it) answers garbage; "
                                "retry with --debug") from None


def list_items(doc):
    """The object dicts of a kubectl List (a single object counts as a list of one)."""
    if not isinstance(doc, dict):
        return []
    items = doc.get("items", [doc] if doc.get("kind") else [])
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def error_lines(stderr):
    """kubectl's error lines, without its klog chatter and the server's warnings."""
    return [line.strip() for line in (stderr or "").splitlines()
            if line.strip() and not _NOISE.match(line.strip())]


def _only_explained_errors(stderr):
    """True when every error line is a per-kind refusal we handle: a kind the server does
    not serve (Flux partly installed) or a Forbidden list (RBAC fallback)."""
    lines = error_lines(stderr)
    return bool(lines) and all(_FORBIDDEN.search(line) or _NO_TYPE.search(line) for line in lines)


# First match wins: the specific before the generic. (pattern, what, hint, transient)
_HINTS = [
    (re.compile(r"context was not found|no context exists with the name", re.I),
     "the context does not exist", "list contexts with: kubectl config get-contexts", False),
    (re.compile(r"error loading config file|stat .*: no such file or directory|"
                r"invalid configuration|no configuration has been provided|"
                r"The connection to the server localhost:8080", re.I),
     "kubectl has no usable kubeconfig", "set KUBECONFIG or pass --kubeconfig", False),
    (re.compile(r"Unauthorized|You must be logged in|provide credentials", re.I),
     "the cluster rejected your credentials (Unauthorized)", "refresh your credentials and retry", False),
    (re.compile(r"serializer for \S+ doesn't exist|unable to decode|invalid character .* looking for|"
                r"the server could not find the requested resource", re.I),
     "the API server answered something that is not a Kubernetes API response",
     "check the server URL of the context; a proxy or load balancer may be answering", False),
    (re.compile(r"error from a previous attempt: (?:EOF|.*connection reset)|connection reset by peer|"
                r"unexpected EOF|: EOF$", re.I | re.M),
     "the API server closed the connection without answering",
     "retry; check the API server's health and any proxy in front of it", True),
    (re.compile(r"connection refused|no such host|dial tcp|i/o timeout|connect: |"
                r"network is unreachable", re.I),
     "cannot reach the API server", "check --context/--kubeconfig and that the cluster is up", True),
    (re.compile(r"Client.Timeout|context deadline exceeded|timeout awaiting|Timeout exceeded", re.I),
     "the API server did not answer in time", "raise --request-timeout, or check the cluster", True),
    (re.compile(r"\(Forbidden\)", re.I), "forbidden", "ask your cluster admin for read access", False),
    (re.compile(r"\((?:InternalError|ServiceUnavailable|Timeout|TooManyRequests)\)|"
                r"status code 5\d\d|Internal error", re.I),
     "the API server returned an internal error", "retry; check the API server's health", True),
]


def cluster_error(exc: CommandFailed):
    """Turn a failed kubectl call into a one-line ClusterError with a hint."""
    stderr = runner.redact(exc.stderr or "")
    lines = error_lines(stderr)
    detail = lines[-1] if lines else f"exit {exc.returncode}"
    detail = re.sub(r"^error: ", "", detail)
    if len(detail) > 300:
        detail = detail[:297] + "..."
    for pattern, what, hint, transient in _HINTS:
        if pattern.search(stderr):
            # `what` already says what kind of refusal it is: keep the server's own words
            detail = re.sub(r"^Error from server \(\w+\): ", "", detail)
            return ClusterError(f"{what}: {detail}", hint=hint, transient=transient)
    return ClusterError(f"kubectl failed: {detail}", hint="rerun with --debug to see the command")


def kubectl_from_env(flag_value=None):
    return flag_value or os.environ.get("KUBECTL") or "kubectl"
