"""The command layer: parse options, call the core, pick a renderer, print.

This is the only place that prints and the only place that turns a DepgraphError
into a message and an exit code (main). Start-up matters (a kubectl plugin runs for a
second): a command's module is imported only when it runs, and the stages it needs are
imported while its kubectl list runs (cli/common.input_options)."""

import os
import signal
import sys


def _interrupted_while_starting(signum, frame):
    # Ctrl-C while the imports below run (a few hundred ms): no traceback either.
    os.write(2, b"interrupted\n")
    os._exit(130)


# Only when started as the program (console script, bin/ launcher, python -m), never when
# imported as a library or by tests; main() puts Python's own handler back.
if os.path.basename(sys.argv[0] if sys.argv else "") == "kubectl-depgraph" or \
        (sys.argv and sys.argv[0].endswith(os.path.join("kubectl_depgraph", "__main__.py"))):
    signal.signal(signal.SIGINT, _interrupted_while_starting)

import importlib  # noqa: E402
import traceback  # noqa: E402

import click  # noqa: E402

from kubectl_depgraph import __version__  # noqa: E402
from kubectl_depgraph.errors import INTERNAL, INTERRUPTED, USAGE, DepgraphError  # noqa: E402


# name -> the line `kubectl depgraph --help` shows (tests/test_cli.py keeps it equal to the
# command's own docstring).
COMMANDS = {
    "check": "Find dependency mistakes before they deadlock a cluster.",
    "completion": "Shell completion script: bash, zsh or fish.",
    "delete": "Delete dependents first, each gone (finalizers included)...",
    "impact": "What a change does to the dependency graph, before it is merged.",
    "reconcile": "Reconcile in dependency order, each object as soon as its...",
    "resume": "Resume in dependency order, each object once what it...",
    "suspend": "Suspend dependents first, then what they depend on.",
    "tree": "What depends on what, and the state of each object.",
    "version": "Versions of the plugin, kubectl, flux and Python.",
    "why": "Why an object is not ready, down to the root causes, with...",
}


class _Commands(click.Group):
    """Imports a command's module only when that command runs."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(f"kubectl_depgraph.cli.{name}"), name)

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name]) for name in self.list_commands(ctx)])


@click.group(cls=_Commands,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kubectl-depgraph")
def cli():
    """The Flux dependency graph: what depends on what, why an object is waiting,
    and reconciles in dependency order.

    \b
    Inputs: the live cluster through kubectl (default), a snapshot (-f FILE) or a
    Git checkout of Flux manifests (--path DIR)."""



def main(argv=None):
    """Entry point of the console script, bin/kubectl-depgraph and python -m."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    for stream in (sys.stdout, sys.stderr):
        try:   # a name the terminal cannot encode (or a lone surrogate) must not crash us
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError, OSError):
            pass
    args = list(sys.argv[1:] if argv is None else argv)
    ctx = None
    try:
        ctx = cli.make_context("kubectl depgraph", args)
        with ctx:
            code = cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        echo_err("interrupted")
        code = INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = USAGE if exc.exit_code == 2 else exc.exit_code
    except KeyboardInterrupt:
        echo_err("interrupted")
        code = INTERRUPTED
    except DepgraphError as exc:
        if _debug(ctx):
            traceback.print_exc()
        echo_err(f"error: {exc.message}")
        if exc.hint:
            echo_err(f"hint: {exc.hint}")
        code = exc.exit_code
    except BrokenPipeError:
        code = 0
    except Exception as exc:  # a bug, or data we did not foresee: one line, never a traceback
        if _debug(ctx):
            traceback.print_exc()
        text = " ".join(str(exc).split())
        echo_err(f"error: internal error: {type(exc).__name__}" + (f": {text[:200]}" if text else ""))
        echo_err("hint: this is a bug in kubectl-depgraph; rerun with --debug and report "
                 "the traceback")
        code = INTERNAL
    sys.exit(code or 0)


def echo_err(text):
    click.echo(text, err=True)


def _debug(ctx):
    # --debug is a command option (cli/common); its value is shared through the context's meta.
    return ctx is not None and ctx.meta.get("debug", False)
