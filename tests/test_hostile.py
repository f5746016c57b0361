"""Hostile and broken conditions (issue 6): every failure mode answered with one line, a
hint and the documented exit code, never a traceback; read-only commands write nothing;
no credentials in any output. Each test is one row of the README "Failure modes" table.
The cluster rows drive the real kubectl against the API-server double."""

import json
import os
import stat
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from kubectl_depgraph import runner
from kubectl_depgraph.acquire import cluster, snapshot as manifests
from tests.apiserver import (NO_FLUX, NO_HELM, OLD_FLUX, TEST_DELAY, TEST_OUTCOME, Forbid,
                             kustomization, source)
from tests.conftest import EXAMPLE, production
from tests.clirun import Outcome, invoke, summary_rows

ROOT = Path(__file__).resolve().parents[1]
FS = "flux-system"
FLUX_RESOURCES = ("kustomizations", "helmreleases", "gitrepositories", "helmrepositories",
                  "ocirepositories", "buckets", "helmcharts", "externalartifacts")
KUBECTL_HINT = "install kubectl, or point --kubectl / $KUBECTL at it"


def lines(out):
    return out.stderr.splitlines()


def assert_clean(out):
    """No traceback and no internal error, whatever happened."""
    assert "Traceback" not in out.stderr + out.stdout
    assert "error: internal error" not in out.stderr


def assert_error(out, code, message, hint=None):
    """Exactly `error: message` (and `hint: hint`) on stderr, nothing on stdout."""
    assert_clean(out)
    assert out.code == code, out.stderr
    expected = [f"error: {message}"] + ([f"hint: {hint}"] if hint else [])
    assert lines(out) == expected
    assert out.stdout == ""


# ============================================================== environment: kubectl itself


def test_kubectl_not_on_path(live, tmp_path):
    _, env = live()
    env.pop("KUBECTL")
    env["PATH"] = str(tmp_path)          # an empty directory
    out = invoke(["tree"], env=env)
    assert_error(out, 4, "kubectl not found: 'kubectl' is not an executable on PATH", KUBECTL_HINT)


def test_kubectl_not_executable(live, tmp_path):
    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o644)
    _, env = live()
    out = invoke(["tree"], env={**env, "KUBECTL": str(fake)})
    assert_error(out, 4, f"kubectl not found: '{fake}' is not an executable on PATH",
                 f"{fake} is not executable; {KUBECTL_HINT}")


def test_kubectl_env_points_nowhere(live, tmp_path):
    _, env = live()
    for target, why in ((tmp_path / "missing" / "kubectl", "does not exist"),
                        (tmp_path, "is a directory")):
        out = invoke(["tree"], env={**env, "KUBECTL": str(target)})
        assert_error(out, 4, f"kubectl not found: '{target}' is not an executable on PATH",
                     f"{target} {why}; {KUBECTL_HINT}")


def test_kubectl_wrong_binary(live, tmp_path):
    fake = tmp_path / "kubectl"
    fake.write_bytes(b"\x7fELF not really a binary")
    fake.chmod(0o755)
    _, env = live()
    out = invoke(["tree", "--kubectl", fake], env=env)
    assert_error(out, 4, f"cannot run kubectl '{fake}': Exec format error",
                 "point --kubectl / $KUBECTL at a kubectl binary built for this machine")


def test_flux_missing_reading_works(live, tmp_path):
    """No flux CLI anywhere: tree, why and check read through kubectl alone."""
    _, env = live()
    bindir = tmp_path / "only-kubectl"
    bindir.mkdir()
    (bindir / "kubectl").symlink_to(env["KUBECTL"])
    env["PATH"] = str(bindir)
    for args in (["tree"], ["why", "production-frontend"], ["check"]):
        out = invoke(args, env=env)
        assert_clean(out)
        assert out.code in (0, 1) and out.stdout, (args, out.stderr)
        assert "flux" not in out.stderr.lower() or "warning" in out.stderr


# ============================================================== environment: kubeconfig and server


def test_no_kubeconfig(live, tmp_path):
    _, env = live()
    out = invoke(["tree"], env={**env, "KUBECONFIG": str(tmp_path / "absent")})
    assert_error(out, 4, "kubectl has no usable kubeconfig: The connection to the server "
                         "localhost:8080 was refused - did you specify the right host or port?",
                 "set KUBECONFIG or pass --kubeconfig")


def test_kubeconfig_flag_missing_file(live, tmp_path):
    _, env = live()
    missing = tmp_path / "nope.yaml"
    out = invoke(["tree", "--kubeconfig", missing], env=env)
    assert_error(out, 4, f"kubectl has no usable kubeconfig: stat {missing}: no such file or "
                         "directory", "set KUBECONFIG or pass --kubeconfig")


def test_kubeconfig_broken_yaml(live, tmp_path):
    _, env = live()
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nusers:\n- name: jane\n  user:\n    token: test-token-jane\n"
                      "    x: [\n")
    out = invoke(["tree", "--kubeconfig", broken], env=env)
    assert_clean(out)
    assert out.code == 4
    assert lines(out)[0].startswith("error: kubectl has no usable kubeconfig: error loading config")
    assert "test-token" not in out.stderr


def test_unknown_context(live):
    _, env = live()
    out = invoke(["tree", "--context", "nope"], env=env)
    assert_error(out, 4, "the context does not exist: Error in configuration: context was not "
                         "found for specified context: nope",
                 "list contexts with: kubectl config get-contexts")


def test_context_that_looks_like_a_flag(live):
    _, env = live()
    out = invoke(["tree", "--context", "--all-namespaces"], env=env)
    assert_clean(out)
    assert out.code == 4
    assert "context was not found for specified context: --all-namespaces" in out.stderr


def test_expired_credentials(live):
    server, env = live()
    server.add_fault(".*", "unauthorized")
    out = invoke(["tree"], env=env)
    assert_error(out, 4, "the cluster rejected your credentials (Unauthorized): You must be "
                         "logged in to the server (the server has asked for the client to "
                         "provide credentials)", "refresh your credentials and retry")


def test_credentials_rejected_for_one_kind_fails_the_read(live):
    """kubectl prints the kinds it could read and exits 1: a graph silently missing every
    Kustomization would mislead, so the whole read fails."""
    server, env = live()
    server.add_fault("/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations", "unauthorized")
    out = invoke(["tree"], env=env)
    assert_error(out, 4, "the cluster rejected your credentials (Unauthorized): You must be "
                         "logged in to the server (Unauthorized)",
                 "refresh your credentials and retry")


def test_unreachable_server(live):
    _, env = live()
    out = invoke(["tree", "--context", "unreachable"], env=env)
    assert_clean(out)
    assert out.code == 4
    message, hint = lines(out)
    assert message.startswith("error: cannot reach the API server: The connection to the server "
                              "127.0.0.1:")
    assert message.endswith(" was refused - did you specify the right host or port?")
    assert hint == "hint: check --context/--kubeconfig and that the cluster is up"


def test_server_hangs_request_timeout_honoured(live):
    server, env = live()
    server.add_fault("/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations", "hang", seconds=60)
    started = time.monotonic()
    out = invoke(["tree", "--request-timeout", "2s"], env=env)
    assert time.monotonic() - started < 15
    assert_clean(out)
    assert out.code == 4
    message, hint = lines(out)
    assert message.startswith("error: the API server did not answer in time: Unable to connect to "
                              "the server: ")
    assert hint == "hint: raise --request-timeout, or check the cluster"


def test_server_hangs_without_request_timeout(live, monkeypatch):
    """kubectl alone would wait forever: the kubectl process itself is bounded."""
    assert cluster.DEFAULT_PROCESS_TIMEOUT <= 300
    monkeypatch.setattr(cluster, "DEFAULT_PROCESS_TIMEOUT", 3.0)
    server, env = live()
    server.add_fault("/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations", "hang", seconds=60)
    started = time.monotonic()
    out = invoke(["tree"], env=env)
    assert time.monotonic() - started < 10
    assert_error(out, 4, "kubectl did not answer within 3s: the API server accepts connections "
                         "but does not respond",
                 "check the cluster's health; --request-timeout bounds each request "
                 "(e.g. --request-timeout 10s)")


def test_invalid_request_timeout(live):
    server, env = live()
    out = invoke(["tree", "--request-timeout", "soon"], env=env)
    assert_error(out, 2, "invalid --request-timeout 'soon'",
                 "give a duration such as 10s, 2m or 1h (0: no timeout)")
    assert server.requests == []


def test_server_error_500(live):
    server, env = live()
    server.add_fault("/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations", "error")
    out = invoke(["tree"], env=env)
    assert_error(out, 4, "the API server returned an internal error: an error on the server "
                         "(\"etcdserver: request timed out\") has prevented the request from "
                         "succeeding",
                 "retry; check the API server's health")


def test_server_answers_garbage(live):
    server, env = live()
    server.add_fault("/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations", "garbage")
    out = invoke(["tree"], env=env)
    assert_error(out, 4, "the API server answered something that is not a Kubernetes API "
                         "response: serializer for text/html doesn't exist",
                 "check the server URL of the context; a proxy or load balancer may be answering")


def test_server_resets_connections(live):
    server, env = live()
    server.add_fault("/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations", "reset")
    out = invoke(["tree", "--request-timeout", "3s"], env=env)
    assert_clean(out)
    assert out.code == 4
    message, hint = lines(out)
    assert message.startswith("error: the API server closed the connection without answering: ")
    assert message.endswith("EOF")
    assert hint == "hint: retry; check the API server's health and any proxy in front of it"


# ============================================================== Flux installation


@pytest.mark.parametrize("command", [["tree"], ["why"], ["check"]])
def test_flux_not_installed(live, command):
    _, env = live([], groups=NO_FLUX)
    out = invoke(command, env=env)
    assert_error(out, 4, "Flux is not installed in this cluster: the API server serves no "
                         "kustomize.toolkit.fluxcd.io or helm.toolkit.fluxcd.io resources",
                 "check the context (--context), or install Flux: flux install")


def test_only_some_controllers(live):
    objs = [o for o in production() if o["kind"] not in ("HelmRelease", "HelmRepository")]
    _, env = live(objs, groups=NO_HELM)
    out = invoke(["tree"], env=env)
    assert_clean(out)
    assert (out.code, out.stderr) == (0, "")
    assert "ks/flux-system/production-frontend" in out.stdout and "hr/" not in out.stdout


def test_old_api_versions(live):
    """Only v1beta2 Kustomizations and v2beta1 HelmReleases served: read as the same graph."""
    old = production()
    for obj in old:
        group = obj["apiVersion"].split("/")[0]
        if group in OLD_FLUX:
            obj["apiVersion"] = f"{group}/{OLD_FLUX[group][0]}"
    _, env = live(old, groups=OLD_FLUX)
    out = invoke(["tree", "-o", "json"], env=env)
    assert_clean(out)
    assert (out.code, out.stderr) == (0, "")
    _, new_env = live()

    def served_as(doc):   # the same graph; each node keeps the apiVersion it was read at
        for node in doc["nodes"] + doc["missing"]:
            node.pop("apiVersion")
        return doc
    new = json.loads(invoke(["tree", "-o", "json"], env=new_env).stdout)
    assert served_as(json.loads(out.stdout)) == served_as(new)
    why = invoke(["why", "production-frontend"], env=env)
    assert why.code == 0 and "1 root cause" in why.stdout


# ============================================================== RBAC


def test_list_forbidden_cluster_wide_allowed_in_some_namespaces(live):
    forbid = [Forbid(["list"], r, except_namespaces=[FS]) for r in FLUX_RESOURCES]
    _, env = live(forbid=forbid)
    out = invoke(["tree"], env=env)
    assert_clean(out)
    assert out.code == 0
    assert lines(out) == [
        "warning: listing buckets, externalartifacts, gitrepositories, helmcharts, helmreleases, "
        "helmrepositories, kustomizations, ocirepositories across all namespaces is forbidden; "
        "read namespaces: flux-system; omitted (forbidden): apps, default"]
    assert "ks/flux-system/production-frontend" in out.stdout and "hr/apps" not in out.stdout


def test_list_forbidden_everywhere(live):
    forbid = [Forbid(["list"], r) for r in FLUX_RESOURCES]
    _, env = live(forbid=forbid)
    out = invoke(["tree"], env=env)
    assert_error(out, 4, "forbidden: you may not list buckets, externalartifacts, gitrepositories, "
                         "helmcharts, helmreleases, helmrepositories, kustomizations, "
                         "ocirepositories in any namespace tried (apps, default, flux-system)",
                 "ask for list permission on Flux resources, or pass -n NAMESPACE")


def test_events_forbidden_why_explains_without_events(live):
    _, env = live(forbid=[Forbid(["list", "get", "watch"], "events")])
    out = invoke(["why", "production-frontend"], env=env)
    assert_clean(out)
    assert out.code == 0
    assert "Root cause (1):" in out.stdout
    assert ('note: events not read: Error from server (Forbidden): events is forbidden: User "jane" '
            'cannot list resource "events" in API group "" in the namespace "flux-system" '
            "(explained without events)") in out.stdout
    doc = json.loads(invoke(["why", "production-frontend", "-o", "json"], env=env).stdout)
    assert doc["eventsRead"] is False


# ============================================================== objects from the cluster


def malformed_objects():
    """Objects a buggy admission chain or a hand-made CRD copy could hold."""
    return [
        source("GitRepository", FS),
        {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
         "metadata": {"name": "deps-not-a-list", "namespace": FS},
         "spec": {"dependsOn": "infra", "sourceRef": {"kind": "GitRepository", "name": FS}},
         "status": {"conditions": [{"type": "Ready"}]}},
        {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
         "metadata": {"name": "entry-without-name", "namespace": FS, "generation": "two"},
         "spec": {"dependsOn": [{"namespace": FS}, 42, None, {"name": ["x"]}],
                  "suspend": "yes", "sourceRef": "flux-system"},
         "status": {"observedGeneration": {"a": 1}, "conditions": [
             {"type": "Ready", "status": True, "message": "line one\nline two\n" + "x" * 5000,
              "lastTransitionTime": "yesterday"}, "not a condition", {"status": "False"}]}},
        {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
         "metadata": {"name": "ünïcødé-名前", "namespace": FS},
         "spec": {"chart": "not-a-dict", "dependsOn": [{"name": "deps-not-a-list"}]},
         "status": "broken"},
    ]


def test_malformed_objects_from_the_cluster(live):
    server, env = live(malformed_objects())
    for args in (["tree"], ["tree", "-o", "json"], ["tree", "-o", "table"], ["why"], ["check"],
                 ["why", "entry-without-name"]):
        out = invoke(args, env=env)
        assert_clean(out)
        assert out.code in (0, 1, 3), (args, out.stderr)
    out = invoke(["tree"], env=env)
    assert ("warning: Kustomization/flux-system/deps-not-a-list: spec.dependsOn is not a list: "
            "ignored") in out.stderr
    assert "spec.dependsOn[0] has no name: ignored" in out.stderr
    assert server.writes() == []


# ============================================================== --file and --path inputs


def test_invalid_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "snap.yaml"
    bad.write_text("apiVersion: v1\nkind: List\nitems:\n- a: b\n  c: [\n")
    out = invoke(["tree", "-f", bad])
    assert_error(out, 5, f"{bad}:6: invalid YAML: expected the node content, but found "
                         "'<stream end>'")


def test_invalid_json_names_file_and_line(tmp_path):
    bad = tmp_path / "snap.json"
    bad.write_text('{\n  "kind": "List",\n  "items": [,]\n}\n')
    out = invoke(["tree", "-f", bad])
    assert_clean(out)
    assert out.code == 5
    assert lines(out)[0].startswith(f"error: {bad}:3: invalid ")


@pytest.mark.parametrize("text,line", [
    ("apiVersion: v1\n{{- if .Values.enabled }}\nkind: List\n{{- end }}\n", 3),
    ("{% for ns in namespaces %}\nkind: Namespace\n{% endfor %}\n", 1),
])
def test_template_files(tmp_path, text, line):
    tpl = tmp_path / "release.yaml"
    tpl.write_text(text)
    out = invoke(["tree", "-f", tpl])
    assert_clean(out)
    assert out.code == 5
    message, hint = lines(out)
    assert message.startswith(f"error: {tpl}:{line}: invalid YAML: ")
    assert hint == ("hint: this looks like a Helm or Jinja template: render it first (helm "
                    "template, kustomize build, …) and pass the output")


def test_binary_file(tmp_path):
    binary = tmp_path / "snap.yaml"
    binary.write_bytes(bytes(range(256)) * 8)
    assert_error(invoke(["tree", "-f", binary]), 5, f"{binary}: not a text file (binary)")
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes(b"metadata:\n  name: caf\xe9\n")
    assert_error(invoke(["tree", "-f", latin]), 5, f"{latin}: not a text file (invalid UTF-8)")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    out = invoke(["tree", "-f", empty])
    assert_clean(out)
    assert out.code == 0
    assert lines(out) == [f"warning: {empty}: no objects"]
    assert out.stdout == f"no Flux Kustomizations or HelmReleases found in snapshot {empty}\n"


def test_unreadable_file(tmp_path, monkeypatch):
    locked = tmp_path / "locked.yaml"
    locked.write_text(EXAMPLE.read_text())
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        # root reads anything: refuse the read the way the kernel would for a user
        real_open = open

        def denying_open(path, *args, **kwargs):
            if str(path) == str(locked):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)
        monkeypatch.setattr(manifests, "open", denying_open, raising=False)
    out = invoke(["tree", "-f", locked])
    locked.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert_error(out, 5, f"{locked}: cannot read: Permission denied")


def test_file_is_a_directory_or_missing(tmp_path):
    assert_error(invoke(["tree", "-f", tmp_path]), 5, f"{tmp_path}: is a directory",
                 "use --path for a Git checkout")
    missing = tmp_path / "missing.yaml"
    assert_error(invoke(["tree", "-f", missing]), 5,
                 f"{missing}: cannot read: No such file or directory")
    assert_error(invoke(["tree", "--path", missing]), 5, f"{missing}: does not exist")


def test_symlink_loop(tmp_path):
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    out = invoke(["tree", "-f", tmp_path / "a.yaml"])
    assert_error(out, 5, f"{tmp_path / 'a.yaml'}: cannot read: Too many levels of symbolic links")
    # in a --path checkout: skipped with a warning, the rest is read
    (tmp_path / "ks.yaml").write_text(yaml.safe_dump(kustomization("apps")))
    out = invoke(["tree", "--path", tmp_path])
    assert_clean(out)
    assert out.code == 0 and "ks/flux-system/apps" in out.stdout


def test_enormous_file(tmp_path, monkeypatch):
    monkeypatch.setattr(manifests, "MAX_SNAPSHOT_BYTES", 1_000_000)
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * 200_000)
    out = invoke(["tree", "-f", big])
    assert_error(out, 5, f"{big}: larger than 0 MB: refused",
                 "save only the Flux kinds: kubectl get ks,hr,gitrepo,ocirepo,helmrepo,hc,bucket "
                 "-A -o json > snapshot.json")
    out = invoke(["tree", "-f", "-"], input="# padding\n" * 200_000)
    assert out.code == 5 and lines(out)[0] == "error: <stdin>: larger than 0 MB: refused"


def test_enormous_stream_is_read_bounded(tmp_path):
    """A pipe that never ends (/dev/zero) is refused after the size limit, not read forever."""
    assert manifests.MAX_SNAPSHOT_BYTES <= 512 * 2**20
    from kubectl_depgraph.errors import InputError
    with open("/dev/zero", "rb") as fh:
        head = fh.read(manifests.MAX_SNAPSHOT_BYTES + 1)
    with pytest.raises(InputError, match="larger than"):
        manifests.decode_snapshot(head, "/dev/zero")


def test_pipe_input_works(tmp_path):
    """-f <(kubectl get …) hands us a pipe, not a regular file."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(EXAMPLE.read_text()), daemon=True)
    writer.start()
    out = invoke(["tree", "-f", fifo])
    writer.join(5)
    assert_clean(out)
    assert out.code == 0 and "production-frontend" in out.stdout


BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
                  for i in range(8)))


def test_alias_bomb_refused_fast_with_bounded_memory(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    tracemalloc.start()
    started = time.monotonic()
    out = invoke(["tree", "-f", bomb])
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert_error(out, 5, f"{bomb}:1: refused: alias expansion exceeds 100000 nodes (YAML alias bomb?)")
    assert elapsed < 5
    assert peak < 50 * 2**20
    # in a --path checkout: a warning, the file skipped
    (tmp_path / "ks.yaml").write_text(yaml.safe_dump(kustomization("apps")))
    out = invoke(["tree", "--path", tmp_path])
    assert out.code == 0 and "bomb.yaml:1: refused: alias expansion exceeds" in out.stderr


def test_snapshot_without_flux_objects(tmp_path):
    cms = tmp_path / "cms.yaml"
    cms.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
                   "apiVersion: v1\nkind: Secret\nmetadata: {name: b}\n")
    out = invoke(["tree", "-f", cms])
    assert_clean(out)
    assert out.code == 0
    assert lines(out) == [f"warning: snapshot {cms}: no Flux objects among 2 objects "
                          "(ConfigMap, Secret)"]
    assert out.stdout == f"no Flux Kustomizations or HelmReleases found in snapshot {cms}\n"


def test_broken_files_in_a_checkout_are_warnings(tmp_path):
    (tmp_path / "ks.yaml").write_text(yaml.safe_dump(kustomization("apps")))
    (tmp_path / "bad.yaml").write_text("a: [\n")
    (tmp_path / "bin.yaml").write_bytes(b"\0\1\2")
    (tmp_path / "empty.yaml").write_text("")                   # applies nothing: no warning
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "settings.json").write_text('{\n  // editor settings\n  "a": 1\n}\n')
    (tmp_path / "tpl.yaml").write_text("{{ .Values.x }}: [\n")
    out = invoke(["tree", "--path", tmp_path])
    assert_clean(out)
    assert out.code == 0 and "ks/flux-system/apps" in out.stdout
    assert lines(out) == [
        "warning: bad.yaml:2: invalid YAML: expected the node content, but found '<stream end>': "
        "skipped",
        "warning: bin.yaml: binary file: skipped",
        "warning: tpl.yaml:2: invalid YAML: expected the node content, but found '<stream end>' "
        "(templated file: skipped)"]


# ============================================================== names given by the user


def test_names_that_look_like_flags(live):
    server, env = live()
    out = invoke(["tree", "-x"], env=env)
    assert_clean(out)
    assert out.code == 2 and "Error: No such option '-x'." in out.stderr
    for name in ("-x", "--", "--all-namespaces"):
        out = invoke(["tree", "--", name], env=env)
        assert_error(out, 2, f"no Flux object matches {name!r}",
                     "run 'kubectl depgraph tree' to list the objects")
    assert server.writes() == []


@pytest.mark.parametrize("name", ["/apps", "apps/", "a//b", "ks/apps/x/y", "/"])
def test_names_with_odd_slashes(live, name):
    _, env = live()
    out = invoke(["tree", name], env=env)
    assert_error(out, 2, f"invalid object name {name!r}",
                 "use name, ns/name, kind/name or kind/ns/name")


def test_names_that_match_nothing(live):
    _, env = live()
    out = invoke(["why", "production-fronted"], env=env)
    assert_error(out, 2, "no Flux object matches 'production-fronted'",
                 "did you mean production-frontend?")
    out = invoke(["tree", "flux-system/production-backnd"], env=env)
    assert_error(out, 2, "no Flux object matches 'flux-system/production-backnd'",
                 "did you mean flux-system/production-backend?")
    out = invoke(["tree", "deployment/apps/web"], env=env)
    assert_error(out, 2, "unknown kind 'deployment' in 'deployment/apps/web'",
                 "kinds: ks, hr, gitrepo, ocirepo, helmrepo, hc, bucket, rset, tf, or a kind a dependency names")


def test_tree_on_a_source_name():
    out = invoke(["tree", "gitrepo/flux-system", "-f", EXAMPLE])
    assert_error(out, 2, "gitrepo/flux-system/flux-system is a source; tree starts from "
                         "Kustomizations and HelmReleases",
                 "tree --sources shows the source of each object")


def test_names_the_terminal_cannot_encode(tmp_path):
    """A lone surrogate (a hand-edited JSON escape) or a name outside the terminal's
    encoding is replaced, never a UnicodeEncodeError."""
    snap = tmp_path / "snap.yaml"
    snap.write_text('apiVersion: v1\nkind: List\nitems:\n- apiVersion: kustomize.toolkit.fluxcd.io/v1'
                    '\n  kind: Kustomization\n  metadata: {name: "caf\\u00e9-\\ud800", namespace: x}\n')
    out = invoke(["tree", "-f", snap])
    assert_clean(out)
    assert out.code == 0 and "ks/x/café-?" in out.stdout


# ============================================================== read-only commands write nothing


@pytest.mark.parametrize("args", [
    ["tree"], ["tree", "-o", "json"], ["why"], ["why", "production-frontend"], ["check"],
    ["reconcile", "--dry-run"], ["reconcile", "--dry-run", "--no-flux"],
])
def test_read_only_commands_make_no_write_requests(live, args):
    server, env = live()
    out = invoke(args, env=env)
    assert_clean(out)
    assert out.code in (0, 1), out.stderr
    assert server.writes() == []
    assert {r.method for r in server.requests} <= {"GET"}


# ============================================================== security


def test_every_subprocess_gets_an_argv_list(live, monkeypatch):
    """runner.run is the only way out, always with a list; object names travel as
    resource/name or behind a flag, never where kubectl could read them as options."""
    calls = []
    real_command = runner.sh.Command

    class Recorder:
        def __init__(self, path):
            self.cmd = real_command(path)
            self.path = path

        def __call__(self, *args, **kwargs):
            calls.append((self.path, args))
            return self.cmd(*args, **kwargs)
    monkeypatch.setattr(runner.sh, "Command", Recorder)
    real_run = runner.run
    argvs = []

    def recording_run(argv, *a, **kw):
        argvs.append(argv)
        return real_run(argv, *a, **kw)
    monkeypatch.setattr(runner, "run", recording_run)
    objs = [source("GitRepository", FS),
            kustomization("--all-namespaces", depends_on=["-n"]), kustomization("-n")]
    server, env = live(objs, controller=True, controller_options={"delay": 0.05})
    for args in (["tree"], ["why", "--", "--all-namespaces"], ["check"],
                 ["reconcile", "--no-flux", "--timeout", "3s", "--", "-n"]):
        out = invoke(args, env=env)
        assert_clean(out)
    assert argvs and all(isinstance(a, list) for a in argvs)
    assert calls and all(all(isinstance(x, str) for x in args) for _, args in calls)
    flags = {"-n", "-A", "-o", "--overwrite", "--field-selector", "--raw", "--minify",
             "--port=0", "--address=127.0.0.1"}   # the last two: reconcile's kubectl proxy
    for _, args in calls:
        for i, arg in enumerate(args):
            # every option is ours; a name that looks like one only sits in resource/name
            if arg.startswith("-") and args[i - 1] not in ("-n", "-o", "--field-selector"):
                assert arg in flags or arg.startswith(("--kubeconfig=", "--context=",
                                                       "--request-timeout=")), args
    # The request for "-n": a kubectl annotate with the name in resource/name, or (through
    # reconcile's kubectl proxy) a PATCH with the name in the URL path.
    annotates = [args for _, args in calls if "annotate" in args]
    assert any("kustomizations.kustomize.toolkit.fluxcd.io/-n" in args for args in annotates) or \
        [w for w in server.writes() if w.method == "PATCH" and w.path.endswith("/kustomizations/-n")], \
        "reconcile should have requested the reconcile of -n"
    with pytest.raises(TypeError):
        runner.run("kubectl get ks -A")


def test_no_credentials_in_errors_or_debug_logs(live):
    server, env = live()
    token = "test-token-jane"
    assert token in Path(env["KUBECONFIG"]).read_text()
    outputs = []
    for fault in ("unauthorized", "error", "garbage", "forbidden"):
        server.clear_faults()
        server.add_fault(".*kustomizations", fault)
        outputs.append(invoke(["tree", "--debug"], env=env))
    server.clear_faults()
    outputs.append(invoke(["tree", "--debug", "--context", "unreachable"], env=env))
    outputs.append(invoke(["why", "--debug", "production-frontend"], env=env))
    outputs.append(invoke(["reconcile", "--debug", "--dry-run"], env=env))
    for out in outputs:
        assert token not in out.stdout + out.stderr
        assert "debug: running: " in out.stderr


def test_secrets_printed_by_kubectl_are_redacted(live, tmp_path):
    """Whatever kubectl (or a wrapper, an exec credential plugin) prints, our messages and
    the --debug log never repeat a token."""
    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\n"
                    "echo 'I1122 round_trippers.go:473] Authorization: Bearer test-token-jane' >&2\n"
                    "echo 'error: token: test-token-jane password=hunter2 "
                    "https://jane:hunter2@example.com rejected' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    _, env = live()
    debug = invoke(["tree", "--debug", "--kubectl", fake], env=env)
    assert debug.code == 4 and "debug: exit 1: " in debug.stderr
    assert "test-token-jane" not in debug.stderr and "hunter2" not in debug.stderr
    out = invoke(["tree", "--kubectl", fake], env=env)
    assert_clean(out)
    assert "test-token-jane" not in out.stderr and "hunter2" not in out.stderr
    assert lines(out) == [
        "error: kubectl failed: token: <redacted> password=<redacted> "
        "https://jane:<redacted>@example.com rejected",
        "hint: rerun with --debug to see the command"]


def test_unexpected_exception_is_one_line(monkeypatch, tmp_path):
    """A bug is still one line, with its own exit code (70); the traceback only with --debug."""
    from kubectl_depgraph import acquire

    def boom(*a, **kw):
        raise KeyError("surprise")
    monkeypatch.setattr(acquire, "parse_all", boom)
    out = invoke(["tree", "-f", EXAMPLE])
    assert out.code == 70
    assert lines(out) == ["error: internal error: KeyError: 'surprise'",
                          "hint: this is a bug in kubectl-depgraph; rerun with --debug and "
                          "report the traceback"]
    out = invoke(["tree", "-f", EXAMPLE, "--debug"])
    assert out.code == 70 and "Traceback" in out.stderr


def test_interrupted_is_130(monkeypatch):
    from kubectl_depgraph import acquire

    def interrupt(*a, **kw):
        raise KeyboardInterrupt
    monkeypatch.setattr(acquire, "parse_all", interrupt)
    out = invoke(["tree", "-f", EXAMPLE])
    assert out.code == 130 and lines(out)[-1] == "interrupted"


def test_subprocess_entry_point_has_no_traceback(tmp_path):
    """The real process, real exit code: one line, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "kubectl_depgraph", "tree", "--kubectl",
                           str(tmp_path / "nope")], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 4
    assert proc.stderr.splitlines()[0] == \
        f"error: kubectl not found: '{tmp_path / 'nope'}' is not an executable on PATH"
    assert "Traceback" not in proc.stderr


# ============================================================== reconcile under faults


def ks(name, delay=0.1, **kw):
    annotations = {TEST_DELAY: str(delay), **kw.pop("annotations", {})}
    return kustomization(name, annotations=annotations, **kw)


def git():
    return source("GitRepository", FS, annotations={TEST_DELAY: "0.1"})


@pytest.fixture
def controlled(apiserver, kube_env):
    """controlled(objects) -> (server, env) with the simulated Flux controllers running."""
    def start(objects, **server_options):
        server = apiserver(objects, controller=True,
                           controller_options={"delay": 0.05, "requeue_interval": 0.5},
                           **server_options)
        return server, kube_env(server)
    return start


summary = summary_rows   # {object: (result, message)} from the summary table on stdout


def reconcile(env, *args):
    return invoke(["reconcile", "--no-flux", *args], env=env)


def test_reconcile_patch_forbidden_for_one_object(controlled):
    """That object fails with the API server's message; the others go on."""
    server, env = controlled([git(), ks("a"), ks("b", namespace="team-b"),
                              ks("c", depends_on=[{"name": "a", "namespace": FS}])])
    server.forbid.append(Forbid(["patch"], "kustomizations", namespaces=["team-b"]))
    out = reconcile(env, "--timeout", "10s")
    assert_clean(out)
    assert out.code == 1
    rows = summary(out)
    # the table cuts messages to 80 characters (render/reconcile.py)
    assert rows["Kustomization/team-b/b"][0] == "failed"
    assert rows["Kustomization/team-b/b"][1].startswith(
        'annotate failed: forbidden: kustomizations.kustomize.toolkit.fluxcd.io "b" is f')
    assert rows["Kustomization/flux-system/a"][0] == "ready"
    assert rows["Kustomization/flux-system/c"][0] == "ready"


def test_reconcile_object_deleted_midway(controlled):
    server, env = controlled([git(), ks("slow", delay=2), ks("after", depends_on=["slow"])])
    server.controller.on_request("Kustomization", FS, "slow",
                                 lambda: server.delete_object("Kustomization", FS, "slow"))
    out = reconcile(env, "--timeout", "10s")
    assert_clean(out)
    assert out.code == 1
    assert summary(out)["Kustomization/flux-system/slow"] == ("failed", "object not found")
    assert summary(out)["Kustomization/flux-system/after"] == (
        "skipped", "dependency Kustomization/flux-system/slow failed")


def test_reconcile_object_suspended_midway(controlled):
    server, env = controlled([git(), ks("slow", delay=2), ks("after", depends_on=["slow"])])

    def suspend(obj):
        obj["spec"]["suspend"] = True
    # Suspended while the controller handles depgraph's request (not on a timer that can
    # fire before the request under load): the request ends with a suspended object.
    server.controller.on_request("Kustomization", FS, "slow",
                                 lambda: server.update_status("Kustomization", FS, "slow", suspend))
    out = reconcile(env, "--timeout", "10s")
    assert_clean(out)
    assert out.code == 1
    assert summary(out)["Kustomization/flux-system/slow"][0::1][0] == "failed"
    assert summary(out)["Kustomization/flux-system/slow"][1] == "resource is suspended"
    assert summary(out)["Kustomization/flux-system/after"][0] == "skipped"


def test_reconcile_object_edited_midway(controlled):
    """A new generation while waiting: done only when the controller has observed it."""
    server, env = controlled([git(), ks("slow", delay=2), ks("after", depends_on=["slow"])])

    def edit(obj):
        obj["metadata"]["generation"] += 1
        obj["spec"]["path"] = "./changed"
    server.controller.on_request("Kustomization", FS, "slow",
                                 lambda: server.update_status("Kustomization", FS, "slow", edit))
    out = reconcile(env, "--timeout", "15s")
    assert_clean(out)
    assert out.code == 0, out.stdout
    final = server.get_object("Kustomization", FS, "slow")
    assert final["status"]["observedGeneration"] == final["metadata"]["generation"] == 2


def test_reconcile_controller_never_handles(controlled):
    server, env = controlled([git(), ks("stuck", annotations={TEST_OUTCOME: "never"}),
                              ks("after", depends_on=["stuck"])])
    started = time.monotonic()
    out = reconcile(env, "--timeout", "1s")
    assert time.monotonic() - started < 10
    assert_clean(out)
    assert out.code == 1
    assert summary(out)["Kustomization/flux-system/stuck"] == (
        "failed", "timed out after 1.0s (waiting for the controller to handle the request)")


def test_reconcile_api_errors_for_a_while(controlled):
    """Polling errors are retried: a warning, then the object finishes."""
    server, env = controlled([git(), ks("slow", delay=1.0)])
    # The reads fail once the request is being handled (a timer could fire during the
    # graph read under load, which is another test: a failed read is exit 4).
    server.controller.on_request("Kustomization", FS, "slow", lambda: server.fail_next(
        3, "error", pattern=r"/kustomizations(\?|$)", methods=["GET"]))
    out = reconcile(env, "--timeout", "15s")
    assert_clean(out)
    assert out.code == 0, out.stdout + out.stderr
    assert summary(out)["Kustomization/flux-system/slow"][0] == "ready"


def test_reconcile_api_errors_until_the_timeout(controlled):
    """The API server fails every read while the controller never answers: the object
    fails at --timeout, nothing hangs."""
    server, env = controlled([git(), ks("slow", annotations={TEST_OUTCOME: "never"})])
    # From the request on (a timer could fire during the graph read under load).
    server.controller.on_request("Kustomization", FS, "slow", lambda: server.add_fault(
        r"/kustomizations(\?|$)", "error", methods=["GET"]))
    started = time.monotonic()
    out = reconcile(env, "--timeout", "3s")
    assert time.monotonic() - started < 15
    assert_clean(out)
    assert out.code == 1
    result, message = summary(out)["Kustomization/flux-system/slow"]
    assert result == "failed" and message.startswith("timed out after 3.0s")


def _interrupt(env, args, after, started=lambda: True):
    """Run the program, wait until started() (at most 20 s) and `after` seconds more, then
    press Ctrl-C."""
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_depgraph", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 20
    while not started() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(after)
    os.killpg(proc.pid, 2)      # Ctrl-C reaches the whole foreground process group
    started = time.monotonic()
    stdout, stderr = proc.communicate(timeout=30)
    return proc.returncode, stdout, stderr, time.monotonic() - started


def test_ctrl_c_while_reading(live):
    server, env = live()
    server.add_fault("/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations", "hang", seconds=60)
    code, stdout, stderr, took = _interrupt(env, ["tree"], 1.5)
    assert (code, stdout) == (130, "")
    assert stderr.strip().splitlines()[-1] == "interrupted" and "Traceback" not in stderr
    assert took < 5


@pytest.mark.parametrize("after", [0.0, 1.0])
def test_ctrl_c_while_reconciling(controlled, after):
    """Summary printed, exit 130; only the requestedAt annotations were written."""
    server, env = controlled([git(), ks("slow", delay=30), ks("after", depends_on=["slow"])])
    code, stdout, stderr, took = _interrupt(env, ["reconcile", "--no-flux"], after,
                                            started=lambda: bool(server.writes()))
    assert code == 130 and took < 5
    assert "Traceback" not in stderr
    assert "interrupted" in stdout.splitlines()[-1]
    assert summary(Outcome(code, stdout, stderr))["Kustomization/flux-system/after"] == (
        "skipped", "not started: interrupted")
    for write in server.writes():
        assert write.method == "PATCH"
        assert list(write.body) == ["metadata"] and \
            list(write.body["metadata"]) == ["annotations"] and \
            list(write.body["metadata"]["annotations"]) == ["reconcile.fluxcd.io/requestedAt"]
