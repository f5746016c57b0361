"""--path at a cluster folder: the objects Flux would apply, found the way Flux finds them.

Start from the cluster folder, build it with `kubectl kustomize`, and for every Flux
Kustomization the build yields, build its spec.path with what kustomize-controller adds
(targetNamespace, namePrefix/nameSuffix, spec.patches, spec.components), substitute its
postBuild variables, and go on with the Kustomizations that build yields. A spec.path is
resolved against its source: this checkout for the GitRepository the cluster syncs from,
the folder an ArtifactGenerator copies for an ExternalArtifact; other sources are outside
the checkout and said so. Builds run level by level, in parallel, one kubectl process per
distinct build (cached across clusters). Without kubectl, or when a build fails, the folder
is read as it is (kfolder.Tree.reach), with a warning."""

import json
import os
import posixpath
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kubectl_depgraph.acquire import postbuild
from kubectl_depgraph.acquire.kfolder import RENDER_TIMEOUT, RENDER_WORKERS, _is_manifest, _list, _meta, _s
from kubectl_depgraph.acquire.snapshot import Document
from kubectl_depgraph.errors import CommandNotFound, DepgraphError
from kubectl_depgraph.model import EXTERNALARTIFACT, GITREPOSITORY, KUSTOMIZATION, Origin, applier, kind_of
from kubectl_depgraph.yamlio import load_yaml_documents

ARTIFACT_GENERATOR = "ArtifactGenerator"
# Objects the walk keeps besides the Flux ones: variables and sources of later builds.
_REGISTERED = ("ConfigMap", "Secret", GITREPOSITORY, ARTIFACT_GENERATOR)


@dataclass(frozen=True)
class Build:
    """One build kustomize-controller runs: a folder of the checkout plus what the Flux
    Kustomization adds to its kustomization."""

    folder: str                 # relative to the root; "" is the root
    namespace: str = ""         # spec.targetNamespace
    name_prefix: str = ""
    name_suffix: str = ""
    patches: str = ""           # spec.patches as JSON (hashable)
    components: tuple = ()      # folders, relative to the root

    @property
    def plain(self):
        return not (self.namespace or self.name_prefix or self.name_suffix or self.patches
                    or self.components)


def kustomize_error(exc, root=None):
    """The line of a failed `kubectl kustomize` that says what is wrong (not a deprecation
    warning printed before it), its file names relative to `root` as in every other message
    (kustomize writes them absolute or relative to the working directory)."""
    text = getattr(exc, "stderr", "") or exc.message
    if root:   # '/abs/root/x.yaml', '../../abs/root/x.yaml' and '../root/x.yaml' (a shared prefix) alike
        parts = os.path.abspath(root).strip("/").split("/")
        tails = "|".join(re.escape("/".join(parts[i:])) for i in range(len(parts)))
        text = re.sub(rf"(?:(?:\.\./)+(?:{tails})|/{re.escape('/'.join(parts))})/", "", text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in lines:
        m = re.search(r'err="(.*)"\s*$', line)
        if m:
            return m.group(1).replace('\\"', '"').replace("\\'", "'")
    errors = [ln for ln in lines if re.match(r"(?i)error:", ln)]
    if errors:
        return errors[0].split(":", 1)[1].strip()
    rest = [ln for ln in lines if not re.match(r"(?i)(# )?warning\b", ln)]
    return (rest or lines or [exc.message])[-1]


class Builder:
    """Runs builds and remembers them: {Build: [(manifest, (file, line) or None)]}."""

    def __init__(self, tree, kubectl, warnings):
        self.tree = tree
        self.kubectl = kubectl
        self.warnings = warnings
        self.cache = {}
        self._tmp = None

    def close(self):
        if self._tmp is not None:
            self._tmp.cleanup()

    def run(self, builds):
        todo = sorted({b for b in builds if b not in self.cache}, key=repr)
        if not todo:
            return
        if self.kubectl is None:
            for build in todo:
                self.cache[build] = self._plain(build)
            return
        if self._tmp is None:     # made here, not in the threads: one folder for every wrapper
            self._tmp = tempfile.TemporaryDirectory(prefix="depgraph-walk-")
        with ThreadPoolExecutor(max_workers=min(RENDER_WORKERS, len(todo))) as pool:
            futures = [(b, pool.submit(self._kustomize, b)) for b in todo]
        for build, fut in futures:
            try:
                text = fut.result()
                docs = load_yaml_documents(text or "", f"kubectl kustomize {build.folder or '.'}")
            except CommandNotFound:
                self.warnings.append(f"{self.kubectl.opts.kubectl} not found: folders are read as they "
                                     "are (kustomize components, patches and replacements, and Flux "
                                     "spec.patches and spec.components are not applied)")
                self.kubectl = None
                self.cache.update({b: self._plain(b) for b, _ in futures if b not in self.cache})
                return
            except DepgraphError as exc:
                self.warnings.append(f"{build.folder or '.'}: kubectl kustomize failed: "
                                     f"{kustomize_error(exc, self.tree.root)}; its files are read as they are")
                self.cache[build] = self._plain(build)
                continue
            self.cache[build] = self._locate(build, [d for d, _ in docs if _is_manifest(d)])

    def reached(self, build):
        """{file: namespace} of the files a build of `build` reads."""
        out = {}
        self.tree.reach(build.folder, build.namespace or None, out)
        for comp in build.components:
            self.tree.reach(comp, build.namespace or None, out)
        return out

    # kubectl -------------------------------------------------------------------------
    def _kustomize(self, build):
        tree = self.tree
        kfile = tree.kustomization_file(build.folder)
        if kfile is not None and kfile.endswith(".j2"):
            raise DepgraphError(f"{kfile} is a template")
        if build.plain and kfile is not None:
            return self.kubectl.kustomize(os.path.join(tree.root, build.folder), RENDER_TIMEOUT)
        return self.kubectl.kustomize(self._wrapper(build, kfile is not None), RENDER_TIMEOUT)

    def _wrapper(self, build, has_kfile):
        """A folder holding the kustomization.yaml kustomize-controller would build: the
        folder's own (or the one Flux generates for a folder without), plus the Flux fields."""
        where = tempfile.mkdtemp(dir=self._tmp.name)
        root = os.path.abspath(self.tree.root)

        def rel(path):
            return os.path.relpath(os.path.join(root, path), where)
        resources = [rel(build.folder)] if has_kfile else \
            [rel(p) for p in self.tree.generated_resources(build.folder)]
        doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
               "resources": resources}
        if build.components:
            doc["components"] = [rel(c) for c in build.components]
        if build.patches:
            doc["patches"] = json.loads(build.patches)
        if build.namespace:
            doc["namespace"] = build.namespace
        if build.name_prefix:
            doc["namePrefix"] = build.name_prefix
        if build.name_suffix:
            doc["nameSuffix"] = build.name_suffix
        with open(os.path.join(where, "kustomization.yaml"), "w", encoding="utf-8") as fh:
            json.dump(doc, fh)      # JSON is YAML
        return where

    def _locate(self, build, manifests):
        """Each rendered manifest with the file:line it came from: matched by kind and
        name (then namespace) among the files the build reads."""
        index = {}
        for file, ns in sorted(self.reached(build).items()):
            for data, line in self.tree.files.get(file, ()):
                if _is_manifest(data):
                    index.setdefault((data["kind"], _s(_meta(data).get("name"))), []).append(
                        (file, line, _s(_meta(data).get("namespace"))))
        out = []
        for obj in manifests:
            kind, name = obj["kind"], _s(_meta(obj).get("name"))
            found = index.get((kind, name)) or _renamed(index, kind, name)
            if len(found) > 1:
                ns = _s(_meta(obj).get("namespace"))
                found = [f for f in found if f[2] == ns] or found
            out.append((obj, found[0][:2] if found else None))
        return out

    # without kubectl -----------------------------------------------------------------
    def _plain(self, build):
        out = []
        skip = self.tree.skipped_files()
        for file, ns in sorted(self.reached(build).items()):
            if file in skip:
                continue
            for data, line in self.tree.files.get(file, ()):
                if not _is_manifest(data):
                    continue
                meta = dict(_meta(data))
                if ns or meta.get("namespace"):
                    meta["namespace"] = ns or meta["namespace"]
                if meta.get("name") and (build.name_prefix or build.name_suffix):
                    meta["name"] = f"{build.name_prefix}{meta['name']}{build.name_suffix}"
                out.append(({**data, "metadata": meta}, (file, line)))
        return out


def _renamed(index, kind, name):
    """Definitions a name prefix/suffix or a ${VAR} may have turned into `name`."""
    found = []
    for (k, raw), places in index.items():
        if k != kind or not raw:
            continue
        pattern = "^.*" + ".+".join(re.escape(p) for p in re.split(r"\$\{[^}]*\}", raw)) + ".*$"
        if re.match(pattern, name):
            found.extend(places)
    return found if len({(f, ln) for f, ln, _ in found}) == 1 else []


@dataclass
class Walked:
    documents: list          # [Document] of the objects the cluster gets (Flux kinds and others)
    files: set               # every file some build of the cluster read


def walk_clusters(tree, builder, clusters, warnings):
    """[Walked] for each cluster folder (relative to the root). The walks advance level by
    level together, so that each level's builds of every cluster run in parallel."""
    walks = {c: _walk(tree, builder, c, warnings) for c in clusters}
    needs = {c: next(w) for c, w in walks.items()}
    done = {}
    while needs:
        builder.run([b for c in clusters if c in needs for b in needs[c]])
        for c in clusters:
            if c not in needs:
                continue
            try:
                needs[c] = walks[c].send(None)
            except StopIteration as stop:
                done[c] = stop.value
                del needs[c]
    return [done[c] for c in clusters]


def _walk(tree, builder, cluster, warnings):
    """A generator: yields the builds each level needs (builder.run runs them), returns the
    Walked of the objects cluster folder `cluster` applies."""
    docs, files = [], set()
    registry = {}                 # (kind, ns, name) -> rendered ConfigMap/Secret/source
    self_sources = set()          # GitRepositories that are this checkout
    done, seen = set(), set()
    level = [(Build(cluster), None)]
    while level:
        yield [b for b, _ in level]
        for build, _ in level:
            files |= set(builder.reached(build))
            for obj, _ in builder.cache[build]:
                if obj["kind"] in _REGISTERED:
                    registry.setdefault(_key(obj), obj)
        rendered = []
        for build, ks in level:
            values, missing = postbuild.variables(ks, registry) if ks else ({}, [])
            if missing:
                warnings.append(f"{_ref(ks)}: postBuild.substituteFrom {', '.join(missing)} is not in "
                                "this checkout: its variables are left unresolved")
            for obj, place in builder.cache[build]:
                if ks is not None and (values or "${" in json.dumps(obj)):
                    obj = postbuild.substitute(obj, values)
                rendered.append((build, ks, obj, place))
        for _, _, obj, _ in rendered:   # the sync of the cluster folder names this checkout
            if kind_of(obj) == KUSTOMIZATION and _flux_path(tree, obj) == cluster:
                self_sources.add(_source(obj))
        nxt = []
        for build, ks, obj, place in rendered:
            kind = kind_of(obj)      # None: another kind, kept for cross-kind dependsOn entries
            file, line = place or (tree.kustomization_file(build.folder) or build.folder or ".", 0)
            key = (_key(obj), file, line)
            if key in seen:
                continue
            seen.add(key)
            via = _ref(ks) if ks else ""
            docs.append(Document(obj, Origin(file, line, (cluster,), via)))
            if kind == KUSTOMIZATION:
                child = _child(tree, obj, registry, self_sources, warnings)
                if child is not None and (child, _ref(obj)) not in done:
                    done.add((child, _ref(obj)))
                    nxt.append((child, obj))
        level = nxt
    docs.sort(key=lambda d: (d.origin.file, d.origin.line, _key(d.obj)))
    return Walked(docs, files)


def _key(obj):
    return (obj["kind"], _s(_meta(obj).get("namespace")) or "default", _s(_meta(obj).get("name")))


def _ref(ks):
    meta = _meta(ks)
    return applier(KUSTOMIZATION, _s(meta.get("namespace")) or "default", _s(meta.get("name")))


def _spec(obj):
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _source(ks):
    ref = _spec(ks).get("sourceRef")
    ref = ref if isinstance(ref, dict) else {}
    ns = _s(ref.get("namespace")) or _s(_meta(ks).get("namespace")) or "default"
    return (_s(ref.get("kind")) or GITREPOSITORY, ns, _s(ref.get("name")))


def _flux_path(tree, ks):
    return tree.checkout_folder(_s(_spec(ks).get("path")))


def _is_checkout(source, registry, self_sources):
    """Is this GitRepository the repository that was checked out?"""
    if source in self_sources or source not in registry:
        return True       # the cluster's own sync (often created by bootstrap, not in Git)
    urls = {_s(_spec(registry[s]).get("url")) for s in self_sources if s in registry}
    return _s(_spec(registry[source]).get("url")) in urls - {""} or source[2] == "flux-system"


def _child(tree, ks, registry, self_sources, warnings):
    """The Build a Flux Kustomization asks for, or None (with a warning) when its spec.path
    is not in this checkout."""
    spec, source = _spec(ks), _source(ks)
    path = _s(spec.get("path")) or "./"
    kind, ns, name = source
    if kind == GITREPOSITORY and _is_checkout(source, registry, self_sources):
        folder = tree.checkout_folder(path)
    elif kind == EXTERNALARTIFACT:
        folder, why = _artifact_folder(tree, registry, self_sources, ns, name, path)
        if why:
            warnings.append(f"{_ref(ks)}: {why}: what it applies is not in the graph")
            return None
    else:
        url = _s(_spec(registry.get(source, {})).get("url"))
        warnings.append(f"{_ref(ks)}: its source {kind} {ns}/{name}{f' ({url})' if url else ''} is "
                        "not this checkout: what it applies is not in the graph")
        return None
    if folder is None:
        warnings.append(f"{_ref(ks)}: spec.path {path} does not exist in this checkout (Flux fails "
                        "with 'kustomization path not found'): what it would apply is not in the graph")
        return None
    comps = tuple(posixpath.normpath(posixpath.join(folder, c)) for c in _list(spec.get("components"))
                  if isinstance(c, str))
    patches = _list(spec.get("patches"))
    return Build(folder, _s(spec.get("targetNamespace")), _s(spec.get("namePrefix")),
                 _s(spec.get("nameSuffix")), json.dumps(patches, sort_keys=True) if patches else "",
                 comps)


def _artifact_folder(tree, registry, self_sources, ns, name, path):
    """(folder, None) for spec.path inside ExternalArtifact ns/name, or (None, why)."""
    gens = [o for (k, n, _), o in sorted(registry.items(), key=lambda i: i[0])
            if k == ARTIFACT_GENERATOR and n == ns]
    for gen in gens:
        for art in _list(_spec(gen).get("artifacts")):
            if not isinstance(art, dict) or art.get("name") != name:
                continue
            aliases = {_s(s.get("alias")): s for s in _list(_spec(gen).get("sources")) if isinstance(s, dict)}
            want = posixpath.normpath(path.strip() or ".").lstrip("/")
            want = "" if want == "." else want
            best = None
            for copy in _list(art.get("copy")):
                if not isinstance(copy, dict):
                    continue
                alias, _, src = _s(copy.get("from")).lstrip("@").partition("/")
                src = re.sub(r"/?\*\*?$", "", src)
                to = _s(copy.get("to")).replace("@artifact", "", 1).strip("/")
                if "*" in src or not (want == to or not to or want.startswith(to + "/")):
                    continue
                if best is None or len(to) > len(best[1]):
                    best = (alias, to, src)
            if best is None:
                return None, f"spec.path {path} is not copied into ExternalArtifact {ns}/{name}"
            alias, to, src = best
            source = aliases.get(alias, {})
            ref = (_s(source.get("kind")) or GITREPOSITORY, _s(source.get("namespace")) or ns,
                   _s(source.get("name")))
            if ref[0] != GITREPOSITORY or not _is_checkout(ref, registry, self_sources):
                return None, (f"ExternalArtifact {ns}/{name} copies from {ref[0]} {ref[1]}/{ref[2]}, "
                              "which is not this checkout")
            folder = tree.checkout_folder(posixpath.join(src, want[len(to):].lstrip("/")))
            if folder is None:
                return None, f"ExternalArtifact {ns}/{name} copies {src}, which is not in this checkout"
            return folder, None
    return None, (f"its source ExternalArtifact {ns}/{name} is made by no ArtifactGenerator in this "
                  "checkout")
