"""Git checkout input (--path): the Flux manifests of a repository, with the namespaces a
cluster would get (kustomization.yaml `namespace:`, Flux `spec.targetNamespace`). A bad
file is a warning and is skipped. Folders whose kustomization uses what plain reading
cannot model (components, patches, replacements, name prefixes) are rendered with
`kubectl kustomize` when kubectl is available."""

import os
import posixpath
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from kubectl_depgraph.acquire.snapshot import TEMPLATE_MARKERS, Document, Loaded
from kubectl_depgraph.errors import CommandNotFound, DepgraphError, InputError
from kubectl_depgraph.model import KUSTOMIZATION, WORKLOAD_KINDS, Origin, kind_of
from kubectl_depgraph.yamlio import load_yaml_documents

MAX_FILE_BYTES = 10 * 1024 * 1024      # larger files are skipped with a warning
RENDER_WORKERS = 4
RENDER_TIMEOUT = 60
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_TEMPLATE_SUFFIXES = (".yaml.j2", ".yml.j2")
_YAML_SUFFIXES = (".yaml", ".yml", ".json") + _TEMPLATE_SUFFIXES
# kustomization fields whose effect plain reading does not model: such folders are rendered.
_RENDER_FIELDS = ("components", "patches", "patchesStrategicMerge", "patchesJson6902",
                  "replacements", "namePrefix", "nameSuffix", "transformers", "generators")


@dataclass
class _KFile:
    """One kustomization.yaml, paths resolved relative to the root."""

    dir: str
    file: str
    namespace: str = ""
    resource_files: list = field(default_factory=list)
    resource_dirs: list = field(default_factory=list)    # dirs holding a kustomization
    patch_files: list = field(default_factory=list)
    needs_render: bool = False                          # uses what plain reading cannot model


class _Tree:
    def __init__(self, root, warnings):
        self.root = root
        self.warnings = warnings
        self.files = {}         # rel path -> [(data, line)]
        self.dirs = set()       # rel dirs ("" = root)
        self.kfiles = {}        # rel dir -> _KFile
        self.files_in = {}      # rel dir -> [rel file] directly inside
        self.subdirs = {}       # rel dir -> [rel dir] directly inside

    def warn(self, where, what):
        self.warnings.append(f"{where}: {what}")

    # walking ---------------------------------------------------------------------
    def walk(self):
        real_root = os.path.realpath(self.root)
        seen = set()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=True):
            rel_dir = _rel(dirpath, self.root)
            real = os.path.realpath(dirpath)
            if real in seen:
                self.warn(rel_dir or ".", "directory symlink loop: skipped")
                dirnames[:] = []
                continue
            if real != real_root and not real.startswith(real_root + os.sep):
                self.warn(rel_dir, "directory symlink points outside the root: skipped")
                dirnames[:] = []
                continue
            seen.add(real)
            self.dirs.add(rel_dir)
            if rel_dir:
                self.subdirs.setdefault(posixpath.dirname(rel_dir), []).append(rel_dir)
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            for fname in sorted(filenames):
                if fname.endswith(_YAML_SUFFIXES) or fname in KUSTOMIZATION_FILES:
                    self._read(posixpath.join(rel_dir, fname) if rel_dir else fname)

    def _read(self, rel):
        path = os.path.join(self.root, rel)
        try:
            if not os.path.isfile(path):
                return
            if os.path.getsize(path) > MAX_FILE_BYTES:
                self.warn(rel, f"larger than {MAX_FILE_BYTES // 2**20} MB: skipped")
                return
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            self.warn(rel, f"cannot read ({exc.strerror or exc}): skipped")
            return
        if b"\0" in raw:
            self.warn(rel, "binary file: skipped")
            return
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.warn(rel, "not UTF-8 text: skipped")
            return
        if not text.strip():
            self.warn(rel, "empty file: skipped")
            return
        if "/templates/" in "/" + rel and _in_helm_chart(self.root, rel):
            self.warn(rel, "Helm chart template: skipped")
            return
        try:
            self.files[rel] = load_yaml_documents(text, rel)
            self.files_in.setdefault(posixpath.dirname(rel), []).append(rel)
        except InputError as exc:
            msg = exc.message
            if TEMPLATE_MARKERS.search(text):
                msg += " (templated file: skipped)"
            else:
                msg += ": skipped"
            self.warnings.append(msg)

    # kustomization files ---------------------------------------------------------
    def kustomization_file(self, rel_dir):
        for name in KUSTOMIZATION_FILES:
            for cand in (name, name + ".j2"):
                rel = posixpath.join(rel_dir, cand) if rel_dir else cand
                if rel in self.files:
                    return rel
        return None

    def parse_kustomizations(self):
        for rel_dir in sorted(self.dirs):
            kfile = self.kustomization_file(rel_dir)
            if kfile is None:
                continue
            data = next((d for d, _ in self.files[kfile] if isinstance(d, dict)), None)
            if data is None:
                continue
            k = _KFile(rel_dir, kfile, namespace=_s(data.get("namespace")))
            k.needs_render = any(data.get(f) for f in _RENDER_FIELDS)
            for entry in _list(data.get("resources")) + _list(data.get("bases")) + \
                    _list(data.get("components")):
                self._resolve(k, entry, is_patch=False)
            for entry in _list(data.get("patches")) + _list(data.get("patchesJson6902")):
                if isinstance(entry, dict) and entry.get("path"):
                    self._resolve(k, entry["path"], is_patch=True)
            for entry in _list(data.get("patchesStrategicMerge")):
                if isinstance(entry, str) and "\n" not in entry:
                    self._resolve(k, entry, is_patch=True)
            self.kfiles[rel_dir] = k

    def _resolve(self, k, entry, is_patch):
        if not isinstance(entry, str) or not entry.strip():
            return
        if "://" in entry or entry.startswith(("github.com/", "git@", "git::")):
            return                      # remote base: only a render could read it
        target = posixpath.normpath(posixpath.join(k.dir, entry.strip()))
        if target == ".":
            target = ""
        if target.startswith("../") or target == "..":
            return                      # outside the root
        if target in self.dirs:
            if is_patch:
                return
            if self.kustomization_file(target) is not None:
                k.resource_dirs.append(target)
            else:
                self.warn(k.file, f"resource {entry} has no kustomization file")
            return
        for cand in (target, target + ".j2"):
            if cand in self.files:
                (k.patch_files if is_patch else k.resource_files).append(cand)
                return
        if os.path.exists(os.path.join(self.root, target)):
            return                      # present but skipped (warned already) or not YAML
        self.warn(k.file, f"{'patch' if is_patch else 'resource'} {entry} not found")

    # reachability ----------------------------------------------------------------
    def reach(self, rel_dir, inherited, out, stack=()):
        """Assign `out[file] = namespace` for every file a build of rel_dir applies;
        the outermost namespace wins, as kustomize's namespace transformer does."""
        if rel_dir in stack:
            return
        k = self.kfiles.get(rel_dir)
        if k is None:
            self._reach_generated(rel_dir, inherited, out, stack)
            return
        ns = inherited or k.namespace or None
        for f in k.resource_files:
            out.setdefault(f, ns)
        for d in k.resource_dirs:
            self.reach(d, ns, out, stack + (rel_dir,))

    def _reach_generated(self, rel_dir, ns, out, stack):
        """A folder without kustomization.yaml: Flux generates one with every manifest,
        recursing into sub-folders until one holds its own kustomization."""
        for f in self.files_in.get(rel_dir, ()):
            out.setdefault(f, ns)
        for sub in self.subdirs.get(rel_dir, ()):
            if sub in self.kfiles:
                self.reach(sub, ns, out, stack + (rel_dir,))
            else:
                self._reach_generated(sub, ns, out, stack + (rel_dir,))

    def resolve_flux_path(self, path):
        """The folder a Flux Kustomization's spec.path names, or None. Paths are often
        relative to another root (OCI artifact, rendered templates): a unique folder
        ending with the path is accepted."""
        norm = posixpath.normpath(path.strip() or ".").lstrip("/")
        norm = "" if norm == "." else norm
        if norm in self.dirs:
            return norm
        if norm.startswith(".."):
            return None
        matches = sorted(d for d in self.dirs if d.endswith("/" + norm))
        if len(matches) == 1:
            return matches[0]
        # Read from below the repository root (e.g. --path at kubernetes/clusters/main), a
        # path such as ./kubernetes/apps names the folder apps/ of what was read.
        parts = norm.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[i:]) in self.dirs:
                return "/".join(parts[i:])
        return None


def _in_helm_chart(root, rel):
    parts = rel.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "templates" and os.path.isfile(os.path.join(root, *parts[:i], "Chart.yaml")):
            return True
    return False


def _rel(path, root):
    rel = os.path.relpath(path, root)
    return "" if rel == "." else rel.replace(os.sep, "/")


def _s(value):
    return value if isinstance(value, str) else ""


def _list(value):
    return value if isinstance(value, list) else []


def _meta(obj):
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _is_manifest(obj):
    return isinstance(obj, dict) and isinstance(obj.get("kind"), str) and \
        isinstance(obj.get("apiVersion"), str)


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


def read_tree(root, kubectl=None):
    """Every Kubernetes manifest under `root` as the cluster would get it.

    metadata.namespace is the effective namespace: the outermost kustomization.yaml
    `namespace:` or Flux `spec.targetNamespace` on the way to the file, else the
    file's own, else "default". Files used as kustomize patches are left out. With
    `kubectl` (a cluster.Kubectl; None: never run), folders using components/patches/replacements are
    rendered with `kubectl kustomize` and their Flux objects taken from the render.
    Raises InputError only when `root` is not a directory."""
    if not os.path.exists(root):
        raise InputError(f"{root}: does not exist")
    if not os.path.isdir(root):
        raise InputError(f"{root}: not a directory")
    loaded = Loaded()
    tree = _Tree(root, loaded.warnings)
    tree.walk()
    tree.parse_kustomizations()

    patch_files = {f for k in tree.kfiles.values() for f in k.patch_files}
    resource_files = {f for k in tree.kfiles.values() for f in k.resource_files}
    config_files = {k.file for k in tree.kfiles.values()}
    skip = (patch_files - resource_files) | config_files

    # Builds: each Flux Kustomization applies its spec.path; each kustomization.yaml not
    # included by another is a build of its own (what `kubectl apply -k` or an outer
    # Flux Kustomization with a generated kustomization.yaml gets).
    flux_builds = []     # (file of the Flux Kustomization, folder, {file: ns})
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
                msg = getattr(exc, "stderr", "") or exc.message
                first = next((ln.strip() for ln in msg.splitlines() if ln.strip()), msg)
                warnings.append(f"{where}: kubectl kustomize failed ({first}): files read "
                                "as they are")
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
