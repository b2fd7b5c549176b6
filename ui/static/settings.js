// The settings page: a form made from the site config's JSON Schema (/api/settings).
// Each section is a collapsible fieldset; numbers, text, yes/no and choices get
// their own inputs, lists of objects repeatable rows, and anything else a YAML
// text field the server checks. Secrets are write-only password inputs. Save
// sends only what changed, as a JSON merge patch; the server checks it as loading
// site.yaml does and answers with each problem's field, shown beside it.
"use strict";

(() => {
  const form = document.getElementById("settings-form");
  const sections = document.getElementById("settings-sections");
  const status = document.getElementById("settings-status");
  const topProblems = document.getElementById("settings-problems");
  const saveButton = document.getElementById("settings-save");
  const resetButton = document.getElementById("settings-reset");

  let view = null;
  /** Every editable field: {name, path, read() -> value | NOCHANGE, wrap} */
  let fields = [];
  const NOCHANGE = Symbol("no change");
  const YAML_WORDS = /^(y|n|yes|no|on|off|true|false|null|~)$/i;

  // -- helpers ----------------------------------------------------------------

  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    }
    node.append(...children.flat().filter((c) => c !== null && c !== undefined));
    return node;
  }

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const isMask = (v) => v !== null && typeof v === "object" && v.secret === true;
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  // -- labels, help and percents ------------------------------------------------

  /** Words for a key the schema gives no title ("max_charge_w" -> "Max charge (W)"). */
  const UNITS = { kwh: "kWh", kw: "kW", w: "W", wh: "Wh", s: "s", c: "°C", pct: "%" };
  const WORDS = { soc: "SOC", pv: "PV", id: "ID", url: "URL", mqtt: "MQTT", tls: "TLS", api: "API" };
  function humanize(key) {
    const words = key.split("_").filter(Boolean);
    const unit = words.length > 1 && UNITS[words[words.length - 1]] ? UNITS[words.pop()] : null;
    const text = words.map((w) => WORDS[w] ?? w).join(" ");
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}${unit ? ` (${unit})` : ""}`;
  }

  /** A field's label: its schema's title (units in brackets), else its key in words. */
  const label = (key, schema) => schema?.title || humanize(key);

  /** A fraction (0 to 1: SOC, efficiency, probability) is shown and edited as a percent;
   *  site.yaml keeps the fraction. Known by its schema: a number bounded within 0..1. */
  function isFraction(schema) {
    if (!schema || typesOf(schema)[0] !== "number" || typesOf(schema).length !== 1) return false;
    const low = schema.minimum ?? schema.exclusiveMinimum;
    const high = schema.maximum ?? schema.exclusiveMaximum;
    return typeof low === "number" && typeof high === "number" && low >= 0 && high <= 1;
  }

  /** 0.1 -> "10", without float noise (0.07 * 100 is 7.000000000000001). */
  const toPercent = (fraction) => String(Number((fraction * 100).toPrecision(12)));
  const toFraction = (percent) => Number((percent / 100).toPrecision(12));

  /** A value as the page shows it: a fraction as "10 %", anything else as YAML. */
  const asShown = (value, schema) => (isFraction(schema) && typeof value === "number"
    ? `${toPercent(value)}\u00a0%` : yamlText(value)); // "95 %" kept on one line

  function typesOf(schema) {
    const t = schema.type;
    return Array.isArray(t) ? t : t ? [t] : [];
  }

  /** A value as YAML the server reads back the same (JSON is YAML too). */
  function yamlText(value) {
    if (value === undefined) return "";
    if (typeof value === "string") {
      const plain = /^[\w][\w .:/@+-]*$/.test(value) && !/\s$/.test(value) && !value.includes(": ")
        && !YAML_WORDS.test(value) && Number.isNaN(Number(value)) && !/^\d+:\d/.test(value);
      return plain ? value : JSON.stringify(value);
    }
    if (value !== null && typeof value === "object") {
      return JSON.stringify(value, null, Array.isArray(value) && value.every((v) => typeof v !== "object") ? 0 : 2);
    }
    return String(value);
  }

  function at(object, path) {
    let value = object;
    for (const key of path) value = value === null || value === undefined ? undefined : value[key];
    return value;
  }

  // -- what kind of input a schema gets ---------------------------------------

  function kindOf(schema, value) {
    if (schema.writeOnly || isMask(value)) return "secret";
    if (schema.enum) return "enum";
    const types = typesOf(schema);
    if (schema.anyOf || schema.oneOf || schema.allOf || types.length > 1) {
      const branches = schema.anyOf || schema.oneOf || [];
      const scalar = branches.length && branches.every((b) => !b.enum && typesOf(b).length === 1
        && ["number", "integer", "string", "null", "boolean"].includes(typesOf(b)[0]));
      return scalar ? "scalar" : "yaml";
    }
    if (types[0] === "object" && schema.properties && !schema.additionalProperties) return "object";
    if (types[0] === "object" && schema.properties && schema.additionalProperties === false) return "object";
    if (types[0] === "array") {
      const items = schema.items || {};
      if (typesOf(items)[0] === "object" && items.properties && !items.anyOf) return "rows";
      if (items.enum || ["string", "number", "integer"].includes(typesOf(items)[0])) return "lines";
      return "yaml";
    }
    if (types[0] === "boolean") return "boolean";
    if (isFraction(schema)) return "percent";
    if (types[0] === "number" || types[0] === "integer") return "number";
    if (types[0] === "string") return "string";
    return "yaml";
  }

  // -- building the form ------------------------------------------------------

  function render(data) {
    view = data;
    fields = [];
    document.getElementById("settings-file").textContent = data.file;
    const open = new Set([location.hash.slice(1),
      ...[...sections.querySelectorAll("details[open]")].map((d) => d.dataset.section)]);
    const list = Object.entries(data.schema.properties).map(([key, schema]) =>
      section(key, schema, open.has(key)));
    sections.replaceChildren(...list);
    showTop(data.problems || []);
    setDirty();
  }

  function section(key, schema, open) {
    const body = objectFields(schema, [key]);
    const summary = h("summary", {}, h("span", { class: "settings-title" }, label(key, schema)),
      schema.description ? h("span", { class: "muted" }, ` — ${schema.description}`) : null);
    return h("details", { class: "settings-section card", "data-section": key, id: `section-${key}`,
      open: open ? "" : null }, summary, body);
  }

  function objectFields(schema, path) {
    const box = h("div", { class: "settings-fields" });
    const kind = kindOf(schema, at(view.values, path));
    if (kind !== "object") {
      box.append(field(path, schema));
      return box;
    }
    for (const [key, child] of Object.entries(schema.properties || {})) {
      const childPath = [...path, key];
      if (kindOf(child, at(view.values, childPath)) === "object") {
        const legend = h("legend", {}, label(key, child));
        const fieldset = h("fieldset", { class: "settings-group", "data-field": childPath.join(".") }, legend,
          child.description ? h("p", { class: "help muted" }, child.description) : null,
          objectFields(child, childPath));
        box.append(fieldset);
      } else {
        box.append(field(childPath, child));
      }
    }
    return box;
  }

  /** One field: its label, input, help and problem line; registers how to read it. */
  function field(path, schema, into = null) {
    const name = path.join(".");
    const value = at(into ? into.values : view.values, into ? path.slice(into.depth) : path);
    const fallback = into ? undefined : at(view.defaults, path);
    const kind = kindOf(schema, value);
    const id = `f-${name.replaceAll(".", "-")}`;
    const help = [];
    if (schema.description) help.push(schema.description);
    if (fallback !== undefined && !isMask(fallback) && kind !== "secret") help.push(`default: ${asShown(fallback, schema)}`);
    const overridden = !into && view.overrides && name in view.overrides;
    if (overridden) {
      const by = (view.overridden_by || {})[name];
      const running = asShown(view.overrides[name], schema);
      help.push(by
        ? `running with ${running} from ${by}: an edit here is saved, and used once the service starts without it`
        : `running with ${running}, set when the service was started`);
    }
    // The key as site.yaml (and the docs, and the server's messages) name it.
    // A percent's also shows the fraction kept there: "battery.soc_min: 0.1".
    const stored = kind === "percent" && typeof value === "number" ? `: ${value}` : "";
    const key = into ? null : h("code", { class: "key", title: "in site.yaml" }, `${name}${stored}`);
    const input = control(kind, schema, value, id, name);
    const problem = h("p", { class: "problem", "data-for": name, hidden: "" });
    const wrap = h("div", { class: `settings-field kind-${kind}${overridden ? " overridden" : ""}`, "data-field": name },
      h("label", { for: id }, label(path[path.length - 1], schema)),
      input.node,
      help.length || key ? h("p", { class: "help muted" }, help.join(" · "), help.length && key ? " · " : null, key) : null,
      problem);
    input.node.addEventListener("input", setDirty);
    input.node.addEventListener("change", setDirty);
    if (!into) fields.push({ name, path, read: input.read, check: input.check, wrap });
    return into ? { wrap, read: input.read } : wrap;
  }

  function control(kind, schema, value, id, name) {
    if (kind === "secret") {
      const isSet = isMask(value) ? value.set : value !== undefined && value !== null && value !== "";
      const node = h("input", { type: "password", id, name, autocomplete: "new-password",
        placeholder: isSet ? "set — type to replace" : "not set" });
      return { node, read: () => (node.value === "" ? NOCHANGE : node.value) };
    }
    if (kind === "enum") {
      const node = h("select", { id, name });
      const options = schema.enum.map((v) => h("option", { value: JSON.stringify(v) }, String(v)));
      if (value === undefined) options.unshift(h("option", { value: "" }, "—"));
      node.append(...options);
      node.value = value === undefined ? "" : JSON.stringify(value);
      return { node, read: () => {
        const chosen = node.value === "" ? undefined : JSON.parse(node.value);
        return same(chosen, value) ? NOCHANGE : chosen === undefined ? null : chosen;
      } };
    }
    if (kind === "boolean") {
      const node = h("input", { type: "checkbox", id, name });
      node.checked = value === true;
      return { node, read: () => (node.checked === (value === true) ? NOCHANGE : node.checked) };
    }
    if (kind === "number") {
      const node = h("input", { type: "number", id, name, inputmode: "decimal",
        step: typesOf(schema)[0] === "integer" ? "1" : "any",
        min: schema.minimum ?? schema.exclusiveMinimum, max: schema.maximum ?? schema.exclusiveMaximum });
      node.value = value === undefined || value === null ? "" : String(value);
      return { node, read: () => {
        if (node.value === "") return value === undefined ? NOCHANGE : null;
        const number = Number(node.value);
        if (Number.isNaN(number)) return { $yaml: node.value };
        return number === value ? NOCHANGE : number;
      } };
    }
    if (kind === "percent") {
      // Shown and typed as a percent; read (and so saved) as the fraction site.yaml keeps.
      const low = schema.minimum ?? schema.exclusiveMinimum, high = schema.maximum ?? schema.exclusiveMaximum;
      const input = h("input", { type: "number", id, name, inputmode: "decimal", step: "any",
        min: toPercent(low), max: toPercent(high), "data-fraction": "" });
      const initial = typeof value === "number" ? toPercent(value) : "";
      input.value = initial;
      const node = h("span", { class: "with-unit" }, input, h("span", { class: "unit", "aria-hidden": "true" }, "%"));
      const check = () => {
        if (input.value === "") return "";
        const fraction = toFraction(Number(input.value));
        const above = schema.exclusiveMinimum !== undefined ? fraction > low : fraction >= low;
        const below = schema.exclusiveMaximum !== undefined ? fraction < high : fraction <= high;
        if (!Number.isNaN(fraction) && above && below) return "";
        const from = schema.exclusiveMinimum !== undefined ? `above ${toPercent(low)} %` : `from ${toPercent(low)} %`;
        return `must be a percent ${from} to ${toPercent(high)} %`;
      };
      return { node, check, read: () => {
        if (input.value === initial) return NOCHANGE;
        if (input.value === "") return value === undefined ? NOCHANGE : null;
        const number = Number(input.value);
        if (Number.isNaN(number)) return { $yaml: input.value };
        return toFraction(number) === value ? NOCHANGE : toFraction(number);
      } };
    }
    if (kind === "string") {
      const node = h("input", { type: "text", id, name, spellcheck: "false" });
      node.value = value === undefined || value === null ? "" : String(value);
      if (schema.pattern) {
        node.addEventListener("change", () => {
          let ok = true;
          try { ok = node.value === "" || new RegExp(schema.pattern, "u").test(node.value); } catch { ok = true; }
          showProblem(name, ok ? "" : "does not look right (see the help below)");
        });
      }
      return { node, read: () => {
        if (node.value === (value ?? "")) return NOCHANGE;
        return node.value === "" && value !== "" ? null : node.value;
      } };
    }
    if (kind === "lines") {
      const numeric = ["number", "integer"].includes(typesOf(schema.items || {})[0]);
      const node = h("textarea", { id, name, rows: "3", spellcheck: "false" });
      node.value = Array.isArray(value) ? value.join("\n") : "";
      const read = () => node.value.split("\n").map((s) => s.trim()).filter(Boolean)
        .map((s) => (numeric ? Number(s) : s));
      return { node, read: () => (same(read(), value ?? []) ? NOCHANGE : read()) };
    }
    if (kind === "rows") return rows(schema, value, id, name);
    // scalar (a duration: 5m or 300) and yaml: the server reads the text as YAML
    const initial = yamlText(value);
    const multiline = kind === "yaml" && initial.includes("\n");
    const node = multiline || kind === "yaml" && value !== null && typeof value === "object"
      ? h("textarea", { id, name, rows: String(Math.min(12, initial.split("\n").length + 1)), spellcheck: "false" })
      : h("input", { type: "text", id, name, spellcheck: "false" });
    node.value = initial;
    node.classList.add("yaml");
    return { node, read: () => (node.value === initial ? NOCHANGE : { $yaml: node.value }) };
  }

  /** A list of objects as rows of fields, with add and remove. */
  function rows(schema, value, id, name) {
    const items = schema.items;
    const list = h("div", { class: "settings-rows", id, role: "group" });
    const rowsRead = [];
    function addRow(item) {
      const index = rowsRead.length;
      const row = h("fieldset", { class: "settings-row" });
      const readers = {};
      for (const [key, child] of Object.entries(items.properties)) {
        const made = field([...name.split("."), String(index), key], child, { values: item, depth: name.split(".").length + 1 });
        row.append(made.wrap);
        readers[key] = made.read;
      }
      const entry = { row, readers, removed: false, item };
      row.append(h("button", { type: "button", class: "linkish remove", onclick: () => {
        entry.removed = true; row.remove(); setDirty();
      } }, "Remove"));
      rowsRead.push(entry);
      list.insertBefore(row, add);
    }
    const add = h("button", { type: "button", class: "linkish add", id: `${id}-add`, onclick: () => {
      addRow({}); setDirty();
    } }, "Add");
    list.append(add);
    for (const item of value || []) addRow(item);
    const read = () => rowsRead.filter((r) => !r.removed).map((r) => {
      const out = { ...r.item };
      for (const [key, reader] of Object.entries(r.readers)) {
        const got = reader();
        if (got === NOCHANGE) continue;
        if (got === null) delete out[key];
        else if (got && typeof got === "object" && "$yaml" in got) out[key] = parseLoose(got.$yaml);
        else out[key] = got;
      }
      return out;
    });
    return { node: list, read: () => (same(read(), value ?? []) ? NOCHANGE : read()) };
  }

  /** Text in a row's field (days: weekdays, or [mon, tue]) as data: JSON when it is,
   *  a flow list of words, else the text itself (the server checks it all). */
  function parseLoose(text) {
    const t = text.trim();
    try { return JSON.parse(t); } catch { /* not JSON */ }
    const list = /^\[(.*)\]$/.exec(t);
    if (list) return list[1].split(",").map((s) => s.trim()).filter(Boolean);
    return t === "" ? null : t;
  }

  // -- saving -----------------------------------------------------------------

  function changes() {
    const patch = {};
    let count = 0;
    for (const f of fields) {
      const value = f.read();
      if (value === NOCHANGE) continue;
      let target = patch;
      for (const key of f.path.slice(0, -1)) target = target[key] ??= {};
      target[f.path[f.path.length - 1]] = value;
      count += 1;
    }
    return { patch, count };
  }

  function setDirty() {
    const { count } = changes();
    saveButton.disabled = count === 0;
    resetButton.disabled = count === 0;
    if (count) status.textContent = `${count} unsaved change${count === 1 ? "" : "s"}`;
  }

  function clearProblems() {
    for (const p of form.querySelectorAll(".settings-field .problem")) { p.hidden = true; p.textContent = ""; }
    for (const w of form.querySelectorAll("[aria-invalid]")) w.removeAttribute("aria-invalid");
    showTop([]);
  }

  function showProblem(name, message) {
    const line = form.querySelector(`.problem[data-for="${CSS.escape(name)}"]`);
    if (!line) return false;
    line.textContent = message;
    line.hidden = !message;
    const input = line.parentElement.querySelector("input, select, textarea");
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    if (message) line.closest("details")?.setAttribute("open", "");
    return true;
  }

  function showTop(problems) {
    topProblems.replaceChildren(...problems.map((p) => h("span", {}, p.field ? `${p.field}: ${p.message}` : p.message, h("br"))));
    topProblems.hidden = problems.length === 0;
  }

  /** Each problem beside its field, or the nearest field above it; the rest on top. */
  function showProblems(problems) {
    const loose = [];
    for (const p of problems) {
      const parts = (p.field || "").split(".");
      let shown = false;
      while (parts.length && parts[0] !== "" && !shown) {
        // The server speaks site.yaml's fractions; a percent field says how they read.
        const fraction = form.querySelector(`[name="${CSS.escape(parts.join("."))}"][data-fraction]`);
        const message = `${p.field === parts.join(".") ? p.message : `${p.field}: ${p.message}`}${
          fraction ? " (site.yaml keeps a fraction: 0.25 is 25 %)" : ""}`;
        shown = showProblem(parts.join("."), message);
        parts.pop();
      }
      if (!shown) loose.push(p);
    }
    showTop(loose);
    form.querySelector("[aria-invalid]")?.focus();
  }

  async function save(event) {
    event.preventDefault();
    const { patch, count } = changes();
    if (!count) return;
    clearProblems();
    // A percent out of its range is named here, in percent (the server would say "1.5").
    const wrong = fields.map((f) => [f.name, f.check?.() ?? ""]).filter(([, message]) => message);
    if (wrong.length) {
      for (const [name, message] of wrong) showProblem(name, message);
      status.dataset.state = "error";
      status.textContent = "Not saved: see the problems below";
      form.querySelector("[aria-invalid]")?.focus();
      return;
    }
    saveButton.disabled = true;
    status.textContent = "Saving…";
    let response, body = null;
    try {
      response = await fetch("/api/settings", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        credentials: "same-origin",
        body: JSON.stringify(patch),
      });
      body = await response.json().catch(() => null);
    } catch (error) {
      status.textContent = `Not saved: ${error.message}`;
      saveButton.disabled = false;
      return;
    }
    if (response.ok) {
      render(body);
      status.textContent = "Saved and applied";
      status.dataset.state = "ok";
      return;
    }
    status.dataset.state = "error";
    status.textContent = response.status === 422 ? "Not saved: see the problems below" : `Not saved: ${body?.error ?? response.statusText}`;
    if (body?.problems) showProblems(body.problems);
    saveButton.disabled = false;
  }

  async function load() {
    const response = await fetch("/api/settings", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.status === 401) {
      window.location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    const body = await response.json().catch(() => null);
    if (!response.ok || !body) {
      sections.replaceChildren(h("p", { class: "problem" }, `Could not load the settings (${response.status}).`));
      return;
    }
    render(body);
    status.textContent = "";
  }

  form.addEventListener("submit", save);
  resetButton.addEventListener("click", () => { clearProblems(); render(view); status.textContent = ""; });
  window.addEventListener("hashchange", () => {
    document.getElementById(`section-${location.hash.slice(1)}`)?.setAttribute("open", "");
  });
  load();
})();

// API tokens (/api/tokens): make one with a name, see it once, revoke it. Only the
// signed-in page makes and revokes them; the server keeps a hash, never the token.
(() => {
  const { h, api, fmt } = window.PM;
  const form = document.getElementById("token-form");
  const name = document.getElementById("token-name");
  const list = document.getElementById("token-list");
  const problem = document.getElementById("token-problem");
  const status = document.getElementById("token-status");
  const fresh = document.getElementById("token-new");
  const text = document.getElementById("token-text");

  function say(message) {
    problem.textContent = message;
    problem.hidden = !message;
  }

  function render(tokens) {
    if (!tokens.length) {
      list.replaceChildren(h("li", { class: "muted" }, "No tokens yet."));
      return;
    }
    list.replaceChildren(...tokens.map((token) => h("li", { "data-token": token.id },
      h("strong", {}, token.name), " ",
      h("span", { class: "muted" }, `made ${fmt.time(token.created, { seconds: false })}, `
        + (token.last_used ? `last used ${fmt.time(token.last_used, { seconds: false })}` : "never used")),
      " ",
      h("button", { type: "button", class: "linkish", "aria-label": `Revoke ${token.name}`,
        onclick: () => revoke(token) }, "Revoke"))));
  }

  async function load() {
    const { ok, status: code, body } = await api("/api/tokens");
    if (ok) render(body.tokens);
    else say(`Could not load the tokens (${code}).`);
  }

  async function revoke(token) {
    if (!window.confirm(`Revoke "${token.name}"? Whatever uses it is refused from now on.`)) return;
    const { ok, body } = await api(`/api/tokens/${encodeURIComponent(token.id)}`, { method: "DELETE" });
    if (!ok) say(`Not revoked: ${body?.error ?? "no answer"}`);
    status.textContent = ok ? `Revoked "${token.name}"` : "";
    await load();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("");
    const { ok, body } = await api("/api/tokens", { method: "POST", body: { name: name.value } });
    if (!ok) {
      say(body?.problems?.[0]?.message ?? body?.error ?? "Not made");
      return;
    }
    text.value = body.token;  // the only time it is known: gone with "Done" or a reload
    fresh.hidden = false;
    text.select();
    name.value = "";
    status.textContent = `Made "${body.name}"`;
    await load();
  });
  document.getElementById("token-copy").addEventListener("click", async () => {
    text.select();
    try {
      await navigator.clipboard.writeText(text.value);  // only on HTTPS or localhost
      status.textContent = "Copied";
    } catch {
      status.textContent = "Selected: copy it with Ctrl+C (the browser allows no copy here)";
    }
  });
  document.getElementById("token-done").addEventListener("click", () => {
    text.value = "";
    fresh.hidden = true;
  });
  load();
})();
