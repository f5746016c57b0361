"""The krew archive, built once per test session and unpacked: the `krew_archive` fixture of
tests/test_packaging.py and tests/test_completion.py."""

import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "release"))
import build_krew_archive  # noqa: E402


@pytest.fixture(scope="session")
def krew_archive(tmp_path_factory):
    """(archive path, sha256, the folder it is unpacked into: kubectl-depgraph,
    kubectl_complete-depgraph, LICENSE). Runs use <that folder>/../cache as XDG_CACHE_HOME."""
    base = tmp_path_factory.mktemp("krew")
    path, sha = build_krew_archive.build(base / "dist")
    with tarfile.open(path) as tar:
        tar.extractall(base / "unpacked")
    return path, sha, base / "unpacked"
