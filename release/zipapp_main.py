"""kubectl-depgraph as one file: a Python zipapp holding the kubectl_depgraph package and its
pure-Python dependencies (click, sh, PyYAML, networkx, tabulate). It needs only python3.

Run from the zip, Python compiles every module it imports on every run (about 1.5 s more for
`tree`), because it cannot cache bytecode inside a zip. So the first run unpacks the zip's
files into $XDG_CACHE_HOME/kubectl-depgraph/<build> (default ~/.cache), where Python keeps
the bytecode like for any installed package; when that cannot be written, everything runs
from the zip. Started as kubectl_complete-depgraph (the helper next to it in the krew
archive), it answers kubectl's completion requests instead.

release/build_krew_archive.py fills in MIN_PYTHON and BUILD below and stores this file as the
zip's __main__.py; it uses only the standard library until the package is imported."""

import os
import sys

MIN_PYTHON = (3, 9)   # filled in: the highest Requires-Python of the bundled packages
BUILD = "dev"         # filled in: version and content hash; names the unpacked folder
UNUSED_DAYS = 7       # other builds' folders unused this long are removed when one is unpacked


def _check_python():
    if sys.version_info < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        sys.stderr.write(f"error: kubectl-depgraph needs Python {need} or newer; {sys.executable} "
                         f"is {sys.version.split()[0]}\n"
                         f"hint: install python3 {need}+, or pip install kubectl-depgraph from its "
                         "source into a Python 3.9+ (pip picks dependencies that fit it)\n")
        sys.exit(4)


def _cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kubectl-depgraph")


def _unpacked(archive):
    """The folder holding the archive's files (unpacked on first use), or None."""
    root = _cache_root()
    target = os.path.join(root, BUILD)
    if os.path.isfile(os.path.join(target, "kubectl_depgraph", "__init__.py")):
        try:
            os.utime(target)   # marks it in use (see _remove_unused)
        except OSError:
            pass
        return target
    import shutil
    import tempfile
    import zipfile
    tmp = None
    try:
        os.makedirs(root, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".unpacking-", dir=root)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp, [n for n in zf.namelist() if n != "__main__.py"])
        try:
            os.rename(tmp, target)   # atomic: a folder there is always complete
            tmp = None
        except OSError:              # another run unpacked it first (or a broken leftover)
            if not os.path.isfile(os.path.join(target, "kubectl_depgraph", "__init__.py")):
                return None
        _remove_unused(root, target)
        return target
    except (OSError, zipfile.BadZipFile):
        return None
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_unused(root, keep):
    import shutil
    import time
    limit = time.time() - UNUSED_DAYS * 86400
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if path != keep and os.path.isdir(path) and os.path.getmtime(path) < limit:
            shutil.rmtree(path, ignore_errors=True)


def run():
    _check_python()
    archive = os.path.dirname(os.path.abspath(__file__))
    folder = _unpacked(archive)
    if folder:
        sys.path = [folder if p and os.path.abspath(p) == archive else p for p in sys.path]
    # run by the helper kubectl_complete-depgraph, or under that name (a link to this file)
    if globals().get("COMPLETION") or os.path.basename(sys.argv[0]).startswith("kubectl_complete-"):
        from kubectl_depgraph.cli.completion import kubectl_complete
        kubectl_complete()
    else:
        from kubectl_depgraph.cli import main
        main()


if __name__ == "__main__":
    run()
