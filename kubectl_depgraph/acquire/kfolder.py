"""One folder of a Git checkout as kustomize sees it: every YAML file read once (a bad
file is a warning and is skipped), every kustomization.yaml parsed, and which files a
build of a folder reaches with which namespace. No kubectl here: acquire/fluxwalk.py
builds folders; this is also the fallback when a build is impossible."""

import os
import posixpath
from dataclasses import dataclass, field

from kubectl_depgraph.acquire.snapshot import TEMPLATE_MARKERS
from kubectl_depgraph.errors import InputError
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
class KFile:
    """One kustomization.yaml, paths resolved relative to the root."""

    dir: str
    file: str
    namespace: str = ""
    resource_files: list = field(default_factory=list)
    resource_dirs: list = field(default_factory=list)    # dirs holding a kustomization
    patch_files: list = field(default_factory=list)
    needs_render: bool = False                          # uses what plain reading cannot model


class Tree:
    """The files under `root` (relative paths), read once and shared by every build."""

    def __init__(self, root, warnings):
        self.root = root
        self.warnings = warnings
        self.files = {}         # rel path -> [(data, line)]
        self.dirs = set()       # rel dirs ("" = root)
        self.kfiles = {}        # rel dir -> KFile
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
            return                      # an empty file applies nothing: nothing to say
        if "/templates/" in "/" + rel and _in_helm_chart(self.root, rel):
            self.warn(rel, "Helm chart template: skipped")
            return
        try:
            self.files[rel] = load_yaml_documents(text, rel)
            self.files_in.setdefault(posixpath.dirname(rel), []).append(rel)
        except InputError as exc:
            if rel.endswith(".json"):
                return                  # editor settings (JSON with comments): not a manifest
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
            k = KFile(rel_dir, kfile, namespace=_s(data.get("namespace")))
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

    def skipped_files(self):
        """Files no build applies as objects: kustomization files, and files used only as
        patches (they look like objects)."""
        if getattr(self, "_skipped", None) is None:
            patches = {f for k in self.kfiles.values() for f in k.patch_files}
            resources = {f for k in self.kfiles.values() for f in k.resource_files}
            self._skipped = (patches - resources) | {k.file for k in self.kfiles.values()}
        return self._skipped

    def generated_resources(self, rel_dir):
        """What the kustomization.yaml Flux generates for a folder without one lists: each
        manifest file, recursively, and each sub-folder that has its own kustomization."""
        out = []
        for f in self.files_in.get(rel_dir, ()):
            docs = [d for d, _ in self.files[f] if d is not None]
            if docs and all(_is_manifest(d) for d in docs) and not f.endswith(".j2"):
                out.append(f)
        for sub in self.subdirs.get(rel_dir, ()):
            out.extend([sub] if sub in self.kfiles else self.generated_resources(sub))
        return out

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

    def checkout_folder(self, path):
        """The folder `path` (relative to the repository root) names, or None. Read from
        below the repository root (--path at kubernetes/clusters/main), a path such as
        ./kubernetes/apps names the folder apps/ of what was read."""
        norm = posixpath.normpath(path.strip() or ".").lstrip("/")
        norm = "" if norm == "." else norm
        if norm in self.dirs:
            return norm
        if norm.startswith(".."):
            return None
        parts = norm.split("/")
        return next(("/".join(parts[i:]) for i in range(1, len(parts)) if "/".join(parts[i:]) in self.dirs),
                    None)

    def resolve_flux_path(self, path):
        """The folder a spec.path names when every file is read and sources are unknown:
        paths are often relative to another root (OCI artifact, rendered templates), so a
        unique folder ending with the path is accepted before checkout_folder()'s rule."""
        norm = posixpath.normpath(path.strip() or ".").lstrip("/")
        if norm in self.dirs or norm == "." or norm.startswith(".."):
            return self.checkout_folder(path)
        matches = sorted(d for d in self.dirs if d.endswith("/" + norm))
        return matches[0] if len(matches) == 1 else self.checkout_folder(path)


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

