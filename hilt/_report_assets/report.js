// hilt report: draws the page from the JSON in #hilt-data. Every text of the log goes
// into the page through textContent or an SVG <title>, never as HTML, and nothing is
// fetched: the page's Content-Security-Policy allows no connection at all.
(function () {
  "use strict";

  var DATA = JSON.parse(document.getElementById("hilt-data").textContent);
  var app = document.getElementById("app");
  var SVGNS = "http://www.w3.org/2000/svg";
  var LIST_STEP = 200;
  var state = { query: "", status: "any", model: "", shown: LIST_STEP };

  // -- building blocks ------------------------------------------------------------------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) add(node, arguments[i]);
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVGNS, tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) add(node, arguments[i]);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = String(v);
      else node.setAttribute(k, String(v));
    });
  }

  function add(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach(function (c) { add(node, c); });
    } else if (typeof child === "string" || typeof child === "number") {
      node.appendChild(document.createTextNode(String(child)));
    } else {
      node.appendChild(child);
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  // -- numbers, as hilt stats prints them ---------------------------------------------
  function fmtInt(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function fmtFixed(v, digits) {
    return Number(v).toLocaleString("en-US", {
      minimumFractionDigits: digits, maximumFractionDigits: digits,
    });
  }

  function fmtCost(v) {
    if (v === null || v === undefined) return "–";
    if (v >= 100) return "$" + fmtFixed(v, 2);
    if (v >= 1) return "$" + fmtFixed(v, 4);
    return "$" + Number(v).toFixed(6);
  }

  function fmtCostAxis(v) {
    if (!v) return "$0";
    return "$" + (v >= 1 ? fmtFixed(v, 2) : String(Number(v.toPrecision(2))));
  }

  function fmtMs(v) {
    if (v === null || v === undefined) return "–";
    return (v >= 100 ? fmtFixed(v, 0) : fmtFixed(v, 1)) + " ms";
  }

  function fmtPct(v) {
    return (v * 100).toFixed(1) + "%";
  }

  function fmtTime(ts) {
    if (!ts) return "";
    return String(ts).replace("T", " ").slice(0, 19);
  }

  function shortTime(ts) {
    return fmtTime(ts).slice(5, 16);
  }

  // -- layout ---------------------------------------------------------------------------
  var total = DATA.total;
  var view = el("main", { id: "view" });

  function header() {
    var files = DATA.files || [];
    var base = function (f) { return String(f).split(/[\\/]/).pop(); };
    var names = files.slice(0, 3).map(base).join(", ") + (files.length > 3 ? " and " + (files.length - 3) + " more" : "");
    var filters = Object.keys(DATA.filters || {}).map(function (k) {
      return "--" + k + " " + [].concat(DATA.filters[k]).join(",");
    }).join(" ");
    return el("header", null,
      el("h1", null, "HILT report"),
      el("p", { class: "meta" },
        el("span", { id: "files", title: files.join("\n"), text: files.length + " file" + (files.length === 1 ? "" : "s") + ": " + names }),
        total.first ? el("span", { id: "window", text: fmtTime(total.first) + " → " + fmtTime(total.last) + " UTC" }) : null,
        filters ? el("span", { id: "filters", text: "filters: " + filters }) : null,
        el("span", { text: (DATA.live ? "live view, read " : "made ") + fmtTime(DATA.generated) + " UTC" + (DATA.live ? ": reload for new calls" : "") })),
      el("nav", null,
        el("a", { href: "#overview", id: "tab-overview" }, "Overview"),
        el("a", { href: "#conversations", id: "tab-conversations" }, "Conversations")));
  }

  // -- overview -------------------------------------------------------------------------
  function kpi(name, label, value, shown, note) {
    return el("div", { class: "kpi", "data-kpi": name, "data-value": value === null ? "" : value },
      el("div", { class: "kpi-label" }, label),
      el("div", { class: "kpi-value" }, shown),
      note ? el("div", { class: "kpi-note" }, note) : null);
  }

  function overview() {
    var lat = total.latency_ms;
    var priced = total.calls - total.errors - total.unpriced_calls;
    var cards = el("section", { class: "kpis", id: "kpis" },
      kpi("calls", "Calls", total.calls, fmtInt(total.calls), fmtInt(total.events) + " events"),
      kpi("errors", "Errors", total.errors, fmtInt(total.errors), fmtPct(total.error_rate) + " of calls"),
      kpi("tokens_in", "Tokens in", total.tokens.prompt, fmtInt(total.tokens.prompt),
        total.tokens.cached ? fmtInt(total.tokens.cached) + " cached" : null),
      kpi("tokens_out", "Tokens out", total.tokens.completion, fmtInt(total.tokens.completion),
        total.tokens.reasoning ? fmtInt(total.tokens.reasoning) + " reasoning" : null),
      kpi("cost", "Cost", total.cost_usd, priced || total.cost_usd ? fmtCost(total.cost_usd) : "–",
        total.unpriced_calls ? fmtInt(total.unpriced_calls) + " calls without a cost" : null),
      kpi("p50", "Latency p50", lat.p50, fmtMs(lat.p50)),
      kpi("p95", "Latency p95", lat.p95, fmtMs(lat.p95)),
      kpi("p99", "Latency p99", lat.p99, fmtMs(lat.p99)),
      kpi("conversations", "Conversations", total.conversations, fmtInt(total.conversations)));
    var errors = Object.keys(total.errors_by_status || {});
    var out = [cards];
    if (errors.length) {
      out.push(el("p", { class: "note", id: "errors-by-status" }, "Errors by status code: " +
        errors.map(function (k) { return (k === "0" ? "0 (no response)" : k) + ": " + fmtInt(total.errors_by_status[k]); }).join(", ")));
    }
    var note = textNote(DATA.text_states || {});
    if (note) out.push(el("p", { class: "note notice", id: "text-note" }, note));
    var s = DATA.series || [];
    var per = DATA.bucket === "hour" ? "hour" : "day";
    if (s.length) {
      var labels = s.map(function (p) { return p.t; });
      out.push(el("section", { class: "charts" },
        chartBox("Cost per " + per, barChart(labels, [s.map(function (p) { return p.cost_usd; })], ["cost"], fmtCost, "chart-cost")),
        chartBox("Calls per " + per + " (errors in red)", barChart(labels,
          [s.map(function (p) { return p.calls - p.errors; }), s.map(function (p) { return p.errors; })],
          ["ok", "errors"], fmtInt, "chart-calls")),
        chartBox("Error rate per " + per, lineChart(labels,
          [s.map(function (p) { return p.calls ? p.error_rate : null; })], ["error rate"], fmtPct, "chart-errors")),
        chartBox("Latency per " + per + ": p50 and p95", lineChart(labels,
          [s.map(function (p) { return p.p50; }), s.map(function (p) { return p.p95; })], ["p50", "p95"], fmtMs, "chart-latency"))));
    }
    var g = DATA.groups || {};
    out.push(el("section", { class: "groups" },
      groupTable("By model", "model", g.model),
      groupTable("By user", "user", g.user),
      groupTable("By tenant", "tenant", g.tenant)));
    return out;
  }

  function textNote(states) {
    var n = function (k) { return states[k] || 0; };
    var none = Object.keys(states).filter(function (k) { return k.indexOf("none:") === 0 && k !== "none:embeddings"; })
      .reduce(function (a, k) { return a + states[k]; }, 0);
    var parts = [];
    if (n("hash")) parts.push(fmtInt(n("hash")) + " prompts and answers are hashed (capture=\"hash\"): their text cannot be shown");
    if (none) parts.push(fmtInt(none) + " prompts and answers carry no text (capture=\"metadata\", or columns= without message)");
    if (n("removed")) parts.push(fmtInt(n("removed")) + " had their text removed by a failed redaction");
    if (!parts.length) return null;
    return "Text in the conversations held by this report: " + parts.join("; ") + ".";
  }

  function chartBox(title, chart) {
    return el("figure", { class: "chart" }, el("figcaption", null, title), chart);
  }

  var W = 600, H = 170, PAD_L = 64, PAD_B = 22, PAD_T = 10, PAD_R = 8;

  function frame(labels, max, fmt, id) {
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, id: id, role: "img", class: "chart-svg" });
    var y0 = H - PAD_B;
    [0, 0.5, 1].forEach(function (f) {
      var y = y0 - f * (y0 - PAD_T);
      root.appendChild(svg("line", { x1: PAD_L, x2: W - PAD_R, y1: y, y2: y, class: "grid" }));
      root.appendChild(svg("text", { x: PAD_L - 6, y: y + 4, class: "axis", "text-anchor": "end", text: (fmt === fmtCost ? fmtCostAxis : fmt)(max * f) }));
    });
    var n = labels.length;
    var picks = n === 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];
    picks.filter(function (v, i, a) { return a.indexOf(v) === i; }).forEach(function (i) {
      var x = PAD_L + (n === 1 ? 0.5 : i / (n - 1)) * (W - PAD_L - PAD_R);
      var anchor = n === 1 ? "middle" : (i === 0 ? "start" : (i === n - 1 ? "end" : "middle"));
      root.appendChild(svg("text", { x: x, y: H - 6, class: "axis", "text-anchor": anchor, text: shortTime(labels[i]) }));
    });
    return root;
  }

  function niceMax(values) {
    var max = 0;
    values.forEach(function (v) { if (v !== null && v > max) max = v; });
    if (!(max > 0)) return 1;
    // Round up to 1, 2, 2.5 or 5 times a power of ten, for readable axis labels.
    var unit = Math.pow(10, Math.floor(Math.log10(max)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (max <= steps[i] * unit * (1 + 1e-9)) return steps[i] * unit;
    }
    return 10 * unit;
  }

  function barChart(labels, stacks, names, fmt, id) {
    var sums = labels.map(function (_, i) {
      return stacks.reduce(function (a, s) { return a + (s[i] || 0); }, 0);
    });
    var max = niceMax(sums);
    var root = frame(labels, max, fmt, id);
    var n = labels.length, span = W - PAD_L - PAD_R, y0 = H - PAD_B;
    var bw = span / n;
    var barW = Math.min(Math.max(bw * 0.8, 0.5), 48);
    for (var i = 0; i < n; i++) {
      var base = y0;
      for (var k = 0; k < stacks.length; k++) {
        var v = stacks[k][i] || 0;
        if (!v) continue;
        var h = (v / max) * (y0 - PAD_T);
        base -= h;
        root.appendChild(svg("rect", {
          x: PAD_L + i * bw + (bw - barW) / 2, y: base, width: barW, height: h,
          class: "bar s" + k,
        }, svg("title", { text: fmtTime(labels[i]) + " " + names[k] + ": " + fmt(v) })));
      }
    }
    return root;
  }

  function lineChart(labels, lines, names, fmt, id) {
    var max = niceMax([].concat.apply([], lines));
    var root = frame(labels, max, fmt, id);
    var n = labels.length, span = W - PAD_L - PAD_R, y0 = H - PAD_B;
    lines.forEach(function (values, k) {
      var pts = [];
      var flush = function () {
        if (pts.length > 1) root.appendChild(svg("polyline", { points: pts.join(" "), class: "line s" + k }));
        pts = [];
      };
      values.forEach(function (v, i) {
        if (v === null || v === undefined) { flush(); return; }
        var x = PAD_L + (n === 1 ? 0.5 : i / (n - 1)) * span;
        var y = y0 - (v / max) * (y0 - PAD_T);
        pts.push(x.toFixed(1) + "," + y.toFixed(1));
        root.appendChild(svg("circle", { cx: x, cy: y, r: n > 60 ? 1 : 2.5, class: "dot s" + k },
          svg("title", { text: fmtTime(labels[i]) + " " + names[k] + ": " + fmt(v) })));
      });
      flush();
    });
    var legend = svg("g", { class: "legend" });
    names.forEach(function (name, k) {
      legend.appendChild(svg("rect", { x: W - PAD_R - 70 * (names.length - k), y: 2, width: 10, height: 10, class: "bar s" + k }));
      legend.appendChild(svg("text", { x: W - PAD_R - 70 * (names.length - k) + 14, y: 11, class: "axis", text: name }));
    });
    if (names.length > 1) root.appendChild(legend);
    return root;
  }

  function groupTable(title, key, group) {
    var rows = (group && group.rows) || [];
    if (rows.length === 1 && rows[0].key === null && !group.others) rows = [];
    var box = el("div", { class: "group", id: "by-" + key }, el("h2", null, title));
    if (!rows.length) {
      box.appendChild(el("p", { class: "muted" }, "No calls carry a " + key + (key === "model" ? "" : " (set it with hilt.scope(" + key + "_id=...))") + "."));
      return box;
    }
    var maxCost = niceMax(rows.map(function (r) { return r.cost_usd; }));
    var table = el("table", null, el("thead", null, el("tr", null,
      el("th", null, key), el("th", { class: "num" }, "calls"), el("th", { class: "num" }, "errors"),
      el("th", { class: "num" }, "tokens in"), el("th", { class: "num" }, "tokens out"),
      el("th", { class: "num" }, "cost"), el("th", null, ""), el("th", { class: "num" }, "p50"),
      el("th", { class: "num" }, "p95"))));
    var body = el("tbody");
    rows.forEach(function (r) {
      var bar = svg("svg", { viewBox: "0 0 100 10", class: "cell-bar", preserveAspectRatio: "none" },
        svg("rect", { x: 0, y: 1, width: Math.max((r.cost_usd / maxCost) * 100, r.cost_usd ? 1 : 0), height: 8, class: "bar s0" }));
      body.appendChild(el("tr", null,
        el("td", { class: "key" }, r.key === null ? "(none)" : String(r.key)),
        el("td", { class: "num" }, fmtInt(r.calls)),
        el("td", { class: "num" + (r.errors ? " bad" : "") }, fmtInt(r.errors) + (r.errors ? " (" + fmtPct(r.error_rate) + ")" : "")),
        el("td", { class: "num" }, fmtInt(r.tokens_in)),
        el("td", { class: "num" }, fmtInt(r.tokens_out)),
        el("td", { class: "num" }, fmtCost(r.cost_usd)),
        el("td", { class: "bar-cell" }, bar),
        el("td", { class: "num" }, fmtMs(r.p50)),
        el("td", { class: "num" }, fmtMs(r.p95))));
    });
    table.appendChild(body);
    box.appendChild(table);
    if (group.others) {
      box.appendChild(el("p", { class: "muted" }, "and " + fmtInt(group.others) + " more: " +
        fmtInt(group.others_calls) + " calls, " + fmtCost(group.others_cost_usd)));
    }
    return box;
  }

  // -- conversations --------------------------------------------------------------------
  var convs = DATA.conversations || [];
  var byId = {};
  convs.forEach(function (c) {
    byId[c.id] = c;
    var words = [c.id].concat(c.users, c.tenants, c.models);
    c.turns.forEach(function (turn) {
      turn.forEach(function (it) {
        words.push(it.text || "", it.error || "", it.who || "");
        (it.messages || []).forEach(function (m) { words.push(m.text || ""); });
        (it.tool_calls || []).forEach(function (t) { words.push(t.name, t.arguments); });
      });
    });
    c.haystack = words.join("\n").toLowerCase();
  });

  function parseQuery(q) {
    var out = { words: [], fields: {} };
    var re = /(\w+):("([^"]*)"|\S+)|"([^"]*)"|(\S+)/g;
    var m;
    while ((m = re.exec(q)) !== null) {
      if (m[1] && ["user", "tenant", "model", "id", "status"].indexOf(m[1].toLowerCase()) >= 0) {
        out.fields[m[1].toLowerCase()] = (m[3] !== undefined ? m[3] : m[2]).toLowerCase();
      } else {
        out.words.push((m[4] !== undefined ? m[4] : m[0]).toLowerCase());
      }
    }
    return out;
  }

  function anyHas(list, needle) {
    return list.some(function (v) { return String(v).toLowerCase().indexOf(needle) >= 0; });
  }

  function matches(c, q) {
    var f = q.fields;
    if (f.user !== undefined && !anyHas(c.users, f.user)) return false;
    if (f.tenant !== undefined && !anyHas(c.tenants, f.tenant)) return false;
    if (f.model !== undefined && !anyHas(c.models, f.model)) return false;
    if (f.id !== undefined && c.id.toLowerCase().indexOf(f.id) < 0) return false;
    var status = f.status || state.status;
    if ((status === "error" || status === "errors") && !c.errors) return false;
    if (status === "ok" && c.errors) return false;
    if (state.model && c.models.indexOf(state.model) < 0) return false;
    return q.words.every(function (w) { return c.haystack.indexOf(w) >= 0; });
  }

  function conversationList() {
    var models = {};
    convs.forEach(function (c) { c.models.forEach(function (m) { models[m] = true; }); });
    var input = el("input", {
      type: "search", id: "search", value: state.query, autocomplete: "off",
      placeholder: "Search the text, or user:ID tenant:ID model:NAME id:CONV status:error",
    });
    var status = el("select", { id: "status" },
      [["any", "any status"], ["error", "with errors"], ["ok", "without errors"]].map(function (o) {
        return el("option", { value: o[0], selected: state.status === o[0] ? "selected" : null }, o[1]);
      }));
    var model = el("select", { id: "model" }, el("option", { value: "" }, "any model"),
      Object.keys(models).sort().map(function (m) {
        return el("option", { value: m, selected: state.model === m ? "selected" : null }, m);
      }));
    var count = el("p", { class: "muted", id: "count" });
    var table = el("table", { id: "conversations", class: "list" });
    var more = el("button", { type: "button", id: "more" }, "Show more");
    var sample = total.conversations > convs.length
      ? el("p", { class: "note notice", id: "sample-note" },
        "This report holds the " + fmtInt(convs.length) + " most recent of " + fmtInt(total.conversations) +
        " conversations (by their last event; at most " + fmtInt((DATA.limits || {}).conversations) +
        " conversations and " + fmtInt((DATA.limits || {}).events) + " of their events); the overview counts them all. " +
        "Narrow the window with --since / --until / --user / --conversation, or change --conversations N.")
      : null;

    function draw() {
      var q = parseQuery(state.query);
      var found = convs.filter(function (c) { return matches(c, q); });
      clear(table);
      table.appendChild(el("thead", null, el("tr", null,
        el("th", null, "last event (UTC)"), el("th", null, "conversation"), el("th", null, "user"),
        el("th", null, "tenant"), el("th", null, "model"), el("th", { class: "num" }, "turns"),
        el("th", { class: "num" }, "calls"), el("th", { class: "num" }, "errors"),
        el("th", { class: "num" }, "tokens"), el("th", { class: "num" }, "cost"), el("th", null, "first words"))));
      var body = el("tbody");
      found.slice(0, state.shown).forEach(function (c) {
        var link = el("a", { href: "#conversation=" + encodeURIComponent(c.id) }, c.id);
        body.appendChild(el("tr", { class: "conv-row" + (c.errors ? " has-errors" : ""), "data-id": c.id },
          el("td", { class: "nowrap" }, fmtTime(c.last)),
          el("td", { class: "key" }, link),
          el("td", null, c.users.join(", ")),
          el("td", null, c.tenants.join(", ")),
          el("td", null, c.models.join(", ")),
          el("td", { class: "num" }, fmtInt(c.turns.length)),
          el("td", { class: "num" }, fmtInt(c.calls)),
          el("td", { class: "num" + (c.errors ? " bad" : "") }, fmtInt(c.errors)),
          el("td", { class: "num" }, fmtInt(c.tokens_in + c.tokens_out)),
          el("td", { class: "num" }, c.calls - c.errors ? fmtCost(c.cost_usd) : "–"),
          el("td", { class: "preview" }, preview(c))));
      });
      table.appendChild(body);
      count.textContent = fmtInt(found.length) + " of " + fmtInt(convs.length) + " conversations" +
        (found.length > state.shown ? ", the first " + fmtInt(state.shown) + " shown" : "");
      more.hidden = found.length <= state.shown;
    }

    input.addEventListener("input", function () { state.query = input.value; state.shown = LIST_STEP; draw(); });
    status.addEventListener("change", function () { state.status = status.value; state.shown = LIST_STEP; draw(); });
    model.addEventListener("change", function () { state.model = model.value; state.shown = LIST_STEP; draw(); });
    more.addEventListener("click", function () { state.shown += LIST_STEP; draw(); });
    draw();
    return [sample, el("div", { class: "toolbar" }, input, status, model), count, table, more];
  }

  function preview(c) {
    for (var i = 0; i < c.turns.length; i++) {
      var it = c.turns[i][0];
      if (it.text && it.state === "text") return it.text.slice(0, 80);
    }
    return "";
  }

  // -- one conversation ---------------------------------------------------------------
  var WHY = {
    metadata: "No text kept: this log was written with capture=\"metadata\" (numbers and ids only).",
    columns: "No text: this log was written with columns=[...] without the message column.",
    empty: "No text: the message column is empty (capture=\"metadata\", or nothing was said).",
    other: "No text in this event.",
  };

  function textBlock(it) {
    var out = [];
    if (it.state === "hash") {
      out.push(el("div", { class: "placeholder hashed" },
        "Text hashed (capture=\"hash\"): only its digest was kept. ", el("code", null, String(it.text || "").slice(0, 23) + "…")));
    } else if (it.state === "removed") {
      out.push(el("div", { class: "placeholder" }, "Text removed: redaction failed closed (" + (it.why || "") + ")."));
    } else if (it.state === "none") {
      if (it.why === "embeddings") {
        out.push(el("div", { class: "placeholder" }, "Embeddings: " + fmtInt(it.embeddings || 0) + " vectors" +
          (it.dimensions ? " of " + fmtInt(it.dimensions) + " dimensions" : "") + " (vectors are not logged)."));
      } else {
        out.push(el("div", { class: "placeholder" }, WHY[it.why] || WHY.other));
      }
    } else if (typeof it.text === "string" && !(it.messages && it.messages.length)) {
      out.push(el("div", { class: "text" }, it.text));
      if (it.cut) out.push(el("div", { class: "muted" }, "… " + fmtInt(it.cut) + " more characters not shown"));
    }
    if (it.messages && it.messages.length) {
      out.push(el("div", { class: "messages" }, it.messages.map(function (m) {
        return el("div", { class: "message" },
          el("span", { class: "role" }, m.role + (m.name ? " " + m.name : "") + (m.tool_call_id ? " (" + m.tool_call_id + ")" : "")),
          m.state === "hash" ? el("span", { class: "placeholder" }, "hashed") : el("span", { class: "text" }, m.text || ""),
          m.tool_calls ? toolCalls(m.tool_calls) : null,
          m.parts ? el("span", { class: "muted" }, " + " + m.parts + " non-text parts") : null);
      })));
    }
    if (it.tool_calls) out.push(toolCalls(it.tool_calls));
    return out;
  }

  function toolCalls(calls) {
    return el("div", { class: "tool-calls" }, calls.map(function (t) {
      return el("div", { class: "tool-call" }, el("span", { class: "tool-name" }, "tool call " + t.name),
        el("pre", null, t.arguments));
    }));
  }

  function metaLine(it) {
    var bits = [];
    if (it.model) bits.push(it.model);
    if (it.tokens_in !== undefined || it.tokens_out !== undefined)
      bits.push(fmtInt(it.tokens_in || 0) + " → " + fmtInt(it.tokens_out || 0) + " tokens");
    if (it.cost !== undefined) bits.push(fmtCost(it.cost));
    if (it.latency_ms !== undefined) bits.push(fmtMs(it.latency_ms));
    if (it.status_code !== undefined) bits.push("status " + it.status_code);
    if (it.finish_reason) bits.push(it.finish_reason);
    return el("div", { class: "item-meta" }, bits.join(" · "));
  }

  function itemBox(it) {
    var kind = it.action === "prompt" ? "prompt" : (it.error ? "error" : (it.call ? "answer" : "other"));
    return el("div", { class: "item " + kind, "data-action": it.action || "" },
      el("div", { class: "item-head" },
        el("span", { class: "who" }, it.who || ""),
        it.action !== "prompt" && it.action !== "completion" ? el("span", { class: "action" }, it.action || "") : null,
        it.error ? el("span", { class: "error-type" }, it.error) : null,
        el("span", { class: "when" }, fmtTime(it.ts))),
      el("div", { class: "item-body" }, textBlock(it)),
      kind === "prompt" && it.tokens_in === undefined && !it.model ? null : metaLine(it));
  }

  function conversationView(id) {
    var c = byId[id];
    if (!c) {
      return [el("p", null, el("a", { href: "#conversations" }, "← Conversations")),
        el("p", { class: "note notice" }, "This report does not hold the conversation " + id + ".")];
    }
    var n = 0;
    var turns = el("div", { class: "turns", id: "turns" }, c.turns.map(function (turn) {
      var numbered = turn[0].action === "prompt";
      if (numbered) n += 1;
      return el("section", { class: "turn", "data-turn": numbered ? n : "" },
        el("div", { class: "turn-label" }, numbered ? "Turn " + n : ""),
        el("div", { class: "turn-items" }, turn.map(itemBox)));
    }));
    var noText = c.turns.every(function (t) { return t.every(function (it) { return it.state !== "text"; }); });
    return [
      el("p", null, el("a", { href: "#conversations", id: "back" }, "← Conversations")),
      el("h2", { id: "conversation-id" }, c.id),
      el("p", { class: "meta" },
        el("span", null, fmtTime(c.first) + " → " + fmtTime(c.last) + " UTC"),
        c.users.length ? el("span", null, "user " + c.users.join(", ")) : null,
        c.tenants.length ? el("span", null, "tenant " + c.tenants.join(", ")) : null,
        c.models.length ? el("span", null, c.models.join(", ")) : null,
        el("span", null, fmtInt(c.calls) + " calls, " + fmtInt(c.errors) + " errors, " +
          fmtInt(c.tokens_in) + " → " + fmtInt(c.tokens_out) + " tokens, " + fmtCost(c.cost_usd))),
      noText ? el("p", { class: "note notice", id: "no-text" },
        "This conversation was logged without its text (see each turn for why): it shows who, when, tokens, cost, latency and status only.") : null,
      turns,
    ];
  }

  // -- routing --------------------------------------------------------------------------
  function route() {
    var h = location.hash.slice(1);
    try { h = decodeURIComponent(h); } catch (e) { /* keep it as written */ }
    clear(view);
    var tab = "overview";
    if (h.indexOf("conversation=") === 0) {
      tab = "conversations";
      add(view, conversationView(h.slice("conversation=".length)));
      window.scrollTo(0, 0);
    } else if (h === "conversations") {
      tab = "conversations";
      add(view, conversationList());
    } else {
      add(view, overview());
    }
    ["overview", "conversations"].forEach(function (t) {
      document.getElementById("tab-" + t).className = t === tab ? "active" : "";
    });
    document.body.setAttribute("data-view", h.indexOf("conversation=") === 0 ? "conversation" : tab);
  }

  add(app, [header(), view]);
  window.addEventListener("hashchange", route);
  route();
  document.body.setAttribute("data-ready", "1");
})();
