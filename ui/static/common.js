// What every page shares: the theme switch, the CSRF token on writes, one live
// event stream (Server-Sent Events) and small DOM helpers. Loaded in <head>, so
// the chosen theme is set before the page paints. No framework.
"use strict";

(() => {
  const THEMES = ["auto", "light", "dark"];
  const root = document.documentElement;

  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") root.dataset.theme = theme;
    else delete root.dataset.theme;
  }
  applyTheme(localStorage.getItem("pm-theme"));

  /** A DOM element: h("td", {class: "num"}, "12 W"). Text goes in as text, never HTML. */
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    }
    node.append(...children.flat().filter((c) => c !== null && c !== undefined).map(
      (c) => (c instanceof Node ? c : String(c))));
    return node;
  }

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

  /** fetch a JSON API: {ok, status, body}. Writes carry the session's CSRF token. */
  async function api(path, { method = "GET", body } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    if (response.status === 401) window.location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    const data = await response.json().catch(() => null);
    return { ok: response.ok, status: response.status, body: data };
  }

  // -- one event stream for the page ------------------------------------------

  const listeners = new Set();
  let source = null;

  function connect() {
    if (source) return;
    source = new EventSource("/api/events");
    const live = () => document.getElementById("live");
    source.onmessage = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (event.type === "ready") {
        live()?.setAttribute("data-state", "ok");
        if (live()) live().textContent = "connected";
        document.body.dataset.live = "1";
      }
      for (const listener of listeners) {
        try { listener(event); } catch (error) { console.warn("listener failed", error); }
      }
    };
    source.onerror = () => {
      live()?.setAttribute("data-state", "warn");
      if (live()) live().textContent = "reconnecting";
      document.body.dataset.live = "0";
    };
  }

  /** Call ``listener(event)`` for every live event (status, run, notification, state...). */
  function onEvent(listener) {
    listeners.add(listener);
    connect();
    return () => listeners.delete(listener);
  }

  /** Run ``fn`` at most once per ``ms`` however often it is asked for (refetch on events). */
  function debounce(fn, ms = 300) {
    let timer = null;
    return (...args) => {
      if (timer) return;
      timer = setTimeout(() => { timer = null; fn(...args); }, ms);
    };
  }

  // -- formatting ----------------------------------------------------------

  /** The site's time zone (site.timezone): every time on every page is shown in it. */
  const siteZone = () => document.querySelector('meta[name="site-timezone"]')?.content || undefined;
  const timeFormats = new Map();

  /** ``t`` (epoch seconds or ISO text) as "Mon 7 Dec 17:15:03" in the site's zone, 24 h;
   * ``{seconds: false}`` drops the seconds, ``{day: false}`` the date. */
  function siteTime(t, { seconds = true, day = true } = {}) {
    if (t === null || t === undefined || t === "") return "—";
    const at = new Date(typeof t === "number" ? t * 1000 : t);
    if (Number.isNaN(at.getTime())) return "—";
    const key = `${seconds}${day}`;
    if (!timeFormats.has(key)) {
      const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23",
        ...(seconds ? { second: "2-digit" } : {}),
        ...(day ? { weekday: "short", day: "numeric", month: "short" } : {}) };
      try {
        timeFormats.set(key, new Intl.DateTimeFormat("en-AU", { ...options, timeZone: siteZone() }));
      } catch {  // a zone this browser does not know: its own, rather than nothing
        timeFormats.set(key, new Intl.DateTimeFormat("en-AU", options));
      }
    }
    const parts = Object.fromEntries(timeFormats.get(key).formatToParts(at).map((p) => [p.type, p.value]));
    const clock = [parts.hour, parts.minute, ...(seconds ? [parts.second] : [])].join(":");
    return day ? `${parts.weekday} ${parts.day} ${parts.month} ${clock}` : clock;
  }

  const fmt = {
    watts: (w) => (w === null || w === undefined ? "—" : Math.abs(w) >= 1000
      ? `${(w / 1000).toFixed(2)} kW` : `${Math.round(w)} W`),
    // A price per kWh ($/kWh in every API) in cents, the one unit every page shows:
    // 0.2841 -> "28.4 c/kWh", -0.05 -> "−5.0 c/kWh" (a negative price: the other side pays).
    price: (p) => {
      if (p === null || p === undefined || p === "" || !Number.isFinite(Number(p))) return "—";
      const tenths = Math.round(Number(p) * 1000);
      return `${tenths < 0 ? "−" : ""}${(Math.abs(tenths) / 10).toFixed(1)} c/kWh`;
    },
    money: (m) => (m === null || m === undefined ? "—" : `${Number(m) < 0 ? "−" : ""}$${Math.abs(Number(m)).toFixed(2)}`),
    pct: (f) => (f === null || f === undefined ? "—" : `${Math.round(f * 100)} %`),
    time: siteTime,
  };

  async function showHealth() {
    const pill = document.getElementById("health");
    if (!pill) return;
    const { body } = await api("/api/health");
    const status = body?.status ?? "unknown";
    pill.textContent = status;
    pill.dataset.state = status === "ok" ? "ok" : status === "degraded" ? "warn" : "error";
    pill.title = (body?.reasons ?? []).join("; ") || "service health";
  }

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("theme");
    const label = () => { if (button) button.textContent = `Theme: ${localStorage.getItem("pm-theme") ?? "auto"}`; };
    label();
    button?.addEventListener("click", () => {
      const now = localStorage.getItem("pm-theme") ?? "auto";
      const next = THEMES[(THEMES.indexOf(now) + 1) % THEMES.length];
      if (next === "auto") localStorage.removeItem("pm-theme");
      else localStorage.setItem("pm-theme", next);
      applyTheme(next);
      label();
    });
    if (document.getElementById("health")) {
      showHealth();
      const again = debounce(showHealth, 2000);
      onEvent((event) => { if (event.type === "run" && event.flow === "health") again(); });
    }
  });

  window.PM = { h, api, csrf, onEvent, debounce, fmt, siteZone };
})();
