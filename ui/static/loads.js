// The loads page: each controllable load's state, its day and plan
// (/api/loads/view), and On / Off / Auto by hand through POST /api/loads. Read again
// when the loads flow (or a new plan) finishes. Text only goes in through textContent.
"use strict";

(() => {
  const { h, api, onEvent, debounce } = window.PM;
  const LOAD_FLOWS = new Set(["loads", "plan"]);
  const FOR = [["", "until set back to auto"], ["1800", "for 30 min"], ["3600", "for 1 h"],
    ["7200", "for 2 h"], ["14400", "for 4 h"]];
  const EXAMPLE = `loads:
  pool:
    name: Pool pump
    adapter: shelly_gen2          # shelly_gen1 | shelly_gen2 | mqtt
    host: 192.168.1.60
    power_w: 1200
    run_time: 4h                  # a day
    window: {from: "08:00", to: "17:00"}`;

  let view = null;
  /** load id -> the problem its last command ran into (kept across re-renders). */
  const refused = new Map();
  /** load id -> its card's elements; the cards stay, so a choice in a menu survives updates. */
  const cards = new Map();
  let shownIds = null;

  const WALL = /T(\d{2}):(\d{2})/;
  const clock = (iso) => { const m = WALL.exec(iso ?? ""); return m ? `${m[1]}:${m[2]}` : "—"; };

  /** "Fri" for an ISO date: runs the plan placed in a later run day say which day. */
  function weekday(iso) {
    const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
    return ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
  }

  function hours(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `${minutes} min`;
    return minutes % 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes / 60} h`;
  }

  // -- one load ---------------------------------------------------------------------

  function now(load) {
    if (load.on === null || load.on === undefined) return "no answer";
    return `${load.on ? "on" : "off"}${load.power_w !== null && load.power_w !== undefined
      ? `, ${Math.round(load.power_w)} W` : ""}`;
  }

  function manual(load) {
    const c = load.command;
    if (!c) return "auto (the plan, the sun and its rules decide)";
    return `${c.command} ${c.until ? `until ${clock(c.until)}` : "until set back to auto"}`
      + (c.source ? ` (by ${c.source}, ${clock(c.set_at)})` : "");
  }

  function planned(load) {
    if (!load.planned_load) return load.prefer_solar || load.priority === "opportunistic"
      ? "runs on solar surplus only" : "not planned";
    if (!load.planned.length) return "nothing planned ahead";
    const today = (view?.now ?? "").slice(0, 10);
    return load.planned.map((run) => {
      const day = run.start.slice(0, 10) === today ? "" : `${weekday(run.start)} `;
      return `${day}${clock(run.start)}–${clock(run.end)}`;
    }).join(", ");
  }

  /** A load's card, built once; ``paint`` fills it in again on every update. */
  function card(load) {
    const el = {};
    const dd = (label, key) => { el[key] = h("dd"); return [h("dt", {}, label), el[key]]; };
    el.problem = h("p", { class: "problem", role: "alert", hidden: "" });
    el.until = h("select", { class: "until", "aria-label": `how long, ${load.name}` },
      ...FOR.map(([value, text]) => h("option", { value }, text)));
    el.buttons = ["on", "off", "auto"].map((command) => h("button", { type: "button",
      class: `cmd cmd-${command}`, "data-command": command,
      onclick: () => send(load.id, command, el.until.value, el.problem) },
    command[0].toUpperCase() + command.slice(1)));
    el.title = h("h2");
    el.state = h("span", { class: "state" });
    el.reason = h("p", { class: "reason" });
    el.root = h("article", { class: "load", "data-load": load.id },
      h("header", {}, el.title, el.state),
      el.reason,
      h("dl", {}, ...dd("Now", "now"), ...dd("Today's window", "window"), ...dd("Run today", "run"),
        ...dd("Planned", "planned"), ...dd("Manual", "manual"), ...dd("Device", "device")),
      h("div", { class: "commands", role: "group", "aria-label": `switch ${load.name}` },
        ...el.buttons, el.until),
      el.problem);
    return el;
  }

  function paint(el, load) {
    el.root.dataset.state = load.state;
    el.title.textContent = load.name;
    el.state.textContent = load.state;
    el.state.dataset.state = load.state;
    el.reason.textContent = load.reason || "";
    el.now.textContent = now(load);
    el.window.textContent = load.window ?? "any time";
    el.run.textContent = load.run_time_s
      ? `${hours(load.run_today_s)} of ${hours(load.run_time_s)}` : hours(load.run_today_s);
    el.planned.textContent = planned(load);
    el.manual.textContent = manual(load);
    el.device.textContent = `${load.device}, ${Math.round(load.rated_w)} W, ${load.priority}`
      + (load.prefer_solar ? ", prefers solar" : "");
    const inForce = load.command?.command ?? "auto";
    for (const button of el.buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.command === inForce));
    }
    const problem = refused.get(load.id) ?? load.last_error;
    el.problem.textContent = problem ?? "";
    el.problem.hidden = !problem;
  }

  async function send(id, command, seconds, problem) {
    const body = { name: id, command };
    if (command !== "auto" && seconds) body.until = (view?.now_at ?? Date.now() / 1000) + Number(seconds);
    problem.hidden = true;
    const { ok, status, body: answer } = await api("/api/loads", { method: "POST", body });
    if (ok) {
      refused.delete(id);
      refresh();
      return;
    }
    const text = (answer?.problems ?? []).map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ")
      || answer?.error || `refused (${status})`;
    refused.set(id, `${command} refused: ${text}`);
    problem.textContent = refused.get(id);
    problem.hidden = false;
  }

  // -- the page -----------------------------------------------------------------------

  function empty(data) {
    return h("div", { class: "empty" },
      h("p", {}, "No controllable loads are configured."),
      // As Settings says: a save there is checked and applied at once (the flows restart
      // on it, the service does not), and a running service reloads site.yaml when it is
      // saved by hand too (powermaster/service.py apply_settings and reload).
      h("p", { class: "muted" }, "Add one under ", h("a", { href: "/settings#loads" }, "Settings › Loads"),
        " as below and save: it is checked and applied at once, without a restart (so is an edit "
        + "of site.yaml's loads: section, which the running service reloads when it is saved). "
        + "The planner then places its daily run time in the cheapest (often sunniest) slots of "
        + `its window, and the loads flow switches it. See ${data.how_to_add}.`),
      h("pre", { class: "config" }, EXAMPLE));
  }

  function render(data) {
    view = data;
    document.getElementById("loads-now").textContent = `${clock(data.now)} (${data.timezone})`;
    const error = document.getElementById("loads-error");
    error.textContent = data.problem ?? "";
    error.hidden = !data.problem;
    const root = document.getElementById("loads");
    if (!data.loads.length) {
      root.replaceChildren(data.problem ? h("p", { class: "muted" }, "No loads can be shown.") : empty(data));
      cards.clear();
      shownIds = null;
      return;
    }
    const ids = data.loads.map((load) => load.id).join("\n");
    if (ids !== shownIds) { // the loads themselves changed: build their cards again
      cards.clear();
      for (const load of data.loads) cards.set(load.id, card(load));
      root.replaceChildren(...[...cards.values()].map((el) => el.root));
      shownIds = ids;
    }
    for (const load of data.loads) paint(cards.get(load.id), load);
  }

  async function refresh() {
    const { ok, status, body } = await api("/api/loads/view");
    if (ok) render(body);
    else {
      const error = document.getElementById("loads-error");
      error.textContent = body?.error ?? `loads unavailable (${status})`;
      error.hidden = false;
    }
  }

  const reload = debounce(refresh, 500);
  onEvent((event) => {
    if (event.type === "run" && LOAD_FLOWS.has(event.flow)) reload();
    else if (event.type === "ready" && view) reload();
  });
  refresh();
})();
