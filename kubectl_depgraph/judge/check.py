"""Static and live checks of the dependsOn graph: mistakes that make Flux wait forever.

check() takes a DepGraph plus a few facts about the input and returns Findings, sorted
and deterministic. No I/O: the CLI reads the input and prints. Every kind of finding has
a stable id in RULES, the one table the README mirrors."""

import re

from kubectl_depgraph.judge.check_crosskind import bridging_wrappers, cross_kind_fields, typed, unread_targets
from kubectl_depgraph.judge.check_words import _LISTED, _VAR, _blocks, _finding, _has_var, _label, _listing
from kubectl_depgraph.judge.names import nearest_to
from kubectl_depgraph.judge.rules import Finding
from kubectl_depgraph.text import counted
from kubectl_depgraph.model import (FLUX_CLI_KIND, GROUPS, HELMRELEASE, KUSTOMIZATION, RESOURCESET,
                                    WORKLOAD_KINDS, ObjectRef, Origin, cycle_path)
from kubectl_depgraph.judge.status import REQUEUE_DEPENDENCY, dependency_problems, ready_for_dependents

DEFAULT_MAX_DEPTH = 4


def check(graph, *, duplicates=(), has_status=False, namespaces_read=None,
          max_depth=DEFAULT_MAX_DEPTH, ignore=()):
    """All findings for `graph`, sorted (severity, file, line, id, objects).

    duplicates: [graph.Duplicate] defined more than once in one scope (--path).
    has_status: the input carries status (live or snapshot), enabling the live-only checks.
    namespaces_read: None when every namespace was readable, else the list read (RBAC)."""
    ctx = _Context(graph, namespaces_read)
    findings = []
    findings += _cycles(ctx)
    findings += _self_dependencies(ctx)
    findings += _dangling(ctx)
    findings += _duplicates(graph, duplicates)
    findings += _without_readiness(ctx)
    findings += _deep_chains(ctx, max_depth)
    findings += _crd_prune(graph)
    findings += _wait_with_health_checks(graph)
    findings += _wait_on_suspended(graph)
    findings += bridging_wrappers(graph, frozenset(r for c in ctx.cycles for r in c))
    findings += cross_kind_fields(graph)
    findings += unread_targets(graph)
    if has_status:
        findings += _suspended(ctx)
        findings += _not_visible(ctx)
    ignore = set(ignore)
    return sorted((f for f in findings if f.id not in ignore), key=Finding.sort_key)


# --- helpers -------------------------------------------------------------------------

class _Context:
    def __init__(self, graph, namespaces_read):
        self.graph = graph
        self.namespaces_read = namespaces_read
        self.cycles = graph.cycles()   # self-loops included, as 1-element cycles
        self._downstream = {}

    def blocked_behind(self, refs):
        key = frozenset(refs)
        if key not in self._downstream:
            self._downstream[key] = sorted(self.graph.downstream(key) - key)
        return self._downstream[key]

    def origin(self, ref):
        obj = self.graph.obj(ref)
        return obj.origin if obj is not None else None


def _template_pattern(text):
    """A regex matching what `${VAR}` placeholders in `text` may become after substitution."""
    return re.compile("^" + ".+".join(re.escape(p) for p in _VAR.split(text)) + "$")


# --- the checks ----------------------------------------------------------------------

def _cycles(ctx):
    for cycle in ctx.cycles:
        if len(cycle) == 1:
            continue                     # self-dependency: DG005
        kinds = sorted({r.kind for r in cycle})
        across = f"between {kinds[0]}s" if len(kinds) == 1 else f"across kinds ({', '.join(kinds)})"
        path = cycle_path(cycle) if len(kinds) == 1 else cycle_path(cycle, spell=str)
        blocked = ctx.blocked_behind(cycle)
        yield _finding("DG001", cycle + blocked, ctx.origin(cycle[0]),
                       f"dependency cycle {across}: {path}; its members never become "
                       f"ready{_blocks(blocked)}",
                       f"remove one dependsOn entry on the cycle {path}")


def _self_dependencies(ctx):
    for cycle in ctx.cycles:
        if len(cycle) != 1:
            continue
        ref = cycle[0]
        blocked = ctx.blocked_behind([ref])
        yield _finding("DG005", [ref] + blocked, ctx.origin(ref),
                       f"{_label(ref)} depends on itself: it never becomes ready{_blocks(blocked)}",
                       f"remove '{ref.name}' from the spec.dependsOn of {_label(ref)}")


def _dangling(ctx):
    graph = ctx.graph
    templated = [r for r in graph.nodes if not graph.is_missing(r)
                 and (_has_var(r.name) or _has_var(r.namespace))]
    for missing in graph.missing:
        blocked = ctx.blocked_behind([missing])
        for dependent in graph.dependents(missing):
            origin = ctx.origin(dependent)
            others = [b for b in blocked if b != dependent]
            entry = graph.entry(dependent, missing)
            if dependent.kind == RESOURCESET or typed(dependent, entry):   # names the kind: no guess
                yield _typed_missing(dependent, missing, origin, others)
                continue
            yield _dangling_one(ctx, dependent, missing, origin, others, templated)


def _typed_missing(dependent, missing, origin, blocked):
    if _has_var(missing.name) or _has_var(missing.namespace):
        return _finding("DG009", [dependent, missing], origin,
                        f"{_label(dependent)} depends on {_label(missing)}, which postBuild "
                        "substitution must resolve: not checked")
    return _finding("DG013", [dependent, missing] + blocked, origin,
                    f"{_label(dependent)} depends on {_label(missing)}, which does not exist: the "
                    f"{dependent.kind} waits forever{_blocks(blocked, other=True)}",
                    f"add the {missing.kind} {missing.ns_name}, or remove the entry from the "
                    f"spec.dependsOn of {_label(dependent)}")


def unreached_files(files):
    """The DG014 finding for files with Flux objects that no cluster folder applies, or None."""
    if not files:
        return None
    shown = ", ".join(files[:_LISTED]) + (f" and {len(files) - _LISTED} more" if len(files) > _LISTED else "")
    verb = "is" if len(files) == 1 else "are"
    return _finding("DG014", [], Origin(files[0]),
                    f"{counted(len(files), 'file')} with Flux objects {verb} applied by no cluster "
                    f"folder, so left out of every graph: {shown}")


def _dangling_one(ctx, dependent, missing, origin, blocked, templated):
    graph = ctx.graph
    entry = f"'{missing.ns_name}'"
    head = f"{_label(dependent)} depends on {entry}"
    if _has_var(missing.name) or _has_var(missing.namespace):
        return _finding("DG009", [dependent, missing], origin,
                        f"{head}, which postBuild substitution must resolve: not checked")
    may_be = [r for r in templated if r.kind == missing.kind
              and _template_pattern(r.namespace).match(missing.namespace)
              and _template_pattern(r.name).match(missing.name)]
    if may_be:
        return _finding("DG009", [dependent, missing] + may_be, origin,
                        f"{head}, which may be {_listing(may_be)} after postBuild substitution: "
                        "not checked",
                        f"make sure the Kustomization that applies {may_be[0].short} substitutes "
                        "its variables")
    if ctx.namespaces_read is not None and missing.namespace not in ctx.namespaces_read:
        return _finding("DG012", [dependent, missing], origin,
                        f"{head} in namespace {missing.namespace}, which could not be read: not "
                        "checked")
    other = graph.other_kind(missing)
    if other is not None and missing.kind == KUSTOMIZATION:
        return _finding(
            "DG003", [dependent, other] + blocked, origin,
            f"{head}, which is not a Kustomization: a HelmRelease of that name exists: "
            "Kustomizations can only depend on Kustomizations — list it under healthChecks "
            f"instead{_blocks(blocked, other=True)}",
            f"in {_label(dependent)}, move '{missing.name}' from spec.dependsOn to "
            f"spec.healthChecks (apiVersion: {GROUPS[HELMRELEASE]}/v2, kind: HelmRelease, "
            f"name: {missing.name}, namespace: {missing.namespace}); or, with Flux 2.10+, give the "
            f"entry apiVersion: {GROUPS[HELMRELEASE]}/v2 and kind: HelmRelease")
    if other is not None:
        return _finding(
            "DG003", [dependent, other] + blocked, origin,
            f"{head}, which is not a HelmRelease: a Kustomization of that name exists: "
            "HelmReleases can only depend on HelmReleases — make the Kustomization that applies "
            f"this HelmRelease depend on it instead{_blocks(blocked, other=True)}",
            f"remove '{missing.name}' from the spec.dependsOn of {_label(dependent)} and add it to "
            "the dependsOn of the Kustomization that applies this HelmRelease; or, with Flux 2.10+, "
            f"give the entry apiVersion: {GROUPS[KUSTOMIZATION]}/v1 and kind: Kustomization")
    near = [r.ns_name for r in nearest_to(graph, missing)]
    hint = f"; nearest: {', '.join(near)}" if near else ""
    fix = (f"did you mean '{near[0]}'? Correct the spec.dependsOn entry of {_label(dependent)}"
           if near else f"add the {missing.kind} {missing.ns_name}, or remove the entry from "
           f"the spec.dependsOn of {_label(dependent)}")
    if near and near[0].split("/")[1] == missing.name:
        fix += " (the namespace defaults to the dependent's own: set it explicitly)"
    return _finding("DG002", [dependent, missing] + blocked, origin,
                    f"{head}, which does not exist{hint}{_blocks(blocked, other=True)}", fix)


def _duplicates(graph, duplicates):
    for dup in duplicates:
        ref, origins = dup.ref, sorted(dup.origins, key=lambda o: (o.file, o.line))
        where = ", ".join(str(o) for o in origins)
        yield _finding("DG004", [ref], origins[-1],
                       f"{_label(ref)} is defined {len(origins)} times in one cluster folder: "
                       f"{where}; only one of them is applied",
                       f"keep one definition of {ref.short} (or rename the others)")


def _without_readiness(ctx):
    graph = ctx.graph
    on_cycle = {r for c in ctx.cycles for r in c}    # never ready anyway: DG001/DG005 say so
    for obj in graph.objects:
        if obj.ref.kind != KUSTOMIZATION or obj.wait or obj.health_checks or obj.ref in on_cycle:
            continue
        # With readyExpr the dependent defines readiness itself; with ready: false it wants
        # existence only.
        dependents = [d for d in graph.dependents(obj.ref) if d != obj.ref
                      and not graph.ready_expr(d, obj.ref) and graph.entry(d, obj.ref).ready]
        if not dependents:
            continue
        yield _finding("DG006", [obj.ref] + dependents, obj.origin,
                       f"{_label(obj.ref)} has neither wait: true nor healthChecks: it is Ready "
                       f"once applied, so {_listing(dependents)} may start before its workloads "
                       "are healthy",
                       f"set spec.wait: true on {_label(obj.ref)} (or list its workloads under "
                       "spec.healthChecks)")


def _deep_chains(ctx, max_depth):
    graph = ctx.graph
    longest = {}    # ref -> longest chain starting at ref, following dependencies
    for wave in graph.waves():
        for ref in wave:
            best = [ref]
            for dep in graph.dependencies(ref):
                if dep in longest and len(longest[dep]) + 1 > len(best):
                    best = [ref] + longest[dep]
            longest[ref] = best
    for ref, chain in sorted(longest.items()):
        hops = len(chain) - 1
        if hops <= max_depth:
            continue
        # Report each chain once, at its far end (an object nothing too deep depends on).
        if any(len(longest.get(d, ())) - 1 > max_depth for d in graph.dependents(ref)):
            continue
        path = " → ".join(r.ns_name for r in chain)
        yield _finding("DG007", chain, ctx.origin(ref),
                       f"{_label(ref)} waits on a chain of {hops} dependencies (more than "
                       f"--max-depth {max_depth}): {path}; each hop can add up to "
                       f"{REQUEUE_DEPENDENCY}s of dependency polling",
                       f"make {_label(ref)} depend directly on what it needs, or merge "
                       "intermediate Kustomizations")


_CRD_WORD = re.compile(r"(?:^|[^a-z0-9])crds?(?:$|[^a-z0-9])|customresourcedefinitions?", re.I)


def _crd_prune(graph):
    for obj in graph.objects:
        if obj.ref.kind != KUSTOMIZATION or not obj.prune:
            continue
        said = [w for w, text in (("name", obj.ref.name), ("path", obj.path))
                if text and _CRD_WORD.search(text)]
        if not said:
            continue
        where = " and ".join(f"{w} {obj.ref.name if w == 'name' else obj.path}" for w in said)
        yield _finding("DG008", [obj.ref], obj.origin,
                       f"{_label(obj.ref)} applies CRDs ({where}) with prune: true: deleting or "
                       "renaming it deletes the CRDs and every custom resource of those kinds",
                       f"set spec.prune: false on {_label(obj.ref)}, or annotate the CRDs "
                       "kustomize.toolkit.fluxcd.io/prune: disabled")


def _wait_with_health_checks(graph):
    # kustomize-controller: with wait: true it health-checks everything it applied and
    # ignores spec.healthChecks (flux docs, Kustomization "Health assessment").
    for obj in graph.objects:
        if obj.ref.kind == KUSTOMIZATION and obj.wait and obj.health_checks:
            listed = _listing(list(obj.health_checks))
            yield _finding("DG015", [obj.ref], obj.origin,
                           f"{_label(obj.ref)} sets wait: true and healthChecks ({listed}): with wait "
                           "the controller checks everything it applies and ignores the healthChecks list")


def _wait_on_suspended(graph):
    # A suspended HelmRelease is never reconciled, so its Kustomization's wait never ends.
    for obj in graph.objects:
        if obj.ref.kind != HELMRELEASE or not obj.suspended or not obj.origin or not obj.origin.via:
            continue
        _, ns_name = obj.origin.via.split(" ", 1)
        ns, name = ns_name.split("/", 1)
        parent = graph.obj(ObjectRef(KUSTOMIZATION, ns, name))
        if parent is None or not parent.wait:
            continue
        yield _finding("DG016", [parent.ref, obj.ref], parent.origin,
                       f"{_label(parent.ref)} applies {_label(obj.ref)}, which is suspended, with wait: "
                       f"true: it waits for the release until its timeout, and so do its dependents",
                       f"resume {obj.ref.short}, or set spec.wait: false on {_label(parent.ref)} while "
                       "the release is suspended")


def _suspended(ctx):
    graph = ctx.graph
    for obj in graph.objects:
        if not obj.suspended or not obj.has_status or ready_for_dependents(obj):
            continue
        # An entry with ready: false wants existence only: a suspended object exists.
        dependents = [d for d in graph.dependents(obj.ref) if d != obj.ref and graph.entry(d, obj.ref).ready]
        if not dependents:
            continue
        ready = obj.ready_condition
        state = f"not ready ({ready.reason}: {ready.message})" if ready and ready.reason else \
            "never reconciled" if ready is None else "not ready"
        yield _finding("DG010", [obj.ref] + dependents, obj.origin,
                       f"{_label(obj.ref)} is suspended and {state}: {_listing(dependents)} "
                       f"{'waits' if len(dependents) == 1 else 'wait'} until it is resumed",
                       _resume(obj.ref))


def _resume(ref):
    words = FLUX_CLI_KIND.get(ref.kind)
    if words is None:       # ResourceSet, Terraform: no `flux resume` subcommand
        return f"set spec.suspend: false on {_label(ref)}"
    return f"flux resume {' '.join(words)} {ref.name} -n {ref.namespace}"


def _not_visible(ctx):
    graph = ctx.graph
    for obj in graph.objects:
        ready = obj.ready_condition
        if obj.ref.kind not in WORKLOAD_KINDS or ready is None or ready.status != "False" \
                or ready.reason != "DependencyNotReady":
            continue
        not_found = [ns_name for ns_name, problem in dependency_problems(ready.message)
                     if problem == "not found"]
        if not not_found:
            continue
        ns, name = not_found[0].split("/", 1)
        dep = ObjectRef(obj.ref.kind, ns, name)
        if graph.is_missing(dep) or dep not in graph:
            continue                     # really missing: DG002
        controller = "kustomize-controller" if obj.ref.kind == KUSTOMIZATION else "helm-controller"
        cause = (f"it cannot see namespace {ns} (--watch-all-namespaces=false, a sharding label "
                 "selector, or RBAC)" if ns != obj.ref.namespace else
                 "the object is outside its sharding label selector")
        yield _finding("DG011", [obj.ref, dep], obj.origin,
                       f"{_label(obj.ref)} waits on '{dep.ns_name}', which exists, but "
                       f"{controller} reports it not found: {cause}",
                       f"run {controller} with --watch-all-namespaces (and the same shard for "
                       f"both objects), or move {dep.short} into a namespace it watches")
