/* JointWatch console, command center: units.
 *
 * The units list, the new-unit form and the units on the map; and on the incident page the
 * units tasked, the nearest available ones, and the relief requests units fulfil. A unit's
 * status follows the open incidents it is tasked to: the node works it out, the console
 * reloads /api/units. Part of ops.js (JW.opsKit).
 */
"use strict";

(function () {
  const JW = (window.JW = window.JW || {});
  const $ = (id) => document.getElementById(id);
  const session = JW.session;
  const kit = JW.opsKit;
  const { incidents, page, state, pickers, text, isNum, span, el, button, option } = kit;
  const { setText, utc, age, position, writable, call, incidentPath, tip, mapCentre } = kit;
  const { putIncident, incidentsChanged, isOpen } = kit;

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

  // ---- units ----------------------------------------------------------------------------------
  async function loadUnits() {
    if (!session.can("incidents:read")) return;
    try {
      const body = await call("/api/units");
      state.units = Array.isArray(body.units) ? body.units : [];
      setText("units-status", state.units.length ? "" : "No units yet.");
    } catch (err) {
      setText("units-status", `Could not load units (${err.message}).`);
    }
    renderUnits();
    if (page.gid) renderPageUnits();
  }

  const ownUnit = (u) => state.me && u.origin_nation === state.me.node.nation;

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
        const c = state.hooks.map.getCenter().wrap();
        patchUnit(u.gid, { lat: Number(c.lat.toFixed(5)), lon: Number(c.lng.toFixed(5)) }, here);
      });
      row.append(here);
      li.append(row);
    }
    return li;
  }

  function renderUnits() {
    const ordered = state.units.slice().sort((a, b) =>
      text(a.nation).localeCompare(text(b.nation)) || text(a.name).localeCompare(text(b.name)));
    $("units-list").replaceChildren(...ordered.map(unitItem));
    setText("unit-count", state.units.length.toLocaleString());
    if (!state.layers) return;
    state.layers.units.clearLayers();
    for (const u of ordered) {
      if (!isNum(u.lat) || !isNum(u.lon)) continue;
      const colour = UNIT_COLOURS[u.status] || UNIT_COLOURS.unavailable;
      L.circleMarker([u.lat, u.lon], {
        renderer: state.layers.renderer, pane: "ops", radius: 6, color: "#ffffff", weight: 1.5,
        fillColor: colour, fillOpacity: 0.95, className: "unit-mark",
      })
        .bindTooltip(tip(
          text(u.name), `${text(u.nation)} · ${UNIT_TYPES[u.type] || text(u.type)}`,
          UNIT_STATUS[u.status] || text(u.status),
        ))
        .addTo(state.layers.units);
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

  // ---- units on the incident page: tasked, nearest available, relief requests -----------------
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
        row.append(kit.actionButton("on_scene", "On scene", r, t.unit_gid));
      }
      if (active) row.append(kit.actionButton("release_unit", "Release", r, t.unit_gid));
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
      row.append(kit.actionButton("task", "Task", r, u.gid));
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
        select.append(
          ...state.units.map((u) => option(u.gid, `${text(u.name)} (${text(u.nation)})`)),
        );
        const fulfil = button("Fulfil");
        fulfil.dataset.request = text(q.id);
        fulfil.disabled = !state.units.length;
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

  $("unit-use-centre").addEventListener("click", () => mapCentre("unit-lat", "unit-lon"));
  $("unit-form").addEventListener("submit", submitUnit);
  $("incident-request-form").addEventListener("submit", addRequest);

  Object.assign(kit, { loadUnits, renderPageUnits, loadSuggest, renderRequests });
})();
