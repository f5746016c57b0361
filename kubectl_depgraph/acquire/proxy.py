"""The writes of a running reconcile through one long-lived `kubectl proxy`.

Each reconcile request is otherwise one `kubectl annotate` process, some 100–300 ms to
start and connect: the latency of every hop of a dependency chain. The proxy is one
kubectl process with the user's kubeconfig, context and credentials that answers plain
HTTP on 127.0.0.1, so a request becomes one merge-patch from this process (milliseconds).
Anything unusual (the proxy not up yet or gone, any answer but 2xx) is left to the caller,
which falls back to `kubectl annotate` and so reports errors in kubectl's words."""

import json
import re

from kubectl_depgraph import runner
from kubectl_depgraph.errors import DepgraphError

_SERVING = re.compile(r"Starting to serve on (?:127\.0\.0\.1|localhost|\[::1\]):(\d+)")


class ProxyUnavailable(Exception):
    """The proxy could not do it; fall back to kubectl."""


class KubectlProxy:
    """A `kubectl proxy` started at once in the background; patch() once it serves."""

    TIMEOUT = 30.0

    def __init__(self, kubectl):
        self.port = None
        self.failed = None
        self._http = None     # http.client, imported off the main thread (it is slow to import)
        try:
            self._stream = kubectl.proxy(self._line, self._exited)
        except DepgraphError as exc:
            self._stream, self.failed = None, exc.message

    def _line(self, line):
        m = _SERVING.search(line)
        if m and self.port is None:
            import http.client   # in the proxy's reader thread, while the graph is read
            self._http = http.client
            self.port = int(m.group(1))

    def _exited(self, stream):
        self.failed = runner.redact(stream.stderr.strip()) or f"kubectl proxy exited ({stream.exit_code})"
        runner.log.debug(f"kubectl proxy ended: {self.failed}; annotating with kubectl")

    @property
    def serving(self):
        return self.port is not None and self.failed is None

    def merge_patch(self, path, patch):
        """PATCH `path` (an API path) with the JSON merge patch `patch`; ProxyUnavailable
        unless the server answered 2xx. (A direct connection: no HTTP(S)_PROXY for 127.0.0.1.)"""
        if not self.serving:
            raise ProxyUnavailable("not serving")
        conn = self._http.HTTPConnection("127.0.0.1", self.port, timeout=self.TIMEOUT)
        try:
            conn.request("PATCH", path, body=json.dumps(patch).encode(),
                         headers={"Content-Type": "application/merge-patch+json", "Accept": "application/json"})
            answer = conn.getresponse()
            answer.read()
        except (OSError, self._http.HTTPException) as exc:
            raise ProxyUnavailable(str(exc)) from None
        finally:
            conn.close()
        if not 200 <= answer.status < 300:
            raise ProxyUnavailable(f"HTTP {answer.status}")

    def stop(self):
        if self._stream is not None:
            self._stream.stop(wait=False)
