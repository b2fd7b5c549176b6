// The flows page: draws each flow as an SVG graph from /api/flows (the server
// already laid it out), then keeps it live from /api/events. No framework;
// untrusted text only ever goes in through textContent.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const BOX_W = 190, BOX_H = 58, COL = 240, ROW = 80, PAD = 14;
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
  }

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
    return h("section", { class: "flow", "data-flow": flow.id },
      h("header", {},
        h("div", {}, h("h2", {}, flow.id), h("p", { class: "muted" }, flow.description || "")),
        h("div", { class: "actions" }, h("span", { class: "meta" }, meta), runButton, result)),
      h("div", { class: "graph" }, drawGraph(flow, entry)),
      runs);
  }

  function drawGraph(flow, entry) {
    const { layers, rows } = flow.layout;
    const width = PAD * 2 + Math.max(0, layers - 1) * COL + BOX_W;
    const height = PAD * 2 + Math.max(0, rows - 1) * ROW + BOX_H;
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": `flow ${flow.id}` });
    const at = new Map(flow.nodes.map((n) => [n.id, [PAD + n.layer * COL, PAD + n.y * ROW]]));
    for (const wire of flow.wires) {
      const [x1, y1] = at.get(wire.from), [x2, y2] = at.get(wire.to);
      const a = [x1 + BOX_W, y1 + BOX_H / 2], b = [x2, y2 + BOX_H / 2], bend = (b[0] - a[0]) / 2;
      const path = s("path", { class: `wire${wire.port === "error" ? " error" : ""}`,
        d: `M${a} C${a[0] + bend},${a[1]} ${b[0] - bend},${b[1]} ${b}` });
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
        s("text", { class: "id", x: 10, y: 18 }, clip(node.id, 17)),
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

  function paintNode({ data, g }) {
    const state = data.status?.state || "idle";
    const text = data.status?.text || state;
    g.dataset.state = state;
    g.querySelector(".count").textContent = String(data.count);
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
    document.getElementById("panel").hidden = false;
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
      h("p", { class: "muted" }, "Got"), h("pre", {}, pretty(m.got)),
      h("p", { class: "muted" }, m.error ? "Error" : "Gave"),
      m.error ? h("pre", { class: "error" }, m.error) : h("pre", {}, pretty(m.gave)))));
  }

  async function showRun(flowId, runId) {
    const { ok, body } = await api(`/api/flows/${encodeURIComponent(flowId)}/runs/${encodeURIComponent(runId)}`);
    if (!ok) return openPanel(null, h("p", {}, `Run ${runId} is no longer kept.`));
    const rows = body.steps.map((step, index) => h("tr", { class: step.status },
      h("td", {}, String(index)),
      h("td", {}, step.node, step.source >= 0 ? h("small", {}, ` from #${step.source}`) : null),
      h("td", {}, h("pre", {}, pretty(step.got))),
      h("td", {}, step.error ? h("span", { class: "error" }, step.error) : h("pre", {}, pretty(step.output))),
      h("td", { class: "num" }, duration(step.duration_us))));
    openPanel({ kind: "run", flow: flowId, id: runId },
      h("h3", {}, `Run ${runId}`),
      h("p", { class: `outcome ${body.outcome}` }, `${body.outcome} · ${body.trigger} · ${when(body.started)}`),
      body.error ? h("p", { class: "error" }, body.error) : null,
      h("div", { class: "timeline" }, h("table", {},
        h("thead", {}, h("tr", {}, ...["#", "Node", "Got", "Gave", "Took"].map((t) => h("th", {}, t)))),
        h("tbody", {}, ...rows))));
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
    pill.textContent = on ? "updating" : "offline";
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
