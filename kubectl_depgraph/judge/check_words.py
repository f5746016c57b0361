"""The words every check's findings share: how an object, a list of objects and the
objects waiting behind one are spelled (judge/check.py, judge/check_crosskind.py)."""

import re

from kubectl_depgraph.judge.rules import RULES, Finding

_LISTED = 8                                  # objects named in a message before "and N more"


def _finding(rule_id, objects, origin, message, fix=None):
    rule = RULES[rule_id]
    return Finding(rule_id, rule.severity, tuple(objects), origin, message, fix or rule.fix)


def _label(ref):
    """`Kustomization flux-system/apps`."""
    return f"{ref.kind} {ref.ns_name}"


def _listing(refs):
    shown = ", ".join(r.short for r in refs[:_LISTED])
    more = len(refs) - _LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _blocks(refs, other=False):
    if not refs:
        return ""
    noun = ("other " if other else "") + ("object waits" if len(refs) == 1 else "objects wait")
    return f"; {len(refs)} {noun} behind it: {_listing(refs)}"


_VAR = re.compile(r"\$\{[^}]*\}")


def _has_var(text):
    return bool(_VAR.search(text))
