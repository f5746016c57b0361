"""An in-process Kubernetes API-server double that the real `kubectl` binary talks to.

Stdlib only.  It serves legacy and aggregated discovery, list/get/patch of a fixed
resource table (core Namespaces and Events, Flux CRDs), paging, field/label
selectors, watches (`?watch=1`, chunked JSON events resumable from a resourceVersion),
simulated RBAC denials and faults, and records every request.  A
simulated Flux controller (`FluxController`) can react to the
`reconcile.fluxcd.io/requestedAt` annotation the way kustomize-, helm- and
source-controller do, so an ordered reconciler can be tested end to end.

Typical use::

    with FakeApiServer([ks("apps", depends_on=["infra"]), ks("infra")], controller=True) as srv:
        run(["kubectl", "--server", srv.url, "get", "ks", "-A", "-o", "json"])
"""

from __future__ import annotations

import base64
import collections
import copy
import datetime as _dt
import heapq
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, unquote, urlsplit

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
RESET_AT = "reconcile.fluxcd.io/resetAt"
FORCE_AT = "reconcile.fluxcd.io/forceAt"
TEST_DELAY = "depgraph.test/delay"
TEST_OUTCOME = "depgraph.test/outcome"
TEST_REASON = "depgraph.test/reason"
TEST_MESSAGE = "depgraph.test/message"
TEST_NEW_REVISION = "depgraph.test/new-revision"
# Seconds the simulated controller takes to remove the finalizers of a deleted object.
TEST_FINALIZE_DELAY = "depgraph.test/finalize-delay"

KS_GROUP = "kustomize.toolkit.fluxcd.io"
HELM_GROUP = "helm.toolkit.fluxcd.io"
SOURCE_GROUP = "source.toolkit.fluxcd.io"
# Groups a test serves only when it asks for them (CROSS_KIND_GROUPS): kinds that cross-kind
# dependsOn entries name (a CRD, a Deployment), flux-operator and tofu-controller.
APIEXT_GROUP = "apiextensions.k8s.io"
APPS_GROUP = "apps"
OPERATOR_GROUP = "fluxcd.controlplane.io"
TOFU_GROUP = "infra.contrib.fluxcd.io"


# --------------------------------------------------------------------------- resource table


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for core
    kind: str
    plural: str
    singular: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = True

    @property
    def qualified(self) -> str:
        """`plural.group` as the API server names it in messages (`events` for core)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType("", "Namespace", "namespaces", "namespace", namespaced=False, short_names=("ns",)),
    ResourceType("", "Event", "events", "event", short_names=("ev",), status_subresource=False),
    ResourceType(KS_GROUP, "Kustomization", "kustomizations", "kustomization", short_names=("ks",),
                 categories=("all",)),
    ResourceType(HELM_GROUP, "HelmRelease", "helmreleases", "helmrelease", short_names=("hr",),
                 categories=("all",)),
    ResourceType(SOURCE_GROUP, "GitRepository", "gitrepositories", "gitrepository",
                 short_names=("gitrepo",), categories=("all",)),
    ResourceType(SOURCE_GROUP, "HelmRepository", "helmrepositories", "helmrepository",
                 short_names=("helmrepo",), categories=("all",)),
    ResourceType(SOURCE_GROUP, "HelmChart", "helmcharts", "helmchart", short_names=("hc",),
                 categories=("all",)),
    ResourceType(SOURCE_GROUP, "Bucket", "buckets", "bucket", categories=("all",)),
    ResourceType(SOURCE_GROUP, "OCIRepository", "ocirepositories", "ocirepository",
                 short_names=("ocirepo",), categories=("all",)),
    ResourceType(SOURCE_GROUP, "ExternalArtifact", "externalartifacts", "externalartifact",
                 categories=("all",)),
    ResourceType(APIEXT_GROUP, "CustomResourceDefinition", "customresourcedefinitions",
                 "customresourcedefinition", namespaced=False, short_names=("crd", "crds")),
    ResourceType(APPS_GROUP, "Deployment", "deployments", "deployment", short_names=("deploy",),
                 categories=("all",)),
    ResourceType(OPERATOR_GROUP, "ResourceSet", "resourcesets", "resourceset", short_names=("rset",)),
    ResourceType(TOFU_GROUP, "Terraform", "terraforms", "terraform", short_names=("tf",)),
)
_BY_KIND = {rt.kind: rt for rt in RESOURCE_TYPES}
_BY_PLURAL = {(rt.group, rt.plural): rt for rt in RESOURCE_TYPES}

#: group -> served versions, preferred first.  Core ("") is always v1.
DEFAULT_GROUPS: dict[str, list[str]] = {
    KS_GROUP: ["v1"],
    HELM_GROUP: ["v2"],
    SOURCE_GROUP: ["v1", "v1beta2"],
}
NO_FLUX: dict[str, list[str]] = {}
NO_HELM: dict[str, list[str]] = {KS_GROUP: ["v1"], SOURCE_GROUP: ["v1", "v1beta2"]}
OLD_FLUX: dict[str, list[str]] = {KS_GROUP: ["v1beta2"], HELM_GROUP: ["v2beta1"],
                                  SOURCE_GROUP: ["v1beta2"]}
#: Flux plus apps, CRDs, flux-operator's ResourceSets and tofu-controller's Terraforms.
CROSS_KIND_GROUPS: dict[str, list[str]] = {**DEFAULT_GROUPS, APPS_GROUP: ["v1"], APIEXT_GROUP: ["v1"],
                                           OPERATOR_GROUP: ["v1"], TOFU_GROUP: ["v1alpha2"]}

FLUX_COMPONENT = {KS_GROUP: "kustomize-controller", HELM_GROUP: "helm-controller",
                  SOURCE_GROUP: "source-controller", OPERATOR_GROUP: "flux-operator",
                  TOFU_GROUP: "tf-controller"}


def resource_for_kind(kind: str) -> ResourceType:
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise KeyError(f"kind {kind!r} is not in the FakeApiServer resource table") from None


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- RBAC and faults


@dataclass
class Forbid:
    """Deny `verbs` on `resource` (plural, e.g. "kustomizations", "events", "namespaces").

    namespaces=None: denied in every namespace; else only in those listed.
    except_namespaces: allowed there even when `namespaces` is None (a Role in a few namespaces).
    cluster_scope: also deny the request made without a namespace (`-A` lists, cluster-scoped kinds).
    """

    verbs: Iterable[str]
    resource: str
    namespaces: Iterable[str] | None = None
    except_namespaces: Iterable[str] = ()
    cluster_scope: bool = True

    def denies(self, verb: str, plural: str, namespace: str | None) -> bool:
        if plural != self.resource or (verb not in set(self.verbs) and "*" not in set(self.verbs)):
            return False
        if namespace is None:
            return self.cluster_scope
        if namespace in set(self.except_namespaces):
            return False
        return self.namespaces is None or namespace in set(self.namespaces)


@dataclass
class Fault:
    """A canned failure for requests whose path matches `pattern` (re.search on path?query).

    kind: "unauthorized" (401), "error" (status `code`, default 500, Status body),
    "garbage" (200 with a non-JSON body), "hang" (sleep `seconds` then answer normally),
    "forbidden" (403), "reset" (close the connection without answering).
    times: fail only the next N matching requests (None: forever).
    """

    pattern: str = ".*"
    kind: str = "error"
    code: int = 500
    message: str = ""
    seconds: float = 30.0
    times: int | None = None
    methods: Iterable[str] | None = None
    hits: int = 0

    def matches(self, method: str, target: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.methods is not None and method not in set(self.methods):
            return False
        return re.search(self.pattern, target) is not None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    time: float
    status: int = 0


# --------------------------------------------------------------------------- patches


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def json_patch(doc: Any, ops: list[dict]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, test, copy, move)."""
    doc = copy.deepcopy(doc)

    def parent(d, parts):
        for p in parts[:-1]:
            d = d[int(p)] if isinstance(d, list) else d[p]
        return d

    def get(d, parts):
        for p in parts:
            d = d[int(p)] if isinstance(d, list) else d[p]
        return d

    def add(d, parts, value):
        par, last = parent(d, parts), parts[-1]
        if isinstance(par, list):
            par.insert(len(par) if last == "-" else int(last), value)
        else:
            par[last] = value

    def remove(d, parts):
        par, last = parent(d, parts), parts[-1]
        return par.pop(int(last)) if isinstance(par, list) else par.pop(last)

    for op in ops:
        parts = _pointer(op["path"])
        name = op["op"]
        if name == "add":
            add(doc, parts, copy.deepcopy(op["value"]))
        elif name == "remove":
            remove(doc, parts)
        elif name == "replace":
            remove(doc, parts)
            add(doc, parts, copy.deepcopy(op["value"]))
        elif name == "test":
            if get(doc, parts) != op["value"]:
                raise ValueError(f"test operation failed at {op['path']}")
        elif name in ("copy", "move"):
            src = _pointer(op["from"])
            value = copy.deepcopy(get(doc, src))
            if name == "move":
                remove(doc, src)
            add(doc, parts, value)
        else:
            raise ValueError(f"unknown json patch op {name!r}")
    return doc


# --------------------------------------------------------------------------- selectors


def _field_value(obj: dict, path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    return str(cur).lower() if isinstance(cur, bool) else str(cur)


_EVENT_FIELDS = {
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
    "reason", "reportingComponent", "source", "type", "metadata.name", "metadata.namespace",
}
_GENERIC_FIELDS = {"metadata.name", "metadata.namespace"}


def parse_field_selector(selector: str, rt: ResourceType) -> list[tuple[str, str, str]]:
    """[(field, op, value)], op in {"=", "!="}; raises ValueError with the server's message."""
    terms = []
    allowed = _EVENT_FIELDS if rt.kind == "Event" else _GENERIC_FIELDS
    if rt.kind == "Namespace":
        allowed = {"metadata.name", "status.phase"}
    for raw in filter(None, (t.strip() for t in selector.split(","))):
        m = re.match(r"^([^!=]+?)\s*(==|!=|=)\s*(.*)$", raw)
        if not m:
            raise ValueError(f"invalid selector: '{selector}'; can't understand '{raw}'")
        key, op, value = m.group(1), m.group(2), m.group(3)
        if key not in allowed:
            raise ValueError(f'field label not supported: {key}')
        terms.append((key, "!=" if op == "!=" else "=", value))
    return terms


def field_selector_matches(obj: dict, terms: list[tuple[str, str, str]]) -> bool:
    for key, op, value in terms:
        if key == "source":
            actual = _field_value(obj, "source.component")
        else:
            actual = _field_value(obj, key)
        if (actual == value) != (op == "="):
            return False
    return True


def parse_label_selector(selector: str) -> list[tuple[str, str, list[str]]]:
    """[(key, op, values)] with op in =, !=, in, notin, exists, !exists."""
    terms: list[tuple[str, str, list[str]]] = []
    # split on commas that are not inside parentheses
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for raw in filter(None, (p.strip() for p in parts)):
        m = re.match(r"^(\S+)\s+(in|notin)\s+\((.*)\)$", raw)
        if m:
            terms.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",")]))
            continue
        m = re.match(r"^([^!=]+?)\s*(==|!=|=)\s*(.*)$", raw)
        if m:
            terms.append((m.group(1), "!=" if m.group(2) == "!=" else "=", [m.group(3)]))
        elif raw.startswith("!"):
            terms.append((raw[1:], "!exists", []))
        else:
            terms.append((raw, "exists", []))
    return terms


def label_selector_matches(obj: dict, terms) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, values in terms:
        present = key in labels
        val = labels.get(key)
        if op == "=":
            ok = present and val == values[0]
        elif op == "!=":
            ok = not present or val != values[0]
        elif op == "in":
            ok = present and val in values
        elif op == "notin":
            ok = not present or val not in values
        elif op == "exists":
            ok = present
        else:
            ok = not present
        if not ok:
            return False
    return True


# --------------------------------------------------------------------------- status helpers


def condition(obj: dict, ctype: str) -> dict | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def set_condition(obj: dict, ctype: str, status: str, reason: str, message: str) -> None:
    st = obj.setdefault("status", {})
    conds = st.setdefault("conditions", [])
    gen = (obj.get("metadata") or {}).get("generation", 1)
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = _now_iso()
            c.update(status=status, reason=reason, message=message, observedGeneration=gen)
            return
    conds.append({"type": ctype, "status": status, "reason": reason, "message": message,
                  "observedGeneration": gen, "lastTransitionTime": _now_iso()})


def remove_condition(obj: dict, ctype: str) -> None:
    st = obj.get("status") or {}
    if "conditions" in st:
        st["conditions"] = [c for c in st["conditions"] if c.get("type") != ctype]


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class Change:
    """One write, as watches see it: the object after it and the one before (None if new)."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: tuple[str, str, str, str]
    obj: dict
    prev: dict | None


class Store:
    """Objects keyed by (group, plural, namespace or "", name).  All access under `lock`.

    Every write goes through save()/drop(), which give the object a new resourceVersion and
    append a Change to `history` (what watches replay and follow); `changed` is notified."""

    HISTORY = 20000

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.objects: dict[tuple[str, str, str, str], dict] = {}
        self._rv = itertools.count(1000)
        self.resource_version = "1000"
        self.history: collections.deque[Change] = collections.deque()
        self.compacted = 0   # changes at or below this resourceVersion are gone (410 to watch)
        self._last: dict[tuple[str, str, str, str], dict] = {}   # snapshot as of its last Change
        self.closed = False

    def next_rv(self) -> str:
        self.resource_version = str(next(self._rv))
        return self.resource_version

    def save(self, key: tuple[str, str, str, str], obj: dict) -> dict:
        """Store `obj` (new, replaced, or mutated in place) under a new resourceVersion."""
        with self.lock:
            etype = "MODIFIED" if key in self.objects else "ADDED"
            obj.setdefault("metadata", {})["resourceVersion"] = self.next_rv()
            self.objects[key] = obj
            self._record(etype, key, obj)
            return obj

    def drop(self, key: tuple[str, str, str, str]) -> dict | None:
        with self.lock:
            obj = self.objects.pop(key, None)
            if obj is not None:
                obj["metadata"]["resourceVersion"] = self.next_rv()
                self._record("DELETED", key, obj)
            return obj

    def _record(self, etype: str, key, obj: dict) -> None:
        snap = copy.deepcopy(obj)
        prev = self._last.pop(key, None) if etype == "DELETED" else self._last.get(key)
        if etype != "DELETED":
            self._last[key] = snap
        if len(self.history) >= self.HISTORY:
            self.compacted = self.history.popleft().rv
        self.history.append(Change(int(snap["metadata"]["resourceVersion"]), etype, key, snap, prev))
        self.changed.notify_all()

    def compact(self) -> None:
        """Forget the history (like etcd compaction): watches from older versions get 410."""
        with self.lock:
            self.history.clear()
            self.compacted = int(self.resource_version)

    def since(self, rv: int) -> list[Change]:
        """Changes after `rv`, oldest first (lock held)."""
        out = []
        for change in reversed(self.history):
            if change.rv <= rv:
                break
            out.append(change)
        out.reverse()
        return out

    def close(self) -> None:
        """End every watch (server stopping)."""
        with self.lock:
            self.closed = True
            self.changed.notify_all()

    @staticmethod
    def key(rt: ResourceType, namespace: str | None, name: str) -> tuple[str, str, str, str]:
        return (rt.group, rt.plural, (namespace or "") if rt.namespaced else "", name)


# --------------------------------------------------------------------------- the server


class FakeApiServer:
    """A Kubernetes API server double on 127.0.0.1 (see module docstring).

    objects: dicts with apiVersion/kind/metadata (any kind in RESOURCE_TYPES).
    git_version: what `/version` reports (the gcloud kubectl dispatcher picks its binary by it).
    groups: {group: [versions, preferred first]} of installed API groups (DEFAULT_GROUPS,
        NO_FLUX, NO_HELM, OLD_FLUX, or your own).  Core v1 is always served.
    aggregated_discovery: serve `apidiscovery.k8s.io` v2/v2beta1 when asked (else legacy only).
    forbid: list of Forbid rules; user: the user name in 403 messages.
    faults: list of Fault.
    auto_namespaces: create a Namespace object for every namespace used by `objects`.
    controller: run a FluxController; controller_options are passed to it.
    """

    def __init__(
        self,
        objects: Iterable[dict] = (),
        *,
        git_version: str = "v1.32.4",
        groups: dict[str, list[str]] | None = None,
        aggregated_discovery: bool = True,
        forbid: Iterable[Forbid] = (),
        user: str = "jane",
        faults: Iterable[Fault] = (),
        auto_namespaces: bool = True,
        controller: bool = False,
        controller_options: dict | None = None,
        port: int = 0,
    ) -> None:
        self.git_version = git_version
        self.groups = copy.deepcopy(DEFAULT_GROUPS if groups is None else groups)
        self.aggregated_discovery = aggregated_discovery
        self.forbid: list[Forbid] = list(forbid)
        self.user = user
        self.faults: list[Fault] = list(faults)
        self.store = Store()
        self.requests: list[RecordedRequest] = []
        self._log_lock = threading.Lock()
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._hang_release = threading.Event()
        objects = list(objects)
        if auto_namespaces:
            names = {"default"}
            for o in objects:
                ns = (o.get("metadata") or {}).get("namespace")
                if ns and o.get("kind") != "Namespace":
                    names.add(ns)
            have = {o["metadata"]["name"] for o in objects if o.get("kind") == "Namespace"}
            objects = [namespace_obj(n) for n in sorted(names - have)] + objects
        for o in objects:
            self.set_object(o)
        self.controller: FluxController | None = None
        if controller:
            self.controller = FluxController(self, **(controller_options or {}))

    # ---- lifecycle

    def start(self) -> "FakeApiServer":
        server = self

        class Handler(_Handler):
            api = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="fake-apiserver", daemon=True)
        self._thread.start()
        if self.controller:
            self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
        self.store.close()
        self._hang_release.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- configuration at run time

    def add_fault(self, pattern: str = ".*", kind: str = "error", **kw) -> Fault:
        f = Fault(pattern=pattern, kind=kind, **kw)
        self.faults.append(f)
        return f

    def fail_next(self, n: int, kind: str = "error", pattern: str = ".*", **kw) -> Fault:
        """Fail the next `n` requests matching `pattern`, then recover."""
        return self.add_fault(pattern, kind, times=n, **kw)

    def clear_faults(self) -> None:
        self.faults.clear()

    # ---- Python API on the store

    def set_object(self, obj: dict) -> dict:
        """Insert or replace an object (fills uid, creationTimestamp, generation, resourceVersion)."""
        obj = copy.deepcopy(obj)
        rt = resource_for_kind(obj["kind"])
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        with self.store.lock:
            key = Store.key(rt, meta.get("namespace"), meta["name"])
            old = self.store.objects.get(key)
            meta.setdefault("uid", (old or {}).get("metadata", {}).get("uid") or str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", _now_iso())
            if rt.group:
                meta.setdefault("generation", 1)
            self.store.save(key, obj)
        return copy.deepcopy(obj)

    def get_object(self, kind: str, namespace: str | None, name: str) -> dict | None:
        rt = resource_for_kind(kind)
        with self.store.lock:
            obj = self.store.objects.get(Store.key(rt, namespace, name))
            return copy.deepcopy(obj) if obj else None

    def delete_object(self, kind: str, namespace: str | None, name: str) -> bool:
        rt = resource_for_kind(kind)
        return self.store.drop(Store.key(rt, namespace, name)) is not None

    def update_status(self, kind: str, namespace: str | None, name: str,
                      fn: Callable[[dict], Any]) -> dict:
        """Call fn(obj) on the stored object under the lock (fn mutates it); bumps resourceVersion."""
        rt = resource_for_kind(kind)
        with self.store.lock:
            key = Store.key(rt, namespace, name)
            obj = self.store.objects[key]
            fn(obj)
            return copy.deepcopy(self.store.save(key, obj))

    def objects(self, kind: str | None = None, namespace: str | None = None) -> list[dict]:
        with self.store.lock:
            out = [copy.deepcopy(o) for o in self.store.objects.values()
                   if (kind is None or o["kind"] == kind)
                   and (namespace is None or o["metadata"].get("namespace") == namespace)]
        return sorted(out, key=_sort_key)

    def events_for(self, kind: str, namespace: str, name: str) -> list[dict]:
        return [e for e in self.objects("Event", namespace)
                if e["involvedObject"].get("kind") == kind and e["involvedObject"].get("name") == name]

    # ---- request log

    def _record(self, rec: RecordedRequest) -> None:
        with self._log_lock:
            self.requests.append(rec)

    def writes(self) -> list[RecordedRequest]:
        """Every non-GET request (PATCH, PUT, POST, DELETE), in order."""
        with self._log_lock:
            return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    def requests_matching(self, method: str | None = None, path: str | None = None,
                          **query: str) -> list[RecordedRequest]:
        """Requests with that method, whose path matches the regex `path` (re.search),
        and whose query has the given values (`fieldSelector=...`)."""
        with self._log_lock:
            reqs = list(self.requests)
        return [r for r in reqs
                if (method is None or r.method == method)
                and (path is None or re.search(path, r.path))
                and all(r.query.get(k) == v for k, v in query.items())]

    def clear_log(self) -> None:
        with self._log_lock:
            self.requests.clear()

    # ---- internals used by the handler

    def served(self, group: str, version: str) -> bool:
        if group == "":
            return version == "v1"
        return version in self.groups.get(group, [])

    def resources_of(self, group: str) -> list[ResourceType]:
        return [rt for rt in RESOURCE_TYPES if rt.group == group]

    def denied(self, verb: str, rt: ResourceType, namespace: str | None) -> bool:
        return any(f.denies(verb, rt.plural, namespace) for f in self.forbid)


def namespace_obj(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def _sort_key(o: dict) -> tuple[str, str]:
    m = o.get("metadata") or {}
    return (m.get("namespace") or "", m.get("name") or "")


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details is not None:
        body["details"] = details
    return body


class _HttpError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.body = status_body(code, reason, message, details)
        self.code = code


# --------------------------------------------------------------------------- HTTP handler

_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]


class _Handler(BaseHTTPRequestHandler):
    api: FakeApiServer
    protocol_version = "HTTP/1.1"
    # Go's net/http (the real API server) sets TCP_NODELAY; without it every response
    # written as headers + body stalls ~40 ms on delayed ACKs.
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:  # silence stderr
        pass

    # every method goes through _dispatch
    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # ---- plumbing

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._status = code

    def _dispatch(self, method: str) -> None:
        self._status = 0
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("latin-1")
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("accept", "content-type", "user-agent", "authorization",
                                    "kubectl-command", "kubectl-session")}
        rec = RecordedRequest(method, path, query, headers, body, time.time())
        self.api._record(rec)
        try:
            if self._apply_fault(method, path, split.query):
                return
            self._route(method, path, query, raw, body)
        except _HttpError as e:
            self._send(e.code, e.body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # a bug in the double: make it visible as a 500
            import traceback
            traceback.print_exc()
            self._send(500, status_body(500, "InternalError", f"fake apiserver bug: {e!r}"))
        finally:
            rec.status = self._status

    def _apply_fault(self, method: str, path: str, qs: str) -> bool:
        target = f"{path}?{qs}" if qs else path
        fault = None
        with self.api._log_lock:
            for f in self.api.faults:
                if f.matches(method, target):
                    f.hits += 1
                    fault = f
                    break
        if fault is None:
            return False
        if fault.kind == "hang":
            self.api._hang_release.wait(fault.seconds)
            return False  # answer normally afterwards (if the client is still there)
        if fault.kind == "unauthorized":
            self._send(401, status_body(401, "Unauthorized", fault.message or "Unauthorized"))
        elif fault.kind == "forbidden":
            self._send(403, status_body(403, "Forbidden", fault.message or "forbidden"))
        elif fault.kind == "garbage":
            self._send(200, b"<html><body>502 Bad Gateway: this is not JSON</body></html>",
                       "text/html")
        elif fault.kind == "reset":
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
        else:
            reason = {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests",
                      504: "Timeout"}.get(fault.code, "InternalError")
            msg = fault.message or "an error on the server (\"etcdserver: request timed out\") " \
                                   "has prevented the request from succeeding"
            self._send(fault.code, status_body(fault.code, reason, msg))
        return True

    # ---- routing

    def _route(self, method, path, query, raw, body) -> None:
        api = self.api
        parts = [unquote(p) for p in path.strip("/").split("/")] if path != "/" else []
        if path == "/version":
            return self._send(200, self._version())
        if path in ("/healthz", "/livez", "/readyz"):
            return self._send(200, b"ok", "text/plain")
        if path.startswith("/openapi"):
            raise _HttpError(404, "NotFound", "the server could not find the requested resource")
        if path == "/api":
            if self._wants_aggregated():
                return self._aggregated([""])
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"],
                                    "serverAddressByClientCIDRs": [
                                        {"clientCIDR": "0.0.0.0/0",
                                         "serverAddress": f"127.0.0.1:{api.port}"}]})
        if path == "/apis":
            if self._wants_aggregated():
                return self._aggregated([g for g in api.groups if api.groups[g]])
            return self._send(200, self._group_list())
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts and parts[0] == "apis" and len(parts) >= 2:
            group = parts[1]
            if len(parts) == 2:
                if not api.groups.get(group):
                    raise _HttpError(404, "NotFound", "the server could not find the requested resource")
                return self._send(200, self._group(group))
            version, rest = parts[2], parts[3:]
            if not api.served(group, version):
                raise _HttpError(404, "NotFound", "the server could not find the requested resource")
        else:
            raise _HttpError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self._send(200, self._resource_list(group, version))
        # namespaced paths: namespaces/<ns>/<plural>[/<name>[/<sub>]]
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), \
            (rest[2] if len(rest) > 2 else None)
        rt = _BY_PLURAL.get((group, plural))
        if rt is None or (namespace is not None and not rt.namespaced):
            raise _HttpError(404, "NotFound", "the server could not find the requested resource")
        if sub not in (None, "status") or (sub == "status" and not rt.status_subresource):
            raise _HttpError(404, "NotFound", "the server could not find the requested resource")
        self._resource(method, group, version, rt, namespace, name, sub, query, raw, body)

    def _wants_aggregated(self) -> bool:
        if not self.api.aggregated_discovery:
            return False
        return "as=APIGroupDiscoveryList" in (self.headers.get("Accept") or "")

    # ---- discovery documents

    def _version(self) -> dict:
        m = re.match(r"v(\d+)\.(\d+)", self.api.git_version)
        major, minor = (m.group(1), m.group(2)) if m else ("1", "32")
        return {"major": major, "minor": minor, "gitVersion": self.api.git_version,
                "gitCommit": "0" * 40, "gitTreeState": "clean",
                "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0",
                "compiler": "gc", "platform": "linux/amd64"}

    def _group(self, group: str) -> dict:
        versions = self.api.groups[group]
        gv = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": gv,
                "preferredVersion": gv[0]}

    def _group_list(self) -> dict:
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [self._group(g) for g in sorted(self.api.groups) if self.api.groups[g]]}

    def _resource_list(self, group: str, version: str) -> dict:
        res = []
        for rt in self.api.resources_of(group):
            entry = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                     "kind": rt.kind, "verbs": list(_VERBS)}
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            if group:
                entry["storageVersionHash"] = base64.b64encode(rt.plural.encode()).decode()[:12]
            res.append(entry)
            if rt.status_subresource:
                res.append({"name": f"{rt.plural}/status", "singularName": "", "namespaced": rt.namespaced,
                            "kind": rt.kind, "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": res}

    def _aggregated(self, groups: list[str]) -> None:
        accept = self.headers.get("Accept") or ""
        dversion = "v2" if "v=v2;" in accept or accept.endswith("v=v2") else "v2beta1"
        if "g=apidiscovery.k8s.io;v=v2;" not in accept and "v=v2beta1" in accept:
            dversion = "v2beta1"
        items = []
        for g in groups:
            versions = ["v1"] if g == "" else self.api.groups[g]
            vitems = []
            for v in versions:
                resources = []
                for rt in self.api.resources_of(g):
                    r = {"resource": rt.plural,
                         "responseKind": {"group": g, "version": v, "kind": rt.kind},
                         "scope": "Namespaced" if rt.namespaced else "Cluster",
                         "singularResource": rt.singular, "verbs": list(_VERBS)}
                    if rt.short_names:
                        r["shortNames"] = list(rt.short_names)
                    if rt.categories:
                        r["categories"] = list(rt.categories)
                    if rt.status_subresource:
                        r["subresources"] = [{"subresource": "status",
                                              "responseKind": {"group": g, "version": v,
                                                               "kind": rt.kind},
                                              "verbs": ["get", "patch", "update"]}]
                    resources.append(r)
                vitems.append({"version": v, "resources": resources, "freshness": "Current"})
            items.append({"metadata": {"name": g, "creationTimestamp": None}, "versions": vitems})
        ctype = f"application/json;g=apidiscovery.k8s.io;v={dversion};as=APIGroupDiscoveryList"
        self._send(200, {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{dversion}",
                         "metadata": {}, "items": items}, ctype)

    # ---- resources

    def _forbidden(self, verb: str, rt: ResourceType, namespace: str | None, name: str | None):
        subject = f'{rt.qualified} "{name}"' if name else rt.qualified
        scope = f'in the namespace "{namespace}"' if namespace is not None else "at the cluster scope"
        msg = (f'{subject} is forbidden: User "{self.api.user}" cannot {verb} resource '
               f'"{rt.plural}" in API group "{rt.group}" {scope}')
        details = {"group": rt.group, "kind": rt.plural}
        if name:
            details = {"name": name, **details}
        raise _HttpError(403, "Forbidden", msg, details)

    def _not_found(self, rt: ResourceType, name: str):
        raise _HttpError(404, "NotFound", f'{rt.qualified} "{name}" not found',
                         {"name": name, "group": rt.group, "kind": rt.plural})

    def _serve(self, obj: dict, version: str) -> dict:
        out = copy.deepcopy(obj)
        rt = _BY_KIND[out["kind"]]
        out["apiVersion"] = f"{rt.group}/{version}" if rt.group else version
        return out

    def _resource(self, method, group, version, rt, namespace, name, sub, query, raw, body):
        api = self.api
        if method in ("GET", "HEAD") and name is None:
            verb = "watch" if query.get("watch") in ("1", "true") else "list"
        else:
            verb = {"GET": "get", "HEAD": "get", "PATCH": "patch", "PUT": "update",
                    "POST": "create", "DELETE": "delete"}[method]
        if rt.namespaced is False:
            namespace = None
        if api.denied(verb, rt, namespace):
            self._forbidden(verb, rt, namespace, name)
        if verb == "watch":
            return self._watch(rt, version, namespace, query)
        if verb == "list":
            return self._list(rt, version, namespace, query)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if method in ("PATCH", "PUT", "POST") and "protobuf" in ctype:
            raise _HttpError(415, "UnsupportedMediaType",
                             f'the body of the request was in an unknown format - accepted media '
                             f'types include: application/json, application/yaml')
        if verb == "create":
            return self._create(rt, version, namespace, body, query)
        if rt.namespaced and namespace is None:
            raise _HttpError(404, "NotFound", "the server could not find the requested resource")
        with api.store.lock:
            key = Store.key(rt, namespace, name)
            obj = api.store.objects.get(key)
            if obj is None:
                self._not_found(rt, name)
            if verb == "get":
                return self._send(200, self._serve(obj, version))
            if verb == "delete":
                if obj["metadata"].get("finalizers"):
                    # As the API server does: mark it, keep it until its finalizers are gone.
                    if not obj["metadata"].get("deletionTimestamp"):
                        obj = copy.deepcopy(obj)
                        obj["metadata"]["deletionTimestamp"] = _now_iso()
                        obj = api.store.save(key, obj)
                        if api.controller:
                            api.controller.finalize(rt.kind, namespace, name)
                    return self._send(200, self._serve(obj, version))
                api.store.drop(key)
                if api.controller:
                    api.controller.gone(rt.kind, namespace, name)
                return self._send(200, self._serve(obj, version))
            if verb == "patch":
                if ctype == "application/json-patch+json":
                    try:
                        new = json_patch(self._serve(obj, version), body)
                    except (ValueError, KeyError, IndexError, TypeError) as e:
                        raise _HttpError(422, "Invalid", f"the server rejected our request due to "
                                                         f"an error in our request: {e}") from None
                elif ctype in ("application/merge-patch+json",
                               "application/strategic-merge-patch+json",
                               "application/apply-patch+yaml"):
                    if not isinstance(body, dict):
                        raise _HttpError(400, "BadRequest", "invalid JSON in merge patch")
                    new = merge_patch(self._serve(obj, version), body)
                else:
                    raise _HttpError(415, "UnsupportedMediaType",
                                     f"the body of the request was in an unknown format - accepted "
                                     f"media types include: application/json-patch+json, "
                                     f"application/merge-patch+json, application/apply-patch+yaml")
            else:  # update
                if not isinstance(body, dict):
                    raise _HttpError(400, "BadRequest", "the body of the request was not an object")
                new = copy.deepcopy(body)
            dry_run = "dryRun" in query
            stored = self._commit(rt, obj, new, sub, dry_run)
            self._send(200, self._serve(stored, version))
        if api.controller and not dry_run:
            api.controller.notify(rt.kind, namespace, name)

    def _commit(self, rt, old: dict, new: dict, sub: str | None, dry_run: bool) -> dict:
        """Apply the status-subresource rules, generation and resourceVersion; store."""
        api = self.api
        new["kind"] = old["kind"]
        meta = new.setdefault("metadata", {})
        for f in ("name", "namespace", "uid", "creationTimestamp", "generation"):
            if f in old["metadata"]:
                meta[f] = old["metadata"][f]
        if rt.status_subresource and rt.group:
            if sub == "status":
                new = {**copy.deepcopy(old), "status": new.get("status", {})}
            elif "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        if rt.group and new.get("spec") != old.get("spec"):
            new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        if dry_run:
            return new
        return api.store.save(Store.key(rt, old["metadata"].get("namespace"), old["metadata"]["name"]), new)

    def _create(self, rt, version, namespace, body, query):
        if not isinstance(body, dict):
            raise _HttpError(400, "BadRequest", "the body of the request was not an object")
        meta = body.setdefault("metadata", {})
        if rt.namespaced:
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        name = meta.get("name")
        if not name:
            raise _HttpError(422, "Invalid", f"{rt.kind} is invalid: metadata.name: Required value")
        if self.api.get_object(rt.kind, meta.get("namespace"), name) is not None:
            raise _HttpError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists',
                             {"name": name, "group": rt.group, "kind": rt.plural})
        body["kind"] = rt.kind
        stored = body if "dryRun" in query else self.api.set_object(body)
        self._send(201, self._serve(stored, version))

    def _list(self, rt: ResourceType, version: str, namespace: str | None, query: dict) -> None:
        api = self.api
        try:
            fterms = parse_field_selector(query.get("fieldSelector", ""), rt)
        except ValueError as e:
            raise _HttpError(400, "BadRequest", str(e)) from None
        lterms = parse_label_selector(query.get("labelSelector", ""))
        with api.store.lock:
            items = [o for k, o in api.store.objects.items()
                     if k[0] == rt.group and k[1] == rt.plural
                     and (namespace is None or k[2] == namespace)]
            items.sort(key=_sort_key)
            items = [o for o in items
                     if field_selector_matches(o, fterms) and label_selector_matches(o, lterms)]
            rv = api.store.resource_version
            page, meta = self._page(items, query, rv)
            page = [self._serve(o, version) for o in page]  # copy only what is sent
        self._send(200, {"kind": f"{rt.kind}List",
                         "apiVersion": f"{rt.group}/{version}" if rt.group else version,
                         "metadata": meta, "items": page})

    def _watch(self, rt: ResourceType, version: str, namespace: str | None, query: dict) -> None:
        """Stream `{"type", "object"}` lines (chunked) like the API server's JSON watch.

        No resourceVersion (or "0"): synthetic ADDED events for what exists, then changes.
        A resourceVersion: every change after it (410 Gone as an ERROR event when it was
        compacted away).  Selectors are applied to the object before and after each change,
        so an object leaving the selection is DELETED.  Ends at timeoutSeconds."""
        store = self.api.store
        try:
            fterms = parse_field_selector(query.get("fieldSelector", ""), rt)
        except ValueError as e:
            raise _HttpError(400, "BadRequest", str(e)) from None
        lterms = parse_label_selector(query.get("labelSelector", ""))
        rv_text = query.get("resourceVersion", "")
        try:
            position = int(rv_text) if rv_text not in ("", "0") else None
        except ValueError:
            raise _HttpError(400, "BadRequest", f'invalid resource version "{rv_text}"') from None
        try:
            timeout = float(query.get("timeoutSeconds") or 1800)
        except ValueError:
            raise _HttpError(400, "BadRequest", "invalid timeoutSeconds") from None
        deadline = time.monotonic() + timeout

        def selected(obj: dict | None, key) -> bool:
            return obj is not None and key[0] == rt.group and key[1] == rt.plural \
                and (namespace is None or key[2] == namespace) \
                and field_selector_matches(obj, fterms) and label_selector_matches(obj, lterms)

        events: list[tuple[str, dict]] = []
        with store.lock:
            if position is None:
                position = int(store.resource_version)
                events = [("ADDED", copy.deepcopy(o)) for k, o in sorted(
                    store.objects.items(), key=lambda kv: _sort_key(kv[1])) if selected(o, k)]
            elif position < store.compacted:
                events = [("ERROR", status_body(410, "Expired", f"too old resource version: "
                                                                f"{position} ({store.compacted + 1})"))]
                deadline = 0.0
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self._status = 200
        while True:
            for etype, obj in events:
                if etype != "ERROR":
                    obj = self._serve(obj, version)
                line = json.dumps({"type": etype, "object": obj}).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            events = []
            with store.changed:
                while True:
                    left = deadline - time.monotonic()
                    changes = store.since(position)
                    if changes or store.closed or left <= 0:
                        break
                    store.changed.wait(min(left, 1.0))
                if not changes:
                    break
                if position < store.compacted:   # fell behind a compaction
                    events = [("ERROR", status_body(410, "Expired", "too old resource version"))]
                    deadline = 0.0
                    continue
            for change in changes:
                position = change.rv
                now = change.type != "DELETED" and selected(change.obj, change.key)
                before = selected(change.prev, change.key)
                if now:
                    events.append(("MODIFIED" if before else "ADDED", change.obj))
                elif before:
                    events.append(("DELETED", change.obj))
        self.wfile.write(b"0\r\n\r\n")
        if store.closed:
            self.close_connection = True

    @staticmethod
    def _page(items: list, query: dict, rv: str) -> tuple[list, dict]:
        """(items of this page, list metadata) for limit/continue."""
        start = 0
        if query.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(query["continue"].encode()))
                start, rv = int(token["start"]), token["rv"]
            except (ValueError, KeyError, TypeError):
                raise _HttpError(400, "BadRequest", "continue key is not valid: illegal base64 "
                                                    "data") from None
        limit = int(query.get("limit") or 0)
        meta: dict[str, Any] = {"resourceVersion": rv}
        if limit > 0 and start + limit < len(items):
            page = items[start:start + limit]
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"start": start + limit, "rv": rv}).encode()).decode()
            meta["remainingItemCount"] = len(items) - start - limit
        else:
            page = items[start:]
        return page, meta


# --------------------------------------------------------------------------- the Flux controller


@dataclass
class ObjectBehaviour:
    delay: float | None = None
    outcome: str | None = None  # ready | fail | never
    reason: str | None = None
    message: str | None = None
    new_revision: str | None = None


@dataclass
class Handling:
    """One pass of the controller over an object."""

    kind: str
    namespace: str
    name: str
    start: float
    end: float | None = None
    result: str = "running"  # running | ready | failed | dependency-not-ready | suspended
    requested_at: str | None = None
    trigger: str = "request"  # request | requeue | generation


_DEPENDENT_KINDS = ("Kustomization", "HelmRelease")
_SOURCE_KINDS = ("GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket",
                 "ExternalArtifact")


class FluxController:
    """Simulated kustomize-, helm- and source-controller inside a FakeApiServer.

    delay: default seconds between a new requestedAt and its outcome (per object:
        configure(..., delay=) or the `depgraph.test/delay` annotation).
    requeue_interval: scaled-down `--requeue-dependency` (real default 30s).
    requeue_text: the interval as printed in messages ("30s", like the real default).
    """

    def __init__(self, server: FakeApiServer, *, delay: float = 0.05, requeue_interval: float = 0.5,
                 requeue_text: str = "30s") -> None:
        self.server = server
        self.delay = delay
        self.requeue_interval = requeue_interval
        self.requeue_text = requeue_text
        self.behaviour: dict[tuple[str, str, str], ObjectBehaviour] = {}
        self.handlings: list[Handling] = []
        self.deleted: list[tuple[str, str, str, float]] = []   # (kind, ns, name, when gone)
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        # per object: token of its live schedule (older timers are ignored), running flag
        self._token: dict[tuple[str, str, str], int] = {}
        self._running: dict[tuple[str, str, str], Handling] = {}
        self._pending: set[tuple[str, str, str]] = set()
        self._hooks: dict[tuple[str, str, str], list[Callable[[], None]]] = {}

    # ---- public API

    def on_request(self, kind: str, namespace: str, name: str, fn: Callable[[], None]) -> None:
        """Call fn() once, when the controller begins handling the next reconcile request of
        the object (to change the world at a moment tied to the request, not to a timer)."""
        with self._cv:
            self._hooks.setdefault((kind, namespace, name), []).append(fn)

    def configure(self, kind: str, namespace: str, name: str, *, delay: float | None = None,
                  outcome: str | None = None, reason: str | None = None,
                  message: str | None = None, new_revision: str | None = None) -> None:
        """Set how the controller handles one object (overrides its depgraph.test/* annotations)."""
        if outcome not in (None, "ready", "fail", "never"):
            raise ValueError(f"outcome must be ready, fail or never, not {outcome!r}")
        self.behaviour[(kind, namespace, name)] = ObjectBehaviour(delay, outcome, reason, message,
                                                                  new_revision)

    def request(self, kind: str, namespace: str, name: str, value: str | None = None) -> str:
        """Set a new requestedAt from Python (like `flux reconcile`), return the value."""
        value = value or _dt.datetime.now(_dt.timezone.utc).isoformat()

        def fn(o):
            o["metadata"].setdefault("annotations", {})[REQUESTED_AT] = value
        self.server.update_status(kind, namespace, name, fn)
        self.notify(kind, namespace, name)
        return value

    def handled(self, kind: str | None = None, namespace: str | None = None,
                name: str | None = None, result: str | None = None) -> list[Handling]:
        with self._cv:
            return [h for h in self.handlings
                    if (kind is None or h.kind == kind) and (namespace is None or h.namespace == namespace)
                    and (name is None or h.name == name) and (result is None or h.result == result)]

    def handled_count(self, kind: str, namespace: str, name: str) -> int:
        """How many distinct reconcile requests (requestedAt values) the object completed."""
        return len({h.requested_at for h in self.handled(kind, namespace, name)
                    if h.end is not None and h.trigger == "request"})

    def order(self, result: str = "ready") -> list[str]:
        """`Kind/ns/name` in the order their handling ended with `result`."""
        hs = sorted((h for h in self.handled(result=result)), key=lambda h: h.end or 0)
        return [f"{h.kind}/{h.namespace}/{h.name}" for h in hs]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is running or due within the next requeue (True if idle)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._cv:
                busy = bool(self._running) or any(
                    t <= time.time() + self.delay * 2 for t, _, _ in self._heap)
            if not busy:
                return True
            time.sleep(0.01)
        return False

    # ---- lifecycle

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="fake-flux-controller", daemon=True)
        self._thread.start()
        # objects already waiting for dependencies are polled, like the real controllers do
        for o in self.server.objects():
            if o["kind"] in _DEPENDENT_KINDS:
                ready = condition(o, "Ready") or {}
                if ready.get("reason") == "DependencyNotReady" and not _suspended(o):
                    self._schedule(self.requeue_interval, o["kind"], o["metadata"]["namespace"],
                                   o["metadata"]["name"], "requeue")

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread:
            self._thread.join(timeout=2)

    # ---- scheduling

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.time()):
                    timeout = (self._heap[0][0] - time.time()) if self._heap else None
                    self._cv.wait(timeout)
                if self._stopping:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # keep the controller alive; show the bug
                import traceback
                traceback.print_exc()

    def _at(self, delay: float, fn: Callable[[], None]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (time.time() + delay, next(self._seq), fn))
            self._cv.notify_all()

    def _schedule(self, delay: float, kind: str, ns: str, name: str, trigger: str) -> None:
        key = (kind, ns, name)
        with self._cv:
            token = self._token.get(key, 0) + 1
            self._token[key] = token

        def fire():
            with self._cv:
                if self._token.get(key) != token:
                    return
            self._begin(kind, ns, name, trigger)
        self._at(delay, fire)

    def finalize(self, kind: str, namespace: str | None, name: str) -> None:
        """A deleted object with finalizers: remove them (and so the object) after its
        `depgraph.test/finalize-delay` annotation's seconds (default: the controller's delay)."""
        obj = self.server.get_object(kind, namespace, name)
        ann = (obj or {}).get("metadata", {}).get("annotations") or {}
        delay = float(ann.get(TEST_FINALIZE_DELAY, self.delay))

        def fire():
            if self.server.delete_object(kind, namespace, name):
                self.gone(kind, namespace, name)
        self._at(delay, fire)

    def gone(self, kind: str, namespace: str | None, name: str) -> None:
        """Record when an object left the store (after its finalizers, if any)."""
        with self._cv:
            self.deleted.append((kind, namespace or "", name, time.time()))

    def notify(self, kind: str, namespace: str | None, name: str) -> None:
        """Called after every write through the API: start handling a new request."""
        if kind not in _DEPENDENT_KINDS + _SOURCE_KINDS:
            return
        obj = self.server.get_object(kind, namespace, name)
        if obj is None:
            return
        requested = (obj["metadata"].get("annotations") or {}).get(REQUESTED_AT)
        st = obj.get("status") or {}
        new_request = requested is not None and requested != st.get("lastHandledReconcileAt")
        new_generation = obj["metadata"].get("generation") != st.get("observedGeneration")
        if not (new_request or new_generation) or _suspended(obj):
            return
        key = (kind, namespace or "", name)
        with self._cv:
            if key in self._running:
                self._pending.add(key)
                return
        self._schedule(0, kind, namespace or "", name, "request" if new_request else "generation")

    # ---- behaviour

    def _behaviour(self, obj: dict) -> ObjectBehaviour:
        m = obj["metadata"]
        ann = m.get("annotations") or {}
        b = self.behaviour.get((obj["kind"], m.get("namespace", ""), m["name"]), ObjectBehaviour())
        delay = b.delay if b.delay is not None else float(ann.get(TEST_DELAY, self.delay))
        return ObjectBehaviour(
            delay=delay,
            outcome=b.outcome or ann.get(TEST_OUTCOME, "ready"),
            reason=b.reason or ann.get(TEST_REASON),
            message=b.message or ann.get(TEST_MESSAGE),
            new_revision=b.new_revision or ann.get(TEST_NEW_REVISION),
        )

    # ---- handling

    def _begin(self, kind: str, ns: str, name: str, trigger: str) -> None:
        srv = self.server
        key = (kind, ns, name)
        with srv.store.lock:
            obj = srv.store.objects.get(Store.key(resource_for_kind(kind), ns, name))
            if obj is None or _suspended(obj):
                return
            beh = self._behaviour(obj)
            if beh.outcome == "never":
                self._run_hooks(key, trigger)   # the request is seen, and left alone
                return
            requested = (obj["metadata"].get("annotations") or {}).get(REQUESTED_AT)
            h = Handling(kind, ns, name, time.time(), requested_at=requested, trigger=trigger)
            with self._cv:
                self.handlings.append(h)
                self._running[key] = h
            if kind in _DEPENDENT_KINDS:
                blocker = self._dependency_problem(obj)
                if blocker is not None:
                    self._wait_for_dependencies(obj, blocker, requested, h)
                    return
            if not (kind == "HelmRelease" and self._helm_stalled(obj)):
                set_condition(obj, "Reconciling", "True", "Progressing",
                              "Fulfilling prerequisites" if kind == "HelmRelease" else
                              f"Reconciliation in progress")
                set_condition(obj, "Ready", "Unknown", "Progressing", "Reconciliation in progress")
            srv.store.save(Store.key(resource_for_kind(kind), ns, name), obj)
        self._run_hooks(key, trigger)
        self._at(beh.delay or 0, lambda: self._finish(kind, ns, name, h))

    def _run_hooks(self, key, trigger: str) -> None:
        if trigger != "request":
            return
        with self._cv:
            hooks = self._hooks.pop(key, [])
        for fn in hooks:
            fn()

    def _finish(self, kind: str, ns: str, name: str, h: Handling) -> None:
        srv = self.server
        key = (kind, ns, name)
        with srv.store.lock:
            obj = srv.store.objects.get(Store.key(resource_for_kind(kind), ns, name))
            if obj is None:
                self._done(key, h, "failed")
                return
            beh = self._behaviour(obj)
            st = obj.setdefault("status", {})
            gen = obj["metadata"].get("generation", 1)
            remove_condition(obj, "Reconciling")
            if kind in _SOURCE_KINDS:
                rev = beh.new_revision or (st.get("artifact") or {}).get("revision") \
                    or "main@sha1:" + "0" * 40
                if beh.outcome == "fail":
                    # As source-controller 1.9 shows it: the clone error names the URL, and a
                    # source that never fetched keeps status.observedGeneration -1.
                    url = (obj.get("spec") or {}).get("url", "")
                    set_condition(obj, "Ready", "False", beh.reason or "GitOperationFailed",
                                  beh.message or "failed to checkout and determine revision: "
                                                 f"unable to clone '{url}': authentication required")
                    result = "failed"
                    st.setdefault("observedGeneration", -1)
                    # source-controller keeps retrying: Reconciling=True ProgressingWithRetry,
                    # and FetchFailed=True carries the same error.
                    set_condition(obj, "Reconciling", "True", "ProgressingWithRetry", "building artifact")
                    ready = condition(obj, "Ready")
                    set_condition(obj, "FetchFailed", "True", ready["reason"], ready["message"])
                else:
                    st.setdefault("artifact", {})["revision"] = rev
                    set_condition(obj, "Ready", "True", "Succeeded", f"stored artifact for revision '{rev}'"
                                  if kind != "HelmRepository" else f"stored artifact: revision '{rev}'")
                    result = "ready"
                    st["observedGeneration"] = gen
            else:
                result = self._finish_dependent(obj, beh, st, gen)
            if h.requested_at is not None:
                st["lastHandledReconcileAt"] = h.requested_at
            srv.store.save(Store.key(resource_for_kind(kind), ns, name), obj)
            # a new request came in while we were busy
            requested = (obj["metadata"].get("annotations") or {}).get(REQUESTED_AT)
        self._done(key, h, result)
        with self._cv:
            pending = key in self._pending
            self._pending.discard(key)
        if pending or (requested is not None and requested != h.requested_at):
            self._schedule(0, kind, ns, name, "request")

    def _finish_dependent(self, obj: dict, beh: ObjectBehaviour, st: dict, gen: int) -> str:
        kind = obj["kind"]
        if kind == "HelmRelease" and not self._helm_may_retry(obj, st):
            return "failed"
        src = self._source_of(obj)
        rev = ((src or {}).get("status") or {}).get("artifact", {}).get("revision") \
            or st.get("lastAppliedRevision") or "main@sha1:" + "0" * 40
        st["lastAttemptedRevision"] = rev
        if beh.outcome == "fail":
            reason = beh.reason or ("HealthCheckFailed" if kind == "Kustomization" else "UpgradeFailed")
            msg = beh.message or (
                "health check failed after 30.001s: timeout waiting for: "
                f"[Deployment/{obj['metadata']['namespace']}/{obj['metadata']['name']} status: 'InProgress']"
                if kind == "Kustomization" else
                f"Helm upgrade failed for release {obj['metadata']['namespace']}/"
                f"{_release_name(obj)} with chart {_chart_name(obj)}: context deadline exceeded")
            set_condition(obj, "Ready", "False", reason, msg)
            if kind == "Kustomization" and reason == "HealthCheckFailed":
                # As kustomize-controller 1.9 leaves a failed health check: Healthy=False with
                # the message after "health check failed after <d>: ", and Reconciling=True
                # ProgressingWithRetry (the retry is scheduled) next to Ready=False.
                set_condition(obj, "Healthy", "False", reason, msg.split(": ", 1)[-1])
                set_condition(obj, "Reconciling", "True", "ProgressingWithRetry",
                              f"Running health checks for revision {rev} with a timeout of 30s")
            else:
                # Like the real controllers: a failed run they will retry keeps Reconciling=True
                # ProgressingWithRetry (kstatus: InProgress, so `flux reconcile` waits it out).
                set_condition(obj, "Reconciling", "True", "ProgressingWithRetry",
                              f"Detecting drift for revision {rev} with a timeout of 30s")
            # The controllers record observedGeneration only for a successful reconciliation:
            # an object that never succeeded keeps -1.
            st.setdefault("observedGeneration", -1)
            self._event(obj, "Warning", reason, msg)
            return "failed"
        if kind == "Kustomization":
            msg = f"Applied revision: {rev}"
            set_condition(obj, "Ready", "True", "ReconciliationSucceeded", msg)
            set_condition(obj, "Healthy", "True", "Succeeded", "Health check passed in 21.823ms")
            st["lastAppliedRevision"] = rev
            self._event(obj, "Normal", "ReconciliationSucceeded",
                        f"Reconciliation finished in 52ms, next run in 10m0s")
        else:
            msg = (f"Helm upgrade succeeded for release {obj['metadata']['namespace']}/"
                   f"{_release_name(obj)}.v2 with chart {_chart_name(obj)}")
            set_condition(obj, "Ready", "True", "UpgradeSucceeded", msg)
            set_condition(obj, "Released", "True", "UpgradeSucceeded", msg)
            self._event(obj, "Normal", "UpgradeSucceeded", msg)
        st["observedGeneration"] = gen
        return "ready"

    @staticmethod
    def _helm_stalled(obj: dict) -> bool:
        """helm-controller with exhausted retries (Stalled RetriesExceeded) and no new
        resetAt: a request is handled but changes nothing."""
        ann = obj["metadata"].get("annotations") or {}
        st = obj.get("status") or {}
        if ann.get(RESET_AT) and ann.get(RESET_AT) != st.get("lastHandledResetAt"):
            return False
        stalled = condition(obj, "Stalled") or {}
        return stalled.get("status") == "True" and stalled.get("reason") == "RetriesExceeded"

    def _helm_may_retry(self, obj: dict, st: dict) -> bool:
        """False when stalled (see _helm_stalled); a new resetAt clears the failure counts and
        Stalled, a new forceAt is recorded as handled."""
        if self._helm_stalled(obj):
            return False
        ann = obj["metadata"].get("annotations") or {}
        for key, field in ((FORCE_AT, "lastHandledForceAt"), (RESET_AT, "lastHandledResetAt")):
            if ann.get(key) and ann[key] != st.get(field):
                st[field] = ann[key]
                if key == RESET_AT:
                    for counter in ("failures", "installFailures", "upgradeFailures"):
                        st.pop(counter, None)
                    remove_condition(obj, "Stalled")
        return True

    def _done(self, key, h: Handling, result: str) -> None:
        with self._cv:
            h.end = time.time()
            h.result = result
            self._running.pop(key, None)

    def _wait_for_dependencies(self, obj: dict, msg: str, requested: str | None, h: Handling) -> None:
        """Mirror the controllers' DependencyNotReady path (store lock held)."""
        kind, ns, name = obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]
        set_condition(obj, "Ready", "False", "DependencyNotReady", msg)
        if kind == "HelmRelease":
            set_condition(obj, "Reconciling", "True", "Progressing", "Fulfilling prerequisites")
            self._event(obj, "Normal", "DependencyNotReady", msg)
        else:
            remove_condition(obj, "Reconciling")
            self._event(obj, "Normal", "DependencyNotReady",
                        f"Dependencies do not meet ready condition, retrying in {self.requeue_text}")
        st = obj.setdefault("status", {})
        if requested is not None:
            st["lastHandledReconcileAt"] = requested
        self.server.store.save(Store.key(_BY_KIND[kind], ns, name), obj)
        self._done((kind, ns, name), h, "dependency-not-ready")
        self._schedule(self.requeue_interval, kind, ns, name, "requeue")

    def _source_of(self, obj: dict) -> dict | None:
        spec = obj.get("spec") or {}
        ref = spec.get("sourceRef") or spec.get("chartRef") or \
            ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef")
        if not ref or ref.get("kind") not in _BY_KIND:
            return None
        ns = ref.get("namespace") or obj["metadata"]["namespace"]
        if obj["kind"] == "HelmRelease" and "chart" in spec and "chartRef" not in spec:
            chart = self.server.store.objects.get(Store.key(
                _BY_KIND["HelmChart"], ns, f"{obj['metadata']['namespace']}-{obj['metadata']['name']}"))
            if chart:
                return chart
        return self.server.store.objects.get(Store.key(_BY_KIND[ref["kind"]], ns, ref["name"]))

    def _dependency_problem(self, obj: dict) -> str | None:
        """The controllers' dependency predicates; the first failing message, or None."""
        kind = obj["kind"]
        rt = _BY_KIND[kind]
        ns = obj["metadata"]["namespace"]
        my_src = (obj.get("spec") or {}).get("sourceRef") or {}
        for dep in (obj.get("spec") or {}).get("dependsOn") or []:
            if dep.get("kind") not in (None, "", kind):
                problem = self._typed_dependency_problem(kind, ns, dep)
                if problem:
                    return problem
                continue
            if dep.get("ready") is False and self.server.store.objects.get(
                    Store.key(rt, dep.get("namespace") or ns, dep["name"])) is not None:
                continue   # a typed entry on the holder's own kind, existence only
            dns = dep.get("namespace") or ns
            ref = f"{dns}/{dep['name']}"
            d = self.server.store.objects.get(Store.key(rt, dns, dep["name"]))
            if d is None:
                # the API server's words, as the real controllers quote them (e2e)
                api_err = f'{rt.qualified} "{dep["name"]}" not found'
                if kind == "HelmRelease":
                    return f"unable to get '{ref}' dependency: {api_err}"
                return f"dependency '{ref}' not found: {api_err}"
            dst = d.get("status") or {}
            ready = condition(d, "Ready")
            if not dst.get("conditions") or d["metadata"].get("generation") != dst.get("observedGeneration"):
                return f"dependency '{ref}' is not ready"
            if not ready or ready.get("status") != "True":
                return f"dependency '{ref}' is not ready"
            if kind == "Kustomization":
                dsrc = (d.get("spec") or {}).get("sourceRef") or {}
                same = (my_src.get("kind"), my_src.get("name"), my_src.get("namespace") or ns) == \
                       (dsrc.get("kind"), dsrc.get("name"), dsrc.get("namespace") or dns)
                if my_src and same:
                    src = self._source_of(obj)
                    rev = ((src or {}).get("status") or {}).get("artifact", {}).get("revision")
                    if rev and dst.get("lastAppliedRevision") != rev:
                        return f"dependency '{ref}' revision is not up to date"
        return None

    def _typed_dependency_problem(self, kind: str, ns: str, dep: dict) -> str | None:
        """A cross-kind entry (apiVersion, kind, name, namespace, ready, readyExpr) of a
        Kustomization or HelmRelease: the object looked up in its own resource type; with
        `ready: false` existence is enough, else it must be kstatus Current.

        The real tier (tests/e2e, controllers v1.9.6) has no cross-kind dependsOn yet: this
        follows the upstream PRs (fluxcd/pkg#1229, kustomize-controller#1653,
        helm-controller#1480), naming the dependency in its string form
        `apiVersion/Kind/[ns/]name` inside each controller's usual sentence. readyExpr is
        not evaluated (no CEL here), as for same-kind entries."""
        dkind, api, name = dep["kind"], dep.get("apiVersion") or "", dep["name"]
        group, _, version = api.rpartition("/")
        rt = _BY_KIND.get(dkind)
        dns = (dep.get("namespace") or ns) if rt is None or rt.namespaced else ""
        ref = f"{api}/{dkind}/{dns}/{name}" if dns else f"{api}/{dkind}/{name}"

        def missing(api_err: str) -> str:
            if kind == "HelmRelease":
                return f"unable to get '{ref}' dependency: {api_err}"
            return f"dependency '{ref}' not found: {api_err}"
        if rt is None or rt.group != group or not self.server.served(group, version):
            return missing(f'no matches for kind "{dkind}" in version "{api}"')
        d = self.server.store.objects.get(Store.key(rt, dns, name))
        if d is None:
            return missing(f'{rt.qualified} "{name}" not found')
        if dep.get("ready") is False or _kstatus_current(d):
            return None
        return f"dependency '{ref}' is not ready"

    def _event(self, obj: dict, etype: str, reason: str, message: str) -> None:
        """Record a core v1 Event (store lock held); repeats are aggregated by count."""
        rt = _BY_KIND[obj["kind"]]
        m = obj["metadata"]
        ns, name = m["namespace"], m["name"]
        evt_rt = _BY_KIND["Event"]
        now = _now_iso()
        store = self.server.store
        for key, e in store.objects.items():
            if key[:2] == ("", "events") and key[2] == ns and e["reason"] == reason \
                    and e["message"] == message and e["involvedObject"]["name"] == name \
                    and e["involvedObject"]["kind"] == obj["kind"]:
                e["count"] = e.get("count", 1) + 1
                e["lastTimestamp"] = now
                store.save(key, e)
                return
        ename = f"{name}.{uuid.uuid4().hex[:16]}"
        version = self.server.groups.get(rt.group, ["v1"])[0] if self.server.groups.get(rt.group) else "v1"
        store.save(Store.key(evt_rt, ns, ename), {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": ename, "namespace": ns, "uid": str(uuid.uuid4()),
                         "creationTimestamp": now},
            "involvedObject": {"kind": obj["kind"], "namespace": ns, "name": name,
                               "uid": m.get("uid", ""), "apiVersion": f"{rt.group}/{version}",
                               "resourceVersion": m.get("resourceVersion", "")},
            "reason": reason, "message": message, "type": etype, "count": 1,
            "source": {"component": FLUX_COMPONENT.get(rt.group, "flux")},
            "reportingComponent": FLUX_COMPONENT.get(rt.group, "flux"), "reportingInstance": "",
            "firstTimestamp": now, "lastTimestamp": now,
        })


def _kstatus_current(obj: dict) -> bool:
    """kstatus Current, as far as the double's kinds need it: a CRD Established, a
    Deployment with all its replicas available, anything else Ready=True for its generation."""
    st = obj.get("status") or {}
    gen = obj["metadata"].get("generation")
    if st.get("observedGeneration") is not None and gen is not None and st["observedGeneration"] != gen:
        return False
    if obj["kind"] == "CustomResourceDefinition":
        return (condition(obj, "Established") or {}).get("status") == "True"
    if obj["kind"] == "Deployment":
        replicas = (obj.get("spec") or {}).get("replicas", 1)
        return st.get("availableReplicas", 0) == replicas and st.get("updatedReplicas", 0) == replicas
    ready = condition(obj, "Ready") or {}
    return ready.get("status") == "True" and st.get("observedGeneration") == gen


def _suspended(obj: dict) -> bool:
    return bool((obj.get("spec") or {}).get("suspend"))


def _release_name(obj: dict) -> str:
    spec = obj.get("spec") or {}
    return spec.get("releaseName") or (
        f"{spec['targetNamespace']}-{obj['metadata']['name']}" if spec.get("targetNamespace")
        else obj["metadata"]["name"])


def _chart_name(obj: dict) -> str:
    cs = ((obj.get("spec") or {}).get("chart") or {}).get("spec") or {}
    return f"{cs.get('chart', obj['metadata']['name'])}@{cs.get('version', '1.0.0')}"


# --------------------------------------------------------------------------- object builders


def kustomization(name: str, namespace: str = "flux-system", *, depends_on: Iterable[Any] = (),
                  source: tuple[str, str] | tuple[str, str, str] = ("GitRepository", "flux-system"),
                  ready: bool | None = True, revision: str = "main@sha1:" + "a" * 40,
                  suspend: bool = False, annotations: dict | None = None,
                  labels: dict | None = None, generation: int = 1) -> dict:
    """A Kustomization dict; ready=None gives no status at all, False a failed Ready."""
    obj = _flux_obj("Kustomization", f"{KS_GROUP}/v1", name, namespace, annotations, labels, generation)
    src = {"kind": source[0], "name": source[1]}
    if len(source) > 2:
        src["namespace"] = source[2]
    obj["spec"] = {"interval": "10m", "path": f"./{name}", "prune": True, "sourceRef": src}
    if depends_on:
        obj["spec"]["dependsOn"] = [_dep(d) for d in depends_on]
    if suspend:
        obj["spec"]["suspend"] = True
    if ready is not None:
        obj["status"] = {"observedGeneration": generation, "lastAppliedRevision": revision,
                         "lastAttemptedRevision": revision, "conditions": []}
        if ready:
            set_condition(obj, "Ready", "True", "ReconciliationSucceeded", f"Applied revision: {revision}")
        else:
            set_condition(obj, "Ready", "False", "HealthCheckFailed",
                          f"health check failed after 30s: timeout waiting for: "
                          f"[Deployment/{namespace}/{name} status: 'InProgress']")
    return obj


def helmrelease(name: str, namespace: str = "flux-system", *, depends_on: Iterable[Any] = (),
                repo: str = "charts", chart: str | None = None, ready: bool | None = True,
                suspend: bool = False, annotations: dict | None = None, generation: int = 1,
                stalled: bool = False) -> dict:
    """A HelmRelease dict; stalled=True: its install retries are exhausted (Stalled
    RetriesExceeded), as helm-controller leaves it until a reset or a spec change."""
    obj = _flux_obj("HelmRelease", f"{HELM_GROUP}/v2", name, namespace, annotations, None, generation)
    obj["spec"] = {"interval": "10m", "chart": {"spec": {
        "chart": chart or name, "version": "1.0.0",
        "sourceRef": {"kind": "HelmRepository", "name": repo}}}}
    if depends_on:
        obj["spec"]["dependsOn"] = [_dep(d) for d in depends_on]
    if suspend:
        obj["spec"]["suspend"] = True
    if ready is not None:
        obj["status"] = {"observedGeneration": generation, "conditions": []}
        msg = f"Helm install succeeded for release {namespace}/{name}.v1 with chart {chart or name}@1.0.0"
        if ready:
            set_condition(obj, "Ready", "True", "InstallSucceeded", msg)
        else:
            set_condition(obj, "Ready", "False", "InstallFailed", "Helm install failed: timed out")
    if stalled:
        obj["status"] = {"observedGeneration": generation, "conditions": [], "installFailures": 3,
                         "failures": 3}
        set_condition(obj, "Ready", "False", "InstallFailed",
                      f"Helm install failed for release {namespace}/{name} with chart "
                      f"{chart or name}@1.0.0: context deadline exceeded")
        set_condition(obj, "Stalled", "True", "RetriesExceeded", "Failed to install after 3 attempt(s)")
    return obj


def helmchart(release: dict, annotations: dict | None = None) -> dict:
    """The HelmChart helm-controller creates for a HelmRelease's chart.spec: named
    `<hr-namespace>-<hr-name>` in the namespace of the chart's source."""
    m = release["metadata"]
    cs = release["spec"]["chart"]["spec"]
    ns = cs["sourceRef"].get("namespace") or m["namespace"]
    obj = _flux_obj("HelmChart", f"{SOURCE_GROUP}/v1", f"{m['namespace']}-{m['name']}", ns, annotations,
                    None, 1)
    obj["spec"] = {"chart": cs["chart"], "version": cs.get("version", "*"), "interval": "10m",
                   "sourceRef": dict(cs["sourceRef"])}
    version = cs.get("version", "1.0.0")
    obj["status"] = {"observedGeneration": 1, "conditions": [],
                     "artifact": {"revision": version, "path": f"helmchart/{ns}/{obj['metadata']['name']}"}}
    set_condition(obj, "Ready", "True", "ChartPullSucceeded", f"pulled '{cs['chart']}' chart with version '{version}'")
    return obj


def source(kind: str, name: str, namespace: str = "flux-system", *,
           revision: str = "main@sha1:" + "a" * 40, ready: bool = True,
           annotations: dict | None = None) -> dict:
    rt = resource_for_kind(kind)
    obj = _flux_obj(kind, f"{rt.group}/v1", name, namespace, annotations, None, 1)
    obj["spec"] = {"interval": "1m", "url": f"https://example.com/{name}"}
    obj["status"] = {"observedGeneration": 1, "conditions": []}
    if ready:
        obj["status"]["artifact"] = {"revision": revision, "path": f"{kind.lower()}/{namespace}/{name}"}
        set_condition(obj, "Ready", "True", "Succeeded", f"stored artifact for revision '{revision}'")
    else:
        set_condition(obj, "Ready", "False", "GitOperationFailed", "authentication required")
    return obj


def event(involved: dict, reason: str, message: str, etype: str = "Normal",
          name: str | None = None) -> dict:
    rt = _BY_KIND[involved["kind"]]
    m = involved["metadata"]
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name or f"{m['name']}.{uuid.uuid4().hex[:16]}",
                         "namespace": m["namespace"]},
            "involvedObject": {"kind": involved["kind"], "name": m["name"], "namespace": m["namespace"],
                               "apiVersion": involved.get("apiVersion", rt.group + "/v1")},
            "reason": reason, "message": message, "type": etype, "count": 1,
            "source": {"component": FLUX_COMPONENT.get(rt.group, "flux")},
            "firstTimestamp": _now_iso(), "lastTimestamp": _now_iso()}


def _dep(d: Any) -> dict:
    if isinstance(d, dict):
        return d
    if "/" in d:
        ns, name = d.split("/", 1)
        return {"name": name, "namespace": ns}
    return {"name": d}


def _flux_obj(kind, api_version, name, namespace, annotations, labels, generation) -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "generation": generation}
    if annotations:
        meta["annotations"] = dict(annotations)
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def crd(name: str, *, established: bool = True) -> dict:
    """A CustomResourceDefinition (cluster-scoped), Established or not (kstatus: Current or
    InProgress)."""
    group = name.split(".", 1)[1] if "." in name else "example.com"
    obj = {"apiVersion": f"{APIEXT_GROUP}/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": name, "generation": 1},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"plural": name.split(".", 1)[0], "kind": name.split(".", 1)[0].title()}},
           "status": {"conditions": []}}
    set_condition(obj, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
    set_condition(obj, "Established", "True" if established else "False",
                  "InitialNamesAccepted" if established else "Installing",
                  "the initial names have been accepted" if established else "the CRD is being installed")
    return obj


def deployment(name: str, namespace: str = "default", *, replicas: int = 1, available: int = 1) -> dict:
    return {"apiVersion": f"{APPS_GROUP}/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "generation": 1},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": available, "availableReplicas": available}}


def resourceset(name: str, namespace: str = "flux-system", *, depends_on: Iterable[dict] = (),
                ready: bool | None = True, message: str | None = None) -> dict:
    """A flux-operator ResourceSet (not simulated: its status is what the test gives). Not
    ready: DependencyNotReady with `message`, as the operator words it."""
    obj = _flux_obj("ResourceSet", f"{OPERATOR_GROUP}/v1", name, namespace, None, None, 1)
    obj["spec"] = {"inputs": [], "resources": []}
    if depends_on:
        obj["spec"]["dependsOn"] = [dict(d) for d in depends_on]
    if ready is not None:
        obj["status"] = {"observedGeneration": 1, "conditions": []}
        if ready:
            set_condition(obj, "Ready", "True", "ReconciliationSucceeded", "Reconciliation finished in 12ms")
        else:
            set_condition(obj, "Ready", "False", "DependencyNotReady", message or "dependency not ready")
    return obj
