"""The tree of a Git ref, for comparing a change with its base (`impact --base REF`).

`git archive` writes the ref's files to a zip in a temporary folder, so the user's checkout,
index and worktree list are never touched. Every command is an argv list through runner."""

import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager

from kubectl_depgraph import runner
from kubectl_depgraph.errors import CommandFailed, CommandNotFound, InputError


def _git(*args, cwd):
    try:
        return runner.run(["git", "-C", cwd, *args], timeout=120).stdout.strip()
    except CommandNotFound as exc:
        raise InputError("git not found: --base needs git", hint="install git, or compare two "
                         "checkouts with --base-path DIR") from exc
    except CommandFailed as exc:
        detail = next((ln for ln in exc.stderr.splitlines() if ln.strip()), f"exit {exc.returncode}")
        raise InputError(f"git {' '.join(args[:2])} failed in {cwd}: {detail.strip()}") from exc


@contextmanager
def tree_at(path, ref):
    """The folder that is `path` as of `ref` (extracted into a temporary folder, removed on
    exit). `path` may be a sub-folder of its repository."""
    if not os.path.isdir(path):
        raise InputError(f"{path}: does not exist" if not os.path.exists(path) else f"{path}: not a directory")
    top = _git("rev-parse", "--show-toplevel", cwd=path)
    prefix = _git("rev-parse", "--show-prefix", cwd=path)
    commit = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=path)
    tmp = tempfile.mkdtemp(prefix="depgraph-base-")
    try:
        archive = os.path.join(tmp, "base.zip")
        _git("archive", "--format=zip", "-o", archive, commit, cwd=top)
        root = os.path.join(tmp, "tree")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(root)
        base = os.path.join(root, prefix)
        if not os.path.isdir(base):
            raise InputError(f"{prefix.rstrip('/') or '.'} does not exist at {ref}",
                             hint="the folder was added by the change: compare from its parent folder")
        yield base, commit
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
