/* GlobMed-Bench leaderboard: inlined into leaderboard.html by globmed/bench/leaderboard_html.py.
   Every value from the data is written with textContent / setAttribute, never as HTML. The view
   (sort column, direction, filters) lives in the URL hash: #sort=score&dir=desc&tier=low. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("globmed-data").textContent);
  var RUN_KEYS = ["model", "size", "backend", "mode", "shots"];
  var FILTER_KEYS = RUN_KEYS.concat(["lang", "tier", "task"]);
  var DEFAULTS = {sort: "", dir: "desc", task: "all", q: ""};
  var ANY = "*";
  var state = {};
  var SVGNS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } return node; }
  function fmt(v, digits) { return v === null || v === undefined ? "\u2013" : Number(v).toFixed(digits === undefined ? 3 : digits); }
  function fmtCi(ci) { return ci && ci[0] !== null && ci[1] !== null ? "[" + fmt(ci[0]) + ", " + fmt(ci[1]) + "]" : "\u2013"; }
  function runLabel(r) { return r.model + " (" + r.mode + ", " + r.shots + "-shot)"; }

  /* --- state <-> URL hash ---------------------------------------------------------------------- */
  function readHash() {
    state = {sort: DEFAULTS.sort, dir: DEFAULTS.dir, q: DEFAULTS.q};
    FILTER_KEYS.forEach(function (k) { state[k] = k === "task" ? DEFAULTS.task : ANY; });
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) { return; }
      var i = part.indexOf("=");
      var key = decodeURIComponent(i < 0 ? part : part.slice(0, i));
      var value = i < 0 ? "" : decodeURIComponent(part.slice(i + 1).replace(/\+/g, " "));
      if (key === "sort" || key === "q" || FILTER_KEYS.indexOf(key) >= 0) { state[key] = value; }
      if (key === "dir") { state.dir = value === "asc" ? "asc" : "desc"; }
    });
  }
  function writeHash() {
    var parts = [];
    ["sort", "dir", "q"].concat(FILTER_KEYS).forEach(function (k) {
      var dflt = k in DEFAULTS ? DEFAULTS[k] : ANY;
      if (state[k] !== dflt && !(k === "dir" && !state.sort)) {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(state[k]));
      }
    });
    try {
      history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
    } catch (e) { /* some viewers forbid history changes (sandboxed frames): the view still works */ }
  }

  /* --- filters --------------------------------------------------------------------------------- */
  function passes(row, keys) {
    for (var i = 0; i < keys.length; i++) {
      var k = keys[i];
      if (state[k] !== ANY && k in row && String(row[k]) !== state[k]) { return false; }
    }
    return !state.q || String(row.model).toLowerCase().indexOf(state.q.toLowerCase()) >= 0;
  }
  function distinct(key) {
    var seen = {}, out = [];
    D.cells.forEach(function (c) {
      var v = String(c[key]);
      if (!(v in seen)) { seen[v] = true; out.push(v); }
    });
    if (key === "lang") { return D.languages.map(function (l) { return l.code; }).filter(function (c) { return c in seen; }); }
    if (key === "task") { return D.tasks.filter(function (t) { return t in seen; }); }
    return out.sort();
  }
  function optionLabel(key, v) {
    if (key === "lang") {
      var l = D.languages.filter(function (x) { return x.code === v; })[0];
      return l ? v + " \u00b7 " + l.name : v;
    }
    if (key === "task" && v === "all") { return "all tasks pooled"; }
    if (key === "tier") { return v + "-resource"; }
    return v === "" ? "(unknown)" : v;
  }
  function renderControls() {
    var box = clear(document.getElementById("controls"));
    FILTER_KEYS.forEach(function (key) {
      var label = el("label", {}, key + " ");
      var sel = el("select", {id: "filter-" + key, "data-filter": key});
      sel.appendChild(el("option", {value: ANY}, key === "task" ? "every task, each apart" : "any"));
      distinct(key).forEach(function (v) { sel.appendChild(el("option", {value: v}, optionLabel(key, v))); });
      if (distinct(key).indexOf(state[key]) < 0 && state[key] !== ANY) {
        sel.appendChild(el("option", {value: state[key]}, state[key] + " (no data)"));
      }
      sel.value = state[key];
      sel.addEventListener("change", function () { state[key] = sel.value; update(); });
      label.appendChild(sel);
      box.appendChild(label);
    });
    var search = el("input", {id: "filter-q", type: "search", placeholder: "model name contains\u2026"});
    search.value = state.q;
    search.addEventListener("input", function () { state.q = search.value; update(); });
    box.appendChild(search);
    var reset = el("button", {id: "reset", type: "button"}, "reset");
    reset.addEventListener("click", function () {
      readHash();
      Object.keys(state).forEach(function (k) { state[k] = k in DEFAULTS ? DEFAULTS[k] : ANY; });
      renderControls();
      update();
    });
    box.appendChild(reset);
  }

  /* --- tables ---------------------------------------------------------------------------------- */
  var CELL_COLUMNS = [
    {key: "model", label: "model"}, {key: "size", label: "size", sortKey: "size_params", num: true},
    {key: "backend", label: "backend"}, {key: "mode", label: "mode"}, {key: "shots", label: "shots", num: true},
    {key: "lang", label: "language", show: function (r) { return r.lang + " \u00b7 " + r.lang_name; }},
    {key: "tier", label: "tier"}, {key: "task", label: "task"},
    {key: "score", label: "score", num: true, show: function (r) { return fmt(r.score); }},
    {key: "ci", label: "95% CI", sortKey: "score", num: true, show: function (r) { return fmtCi(r.ci); }},
    {key: "n", label: "n", num: true}, {key: "unparsed", label: "unparsed", num: true}];

  function compare(col, dir) {
    var key = col.sortKey || col.key, sign = dir === "asc" ? 1 : -1;
    return function (a, b) {
      var x = a[key], y = b[key];
      var xn = x === null || x === undefined || x === "", yn = y === null || y === undefined || y === "";
      if (xn || yn) { return xn === yn ? 0 : xn ? 1 : -1; }  /* no value: last, whatever the direction */
      if (col.num) { return sign * (Number(x) - Number(y)); }
      return sign * String(x).localeCompare(String(y));
    };
  }
  function cellTitle(r) {
    return runLabel(r) + "\n" + r.lang + " \u00b7 " + r.lang_name + " (" + r.tier + "-resource) \u00b7 task: " + r.task +
      "\nscore " + fmt(r.score) + ", 95% CI " + fmtCi(r.ci) + "\nn = " + r.n + " items, unparsed replies = " + r.unparsed;
  }
  function buildTable(id, columns, rows, sort, onSort, rowAttrs, titleOf) {
    var table = el("table", {id: id, "class": "data"});
    var head = el("tr");
    columns.forEach(function (col) {
      var th = el("th", {"data-col": col.key, "class": col.num ? "num" : ""}, col.label);
      if (sort.sort === col.key) { th.setAttribute("aria-sort", sort.dir === "asc" ? "ascending" : "descending"); }
      th.addEventListener("click", function () { onSort(col.key); });
      th.title = "sort by " + col.label;
      head.appendChild(th);
    });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    var col = columns.filter(function (c) { return c.key === sort.sort; })[0];
    var sorted = col ? rows.slice().sort(compare(col, sort.dir)) : rows;
    sorted.forEach(function (r) {
      var tr = el("tr");
      Object.keys(rowAttrs(r)).forEach(function (k) { tr.setAttribute("data-" + k, rowAttrs(r)[k]); });
      if (titleOf) { tr.title = titleOf(r); }
      columns.forEach(function (c) {
        var v = c.show ? c.show(r) : r[c.key];
        var td = el("td", {"class": c.num ? "num" : ""}, v === null || v === undefined || v === "" ? "\u2013" : v);
        if (c.key === "unparsed" && r.unparsed > 0) { td.className += " warn"; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    return table;
  }
  function sorter(local) {
    return function (key) {
      if (local.sort === key) { local.dir = local.dir === "asc" ? "desc" : "asc"; }
      else { local.sort = key; local.dir = key === "model" || key === "lang" ? "asc" : "desc"; }
      update();
    };
  }

  function renderCells(cells) {
    var box = clear(document.getElementById("cells"));
    box.appendChild(buildTable("cells-table", CELL_COLUMNS, cells, state, sorter(state), function (r) {
      return {model: r.model, mode: r.mode, shots: r.shots, lang: r.lang, tier: r.tier, task: r.task, score: r.score === null ? "" : r.score, n: r.n, unparsed: r.unparsed};
    }, cellTitle));
    document.getElementById("count").textContent = cells.length + " of " + D.cells.length + " cells shown";
  }

  var taskSort = {sort: "", dir: "desc"}, openSort = {sort: "", dir: "desc"};
  function renderTasks() {
    var rows = D.task_rows.filter(function (r) {
      return passes(r, RUN_KEYS) && (state.task === ANY || state.task === "all" || r.task === state.task);
    });
    var cols = [{key: "model", label: "model"}, {key: "size", label: "size", sortKey: "size_params", num: true},
      {key: "mode", label: "mode"}, {key: "shots", label: "shots", num: true}, {key: "task", label: "task"},
      {key: "n", label: "n", num: true}, {key: "accuracy", label: "accuracy", num: true, show: function (r) { return fmt(r.accuracy); }},
      {key: "macro_f1", label: "macro F1", num: true, show: function (r) { return fmt(r.macro_f1); }},
      {key: "rougeL", label: "ROUGE-L", num: true, show: function (r) { return fmt(r.rougeL); }},
      {key: "chrf", label: "chrF", num: true, show: function (r) { return fmt(r.chrf, 1); }},
      {key: "unparsed", label: "unparsed", num: true}];
    clear(document.getElementById("tasks")).appendChild(buildTable("tasks-table", cols, rows, taskSort, sorter(taskSort),
      function (r) { return {model: r.model, task: r.task}; }, function (r) { return runLabel(r) + "\ntask " + r.task + ": n = " + r.n + ", unparsed = " + r.unparsed; }));
  }
  function renderOpen() {
    document.getElementById("open-section").hidden = !D.open_rows.length;
    var rows = D.open_rows.filter(function (r) { return passes(r, RUN_KEYS.concat(["lang", "tier"])); });
    var cols = [{key: "model", label: "model"}, {key: "mode", label: "mode"}, {key: "shots", label: "shots", num: true},
      {key: "lang", label: "language"}, {key: "n", label: "n", num: true},
      {key: "rougeL", label: "ROUGE-L", num: true, show: function (r) { return fmt(r.rougeL); }},
      {key: "chrf", label: "chrF", num: true, show: function (r) { return fmt(r.chrf, 1); }},
      {key: "unparsed", label: "unparsed", num: true}, {key: "judge_model", label: "judge"},
      {key: "judge", label: "verdict (1-5)", num: true, show: function (r) { return r.judge === undefined ? "" : fmt(r.judge, 2) + " " + fmtCi(r.judge_ci); }},
      {key: "judged", label: "judged", num: true}, {key: "judge_unparsed", label: "unparsable verdicts", num: true}];
    clear(document.getElementById("openqa")).appendChild(buildTable("open-table", cols, rows, openSort, sorter(openSort),
      function (r) { return {model: r.model, lang: r.lang}; }, null));
  }

  /* --- heatmap --------------------------------------------------------------------------------- */
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(v) {
    var x = Math.max(0, Math.min(1, v)) * (VIRIDIS.length - 1), i = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - i;
    var c = VIRIDIS[i].map(function (a, k) { return Math.round(a + f * (VIRIDIS[i + 1][k] - a)); });
    return "rgb(" + c.join(", ") + ")";
  }
  function runId(r) { return r.model + "\u0000" + r.mode + "\u0000" + r.shots; }
  function renderHeatmap(cells) {
    var task = state.task === ANY ? "all" : state.task;
    var shown = cells.filter(function (c) { return c.task === task; });
    var langs = D.languages.filter(function (l) { return shown.some(function (c) { return c.lang === l.code; }); });
    var byRun = {}, order = [];
    shown.forEach(function (c) {
      var id = runId(c);
      if (!(id in byRun)) { byRun[id] = {run: c, cells: {}}; order.push(id); }
      byRun[id].cells[c.lang] = c;
    });
    var box = clear(document.getElementById("heatmap"));
    if (!order.length) { box.appendChild(el("p", {"class": "note"}, "no cell matches the filters")); return; }
    box.appendChild(el("p", {"class": "note"}, "task: " + (task === "all" ? "all tasks pooled" : task) + "; rows in the order of the table below"));
    var table = el("table", {id: "heatmap-table", "class": "heat"});
    var head = el("tr");
    head.appendChild(el("th", {}, "run"));
    langs.forEach(function (l) {
      var th = el("th", {"data-lang": l.code, "class": "tier-" + l.tier}, l.code);
      th.appendChild(el("br"));
      th.appendChild(el("small", {}, l.tier));
      th.title = l.name + " (" + l.tier + "-resource)";
      head.appendChild(th);
    });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    order.forEach(function (id) {
      var entry = byRun[id], tr = el("tr", {"data-model": entry.run.model, "data-mode": entry.run.mode});
      tr.appendChild(el("th", {"class": "run"}, runLabel(entry.run)));
      langs.forEach(function (l) {
        var c = entry.cells[l.code];
        if (!c || c.score === null) { tr.appendChild(el("td", {"class": "empty", "data-lang": l.code}, "\u2013")); return; }
        var td = el("td", {"data-lang": l.code, "data-score": c.score}, fmt(c.score, 2));
        td.style.backgroundColor = colour(c.score);
        td.style.color = c.score < 0.6 ? "#fff" : "#000";
        if (c.unparsed) { td.appendChild(el("sup", {}, "\u2020")); }
        td.title = cellTitle(c);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    box.appendChild(table);
    var legend = el("div", {"class": "legend"});
    legend.appendChild(el("span", {}, "0"));
    var bar = el("span", {"class": "ramp"});
    bar.style.background = "linear-gradient(to right, " + VIRIDIS.map(function (c) { return "rgb(" + c.join(",") + ")"; }).join(", ") + ")";
    legend.appendChild(bar);
    legend.appendChild(el("span", {}, "1   \u2020 some replies unparsed (hover for counts)"));
    box.appendChild(legend);
  }

  /* --- tier-gap chart (inline SVG) ------------------------------------------------------------- */
  var SERIES = [["high_avg", "high-resource avg", "#1f77b4"], ["low_avg", "low-resource avg", "#ff7f0e"], ["gap", "gap (high \u2212 low)", "#d62728"]];
  function renderTierGap() {
    var runs = D.summary.filter(function (r) { return passes(r, RUN_KEYS) && r.gap !== null && r.gap !== undefined; });
    var box = clear(document.getElementById("tiergap"));
    if (!runs.length) { box.appendChild(el("p", {"class": "note"}, "no run (of those the filters keep) covers both tiers")); return; }
    var lo = 0, hi = 0.05;
    runs.forEach(function (r) {
      SERIES.forEach(function (s) {
        var ci = r[s[0] + "_ci"] || [r[s[0]], r[s[0]]];
        lo = Math.min(lo, r[s[0]], ci[0] === null ? 0 : ci[0]);
        hi = Math.max(hi, r[s[0]], ci[1] === null ? 0 : ci[1]);
      });
    });
    var step = [0.05, 0.1, 0.2, 0.25, 0.5, 1].filter(function (st) { return (hi - lo) / st <= 6; })[0] || 1;
    lo = Math.floor(lo / step - 1e-9) * step;
    hi = Math.ceil(hi / step - 1e-9) * step;
    var ticks = Math.round((hi - lo) / step);
    var group = 112, left = 56, top = 16, plotH = 200, width = left + runs.length * group + 16, height = top + plotH + 64;
    function y(v) { return top + (hi - v) / (hi - lo) * plotH; }
    var chart = svg("svg", {id: "tiergap-chart", width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img"});
    for (var t = 0; t <= ticks; t++) {
      var v = lo + step * t;
      chart.appendChild(svg("line", {x1: left, x2: width - 8, y1: y(v), y2: y(v), "class": "grid"}));
      chart.appendChild(svg("text", {x: left - 6, y: y(v) + 4, "text-anchor": "end", "class": "tick"}, v.toFixed(2)));
    }
    chart.appendChild(svg("line", {x1: left, x2: width - 8, y1: y(0), y2: y(0), "class": "zero"}));
    runs.forEach(function (r, i) {
      var x0 = left + i * group + 14;
      var g = svg("g", {"data-model": r.model, "data-mode": r.mode});
      SERIES.forEach(function (s, k) {
        var v = r[s[0]], ci = r[s[0] + "_ci"], x = x0 + k * 28;
        var rect = svg("rect", {x: x, width: 24, y: Math.min(y(v), y(0)), height: Math.max(1, Math.abs(y(v) - y(0))), fill: s[2], "data-series": s[0]});
        rect.appendChild(svg("title", {}, runLabel(r) + "\n" + s[1] + ": " + fmt(v) + ", 95% CI " + fmtCi(ci) +
          (s[0] === "gap" ? "" : "\nn = " + r[s[0] + "_n"] + " items")));
        g.appendChild(rect);
        if (ci && ci[0] !== null && ci[1] !== null) {
          g.appendChild(svg("line", {x1: x + 12, x2: x + 12, y1: y(ci[0]), y2: y(ci[1]), "class": "whisker"}));
          g.appendChild(svg("line", {x1: x + 7, x2: x + 17, y1: y(ci[0]), y2: y(ci[0]), "class": "whisker"}));
          g.appendChild(svg("line", {x1: x + 7, x2: x + 17, y1: y(ci[1]), y2: y(ci[1]), "class": "whisker"}));
        }
      });
      var name = r.model.length > 18 ? r.model.slice(0, 17) + "\u2026" : r.model;
      g.appendChild(svg("text", {x: x0 + 40, y: top + plotH + 20, "text-anchor": "middle", "class": "label"}, name));
      g.appendChild(svg("text", {x: x0 + 40, y: top + plotH + 36, "text-anchor": "middle", "class": "label small"}, r.mode + ", " + r.shots + "-shot"));
      chart.appendChild(g);
    });
    box.appendChild(chart);
    var legend = el("div", {"class": "legend"});
    SERIES.forEach(function (s) {
      var sw = el("span", {"class": "swatch"});
      sw.style.backgroundColor = s[2];
      legend.appendChild(sw);
      legend.appendChild(el("span", {}, s[1]));
    });
    box.appendChild(legend);
  }

  function update() {
    writeHash();
    var cells = D.cells.filter(function (c) { return passes(c, FILTER_KEYS); });
    var col = CELL_COLUMNS.filter(function (c) { return c.key === state.sort; })[0];
    if (col) { cells = cells.slice().sort(compare(col, state.dir)); }
    renderHeatmap(cells);
    renderTierGap();
    renderCells(cells);
    renderTasks();
    renderOpen();
    document.body.setAttribute("data-ready", "1");
  }

  readHash();
  renderControls();
  update();
  window.addEventListener("hashchange", function () { readHash(); renderControls(); update(); });
})();
