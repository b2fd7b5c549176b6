// The Graphs page's solar forecast card: each PV provider's forecast against what the
// panels gave over the last two weeks, day by day, as issued and with calibration's
// factors (/api/forecast/accuracy). Bias above zero: the forecast promised too much.
// Read once, and again after each plan run (a new day's factors, a new reading).
"use strict";

(() => {
  const { api, h, onEvent, debounce } = window.PM;
  const $ = (id) => document.getElementById(id);
  const SERIES = [
    { id: "mae_raw", label: "MAE as issued", type: "bar", color: "--c-load", unit: "W" },
    { id: "mae_cal", label: "MAE calibrated", type: "bar", color: "--c-pv", unit: "W" },
    { id: "bias_raw", label: "Bias as issued", type: "step", color: "--c-load", unit: "W", dashed: true },
    { id: "bias_cal", label: "Bias calibrated", type: "step", color: "--c-pv", unit: "W", dashed: true },
  ];
  let shown = null, provider = null, chart = null, zone = null;

  const watts = (w) => (w === null || w === undefined ? "—" : `${w > 0 ? "+" : w < 0 ? "−" : ""}${Math.abs(Math.round(w))} W`);
  const size = (w) => (w === null || w === undefined ? "—" : `${Math.round(w)} W`);
  const pct = (p) => (p === null || p === undefined ? "" : ` (${p > 0 ? "+" : p < 0 ? "−" : ""}${Math.abs(p).toFixed(0)} %)`);
  const field = (figures, name) => figures?.[name] ?? null;

  function summary(entry, enabled) {
    const total = entry.total;
    const box = $("pv-acc-summary");
    if (!total.slots) {
      box.textContent = `Nothing to score yet for ${entry.provider}: no daylight half hour with its forecast `
        + "and the panels free has been recorded in these days.";
      return;
    }
    const raw = total.raw, cal = total.calibrated;
    for (const [key, value] of [["biasRaw", raw.bias_w], ["biasCal", cal.bias_w], ["maeRaw", raw.mae_w], ["maeCal", cal.mae_w]]) {
      box.dataset[key] = value;
    }
    box.textContent = `${entry.provider} over the last ${entry.days.length} days (${total.slots} half hours): bias ${watts(raw.bias_w)}${pct(raw.bias_pct)} as issued, `
      + `${watts(cal.bias_w)}${pct(cal.bias_pct)} calibrated; mean absolute error ${size(raw.mae_w)} as issued, `
      + `${size(cal.mae_w)} calibrated. `
      + (enabled ? "Calibration is on: the plan gets the calibrated forecast."
        : "Calibration is off (site.yaml pv_calibration): the plan gets the forecast as issued; "
          + "\u201ccalibrated\u201d is what it would have got.");
  }

  function table(entry) {
    const rows = [...entry.days].reverse().map((day) => {
      const raw = day.raw, cal = day.calibrated;
      const left = Object.entries(day.skipped).map(([why, n]) => `${n} ${why === "full" ? "battery full" : why}`).join(", ");
      const t = Date.parse(day.start);
      return h("tr", { "data-date": day.date, class: day.complete ? "" : "partial" },
        h("td", {}, `${zone.longDate.format(t)}${day.complete ? "" : " (so far)"}`),
        h("td", { class: "num", "data-label": "Half hours" }, day.slots),
        h("td", { class: "num", "data-label": "Solar" }, `${day.actual_kwh.toFixed(1)} kWh`),
        h("td", { class: "num", "data-label": "Bias as issued" }, watts(field(raw, "bias_w"))),
        h("td", { class: "num", "data-label": "Bias calibrated" }, watts(field(cal, "bias_w"))),
        h("td", { class: "num", "data-label": "MAE as issued" }, size(field(raw, "mae_w"))),
        h("td", { class: "num", "data-label": "MAE calibrated" }, size(field(cal, "mae_w"))),
        h("td", { class: "why", "data-label": "Left out" }, left || "—"));
    });
    $("pv-acc-table").tBodies[0].replaceChildren(...rows);
  }

  function draw() {
    const entry = shown.providers.find((p) => p.provider === provider);
    const picker = $("pv-acc-provider");
    picker.hidden = shown.providers.length < 2;
    picker.replaceChildren(...shown.providers.map((p) => h("button",
      { type: "button", "data-provider": p.provider, "aria-pressed": String(p.provider === provider) }, p.provider)));
    if (!chart) {
      chart = PMChart.create($("pv-acc-chart"), {
        timeZone: shown.timezone, height: 220, axes: { left: { unit: "W", zero: true } }, series: SERIES,
        label: "solar forecast error by day", empty: "No forecast scored in these days",
        minSpan: 3 * 86400e3,
      });
    }
    const point = (day, figures, name) => [Date.parse(day.start), field(day[figures], name), Date.parse(day.end)];
    chart.update({
      data: {
        mae_raw: entry.days.map((d) => point(d, "raw", "mae_w")),
        mae_cal: entry.days.map((d) => point(d, "calibrated", "mae_w")),
        bias_raw: entry.days.map((d) => point(d, "raw", "bias_w")),
        bias_cal: entry.days.map((d) => point(d, "calibrated", "bias_w")),
      },
      domain: [Date.parse(shown.since), Date.parse(entry.days[entry.days.length - 1].end)],
      now: Date.parse(shown.until), ahead: null,
    });
    summary(entry, shown.enabled);
    table(entry);
    $("pv-acc").dataset.updated = String(Number($("pv-acc").dataset.updated || 0) + 1);
  }

  async function load() {
    const { ok, status, body } = await api("/api/forecast/accuracy?days=14");
    const box = $("pv-acc-summary");
    if (!ok) {
      box.textContent = status === 404 ? "No history is kept on this site." : `Could not read the forecast accuracy (${status}).`;
      return;
    }
    shown = body;
    zone ??= PMChart.zone(body.timezone);
    if (!body.providers.length) {
      box.textContent = "No PV forecast has been recorded against the panels' output yet.";
      $("pv-acc").dataset.updated = String(Number($("pv-acc").dataset.updated || 0) + 1);
      return;
    }
    if (!body.providers.some((p) => p.provider === provider)) provider = body.providers[0].provider;
    draw();
  }

  $("pv-acc-provider").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-provider]");
    if (!button || !shown) return;
    provider = button.dataset.provider;
    draw();
  });
  const again = debounce(load, 5000);
  onEvent((event) => { if (event.type === "run" && event.flow === "plan") again(); });
  load();
})();
