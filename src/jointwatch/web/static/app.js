/* JointWatch console: the live common maritime picture.
 *
 * Offline by design: the coastline comes from the vendored Natural Earth data (world-atlas),
 * there is no tile layer. Every string from the server is treated as hostile: the DOM is
 * built with textContent only (SECURITY.md rule 2), never with HTML strings.
 * Nothing is fetched and no WebSocket opened before session.js reports a signed-in user;
 * shared records (reports, partner alerts) are sharing.js's.
 */
"use strict";

(function () {
  const session = window.JW.session;
  const sharing = window.JW.sharing;
  const ops = window.JW.ops;
  const TYPE_COLOURS = {
    cargo: "#66bb6a",
    tanker: "#ef5350",
    passenger: "#42a5f5",
    fishing: "#ffa726",
    towing: "#a1887f",
    dredging: "#a1887f",
    diving: "#a1887f",
    port_tender: "#a1887f",
    pilot: "#a1887f",
    military: "#ab47bc",
    law_enforcement: "#26c6da",
    sar: "#ffee58",
    medical: "#ffee58",
    anti_pollution: "#ffee58",
    sailing: "#f06292",
    pleasure: "#f06292",
    hsc: "#5c6bc0",
    other: "#bdbdbd",
    unknown: "#78909c",
  };
  const LEGEND = [
    ["cargo", "Cargo"], ["tanker", "Tanker"], ["passenger", "Passenger"],
    ["fishing", "Fishing"], ["towing", "Tug / towing / service"], ["military", "Military"],
    ["law_enforcement", "Law enforcement"], ["sar", "SAR / medical"],
    ["pleasure", "Pleasure / sailing"], ["hsc", "High-speed craft"], ["other", "Other"],
    ["unknown", "Unknown"],
  ];
  const ZONE_KINDS = [
    ["territorial_sea", "Territorial sea", "#29b6f6"],
    ["eez", "EEZ", "#7986cb"],
    ["mpa", "Marine protected area", "#66bb6a"],
    ["exercise_area", "Exercise area", "#ffa726"],
    ["high_risk_area", "High-risk area", "#ef5350"],
    ["custom", "Custom zone", "#e0e0e0"],
  ];
  const ZONE_COLOURS = Object.fromEntries(ZONE_KINDS.map(([kind, , colour]) => [kind, colour]));
  const ZONE_LABELS = Object.fromEntries(ZONE_KINDS.map(([kind, label]) => [kind, label]));
  const EVENT_KINDS = {
    ais_gap: ["AIS gap", "#ffb74d"],
    loitering: ["Loitering", "#4dd0e1"],
    encounter: ["Encounter", "#ef5350"],
    approach: ["Close approach", "#f06292"],
    zone_entry: ["Zone entry", "#aed581"],
    zone_exit: ["Zone exit", "#7cb342"],
    spoofing: ["Spoofing", "#ba68c8"],
  };
  const SPOOF_REASONS = {
    speed: "impossible speed",
    duplicate_mmsi: "MMSI used by two transmitters",
    on_land: "positions on land",
    invalid_mmsi: "invalid MMSI",
  };

  const $ = (id) => document.getElementById(id);
  const colourOf = (group) => TYPE_COLOURS[group] || TYPE_COLOURS.unknown;

  // ---- map ------------------------------------------------------------------------------
  const map = L.map("map", {
    preferCanvas: true,
    worldCopyJump: true,
    minZoom: 2,
    maxZoom: 16,
    attributionControl: true,
  }).setView([12, 113], 5);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Coastlines: Natural Earth");

  map.createPane("land").style.zIndex = 300;
  map.createPane("tracks").style.zIndex = 390;
  map.createPane("vessels").style.zIndex = 400;
  // Event highlights and the zone being drawn: SVG above the vessels, never catching clicks.
  map.createPane("events").style.zIndex = 450;
  const landRenderer = L.canvas({ pane: "land" });
  const trackRenderer = L.canvas({ pane: "tracks" });
  const vesselRenderer = L.canvas({ pane: "vessels", tolerance: 3 });
  const overlayRenderer = L.svg({ pane: "events" });
  // Panels opening beside the map change its size without a window resize.
  new ResizeObserver(() => map.invalidateSize()).observe(map.getContainer());

  fetch("/static/vendor/land-50m.json")
    .then((r) => r.json())
    .then((topo) => {
      L.geoJSON(topojson.feature(topo, topo.objects.land), {
        renderer: landRenderer, interactive: false,
        style: { color: "#3d5240", weight: 0.6, fillColor: "#2a3a2c", fillOpacity: 1 },
      }).addTo(map);
    })
    .catch((err) => console.warn("land layer unavailable", err));
  fetch("/static/vendor/countries-50m.json")
    .then((r) => r.json())
    .then((topo) => {
      const borders = topojson.mesh(topo, topo.objects.countries, (a, b) => a !== b);
      L.geoJSON(borders, {
        renderer: landRenderer, interactive: false,
        style: { color: "#55705a", weight: 0.5, dashArray: "2 3" },
      }).addTo(map);
    })
    .catch((err) => console.warn("border layer unavailable", err));

  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = function () {
    const box = L.DomUtil.create("div", "legend");
    for (const [group, label] of LEGEND) {
      const row = document.createElement("div");
      row.className = "legend-row";
      const swatch = document.createElement("span");
      swatch.className = "legend-swatch";
      swatch.style.backgroundColor = colourOf(group);
      const text = document.createElement("span");
      text.textContent = label;
      row.append(swatch, text);
      box.append(row);
    }
    return box;
  };
  legend.addTo(map);

  // ---- vessel symbols: one canvas path per vessel, rotated to heading ----------------------
  const VesselSymbol = L.CircleMarker.extend({
    // Drawn straight on the shared canvas so tens of thousands of vessels stay smooth.
    _updatePath: function () {
      const renderer = this._renderer;
      if (!renderer._drawing || this._empty()) return;
      const ctx = renderer._ctx;
      const p = this._point;
      const size = this.options.selected ? 7 : 5;
      ctx.beginPath();
      const rotation = this.options.rotation;
      if (rotation === null || rotation === undefined) {
        ctx.arc(p.x, p.y, size * 0.6, 0, Math.PI * 2);
      } else {
        const a = (rotation * Math.PI) / 180;
        const cos = Math.cos(a);
        const sin = Math.sin(a);
        const shape = [[0, -1.8], [1, 1.1], [0, 0.5], [-1, 1.1]];
        shape.forEach(([x, y], i) => {
          const px = p.x + size * (x * cos - y * sin);
          const py = p.y + size * (x * sin + y * cos);
          if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
        });
        ctx.closePath();
      }
      renderer._fillStroke(ctx, this);
    },
  });

  const vessels = new Map(); // mmsi -> {data, symbol}
  let selected = null; // mmsi
  let trackLayer = null;
  let trackPoints = 0;
  const rings = new Map(); // mmsi -> highlight ring of the shown event

  function rotationOf(v) {
    if (v.heading_deg !== null && v.heading_deg !== undefined) return v.heading_deg;
    if (v.cog_deg !== null && v.cog_deg !== undefined && v.sog_kn > 0.5) return v.cog_deg;
    return null;
  }

  function styleFor(v, isSelected) {
    return {
      renderer: vesselRenderer,
      pane: "vessels",
      radius: 7, // the click target; the drawn symbol is smaller
      rotation: rotationOf(v),
      selected: isSelected,
      color: isSelected ? "#ffffff" : "#0b1520",
      weight: isSelected ? 2 : 0.8,
      fillColor: colourOf(v.type_group),
      fillOpacity: 0.95,
    };
  }

  function upsertVessel(v) {
    if (v.lat === null || v.lon === null || v.lat === undefined || v.lon === undefined) return;
    const ring = rings.get(v.mmsi);
    if (ring) ring.setLatLng([v.lat, v.lon]);
    const entry = vessels.get(v.mmsi);
    if (entry) {
      entry.data = v;
      L.setOptions(entry.symbol, styleFor(v, v.mmsi === selected));
      entry.symbol.setLatLng([v.lat, v.lon]);
      return;
    }
    const symbol = new VesselSymbol([v.lat, v.lon], styleFor(v, v.mmsi === selected));
    symbol.on("click", () => {
      if (!draw.active) selectVessel(v.mmsi);
    });
    symbol.addTo(map);
    vessels.set(v.mmsi, { data: v, symbol });
  }

  function refreshCounts() {
    $("vessel-count").textContent = vessels.size.toLocaleString();
    $("last-update").textContent = new Date().toISOString().slice(11, 19) + "Z";
  }

  function applySnapshot(list) {
    const seen = new Set(list.map((v) => v.mmsi));
    for (const [mmsi, entry] of vessels) {
      if (!seen.has(mmsi)) {
        entry.symbol.remove();
        vessels.delete(mmsi);
      }
    }
    list.forEach(upsertVessel);
    refreshCounts();
    document.body.dataset.ready = "1";
  }

  function applyUpdate(list) {
    list.forEach(upsertVessel);
    refreshCounts();
    if (selected !== null && list.some((v) => v.mmsi === selected)) refreshPanelLive();
  }

  // ---- live feed: only while signed in ----------------------------------------------------
  let backoffMs = 1000;
  let socket = null;
  let reconnectTimer = null;
  let reconnected = false; // the first open after sign-in: sharing.start loads the records
  function setStatus(state, text) {
    const el = $("conn-status");
    el.dataset.state = state;
    el.textContent = text;
  }
  function stopLive() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (socket) {
      const ws = socket;
      socket = null; // its onclose sees it is no longer wanted
      ws.close();
    }
    setStatus("offline", "signed out");
  }
  function connect() {
    if (socket || !session.me()) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    let opened = false;
    socket = ws;
    ws.onopen = () => {
      opened = true;
      backoffMs = 1000;
      setStatus("live", "live");
      // Again after a reconnect: what was raised and shared while we were away.
      loadAlerts();
      if (reconnected) {
        sharing.reload();
        ops.reload();
      }
      reconnected = true;
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (err) {
        console.warn("unreadable message", err);
        return;
      }
      if (message.type === "snapshot") applySnapshot(message.vessels || []);
      else if (message.type === "update") applyUpdate(message.vessels || []);
      else if (message.type === "events") applyEvents(message.events || []);
      else if (message.type === "records") sharing.applyRecords(message.records || []);
      // Records of incidents, units and the ops log go on from sharing.js to ops.js.
    };
    ws.onclose = async (event) => {
      if (socket !== ws) return; // closed on purpose (signed out)
      socket = null;
      if (event.code === 4401) {
        session.expired();
        return;
      }
      // A refused handshake reaches the page as 1006: ask the node whether we are signed in.
      if (!opened && !(await session.check())) return;
      if (!session.me()) return;
      setStatus("reconnecting", `reconnecting in ${Math.round(backoffMs / 1000)} s`);
      reconnectTimer = setTimeout(connect, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 15000);
    };
  }

  // ---- vessel panel ---------------------------------------------------------------------
  const fmt = {
    text: (v) => (v === null || v === undefined || v === "" ? "—" : String(v)),
    num: (v, digits, unit) =>
      v === null || v === undefined ? "—" : `${Number(v).toFixed(digits)}${unit}`,
    pos: (lat, lon) => {
      if (lat === null || lon === null || lat === undefined || lon === undefined) return "—";
      const ns = lat >= 0 ? "N" : "S";
      const ew = lon >= 0 ? "E" : "W";
      return `${Math.abs(lat).toFixed(4)}° ${ns}  ${Math.abs(lon).toFixed(4)}° ${ew}`;
    },
    age: (iso) => {
      if (!iso) return "—";
      const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
      if (s < 60) return `${s} s ago`;
      if (s < 3600) return `${Math.floor(s / 60)} min ago`;
      if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
      return `${Math.floor(s / 86400)} d ago`;
    },
  };

  let detail = null;
  function setText(id, value) {
    $(id).textContent = value;
  }

  function renderDetail(d) {
    setText("vp-name", fmt.text(d.name) === "—" ? "(no name reported)" : d.name);
    setText("vp-mmsi", String(d.mmsi));
    setText("vp-flag", d.flag ? `${d.flag} — ${fmt.text(d.flag_name)}` : "—");
    const type = d.ship_type_text || d.type_group;
    setText("vp-type", `${fmt.text(type)}${d.ais_class ? ` (class ${d.ais_class})` : ""}`);
    const size = d.length_m ? `${d.length_m} × ${fmt.text(d.beam_m)} m` : "—";
    const draught = d.draught_m ? `, draught ${d.draught_m} m` : "";
    setText("vp-size", size + draught);
    setText("vp-callsign", fmt.text(d.callsign));
    setText("vp-imo", fmt.text(d.imo));
    setText("vp-destination", fmt.text(d.destination));
    refreshPanelLive();
  }

  function refreshPanelLive() {
    if (!detail) return;
    const live = vessels.get(detail.mmsi);
    const d = live ? { ...detail, ...live.data, name: detail.name || live.data.name } : detail;
    setText("vp-motion", `${fmt.num(d.sog_kn, 1, " kn")} / ${fmt.num(d.cog_deg, 1, "°")}`);
    setText("vp-position", fmt.pos(d.lat, d.lon));
    setText("vp-source", fmt.text(d.source));
    detail.time = d.time;
    setText("vp-age", fmt.age(d.time));
  }
  setInterval(() => {
    if (detail) setText("vp-age", fmt.age(detail.time));
  }, 1000);

  function clearTrack() {
    if (trackLayer) trackLayer.remove();
    trackLayer = null;
    trackPoints = 0;
    setText("vp-track-info", "");
  }

  async function loadTrack(mmsi) {
    const hours = Number($("vp-hours").value);
    const end = new Date();
    const start = new Date(end.getTime() - hours * 3600 * 1000);
    const params = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
    const response = await fetch(`/api/vessels/${mmsi}/track?${params}`);
    if (!response.ok || selected !== mmsi) return;
    const body = await response.json();
    if (selected !== mmsi) return;
    clearTrack();
    const latlngs = body.points.map((p) => [p.lat, p.lon]);
    trackPoints = latlngs.length;
    setText("vp-track-info", `${trackPoints.toLocaleString()} positions`);
    if (latlngs.length > 1) {
      trackLayer = L.polyline(latlngs, {
        renderer: trackRenderer, pane: "tracks", color: "#ffd54f", weight: 2, opacity: 0.9,
        interactive: false,
      }).addTo(map);
    }
  }

  async function selectVessel(mmsi) {
    const previous = selected;
    selected = mmsi;
    for (const id of [previous, mmsi]) {
      const entry = id === null ? null : vessels.get(id);
      if (entry) {
        L.setOptions(entry.symbol, styleFor(entry.data, id === selected));
        entry.symbol.redraw();
        if (id === selected) entry.symbol.bringToFront();
      }
    }
    clearTrack();
    detail = null;
    $("vessel-panel").hidden = false;
    setText("vp-mmsi", String(mmsi));
    setText("vp-name", "…");
    const response = await fetch(`/api/vessels/${mmsi}`);
    if (selected !== mmsi) return;
    if (!response.ok) {
      setText("vp-name", "(vessel not found)");
      return;
    }
    detail = await response.json();
    renderDetail(detail);
    await loadTrack(mmsi);
  }

  function closePanel() {
    const previous = selected;
    selected = null;
    detail = null;
    clearTrack();
    $("vessel-panel").hidden = true;
    const entry = previous === null ? null : vessels.get(previous);
    if (entry) {
      L.setOptions(entry.symbol, styleFor(entry.data, false));
      entry.symbol.redraw();
    }
  }

  $("vp-close").addEventListener("click", closePanel);
  $("vp-hours").addEventListener("change", () => {
    if (selected !== null) loadTrack(selected);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (draw.active || !$("zone-form").hidden) cancelDrawing();
    else closePanel();
  });

  // ---- alerts: what the detectors found ---------------------------------------------------
  const MAX_ALERTS = 2000;
  const SEEN_KEY = "jointwatch.seenAlerts";
  const POINT_KINDS = new Set(["zone_entry", "zone_exit"]); // a crossing has no duration

  const alerts = new Map(); // event id -> {event, item}
  const seenIds = loadSeen(); // ids that were in the list when the operator last opened it
  let freshIds = new Set(); // unseen at the last opening, or arrived while open: marked "new"
  let activeAlert = null; // event id shown on the map

  function loadSeen() {
    try {
      const ids = JSON.parse(localStorage.getItem(SEEN_KEY) || "[]");
      return new Set(Array.isArray(ids) ? ids.map(String) : []);
    } catch (err) {
      return new Set();
    }
  }

  function saveSeen() {
    try {
      localStorage.setItem(SEEN_KEY, JSON.stringify(Array.from(seenIds).slice(-MAX_ALERTS)));
    } catch (err) {
      // Private mode or storage full: the badge simply restarts with the next page load.
    }
  }

  const has = (v) => v !== null && v !== undefined && v !== "" && !Number.isNaN(Number(v));
  const fixed = (v, digits) => Number(v).toFixed(digits);
  const kindLabel = (kind) => (EVENT_KINDS[kind] ? EVENT_KINDS[kind][0] : String(kind));
  const kindColour = (kind) => (EVENT_KINDS[kind] ? EVENT_KINDS[kind][1] : "#78909c");

  const when = {
    utc: (iso) => {
      const t = Date.parse(iso);
      return Number.isNaN(t) ? "—" : `${new Date(t).toISOString().slice(0, 16).replace("T", " ")}Z`;
    },
    span: (ms) => {
      const s = Math.max(0, Math.round(ms / 1000));
      if (s < 60) return `${s} s`;
      const m = Math.floor(s / 60);
      if (m < 60) return `${m} min`;
      const h = Math.floor(m / 60);
      if (h < 48) return `${h} h ${m % 60} min`;
      return `${Math.floor(h / 24)} d ${h % 24} h`;
    },
  };

  function durationText(e) {
    const start = Date.parse(e.start);
    if (!e.end) {
      if (POINT_KINDS.has(e.kind)) return "";
      return Number.isNaN(start) ? "open" : `open, ${when.span(Date.now() - start)} so far`;
    }
    const end = Date.parse(e.end);
    if (Number.isNaN(start) || Number.isNaN(end)) return "";
    return end - start < 1000 ? "instant" : when.span(end - start);
  }

  function vesselsText(e) {
    const other = has(e.other_mmsi) ? ` ↔ ${e.other_mmsi}` : "";
    return `MMSI ${fmt.text(e.mmsi)}${other}`;
  }

  function detailsText(e) {
    const d = e.details || {};
    const parts = [];
    const add = (value, text) => {
      if (has(value)) parts.push(text);
    };
    switch (e.kind) {
      case "ais_gap":
        if (has(d.gap_h)) parts.push(`${fixed(d.gap_h, 1)} h dark`);
        else parts.push("still silent");
        add(d.distance_nm, `${fixed(d.distance_nm, 1)} nm covered`);
        add(d.implied_speed_kn, `implied ${fixed(d.implied_speed_kn, 1)} kn`);
        add(d.shore_nm, `${fixed(d.shore_nm, 0)} nm offshore`);
        if (d.overdue === true) parts.push("overdue");
        break;
      case "loitering":
        add(d.duration_h, `${fixed(d.duration_h, 1)} h at low speed`);
        break;
      case "encounter":
        add(d.duration_h, `${fixed(d.duration_h, 1)} h alongside`);
        add(d.min_distance_m, `min ${fixed(d.min_distance_m, 0)} m apart`);
        add(d.median_speed_kn, `median ${fixed(d.median_speed_kn, 1)} kn`);
        break;
      case "approach":
        add(d.closing_kn, `closing ${fixed(d.closing_kn, 1)} kn`);
        add(d.min_range_nm, `min range ${fixed(d.min_range_nm, 2)} nm`);
        add(d.shadow_min, `shadowing ${fixed(d.shadow_min, 0)} min`);
        break;
      case "spoofing":
        if (d.reason) parts.push(SPOOF_REASONS[d.reason] || String(d.reason));
        add(d.max_speed_kn, `max ${fixed(d.max_speed_kn, 0)} kn`);
        add(d.n_reports, `${Number(d.n_reports).toLocaleString()} report${
          Number(d.n_reports) === 1 ? "" : "s"}`);
        break;
      case "zone_entry":
      case "zone_exit":
        if (d.zone_kind) parts.push(ZONE_LABELS[d.zone_kind] || String(d.zone_kind));
        break;
      default:
        break;
    }
    return parts.join(", ");
  }

  function span(className, text) {
    const el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    return el;
  }

  function newAlertItem(id) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "alert-item";
    button.addEventListener("click", () => showEvent(id));
    item.append(button);
    // One click opens an incident from the alert (ops.js); shown to those who may.
    item.append(ops.alertButton(() => (alerts.has(id) ? alerts.get(id).event : null)));
    return item;
  }

  function fillAlertItem(entry) {
    const e = entry.event;
    const item = entry.item;
    item.dataset.id = e.id;
    item.dataset.kind = e.kind;
    item.dataset.mmsi = fmt.text(e.mmsi);
    item.style.setProperty("--kind", kindColour(e.kind));
    item.classList.toggle("alert-fresh", freshIds.has(e.id));
    item.classList.toggle("alert-open", !e.end && !POINT_KINDS.has(e.kind));
    const filter = $("alerts-filter").value;
    item.hidden = filter !== "" && e.kind !== filter;
    const duration = durationText(e);
    if (e.origin) item.dataset.origin = String(e.origin);
    const button = item.firstChild;
    const kindLine = span("alert-kind", kindLabel(e.kind));
    if (e.origin) kindLine.prepend(span("origin", String(e.origin)));
    button.replaceChildren(
      session.marking(e.banner),
      kindLine,
      span("alert-when", duration ? `${when.utc(e.start)} · ${duration}` : when.utc(e.start)),
      span("alert-vessels", vesselsText(e)),
    );
    if (e.zone) button.append(span("alert-zone", `zone ${e.zone}`));
    const details = detailsText(e);
    if (details) button.append(span("alert-details", details));
    button.setAttribute("aria-current", String(e.id === activeAlert));
    const action = item.querySelector(".alert-incident");
    if (action) action.hidden = !session.can("incidents:write");
    item.classList.toggle("with-action", Boolean(action && !action.hidden));
  }

  function newestFirst(a, b) {
    const ta = Date.parse(a.event.start) || 0;
    const tb = Date.parse(b.event.start) || 0;
    if (ta !== tb) return tb - ta;
    return a.event.id < b.event.id ? 1 : -1;
  }

  function upsertAlert(e) {
    if (!e || e.id === undefined || e.id === null) return false;
    const id = String(e.id);
    const event = { ...e, id };
    const entry = alerts.get(id);
    if (entry) {
      // The list load and the live feed can race: never let an older copy win.
      if ((Date.parse(event.updated) || 0) < (Date.parse(entry.event.updated) || 0)) return false;
      entry.event = event;
      fillAlertItem(entry);
      return false;
    }
    const created = { event, item: newAlertItem(id) };
    alerts.set(id, created);
    if (alertsOpen()) {
      seenIds.add(id);
      freshIds.add(id);
    }
    fillAlertItem(created);
    return true;
  }

  function orderAlerts() {
    const ordered = Array.from(alerts.values()).sort(newestFirst);
    for (const dropped of ordered.splice(MAX_ALERTS)) {
      dropped.item.remove();
      alerts.delete(dropped.event.id);
    }
    const list = $("alerts-list");
    ordered.forEach((entry, i) => {
      const at = list.children[i] || null;
      if (at !== entry.item) list.insertBefore(entry.item, at);
    });
  }

  function unseenCount() {
    let unseen = 0;
    for (const id of alerts.keys()) if (!seenIds.has(id)) unseen += 1;
    return unseen;
  }

  function refreshBadge() {
    const unseen = unseenCount();
    const badge = $("alert-badge");
    badge.dataset.new = String(unseen);
    badge.dataset.total = String(alerts.size);
    setText("alert-new", unseen.toLocaleString());
    setText("alert-total", alerts.size.toLocaleString());
    const filter = $("alerts-filter").value;
    let shown = alerts.size;
    if (filter) shown = Array.from(alerts.values()).filter((a) => a.event.kind === filter).length;
    let status = alerts.size ? `${alerts.size.toLocaleString()} alerts` : "No alerts yet.";
    if (filter) status = `${shown.toLocaleString()} of ${alerts.size.toLocaleString()} alerts`;
    setText("alerts-status", status);
  }

  function applyEvents(list) {
    let activeChanged = false;
    for (const e of list) {
      upsertAlert(e);
      if (e && String(e.id) === activeAlert) activeChanged = true;
    }
    orderAlerts();
    if (alertsOpen()) saveSeen();
    refreshBadge();
    if (activeChanged && alerts.has(activeAlert)) drawEvent(alerts.get(activeAlert).event, false);
  }

  /** Partner alerts (records of kind "alert" from sharing.js) in the same list, keyed by gid. */
  function applyPartnerAlerts(records) {
    const events = [];
    for (const r of records) {
      if (r.deleted) {
        removeAlert(r.gid);
        continue;
      }
      const p = r.payload && typeof r.payload === "object" ? r.payload : {};
      const updated = p.updated || r.updated_at;
      events.push({ ...p, id: r.gid, banner: r.banner, origin: r.origin_nation, updated });
    }
    applyEvents(events);
  }

  function removeAlert(id) {
    const entry = alerts.get(String(id));
    if (!entry) return;
    if (activeAlert === entry.event.id) showEvent(null);
    entry.item.remove();
    alerts.delete(entry.event.id);
    refreshBadge();
  }

  async function loadAlerts() {
    if (!session.can("events:read")) return;
    try {
      const response = await session.api("/api/events?limit=500");
      if (!response.ok) throw new Error(await errorText(response));
      const body = await response.json();
      applyEvents(Array.isArray(body.events) ? body.events : []);
      document.body.dataset.alertsReady = "1";
    } catch (err) {
      console.warn("alerts unavailable", err);
      setText("alerts-status", `Could not load alerts (${err.message}).`);
    }
  }

  const alertsOpen = () => !$("alerts-panel").hidden;

  function setAlertsOpen(open) {
    $("alerts-panel").hidden = !open;
    $("alerts-toggle").setAttribute("aria-expanded", String(open));
    if (open) {
      freshIds = new Set();
      for (const id of alerts.keys()) {
        if (!seenIds.has(id)) freshIds.add(id);
        seenIds.add(id);
      }
      saveSeen();
      alerts.forEach(fillAlertItem);
    }
    refreshBadge();
  }

  $("alerts-toggle").addEventListener("click", () => setAlertsOpen(!alertsOpen()));
  $("alerts-close").addEventListener("click", () => {
    setAlertsOpen(false);
    $("alerts-toggle").focus();
  });
  $("alerts-filter").addEventListener("change", () => {
    alerts.forEach(fillAlertItem);
    refreshBadge();
  });
  $("alerts-clear-map").addEventListener("click", () => showEvent(null));
  setInterval(() => {
    // Open events grow: keep their "so far" current.
    for (const entry of alerts.values()) if (!entry.event.end) fillAlertItem(entry);
  }, 30000);

  // ---- event layer: the selected alert drawn on the map ------------------------------------
  const eventLayer = L.layerGroup().addTo(map);
  const OVERLAY = { renderer: overlayRenderer, pane: "events", interactive: false };

  function validLatLng(lat, lon) {
    return has(lat) && has(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 540;
  }

  function eventMark(latlng, colour, filled) {
    return L.circleMarker(latlng, {
      ...OVERLAY, radius: 8, color: colour, weight: 2.5, fillColor: colour,
      fillOpacity: filled ? 0.55 : 0.1, className: "event-mark",
    });
  }

  function ringVessel(mmsi) {
    const entry = vessels.get(mmsi);
    if (!entry || rings.has(mmsi)) return;
    const ring = L.circleMarker(entry.symbol.getLatLng(), {
      ...OVERLAY, radius: 13, color: "#ffeb3b", weight: 2.5, fill: false, className: "vessel-ring",
    });
    ring.addTo(eventLayer);
    rings.set(mmsi, ring);
  }

  function clearEventLayer() {
    eventLayer.clearLayers();
    rings.clear();
  }

  function drawEvent(e, fit) {
    clearEventLayer();
    const colour = kindColour(e.kind);
    const d = e.details || {};
    const points = [];
    if (validLatLng(e.lat, e.lon)) points.push(L.latLng(Number(e.lat), Number(e.lon)));
    if (e.kind === "ais_gap" && validLatLng(d.end_lat, d.end_lon)) {
      // Where the vessel went dark, where it reappeared, and the dashed gap between.
      const end = L.latLng(Number(d.end_lat), Number(d.end_lon));
      if (points.length) {
        L.polyline([points[0], end], {
          ...OVERLAY, color: colour, weight: 2.5, dashArray: "8 6", className: "event-gap",
        }).addTo(eventLayer);
      }
      points.push(end);
    }
    points.forEach((p, i) => eventMark(p, colour, i === 0).addTo(eventLayer));
    for (const mmsi of [e.mmsi, e.other_mmsi]) {
      if (has(mmsi)) ringVessel(Number(mmsi));
    }
    if (fit) fitToEvent(points);
  }

  function fitToEvent(points) {
    const all = points.concat(Array.from(rings.values(), (r) => r.getLatLng()));
    if (!all.length) return;
    map.invalidateSize(); // a panel may just have opened beside the map
    // Keep the event clear of the zone tools when they are unfolded over the map's right side.
    const tools = $("zone-details").open ? $("zone-tools").offsetWidth + 20 : 0;
    map.fitBounds(L.latLngBounds(all), {
      paddingTopLeft: [60, 60], paddingBottomRight: [60 + tools, 60], maxZoom: 9,
    });
  }

  function showEvent(id) {
    const previous = activeAlert;
    const entry = id === null ? null : alerts.get(String(id));
    activeAlert = entry ? entry.event.id : null;
    for (const other of [previous, activeAlert]) {
      if (other !== null && alerts.has(other)) fillAlertItem(alerts.get(other));
    }
    if (!entry) {
      clearEventLayer();
      return;
    }
    const e = entry.event;
    if (has(e.mmsi)) {
      selectVessel(Number(e.mmsi)).catch((err) => console.warn("vessel unavailable", err));
    }
    drawEvent(e, true);
  }

  // ---- zones: areas the zone detectors watch -----------------------------------------------
  const zoneLayer = L.layerGroup().addTo(map);
  let zoneFeatures = []; // {name, kind, layer}

  function zoneStatus(text, tone) {
    const el = $("zone-status");
    el.textContent = text;
    el.dataset.tone = tone || "";
  }

  const errorText = session.errorText;

  function zoneStyle(kind) {
    const colour = ZONE_COLOURS[kind] || ZONE_COLOURS.custom;
    return {
      color: colour, weight: 1.5, opacity: 0.9, fillColor: colour, fillOpacity: 0.08,
      dashArray: kind === "exercise_area" ? "6 4" : null,
    };
  }

  function zonesToBack() {
    // Zones share the vessels' canvas (one canvas takes the clicks): keep them under the ships.
    zoneLayer.eachLayer((layer) => layer.bringToBack());
  }

  function zonePopup(zone, note) {
    const box = document.createElement("div");
    box.className = "zone-popup";
    const title = document.createElement("strong");
    title.textContent = zone.name;
    box.append(title, span("muted", ZONE_LABELS[zone.kind] || zone.kind));
    if (note) {
      const text = document.createElement("div");
      text.textContent = note;
      box.append(text);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "tool-button";
    remove.textContent = "Delete zone";
    remove.setAttribute("aria-label", `Delete zone ${zone.name}`);
    remove.addEventListener("click", () => deleteZone(zone.name));
    remove.hidden = !session.can("zones:write");
    box.append(remove);
    return box;
  }

  function zoneListItem(zone) {
    const item = document.createElement("li");
    item.dataset.name = zone.name;
    const swatch = span("zone-swatch", "");
    swatch.style.borderColor = ZONE_COLOURS[zone.kind] || ZONE_COLOURS.custom;
    const name = document.createElement("button");
    name.type = "button";
    name.className = "link-button zone-name";
    name.textContent = zone.name;
    name.title = "Show on the map";
    name.addEventListener("click", () => {
      if (!map.hasLayer(zoneLayer)) setZonesShown(true);
      map.fitBounds(zone.layer.getBounds(), { padding: [40, 40], maxZoom: 11 });
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "close";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Delete zone ${zone.name}`);
    remove.addEventListener("click", () => deleteZone(zone.name));
    remove.hidden = !session.can("zones:write");
    item.append(swatch, name, span("muted zone-kind", ZONE_LABELS[zone.kind] || zone.kind), remove);
    return item;
  }

  function renderZones(features) {
    zoneLayer.clearLayers();
    zoneFeatures = [];
    const list = $("zone-list");
    list.replaceChildren();
    for (const feature of features) {
      const props = (feature && feature.properties) || {};
      const zone = { name: String(props.name || ""), kind: String(props.kind || "custom") };
      try {
        zone.layer = L.geoJSON(feature, {
          renderer: vesselRenderer, pane: "vessels", style: () => zoneStyle(zone.kind),
        });
      } catch (err) {
        console.warn("unreadable zone", zone.name, err);
        continue;
      }
      const tip = span("", `${zone.name} — ${ZONE_LABELS[zone.kind] || zone.kind}`);
      zone.layer.bindTooltip(tip, { sticky: true });
      zone.layer.on("click", (ev) => {
        if (draw.active) return;
        L.popup().setLatLng(ev.latlng).setContent(zonePopup(zone, props.note)).openOn(map);
      });
      zone.layer.addTo(zoneLayer);
      zoneFeatures.push(zone);
      list.append(zoneListItem(zone));
    }
    zonesToBack();
    setText("zone-count", String(zoneFeatures.length));
  }

  async function loadZones() {
    try {
      const response = await session.api("/api/zones");
      if (!response.ok) throw new Error(await errorText(response));
      const body = await response.json();
      renderZones(Array.isArray(body.features) ? body.features : []);
    } catch (err) {
      console.warn("zones unavailable", err);
      zoneStatus(`Could not load zones: ${err.message}`, "error");
    }
  }

  async function postZones(body) {
    const response = await fetch("/api/zones", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    if (!response.ok) throw new Error(await errorText(response));
    const result = await response.json();
    await loadZones();
    return Array.isArray(result.stored) ? result.stored : [];
  }

  async function deleteZone(name) {
    if (!window.confirm(`Delete zone "${name}"? Later crossings will no longer be reported.`)) {
      return;
    }
    try {
      const response = await fetch(`/api/zones/${encodeURIComponent(name)}`, { method: "DELETE" });
      if (!response.ok) throw new Error(await errorText(response));
      map.closePopup();
      zoneStatus(`Deleted zone ${name}.`, "ok");
    } catch (err) {
      zoneStatus(`Could not delete ${name}: ${err.message}`, "error");
    }
    await loadZones();
  }

  function setZonesShown(shown) {
    $("zone-show").checked = shown;
    if (shown) {
      zoneLayer.addTo(map);
      zonesToBack();
    } else {
      zoneLayer.remove();
    }
  }

  const zoneControl = L.control({ position: "topright" });
  zoneControl.onAdd = function () {
    const box = $("zone-tools");
    box.hidden = false;
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  zoneControl.addTo(map);

  $("zone-show").addEventListener("change", () => setZonesShown($("zone-show").checked));
  $("zone-upload").addEventListener("click", () => $("zone-file").click());
  $("zone-file").addEventListener("change", async () => {
    const input = $("zone-file");
    const file = input.files && input.files[0];
    if (!file) return;
    zoneStatus(`Uploading ${file.name}…`, "");
    try {
      if (file.size > 4 * 1024 * 1024) throw new Error("zone files are limited to 4 MB");
      const stored = await postZones(await file.text());
      zoneStatus(`Stored ${stored.join(", ") || "no zones"} from ${file.name}.`, "ok");
    } catch (err) {
      zoneStatus(`${file.name}: ${err.message}`, "error");
    } finally {
      input.value = ""; // the same file can be picked again after a fix
    }
  });

  // ---- drawing a zone: click the corners, double-click or Finish, then name it ------------
  const draw = { active: false, points: [], layer: L.layerGroup().addTo(map) };

  function renderDraft() {
    draw.layer.clearLayers();
    const pts = draw.points;
    const style = { ...OVERLAY, color: "#ffffff", weight: 2, dashArray: "4 4" };
    if (pts.length >= 3) L.polygon(pts, { ...style, fillOpacity: 0.12 }).addTo(draw.layer);
    else if (pts.length === 2) L.polyline(pts, style).addTo(draw.layer);
    for (const p of pts) {
      L.circleMarker(p, { ...OVERLAY, radius: 4, color: "#ffffff", weight: 1.5, fillOpacity: 0.9 })
        .addTo(draw.layer);
    }
    setText("zone-draw-count", `${pts.length} point${pts.length === 1 ? "" : "s"}`);
    $("zone-finish").disabled = pts.length < 3;
  }

  function startDrawing() {
    $("zone-form").hidden = true;
    draw.active = true;
    draw.points = [];
    map.closePopup();
    map.doubleClickZoom.disable();
    map.getContainer().classList.add("drawing");
    $("zone-draw").setAttribute("aria-pressed", "true");
    $("zone-draw-bar").hidden = false;
    zoneStatus("", "");
    renderDraft();
  }

  function stopDrawing() {
    draw.active = false;
    map.doubleClickZoom.enable();
    map.getContainer().classList.remove("drawing");
    $("zone-draw").setAttribute("aria-pressed", "false");
    $("zone-draw-bar").hidden = true;
  }

  function cancelDrawing() {
    stopDrawing();
    draw.points = [];
    renderDraft();
    $("zone-form").hidden = true;
  }

  function addVertex(latlng) {
    const last = draw.points[draw.points.length - 1];
    const px = (ll) => map.latLngToContainerPoint(ll);
    if (last && px(last).distanceTo(px(latlng)) < 5) return; // the clicks of a double-click
    draw.points.push(latlng);
    renderDraft();
  }

  function finishDrawing() {
    if (draw.points.length < 3) {
      zoneStatus("A zone needs at least three points.", "error");
      return;
    }
    stopDrawing();
    $("zone-form").hidden = false;
    $("zone-name").focus();
  }

  async function saveDrawnZone(event) {
    event.preventDefault();
    const name = $("zone-name").value.trim();
    if (!name) {
      zoneStatus("Give the zone a name.", "error");
      return;
    }
    if (zoneFeatures.some((z) => z.name === name) && !window.confirm(`Replace zone "${name}"?`)) {
      return;
    }
    const ring = draw.points.map((p) => {
      const w = p.wrap();
      return [Number(w.lng.toFixed(6)), Number(w.lat.toFixed(6))];
    });
    ring.push(ring[0]);
    const feature = {
      type: "Feature",
      properties: { name, kind: $("zone-kind").value },
      geometry: { type: "Polygon", coordinates: [ring] },
    };
    $("zone-save").disabled = true;
    try {
      const stored = await postZones(JSON.stringify(feature));
      cancelDrawing();
      $("zone-name").value = "";
      zoneStatus(`Stored zone ${stored.join(", ")}.`, "ok");
    } catch (err) {
      zoneStatus(err.message, "error");
    } finally {
      $("zone-save").disabled = false;
    }
  }

  map.on("click", (ev) => {
    if (draw.active) addVertex(ev.latlng);
  });
  map.on("dblclick", (ev) => {
    if (!draw.active) return;
    addVertex(ev.latlng);
    finishDrawing();
  });
  $("zone-draw").addEventListener("click", () => {
    if (draw.active) cancelDrawing();
    else startDrawing();
  });
  $("zone-finish").addEventListener("click", finishDrawing);
  $("zone-draw-cancel").addEventListener("click", cancelDrawing);
  $("zone-form-cancel").addEventListener("click", cancelDrawing);
  $("zone-form").addEventListener("submit", saveDrawnZone);

  // ---- hooks for tests and operators' scripts --------------------------------------------
  function pickVisibleVessel() {
    // The on-screen vessel farthest from its neighbours, so a click hits exactly that one.
    const rect = map.getContainer().getBoundingClientRect();
    const size = map.getSize();
    const visible = [];
    for (const [mmsi, entry] of vessels) {
      const pt = map.latLngToContainerPoint(entry.symbol.getLatLng());
      const inside = pt.x > 60 && pt.y > 60 && pt.x < size.x - 60 && pt.y < size.y - 200;
      // Not under a control (legend, zone tools): the click must land on the vessel canvas.
      const top = inside && document.elementFromPoint(rect.left + pt.x, rect.top + pt.y);
      if (inside && top === vesselRenderer._container) {
        visible.push({ mmsi, pt });
      }
      if (visible.length >= 3000) break;
    }
    let best = null;
    let bestGap = -1;
    for (const a of visible) {
      let gap = Infinity;
      for (const b of visible) {
        if (a !== b) gap = Math.min(gap, a.pt.distanceTo(b.pt));
      }
      if (gap > bestGap) {
        bestGap = gap;
        best = a;
      }
    }
    return best && { mmsi: best.mmsi, x: rect.left + best.pt.x, y: rect.top + best.pt.y };
  }

  window.jointwatch = {
    vesselCount: () => vessels.size,
    selectVessel,
    trackPointCount: () => trackPoints,
    pickVisibleVessel,
    map,
    alertCount: () => alerts.size,
    unseenAlertCount: unseenCount,
    showEvent,
    activeAlert: () => activeAlert,
    eventLayerCount: () => eventLayer.getLayers().length,
    highlightedVessels: () => Array.from(rings.keys()),
    zoneNames: () => zoneFeatures.map((z) => z.name),
    loadZones,
    records: () => sharing.records(),
    me: () => session.me(),
    showRecord: sharing.showRecord,
    incidents: () => ops.incidents(),
    units: () => ops.units(),
    openIncident: (gid) => ops.openIncident(gid),
  };

  // ---- start: after sign-in only ---------------------------------------------------------
  function signedIn(me, resumed) {
    const editor = session.can("zones:write");
    $("zone-upload").hidden = !editor;
    $("zone-draw").hidden = !editor;
    if (!resumed) loadZones();
    sharing.start(me, resumed);
    ops.start(me, resumed);
    reconnected = false;
    connect();
  }

  function signedOut() {
    stopLive();
    sharing.stop();
    ops.stop();
  }

  sharing.init({
    map, partnerAlerts: applyPartnerAlerts, selectVessel, opsRecords: ops.applyRecords,
  });
  ops.init({ map });
  session.onSignedIn(signedIn);
  session.onSignedOut(signedOut);
  refreshBadge();
  session.start();
})();
