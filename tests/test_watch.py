"""Watches: the API-server double's `?watch=1` through the real kubectl, runner.stream, the
JSON stream decoder, and the reconcile backend reading through one watch per kind (with its
fallbacks to listing, resumption, relisting after 410, and no process left behind).
How KindWatch and ObjectReader judge a refusal or a failed start is checked with a fake
runner passed to Kubectl (no processes)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kubectl_depgraph import runner
from kubectl_depgraph.acquire.cluster import KubeOptions, Kubectl
from kubectl_depgraph.errors import ClusterError, CommandFailed, CommandNotFound
from kubectl_depgraph.acquire.watch import JsonStream, KindWatch, ObjectReader
from kubectl_depgraph.model import KUSTOMIZATION, ObjectRef
from tests.apiserver import TEST_DELAY, Forbid, kustomization, source
from tests.clirun import ROOT, invoke

FS = "flux-system"
KS = "kustomizations.kustomize.toolkit.fluxcd.io"
KS_PATH = "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations"


def ks(name, delay=0.05, **kw):
    return kustomization(name, annotations={TEST_DELAY: str(delay), **kw.pop("annotations", {})}, **kw)


def git(delay=0.05):
    return source("GitRepository", FS, annotations={TEST_DELAY: str(delay)})


class Lines:
    """A process's stdout decoded as JSON documents on a reader thread."""

    def __init__(self, proc):
        self.docs = []
        self._decoder = JsonStream()
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc):
        for line in iter(proc.stdout.readline, b""):
            with self._cv:
                self.docs.extend(self._decoder.feed(line.decode()))
                self._cv.notify_all()

    def wait_for(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self._cv:
            while not predicate(self.docs):
                left = deadline - time.monotonic()
                assert left > 0, f"not seen within {timeout}s; got {self.docs!r}"
                self._cv.wait(left)


def summary(doc):
    obj = doc.get("object", doc)
    return doc.get("type"), obj["metadata"]["name"]


# --------------------------------------------------------------------------- the double, via kubectl

def test_get_watch_lists_then_follows_changes(apiserver, kube_env):
    server = apiserver([ks("infra"), ks("apps", depends_on=["infra"])], controller=True)
    env = kube_env(server)
    proc = subprocess.Popen([env["KUBECTL"], "get", KS, "-A", "-w", "-o", "json", "--output-watch-events"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = Lines(proc)
        lines.wait_for(lambda docs: len(docs) >= 2)
        assert sorted(summary(d) for d in lines.docs[:2]) == [("ADDED", "apps"), ("ADDED", "infra")]
        began = time.monotonic()
        value = server.controller.request("Kustomization", FS, "infra")
        lines.wait_for(lambda docs: any(
            d["object"]["status"].get("lastHandledReconcileAt") == value for d in docs[2:]))
        assert time.monotonic() - began < 2, "events are streamed as they happen"
        assert {summary(d) for d in lines.docs[2:]} == {("MODIFIED", "infra")}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    watches = server.requests_matching("GET", KS_PATH + "$", watch="true")
    assert watches and watches[0].query["resourceVersion"], "kubectl watches from its list's version"


def test_raw_watch_resumes_from_a_resource_version_and_ends_at_its_timeout(apiserver, kube_env):
    server = apiserver([ks("infra"), ks("apps")])
    env = kube_env(server)
    rv = server.store.resource_version
    server.update_status("Kustomization", FS, "apps", lambda o: o["metadata"].setdefault("labels", {})
                         .update(team="a"))
    began = time.monotonic()
    out = subprocess.run([env["KUBECTL"], "get", "--raw",
                          f"{KS_PATH}?watch=1&resourceVersion={rv}&timeoutSeconds=1"],
                         env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert 0.9 < time.monotonic() - began < 10
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert [summary(e) for e in events] == [("MODIFIED", "apps")]
    assert events[0]["object"]["metadata"]["labels"] == {"team": "a"}
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > int(rv)


def test_raw_watch_selectors_and_deletion(apiserver, kube_env):
    server = apiserver([ks("a", labels={"tier": "web"}), ks("b", labels={"tier": "web"}),
                        ks("c", namespace="apps", labels={"tier": "web"})])
    env = kube_env(server)
    proc = subprocess.Popen([env["KUBECTL"], "get", "--raw", f"{KS_PATH}?watch=1&labelSelector=tier%3Dweb"
                             "&fieldSelector=metadata.namespace%3Dflux-system"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = Lines(proc)
        lines.wait_for(lambda docs: len(docs) == 2)
        assert [summary(d) for d in lines.docs] == [("ADDED", "a"), ("ADDED", "b")]
        server.update_status("Kustomization", FS, "a", lambda o: o["metadata"]["labels"].update(tier="db"))
        server.delete_object("Kustomization", FS, "b")
        server.update_status("Kustomization", "apps", "c", lambda o: o["metadata"]["labels"].update(x="1"))
        server.set_object(kustomization("d", labels={"tier": "web"}))
        lines.wait_for(lambda docs: len(docs) == 5)
        # a left the selection, b was deleted, c is in another namespace, d is new
        assert [summary(d) for d in lines.docs[2:]] == [("DELETED", "a"), ("DELETED", "b"), ("ADDED", "d")]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_watch_from_a_compacted_version_is_410_gone(apiserver, kube_env):
    server = apiserver([ks("infra")])
    env = kube_env(server)
    rv = server.store.resource_version
    server.update_status("Kustomization", FS, "infra", lambda o: o["metadata"].update(labels={"x": "1"}))
    server.store.compact()
    out = subprocess.run([env["KUBECTL"], "get", "--raw", f"{KS_PATH}?watch=1&resourceVersion={rv}"],
                         env=env, capture_output=True, text=True, timeout=30)
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(e["type"], e["object"]["code"], e["object"]["reason"]) for e in events] == [("ERROR", 410, "Expired")]


def test_watch_forbidden_by_rbac(apiserver, kube_env):
    server = apiserver([ks("infra")], forbid=[Forbid(["watch"], "kustomizations")])
    env = kube_env(server)
    out = subprocess.run([env["KUBECTL"], "get", "--raw", f"{KS_PATH}?watch=1"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert 'cannot watch resource "kustomizations"' in out.stderr


# --------------------------------------------------------------------------- runner.stream, JsonStream

def test_stream_delivers_lines_exit_status_and_stderr():
    lines, ended = [], []
    s = runner.stream([sys.executable, "-c", "import sys, time\nfor i in range(3): print(i, flush=True); "
                       "time.sleep(0.05)\nsys.stderr.write('token: hunter2 boom\\n'); sys.exit(3)"],
                      lines.append, on_exit=ended.append)
    assert s.wait(10)
    assert lines == ["0\n", "1\n", "2\n"]
    assert s.exit_code == 3 and ended == [s]
    assert s.stderr == "token: <redacted> boom\n"


def test_stream_stop_ends_the_process_and_is_idempotent():
    s = runner.stream([sys.executable, "-c", "import time; time.sleep(60)"], lambda line: None)
    assert s.running
    s.stop()
    assert not s.running and s.exit_code == -signal.SIGTERM
    s.stop()
    assert not _alive(s.pid)


def test_stream_kills_what_ignores_sigterm():
    s = runner.stream([sys.executable, "-c", "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                       "print('ready', flush=True)\ntime.sleep(60)"], lambda line: ready.set())
    ready = threading.Event()
    assert ready.wait(10)
    s.STOP_GRACE = 0.2
    s.stop()
    assert s.exit_code == -signal.SIGKILL


def test_stream_takes_argv_only():
    with pytest.raises(TypeError):
        runner.stream("kubectl get --raw /", print)
    with pytest.raises(CommandNotFound):
        runner.stream(["/nonexistent/kubectl", "get"], print)


def test_json_stream_decodes_documents_in_any_pieces():
    d = JsonStream()
    assert d.feed('{"type": "ADDED", "object": {"a": 1}}\n{"type": "MOD') == [{"type": "ADDED", "object": {"a": 1}}]
    assert d.feed('IFIED", "object": {}}\n') == [{"type": "MODIFIED", "object": {}}]
    pretty = json.dumps({"kind": "Kustomization", "metadata": {"name": "x"}}, indent=4)
    docs = []
    for line in (pretty + "\n" + pretty + "\n").splitlines(keepends=True):
        docs += d.feed(line)
    assert [doc["metadata"]["name"] for doc in docs] == ["x", "x"]
    with pytest.raises(ValueError):
        d.feed("<html>502 Bad Gateway</html>\n")


# --------------------------------------------------------------------------- KindWatch

@pytest.fixture
def kind_watch(apiserver, kubectl_path, tmp_path, kube_env):
    """kind_watch(objects) -> (server, KindWatch of Kustomizations, [change notifications])."""
    made = []
    pool = ThreadPoolExecutor(2)

    def make(objects, **server_options):
        server = apiserver(objects, **server_options)
        env = kube_env(server)
        kubectl = Kubectl(KubeOptions(kubectl=kubectl_path, kubeconfig=env["KUBECONFIG"]))
        reader = ObjectReader(kubectl, {KUSTOMIZATION: "kustomize.toolkit.fluxcd.io/v1"}, pool)
        changes = []
        watch = KindWatch(KUSTOMIZATION, reader, kubectl, lambda: changes.append(time.monotonic()))
        made.append(watch)
        return server, watch, changes
    yield make
    for watch in made:
        watch.stop()
    pool.shutdown()


def until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def handled(watch, name):
    obj = watch.get(ObjectRef(KUSTOMIZATION, FS, name))
    return obj is not None and obj.last_handled_reconcile_at


def test_kind_watch_lists_then_follows(kind_watch):
    server, watch, changes = kind_watch([ks("infra")])
    until(lambda: watch.live)
    assert watch.get(ObjectRef(KUSTOMIZATION, FS, "infra")) is not None
    until(lambda: server.requests_matching("GET", KS_PATH + "$", watch="1"))
    server.set_object(ks("apps"))
    until(lambda: watch.get(ObjectRef(KUSTOMIZATION, FS, "apps")) is not None)
    server.delete_object("Kustomization", FS, "infra")
    until(lambda: watch.get(ObjectRef(KUSTOMIZATION, FS, "infra")) is None)
    assert changes
    assert len(server.requests_matching("GET", KS_PATH + "$", watch="1")) == 1


def test_kind_watch_resumes_from_the_last_version_when_the_process_dies(kind_watch):
    server, watch, _ = kind_watch([ks("infra")])
    until(lambda: server.requests_matching("GET", KS_PATH + "$", watch="1"))
    server.update_status("Kustomization", FS, "infra",
                         lambda o: o.setdefault("status", {}).update(lastHandledReconcileAt="1"))
    until(lambda: handled(watch, "infra") == "1")
    seen = server.store.resource_version
    os.kill(watch._proc.pid, signal.SIGKILL)
    until(lambda: len(server.requests_matching("GET", KS_PATH + "$", watch="1")) == 2)
    assert server.requests_matching("GET", KS_PATH + "$", watch="1")[1].query["resourceVersion"] == seen
    server.update_status("Kustomization", FS, "infra",
                         lambda o: o.setdefault("status", {}).update(lastHandledReconcileAt="2"))
    until(lambda: handled(watch, "infra") == "2")
    assert watch.live and watch.failed is None
    lists = [r for r in server.requests_matching("GET", KS_PATH + "$") if "watch" not in r.query]
    assert len(lists) == 1, "resuming needs no new list"


def test_kind_watch_relists_after_410(kind_watch):
    server, watch, _ = kind_watch([ks("infra")])
    until(lambda: server.requests_matching("GET", KS_PATH + "$", watch="1"))
    pid = watch._proc.pid
    # A change the stopped process never passes on, then the history is compacted away:
    # resuming from the last version seen gets 410 Gone.
    os.kill(pid, signal.SIGSTOP)
    server.set_object(ks("apps"))
    server.store.compact()
    os.kill(pid, signal.SIGKILL)
    until(lambda: watch.get(ObjectRef(KUSTOMIZATION, FS, "apps")) is not None)
    lists = [r for r in server.requests_matching("GET", KS_PATH + "$") if "watch" not in r.query]
    assert len(lists) == 2 and watch.live


# With a fake runner (no processes): what KindWatch makes of a watch's exit and stderr.
# The real kubectl's words for these cases are checked above (test_watch_forbidden_by_rbac).

class FakeStream:
    """A runner.Stream that plays a script: `lines` go to on_line when the watch waits
    for the process, then it ends with `exit_code` and `stderr`; `hold` keeps it running
    until stopped."""

    def __init__(self, on_line, lines=(), exit_code=0, stderr="", hold=False):
        self.on_line, self.lines, self.hold = on_line, list(lines), hold
        self.result = (exit_code, stderr)
        self.exit_code, self.stderr = None, ""
        self._stopped = threading.Event()

    @property
    def running(self):
        return self.exit_code is None

    def wait(self, timeout=None):
        for line in self.lines:
            if self._stopped.is_set() or self.on_line(line):
                break
        if self.hold:
            self._stopped.wait(timeout)
        self.exit_code, self.stderr = self.result
        return True

    def stop(self, wait=True):
        self._stopped.set()


class Scripted:
    """A fake kubectl for one KindWatch: `lists` answer `get --raw` lists in turn (the
    last one repeats); each watch started plays the next of `watches` (kwargs of FakeStream)."""

    def __init__(self, lists, watches):
        self.lists, self.watches = list(lists), list(watches)
        self.list_calls, self.watch_argvs = [], []

    def run(self, argv, **kwargs):
        self.list_calls.append(argv)
        items, rv = self.lists.pop(0) if len(self.lists) > 1 else self.lists[0]
        doc = {"kind": "KustomizationList", "metadata": {"resourceVersion": rv}, "items": items}
        return runner.Result(tuple(argv), json.dumps(doc), "", 0)

    def stream(self, argv, on_line):
        self.watch_argvs.append(argv)
        return FakeStream(on_line, **(self.watches.pop(0) if self.watches else {"hold": True}))


@pytest.fixture
def scripted_watch():
    """scripted_watch(lists, watches) -> (Scripted, KindWatch of Kustomizations)."""
    made = []

    def make(lists, watches):
        fake = Scripted(lists, watches)
        kubectl = Kubectl(KubeOptions(), run=fake.run, stream=fake.stream)
        reader = ObjectReader(kubectl, {KUSTOMIZATION: "kustomize.toolkit.fluxcd.io/v1"}, None)
        watch = KindWatch(KUSTOMIZATION, reader, kubectl, lambda: None)
        made.append(watch)
        return fake, watch
    yield make
    for watch in made:
        watch.stop()


def event(kind, obj):
    return json.dumps({"type": kind, "object": obj}) + "\n"


def test_kind_watch_gives_up_when_forbidden(scripted_watch):
    refusal = ('Error from server (Forbidden): kustomizations.kustomize.toolkit.fluxcd.io is forbidden: '
               'User "jane" cannot watch resource "kustomizations" in API group '
               '"kustomize.toolkit.fluxcd.io" at the cluster scope\n')
    fake, watch = scripted_watch([([ks("infra")], "5")], [{"exit_code": 1, "stderr": refusal}])
    until(lambda: watch.failed)
    assert "forbidden" in watch.failed and not watch.live
    assert len(fake.watch_argvs) == 1, "no retry of a refusal"


def test_kind_watch_retries_a_failed_start(scripted_watch):
    error = 'Error from server (InternalError): an error on the server ("") has prevented the request\n'
    fake, watch = scripted_watch([([ks("infra")], "5")],
                                 [{"exit_code": 1, "stderr": error},
                                  {"lines": [event("ADDED", {**ks("apps"), "metadata": {
                                      **ks("apps")["metadata"], "resourceVersion": "6"}})], "hold": True}])
    until(lambda: watch.get(ObjectRef(KUSTOMIZATION, FS, "apps")) is not None)
    assert len(fake.watch_argvs) == 2 and watch.failed is None
    assert all("resourceVersion=5" in argv[-1] for argv in fake.watch_argvs), "resumed, not relisted"
    assert len(fake.list_calls) == 1


# --------------------------------------------------------------------------- ObjectReader and RBAC

def forbidden_list(plural, group):
    return (f'Error from server (Forbidden): {plural}.{group} is forbidden: User "jane" cannot list '
            f'resource "{plural}" in API group "{group}" at the cluster scope\n')


KS_GROUP = "kustomize.toolkit.fluxcd.io"


def ks_list(*namespaces):
    doc = {"kind": "List", "metadata": {"resourceVersion": "1"},
           "items": [ks("apps", namespace=ns) for ns in namespaces]}
    return json.dumps(doc)


def test_reader_lists_per_namespace_once_cluster_wide_is_forbidden():
    calls = []

    def run(argv, **kwargs):
        calls.append(argv[-1])
        if argv[-1] == KS_PATH:
            raise CommandFailed("kubectl get failed", argv, 1, forbidden_list("kustomizations", KS_GROUP))
        return runner.Result(tuple(argv), ks_list(argv[-1].split("/")[-2]), "", 0)
    kubectl = Kubectl(KubeOptions(), run=run)
    with ThreadPoolExecutor(2) as pool:
        reader = ObjectReader(kubectl, {KUSTOMIZATION: f"{KS_GROUP}/v1"}, pool)
        refs = [ObjectRef(KUSTOMIZATION, "team-b", "apps"), ObjectRef(KUSTOMIZATION, "team-a", "apps")]
        with pytest.raises(ClusterError, match="cluster-wide is forbidden; reading per namespace"):
            reader.read(refs)
        found = reader.read(refs)
    assert all(found[r] is not None for r in refs)
    assert calls == [KS_PATH, f"/apis/{KS_GROUP}/v1/namespaces/team-a/kustomizations",
                     f"/apis/{KS_GROUP}/v1/namespaces/team-b/kustomizations"]


def test_reader_reads_per_namespace_what_the_graph_read_could_not_list():
    # One Kubectl, one memory: a kind the graph read found forbidden cluster-wide is
    # read per namespace by the reconcile's reader from its first poll.
    calls = []

    def run(argv, **kwargs):
        calls.append(argv[1:])
        if argv[1:3] == ["get", "namespaces"]:
            return runner.Result(tuple(argv), "team-a team-b", "", 0)
        if "-A" in argv:
            return runner.Result(tuple(argv), "", forbidden_list("kustomizations", KS_GROUP), 1)
        if "-n" in argv:
            return runner.Result(tuple(argv), ks_list(argv[argv.index("-n") + 1]), "", 0)
        return runner.Result(tuple(argv), ks_list(argv[-1].split("/")[-2]), "", 0)
    kubectl = Kubectl(KubeOptions(), run=run)
    fetched = kubectl.flux_objects()
    assert fetched.namespaces_read == ["team-a", "team-b"] and len(fetched.items) == 2
    del calls[:]
    with ThreadPoolExecutor(2) as pool:
        reader = ObjectReader(kubectl, {KUSTOMIZATION: f"{KS_GROUP}/v1"}, pool)
        found = reader.read([ObjectRef(KUSTOMIZATION, "team-a", "apps")])
    assert found[ObjectRef(KUSTOMIZATION, "team-a", "apps")] is not None
    assert calls == [["get", "--raw", f"/apis/{KS_GROUP}/v1/namespaces/team-a/kustomizations"]]


# --------------------------------------------------------------------------- reconcile through watches

def reconcile(env, *args):
    return invoke(["reconcile", "--no-flux", *args], env=env)


def list_reads(server, plural="kustomizations"):
    """The reconcile's own list reads: after the graph read (the first read of the kind:
    paged by `kubectl get`, or one `kubectl get --raw`)."""
    reads = [r for r in server.requests_matching("GET", f"/{plural}$") if "watch" not in r.query]
    return [r for r in reads[1:] if "limit" not in r.query]


def test_reconcile_reads_through_one_watch_per_kind(apiserver, kube_env):
    names = [f"level{i}" for i in range(6)]
    server = apiserver([git()] + [ks(n, depends_on=[names[i - 1]] if i else []) for i, n in enumerate(names)],
                       controller=True, controller_options={"delay": 0.05, "requeue_interval": 0.5})
    out = reconcile(kube_env(server))
    assert out.code == 0, out.stderr
    assert len(server.requests_matching("GET", "/kustomizations$", watch="1")) == 1
    assert len(server.requests_matching("GET", "/gitrepositories$", watch="1")) == 1
    # one list to start each watch; the 6 hops were seen on the watch, not by polling
    assert len(list_reads(server)) == 1 and len(list_reads(server, "gitrepositories")) == 1
    assert not watch_processes(server)


def test_reconcile_falls_back_to_polling_when_watch_is_forbidden(apiserver, kube_env):
    server = apiserver([git(), ks("infra"), ks("apps", depends_on=["infra"], delay=0.3)],
                       controller=True, forbid=[Forbid(["watch"], "kustomizations")])
    out = invoke(["reconcile", "--no-flux", "--debug"], env=kube_env(server))
    assert out.code == 0, out.stderr
    assert "watch of kustomizations not available" in out.stderr and "reading them by listing" in out.stderr
    assert len(list_reads(server)) > 2
    assert "watch of gitrepositories not available" not in out.stderr


def test_reconcile_falls_back_when_the_watch_prints_garbage(apiserver, kube_env):
    server = apiserver([git(), ks("infra", delay=1.0), ks("apps", depends_on=["infra"])], controller=True)
    server.add_fault(r"kustomizations\?.*watch=1", kind="garbage")
    out = invoke(["reconcile", "--no-flux", "--debug"], env=kube_env(server))
    assert out.code == 0, out.stderr
    assert "not a watch event" in out.stderr
    assert not watch_processes(server)


# --------------------------------------------------------------------------- no process left behind

def watch_processes(server):
    """Live processes watching `server` (their KUBECONFIG points at a file naming its URL)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or not any(b"watch=1" in a for a in argv):
            continue
        config = next((e.split(b"=", 1)[1] for e in environ if e.startswith(b"KUBECONFIG=")), None)
        try:
            if config and server.url in Path(config.decode()).read_text():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_no_watch_outlives_a_failed_run(apiserver, kube_env):
    server = apiserver([git(), ks("bad", annotations={"depgraph.test/outcome": "fail"}),
                        ks("after", depends_on=["bad"])], controller=True)
    out = reconcile(kube_env(server))
    assert out.code == 1
    assert server.requests_matching("GET", "/kustomizations$", watch="1")
    assert not watch_processes(server)


def test_no_watch_outlives_ctrl_c(apiserver, kube_env):
    server = apiserver([git(), ks("slow", delay=30)], controller=True)
    env = kube_env(server)
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_depgraph", "reconcile", "--no-flux"], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until(lambda: server.controller.handled("Kustomization", FS, "slow"), timeout=30)
        until(lambda: watch_processes(server))
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout
    until(lambda: not watch_processes(server), timeout=5)


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
