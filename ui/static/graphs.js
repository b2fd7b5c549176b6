// The graphs page: energy, money, battery, prices, solar and load from the history
// tables (/api/history) over hours (30-minute rows), days or weeks, one window at a
// time (Earlier / Later), or this billing cycle so far, zoomable in the chart. The
// latest window follows the site live: it is read again a few seconds after each
// control tick. Money's window total is the API's "bill": its net bill, added up by
// the same function as the Accounting page's (fixed charges pro rata to the time the
// ledger covers), so the same span shows the same figure. Prices are in c/kWh.
"use strict";

(() => {
  const { api, onEvent, fmt, debounce } = window.PM;
  const $ = (id) => document.getElementById(id);
  const RANGES = {
    hours: { resolution: "30min", span: 2 * 86400, minSpan: 60 * 60e3 },
    days: { resolution: "day", span: 60 * 86400, minSpan: 3 * 86400e3 },
    weeks: { resolution: "week", span: 364 * 86400, minSpan: 21 * 86400e3 },
    cycle: { resolution: "day", span: null, minSpan: 3 * 86400e3 }, // this billing cycle so far
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
        { id: "import_cost", label: "Import cost (paid)", type: "bar", color: "--c-import", format: money },
        { id: "export_revenue", label: "Export revenue (earned)", type: "bar", color: "--c-export", format: money },
        { id: "fixed_charges", label: "Fixed charges (paid)", type: "bar", color: "--c-load", format: money, derived: true, hidden: true },
        { id: "net_bill", label: "Net bill", type: "step", color: "--c-net", format: money, derived: true },
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
  let cycleStart = null; // epoch seconds: the open billing cycle's start (/api/billing)

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
      if (s.format === money || !has(s.id)) continue; // money: the window's bill, below
      if (s.unit === "kWh") parts.push(`${s.label} ${sum(s.id).toFixed(1)} kWh`);
    }
    return parts.length ? `In this window: ${parts.join(" · ")}` : "";
  }

  /** The window's net bill (the API's, as the Accounting page adds it up) and its lines. */
  function bill(figures) {
    const box = $("graph-bill");
    box.hidden = kind !== "money" || !figures;
    if (box.hidden) return;
    const b = figures.bill;
    const net = $("graph-net-bill");
    net.textContent = money(b.net_bill);
    net.dataset.value = b.net_bill;
    net.dataset.state = Number(b.net_bill) < 0 ? "earned" : "";
    const hours = Number(figures.covered_hours);
    $("graph-bill-detail").textContent = `= import cost ${money(b.import_cost)} paid − export revenue `
      + `${money(b.export_revenue)} earned + supply charge and fees ${money(Number(b.supply_charges) + Number(b.monthly_fees))} `
      + `for the ${hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} days`} the ledger covers`
      + (Number(figures.gap_hours) > 0 ? ` (${Number(figures.gap_hours).toFixed(1)} h in gaps is in no figure)` : "")
      + (Number(b.net_bill) < 0 ? ": below zero, you were paid overall." : ".");
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
    bill(shown.bill);
    $("graph-next").disabled = until === null;
    $("graph-prev").disabled = range === "cycle";
    document.body.dataset.updated = String(Number(document.body.dataset.updated || 0) + 1);
    document.body.dataset.rows = String(shown.rows.length);
  }

  function show(id, text) { $(id).textContent = text; }

  async function load() {
    const ticket = ++loading;
    const { resolution, span } = RANGES[range];
    const params = new URLSearchParams({ resolution });
    if (range === "cycle") {
      const billing = await api("/api/billing");
      if (ticket !== loading) return;
      if (!billing.ok) return problem("No billing cycle: this site keeps no ledger.");
      cycleStart = Date.parse(billing.body.current.start) / 1000;
      params.set("since", String(cycleStart));
    } else if (until !== null) { params.set("until", String(until)); params.set("since", String(until - span)); }
    const fields = [...new Set(KINDS[kind].series.filter((s) => !s.derived).map((s) => s.id))];
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
    if (!shown || range === "cycle") return;
    until = Date.parse(shown.since) / 1000;
    chart?.zoom(null, true);
    load();
  });
  $("graph-next").addEventListener("click", () => {
    if (until === null || range === "cycle") return;
    const next = until + RANGES[range].span;
    until = latest !== null && next >= latest ? null : next;
    chart?.zoom(null, true);
    load();
  });

  const follow = debounce(() => { if (until === null) load(); }, 5000);
  onEvent((event) => {
    if (event.type === "state" || (event.type === "run" && event.flow === "control")) follow();
  });

  // /graphs#money-cycle (kind-range) opens on that view: the Accounting page links to it.
  const [wantKind, wantRange] = window.location.hash.slice(1).split("-");
  if (KINDS[wantKind] || RANGES[wantRange]) choose(KINDS[wantKind] ? wantKind : kind, RANGES[wantRange] ? wantRange : range);
  else load();
})();
