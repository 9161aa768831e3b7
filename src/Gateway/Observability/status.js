// The status page's script (served by the server itself, no build step): reads /status/data every sample period
// and draws the tables and small SVG charts. docs/API.md describes the data; docs/OPERATIONS.md the page.
"use strict";
(function () {
  const svgNs = "http://www.w3.org/2000/svg";
  let period = 5;

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(v, digits) {
    if (v === null || v === undefined) return "–";
    if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
    return v.toFixed(digits);
  }

  // The latest sample's value (null when that period had none): the tables show now, not the last known.
  function last(series) {
    return series.length === 0 ? null : series[series.length - 1];
  }

  // A small line chart of one or two series (nulls break the line), with an optional dashed limit.
  function chart(key, title, series, unit, digits, limit, fixedMax) {
    const w = 170, h = 48, pad = 3;
    const values = series.flat().filter(v => v !== null);
    // data-max: the largest value drawn (the browser test reads it: traffic must show in the rps chart).
    const box = el("div", { class: "chart", "data-series": key, "data-max": String(values.length ? Math.max(...values) : 0) });
    const label = el("div", { class: "label" });
    const now = series.map(s => fmt(last(s), digits)).join(" / ");
    label.append(el("span", {}, title), el("span", { class: "value" }, now + (unit ? " " + unit : "")));
    box.append(label);
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", title);
    if (limit !== null && limit !== undefined) values.push(limit);
    const max = fixedMax || Math.max(1e-9, ...values) * 1.1;
    const n = Math.max(2, series[0].length);
    const x = i => pad + (i * (w - 2 * pad)) / (n - 1);
    const y = v => h - pad - (v / max) * (h - 2 * pad);
    series.forEach((s, k) => {
      let d = "", pen = "M";
      s.forEach((v, i) => {
        if (v === null) { pen = "M"; return; }
        d += `${pen}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
        pen = "L";
      });
      if (d) {
        const path = document.createElementNS(svgNs, "path");
        path.setAttribute("d", d.trim());
        path.setAttribute("class", k === 0 ? "line" : "line2");
        svg.append(path);
      }
      // A point with no neighbour draws no line: a dot instead.
      s.forEach((v, i) => {
        if (v === null || (i > 0 && s[i - 1] !== null) || (i + 1 < s.length && s[i + 1] !== null)) return;
        const dot = document.createElementNS(svgNs, "circle");
        for (const [a, b] of Object.entries({ cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 1.8, class: k === 0 ? "dot" : "dot2" })) dot.setAttribute(a, b);
        svg.append(dot);
      });
    });
    if (limit !== null && limit !== undefined) {
      const line = document.createElementNS(svgNs, "line");
      for (const [k, v] of Object.entries({ x1: pad, x2: w - pad, y1: y(limit), y2: y(limit), class: "limit" })) line.setAttribute(k, v);
      svg.append(line);
    }
    box.append(svg);
    return box;
  }

  function renderModels(models) {
    const body = document.querySelector("#models tbody");
    const charts = document.getElementById("charts");
    const note = document.getElementById("models-note");
    body.replaceChildren();
    charts.replaceChildren();
    if (models === null) {
      document.getElementById("models").hidden = true;
      note.hidden = false;
      note.textContent = "This edge serves no models itself: its nodes do (below). Open a node's /status for its models.";
      return;
    }
    note.hidden = models.length > 0;
    note.textContent = "No models in the repository.";
    for (const m of models) {
      const s = m.samples;
      const drift = last(s.drift_psi);
      const row = el("tr", { "data-model": m.name, "data-version": m.version ?? "" });
      const state = (m.state || "").toLowerCase();
      row.append(
        el("td", { class: "name" }, m.name),
        el("td", { class: "version" }, m.version ?? "–"),
        el("td", { class: `state state-${state}`, title: m.reason || "" }, state + (m.state === "READY" && !m.resident ? " (not resident)" : "")),
        el("td", { class: "num requests" }, String(m.requests)),
        el("td", { class: "num rps" }, fmt(last(s.rps), 1)),
        el("td", { class: "num p50" }, fmt(last(s.p50_ms), 2)),
        el("td", { class: "num p99" }, fmt(last(s.p99_ms), 2)),
        el("td", { class: "num queue" }, String(m.queued_rows)),
        el("td", { class: "num cache" }, last(s.cache_hit_ratio) === null ? "–" : fmt(100 * last(s.cache_hit_ratio), 0) + " %"),
        el("td", { class: "num drift" + (drift !== null && m.drift_threshold !== null && drift > m.drift_threshold ? " drifting" : "") },
          m.drift_threshold === null ? "off" : fmt(drift, 3)));
      body.append(row);
      if (m.state !== "READY") continue;
      const card = el("div", { class: "card", "data-model": m.name, "data-version": m.version ?? "" });
      card.append(el("h3", {}, `${m.name} v${m.version}`));
      const grid = el("div", { class: "charts" });
      grid.append(
        chart("rps", "requests/s", [s.rps], "", 1),
        chart("latency", "p50 / p99", [s.p50_ms, s.p99_ms], "ms", 2),
        chart("queue", "queue rows", [s.queued_rows], "", 0),
        chart("cache", "cache hit ratio", [s.cache_hit_ratio], "", 2, null, 1),
        chart("drift", "drift PSI", [s.drift_psi], "", 3, m.drift_threshold));
      card.append(grid);
      charts.append(card);
    }
  }

  function renderNodes(role, nodes) {
    const table = document.getElementById("nodes");
    const note = document.getElementById("nodes-note");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    if (nodes === null) {
      table.hidden = true;
      note.textContent = role === "node"
        ? "This is a node: the edges in front of it track its health."
        : "This server runs its models itself (standalone): no nodes behind it.";
      return;
    }
    table.hidden = false;
    const healthy = nodes.filter(n => n.health === "healthy").length;
    note.textContent = `${healthy} of ${nodes.length} nodes take requests (the edge's own health checks; nothing is probed for this page).`;
    for (const n of nodes) {
      const row = el("tr", { "data-node": n.id });
      row.append(
        el("td", {}, n.id),
        el("td", {}, n.address),
        el("td", { class: `state health-${n.health}` }, n.health),
        el("td", { class: `health-${n.active}` }, n.active),
        el("td", { class: `health-${n.passive}` }, n.passive),
        el("td", {}, n.saturated ? "yes" : "no"),
        el("td", { class: "num" }, String(n.in_flight)));
      body.append(row);
    }
  }

  function render(data) {
    period = data.sample_period_seconds || period;
    document.getElementById("role").textContent = `role ${data.role}`;
    document.getElementById("updated").textContent = new Date(data.time).toLocaleTimeString();
    document.getElementById("period").textContent =
      `a sample every ${data.sample_period_seconds} s, last ${Math.round(data.sample_period_seconds * data.samples_kept / 60)} min`;
    renderTraffic(data.traffic);
    renderModels(data.models);
    renderNodes(data.role, data.nodes);
  }

  // The split each model is routed by (the summary), then one line per rollout: its state, percent and last decision.
  function renderTraffic(traffic) {
    const box = document.getElementById("traffic");
    box.replaceChildren(el("span", { class: "split" }, traffic.summary));
    for (const r of traffic.rollouts) {
      const last = r.last_decision ? ` (${r.last_decision.action}: ${r.last_decision.reason})` : "";
      box.append(el("br"), el("span", { class: "rollout", "data-model": r.model, "data-state": r.state },
        `${r.model}: ${r.strategy} of version ${r.version} over ${r.current_version}, ${r.state} at ${r.percent}%${last}`));
    }
  }

  async function refresh() {
    const error = document.getElementById("error");
    try {
      const response = await fetch("/status/data", { cache: "no-store", credentials: "same-origin" });
      if (!response.ok) throw new Error(`GET /status/data answered ${response.status}`);
      render(await response.json());
      error.hidden = true;
    } catch (e) {
      error.hidden = false;
      error.textContent = `Could not refresh: ${e.message}`;
    }
    setTimeout(refresh, period * 1000);
  }

  document.addEventListener("DOMContentLoaded", refresh);
})();
