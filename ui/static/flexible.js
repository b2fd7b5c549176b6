// The loads page's car and hot-water section: each flexible load's state, what it
// needs by when, the plan's power for it slot by slot (/api/flexible), and a one-off
// target for its next deadline through POST/DELETE /api/flexible/{id}/target. Read
// again when the flexible or plan flow finishes. Text only goes in through textContent.
"use strict";

(() => {
  const { h, api, onEvent, debounce } = window.PM;
  const FLOWS = new Set(["flexible", "plan"]);
  const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/;
  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  /** "Tue 07:30" for a wall-time ISO string (the API gives the site's zone). */
  function when(iso) {
    const m = WALL.exec(iso ?? "");
    if (!m) return "—";
    const day = DAYS[new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay()];
    return `${day} ${m[4]}:${m[5]}`;
  }
  const kw = (w) => `${(Number(w) / 1000).toFixed(1)} kW`;
  const kwh = (v) => (v === null || v === undefined ? "—" : `${Number(v).toFixed(1)} kWh`);
  const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)} %`);
  const cards = new Map();
  const refused = new Map();
  let shown = null;

  function now(load) {
    const s = load.state;
    if (s.available === false) return "no answer";
    if (s.setpoint_w === undefined) return "not driven yet";
    const drawn = s.power_w === null || s.power_w === undefined ? "" : `, drawing ${Math.round(s.power_w)} W`;
    return `set to ${Math.round(s.setpoint_w ?? 0)} W${drawn}`;
  }

  function car(load) {
    const s = load.state;
    if (load.kind !== "car") return null;
    const plug = s.plugged === true ? "plugged in" : s.plugged === false ? "not plugged in" : "plug unknown";
    return `${plug}; SOC ${pct(s.soc)}`;
  }

  function planLine(load) {
    const p = load.plan;
    if (!p.why) return "no plan yet";
    const runs = spans(p.slots).map((span) => {
      const cents = span.prices.length
        ? ` at ${Math.min(...span.prices).toFixed(1)}${span.prices.length > 1
          && Math.max(...span.prices) !== Math.min(...span.prices) ? `–${Math.max(...span.prices).toFixed(1)}` : ""}c`
        : "";
      const end = WALL.exec(span.end);
      return `${when(span.start)}–${end ? `${end[4]}:${end[5]}` : "?"} ${kw(span.power_w)}${cents}`;
    });
    const short = Number(p.shortfall_kwh ?? 0) > 0.001 ? `; ${kwh(p.shortfall_kwh)} short` : "";
    return `${p.why}: ${runs.length ? runs.join(", ") : "nothing in this plan"}${short}`;
  }

  /** Runs of back-to-back slots at one power: {start, end, power_w, prices (c)}. */
  function spans(slots) {
    const found = [];
    for (const slot of slots) {
      const last = found[found.length - 1];
      const price = slot.import_price === null || slot.import_price === undefined ? [] : [slot.import_price * 100];
      if (last && last.end === slot.start && Math.abs(last.power_w - slot.power_w) < 1) {
        last.end = slot.end;
        last.prices.push(...price);
      } else {
        found.push({ start: slot.start, end: slot.end, power_w: slot.power_w, prices: price });
      }
    }
    return found;
  }

  function card(load) {
    const el = {};
    const dd = (label, key) => { el[key] = h("dd"); return [h("dt", {}, label), el[key]]; };
    el.title = h("h2");
    el.reason = h("p", { class: "reason" });
    el.problem = h("p", { class: "problem", role: "alert", hidden: "" });
    const socTarget = load.kind === "car";
    el.value = h("input", { type: "number", min: "0", step: socTarget ? "1" : "0.1",
      max: socTarget ? "100" : null, required: "", class: "target-value",
      "aria-label": socTarget ? `${load.name}: SOC %` : `${load.name}: kWh` });
    el.by = h("input", { type: "time", required: "", class: "target-by", "aria-label": `${load.name}: by` });
    el.set = h("button", { type: "submit" }, "Set");
    el.cancel = h("button", { type: "button", onclick: () => cancel(load.id, el) }, "Cancel");
    el.form = h("form", { class: "commands", "aria-label": `one-off target, ${load.name}`,
      onsubmit: (event) => { event.preventDefault(); setTarget(load, el); } },
    h("label", {}, socTarget ? "SOC % " : "kWh ", el.value), h("label", {}, " by ", el.by), el.set, el.cancel);
    el.root = h("article", { class: "load", "data-flexible": load.id },
      h("header", {}, el.title),
      el.reason,
      h("dl", {}, ...dd("Now", "now"), ...(socTarget ? dd("Car", "car") : []), ...dd("Needs", "needs"),
        ...dd("Plan", "plan"), ...dd("One-off target", "oneoff"), ...dd("Mode", "mode")),
      el.form, el.problem);
    return el;
  }

  function paint(el, load) {
    const s = load.state;
    el.title.textContent = load.name === load.id ? load.name : `${load.name} (${load.id})`;
    el.reason.textContent = s.reason ?? "";
    el.now.textContent = now(load);
    if (el.car) el.car.textContent = car(load);
    el.needs.textContent = s.needed_kwh === undefined ? "—"
      : `${kwh(s.needed_kwh)} by ${when(s.deadline)} (${kwh(s.session_kwh)} drawn this session)`;
    el.plan.textContent = planLine(load);
    el.oneoff.textContent = load.one_off
      ? `${load.one_off.soc !== undefined ? pct(load.one_off.soc) : kwh(load.one_off.energy_kwh)} by ${when(load.one_off.by)} (${load.one_off.source})`
      : "none: the configured target";
    el.cancel.disabled = !load.one_off;
    el.mode.textContent = `${load.mode === "solar_only" ? "solar only" : "cheapest"}`
      + (load.from_battery ? ", may use the house battery" : ", never from the house battery");
    const problem = refused.get(load.id) ?? s.last_error;
    el.problem.textContent = problem ?? "";
    el.problem.hidden = !problem;
  }

  function problems(answer, status) {
    return (answer?.problems ?? []).map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ")
      || answer?.error || `refused (${status})`;
  }

  async function setTarget(load, el) {
    const value = Number(el.value.value);
    const body = load.kind === "car" ? { soc: value / 100, by: el.by.value } : { energy_kwh: value, by: el.by.value };
    const { ok, status, body: answer } = await api(`/api/flexible/${encodeURIComponent(load.id)}/target`,
      { method: "POST", body });
    if (ok) refused.delete(load.id); else refused.set(load.id, `target refused: ${problems(answer, status)}`);
    refresh();
  }

  async function cancel(id) {
    const { ok, status, body: answer } = await api(`/api/flexible/${encodeURIComponent(id)}/target`,
      { method: "DELETE" });
    if (ok) refused.delete(id); else refused.set(id, `cancel refused: ${problems(answer, status)}`);
    refresh();
  }

  function render(data) {
    const root = document.getElementById("flexible");
    const section = document.getElementById("flexible-section");
    section.hidden = !data.loads.length;
    const ids = data.loads.map((load) => load.id).join("\n");
    if (ids !== shown) {
      cards.clear();
      for (const load of data.loads) cards.set(load.id, card(load));
      root.replaceChildren(...[...cards.values()].map((el) => el.root));
      shown = ids;
    }
    for (const load of data.loads) paint(cards.get(load.id), load);
  }

  async function refresh() {
    const { ok, body } = await api("/api/flexible");
    if (ok) render(body);
  }

  const reload = debounce(refresh, 500);
  onEvent((event) => {
    if (event.type === "run" && FLOWS.has(event.flow)) reload();
    else if (event.type === "ready") reload();
  });
  refresh();
})();
