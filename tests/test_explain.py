"""explain.why / why_all on graphs built from small dict literals (no cluster, no mocks)."""

import random
from datetime import datetime, timezone

from kubectl_depgraph.acquire import events as acquire_events
from kubectl_depgraph.judge import evidence as ev
from kubectl_depgraph.judge import explain
from kubectl_depgraph.judge.explanation import Via
from kubectl_depgraph.judge.status import Gate
from kubectl_depgraph.graph import DepGraph
from kubectl_depgraph.model import ObjectRef, parse_object
from kubectl_depgraph.render import why as render
from kubectl_depgraph.judge.status import State, classify

NOW = datetime(2026, 11, 21, 10, 30, 0, tzinfo=timezone.utc)
T0 = "2026-11-21T10:00:00Z"
REV = "main@sha1:" + "a" * 40
NEW_REV = "main@sha1:" + "b" * 40


def cond(type_, status, reason, message="", when=T0):
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": when}


def ks(name, ns="flux-system", deps=(), ready=True, reason="ReconciliationSucceeded", message=None,
       source="flux-system", generation=1, observed=1, applied=REV, suspend=False, conditions=None,
       status=True, health=()):
    spec = {"sourceRef": {"kind": "GitRepository", "name": source}, "path": f"./{name}"}
    if deps:
        spec["dependsOn"] = [d if isinstance(d, dict) else {"name": d} for d in deps]
    if suspend:
        spec["suspend"] = True
    if health:
        spec["healthChecks"] = list(health)
    doc = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
           "metadata": {"name": name, "namespace": ns, "generation": generation}, "spec": spec}
    if status:
        if conditions is None:
            msg = message if message is not None else (f"Applied revision: {applied}" if ready else "")
            conditions = [cond("Ready", "True" if ready else "False", reason, msg)]
        doc["status"] = {"observedGeneration": observed, "lastAppliedRevision": applied,
                         "conditions": conditions}
    return doc


def hr(name, ns="flux-system", deps=(), conditions=None, failures=None, repo="charts"):
    doc = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
           "metadata": {"name": name, "namespace": ns, "generation": 1},
           "spec": {"chart": {"spec": {"chart": name, "sourceRef": {"kind": "HelmRepository",
                                                                      "name": repo,
                                                                      "namespace": "flux-system"}}}}}
    if deps:
        doc["spec"]["dependsOn"] = [{"name": d} for d in deps]
    conditions = conditions if conditions is not None else [
        cond("Ready", "True", "InstallSucceeded", f"Helm install succeeded for release {ns}/{name}.v1")]
    doc["status"] = {"observedGeneration": 1, "conditions": conditions, **(failures or {})}
    return doc


def gitrepo(name="flux-system", ready=True, reason="Succeeded", message=None, artifact=REV):
    status = {"observedGeneration": 1, "conditions": [
        cond("Ready", "True" if ready else "False", reason,
             message or f"stored artifact for revision '{artifact}'")]}
    if artifact:
        status["artifact"] = {"revision": artifact}
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
            "spec": {"url": "ssh://git@example.com/fleet"}, "status": status}


def helmrepo(name="charts"):
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
            "spec": {"url": "oci://example.com/charts", "type": "oci"},
            "status": {"observedGeneration": 1, "conditions": [cond("Ready", "True", "Succeeded")]}}


def waiting(dep_ns_name, readyexpr=False):
    suffix = " according to readyExpr eval" if readyexpr else ""
    return dict(ready=False, reason="DependencyNotReady",
                message=f"dependency '{dep_ns_name}' is not ready{suffix}")


def graph(*docs):
    docs = list(docs)
    if not any(d["kind"] == "GitRepository" for d in docs):
        docs.append(gitrepo())
    if not any(d["kind"] == "HelmRepository" for d in docs):
        docs.append(helmrepo())
    return DepGraph.from_objects([parse_object(d) for d in docs])


def K(name, ns="flux-system"):
    return ObjectRef("Kustomization", ns, name)


def H(name, ns="flux-system"):
    return ObjectRef("HelmRelease", ns, name)


def labels(expl, ref):
    step = next(s for s in expl.chain if s.ref == ref and not s.repeated)
    return {link.target.name: link.label for link in step.links if link.via == Via.DEPENDS_ON}


def roots(expl):
    return [(rc.ref, rc.label) for rc in expl.root_causes]


HEALTH_MSG = ("health check failed after 5m0.012s: timeout waiting for: "
              "[Deployment/ingress/ingress-nginx-controller status: 'InProgress']")


def test_ready_object_gets_a_short_answer():
    g = graph(ks("infra"), ks("apps", deps=["infra"]))
    expl = explain.why(g, K("apps"), now=NOW)
    assert expl.ready and expl.root_causes == [] and expl.suggestions == []
    assert expl.summary == "Kustomization/flux-system/apps is ready; it depends on 1 object, all ready"
    assert labels(expl, K("apps")) == {"infra": Gate.OK}


def test_chain_of_five_behind_a_failed_health_check():
    g = graph(ks("a", deps=["b"], **waiting("flux-system/b")),
              ks("b", deps=["c"], **waiting("flux-system/c")),
              ks("c", deps=["d"], **waiting("flux-system/d")),
              ks("d", deps=["e"], **waiting("flux-system/e")),
              ks("e", ready=False, reason="HealthCheckFailed", message=HEALTH_MSG))
    expl = explain.why(g, K("a"), now=NOW)
    assert [(s.ref.name, s.depth) for s in expl.chain] == [("a", 0), ("b", 1), ("c", 2), ("d", 3), ("e", 4)]
    assert roots(expl) == [(K("e"), "health check failed")]
    assert expl.root_causes[0].blocks == [K("a"), K("b"), K("c"), K("d")]
    assert all(link.named for _src, link in expl.blocked_edges)
    commands = [s.command for s in expl.suggestions]
    assert "kubectl describe deployment/ingress-nginx-controller -n ingress" in commands
    assert "kubectl depgraph reconcile ks/flux-system/e --dependents" in commands


def test_every_dependency_is_evaluated_not_only_the_named_one():
    g = graph(ks("app", deps=["one", "two", "three"], **waiting("flux-system/one")),
              ks("one", ready=False, reason="BuildFailed", message="kustomize build failed: x"),
              ks("two", suspend=True, ready=False, reason="BuildFailed", message="y"),
              ks("three", generation=3, observed=2))
    expl = explain.why(g, K("app"), now=NOW)
    assert labels(expl, K("app")) == {"one": Gate.NOT_READY, "two": Gate.SUSPENDED,
                                      "three": Gate.NOT_OBSERVED}
    assert sorted(roots(expl)) == [(K("one"), "BuildFailed"), (K("three"), "not observed yet"),
                                   (K("two"), "suspended")]
    assert any(s.command == "flux resume ks two -n flux-system" for s in expl.suggestions)
    step_two = next(s for s in expl.chain if s.ref == K("two"))
    assert step_two.links and step_two.depth == 1   # shown, not walked past: resume first


def test_missing_dependency_that_exists_as_the_other_kind():
    g = graph(ks("apps", deps=["ingress"], ready=False, reason="DependencyNotReady",
                 message="dependency 'flux-system/ingress' not found: Kustomization.kustomize.toolkit."
                         "fluxcd.io \"ingress\" not found"),
              hr("ingress"))
    expl = explain.why(g, K("apps"), now=NOW)
    assert labels(expl, K("apps")) == {"ingress": Gate.MISSING}
    assert roots(expl) == [(K("ingress"), "missing")]
    rc = expl.root_causes[0]
    assert "a HelmRelease of that name exists" in rc.summary and rc.required_by == (K("apps"),)
    assert "spec.healthChecks" in expl.suggestions[0].text


def test_missing_dependency_suggests_the_nearest_name():
    g = graph(ks("apps", deps=["infrastucture"], **waiting("flux-system/infrastucture")),
              ks("infrastructure"))
    expl = explain.why(g, K("apps"), now=NOW)
    assert roots(expl) == [(K("infrastucture"), "missing")]
    assert "did you mean 'flux-system/infrastructure'?" in expl.suggestions[0].text


def test_cycle_pair_never_resolves():
    g = graph(ks("a", deps=["b"], **waiting("flux-system/b")),
              ks("b", deps=["a"], **waiting("flux-system/a")),
              ks("front", deps=["a"], **waiting("flux-system/a")))
    expl = explain.why(g, K("front"), now=NOW)
    assert expl.cycles == [[K("a"), K("b")]]
    assert roots(expl) == [(K("a"), "cycle")]
    rc = expl.root_causes[0]
    assert "never resolves by itself" in rc.summary and rc.blocks == [K("front")]
    assert "remove 'flux-system/a' from spec.dependsOn of ks/flux-system/b" in expl.suggestions[0].text


def test_revision_behind_its_source():
    g = graph(gitrepo(artifact=NEW_REV),
              ks("infra", applied=REV),
              ks("apps", deps=["infra"], applied=REV, ready=False, reason="DependencyNotReady",
                 message="dependency 'flux-system/infra' revision is not up to date"))
    expl = explain.why(g, K("apps"), now=NOW)
    assert labels(expl, K("apps")) == {"infra": Gate.REVISION_BEHIND}
    assert roots(expl) == [(K("infra"), Gate.REVISION_BEHIND)]
    assert expl.suggestions[0].command == "flux reconcile ks infra -n flux-system"


def test_revision_rule_only_for_the_same_source():
    g = graph(gitrepo(artifact=NEW_REV), gitrepo("other", artifact=REV),
              ks("infra", applied=REV, source="other"),
              ks("apps", deps=["infra"], applied=NEW_REV))
    assert labels(explain.why(g, K("apps")), K("apps")) == {"infra": Gate.OK}


def test_broken_source_is_checked_first():
    g = graph(gitrepo(ready=False, reason="AuthenticationFailed", artifact="",
                      message="failed to checkout and determine revision: unable to clone "
                              "'ssh://git@example.com/fleet': ssh: handshake failed: ssh: unable to "
                              "authenticate"),
              ks("apps", ready=False, reason="ArtifactFailed",
                 message="Source artifact not found, retrying in 30s"))
    expl = explain.why(g, K("apps"), now=NOW)
    src = next(link for link in expl.chain[0].links if link.via == Via.SOURCE)
    assert src.label == Gate.NOT_READY
    git = ObjectRef("GitRepository", "flux-system", "flux-system")
    assert roots(expl) == [(git, "source AuthenticationFailed")]
    assert expl.suggestions[0].command == "flux reconcile source git flux-system -n flux-system"
    assert expl.suggestions[1].command == "kubectl depgraph reconcile ks/flux-system/apps --dependents"


def test_helmrelease_behind_install_retries_exhausted():
    failed = hr("database", conditions=[
        cond("Ready", "False", "InstallFailed",
             "Helm install failed for release flux-system/database with chart postgresql@15.5.0: "
             "context deadline exceeded"),
        cond("Stalled", "True", "RetriesExceeded", "Failed to install after 3 attempt(s)")],
        failures={"failures": 3, "installFailures": 3})
    waiting_hr = hr("backend", deps=["database"], conditions=[
        cond("Ready", "False", "DependencyNotReady", "dependency 'flux-system/database' is not ready"),
        cond("Reconciling", "True", "Progressing", "Fulfilling prerequisites")])
    expl = explain.why(graph(failed, waiting_hr), H("backend"), now=NOW)
    assert expl.state is State.WAITING
    assert roots(expl) == [(H("database"), "install retries exhausted")]
    assert "failures 3, installFailures 3" in expl.root_causes[0].summary
    assert [s.command for s in expl.suggestions][:2] == [
        "flux logs --kind=HelmRelease --name=database -n flux-system",
        "flux reconcile hr database -n flux-system --reset"]


def test_health_check_naming_a_helmrelease_is_followed():
    g = graph(ks("infra", ready=False, reason="HealthCheckFailed",
                 message="health check failed after 5m0s: timeout waiting for: "
                         "[HelmRelease/flux-system/ingress status: 'Failed']"),
              hr("ingress", conditions=[cond("Ready", "False", "UpgradeFailed", "Helm upgrade failed")]))
    expl = explain.why(g, K("infra"), now=NOW)
    assert [(s.ref, s.via) for s in expl.chain] == [(K("infra"), ""), (H("ingress"), Via.HEALTH_CHECK)]
    assert roots(expl) == [(H("ingress"), "UpgradeFailed")]


def test_diamond_gives_each_root_cause_once():
    g = graph(ks("top", deps=["left", "right"], **waiting("flux-system/left")),
              ks("left", deps=["base"], **waiting("flux-system/base")),
              ks("right", deps=["base"], **waiting("flux-system/base")),
              ks("base", ready=False, reason="ReconciliationFailed", message="apply failed"))
    expl = explain.why(g, K("top"), now=NOW)
    assert roots(expl) == [(K("base"), "ReconciliationFailed")]
    assert [s.repeated for s in expl.chain if s.ref == K("base")] == [False, True]


def test_ready_expr_is_not_evaluated_and_said_so():
    g = graph(ks("app", deps=[{"name": "db", "readyExpr": "dep.status.x == 'y'"}],
                 **waiting("flux-system/db")),
              ks("db", ready=False, reason="BuildFailed", message="bad"),
              ks("ok", deps=[{"name": "db2", "readyExpr": "true"}]), ks("db2"))
    expl = explain.why(g, K("app"), now=NOW)
    link = expl.chain[0].links[1]
    assert link.label == Gate.READY_EXPR and "not evaluated; the dependency is not ready" in link.detail
    assert "(readyExpr 'true' not evaluated)" in explain.why(g, K("ok")).chain[0].links[1].detail


def test_ready_expr_false_from_the_controller_message():
    g = graph(ks("app", deps=[{"name": "db", "readyExpr": "false"}], **waiting("flux-system/db", True)),
              ks("db"))
    link = explain.why(g, K("app")).chain[0].links[1]
    assert link.label == Gate.READY_EXPR and "controller message" in link.detail


def test_own_failures_are_named():
    cases = {
        "BuildFailed": "kustomize build", "PruneFailed": "garbage collection",
        "AccessDenied": "denied access", "InvalidCELExpression": "CEL expression",
    }
    for reason, words in cases.items():
        g = graph(ks("x", ready=False, reason=reason, message="m"))
        rc = explain.why(g, K("x")).root_causes[0]
        assert words in rc.summary, reason
    never = graph(ks("new", conditions=[]))
    assert roots(explain.why(never, K("new"))) == [(K("new"), "never reconciled")]
    stalled = graph(ks("bad", conditions=[
        cond("Ready", "False", "InvalidCELExpression", "Reconciliation failed terminally due to "
             "configuration error: invalid readyExpr"),
        cond("Stalled", "True", "InvalidCELExpression", "Reconciliation failed terminally due to "
             "configuration error: invalid readyExpr")]))
    assert roots(explain.why(stalled, K("bad")))[0][1] == "stalled: InvalidCELExpression"


def test_waiting_with_all_dependencies_ready_is_a_recheck():
    g = graph(ks("apps", deps=["infra"], **waiting("flux-system/infra")), ks("infra"))
    expl = explain.why(g, K("apps"), now=NOW)
    assert roots(expl) == [(K("apps"), "waiting for re-check")]
    assert expl.suggestions[0].command == "flux reconcile ks apps -n flux-system"


def test_next_check_from_the_last_dependency_event():
    g = graph(ks("apps", deps=["infra"], **waiting("flux-system/infra")),
              ks("infra", ready=False, reason="BuildFailed", message="x"))
    event = {"kind": "Event", "metadata": {"namespace": "flux-system"},
             "involvedObject": {"kind": "Kustomization", "namespace": "flux-system", "name": "apps"},
             "type": "Normal", "reason": "DependencyNotReady", "count": 40,
             "message": "Dependencies do not meet ready condition, retrying in 30s",
             "lastTimestamp": "2026-11-21T10:29:50Z"}
    expl = explain.why(g, K("apps"), events=[event], now=NOW)
    nc = expl.chain[0].next_check
    assert (nc.basis, nc.at, nc.in_seconds) == ("event", "2026-11-21T10:30:20Z", 20)
    assert expl.chain[0].events[0].count == 40
    without = explain.why(g, K("apps"), now=NOW).chain[0].next_check
    assert (without.basis, without.in_seconds) == ("transition", 0)


def test_event_selection_puts_warnings_first():
    ref = K("x")

    def e(t, reason, last):
        return {"involvedObject": {"kind": "Kustomization", "namespace": "flux-system", "name": "x"},
                "type": t, "reason": reason, "message": reason, "lastTimestamp": last}
    picked = ev.Evidence([e("Normal", "A", "2026-01-01T00:00:03Z"), e("Warning", "B", "2026-01-01T00:00:01Z"),
                          e("Normal", "C", "2026-01-01T00:00:02Z"),
                          e("Warning", "D", "2026-01-01T00:00:02Z")]).about(ref)
    assert [p.reason for p in picked] == ["D", "B", "A"]


def test_event_calls_are_bounded():
    few = [K(f"k{i}") for i in range(5)]
    assert len(acquire_events.plan_calls(few)) == 5
    many_one_ns = [K(f"k{i}") for i in range(50)]
    assert acquire_events.plan_calls(many_one_ns) == [("flux-system", None)]
    many_ns = [K("k", f"ns{i}") for i in range(40)] + [H("h", f"ns{i}") for i in range(40)]
    assert acquire_events.plan_calls(many_ns) == [(None, "involvedObject.kind=HelmRelease"),
                                      (None, "involvedObject.kind=Kustomization")]


def test_why_all_groups_by_root_cause():
    g = graph(ks("a", deps=["base"], **waiting("flux-system/base")),
              ks("b", deps=["a"], **waiting("flux-system/a")),
              ks("base", ready=False, reason="BuildFailed", message="x"),
              ks("lonely", suspend=True, ready=False, reason="BuildFailed", message="y"),
              ks("fine"))
    incident = explain.why_all(g, now=NOW)
    assert [(rc.ref, rc.label, rc.blocks) for rc in incident.root_causes] == [
        (K("base"), "BuildFailed", [K("a"), K("b")]),
        (K("lonely"), "suspended", [])]
    assert incident.not_ready == [K("a"), K("b"), K("base"), K("lonely")]


def test_output_does_not_depend_on_input_order():
    docs = [ks("a", deps=["b", "c"], **waiting("flux-system/b")),
            ks("b", deps=["d"], **waiting("flux-system/d")), ks("c", suspend=True, ready=False),
            ks("d", ready=False, reason="BuildFailed", message="x"), gitrepo(), helmrepo()]
    first = None
    for seed in range(5):
        random.Random(seed).shuffle(docs)
        g = DepGraph.from_objects([parse_object(d) for d in docs])
        text = render.render_explanation(explain.why(g, K("a"), now=NOW), now=NOW) + \
            render.render_incident(explain.why_all(g, now=NOW), now=NOW)
        first = first or text
        assert text == first


def test_missing_source_is_fixed_in_the_source_reference_not_in_depends_on():
    broken = ks("apps", ready=False, reason="ArtifactFailed", message="x", source="repo")
    chart_ref = hr("podinfo", conditions=[cond("Ready", "False", "ArtifactFailed", "x")])
    del chart_ref["spec"]["chart"]
    chart_ref["spec"]["chartRef"] = {"kind": "OCIRepository", "name": "podinfo"}
    g = graph(broken, hr("web", repo="nope", conditions=[cond("Ready", "False", "ArtifactFailed", "x")]),
              chart_ref)
    git = ObjectRef("GitRepository", "flux-system", "repo")
    expl = explain.why(g, K("apps"), now=NOW)
    assert roots(expl) == [(git, Gate.MISSING)]
    assert expl.root_causes[0].named_by == ((K("apps"), Via.SOURCE),)
    assert expl.root_causes[0].required_by == (K("apps"),)
    texts = [s.text for s in expl.suggestions]
    assert texts[0].startswith("fix spec.sourceRef of ks/flux-system/apps: GitRepository "
                               "'flux-system/repo' does not exist")
    assert not any("dependsOn" in t for t in texts)
    # The missing source's own finding does not mistake it for a workload of the other kind.
    assert "can only depend on" not in expl.chain[1].findings[0].summary
    web = [s.text for s in explain.why(g, H("web"), now=NOW).suggestions]
    assert web[0].startswith("fix spec.chart.spec.sourceRef of hr/flux-system/web: HelmRepository "
                             "'flux-system/nope' does not exist")
    podinfo = [s.text for s in explain.why(g, H("podinfo"), now=NOW).suggestions]
    assert podinfo[0].startswith("fix spec.chartRef of hr/flux-system/podinfo: OCIRepository "
                                 "'flux-system/podinfo' does not exist")
    incident = explain.why_all(g, now=NOW)
    assert not any("dependsOn" in s.text for s in incident.suggestions)


def test_missing_dependency_is_still_fixed_in_depends_on():
    g = graph(ks("apps", deps=[{"name": "zz", "namespace": "other"}], **waiting("other/zz")))
    expl = explain.why(g, K("apps"), now=NOW)
    assert expl.root_causes[0].named_by == ((K("apps"), Via.DEPENDS_ON),)
    assert expl.suggestions[0].text == ("fix spec.dependsOn of ks/flux-system/apps: "
                                        "'other/zz' does not exist or create the object")


def test_failure_retried_by_the_controller_is_failed_everywhere():
    # Reconciling=True ProgressingWithRetry with Ready=False BuildFailed (observedGeneration
    # left behind): the verdict and the findings agree it failed, not "progressing".
    build = "kustomize build failed: accumulating resources: missing file"
    g = graph(ks("apps", deps=["infra"], **waiting("flux-system/infra")),
              ks("infra", generation=2, observed=1, conditions=[
                  cond("Ready", "False", "BuildFailed", build),
                  cond("Reconciling", "True", "ProgressingWithRetry", "retrying")]))
    expl = explain.why(g, K("infra"), now=NOW)
    assert expl.state is State.FAILED
    assert expl.summary == "Kustomization/flux-system/infra is not ready: failed (BuildFailed); 1 root cause"
    assert [f.type for f in expl.chain[0].findings] == ["BuildFailed"]
    assert roots(expl) == [(K("infra"), "BuildFailed")]
    assert roots(explain.why(g, K("apps"), now=NOW)) == [(K("infra"), "BuildFailed")]
    assert labels(explain.why(g, K("apps"), now=NOW), K("apps")) == {"infra": Gate.NOT_OBSERVED}


def test_progressing_is_not_a_root_cause_of_its_own():
    g = graph(ks("apps", conditions=[cond("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
                                     cond("Reconciling", "True", "Progressing", "")]))
    expl = explain.why(g, K("apps"), now=NOW)
    assert expl.state is State.PROGRESSING
    assert [(f.type, f.cause) for f in expl.chain[0].findings] == [("Progressing", False)]


def test_suspended_source_resumes_with_the_flux_cli_words():
    src = gitrepo(ready=False, reason="GitOperationFailed", artifact="")
    src["spec"]["suspend"] = True
    g = graph(src, ks("apps", ready=False, reason="ArtifactFailed", message="x"))
    commands = [s.command for s in explain.why(g, K("apps"), now=NOW).suggestions]
    assert commands[0] == "flux resume source git flux-system -n flux-system"


def test_events_attached_after_the_walk_equal_events_during_it():
    g = graph(ks("apps", deps=["infra"], **waiting("flux-system/infra")),
              ks("infra", ready=False, reason="BuildFailed", message="x"))
    events = [{"kind": "Event", "metadata": {"namespace": "flux-system"},
               "involvedObject": {"kind": "Kustomization", "namespace": "flux-system", "name": name},
               "type": type_, "reason": reason, "count": 3, "message": "m",
               "lastTimestamp": "2026-11-21T10:29:50Z"}
              for name, type_, reason in [("apps", "Normal", "DependencyNotReady"),
                                          ("infra", "Warning", "BuildFailed")]]
    once = explain.attach_events(g, explain.why(g, K("apps"), now=NOW), events, NOW)
    assert render.render_explanation(once, now=NOW) == \
        render.render_explanation(explain.why(g, K("apps"), events, NOW), now=NOW)
    assert once.chain[0].next_check.basis == "event" and once.chain[1].events
    incident = explain.attach_events(g, explain.why_all(g, now=NOW), events, NOW)
    assert render.render_incident(incident, now=NOW) == \
        render.render_incident(explain.why_all(g, events, NOW), now=NOW)


def test_events_are_ordered_as_times_not_strings():
    from kubectl_depgraph.judge import evidence as ev
    from kubectl_depgraph.model import ObjectRef
    ref = ObjectRef("Kustomization", "flux-system", "apps")
    involved = {"kind": "Kustomization", "namespace": "flux-system", "name": "apps"}
    early = {"involvedObject": involved, "type": "Normal", "reason": "A", "lastTimestamp": "2026-11-21T10:00:05Z"}
    late = {"involvedObject": involved, "type": "Normal", "reason": "B",
            "lastTimestamp": "2026-11-21T10:00:05.300000Z"}
    assert [e.reason for e in ev.Evidence([early, late]).about(ref)] == ["B", "A"]
    assert ev.Evidence([early, late]).latest(ref, "A").last == "2026-11-21T10:00:05Z"


# --- issue 10: what an operator hit on a broken cluster and a 2,000-object fleet -----------

def _dependency_event(name, message, last):
    return {"kind": "Event", "metadata": {"namespace": "flux-system"},
            "involvedObject": {"kind": "Kustomization", "namespace": "flux-system", "name": name},
            "type": "Normal", "reason": "DependencyNotReady", "count": 3, "message": message,
            "lastTimestamp": last}


def test_next_check_uses_the_interval_the_controller_states():
    g = graph(ks("apps", deps=["infra"], **waiting("flux-system/infra")),
              ks("infra", ready=False, reason="BuildFailed", message="x"))
    event = _dependency_event("apps", "dependency 'flux-system/infra' is not ready, retrying in 2s",
                              "2026-11-21T10:29:59Z")
    nc = explain.why(g, K("apps"), events=[event], now=NOW).chain[0].next_check
    assert (nc.interval, nc.in_seconds, nc.retrying) == (2, 1, True)


def test_next_check_says_when_the_controller_stopped_retrying():
    g = graph(ks("apps", deps=["infra"], **waiting("flux-system/infra")),
              ks("infra", ready=False, reason="BuildFailed", message="x"))
    old = _dependency_event("apps", "dependency 'flux-system/infra' is not ready, retrying in 2s",
                            "2026-11-21T10:10:00Z")     # 20 minutes before NOW
    expl = explain.why(g, K("apps"), events=[old], now=NOW)
    assert expl.chain[0].next_check.retrying is False
    text = render.render_explanation(expl, now=NOW)
    assert ("Next check: not expected: the controller retries every 2s, but its last "
            "DependencyNotReady event is from 2026-11-21T10:10:00Z: it does not appear to be retrying "
            "(see its logs: flux logs --kind=Kustomization --name=apps -n flux-system)") in text


def test_why_source_names_what_it_blocks_and_its_secret():
    src = gitrepo("tenant-a", ready=False, reason="AuthenticationFailed", message="auth failed", artifact="")
    src["spec"]["secretRef"] = {"name": "tenant-a-auth"}
    g = graph(gitrepo(), src,
              ks("tenant-a", source="tenant-a", ready=False, reason="ArtifactFailed", message="x"),
              ks("tenant-a-apps", deps=["tenant-a"], **waiting("flux-system/tenant-a")))
    expl = explain.why(g, ObjectRef("GitRepository", "flux-system", "tenant-a"), now=NOW)
    (rc,) = expl.root_causes
    assert rc.blocks == [K("tenant-a"), K("tenant-a-apps")]
    assert "the credentials in Secret flux-system/tenant-a-auth (spec.secretRef)" in expl.suggestions[0].text
    assert expl.suggestions[1].command == "kubectl depgraph reconcile ks/flux-system/tenant-a --dependents"


def test_observed_generation_ahead_is_not_stale():
    g = graph(ks("infra", generation=2, observed=3),
              ks("apps", deps=["infra"], **waiting("flux-system/infra")))
    verdict = classify(g.obj(K("infra")))
    assert (verdict.state, verdict.reason, verdict.ready) == (State.READY, "ReconciliationSucceeded", False)
    expl = explain.why(g, K("infra"), now=NOW)
    assert roots(expl) == [(K("infra"), "generation mismatch")]
    assert expl.summary == ("Kustomization/flux-system/infra is Ready but does not count as ready for "
                            "its dependents (generation mismatch); 1 root cause")
    assert roots(explain.why(g, K("apps"), now=NOW)) == [(K("infra"), "generation mismatch")]


def test_long_blocks_lists_are_cut_in_text_and_whole_in_data():
    apps = [ks(f"app-{i:02d}", deps=["infra"], **waiting("flux-system/infra")) for i in range(20)]
    g = graph(ks("infra", ready=False, reason="BuildFailed", message="kustomize build failed"), *apps)
    incident = explain.why_all(g, now=NOW)
    text = render.render_incident(incident, now=NOW)
    assert ("Blocks:  ks/flux-system/app-00, ks/flux-system/app-01, ks/flux-system/app-02, "
            "ks/flux-system/app-03, ks/flux-system/app-04, ks/flux-system/app-05, ks/flux-system/app-06, "
            "ks/flux-system/app-07 and 12 more") in text
    doc = render.incident_document(incident)
    assert len(doc["rootCauses"][0]["blocks"]) == 20


def test_events_are_read_once_for_a_whole_incident(monkeypatch):
    """why without NAME on a fleet rescanned every event for each object (quadratic)."""
    apps = [ks(f"app-{i}", deps=["infra"], **waiting("flux-system/infra")) for i in range(60)]
    g = graph(ks("infra", ready=False, reason="BuildFailed", message="x"), *apps)
    events = [_dependency_event(f"app-{i}", "retrying in 30s", "2026-11-21T10:29:50Z") for i in range(60)]
    calls = []
    real = ev.involved_ref
    monkeypatch.setattr(ev, "involved_ref", lambda e: calls.append(1) or real(e))
    explain.why_all(g, events, NOW)
    assert len(calls) == len(events)


def _never_succeeded(name, reason, message, deps=()):
    """As kustomize-controller leaves a Kustomization that never reconciled successfully:
    status.observedGeneration -1, the Ready condition current (seen with the real controllers)."""
    doc = ks(name, deps=deps, ready=False, reason=reason, message=message, observed=-1)
    doc["status"]["conditions"][0]["observedGeneration"] = 1
    return doc


def test_observed_generation_minus_one_is_a_failure_not_stale():
    g = graph(_never_succeeded("infra", "ArtifactFailed", "Source artifact not found, retrying in 5s"),
              ks("apps", deps=["infra"], **waiting("flux-system/infra")))
    verdict = classify(g.obj(K("infra")))
    assert (verdict.state, verdict.reason) == (State.FAILED, "ArtifactFailed")
    expl = explain.why(g, K("apps"), now=NOW)
    assert labels(expl, K("apps")) == {"infra": Gate.NOT_READY}
    assert [title for _, title in roots(expl)] == ["artifact failed"]
