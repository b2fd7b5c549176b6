// The overview page: the site now, from /api/state and /api/health, kept live by the
// service's "state" events on /api/events (a control tick, a new plan, an override,
// the health flow's verdict), and a chart of the last 24 hours with the plan ahead
// (/api/overview/chart). Each fresh state drawn counts up body[data-updated].
"use strict";

(() => {
  const { api, onEvent, fmt, debounce } = window.PM;
  const $ = (id) => document.getElementById(id);
  const SOURCES = { api: "the API", ui: "the web page", mqtt: "Home Assistant", flow: "a flow" };
  const LEVELS = {
    safety: "hardware safety", storm: "storm reserve", critical: "critical SOC floor",
    override: "your override", schedule: "your schedule", plan: "the plan",
    opportunistic: "opportunistic selling", fallback: "self-use",
  };
  const HEALTH = { ok: "ok", degraded: "warn", safety: "error" };
  const IDLE_W = 30;
  const CHART_EVERY_MS = 60e3; // refetch the chart at most this often unless the plan changed

  let drawn = 0;
  let stateEvents = false;
  let charts = null;
  let chartData = null;
  let planCreated;
  let chartFetched = 0;

  const pretty = (name) => (name ? String(name).replaceAll("_", " ") : "—");
  const ms = (iso) => Date.parse(iso);
  const when = (t) => fmt.time(t, { seconds: false });

  function show(id, text, value) {
    const node = $(id);
    if (!node) return;
    node.textContent = text;
    if (value !== undefined) node.dataset.value = value === null ? "" : String(value);
  }

  // -- the site now ---------------------------------------------------------------

  function gaugePoint(fraction, radius) {
    const angle = Math.PI * (1 - Math.max(0, Math.min(1, fraction)));
    return [60 + radius * Math.cos(angle), 60 - radius * Math.sin(angle)];
  }

  function drawSoc(state) {
    const soc = state.soc;
    show("soc", fmt.pct(soc), soc);
    $("soc-arc").setAttribute("stroke-dasharray", `${soc === null || soc === undefined ? 0 : soc * 100} 100`);
    const reserve = state.storm_reserve;
    const marker = $("soc-reserve");
    if (reserve?.armed && reserve.soc) {
      const [a, b] = [gaugePoint(reserve.soc, 42), gaugePoint(reserve.soc, 58)];
      marker.setAttribute("x1", a[0]); marker.setAttribute("y1", a[1]);
      marker.setAttribute("x2", b[0]); marker.setAttribute("y2", b[1]);
      marker.setAttribute("visibility", "visible");
    } else {
      marker.setAttribute("visibility", "hidden");
    }
    const battery = state.battery_w;
    const doing = battery > IDLE_W ? `charging at ${fmt.watts(battery)}`
      : battery < -IDLE_W ? `discharging at ${fmt.watts(-battery)}` : "idle";
    show("soc-note", battery === null || battery === undefined ? "no reading yet" : doing);
  }

  function flow(id, direction) {
    $(id).dataset.flow = direction;
  }

  function drawFlows(state) {
    const { pv_w: pv, load_w: load, battery_w: battery, grid_w: grid } = state;
    show("pv-w", fmt.watts(pv), pv);
    show("load-w", fmt.watts(load), load);
    show("battery-w", fmt.watts(battery === null || battery === undefined ? battery : Math.abs(battery)), battery);
    show("grid-w", fmt.watts(grid === null || grid === undefined ? grid : Math.abs(grid)), grid);
    show("battery-dir", battery > IDLE_W ? "charging" : battery < -IDLE_W ? "discharging" : "idle");
    show("grid-dir", grid > IDLE_W ? "importing" : grid < -IDLE_W ? "exporting" : "idle");
    // Each line is drawn from its node towards the home (the load's from the home out).
    flow("flow-pv", pv > IDLE_W ? "fwd" : "none");
    flow("flow-load", load > IDLE_W ? "fwd" : "none");
    flow("flow-battery", battery < -IDLE_W ? "fwd" : battery > IDLE_W ? "rev" : "none");
    flow("flow-grid", grid > IDLE_W ? "fwd" : grid < -IDLE_W ? "rev" : "none");
  }

  function drawDecision(state) {
    show("mode", pretty(state.mode), state.mode);
    // A forced charge or discharge has a battery power; a hold's power_w is the AC port's
    // setpoint (PV covering the load), which is not the battery's: not shown as if it were.
    const forced = state.mode === "force_charge" || state.mode === "force_discharge";
    const target = state.battery_target_w ?? state.power_w; // without an exact battery power, power_w is it
    show("mode-power", forced && target ? `battery ${fmt.watts(Math.abs(target))}` : "");
    show("level", LEVELS[state.level] || pretty(state.level), state.level);
    $("level").dataset.level = state.level || "";
    show("reason", state.reason || "—");
    show("import-price", fmt.price(state.import_price), state.import_price);
    show("export-price", fmt.price(state.export_price), state.export_price);
    const o = state.override;
    show("override", o ? `${pretty(o.mode)} ${fmt.watts(o.power_w)} until ${when(o.until)}`
      + `${o.source ? `, from ${SOURCES[o.source] || o.source}` : ""}` : "none");
    show("state-time", state.time ? `as of ${when(state.time)}` : "");
    drawOverride(o, state);
    drawCommand(state);
  }

  // Shadow mode's command it would have sent; whether the inverter does what it was told.
  function drawCommand(state) {
    const would = state.would_command;
    if ($("would-command")) {
      const setpoint = would && would.setpoint_w !== null && would.setpoint_w !== undefined
        ? ` (AC setpoint ${fmt.watts(would.setpoint_w)})` : "";
      show("would-command", would ? `${pretty(would.mode)}${setpoint}` : "nothing decided yet",
        would ? would.mode : null);
    }
    const check = state.command_check;
    const node = $("command-check");
    let text = "not judged yet";
    if (check?.state === "degraded") text = `not doing what it was told: ${(check.reasons || []).join("; ")}`;
    else if (check && !check.commanded) text = state.control === "shadow" ? "never commanded (shadow mode)" : "nothing commanded yet";
    else if (check) text = "does what it was told";
    show("command-check", text, check ? check.state : null);
    node.dataset.state = check?.state === "degraded" ? "warn" : check ? "ok" : "";
  }

  function drawStorm(reserve) {
    const node = $("storm");
    node.dataset.armed = reserve?.armed ? "1" : "0";
    node.dataset.holding = reserve?.holding ? "1" : "0";
    if (!reserve) return show("storm", "no storm watch running");
    const soc = fmt.pct(reserve.soc);
    const chance = reserve.probability === null || reserve.probability === undefined ? ""
      : ` (${Math.round(reserve.probability * 100)} % chance)`;
    if (reserve.holding) show("storm", `holding ${soc} until ${when(reserve.end)}${chance}: ${reserve.reason || ""}`);
    else if (reserve.armed) show("storm", `armed: ${soc} from ${when(reserve.start)} to ${when(reserve.end)}${chance}`);
    else show("storm", `not armed${chance}: ${reserve.reason || "no storm signal"}`);
  }

  function drawState(state) {
    if (!state) return;
    drawSoc(state);
    drawFlows(state);
    drawDecision(state);
    drawStorm(state.storm_reserve);
    drawn += 1;
    document.body.dataset.updated = String(drawn);
    if (charts && chartData) liveChart(state);
  }

  function drawHealth(health) {
    if (!health) return;
    const status = health.status || "unknown";
    const pill = $("health-status");
    pill.textContent = status;
    pill.dataset.state = HEALTH[status] || "idle";
    pill.dataset.value = status;
    const reasons = health.reasons || [];
    $("health-reasons").replaceChildren(...(reasons.length ? reasons : ["nothing to report"]).map(
      (reason) => Object.assign(document.createElement("li"), { textContent: reason })));
  }

  function problem(text) {
    const node = $("overview-error");
    node.hidden = !text;
    node.textContent = text || "";
  }

  async function refresh() {
    const [state, health] = await Promise.all([api("/api/state"), api("/api/health")]);
    if (!state.ok) return problem(`Could not read the state (${state.status}).`);
    problem(null);
    drawHealth(health.body);
    drawState(state.body);
  }

  // -- the chart ------------------------------------------------------------------

  const POWER = [
    { id: "pv", label: "Solar", type: "area", color: "--c-pv", unit: "kW", gap: 20 * 60e3 },
    { id: "load", label: "Load", color: "--c-load", unit: "kW", gap: 20 * 60e3 },
    { id: "battery", label: "Battery (+ charging)", color: "--c-battery", unit: "kW", gap: 20 * 60e3 },
    { id: "grid", label: "Grid (+ importing)", color: "--c-grid", unit: "kW", gap: 20 * 60e3 },
    { id: "soc", label: "SOC", color: "--c-soc", unit: "%", axis: "right", gap: 20 * 60e3 },
    { id: "pv_plan", label: "Solar forecast", type: "step", color: "--c-pv", unit: "kW", dashed: true },
    { id: "load_plan", label: "Load forecast", type: "step", color: "--c-load", unit: "kW", dashed: true },
    { id: "battery_plan", label: "Battery plan", type: "step", color: "--c-battery", unit: "kW", dashed: true },
    { id: "grid_plan", label: "Grid plan", type: "step", color: "--c-grid", unit: "kW", dashed: true },
    { id: "soc_plan", label: "SOC plan", color: "--c-soc", unit: "%", axis: "right", dashed: true },
  ];
  const PRICES = [
    { id: "import", label: "Buy", type: "step", color: "--c-import", unit: "c/kWh" },
    { id: "export", label: "Sell", type: "step", color: "--c-export", unit: "c/kWh" },
    { id: "import_plan", label: "Buy ahead", type: "step", color: "--c-import", unit: "c/kWh", dashed: true },
    { id: "export_plan", label: "Sell ahead", type: "step", color: "--c-export", unit: "c/kWh", dashed: true },
  ];

  const kw = (w) => (w === null || w === undefined ? null : w / 1000);
  const pct = (f) => (f === null || f === undefined ? null : f * 100);
  const cents = (p) => (p === null || p === undefined ? null : p * 100);

  function series(body) {
    const actual = body.actual.map((r) => ({ ...r, t: ms(r.at) }));
    const slots = body.plan.slots.map((s) => ({ ...s, t0: ms(s.start), t1: ms(s.end) }));
    const nowMs = ms(body.now);
    const last = actual[actual.length - 1];
    const socPlan = slots.map((s) => [s.t1, pct(s.soc)]);
    if (last && slots.length) socPlan.unshift([nowMs, pct(last.soc)]);
    const ahead = (s) => [Math.max(s.t0, nowMs), s.t1];
    return {
      power: {
        pv: actual.map((r) => [r.t, kw(r.pv_w)]),
        load: actual.map((r) => [r.t, kw(r.load_w)]),
        battery: actual.map((r) => [r.t, kw(r.battery_w)]),
        grid: actual.map((r) => [r.t, kw(r.grid_w)]),
        soc: actual.map((r) => [r.t, pct(r.soc)]),
        pv_plan: slots.map((s) => { const [a, b] = ahead(s); return [a, kw(s.pv_w), b]; }),
        load_plan: slots.map((s) => { const [a, b] = ahead(s); return [a, kw(s.load_w), b]; }),
        battery_plan: slots.map((s) => { const [a, b] = ahead(s); return [a, kw(s.battery_w), b]; }),
        grid_plan: slots.map((s) => { const [a, b] = ahead(s); return [a, kw(s.grid_w), b]; }),
        soc_plan: socPlan,
      },
      prices: {
        import: body.prices.map((p) => [ms(p.start), cents(p.import_price), Math.min(ms(p.end), nowMs)]),
        export: body.prices.map((p) => [ms(p.start), cents(p.export_price), Math.min(ms(p.end), nowMs)]),
        import_plan: slots.map((s) => { const [a, b] = ahead(s); return [a, cents(s.import_price), b]; }),
        export_plan: slots.map((s) => { const [a, b] = ahead(s); return [a, cents(s.export_price), b]; }),
      },
    };
  }

  function makeCharts(timeZone) {
    const sync = (other) => (view) => charts?.[other].zoom(view, true);
    charts = {
      power: PMChart.create($("chart-power"), {
        timeZone, label: "power and SOC, last 24 hours and the plan ahead", height: 280,
        axes: { left: { unit: "kW" }, right: { unit: "SOC %", min: 0, max: 100 } },
        series: POWER, onZoom: sync("prices"), aheadLabel: "plan",
      }),
      prices: PMChart.create($("chart-prices"), {
        timeZone, label: "prices, last 24 hours and ahead", height: 170,
        axes: { left: { unit: "c/kWh", zero: true } }, series: PRICES, onZoom: sync("power"),
        rightSpace: true,
        aheadLabel: "plan",
      }),
    };
  }

  function drawChart() {
    const body = chartData;
    const data = series(body);
    const nowMs = ms(body.now), until = ms(body.until);
    const domain = [ms(body.since), until];
    const ahead = until > nowMs ? [nowMs, until] : null;
    charts.power.update({ data: data.power, now: nowMs, ahead, domain });
    charts.prices.update({ data: data.prices, now: nowMs, ahead, domain });
  }

  async function loadChart() {
    chartFetched = Date.now();
    const ahead = window.matchMedia("(max-width: 760px)").matches ? 12 : 24;
    const { ok, status, body } = await api(`/api/overview/chart?hours=24&ahead=${ahead}`);
    if (!ok) {
      $("chart-power").textContent = status === 404 ? "No history is kept on this site." : `Could not load the chart (${status}).`;
      return;
    }
    if (!charts) {
      show("chart-zone", `times in ${body.timezone}`);
      makeCharts(body.timezone);
    }
    chartData = body;
    planCreated = body.plan.created_at;
    drawChart();
    document.body.dataset.chart = String(Number(document.body.dataset.chart || 0) + 1);
  }

  const reloadChart = debounce(loadChart, 1500);

  /** A new state: a new point on the chart now, the whole chart again when the plan
   *  changed or a while has passed. */
  function liveChart(state) {
    if (state.plan_created_at !== planCreated || Date.now() - chartFetched > CHART_EVERY_MS) {
      planCreated = state.plan_created_at;
      return reloadChart();
    }
    const at = state.telemetry_at ? state.telemetry_at * 1000 : null;
    const actual = chartData.actual;
    const last = actual[actual.length - 1];
    if (at === null || (last && ms(last.at) >= at)) return;
    actual.push({ at: new Date(at).toISOString(), soc: state.soc, pv_w: state.pv_w, load_w: state.load_w,
      battery_w: state.battery_w, grid_w: state.grid_w });
    chartData.now = new Date(Math.max(at, ms(state.time))).toISOString();
    drawChart();
  }

  // -- override -------------------------------------------------------------------
  // Asked for in three fields, previewed against the plan (POST /api/override/preview:
  // two solves of the rest of the plan), then set; a change of any field asks again.

  const overrideForm = $("override-form");
  let previewed = null; // the request the cost shown is for

  function overrideRequest() {
    const mode = $("override-mode").value;
    const powered = mode === "force_charge" || mode === "force_discharge";
    const kw = Number($("override-power").value);
    return { mode, power_w: powered ? Math.round(kw * 1000) : 0, duration: $("override-for").value };
  }

  function overrideProblem(body, status) {
    const problems = body?.problems?.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message));
    const text = problems?.length ? problems.join("; ") : body?.error || `refused (${status})`;
    $("override-problem").textContent = text;
    $("override-problem").hidden = false;
  }

  function overrideChanged() {
    const mode = $("override-mode").value;
    $("override-power").disabled = !(mode === "force_charge" || mode === "force_discharge");
    previewed = null;
    $("override-set").disabled = true;
    $("override-cost").textContent = "";
    $("override-problem").hidden = true;
  }

  /** The override in force, and whether it is what decides now: the hierarchy puts
   * safety, a storm reserve and the critical SOC floor above any override. */
  function drawOverride(o, state) {
    let text = "none: the flows decide";
    if (o) {
      text = `${pretty(o.mode)}${o.power_w ? ` ${fmt.watts(o.power_w)}` : ""} until ${when(o.until)}`
        + `${o.source ? `, from ${SOURCES[o.source] || o.source}` : ""}`;
      if (state && state.level && state.level !== "override") {
        text += `; overruled now by ${LEVELS[state.level] || pretty(state.level)}: ${state.reason || ""}`;
      }
    }
    show("override-now", text);
    $("override-now").dataset.overruled = o && state && state.level && state.level !== "override" ? "1" : "";
    $("override-cancel").hidden = !o;
  }

  overrideForm.addEventListener("change", overrideChanged);
  overrideForm.addEventListener("input", overrideChanged);
  overrideForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    overrideChanged();
    const request = overrideRequest();
    $("override-cost").textContent = "solving…";
    const { ok, status, body } = await api("/api/override/preview", { method: "POST", body: request });
    $("override-cost").textContent = ok ? body.text : "";
    if (!ok) return overrideProblem(body, status);
    previewed = request;
    $("override-set").disabled = false;
  });
  $("override-set").addEventListener("click", async () => {
    if (!previewed) return;
    const { ok, status, body } = await api("/api/override", { method: "POST", body: previewed });
    if (!ok) return overrideProblem(body, status);
    $("override-set").disabled = true;
    $("override-cost").textContent = `set: ${$("override-cost").textContent}`;
    previewed = null;
    drawOverride(body, null);
    refresh(); // what decides now, with it in force
  });
  $("override-cancel").addEventListener("click", async () => {
    const { ok, status, body } = await api("/api/override", { method: "DELETE" });
    if (!ok) return overrideProblem(body, status);
    $("override-cost").textContent = "";
    drawOverride(null, null);
    refresh();
  });

  // -- live -----------------------------------------------------------------------

  const refreshSoon = debounce(refresh, 500);

  onEvent((event) => {
    if (event.type === "state") {
      stateEvents = true;
      drawHealth(event.health);
      drawState(event.state);
    } else if (event.type === "ready") {
      refresh(); // (re)connected: whatever was missed meanwhile
    } else if (!stateEvents && event.type === "run" && ["control", "health", "plan"].includes(event.flow)) {
      refreshSoon(); // a service that publishes no state events: read after each tick
    }
  });

  refresh();
  loadChart();
})();
