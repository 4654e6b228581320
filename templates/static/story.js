/* Story page: switch the side-by-side diff between a member and its likely source without a
   reload. The default pair is rendered by the build; other pairs are laid out here from the
   story's story.json (same rules as site_src/charts.py pair_rows). DOM only, no innerHTML. */
(function () {
  "use strict";

  var LETTERS = { verbatim: "V", edited: "E", paraphrased: "P", "new": "N", boilerplate: "B" };
  var REUSE = { verbatim: true, edited: true, paraphrased: true };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function changed(diff) {
    return Boolean(diff) && diff.some(function (op) { return op[0] !== "equal"; });
  }

  function fillSide(cell, diff, side) {
    diff.forEach(function (op) {
      var text = side === "a" ? op[1] : op[2];
      if (!text) { return; }
      if (op[0] === "equal") { cell.appendChild(document.createTextNode(text)); }
      else { cell.appendChild(el(side === "a" ? "del" : "ins", "", text)); }
    });
  }

  function sliceText(member, start, end) {
    var parts = [];
    member.segments.forEach(function (s) {
      if (s.start < end && s.end > start) {
        parts.push(s.text.slice(Math.max(start, s.start) - s.start, Math.min(end, s.end) - s.start));
      }
    });
    return parts.join(" ");
  }

  function row(kind, label, left, right) {
    var tr = el("tr", "p-" + kind);
    var tdLeft = el("td", "");
    var tdKind = el("td", "kind");
    var tdRight = el("td", "");
    tdKind.appendChild(el("b", "", kind === "dropped" ? "\u2212" : (LETTERS[kind] || "?")));
    tdKind.appendChild(document.createTextNode(" "));
    tdKind.appendChild(el("span", "", label));
    if (left) { left(tdLeft); }
    if (right) { right(tdRight); }
    tr.appendChild(tdLeft);
    tr.appendChild(tdKind);
    tr.appendChild(tdRight);
    return tr;
  }

  function dropped(seg) {
    return row("dropped", "dropped", function (td) { td.appendChild(el("del", "", seg.text)); });
  }

  function pairRows(data, memberId) {
    var byId = {};
    data.members.forEach(function (m) { byId[m.id] = m; });
    var member = byId[memberId];
    var sourceId = member.likely_source;
    var source = byId[sourceId];
    var own = member.segments.filter(function (s) { return s["class"] !== "boilerplate"; });
    var src = source.segments.filter(function (s) { return s["class"] !== "boilerplate"; });
    var linked = own.map(function (s) {
      return Boolean(s.counterpart) && s.counterpart.article === sourceId && s["class"] !== "new";
    });
    var covered = {};
    own.forEach(function (s, i) {
      if (!linked[i]) { return; }
      src.forEach(function (t, j) {
        if (t.start < s.counterpart.end && t.end > s.counterpart.start) { covered[j] = true; }
      });
    });
    var rows = [];
    var pending = 0;
    own.forEach(function (s, i) {
      var kind = s["class"];
      if (linked[i]) {
        var cp = s.counterpart;
        while (pending < src.length && src[pending].start < cp.start) {
          if (!covered[pending]) { rows.push(dropped(src[pending])); }
          pending += 1;
        }
        if (changed(s.diff)) {
          rows.push(row(kind, kind,
            function (td) { fillSide(td, s.diff, "a"); },
            function (td) { fillSide(td, s.diff, "b"); }));
        } else {
          rows.push(row(kind, kind,
            function (td) { td.textContent = sliceText(source, cp.start, cp.end); },
            function (td) { td.textContent = s.text; }));
        }
      } else {
        var label = kind;
        if (REUSE[kind] && s.counterpart && byId[s.counterpart.article]) {
          label += " from " + byId[s.counterpart.article].source_name;
        }
        rows.push(row(kind, label, null, function (td) { td.textContent = s.text; }));
      }
    });
    for (var j = pending; j < src.length; j += 1) {
      if (!covered[j]) { rows.push(dropped(src[j])); }
    }
    return { rows: rows, member: member, source: source };
  }

  function setupPairs() {
    var section = document.getElementById("diff");
    var select = document.getElementById("pair-select");
    var table = document.getElementById("pair-table");
    if (!section || !select || !table) { return; }
    var controls = section.querySelector(".pair-controls");
    var status = section.querySelector(".pair-status");
    var dataPromise = null;

    function load() {
      if (!dataPromise) {
        dataPromise = fetch(section.getAttribute("data-json"), { credentials: "same-origin" })
          .then(function (response) {
            if (!response.ok) { throw new Error("HTTP " + response.status); }
            return response.json();
          });
      }
      return dataPromise;
    }

    function show(memberId) {
      status.textContent = "Loading\u2026";
      load().then(function (data) {
        var laid = pairRows(data, memberId);
        var body = document.createElement("tbody");
        laid.rows.forEach(function (tr) { body.appendChild(tr); });
        table.replaceChild(body, table.tBodies[0]);
        var option = select.options[select.selectedIndex];
        var names = option.textContent.split(" against ");
        document.getElementById("pair-right").textContent = names[0];
        document.getElementById("pair-left").textContent = names[1] || laid.source.source_name;
        table.caption.textContent = names[0] + " (right) against its likely source, " +
          (names[1] || laid.source.source_name) + " (left)";
        table.setAttribute("data-member", memberId);
        status.textContent = "";
      }).catch(function (error) {
        status.textContent = "Could not load this comparison (" + error.message + ").";
      });
    }

    controls.hidden = false;
    select.addEventListener("change", function () { show(select.value); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupPairs);
  } else {
    setupPairs();
  }
}());
