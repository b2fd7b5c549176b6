// The Overview's bill-and-savings card: the net bill so far and what was saved against
// the inverter's own self-use and against no battery, today, this billing cycle and
// since the ledger began (/api/billing's spans, the figures the Accounting page and the
// Graphs page show for the same spans). Read again when a control tick or a settlement
// posts. Text only ever goes in through textContent.
"use strict";

(() => {
  const { api, onEvent, debounce, fmt } = window.PM;
  const SPANS = { today: "today", cycle: "this cycle", since_began: "since the ledger began" };
  const BASELINES = { self_use: "against self-use", no_battery: "against no battery" };
  const REFRESH_MS = 3000;
  const POSTING_FLOWS = new Set(["control", "settle"]);
  const card = document.getElementById("savings");
  if (!card) return;

  const cell = (row, span) => card.querySelector(`tr[data-row="${row}"] td[data-span="${span}"]`);

  function put(el, text, value, state) {
    el.textContent = text;
    el.dataset.value = value ?? "";
    if (state) el.dataset.state = state;
    else delete el.dataset.state;
  }

  /** Why a saving is below zero in ``spans`` (names), from the first one's figures: one
   * line a baseline. */
  function why(baseline, spans, figures) {
    const held = Number(figures.battery_stored);
    const stock = held >= 0.01
      ? `the battery holds ${fmt.money(held)} of energy put in ${SPANS[spans[0]]}, at what it cost to store, `
        + "kept for later; it counts once it is used"
      : "charging, the battery's losses and the prices so far cost more than it saved";
    const list = spans.map((span) => SPANS[span]);
    const when = list.length > 1 ? `${list.slice(0, -1).join(", ")} and ${list.at(-1)}` : list[0];
    return `Against ${baseline === "self_use" ? "self-use" : "no battery"}, a cost ${when}: `
      + (baseline === "self_use" ? `Power Master's choices cost more than plain self-use so far; ${stock}.` : `${stock}.`);
  }

  function render(body) {
    const spans = body.spans ?? {};
    const negative = { self_use: [], no_battery: [] };
    for (const span of Object.keys(SPANS)) {
      const figures = spans[span];
      put(cell("net", span), figures ? fmt.money(figures.bill.net_bill) : "—", figures?.bill.net_bill,
        figures && Number(figures.bill.net_bill) < 0 ? "earned" : null);
      for (const baseline of Object.keys(BASELINES)) {
        const saving = figures?.[baseline]?.saving;
        const el = cell(baseline, span);
        if (saving === undefined || saving === null) {
          put(el, "not enough data yet", "", "none");
        } else if (Number(saving) < 0) {
          put(el, `cost ${fmt.money(-Number(saving))}`, saving, "cost");
          negative[baseline].push(span);
        } else {
          put(el, fmt.money(saving), saving, Number(saving) > 0 ? "earned" : null);
        }
      }
    }
    const reasons = Object.entries(negative).filter(([, names]) => names.length)
      .map(([baseline, names]) => why(baseline, names, spans[names[0]]));
    const list = document.getElementById("savings-reasons");
    list.replaceChildren(...reasons.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
    list.hidden = !reasons.length;
    const cycle = spans.cycle;
    document.getElementById("savings-asof").textContent = cycle ? `as of ${fmt.time(cycle.as_of, { seconds: false })}` : "";
    const notes = [];
    if (!body.ledger_began) notes.push("The ledger has not begun: its first reading starts it.");
    else notes.push(`The ledger began ${fmt.time(body.ledger_began, { seconds: false })}: figures count from then, fixed charges too.`);
    if (cycle && Number(cycle.gap_hours) > 0) {
      notes.push(`${Number(cycle.gap_hours).toFixed(1)} h of this cycle in gaps (the service was down): the energy then is in no figure.`);
    }
    const note = document.getElementById("savings-note");
    note.textContent = notes.join(" ");
    note.dataset.state = cycle && Number(cycle.gap_hours) > 0 ? "warn" : "";
    card.dataset.updated = String(Number(card.dataset.updated || 0) + 1);
  }

  async function load() {
    const { ok, status, body } = await api("/api/billing");
    if (!ok) {
      for (const row of ["net", ...Object.keys(BASELINES)]) {
        for (const span of Object.keys(SPANS)) put(cell(row, span), "—", "", "none");
      }
      document.getElementById("savings-note").textContent = status === 404
        ? "No ledger is kept on this site: no bill or savings to show."
        : `Could not read the bill: ${body?.error ?? status}`;
      return;
    }
    render(body);
  }

  const refresh = debounce(load, REFRESH_MS);
  onEvent((event) => {
    if (event.type === "run" && POSTING_FLOWS.has(event.flow)) refresh();
    else if (event.type === "ready" && card.dataset.updated) refresh(); // back after a reconnect
  });
  load();
})();
