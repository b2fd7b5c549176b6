// The accounting page: the billing cycle so far and projected (/api/billing), where
// each finished day's money went (/api/attribution), the closed cycles, and the ledger
// one interval to a row (/api/ledger?view=intervals) with its gaps; read again when a
// control tick or a settlement posts, or a day is worked out. Money is signed as a
// bill reads it (paid as is, earned marked and taken off; the legend on the page says
// so), prices are in c/kWh. Text only ever goes in through textContent.
"use strict";

(() => {
  const { h, api, onEvent, debounce, fmt } = window.PM;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const PAGE = 100;
  const REFRESH_MS = 3000; // a tick every second at --speed 300: add up at most every 3 s
  const POSTING_FLOWS = new Set(["control", "settle"]);
  const WENT_FLOWS = new Set(["attribution", "settle"]); // a day worked out, a settlement
  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  // Each part of the gap: its column, and its name in the summary.
  const PARTS = [["pv", "PV forecast", "PV forecasts"], ["load", "Load forecast", "load forecasts"],
    ["prices", "Price forecast", "price forecasts"], ["execution", "Execution", "execution"]];

  const ledger = { kind: "", rows: [], keys: new Set(), gaps: new Map(), more: false, pages: 0 };
  const openCycles = new Set();
  let terms = null;
  let began = null;

  // -- formatting: times in the site's own zone, 24 h (PM.fmt.time); dates from the ISO --

  const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/;

  /** The date of an ISO time in the site's wall time (its offset says it): "1 Jan 2026". */
  function day(iso) {
    const m = WALL.exec(iso ?? "");
    return m ? `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}` : "—";
  }

  const when = (iso) => fmt.time(iso, { seconds: false });
  const clock = (iso) => fmt.time(iso, { seconds: false, day: false });

  /** Epoch seconds of an ISO time (its fraction cut to milliseconds, which Date reads). */
  const epoch = (iso) => Date.parse(iso.replace(/(\.\d{3})\d+/, "$1")) / 1000;

  const known = (value) => value !== null && value !== undefined && value !== "";
  const money = (value) => (known(value) ? fmt.money(value) : "—");
  const kwh = (value) => (known(value) ? `${Number(value).toFixed(3)} kWh` : "—");

  /** A money cell's text and state: a bill line (paid as is; earned: taken off, marked). */
  function line(value, { earned = false } = {}) {
    if (!known(value)) return { text: "—" };
    const n = Number(value);
    if (earned) return { text: money(-n), state: n > 0 ? "earned" : n < 0 ? "cost" : null };
    return { text: money(n), state: n < 0 ? "earned" : null };
  }

  /** A saving's text and state: below zero it is a cost, said so; null: not enough data. */
  function saving(value) {
    if (!known(value)) return { text: "not enough data yet", state: "none" };
    const n = Number(value);
    if (n < 0) return { text: `cost ${money(-n)}`, state: "cost" };
    return { text: money(n), state: n > 0 ? "earned" : null };
  }

  function fill(el, { text, state }, value) {
    el.textContent = text;
    if (state) el.dataset.state = state; else delete el.dataset.state;
    if (value !== undefined) el.dataset.value = value ?? "";
    return el;
  }

  function span(cycle) {
    return `${day(cycle.start)} to ${day(cycle.end)} · ${cycle.days} days`;
  }

  // -- the bill, line by line ---------------------------------------------------

  function lines(figures) {
    const bill = figures.bill;
    const rate = terms ? `${money(terms.supply_charge)} a day` : "a day";
    const fee = terms ? `${money(terms.monthly_fee)} a cycle` : "a cycle";
    const importNote = Number(bill.import_cost) < 0 ? " (negative prices: you were paid to import)" : "";
    const exportNote = Number(bill.export_revenue) < 0 ? " (negative prices: you paid to export)" : "";
    const days = bill.charged_days ?? bill.supply_days;
    return [
      ["Imported", { text: kwh(bill.import_kwh) }],
      [`Import cost, paid${importNote}`, line(bill.import_cost)],
      ["Exported", { text: kwh(bill.export_kwh) }],
      [`Export revenue, earned${exportNote}`, line(bill.export_revenue, { earned: true })],
      ["Days of fixed charges", { text: known(days) ? Number(days).toFixed(bill.charged_days ? 3 : 0) : "—" }],
      [`Supply charge, ${rate}`, line(bill.supply_charges)],
      [`Monthly fees, ${fee}`, line(bill.monthly_fees)],
      ["Net bill", line(bill.net_bill), "total"],
      ["Self-consumption value (imports it spared)", saving(figures.savings.self_consumption_value), "aside"],
      ["Battery margin (earned less what the energy cost)", saving(figures.savings.arbitrage_pnl), "aside"],
      ["Bill without a battery", line(figures.no_battery?.net_bill), "aside"],
      ["Saved against no battery", saving(figures.no_battery?.saving), "aside"],
      ["Bill with the inverter's self-use", line(figures.self_use?.net_bill), "aside"],
      ["Saved against self-use", saving(figures.self_use?.saving), "aside"],
    ];
  }

  /** A warning for gaps after the ledger began (never for time before it did). */
  function gapWarning(cycle) {
    const hours = Number(cycle.gap_hours ?? 0);
    if (!(hours > 0)) return null;
    return `${cycle.gaps === 1 ? "1 gap" : `${cycle.gaps} gaps`} in the ledger (the service was down), `
      + `${hours.toFixed(1)} h in all: the energy then is in no figure here.`;
  }

  function beganNote(cycle, closed) {
    if (!(Number(cycle.before_ledger_hours ?? 0) > 0)) return null;
    if (!began) return "The ledger has not begun: its first reading starts it.";
    return closed
      ? `The ledger began ${when(began)}, partway through this cycle: its energy before then is in no figure; `
        + "the fixed charges are the retailer's for the whole cycle."
      : `The ledger began ${when(began)}: the figures count from then, the supply charge and fees too.`;
  }

  function why(figures, baseline) {
    const held = Number(figures.battery_stored ?? 0);
    const stock = held >= 0.01
      ? `the battery holds ${money(held)} of energy, at what it cost to store, charged for later; it counts once it is used`
      : "charging, the battery's losses and the prices so far cost more than it saved";
    return baseline === "self_use" ? `Against self-use: Power Master's choices cost more than plain self-use so far: ${stock}.`
      : `Against no battery: ${stock}.`;
  }

  function renderCurrent(current) {
    document.getElementById("cycle-span").textContent = span(current);
    fill(document.getElementById("cycle-net"), line(current.bill.net_bill), current.bill.net_bill);
    document.getElementById("cycle-asof").textContent = `as of ${when(current.as_of)}`;
    const projected = current.projected;
    fill(document.getElementById("cycle-projected-net"), line(projected?.bill.net_bill), projected?.bill.net_bill ?? "");
    document.getElementById("cycle-accounted").textContent = projected
      ? `from ${Math.round(current.accounted_fraction * 100)} % of the cycle accounted for`
      : "after a day of figures";
    fill(document.getElementById("saved-vs-self-use"), saving(current.self_use?.saving), current.self_use?.saving ?? "");
    fill(document.getElementById("saved-vs-no-battery"), saving(current.no_battery?.saving), current.no_battery?.saving ?? "");
    const projectedSavings = projected && current.self_use && current.no_battery;
    document.getElementById("saved-projected").textContent = projectedSavings
      ? ` so far (projected for the cycle: ${saving(projected.self_use?.saving).text} and ${saving(projected.no_battery?.saving).text})`
      : " so far";
    const reasons = ["self_use", "no_battery"]
      .filter((b) => known(current[b]?.saving) && Number(current[b].saving) < 0)
      .map((b) => h("li", {}, why(current, b)));
    const list = document.getElementById("saved-reasons");
    list.replaceChildren(...reasons);
    list.hidden = !reasons.length;
    const note = beganNote(current, false);
    const beganEl = document.getElementById("cycle-began");
    beganEl.textContent = note ?? "";
    beganEl.hidden = !note;
    const gaps = document.getElementById("cycle-coverage");
    const warning = gapWarning(current);
    gaps.textContent = warning ?? "";
    gaps.hidden = !warning;
    const later = projected ? lines(projected) : [];
    document.querySelector("#cycle-lines tbody").replaceChildren(...lines(current).map(([label, value, kind], i) =>
      h("tr", { class: kind ?? null }, h("th", { scope: "row" }, label),
        fill(h("td", { class: "num money" }), value),
        fill(h("td", { class: "num money" }), later[i]?.[1] ?? { text: "—" }))));
  }

  function renderClosed(closed, current) {
    const root = document.getElementById("closed-cycles");
    if (!closed.length) {
      root.replaceChildren(h("p", { class: "muted" },
        `No closed cycles yet: this one closes at ${when(current.end)}.`));
      return;
    }
    root.replaceChildren(...closed.map((cycle) => {
      const warning = gapWarning(cycle);
      const note = beganNote(cycle, true);
      const flags = [
        warning ? h("span", { class: "badge warn" }, "gaps") : null,
        note ? h("span", { class: "badge" }, "ledger began in it") : null,
        cycle.revision > 1 ? h("span", { class: "badge" }, `revised ${cycle.revision - 1}×`) : null,
        cycle.stored ? null : h("span", { class: "badge" }, "not stored yet"),
      ];
      const details = h("details", { class: "cycle", "data-cycle": cycle.start,
        ontoggle: (e) => (e.target.open ? openCycles.add(cycle.start) : openCycles.delete(cycle.start)) },
        h("summary", {},
          h("span", { class: "cycle-span" }, span(cycle)),
          fill(h("span", { class: "cycle-net money" }), { ...line(cycle.bill.net_bill),
            text: `net bill ${line(cycle.bill.net_bill).text}` }),
          h("span", { class: "muted" }, `saved ${saving(cycle.self_use?.saving).text} against self-use, `
            + `${saving(cycle.no_battery?.saving).text} against no battery`),
          ...flags),
        note ? h("p", { class: "muted acct-began" }, note) : null,
        warning ? h("p", { class: "acct-coverage" }, warning) : null,
        h("div", { class: "table-scroll" }, h("table", { class: "acct-lines" },
          h("tbody", {}, ...lines(cycle).map(([label, value, kind]) => h("tr", { class: kind ?? null },
            h("th", { scope: "row" }, label), fill(h("td", { class: "num money" }), value)))))),
        h("p", { class: "muted" }, [
          cycle.closed_at ? `closed ${when(cycle.closed_at)}` : "not closed yet",
          cycle.updated_at && cycle.updated_at !== cycle.closed_at ? `, updated ${when(cycle.updated_at)}` : "",
        ].join("")));
      details.open = openCycles.has(cycle.start);
      return details;
    }));
  }

  function showError(text) {
    const el = document.getElementById("acct-error");
    el.textContent = text ?? "";
    el.hidden = !text;
  }

  async function loadBilling() {
    const { ok, status, body } = await api("/api/billing");
    if (!ok) {
      showError(body?.error ?? `billing unavailable (${status})`);
      return;
    }
    showError(null);
    terms = body.terms;
    began = body.ledger_began;
    renderCurrent(body.current);
    renderClosed(body.closed, body.current);
    document.body.dataset.billing = String(Number(document.body.dataset.billing || 0) + 1);
  }

  // -- where the money went: each finished day against the best it allowed ---------

  /** "Wed 14 Jan" for a date "2026-01-14" (a calendar date: no zone in it). */
  function dateName(text) {
    const [y, m, d] = text.split("-").map(Number);
    return `${DAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]} ${d} ${MONTHS[m - 1]}`;
  }

  /** A part of the gap: above zero it cost money, below zero the error happened to help. */
  function part(value) {
    if (!known(value)) return { text: "—" };
    const n = Number(value);
    return { text: money(n), state: n >= 0.005 ? "cost" : n <= -0.005 ? "earned" : null };
  }

  function cell(label, shown, value) {
    return fill(h("td", { class: "num money", "data-label": label }), shown, known(value) ? String(value) : "");
  }

  /** What to know of a day beside its figures: holes in the ledger, forecasts missing. */
  function dayNotes(day) {
    const notes = [];
    const actual = day.actual ?? {};
    if (!known(actual.bill)) notes.push("no bill in the ledger: execution unknown");
    if (Number(actual.gap_hours ?? 0) > 0) notes.push(`${actual.gap_hours} h gap in the ledger`);
    if (Number(actual.before_ledger_hours ?? 0) > 0) {
      notes.push(`${actual.before_ledger_hours} h of it before the ledger began`);
    }
    const filled = Object.values(day.filled ?? {}).reduce((a, b) => a + Number(b), 0);
    if (filled > 0) notes.push(`${filled} half hours with no forecast yet, taken as they came`);
    return notes.join("; ");
  }

  function wentRow(day) {
    const name = h("th", { scope: "row", "data-label": "Day" }, dateName(day.date));
    if (day.problem) {
      return h("tr", { class: "unworked", "data-date": day.date }, name,
        h("td", { colspan: "7" }, `Not worked out: ${day.problem}.`));
    }
    const notes = dayNotes(day);
    if (notes) name.append(h("span", { class: "went-note" }, notes));
    return h("tr", { "data-date": day.date }, name,
      cell("Bill", line(day.actual.bill), day.actual.bill),
      cell("Best possible", line(day.optimum.bill), day.optimum.bill),
      cell("Gap", part(day.gap), day.gap),
      ...PARTS.map(([key, label]) => {
        const td = cell(label, part(day.parts[key]), day.parts[key]);
        td.dataset.part = key;
        return td;
      }));
  }

  function wentSummary(totals, shown) {
    if (!totals.days) {
      return shown ? "No day with a bill in the ledger yet: execution and the gap need one." : "";
    }
    const gap = Number(totals.gap);
    const days = totals.days === 1 ? "1 day" : `${totals.days} days`;
    const head = Math.abs(gap) < 0.005
      ? `Over ${days}: the best possible, to the cent.`
      : `Over ${days}: ${money(Math.abs(gap))} ${gap > 0 ? "more than" : "less than"} the best possible.`;
    const split = PARTS.map(([key, , said]) => `${said} ${money(totals.parts[key])}`);
    return `${head} ${split.join(", ")}.`;
  }

  async function loadWent() {
    const tbody = document.querySelector("#went-days tbody");
    const { ok, status, body } = await api("/api/attribution");
    if (!ok) {
      document.getElementById("went-span").textContent = "";
      tbody.replaceChildren(h("tr", {}, h("td", { colspan: "8", class: "muted" },
        status === 404 ? "No day worked out: this site's flows do not work it out."
          : body?.error ?? `unavailable (${status})`)));
      return;
    }
    document.getElementById("went-span").textContent = `${day(body.since)} to ${day(body.until)}`;
    const days = body.days;
    const summary = document.getElementById("went-summary");
    summary.textContent = wentSummary(body.totals, days.length > 0);
    const valued = days.find((d) => known(d.stored_value));
    document.getElementById("went-value").textContent = valued
      ? `${fmt.price(valued.stored_value)} on ${dateName(valued.date)}: the day's median import price less wear, after the battery's losses`
      : "the day's median import price less wear, after the battery's losses";
    tbody.replaceChildren(...(days.length ? days.map(wentRow)
      : [h("tr", {}, h("td", { colspan: "8", class: "muted" },
        "No day is over yet: each is worked out shortly after midnight."))]));
    document.body.dataset.went = String(Number(document.body.dataset.went || 0) + 1);
  }

  // -- the ledger, one interval to a row ------------------------------------------

  function query(extra) {
    const params = new URLSearchParams({ view: "intervals", limit: String(PAGE), ...extra });
    if (ledger.kind) params.set("kind", ledger.kind);
    return `/api/ledger?${params}`;
  }

  function take(page, { front = false } = {}) {
    const fresh = page.intervals.filter((row) => !ledger.keys.has(row.key));
    for (const row of fresh) ledger.keys.add(row.key);
    ledger.rows = front ? [...fresh, ...ledger.rows] : [...ledger.rows, ...fresh];
    for (const gap of page.gaps) ledger.gaps.set(gap.start, gap);
  }

  function reset() {
    Object.assign(ledger, { rows: [], keys: new Set(), gaps: new Map(), more: false, pages: 0 });
  }

  async function loadLedger() {
    const { ok, status, body } = await api(query({}));
    if (!ok) {
      document.querySelector("#ledger tbody").replaceChildren(h("tr", {},
        h("td", { colspan: "7", class: "muted" }, body?.error ?? `ledger unavailable (${status})`)));
      return;
    }
    reset();
    take(body);
    ledger.more = body.more;
    ledger.pages = 1;
    renderLedger();
  }

  async function loadOlder() {
    const oldest = ledger.rows.at(-1);
    if (!oldest) return;
    // Rows can share their interval's start: ask from just past the oldest, drop those shown.
    const { ok, body } = await api(query({ until: String(Math.floor(epoch(oldest.at)) + 1) }));
    if (!ok) return ledgerStatus(body?.error ?? "could not load more");
    take(body);
    ledger.more = body.more;
    ledger.pages += 1;
    renderLedger();
  }

  async function loadNewer() {
    if (ledger.pages <= 1) return loadLedger(); // the first page again: late settlements too
    const newest = ledger.rows[0];
    if (!newest) return loadLedger();
    const { ok, body } = await api(query({ since: String(Math.floor(epoch(newest.at))), limit: "1000" }));
    if (!ok) return;
    if (body.more) return loadLedger(); // too much since: start over
    take(body, { front: true });
    ledger.rows.sort((a, b) => epoch(b.at) - epoch(a.at));
    renderLedger();
  }

  function ledgerStatus(text) {
    document.getElementById("ledger-status").textContent = text ?? "";
  }

  const amount = (n) => fmt.money(Math.abs(n));
  // Zeros are hidden, and so is what shows as one: less than a watt-hour or half a cent.
  const someKwh = (v) => known(v) && Math.abs(Number(v)) >= 0.0005;
  const someMoney = (v) => known(v) && Math.abs(Number(v)) >= 0.005;

  /** The energy column: what was bought and sold at what price, and what the home ran on
   * of its own (solar and battery), the import that spared. */
  function energy(row) {
    const parts = [];
    if (someKwh(row.import_kwh)) parts.push(`bought ${kwh(row.import_kwh)} at ${fmt.price(row.import_price)}`);
    if (someKwh(row.export_kwh)) parts.push(`sold ${kwh(row.export_kwh)} at ${fmt.price(row.export_price)}`);
    if (someKwh(row.self_consumption_kwh)) {
      parts.push(`self-used ${kwh(row.self_consumption_kwh)}`
        + (someMoney(row.self_consumption_value) ? `, sparing ${amount(row.self_consumption_value)}` : ""));
    }
    return parts.join("; ");
  }

  /** Paid and earned: money out and money in, each positive; a negative price moves a
   * line to the other column, said so. */
  function cash(row) {
    const paid = [], earned = [];
    const add = (value, out, into, note) => {
      if (!someMoney(value)) return;
      if (value > 0) out.push([value, note[0]]);
      else into.push([-value, note[1]]);
    };
    add(row.import_cost, paid, earned, ["", "paid to import"]);
    add(row.settlement_paid, paid, earned, ["meter", "meter"]);
    add(row.export_revenue, earned, paid, ["", "paid to export"]);
    add(row.settlement_earned, earned, paid, ["meter", "meter"]);
    const show = (items) => items.map(([n, note]) => (note ? `${amount(n)} ${note}` : amount(n))).join(" + ");
    return [show(paid), show(earned)];
  }

  /** The battery column: in and out, and the margin on what went out. */
  function battery(row) {
    const parts = [];
    if (someKwh(row.battery_in_grid_kwh)) parts.push(`charged ${kwh(row.battery_in_grid_kwh)} from the grid`);
    if (someKwh(row.battery_in_solar_kwh)) parts.push(`charged ${kwh(row.battery_in_solar_kwh)} from solar`);
    if (someKwh(row.battery_out_home_kwh)) parts.push(`${kwh(row.battery_out_home_kwh)} to the home`);
    if (someKwh(row.battery_out_grid_kwh)) {
      parts.push(`${kwh(row.battery_out_grid_kwh)} to the grid, earned ${amount(row.battery_out_grid_earned ?? 0)}`);
    }
    if (someMoney(row.battery_margin)) {
      const m = Number(row.battery_margin);
      parts.push(m >= 0 ? `${amount(m)} more than it cost` : `${amount(m)} less than it cost`);
    }
    return parts.join("; ");
  }

  function savedCell(value, label) {
    const td = h("td", { class: "num money", "data-label": label });
    if (!someMoney(value)) return td;
    return fill(td, saving(value), String(value));
  }

  /** An interval's row, or null when all it holds shows as nothing. */
  function intervalRow(row) {
    const [paid, earned] = cash(row);
    const cells = [
      h("td", { "data-label": "Energy" }, energy(row)),
      h("td", { class: "num money", "data-label": "Paid" }, paid),
      fill(h("td", { class: "num money", "data-label": "Earned" }), { text: earned, state: earned ? "earned" : null }),
      h("td", { "data-label": "Battery" }, battery(row)),
      savedCell(row.self_use_saving, "Saved against self-use"),
      savedCell(row.no_battery_saving, "Saved against no battery"),
    ];
    if (cells.every((td) => td.textContent === "")) return null;
    if (row.settlement && !cells[0].textContent) cells[0].textContent = "the retailer's meter, settling the slot";
    return h("tr", { "data-key": row.key, "data-at": row.at },
      h("td", { "data-label": "Time" }, `${clock(row.start)}–${clock(row.end)}`), ...cells);
  }

  function gapRow(gap) {
    const moved = Object.entries(gap.energy ?? {})
      .filter(([, v]) => typeof v === "number" && Math.abs(v) > 0)
      .map(([k, v]) => `${k.replace(/_/g, " ")} ${Number(v).toFixed(3)}`);
    const text = `Gap ${when(gap.start)} to ${when(gap.end)} (${gap.hours} h): ${gap.reason}.`
      + (moved.length ? ` Not priced: ${moved.join(", ")}.` : "");
    return h("tr", { class: "gap", "data-gap": gap.start }, h("td", { colspan: "7" }, text));
  }

  function renderLedger() {
    const body = document.querySelector("#ledger tbody");
    const oldest = ledger.rows.at(-1);
    const floor = ledger.more && oldest ? epoch(oldest.at) : -Infinity;
    const gaps = [...ledger.gaps.values()].filter((g) => epoch(g.end) > floor)
      .sort((a, b) => epoch(b.start) - epoch(a.start));
    const rows = [];
    let g = 0, shownDay = null;
    for (const row of ledger.rows) {
      const at = epoch(row.at);
      while (g < gaps.length && epoch(gaps[g].start) >= at) rows.push(gapRow(gaps[g++]));
      const tr = intervalRow(row);
      if (!tr) continue;
      const today = fmt.time(row.start, { seconds: false }).replace(/ \d\d:\d\d$/, "");
      if (today !== shownDay) {
        shownDay = today;
        rows.push(h("tr", { class: "day" }, h("th", { colspan: "7", scope: "rowgroup" }, today)));
      }
      rows.push(tr);
    }
    while (g < gaps.length) rows.push(gapRow(gaps[g++]));
    if (!rows.length) {
      rows.push(h("tr", {}, h("td", { colspan: "7", class: "muted" },
        ledger.kind ? "No intervals with this yet." : "Nothing in the ledger yet: each control tick posts an interval.")));
    }
    body.replaceChildren(...rows);
    document.getElementById("ledger-more").hidden = !ledger.more;
    const count = ledger.rows.length;
    ledgerStatus(`${count} ${count === 1 ? "interval" : "intervals"}${ledger.more ? ", older ones below" : ""}; `
      + "an interval where nothing moved is left out, and so is every zero");
  }

  // -- wiring -------------------------------------------------------------------

  document.getElementById("ledger-kind").addEventListener("change", (e) => {
    ledger.kind = e.target.value;
    loadLedger();
  });
  document.getElementById("ledger-more").addEventListener("click", loadOlder);

  const refresh = debounce(() => { loadBilling(); loadNewer(); }, REFRESH_MS);
  const refreshWent = debounce(loadWent, REFRESH_MS);
  onEvent((event) => {
    if (event.type === "run" && POSTING_FLOWS.has(event.flow)) refresh();
    else if (event.type === "ready" && ledger.pages) refresh(); // back after a reconnect
    if (event.type === "run" && WENT_FLOWS.has(event.flow)) refreshWent();
  });
  loadBilling();
  loadWent();
  loadLedger();
})();
