/* JointWatch console, command center: the incident page.
 *
 * One incident: its facts and durations, the lifecycle actions its state allows, the
 * timeline, the ops log, re-marking, and the incident on the map. The units sections and
 * relief requests on the page are ops-units.js's. Part of ops.js (JW.opsKit).
 */
"use strict";

(function () {
  const JW = (window.JW = window.JW || {});
  const $ = (id) => document.getElementById(id);
  const session = JW.session;
  const kit = JW.opsKit;
  const { SEVERITY_COLOURS, DURATIONS, incidents, page, state, pickers } = kit;
  const { text, isNum, span, el, button, setText, utc, duration, position, writable } = kit;
  const { kindLabel, stateLabel, call, incidentPath, putIncident, putLog, incidentsChanged } = kit;

  // The states each action may start from (ops/lifecycle.py ACTIONS). The node decides: the
  // console dims what the state does not allow, and shows the node's reason if asked anyway.
  const ALLOWED = {
    acknowledge: ["detected"],
    task: ["acknowledged", "tasked", "on_scene"],
    on_scene: ["tasked", "on_scene"],
    release_unit: ["tasked", "on_scene"],
    resolve: ["acknowledged", "tasked", "on_scene"],
    false_alarm: ["detected", "acknowledged", "tasked", "on_scene"],
    reopen: ["resolved", "false_alarm"],
  };
  const LIFECYCLE = [
    ["acknowledge", "Acknowledge"],
    ["resolve", "Resolve"],
    ["false_alarm", "False alarm"],
    ["reopen", "Reopen"],
  ];
  const ACTION_LABELS = {
    open: "Opened",
    acknowledge: "Acknowledged",
    task: "Unit tasked",
    on_scene: "Unit on scene",
    release_unit: "Unit released",
    resolve: "Resolved",
    false_alarm: "Closed as false alarm",
    reopen: "Reopened",
  };

  // ---- the incident page ---------------------------------------------------------------------
  async function openIncident(gid) {
    if (!gid) return null;
    const key = String(gid);
    if (page.gid !== key) {
      page.gid = key;
      page.log = new Map();
      page.suggest = null;
      page.suggestError = "";
      setText("incident-error", "");
      $("incident-log-text").value = "";
      $("incident-remark").open = false;
      $("incident-page").scrollTop = 0;
    }
    kit.showPanel("page");
    kit.renderIncidents(); // the open one is marked current
    renderPage();
    await loadPage(key);
    focusMap(true);
    kit.loadSuggest();
    return key;
  }

  async function loadPage(gid) {
    try {
      const detail = await call(incidentPath(gid));
      if (page.gid !== gid) return;
      putIncident(detail);
      for (const entry of Array.isArray(detail.log) ? detail.log : []) putLog(entry);
      kit.renderIncidents();
      renderPage();
      const record = incidents.get(gid);
      if (record && pickers.remark) pickers.remark.set(record.marking);
    } catch (err) {
      if (page.gid === gid) setText("incident-error", err.message);
    }
  }

  function closePage() {
    page.gid = null;
    page.log = new Map();
    if (state.layers) state.layers.focus.clearLayers();
    $("incident-page").hidden = true;
    kit.renderIncidents();
  }

  /** Seconds from detection to each milestone, read off the timeline as the node does. */
  function durationsOf(p) {
    const detected = Date.parse(p.detected_at);
    const out = {};
    for (const [name, , state, useLast] of DURATIONS) {
      let reached = null;
      for (const entry of p.timeline || []) {
        if (entry.to === state && entry.from !== state) {
          reached = entry.at;
          if (!useLast) break;
        }
      }
      if (useLast && p.state !== state) reached = null;
      const at = Date.parse(reached);
      const known = reached && !Number.isNaN(at) && !Number.isNaN(detected);
      out[name] = known ? (at - detected) / 1000 : null;
    }
    return out;
  }

  function renderPage() {
    if (!page.gid) return;
    const r = incidents.get(page.gid);
    if (!r) {
      setText("incident-title", "(incident not available)");
      $("incident-banner").replaceChildren();
      $("incident-actions").replaceChildren();
      return;
    }
    const p = r.payload || {};
    const page$ = $("incident-page");
    page$.dataset.gid = r.gid;
    page$.dataset.state = text(p.state);
    page$.dataset.owned = String(r.owned);
    setText("incident-title", text(p.title) || "(untitled)");
    $("incident-banner").replaceChildren(session.marking(r.banner));
    setText("incident-state", stateLabel(p.state));
    $("incident-state").dataset.state = text(p.state);
    setText("incident-severity", text(p.severity));
    $("incident-severity").dataset.severity = text(p.severity);
    const colour = SEVERITY_COLOURS[p.severity] || "#78909c";
    $("incident-severity").style.setProperty("--severity", colour);
    setText("incident-kind-label", kindLabel(p.kind));
    const here = r.owned ? " (this node)" : "";
    setText("incident-owner", `${text(r.origin_nation)} · ${text(r.origin_node)}${here}`);
    setText("incident-position", position(p.lat, p.lon));
    setText("incident-mmsis", Array.isArray(p.mmsis) && p.mmsis.length ? p.mmsis.join(", ") : "—");
    const opener = `${text(p.opened_by)} (${text(p.opened_nation)})`;
    setText("incident-detected", `${utc(p.detected_at, true)} by ${opener}`);
    const src = p.source_alert;
    setText(
      "incident-source",
      src ? `${text(src.kind)} of ${text(src.origin_nation)}, ${utc(src.start)}` : "—",
    );
    setText("incident-description-text", text(p.description));

    const durations = durationsOf(p);
    const dl = $("incident-durations");
    dl.replaceChildren();
    for (const [name, , , , reached] of DURATIONS) {
      const dd = el("dd", "", duration(durations[name]));
      dd.dataset.duration = name;
      dl.append(el("dt", "", reached), dd);
    }

    const note = $("incident-owner-note");
    note.hidden = r.owned;
    note.textContent = r.owned
      ? ""
      : `Run by the ${text(r.origin_nation)} node ${text(r.origin_node)}: its state and ` +
        "taskings change there. You can add to the ops log here.";

    const actions = LIFECYCLE.map(([action, label]) => actionButton(action, label, r));
    $("incident-actions").replaceChildren(...actions);
    kit.renderPageUnits();
    kit.renderRequests(r);
    renderTimeline(p);
    renderLog();
    $("incident-log-form").hidden = !writable();
    $("incident-remark").hidden = !(r.owned && writable());
    focusMap(false);
  }

  function actionButton(action, label, r, unitGid) {
    const state = text((r.payload || {}).state);
    const b = button(label);
    b.dataset.action = action;
    if (unitGid) b.dataset.unit = unitGid;
    const allowed = ALLOWED[action].includes(state);
    b.dataset.allowed = String(allowed);
    if (!r.owned || !writable()) {
      b.disabled = true;
      b.title = r.owned ? "You may not act on incidents." : "Run by another node.";
    } else if (!allowed) {
      b.classList.add("not-allowed");
      b.title = `Not while ${stateLabel(state)}: the node will refuse.`;
    } else if (action !== "false_alarm") {
      b.classList.add("primary");
    }
    b.addEventListener("click", () => act(action, unitGid, b));
    return b;
  }

  async function act(action, unitGid, control) {
    const gid = page.gid;
    if (!gid) return;
    setText("incident-error", "");
    const body = { action };
    if (unitGid) body.unit_gid = unitGid;
    control.disabled = true;
    try {
      const record = await call(incidentPath(gid, "/actions"), body);
      putIncident(record);
      incidentsChanged();
      kit.loadUnits();
    } catch (err) {
      if (page.gid === gid) setText("incident-error", err.message);
      control.disabled = false;
    }
  }

  function renderTimeline(p) {
    const list = $("incident-timeline");
    list.replaceChildren();
    for (const entry of Array.isArray(p.timeline) ? p.timeline : []) {
      const li = el("li", "timeline-item");
      li.dataset.action = text(entry.action);
      li.dataset.to = text(entry.to);
      const head = el("span", "ops-item-head");
      head.append(
        span("timeline-when", utc(entry.at, true)),
        span("timeline-action", ACTION_LABELS[entry.action] || text(entry.action)),
      );
      const change = entry.from && entry.from !== entry.to
        ? `${stateLabel(entry.from)} → ${stateLabel(entry.to)}`
        : stateLabel(entry.to);
      const who = el("span", "ops-item-line");
      who.append(
        span("origin", text(entry.nation)), span("timeline-by", text(entry.by)),
        span("muted", ` · ${change}`),
      );
      li.append(head, who);
      if (entry.unit) {
        const unit = `unit ${text(entry.unit.name)} (${text(entry.unit.nation)})`;
        li.append(span("ops-item-line muted", unit));
      }
      if (entry.note) li.append(span("ops-item-line timeline-note", text(entry.note)));
      list.append(li);
    }
  }

  function renderLog() {
    const list = $("incident-log");
    const entries = Array.from(page.log.values()).sort((a, b) =>
      text((a.payload || {}).at) < text((b.payload || {}).at) ? -1 : 1);
    list.replaceChildren();
    for (const entry of entries) {
      const p = entry.payload || {};
      const li = el("li", "log-item");
      li.dataset.gid = entry.gid;
      li.dataset.nation = text(p.nation);
      const head = el("span", "ops-item-head");
      head.append(
        span("origin", text(p.nation)), span("log-by", text(p.by)), span("muted", utc(p.at, true)),
      );
      li.append(session.marking(entry.banner), head, span("log-text", text(p.text)));
      list.append(li);
    }
    if (!entries.length) list.append(el("li", "muted", "Nothing logged yet."));
  }

  async function submitLog(event) {
    event.preventDefault();
    const gid = page.gid;
    const value = $("incident-log-text").value.trim();
    setText("incident-error", "");
    if (!gid || !value) return;
    $("incident-log-submit").disabled = true;
    try {
      const record = await call(incidentPath(gid, "/log"), { text: value });
      if (putLog(record)) renderLog();
      $("incident-log-text").value = "";
    } catch (err) {
      setText("incident-error", err.message);
    } finally {
      $("incident-log-submit").disabled = false;
    }
  }

  async function submitRemark(event) {
    event.preventDefault();
    const gid = page.gid;
    setText("incident-error", "");
    try {
      const record = await call(incidentPath(gid), { marking: pickers.remark.value() }, "PATCH");
      putIncident(record);
      incidentsChanged();
      $("incident-remark").open = false;
    } catch (err) {
      setText("incident-error", err.message);
    }
  }

  /** The open incident on the main map: its position, area and the units sent to it. */
  function focusMap(fly) {
    const layers = state.layers;
    if (!layers || !page.gid) return;
    layers.focus.clearLayers();
    const r = incidents.get(page.gid);
    if (!r) return;
    const p = r.payload || {};
    const points = [];
    if (p.area) {
      try {
        const area = L.geoJSON(p.area, {
          renderer: layers.renderer, pane: "ops", interactive: false,
          style: { color: "#ffffff", weight: 2, dashArray: "6 4", fillOpacity: 0.08 },
        }).addTo(layers.focus);
        const bounds = area.getBounds();
        if (bounds.isValid()) points.push(bounds.getSouthWest(), bounds.getNorthEast());
      } catch (err) {
        console.warn("unreadable incident area", err);
      }
    }
    if (isNum(p.lat) && isNum(p.lon)) {
      const at = L.latLng(p.lat, p.lon);
      points.push(at);
      L.circleMarker(at, {
        renderer: layers.renderer, pane: "ops", interactive: false, radius: 15, color: "#ffffff",
        weight: 2, fill: false, className: "incident-focus",
      }).addTo(layers.focus);
      const byGid = new Map(state.units.map((u) => [u.gid, u]));
      for (const t of (p.taskings || []).filter((x) => x.status !== "released")) {
        const u = byGid.get(t.unit_gid);
        if (!u || !isNum(u.lat) || !isNum(u.lon)) continue;
        L.polyline([[u.lat, u.lon], at], {
          renderer: layers.renderer, pane: "ops", interactive: false, color: "#ffb74d",
          weight: 1.5, dashArray: "4 4",
        }).addTo(layers.focus);
      }
    }
    if (!fly || !points.length || !state.hooks.map) return;
    const map = state.hooks.map;
    map.invalidateSize();
    if (points.length === 1) map.flyTo(points[0], Math.max(map.getZoom(), 8), { duration: 0.6 });
    else map.flyToBounds(L.latLngBounds(points), { padding: [60, 60], maxZoom: 10, duration: 0.6 });
  }

  $("incident-back").addEventListener("click", () => {
    closePage();
    kit.showPanel("incidents");
  });
  $("incident-close").addEventListener("click", () => {
    closePage();
    kit.showPanel(null);
  });
  $("incident-log-form").addEventListener("submit", submitLog);
  $("incident-remark-form").addEventListener("submit", submitRemark);

  Object.assign(kit, {
    openIncident, loadPage, closePage, renderPage, actionButton, renderLog,
  });
})();
