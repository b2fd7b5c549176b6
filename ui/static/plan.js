// The plan page: the plan in force slot by slot (/api/plan), the slot holding now
// highlighted, and when and why it was last rebuilt; the SOC targets and overrides
// set by hand, with a form to add a target. Read again when the plan or replan flow
// finishes; the highlight follows the engine's clock from live events.
// Text only ever goes in through textContent.
"use strict";

(() => {
  const { h, api, onEvent, debounce, fmt } = window.PM;
  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const PLAN_FLOWS = new Set(["plan", "replan"]);
  const MODES = {
    self_use: "Self-use",
    self_use_zero_export: "Self-use, zero export",
    force_charge: "Charge",
    force_discharge: "Discharge",
    hold: "Hold",
  };

  let plan = null;
  let scrolled = false;

  // -- formatting: the site's own wall time, as the ISO offsets give it ----------

  const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/;

  function parts(iso) {
    const m = WALL.exec(iso ?? "");
    if (!m) return null;
    const weekday = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).getUTCDay();
    return { day: `${DAYS[weekday]} ${Number(m[3])} ${MONTHS[Number(m[2]) - 1]}`, time: `${m[4]}:${m[5]}` };
  }

  const wall = (iso) => { const p = parts(iso); return p ? `${p.day} ${p.time}` : "—"; };
  const cents = fmt.price; // c/kWh, as every page shows a price
  const pct = (soc) => (soc === null || soc === undefined ? "—" : `${Math.round(soc * 100)} %`);
  const money = (m) => (m === null || m === undefined ? "—" : `${m < 0 ? "−" : ""}$${Math.abs(m).toFixed(2)}`);

  function ago(seconds) {
    if (seconds < 90) return "just now";
    if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
    return `${(seconds / 3600).toFixed(1)} h ago`;
  }

  function watts(w) {
    if (w === null || w === undefined) return "—";
    const n = Math.round(w);
    return n > 0 ? `+${n}` : n < 0 ? `−${-n}` : "0";
  }

  // -- the header -----------------------------------------------------------------

  function showError(text) {
    const el = document.getElementById("plan-error");
    el.textContent = text ?? "";
    el.hidden = !text;
  }

  function renderRuns(runs) {
    const list = document.getElementById("plan-runs");
    list.replaceChildren(...runs.map((run) => h("li", { class: `run-${run.outcome}` },
      h("span", { class: "outcome" }, run.outcome), ` ${wall(run.started)}: ${run.why}`,
      run.error ? h("span", { class: "error" }, ` ${run.error}`) : null)));
    if (!runs.length) list.append(h("li", { class: "muted" }, "No runs of the plan flow yet."));
  }

  function lastFailure(runs) {
    const last = runs[0];
    if (!last || last.outcome !== "error") return null;
    return `The last rebuild (${wall(last.started)}, ${last.why}) failed: ${last.error ?? "no detail"}. `
      + "The plan below stays in force.";
  }

  function renderHeader(view) {
    document.getElementById("plan-created").textContent = `${wall(view.created_at)} (${ago(view.age_s)})`;
    const from = view.built_from ?? {};
    const detail = [
      from.soc !== undefined ? `from SOC ${pct(from.soc)}` : null,
      from.load_source ? `load: ${from.load_source}` : null,
      view.solver ? `${view.solver}, ${view.status}, ${Math.round((view.solve_ms ?? 0) + (view.build_ms ?? 0))} ms` : null,
    ].filter(Boolean).join(" · ");
    const why = document.getElementById("plan-why");
    why.replaceChildren(view.why, ...(detail ? [h("span", { class: "muted" }, ` (${detail})`)] : []));
    const hours = (view.slots.length * view.slot_seconds) / 3600;
    document.getElementById("plan-cost").textContent =
      `${money(view.expected_cost)} over ${hours} h; ${money(view.expected_cost_ahead)} from now on`;
    document.getElementById("plan-replan").textContent = view.replan
      ? `${view.replan.text} (${wall(view.replan.at)})` : "not running";
    document.getElementById("plan-targets").replaceChildren(
      ...targetLines(view.targets ?? []),
      ...(view.config_problems ?? []).map((text) => h("div", { class: "target warn" }, text)));
    document.getElementById("plan-demand").replaceChildren(...demandLines(view.demand ?? []));
    document.getElementById("plan-flexible").replaceChildren(...flexibleLines(view.flexible ?? []));
    document.getElementById("plan-zone").textContent = `times in ${view.timezone}`;
    renderRuns(view.runs);
    showError(lastFailure(view.runs));
  }

  // One line per SOC target (planner.soc_targets): when, how full, and what the plan reaches.
  function targetLines(targets) {
    if (!targets.length) return ["none (planner.soc_targets)"];
    return targets.map((t) => {
      const asked = t.clamped ? ` (asked ${pct(t.requested_soc)}, above the battery's top)` : "";
      const kind = t.hard ? "hard" : `soft, ${money(t.shortfall_price)}/kWh short`;
      const outcome = t.met
        ? `planned ${pct(t.reached)}: met`
        : `planned ${pct(t.reached)}: ${t.shortfall_kwh.toFixed(1)} kWh short`;
      return h("div", { class: t.met ? "target" : "target warn" },
        `${t.name ? `${t.name}: ` : ""}${pct(t.soc)} by ${wall(t.by)}${asked} (${kind}); ${outcome}`);
    });
  }

  // One line per demand charge (planner.demand_charges): the peak the plan keeps to in
  // its window, the peak the billing cycle already reached there, and what it adds.
  function demandLines(charges) {
    if (!charges.length) return ["none (planner.demand_charges)"];
    const kw = (v) => `${Number(v).toFixed(2)} kW`;
    return charges.map((d) => {
      const source = d.peak_source === "history" ? "recorded this cycle" : "as configured";
      return h("div", { class: d.added_cost > 0 ? "target warn" : "target" },
        `${d.name ? `${d.name}: ` : ""}$${Number(d.price_per_kw).toFixed(2)}/kW; planned peak `
        + `${kw(d.planned_peak_kw)}, peak so far ${kw(d.peak_so_far_kw)} (${source}); `
        + `adds ${money(d.added_cost)}`);
    });
  }

  // One line per flexible load (flexible_loads: a car, a diverter): what it needs by
  // when, and what the plan delivers.
  function flexibleLines(loads) {
    if (!loads.length) return ["none (flexible_loads)"];
    return loads.map((f) => {
      const planned = Number(f.planned_kwh ?? 0).toFixed(1);
      const short = Number(f.shortfall_kwh ?? 0);
      const needed = Number(f.needed_kwh ?? 0);
      let outcome = `planned ${planned} kWh: met`;
      if (needed <= 0.001) outcome = "nothing to do";
      else if (f.shortfall_kwh === undefined) outcome = "waits for a later plan";
      else if (short > 0.001) outcome = `planned ${planned} kWh: ${short.toFixed(1)} kWh short`;
      return h("div", { class: short > 0.001 ? "target warn" : "target" }, `${f.why ?? f.name}; ${outcome}`);
    });
  }

  // -- targets and overrides set by hand (/api/targets, /api/override/planned) ---

  const $ = (id) => document.getElementById(id);

  function problemText(body, status) {
    const problems = body?.problems ?? [];
    if (!problems.length) return body?.error ?? `refused (${status})`;
    return problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ");
  }

  function cancelButton(label, path) {
    return h("button", { type: "button", class: "cancel", onclick: async (event) => {
      event.target.disabled = true;
      const { ok, status, body } = await api(path, { method: "DELETE" });
      if (!ok) showError(problemText(body, status));
      loadAsks();
    } }, label);
  }

  function renderOneOffs(targets) {
    const list = $("one-offs");
    list.replaceChildren(...targets.map((t) => h("li", { "data-id": t.id },
      h("span", {}, `${t.name && t.name !== "one-off" ? `${t.name}: ` : ""}${pct(t.soc)} by ${wall(t.by)} `
        + `(${t.hard ? "hard" : "soft"}; set from ${t.source === "mqtt" ? "Home Assistant" : t.source === "ui" ? "this page" : "the API"})`),
      cancelButton("Cancel", `/api/targets/${encodeURIComponent(t.id)}`))));
    if (!targets.length) list.append(h("li", { class: "muted" }, "None: add one below (the plan is built again at once)."));
  }

  function renderPlanned(overrides) {
    const list = $("planned-overrides");
    list.replaceChildren(...overrides.map((o) => h("li", { "data-id": o.id },
      h("span", {}, `${MODES[o.mode] ?? o.mode}`
        + `${o.mode.startsWith("force") ? ` ${(o.power_w / 1000).toFixed(1)} kW` : ""}`
        + ` ${window.PM.fmt.time(o.from, { seconds: false })} to ${window.PM.fmt.time(o.until, { seconds: false })}`
        + ` (${o.reason})`),
      cancelButton("Cancel", `/api/override/planned/${encodeURIComponent(o.id)}`))));
    if (!overrides.length) list.append(h("li", { class: "muted" },
      "None (POST /api/override with a from, or Home Assistant's override)."));
  }

  async function loadAsks() {
    const [targets, planned] = await Promise.all([api("/api/targets"), api("/api/override/planned")]);
    if (targets.ok) renderOneOffs(targets.body.targets);
    if (planned.ok) renderPlanned(planned.body.planned);
    const n = targets.ok ? targets.body.targets.length : 0;
    const m = planned.ok ? planned.body.planned.length : 0;
    $("asks-count").textContent = `(${n} SOC target${n === 1 ? "" : "s"}, `
      + `${m} override${m === 1 ? "" : "s"} set ahead)`;
  }

  $("target-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("target-problem").hidden = true;
    const request = {
      soc: Number($("target-soc").value) / 100,
      by: $("target-by").value,
      day: $("target-day").value,
      hard: $("target-hard").checked,
    };
    $("target-add").disabled = true;
    const { ok, status, body } = await api("/api/targets", { method: "POST", body: request });
    $("target-add").disabled = false;
    if (!ok) {
      $("target-problem").textContent = problemText(body, status);
      $("target-problem").hidden = false;
      return;
    }
    loadAsks();
  });

  // -- the slots ------------------------------------------------------------------

  function slotRow(slot) {
    const mode = h("span", { class: "mode", "data-mode": slot.mode }, MODES[slot.mode] ?? slot.mode);
    const loads = slot.loads.length ? h("span", { class: "plan-loads" }, ` + ${slot.loads.join(", ")}`) : null;
    const p = parts(slot.start);
    return h("tr", { "data-slot": String(slot.index), "data-at": String(slot.at),
      class: slot.held_by ? "held" : null, title: slot.held_by ? `held: ${slot.held_by}` : null },
      h("td", { "data-label": "Time" }, p ? p.time : "—"),
      h("td", { "data-label": "Mode" }, mode, loads),
      h("td", { class: "num", "data-label": "Power W", title: `setpoint ${Math.round(slot.power_w)} W` },
        watts(slot.battery_w ?? slot.power_w)),
      h("td", { class: "num", "data-label": "SOC at end", title: `${pct(slot.soc_start)} → ${pct(slot.soc_end)}` },
        pct(slot.soc_end)),
      h("td", { class: "num", "data-label": "Import" }, cents(slot.import_price)),
      h("td", { class: "num", "data-label": "Export" }, cents(slot.export_price)),
      h("td", { class: "num", "data-label": "Cost" }, money(slot.cost)),
      h("td", { class: "reason", "data-label": "Reason" }, slot.reason));
  }

  function renderSlots(view) {
    const rows = [];
    let day = null;
    for (const slot of view.slots) {
      const p = parts(slot.start);
      if (p && p.day !== day) {
        day = p.day;
        rows.push(h("tr", { class: "day" }, h("th", { colspan: "8", scope: "rowgroup" }, day)));
      }
      rows.push(slotRow(slot));
    }
    document.querySelector("#plan-table tbody").replaceChildren(...rows);
    highlight(view.now_at);
  }

  /** Mark the slot holding ``now`` (engine time, epoch seconds) and those past. */
  function highlight(now) {
    if (!plan) return;
    let current = null;
    for (const row of document.querySelectorAll("#plan-table tbody tr[data-slot]")) {
      const at = Number(row.dataset.at);
      const here = at <= now && now < at + plan.slot_seconds;
      row.classList.toggle("current", here);
      row.classList.toggle("past", at + plan.slot_seconds <= now);
      if (here) { row.setAttribute("aria-current", "true"); current = row; } else row.removeAttribute("aria-current");
    }
    // Past slots above now: bring now into view once (a plan starting now needs no scroll).
    if (current && !scrolled && current.dataset.slot !== "0") {
      scrolled = true;
      current.scrollIntoView({ block: "nearest" });
    }
  }

  async function load() {
    const { ok, status, body } = await api("/api/plan");
    if (!ok) {
      plan = null;
      document.getElementById("plan-created").textContent = status === 404 ? "no plan yet" : "—";
      document.getElementById("plan-why").textContent = "—";
      document.getElementById("plan-cost").textContent = "—";
      document.getElementById("plan-replan").textContent = "—";
      document.getElementById("plan-targets").textContent = "—";
      document.getElementById("plan-demand").textContent = "—";
      document.getElementById("plan-flexible").textContent = "—";
      document.querySelector("#plan-table tbody").replaceChildren(
        h("tr", {}, h("td", { colspan: "8", class: "muted" }, body?.error ?? `no plan (${status})`)));
      renderRuns(body?.runs ?? []);
      showError(lastFailure(body?.runs ?? []) ?? (status === 404 ? null : body?.error ?? `failed (${status})`));
      return;
    }
    plan = body;
    renderHeader(body);
    renderSlots(body);
  }

  const reload = debounce(() => { load(); loadAsks(); }, 1000);
  onEvent((event) => {
    if (event.type === "run" && (PLAN_FLOWS.has(event.flow) || event.flow === "overrides")) reload();
    else if (event.type === "ready" && plan) reload(); // back after a reconnect
    if (event.type === "run" && typeof event.at === "number") highlight(event.at);
  });
  load();
  loadAsks();
})();
