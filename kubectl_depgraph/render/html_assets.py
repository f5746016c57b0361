"""The stylesheet and script that -o html inlines (no network, no CDN): constants, so that
render/html.py reads as the layout and the page's markup."""

CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; font: 13px/1.4 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: #212121; }
body { display: grid; grid-template-columns: 240px 1fr 460px; grid-template-rows: auto 1fr; height: 100vh; }
header { grid-column: 1 / 4; padding: 8px 12px; border-bottom: 1px solid #ddd; display: flex; gap: 16px;
  align-items: center; background: #fafafa; }
header h1 { font-size: 15px; margin: 0; font-weight: 600; }
header .counts { color: #616161; }
header input { margin-left: auto; width: 260px; padding: 4px 8px; border: 1px solid #bbb; border-radius: 4px; }
header button { padding: 3px 10px; border: 1px solid #bbb; border-radius: 4px; background: #fff; cursor: pointer; }
#side { overflow: auto; border-right: 1px solid #ddd; padding: 8px 10px; }
#side h2, #details h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: #757575;
  margin: 10px 0 4px; }
#side label { display: flex; align-items: center; gap: 6px; white-space: nowrap; cursor: pointer; }
#side label .n { margin-left: auto; color: #9e9e9e; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #9e9e9e; border-radius: 2px;
  flex: none; }
.legend-row { display: flex; align-items: center; gap: 6px; }
.legend-row svg { flex: none; }
#canvas { overflow: hidden; position: relative; background: #fff; }
#canvas svg { width: 100%; height: 100%; display: block; cursor: grab; user-select: none; }
#canvas svg.dragging { cursor: grabbing; }
#details { overflow: auto; border-left: 1px solid #ddd; padding: 8px 12px; }
#side ul { padding-left: 16px; margin: 4px 0; word-break: break-word; color: #616161; }
#details dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; }
#details dt { color: #757575; }
#details dd { margin: 0; word-break: break-word; }
#details pre { white-space: pre-wrap; word-break: break-word; background: #f5f5f5; padding: 8px;
  border-radius: 4px; font: 11px/1.35 ui-monospace, Menlo, Consolas, monospace; }
#details a { color: #1565c0; cursor: pointer; text-decoration: none; display: block; }
#details .hint { color: #9e9e9e; }
.layer-band { fill: #f7f7f7; }
.layer-label { fill: #bdbdbd; font-size: 12px; }
.node { cursor: pointer; }
.node rect.box { stroke: #757575; stroke-width: 1; }
.node.missing rect.box { stroke: #d32f2f; stroke-dasharray: 5 4; stroke-width: 1.5; }
.node.cycle rect.box { stroke: #d32f2f; stroke-width: 3; }
.node.selected rect.box { stroke: #0d47a1; stroke-width: 3.5; }
.node text { font-size: 12px; fill: #212121; pointer-events: none; }
.node text.sub { font-size: 10.5px; fill: #616161; }
.edge { fill: none; stroke: #9e9e9e; stroke-width: 1.2; }
.edge.cross { stroke: #1e88e5; stroke-dasharray: 6 4; }
.edge.to-missing { stroke: #d32f2f; stroke-dasharray: 2 3; }
.edge.cycle { stroke: #d32f2f; stroke-width: 2.2; stroke-dasharray: none; }
svg.dense .edge { opacity: .35; }
svg.dense.focus .edge { opacity: .12; }
svg .edge.hl { stroke-width: 2.6; opacity: 1; }
.dim { opacity: .15; }
.hidden { display: none; }
"""

# First in <body>, apart from the main script: it also reports that script's syntax errors.
ERROR_HOOK = """window.onerror = function (msg, src, line) {
  document.body.setAttribute("data-error", String(msg) + (line ? " (line " + line + ")" : ""));
};"""

# select() is the one entry point for a selection: a click, the search box (Enter) and the
# URL hash #select=Kind/ns/name all call it, so the page is testable without a click driver.
JS = r"""
(function () {
  "use strict";
  var body = document.body;
  var data = JSON.parse(document.getElementById("depgraph-data").textContent);
  var svg = document.getElementById("graph");
  var byRef = {}, byId = {}, hiddenNs = {};
  data.nodes.forEach(function (n) { byRef[n.ref] = n; byId[n.id] = n; });
  var nodeEls = {}, edgeEls = Array.prototype.slice.call(svg.querySelectorAll(".edge"));
  Array.prototype.forEach.call(svg.querySelectorAll(".node"), function (el) { nodeEls[el.id] = el; });
  var selected = null;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function links(dl, title, ids) {
    if (!ids.length) return;
    dl.appendChild(el("dt", title));
    var dd = el("dd");
    ids.forEach(function (id) {
      var a = el("a", byId[id].short);
      a.setAttribute("data-ref", byId[id].ref);
      a.onclick = function () { select(byId[id].ref, true); };
      dd.appendChild(a);
    });
    dl.appendChild(dd);
  }

  function select(ref, center) {
    var n = byRef[ref];
    if (!n) { return false; }
    if (selected) nodeEls[selected.id].classList.remove("selected");
    edgeEls.forEach(function (e) { e.classList.remove("hl"); });
    selected = n;
    svg.classList.add("focus");
    nodeEls[n.id].classList.add("selected");
    edgeEls.forEach(function (e) {
      if (e.getAttribute("data-from") === n.id || e.getAttribute("data-to") === n.id) e.classList.add("hl");
    });
    var panel = document.getElementById("details");
    panel.textContent = "";
    panel.setAttribute("data-selected", n.ref);
    panel.appendChild(el("h2", "Selected"));
    var dl = el("dl");
    [["kind", n.kind], ["namespace", n.ns], ["name", n.name], ["status", n.state], ["reason", n.reason],
     ["message", n.message], ["since", n.since], ["source", n.source], ["revision", n.revision],
     ["path", n.path], ["file", n.origin]].forEach(function (kv) {
      if (!kv[1]) return;
      dl.appendChild(el("dt", kv[0]));
      var dd = el("dd", kv[1]);
      dd.setAttribute("data-field", kv[0]);
      dl.appendChild(dd);
    });
    links(dl, "depends on", n.deps);
    links(dl, "dependents", n.dependents);
    panel.appendChild(dl);
    if (n.why) {
      panel.appendChild(el("h2", "Why"));
      var pre = el("pre", n.why);
      pre.id = "why";
      panel.appendChild(pre);
    }
    if (center) centre(nodeEls[n.id]);
    return true;
  }
  window.select = select;

  // --- pan and zoom on the viewBox
  var full = svg.viewBox.baseVal, vb = {x: full.x, y: full.y, w: full.width, h: full.height};
  var home = {x: vb.x, y: vb.y, w: vb.w, h: vb.h};
  function apply() { svg.setAttribute("viewBox", [vb.x, vb.y, vb.w, vb.h].join(" ")); }
  function scale() { var r = svg.getBoundingClientRect(); return Math.max(vb.w / r.width, vb.h / r.height); }
  function point(evt) {
    var p = svg.createSVGPoint(); p.x = evt.clientX; p.y = evt.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }
  function centre(g) {   // pan to the node when it is out of view (or nearly)
    var m = g.transform.baseVal.consolidate().matrix, r = svg.getBoundingClientRect(), s = scale();
    var b = g.getBBox(), cx = m.e + b.x + b.width / 2, cy = m.f + b.y + b.height / 2;
    var w = r.width * s, h = r.height * s;
    var x0 = vb.x + (vb.w - w) / 2, y0 = vb.y + (vb.h - h) / 2;   // what "meet" shows
    if (cx > x0 + 120 && cx < x0 + w - 120 && cy > y0 + 40 && cy < y0 + h - 40) return;
    vb.x = cx - vb.w / 2; vb.y = cy - vb.h / 2; apply();
  }
  // A big graph opens at a readable scale, its top rows in view; "Fit" shows all of it.
  (function () {
    var r = svg.getBoundingClientRect();
    if (!r.width || scale() <= 1.6) return;
    vb.w = r.width * 1.3; vb.h = r.height * 1.3; vb.x = home.x + (home.w - vb.w) / 2; vb.y = home.y; apply();
  })();
  svg.addEventListener("wheel", function (evt) {
    evt.preventDefault();
    var p = point(evt), f = Math.exp(evt.deltaY * 0.0015);
    vb = {x: p.x - (p.x - vb.x) * f, y: p.y - (p.y - vb.y) * f, w: vb.w * f, h: vb.h * f};
    apply();
  }, {passive: false});
  var drag = null, moved = false;
  svg.addEventListener("mousedown", function (evt) {
    drag = {x: evt.clientX, y: evt.clientY, vx: vb.x, vy: vb.y, s: scale()}; moved = false;
    svg.classList.add("dragging");
  });
  window.addEventListener("mousemove", function (evt) {
    if (!drag) return;
    var dx = evt.clientX - drag.x, dy = evt.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
    vb.x = drag.vx - dx * drag.s; vb.y = drag.vy - dy * drag.s; apply();
  });
  window.addEventListener("mouseup", function () { drag = null; svg.classList.remove("dragging"); });
  document.getElementById("fit").onclick = function () { vb = {x: home.x, y: home.y, w: home.w, h: home.h}; apply(); };

  Object.keys(nodeEls).forEach(function (id) {
    nodeEls[id].addEventListener("click", function () { if (!moved) select(byId[id].ref, false); });
  });

  // --- search (dims what does not match) and namespaces (hide / show their objects)
  function matches(n, q) { return !q || n.ref.toLowerCase().indexOf(q) >= 0; }
  function refresh() {
    var q = document.getElementById("search").value.trim().toLowerCase(), shown = 0;
    data.nodes.forEach(function (n) {
      var e = nodeEls[n.id], hide = !!hiddenNs[n.ns], hit = matches(n, q);
      e.classList.toggle("hidden", hide);
      e.classList.toggle("dim", !hit);
      if (!hide && hit) shown++;
    });
    edgeEls.forEach(function (e) {
      var a = byId[e.getAttribute("data-from")], b = byId[e.getAttribute("data-to")];
      e.classList.toggle("hidden", !!(hiddenNs[a.ns] || hiddenNs[b.ns]));
      e.classList.toggle("dim", !(matches(a, q) && matches(b, q)));
    });
    document.getElementById("shown").textContent = q ? shown + " match" + (shown === 1 ? "" : "es") : "";
  }
  var search = document.getElementById("search");
  search.addEventListener("input", refresh);
  search.addEventListener("keydown", function (evt) {
    if (evt.key !== "Enter") return;
    var q = search.value.trim().toLowerCase();
    var hit = data.nodes.filter(function (n) { return !hiddenNs[n.ns] && matches(n, q); })[0];
    if (hit) select(hit.ref, true);
  });
  Array.prototype.forEach.call(document.querySelectorAll("#namespaces input"), function (box) {
    box.addEventListener("change", function () {
      hiddenNs[box.value] = !box.checked; refresh();
    });
  });
  document.getElementById("ns-all").onclick = function () { setAll(true); };
  document.getElementById("ns-none").onclick = function () { setAll(false); };
  function setAll(on) {
    Array.prototype.forEach.call(document.querySelectorAll("#namespaces input"), function (box) {
      box.checked = on; hiddenNs[box.value] = !on;
    });
    refresh();
  }

  function fromHash() {
    var m = /^#select=(.+)$/.exec(location.hash);
    if (!m) return;
    try { select(decodeURIComponent(m[1]), true); } catch (e) { select(m[1], true); }   // a bare % in the hash
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
  body.setAttribute("data-ready", "1");
})();
"""
