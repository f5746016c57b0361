"""kubectl depgraph tree --watch: the dependency graph converging, live.

One list (the same read as `tree`), then one watch per kind (acquire/watch.Watches, as
reconcile reads; kinds whose watch is refused are listed every few seconds instead). On
a terminal the tree is redrawn in place on the alternate screen; elsewhere one line per
change. Read-only: nothing is written to the cluster."""

import dataclasses
import os
import shutil
import signal
import sys
import termios
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import click

from kubectl_depgraph.cli.common import empty_sentence, load_graph
from kubectl_depgraph.errors import FAILED, INTERRUPTED, OK, DepgraphError, UsageError
from kubectl_depgraph.judge.status import State, classify
from kubectl_depgraph.render import live
from kubectl_depgraph.render.style import Style
from kubectl_depgraph.render.tree import node_label
from kubectl_depgraph.timeutil import parse_duration

TICK = 0.5          # seconds between redraws when nothing changes (the elapsed clock moves)
LIST_EVERY = 2.0    # seconds between lists of the kinds whose watch is not available


def watch_tree(common, names, *, watch, output, reverse, depth, sources, exit_when_ready, timeout):
    """Run `tree --watch` until Ctrl-C, --timeout or (--exit-when-ready) the selection is
    all Ready or one object fails for good; the exit code."""
    limit = _check_options(common, watch, output, exit_when_ready, timeout)
    began = time.monotonic()
    inventory, graph = load_graph(common)
    view = common.resolve(graph, names)
    for ref in view.starts:
        if ref not in graph:   # a source, as for tree
            raise UsageError(f"{ref.short} is a source; tree starts from Kustomizations and "
                             "HelmReleases", hint="tree --sources shows the source of each object")
    if not len(graph.subgraph(view.shown(graph, reverse))):
        click.echo(empty_sentence(common, inventory))   # objects created later are not followed
        return OK
    session = _Session(common, inventory.objects, graph, view, reverse)
    screen = _Screen(common.style, depth=depth, sources=sources, starts=view.starts or None,
                     reverse=reverse) if sys.stdout.isatty() else _Lines(common.style)
    outcome, code = "interrupted", INTERRUPTED
    previous = signal.signal(signal.SIGTERM, _terminated)   # kill: give the terminal back too
    try:
        screen.begin()
        while True:
            changed = session.refresh()
            elapsed = time.monotonic() - began
            shown, full = session.graphs()
            moved = session.track(shown, elapsed) if changed or session.first else []
            screen.show(shown, session.took, elapsed, moved, session.first, session.note)
            session.first = False
            t = live.tally(shown)
            if exit_when_ready and t.all_ready:
                outcome, code = "ready", OK
                break
            if exit_when_ready and t.failed:
                outcome, code = "failed", FAILED
                break
            if limit is not None and elapsed >= limit:
                outcome = f"timed out after {live.seconds(limit)}"
                code = OK if t.all_ready else FAILED
                break
            wait = TICK if limit is None else min(TICK, max(limit - elapsed, 0.01))
            session.news.wait(wait)
            session.news.clear()
    except _Terminated:
        outcome, code = "terminated", INTERRUPTED
    except KeyboardInterrupt:
        outcome, code = "interrupted", INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        screen.end()
        session.close()
    shown, full = session.graphs()
    screen.final(shown, session.took)
    click.echo(live.summary(shown, session.took, time.monotonic() - began, outcome, common.style), nl=False)
    if code == FAILED:
        _print_whys(common, full, live.failures(shown))
    return code


class _Terminated(Exception):
    """SIGTERM during the watch: ends it like Ctrl-C (summary printed, exit 130)."""


def _terminated(signum, frame):
    raise _Terminated()


def _check_options(common, watch, output, exit_when_ready, timeout):
    """Usage errors before anything is read; the --timeout in seconds (None: none)."""
    if not watch:
        raise UsageError("--exit-when-ready and --timeout go with --watch", hint="add --watch")
    if not common.inputs.live:
        raise UsageError("--watch follows the live cluster; it cannot read -f/--path",
                         hint="drop -f/--path to watch the cluster your kubeconfig points at")
    if output != "tree":
        raise UsageError(f"--watch draws the tree; -o {output} cannot be watched",
                         hint=f"drop -o {output}, or run tree -o {output} without --watch")
    if timeout is None:
        return None
    seconds = parse_duration(timeout)
    if seconds is None or seconds <= 0:
        raise UsageError(f"invalid --timeout {timeout!r}", hint="give a duration such as 90s, 5m or 1h")
    return seconds


def _print_whys(common, graph, refs):
    from kubectl_depgraph.judge.explain import why
    from kubectl_depgraph.render.why import render_explanation
    for ref in refs:
        click.echo("")
        click.echo(render_explanation(why(graph, ref, now=common.now), common.style, now=common.now),
                   nl=False)


class _Session:
    """The objects as the watches see them, and what changed since the last look."""

    def __init__(self, common, objects, graph, view, reverse):
        from kubectl_depgraph.acquire.watch import ObjectReader, Watches, versions_of
        self.common, self.view, self.reverse = common, view, reverse
        self.objects = {o.ref: o for o in objects}
        # Missing dependsOn targets too: a watch shows them once they are created. Objects
        # of other kinds (a CRD, a Deployment) are listed again every LIST_EVERY instead.
        every = set(self.objects) | set(graph.missing)
        self.refs = sorted(r for r in every if not r.external)
        self.others = sorted(r for r in every if r.external)
        self._others_listed = time.monotonic()
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="depgraph-kubectl")
        self.reader = ObjectReader(common.kubectl, versions_of(objects), self.pool)
        self.news = threading.Event()   # set by every watch event
        self.watches = Watches(self.reader, common.kubectl, self.news.set)
        for kind in sorted({r.kind for r in self.refs}):
            self.watches.ensure(kind)
        self.first = True
        self.note = ""
        self.took = {}          # ref -> seconds from the start until it turned Ready
        self._labels = {}       # ref -> (state, label) last shown
        self._listed = 0.0
        self._graphs = (graph.subgraph(view.shown(graph, reverse)), graph)

    def refresh(self):
        """Read what the watches hold (list the kinds they cannot watch, now and then);
        True when an object changed."""
        found, rest = self.watches.read(self.refs)
        if not rest:
            self.note = ""
        elif time.monotonic() - self._listed >= LIST_EVERY:
            self._listed = time.monotonic()
            try:
                found.update(self.reader.read(rest))
                self.note = "(listing every 2s: watch not available)"
            except DepgraphError as exc:   # a failed list is retried at the next one
                self.note = f"(listing failed, retrying: {exc.message})"
        if self.others and time.monotonic() - self._others_listed >= LIST_EVERY:
            self._others_listed = time.monotonic()
            found.update(self._read_others())
        changed = False
        for ref, obj in found.items():
            if self.objects.get(ref) is not obj:
                changed = True
                if obj is None:
                    self.objects.pop(ref, None)
                else:
                    self.objects[ref] = obj
        if changed:
            from kubectl_depgraph.graph import DepGraph
            full = DepGraph.from_objects(list(self.objects.values()))
            self._graphs = (full.subgraph(self.view.shown(full, self.reverse)), full)
        return changed

    def _read_others(self):
        """{ref: object or None} of the other kinds (one kubectl get, as the first read)."""
        from kubectl_depgraph.acquire.crosskind import read_named
        flux = [o for o in self.objects.values() if not o.ref.external]
        try:
            read, _ = read_named(self.common.kubectl, flux)
        except DepgraphError as exc:
            self.note = f"(listing failed, retrying: {exc.message})"
            return {}
        read = {o.ref: o for o in read}
        return {ref: read.get(ref) for ref in self.others}

    def graphs(self):
        """(the selection's graph, the whole graph)."""
        return self._graphs

    def track(self, shown, elapsed):
        """The refs whose line changed, in rollout order; notes when each turned Ready."""
        moved = []
        for ref in _rollout_order(shown):
            state = classify(shown.obj(ref)).state
            label = node_label(shown, ref, Style())
            last = self._labels.get(ref)
            if last is not None and last[1] == label:
                continue
            if state is State.READY and last is not None and last[0] is not State.READY:
                self.took[ref] = elapsed
            elif state is not State.READY:
                self.took.pop(ref, None)
            self._labels[ref] = (state, label)
            moved.append(ref)
        return moved

    def close(self):
        try:
            self.watches.stop()
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)


def _rollout_order(graph):
    order = graph.topological()
    return order + sorted(set(graph.nodes) - set(order))


class _Lines:
    """Not a terminal: the initial state of each object in rollout order, then one line
    per change."""

    def __init__(self, style):
        self.style = style

    def begin(self):
        pass

    def show(self, graph, took, elapsed, moved, first, note):
        for ref in moved:
            click.echo(live.change_line(graph, ref, elapsed, self.style,
                                        None if first else took.get(ref)))

    def end(self):
        pass

    def final(self, graph, took):
        pass


class _Screen:
    """A terminal: the tree redrawn in place on the alternate screen, fitted to its size
    (read at each frame, so a resize shows within a TICK); keys typed are not echoed over
    it. The terminal is given back as it was on the way out."""

    def __init__(self, style, **shape):
        self.style = style
        self.shape = shape
        self.focus = None
        self.entered = False
        self._tty = None     # (fd, attributes) of a terminal on stdin whose echo is off

    def _write(self, text):
        sys.stdout.write(text)
        sys.stdout.flush()

    def begin(self):
        self._echo_off()
        self._write(live.ENTER)
        self.entered = True

    def _echo_off(self):
        try:
            fd = sys.stdin.fileno()
            if os.isatty(fd):
                attrs = termios.tcgetattr(fd)
                quiet = list(attrs)
                quiet[3] &= ~termios.ECHO
                termios.tcsetattr(fd, termios.TCSANOW, quiet)
                self._tty = (fd, attrs)
        except (OSError, ValueError, termios.error):
            pass   # no terminal on stdin: nothing to keep quiet

    def show(self, graph, took, elapsed, moved, first, note):
        if moved and not first:
            self.focus = moved[0]
        size = shutil.get_terminal_size()
        style = dataclasses.replace(self.style, width=size.columns)
        self._write(live.screen(graph, took, elapsed, style, size.lines, focus=self.focus,
                                note=note, **self.shape))

    def end(self):
        if self.entered:
            self.entered = False
            self._write(live.LEAVE)
        if self._tty is not None:
            try:
                termios.tcsetattr(self._tty[0], termios.TCSANOW, self._tty[1])
            except (OSError, termios.error):
                pass
            self._tty = None

    def final(self, graph, took):
        """The last tree, kept in the terminal's scrollback."""
        from kubectl_depgraph.render.tree import render_tree
        style = dataclasses.replace(self.style, width=shutil.get_terminal_size().columns)
        self._write(render_tree(graph, style=style, suffixes=live.took_suffixes(took), **self.shape))
