#!/usr/bin/env python3
"""Build the krew archive dist/kubectl-depgraph-<version>.tar.gz and write its version and
sha256 into krew-manifest.yaml.

The archive holds three files: kubectl-depgraph, one self-contained executable (a Python
zipapp with the kubectl_depgraph package and the pure-Python dependencies click, sh,
PyYAML without its C extension, networkx and tabulate, vendored from the versions installed
in the Python that runs this script: no network), kubectl_complete-depgraph (kubectl's
completion helper, which runs the zipapp) and LICENSE. It runs with a bare python3 of at
least the highest Requires-Python of the vendored packages. Reproducible: sorted entries,
fixed times, owners and modes, gzip without a timestamp, so the sha256 only changes with
the content.

Usage: python release/build_krew_archive.py [--out DIR] [--no-manifest]"""

import argparse
import gzip
import hashlib
import io
import os
import re
import sys
import tarfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release"
VENDORED = ("click", "sh", "PyYAML", "networkx", "tabulate")
# Not needed to run: compiled files, C extensions (yaml falls back to pure Python; _yaml is
# the shim of that extension), tests, install records and entry points (networkx's only one
# names its tests).
SKIP = re.compile(r"(__pycache__|\.py[co]$|\.so$|\.pyd$|\.dylib$|^\.\./|^_yaml/|(^|/)tests?/|"
                  r"conftest\.py$|/RECORD$|/INSTALLER$|/REQUESTED$|/direct_url\.json$|"
                  r"/entry_points\.txt$)")
MTIME = 1_700_000_000
SHEBANG = b"#!/usr/bin/env python3\n"
APP, HELPER = "kubectl-depgraph", "kubectl_complete-depgraph"


def version():
    """The package version (kubectl_depgraph.__version__, which setup.cfg reads too)."""
    text = (ROOT / "kubectl_depgraph" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def min_python():
    """(major, minor): the highest lower bound among the vendored packages' Requires-Python
    and setup.cfg's python_requires."""
    specs = [metadata.distribution(n).metadata.get("Requires-Python") or "" for n in VENDORED]
    specs.append(re.search(r"^python_requires\s*=\s*(.+)$", (ROOT / "setup.cfg").read_text(), re.M).group(1))
    bounds = [tuple(map(int, m)) for s in specs for m in re.findall(r">=\s*(\d+)\.(\d+)", s)]
    return max(bounds)


def payload():
    """(path in the zip, bytes) of the package and the vendored distributions, sorted."""
    out = {}
    for path in (ROOT / "kubectl_depgraph").rglob("*.py"):
        if "__pycache__" not in path.parts:
            out[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    for name in VENDORED:
        dist = metadata.distribution(name)
        for f in dist.files or ():
            src = Path(dist.locate_file(f))
            if not SKIP.search(str(f)) and src.is_file():
                out[str(f)] = src.read_bytes()
    return sorted(out.items())


def main_py(files):
    """The zip's __main__.py: release/zipapp_main.py with MIN_PYTHON and BUILD filled in."""
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    text = (RELEASE / "zipapp_main.py").read_text()
    text = re.sub(r"^MIN_PYTHON = \(\d+, \d+\)", f"MIN_PYTHON = {min_python()}", text, flags=re.M)
    text = re.sub(r'^BUILD = "dev"', f'BUILD = "{version()}-{digest.hexdigest()[:12]}"', text, flags=re.M)
    return text.encode()


def zipapp():
    """The kubectl-depgraph executable: a #! line and a zip (Python runs its __main__.py)."""
    files = payload()
    buf = io.BytesIO()
    buf.write(SHEBANG)
    stamp = time.gmtime(MTIME)[:6]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in [("__main__.py", main_py(files))] + files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def build(out_dir):
    """Write the archive into out_dir; (path, sha256 hex)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    members = [(APP, zipapp(), 0o755), (HELPER, (RELEASE / HELPER).read_bytes(), 0o755),
               ("LICENSE", (ROOT / "LICENSE").read_bytes(), 0o644)]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), MTIME, mode
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    path = out_dir / f"kubectl-depgraph-{version()}.tar.gz"
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def update_manifest(sha, manifest=ROOT / "krew-manifest.yaml"):
    """Version, download URIs, sha256 and the Python requirement of every platform."""
    ver, (major, minor) = version(), min_python()
    text = manifest.read_text()
    text = re.sub(r"(?m)^(  version: )v\S+", rf"\g<1>v{ver}", text)
    text = re.sub(r"download/v[^/\s]+/kubectl-depgraph-[^/\s]+\.tar\.gz",
                  f"download/v{ver}/kubectl-depgraph-{ver}.tar.gz", text)
    text = re.sub(r"(sha256: )[0-9a-f]{64}", rf"\g<1>{sha}", text)
    text = re.sub(r"Python \d+\.\d+ or newer", f"Python {major}.{minor} or newer", text)
    manifest.write_text(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the archive (dist/)")
    ap.add_argument("--no-manifest", action="store_true", help="do not rewrite krew-manifest.yaml")
    opts = ap.parse_args(argv)
    path, sha = build(opts.out)
    if not opts.no_manifest:
        update_manifest(sha)
    shown = os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else path
    print(f"{shown}  {path.stat().st_size} bytes  sha256 {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
