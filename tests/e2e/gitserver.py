"""A local Git server over smart HTTP: git-http-backend (CGI) behind a threaded stdlib server.

go-git (source-controller) speaks only the smart protocol, so the dumb `http.server`
folder listing is not enough.  Repositories live under `root/<name>.git` (bare).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

GIT_HTTP_BACKEND_CANDIDATES = ("/usr/lib/git-core/git-http-backend",
                               "/usr/libexec/git-core/git-http-backend")


def find_http_backend() -> str:
    for cand in GIT_HTTP_BACKEND_CANDIDATES:
        if os.access(cand, os.X_OK):
            return cand
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True,
                               check=True).stdout.strip()
    cand = os.path.join(exec_path, "git-http-backend")
    if os.access(cand, os.X_OK):
        return cand
    raise RuntimeError("git-http-backend not found (install git)")


class GitServer:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.backend = find_http_backend()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._cgi()

            def do_POST(self) -> None:
                self._cgi()

            def _cgi(self) -> None:
                parts = urlsplit(self.path)
                server.requests.append(f"{self.command} {parts.path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "GIT_PROJECT_ROOT": str(server.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": parts.path,
                    "QUERY_STRING": parts.query,
                    "REQUEST_METHOD": self.command,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_ADDR": self.client_address[0],
                    "SERVER_PROTOCOL": "HTTP/1.0",
                    "GATEWAY_INTERFACE": "CGI/1.1",
                }
                if self.headers.get("Git-Protocol"):
                    env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
                if self.headers.get("Content-Encoding"):
                    env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
                proc = subprocess.run([server.backend], input=body, env=env,
                                      capture_output=True, timeout=60)
                head, _, payload = proc.stdout.partition(b"\r\n\r\n")
                if not _:
                    head, _, payload = proc.stdout.partition(b"\n\n")
                status, headers = 200, []
                for line in head.decode("latin-1").splitlines():
                    if not line.strip():
                        continue
                    key, _, value = line.partition(":")
                    if key.lower() == "status":
                        status = int(value.strip().split()[0])
                    else:
                        headers.append((key.strip(), value.strip()))
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> "GitServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name}.git"

    def create_repo(self, name: str) -> "Repo":
        bare = self.root / f"{name}.git"
        if bare.exists():
            shutil.rmtree(bare)
        _git(None, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
        work = self.root / "_work" / name
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        _git(work, "init", "--quiet", "--initial-branch=main")
        _git(work, "remote", "add", "origin", str(bare))
        return Repo(work, self.repo_url(name))


GIT_ENV = {"GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
           "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def _git(cwd, *args) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


class Repo:
    """A working copy whose `commit()` writes files and pushes to the bare repository."""

    def __init__(self, work: Path, url: str) -> None:
        self.work = work
        self.url = url

    def commit(self, files: dict[str, str], message: str = "update", branch: str = "main") -> str:
        for rel, text in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        _git(self.work, "add", "-A")
        _git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        _git(self.work, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        return _git(self.work, "rev-parse", "HEAD")
