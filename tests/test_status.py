import pytest

from kubectl_depgraph.model import parse_object
from kubectl_depgraph.judge.status import State, classify, ready_for_dependents, revision_behind
from tests.builders import REV, condition, gitrepo, hr, ks


def verdict(manifest):
    return classify(parse_object(manifest))


@pytest.mark.parametrize("manifest,state,reason", [
    (ks("a"), State.READY, "ReconciliationSucceeded"),
    (ks("a", deps=["b"], ready="False"), State.WAITING, "DependencyNotReady"),
    (ks("a", ready="False", reason="HealthCheckFailed", message="health check failed"), State.FAILED,
     "HealthCheckFailed"),
    (ks("a", ready="Unknown"), State.PROGRESSING, "Progressing"),
    (ks("a", generation=3, observed=2), State.STALE, "GenerationNotObserved"),
    (ks("a", ready=None), State.NEW, ""),
    (ks("a", suspend=True), State.SUSPENDED, "Suspended"),
    (ks("a", status=False), State.UNKNOWN, ""),
    (None, State.MISSING, "NotFound"),
])
def test_classify(manifest, state, reason):
    v = classify(parse_object(manifest) if manifest else None)
    assert (v.state, v.reason) == (state, reason)


def test_stalled_wins_over_ready_false():
    m = hr("redis", ready="False", reason="InstallFailed", message="install failed")
    m["status"]["conditions"].append({"type": "Stalled", "status": "True", "reason": "RetriesExceeded",
                                      "message": "Failed to install after 3 attempt(s)"})
    v = verdict(m)
    assert (v.state, v.reason, v.message) == (State.STALLED, "RetriesExceeded",
                                              "Failed to install after 3 attempt(s)")


def test_waiting_object_keeps_old_observed_generation_but_is_waiting():
    # Flux does not update observedGeneration while waiting for dependencies.
    v = verdict(ks("a", deps=["b"], ready="False", generation=4, observed=3))
    assert v.state is State.WAITING


def test_suspended_ready_still_satisfies_dependents():
    obj = parse_object(ks("a", suspend=True))
    assert classify(obj).ready and ready_for_dependents(obj)
    obj = parse_object(ks("a", suspend=True, ready="False", reason="BuildFailed"))
    assert not classify(obj).ready
    assert classify(obj).message.startswith("suspended; last status not ready")


def test_ready_condition_counts_only_for_current_generation():
    assert not ready_for_dependents(parse_object(ks("a", generation=2, observed=1)))


def test_revision_behind_only_for_kustomizations_on_the_same_source():
    src = parse_object(gitrepo(revision="main@sha1:" + "b" * 40))
    dependent = parse_object(ks("app", deps=["infra"]))
    dependency = parse_object(ks("infra", revision=REV))
    assert revision_behind(dependent, dependency, src)
    other_source = parse_object(ks("infra", source="other"))
    assert not revision_behind(dependent, other_source, src)
    assert not revision_behind(dependent, parse_object(ks("infra")), parse_object(gitrepo()))


def test_malformed_fields_do_not_crash():
    m = ks("a")
    m["spec"]["dependsOn"] = "not-a-list"
    m["status"]["conditions"] = [{"type": "Ready"}, "junk", {"status": True}]
    m["metadata"]["generation"] = "x"
    obj = parse_object(m)
    assert obj.depends_on == ()
    assert obj.warnings == ("spec.dependsOn is not a list: ignored",)
    assert classify(obj).state is State.PROGRESSING  # Ready with no status reads as Unknown


def _with_reconciling(manifest, reason):
    manifest["status"]["conditions"].append(condition("Reconciling", "True", reason, "retrying"))
    return manifest


@pytest.mark.parametrize("kind", ["ks", "hr", "gitrepo"])
def test_failure_that_will_be_retried_is_failed_not_progressing(kind):
    # Flux marks a failed reconcile it will retry Reconciling=True ProgressingWithRetry, keeps
    # Ready=False with the failure reason, and leaves observedGeneration behind.
    m = {"ks": lambda: ks("a", ready="False", reason="BuildFailed", message="kustomize build failed",
                          generation=3, observed=2),
         "hr": lambda: hr("a", ready="False", reason="UpgradeFailed", message="upgrade failed"),
         "gitrepo": lambda: gitrepo(ready="False", reason="GitOperationFailed", message="clone failed")}[kind]()
    v = verdict(_with_reconciling(m, "ProgressingWithRetry"))
    assert (v.state, v.message, v.ready) == (State.FAILED, m["status"]["conditions"][0]["message"], False)


def test_reconciling_without_a_failure_is_progressing():
    assert verdict(_with_reconciling(ks("a", ready="Unknown"), "Progressing")).state is State.PROGRESSING
    assert verdict(_with_reconciling(ks("a", ready="False", reason="Progressing"),
                                     "Progressing")).state is State.PROGRESSING
    assert verdict(ks("a", ready="False", reason="Progressing")).state is State.PROGRESSING
    # A new run on a Ready object.
    assert verdict(_with_reconciling(ks("a"), "Progressing")).state is State.PROGRESSING
    # A waiting HelmRelease has Reconciling=True too ("Fulfilling prerequisites").
    assert verdict(_with_reconciling(hr("a", deps=["b"], ready="False"), "Progressing")).state \
        is State.WAITING


def test_dependency_problems_reads_both_controllers_messages():
    from kubectl_depgraph.judge.status import dependency_problems
    assert dependency_problems("dependency 'flux-system/infra' is not ready") == [("flux-system/infra", "is not ready")]
    assert dependency_problems("dependency 'a/b' revision is not up to date") == [("a/b", "revision is not up to date")]
    assert dependency_problems("dependency 'a/b' not found: kustomizations.kustomize.toolkit.fluxcd.io \"b\" not found") \
        == [("a/b", "not found")]
    assert dependency_problems("unable to get 'data/pg' dependency: helmreleases.helm.toolkit.fluxcd.io \"pg\" "
                               "not found") == [("data/pg", "not found")]
    assert dependency_problems("dependency 'a/b' is not ready according to readyExpr eval") == [("a/b", "is not ready")]
    assert dependency_problems("Applied revision: main@sha1:abc") == []


def test_a_source_retrying_a_failed_fetch_is_failed_not_progressing():
    """source-controller, between retries: Ready=Unknown "building artifact", FetchFailed=True."""
    from kubectl_depgraph.judge.status import State, classify
    from kubectl_depgraph.model import parse_object
    src = parse_object({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": "flux-system", "generation": 1},
        "status": {"observedGeneration": -1, "conditions": [
            {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry",
             "message": "building artifact", "observedGeneration": 1},
            {"type": "Ready", "status": "Unknown", "reason": "ProgressingWithRetry",
             "message": "building artifact", "observedGeneration": 1},
            {"type": "FetchFailed", "status": "True", "reason": "GitOperationFailed",
             "message": "failed to checkout and determine revision: repository not found",
             "observedGeneration": 1}]}})
    verdict = classify(src)
    assert (verdict.state, verdict.reason) == (State.FAILED, "GitOperationFailed")
