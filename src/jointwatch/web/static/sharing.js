/* JointWatch console: shared records — reports, sightings, vessel notes and partner alerts.
 *
 * Records arrive from GET /api/records at sign-in and from "records" WebSocket messages;
 * both are keyed by gid, the newest version wins and a tombstone removes its record. Partner
 * alerts go to app.js's alerts list; the rest are listed in the reports panel. Record text is
 * hostile (it may come from another nation's node): the DOM is built with textContent only.
 */
"use strict";

(function () {
  const JW = (window.JW = window.JW || {});
  const $ = (id) => document.getElementById(id);
  const session = JW.session;

  const LIST_KINDS = ["report", "sighting", "vessel_note"];
  const OPS_KINDS = new Set(["incident", "unit", "ops_log"]); // ops.js's: handed on, not held
  const KIND_LABELS = { report: "Report", sighting: "Sighting", vessel_note: "Vessel note" };
  const FORM_FIELDS = {
    // kind: [title label or null (hidden), MMSI label, time label or null, text label, position]
    report: ["Title", "MMSIs (optional)", "Time, UTC (optional)", "Text", "optional"],
    sighting: ["Vessel name (optional)", "MMSI (optional)", "Time, UTC (empty: now)",
      "Description", "required"],
    vessel_note: [null, "MMSI", null, "Note", null],
  };
  const LIMIT = 500;
  const HEALTH_EVERY_MS = 10000;

  const records = new Map(); // gid -> newest record held
  const gone = new Map(); // gid -> version of its tombstone: an older copy never returns
  const items = new Map(); // gid -> {version, li} of the reports list
  let hooks = {
    map: null, partnerAlerts: () => {}, selectVessel: () => {}, opsRecords: () => {},
  };
  let me = null;
  let loading = null; // gids changed by the live feed while a full load is under way
  let healthTimer = null;
  let previewTimer = null;
  let previewSeq = 0;
  let marker = null;

  const span = (className, text) => {
    const el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    return el;
  };
  const isNum = (v) => typeof v === "number" && Number.isFinite(v);
  const utc = (iso) => {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return String(iso);
    return `${new Date(t).toISOString().slice(0, 16).replace("T", " ")}Z`;
  };
  const ago = (iso) => {
    const t = Date.parse(iso);
    if (!iso || Number.isNaN(t)) return "never";
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  };
  const clip = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

  // ---- the record store ---------------------------------------------------------------------
  function ownAlert(r) {
    return r.kind === "alert" && me && r.origin_node === me.node.name; // in /api/events already
  }

  function applyRecords(list) {
    const alertChanges = [];
    const opsChanges = [];
    let listChanged = false;
    for (const r of Array.isArray(list) ? list : []) {
      if (!r || typeof r.gid !== "string" || ownAlert(r)) continue;
      if (OPS_KINDS.has(r.kind)) {
        opsChanges.push(r); // incidents, units, ops log: the command center's (ops.js)
        continue;
      }
      if (loading) loading.add(r.gid);
      const held = records.get(r.gid);
      const version = Number(r.version) || 0;
      if (held && Number(held.version) > version) continue; // an older copy lost a race
      if (gone.has(r.gid) && gone.get(r.gid) >= version) continue;
      const kind = r.kind || (held && held.kind);
      if (r.deleted) {
        gone.set(r.gid, version);
        if (!held) continue;
        records.delete(r.gid);
      } else {
        records.set(r.gid, r);
      }
      if (kind === "alert") alertChanges.push({ ...r, kind });
      else listChanged = true;
    }
    if (alertChanges.length) hooks.partnerAlerts(alertChanges);
    if (opsChanges.length) hooks.opsRecords(opsChanges);
    if (listChanged) renderList();
  }

  async function fetchRecords(kinds) {
    const params = new URLSearchParams({ limit: String(LIMIT) });
    for (const kind of kinds) params.append("kind", kind);
    const response = await session.api(`/api/records?${params}`);
    if (!response.ok) throw new Error(await session.errorText(response));
    const body = await response.json();
    return Array.isArray(body.records) ? body.records : [];
  }

  /** A full load (sign-in, reconnect): what we held and no longer get is dropped. */
  async function reload() {
    if (!session.can("records:read")) return;
    loading = new Set();
    try {
      const [listed, alerts] = await Promise.all([
        fetchRecords(LIST_KINDS),
        fetchRecords(["alert"]),
      ]);
      const fresh = new Set(listed.concat(alerts).map((r) => r && r.gid));
      const dropped = [];
      for (const [gid, r] of records) {
        if (!fresh.has(gid) && !loading.has(gid)) dropped.push({ ...r, deleted: true });
      }
      loading = null;
      applyRecords(dropped);
      applyRecords(listed.concat(alerts));
      document.body.dataset.recordsReady = "1";
    } catch (err) {
      console.warn("records unavailable", err);
      $("reports-status").textContent = `Could not load reports (${err.message}).`;
    } finally {
      loading = null;
    }
  }

  const newestFirst = (a, b) => {
    const ta = Date.parse(a.created_at) || 0;
    const tb = Date.parse(b.created_at) || 0;
    if (ta !== tb) return tb - ta;
    return a.gid < b.gid ? 1 : -1;
  };

  function sortedRecords() {
    return Array.from(records.values()).sort(newestFirst);
  }

  // ---- the reports list ---------------------------------------------------------------------
  function positionOf(r) {
    const p = r.payload || {};
    if (!isNum(p.lat) || !isNum(p.lon)) return null;
    if (Math.abs(p.lat) > 90 || Math.abs(p.lon) > 180) return null;
    return [p.lat, p.lon];
  }

  function describe(r) {
    const p = r.payload || {};
    const text = (v) => (v === null || v === undefined ? "" : String(v));
    if (r.kind === "sighting") {
      const mmsi = p.mmsi !== undefined && p.mmsi !== null ? `MMSI ${p.mmsi}` : "unknown vessel";
      const who = text(p.vessel_name) || mmsi;
      return { title: `Sighting: ${who}`, summary: text(p.description), time: p.time };
    }
    if (r.kind === "vessel_note") {
      return { title: `Note on MMSI ${text(p.mmsi)}`, summary: text(p.text), time: null };
    }
    const mmsis = Array.isArray(p.mmsis) && p.mmsis.length ? `MMSI ${p.mmsis.join(", ")}` : "";
    return { title: text(p.title) || "(untitled)", summary: text(p.text), time: p.time, mmsis };
  }

  function recordItem(r) {
    const li = document.createElement("li");
    li.className = "record-item";
    li.dataset.gid = r.gid;
    li.dataset.kind = String(r.kind);
    li.dataset.origin = String(r.origin_nation);
    const d = describe(r);
    const pos = positionOf(r);
    const note = r.kind === "vessel_note" && isNum((r.payload || {}).mmsi);
    const body = document.createElement(pos || note ? "button" : "div");
    body.className = "record-body";
    if (pos || note) {
      body.type = "button";
      body.title = pos ? "Show on the map" : "Show the vessel";
      body.addEventListener("click", () => showRecord(r.gid));
    }
    const meta = document.createElement("span");
    meta.className = "record-meta";
    meta.append(
      span("origin", String(r.origin_nation)),
      span("record-kind", KIND_LABELS[r.kind] || String(r.kind)),
      span("record-when", utc(d.time || r.created_at)),
    );
    if (r.created_by) meta.append(span("muted", String(r.created_by)));
    body.append(session.marking(r.banner), meta, span("record-title", d.title));
    if (d.mmsis) body.append(span("record-mmsi", d.mmsis));
    if (d.summary) body.append(span("record-summary", clip(d.summary, 280)));
    if (pos) body.append(span("record-pos muted", `${pos[0].toFixed(4)}, ${pos[1].toFixed(4)}`));
    li.append(body);
    return li;
  }

  function renderList() {
    const list = $("reports-list");
    const shown = sortedRecords().filter((r) => r.kind !== "alert");
    const keep = new Set(shown.map((r) => r.gid));
    for (const [gid, entry] of items) {
      if (!keep.has(gid)) {
        entry.li.remove();
        items.delete(gid);
      }
    }
    shown.forEach((r, i) => {
      let entry = items.get(r.gid);
      if (!entry || entry.version !== r.version) {
        const li = recordItem(r);
        if (entry) entry.li.replaceWith(li);
        entry = { version: r.version, li };
        items.set(r.gid, entry);
      }
      const at = list.children[i] || null;
      if (at !== entry.li) list.insertBefore(entry.li, at);
    });
    $("report-count").textContent = shown.length.toLocaleString();
    $("reports-status").textContent = shown.length
      ? `${shown.length.toLocaleString()} reports, sightings and notes`
      : "No reports yet.";
  }

  function showRecord(gid) {
    const r = records.get(gid);
    const map = hooks.map;
    if (!r || !map) return;
    const pos = positionOf(r);
    if (marker) marker.remove();
    marker = null;
    if (pos) {
      marker = L.circleMarker(pos, {
        pane: "events", interactive: false, radius: 11, color: "#ffffff", weight: 2,
        dashArray: "3 3", fillOpacity: 0.05, className: "record-mark",
      }).addTo(map);
      map.flyTo(pos, Math.max(map.getZoom(), 9), { duration: 0.6 });
    } else if (r.kind === "vessel_note") {
      hooks.selectVessel(Number(r.payload.mmsi));
    }
  }

  // ---- the new-report form ------------------------------------------------------------------
  function option(value, text) {
    const el = document.createElement("option");
    el.value = value;
    el.textContent = text;
    return el;
  }

  function defaultLevel() {
    const choices = Array.from($("report-classification").options, (o) => o.value);
    const eventLevel = String(me.node.event_marking || "").split("//")[0];
    return choices.includes(eventLevel) ? eventLevel : choices[0];
  }

  function setupForm() {
    const node = me.node;
    const top = node.levels.indexOf(me.clearance);
    const levels = node.levels.slice(0, top < 0 ? node.levels.length : top + 1);
    $("report-classification").replaceChildren(...levels.map((l) => option(l, l)));
    $("report-tlp").replaceChildren(option("", "none"), ...node.tlp.map((t) => option(t, t)));
    const nations = Array.from(new Set(node.partners.map((p) => String(p.nation))))
      .filter((n) => n !== node.nation)
      .sort();
    const groups = Object.keys(node.groups || {}).sort();
    const box = $("report-relto");
    box.replaceChildren(span("relto-title", "REL TO"));
    for (const [value, text] of nations.map((n) => [n, n]).concat(
      groups.map((g) => [g, `${g} (${(node.groups[g] || []).join(", ")})`]),
    )) {
      const label = document.createElement("label");
      label.className = "check";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "rel_to";
      input.value = value;
      label.append(input, document.createTextNode(` ${text}`));
      box.append(label);
    }
    if (!nations.length && !groups.length) {
      box.append(span("muted", "No partner nodes or sharing groups configured."));
    }
    formDefaults();
  }

  function formDefaults() {
    $("report-classification").value = defaultLevel();
    setKind($("report-kind").value);
    relToEnabled();
    schedulePreview(0);
  }

  function setKind(kind) {
    const [title, mmsi, time, text, position] = FORM_FIELDS[kind] || FORM_FIELDS.report;
    $("field-title").hidden = title === null;
    if (title) $("report-title-label").textContent = title;
    $("report-mmsi-label").textContent = mmsi;
    $("field-time").hidden = time === null;
    if (time) $("report-time-label").textContent = time;
    $("report-text-label").textContent = text;
    $("field-position").hidden = position === null;
  }

  function relToEnabled() {
    const noforn = $("report-noforn").checked;
    for (const box of $("report-relto").querySelectorAll("input")) {
      box.disabled = noforn;
      if (noforn) box.checked = false;
    }
    $("report-relto").classList.toggle("disabled", noforn);
  }

  function formMarking() {
    const noforn = $("report-noforn").checked;
    const rel = noforn
      ? []
      : Array.from($("report-relto").querySelectorAll("input:checked"), (i) => i.value);
    return {
      classification: $("report-classification").value,
      rel_to: rel,
      local_only: noforn,
      tlp: $("report-tlp").value || null,
      caveats: $("report-caveats").value.split(",").map((c) => c.trim()).filter(Boolean),
    };
  }

  function formPayload(kind) {
    const value = (id) => $(id).value.trim();
    const mmsis = value("report-mmsi").split(/[\s,;]+/).filter(Boolean);
    for (const m of mmsis) {
      if (!/^\d{1,9}$/.test(m)) throw new Error(`MMSI "${m}" is not a number of up to 9 digits.`);
    }
    const numbers = mmsis.map(Number);
    const coord = (id) => (value(id) === "" ? null : Number(value(id)));
    const lat = coord("report-lat");
    const lon = coord("report-lon");
    if ((lat === null) !== (lon === null)) throw new Error("Give both latitude and longitude.");
    if ((lat !== null && !Number.isFinite(lat)) || (lon !== null && !Number.isFinite(lon))) {
      throw new Error("Latitude and longitude are decimal degrees.");
    }
    const where = lat === null ? {} : { lat, lon };
    const text = value("report-text");
    const time = value("report-time");
    if (kind === "vessel_note") {
      if (numbers.length !== 1) throw new Error("A vessel note is about one MMSI.");
      if (!text) throw new Error("Write the note.");
      return { mmsi: numbers[0], text };
    }
    if (kind === "sighting") {
      if (lat === null) throw new Error("A sighting needs a position (or use the map centre).");
      if (numbers.length > 1) throw new Error("A sighting is of one vessel: one MMSI.");
      const payload = { time: time || new Date().toISOString(), ...where, description: text };
      if (numbers.length) payload.mmsi = numbers[0];
      if (value("report-title")) payload.vessel_name = value("report-title");
      return payload;
    }
    if (!value("report-title")) throw new Error("A report needs a title.");
    const payload = { title: value("report-title"), text, ...where };
    if (time) payload.time = time;
    if (numbers.length) payload.mmsis = numbers;
    return payload;
  }

  function schedulePreview(delayMs) {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, delayMs === undefined ? 250 : delayMs);
  }

  async function preview() {
    if (!me || !session.can("records:write") || !$("report-compose").open) return;
    const seq = ++previewSeq;
    const box = $("report-preview");
    try {
      const response = await session.api("/api/records/preview", {
        json: { marking: formMarking() },
      });
      if (seq !== previewSeq) return;
      if (!response.ok) throw new Error(await session.errorText(response));
      const body = await response.json();
      $("report-preview-banner").replaceChildren(session.marking(body.banner));
      const list = $("report-preview-list");
      list.replaceChildren();
      const partners = Array.isArray(body.partners) ? body.partners : [];
      for (const p of partners) {
        const li = document.createElement("li");
        li.dataset.partner = String(p.partner);
        li.dataset.nation = String(p.nation);
        li.dataset.allowed = String(Boolean(p.allowed));
        li.append(
          span("preview-verdict", p.allowed ? "yes" : "no"),
          span("preview-nation", String(p.nation)),
          span("muted", String(p.partner)),
          span("preview-reason", String(p.reason)),
        );
        list.append(li);
      }
      if (!partners.length) {
        const li = document.createElement("li");
        li.append(span("muted", "No partner nodes: only users of this node can see it."));
        list.append(li);
      }
      box.dataset.state = "ok";
    } catch (err) {
      if (seq !== previewSeq) return;
      $("report-preview-banner").replaceChildren(span("form-error", err.message));
      $("report-preview-list").replaceChildren();
      box.dataset.state = "error";
    }
  }

  async function submit(event) {
    event.preventDefault();
    const kind = $("report-kind").value;
    $("report-error").textContent = "";
    $("report-done").textContent = "";
    let body;
    try {
      body = { kind, payload: formPayload(kind), marking: formMarking() };
    } catch (err) {
      $("report-error").textContent = err.message;
      return;
    }
    $("report-submit").disabled = true;
    try {
      const response = await session.api("/api/records", { json: body });
      if (!response.ok) throw new Error(await session.errorText(response));
      const record = await response.json();
      applyRecords([record]);
      $("report-form").reset();
      $("report-done").textContent = `Shared as ${record.banner}.`;
    } catch (err) {
      $("report-error").textContent = err.message;
    } finally {
      $("report-submit").disabled = false;
    }
  }

  function useMapCentre() {
    if (!hooks.map) return;
    const c = hooks.map.getCenter().wrap();
    $("report-lat").value = c.lat.toFixed(5);
    $("report-lon").value = c.lng.toFixed(5);
  }

  // ---- sync health ----------------------------------------------------------------------------
  function receiptsText(receipts) {
    const parts = Object.entries(receipts || {}).map(([status, n]) => `${n} ${status}`);
    return parts.length ? `receipts: ${parts.join(", ")}` : "no receipts yet";
  }

  function healthItem(p) {
    const li = document.createElement("li");
    li.className = "sync-item";
    li.dataset.partner = String(p.name);
    li.dataset.state = p.last_error ? "error" : p.enabled ? "ok" : "disabled";
    const head = document.createElement("span");
    head.className = "sync-head";
    head.append(
      span("origin", String(p.nation)),
      span("sync-name", String(p.name)),
      span("muted", `ceiling ${p.ceiling}`),
    );
    if (!p.enabled) head.append(span("sync-flag", "disabled"));
    else if (!p.can_push) head.append(span("sync-flag", "pull only"));
    const pending = Number(p.pending) || 0;
    li.append(
      head,
      span("sync-line", `${pending.toLocaleString()} pending · last push ${ago(p.last_push_at)}` +
        ` · last pull ${ago(p.last_pull_at)}`),
      span("sync-line muted", receiptsText(p.receipts)),
    );
    if (p.last_error) li.append(span("sync-error", `last error: ${p.last_error}`));
    return li;
  }

  async function loadHealth() {
    if (!session.can("partners:read")) return;
    try {
      const response = await session.api("/api/partners");
      if (!response.ok) throw new Error(await session.errorText(response));
      const body = await response.json();
      const partners = Array.isArray(body.partners) ? body.partners : [];
      $("sync-list").replaceChildren(...partners.map(healthItem));
      $("sync-status").textContent =
        (partners.length ? "" : "No partner nodes. ") +
        `Checked ${new Date().toISOString().slice(11, 19)}Z.`;
    } catch (err) {
      $("sync-status").textContent = `Could not read sync health (${err.message}).`;
    }
  }

  // ---- the panel ----------------------------------------------------------------------------
  const panelOpen = () => !$("reports-panel").hidden;

  function setPanelOpen(open) {
    $("reports-panel").hidden = !open;
    $("reports-toggle").setAttribute("aria-expanded", String(open));
    clearInterval(healthTimer);
    healthTimer = null;
    if (open && session.can("partners:read")) {
      loadHealth();
      healthTimer = setInterval(loadHealth, HEALTH_EVERY_MS);
    }
  }

  function start(m, resumed) {
    me = m;
    const readable = session.can("records:read");
    $("reports-toggle").hidden = !readable;
    if (!readable) return;
    $("report-compose").hidden = !session.can("records:write");
    $("sync-health").hidden = !session.can("partners:read");
    if (!resumed) setupForm();
    if (panelOpen()) setPanelOpen(true);
    reload();
  }

  function stop() {
    clearInterval(healthTimer);
    healthTimer = null;
  }

  $("reports-toggle").addEventListener("click", () => setPanelOpen(!panelOpen()));
  $("reports-close").addEventListener("click", () => {
    setPanelOpen(false);
    $("reports-toggle").focus();
  });
  $("report-form").addEventListener("submit", submit);
  $("report-form").addEventListener("reset", () => {
    $("report-error").textContent = "";
    $("report-done").textContent = "";
    setTimeout(formDefaults, 0); // after the browser has reset the fields
  });
  $("report-kind").addEventListener("change", () => setKind($("report-kind").value));
  $("report-noforn").addEventListener("change", relToEnabled);
  $("report-marking").addEventListener("change", () => schedulePreview());
  $("report-marking").addEventListener("input", () => schedulePreview());
  $("report-use-centre").addEventListener("click", useMapCentre);
  $("report-compose").addEventListener("toggle", () => schedulePreview(0));

  JW.sharing = {
    /** app.js hands over the map and its alerts list. */
    init: (h) => {
      hooks = { ...hooks, ...h };
    },
    start,
    stop,
    reload,
    applyRecords,
    records: () => sortedRecords(),
    record: (gid) => records.get(gid) || null,
    showRecord,
  };
})();
