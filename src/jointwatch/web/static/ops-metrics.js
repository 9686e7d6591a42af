/* JointWatch console, command center: response times.
 *
 * The metrics panel: the node's /api/metrics/response-times by kind, nation and month as
 * tables, and median and 90th percentile per kind as an SVG chart built with
 * createElementNS (no strings of markup, no style attributes). Fresh when the panel opens,
 * live while it is open. Part of ops.js (JW.opsKit).
 */
"use strict";

(function () {
  const JW = (window.JW = window.JW || {});
  const $ = (id) => document.getElementById(id);
  const kit = JW.opsKit;
  const { DURATIONS, text, isNum, span, el, setText, duration, kindLabel, call } = kit;

  const METRIC_TABLES = [
    ["kind", "metrics-kind", "Kind"],
    ["nation", "metrics-nation", "Nation"],
    ["month", "metrics-month", "Month"],
  ];
  const SVG_NS = "http://www.w3.org/2000/svg";
  // The chart's two bars per row: [statistic, class, top offset, height]; p90 behind median.
  const BARS = [["p90_s", "bar-p90", 3, 16], ["median_s", "bar-median", 7, 8]];

  // ---- response-time metrics ----------------------------------------------------------------
  const metricsOpen = () => !$("metrics-panel").hidden;

  async function loadMetrics() {
    const params = new URLSearchParams();
    for (const g of ["kind", "nation", "month", "all"]) params.append("group_by", g);
    try {
      const body = await call(`/api/metrics/response-times?${params}`);
      renderMetrics(body);
    } catch (err) {
      setText("metrics-status", `Could not load response times (${err.message}).`);
    }
  }

  function groupLabel(group, key) {
    if (group === "kind") return kindLabel(key);
    return text(key);
  }

  function statCell(tag, name, stat, stats) {
    const cell = el(tag, "metric-cell", duration(stats[stat]));
    cell.dataset.duration = name;
    cell.dataset.stat = stat === "median_s" ? "median" : "p90";
    if (isNum(stats[stat])) cell.dataset.seconds = String(stats[stat]);
    cell.title = `${Number(stats.count) || 0} reached`;
    return cell;
  }

  function metricsRow(group, row, tag) {
    const tr = el("tr");
    tr.dataset.group = text(row.group);
    const head = el("th", "", groupLabel(group, row.group));
    head.scope = "row";
    const count = el(tag, "metric-count", String(Number(row.incidents) || 0));
    tr.append(head, count);
    for (const [name] of DURATIONS) {
      const stats = row[name] || {};
      tr.append(statCell(tag, name, "median_s", stats), statCell(tag, name, "p90_s", stats));
    }
    return tr;
  }

  function renderTable(table, group, label, rows, all) {
    const head = el("thead");
    const top = el("tr");
    const first = el("th", "", label);
    first.rowSpan = 2;
    first.scope = "col";
    const count = el("th", "", "Incidents");
    count.rowSpan = 2;
    count.scope = "col";
    top.append(first, count);
    const sub = el("tr");
    for (const [, name] of DURATIONS) {
      const th = el("th", "", name);
      th.colSpan = 2;
      th.scope = "colgroup";
      top.append(th);
      sub.append(el("th", "sub", "median"), el("th", "sub", "p90"));
    }
    head.append(top, sub);
    const body = el("tbody");
    for (const row of rows) body.append(metricsRow(group, row, "td"));
    if (!rows.length) {
      const tr = el("tr");
      const td = el("td", "muted", "No incidents yet.");
      td.colSpan = 2 + DURATIONS.length * 2;
      tr.append(td);
      body.append(tr);
    }
    const foot = el("tfoot");
    if (all) {
      const tr = metricsRow("all", { ...all, group: "All" }, "td");
      foot.append(tr);
    }
    table.replaceChildren(head, body, foot);
  }

  function renderMetrics(body) {
    const groups = body.groups || {};
    const all = (groups.all || [])[0] || null;
    const n = Number(body.incidents) || 0;
    const stamp = new Date().toISOString().slice(11, 19);
    const count = `${n.toLocaleString()} incident${n === 1 ? "" : "s"}`;
    setText("metrics-status", `${count} · updated ${stamp}Z`);
    $("metrics-panel").dataset.incidents = String(n);
    for (const [group, id, label] of METRIC_TABLES) {
      renderTable($(id), group, label, Array.isArray(groups[group]) ? groups[group] : [], all);
    }
    renderChart(Array.isArray(groups.kind) ? groups.kind : []);
  }

  function svg(tag, attrs, value) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (value !== undefined) node.textContent = value;
    return node;
  }

  /** Median and p90 per kind for each duration: one small bar chart per duration. */
  function renderChart(rows) {
    const box = $("metrics-chart");
    if (!rows.length) {
      box.replaceChildren(span("muted", "No incidents to chart yet."));
      return;
    }
    const width = 640;
    const labelW = 130;
    const valueW = 150;
    const barMax = width - labelW - valueW - 12;
    const rowH = 22;
    const headH = 22;
    const gap = 8;
    const legendH = 22;
    const height = legendH + DURATIONS.length * (headH + rows.length * rowH + gap);
    const root = svg("svg", {
      viewBox: `0 0 ${width} ${height}`, width, height, class: "metrics-svg", role: "img",
      "aria-label": "Response times per incident kind: median and 90th percentile",
    });
    root.append(
      svg("rect", { x: labelW, y: 5, width: 14, height: 10, class: "bar-p90" }),
      svg("text", { x: labelW + 20, y: 14, class: "chart-legend" }, "90th percentile"),
      svg("rect", { x: labelW + 140, y: 7, width: 14, height: 6, class: "bar-median" }),
      svg("text", { x: labelW + 160, y: 14, class: "chart-legend" }, "median"),
    );
    let y = legendH;
    for (const [name, label] of DURATIONS) {
      const values = rows.flatMap((r) => [(r[name] || {}).median_s, (r[name] || {}).p90_s]);
      const max = Math.max(1, ...values.filter(isNum));
      const scale = (v) => (isNum(v) ? Math.max(1, (v / max) * barMax) : 0);
      const group = svg("g", { class: "chart-panel", "data-duration": name });
      group.append(svg("text", { x: 0, y: y + 15, class: "chart-title" }, label));
      y += headH;
      group.append(svg("line", {
        x1: labelW, x2: labelW, y1: y, y2: y + rows.length * rowH, class: "chart-axis",
      }));
      for (const row of rows) {
        const stats = row[name] || {};
        group.append(svg("text", {
          x: labelW - 8, y: y + 15, class: "chart-label", "text-anchor": "end",
        }, kindLabel(row.group)));
        for (const [stat, cls, top, h] of BARS) {
          if (!isNum(stats[stat])) continue;
          const rect = svg("rect", {
            x: labelW, y: y + top, width: scale(stats[stat]).toFixed(1), height: h, class: cls,
            "data-kind": text(row.group), "data-duration": name,
            "data-stat": stat === "median_s" ? "median" : "p90", "data-seconds": stats[stat],
          });
          const which = stat === "median_s" ? "median" : "p90";
          const about = `${kindLabel(row.group)}, ${label.toLowerCase()}: ${which}`;
          rect.append(svg("title", {}, `${about} ${duration(stats[stat])}`));
          group.append(rect);
        }
        const value = isNum(stats.median_s)
          ? `${duration(stats.median_s)} / ${duration(stats.p90_s)}`
          : "not reached";
        const at = { x: labelW + barMax + 10, y: y + 15, class: "chart-value" };
        group.append(svg("text", at, value));
        y += rowH;
      }
      y += gap;
      root.append(group);
    }
    box.replaceChildren(root);
  }

  $("metrics-toggle").addEventListener("click", () => {
    kit.showPanel(metricsOpen() ? null : "metrics");
  });
  $("metrics-close").addEventListener("click", () => {
    kit.showPanel(null);
    $("metrics-toggle").focus();
  });

  Object.assign(kit, { metricsOpen, loadMetrics });
})();
