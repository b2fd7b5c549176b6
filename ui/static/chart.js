// PMChart: a small time-series chart in SVG, written for this app (no library).
// Several series as lines, steps, areas or bars over a time axis in the site's own
// time zone, at most two y axes with units, a legend that toggles series, a
// hover/tap tooltip, zoom by drag-selecting a range, the wheel or a pinch (double
// click or "Reset zoom" to undo), a "now" marker and a shaded "plan ahead" region.
//
//   const chart = PMChart.create(element, {
//     timeZone: "Australia/Brisbane",
//     axes: { left: { unit: "kW" }, right: { unit: "%", min: 0, max: 100 } },
//     series: [{ id: "pv", label: "PV", unit: "kW", type: "area", color: "--c-pv" }, ...],
//   });
//   chart.update({ data: { pv: [[ms, value, endMs?], ...] }, now: ms, ahead: [ms, ms] });
//
// Options also take height, label, empty (the text with no data), minSpan (ms),
// aheadLabel, rightSpace (keep a right axis' room, to line up with a chart above)
// and onZoom(view), called with [from, to] or null; series take axis ("left" or
// "right"), dashed, hidden, gap (ms: a line breaks across a longer gap), format(v).
//
// A point is [time, value] or [start, value, end] (steps and bars span start..end);
// a null value breaks a line. Colours are CSS custom properties, so themes apply.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const MIN = 60e3, HOUR = 60 * MIN, DAY = 24 * HOUR;
  const TIME_STEPS = [
    [5 * MIN], [10 * MIN], [15 * MIN], [30 * MIN], [HOUR], [2 * HOUR], [3 * HOUR], [6 * HOUR],
    [12 * HOUR], [DAY], [2 * DAY], [7 * DAY, "week"], [14 * DAY, "week"], [1, "month"], [3, "month"], [12, "month"],
  ];
  const MONTH = 30.44 * DAY;

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- the site's time zone ---------------------------------------------------------

  /** Offsets and labels in ``timeZone`` whatever zone the browser is in. */
  function zone(timeZone) {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    });
    const cache = new Map();
    const QUARTER = 15 * MIN; // every zone changes offset on a quarter hour
    function offset(ms) {
      const key = Math.floor(ms / QUARTER);
      let value = cache.get(key);
      if (value === undefined) {
        const p = {};
        for (const part of parts.formatToParts(new Date(key * QUARTER))) p[part.type] = part.value;
        value = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) - key * QUARTER;
        cache.set(key, value);
      }
      return value;
    }
    const toLocal = (ms) => ms + offset(ms);
    const fromLocal = (local) => local - offset(local - offset(local));
    // "Tue 8 Dec 2026", "Tue 8 Dec 13:00": en-AU without its commas, as PM.fmt.time writes
    // times on every other page (never the browser's own locale).
    const format = (options) => {
      const f = new Intl.DateTimeFormat("en-AU", { timeZone, ...options });
      return { format: (t) => f.format(t).replace(/,/g, "") };
    };
    return {
      toLocal, fromLocal,
      time: format({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
      day: format({ weekday: "short", day: "numeric" }),
      date: format({ day: "numeric", month: "short" }),
      month: format({ month: "short" }),
      year: format({ month: "short", year: "numeric" }),
      full: format({ weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
      longDate: format({ weekday: "short", day: "numeric", month: "short", year: "numeric" }),
    };
  }

  /** Ticks for [t0, t1] (ms) at about ``count``, on the site's wall-clock boundaries. */
  function timeTicks(z, t0, t1, count) {
    const span = t1 - t0;
    const [step, kind] = TIME_STEPS.find(([s, k]) => span / (k === "month" ? s * MONTH : s) <= count)
      || TIME_STEPS[TIME_STEPS.length - 1];
    const l0 = z.toLocal(t0), l1 = z.toLocal(t1);
    const local = [];
    if (kind === "month") {
      const d = new Date(l0);
      let y = d.getUTCFullYear(), m = d.getUTCMonth();
      m -= m % step;
      for (let t = Date.UTC(y, m, 1); t <= l1; m += step, t = Date.UTC(y, m, 1)) local.push(t);
    } else if (kind === "week") {
      const first = Math.floor(l0 / DAY);
      for (let d = first - ((first + 3) % 7); d * DAY <= l1; d += step / DAY) local.push(d * DAY);
    } else {
      for (let t = Math.ceil(l0 / step) * step; t <= l1; t += step) local.push(t);
    }
    const ticks = [];
    for (const l of local) {
      const t = z.fromLocal(l);
      if (t < t0 || t > t1 || (ticks.length && ticks[ticks.length - 1].t === t)) continue;
      const midnight = l % DAY === 0;
      let label;
      if (kind === "month") label = new Date(l).getUTCMonth() === 0 ? z.year.format(t) : z.month.format(t);
      else if (kind === "week") label = z.date.format(t);
      else if (step >= DAY) label = z.day.format(t);
      else label = midnight ? z.day.format(t) : z.time.format(t);
      ticks.push({ t, label, major: midnight });
    }
    return ticks;
  }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) { hi = lo + 1; }
    const raw = (hi - lo) / Math.max(1, count);
    const mag = 10 ** Math.floor(Math.log10(raw));
    const norm = raw / mag;
    const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
    const start = Math.floor(lo / step) * step, end = Math.ceil(hi / step) * step;
    const ticks = [];
    for (let v = start; v <= end + step / 2; v += step) ticks.push(Math.abs(v) < step / 1e6 ? 0 : v);
    return { ticks, lo: start, hi: end, step };
  }

  function formatNumber(v, step) {
    const digits = step >= 1 ? 0 : Math.min(4, Math.ceil(-Math.log10(step)));
    return v.toLocaleString("en-AU", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  const end = (p) => (p[2] === undefined ? p[0] : p[2]);

  // -- the chart --------------------------------------------------------------------

  function create(host, options) {
    const opts = { height: 260, minSpan: 15 * MIN, axes: {}, ...options };
    const z = zone(opts.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone);
    const series = opts.series.map((s) => ({ type: "line", axis: "left", ...s, hidden: !!s.hidden }));
    let data = {}, now = null, ahead = null, full = null, view = null;
    let layout = null, hoverT = null;

    const root = el("div", "pm-chart");
    const bar = el("div", "pm-chart-bar");
    const legend = el("ul", "pm-legend");
    const reset = el("button", "pm-reset", "Reset zoom");
    reset.type = "button";
    reset.hidden = true;
    bar.append(legend, reset);
    const plot = el("div", "pm-chart-plot");
    const canvas = svg("svg", { class: "pm-chart-svg", role: "img", "aria-label": opts.label || "chart" });
    const tip = el("div", "pm-tip");
    tip.hidden = true;
    tip.setAttribute("role", "status");
    plot.append(canvas, tip);
    root.append(bar, plot);
    host.replaceChildren(root);

    for (const s of series) {
      const button = el("button", "pm-legend-item");
      button.type = "button";
      button.dataset.series = s.id;
      button.setAttribute("aria-pressed", String(!s.hidden));
      const swatch = el("span", `pm-swatch pm-swatch-${s.type}`);
      swatch.style.setProperty("--swatch", `var(${s.color})`);
      if (s.dashed) swatch.classList.add("pm-dashed");
      button.append(swatch, document.createTextNode(s.label));
      button.addEventListener("click", () => {
        s.hidden = !s.hidden;
        button.setAttribute("aria-pressed", String(!s.hidden));
        render();
      });
      const item = el("li");
      item.append(button);
      legend.append(item);
    }

    // -- scales ---------------------------------------------------------------------

    function extent() {
      if (opts.domain) return opts.domain;
      let lo = Infinity, hi = -Infinity;
      for (const s of series) {
        for (const p of data[s.id] || []) { lo = Math.min(lo, p[0]); hi = Math.max(hi, end(p)); }
      }
      if (ahead) hi = Math.max(hi, ahead[1]);
      if (now !== null) { lo = Math.min(lo, now); hi = Math.max(hi, now); }
      return lo < hi ? [lo, hi] : null;
    }

    function yScale(axis, d0, d1, top, bottom) {
      const config = opts.axes[axis] || {};
      let lo = Infinity, hi = -Infinity, zero = false;
      for (const s of series) {
        if (s.hidden || s.axis !== axis) continue;
        zero ||= s.type === "bar" || s.type === "area";
        for (const p of data[s.id] || []) {
          if (p[1] === null || p[1] === undefined || end(p) < d0 || p[0] > d1) continue;
          lo = Math.min(lo, p[1]); hi = Math.max(hi, p[1]);
        }
      }
      if (lo === Infinity) return null;
      if (zero || config.zero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
      if (config.min !== undefined) lo = Math.min(config.min, lo);
      if (config.max !== undefined) hi = Math.max(config.max, hi);
      const nice = niceTicks(lo, hi, Math.max(2, Math.round((bottom - top) / 45)));
      const scale = (v) => bottom - ((v - nice.lo) / (nice.hi - nice.lo)) * (bottom - top);
      return { ...nice, scale, unit: config.unit || "" };
    }

    // -- drawing --------------------------------------------------------------------

    function render() {
      const width = Math.max(240, plot.clientWidth || 600), height = opts.height;
      full = extent();
      canvas.setAttribute("viewBox", `0 0 ${width} ${height}`);
      canvas.setAttribute("width", width);
      canvas.setAttribute("height", height);
      canvas.replaceChildren();
      reset.hidden = !view;
      if (!full) {
        canvas.append(svg("text", { class: "pm-empty", x: width / 2, y: height / 2, "text-anchor": "middle" },
          opts.empty || "Nothing recorded yet"));
        layout = null;
        return;
      }
      const [d0, d1] = view || full;
      const hasRight = series.some((s) => s.axis === "right" && !s.hidden);
      // An axis title (its unit) gets a line of its own above the plot: the top tick's
      // label sits at the plot's top edge, and the two must not meet.
      const titled = Object.values(opts.axes).some((axis) => axis?.unit);
      const m = { left: 52, right: hasRight || opts.rightSpace ? 52 : 14, top: titled ? 28 : 14, bottom: 26 };
      const x0 = m.left, x1 = width - m.right, top = m.top, bottom = height - m.bottom;
      const x = (t) => x0 + ((t - d0) / (d1 - d0)) * (x1 - x0);
      const axes = { left: yScale("left", d0, d1, top, bottom), right: yScale("right", d0, d1, top, bottom) };
      layout = { x, x0, x1, top, bottom, d0, d1, axes };

      const clipId = `pm-clip-${Math.random().toString(36).slice(2)}`;
      const defs = svg("defs");
      const clip = svg("clipPath", { id: clipId });
      clip.append(svg("rect", { x: x0, y: top - 2, width: x1 - x0, height: bottom - top + 4 }));
      defs.append(clip);
      canvas.append(defs);

      if (ahead && ahead[1] > d0 && ahead[0] < d1) {
        const a = Math.max(x0, x(ahead[0])), b = Math.min(x1, x(ahead[1]));
        canvas.append(svg("rect", { class: "pm-ahead", x: a, y: top, width: Math.max(0, b - a), height: bottom - top }));
        canvas.append(svg("text", { class: "pm-ahead-label", x: a + 4, y: top + 10 }, opts.aheadLabel || "plan"));
      }
      const grid = axes.left || axes.right;
      if (grid) {
        for (const v of grid.ticks) {
          const y = grid.scale(v);
          canvas.append(svg("line", { class: v === 0 ? "pm-grid pm-zero" : "pm-grid", x1: x0, x2: x1, y1: y, y2: y }));
        }
      }
      for (const [side, axis] of Object.entries(axes)) {
        if (!axis) continue;
        const left = side === "left";
        for (const v of axis.ticks) {
          canvas.append(svg("text", { class: "pm-tick", x: left ? x0 - 6 : x1 + 6, y: axis.scale(v) + 4,
            "text-anchor": left ? "end" : "start" }, formatNumber(v, axis.step)));
        }
        canvas.append(svg("text", { class: "pm-unit", x: left ? 4 : width - 4, y: top - 14,
          "text-anchor": left ? "start" : "end" }, axis.unit));
      }
      const ticks = timeTicks(z, d0, d1, Math.max(2, Math.floor((x1 - x0) / 80)));
      for (const tick of ticks) {
        const tx = x(tick.t);
        canvas.append(svg("line", { class: tick.major ? "pm-xgrid pm-major" : "pm-xgrid", x1: tx, x2: tx, y1: top, y2: bottom }));
        canvas.append(svg("text", { class: "pm-tick", x: tx, y: bottom + 16, "text-anchor": "middle" }, tick.label));
      }

      const layer = svg("g", { "clip-path": `url(#${clipId})` });
      const bars = series.filter((s) => s.type === "bar" && !s.hidden && axes[s.axis]);
      for (const s of series) {
        const axis = axes[s.axis];
        if (s.hidden || !axis) continue;
        const points = (data[s.id] || []).filter((p) => end(p) >= d0 && p[0] <= d1);
        if (s.type === "bar") drawBars(layer, s, points, axis, x, bars.indexOf(s), bars.length);
        else drawLine(layer, s, points, axis, x);
      }
      canvas.append(layer);
      if (now !== null && now >= d0 && now <= d1) {
        canvas.append(svg("line", { class: "pm-now", x1: x(now), x2: x(now), y1: top, y2: bottom }));
        canvas.append(svg("text", { class: "pm-now-label", x: x(now) - 3, y: top + 10, "text-anchor": "end" }, "now"));
      }
      canvas.append(svg("line", { class: "pm-cross", x1: 0, x2: 0, y1: top, y2: bottom, visibility: "hidden" }));
      canvas.append(svg("rect", { class: "pm-select", x: 0, y: top, width: 0, height: bottom - top, visibility: "hidden" }));
      if (hoverT !== null) showTip(hoverT);
    }

    function paint(node, s) {
      node.style.setProperty("--series", `var(${s.color})`);
      if (s.dashed) node.classList.add("pm-dashed");
      return node;
    }

    function drawLine(layer, s, points, axis, x) {
      const runs = [];
      let run = null;
      for (const p of points) {
        if (p[1] === null || p[1] === undefined) { run = null; continue; }
        const stepped = s.type === "step" || (s.type === "area" && p[2] !== undefined);
        const joined = stepped ? Math.abs(run?.end - p[0]) < 1000 : !(p[0] - run?.end > (s.gap ?? Infinity));
        const contiguous = run && joined;
        if (!contiguous) { run = { d: [], end: null, first: null, last: null }; runs.push(run); }
        const y = axis.scale(p[1]);
        const a = x(p[0]);
        run.d.push(`${run.d.length ? "L" : "M"}${a.toFixed(1)},${y.toFixed(1)}`);
        if (run.first === null) run.first = a;
        run.last = a;
        if (stepped) { const b = x(end(p)); run.d.push(`L${b.toFixed(1)},${y.toFixed(1)}`); run.last = b; }
        run.end = end(p);
      }
      const baseline = axis.scale(Math.max(axis.lo, Math.min(axis.hi, 0)));
      for (const r of runs) {
        if (s.type === "area") {
          layer.append(paint(svg("path", { class: "pm-area", d: `${r.d.join("")}L${r.last.toFixed(1)},${baseline}L${r.first.toFixed(1)},${baseline}Z` }), s));
        }
        layer.append(paint(svg("path", { class: "pm-line", d: r.d.join(""), "data-series": s.id }), s));
      }
    }

    function drawBars(layer, s, points, axis, x, index, count) {
      const zero = axis.scale(Math.max(axis.lo, Math.min(axis.hi, 0)));
      const group = paint(svg("g", { class: "pm-bars", "data-series": s.id }), s);
      for (const p of points) {
        if (p[1] === null || p[1] === undefined) continue;
        const a = x(p[0]), b = x(end(p) > p[0] ? end(p) : p[0] + HOUR);
        const slot = Math.max(1, b - a), pad = slot > 6 ? slot * 0.12 : 0;
        const w = Math.max(0.8, (slot - 2 * pad) / count);
        const y = axis.scale(p[1]);
        group.append(svg("rect", { x: a + pad + index * w, y: Math.min(y, zero), width: w, height: Math.max(0.5, Math.abs(zero - y)) }));
      }
      layer.append(group);
    }

    // -- tooltip ------------------------------------------------------------------

    function valueAt(s, t) {
      const points = data[s.id] || [];
      let best = null, distance = Infinity;
      for (const p of points) {
        if (p[2] !== undefined && p[0] <= t && t < p[2]) return p;
        const d = Math.abs(p[0] - t);
        if (d < distance) { distance = d; best = p; }
      }
      const tolerance = (layout.d1 - layout.d0) * 0.02;
      return best && best[2] === undefined && distance <= tolerance ? best : null;
    }

    function showTip(t) {
      if (!layout || t < layout.d0 || t > layout.d1) return hideTip();
      hoverT = t;
      const cx = layout.x(t);
      const cross = canvas.querySelector(".pm-cross");
      cross.setAttribute("x1", cx);
      cross.setAttribute("x2", cx);
      cross.setAttribute("visibility", "visible");
      const rows = [];
      let when = null;
      for (const s of series) {
        if (s.hidden) continue;
        const p = valueAt(s, t);
        if (!p || p[1] === null || p[1] === undefined) continue;
        if (when === null) when = p;
        const row = el("div", "pm-tip-row");
        const swatch = el("span", "pm-swatch");
        swatch.style.setProperty("--swatch", `var(${s.color})`);
        const shown = s.format ? s.format(p[1]) : `${formatNumber(p[1], 0.01)} ${s.unit || ""}`;
        row.append(swatch, document.createTextNode(`${s.label}: ${shown}`));
        rows.push(row);
      }
      const at = when || [t];
      const spansDays = at[2] !== undefined && at[2] - at[0] >= DAY - HOUR;
      const heading = el("div", "pm-tip-time", spansDays
        ? (at[2] - at[0] > 2 * DAY ? `${z.date.format(at[0])} – ${z.date.format(at[2] - 1)}` : z.longDate.format(at[0]))
        : z.full.format(at[0]));
      tip.replaceChildren(heading, ...rows);
      if (!rows.length) tip.append(el("div", "pm-tip-row muted", "no data"));
      tip.hidden = false;
      const box = plot.getBoundingClientRect();
      const scale = box.width / Math.max(1, Number(canvas.getAttribute("width")));
      const left = cx * scale;
      const w = tip.offsetWidth;
      tip.style.left = `${left + 12 + w > box.width ? Math.max(0, left - 12 - w) : left + 12}px`;
      tip.style.top = `${layout.top * scale}px`;
    }

    function hideTip() {
      hoverT = null;
      tip.hidden = true;
      canvas.querySelector(".pm-cross")?.setAttribute("visibility", "hidden");
    }

    // -- zoom -----------------------------------------------------------------------

    function timeAt(clientX) {
      const box = canvas.getBoundingClientRect();
      const px = ((clientX - box.left) / box.width) * Number(canvas.getAttribute("width"));
      return layout.d0 + ((px - layout.x0) / (layout.x1 - layout.x0)) * (layout.d1 - layout.d0);
    }

    function zoom(domain, quiet) {
      if (domain && full) {
        let [a, b] = domain;
        if (b - a < opts.minSpan) { const mid = (a + b) / 2; a = mid - opts.minSpan / 2; b = mid + opts.minSpan / 2; }
        if (b - a >= full[1] - full[0]) domain = null;
        else {
          if (a < full[0]) { b += full[0] - a; a = full[0]; }
          if (b > full[1]) { a -= b - full[1]; b = full[1]; }
          domain = [a, b];
        }
      }
      view = domain || null;
      render();
      if (!quiet && opts.onZoom) opts.onZoom(view);
    }

    const pointers = new Map();
    let gesture = null;

    canvas.addEventListener("pointerdown", (e) => {
      if (!layout || (e.pointerType === "mouse" && e.button !== 0)) return;
      pointers.set(e.pointerId, e.clientX);
      canvas.setPointerCapture(e.pointerId);
      const [d0, d1] = [layout.d0, layout.d1];
      if (pointers.size === 2) {
        const xs = [...pointers.values()];
        gesture = { kind: "pinch", span: d1 - d0, distance: Math.abs(xs[0] - xs[1]) || 1,
          centre: timeAt((xs[0] + xs[1]) / 2), d0, d1 };
      } else {
        gesture = { kind: "press", x: e.clientX, t: timeAt(e.clientX), moved: false };
      }
    });

    canvas.addEventListener("pointermove", (e) => {
      if (!layout) return;
      if (pointers.has(e.pointerId)) pointers.set(e.pointerId, e.clientX);
      if (gesture?.kind === "pinch" && pointers.size === 2) {
        const xs = [...pointers.values()];
        const ratio = (Math.abs(xs[0] - xs[1]) || 1) / gesture.distance;
        const span = gesture.span / ratio, share = (gesture.centre - gesture.d0) / (gesture.d1 - gesture.d0);
        zoom([gesture.centre - span * share, gesture.centre + span * (1 - share)]);
        return;
      }
      if (gesture?.kind === "press" && Math.abs(e.clientX - gesture.x) > 4) gesture.moved = true;
      if (gesture?.kind === "press" && gesture.moved) {
        const a = layout.x(Math.max(layout.d0, Math.min(gesture.t, timeAt(e.clientX))));
        const b = layout.x(Math.min(layout.d1, Math.max(gesture.t, timeAt(e.clientX))));
        const rect = canvas.querySelector(".pm-select");
        rect.setAttribute("x", a);
        rect.setAttribute("width", Math.max(0, b - a));
        rect.setAttribute("visibility", "visible");
        return;
      }
      if (e.pointerType === "mouse") showTip(timeAt(e.clientX));
    });

    function release(e) {
      pointers.delete(e.pointerId);
      if (gesture?.kind === "press") {
        const t = timeAt(e.clientX);
        if (gesture.moved && Math.abs(e.clientX - gesture.x) > 8) zoom([Math.min(gesture.t, t), Math.max(gesture.t, t)]);
        else if (!gesture.moved) showTip(t);
        canvas.querySelector(".pm-select")?.setAttribute("visibility", "hidden");
      }
      if (!pointers.size) gesture = null;
    }
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", (e) => { pointers.delete(e.pointerId); gesture = null; });
    canvas.addEventListener("pointerleave", (e) => { if (e.pointerType === "mouse" && !gesture) hideTip(); });
    canvas.addEventListener("dblclick", () => zoom(null));
    canvas.addEventListener("wheel", (e) => {
      if (!layout) return;
      e.preventDefault();
      const [d0, d1] = [layout.d0, layout.d1];
      if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) { // a sideways scroll pans
        const shift = (e.deltaX / (layout.x1 - layout.x0)) * (d1 - d0);
        return zoom([d0 + shift, d1 + shift]);
      }
      const t = timeAt(e.clientX), factor = Math.exp(Math.max(-1, Math.min(1, e.deltaY * 0.002)));
      zoom([t - (t - d0) * factor, t + (d1 - t) * factor]);
    }, { passive: false });
    reset.addEventListener("click", () => zoom(null));

    const resize = new ResizeObserver(() => render());
    resize.observe(plot);

    return {
      /** New data (by series id), the "now" time and the plan-ahead range, all in ms. */
      update(next) {
        if (next.data) data = next.data;
        if ("now" in next) now = next.now;
        if ("ahead" in next) ahead = next.ahead;
        if ("domain" in next) opts.domain = next.domain;
        render();
      },
      /** Zoom to [from, to] (ms), or back out with null; ``quiet`` skips onZoom. */
      zoom,
      get view() { return view; },
      destroy() { resize.disconnect(); host.replaceChildren(); },
    };
  }

  window.PMChart = { create, zone, timeTicks };
})();
