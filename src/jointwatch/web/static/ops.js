/* JointWatch console: the joint command center — incidents, units, ops log, response times.
 *
 * Incidents, units and ops-log entries are shared records: loaded from /api/incidents and
 * /api/units at sign-in, then kept current by the "records" WebSocket messages sharing.js
 * hands over (newest version wins, a tombstone removes). The node runs the lifecycle and
 * its clock: the console only shows which actions the state allows and shows the node's
 * reason when it refuses one. Record text is hostile (a partner's node may have written
 * it): the DOM is built with textContent only, the chart with createElementNS.
 *
 * This script holds what the command center's scripts share (JW.opsKit: constants, state,
 * helpers, the API and the record store), takes the live records in and starts at sign-in;
 * it loads first. ops-marking.js, ops-incidents.js, ops-incident.js, ops-units.js and
 * ops-metrics.js add their parts to JW.opsKit, and call each other through it once all
 * have loaded. JW.ops is the face app.js sees.
 */
"use strict";

(function () {
  const JW = (window.JW = window.JW || {});
  const $ = (id) => document.getElementById(id);
  const session = JW.session;
  const kit = (JW.opsKit = {}); // filled below, then by the other ops-*.js scripts

  const KINDS = [
    ["piracy", "Piracy"],
    ["search_and_rescue", "Search and rescue"],
    ["disaster_relief", "Disaster relief"],
    ["illegal_fishing", "Illegal fishing"],
    ["smuggling", "Smuggling"],
    ["pollution", "Pollution"],
    ["zone_violation", "Zone violation"],
    ["other", "Other"],
  ];
  const KIND_LABELS = Object.fromEntries(KINDS);
  const SEVERITIES = ["low", "medium", "high", "critical"];
  const SEVERITY_COLOURS = {
    low: "#90a4ae", medium: "#ffd54f", high: "#ff8a65", critical: "#ef5350",
  };
  const STATE_LABELS = {
    detected: "detected",
    acknowledged: "acknowledged",
    tasked: "tasked",
    on_scene: "on scene",
    resolved: "resolved",
    false_alarm: "false alarm",
  };
  const OPEN_STATES = new Set(["detected", "acknowledged", "tasked", "on_scene"]);
  // name, label, state whose reaching ends the span, last time (a reopened one resolves
  // again), the incident page's label
  const DURATIONS = [
    ["acknowledge", "Acknowledge", "acknowledged", false, "Acknowledged in"],
    ["task", "Task", "tasked", false, "Tasked in"],
    ["on_scene", "On scene", "on_scene", false, "On scene in"],
    ["resolve", "Resolve", "resolved", true, "Resolved in"],
  ];

  const incidents = new Map(); // gid -> newest incident record held (+ owned)
  const gone = new Map(); // gid -> version of its tombstone: an older copy never returns
  let loading = null; // gids the live feed changed while a full load was under way
  const page = { gid: null, log: new Map(), suggest: null, suggestError: "" };
  const state = {
    // What changes after load, in one object so that every part sees the same values.
    me: null,
    hooks: { map: null },
    units: [], // the /api/units answer: live status and position
    layers: null, // the map's command-center layers, made at the first sign-in
    view: "list",
  };
  const pickers = {};
  const timers = {};

  // ---- small helpers ------------------------------------------------------------------------
  const text = (v) => (v === null || v === undefined ? "" : String(v));
  const isNum = (v) => typeof v === "number" && Number.isFinite(v);

  function span(className, value) {
    const el = document.createElement("span");
    el.className = className;
    el.textContent = value;
    return el;
  }

  function el(tag, className, value) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (value !== undefined) node.textContent = value;
    return node;
  }

  function button(label, className) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = className || "tool-button";
    b.textContent = label;
    return b;
  }

  function option(value, label) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }

  function setText(id, value) {
    $(id).textContent = value;
  }

  function later(name, fn, ms) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, ms);
  }

  const utc = (iso, seconds) => {
    const t = Date.parse(iso);
    if (!iso || Number.isNaN(t)) return "—";
    return `${new Date(t).toISOString().slice(0, seconds ? 19 : 16).replace("T", " ")}Z`;
  };

  function age(iso) {
    const t = Date.parse(iso);
    if (!iso || Number.isNaN(t)) return "—";
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d`;
  }

  /** Seconds as people read them: "45 s", "2 min 05 s", "3 h 07 min", "2 d 04 h". */
  function duration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) {
      return "—";
    }
    const s = Math.max(0, Math.round(Number(seconds)));
    const pad = (n) => String(n).padStart(2, "0");
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
    const m = Math.floor(s / 60);
    if (m < 1440) return `${Math.floor(m / 60)} h ${pad(m % 60)} min`;
    const h = Math.floor(m / 60);
    return `${Math.floor(h / 24)} d ${pad(h % 24)} h`;
  }

  function position(lat, lon) {
    if (!isNum(lat) || !isNum(lon)) return "—";
    const ns = lat >= 0 ? "N" : "S";
    const ew = lon >= 0 ? "E" : "W";
    return `${Math.abs(lat).toFixed(4)}° ${ns}  ${Math.abs(lon).toFixed(4)}° ${ew}`;
  }

  const writable = () => session.can("incidents:write");
  const kindLabel = (kind) => KIND_LABELS[kind] || text(kind);
  const stateLabel = (state) => STATE_LABELS[state] || text(state);

  async function call(path, json, method) {
    const options = json === undefined ? { method: method || "GET" } : { json, method };
    const response = await session.api(path, options);
    if (!response.ok) throw new Error(await session.errorText(response));
    return response.json();
  }

  const incidentPath = (gid, rest) => `/api/incidents/${encodeURIComponent(gid)}${rest || ""}`;

  function tip(...lines) {
    const box = el("div", "ops-tip");
    lines.forEach((line, i) => box.append(i === 0 ? el("strong", "", line) : el("div", "", line)));
    return box;
  }

  function mapCentre(latId, lonId) {
    if (!state.hooks.map) return;
    const c = state.hooks.map.getCenter().wrap();
    $(latId).value = c.lat.toFixed(5);
    $(lonId).value = c.lng.toFixed(5);
  }

  // ---- the store -----------------------------------------------------------------------------
  function putIncident(r) {
    if (!r || typeof r.gid !== "string") return false;
    if (loading) loading.add(r.gid);
    const held = incidents.get(r.gid);
    const version = Number(r.version) || 0;
    if (held && Number(held.version) > version) return false; // an older copy lost a race
    if (gone.has(r.gid) && gone.get(r.gid) >= version) return false;
    if (r.deleted) {
      gone.set(r.gid, version);
      return incidents.delete(r.gid);
    }
    const ours = Boolean(state.me && r.origin_node === state.me.node.name);
    const owned = typeof r.owned === "boolean" ? r.owned : ours;
    const { log, durations, ...record } = r; // the page's extras are kept apart
    incidents.set(r.gid, { ...record, owned });
    return true;
  }

  function putLog(r) {
    if (!r || typeof r.gid !== "string" || !page.gid) return false;
    const held = page.log.get(r.gid);
    if (r.deleted) return page.log.delete(r.gid);
    if ((r.payload || {}).incident_gid !== page.gid) return false;
    if (held && Number(held.version) > Number(r.version)) return false;
    page.log.set(r.gid, r);
    return true;
  }

  function applyRecords(list) {
    let changed = false;
    let logChanged = false;
    let unitsChanged = false;
    for (const r of Array.isArray(list) ? list : []) {
      if (!r) continue;
      if (r.kind === "incident") changed = putIncident(r) || changed;
      else if (r.kind === "ops_log") logChanged = putLog(r) || logChanged;
      else if (r.kind === "unit") unitsChanged = true;
    }
    if (changed) incidentsChanged();
    if (logChanged) kit.renderLog();
    // A unit's status follows the open incidents it is tasked to: the node works it out.
    if (changed || unitsChanged) later("units", kit.loadUnits, 250);
  }

  function incidentsChanged() {
    kit.renderIncidents();
    if (page.gid) {
      kit.renderPage();
      later("suggest", kit.loadSuggest, 300);
    }
    if (kit.metricsOpen()) later("metrics", kit.loadMetrics, 400);
  }

  async function loadIncidents() {
    loading = new Set();
    try {
      const body = await call("/api/incidents");
      const list = Array.isArray(body.incidents) ? body.incidents : [];
      const fresh = new Set(list.map((r) => r && r.gid));
      for (const gid of Array.from(incidents.keys())) {
        if (!fresh.has(gid) && !loading.has(gid)) incidents.delete(gid);
      }
      loading = null;
      list.forEach(putIncident);
      setText("incidents-status", "");
    } catch (err) {
      setText("incidents-status", `Could not load incidents (${err.message}).`);
    } finally {
      loading = null;
    }
    incidentsChanged();
  }

  async function reload() {
    if (!session.can("incidents:read")) return;
    await Promise.all([loadIncidents(), kit.loadUnits()]);
    if (page.gid) await kit.loadPage(page.gid);
    document.body.dataset.opsReady = "1";
  }

  const detectedAt = (r) => Date.parse((r.payload || {}).detected_at) || 0;
  const newestFirst = (a, b) => detectedAt(b) - detectedAt(a) || (a.gid < b.gid ? 1 : -1);
  const sorted = () => Array.from(incidents.values()).sort(newestFirst);
  const isOpen = (r) => OPEN_STATES.has((r.payload || {}).state);

  // ---- sign-in and sign-out ------------------------------------------------------------------
  function setupForms() {
    $("new-incident-kind").replaceChildren(...KINDS.map(([v, l]) => option(v, l)));
    $("new-incident-severity").replaceChildren(...SEVERITIES.map((s) => option(s, s)));
    $("new-incident-severity").value = "medium";
    kit.setupPickers();
  }

  function setupMap() {
    const map = state.hooks.map;
    if (!map || state.layers) return;
    map.createPane("ops").style.zIndex = 460;
    const layers = (state.layers = {
      renderer: L.svg({ pane: "ops" }),
      incidents: L.layerGroup().addTo(map),
      units: L.layerGroup().addTo(map),
      focus: L.layerGroup().addTo(map),
    });
    const overlays = { "Open incidents": layers.incidents, Units: layers.units };
    L.control.layers(null, overlays, { position: "topleft", collapsed: true }).addTo(map);
  }

  function start(m, resumed) {
    state.me = m;
    const readable = session.can("incidents:read");
    $("incidents-toggle").hidden = !readable;
    $("metrics-toggle").hidden = !readable;
    if (!readable) return;
    if (!resumed) setupForms();
    setupMap();
    $("unit-compose").hidden = !session.can("units:write");
    kit.selectView(state.view);
    reload();
  }

  function stop() {
    for (const name of Object.keys(timers)) clearTimeout(timers[name]);
  }

  setInterval(() => {
    // Ages grow: keep them current without redrawing the lists.
    for (const node of document.querySelectorAll(".incident-age[data-since]")) {
      node.textContent = age(node.dataset.since);
    }
    for (const node of document.querySelectorAll(".unit-age[data-since]")) {
      if (node.dataset.since) node.textContent = `${age(node.dataset.since)} ago`;
    }
  }, 15000);

  Object.assign(kit, {
    SEVERITY_COLOURS, DURATIONS, incidents, page, state, pickers,
    text, isNum, span, el, button, option, setText, later, utc, age, duration, position,
    writable, kindLabel, stateLabel, call, incidentPath, tip, mapCentre,
    putIncident, putLog, incidentsChanged, sorted, isOpen,
  });

  // The other parts load after this script: JW.ops reaches them through the kit when called.
  JW.ops = {
    /** app.js hands over the map. */
    init: (h) => {
      state.hooks = { ...state.hooks, ...h };
    },
    start,
    stop,
    reload,
    applyRecords,
    alertButton: (getEvent) => kit.alertButton(getEvent),
    openFromAlert: (event, control) => kit.openFromAlert(event, control),
    openIncident: (gid) => kit.openIncident(gid),
    incidents: () => sorted(),
    units: () => state.units.slice(),
    duration,
  };
})();
