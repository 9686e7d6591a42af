/* JointWatch console, command center: the incidents panel.
 *
 * Which command-center panel shows, the panel's tabs, the incident list, the board by
 * status and the open incidents on the map; and opening an incident, from an alert in one
 * click or with the new-incident form. Part of ops.js (JW.opsKit).
 */
"use strict";

(function () {
  const JW = (window.JW = window.JW || {});
  const $ = (id) => document.getElementById(id);
  const session = JW.session;
  const sharing = JW.sharing;
  const kit = JW.opsKit;
  const { SEVERITY_COLOURS, page, state, pickers, text, isNum, span, el, button } = kit;
  const { setText, later, age, writable, kindLabel, stateLabel, call, tip, mapCentre } = kit;
  const { putIncident, incidentsChanged, sorted, isOpen } = kit;

  const BOARD = [
    ["detected", ["detected"], "Detected"],
    ["acknowledged", ["acknowledged"], "Acknowledged"],
    ["tasked", ["tasked"], "Tasked"],
    ["on_scene", ["on_scene"], "On scene"],
    ["closed", ["resolved", "false_alarm"], "Closed"],
  ];
  const BOARD_CLOSED_MAX = 30;

  function toast(message) {
    const box = $("ops-toast");
    box.textContent = message;
    box.hidden = false;
    later("toast", () => {
      box.hidden = true;
    }, 8000);
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
    if (name !== "page" && state.layers) state.layers.focus.clearLayers();
    if (name === "metrics") kit.loadMetrics(); // always fresh when opened; live while open
  }

  function selectView(name) {
    state.view = name;
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
    b.addEventListener("click", () => kit.openIncident(r.gid));
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

  function drawIncidentLayer(open) {
    if (!state.layers) return;
    state.layers.incidents.clearLayers();
    for (const r of open) {
      const p = r.payload || {};
      if (!isNum(p.lat) || !isNum(p.lon)) continue;
      const colour = SEVERITY_COLOURS[p.severity] || "#78909c";
      const mark = L.circleMarker([p.lat, p.lon], {
        renderer: state.layers.renderer, pane: "ops", radius: 9, color: colour, weight: 3,
        fillColor: colour, fillOpacity: 0.25, className: "incident-mark",
      });
      const about = `${kindLabel(p.kind)} · ${text(p.severity)} · ${stateLabel(p.state)}`;
      mark.bindTooltip(tip(text(p.title), about, text(r.origin_nation)));
      mark.on("click", () => kit.openIncident(r.gid));
      mark.addTo(state.layers.incidents);
    }
  }

  // ---- opening an incident: from an alert in one click, or by hand --------------------------
  function sourceMatches(r, event) {
    const src = (r.payload || {}).source_alert;
    if (!src) return false;
    if (event.origin) return src.gid === String(event.id);
    return !src.gid && String(src.id) === String(event.id) &&
      src.origin_nation === state.me.node.nation;
  }

  /** The alert's own marking: a partner's alert stays with its nation, ours keeps the node's
   * event marking; the officer widens it on the incident page. */
  function alertMarking(event) {
    if (event.origin) {
      const record = sharing.record(String(event.id));
      const m = (record && record.marking) || kit.parseBanner(event.banner);
      return {
        classification: m.classification,
        rel_to: [String(event.origin)],
        local_only: false,
        tlp: m.tlp || null,
        caveats: m.caveats || [],
      };
    }
    return kit.parseBanner(state.me.node.event_marking || event.banner);
  }

  async function openFromAlert(event, control) {
    if (!event || !state.me) return null;
    const existing = sorted().find((r) => isOpen(r) && sourceMatches(r, event));
    if (existing) return kit.openIncident(existing.gid);
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
      return kit.openIncident(record.gid);
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
      await kit.openIncident(record.gid);
    } catch (err) {
      setText("new-incident-error", err.message);
    } finally {
      $("new-incident-submit").disabled = false;
    }
  }

  $("incidents-toggle").addEventListener("click", () => {
    const shown = !$("incidents-panel").hidden || !$("incident-page").hidden;
    if (shown) {
      if (!$("incident-page").hidden) kit.closePage();
      showPanel(null);
    } else {
      showPanel("incidents");
    }
  });
  $("incidents-close").addEventListener("click", () => {
    showPanel(null);
    $("incidents-toggle").focus();
  });
  for (const tab of document.querySelectorAll("#incidents-panel [role='tab']")) {
    tab.addEventListener("click", () => selectView(tab.dataset.view));
    tab.addEventListener("keydown", (event) => {
      const names = ["list", "board", "units"];
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = names[(names.indexOf(state.view) + step + names.length) % names.length];
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

  Object.assign(kit, { showPanel, selectView, renderIncidents, openFromAlert, alertButton });
})();
