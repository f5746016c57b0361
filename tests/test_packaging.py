"""The krew archive is self-contained and reproducible; the manifest points at it."""

import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "release"))
import build_krew_archive  # noqa: E402


def test_archive_runs_without_site_packages(tmp_path):
    path, sha = build_krew_archive.build(tmp_path / "dist")
    again, sha2 = build_krew_archive.build(tmp_path / "dist2")
    assert sha == sha2  # reproducible
    with tarfile.open(path) as tar:
        tar.extractall(tmp_path / "x")
    # -S -E: no site-packages, no PYTHON* variables: only the stdlib and the archive.
    proc = subprocess.run([sys.executable, "-S", "-E", str(tmp_path / "x" / "bin" / "kubectl-depgraph"),
                           "tree", "-f", str(ROOT / "examples" / "production.yaml"), "-o", "json"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '"apiVersion": "kubectl-depgraph/v1"' in proc.stdout


def test_krew_manifest_matches_the_package():
    manifest = yaml.safe_load((ROOT / "krew-manifest.yaml").read_text())
    assert manifest["metadata"]["name"] == "depgraph"  # `kubectl depgraph`
    assert manifest["spec"]["version"] == f"v{build_krew_archive.version()}"
    platform = manifest["spec"]["platforms"][0]
    assert platform["bin"] == "bin/kubectl-depgraph"
    assert platform["uri"].endswith(f"/v{build_krew_archive.version()}/kubectl-depgraph-v"
                                    f"{build_krew_archive.version()}.tar.gz")
    assert len(platform["sha256"]) == 64
