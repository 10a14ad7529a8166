// hccbm pages: CSRF header for htmx, confirm dialogs, the evidence graph. No inline scripts.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.dataset.csrf;
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  function drawGraph() {
    var box = document.getElementById("graph");
    if (!box || typeof window.cytoscape !== "function") { return; }
    var lang = box.dataset.lang;
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var nodes = data.elements.nodes.map(function (n) {
          var d = n.data;
          d.name = (lang === "zh" && d.label_zh) ? d.label_zh : (d.label || d.id);
          return { data: d };
        });
        var edges = data.elements.edges.map(function (e) { return { data: e.data }; });
        window.hccbmGraph = window.cytoscape({
          container: box,
          elements: { nodes: nodes, edges: edges },
          style: [
            { selector: "node", style: { "label": "data(name)", "font-size": 9, "background-color": "#0969da", "width": 14, "height": 14, "color": "#1b1f24", "text-wrap": "wrap", "text-max-width": 90 } },
            { selector: "edge", style: { "width": 1.2, "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "#8c959f", "target-arrow-color": "#8c959f" } },
            { selector: "edge[direction = 'negative']", style: { "line-color": "#cf222e", "target-arrow-color": "#cf222e", "target-arrow-shape": "tee" } },
            { selector: "edge[direction = 'positive']", style: { "line-color": "#1a7f37", "target-arrow-color": "#1a7f37" } }
          ],
          layout: { name: "cose", animate: false, randomize: false, nodeRepulsion: 9000 }
        });
        box.dataset.ready = String(nodes.length);
        window.hccbmGraph.on("tap", "node", function (evt) {
          window.location.href = "/evidence?item=" + encodeURIComponent(evt.target.id());
        });
      });
  }
  window.addEventListener("load", drawGraph);
})();
