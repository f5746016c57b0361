"""What kustomize-controller does to a build after kustomize: postBuild variable
substitution (`${VAR}`, `${VAR:=default}`), with values from spec.postBuild.substitute and
the ConfigMaps/Secrets spec.postBuild.substituteFrom names. Pure: no I/O."""

import base64
import binascii
import re

DISABLED = "kustomize.toolkit.fluxcd.io/substitute"
# ${VAR}, ${VAR:=default}, ${VAR:-default}, ${VAR=default}, ${VAR-default}; $${VAR} is an escape.
_VAR = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[=-])([^}]*))?\}")


def _dict(value):
    return value if isinstance(value, dict) else {}


def variables(kustomization, objects):
    """({name: value}, [unavailable source]) for a Flux Kustomization manifest.

    `objects` maps (kind, namespace, name) to the ConfigMaps and Secrets the walk has
    rendered so far. A source not among them (created outside Git, or encrypted) is
    reported unless it is optional; its variables stay unresolved."""
    spec = _dict(kustomization.get("spec"))
    post = _dict(spec.get("postBuild"))
    namespace = _dict(kustomization.get("metadata")).get("namespace") or "default"
    values, missing = {}, []
    for ref in post.get("substituteFrom") or () if isinstance(post.get("substituteFrom"), list) else ():
        ref = _dict(ref)
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        obj = objects.get((kind, namespace, name))
        data = _data(obj) if obj is not None else None
        if data is None:
            if ref.get("optional") is not True:
                missing.append(f"{kind} {namespace}/{name}")
            continue
        values.update(data)
    values.update({str(k): str(v) for k, v in _dict(post.get("substitute")).items() if v is not None})
    return values, missing


def _data(obj):
    """A ConfigMap's or Secret's string values; None when they cannot be read (SOPS)."""
    out = {str(k): str(v) for k, v in _dict(obj.get("data")).items() if v is not None}
    if obj.get("kind") == "Secret":
        if "sops" in obj:
            return None
        decoded = {}
        for key, value in out.items():
            try:
                decoded[key] = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                return None
        out = decoded
        out.update({str(k): str(v) for k, v in _dict(obj.get("stringData")).items() if v is not None})
    if any(v.startswith("ENC[") for v in out.values()):
        return None
    return out


def substitute(obj, values):
    """`obj` with ${VAR} placeholders replaced. A variable without a value and without a
    default stays as it is (the check says it was not resolved), unlike Flux, which puts an
    empty string there when every source was readable."""
    meta = _dict(obj.get("metadata"))
    for where in (_dict(meta.get("annotations")), _dict(meta.get("labels"))):
        if where.get(DISABLED) == "disabled":
            return obj
    return _walk(obj, values)


def _walk(value, values):
    if isinstance(value, str):
        return _VAR.sub(lambda m: _one(m, values), value) if "${" in value else value
    if isinstance(value, dict):
        return {_walk(k, values): _walk(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, values) for v in value]
    return value


def _one(match, values):
    escaped, name, op, default = match.groups()
    if escaped:
        return match.group(0)[1:]
    value = values.get(name)
    if op is not None and (value is None or (op.startswith(":") and value == "")):
        return default
    return match.group(0) if value is None else value
