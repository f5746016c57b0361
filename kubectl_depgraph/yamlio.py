"""YAML in and out: the only importer of `yaml`.

Loading is Go-YAML compatible (what Flux itself accepts: redefined anchors, `=` scalars,
unknown tags) and safe (alias bombs are refused); dumping is block style for -o yaml."""

import yaml

from kubectl_depgraph.errors import InputError

MAX_EXPANDED_NODES = 100_000           # alias expansion above this is refused ("billion laughs")


def _construct_plain(loader, node):
    """Unknown tags (`!env_var X`) load as the plain value, as Go's YAML parser does."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


def _customize(cls):
    # A bare `=` is the YAML 1.1 "value" type PyYAML cannot construct; Go reads a string.
    # Timestamps stay strings, as in the JSON the API server returns.
    cls.yaml_implicit_resolvers = {
        ch: [(tag, rx) for tag, rx in resolvers
             if tag not in ("tag:yaml.org,2002:value", "tag:yaml.org,2002:timestamp")]
        for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    cls.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)
    cls.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
    cls.add_constructor(None, _construct_plain)
    return cls


@_customize
class GoLoader(yaml.SafeLoader):
    """SafeLoader that accepts what Go's YAML parser (and so Flux) accepts."""

    def compose_node(self, parent, index):
        # A redefined anchor replaces the earlier one for later aliases (Go semantics);
        # PyYAML's composer would raise "found duplicate anchor".
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if anchor is not None and not isinstance(event, yaml.AliasEvent):
            self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)


_FastLoader = None
if getattr(yaml, "__with_libyaml__", False):
    @_customize
    class _FastLoader(yaml.CSafeLoader):  # noqa: F811 - libyaml speed for large snapshots
        pass


class _Bomb(Exception):
    pass


def _distinct_nodes(node):
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            stack.extend(x for pair in n.value for x in pair)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return len(seen)


def _check_expansion(node, limit=MAX_EXPANDED_NODES):
    """Refuse documents whose alias expansion is recursive or explodes: more than `limit`
    nodes and more than ten times the nodes actually written (a large snapshot without
    aliases is fine; a billion-laughs document is a few dozen nodes expanding to millions).

    Sizes are memoized per node, so the check itself stays linear in the document."""
    limit = max(limit, 10 * _distinct_nodes(node))
    sizes, active = {}, set()

    def size(n):
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _Bomb("recursive alias")
        active.add(key)
        total = 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for v in n.value:
                total += size(v)
                if total > limit:
                    break
        active.discard(key)
        if total > limit:
            raise _Bomb(f"alias expansion exceeds {limit} nodes")
        sizes[key] = total
        return total

    size(node)


def _compose_all(text, loader_cls):
    loader = loader_cls(text)
    try:
        while loader.check_node():
            yield loader, loader.get_node()
    finally:
        loader.dispose()


def _load_nodes(text, name):
    """[(data, node)] for each non-empty document; InputError on bad YAML or a bomb."""
    classes = [c for c in (_FastLoader, GoLoader) if c is not None]
    for i, cls in enumerate(classes):
        out = []
        try:
            for loader, node in _compose_all(text, cls):
                if node is None:
                    continue
                try:
                    _check_expansion(node)
                except RecursionError:
                    raise _Bomb("nesting too deep") from None
                data = loader.construct_document(node)
                if data is not None:
                    out.append((data, node))
            return out
        except _Bomb as exc:
            line = node.start_mark.line + 1 if node is not None else 0
            raise InputError(f"{name}:{line}: refused: {exc} (YAML alias bomb?)") from None
        except yaml.YAMLError as exc:
            if i + 1 < len(classes):
                continue       # libyaml rejects redefined anchors: retry with GoLoader
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = mark.line + 1 if mark is not None else 0
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise InputError(f"{name}:{line}: invalid YAML: {problem}") from None
        except RecursionError:
            raise InputError(f"{name}: refused: nesting too deep") from None
    return []


def load_yaml_documents(text, name):
    """Every non-empty document of `text` as (data, 1-based start line).

    Go-YAML compatible (redefined anchors, `=` scalars, unknown tags) and safe: alias
    bombs are refused. Raises InputError("name:line: …") on invalid input."""
    return [(data, node.start_mark.line + 1) for data, node in _load_nodes(text, name)]


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _str_presenter(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml(data):
    """`data` as block-style YAML (keys in insertion order, unicode kept)."""
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True)




def load_located(text, name):
    """[(data, 1-based start line, item lines)] for each non-empty document; `item lines`
    holds the start line of each entry of a top-level list or `items` list (0 when
    unknown), else None. Raises InputError like load_yaml_documents."""
    out = []
    for data, node in _load_nodes(text, name):
        items = None
        if isinstance(data, list):
            items = [v.start_mark.line + 1 for v in node.value]
        elif isinstance(data, dict) and isinstance(data.get("items"), list):
            items = _item_lines(node, len(data["items"]))
        out.append((data, node.start_mark.line + 1, items))
    return out


def _item_lines(node, count):
    """Start lines of `items` entries in a List node (0 when unknown)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
                lines = [v.start_mark.line + 1 for v in value.value]
                if len(lines) == count:
                    return lines
    return [0] * count
