// The graphs page: energy, money, battery, prices, solar and load from the history
// tables (/api/history) over hours (30-minute rows), days or weeks, one window at a
// time (Earlier / Later), zoomable in the chart. The latest window follows the site
// live: it is read again a few seconds after each control tick.
"use strict";

(() => {
  const { api, onEvent, fmt, debounce } = window.PM;
  const $ = (id) => document.getElementById(id);
  const RANGES = {
    hours: { resolution: "30min", span: 2 * 86400, minSpan: 60 * 60e3 },
    days: { resolution: "day", span: 60 * 86400, minSpan: 3 * 86400e3 },
    weeks: { resolution: "week", span: 364 * 86400, minSpan: 21 * 86400e3 },
  };
  const money = (v) => fmt.money(v);
  const kwh = (id, label, color) => ({ id, label, color, type: "bar", unit: "kWh", field: id });
  const KINDS = {
    energy: {
      axes: { left: { unit: "kWh" } },
      series: [
        kwh("pv_kwh", "Solar", "--c-pv"), kwh("load_kwh", "Load", "--c-load"),
        kwh("grid_import_kwh", "Imported", "--c-import"), kwh("grid_export_kwh", "Exported", "--c-export"),
        kwh("battery_charge_kwh", "Charged", "--c-battery"), kwh("battery_discharge_kwh", "Discharged", "--c-discharge"),
      ],
    },
    money: {
      axes: { left: { unit: "$" } },
      series: [
        { id: "import_cost", label: "Import cost", type: "bar", color: "--c-import", format: money },
        { id: "export_revenue", label: "Export revenue", type: "bar", color: "--c-export", format: money },
        { id: "net_cost", label: "Net cost", type: "step", color: "--c-net", format: money },
      ],
    },
    battery: {
      axes: { left: { unit: "kWh" }, right: { unit: "SOC %", min: 0, max: 100 } },
      series: [
        kwh("battery_charge_kwh", "Charged", "--c-battery"), kwh("battery_discharge_kwh", "Discharged", "--c-discharge"),
        { id: "soc_last", label: "SOC", color: "--c-soc", axis: "right", unit: "%", scale: 100, at: "end" },
        { id: "soc_min", label: "SOC lowest", type: "step", color: "--c-soc", axis: "right", unit: "%", scale: 100, dashed: true, hidden: true },
        { id: "soc_max", label: "SOC highest", type: "step", color: "--c-soc", axis: "right", unit: "%", scale: 100, dashed: true, hidden: true },
      ],
    },
    prices: {
      axes: { left: { unit: "c/kWh", zero: true } },
      series: [
        { id: "import_price", label: "Buy (mean)", type: "step", color: "--c-import", unit: "c/kWh", scale: 100 },
        { id: "export_price", label: "Sell (mean)", type: "step", color: "--c-export", unit: "c/kWh", scale: 100 },
      ],
    },
    solar: {
      axes: { left: { unit: "kWh" }, right: { unit: "kW" } },
      series: [
        kwh("pv_kwh", "Solar energy", "--c-pv"),
        { id: "pv_w", label: "Mean solar power", type: "step", color: "--c-load", axis: "right", unit: "kW", scale: 0.001 },
      ],
    },
    load: {
      axes: { left: { unit: "kWh" }, right: { unit: "kW" } },
      series: [
        kwh("load_kwh", "Load energy", "--c-load"),
        { id: "load_w", label: "Mean load", type: "step", color: "--c-pv", axis: "right", unit: "kW", scale: 0.001 },
      ],
    },
  };

  let kind = "energy", range = "hours";
  let until = null; // epoch seconds of the window's end; null: up to now, live
  let latest = null; // the server's now, from the last live window
  let shown = null; // the last answer
  let chart = null, zone = null;
  let loading = 0;

  function pressed(group, attribute, value) {
    for (const button of $(group).querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset[attribute] === value));
    }
  }

  function problem(text) {
    $("graph-error").hidden = !text;
    $("graph-error").textContent = text || "";
  }

  function makeChart(timeZone) {
    const spec = KINDS[kind];
    chart = PMChart.create($("graph-chart"), {
      timeZone, height: window.matchMedia("(max-width: 760px)").matches ? 260 : 360,
      axes: spec.axes, series: spec.series, minSpan: RANGES[range].minSpan,
      label: `${kind} over ${range}`, empty: "Nothing recorded in this window",
    });
  }

  function points(rows, s) {
    const scale = s.scale ?? 1;
    return rows.map((row) => {
      const value = row[s.id] === null || row[s.id] === undefined ? null : row[s.id] * scale;
      const [a, b] = [Date.parse(row.start), Date.parse(row.end)];
      return s.at === "end" ? [b, value] : [a, value, b];
    });
  }

  function totals(rows) {
    const sum = (field) => rows.reduce((total, row) => total + (row[field] ?? 0), 0);
    const has = (field) => rows.some((row) => row[field] !== null && row[field] !== undefined);
    const parts = [];
    for (const s of KINDS[kind].series) {
      if (!has(s.id)) continue;
      if (s.unit === "kWh") parts.push(`${s.label} ${sum(s.id).toFixed(1)} kWh`);
      else if (s.format === money) parts.push(`${s.label} ${money(sum(s.id))}`);
    }
    return parts.length ? `In this window: ${parts.join(" · ")}` : "";
  }

  function draw() {
    if (!shown) return;
    if (!chart) makeChart(shown.timezone);
    const data = {};
    for (const s of KINDS[kind].series) data[s.id] = points(shown.rows, s);
    const rows = shown.rows;
    const [since, end] = [Date.parse(shown.since), Date.parse(shown.until)];
    const domain = [Math.min(since, rows.length ? Date.parse(rows[0].start) : since),
      Math.max(end, rows.length ? Date.parse(rows[rows.length - 1].end) : end)];
    chart.update({ data, domain, now: until === null ? end : null, ahead: null });
    show("graph-span", `${zone.longDate.format(since)} – ${zone.longDate.format(end)}`);
    show("graph-totals", totals(shown.rows));
    $("graph-next").disabled = until === null;
    document.body.dataset.updated = String(Number(document.body.dataset.updated || 0) + 1);
    document.body.dataset.rows = String(shown.rows.length);
  }

  function show(id, text) { $(id).textContent = text; }

  async function load() {
    const ticket = ++loading;
    const { resolution, span } = RANGES[range];
    const params = new URLSearchParams({ resolution });
    if (until !== null) { params.set("until", String(until)); params.set("since", String(until - span)); }
    const fields = [...new Set(KINDS[kind].series.map((s) => s.id))];
    params.set("fields", fields.join(","));
    const { ok, status, body } = await api(`/api/history?${params}`);
    if (ticket !== loading) return; // a newer request went out meanwhile
    if (!ok) {
      const why = body?.problems?.map((p) => `${p.field}: ${p.message}`).join("; ") || body?.error;
      return problem(status === 404 ? "No history is kept on this site." : `Could not read the history: ${why || status}`);
    }
    problem(null);
    if (!zone) {
      zone = PMChart.zone(body.timezone);
      show("graph-zone", `times in ${body.timezone}`);
    }
    if (until === null) latest = Date.parse(body.until) / 1000;
    shown = body;
    draw();
  }

  function choose(nextKind, nextRange) {
    const rebuilt = nextKind !== kind || nextRange !== range;
    if (nextRange !== range) until = null;
    kind = nextKind;
    range = nextRange;
    pressed("graph-kind", "kind", kind);
    pressed("graph-range", "range", range);
    if (rebuilt) { chart = null; shown = null; }
    load();
  }

  $("graph-kind").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-kind]");
    if (button) choose(button.dataset.kind, range);
  });
  $("graph-range").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-range]");
    if (button) choose(kind, button.dataset.range);
  });
  $("graph-prev").addEventListener("click", () => {
    if (!shown) return;
    until = Date.parse(shown.since) / 1000;
    chart?.zoom(null, true);
    load();
  });
  $("graph-next").addEventListener("click", () => {
    if (until === null) return;
    const next = until + RANGES[range].span;
    until = latest !== null && next >= latest ? null : next;
    chart?.zoom(null, true);
    load();
  });

  const follow = debounce(() => { if (until === null) load(); }, 5000);
  onEvent((event) => {
    if (event.type === "state" || (event.type === "run" && event.flow === "control")) follow();
  });

  load();
})();
