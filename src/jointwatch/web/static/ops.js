/* JointWatch console: the joint command center — incidents, units, ops log, response times.
 *
 * Incidents, units and ops-log entries are shared records: loaded from /api/incidents and
 * /api/units at sign-in, then kept current by the "records" WebSocket messages sharing.js
 * hands over (newest version wins, a tombstone removes). The node runs the lifecycle and
 * its clock: the console only shows which actions the state allows and shows the node's
 * reason when it refuses one. Record text is hostile (a partner's node may have written
 * it): the DOM is built with textContent only, the chart with createElementNS.
 */
"use strict";

(function () {
  const JW = (window.JW = window.JW || {});
  const $ = (id) => document.getElementById(id);
  const session = JW.session;
  const sharing = JW.sharing;

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
  const BOARD = [
    ["detected", ["detected"], "Detected"],
    ["acknowledged", ["acknowledged"], "Acknowledged"],
    ["tasked", ["tasked"], "Tasked"],
    ["on_scene", ["on_scene"], "On scene"],
    ["closed", ["resolved", "false_alarm"], "Closed"],
  ];
  const BOARD_CLOSED_MAX = 30;
  // name, label, state whose reaching ends the span, last time (a reopened one resolves
  // again), the incident page's label
  const DURATIONS = [
    ["acknowledge", "Acknowledge", "acknowledged", false, "Acknowledged in"],
    ["task", "Task", "tasked", false, "Tasked in"],
    ["on_scene", "On scene", "on_scene", false, "On scene in"],
    ["resolve", "Resolve", "resolved", true, "Resolved in"],
  ];
  const METRIC_TABLES = [
    ["kind", "metrics-kind", "Kind"],
    ["nation", "metrics-nation", "Nation"],
    ["month", "metrics-month", "Month"],
  ];
  const UNIT_TYPES = {
    ship: "ship", aircraft: "aircraft", boat_team: "boat team", shore_team: "shore team",
  };
  const UNIT_STATUS = {
    available: "available", tasked: "tasked", on_scene: "on scene", unavailable: "unavailable",
  };
  const UNIT_COLOURS = {
    available: "#66bb6a", tasked: "#ffb74d", on_scene: "#ef5350", unavailable: "#78909c",
  };
  const M_PER_NM = 1852;
  const SVG_NS = "http://www.w3.org/2000/svg";
  // The chart's two bars per row: [statistic, class, top offset, height]; p90 behind median.
  const BARS = [["p90_s", "bar-p90", 3, 16], ["median_s", "bar-median", 7, 8]];

  const incidents = new Map(); // gid -> newest incident record held (+ owned)
  const gone = new Map(); // gid -> version of its tombstone: an older copy never returns
  let loading = null; // gids the live feed changed while a full load was under way
  let units = []; // the /api/units answer: live status and position
  const page = { gid: null, log: new Map(), suggest: null, suggestError: "" };
  let me = null;
  let hooks = { map: null };
  let layers = null; // the map's command-center layers, made at the first sign-in
  const pickers = {};
  const timers = {};
  let view = "list";

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

  function toast(message) {
    const box = $("ops-toast");
    box.textContent = message;
    box.hidden = false;
    later("toast", () => {
      box.hidden = true;
    }, 8000);
  }

  // ---- markings: a picker like the report form's, and banners parsed ---------------------
  function parseBanner(banner) {
    const parts = text(banner).split("//").map((p) => p.trim());
    const out = { classification: parts[0], rel_to: [], local_only: false, tlp: null, caveats: [] };
    for (const part of parts.slice(1)) {
      const upper = part.toUpperCase();
      if (upper === "NOFORN") out.local_only = true;
      else if (upper.startsWith("REL TO")) {
        out.rel_to.push(...part.slice(6).split(",").map((v) => v.trim()).filter(Boolean));
      } else if (upper.startsWith("TLP:")) out.tlp = upper;
      else if (part) out.caveats.push(part);
    }
    return out;
  }

  /** Fill ``fieldset`` with classification, NOFORN, REL TO, TLP and caveats controls. */
  function markingPicker(fieldset) {
    const node = me.node;
    const id = fieldset.id;
    const top = node.levels.indexOf(me.clearance);
    const levels = node.levels.slice(0, top < 0 ? node.levels.length : top + 1);
    const legend = fieldset.querySelector("legend");
    fieldset.replaceChildren(...(legend ? [legend] : []));

    const label = (forId, value) => {
      const l = el("label", "", value);
      l.htmlFor = forId;
      return l;
    };
    const classification = el("select");
    classification.id = `${id}-classification`;
    classification.name = "classification";
    classification.append(...levels.map((l) => option(l, l)));
    const noforn = el("input");
    noforn.type = "checkbox";
    noforn.name = "noforn";
    const nofornLabel = el("label", "check");
    nofornLabel.append(noforn, document.createTextNode(" NOFORN (this nation only)"));
    const relto = el("div", "relto");
    relto.setAttribute("role", "group");
    relto.setAttribute("aria-label", "Releasable to");
    relto.append(span("relto-title", "REL TO"));
    const nations = Array.from(new Set(node.partners.map((p) => String(p.nation))))
      .filter((n) => n !== node.nation)
      .sort();
    const groups = Object.keys(node.groups || {}).sort();
    const choices = nations.map((n) => [n, n]).concat(
      groups.map((g) => [g, `${g} (${(node.groups[g] || []).join(", ")})`]),
    );
    for (const [value, name] of choices) {
      const l = el("label", "check");
      const box = el("input");
      box.type = "checkbox";
      box.name = "rel_to";
      box.value = value;
      l.append(box, document.createTextNode(` ${name}`));
      relto.append(l);
    }
    if (!choices.length) relto.append(span("muted", "No partner nodes or sharing groups."));
    const tlp = el("select");
    tlp.id = `${id}-tlp`;
    tlp.name = "tlp";
    tlp.append(option("", "none"), ...node.tlp.map((t) => option(t, t)));
    const caveats = el("input");
    caveats.type = "text";
    caveats.id = `${id}-caveats`;
    caveats.name = "caveats";
    caveats.autocomplete = "off";
    caveats.placeholder = "comma-separated";
    fieldset.append(
      label(classification.id, "Classification"), classification, nofornLabel, relto,
      label(tlp.id, "TLP"), tlp, label(caveats.id, "Caveats"), caveats,
    );

    const boxes = () => Array.from(relto.querySelectorAll("input"));
    const sync = () => {
      for (const box of boxes()) {
        box.disabled = noforn.checked;
        if (noforn.checked) box.checked = false;
      }
      relto.classList.toggle("disabled", noforn.checked);
    };
    noforn.addEventListener("change", sync);
    const picker = {
      value: () => ({
        classification: classification.value,
        rel_to: noforn.checked ? [] : boxes().filter((b) => b.checked).map((b) => b.value),
        local_only: noforn.checked,
        tlp: tlp.value || null,
        caveats: caveats.value.split(",").map((c) => c.trim()).filter(Boolean),
      }),
      set: (m) => {
        const marking = m || {};
        if (levels.includes(marking.classification)) classification.value = marking.classification;
        noforn.checked = Boolean(marking.local_only);
        const rel = new Set(marking.rel_to || []);
        for (const box of boxes()) box.checked = rel.has(box.value);
        tlp.value = node.tlp.includes(marking.tlp) ? marking.tlp : "";
        caveats.value = (marking.caveats || []).join(", ");
        sync();
      },
    };
    picker.reset = () => picker.set(parseBanner(node.event_marking));
    picker.reset();
    return picker;
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
    const ours = Boolean(me && r.origin_node === me.node.name);
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
    if (logChanged) renderLog();
    // A unit's status follows the open incidents it is tasked to: the node works it out.
    if (changed || unitsChanged) later("units", loadUnits, 250);
  }

  function incidentsChanged() {
    renderIncidents();
    if (page.gid) {
      renderPage();
      later("suggest", loadSuggest, 300);
    }
    if (metricsOpen()) later("metrics", loadMetrics, 400);
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

  async function loadUnits() {
    if (!session.can("incidents:read")) return;
    try {
      const body = await call("/api/units");
      units = Array.isArray(body.units) ? body.units : [];
      setText("units-status", units.length ? "" : "No units yet.");
    } catch (err) {
      setText("units-status", `Could not load units (${err.message}).`);
    }
    renderUnits();
    if (page.gid) renderPageUnits();
  }

  async function reload() {
    if (!session.can("incidents:read")) return;
    await Promise.all([loadIncidents(), loadUnits()]);
    if (page.gid) await loadPage(page.gid);
    document.body.dataset.opsReady = "1";
  }

  const detectedAt = (r) => Date.parse((r.payload || {}).detected_at) || 0;
  const newestFirst = (a, b) => detectedAt(b) - detectedAt(a) || (a.gid < b.gid ? 1 : -1);
  const sorted = () => Array.from(incidents.values()).sort(newestFirst);
  const isOpen = (r) => OPEN_STATES.has((r.payload || {}).state);

  // ---- incident list, board and map layer --------------------------------------------------
  function card(r) {
    const p = r.payload || {};
    const b = button("", "incident-card");
    b.dataset.gid = r.gid;
    b.dataset.state = text(p.state);
    b.dataset.severity = text(p.severity);
    b.dataset.kind = text(p.kind);
    b.dataset.origin = text(r.origin_nation);
    b.style.setProperty("--severity", SEVERITY_COLOURS[p.severity] || "#78909c");
    const meta = el("span", "record-meta");
    meta.append(
      span("origin", text(r.origin_nation)),
      span("incident-kind", kindLabel(p.kind)),
      span("severity-chip", text(p.severity)),
    );
    const line = el("span", "incident-line muted");
    const since = span("incident-age", age(p.detected_at));
    since.dataset.since = text(p.detected_at);
    line.append(span("incident-state", stateLabel(p.state)), document.createTextNode(" · "), since);
    const title = span("incident-card-title", text(p.title) || "(untitled)");
    b.append(session.marking(r.banner), meta, title, line);
    b.setAttribute("aria-current", String(r.gid === page.gid));
    b.addEventListener("click", () => openIncident(r.gid));
    return b;
  }

  function cardItem(r) {
    const li = el("li");
    li.dataset.gid = r.gid;
    li.append(card(r));
    return li;
  }

  function renderIncidents() {
    const all = sorted();
    const open = all.filter(isOpen);
    const filter = $("incidents-filter").value;
    const shown = all.filter((r) => {
      if (filter === "open") return isOpen(r);
      return filter === "closed" ? !isOpen(r) : true;
    });
    $("incidents-list").replaceChildren(...shown.map(cardItem));
    setText("incident-count", open.length.toLocaleString());
    $("incident-count").dataset.open = String(open.length);
    if (!$("incidents-status").textContent.startsWith("Could not")) {
      setText(
        "incidents-status",
        all.length
          ? `${shown.length.toLocaleString()} of ${all.length.toLocaleString()} incidents`
          : "No incidents yet.",
      );
    }
    const columns = BOARD.map(([key, states, label]) => {
      let cards = all.filter((r) => states.includes((r.payload || {}).state));
      const count = cards.length;
      if (key === "closed") cards = cards.slice(0, BOARD_CLOSED_MAX);
      const col = el("section", "board-col");
      col.dataset.state = key;
      const head = el("h3", "", `${label} `);
      head.append(span("badge count", count.toLocaleString()));
      const list = el("ol", "board-list");
      list.append(...cards.map(cardItem));
      col.append(head, list);
      return col;
    });
    $("incidents-board").replaceChildren(...columns);
    drawIncidentLayer(open);
  }

  function tip(...lines) {
    const box = el("div", "ops-tip");
    lines.forEach((line, i) => box.append(i === 0 ? el("strong", "", line) : el("div", "", line)));
    return box;
  }

  function drawIncidentLayer(open) {
    if (!layers) return;
    layers.incidents.clearLayers();
    for (const r of open) {
      const p = r.payload || {};
      if (!isNum(p.lat) || !isNum(p.lon)) continue;
      const colour = SEVERITY_COLOURS[p.severity] || "#78909c";
      const mark = L.circleMarker([p.lat, p.lon], {
        renderer: layers.renderer, pane: "ops", radius: 9, color: colour, weight: 3,
        fillColor: colour, fillOpacity: 0.25, className: "incident-mark",
      });
      const about = `${kindLabel(p.kind)} · ${text(p.severity)} · ${stateLabel(p.state)}`;
      mark.bindTooltip(tip(text(p.title), about, text(r.origin_nation)));
      mark.on("click", () => openIncident(r.gid));
      mark.addTo(layers.incidents);
    }
  }

  // ---- opening an incident: from an alert in one click, or by hand --------------------------
  function sourceMatches(r, event) {
    const src = (r.payload || {}).source_alert;
    if (!src) return false;
    if (event.origin) return src.gid === String(event.id);
    return !src.gid && String(src.id) === String(event.id) && src.origin_nation === me.node.nation;
  }

  /** The alert's own marking: a partner's alert stays with its nation, ours keeps the node's
   * event marking; the officer widens it on the incident page. */
  function alertMarking(event) {
    if (event.origin) {
      const record = sharing.record(String(event.id));
      const m = (record && record.marking) || parseBanner(event.banner);
      return {
        classification: m.classification,
        rel_to: [String(event.origin)],
        local_only: false,
        tlp: m.tlp || null,
        caveats: m.caveats || [],
      };
    }
    return parseBanner(me.node.event_marking || event.banner);
  }

  async function openFromAlert(event, control) {
    if (!event || !me) return null;
    const existing = sorted().find((r) => isOpen(r) && sourceMatches(r, event));
    if (existing) return openIncident(existing.gid);
    const body = { severity: "medium", marking: alertMarking(event) };
    if (event.origin) body.alert_gid = String(event.id);
    else body.alert_id = String(event.id);
    if (control) control.disabled = true;
    try {
      let record;
      try {
        record = await call("/api/incidents", body);
      } catch (err) {
        if (body.marking.local_only) throw err;
        // The node would not release it so (e.g. a sharing group it does not know): keep the
        // incident on this node; the officer can widen it afterwards.
        const local = { ...body.marking, rel_to: [], local_only: true };
        record = await call("/api/incidents", { ...body, marking: local }).catch(() => {
          throw err;
        });
      }
      putIncident(record);
      incidentsChanged();
      return openIncident(record.gid);
    } catch (err) {
      toast(`Could not open an incident: ${err.message}`);
      return null;
    } finally {
      if (control) control.disabled = false;
    }
  }

  /** The "Open incident" control of one alert item. An <input type="button">: the item's one
   * <button> is the alert itself (it shows the alert on the map). */
  function alertButton(getEvent) {
    const control = document.createElement("input");
    control.type = "button";
    control.className = "tool-button alert-incident";
    control.value = "Open incident";
    control.hidden = !writable();
    control.addEventListener("click", (ev) => {
      ev.stopPropagation();
      openFromAlert(getEvent(), control);
    });
    return control;
  }

  function newIncidentBody() {
    const value = (id) => $(id).value.trim();
    const title = value("new-incident-title");
    if (!title) throw new Error("An incident needs a title.");
    const body = {
      kind: $("new-incident-kind").value,
      severity: $("new-incident-severity").value,
      title,
      description: value("new-incident-description"),
      marking: pickers.incident.value(),
    };
    const lat = value("new-incident-lat");
    const lon = value("new-incident-lon");
    if ((lat === "") !== (lon === "")) throw new Error("Give both latitude and longitude.");
    if (lat !== "") {
      body.lat = Number(lat);
      body.lon = Number(lon);
      if (!Number.isFinite(body.lat) || !Number.isFinite(body.lon)) {
        throw new Error("Latitude and longitude are decimal degrees.");
      }
    }
    return body;
  }

  async function submitIncident(event) {
    event.preventDefault();
    setText("new-incident-error", "");
    let body;
    try {
      body = newIncidentBody();
    } catch (err) {
      setText("new-incident-error", err.message);
      return;
    }
    $("new-incident-submit").disabled = true;
    try {
      const record = await call("/api/incidents", body);
      putIncident(record);
      incidentsChanged();
      $("incident-form").reset();
      $("incident-compose").open = false;
      await openIncident(record.gid);
    } catch (err) {
      setText("new-incident-error", err.message);
    } finally {
      $("new-incident-submit").disabled = false;
    }
  }

  function mapCentre(latId, lonId) {
    if (!hooks.map) return;
    const c = hooks.map.getCenter().wrap();
    $(latId).value = c.lat.toFixed(5);
    $(lonId).value = c.lng.toFixed(5);
  }

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
    showPanel("page");
    renderIncidents(); // the open one is marked current
    renderPage();
    await loadPage(key);
    focusMap(true);
    loadSuggest();
    return key;
  }

  async function loadPage(gid) {
    try {
      const detail = await call(incidentPath(gid));
      if (page.gid !== gid) return;
      putIncident(detail);
      for (const entry of Array.isArray(detail.log) ? detail.log : []) putLog(entry);
      renderIncidents();
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
    if (layers) layers.focus.clearLayers();
    $("incident-page").hidden = true;
    renderIncidents();
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
    renderPageUnits();
    renderRequests(r);
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
      loadUnits();
    } catch (err) {
      if (page.gid === gid) setText("incident-error", err.message);
      control.disabled = false;
    }
  }

  function unitEta(distanceM, etaH) {
    const parts = [];
    if (isNum(distanceM)) parts.push(`${(distanceM / M_PER_NM).toFixed(1)} nm`);
    if (isNum(etaH)) parts.push(`ETA ${etaH.toFixed(1)} h`);
    return parts.join(" · ");
  }

  function renderPageUnits() {
    const r = incidents.get(page.gid);
    if (!r) return;
    const taskings = Array.isArray((r.payload || {}).taskings) ? r.payload.taskings : [];
    const list = $("incident-units");
    list.replaceChildren();
    for (const t of taskings) {
      const li = el("li", "ops-item");
      li.dataset.unit = text(t.unit_gid);
      li.dataset.status = text(t.status);
      const head = el("span", "ops-item-head");
      head.append(
        span("origin", text(t.unit_nation)),
        span("ops-item-name", text(t.unit_name)),
        span("status-chip", UNIT_STATUS[t.status] || text(t.status)),
      );
      const when = [`tasked ${utc(t.tasked_at, true)}`];
      if (t.on_scene_at) when.push(`on scene ${utc(t.on_scene_at, true)}`);
      if (t.released_at) when.push(`released ${utc(t.released_at, true)}`);
      const line = [unitEta(t.distance_m, t.eta_h), ...when].filter(Boolean).join(" · ");
      li.append(head, span("ops-item-line muted", line));
      const row = el("div", "tool-row");
      const active = isOpen(r) && (t.status === "tasked" || t.status === "on_scene");
      if (active && t.status === "tasked") {
        row.append(actionButton("on_scene", "On scene", r, t.unit_gid));
      }
      if (active) row.append(actionButton("release_unit", "Release", r, t.unit_gid));
      if (row.childElementCount) li.append(row);
      list.append(li);
    }
    if (!taskings.length) list.append(el("li", "muted", "No unit tasked yet."));
    renderSuggest();
  }

  async function loadSuggest() {
    const gid = page.gid;
    const r = gid && incidents.get(gid);
    if (!r) return;
    const p = r.payload || {};
    if (!isOpen(r) || !isNum(p.lat) || !isNum(p.lon)) {
      page.suggest = [];
      page.suggestError = isOpen(r)
        ? "The incident has no position to measure from."
        : "The incident is closed: reopen it to task units.";
      renderSuggest();
      return;
    }
    try {
      const body = await call(incidentPath(gid, "/suggest?limit=5"));
      if (page.gid !== gid) return;
      page.suggest = Array.isArray(body.units) ? body.units : [];
      page.suggestError = "";
    } catch (err) {
      if (page.gid !== gid) return;
      page.suggest = [];
      page.suggestError = err.message;
    }
    renderSuggest();
  }

  function renderSuggest() {
    const list = $("incident-suggest");
    const r = incidents.get(page.gid);
    list.replaceChildren();
    if (!r) return;
    if (page.suggest === null) {
      list.append(el("li", "muted", "Looking for units…"));
      return;
    }
    if (page.suggestError) {
      list.append(el("li", "muted", page.suggestError));
      return;
    }
    for (const u of page.suggest) {
      const li = el("li", "ops-item");
      li.dataset.unit = text(u.gid);
      const head = el("span", "ops-item-head");
      head.append(
        span("origin", text(u.nation)),
        span("ops-item-name", text(u.name)),
        span("muted", UNIT_TYPES[u.type] || text(u.type)),
      );
      const distance = span("suggest-distance", `${Number(u.distance_nm).toFixed(1)} nm`);
      const eta = span("suggest-eta", `ETA ${Number(u.eta_h).toFixed(1)} h`);
      const line = el("span", "ops-item-line");
      const speed = document.createTextNode(` at ${text(u.speed_kn)} kn`);
      line.append(distance, document.createTextNode(" · "), eta, speed);
      const row = el("div", "tool-row");
      row.append(actionButton("task", "Task", r, u.gid));
      li.append(head, line, row);
      list.append(li);
    }
    if (!page.suggest.length) list.append(el("li", "muted", "No available unit with a position."));
  }

  function renderRequests(r) {
    const p = r.payload || {};
    const relief = p.kind === "disaster_relief";
    $("incident-requests-section").hidden = !relief;
    if (!relief) return;
    $("incident-request-form").hidden = !(r.owned && writable());
    const list = $("incident-requests");
    list.replaceChildren();
    const requests = Array.isArray(p.requests) ? p.requests : [];
    for (const q of requests) {
      const li = el("li", "ops-item");
      li.dataset.request = text(q.id);
      li.dataset.status = text(q.status);
      const head = el("span", "ops-item-head");
      const amount = `${text(q.quantity)}${q.unit_of_measure ? ` ${q.unit_of_measure}` : ""}`;
      head.append(
        span("ops-item-name", text(q.what)), span("muted", amount),
        span("status-chip", text(q.status)),
      );
      li.append(head);
      if (q.status === "fulfilled") {
        const by = `${text(q.fulfilled_by_unit)} (${text(q.fulfilled_by_nation)})`;
        li.append(span("ops-item-line muted", `by ${by} ${utc(q.fulfilled_at, true)}`));
      } else {
        li.append(span("ops-item-line muted", `requested ${utc(q.requested_at, true)}`));
      }
      if (q.status === "open" && r.owned && writable()) {
        const row = el("div", "tool-row");
        const select = el("select");
        select.setAttribute("aria-label", `Unit to fulfil ${text(q.what)}`);
        select.append(...units.map((u) => option(u.gid, `${text(u.name)} (${text(u.nation)})`)));
        const fulfil = button("Fulfil");
        fulfil.dataset.request = text(q.id);
        fulfil.disabled = !units.length;
        fulfil.addEventListener("click", () => fulfilRequest(q.id, select.value, fulfil));
        row.append(select, fulfil);
        li.append(row);
      }
      list.append(li);
    }
    if (!requests.length) list.append(el("li", "muted", "No requests yet."));
  }

  async function addRequest(event) {
    event.preventDefault();
    const gid = page.gid;
    const what = $("request-what").value.trim();
    setText("incident-error", "");
    if (!what) {
      setText("incident-error", "Say what is needed.");
      return;
    }
    const body = {
      what,
      quantity: Number($("request-quantity").value || 1),
      unit_of_measure: $("request-uom").value.trim(),
    };
    try {
      const record = await call(incidentPath(gid, "/requests"), body);
      putIncident(record);
      incidentsChanged();
      $("request-what").value = "";
      $("request-quantity").value = "1";
      $("request-uom").value = "";
    } catch (err) {
      setText("incident-error", err.message);
    }
  }

  async function fulfilRequest(id, unitGid, control) {
    const gid = page.gid;
    setText("incident-error", "");
    control.disabled = true;
    try {
      const path = incidentPath(gid, `/requests/${encodeURIComponent(id)}/fulfil`);
      const record = await call(path, { unit_gid: unitGid });
      putIncident(record);
      incidentsChanged();
    } catch (err) {
      setText("incident-error", err.message);
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
      const byGid = new Map(units.map((u) => [u.gid, u]));
      for (const t of (p.taskings || []).filter((x) => x.status !== "released")) {
        const u = byGid.get(t.unit_gid);
        if (!u || !isNum(u.lat) || !isNum(u.lon)) continue;
        L.polyline([[u.lat, u.lon], at], {
          renderer: layers.renderer, pane: "ops", interactive: false, color: "#ffb74d",
          weight: 1.5, dashArray: "4 4",
        }).addTo(layers.focus);
      }
    }
    if (!fly || !points.length || !hooks.map) return;
    const map = hooks.map;
    map.invalidateSize();
    if (points.length === 1) map.flyTo(points[0], Math.max(map.getZoom(), 8), { duration: 0.6 });
    else map.flyToBounds(L.latLngBounds(points), { padding: [60, 60], maxZoom: 10, duration: 0.6 });
  }

  // ---- units ----------------------------------------------------------------------------------
  const ownUnit = (u) => me && u.origin_nation === me.node.nation;

  function unitItem(u) {
    const li = el("li", "unit-item");
    li.dataset.gid = text(u.gid);
    li.dataset.nation = text(u.nation);
    li.dataset.status = text(u.status);
    const head = el("span", "ops-item-head");
    head.append(
      span("origin", text(u.nation)),
      span("ops-item-name", text(u.name)),
      span("muted", UNIT_TYPES[u.type] || text(u.type)),
      span("status-chip", UNIT_STATUS[u.status] || text(u.status)),
    );
    head.lastChild.dataset.status = text(u.status);
    const where = el("span", "ops-item-line muted");
    const since = span("unit-age", u.position_time ? `${age(u.position_time)} ago` : "no time");
    since.dataset.since = text(u.position_time);
    where.append(
      document.createTextNode(`${position(u.lat, u.lon)} · `),
      since,
      document.createTextNode(u.position_source === "ais" ? " (AIS)" : ""),
    );
    const facts = [`${text(u.speed_kn)} kn`];
    if (u.home_base) facts.push(text(u.home_base));
    if (u.mmsi) facts.push(`MMSI ${u.mmsi}`);
    const more = span("ops-item-line muted", facts.join(" · "));
    li.append(session.marking(u.banner), head, where, more);
    if (ownUnit(u) && session.can("units:write")) {
      const row = el("div", "tool-row");
      for (const status of ["available", "unavailable"]) {
        if (u.status === status) continue;
        const b = button(status === "available" ? "Available" : "Unavailable");
        b.dataset.status = status;
        b.addEventListener("click", () => patchUnit(u.gid, { status }, b));
        row.append(b);
      }
      const here = button("Move to map centre");
      here.dataset.move = "centre";
      here.addEventListener("click", () => {
        const c = hooks.map.getCenter().wrap();
        patchUnit(u.gid, { lat: Number(c.lat.toFixed(5)), lon: Number(c.lng.toFixed(5)) }, here);
      });
      row.append(here);
      li.append(row);
    }
    return li;
  }

  function renderUnits() {
    const ordered = units.slice().sort((a, b) =>
      text(a.nation).localeCompare(text(b.nation)) || text(a.name).localeCompare(text(b.name)));
    $("units-list").replaceChildren(...ordered.map(unitItem));
    setText("unit-count", units.length.toLocaleString());
    if (!layers) return;
    layers.units.clearLayers();
    for (const u of ordered) {
      if (!isNum(u.lat) || !isNum(u.lon)) continue;
      const colour = UNIT_COLOURS[u.status] || UNIT_COLOURS.unavailable;
      L.circleMarker([u.lat, u.lon], {
        renderer: layers.renderer, pane: "ops", radius: 6, color: "#ffffff", weight: 1.5,
        fillColor: colour, fillOpacity: 0.95, className: "unit-mark",
      })
        .bindTooltip(tip(
          text(u.name), `${text(u.nation)} · ${UNIT_TYPES[u.type] || text(u.type)}`,
          UNIT_STATUS[u.status] || text(u.status),
        ))
        .addTo(layers.units);
    }
  }

  async function patchUnit(gid, body, control) {
    control.disabled = true;
    setText("units-status", "");
    try {
      await call(`/api/units/${encodeURIComponent(gid)}`, body, "PATCH");
      await loadUnits();
    } catch (err) {
      setText("units-status", err.message);
      control.disabled = false;
    }
  }

  function newUnitBody() {
    const value = (id) => $(id).value.trim();
    const name = value("unit-name");
    if (!name) throw new Error("A unit needs a name.");
    const body = {
      name,
      type: $("unit-type").value,
      home_base: value("unit-home"),
      status: $("unit-status").value,
      speed_kn: Number(value("unit-speed") || 15),
      notes: "",
      marking: pickers.unit.value(),
    };
    if (!(body.speed_kn > 0)) throw new Error("The transit speed is a number of knots.");
    const lat = value("unit-lat");
    const lon = value("unit-lon");
    if ((lat === "") !== (lon === "")) throw new Error("Give both latitude and longitude.");
    if (lat !== "") {
      body.lat = Number(lat);
      body.lon = Number(lon);
      if (!Number.isFinite(body.lat) || !Number.isFinite(body.lon)) {
        throw new Error("Latitude and longitude are decimal degrees.");
      }
    }
    const mmsi = value("unit-mmsi");
    if (mmsi) {
      if (!/^\d{1,9}$/.test(mmsi)) throw new Error("The MMSI is a number of up to 9 digits.");
      body.mmsi = Number(mmsi);
    }
    return body;
  }

  async function submitUnit(event) {
    event.preventDefault();
    setText("unit-form-error", "");
    setText("unit-form-done", "");
    let body;
    try {
      body = newUnitBody();
    } catch (err) {
      setText("unit-form-error", err.message);
      return;
    }
    $("unit-submit").disabled = true;
    try {
      const record = await call("/api/units", body);
      $("unit-form").reset();
      pickers.unit.reset();
      const name = text(record.payload && record.payload.name);
      setText("unit-form-done", `Added ${name} as ${text(record.banner)}.`);
      await loadUnits();
    } catch (err) {
      setText("unit-form-error", err.message);
    } finally {
      $("unit-submit").disabled = false;
    }
  }

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

  // ---- panels ---------------------------------------------------------------------------------
  function showPanel(name) {
    // One command-center panel at a time beside the map.
    $("incidents-panel").hidden = name !== "incidents";
    $("incident-page").hidden = name !== "page";
    $("metrics-panel").hidden = name !== "metrics";
    const incidentsShown = name === "incidents" || name === "page";
    $("incidents-toggle").setAttribute("aria-expanded", String(incidentsShown));
    $("metrics-toggle").setAttribute("aria-expanded", String(name === "metrics"));
    if (name !== "page" && layers) layers.focus.clearLayers();
    if (name === "metrics") loadMetrics(); // always fresh when opened; live while open
  }

  function selectView(name) {
    view = name;
    for (const tab of document.querySelectorAll("#incidents-panel [role='tab']")) {
      const on = tab.dataset.view === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    $("incidents-view-list").hidden = name !== "list";
    $("incidents-view-board").hidden = name !== "board";
    $("incidents-view-units").hidden = name !== "units";
    $("incident-compose").hidden = name === "units" || !writable();
    $("incidents-panel").classList.toggle("wide", name === "board");
  }

  function setupForms() {
    $("new-incident-kind").replaceChildren(...KINDS.map(([v, l]) => option(v, l)));
    $("new-incident-severity").replaceChildren(...SEVERITIES.map((s) => option(s, s)));
    $("new-incident-severity").value = "medium";
    pickers.incident = markingPicker($("new-incident-marking"));
    pickers.unit = markingPicker($("unit-marking"));
    pickers.remark = markingPicker($("incident-edit-marking"));
  }

  function setupMap() {
    const map = hooks.map;
    if (!map || layers) return;
    map.createPane("ops").style.zIndex = 460;
    layers = {
      renderer: L.svg({ pane: "ops" }),
      incidents: L.layerGroup().addTo(map),
      units: L.layerGroup().addTo(map),
      focus: L.layerGroup().addTo(map),
    };
    const overlays = { "Open incidents": layers.incidents, Units: layers.units };
    L.control.layers(null, overlays, { position: "topleft", collapsed: true }).addTo(map);
  }

  function start(m, resumed) {
    me = m;
    const readable = session.can("incidents:read");
    $("incidents-toggle").hidden = !readable;
    $("metrics-toggle").hidden = !readable;
    if (!readable) return;
    if (!resumed) setupForms();
    setupMap();
    $("unit-compose").hidden = !session.can("units:write");
    selectView(view);
    reload();
  }

  function stop() {
    for (const name of Object.keys(timers)) clearTimeout(timers[name]);
  }

  $("incidents-toggle").addEventListener("click", () => {
    const shown = !$("incidents-panel").hidden || !$("incident-page").hidden;
    if (shown) {
      if (!$("incident-page").hidden) closePage();
      showPanel(null);
    } else {
      showPanel("incidents");
    }
  });
  $("incidents-close").addEventListener("click", () => {
    showPanel(null);
    $("incidents-toggle").focus();
  });
  $("metrics-toggle").addEventListener("click", () => showPanel(metricsOpen() ? null : "metrics"));
  $("metrics-close").addEventListener("click", () => {
    showPanel(null);
    $("metrics-toggle").focus();
  });
  $("incident-back").addEventListener("click", () => {
    closePage();
    showPanel("incidents");
  });
  $("incident-close").addEventListener("click", () => {
    closePage();
    showPanel(null);
  });
  for (const tab of document.querySelectorAll("#incidents-panel [role='tab']")) {
    tab.addEventListener("click", () => selectView(tab.dataset.view));
    tab.addEventListener("keydown", (event) => {
      const names = ["list", "board", "units"];
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = names[(names.indexOf(view) + step + names.length) % names.length];
      selectView(next);
      document.querySelector(`#incidents-panel [data-view='${next}']`).focus();
    });
  }
  $("incidents-filter").addEventListener("change", renderIncidents);
  $("incident-form").addEventListener("submit", submitIncident);
  $("incident-form").addEventListener("reset", () => {
    setText("new-incident-error", "");
    setTimeout(() => {
      $("new-incident-severity").value = "medium";
      if (pickers.incident) pickers.incident.reset();
    }, 0);
  });
  $("new-incident-use-centre").addEventListener("click", () => {
    mapCentre("new-incident-lat", "new-incident-lon");
  });
  $("unit-use-centre").addEventListener("click", () => mapCentre("unit-lat", "unit-lon"));
  $("unit-form").addEventListener("submit", submitUnit);
  $("incident-log-form").addEventListener("submit", submitLog);
  $("incident-request-form").addEventListener("submit", addRequest);
  $("incident-remark-form").addEventListener("submit", submitRemark);
  setInterval(() => {
    // Ages grow: keep them current without redrawing the lists.
    for (const node of document.querySelectorAll(".incident-age[data-since]")) {
      node.textContent = age(node.dataset.since);
    }
    for (const node of document.querySelectorAll(".unit-age[data-since]")) {
      if (node.dataset.since) node.textContent = `${age(node.dataset.since)} ago`;
    }
  }, 15000);

  JW.ops = {
    /** app.js hands over the map. */
    init: (h) => {
      hooks = { ...hooks, ...h };
    },
    start,
    stop,
    reload,
    applyRecords,
    alertButton,
    openFromAlert,
    openIncident,
    incidents: () => sorted(),
    units: () => units.slice(),
    duration,
  };
})();
