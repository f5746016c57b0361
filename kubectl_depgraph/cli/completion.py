"""kubectl depgraph completion bash|zsh|fish, and kubectl_complete-depgraph.

One completer (click's shell completion on the command tree, plus Flux object names for
NAME arguments, namespaces for -n and contexts for --context) answers two protocols, both
through the kubectl_complete-depgraph executable:

- kubectl's: on `kubectl depgraph …<TAB>`, kubectl 1.26+ runs kubectl_complete-depgraph with
  the words after the plugin name, the last one being completed; it prints one candidate a
  line (value, a tab, a description) and a last line `:<directive>` (cobra's __complete
  format; the directive tells the shell to complete files, directories or nothing else).
- click's: the scripts `completion` prints complete `kubectl-depgraph …<TAB>` by running
  kubectl_complete-depgraph with _KUBECTL_DEPGRAPH_COMPLETE=<shell>_complete, COMP_WORDS and
  COMP_CWORD set (click's scripts, with the helper as the program they run).

Names come from one `kubectl get <Flux kinds> -A -o json` (acquire.load) with the --context,
--kubeconfig and -n typed so far (or the -f/--path input typed), bounded in time;
any error means no candidates, never a message."""

import os
import re
import sys

import click
from click.shell_completion import (BashComplete, CompletionItem, FishComplete, ShellComplete,
                                    ZshComplete)

PROG = "kubectl-depgraph"
HELPER = "kubectl_complete-depgraph"
COMPLETE_VAR = "_KUBECTL_DEPGRAPH_COMPLETE"
# cobra's ShellCompDirective bits
DEFAULT, NO_FILE_COMP, FILTER_DIRS = 0, 4, 16
NAME_ARGS = ("names", "name")
ACTING = ("reconcile", "suspend", "resume", "delete")   # they take Kustomizations and HelmReleases only
FILE_PARAMS = ("files", "kubeconfig", "kubectl_bin")
REQUEST_TIMEOUT = "5s"   # kubectl's --request-timeout (a hung server), as kubectl's own completion
LOOKUP_TIMEOUT = 10.0    # seconds for each kubectl a completion runs (a slow, busy machine)


class _Flux(ShellComplete):
    """click's completion, plus cluster data for the parameters that name cluster things."""

    def get_completions(self, args, incomplete):
        from click.shell_completion import _resolve_context, _resolve_incomplete
        ctx = _resolve_context(self.cli, self.ctx_args, self.prog_name, args)
        param, incomplete = _resolve_incomplete(ctx, args, incomplete)
        name = getattr(param, "name", None)
        if isinstance(param, click.Argument) and name in NAME_ARGS:
            return object_names(ctx.params, incomplete, acting=ctx.command.name in ACTING)
        if isinstance(param, click.Option):
            if name == "namespace":
                return namespaces(ctx.params, incomplete)
            if name == "context":
                return contexts(ctx.params, incomplete)
            if name in FILE_PARAMS:
                return [CompletionItem(incomplete, type="file")]
        return param.shell_complete(ctx, incomplete)


def _runs_helper(template):
    """click's script, running the helper where it runs the program being completed."""
    text = re.sub(r"(=(?:bash|zsh|fish)_complete\b[^\n]*?)(?:\$1|%\(prog_name\)s)\)", rf"\g<1>{HELPER})",
                  template)
    return text.replace("$+commands[%(prog_name)s]", f"$+commands[{HELPER}]")


class Bash(_Flux, BashComplete):
    source_template = _runs_helper(BashComplete.source_template)


class Zsh(_Flux, ZshComplete):
    source_template = _runs_helper(ZshComplete.source_template)


class Fish(_Flux, FishComplete):
    source_template = _runs_helper(FishComplete.source_template)


SHELLS = {"bash": Bash, "zsh": Zsh, "fish": Fish}


@click.command()
@click.argument("shell", type=click.Choice(sorted(SHELLS)))
def completion(shell):
    """Shell completion script: bash, zsh or fish.

    \b
    `kubectl depgraph <TAB>` is completed by kubectl's own completion (kubectl 1.26+), which
    runs kubectl_complete-depgraph: have it on PATH (pip installs it; krew users copy it next
    to kubectl-depgraph, see the README). The script printed here completes
    `kubectl-depgraph <TAB>` through the same helper.

    \b
    Examples:
      source <(kubectl completion bash)            # kubectl depgraph <TAB>
      source <(kubectl depgraph completion bash)   # kubectl-depgraph <TAB>
      kubectl depgraph completion fish > ~/.config/fish/completions/kubectl-depgraph.fish"""
    from kubectl_depgraph.cli import cli
    click.echo(SHELLS[shell](cli, {}, PROG, COMPLETE_VAR).source())
    return 0


def kubectl_complete(argv=None):
    """Entry point of kubectl_complete-depgraph: click's protocol when _KUBECTL_DEPGRAPH_COMPLETE
    is set, else kubectl's. Never fails loudly: a completion prints candidates or nothing."""
    from kubectl_depgraph.cli import cli
    instruction = os.environ.get(COMPLETE_VAR, "")
    try:
        if instruction:
            shell, _, what = instruction.partition("_")
            comp = SHELLS[shell](cli, {}, PROG, COMPLETE_VAR)
            click.echo(comp.source() if what == "source" else comp.complete())
        else:
            words = list(sys.argv[1:] if argv is None else argv)
            lines, directive = kubectl_candidates(cli, words)
            click.echo("".join(f"{line}\n" for line in lines) + f":{directive}")
    except Exception:  # noqa: BLE001 - a completion never prints a traceback
        if not instruction:
            click.echo(f":{NO_FILE_COMP}")
    sys.exit(0)


def kubectl_candidates(cli, words):
    """(lines, cobra directive) for kubectl's protocol: `words` are those after the plugin
    name, the last one the word being completed ("" for a new word)."""
    args, incomplete = words[:-1], (words[-1] if words else "")
    items = _Flux(cli, {}, PROG, COMPLETE_VAR).get_completions(args, incomplete)
    if any(i.type == "dir" for i in items):
        return [], FILTER_DIRS
    if any(i.type == "file" for i in items):
        return [], DEFAULT
    return [_line(i) for i in items], NO_FILE_COMP


def _line(item):
    value = str(item.value)
    help_text = " ".join(str(item.help or "").split())
    return f"{value}\t{help_text}" if help_text else value


# --------------------------------------------------------------------------- cluster data


def _bounded_run(argv, timeout=None, **kwargs):
    from kubectl_depgraph import runner
    return runner.run(argv, timeout=min(timeout or LOOKUP_TIMEOUT, LOOKUP_TIMEOUT), **kwargs)


def _kubectl(params, context=True):
    from kubectl_depgraph.acquire.cluster import Kubectl, KubeOptions, kubectl_from_env
    opts = KubeOptions(kubectl=kubectl_from_env(params.get("kubectl_bin")),
                       context=params.get("context") if context else None,
                       kubeconfig=params.get("kubeconfig"), namespace=params.get("namespace"),
                       request_timeout=REQUEST_TIMEOUT)
    return Kubectl(opts, run=_bounded_run)


def _workloads(params, acting=True):
    """The refs of the Kustomizations and HelmReleases (and unless `acting`, ResourceSets and
    Terraforms) of the input typed so far (the cluster by default); [] on any error."""
    from kubectl_depgraph.acquire import Inputs, load
    from kubectl_depgraph.model import OWN_GROUPS, WORKLOAD_KINDS
    kinds = WORKLOAD_KINDS if acting else (*WORKLOAD_KINDS, *OWN_GROUPS)
    files = tuple(params.get("files") or ())
    if "-" in files:   # stdin is the terminal's during a completion
        return []
    try:
        inventory = load(Inputs(files, params.get("path")), _kubectl(params))
    except Exception:  # noqa: BLE001 - silent on errors (unreachable cluster, bad input, …)
        return []
    return [o.ref for o in inventory.objects if o.ref.kind in kinds]


def object_names(params, incomplete, acting=False):
    """For each object, the shortest spelling (name, ns/name, kind/name, kind/ns/name) that
    names only it (within -n NS when given) and starts with what was typed."""
    from collections import Counter

    from kubectl_depgraph.model import KIND_ALIASES, SHORT
    refs = _workloads(params, acting)
    if params.get("namespace"):
        refs = [r for r in refs if r.namespace == params["namespace"]]
    count = Counter()
    for r in refs:
        count.update([("name", r.name), ("ns", r.namespace, r.name), ("kind", r.kind, r.name)])
    items = []
    for r in sorted(refs, key=lambda r: (r.namespace, r.name, r.kind)):
        forms = [(("name", r.name), r.name),
                 (("ns", r.namespace, r.name), f"{r.namespace}/{r.name}"),
                 (("kind", r.kind, r.name), f"{SHORT[r.kind]}/{r.name}")]
        spellings = [text for key, text in forms if count[key] == 1 and
                     not (key[0] == "ns" and r.namespace.lower() in KIND_ALIASES)] + [r.short]
        pick = next((s for s in spellings if s.startswith(incomplete)), None)
        if pick:
            items.append(CompletionItem(pick, help=f"{r.kind} in {r.namespace}"))
    return items


def namespaces(params, incomplete):
    """The namespaces that hold Kustomizations or HelmReleases."""
    found = sorted({r.namespace for r in _workloads({**params, "namespace": None})})
    return [CompletionItem(ns) for ns in found if ns.startswith(incomplete)]


def contexts(params, incomplete):
    """The kubeconfig's contexts."""
    try:
        res = _kubectl(params, context=False).run("config", "get-contexts", "-o", "name")
    except Exception:  # noqa: BLE001
        return []
    return [CompletionItem(c) for c in res.stdout.split() if c.startswith(incomplete)]
