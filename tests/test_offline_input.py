"""manifests.py: Go-compatible YAML loading, snapshots, and reading a Git checkout."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml

from kubectl_depgraph.errors import InputError
from kubectl_depgraph.acquire.cluster import Kubectl, KubeOptions
from kubectl_depgraph.acquire.gitrepo import read_tree
from kubectl_depgraph.graph import DepGraph
from kubectl_depgraph.acquire.snapshot import Document, read_snapshot
from kubectl_depgraph.yamlio import dump_yaml, load_yaml_documents
from kubectl_depgraph.model import ObjectRef, Origin, parse_object

REPO = Path(__file__).parent / "data" / "manifests" / "repo"


def _by_origin(loaded):
    return {str(d.origin): d for d in loaded.documents}


# --- YAML loading ---------------------------------------------------------------------

def test_redefined_anchor_later_definition_wins():
    text = "a: &port 80\nb: *port\nc: &port 8080\nd: *port\n"
    assert load_yaml_documents(text, "f.yaml") == [({"a": 80, "b": 80, "c": 8080, "d": 8080}, 1)]


def test_bare_equals_is_a_string():
    [(data, _)] = load_yaml_documents("matchType: =\n", "f.yaml")
    assert data == {"matchType": "="}


def test_custom_tags_load_as_plain_values():
    [(data, _)] = load_yaml_documents("k: !env_var API_KEY\nm: !x {a: 1}\ns: !y [1]\n", "f")
    assert data == {"k": "API_KEY", "m": {"a": 1}, "s": [1]}


def test_timestamps_stay_strings():
    [(data, _)] = load_yaml_documents("t: 2024-01-02T03:04:05Z\n", "f")
    assert data == {"t": "2024-01-02T03:04:05Z"}


def test_document_lines_are_start_lines():
    text = "---\n# comment\na: 1\n---\n\nb: 2\n---\n"
    assert load_yaml_documents(text, "f") == [({"a": 1}, 3), ({"b": 2}, 6)]


def test_alias_bomb_refused_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        load_yaml_documents("\n".join(lines) + "\n", "bomb.yaml")
    assert time.monotonic() - start < 2
    assert info.value.message.startswith("bomb.yaml:1: refused: alias expansion exceeds")


def test_invalid_yaml_names_file_and_line():
    with pytest.raises(InputError, match=r"^bad.yaml:2: invalid YAML"):
        load_yaml_documents("a: 1\nb: ]\n", "bad.yaml")


def test_dump_yaml_block_style_unicode():
    out = dump_yaml({"b": 1, "a": {"msg": "héllo", "multi": "x\ny"}, "l": [1]})
    assert out == "b: 1\na:\n  msg: héllo\n  multi: |-\n    x\n    y\nl:\n- 1\n"


# --- snapshot input (-f) --------------------------------------------------------------

KS = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
      "metadata": {"name": "apps", "namespace": "flux-system"}, "spec": {}}
EVENT = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "flux-system"},
         "involvedObject": {"kind": "Kustomization", "name": "apps"}}


def test_snapshot_list_yaml(tmp_path):
    f = tmp_path / "snap.yaml"
    f.write_text(dump_yaml({"apiVersion": "v1", "kind": "List", "items": [KS, EVENT]}))
    loaded = read_snapshot([str(f)])
    assert [d.obj["kind"] for d in loaded.documents] == ["Kustomization", "Event"]
    assert [d.origin.line for d in loaded.documents] == [4, 10]
    assert loaded.documents[0].origin.file == str(f)


def test_snapshot_multidoc_and_json_and_stdin(tmp_path):
    multi = tmp_path / "multi.yaml"
    multi.write_text(dump_yaml(KS) + "---\n" + dump_yaml(EVENT))
    js = tmp_path / "list.json"
    js.write_text(json.dumps({"kind": "List", "items": [KS]}, indent=2).replace("/", "\\/"))
    loaded = read_snapshot([str(multi), str(js), "-"], stdin_text=json.dumps(KS))
    assert [(d.obj["kind"], d.origin.file) for d in loaded.documents] == [
        ("Kustomization", str(multi)), ("Event", str(multi)),
        ("Kustomization", str(js)), ("Kustomization", "<stdin>")]
    assert loaded.documents[2].obj["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"


def test_snapshot_errors(tmp_path):
    with pytest.raises(InputError, match="nope.yaml: cannot read"):
        read_snapshot([str(tmp_path / "nope.yaml")])
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "List",\n "items": [\n}')
    with pytest.raises(InputError, match=r"bad.json:3: invalid"):
        read_snapshot([str(bad)])


# --- Git checkout (--path) ------------------------------------------------------------

def test_tree_namespaces_patches_and_warnings():
    loaded = read_tree(str(REPO), kubectl=None, all_files=True)
    docs = _by_origin(loaded)
    # outermost kustomization namespace wins over the inner one and metadata.namespace
    assert docs["apps/base/web/release.yaml:1"].obj["metadata"]["namespace"] == "web-dev"
    # Flux targetNamespace, with spec.path matched by suffix (./db -> infra/db)
    assert docs["infra/db/release.yaml:1"].obj["metadata"]["namespace"] == "databases"
    assert docs["infra/db/alertmanagerconfig.yaml:1"].obj["spec"]["route"]["matchers"][0] == \
        {"name": "severity", "matchType": "=", "value": "critical"}
    # redefined anchors in a HelmRelease
    assert docs["apps/base/web/release.yaml:1"].obj["spec"]["values"]["last"] == 8080
    # a makejinja template whose markers are YAML comments is read
    assert "config/rendered.yaml.j2:2" in docs
    # patch files and kustomization files are not objects
    files = {d.origin.file for d in loaded.documents}
    assert "apps/dev/web-values.yaml" not in files
    assert not any(f.endswith("kustomization.yaml") for f in files)
    warnings = "\n".join(loaded.warnings)
    assert "config/empty.yaml" not in warnings     # an empty file applies nothing: no warning
    assert "config/values.yaml.j2:2: invalid YAML" in warnings and "templated file" in warnings
    # a base applied by two clusters in different namespaces is reported
    assert "apps/base/web/release.yaml: applied in namespace web-dev" in warnings


def test_tree_scopes_and_duplicates():
    loaded = read_tree(str(REPO), kubectl=None, all_files=True)
    docs = _by_origin(loaded)
    dev = ("clusters/dev",)
    assert docs["clusters/dev/apps.yaml:2"].origin.scope == dev
    assert docs["infra/db/release.yaml:1"].origin.scope == ("clusters/dev", "clusters/prod")
    assert docs["config/rendered.yaml.j2:2"].origin.scope == ()
    # flux-system/apps is defined in both clusters: not a duplicate
    assert clashing(loaded.documents) == []
    extra = Document(docs["clusters/dev/apps.yaml:2"].obj, Origin("clusters/dev/again.yaml", 1, dev))
    assert clashing(loaded.documents + [extra]) == [
        (ObjectRef("Kustomization", "flux-system", "apps"),
         [Origin("clusters/dev/again.yaml", 1, dev), Origin("clusters/dev/apps.yaml", 2, dev)])]
    shared = Document(extra.obj, Origin("x.yaml", 1))
    assert len(clashing(loaded.documents + [shared])[0][1]) == 3


def test_tree_kubectl_renders_component_dependson(kubectl_path):
    """apps/dev includes a component that adds dependsOn: only kustomize itself sees it."""
    plain = _by_origin(read_tree(str(REPO), kubectl=None, all_files=True))
    rendered_loaded = read_tree(str(REPO), kubectl=Kubectl(KubeOptions(kubectl=kubectl_path)), all_files=True)
    rendered = _by_origin(rendered_loaded)
    key = "apps/base/web/release.yaml:1"
    assert "dependsOn" not in plain[key].obj["spec"]
    obj = parse_object(rendered[key].obj)
    assert obj.ref == ObjectRef("HelmRelease", "web-dev", "web")
    assert [str(d.ref) for d in obj.depends_on] == ["HelmRelease/databases/database"]
    assert rendered[key].obj["spec"]["values"]["replicas"] == 1    # the patch applied
    assert not any("kubectl" in w for w in rendered_loaded.warnings)


def test_tree_kubectl_missing_or_failing(tmp_path, kubectl_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    loaded = read_tree(str(repo), kubectl=Kubectl(KubeOptions(kubectl=str(tmp_path / "no-kubectl"))), all_files=True)
    assert any("not found: components, patches" in w for w in loaded.warnings)
    assert len(loaded.documents) == len(read_tree(str(REPO), kubectl=None, all_files=True).documents)
    (repo / "components" / "wait" / "kustomization.yaml").write_text("kind: [\n")
    loaded = read_tree(str(repo), kubectl=Kubectl(KubeOptions(kubectl=kubectl_path)), all_files=True)
    assert any(w.startswith("apps/dev/kustomization.yaml: kubectl kustomize failed")
               for w in loaded.warnings)


def test_tree_binary_big_and_symlink_loop(tmp_path, monkeypatch):
    (tmp_path / "bin.yaml").write_bytes(b"\x00\x01\x02")
    (tmp_path / "latin.yaml").write_bytes(b"a: \xff\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ks.yaml").write_text(dump_yaml(KS))
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    os.symlink("/", tmp_path / "outside")
    import kubectl_depgraph.acquire.kfolder as manifests
    monkeypatch.setattr(manifests, "MAX_FILE_BYTES", 1000)
    (tmp_path / "huge.yaml").write_text("a: " + "x" * 2000)
    loaded = read_tree(str(tmp_path), kubectl=None)
    assert [str(d.origin) for d in loaded.documents] == ["sub/ks.yaml:1"]
    warnings = "\n".join(loaded.warnings)
    for text in ("bin.yaml: binary file", "latin.yaml: not UTF-8", "huge.yaml: larger than",
                 "sub/loop: directory symlink loop", "outside: directory symlink points outside"):
        assert text in warnings


def test_tree_not_a_directory(tmp_path):
    with pytest.raises(InputError, match="missing: does not exist"):
        read_tree(str(tmp_path / "missing"))
    (tmp_path / "file.yaml").write_text("a: 1\n")
    with pytest.raises(InputError, match="file.yaml: not a directory"):
        read_tree(str(tmp_path / "file.yaml"))


def test_tree_bomb_is_a_warning(tmp_path):
    (tmp_path / "bomb.yaml").write_text(
        'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
        'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n'
        'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n')
    loaded = read_tree(str(tmp_path), kubectl=None)
    assert loaded.documents == []
    assert loaded.warnings[0].startswith("bomb.yaml:1: refused: alias expansion exceeds")


def test_a_large_snapshot_without_aliases_is_not_taken_for_a_bomb(tmp_path):
    items = [{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
              "metadata": {"name": f"ks-{i}", "namespace": "flux-system"},
              "spec": {"dependsOn": [{"name": f"ks-{i - 1}"}], "path": f"./{i}",
                       "sourceRef": {"kind": "GitRepository", "name": "repo"}}} for i in range(7000)]   # ~120k YAML nodes
    big = tmp_path / "big.yaml"
    big.write_text(yaml.dump({"apiVersion": "v1", "kind": "List", "items": items}, Dumper=yaml.CSafeDumper))
    assert len(read_snapshot([str(big)]).documents) == 7000


def test_json_snapshot_items_keep_their_line_numbers(tmp_path):
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
         "metadata": {"name": n, "namespace": "flux-system"}} for n in ("a", "b")]}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc, indent=4))
    lines = path.read_text().splitlines()
    docs = read_snapshot([str(path)]).documents
    assert [d.obj["metadata"]["name"] for d in docs] == ["a", "b"]
    assert [lines[d.origin.line - 1].strip() for d in docs] == ["{", "{"]
    assert docs[1].origin.line > docs[0].origin.line > 1


def clashing(documents):
    """[(ref, [origins])] of the objects one cluster would get twice."""
    objects = [o for o in (parse_object(d.obj, origin=d.origin) for d in documents) if o is not None]
    return [(d.ref, list(d.origins)) for d in DepGraph.from_objects(objects).clashing_duplicates()]
