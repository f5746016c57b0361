"""Snapshot input (-f): `kubectl get … -o yaml|json` output (a List, a multi-document
stream, single objects), read from files or stdin. Bad input is an InputError."""

import json
import os
import re
from dataclasses import dataclass, field

from kubectl_depgraph.errors import InputError
from kubectl_depgraph.model import Origin
from kubectl_depgraph.yamlio import load_located

MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024  # a -f snapshot larger than this is refused (memory)
TEMPLATE_MARKERS = re.compile(r"\{\{|\{%|#%|%#|\{#")


@dataclass(frozen=True)
class Document:
    obj: dict            # the manifest; metadata.namespace is the effective namespace for --path
    origin: Origin       # file relative to the root (or the -f path), 1-based line, --path scope


@dataclass
class Loaded:
    documents: list = field(default_factory=list)   # [Document], deterministic order
    warnings: list = field(default_factory=list)    # ["path:line: what"]




def _is_list(obj):
    return isinstance(obj, dict) and isinstance(obj.get("items"), list) and \
        str(obj.get("kind", "")).endswith("List")



_TEMPLATE_HINT = ("this looks like a Helm or Jinja template: render it first (helm template, "
                  "kustomize build, …) and pass the output")


def _json_documents(text, name):
    """A JSON snapshot (kubectl get -o json) read by the json module, items with their line
    numbers: ten times faster than composing YAML nodes, and JSON has no aliases to bomb.
    None when the text is not one JSON value (YAML, several documents)."""
    decoder = json.JSONDecoder()
    try:
        data, end = decoder.raw_decode(text, len(text) - len(text.lstrip()))
    except ValueError:
        return None
    if text[end:].strip():
        return None
    items = data if isinstance(data, list) else data.get("items") if _is_list(data) else None
    if items is None:
        return [Document(data, Origin(name, text.count("\n", 0, len(text) - len(text.lstrip())) + 1))] \
            if isinstance(data, dict) else []
    # Walk the items array again with raw_decode to learn where each item starts.
    start = text.index("[", 0 if isinstance(data, list) else text.index('"items"')) + 1
    docs, pos, line, counted = [], start, 1, 0
    for item in items:
        while text[pos] in " \t\r\n,":
            pos += 1
        line += text.count("\n", counted, pos)
        counted = pos
        _, pos = decoder.raw_decode(text, pos)
        if isinstance(item, dict):
            docs.append(Document(item, Origin(name, line)))
    return docs


def _snapshot_documents(text, name):
    if text.lstrip()[:1] in ("{", "["):
        docs = _json_documents(text, name)
        if docs is not None:
            return docs
    try:
        loaded = load_located(text, name)
    except InputError as exc:
        if TEMPLATE_MARKERS.search(text):
            raise InputError(exc.message, hint=_TEMPLATE_HINT) from None
        if text.lstrip()[:1] not in ("{", "["):
            raise
        try:     # JSON that PyYAML rejects (e.g. "\/" escapes)
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"{name}:{getattr(exc, 'lineno', 0)}: invalid JSON: "
                             f"{getattr(exc, 'msg', exc)}") from None
        loaded = [(data, 1, None)]
    docs = []
    for data, line, item_lines in loaded:
        items = data if isinstance(data, list) else data["items"] if _is_list(data) else None
        if items is not None:
            lines = item_lines if item_lines and len(item_lines) == len(items) else [0] * len(items)
            docs.extend(Document(item, Origin(name, ln)) for item, ln in zip(items, lines)
                        if isinstance(item, dict))
        elif isinstance(data, dict):
            docs.append(Document(data, Origin(name, line)))
    return docs


def read_bounded(stream, limit, chunk=1 << 20):
    """At most limit + 1 bytes of a binary stream, in chunks: safe for pipes
    (-f <(kubectl get …)) and endless devices, without allocating `limit` up front."""
    parts, size = [], 0
    while size <= limit:
        data = stream.read(min(chunk, limit + 1 - size))
        if not data:
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)


def decode_snapshot(raw, name):
    """Bytes of a -f input as text; InputError when too large or not UTF-8 text."""
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise InputError(f"{name}: larger than {MAX_SNAPSHOT_BYTES // 2**20} MB: refused",
                         hint="save only the Flux kinds: kubectl get ks,hr,gitrepo,ocirepo,helmrepo,"
                              "hc,bucket -A -o json > snapshot.json")
    if b"\0" in raw[:8192]:
        raise InputError(f"{name}: not a text file (binary)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not a text file (invalid UTF-8)") from None


def read_snapshot(paths, stdin_text=None):
    """Documents of each -f path ('-' reads `stdin_text`), in the given order.

    Raises InputError for a missing/unreadable file or invalid YAML/JSON."""
    loaded = Loaded()
    for path in paths:
        if path == "-":
            name, text = "<stdin>", stdin_text or ""
        else:
            name = path
            if os.path.isdir(path):
                raise InputError(f"{path}: is a directory", hint="use --path for a Git checkout")
            try:
                with open(path, "rb") as fh:
                    raw = read_bounded(fh, MAX_SNAPSHOT_BYTES)
            except OSError as exc:
                raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
            text = decode_snapshot(raw, path)
        docs = _snapshot_documents(text, name)
        if not docs:
            loaded.warnings.append(f"{name}: no objects")
        loaded.documents.extend(docs)
    return loaded


