// The flows page: draws each flow as an SVG graph from /api/flows (the server
// already laid it out), then keeps it live from /api/events. No framework;
// untrusted text only ever goes in through textContent.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const BOX_W = 190, BOX_H = 58, COL = 240, ROW = 80, PAD = 14;
  // A flow wider than its card is folded into bands of layers, one under the other; a
  // wire to a later band runs down the gap after its node, along the gap between the
  // bands and down the gap before its target (or the left GUTTER), each in a lane of its
  // own (LANE apart) so that wires side by side stay apart.
  const BAND_GAP = 36, GUTTER = 30, LANE = 5;
  const STATUS_CHARS = 26;

  /** flow id -> {data, nodes: Map(node id -> {data, g})} */
  const flows = new Map();
  let panelFor = null; // {kind: "node"|"run", flow, id}
  let connectedOnce = false;

  // -- small helpers ----------------------------------------------------------

  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null) node.setAttribute(key, value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function s(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function api(path, options = {}) {
    const headers = { ...(options.headers || {}) };
    if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = PM.csrf();
    const response = await fetch(path, { ...options, headers });
    const body = await response.json().catch(() => null);
    return { ok: response.ok, status: response.status, body };
  }

  const clip = (text, n) => (text.length > n ? text.slice(0, n - 1) + "…" : text);
  const pretty = (value) => JSON.stringify(value, null, 2) ?? "—";
  const when = (t) => PM.fmt.time(t);

  function duration(us) {
    if (us < 1000) return `${Math.round(us)} µs`;
    if (us < 1e6) return `${(us / 1000).toFixed(1)} ms`;
    return `${(us / 1e6).toFixed(2)} s`;
  }

  // -- drawing ----------------------------------------------------------------

  function render(list) {
    const root = document.getElementById("flows");
    flows.clear();
    root.replaceChildren();
    if (!list.length) root.append(h("p", { class: "muted" }, "No flows are loaded."));
    for (const flow of list) root.append(renderFlow(flow));
    fitGraphs();
  }

  /** Layers per band for a graph box ``width`` wide: all of them when they fit; else as
   *  many as fit, evened out over the bands; all again (scrolling) if fewer than two fit. */
  function bandSize(layers, width) {
    if (!width || PAD * 2 + Math.max(0, layers - 1) * COL + BOX_W <= width) return layers;
    const fit = Math.floor((width - PAD * 2 - GUTTER) / COL); // a column's gap for ports
    return fit < 2 ? layers : Math.ceil(layers / Math.ceil(layers / fit));
  }

  /** Each graph drawn for its card's width (again when that changes), its names fitted. */
  function fitGraphs() {
    for (const entry of flows.values()) {
      const per = bandSize(entry.data.layout.layers, entry.box?.clientWidth);
      if (entry.box && per !== entry.perBand) {
        const focused = entry.box.contains(document.activeElement) ? document.activeElement.dataset.node : null;
        // (a node in focus keeps it: the panel opening narrows the flows and redraws them)
        entry.box.replaceChildren(drawGraph(entry.data, entry, per));
        if (focused) entry.nodes.get(focused)?.g.focus();
      }
      for (const node of entry.nodes.values()) fitName(node);
    }
  }
  const refit = (() => {
    let queued = false;
    return () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; fitGraphs(); });
    };
  })();
  new ResizeObserver(refit).observe(document.getElementById("flows"));

  function renderFlow(flow) {
    const entry = { data: flow, nodes: new Map() };
    flows.set(flow.id, entry);
    const result = h("span", { class: "result", role: "status" });
    const runButton = h("button", { type: "button", class: "run", onclick: () => runNow(flow.id, result) },
      "Run now");
    const runsList = h("ol", { class: "runs-list" });
    const runs = h("details", { class: "runs", ontoggle: (e) => e.target.open && loadRuns(flow.id) },
      h("summary", {}, "Runs"), runsList);
    const meta = [`mode ${flow.mode}`, ...flow.triggers.map((t) => `on ${t}`)].join(" · ");
    entry.box = h("div", { class: "graph" }, drawGraph(flow, entry)); // redrawn by fitGraphs
    return h("section", { class: "flow", "data-flow": flow.id },
      h("header", {},
        h("div", {}, h("h2", {}, flow.id), h("p", { class: "muted" }, flow.description || "")),
        h("div", { class: "actions" }, h("span", { class: "meta" }, meta), runButton, result)),
      entry.box,
      runs);
  }

  function drawGraph(flow, entry, perBand = flow.layout.layers) {
    const { layers, rows } = flow.layout;
    const per = Math.max(1, Math.min(layers, perBand));
    const bands = Math.max(1, Math.ceil(layers / per));
    entry.perBand = perBand;
    const x0 = bands > 1 ? PAD + GUTTER : PAD;
    const byId = new Map(flow.nodes.map((n) => [n.id, n]));
    const band = (node) => Math.floor(node.layer / per);
    // In bands, each band is as tall as its own tallest layer, its layers centred on it.
    const inLayer = new Map();
    for (const n of flow.nodes) inLayer.set(n.layer, (inLayer.get(n.layer) || 0) + 1);
    const bandRows = Array.from({ length: bands }, () => 1);
    for (const [layer, count] of inLayer) {
      bandRows[Math.floor(layer / per)] = Math.max(bandRows[Math.floor(layer / per)], count);
    }
    if (bands === 1) bandRows[0] = Math.max(1, rows);
    // The wires to a later band, by the band they leave: each gets a lane in its gap.
    const down = flow.wires.filter((w) => band(byId.get(w.to)) > band(byId.get(w.from)));
    const leaving = bandRows.map((_, b) => down.filter((w) => band(byId.get(w.from)) === b));
    const bandTop = [];
    let bottom = PAD;
    bandRows.forEach((count, b) => {
      bandTop.push(bottom);
      bottom += (count - 1) * ROW + BOX_H + Math.max(BAND_GAP, 24 + (leaving[b].length - 1) * LANE);
    });
    const width = bands > 1 ? x0 + per * COL + PAD : x0 + (per - 1) * COL + BOX_W + PAD;
    const height = bandTop[bands - 1] + (bandRows[bands - 1] - 1) * ROW + BOX_H + PAD;
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": `flow ${flow.id}`, "data-bands": bands });
    const place = (n) => (bands === 1 ? [PAD + n.layer * COL, PAD + n.y * ROW] : [
      x0 + (n.layer % per) * COL,
      bandTop[band(n)] + ((n.row ?? 0) + (bandRows[band(n)] - inLayer.get(n.layer)) / 2) * ROW]);
    const at = new Map(flow.nodes.map((n) => [n.id, place(n)]));
    // wire -> [out, along, into]: its lane after its node, in the gap, before its target
    // (the top target's nearest it, so that wires into one column do not cross).
    const lanes = new Map();
    const column = (w) => `${band(byId.get(w.to))}:${at.get(w.to)[0]}`;
    for (const wires of leaving) {
      const key = (w) => at.get(w.to)[0] * 1e4 + at.get(w.to)[1];
      [...wires].sort((p, q) => key(p) - key(q)).forEach((w, along) => {
        const out = down.filter((o) => o.from === w.from).indexOf(w);
        const into = down.filter((o) => column(o) === column(w))
          .sort((p, q) => at.get(p.to)[1] - at.get(q.to)[1]).indexOf(w);
        lanes.set(w, [out, along, into]);
      });
    }
    for (const wire of flow.wires) {
      const [x1, y1] = at.get(wire.from), [x2, y2] = at.get(wire.to);
      const a = [x1 + BOX_W, y1 + BOX_H / 2], b = [x2, y2 + BOX_H / 2], bend = (b[0] - a[0]) / 2;
      const from = band(byId.get(wire.from)), to = band(byId.get(wire.to));
      let d = `M${a} C${a[0] + bend},${a[1]} ${b[0] - bend},${b[1]} ${b}`;
      if (to > from) {
        const [out, along, into] = lanes.get(wire);
        const gap = bandTop[from] + (bandRows[from] - 1) * ROW + BOX_H + 12 + along * LANE;
        d = `M${a} H${a[0] + 10 + out * LANE} V${gap} H${b[0] - 10 - into * LANE} V${b[1]} H${b[0]}`;
      }
      const path = s("path", { class: `wire${wire.port === "error" ? " error" : ""}`, d });
      path.append(s("title", {}, `${wire.from}.${wire.port} → ${wire.to}`));
      svg.append(path);
      const ports = [...((flow.ports || {})[wire.from] || []), "error"];
      if (ports.length > 2 || wire.port === "error" || wire.port !== ports[0]) {
        // one line per port, stacked beside the node's right edge, so labels never overlap
        const index = Math.max(0, ports.indexOf(wire.port));
        svg.append(s("text", { class: "port", x: a[0] + 4, y: y1 + 11 + index * 12 },
          clip(wire.port, 12)));
      }
    }
    for (const node of flow.nodes) {
      const [x, y] = at.get(node.id);
      const g = s("g", { class: "node", "data-node": node.id, transform: `translate(${x},${y})`,
        tabindex: "0", role: "button", "aria-label": `node ${node.id}` });
      g.append(
        s("title", {}),
        s("rect", { class: "box", width: BOX_W, height: BOX_H, rx: 7 }),
        s("text", { class: "id", x: 10, y: 18 }, clip(node.id, 17)), // fitted by fitName
        s("text", { class: "count", x: BOX_W - 10, y: 18, "text-anchor": "end" }),
        s("text", { class: "type", x: 10, y: 34 }, clip(node.type, 24)),
        s("circle", { class: "badge", cx: 14, cy: 47, r: 5 }),
        s("text", { class: "status", x: 24, y: 51 }));
      const show = () => showNode(flow.id, node.id);
      g.addEventListener("click", show);
      g.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && show());
      entry.nodes.set(node.id, { data: node, g });
      paintNode(entry.nodes.get(node.id));
      svg.append(g);
    }
    return svg;
  }

  /** The node's name cut (…) to end before its count starts: measured, as a name's width
   *  is its letters' and the count's its digits' (the full name is in its tooltip). */
  function fitName(node) {
    const { data, g } = node;
    const name = g.querySelector(".id"), count = g.querySelector(".count");
    if (!g.isConnected) return;
    const room = BOX_W - 10 - 8 - count.getComputedTextLength() - 10;
    const fits = (text) => { name.textContent = text; return name.getComputedTextLength() <= room; };
    if (fits(data.id) || name.getComputedTextLength() === 0) {
      if (!name.getComputedTextLength()) name.textContent = clip(data.id, 17); // not laid out
      node.fitted = String(data.count).length;
      return;
    }
    let lo = 1, hi = data.id.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(`${data.id.slice(0, mid)}…`)) lo = mid; else hi = mid - 1;
    }
    name.textContent = `${data.id.slice(0, lo)}…`;
    node.fitted = String(data.count).length;
  }

  function paintNode(node) {
    const { data, g } = node;
    const state = data.status?.state || "idle";
    const text = data.status?.text || state;
    g.dataset.state = state;
    g.querySelector(".count").textContent = String(data.count);
    if (node.fitted !== undefined && node.fitted !== String(data.count).length) fitName(node);
    g.querySelector(".status").textContent = clip(text, STATUS_CHARS);
    g.querySelector("title").textContent =
      `${data.id} (${data.type})\n${text}\n${data.count} messages, ${data.errors} errors`;
  }

  function flash(g) {
    g.classList.remove("flash");
    void g.getBoundingClientRect(); // restart the animation
    g.classList.add("flash");
  }

  function updateNode(flowId, nodeId, patch) {
    const node = flows.get(flowId)?.nodes.get(nodeId);
    if (!node) return;
    const grew = patch.count !== undefined && patch.count > node.data.count;
    Object.assign(node.data, patch);
    paintNode(node);
    if (grew) flash(node.g);
    if (panelFor?.kind === "node" && panelFor.flow === flowId && panelFor.id === nodeId) {
      showNode(flowId, nodeId);
    }
  }

  // -- data between flows ----------------------------------------------------

  const MAP_W = 170, MAP_H = 40, MAP_COL = 250, MAP_ROW = 64;

  function drawContext(data) {
    const box = document.getElementById("context-graph");
    if (!data.edges.length) {
      box.replaceChildren(h("p", { class: "muted" }, "No flow reads what another writes."));
      document.getElementById("context-table").replaceChildren();
      return;
    }
    const { layers, rows } = data.layout;
    const width = PAD * 2 + Math.max(0, layers - 1) * MAP_COL + MAP_W;
    const height = PAD * 2 + Math.max(0, rows - 1) * MAP_ROW + MAP_H;
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": "context keys between flows" });
    const at = new Map(data.nodes.map((n) => [n.id, [PAD + n.layer * MAP_COL, PAD + n.y * MAP_ROW]]));
    for (const edge of data.edges) {
      const [x1, y1] = at.get(edge.from), [x2, y2] = at.get(edge.to);
      const forward = x2 > x1;
      const a = forward ? [x1 + MAP_W, y1 + MAP_H / 2] : [x1 + MAP_W / 2, y1 + MAP_H];
      const b = forward ? [x2, y2 + MAP_H / 2] : [x2 + MAP_W / 2, y2];
      const bend = forward ? (b[0] - a[0]) / 2 : 0;
      const g = s("g", { class: "context-edge", "data-from": edge.from, "data-to": edge.to,
        "data-keys": edge.keys.join(" ") });
      g.append(s("path", { class: "wire context",
        d: `M${a} C${a[0] + bend},${a[1]} ${b[0] - bend},${b[1]} ${b}` }));
      g.append(s("title", {}, `${edge.from} → ${edge.to}: ${edge.keys.map((k) => `global.${k}`).join(", ")}`));
      svg.append(g);
    }
    for (const node of data.nodes) {
      const [x, y] = at.get(node.id);
      const g = s("g", { class: `node flow-box${node.outside ? " outside" : ""}`, "data-flow": node.id,
        transform: `translate(${x},${y})`, tabindex: "0", role: "button",
        "aria-label": `show what flow ${node.id} shares` });
      g.append(s("title", {}, [`${node.id}`, `writes ${node.writes.join(", ") || "nothing"}`,
        `reads ${node.reads.join(", ") || "nothing"}`].join("\n")),
        s("rect", { class: "box", width: MAP_W, height: MAP_H, rx: 7 }),
        s("text", { class: "id", x: 10, y: 25 }, clip(node.id, 20)));
      const pick = () => focusFlow(node.id);
      g.addEventListener("click", pick);
      g.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && pick());
      svg.append(g);
    }
    box.replaceChildren(svg);
    document.getElementById("context-table").replaceChildren(keyTable(data));
  }

  /** One row per key: who writes it, who reads it (the map's arrows, in words). */
  function keyTable(data) {
    const writers = new Map(), readers = new Map();
    for (const node of data.nodes) {
      for (const key of node.writes) writers.set(key, [...(writers.get(key) || []), node.id]);
      for (const key of node.reads) readers.set(key, [...(readers.get(key) || []), node.id]);
    }
    const shared = [...new Set(data.edges.flatMap((e) => e.keys))].sort();
    const flowLink = (id) => id === "outside the flows" ? h("span", { class: "muted" }, id)
      : h("a", { href: `#flow-${id}`, onclick: (e) => { e.preventDefault(); goTo(id); } }, id);
    const list = (ids) => h("span", {}, ...ids.flatMap((id, i) => (i ? [", ", flowLink(id)] : [flowLink(id)])));
    return h("div", { class: "table-scroll" }, h("table", { id: "context-keys" },
      h("thead", {}, h("tr", {}, h("th", {}, "key"), h("th", {}, "written by"), h("th", {}, "read by"))),
      h("tbody", {}, ...shared.map((key) => h("tr", { "data-key": key },
        h("td", {}, h("code", {}, `global.${key}`)),
        h("td", {}, list(writers.get(key) || [])),
        h("td", {}, list(readers.get(key) || [])))))));
  }

  function focusFlow(flowId) {
    const svg = document.querySelector("#context-graph svg");
    const same = svg?.dataset.focus === flowId;
    if (!svg) return;
    if (same) delete svg.dataset.focus; else svg.dataset.focus = flowId;
    const keys = new Set();
    for (const edge of svg.querySelectorAll(".context-edge")) {
      const on = !same && (edge.dataset.from === flowId || edge.dataset.to === flowId);
      edge.classList.toggle("on", on);
      if (on) edge.dataset.keys.split(" ").forEach((k) => keys.add(k));
    }
    for (const box of svg.querySelectorAll(".flow-box")) {
      box.classList.toggle("on", !same && box.dataset.flow === flowId);
    }
    for (const row of document.querySelectorAll("#context-keys tbody tr")) {
      row.classList.toggle("on", keys.has(row.dataset.key));
    }
  }

  function goTo(flowId) {
    document.querySelector(`section.flow[data-flow="${CSS.escape(flowId)}"]`)
      ?.scrollIntoView({ behavior: "smooth" });
  }

  async function loadContext() {
    const { ok, body } = await api("/api/context");
    if (ok) drawContext(body);
  }

  // -- debug messages ---------------------------------------------------------

  const DEBUG_KEEP = 100;
  const clockText = (t) => PM.fmt.time(t);

  function addDebug(event) {
    const list = document.getElementById("debug-list");
    document.getElementById("debug-empty").hidden = true;
    const value = typeof event.value === "string" ? event.value : JSON.stringify(event.value, null, 1);
    list.prepend(h("li", { class: "debug-message", "data-flow": event.flow, "data-node": event.node },
      h("div", { class: "debug-head" },
        h("time", {}, clockText(event.at)),
        h("strong", {}, ` ${event.flow}.${event.node}`),
        event.topic ? h("span", { class: "muted" }, ` ${event.topic}`) : null),
      h("pre", {}, value ?? "null")));
    while (list.children.length > DEBUG_KEEP) list.lastElementChild.remove();
    document.getElementById("debug-count").textContent = `(${list.children.length})`;
  }

  async function loadDebug() {
    const { ok, body } = await api("/api/debug");
    if (!ok) return;
    for (const event of body.messages) addDebug(event);
  }

  // -- side panel -------------------------------------------------------------

  function openPanel(what, ...content) {
    panelFor = what;
    document.getElementById("panel-body").replaceChildren(...content.filter((c) => c));
    const panel = document.getElementById("panel");
    panel.dataset.kind = what?.kind || ""; // a run's trace gets a wider panel (app.css)
    panel.hidden = false;
  }

  function closePanel() {
    panelFor = null;
    document.getElementById("panel").hidden = true;
  }

  function field(label, value) {
    return [h("dt", {}, label), h("dd", {}, value ?? "—")];
  }

  function showNode(flowId, nodeId) {
    const node = flows.get(flowId)?.nodes.get(nodeId)?.data;
    if (!node) return;
    const wires = Object.entries(node.wires).map(([port, to]) => `${port} → ${to.join(", ")}`);
    const gives = Object.entries(node.gives).map(([port, what]) => `${port}: ${what}`);
    openPanel({ kind: "node", flow: flowId, id: nodeId },
      h("h3", {}, node.id),
      h("p", { class: "muted" }, `${node.type} in ${flowId}`),
      h("p", {}, node.description || ""),
      h("dl", {},
        ...field("Status", `${node.status?.state || "idle"} ${node.status?.text || ""}`.trim()),
        ...field("Since", when(node.status?.at)),
        ...field("Messages", String(node.count)),
        ...field("Errors", String(node.errors)),
        ...field("Last error", node.last_error),
        ...field("Takes", node.takes),
        ...field("Gives", gives.join("\n") || "nothing"),
        ...field("Reads", (node.reads || []).join(", ") || "nothing"),
        ...field("Writes", (node.writes || []).join(", ") || "nothing"),
        ...field("Wired", wires.join("\n") || "nothing")),
      h("h4", {}, "Config"),
      h("pre", { class: "config" }, pretty(node.config)),
      h("h4", {}, "Last messages"),
      h("div", { class: "messages", id: "node-messages" }, h("p", { class: "muted" }, "Loading…")));
    loadMessages(flowId, nodeId);
  }

  async function loadMessages(flowId, nodeId) {
    const path = `/api/flows/${encodeURIComponent(flowId)}/nodes/${encodeURIComponent(nodeId)}/messages`;
    const { ok, body } = await api(path);
    const box = document.getElementById("node-messages");
    if (!box || panelFor?.kind !== "node" || panelFor.id !== nodeId) return;
    if (!ok || !body.length) {
      box.replaceChildren(h("p", { class: "muted" }, "No messages in the runs still kept."));
      return;
    }
    box.replaceChildren(...body.map((m) => h("details", { class: m.error ? "message error" : "message" },
      h("summary", {}, `${when(m.started)} · ${m.error ? "error" : "ok"} · ${duration(m.duration_us || 0)}`),
      h("p", { class: "muted" }, "Got"), jsonTree(m.got),
      h("p", { class: "muted" }, m.error ? "Error" : "Gave"),
      m.error ? h("pre", { class: "error" }, m.error) : byPort(m.gave, jsonTree))));
  }

  async function showRun(flowId, runId) {
    const { ok, body } = await api(`/api/flows/${encodeURIComponent(flowId)}/runs/${encodeURIComponent(runId)}`);
    if (!ok) return openPanel(null, h("p", {}, `Run ${runId} is no longer kept.`));
    const types = new Map((body.flow?.nodes || []).map((n) => [n.id, n.type]));
    openPanel({ kind: "run", flow: flowId, id: runId },
      h("header", { class: "trace-head" },
        h("h3", {}, `Run ${runId}`),
        h("p", { class: `outcome ${body.outcome}` }, `${body.outcome} · ${body.trigger} · ${when(body.started)}`),
        body.error ? h("p", { class: "error" }, body.error) : null),
      decisionSummary(body.steps, types),
      h("div", { class: "timeline" }, h("table", {},
        h("thead", {}, h("tr", {}, ...["#", "Node", "Got", "Gave", "Took"].map((t) => h("th", {}, t)))),
        h("tbody", {}, ...stepRows(body.steps, types)))));
  }

  // -- a trace's decision, first ---------------------------------------------
  // The point of a control run is what it decided and what it told the inverter;
  // that is read off the steps of these node types and put above the step table.

  const DECIDES = "control.hierarchy", COMMANDS = "foxess.command", PLANS = "planning.plan";

  /** The last step of a node of ``type`` (a run may pass a node more than once). */
  function lastStep(steps, types, type) {
    return steps.filter((step) => types.get(step.node) === type).at(-1) || null;
  }

  /** A step's payload on its one port (or ``port``); null when it gave nothing. */
  function gaveOn(step, port = "out") {
    const output = step?.output;
    if (!output || typeof output !== "object") return null;
    return output[port] ?? Object.values(output)[0] ?? null;
  }

  function decisionSummary(steps, types) {
    const decide = lastStep(steps, types, DECIDES);
    const command = lastStep(steps, types, COMMANDS);
    const plan = lastStep(steps, types, PLANS);
    if (!decide && !command && !plan) return null;
    const rows = [];
    if (decide) rows.push(...decisionRows(decide));
    if (decide || command) rows.push(...commandRows(command, gaveOn(decide), steps));
    if (plan) rows.push(...planRows(plan));
    return h("section", { class: "trace-decision", "aria-label": "what this run decided" },
      h("dl", {}, ...rows));
  }

  function decisionRows(step) {
    if (step.error) return field("Decision", h("span", { class: "error" }, `failed: ${step.error}`));
    const d = gaveOn(step) || {};
    const given = (v) => v !== null && v !== undefined;
    const floor = given(d.floor) ? ` (floor ${PM.fmt.pct(d.floor)})` : "";
    return [
      ...field("Level", h("strong", { "data-level": d.level ?? "" }, d.level ?? "—")),
      ...field("Mode", h("strong", { "data-mode": d.mode ?? "" }, d.mode ?? "—")),
      ...field("Power", PM.fmt.watts(d.power_w)),
      ...field("Reason", d.reason || "—"),
      ...(given(d.soc) ? field("SOC", `${PM.fmt.pct(d.soc)}${floor}`) : []),
      ...(given(d.battery_w) ? field("Battery", PM.fmt.watts(d.battery_w)) : []),
      ...(given(d.export_limit_w) ? field("Export limit", PM.fmt.watts(d.export_limit_w)) : []),
    ];
  }

  /** What went to the inverter: sent and verified, refused, or (shadow mode) what would have. */
  function commandRows(step, decision, steps) {
    if (step?.error) return field("Command", h("span", { class: "error" }, `failed: ${step.error}`));
    if (step) {
      const c = gaveOn(step) || {};
      const setpoint = c.setpoint_w === null || c.setpoint_w === undefined ? ""
        : `, AC setpoint ${PM.fmt.watts(c.setpoint_w)}`;
      const problems = [...(c.mismatches || []), ...(c.failed || [])];
      const check = c.verified ? h("span", { class: "ok" }, "sent and verified")
        : h("span", { class: "warn" }, `sent, not verified: ${problems.join("; ") || "no readback"}`);
      return field("Command", h("span", { "data-command": "sent" }, `${c.mode ?? "—"}${setpoint} · `, check,
        c.note ? ` · ${c.note}` : ""));
    }
    if (decision && shadowRun(steps)) {
      const setpoint = decision.setpoint_w === null || decision.setpoint_w === undefined ? ""
        : `, AC setpoint ${PM.fmt.watts(decision.setpoint_w)}`;
      return field("Would command", h("span", { "data-command": "shadow" },
        `${decision.mode} ${PM.fmt.watts(decision.power_w)}${setpoint} (shadow mode: nothing sent)`));
    }
    return field("Command", h("span", { "data-command": "none" }, "none sent in this run"));
  }

  // Shadow mode routes the decision around the inverter on a port named "shadow"
  // (flows/control.yaml); the page's banner says the site runs in shadow mode now.
  function shadowRun(steps) {
    return steps.some((step) => step.output && typeof step.output === "object" && "shadow" in step.output)
      || document.getElementById("shadow-banner") !== null;
  }

  function planRows(step) {
    if (step.error) return field("Plan", h("span", { class: "error" }, `failed: ${step.error}`));
    const plan = gaveOn(step) || {};
    const slots = Array.isArray(plan.slots) ? plan.slots : [];
    const first = slots.find((slot) => slot && typeof slot === "object");
    const rows = field("Plan", `${plan.status ?? "—"}${plan.solver ? ` (${plan.solver})` : ""}`
      + ` · ${kept(slots).total} slots${first?.start ? ` from ${when(first.start)}` : ""}`);
    if (first) {
      rows.push(...field("First slot", h("span", { "data-mode": first.mode ?? "" },
        `${first.mode ?? "—"} ${PM.fmt.watts(first.power_w)}${first.reason ? `: ${first.reason}` : ""}`)));
    }
    return rows;
  }

  // -- steps: got and gave as trees, repeats folded ----------------------------

  function stepRows(steps, types) {
    const seen = new Map(); // a payload's canonical JSON -> where it was first shown
    return steps.map((step, index) => {
      const got = payloadCell(step.got, seen, `step ${index} got`, index);
      const gave = step.error ? h("span", { class: "error" }, step.error) : gaveCell(step, seen, index);
      return h("tr", { class: step.status, "data-step": index },
        h("td", { class: "num" }, String(index)),
        h("td", { class: "node-cell" }, h("strong", {}, step.node),
          types.has(step.node) ? h("small", { class: "muted" }, ` ${types.get(step.node)}`) : null,
          step.source >= 0 ? h("small", {}, ` from #${step.source}`) : null),
        h("td", { class: "payload", "data-label": "got" }, got),
        h("td", { class: "payload", "data-label": "gave" }, gave),
        h("td", { class: "num took" }, duration(step.duration_us)));
    });
  }

  function gaveCell(step, seen, index) {
    return byPort(step.output, (value, port) =>
      payloadCell(value, seen, `step ${index} gave${port ? ` on ${port}` : ""}`, index));
  }

  /** What a node gave ({port: payload}) port by port, each drawn by ``show(payload, port)``;
   * the port is named unless it is "out" alone, which goes without saying. */
  function byPort(output, show) {
    const ports = output && typeof output === "object" ? Object.entries(output) : [];
    if (!ports.length) return h("span", { class: "muted" }, "nothing");
    const named = ports.length > 1 || ports[0][0] !== "out";
    return h("div", {}, ...ports.map(([port, value]) => h("div", { class: "port-payload" },
      named ? h("small", { class: "port-name" }, `on ${port}`) : null,
      show(value, named ? port : null))));
  }

  /** The payload as a tree, or "same as step N gave" when an earlier step showed it. */
  function payloadCell(value, seen, label, index) {
    if (!value || typeof value !== "object" || !Object.keys(value).length) return jsonTree(value);
    const key = canonical(value);
    const first = seen.get(key);
    if (!first) {
      seen.set(key, { label, index });
      return jsonTree(value);
    }
    const body = h("div", {});
    const fold = h("details", { class: "j-same", "data-same-as": first.index },
      h("summary", {}, `same as ${first.label}`), body);
    // built when opened: the point of folding is not to build 40 lines again
    fold.addEventListener("toggle", () => body.childElementCount || body.append(jsonTree(value)));
    return fold;
  }

  /** JSON with object keys sorted, so equal payloads compare equal whatever the order. */
  function canonical(value) {
    return JSON.stringify(value, (_key, v) => (v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
  }

  // -- JSON as a tree ----------------------------------------------------------
  // One row per key, so a narrow column wraps between keys, never inside a number
  // or a word; a value too wide scrolls inside the tree, not the page. Objects and
  // arrays fold (open at the first level only) and are built when first opened.

  const TIME_KEY = /^(at|time|timestamp|ts|when|until|since|start|end|started|finished|expires)$|_(at|time|until|since|start|end)$/i;
  const EPOCH_MIN = 1e9, EPOCH_MAX = 4e9; // 2001 to 2096 in seconds: not ms, not watts
  const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;
  const INLINE_ITEMS = 4; // a list this short, of plain values, stays on its key's line
  // What flowengine/summary.py leaves in place of what a trace does not keep.
  const MORE_ITEMS = /^… (\d+) more items$/, MORE_KEYS = /^(\d+) more keys$/, CUT = /^<\w+>$/;

  function jsonTree(value) {
    return h("div", { class: "j-tree" }, jsonNode(value, null, 0));
  }

  function jsonNode(value, key, depth) {
    const label = key === null ? null : h("span", { class: "j-key" }, String(key));
    if (!isBranch(value)) return h("div", { class: "j-row" }, label, leaf(value, key));
    if (isShortList(value)) {
      const items = value.flatMap((item, i) => (i ? [", ", leaf(item, null)] : [leaf(item, null)]));
      return h("div", { class: "j-row" }, label, h("span", { class: "j-list" }, "[", ...items, "]"));
    }
    const { entries, total } = kept(value);
    const count = `${total} ${Array.isArray(value) ? "item" : "key"}${total === 1 ? "" : "s"}`;
    return branch(label, count, depth === 0, () => [
      ...entries.map(([k, v]) => jsonNode(v, k, depth + 1)),
      ...(total > entries.length
        ? [h("div", { class: "j-row muted" }, `… ${total - entries.length} more, not kept in the trace`)] : []),
    ]);
  }

  const isBranch = (v) => v !== null && typeof v === "object" && Object.keys(v).length > 0;
  const isShortList = (v) => Array.isArray(v) && v.length <= INLINE_ITEMS
    && v.every((item) => item === null || typeof item !== "object");

  /** The entries a trace kept, and how many there were before it cut the rest. */
  function kept(value) {
    if (Array.isArray(value)) {
      const more = typeof value.at(-1) === "string" ? MORE_ITEMS.exec(value.at(-1)) : null;
      const items = more ? value.slice(0, -1) : value;
      return { entries: items.map((v, i) => [i, v]), total: items.length + (more ? Number(more[1]) : 0) };
    }
    const entries = Object.entries(value);
    const more = typeof value["…"] === "string" ? MORE_KEYS.exec(value["…"]) : null;
    if (!more) return { entries, total: entries.length };
    const shown = entries.filter(([k]) => k !== "…");
    return { entries: shown, total: shown.length + Number(more[1]) };
  }

  function branch(label, count, open, build) {
    const body = h("div", { class: "j-body" });
    const details = h("details", { class: "j-node" },
      h("summary", {}, label, h("span", { class: "j-count" }, count)), body);
    const fill = () => body.childElementCount || body.append(...build());
    if (open) { details.open = true; fill(); } else details.addEventListener("toggle", fill);
    return details;
  }

  function leaf(value, key) {
    if (isTime(key, value)) {
      const at = new Date(typeof value === "number" ? value * 1000 : value);
      return h("time", { class: "j-time", datetime: at.toISOString(), title: String(value) }, when(value));
    }
    if (value === null || value === undefined) return h("span", { class: "j-null" }, "null");
    if (Array.isArray(value)) return h("span", { class: "j-null" }, "[]");
    if (typeof value === "object") return h("span", { class: "j-null" }, "{}");
    if (typeof value === "string" && CUT.test(value)) {
      return h("span", { class: "j-null", title: "deeper than a trace keeps" }, value);
    }
    const kind = typeof value === "string" ? "j-str" : typeof value === "number" ? "j-num" : "j-bool";
    return h("span", { class: kind }, typeof value === "string" ? JSON.stringify(value) : String(value));
  }

  function isTime(key, value) {
    if (typeof key !== "string" || !TIME_KEY.test(key)) return false;
    if (typeof value === "number") return value >= EPOCH_MIN && value <= EPOCH_MAX;
    return typeof value === "string" && ISO_TIME.test(value) && !Number.isNaN(Date.parse(value));
  }

  // -- runs -------------------------------------------------------------------

  async function loadRuns(flowId) {
    const list = document.querySelector(`section.flow[data-flow="${CSS.escape(flowId)}"] .runs-list`);
    if (!list) return;
    const { ok, body } = await api(`/api/flows/${encodeURIComponent(flowId)}/runs`);
    if (!ok) return;
    list.replaceChildren(...body.map((run) => h("li", {},
      h("button", { type: "button", class: `run-item ${run.outcome}`, "data-run": run.run_id,
        onclick: () => showRun(flowId, run.run_id) },
        h("span", { class: "outcome" }, run.outcome),
        ` ${when(run.started)} · ${run.trigger} · ${run.steps} steps`,
        run.error ? h("span", { class: "error" }, ` ${run.error}`) : null))));
    if (!body.length) list.append(h("li", { class: "muted" }, "No runs yet."));
  }

  async function runNow(flowId, result) {
    const { status, body } = await api(`/api/flows/${encodeURIComponent(flowId)}/trigger`,
      { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    result.textContent = status === 202 ? `started ${body.run_id}` : body?.error || `failed (${status})`;
    result.className = `result ${status === 202 ? "ok" : "warn"}`;
  }

  // -- reloads: an edit of the flow files or site config that was refused ------

  function showReload(status) {
    let banner = document.getElementById("reload-problems");
    if (!status?.problems?.length) return banner?.remove();
    if (!banner) {
      banner = h("div", { id: "reload-problems", class: "problem", role: "alert" });
      document.getElementById("context").before(banner); // first thing on the page
    }
    const what = status.state === "refused" ? "do not validate" : "did not start";
    const headline = status.running
      ? `The flow files or site config on disk ${what}, so Power Master runs ${status.running}:`
      : `The edited flow files or site config ${what}; the running version carries on:`;
    banner.replaceChildren(
      h("p", {}, headline),
      h("ul", {}, ...status.problems.map((text) => h("li", {}, h("code", {}, text)))));
  }

  // -- live events ------------------------------------------------------------

  function setLive(on) {
    document.body.dataset.live = on ? "1" : "0";
    const pill = document.getElementById("live");
    pill.textContent = on ? "connected" : "offline";
    pill.dataset.state = on ? "ok" : "warn";
  }

  function handle(event) {
    switch (event.type) {
      case "ready":
        if (connectedOnce) loadFlows(); // resync after a reconnect
        connectedOnce = true;
        setLive(true);
        break;
      case "status":
        updateNode(event.flow, event.node, { count: event.count, errors: event.errors,
          status: { state: event.state, text: event.text, at: event.at } });
        break;
      case "run_start":
        document.querySelector(`section.flow[data-flow="${CSS.escape(event.flow)}"]`)?.classList.add("running");
        break;
      case "run": {
        const section = document.querySelector(`section.flow[data-flow="${CSS.escape(event.flow)}"]`);
        section?.classList.remove("running");
        for (const [nodeId, count] of Object.entries(event.counts || {})) {
          updateNode(event.flow, nodeId, { count });
        }
        if (section?.querySelector("details.runs")?.open) loadRuns(event.flow);
        break;
      }
      case "reload":
        showReload(event);
        if (event.changed) { loadFlows(); loadContext(); }
        break;
      case "debug":
        addDebug(event);
        break;
    }
  }

  function connect() {
    PM.onEvent(handle); // the page's one stream (common.js); it reconnects by itself
  }

  async function loadFlows() {
    const { ok, body } = await api("/api/flows");
    if (ok) render(body);
  }

  document.getElementById("panel-close").addEventListener("click", closePanel);
  document.addEventListener("keydown", (e) => e.key === "Escape" && closePanel());
  setLive(false);
  loadFlows();
  loadContext();
  loadDebug();
  api("/api/health").then(({ body }) => showReload(body?.checks?.reload));
  connect();
})();
