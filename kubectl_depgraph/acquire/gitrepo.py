"""Git checkout input (--path). A repository with cluster folders (`clusters/<name>`) is
walked from each cluster folder the way Flux applies it (acquire/fluxwalk.py): the graph of
a cluster is exactly what its Kustomizations reach. Without cluster folders, or with
--all-files, every Flux manifest of the checkout is read, with the namespaces a cluster
would get (kustomization.yaml `namespace:`, Flux `spec.targetNamespace`); folders whose
kustomization uses what plain reading cannot model are rendered with `kubectl kustomize`."""

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from kubectl_depgraph.acquire.fluxwalk import Builder, kustomize_error, walk_clusters
from kubectl_depgraph.acquire.kfolder import (RENDER_TIMEOUT, RENDER_WORKERS, Tree, _is_manifest, _meta,
                                              _s)
from kubectl_depgraph.acquire.snapshot import Document, Loaded
from kubectl_depgraph.errors import CommandNotFound, DepgraphError, InputError, SelectionError
from kubectl_depgraph.model import KUSTOMIZATION, WORKLOAD_KINDS, Origin, applier, kind_of
from kubectl_depgraph.yamlio import load_yaml_documents


@dataclass
class PathLoaded(Loaded):
    clusters: list = field(default_factory=list)    # the cluster folders walked ([]: every file read)
    unreached: list = field(default_factory=list)   # files with Flux objects no cluster applies
    # every file read: {("Kustomization ns/name", scope): kinds of what its spec.path holds}
    applies: dict = field(default_factory=dict)

_CLUSTER_DIR = re.compile(r"(?:^|/)clusters/[^/]+")


def _cluster_of(rel):
    m = _CLUSTER_DIR.search(rel)
    if m and m.end() < len(rel):
        return rel[:m.end()].lstrip("/")
    return None


def cluster_folder(path):
    """(repository root, scope) when `path` is a Flux cluster folder `ROOT/clusters/<name>`:
    its Kustomizations' spec.path values are relative to ROOT, so ROOT is read and then
    narrowed to what this cluster applies. Else (path, None)."""
    here = os.path.normpath(path)
    parent = os.path.dirname(here)
    if os.path.basename(parent) != "clusters" or not os.path.isdir(here):
        return path, None
    return os.path.dirname(parent) or ".", f"clusters/{os.path.basename(here)}"


def cluster_folders(tree):
    """The cluster folders of a checkout: `clusters/<name>` (at any depth) holding a Flux object."""
    found = []
    for d in sorted(tree.dirs):
        if _CLUSTER_FOLDER.fullmatch(d) and any(
                kind_of(data) for f in tree.files if f.startswith(d + "/") for data, _ in tree.files[f]):
            found.append(d)
    return found


_CLUSTER_FOLDER = re.compile(r"(?:.*/)?clusters/[^/]+")


def read_tree(root, kubectl=None, cluster=None, all_files=False):
    """Every Flux object under `root` as the clusters would get them, as a PathLoaded.

    With cluster folders (or `cluster`: a folder relative to root, or a cluster's name),
    each one is walked (fluxwalk.walk) and its objects carry its scope; files that no
    cluster applies are listed in `unreached` (whole repository only). Without cluster
    folders, or with `all_files`, every file is read (_read_all_files). `kubectl` (a
    cluster.Kubectl; None: never run) builds folders. Raises InputError when `root` is not a
    directory, SelectionError when `cluster` names no cluster folder."""
    if not os.path.exists(root):
        raise InputError(f"{root}: does not exist")
    if not os.path.isdir(root):
        raise InputError(f"{root}: not a directory")
    loaded = PathLoaded()
    tree = Tree(root, loaded.warnings)
    tree.walk()
    tree.parse_kustomizations()
    found = cluster_folders(tree)
    if all_files or not (found or cluster):
        _read_all_files(tree, kubectl, loaded)
        return loaded
    targets = found
    if cluster:
        targets = [c for c in found if c == cluster] or [c for c in found if c.rsplit("/", 1)[-1] == cluster] \
            or ([cluster] if cluster in tree.dirs else [])
        if len(targets) != 1:
            raise SelectionError(f"--cluster {cluster}: {'no' if not targets else 'more than one'} "
                             f"cluster folder of that name under {root}",
                             hint="cluster folders: " + (", ".join(found) or "none"))
    builder = Builder(tree, kubectl, loaded.warnings)
    reached = set()
    try:
        for walked in walk_clusters(tree, builder, targets, loaded.warnings):
            loaded.documents.extend(walked.documents)
            reached |= walked.files
    finally:
        builder.close()
    loaded.clusters = targets
    if not cluster:
        skip = tree.skipped_files()
        loaded.unreached = sorted(f for f in tree.files if f not in reached and f not in skip
                                  and any(kind_of(data) for data, _ in tree.files[f]))
    loaded.warnings[:] = list(dict.fromkeys(loaded.warnings))   # once, not once per cluster
    return loaded


def _read_all_files(tree, kubectl, loaded):
    """Every Flux manifest of the checkout, each once (the behaviour without cluster folders).

    metadata.namespace is the effective namespace: the outermost kustomization.yaml
    `namespace:` or Flux `spec.targetNamespace` on the way to the file, else the
    file's own, else "default". Files used as kustomize patches are left out. With
    `kubectl`, folders using components/patches/replacements are rendered with
    `kubectl kustomize` and their Flux objects taken from the render."""

    patch_files = {f for k in tree.kfiles.values() for f in k.patch_files}
    resource_files = {f for k in tree.kfiles.values() for f in k.resource_files}
    config_files = {k.file for k in tree.kfiles.values()}
    skip = (patch_files - resource_files) | config_files

    # Builds: each Flux Kustomization applies its spec.path; each kustomization.yaml not
    # included by another is a build of its own (what `kubectl apply -k` or an outer
    # Flux Kustomization with a generated kustomization.yaml gets).
    flux_builds = []     # (file of the Flux Kustomization, folder, {file: ns})
    ks_builds = []       # (file of the Flux Kustomization, its manifest, {file: ns})
    for rel in sorted(tree.files):
        if rel in skip:
            continue
        for data, line in tree.files[rel]:
            if kind_of(data) != KUSTOMIZATION:
                continue
            spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
            folder = tree.resolve_flux_path(_s(spec.get("path")))
            if folder is None:
                continue
            out = {}
            tree.reach(folder, _s(spec.get("targetNamespace")) or None, out)
            flux_builds.append((rel, folder, out))
            ks_builds.append((rel, data, out))
    included = {d for k in tree.kfiles.values() for d in k.resource_dirs}
    kustomize_roots = {}
    for d in sorted(tree.kfiles):
        if d not in included:
            out = {}
            tree.reach(d, None, out)
            kustomize_roots[d] = out

    flux_ns, kust_ns = {}, {}
    for src, _, out in flux_builds:
        for f, ns in out.items():
            if ns and f not in flux_ns:
                flux_ns[f] = (ns, src)
            elif ns and flux_ns[f][0] != ns:
                # one file applied twice (e.g. a base in two cluster overlays): one
                # Document per file, so the first build's namespace is kept
                loaded.warnings.append(f"{f}: applied in namespace {flux_ns[f][0]} (via "
                                       f"{flux_ns[f][1]}) and {ns} (via {src}): "
                                       f"using {flux_ns[f][0]}")
    flux_ns = {f: ns for f, (ns, _) in flux_ns.items()}
    for out in kustomize_roots.values():
        for f, ns in out.items():
            if ns and f not in kust_ns:
                kust_ns[f] = ns

    scopes = _scopes(tree, flux_builds, kustomize_roots)
    rendered = _render(tree, kustomize_roots, flux_builds, kubectl, loaded.warnings) \
        if kubectl else {}

    for rel in sorted(tree.files):
        if rel in skip:
            continue
        ns_override = flux_ns.get(rel) or kust_ns.get(rel)
        for index, (data, line) in enumerate(tree.files[rel]):
            if not _is_manifest(data):
                continue
            obj = rendered.get((rel, index), data)
            meta = dict(_meta(obj))
            meta["namespace"] = ns_override or _s(meta.get("namespace")) or "default"
            obj = {**obj, "metadata": meta}
            loaded.documents.append(Document(obj, Origin(rel, line, scopes.get(rel, ()))))
    kinds = {}
    for doc in loaded.documents:
        kinds.setdefault(doc.origin.file, set()).add(doc.obj["kind"])
    for rel, data, out in ks_builds:
        meta = _meta(data)
        ns = flux_ns.get(rel) or kust_ns.get(rel) or _s(meta.get("namespace")) or "default"
        held = set().union(*(kinds.get(f, ()) for f in out))
        loaded.applies[(applier(KUSTOMIZATION, ns, _s(meta.get("name"))), scopes.get(rel, ()))] = tuple(sorted(held))
    return loaded


def _scopes(tree, flux_builds, kustomize_roots):
    """file -> scope: the cluster folder(s) (`clusters/<name>`) that apply it.

    A file under clusters/<name>/ belongs to that cluster; any other file belongs to
    every cluster whose files (transitively, through Flux spec.path and kustomization
    resources) reach it; () for none."""
    scopes = {f: {c} for f in tree.files if (c := _cluster_of(f))}
    edges = []    # (from file, reached files)
    for src, _, out in flux_builds:
        edges.append((src, set(out)))
    for d, out in kustomize_roots.items():
        owner = tree.kfiles[d].file
        edges.append((owner, set(out)))
    changed = True
    while changed:
        changed = False
        for src, reached in edges:
            have = scopes.get(src)
            if not have:
                continue
            for f in reached:
                if _cluster_of(f):
                    continue
                cur = scopes.setdefault(f, set())
                if not have <= cur:
                    cur |= have
                    changed = True
    return {f: tuple(sorted(s)) for f, s in scopes.items() if s}


def _render(tree, kustomize_roots, flux_builds, kubectl, warnings):
    """{(file, document index): rendered manifest} for Flux objects of folders whose
    kustomization (or one it includes) uses components/patches/replacements/prefixes."""
    targets = {}
    candidates = dict(kustomize_roots)
    for _, folder, out in flux_builds:
        if folder in tree.kfiles:
            candidates.setdefault(folder, out)
    for d, out in sorted(candidates.items()):
        kfile = tree.kfiles[d]
        if kfile.file.endswith(".j2"):
            continue
        closure = _closure_dirs(tree, d)
        if not any(tree.kfiles[c].needs_render for c in closure):
            continue
        if not any(kind_of(data) in WORKLOAD_KINDS for f in out for data, _ in tree.files[f]):
            continue
        targets[d] = out
    if not targets:
        return {}

    def build(d):
        return kubectl.kustomize(os.path.join(tree.root, d) if d else tree.root, RENDER_TIMEOUT)

    rendered = {}
    with ThreadPoolExecutor(max_workers=min(RENDER_WORKERS, len(targets))) as pool:
        futures = {d: pool.submit(build, d) for d in sorted(targets)}
        for d, fut in futures.items():
            where = tree.kfiles[d].file
            try:
                docs = load_yaml_documents(fut.result(), f"kubectl kustomize {d or '.'}")
            except CommandNotFound:
                warnings.append(f"{where}: {kubectl.opts.kubectl} not found: components, patches and "
                                "replacements are not applied (files read as they are)")
                for f in futures.values():
                    f.cancel()
                break
            except DepgraphError as exc:
                warnings.append(f"{where}: kubectl kustomize failed: {kustomize_error(exc, tree.root)}; its "
                                "files are read as they are")
                continue
            index = {}
            for f in targets[d]:
                for i, (data, _) in enumerate(tree.files[f]):
                    kind = kind_of(data)
                    if kind in WORKLOAD_KINDS:
                        index.setdefault((kind, _s(_meta(data).get("name"))), []).append((f, i))
            for obj, _ in docs:
                kind = kind_of(obj)
                if kind not in WORKLOAD_KINDS:
                    continue
                where_from = index.get((kind, _s(_meta(obj).get("name"))), [])
                if len(where_from) == 1 and where_from[0] not in rendered:
                    rendered[where_from[0]] = obj
    return rendered


def _closure_dirs(tree, d, seen=None):
    seen = set() if seen is None else seen
    if d in seen or d not in tree.kfiles:
        return seen
    seen.add(d)
    for sub in tree.kfiles[d].resource_dirs:
        _closure_dirs(tree, sub, seen)
    return seen
