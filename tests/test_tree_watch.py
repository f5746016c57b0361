"""tree --watch through the real kubectl against the API-server double: pipe-mode lines
(goldens with times as a placeholder), the live screen on a pseudo-terminal of a fixed size
(its final frame read back by interpreting the escape sequences the program writes),
--exit-when-ready, --timeout, Ctrl-C, the usage errors, and no writes to the cluster."""

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest

from kubectl_depgraph.render import live as live_render
from tests.apiserver import (TEST_DELAY, TEST_OUTCOME, Forbid, helmrelease, kustomization, set_condition,
                             source)
from tests.clirun import ROOT, invoke
from tests.test_watch import watch_processes

FS = "flux-system"
NOW = {"DEPGRAPH_NOW": "2026-11-21T12:00:00Z"}
TIMES = re.compile(r"\d+m\d\ds|\d+\.\ds")


def waiting(obj, on):
    """`obj` not ready: DependencyNotReady on `on` (None: Ready=Unknown, Progressing)."""
    obj["status"]["conditions"] = []
    if on:
        set_condition(obj, "Ready", "False", "DependencyNotReady", f"dependency '{FS}/{on}' is not ready")
    else:
        set_condition(obj, "Ready", "Unknown", "Progressing", "Reconciliation in progress")
    return obj


def chain(delay=0.6, hr_outcome="ready"):
    """infra ← apps ← tenants (Kustomizations) and web (a HelmRelease: those depend on
    HelmReleases only), none ready yet."""
    def ks(name, on=None, **kw):
        return waiting(kustomization(name, annotations={TEST_DELAY: str(delay)}, **kw), on)
    return [source("GitRepository", FS), source("HelmRepository", "charts"),
            ks("infra"), ks("apps", "infra", depends_on=["infra"]),
            ks("tenants", "apps", depends_on=["apps"]),
            waiting(helmrelease("web", annotations={TEST_DELAY: str(delay), TEST_OUTCOME: hr_outcome}), None)]


DEPENDENTS = [("Kustomization", "infra"), ("Kustomization", "apps"), ("Kustomization", "tenants"),
              ("HelmRelease", "web")]


def request_all(server):
    for kind, name in DEPENDENTS:
        server.controller.request(kind, FS, name)


@pytest.fixture
def cluster(apiserver, kube_env):
    """cluster(objects, controller=False) -> (server, env)."""
    def start(objects, controller=False):
        options = {"controller": True, "controller_options": {"delay": 0.05, "requeue_interval": 0.3}} \
            if controller else {}
        server = apiserver(objects, **options)
        return server, {**kube_env(server), **NOW}
    return start


def start(env, *args, **popen):
    return subprocess.Popen([sys.executable, "-m", "kubectl_depgraph", "tree", "--watch", *args],
                            env=env, cwd=ROOT, start_new_session=True, **popen)


def until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


class Piped:
    """The program with stdout on a pipe, its lines read as they come (a reader thread)."""

    def __init__(self, env, *args):
        self.proc = start(env, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_lines(self, n, timeout=20.0):
        until(lambda: len(self.lines) >= n, timeout)

    def finish(self, timeout=30):
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return self.proc.returncode, "".join(self.lines), self.proc.stderr.read()


def placeholders(text):
    return TIMES.sub("<t>", text)


def set_ready(server, kind, name, revision="main@sha1:" + "a" * 40):
    def fn(o):
        o["status"]["conditions"] = []
        if kind == "HelmRelease":
            set_condition(o, "Ready", "True", "InstallSucceeded", f"Helm install succeeded for release {FS}/{name}.v1")
        else:
            o["status"]["lastAppliedRevision"] = revision
            set_condition(o, "Ready", "True", "ReconciliationSucceeded", f"Applied revision: {revision}")
    server.update_status(kind, FS, name, fn)


def set_progressing(server, kind, name):
    server.update_status(kind, FS, name, lambda o: waiting(o, None))


# --------------------------------------------------------------------------- pipe mode

def test_pipe_lines_golden_until_ready(cluster, golden):
    """Initial states in rollout order, then one line per change; each object that turns
    Ready says how long it took; exit 0 once everything is Ready."""
    server, env = cluster(chain())
    run = Piped(env, "--exit-when-ready", "--timeout", "60s")
    run.wait_lines(4)
    steps = [("Kustomization", "infra", set_ready), ("Kustomization", "apps", set_progressing),
             ("Kustomization", "apps", set_ready), ("Kustomization", "tenants", set_ready),
             ("HelmRelease", "web", set_ready)]
    for n, (kind, name, step) in enumerate(steps[:-1]):
        step(server, kind, name)
        run.wait_lines(5 + n)
    steps[-1][2](server, steps[-1][0], steps[-1][1])
    code, out, err = run.finish()
    assert (code, err) == (0, ""), out + err
    golden.check("watch/pipe-ready.txt", placeholders(out))
    assert not server.writes(), "tree --watch is read-only"


def test_pipe_exit_when_ready_fails_on_a_failure_with_why(cluster, golden):
    server, env = cluster(chain())
    run = Piped(env, "--exit-when-ready")
    run.wait_lines(4)
    set_ready(server, "Kustomization", "infra")
    run.wait_lines(5)
    set_ready(server, "Kustomization", "apps")
    run.wait_lines(6)

    def failed(o):
        o["status"]["conditions"] = []
        set_condition(o, "Ready", "False", "InstallFailed", "Helm install failed for release flux-system/web: "
                                                            "context deadline exceeded")
    server.update_status("HelmRelease", FS, "web", failed)
    code, out, err = run.finish()
    assert (code, err) == (1, ""), out + err
    golden.check("watch/pipe-failed.txt", placeholders(out))
    assert not server.writes()


def test_pipe_with_the_controller_converging(cluster):
    """The simulated controller reconciles the chain (DependencyNotReady, requeue, Ready):
    each object's Ready line comes after its dependencies' and carries its time."""
    server, env = cluster(chain(delay=0.3), controller=True)
    run = Piped(env, "--exit-when-ready", "--timeout", "60s")
    run.wait_lines(4)
    until(lambda: watch_processes(server))   # requested once watching: the changes are seen live
    request_all(server)
    code, out, err = run.finish(timeout=60)
    assert (code, err) == (0, ""), out + err
    ready = [line for line in out.splitlines() if "(took " in line]
    names = [re.search(r"(ks|hr)/flux-system/(\S+)", line).group(2) for line in ready]
    assert names.index("infra") < names.index("apps") < names.index("tenants")
    assert len(names) == 4
    took = [float(re.search(r"took (\d+\.\d)s", line).group(1)) for line in ready]
    stamps = [float(re.match(r"\[\s*(\d+\.\d)s\]", line).group(1)) for line in ready]
    assert took == stamps and took == sorted(took)
    assert out.splitlines()[-1].startswith("ready: 4/4 ready, 0 waiting, 0 failed after ")
    assert not server.writes()


def test_timeout_exits_1_with_a_summary(cluster):
    server, env = cluster(chain())
    began = time.monotonic()
    run = Piped(env, "--timeout", "2s")
    code, out, err = run.finish()
    assert code == 1 and err == ""
    assert 2 <= time.monotonic() - began < 15
    last = out.splitlines()
    assert last[4] == "timed out after 2.0s: 0/4 ready, 4 waiting, 0 failed after " + last[4].rsplit(" ", 1)[1]
    assert last[5].startswith("  ↻ hr/flux-system/web progressing")


def test_objects_of_other_kinds_are_followed(apiserver, kube_env):
    """A Kustomization waiting on a CRD (cross-kind dependsOn): the CRD turning Established
    while the watch runs shows, the CRD re-listed every few seconds (it is not watched)."""
    from tests.apiserver import CROSS_KIND_GROUPS, crd
    name = "widgets.example.com"
    ks = waiting(kustomization("widgets", depends_on=[
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "name": name}]), None)
    server = apiserver([source("GitRepository", FS), ks, crd(name, established=False)], groups=CROSS_KIND_GROUPS)
    run = Piped({**kube_env(server), **NOW}, "--timeout", "20s")
    run.wait_lines(2)
    assert "↻ CustomResourceDefinition/widgets.example.com progressing" in run.lines[0]

    def established(o):
        o["status"]["conditions"] = []
        set_condition(o, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted")
    server.update_status("CustomResourceDefinition", None, name, established)
    until(lambda: any("✔ CustomResourceDefinition/widgets.example.com ready" in line for line in run.lines))
    os.killpg(run.proc.pid, signal.SIGINT)
    code, out, err = run.finish()
    assert code == 130 and "Traceback" not in err, err


def test_listing_when_watching_is_forbidden(cluster):
    """RBAC without `watch` on Kustomizations: they are listed every few seconds instead,
    and the change still shows."""
    server, env = cluster(chain())
    server.forbid.append(Forbid(["watch"], "kustomizations"))
    run = Piped(env, "--exit-when-ready", "--timeout", "30s", "--debug")
    run.wait_lines(4)
    until(lambda: any(r.status == 403 for r in server.requests_matching("GET", "/kustomizations$", watch="1")))
    for kind, name in DEPENDENTS:
        set_ready(server, kind, name)
    code, out, err = run.finish()
    assert code == 0, out + err
    assert len([line for line in out.splitlines() if "(took " in line]) == 4
    assert "watch of kustomizations not available" in err and "Traceback" not in err
    assert server.requests_matching("GET", "/kustomizations$", watch="1")
    assert not server.writes()


def test_narrowed_to_a_name(cluster):
    server, env = cluster(chain())
    run = Piped(env, "tenants", "--timeout", "1s")
    code, out, err = run.finish()
    assert code == 1
    assert [line.split("] ", 1)[1].split("  ")[0] for line in out.splitlines()[:1]] == \
        ["◎ ks/flux-system/tenants waiting"]
    assert "0/1 ready" in out


def test_nothing_to_watch_says_so(cluster):
    server, env = cluster([source("GitRepository", FS)])
    run = Piped(env, "--exit-when-ready")
    assert run.finish() == (0, "no Flux Kustomizations or HelmReleases found in the cluster\n", "")


# --------------------------------------------------------------------------- usage errors

@pytest.mark.parametrize("args, message", [
    (["--watch", "-f", "x.yaml"], "error: --watch follows the live cluster; it cannot read -f/--path"),
    (["--watch", "--path", "."], "error: --watch follows the live cluster; it cannot read -f/--path"),
    (["--watch", "-o", "json"], "error: --watch draws the tree; -o json cannot be watched"),
    (["--exit-when-ready"], "error: --exit-when-ready and --timeout go with --watch"),
    (["--watch", "--timeout", "soon"], "error: invalid --timeout 'soon'"),
])
def test_usage_errors(args, message):
    out = invoke(["tree", *args])
    assert out.code == 2 and out.stdout == ""
    lines = out.stderr.splitlines()
    assert lines[0] == message and lines[1].startswith("hint: ") and len(lines) == 2


# --------------------------------------------------------------------------- a real terminal

class Terminal:
    """Just enough of a VT100 for what tree --watch writes: the alternate screen, cursor
    home, clear to the end of the line and of the screen, \\r and \\n, colours ignored."""

    SEQ = re.compile(r"\x1b\[(\??)([0-9;]*)([A-Za-z])")

    def __init__(self, rows, columns):
        self.rows, self.columns = rows, columns
        self.main = [""] * rows
        self.alt = [""] * rows
        self.screen = self.main
        self.row = self.col = 0
        self.sequences = []

    def feed(self, text):
        pos = 0
        while pos < len(text):
            m = self.SEQ.match(text, pos) if text[pos] == "\x1b" else None
            if m:
                self._escape(*m.groups())
                self.sequences.append(m.group(0))
                pos = m.end()
                continue
            ch = text[pos]
            pos += 1
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.row += 1
                if self.row >= self.rows:   # scrolls
                    del self.screen[0]
                    self.screen.append("")
                    self.row = self.rows - 1
            else:
                line = self.screen[self.row].ljust(self.col)
                self.screen[self.row] = line[:self.col] + ch + line[self.col + 1:]
                self.col += 1
                assert self.col <= self.columns, f"line wider than {self.columns}: {self.screen[self.row]!r}"

    def _escape(self, private, params, final):
        if private and params == "1049":   # the cursor is saved on the way in, restored on the way out
            if final == "h":
                self.saved = (self.row, self.col)
                self.alt[:] = [""] * self.rows
                self.screen = self.alt
            else:
                self.screen = self.main
                self.row, self.col = self.saved
        elif final == "H":
            self.row = self.col = 0
        elif final == "K":
            self.screen[self.row] = self.screen[self.row][:self.col]
        elif final == "J":
            self.screen[self.row + 1:] = [""] * (self.rows - self.row - 1)


def watch_on_a_terminal(env, args, rows, columns, until_screen, then=None, timeout=40):
    """Run tree --watch on a pty of rows×columns; once until_screen(alternate screen lines)
    holds call then() (e.g. to press Ctrl-C); (exit code, Terminal, stderr, first frame seen).
    Unlike clirun.on_a_terminal it reads as the program runs, so a test can act mid-way."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    proc = start({**env, "NO_COLOR": "1"}, *args, stdout=slave, stderr=subprocess.PIPE, text=True)
    os.close(slave)
    term = Terminal(rows, columns)
    decoder = __import__("codecs").getincrementaldecoder("utf-8")()
    fired, seen = False, None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                term.feed(decoder.decode(data))
            if not fired and until_screen(term.alt):
                fired, seen = True, list(term.alt)
                if then is not None:
                    then(proc)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(master)
    return proc.returncode, term, proc.stderr.read(), seen


def test_live_screen_converges_on_a_small_terminal(cluster):
    """On a 60×10 terminal: lines fit the width, the status line is on the bottom row, each
    object's line says how long it took to turn Ready, and the terminal is given back."""
    server, env = cluster(chain(delay=0.3), controller=True)
    requested = []

    def go(alt):
        if not requested and any("ks/flux-system/infra" in line for line in alt) and watch_processes(server):
            requested.append(1)
            request_all(server)
        return "4/4 ready" in alt[-1]
    code, term, err, seen = watch_on_a_terminal(env, ["--exit-when-ready"], 10, 60, go)
    assert code == 0 and "Traceback" not in err, err
    print("\n".join(seen))
    assert len(seen) == 10 and max(len(line) for line in seen) <= 60
    assert seen[-1].startswith("4/4 ready · 0 waiting · 0 failed · ")
    tree_lines = [line for line in seen if "/flux-system/" in line]
    assert [re.search(r"(ks|hr)/flux-system/\S+", line).group(0) for line in tree_lines] == [
        "hr/flux-system/web", "ks/flux-system/infra", "ks/flux-system/apps", "ks/flux-system/tenants"]
    assert all(re.search(r" ready .*\(\d+\.\ds\)$|…$", line) for line in tree_lines), tree_lines
    assert tree_lines[1].startswith("✔ ks/flux-system/infra ready  main@sha1:")
    # Given back: the cursor shown and the main screen restored, the last tree and the summary on it.
    assert term.sequences[-2:] == ["\x1b[?25h", "\x1b[?1049l"] or \
        term.sequences.index("\x1b[?1049l") > term.sequences.index("\x1b[?1049h")
    main = [line for line in term.main if line]
    assert main[-1].startswith("ready: 4/4 ready, 0 waiting, 0 failed after ")
    assert not server.writes()


def test_a_tall_tree_scrolls_to_what_changes(cluster):
    """12 independent Kustomizations on 8 rows: the one that changes is on the screen."""
    objects = [source("GitRepository", FS)] + \
        [waiting(kustomization(f"k{i:02d}"), None) for i in range(12)]
    server, env = cluster(objects)
    changed = []

    def go(alt):
        if not changed and any("k00" in line for line in alt):
            changed.append(1)
            set_ready(server, "Kustomization", "k10")
        return changed and any("k10 ready" in line for line in alt)
    code, term, err, seen = watch_on_a_terminal(env, ["--timeout", "30s"], 8, 70, go,
                                          then=lambda p: os.killpg(p.pid, signal.SIGINT))
    assert code == 130, err
    print("\n".join(seen))
    assert seen[0].startswith("… ") and seen[0].endswith(" lines above")
    assert any(line.startswith("✔ ks/flux-system/k10 ready  main@sha1:") and line.endswith("s)")
               for line in seen)
    assert seen[-1].startswith("1/12 ready · 11 waiting · 0 failed")


def test_ctrl_c_gives_the_terminal_back(cluster):
    server, env = cluster(chain(), controller=True)
    code, term, err, seen = watch_on_a_terminal(
        env, [], 24, 80, lambda alt: "0/4 ready" in alt[-1] and watch_processes(server),
        then=lambda p: os.killpg(p.pid, signal.SIGINT))
    assert code == 130
    assert "Traceback" not in err
    assert term.sequences[-2:] == ["\x1b[?25h", "\x1b[?1049l"]
    main = [line for line in term.main if line]
    assert main[-1].startswith("  ") and any(line.startswith("interrupted: 0/4 ready") for line in main)
    until(lambda: not watch_processes(server), timeout=5)
    assert not server.writes()


def test_sigterm_gives_the_terminal_back_too(cluster):
    server, env = cluster(chain(), controller=True)
    code, term, err, seen = watch_on_a_terminal(
        env, [], 24, 80, lambda alt: "0/4 ready" in alt[-1] and watch_processes(server),
        then=lambda p: os.kill(p.pid, signal.SIGTERM))
    assert code == 130 and "Traceback" not in err, err
    assert term.sequences[-2:] == ["\x1b[?25h", "\x1b[?1049l"]
    assert any(line.startswith("terminated: 0/4 ready") for line in term.main)
    until(lambda: not watch_processes(server), timeout=5)


def test_ctrl_c_in_pipe_mode(cluster):
    server, env = cluster(chain())
    run = Piped(env)
    run.wait_lines(4)
    until(lambda: watch_processes(server))
    os.killpg(run.proc.pid, signal.SIGINT)
    code, out, err = run.finish()
    assert code == 130 and "Traceback" not in err, err
    assert "interrupted: 0/4 ready, 4 waiting, 0 failed after " in out
    until(lambda: not watch_processes(server), timeout=5)


def test_status_line_counts():
    from kubectl_depgraph.graph import DepGraph
    from kubectl_depgraph.model import parse_object
    objs = [parse_object(o) for o in chain()]
    graph = DepGraph.from_objects([o for o in objs if o is not None])
    assert live_render.status_line(live_render.tally(graph), 3.04) == \
        "0/4 ready · 4 waiting · 0 failed · 3.0s"


def test_screen_frame_scrolls_and_fits():
    """render/live.screen alone: a 6-row frame of 12 objects around the one in focus,
    each line cut to 40 columns, the status line on the last row."""
    from kubectl_depgraph.graph import DepGraph
    from kubectl_depgraph.model import parse_object
    from kubectl_depgraph.render.style import Style
    objs = [parse_object(waiting(kustomization(f"k{i:02d}"), None)) for i in range(12)]
    graph = DepGraph.from_objects(objs)
    focus = objs[8].ref
    frame = live_render.screen(graph, {focus: 2.5}, 3.0, Style(width=40), 6, focus=focus)
    assert frame.startswith(live_render.HOME) and frame.endswith(live_render.CLEAR_LINE + live_render.CLEAR_BELOW)
    rows = frame[len(live_render.HOME):-len(live_render.CLEAR_LINE + live_render.CLEAR_BELOW)] \
        .split(live_render.CLEAR_LINE + "\n")
    assert rows == ["… 8 lines above",
                    "↻ ks/flux-system/k08 progressing  Progr…",
                    "↻ ks/flux-system/k09 progressing  Progr…",
                    "… 2 lines below",
                    "",
                    "0/12 ready · 12 waiting · 0 failed · 3.…"]
