/* JointWatch console: the live common maritime picture.
 *
 * Offline by design: the coastline comes from the vendored Natural Earth data (world-atlas),
 * there is no tile layer. Every string from the server is treated as hostile: the DOM is
 * built with textContent only (SECURITY.md rule 2), never with HTML strings.
 */
"use strict";

(function () {
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
    const title = document.createElement("div");
    title.className = "legend-title";
    title.textContent = "Zones";
    box.append(title);
    for (const [, label, colour] of ZONE_KINDS) {
      const row = document.createElement("div");
      row.className = "legend-row";
      const swatch = document.createElement("span");
      swatch.className = "legend-swatch zone-swatch";
      swatch.style.borderColor = colour;
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

  // ---- live feed ------------------------------------------------------------------------
  let backoffMs = 1000;
  function setStatus(state, text) {
    const el = $("conn-status");
    el.dataset.state = state;
    el.textContent = text;
  }
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    ws.onopen = () => {
      backoffMs = 1000;
      setStatus("live", "live");
      loadAlerts(); // again after a reconnect: events raised while we were away
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
      // Other message types (incidents) belong to later consoles: ignored here.
    };
    ws.onclose = () => {
      setStatus("reconnecting", `reconnecting in ${Math.round(backoffMs / 1000)} s`);
      setTimeout(connect, backoffMs);
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

  // ---- hooks for tests and operators' scripts --------------------------------------------
  function pickVisibleVessel() {
    // The on-screen vessel farthest from its neighbours, so a click hits exactly that one.
    const rect = map.getContainer().getBoundingClientRect();
    const size = map.getSize();
    const visible = [];
    for (const [mmsi, entry] of vessels) {
      const pt = map.latLngToContainerPoint(entry.symbol.getLatLng());
      if (pt.x > 60 && pt.y > 60 && pt.x < size.x - 60 && pt.y < size.y - 200) {
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
  };

  connect();
})();
