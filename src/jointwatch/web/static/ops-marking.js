/* JointWatch console, command center: security markings for the incident and unit forms.
 *
 * A marking picker like the report form's (classification, NOFORN, REL TO, TLP, caveats),
 * built for the new-incident, new-unit and re-mark forms, and banners parsed back into
 * markings. Part of ops.js (JW.opsKit); the node has the last word on every marking.
 */
"use strict";

(function () {
  const JW = (window.JW = window.JW || {});
  const $ = (id) => document.getElementById(id);
  const kit = JW.opsKit;
  const { state, pickers, text, span, el, option } = kit;

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
    const node = state.me.node;
    const id = fieldset.id;
    const top = node.levels.indexOf(state.me.clearance);
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

  /** The three forms' pickers, made once at the first sign-in. */
  function setupPickers() {
    pickers.incident = markingPicker($("new-incident-marking"));
    pickers.unit = markingPicker($("unit-marking"));
    pickers.remark = markingPicker($("incident-edit-marking"));
  }

  Object.assign(kit, { parseBanner, setupPickers });
})();
