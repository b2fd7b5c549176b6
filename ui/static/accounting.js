// The accounting page: the billing cycle so far and projected (/api/billing), the
// closed cycles, and the recent ledger (/api/ledger) with its gaps; read again when
// a control tick or a settlement posts. Text only ever goes in through textContent.
"use strict";

(() => {
  const { h, api, onEvent, debounce } = window.PM;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const PAGE = 100;
  const REFRESH_MS = 3000; // a tick every second at --speed 300: add up at most every 3 s
  const POSTING_FLOWS = new Set(["control", "settle"]);

  const ledger = { kind: "", entries: [], keys: new Set(), gaps: new Map(), more: false, pages: 0 };
  const openCycles = new Set();
  const kindNames = new Map([...document.querySelectorAll("#ledger-kind option")]
    .filter((o) => o.value).map((o) => [o.value, o.textContent]));

  // -- formatting: times are shown in the site's own wall time (the ISO offsets say it) --

  const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/;

  function wall(iso, { year = false, time = true } = {}) {
    const m = WALL.exec(iso ?? "");
    if (!m) return "—";
    const date = `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]}${year ? ` ${m[1]}` : ""}`;
    return time ? `${date} ${m[4]}:${m[5]}` : date;
  }

  /** Epoch seconds of an ISO time (its fraction cut to milliseconds, which Date reads). */
  const epoch = (iso) => Date.parse(iso.replace(/(\.\d{3})\d+/, "$1")) / 1000;

  function money(value) {
    if (value === null || value === undefined || value === "") return "—";
    const n = Number(value);
    return `${n < 0 ? "−" : ""}$${Math.abs(n).toFixed(2)}`;
  }

  function moneyEl(el, value) {
    el.textContent = money(value);
    el.classList.toggle("neg", Number(value) < 0);
  }

  const kwh = (value) => (value === null || value === undefined ? "—" : `${Number(value).toFixed(3)} kWh`);

  function span(cycle) {
    return `${wall(cycle.start, { year: true, time: false })} to ${wall(cycle.end, { year: true, time: false })}`
      + ` · ${cycle.days} days`;
  }

  // -- the bill, line by line ---------------------------------------------------

  function lines(figures) {
    const bill = figures.bill;
    return [
      ["Imported", kwh(bill.import_kwh)],
      ["Import cost", money(bill.import_cost)],
      ["Exported", kwh(bill.export_kwh)],
      ["Export revenue", money(-Number(bill.export_revenue))],
      [`Supply charges (${bill.supply_days} days)`, money(bill.supply_charges)],
      ["Monthly fees", money(bill.monthly_fees)],
      ["Net bill", money(bill.net_bill), "total"],
      ["Self-consumption value", money(figures.savings.self_consumption_value), "aside"],
      ["Arbitrage", money(figures.savings.arbitrage_pnl), "aside"],
      ["Bill without a battery", money(figures.no_battery?.net_bill), "aside"],
      ["Saved against no battery", money(figures.no_battery?.saving), "aside"],
      ["Bill with the inverter's self-use", money(figures.self_use?.net_bill), "aside"],
      ["Saved against self-use", money(figures.self_use?.saving), "aside"],
    ];
  }

  function coverage(cycle) {
    if (cycle.complete) return null;
    const hours = `${Number(cycle.unaccounted_hours).toFixed(1)} h unaccounted`;
    const why = cycle.gaps
      ? `${cycle.gaps === 1 ? "1 gap" : `${cycle.gaps} gaps`} in the ledger; ${hours} in all`
      : `${hours}, before the ledger began`;
    return `${why}: the energy then is in no figure here.`;
  }

  function renderCurrent(current) {
    document.getElementById("cycle-span").textContent = span(current);
    moneyEl(document.getElementById("cycle-net"), current.bill.net_bill);
    document.getElementById("cycle-asof").textContent = `as of ${wall(current.as_of)}`;
    const projected = current.projected;
    moneyEl(document.getElementById("cycle-projected-net"), projected?.bill.net_bill);
    document.getElementById("cycle-accounted").textContent = projected
      ? `from ${Math.round(current.accounted_fraction * 100)} % of the cycle accounted for`
      : "after a day of figures";
    moneyEl(document.getElementById("saved-vs-self-use"), current.self_use?.saving);
    moneyEl(document.getElementById("saved-vs-no-battery"), current.no_battery?.saving);
    document.getElementById("saved-projected").textContent = projected
      ? ` so far (projected for the cycle: ${money(projected.self_use?.saving)} and ${money(projected.no_battery?.saving)})`
      : " so far";
    const gaps = document.getElementById("cycle-coverage");
    gaps.textContent = coverage(current) ?? "";
    gaps.hidden = current.complete;
    const later = projected ? lines(projected) : [];
    document.querySelector("#cycle-lines tbody").replaceChildren(...lines(current).map(([label, value, kind], i) =>
      h("tr", { class: kind ?? null }, h("th", { scope: "row" }, label), h("td", { class: "num" }, value),
        h("td", { class: "num" }, later[i]?.[1] ?? "—"))));
  }

  function renderClosed(closed, current) {
    const root = document.getElementById("closed-cycles");
    if (!closed.length) {
      root.replaceChildren(h("p", { class: "muted" },
        `No closed cycles yet: this one closes at ${wall(current.end, { year: true })}.`));
      return;
    }
    root.replaceChildren(...closed.map((cycle) => {
      const flags = [
        cycle.complete ? null : h("span", { class: "badge warn" }, "incomplete"),
        cycle.revision > 1 ? h("span", { class: "badge" }, `revised ${cycle.revision - 1}×`) : null,
        cycle.stored ? null : h("span", { class: "badge" }, "not stored yet"),
      ];
      const details = h("details", { class: "cycle", "data-cycle": cycle.start,
        ontoggle: (e) => (e.target.open ? openCycles.add(cycle.start) : openCycles.delete(cycle.start)) },
        h("summary", {},
          h("span", { class: "cycle-span" }, span(cycle)),
          h("span", { class: "cycle-net money" }, `net ${money(cycle.bill.net_bill)}`),
          h("span", { class: "muted" }, `saved ${money(cycle.self_use?.saving)} vs self-use, `
            + `${money(cycle.no_battery?.saving)} vs no battery`),
          ...flags),
        coverage(cycle) ? h("p", { class: "acct-coverage" }, coverage(cycle)) : null,
        h("div", { class: "table-scroll" }, h("table", { class: "acct-lines" },
          h("tbody", {}, ...lines(cycle).map(([label, value, kind]) => h("tr", { class: kind ?? null },
            h("th", { scope: "row" }, label), h("td", { class: "num" }, value)))))),
        h("p", { class: "muted" }, [
          cycle.closed_at ? `closed ${wall(cycle.closed_at, { year: true })}` : "not closed yet",
          cycle.updated_at && cycle.updated_at !== cycle.closed_at ? `, updated ${wall(cycle.updated_at, { year: true })}` : "",
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
    renderCurrent(body.current);
    renderClosed(body.closed, body.current);
  }

  // -- the ledger ---------------------------------------------------------------

  function query(extra) {
    const params = new URLSearchParams({ limit: String(PAGE), ...extra });
    if (ledger.kind) params.set("kind", ledger.kind);
    return `/api/ledger?${params}`;
  }

  function take(page, { front = false } = {}) {
    const fresh = page.entries.filter((e) => !ledger.keys.has(e.key));
    for (const entry of fresh) ledger.keys.add(entry.key);
    ledger.entries = front ? [...fresh, ...ledger.entries] : [...ledger.entries, ...fresh];
    for (const gap of page.gaps) ledger.gaps.set(gap.start, gap);
  }

  function reset() {
    Object.assign(ledger, { entries: [], keys: new Set(), gaps: new Map(), more: false, pages: 0 });
  }

  async function loadLedger() {
    const { ok, status, body } = await api(query({}));
    if (!ok) {
      document.querySelector("#ledger tbody").replaceChildren(h("tr", {},
        h("td", { colspan: "5", class: "muted" }, body?.error ?? `ledger unavailable (${status})`)));
      return;
    }
    reset();
    take(body);
    ledger.more = body.more;
    ledger.pages = 1;
    renderLedger();
  }

  async function loadOlder() {
    const oldest = ledger.entries.at(-1);
    if (!oldest) return;
    // Entries share their interval's time: ask from just past the oldest, drop those shown.
    const { ok, body } = await api(query({ until: String(Math.floor(epoch(oldest.at)) + 1) }));
    if (!ok) return ledgerStatus(body?.error ?? "could not load more");
    take(body);
    ledger.more = body.more;
    ledger.pages += 1;
    renderLedger();
  }

  async function loadNewer() {
    if (ledger.pages <= 1) return loadLedger(); // the first page again: late settlements too
    const newest = ledger.entries[0];
    if (!newest) return loadLedger();
    const { ok, body } = await api(query({ since: String(Math.floor(epoch(newest.at))), limit: "1000" }));
    if (!ok) return;
    if (body.more) return loadLedger(); // too much since: start over
    take(body, { front: true });
    renderLedger();
  }

  function ledgerStatus(text) {
    document.getElementById("ledger-status").textContent = text ?? "";
  }

  function entryRow(entry) {
    const amount = Number(entry.amount);
    return h("tr", { "data-key": entry.key, "data-kind": entry.kind },
      h("td", { "data-label": "Time" }, wall(entry.at)),
      h("td", { "data-label": "Kind" }, kindNames.get(entry.kind) ?? entry.kind),
      h("td", { class: "num", "data-label": "kWh" }, entry.kwh === null ? "—" : Number(entry.kwh).toFixed(3)),
      h("td", { class: "num", "data-label": "$/kWh" }, entry.price === null || entry.price === undefined
        ? "—" : Number(entry.price).toFixed(4)),
      h("td", { class: `num money${amount < 0 ? " neg" : ""}`, "data-label": "Amount", title: String(entry.amount) },
        money(amount)));
  }

  function gapRow(gap) {
    const moved = Object.entries(gap.energy ?? {})
      .filter(([, v]) => typeof v === "number" && Math.abs(v) > 0)
      .map(([k, v]) => `${k.replace(/_/g, " ")} ${Number(v).toFixed(3)}`);
    const text = `Gap ${wall(gap.start)} to ${wall(gap.end)} (${gap.hours} h): ${gap.reason}.`
      + (moved.length ? ` Not priced: ${moved.join(", ")}.` : "");
    return h("tr", { class: "gap", "data-gap": gap.start }, h("td", { colspan: "5" }, text));
  }

  function renderLedger() {
    const body = document.querySelector("#ledger tbody");
    const oldest = ledger.entries.at(-1);
    const floor = ledger.more && oldest ? epoch(oldest.at) : -Infinity;
    const gaps = [...ledger.gaps.values()].filter((g) => epoch(g.end) > floor)
      .sort((a, b) => epoch(b.start) - epoch(a.start));
    const rows = [];
    let g = 0;
    for (const entry of ledger.entries) {
      const at = epoch(entry.at);
      while (g < gaps.length && epoch(gaps[g].start) >= at) rows.push(gapRow(gaps[g++]));
      rows.push(entryRow(entry));
    }
    while (g < gaps.length) rows.push(gapRow(gaps[g++]));
    if (!rows.length) {
      rows.push(h("tr", {}, h("td", { colspan: "5", class: "muted" },
        ledger.kind ? "No entries of this kind yet." : "No ledger entries yet: the first control tick posts some.")));
    }
    body.replaceChildren(...rows);
    document.getElementById("ledger-more").hidden = !ledger.more;
    ledgerStatus(`${ledger.entries.length} entries${ledger.more ? ", older ones below" : ""}`);
  }

  // -- wiring -------------------------------------------------------------------

  document.getElementById("ledger-kind").addEventListener("change", (e) => {
    ledger.kind = e.target.value;
    loadLedger();
  });
  document.getElementById("ledger-more").addEventListener("click", loadOlder);

  const refresh = debounce(() => { loadBilling(); loadNewer(); }, REFRESH_MS);
  onEvent((event) => {
    if (event.type === "run" && POSTING_FLOWS.has(event.flow)) refresh();
    else if (event.type === "ready" && ledger.pages) refresh(); // back after a reconnect
  });
  loadBilling();
  loadLedger();
})();
