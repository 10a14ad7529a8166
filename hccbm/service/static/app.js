// hccbm pages: CSRF header for htmx, confirm dialogs, the patient form's lesion editor and
// field messages, the evidence graph. No inline scripts.
(function () {
  "use strict";
  // Buttons that only matter without JavaScript (e.g. "show the fields for this site").
  document.documentElement.classList.add("js");
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

  // -- patient form: the lesion editor ------------------------------------------------------
  // Each lesion is a fieldset of inputs named bone_lesions.<i>.<field>. The server renders it
  // complete (and handles "add"/"remove" itself without JavaScript); here the buttons work in
  // place and the score groups follow the chosen site.
  var LESION_INDEX = /bone_lesions\.(\d+|__i__)(?=[.\-]|$)/;
  var RENUMBERED = ["name", "id", "for", "aria-describedby", "data-slot", "data-err",
    "data-error-for", "href"];

  function siteKind(select) {
    var option = select.options[select.selectedIndex];
    return option ? (option.dataset.kind || "") : "";
  }

  function applySite(lesion) {
    var select = lesion.querySelector("[data-lesion-site]");
    var kind = select ? siteKind(select) : "";
    lesion.querySelectorAll("fieldset[data-applies]").forEach(function (group) {
      var on = group.dataset.applies.split(" ").indexOf(kind) >= 0;
      group.hidden = !on;
      group.disabled = !on;  // a hidden group submits nothing
    });
  }

  function renumber(list) {
    list.querySelectorAll("fieldset[data-lesion]").forEach(function (lesion, n) {
      var elements = [lesion].concat(Array.prototype.slice.call(lesion.querySelectorAll("*")));
      elements.forEach(function (el) {
        RENUMBERED.forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && LESION_INDEX.test(value)) {
            el.setAttribute(attr, value.replace(LESION_INDEX, "bone_lesions." + n));
          }
        });
      });
      var remove = lesion.querySelector("[data-lesion-remove]");
      if (remove) { remove.value = String(n); }
      var number = lesion.querySelector(".lesion-n");
      if (number) { number.textContent = String(n + 1); }
    });
  }

  function recheck(form) {
    // the form's htmx trigger ("change") runs the same validation as saving
    form.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var add = target && target.closest("[data-lesion-add]");
    var remove = target && target.closest("[data-lesion-remove]");
    var form = (add || remove) ? (add || remove).form : null;
    var list = form ? form.querySelector("#lesion-list") : null;
    if (!list) { return; }
    event.preventDefault();
    if (add) {
      var template = form.querySelector("#lesion-template");
      list.appendChild(template.content.cloneNode(true));
      renumber(list);
      var added = list.lastElementChild;
      applySite(added);
      added.querySelector("[data-lesion-site]").focus();
    } else {
      remove.closest("fieldset[data-lesion]").remove();
      renumber(list);
      recheck(form);
      var addButton = form.querySelector("[data-lesion-add]");
      if (addButton) { addButton.focus(); }
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof Element && target.matches("[data-lesion-site]")) {
      applySite(target.closest("fieldset[data-lesion]"));
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("fieldset[data-lesion]").forEach(applySite);
  });

  // -- patient form: each message of a live check beside its field --------------------------
  function placeMessages(form, summary) {
    var messages = {};
    summary.querySelectorAll("li[data-for-slot]").forEach(function (item) {
      var slot = item.dataset.forSlot;
      var text = item.querySelector(".msg");
      (messages[slot] = messages[slot] || []).push(text ? text.textContent : "");
    });
    form.querySelectorAll("[data-error-for]").forEach(function (box) {
      var found = messages[box.dataset.errorFor];
      box.textContent = found ? found.join(" ") : "";
      box.hidden = !found;
    });
    // a folded section (<details>) with a message in it opens
    form.querySelectorAll("details").forEach(function (details) {
      if (details.querySelector("[data-error-for]:not([hidden])")) { details.open = true; }
    });
    form.querySelectorAll("[data-slot]").forEach(function (control) {
      var found = messages[control.dataset.slot];
      var group = control.tagName === "FIELDSET";
      if (found) {
        if (!group) { control.setAttribute("aria-invalid", "true"); }
        control.setAttribute("aria-describedby", control.dataset.err);
      } else {
        control.removeAttribute("aria-invalid");
        control.removeAttribute("aria-describedby");
      }
    });
  }

  // -- patient form: a checkbox group's "none" box and its codes exclude each other ----------
  // (the server refuses both ticked; this only saves the round trip)
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox" || !box.checked) { return; }
    var group = box.closest("[data-checks]");
    if (!group) { return; }
    var none = box.hasAttribute("data-none");
    group.querySelectorAll("input[type=checkbox]").forEach(function (other) {
      if (other.hasAttribute("data-none") !== none) { other.checked = false; }
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var summary = event.detail && event.detail.target;
    if (summary && summary.id === "errors") {
      var form = summary.closest("form");
      if (form) { placeMessages(form, summary); }
    }
  });
})();
