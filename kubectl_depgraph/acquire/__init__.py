"""One model, three ways in: live cluster, snapshot files, Git checkout.

load() returns an Inventory: parsed Flux objects, events when the input has them,
warnings, and a description of where the data came from (for messages)."""

import sys
from dataclasses import dataclass
from typing import Optional

from kubectl_depgraph.model import applier, kind_of, named_externals, parse_external, parse_object, unread
from kubectl_depgraph.text import counted


@dataclass(frozen=True)
class Inputs:
    files: tuple = ()
    path: Optional[str] = None
    cluster: Optional[str] = None      # --path: walk only this cluster folder (its name)
    all_files: bool = False            # --path: every file, not what the clusters apply

    @property
    def live(self):
        return not self.files and not self.path


@dataclass
class Inventory:
    objects: list
    events: Optional[list]          # None: the input cannot have events (--path) or they were not read
    warnings: list
    description: str                # "the cluster", "snapshot prod.yaml", "path ./clusters/prod"
    has_status: bool
    live: bool = False              # read from the cluster: events can be fetched
    namespaces_read: Optional[list] = None
    base: str = ""                  # --path: the folder origins are relative to
    unreached: tuple = ()           # --path: files with Flux objects that no cluster folder applies

    def scopes(self):
        """The cluster folders of a --path input; [] when there are none (one graph)."""
        return sorted({s for o in self.objects if o.origin for s in o.origin.scope})

    def objects_of(self, scope):
        """The objects one cluster folder gets (unscoped ones reach every cluster)."""
        return [o for o in self.objects if o.origin is None or o.origin.in_scope(scope)]


def load(inputs: Inputs, kubectl, stdin=None):
    """Read the selected input and parse it; raises DepgraphError subclasses. `kubectl`
    (a cluster.Kubectl) reads the live cluster, and renders --path folders."""
    if inputs.files:
        from kubectl_depgraph.acquire import snapshot
        stdin_text = _read_stdin(stdin or sys.stdin) if "-" in inputs.files else None
        loaded = snapshot.read_snapshot(list(inputs.files), stdin_text)
        return _inventory(loaded.documents, loaded.warnings, "snapshot " + ", ".join(inputs.files),
                          has_status=True, events=True)
    if inputs.path:
        from kubectl_depgraph.acquire import gitrepo
        root, scope = gitrepo.cluster_folder(inputs.path)
        loaded = gitrepo.read_tree(root, kubectl=kubectl, cluster=None if inputs.all_files else
                                   (scope or inputs.cluster), all_files=inputs.all_files)
        documents, warnings = loaded.documents, list(loaded.warnings)
        if scope and inputs.all_files:   # every file, narrowed to what this cluster reaches
            unreached = [d for d in documents if not d.origin.scope and kind_of(d.obj)]
            documents = [d for d in documents if scope in d.origin.scope]
            if unreached:
                warnings.append(
                    f"{counted(len(unreached), 'Flux object')} under {root} "
                    f"{'is' if len(unreached) == 1 else 'are'} reached from no cluster folder "
                    f"(e.g. {unreached[0].origin}; a spec.path that does not resolve in this checkout?) "
                    f"and are left out of {scope}; point --path at {root} to see them")
        inv = _inventory(documents, warnings, f"path {inputs.path}", has_status=False, events=False,
                         applies=loaded.applies,
                         not_found="not in the repository: made by a HelmRelease or another "
                                   "controller, or defined elsewhere")
        inv.base = root
        inv.unreached = tuple(loaded.unreached)
        return inv
    fetched = kubectl.flux_objects()
    objects, warnings = parse_all((item, None) for item in fetched.items)
    from kubectl_depgraph.acquire import crosskind
    others, other_warnings = crosskind.read_named(kubectl, objects)   # no process when none is named
    objects += others
    warnings += other_warnings
    return Inventory(objects, None, fetched.warnings + warnings, "the cluster", True, True,
                     fetched.namespaces_read)


def _read_stdin(stream):
    """stdin as text, bounded like a file (a runaway pipe must not eat the memory)."""
    from kubectl_depgraph.acquire import snapshot
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        data = snapshot.read_bounded(raw, snapshot.MAX_SNAPSHOT_BYTES)
    else:   # a text stream (tests, embedding)
        data = stream.read(snapshot.MAX_SNAPSHOT_BYTES + 1).encode("utf-8", errors="surrogateescape")
    return snapshot.decode_snapshot(data, "<stdin>")


def _inventory(documents, warnings, description, has_status, events, not_found=None, applies=None):
    """not_found: how to word a named object of another kind that is not in the documents
    ("{where}" is the description); None: it is missing when its kind is in them, else unknown."""
    objects, parse_warnings = parse_all((d.obj, d.origin) for d in documents)
    _record_applies(objects, documents, applies or {})
    objects += externals_from(objects, ((d.obj, d.origin) for d in documents), description, not_found)
    if documents and not objects:
        kinds = sorted({str(d.obj.get("kind")) for d in documents if isinstance(d.obj, dict)})
        shown = ", ".join(kinds[:5]) + (", …" if len(kinds) > 5 else "")
        parse_warnings.append(f"{description}: no Flux objects among {len(documents)} "
                              f"object{'s' if len(documents) != 1 else ''} ({shown})")
    evs = [d.obj for d in documents if isinstance(d.obj, dict) and d.obj.get("kind") == "Event"] \
        if events else None
    if evs == []:
        evs = None
    return Inventory(objects, evs, list(warnings) + parse_warnings, description, has_status)


def _record_applies(objects, documents, applies):
    """--path: facts["applies"] on each Kustomization whose build was read, the sorted kinds
    of what it applies (Origin.via of a walk; `applies` when every file was read), for the
    checks that need to know (DG017)."""
    applies = {key: set(kinds) for key, kinds in applies.items()}
    for d in documents:
        if d.origin is not None and d.origin.via and isinstance(d.obj, dict):
            applies.setdefault((d.origin.via, d.origin.scope), set()).add(str(d.obj.get("kind")))
    if not applies:
        return
    for obj in objects:
        kinds = applies.get((applier(*obj.ref), obj.origin.scope if obj.origin else ()))
        if kinds is not None:
            obj.facts["applies"] = tuple(sorted(kinds))


def externals_from(objects, pairs, description, not_found=None):
    """The objects of other kinds that `objects` depend on, parsed from (manifest, origin)
    pairs; a placeholder for each one the input cannot show (model.unread)."""
    named = named_externals(objects)
    if not named:
        return []
    kinds = {ref.kind for ref in named}
    found, present = {}, set()
    for manifest, origin in pairs:
        if isinstance(manifest, dict) and manifest.get("kind") in kinds and not kind_of(manifest):
            obj = parse_external(manifest, origin)
            if obj is not None:
                present.add(obj.ref.kind)
                if obj.ref in named:
                    found.setdefault(obj.ref, obj)
    for ref in sorted(named - set(found)):
        if not_found is not None:
            found[ref] = unread(ref, not_found.format(where=description))
        elif ref.kind not in present:
            found[ref] = unread(ref, f"not in {description} (it holds no {ref.kind} objects)")
    return [found[r] for r in sorted(found)]


def parse_all(pairs):
    objects, warnings = [], []
    for manifest, origin in pairs:
        try:
            obj = parse_object(manifest, origin=origin)
        except (TypeError, ValueError, AttributeError) as exc:  # defensive: never crash on data
            where = f"{origin}: " if origin else ""
            warnings.append(f"{where}skipped a malformed object ({exc})")
            continue
        if obj is not None:
            objects.append(obj)
            for w in obj.warnings:
                if f"{obj.ref}: {w}" not in warnings:
                    warnings.append(f"{obj.ref}: {w}")
    return objects, warnings
