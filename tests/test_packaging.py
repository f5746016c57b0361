"""The krew archive: one zipapp that runs on a bare python3, reproducible, and a manifest that
krew's validation rules accept and that points at the archive."""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.archive import ROOT, build_krew_archive, krew_archive  # noqa: F401 - a fixture
from tests.conftest import EXAMPLE, NOW

PYTHON3 = shutil.which("python3") or "python3"


@pytest.fixture
def built(krew_archive):
    return krew_archive


def run_app(folder, *args, env=None, python=PYTHON3, cache=None, timeout=120):
    """The zipapp under `python -I -S`: no PYTHON* variables, no user site, and (-S) no
    site-packages at all: only the standard library and the zipapp."""
    env = dict(env or os.environ)
    env["XDG_CACHE_HOME"] = str(cache or folder.parent / "cache")
    return subprocess.run([python, "-I", "-S", str(folder / "kubectl-depgraph"), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=folder)


def test_archive_is_reproducible_and_holds_three_files(built, tmp_path):
    path, sha, _ = built
    again, sha2 = build_krew_archive.build(tmp_path)
    assert sha2 == sha and again.name == path.name == f"kubectl-depgraph-{build_krew_archive.version()}.tar.gz"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    with tarfile.open(path) as tar:
        modes = {m.name: (m.mode, m.mtime, m.uid) for m in tar.getmembers()}
    assert modes == {"kubectl-depgraph": (0o755, build_krew_archive.MTIME, 0),
                     "kubectl_complete-depgraph": (0o755, build_krew_archive.MTIME, 0),
                     "LICENSE": (0o644, build_krew_archive.MTIME, 0)}


def test_zipapp_vendors_pure_python_only(built):
    _, _, folder = built
    app = folder / "kubectl-depgraph"
    assert app.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    names = zipfile.ZipFile(app).namelist()
    assert "__main__.py" in names and "kubectl_depgraph/cli/__init__.py" in names
    for top in ("click/__init__.py", "sh/__init__.py", "yaml/__init__.py", "networkx/__init__.py",
                "tabulate/__init__.py"):
        assert top in names
    assert not [n for n in names if re.search(r"\.(so|pyd|pyc)$|/tests/", n)]
    assert any(re.search(r"networkx-[\d.]+\.dist-info/licenses/", n) for n in names)  # their licenses


def test_zipapp_runs_tree_against_the_api_server_with_a_bare_python(built, live):
    _, _, folder = built
    _, env = live()
    out = run_app(folder, "tree", "-o", "json", env=env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["input"] == "the cluster" and "flux-system/production-frontend" in out.stdout
    # the second run uses the unpacked copy (bytecode cached next to it)
    cache = folder.parent / "cache" / "kubectl-depgraph"
    assert [p.name for p in cache.iterdir()][0].startswith(build_krew_archive.version() + "-")
    again = run_app(folder, "tree", "-o", "json", env=env)
    assert again.stdout == out.stdout


def test_zipapp_runs_from_the_zip_when_the_cache_cannot_be_written(built, tmp_path):
    _, _, folder = built
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    out = run_app(folder, "tree", "-f", EXAMPLE, env={**os.environ, **NOW}, cache=blocked)
    assert out.returncode == 0, out.stderr
    assert "production-frontend" in out.stdout and out.stderr == ""


def test_zipapp_refuses_a_python_older_than_its_dependencies_need(built, tmp_path):
    _, _, folder = built
    main = zipfile.ZipFile(folder / "kubectl-depgraph").read("__main__.py").decode()
    need = build_krew_archive.min_python()
    assert f"MIN_PYTHON = {need}" in main
    too_new = tmp_path / "main.py"
    too_new.write_text(re.sub(r"MIN_PYTHON = \(\d+, \d+\)", "MIN_PYTHON = (99, 0)", main))
    proc = subprocess.run([PYTHON3, "-I", str(too_new), "version"], capture_output=True, text=True)
    assert proc.returncode == 4 and proc.stdout == ""
    assert proc.stderr.startswith("error: kubectl-depgraph needs Python 99.0 or newer; ")
    assert "\nhint: " in proc.stderr and "Traceback" not in proc.stderr


def test_version_of_the_zipapp(built):
    _, _, folder = built
    out = run_app(folder, "version", "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["plugin"] == build_krew_archive.version()


# --------------------------------------------------------------------------- the manifest

MANIFEST = yaml.safe_load((ROOT / "krew-manifest.yaml").read_text())
SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                    *(f"lpt{i}" for i in range(1, 10))}


def krew_problems(manifest):
    """krew's own checks (pkg/index/validation ValidatePlugin and validatePlatform, the
    index's validate-krew-manifest line lengths and overlap check, and the installer's
    file and bin path rules), as a list of problems."""
    problems = []
    spec, name = manifest.get("spec") or {}, (manifest.get("metadata") or {}).get("name", "")
    if manifest.get("apiVersion") != "krew.googlecontainertools.github.com/v1alpha2":
        problems.append("apiVersion")
    if manifest.get("kind") != "Plugin":
        problems.append("kind")
    if not re.fullmatch(r"[\w-]+", name) or name.lower() in WINDOWS_RESERVED:
        problems.append("metadata.name")
    if not spec.get("shortDescription"):
        problems.append("shortDescription is empty")
    if not SEMVER.match(str(spec.get("version", ""))):
        problems.append("version is not vMAJOR.MINOR.PATCH")
    for field, limit in (("shortDescription", 70), ("description", 80), ("caveats", 80)):
        long = [line for line in str(spec.get(field, "")).split("\n")
                if len(line) > limit and " " in line.strip()]
        if long:
            problems.append(f"{field} has lines over {limit} characters: {long[0]!r}")
    platforms = spec.get("platforms") or []
    if not platforms:
        problems.append("no platforms")
    seen = {}
    for i, p in enumerate(platforms):
        labels = (p.get("selector") or {}).get("matchLabels") or {}
        if not labels or set(labels) - {"os", "arch"}:
            problems.append(f"platform {i}: selector must use only os/arch")
        key = (labels.get("os"), labels.get("arch"))
        if key in seen:
            problems.append(f"platforms {seen[key]} and {i} overlap on {key}")
        seen[key] = i
        if not p.get("uri"):
            problems.append(f"platform {i}: no uri")
        if not re.fullmatch(r"[a-f0-9]{64}", str(p.get("sha256", ""))):
            problems.append(f"platform {i}: sha256 is not 64 lowercase hex digits")
        if not p.get("bin") or os.path.isabs(p["bin"]) or ".." in Path(p["bin"]).parts:
            problems.append(f"platform {i}: bin must be a path inside the install folder")
        for op in p.get("files") or [{}]:
            to = op.get("to", "")
            if not op.get("from") or os.path.normpath(to) != to or to.startswith("..") or os.path.isabs(to):
                problems.append(f"platform {i}: bad file operation {op}")
    return problems


def test_manifest_follows_krews_rules():
    assert krew_problems(MANIFEST) == []
    assert MANIFEST["metadata"]["name"] == "depgraph"   # `kubectl depgraph`
    platforms = {(p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"])
                 for p in MANIFEST["spec"]["platforms"]}
    assert platforms == {(o, a) for o in ("linux", "darwin") for a in ("amd64", "arm64")}
    for field in ("homepage", "shortDescription", "description", "caveats"):
        assert MANIFEST["spec"][field].strip()
    assert "python3" in MANIFEST["spec"]["caveats"] and "kubectl" in MANIFEST["spec"]["caveats"]


def test_the_rules_catch_what_krew_rejects():
    bad = yaml.safe_load(yaml.safe_dump(MANIFEST))
    bad["spec"]["version"] = "0.1"
    bad["spec"]["platforms"][0]["sha256"] = "ABC"
    bad["spec"]["platforms"][1]["bin"] = "../kubectl-depgraph"
    bad["spec"]["platforms"][2]["selector"]["matchLabels"] = {"os": "linux", "arch": "amd64"}
    assert len(krew_problems(bad)) == 4


def test_manifest_follows_the_package_and_the_built_archive(built, tmp_path):
    """The build writes the version, the URIs, the sha256 and the Python requirement; the
    files and bin it names are in the archive, and krew's install steps give a runnable
    plugin."""
    path, sha, folder = built
    ver = build_krew_archive.version()
    assert MANIFEST["spec"]["version"] == f"v{ver}"
    manifest = tmp_path / "depgraph.yaml"
    shutil.copy(ROOT / "krew-manifest.yaml", manifest)
    build_krew_archive.update_manifest(sha, manifest)
    updated = yaml.safe_load(manifest.read_text())
    assert krew_problems(updated) == []
    major, minor = build_krew_archive.min_python()
    assert f"Python {major}.{minor} or newer" in updated["spec"]["caveats"]
    for p in updated["spec"]["platforms"]:
        assert p["sha256"] == sha
        assert p["uri"].endswith(f"/download/v{ver}/{path.name}")
    # krew install: move `files` from the unpacked archive, link `bin` into krew's bin folder
    platform = updated["spec"]["platforms"][0]
    install = tmp_path / "store" / "depgraph" / f"v{ver}"
    install.mkdir(parents=True)
    for op in platform["files"]:
        matches = glob.glob(str(folder / op["from"]))
        assert matches, op
        for src in matches:
            shutil.copy2(src, install / op["to"] / os.path.basename(src))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kubectl-depgraph").symlink_to(os.path.relpath(install / platform["bin"], bindir))
    assert os.access(bindir / "kubectl-depgraph", os.X_OK)
    proc = subprocess.run([str(bindir / "kubectl-depgraph"), "version", "-o", "json"], capture_output=True,
                          text=True, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["plugin"] == ver


def test_package_version_is_single_sourced():
    from kubectl_depgraph import __version__
    assert build_krew_archive.version() == __version__
    assert "version = attr: kubectl_depgraph.__version__" in (ROOT / "setup.cfg").read_text()
