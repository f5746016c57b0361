"""Shared fixtures: the API-server double, a kubeconfig/env per test, goldens, scenarios."""

from __future__ import annotations

import difflib
import os
import socket
from pathlib import Path
from typing import Callable

import pytest
import yaml

from tests.apiserver import FakeApiServer
from tests.kubectl_bin import KubectlNotFound, find_kubectl

TESTS_DIR = Path(__file__).resolve().parent
GOLDEN_DIR = TESTS_DIR / "golden"
SCENARIOS_DIR = TESTS_DIR / "data" / "scenarios"
# The shared reference repositories sit beside the checkout (CI clones main next to shared/).
SHARED_EXAMPLES = Path(os.environ.get("DEPGRAPH_EXAMPLES") or TESTS_DIR.parents[1] / "shared" / "examples")


SHARED_ABSENT = f"{SHARED_EXAMPLES} is absent (../shared sits beside the checkout in CI)"


def shared_example(name):
    """../shared/examples/NAME; absent: skip, saying why (a fresh clone), or fail in CI."""
    path = SHARED_EXAMPLES / name
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: shared/ must sit beside the checkout in CI")
        pytest.skip(SHARED_ABSENT)
    return path


def shared_expected():
    """The expected-graph files of ../shared/examples. Absent: [] on a fresh clone (the
    tests that need them skip, saying why), an error in CI, which always has them."""
    found = sorted((SHARED_EXAMPLES / "expected").glob("*.json"))
    if not found and os.environ.get("CI"):
        raise RuntimeError(f"no expected graphs under {SHARED_EXAMPLES}: shared/ must sit beside the "
                           "checkout (or set DEPGRAPH_EXAMPLES)")
    return found


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/* with the current output instead of comparing")


# --------------------------------------------------------------------------- goldens


class Golden:
    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, name: str, text: str) -> None:
        """Compare `text` with tests/golden/<name>; with --update-golden, write it instead."""
        path = GOLDEN_DIR / name
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"golden file {path.relative_to(TESTS_DIR.parent)} does not exist.\n"
                        f"To create it, run: python -m pytest --update-golden", pytrace=False)
        expected = path.read_text(encoding="utf-8")
        if expected != text:
            diff = "".join(difflib.unified_diff(
                expected.splitlines(keepends=True), text.splitlines(keepends=True),
                fromfile=f"golden/{name}", tofile="actual"))
            pytest.fail(f"output differs from golden/{name}:\n{diff}\n"
                        f"If the change is intended, rerun with: python -m pytest --update-golden "
                        f"and review the diff.", pytrace=False)


@pytest.fixture
def golden(request) -> Golden:
    return Golden(request.config.getoption("--update-golden"))


# --------------------------------------------------------------------------- kubectl and server


@pytest.fixture(scope="session")
def kubectl_path() -> str:
    """A real kubectl binary (see tests/kubectl_bin.py)."""
    try:
        return find_kubectl()
    except KubectlNotFound as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def apiserver():
    """Factory: apiserver(objects=[...], **FakeApiServer options) -> a started server, stopped
    at teardown."""
    servers: list[FakeApiServer] = []

    def start(objects=(), **options) -> FakeApiServer:
        srv = FakeApiServer(objects, **options).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


KUBECONFIG_TEMPLATE = """\
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {server}
- name: unreachable
  cluster:
    server: http://127.0.0.1:{closed_port}
users:
- name: {user}
  user:
    token: test-token-{user}
contexts:
- name: {context}
  context:
    cluster: fake
    user: {user}
    namespace: {namespace}
- name: unreachable
  context:
    cluster: unreachable
    user: {user}
    namespace: {namespace}
current-context: {context}
preferences: {{}}
"""


@pytest.fixture
def kube_env(tmp_path, kubectl_path) -> Callable[..., dict]:
    """Factory: kube_env(server, namespace="flux-system", context="test", user="jane") -> env.

    Returns a full environment (a copy of os.environ) with KUBECONFIG (a fresh kubeconfig in
    tmp_path with the context `context` on the server and a context "unreachable" on a closed
    port), a per-test KUBECACHEDIR, KUBECTL (the real binary) and PATH starting with a directory
    whose `kubectl` is that binary.  HOME is left alone.
    """
    bindir = tmp_path / "kubectl-bin"
    bindir.mkdir()
    (bindir / "kubectl").symlink_to(kubectl_path)
    counter = iter(range(1000))

    def make(server: FakeApiServer | str, namespace: str = "flux-system", context: str = "test",
             user: str = "jane") -> dict:
        url = server if isinstance(server, str) else server.url
        n = next(counter)
        kubeconfig = tmp_path / (f"kubeconfig-{n}" if n else "kubeconfig")
        kubeconfig.write_text(KUBECONFIG_TEMPLATE.format(
            server=url, closed_port=_closed_port(), user=user, context=context,
            namespace=namespace))
        env = dict(os.environ)
        for var in ("KUBECTL_EXTERNAL_DIFF", "KUBE_EDITOR", "KUBERC", "KUBECTL_KUBERC"):
            env.pop(var, None)
        env.update(KUBECONFIG=str(kubeconfig), KUBECACHEDIR=str(tmp_path / "kubecache"),
                   KUBECTL=kubectl_path,
                   PATH=str(bindir) + os.pathsep + env.get("PATH", ""))
        return env

    return make


# --------------------------------------------------------------------------- scenarios


def load_scenario(name: str) -> list[dict]:
    """Every document of every *.yaml under tests/data/scenarios/<name>/ (sorted by path)."""
    folder = SCENARIOS_DIR / name
    if not folder.is_dir():
        raise FileNotFoundError(f"no scenario folder {folder}")
    objects: list[dict] = []
    for path in sorted(folder.rglob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            for doc in yaml.safe_load_all(fh):
                if not doc:
                    continue
                if doc.get("kind") == "List" or (doc.get("kind", "").endswith("List")
                                                  and "items" in doc):
                    objects.extend(doc["items"])
                else:
                    objects.append(doc)
    return objects


EXAMPLE = TESTS_DIR.parent / "examples" / "production.yaml"
NOW = {"DEPGRAPH_NOW": "2026-11-21T12:00:00Z"}   # pins ages for goldens


def production() -> list[dict]:
    """The bundled example snapshot's objects."""
    return yaml.safe_load(EXAMPLE.read_text())["items"]


@pytest.fixture
def live(request, apiserver, kube_env):
    """live(objects=None, **server options) -> (server, env): the double serving `objects`
    (a list of dicts, a scenario name, or by default the bundled production example) and
    the environment a user's shell would have, with "now" pinned (a test module's own NOW
    dict wins)."""
    now = getattr(request.module, "NOW", NOW)

    def start(objects=None, **options):
        if objects is None:
            objects = production()
        elif isinstance(objects, str):
            objects = load_scenario(objects)
        server = apiserver(objects, **options)
        return server, {**kube_env(server), **now}
    return start


@pytest.fixture
def scenario() -> Callable[[str], list[dict]]:
    """The load_scenario function as a fixture."""
    return load_scenario
