"""-o html: the layered layout (DepGraph.layers), a golden page for a small graph, and the page
loaded in headless Chromium (Debian's `chromium`): node count, fills per state, the details
panel and its why text for #select=…, no JS error, on the three inputs and a 300-node fleet.

python -m pytest --update-golden also rewrites docs/html-production.png (the README's picture)."""

import os
import random
import re
import shutil
import subprocess
import time
from html import unescape
from pathlib import Path

import pytest
import yaml

from bench.fleet import fleet
from kubectl_depgraph.graph import DepGraph
from kubectl_depgraph.judge.status import classify
from kubectl_depgraph.model import parse_object
from kubectl_depgraph.render import Context, render
from kubectl_depgraph.render.html import render_html
from kubectl_depgraph.render.style import FILL
from tests.builders import graph_of, ks
from tests.clirun import invoke
from tests.conftest import EXAMPLE, NOW, SHARED_ABSENT, SHARED_EXAMPLES
from tests.test_render import NOW as AT, zoo

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "html-production.png"
INSTALL = "apt-get update && apt-get install -y chromium"


# --------------------------------------------------------------------------- layout


def test_layers_put_roots_first_and_dependencies_in_earlier_rows():
    g = graph_of(*zoo())
    rows = g.layers()
    row_of = {ref: i for i, row in enumerate(rows) for ref in row}
    assert sorted(row_of) == g.nodes
    on_cycle = {r for edge in g.cycle_edges() for r in edge}
    assert set(g.roots()) <= set(rows[0]) <= set(g.roots()) | on_cycle
    for a, b in g.edges():
        if (a, b) in g.cycle_edges():
            assert row_of[a] == row_of[b]          # a cycle's members share a row
        else:
            assert row_of[b] < row_of[a], (a, b)
    assert {r.name for r in on_cycle} == {"a", "b"}


def test_barycenter_sweeps_uncross_two_chains():
    # Sorted by name the second row would cross both edges; the sweeps straighten them.
    g = graph_of(ks("a"), ks("b"), ks("x", deps=["b"]), ks("y", deps=["a"]))
    top, below = g.layers()
    assert ([r.name for r in top], [r.name for r in below]) == (["a", "b"], ["y", "x"])


# --------------------------------------------------------------------------- golden


def test_html_golden(golden):
    golden.check("render/graph.html", render_html(graph_of(*zoo()), "test", now=AT))


def test_html_is_deterministic_under_shuffled_input():
    manifests = zoo()
    expected = render_html(graph_of(*manifests), "test", now=AT)
    for seed in range(3):
        random.Random(seed).shuffle(manifests)
        assert render_html(graph_of(*manifests), "test", now=AT) == expected


def test_html_is_registered_for_the_tree_command():
    page = render("graph", "html", graph_of(ks("a")), Context(description="x"))
    assert page.startswith("<!DOCTYPE html>") and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")   # nothing fetched from the network


def test_embedded_data_cannot_close_the_script():
    page = render_html(graph_of(ks("a", ready="False", message="</script><b>x</b>")), now=AT)
    assert page.count("</script>") == 3     # the error hook, the data, the script


# --------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def chromium():
    found = shutil.which("chromium")
    if not found:
        pytest.fail(f"chromium is not installed; the -o html tests need it. To fix, run: {INSTALL}",
                    pytrace=False)
    return found


def _chromium_run(binary, tmp_path, url, *options):
    argv = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", *options, url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def browse(binary, tmp_path, page, select=None, screenshot=None):
    """The page's DOM after its script ran (or a screenshot of it), opened as a file:// URL
    with #select=<ref> when asked."""
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    url = path.as_uri() + (f"#select={select}" if select else "")
    if screenshot:
        _chromium_run(binary, tmp_path, url, f"--screenshot={screenshot}", "--window-size=1400,1000")
        return None
    dom = _chromium_run(binary, tmp_path, url, "--dump-dom")
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert "data-error" not in body, unescape(body)
    assert 'data-ready="1"' in body, "the page's script did not finish"
    return dom


def nodes_in(dom):
    """{ref: (state, fill)} of the drawn nodes."""
    found = re.findall(r'<g class="node[^"]*" id="n\d+" data-ref="([^"]+)" data-state="([^"]+)"'
                       r'[^>]*>.*?<rect class="box"[^>]*fill="([^"]+)"', dom)
    return {unescape(ref): (unescape(state), fill) for ref, state, fill in found}


def details(dom):
    panel = re.search(r'<aside id="details"([^>]*)>(.*?)</aside>', dom, re.S)
    fields = {k: unescape(v) for k, v in re.findall(r'<dd data-field="([^"]+)">([^<]*)</dd>', panel.group(2))}
    why = re.search(r'<pre id="why">(.*?)</pre>', panel.group(2), re.S)
    selected = re.search(r'data-selected="([^"]*)"', panel.group(1))
    return (unescape(selected.group(1)) if selected else None), fields, unescape(why.group(1)) if why else ""


def _tree_html(tmp_path, *args):
    out = invoke(["tree", *args, "-o", "html"], env=NOW)
    assert out.code == 0, out.stderr
    return out.stdout


def test_production_snapshot_in_chromium(chromium, tmp_path, request, monkeypatch):
    monkeypatch.chdir(ROOT)   # the page names the input as the user typed it
    page = _tree_html(tmp_path, "-f", EXAMPLE.relative_to(ROOT))
    target = "Kustomization/flux-system/production-frontend"
    dom = browse(chromium, tmp_path, page, select=target)
    drawn = nodes_in(dom)
    graph = DepGraph.from_objects([o for o in map(parse_object, yaml.safe_load(EXAMPLE.read_text())["items"]) if o])
    assert sorted(drawn) == [str(r) for r in graph.nodes] and len(drawn) == 8
    for ref in graph.nodes:
        state = classify(graph.obj(ref)).state.value
        assert drawn[str(ref)] == (state, FILL[state])
    assert {s for s, _ in drawn.values()} == {"ready", "waiting", "failed", "suspended"}
    selected, fields, why = details(dom)
    assert selected == target
    assert fields["status"] == "waiting" and fields["reason"] == "DependencyNotReady"
    assert fields["file"] == "examples/production.yaml:97"
    assert fields["path"] == "./production/frontend"
    assert why.startswith("◎ Kustomization/flux-system/production-frontend is not ready")
    assert "Root cause (1):" in why and "ks/flux-system/production-infrastructure  health check failed" in why
    assert "\x1b[" not in why
    shot = tmp_path / "production.png"
    browse(chromium, tmp_path, page, select=target, screenshot=shot)
    assert shot.stat().st_size > 10_000
    if request.config.getoption("--update-golden"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_ready_or_unknown_selection_has_no_why(chromium, tmp_path):
    page = _tree_html(tmp_path, "-f", EXAMPLE)
    selected, fields, why = details(browse(chromium, tmp_path, page, select="HelmRelease/apps/redis"))
    assert selected == "HelmRelease/apps/redis" and fields["status"] == "ready" and why == ""
    selected, _, _ = details(browse(chromium, tmp_path, page, select="Kustomization/nowhere/none"))
    assert selected is None


# Drives the page's own handlers with DOM events after its script ran (no click driver).
INTERACT = """<script>
(function () {
  var search = document.getElementById("search");
  search.value = "production-back"; search.dispatchEvent(new Event("input"));
  var box = document.querySelector('#namespaces input[value="apps"]');
  box.checked = false; box.dispatchEvent(new Event("change"));
  var svg = document.getElementById("graph"), before = svg.getAttribute("viewBox");
  svg.dispatchEvent(new WheelEvent("wheel", {deltaY: -300, clientX: 600, clientY: 400, bubbles: true,
                                             cancelable: true}));
  document.body.setAttribute("data-zoomed", String(svg.getAttribute("viewBox") !== before));
  document.querySelector('.node[data-ref="Kustomization/flux-system/production-config"]')
    .dispatchEvent(new MouseEvent("click", {bubbles: true}));
})();
</script>
</body>"""


def test_search_namespaces_zoom_and_click_in_chromium(chromium, tmp_path):
    page = _tree_html(tmp_path, "-f", EXAMPLE).replace("</body>", INTERACT)
    dom = browse(chromium, tmp_path, page)
    classes = {unescape(ref): set(cls.split()) for cls, ref in
               re.findall(r'<g class="([^"]*)" id="n\d+" data-ref="([^"]+)"', dom)}
    assert "dim" not in classes["Kustomization/flux-system/production-backend"]
    assert "dim" in classes["Kustomization/flux-system/production-frontend"]
    assert all("hidden" in c for ref, c in classes.items() if ref.split("/")[1] == "apps")
    assert not any("hidden" in c for ref, c in classes.items() if ref.split("/")[1] != "apps")
    assert '<span id="shown" class="counts">1 match</span>' in dom
    assert 'data-zoomed="true"' in dom
    assert details(dom)[0] == "Kustomization/flux-system/production-config"


def test_missing_and_cycle_nodes_in_chromium(chromium, tmp_path):
    dom = browse(chromium, tmp_path, render_html(graph_of(*zoo()), "test", now=AT),
                 select="Kustomization/flux-system/redis")
    assert re.search(r'<g class="node missing[^"]*" id="n\d+" data-ref="Kustomization/flux-system/redis"', dom)
    assert len(re.findall(r'<g class="node cycle"', dom)) == 2
    assert len(re.findall(r'<path class="edge[^"]*\bcycle\b[^"]*" data-from', dom)) == 2
    selected, fields, _ = details(dom)
    assert fields["status"] == "missing" and "a HelmRelease of that name exists" in fields["message"]


def test_live_input_in_chromium(chromium, tmp_path, live):
    server, env = live()
    out = invoke(["tree", "-o", "html"], env=env)
    assert out.code == 0, out.stderr
    selected, fields, why = details(browse(chromium, tmp_path, out.stdout,
                                           select="Kustomization/flux-system/production-backend"))
    assert fields["status"] == "waiting" and "Root cause (1):" in why


def test_fleet_of_300_renders_and_loads(chromium, tmp_path):
    objects = [o for o in (parse_object(m) for m in fleet(300)) if o is not None]
    graph = DepGraph.from_objects(objects)
    started = time.perf_counter()
    page = render_html(graph, "fleet", now=AT)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{elapsed:.1f}s to render 300 nodes"
    dom = browse(chromium, tmp_path, page, select=str(graph.nodes[0]))
    assert len(nodes_in(dom)) == len(graph) >= 300
    assert re.search(r'<svg id="graph"[^>]*class="dense\b', dom)


@pytest.mark.skipif(not SHARED_EXAMPLES.exists() and not os.environ.get("CI"), reason=SHARED_ABSENT)
def test_largest_shared_repository_from_path(chromium, tmp_path):
    repo = SHARED_EXAMPLES / "bjw-s-labs__home-ops"
    out = invoke(["tree", "--path", repo, "-o", "html"], env=NOW)
    assert out.code == 0, out.stderr
    drawn_count = int(re.search(r'data-nodes="(\d+)"', out.stdout).group(1))
    target = "Kustomization/observability/kube-prometheus-stack"
    dom = browse(chromium, tmp_path, out.stdout, select=target)
    drawn = nodes_in(dom)
    assert len(drawn) == drawn_count >= 150
    assert {s for s, _ in drawn.values()} <= {"no status", "missing"}
    selected, fields, why = details(dom)
    assert selected == target and fields["file"].endswith(".yaml:" + fields["file"].rsplit(":", 1)[1])
    assert why == ""     # Git manifests carry no status: nothing to explain
