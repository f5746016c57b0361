"""Reading the objects of a running reconcile: lists through `kubectl get --raw`, and
one long-lived watch per kind (the informer pattern) so that a handled request is seen
within milliseconds. Live acquisition, like cluster.py; reconcile's backends use it."""

import json
import re
import threading
import time

from kubectl_depgraph import runner
from kubectl_depgraph.acquire.cluster import error_lines, list_items, parse_json
from kubectl_depgraph.errors import ClusterError, DepgraphError
from kubectl_depgraph.model import GROUPS, OWN_GROUPS, PLURALS, parse_object, resource_name


class ObjectReader:
    """Reads the objects of running steps: one `kubectl get --raw` list per kind and scope.

    `get --raw` skips kubectl's discovery round trips (4× faster than `kubectl get`), so
    polling many objects stays cheap; the API version comes from the objects already read."""

    def __init__(self, kubectl, versions, pool):
        self.kubectl = kubectl             # also knows which kinds RBAC lets us list cluster-wide
        self.versions = dict(versions)     # kind -> apiVersion ("group/version")
        self.pool = pool

    def read(self, refs):
        """{ref: FluxObject or None} for `refs` (None: does not exist)."""
        by_kind = {}
        for ref in refs:
            by_kind.setdefault(ref.kind, set()).add(ref)
        jobs = []
        for kind, wanted in sorted(by_kind.items()):
            if kind not in self.versions:
                jobs += [(kind, None, ref) for ref in sorted(wanted)]
            else:
                scopes = self.kubectl.list_scopes(kind, {r.namespace for r in wanted})
                jobs += [(kind, ns, None) for ns in scopes]
        found = {}
        for items in self.pool.map(lambda job: self._fetch(*job), jobs):
            for item in items:
                obj = parse_object(item)
                if obj is not None:
                    found[obj.ref] = obj
        return {ref: found.get(ref) for ref in refs}

    def _fetch(self, kind, namespace, ref):
        if ref is not None:
            item = self.kubectl.get_object(ref)
            return [item] if item else []
        try:
            return self.list(kind, namespace)[0]
        except ClusterError as exc:
            if namespace is None and "forbidden" in exc.message.lower():
                self.kubectl.refused_cluster_wide([kind])
                raise ClusterError(f"listing {resource_name(kind)} cluster-wide is forbidden; "
                                   "reading per namespace from now on") from exc
            raise

    def path(self, kind, namespace=None):
        """The list URL of `kind` (cluster-wide, or in one namespace)."""
        base = f"/apis/{self.versions[kind]}"
        return base + (f"/namespaces/{namespace}/{PLURALS[kind]}" if namespace else f"/{PLURALS[kind]}")

    def list(self, kind, namespace=None):
        """(items, the list's resourceVersion) of `kind`."""
        path = self.path(kind, namespace)
        doc = parse_json(self.kubectl.run("get", "--raw", path).stdout, f"get --raw {path}")
        if not isinstance(doc, dict):
            raise ClusterError(f"kubectl get --raw {path} printed JSON that is not a list",
                               hint="retry with --debug")
        return list_items(doc), (doc.get("metadata") or {}).get("resourceVersion")


def versions_of(objects):
    """kind -> apiVersion from objects already read (the server's preferred versions)."""
    versions = {}
    for obj in objects:
        if obj.api_version.startswith((GROUPS.get(obj.ref.kind) or OWN_GROUPS.get(obj.ref.kind, "?")) + "/"):
            versions.setdefault(obj.ref.kind, obj.api_version)
    return versions


# --------------------------------------------------------------------------- watching objects

def _debug(line):
    runner.log.debug(line)


class JsonStream:
    """Decodes concatenated JSON documents fed in arbitrary pieces: the one-event-per-line
    stream of a --raw watch, or kubectl's pretty-printed objects one after the other."""

    LIMIT = 16 << 20   # an unfinished document this large is not one

    def __init__(self):
        self._buf = ""
        self._decoder = json.JSONDecoder()

    def feed(self, text):
        """The documents completed by `text`; ValueError when the stream is not JSON."""
        buf = self._buf + text
        docs = []
        while True:
            buf = buf.lstrip()
            if not buf:
                break
            try:
                doc, end = self._decoder.raw_decode(buf)
            except ValueError:
                if buf[0] not in "{[" or len(buf) > self.LIMIT:
                    self._buf = ""
                    raise ValueError(f"not JSON: {buf[:60]!r}") from None
                break
            docs.append(doc)
            buf = buf[end:]
        self._buf = buf
        return docs


class KindWatch:
    """The objects of one kind, kept current by one long-lived `kubectl get --raw
    '…?watch=1'` process (the informer pattern: list, then watch from the list's
    resourceVersion; a watch that ends is resumed from the last version seen, and
    relisted after 410 Gone).

    It gives up after FAILURES watches in a row that end within a second without an
    event, or at once on a refusal that will not change (RBAC, no watch verb, old
    kubectl): `failed` says why, and readers list instead."""

    FAILURES = 3
    _PERMANENT = re.compile(r"forbidden|methodnotallowed|method not allowed|notfound|not found|"
                            r"unknown flag|unknown command|unknown shorthand", re.I)

    def __init__(self, kind, reader, kubectl, on_change):
        self.kind = kind
        self.reader = reader
        self.kubectl = kubectl
        self.on_change = on_change
        self.failed = None            # why the watch was given up
        self._synced = False          # a list has been read and a watch follows it
        self._objects = {}
        self._rv = None
        self._gone = False            # 410: our resourceVersion is too old, relist
        self._abort = False           # end the current process (asked from its own output)
        self._events = 0              # events delivered by the current process
        self._decoder = JsonStream()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._proc = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"depgraph-watch-{PLURALS[kind]}")
        self._thread.start()

    @property
    def live(self):
        return self._synced and self.failed is None

    @property
    def starting(self):
        return not self._synced and self.failed is None

    def get(self, ref):
        with self._lock:
            return self._objects.get(ref)

    def stop(self, wait=True):
        """End the watch; wait=False only signals its process (join() waits)."""
        with self._lock:
            self._stopping = True
            proc = self._proc
        self._wake.set()
        if proc is not None:
            proc.stop(wait=wait)
        if wait:
            self.join()

    def join(self):
        self._thread.join(timeout=2)
        proc = self._proc
        if proc is not None and proc.running:
            proc.stop()   # SIGTERM was not enough: SIGKILL after the grace period

    def _run(self):
        try:
            self._follow()
        except DepgraphError as exc:
            self._give_up(exc.message)
        except Exception as exc:   # never leave the run waiting on a dead thread
            self._give_up(f"{type(exc).__name__}: {exc}")

    def _follow(self):
        failures = 0
        while not self._stopping:
            if self._rv is None:
                self._relist()
            with self._lock:
                if self._stopping:
                    return
                self._events, self._abort = 0, False
                self._decoder = JsonStream()
                proc = self._proc = self.kubectl.watch(self.reader.path(self.kind), self._rv, self._line)
            if self._abort:   # its first lines arrived before self._proc was set
                proc.stop(wait=False)
            began = time.monotonic()
            proc.wait()
            if self._stopping or self.failed:
                return
            if self._gone:
                self._gone, self._rv = False, None
                continue
            if self._events or time.monotonic() - began >= 1.0:
                failures = 0   # a watch that served a while and ended: resume it
                continue
            failures += 1
            why = runner.redact(_first_error(proc.stderr)) or f"kubectl exited with status {proc.exit_code}"
            if failures >= self.FAILURES or self._PERMANENT.search(why):
                return self._give_up(why)
            _debug(f"watch of {PLURALS[self.kind]} ended ({why}); resuming")
            self._wake.wait(0.2 * failures)

    def _relist(self):
        items, rv = self.reader.list(self.kind)
        if not rv:
            raise ClusterError("the list has no resourceVersion to watch from")
        objects = {}
        for item in items:
            obj = parse_object(item)
            if obj is not None and obj.ref.kind == self.kind:
                objects[obj.ref] = obj
        with self._lock:
            self._objects, self._rv = objects, rv
        self._synced = True
        self.on_change()

    def _give_up(self, why):
        if self._stopping:
            return
        self.failed = why
        self._synced = False
        _debug(f"watch of {PLURALS[self.kind]} not available ({why}): reading them by listing instead")
        self.on_change()

    def _line(self, line):
        """One line of the watch's stdout (reader thread)."""
        try:
            docs = self._decoder.feed(line)
        except ValueError as exc:
            self._give_up(f"kubectl printed something that is not a watch event ({exc})")
            self._end_current()
            return True   # sh: no more lines
        for doc in docs:
            self._apply(doc if isinstance(doc, dict) else {})
        if docs:
            self.on_change()
        return None

    def _end_current(self):
        # From the process's own reader thread: signal, never wait.
        self._abort = True
        proc = self._proc
        if proc is not None and proc.running:
            proc.stop(wait=False)

    def _apply(self, event):
        etype, obj = event.get("type"), event.get("object")
        obj = obj if isinstance(obj, dict) else {}
        if etype == "ERROR":
            if obj.get("code") == 410:   # compacted away: relist, then watch again
                self._gone = True
                self._end_current()
            else:
                _debug(f"watch of {PLURALS[self.kind]}: {obj.get('message') or obj}")
            return
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if etype in ("ADDED", "MODIFIED", "DELETED"):
            parsed = parse_object(obj)
            if parsed is not None and parsed.ref.kind == self.kind:
                with self._lock:
                    if etype == "DELETED":
                        self._objects.pop(parsed.ref, None)
                    else:
                        self._objects[parsed.ref] = parsed
            self._events += 1
        if rv:
            self._rv = rv


def _first_error(text):
    """The last error line of a watch's stderr (the last line of any kind if all are noise)."""
    lines = error_lines(text) or [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


class Watches:
    """KindWatches for the kinds a run reads, started on first use."""

    def __init__(self, reader, kubectl, on_change):
        self.reader = reader
        self.kubectl = kubectl
        self.on_change = on_change
        self._by_kind = {}

    def ensure(self, kind):
        if kind not in self._by_kind and kind in self.reader.versions:
            self._by_kind[kind] = KindWatch(kind, self.reader, self.kubectl, self.on_change)

    def live(self, kind):
        watch = self._by_kind.get(kind)
        return watch is not None and watch.live

    def read(self, refs):
        """({ref: object or None} for refs of live watches, [refs of kinds not watched]);
        refs of watches still starting are in neither: their list is on its way."""
        found, rest = {}, []
        for ref in refs:
            watch = self._by_kind.get(ref.kind)
            if watch is not None and watch.live:
                found[ref] = watch.get(ref)
            elif watch is None or not watch.starting:
                rest.append(ref)
        return found, rest

    def stop(self):
        # Signal every watch first, then wait: their processes end at the same time.
        for watch in self._by_kind.values():
            watch.stop(wait=False)
        for watch in self._by_kind.values():
            watch.join()
