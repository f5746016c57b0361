#!/usr/bin/env python3
"""Build the krew archive and write its sha256 into krew-manifest.yaml.

The archive is self-contained: bin/kubectl-depgraph, the kubectl_depgraph package and a
vendor/ folder with the pure-Python parts of click, sh, PyYAML, networkx and tabulate,
copied from the distributions installed in this Python (so the build needs no network).
PyYAML's C extension is left out: yaml falls back to its pure-Python loader. The tarball is
reproducible: sorted entries, fixed mtimes and owners, gzip without a timestamp.

Usage: python release/build_krew_archive.py [--out dist/] [--no-manifest]"""

import argparse
import gzip
import hashlib
import io
import re
import sys
import tarfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDORED = ("click", "sh", "PyYAML", "networkx", "tabulate")
SKIP = re.compile(r"(__pycache__|\.pyc$|\.so$|\.pyd$|\.dylib$|^\.\./|^bin/|/RECORD$|/INSTALLER$|/REQUESTED$|/direct_url\.json$)")
MTIME = 1_700_000_000


def version():
    text = (ROOT / "setup.cfg").read_text()
    return re.search(r"^version\s*=\s*(\S+)", text, re.M).group(1)


def members():
    """(archive path, source path) pairs, sorted."""
    out = [("bin/kubectl-depgraph", ROOT / "bin" / "kubectl-depgraph"), ("README.md", ROOT / "README.md")]
    for path in sorted((ROOT / "kubectl_depgraph").rglob("*")):
        rel = path.relative_to(ROOT).as_posix()
        if path.is_file() and not SKIP.search(rel):
            out.append((rel, path))
    for name in VENDORED:
        dist = metadata.distribution(name)
        for f in dist.files or ():
            rel = str(f)
            src = Path(dist.locate_file(f))
            if SKIP.search(rel) or not src.is_file():
                continue
            out.append((f"vendor/{rel}", src))
    return sorted(out)


def build(out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"kubectl-depgraph-v{version()}.tar.gz"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for arc, src in members():
            info = tarfile.TarInfo(arc)
            data = src.read_bytes()
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o755 if arc == "bin/kubectl-depgraph" else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    path = out_dir / name
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def update_manifest(sha, ver):
    manifest = ROOT / "krew-manifest.yaml"
    text = manifest.read_text()
    text = re.sub(r"(sha256: )[0-9a-f]{64}", rf"\g<1>{sha}", text)
    text = re.sub(r"(^  version: )v\S+", rf"\g<1>v{ver}", text, flags=re.M)
    text = re.sub(r"(download/)v[^/]+/kubectl-depgraph-v[^/]+\.tar\.gz",
                  rf"\g<1>v{ver}/kubectl-depgraph-v{ver}.tar.gz", text)
    manifest.write_text(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "dist")
    ap.add_argument("--no-manifest", action="store_true", help="do not rewrite krew-manifest.yaml")
    opts = ap.parse_args(argv)
    path, sha = build(opts.out)
    if not opts.no_manifest:
        update_manifest(sha, version())
    print(f"{path}  sha256 {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
