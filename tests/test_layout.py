"""The package's shape (README "How it is built"): each third-party package has one owner,
and imports only point from later stages to earlier ones."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kubectl_depgraph"

OWNERS = {"yaml": {"yamlio.py"}, "sh": {"runner.py"}, "networkx": {"graph.py"},
          "tabulate": {"render/table.py"}}
# stage -> stages it must not import (the data flows acquire → model → graph → judge → render → cli)
FORBIDDEN = {
    "acquire": {"graph", "judge", "reconcile", "render", "cli"},
    "judge": {"acquire", "reconcile", "render", "cli", "runner"},
    "render": {"acquire", "reconcile", "cli", "runner", "graph"},
    "reconcile": {"render", "cli"},
    "model.py": {"acquire", "graph", "judge", "reconcile", "render", "cli", "runner"},
    "graph.py": {"acquire", "judge", "reconcile", "render", "cli", "runner"},
}


def _imports(path):
    """Top-level names of every module `path` imports (at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def test_each_third_party_package_has_one_owner():
    owners = {pkg: set() for pkg in OWNERS}
    for path in _modules():
        for name in _imports(path):
            top = name.split(".")[0]
            if top in owners:
                owners[top].add(path.relative_to(PACKAGE).as_posix())
    assert owners == OWNERS


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_stages_import_only_earlier_stages(stage):
    paths = [PACKAGE / stage] if stage.endswith(".py") else sorted((PACKAGE / stage).rglob("*.py"))
    for path in paths:
        ours = {n.split(".")[1] for n in _imports(path) if n.startswith("kubectl_depgraph.")}
        ours |= {n.split(".")[1] + ".py" for n in _imports(path) if n.startswith("kubectl_depgraph.")}
        assert not ours & FORBIDDEN[stage], f"{path.relative_to(PACKAGE)} imports {ours & FORBIDDEN[stage]}"


def test_no_core_module_raises_usage_errors():
    """Flag wording belongs to the CLI; the core returns data or domain errors."""
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("cli/") or rel == "errors.py":
            continue
        assert "UsageError" not in path.read_text(), rel


def test_modules_stay_small():
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in _modules()}
    assert {name: n for name, n in sizes.items() if n > 420} == {}


@pytest.mark.parametrize("args", [["--help"], ["tree", "--help"], ["why", "--help"]])
def test_help_imports_neither_networkx_nor_sh(args):
    code = ("import sys; sys.argv = ['kubectl-depgraph', *%r]\n"
            "from kubectl_depgraph.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('networkx', 'sh') if m in sys.modules), file=sys.stderr)" % (args,))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=PACKAGE.parent)
    assert proc.stderr.strip().splitlines()[-1] == "[]"
