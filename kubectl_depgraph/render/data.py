"""-o json and -o yaml: serialise a document; keys in a fixed order, no timestamps added."""

import json

# apiVersion of every document we print (graph, report, explanation, version). v2: dependsOn
# entries and edges carry the cross-kind fields (apiVersion, ready), nodes their readiness rules.
SCHEMA = "kubectl-depgraph/v2"


def to_json(document):
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_yaml(document):
    from kubectl_depgraph.yamlio import dump_yaml
    return dump_yaml(document)
