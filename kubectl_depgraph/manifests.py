"""Offline input: the same objects read from a snapshot file or from a Git checkout.

The only importer of `yaml`. Two entry points:

* read_snapshot(): `kubectl get … -o yaml|json` output (a List, a multi-document stream,
  single objects); bad input is an InputError.
* read_tree(): a Flux Git repository, with the namespaces a cluster would get
  (kustomization.yaml `namespace:`, Flux `spec.targetNamespace`); a bad file is a
  warning and is skipped. Folders whose kustomization uses what plain reading cannot
  model (components, patches, replacements, name prefixes) are rendered with
  `kubectl kustomize` when kubectl is available.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import yaml

from kubectl_depgraph import runner
from kubectl_depgraph.errors import CommandNotFound, DepgraphError, InputError
from kubectl_depgraph.model import KUSTOMIZATION, WORKLOAD_KINDS, Origin, kind_of, parse_object

MAX_FILE_BYTES = 10 * 1024 * 1024      # larger files are skipped with a warning
MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024  # a -f snapshot larger than this is refused (memory)
MAX_EXPANDED_NODES = 100_000           # alias expansion above this is refused ("billion laughs")
RENDER_WORKERS = 4
RENDER_TIMEOUT = 60
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_TEMPLATE_SUFFIXES = (".yaml.j2", ".yml.j2")
_YAML_SUFFIXES = (".yaml", ".yml", ".json") + _TEMPLATE_SUFFIXES
_TEMPLATE_MARKERS = re.compile(r"\{\{|\{%|#%|%#|\{#")
# kustomization fields whose effect plain reading does not model: such folders are rendered.
_RENDER_FIELDS = ("components", "patches", "patchesStrategicMerge", "patchesJson6902",
                  "replacements", "namePrefix", "nameSuffix", "transformers", "generators")


@dataclass(frozen=True)
class Document:
    obj: dict            # the manifest; metadata.namespace is the effective namespace for --path
    origin: Origin       # file relative to the root (or the -f path), 1-based line of the document
    scope: str = ""      # --path: cluster folder(s) the document belongs to, "" = shared/unknown


@dataclass
class Loaded:
    documents: list = field(default_factory=list)   # [Document], deterministic order
    warnings: list = field(default_factory=list)    # ["path:line: what"]


# --- YAML loading -------------------------------------------------------------------

def _construct_plain(loader, node):
    """Unknown tags (`!env_var X`) load as the plain value, as Go's YAML parser does."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


def _customize(cls):
    # A bare `=` is the YAML 1.1 "value" type PyYAML cannot construct; Go reads a string.
    # Timestamps stay strings, as in the JSON the API server returns.
    cls.yaml_implicit_resolvers = {
        ch: [(tag, rx) for tag, rx in resolvers
             if tag not in ("tag:yaml.org,2002:value", "tag:yaml.org,2002:timestamp")]
        for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    cls.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)
    cls.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
    cls.add_constructor(None, _construct_plain)
    return cls


@_customize
class GoLoader(yaml.SafeLoader):
    """SafeLoader that accepts what Go's YAML parser (and so Flux) accepts."""

    def compose_node(self, parent, index):
        # A redefined anchor replaces the earlier one for later aliases (Go semantics);
        # PyYAML's composer would raise "found duplicate anchor".
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if anchor is not None and not isinstance(event, yaml.AliasEvent):
            self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)


_FastLoader = None
if getattr(yaml, "__with_libyaml__", False):
    @_customize
    class _FastLoader(yaml.CSafeLoader):  # noqa: F811 - libyaml speed for large snapshots
        pass


class _Bomb(Exception):
    pass


def _distinct_nodes(node):
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            stack.extend(x for pair in n.value for x in pair)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return len(seen)


def _check_expansion(node, limit=MAX_EXPANDED_NODES):
    """Refuse documents whose alias expansion is recursive or explodes: more than `limit`
    nodes and more than ten times the nodes actually written (a large snapshot without
    aliases is fine; a billion-laughs document is a few dozen nodes expanding to millions).

    Sizes are memoized per node, so the check itself stays linear in the document."""
    limit = max(limit, 10 * _distinct_nodes(node))
    sizes, active = {}, set()

    def size(n):
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _Bomb("recursive alias")
        active.add(key)
        total = 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for v in n.value:
                total += size(v)
                if total > limit:
                    break
        active.discard(key)
        if total > limit:
            raise _Bomb(f"alias expansion exceeds {limit} nodes")
        sizes[key] = total
        return total

    size(node)


def _compose_all(text, loader_cls):
    loader = loader_cls(text)
    try:
        while loader.check_node():
            yield loader, loader.get_node()
    finally:
        loader.dispose()


def _load_nodes(text, name):
    """[(data, node)] for each non-empty document; InputError on bad YAML or a bomb."""
    classes = [c for c in (_FastLoader, GoLoader) if c is not None]
    for i, cls in enumerate(classes):
        out = []
        try:
            for loader, node in _compose_all(text, cls):
                if node is None:
                    continue
                try:
                    _check_expansion(node)
                except RecursionError:
                    raise _Bomb("nesting too deep") from None
                data = loader.construct_document(node)
                if data is not None:
                    out.append((data, node))
            return out
        except _Bomb as exc:
            line = node.start_mark.line + 1 if node is not None else 0
            raise InputError(f"{name}:{line}: refused: {exc} (YAML alias bomb?)") from None
        except yaml.YAMLError as exc:
            if i + 1 < len(classes):
                continue       # libyaml rejects redefined anchors: retry with GoLoader
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = mark.line + 1 if mark is not None else 0
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise InputError(f"{name}:{line}: invalid YAML: {problem}") from None
        except RecursionError:
            raise InputError(f"{name}: refused: nesting too deep") from None
    return []


def load_yaml_documents(text, name):
    """Every non-empty document of `text` as (data, 1-based start line).

    Go-YAML compatible (redefined anchors, `=` scalars, unknown tags) and safe: alias
    bombs are refused. Raises InputError("name:line: …") on invalid input."""
    return [(data, node.start_mark.line + 1) for data, node in _load_nodes(text, name)]


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _str_presenter(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml(data):
    """`data` as block-style YAML (keys in insertion order, unicode kept)."""
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True)


# --- snapshot input (-f) ------------------------------------------------------------

def _is_list(obj):
    return isinstance(obj, dict) and isinstance(obj.get("items"), list) and \
        str(obj.get("kind", "")).endswith("List")


def _item_lines(node, count):
    """Start lines of `items` entries in a List node (0 when unknown)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
                lines = [v.start_mark.line + 1 for v in value.value]
                if len(lines) == count:
                    return lines
    return [0] * count


_TEMPLATE_HINT = ("this looks like a Helm or Jinja template: render it first (helm template, "
                  "kustomize build, …) and pass the output")


def _json_documents(text, name):
    """A JSON snapshot (kubectl get -o json) read by the json module, items with their line
    numbers: ten times faster than composing YAML nodes, and JSON has no aliases to bomb.
    None when the text is not one JSON value (YAML, several documents)."""
    decoder = json.JSONDecoder()
    try:
        data, end = decoder.raw_decode(text, len(text) - len(text.lstrip()))
    except ValueError:
        return None
    if text[end:].strip():
        return None
    items = data if isinstance(data, list) else data.get("items") if _is_list(data) else None
    if items is None:
        return [Document(data, Origin(name, text.count("\n", 0, len(text) - len(text.lstrip())) + 1))] \
            if isinstance(data, dict) else []
    # Walk the items array again with raw_decode to learn where each item starts.
    start = text.index("[", 0 if isinstance(data, list) else text.index('"items"')) + 1
    docs, pos, line, counted = [], start, 1, 0
    for item in items:
        while text[pos] in " \t\r\n,":
            pos += 1
        line += text.count("\n", counted, pos)
        counted = pos
        _, pos = decoder.raw_decode(text, pos)
        if isinstance(item, dict):
            docs.append(Document(item, Origin(name, line)))
    return docs


def _snapshot_documents(text, name):
    if text.lstrip()[:1] in ("{", "["):
        docs = _json_documents(text, name)
        if docs is not None:
            return docs
    try:
        loaded = _load_nodes(text, name)
    except InputError as exc:
        if _TEMPLATE_MARKERS.search(text):
            raise InputError(exc.message, hint=_TEMPLATE_HINT) from None
        if text.lstrip()[:1] not in ("{", "["):
            raise
        try:     # JSON that PyYAML rejects (e.g. "\/" escapes)
            loaded = [(json.loads(text), None)]
        except ValueError as exc:
            raise InputError(f"{name}:{getattr(exc, 'lineno', 0)}: invalid JSON: "
                             f"{getattr(exc, 'msg', exc)}") from None
    docs = []
    for data, node in loaded:
        line = node.start_mark.line + 1 if node is not None else 1
        items = data if isinstance(data, list) else None
        if _is_list(data):
            items = data["items"]
        if items is not None:
            lines = _item_lines(node, len(items)) if isinstance(data, dict) else \
                ([v.start_mark.line + 1 for v in node.value] if node is not None else [0] * len(items))
            docs.extend(Document(item, Origin(name, ln)) for item, ln in zip(items, lines)
                        if isinstance(item, dict))
        elif isinstance(data, dict):
            docs.append(Document(data, Origin(name, line)))
    return docs


def read_bounded(stream, limit, chunk=1 << 20):
    """At most limit + 1 bytes of a binary stream, in chunks: safe for pipes
    (-f <(kubectl get …)) and endless devices, without allocating `limit` up front."""
    parts, size = [], 0
    while size <= limit:
        data = stream.read(min(chunk, limit + 1 - size))
        if not data:
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)


def decode_snapshot(raw, name):
    """Bytes of a -f input as text; InputError when too large or not UTF-8 text."""
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise InputError(f"{name}: larger than {MAX_SNAPSHOT_BYTES // 2**20} MB: refused",
                         hint="save only the Flux kinds: kubectl get ks,hr,gitrepo,ocirepo,helmrepo,"
                              "hc,bucket -A -o json > snapshot.json")
    if b"\0" in raw[:8192]:
        raise InputError(f"{name}: not a text file (binary)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not a text file (invalid UTF-8)") from None


def read_snapshot(paths, stdin_text=None):
    """Documents of each -f path ('-' reads `stdin_text`), in the given order.

    Raises InputError for a missing/unreadable file or invalid YAML/JSON."""
    loaded = Loaded()
    for path in paths:
        if path == "-":
            name, text = "<stdin>", stdin_text or ""
        else:
            name = path
            if os.path.isdir(path):
                raise InputError(f"{path}: is a directory", hint="use --path for a Git checkout")
            try:
                with open(path, "rb") as fh:
                    raw = read_bounded(fh, MAX_SNAPSHOT_BYTES)
            except OSError as exc:
                raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
            text = decode_snapshot(raw, path)
        docs = _snapshot_documents(text, name)
        if not docs:
            loaded.warnings.append(f"{name}: no objects")
        loaded.documents.extend(docs)
    return loaded


# --- Git checkout input (--path) ----------------------------------------------------

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
            if _TEMPLATE_MARKERS.search(text):
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


def scopes_overlap(a, b):
    """Do two Document scopes share a cluster? "" (shared/unknown) overlaps everything."""
    if not a or not b:
        return True
    return bool(set(a.split(",")) & set(b.split(",")))


def cluster_folder(path):
    """(repository root, scope) when `path` is a Flux cluster folder `ROOT/clusters/<name>`:
    its Kustomizations' spec.path values are relative to ROOT, so ROOT is read and then
    narrowed to what this cluster applies. Else (path, None)."""
    here = os.path.normpath(path)
    parent = os.path.dirname(here)
    if os.path.basename(parent) != "clusters" or not os.path.isdir(here):
        return path, None
    return os.path.dirname(parent) or ".", f"clusters/{os.path.basename(here)}"


def read_tree(root, kubectl="kubectl"):
    """Every Kubernetes manifest under `root` as the cluster would get it.

    metadata.namespace is the effective namespace: the outermost kustomization.yaml
    `namespace:` or Flux `spec.targetNamespace` on the way to the file, else the
    file's own, else "default". Files used as kustomize patches are left out. With
    `kubectl` (None: never run), folders using components/patches/replacements are
    rendered with `kubectl kustomize` and their Flux objects taken from the render.
    Raises InputError only when `root` is not a directory."""
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
            loaded.documents.append(Document(obj, Origin(rel, line), scopes.get(rel, "")))
    return loaded


def _scopes(tree, flux_builds, kustomize_roots):
    """file -> scope: the cluster folder(s) (`clusters/<name>`) that apply it.

    A file under clusters/<name>/ belongs to that cluster; any other file belongs to
    every cluster whose files (transitively, through Flux spec.path and kustomization
    resources) reach it. Several clusters are joined with ","; none gives ""."""
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
    return {f: ",".join(sorted(s)) for f, s in scopes.items() if s}


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
        argv = [kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone",
                os.path.join(tree.root, d) if d else tree.root]
        return runner.run(argv, timeout=RENDER_TIMEOUT).stdout

    rendered = {}
    with ThreadPoolExecutor(max_workers=min(RENDER_WORKERS, len(targets))) as pool:
        futures = {d: pool.submit(build, d) for d in sorted(targets)}
        for d, fut in futures.items():
            where = tree.kfiles[d].file
            try:
                docs = load_yaml_documents(fut.result(), f"kubectl kustomize {d or '.'}")
            except CommandNotFound:
                warnings.append(f"{where}: {kubectl} not found: components, patches and "
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


def duplicates_in_scope(documents):
    """[(ObjectRef, [Origin, …])] for Flux objects defined more than once where the
    definitions' scopes overlap (the same object in two cluster folders is not one)."""
    by_ref = {}
    for doc in documents:
        obj = parse_object(doc.obj, origin=doc.origin)
        if obj is not None:
            by_ref.setdefault(obj.ref, []).append(doc)
    result = []
    for ref in sorted(by_ref):
        docs = by_ref[ref]
        clashing = [d for d in docs
                    if any(o is not d and scopes_overlap(d.scope, o.scope) for o in docs)]
        if len(clashing) > 1:
            result.append((ref, sorted((d.origin for d in clashing), key=str)))
    return result
