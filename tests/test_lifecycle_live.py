"""`resume`, `suspend` and `delete` through the real kubectl against the API-server
double's simulated Flux controller: order from the double's request log, exit codes, the
exact dry-run commands."""

from tests.apiserver import TEST_FINALIZE_DELAY
from tests.clirun import invoke
from tests.test_reconcile_live import FS, git, ks, live, with_flux  # noqa: F401 (fixtures)

RES = "kustomizations.kustomize.toolkit.fluxcd.io"


def chain(**kw):
    """infra <- db <- apps, and cache <- infra."""
    return [git(), ks("infra", **kw), ks("db", depends_on=["infra"], **kw),
            ks("apps", depends_on=["db"], **kw), ks("cache", depends_on=["infra"], **kw)]


def writes(server, method):
    """[(name, time)] of the requests with `method` on Kustomizations, in order."""
    return [(w.path.rsplit("/", 1)[1], w.time) for w in server.writes()
            if w.method == method and "/kustomizations/" in w.path]


def finalized(name, delay):
    obj = ks(name, annotations={TEST_FINALIZE_DELAY: str(delay)})
    obj["metadata"]["finalizers"] = ["finalizers.fluxcd.io"]
    return obj


# --------------------------------------------------------------------------- delete

def test_delete_dependents_first_each_gone_with_finalizers_before_its_dependencies(live):
    objects = [git(), finalized("infra", 0.3), finalized("db", 0.3), finalized("apps", 0.6),
               finalized("cache", 0.1)]
    objects[2]["spec"]["dependsOn"] = [{"name": "infra"}]
    objects[3]["spec"]["dependsOn"] = [{"name": "db"}]
    objects[4]["spec"]["dependsOn"] = [{"name": "infra"}]
    server, env = live(objects)
    out = invoke(["delete", "infra", "--dependents"], env=env)
    assert out.code == 0, out.stderr
    deletes = writes(server, "DELETE")
    assert sorted(n for n, _ in deletes) == ["apps", "cache", "db", "infra"]
    order = [n for n, _ in deletes]
    assert order.index("apps") < order.index("db") < order.index("infra")
    assert order.index("cache") < order.index("infra")
    gone = {name: when for kind, _, name, when in server.controller.deleted}
    sent = dict(deletes)
    # Each delete waited until what depends on it was gone, finalizers included.
    assert gone["apps"] <= sent["db"] and gone["db"] <= sent["infra"] and gone["cache"] <= sent["infra"]
    assert gone["apps"] - sent["apps"] >= 0.5, "the finalizer delay was waited out"
    assert not server.objects("Kustomization")
    assert "4 objects: 4 deleted" in out.stdout
    assert all(w.query.get("propagationPolicy") in (None, "Background") for w in server.writes())


def test_delete_refuses_when_unselected_objects_depend_on_it(live):
    server, env = live(chain())
    out = invoke(["delete", "infra"], env=env)
    assert out.code == 2
    assert out.stderr.splitlines() == [
        "error: refusing to delete Kustomization/flux-system/infra: Kustomization/flux-system/apps "
        "and 2 more depend on it and are not selected",
        "hint: add --dependents to delete them first, or --force to leave them waiting"]
    assert server.writes() == []


def test_delete_force_deletes_only_the_selection(live):
    server, env = live(chain())
    out = invoke(["delete", "db", "--force"], env=env)
    assert out.code == 0, out.stderr
    assert [n for n, _ in writes(server, "DELETE")] == ["db"]


def test_delete_dry_run_prints_the_exact_commands(live):
    server, env = live(chain())
    out = invoke(["delete", "infra", "--dependents", "--dry-run"], env=env)
    assert out.code == 0, out.stderr
    kubectl = env["KUBECTL"]
    assert out.stdout.splitlines() == [
        f"{kubectl} delete -n flux-system {RES}/{name} --wait=false" for name in ("apps", "cache", "db", "infra")]
    assert server.writes() == []


# --------------------------------------------------------------------------- suspend / resume

def test_suspend_dependents_first(live):
    server, env = live(chain())
    out = invoke(["suspend", "--no-flux", "infra", "--dependents"], env=env)
    assert out.code == 0, out.stderr
    patches = writes(server, "PATCH")
    order = [n for n, _ in patches]
    assert order.index("apps") < order.index("db") < order.index("infra")
    assert order.index("cache") < order.index("infra")
    assert all(o["spec"].get("suspend") is True for o in server.objects("Kustomization"))
    bodies = [w.body for w in server.writes() if w.method == "PATCH"]
    assert all(b == {"spec": {"suspend": True}} for b in bodies)
    assert "4 objects: 4 suspended" in out.stdout


def test_resume_dependencies_first_each_ready_before_its_dependents(live):
    server, env = live(chain(suspend=True, delay=0.3))
    out = invoke(["resume", "--no-flux", "apps", "--dependencies"], env=env)
    assert out.code == 0, out.stderr
    sent = dict(writes(server, "PATCH"))
    assert set(sent) == {"infra", "db", "apps"}
    infra = [h for h in server.controller.handled("Kustomization", FS, "infra") if h.end][-1]
    db = [h for h in server.controller.handled("Kustomization", FS, "db") if h.end][-1]
    assert infra.end <= sent["db"] and db.end <= sent["apps"]
    assert all(not o["spec"].get("suspend") for o in server.objects("Kustomization")
               if o["metadata"]["name"] != "cache")
    assert "3 objects: 3 resumed" in out.stdout


def test_suspend_and_resume_dry_run_kubectl(live):
    server, env = live(chain())
    kubectl = env["KUBECTL"]
    out = invoke(["resume", "--no-flux", "--dry-run", "apps", "--dependencies"], env=env)
    assert out.code == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"{kubectl} patch --type=merge -p '{{\"spec\":{{\"suspend\":false}}}}' -n flux-system {RES}/{n}"
        for n in ("infra", "db", "apps")]
    out = invoke(["suspend", "--no-flux", "--dry-run", "db", "--dependents"], env=env)
    assert out.stdout.splitlines() == [
        f"{kubectl} patch --type=merge -p '{{\"spec\":{{\"suspend\":true}}}}' -n flux-system {RES}/{n}"
        for n in ("apps", "db")]
    assert server.writes() == []


def test_suspend_and_resume_dry_run_flux(live, with_flux):
    server, env = live(chain())
    env = with_flux(env)
    out = invoke(["resume", "--dry-run", "apps", "--dependencies"], env=env)
    assert out.code == 0, out.stderr
    assert out.stdout.splitlines() == [f"flux resume kustomization {n} -n flux-system"
                                       for n in ("infra", "db", "apps")]
    out = invoke(["suspend", "--dry-run", "infra", "--dependents"], env=env)
    assert out.stdout.splitlines() == [f"flux suspend kustomization {n} -n flux-system"
                                       for n in ("apps", "cache", "db", "infra")]
    assert server.writes() == []


def test_source_name_is_a_usage_error(live):
    server, env = live(chain())
    out = invoke(["suspend", "--no-flux", "gitrepo/flux-system/flux-system"], env=env)
    assert out.code == 2 and "is a source" in out.stderr


def test_resume_and_suspend_through_flux(live, with_flux):
    server, env = live(chain(suspend=True, delay=0.2))
    env = with_flux(env, poll=0.1)
    out = invoke(["resume", "--flux", "apps", "--dependencies"], env=env)
    assert out.code == 0, out.stderr
    sent = dict(writes(server, "PATCH"))
    infra = [h for h in server.controller.handled("Kustomization", FS, "infra") if h.end][-1]
    assert set(sent) == {"infra", "db", "apps"} and infra.end <= sent["db"] <= sent["apps"]
    assert "3 objects: 3 resumed" in out.stdout
    server.clear_log()
    out = invoke(["suspend", "--flux", "infra", "--dependents"], env=env)
    assert out.code == 0, out.stderr
    order = [n for n, _ in writes(server, "PATCH")]
    assert order.index("apps") < order.index("db") < order.index("infra")
    assert all(o["spec"].get("suspend") is True for o in server.objects("Kustomization"))


def test_delete_of_an_object_gone_meanwhile_counts_as_deleted(live, monkeypatch):
    from kubectl_depgraph.reconcile.lifecycle import LifecycleBackend
    server, env = live(chain())
    real = LifecycleBackend.start

    def start(self, step, timeout):
        # The graph was read; the object disappears before its delete is sent (NotFound).
        server.delete_object("Kustomization", FS, step.ref.name)
        return real(self, step, timeout)
    monkeypatch.setattr(LifecycleBackend, "start", start)
    out = invoke(["delete", "apps"], env=env)
    assert out.code == 0, out.stderr
    assert "1 object: 1 deleted" in out.stdout
