"""Build and run a real control plane (etcd + kube-apiserver) and the real Flux controllers.

Everything is built from the published Go modules with plain `go build`, through the small
wrapper modules beside this file (one folder per component, each a go.mod + go.sum that
requires the component's module and copies the non-local `replace` lines it needs).
Binaries are cached in ~/.cache/kubectl-depgraph/e2e/<key>/bin, where <key> hashes the Go
version, the wrapper modules and the build flags, so a second run builds nothing.

The processes are started the way controller-runtime's envtest starts a control plane:
etcd on loopback, kube-apiserver with generated serving certs (--cert-dir), a client CA,
a service-account key pair, the RBAC authorizer and the ServiceAccount admission plugin off.
Authentication is by client certificate: `e2e-admin` (system:masters) for the fixture and
the controllers, `depgraph` (system:masters) for the plugin under test, so the audit log
tells the plugin's requests apart.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent

K8S_VERSION = "v1.35.4"


@dataclass(frozen=True)
class Component:
    name: str           # binary name
    module_dir: str     # wrapper module folder under tests/e2e/
    package: str        # the main package to `go build`
    ldflags: str = ""
    crd_module: str = ""  # module@version whose config/crd/bases/ holds the CRDs


COMPONENTS = (
    Component("etcd", "etcd", "go.etcd.io/etcd/server/v3"),
    Component("kube-apiserver", "kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver",
              ldflags=" ".join(
                  f"-X {pkg}.{var}={val}"
                  for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
                  for var, val in (("gitVersion", K8S_VERSION), ("gitMajor", "1"),
                                   ("gitMinor", K8S_VERSION.split(".")[1]),
                                   ("gitTreeState", "clean")))),
    Component("source-controller", "source-controller", "github.com/fluxcd/source-controller",
              crd_module="github.com/fluxcd/source-controller"),
    Component("kustomize-controller", "kustomize-controller",
              "github.com/fluxcd/kustomize-controller",
              crd_module="github.com/fluxcd/kustomize-controller"),
)


class BuildError(RuntimeError):
    pass


class StackError(RuntimeError):
    pass


# --------------------------------------------------------------------------- building


def go_binary() -> str:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.access(go, os.X_OK):
        raise BuildError("the Go toolchain (>= 1.26) is needed to build the e2e components: "
                         "`go` is not on PATH nor at /usr/local/go/bin/go")
    return go


def go_env() -> dict:
    env = dict(os.environ)
    env["GOTOOLCHAIN"] = "local"
    env["GOFLAGS"] = "-mod=mod"
    env["PATH"] = str(Path(go_binary()).parent) + os.pathsep + env.get("PATH", "")
    return env


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kubectl-depgraph" / "e2e"


def build_key(components=COMPONENTS) -> str:
    h = hashlib.sha256()
    h.update(subprocess.run([go_binary(), "version"], capture_output=True, text=True,
                            env=go_env()).stdout.encode())
    for c in components:
        h.update(f"{c.name}|{c.package}|{c.ldflags}\n".encode())
        for fname in ("go.mod", "go.sum"):
            p = E2E_DIR / c.module_dir / fname
            if p.exists():
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


def build(components=COMPONENTS, jobs: int = 2) -> Path:
    """Build every component once into the cache; return the bin folder.

    Components build concurrently (`jobs` at a time: on 2 cores one build downloads
    while the other compiles).  Each build runs in a scratch copy of its wrapper module so
    the checkout is never modified.  A failure raises BuildError with the log's last lines.
    """
    root = cache_root() / build_key(components)
    bindir = root / "bin"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        todo = [c for c in components if not (bindir / c.name).exists()]
        if not todo:
            return bindir
        bindir.mkdir(exist_ok=True)
        env = go_env()
        t0 = time.monotonic()

        def one(c: Component) -> tuple[Component, int, float, Path]:
            work = root / "src" / c.module_dir
            if work.exists():
                shutil.rmtree(work)
            work.mkdir(parents=True)
            for fname in ("go.mod", "go.sum"):
                if (E2E_DIR / c.module_dir / fname).exists():
                    shutil.copy(E2E_DIR / c.module_dir / fname, work / fname)
            log = root / f"build-{c.name}.log"
            start = time.monotonic()
            out = bindir / (c.name + ".tmp")
            cmd = [go_binary(), "build", "-o", str(out), "-ldflags", f"-s -w {c.ldflags}".strip(),
                   c.package]
            with open(log, "w") as fh:
                fh.write("$ " + " ".join(cmd) + "\n")
                fh.flush()
                rc = subprocess.run(cmd, cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL).returncode
            if rc == 0:
                out.rename(bindir / c.name)
            return c, rc, time.monotonic() - start, log

        failures = []
        summary = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for c, rc, secs, log in pool.map(one, todo):
                summary.append(f"{c.name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} "
                               f"in {secs:.0f}s")
                if rc != 0:
                    failures.append(f"--- go build {c.package} failed (exit {rc}); "
                                    f"last lines of {log}:\n{_tail(log)}")
        summary.append(f"total {time.monotonic() - t0:.0f}s")
        (root / "build-summary.txt").write_text("\n".join(summary) + "\n")
        if failures:
            raise BuildError("\n".join(failures))
        return bindir


def crd_dir(module_dir: str, module: str) -> Path:
    """config/crd/bases of `module` at the version the wrapper module requires."""
    env = go_env()
    gomod = (E2E_DIR / module_dir / "go.mod").read_text()
    version = next(line.split()[-1] for line in gomod.splitlines()
                   if line.strip().startswith(("require " + module + " ", module + " ")))
    out = subprocess.run([go_binary(), "mod", "download", "-json", f"{module}@{version}"],
                         cwd=E2E_DIR / module_dir, env=env, capture_output=True, text=True)
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or not info.get("Dir"):
        raise BuildError(f"go mod download {module}@{version} failed: {out.stderr}{out.stdout}")
    return Path(info["Dir"]) / "config" / "crd" / "bases"


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Children get SIGTERM when the test process dies (even on SIGKILL)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    os.setsid()


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(5)


def _openssl(*args, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise StackError(f"openssl {' '.join(args)} failed: {proc.stderr}")


def make_pki(d: Path) -> None:
    """A client CA, two client certs (admin and the plugin's user) and a SA key pair."""
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.crt", "-days", "2", "-subj", "/CN=e2e-client-ca", cwd=d)
    for user in ("e2e-admin", "depgraph"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{user}.key", "-out",
                 f"{user}.csr", "-subj", f"/O=system:masters/CN={user}", cwd=d)
        _openssl("x509", "-req", "-in", f"{user}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{user}.crt", "-days", "2", cwd=d)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: {server}
    insecure-skip-tls-verify: true
users:
- name: {user}
  user:
    client-certificate: {pki}/{user}.crt
    client-key: {pki}/{user}.key
contexts:
- name: e2e
  context:
    cluster: e2e
    user: {user}
    namespace: default
current-context: e2e
"""

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: ["depgraph"]
- level: None
"""

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass
class Stack:
    bindir: Path
    workdir: Path
    kubectl: str
    procs: list[Proc] = field(default_factory=list)
    apiserver_url: str = ""
    admin_kubeconfig: Path | None = None
    plugin_kubeconfig: Path | None = None
    audit_log: Path | None = None
    storage_port: int = 0
    timings: dict = field(default_factory=dict)

    # -- lifecycle

    def start(self, crd_dirs: list[Path], requeue_dependency: str = "5s") -> "Stack":
        w = self.workdir
        pki = w / "pki"
        make_pki(pki)
        t0 = time.monotonic()
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        self._spawn("etcd", [
            str(self.bindir / "etcd"), "--data-dir", str(w / "etcd"),
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync", "--log-level", "warn"])
        self.audit_log = w / "audit.log"
        (w / "audit-policy.yaml").write_text(AUDIT_POLICY)
        self._spawn("kube-apiserver", [
            str(self.bindir / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            f"--cert-dir={w / 'serving-certs'}",
            f"--secure-port={api_port}", "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
            "--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-issuer=https://127.0.0.1:{api_port}/",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--audit-policy-file={w / 'audit-policy.yaml'}",
            f"--audit-log-path={self.audit_log}", "--audit-log-mode=blocking",
            "--audit-log-format=json"])
        self.apiserver_url = f"https://127.0.0.1:{api_port}"
        self.admin_kubeconfig = w / "admin.kubeconfig"
        self.admin_kubeconfig.write_text(KUBECONFIG.format(server=self.apiserver_url,
                                                           user="e2e-admin", pki=pki))
        self.plugin_kubeconfig = w / "depgraph.kubeconfig"
        self.plugin_kubeconfig.write_text(KUBECONFIG.format(server=self.apiserver_url,
                                                            user="depgraph", pki=pki))
        self._wait_readyz(pki)
        self.timings["control-plane"] = time.monotonic() - t0

        t1 = time.monotonic()
        files = [str(p) for d in crd_dirs for p in sorted(d.glob("*.yaml"))]
        args = ["apply", "--server-side", "--force-conflicts"]
        for f in files:
            args += ["-f", f]
        self.kubectl_admin(*args)
        self.kubectl_admin("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
        self.kubectl_admin("create", "namespace", "flux-system")
        self.timings["crds"] = time.monotonic() - t1

        t2 = time.monotonic()
        env = {"KUBECONFIG": str(self.admin_kubeconfig), "RUNTIME_NAMESPACE": "flux-system"}
        (w / "storage").mkdir()
        self.storage_port = free_port()
        src_health = free_port()
        self._spawn("source-controller", [
            str(self.bindir / "source-controller"),
            f"--metrics-addr=127.0.0.1:{free_port()}",
            f"--health-addr=127.0.0.1:{src_health}", "--enable-leader-election=false",
            f"--storage-path={w / 'storage'}",
            f"--storage-addr=127.0.0.1:{self.storage_port}",
            f"--storage-adv-addr=127.0.0.1:{self.storage_port}",
            # A failing fetch is retried with backoff from --min-retry-delay (750ms by
            # default), and each retry flips Ready to Unknown "building artifact" for a
            # moment: space the retries so a failed source reads as failed.
            "--min-retry-delay=30s", "--max-retry-delay=5m",
            "--log-level=debug"], env)
        ks_health = free_port()
        self._spawn("kustomize-controller", [
            str(self.bindir / "kustomize-controller"),
            f"--metrics-addr=127.0.0.1:{free_port()}",
            f"--health-addr=127.0.0.1:{ks_health}", "--enable-leader-election=false",
            f"--requeue-dependency={requeue_dependency}", "--concurrent=8",
            "--log-level=debug"], env)
        for name, port in (("source-controller", src_health),
                           ("kustomize-controller", ks_health)):
            self._wait_http(name, f"http://127.0.0.1:{port}/readyz", 60)
        self.timings["controllers"] = time.monotonic() - t2
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    # -- helpers

    def _spawn(self, name: str, cmd: list[str], env: dict | None = None) -> Proc:
        log = self.workdir / f"{name}.log"
        fh = open(log, "wb")
        popen = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
                                 preexec_fn=_die_with_parent, cwd=self.workdir)
        fh.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def _check_alive(self) -> None:
        for p in self.procs:
            if not p.alive():
                raise StackError(f"{p.name} exited with {p.popen.returncode}; last lines of "
                                 f"{p.log}:\n{_tail(p.log)}")

    def _wait_readyz(self, pki: Path, timeout: float = 90) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(pki / "e2e-admin.crt", pki / "e2e-admin.key")
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(self.apiserver_url + "/readyz", context=ctx,
                                            timeout=5) as resp:
                    if resp.status == 200:
                        return
            except Exception as e:  # noqa: BLE001 - any failure means "not yet"
                last = str(e)
            time.sleep(0.3)
        raise StackError(f"kube-apiserver not ready after {timeout}s ({last}); last lines:\n"
                         f"{_tail(self.workdir / 'kube-apiserver.log')}")

    def _wait_http(self, name: str, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(url, timeout=3) as resp:
                    if resp.status == 200:
                        return
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.3)
        raise StackError(f"{name} not ready after {timeout}s; last lines:\n"
                         f"{_tail(self.workdir / (name + '.log'))}")

    def kubectl_admin(self, *args: str, input: str | None = None, check: bool = True,
                      timeout: float = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run([self.kubectl, "--kubeconfig", str(self.admin_kubeconfig), *args],
                              input=input, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "KUBECACHEDIR": str(self.workdir / "kubecache")})
        if check and proc.returncode != 0:
            raise StackError(f"kubectl {' '.join(args)} failed ({proc.returncode}): "
                             f"{proc.stderr}{proc.stdout}")
        return proc

    def get(self, resource: str, namespace: str, name: str) -> dict:
        return json.loads(self.kubectl_admin("get", resource, "-n", namespace, name,
                                             "-o", "json").stdout)

    def audit_offset(self) -> int:
        return self.audit_log.stat().st_size if self.audit_log.exists() else 0

    def audit_events(self, since: int = 0) -> list[dict]:
        """The plugin user's audit events written after byte offset `since`."""
        if not self.audit_log.exists():
            return []
        with open(self.audit_log, "rb") as fh:
            fh.seek(since)
            data = fh.read()
        events = []
        for line in data.splitlines():
            if line.strip():
                ev = json.loads(line)
                if ev.get("user", {}).get("username") == "depgraph":
                    events.append(ev)
        return events


def ensure_tools() -> None:
    for tool in ("openssl", "git"):
        if not shutil.which(tool):
            raise StackError(f"`{tool}` is needed by the e2e tests and is not on PATH")
    if sys.platform != "linux":
        raise StackError("the e2e stack runs on Linux only")
