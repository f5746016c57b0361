"""Flux manifests and polling helpers for the e2e scenarios."""

from __future__ import annotations

import json
import time

import yaml

KS_API = "kustomize.toolkit.fluxcd.io/v1"
SRC_API = "source.toolkit.fluxcd.io/v1"


def configmap(name: str, namespace: str, **data: str) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name, "namespace": namespace},
                           "data": data or {"key": "value"}})


def deployment(name: str, namespace: str) -> str:
    """A Deployment that can never become ready here: there is no controller-manager."""
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "e2e.invalid/none:1"}]}}},
    })


def gitrepository(name: str, namespace: str, url: str, branch: str = "main",
                  interval: str = "1m", **spec) -> dict:
    return {"apiVersion": SRC_API, "kind": "GitRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"url": url, "interval": interval, "timeout": "20s",
                     "ref": {"branch": branch}, **spec}}


def kustomization(name: str, namespace: str, path: str, source: tuple[str, str],
                  depends_on=(), interval: str = "1m", retry: str = "5s", **spec) -> dict:
    """source = (namespace, name) of a GitRepository; depends_on items are 'name' or 'ns/name'."""
    deps = []
    for d in depends_on:
        ns, _, nm = d.rpartition("/")
        deps.append({"name": nm, **({"namespace": ns} if ns else {})})
    body = {"interval": interval, "retryInterval": retry, "path": path, "prune": True,
            "timeout": "30s", "wait": True,
            "sourceRef": {"kind": "GitRepository", "name": source[1], "namespace": source[0]},
            **spec}
    if deps:
        body["dependsOn"] = deps
    return {"apiVersion": KS_API, "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace}, "spec": body}


def condition(obj: dict, ctype: str = "Ready") -> dict | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def is_ready(obj: dict) -> bool:
    c = condition(obj)
    return bool(c and c.get("status") == "True"
                and obj["metadata"].get("generation") == obj.get("status", {}).get("observedGeneration"))


def ready_reason(obj: dict) -> tuple[str, str, str] | None:
    c = condition(obj)
    return (c["status"], c.get("reason", ""), c.get("message", "")) if c else None


def wait_for(what: str, fn, timeout: float = 120, interval: float = 1.0, describe=None):
    """Poll fn() until it returns something truthy; on timeout raise with `describe()`."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = describe() if describe else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{extra}")
        time.sleep(interval)


def list_flux(stack, namespaces) -> list[dict]:
    items = []
    for ns in namespaces:
        out = stack.kubectl_admin("get", "kustomizations.kustomize.toolkit.fluxcd.io,"
                                  "gitrepositories.source.toolkit.fluxcd.io", "-n", ns, "-o", "json")
        items += json.loads(out.stdout)["items"]
    return items


def status_table(stack, namespaces) -> str:
    rows = []
    for o in list_flux(stack, namespaces):
        r = ready_reason(o)
        rows.append(f"{o['kind']}/{o['metadata']['namespace']}/{o['metadata']['name']} "
                    f"gen={o['metadata'].get('generation')} "
                    f"obs={o.get('status', {}).get('observedGeneration')} ready={r}")
    return "\n".join(rows)
