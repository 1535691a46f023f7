// lunasample ground station page. Talks to the server over one websocket:
// the server pushes telemetry, events and the link's state; commands go back
// as {type: "cmd", id, name, args} and are answered by {type: "reply", id, ...}.
"use strict";

const $ = (sel) => document.querySelector(sel);
const WINDOW_S = 60;           // plots show the last minute of board time
let MASS_TARGET_G = 2000;      // the mission's sample target: /api/config replaces it
const RESERVED = new Set(["HELLO", "HB"]);  // the link's own: not for the page
const gds = {
  dict: { commands: [], telemetry: [], events: [], faults: [], params: [] },
  commands: {}, tmMeta: {}, paramMeta: {}, faultNames: {},
  token: null, tokenRequired: false, ws: null, nextId: 1, pending: {},
  tm: {}, lastTmAt: 0, linkState: "connecting", linkInfo: null,
  plots: [], dirty: false,
};
window.gds = gds;


// ---- token --------------------------------------------------------------
function takeToken() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("gds-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  gds.token = sessionStorage.getItem("gds-token");
}

// ---- argument checks (the server runs the dictionary's own check_args again) ----
const INT_TYPES = new Set(["int", "integer", "u8", "u16", "u32", "i32", "uint", "bool"]);
const NUM_TYPES = new Set(["float", "number", "num", "real"]);
function isOptional(a) { return "required" in a ? !a.required : !!a.optional; }
function choicesOf(a) { return a.choices || a.values || a.enum || null; }
function fmt(x) { return String(x); }

function checkOne(a, raw) {
  const kind = String(a.type || "int").toLowerCase();
  const text = String(raw).trim();
  const choices = choicesOf(a);
  if (choices && choices.map(String).includes(text)) return [text, null];
  if (INT_TYPES.has(kind) || NUM_TYPES.has(kind)) {
    // Integers as the board's parser takes them (proto.get_int): an optional
    // minus and 1..10 decimal digits.
    const pattern = INT_TYPES.has(kind) ? /^-?\d{1,10}$/ : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
    if (!pattern.test(text)) {
      const what = INT_TYPES.has(kind) ? "an integer" : "a number";
      return [null, `must be ${what}, got "${text}"`];
    }
    const num = Number(text);
    if (!Number.isFinite(num)) return [null, `must be a finite number, got "${text}"`];
    const unit = a.unit ? " " + a.unit : "";
    if (a.min !== undefined && a.min !== null && num < a.min)
      return [null, `${fmt(num)} is below the minimum ${fmt(a.min)}${unit}`];
    if (a.max !== undefined && a.max !== null && num > a.max)
      return [null, `${fmt(num)} is above the maximum ${fmt(a.max)}${unit}`];
    return [String(num), null];
  }
  if (choices) return [null, `must be one of ${choices.join(", ")}, got "${text}"`];
  if (/[$*,=\n]/.test(text) || /[^\x20-\x7e]/.test(text))
    return [null, `may not contain $ * , = or control characters`];
  return [text, null];
}

function checkArgs(cmd, args) {
  const out = {};
  for (const a of cmd.args || []) {
    const raw = args[a.name];
    if (raw === undefined || raw === null || String(raw).trim() === "") {
      if (isOptional(a)) continue;
      return [null, `${cmd.name}: ${a.name} is required`];
    }
    const [v, err] = checkOne(a, raw);
    if (err) return [null, `${cmd.name}: ${a.name} ${err}`];
    out[a.name] = v;
  }
  return [out, null];
}
window.checkArgs = checkArgs;

// ---- sending --------------------------------------------------------------
function send(name, args) {
  return new Promise((resolve) => {
    const id = gds.nextId++;
    if (gds.ws && gds.ws.readyState === WebSocket.OPEN) {
      gds.pending[id] = resolve;
      gds.ws.send(JSON.stringify({ type: "cmd", id, name, args }));
      return;
    }
    // No websocket (server restarting): try a plain POST, which needs no session.
    fetch("/api/command", {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json" },
        gds.token ? { Authorization: "Bearer " + gds.token } : {}),
      body: JSON.stringify({ name, args }),
    }).then((r) => r.json()).then(resolve)
      .catch((e) => resolve({ ok: false, err: "server", msg: String(e) }));
  });
}

function replyText(r) {
  if (r.ok) {
    const f = Object.assign({}, r.f || {});
    delete f.re;
    return Object.entries(f).map(([k, v]) => `${k}=${v}`).join(" ") || "ACK";
  }
  return `${r.err || "refused"}${r.code ? " (" + r.code + ")" : ""}: ${r.msg || ""}`;
}

async function estop() {
  const btn = $("#estop");
  btn.classList.add("sent");
  $("#estop-status").textContent = "E-STOP sent…";
  const r = await send("ESTOP", {});
  btn.classList.remove("sent");
  $("#estop-status").textContent = r.ok ? `E-STOP: board ${(r.f || {}).st || "ACK"}`
    : `E-STOP NOT CONFIRMED: ${replyText(r)}`;
}

// ---- websocket ------------------------------------------------------------
function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  gds.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: gds.token }));
  ws.onmessage = (e) => onMessage(JSON.parse(e.data));
  ws.onclose = (e) => {
    gds.ws = null;
    for (const id of Object.keys(gds.pending)) {
      gds.pending[id]({ ok: false, err: "server", msg: "connection to the server closed" });
      delete gds.pending[id];
    }
    if (e.code === 4401) {
      showTokenBox("The token was refused or is missing.");
      setLink("denied", "This ground station needs its token: telemetry and commands refused.");
      return;
    }
    setLink("server", "ground station server unreachable: retrying");
    setTimeout(connect, 1000);
  };
}

function onMessage(m) {
  switch (m.type) {
    case "snapshot":
      $("#token-box").hidden = true;
      for (const t of m.tm) onTm(t);
      for (const ev of m.events) logEntry(ev);
      onLink(m.link);  // after the history: a lost board's last state is shown as stale
      onParams(m.params);
      if (m.timeline) onTimeline(m.timeline);
      break;
    case "link": onLink(m); break;
    case "tm": onTm(m); break;
    case "ev": case "done": case "cmd": logEntry(m); break;
    case "params": onParams(m.rows); break;
    case "timeline": onTimeline(m); break;
    case "reply": {
      const done = gds.pending[m.id];
      delete gds.pending[m.id];
      if (done) done(m);
      break;
    }
    case "denied": showTokenBox(m.msg); break;
  }
}

// ---- link and safety state --------------------------------------------------
function setLink(state, text) {
  const el = $("#link-state");
  el.dataset.state = state;
  el.textContent = { up: "LINK UP", connecting: "CONNECTING", lost: "BOARD LOST",
                     server: "SERVER LOST", denied: "TOKEN NEEDED" }[state] || state;
  const banner = $("#banner");
  banner.hidden = state === "up";
  banner.textContent = state === "up" ? "" : text;
  document.body.dataset.link = state;
  if (state !== "up") {
    // What the board last said is no longer known to hold.
    const pill = $("#safety-state");
    if (pill.dataset.state !== "unknown") {
      pill.textContent = `last seen ${pill.textContent}`;
      pill.dataset.state = "unknown";
    }
  }
}

function onLink(m) {
  gds.linkState = m.state;
  gds.linkInfo = m;
  const h = m.hello;
  if (h) $("#board-info").textContent =
    `${h.board} fw ${h.fw} proto ${h.proto} · ${h.rate} Hz loop · ${m.url}`;
  const text = m.state === "lost"
    ? `BOARD LOST: ${m.why || "no frames"}. Reconnecting (attempt ${m.attempts})…`
    : `Connecting to the board on ${m.url}… ${m.why || ""}`;
  setLink(m.state, text);
}

function setSafety(st, flt) {
  const el = $("#safety-state");
  if (el.dataset.state !== st) el.dataset.state = st;
  const name = flt && flt !== "0" && flt !== "none" ? (gds.faultNames[flt] || flt) : "";
  setText(el, name ? `${st} · ${name}` : st);
}

// ---- telemetry --------------------------------------------------------------
const SERIES = {
  speed: { title: "Drill speed", fields: ["dr"], unit: "rpm" },
  current: { title: "Drill current", fields: ["di"], unit: "mA" },
  depth: { title: "Drill depth", fields: ["dd"], unit: "mm" },
  arm: { title: "Arm joints", fields: ["a1", "a2", "a3"], unit: "deg", scale: 0.001 },
  mass: { title: "Mass in container", fields: ["mass"], unit: "g", scale: 0.001 },
};
const COLORS = ["#d23c3c", "#2f7fd0", "#2e9d5b"];
const data = {};
gds.data = data;  // the plotted columns, for tests

function metaScale(field, dflt) {
  const m = gds.tmMeta[field];
  return m && typeof m.scale === "number" ? m.scale : dflt;
}

function makePlots() {
  const width = Math.max(260, Math.min(420, (window.innerWidth - 280) / 3));
  for (const [key, s] of Object.entries(SERIES)) {
    const meta = gds.tmMeta[s.fields[0]];
    if (meta && meta.unit) s.unit = meta.unit;
    data[key] = [[], ...s.fields.map(() => [])];
    const series = [{ label: "board s" }, ...s.fields.map((f, i) => ({
      label: gds.tmMeta[f] && gds.tmMeta[f].doc ? `${f}: ${gds.tmMeta[f].doc}` : f,
      stroke: COLORS[i], width: 1.5 }))];
    if (key === "mass") {
      data[key].push([]);
      series.push({ label: "target", stroke: "#999", dash: [6, 4], width: 1 });
    }
    const opts = {
      title: `${s.title} (${s.unit})`, width, height: 170, series,
      scales: { x: { time: false } }, legend: { live: false },
      axes: [{ label: "board time, s" }, {}],
    };
    gds.plots.push([key, new uPlot(opts, data[key], document.getElementById("plot-" + key))]);
  }
}

function onTm(m) {
  const f = m.f;
  const t = Number(f.t) / 1000;
  const merge = gds.tm.t === f.t;  // a sample split over several frames shares its t
  gds.tm = merge ? Object.assign(gds.tm, f) : Object.assign({}, f);
  gds.lastTmAt = performance.now();
  for (const [key, s] of Object.entries(SERIES)) {
    const d = data[key];
    const scale = metaScale(s.fields[0], s.scale || 1);
    const vals = s.fields.map((fl) => gds.tm[fl] === undefined ? null : Number(gds.tm[fl]) * scale);
    if (key === "mass") vals.push(MASS_TARGET_G);
    const n = d[0].length;
    if (n && d[0][n - 1] === t) { vals.forEach((v, i) => { d[i + 1][n - 1] = v; }); }
    else if (n && t < d[0][n - 1]) { d.forEach((col) => { col.length = 0; }); }  // reboot
    if (!n || d[0][n - 1] !== t) { d[0].push(t); vals.forEach((v, i) => d[i + 1].push(v)); }
    while (d[0].length && d[0][0] < t - WINDOW_S) d.forEach((col) => col.shift());
  }
  setSafety(gds.tm.st, gds.tm.flt);
  gds.dirty = true;
  scheduleDraw();
}

// Text changes only: rewriting an unchanged text still costs a layout and a paint.
function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

// Redraws once per animation frame while telemetry comes in, and not at all
// otherwise, so the page leaves the CPU to the board, the link and its events.
function scheduleDraw() {
  if (!gds.drawPending) {
    gds.drawPending = true;
    requestAnimationFrame(draw);
  }
}

function draw() {
  gds.drawPending = false;
  if (!gds.dirty) return;
  gds.dirty = false;
  for (const [key, plot] of gds.plots) plot.setData(data[key]);
  const tm = gds.tm;
  const massG = tmValue("mass") || 0;
  const pct = Math.max(0, Math.min(100, 100 * massG / MASS_TARGET_G));
  for (const t of gds.dict.telemetry || []) setText(document.getElementById("ro-" + t.name), tmText(t));
  const bar = $("#mass-bar");
  if (bar && bar.style.width !== `${pct}%`) bar.style.width = `${pct}%`;
  setText($("#mass-text"), `${massG.toFixed(1)} g of ${MASS_TARGET_G} g`);
  setText($("#board-time"), `board t ${(Number(tm.t || 0) / 1000).toFixed(1)} s`);
}

function showAge() {
  const age = (performance.now() - gds.lastTmAt) / 1000;
  setText($("#tm-age"), gds.lastTmAt === 0 ? "(no telemetry yet)"
    : age > 3 ? `(STALE: last sample ${age.toFixed(0)} s ago)` : "");
}

function tmValue(name) {
  const v = gds.tm[name];
  if (v === undefined || v === "") return null;
  return Number(v) * metaScale(name, 1);
}

function tmText(t) {
  const v = gds.tm[t.name];
  if (v === undefined) return "–";
  if (t.enum) {
    const names = t.enum === "faults" ? gds.faultNames : (gds.dict.enums || {})[t.enum] || [];
    const name = t.enum === "faults" ? names[v] : names[Number(v)];
    if (name !== undefined && name !== "") return name;
  }
  const x = tmValue(t.name);
  if (x === null || Number.isNaN(x)) return String(v);
  const digits = t.scale && t.scale < 1 ? Math.max(0, -Math.floor(Math.log10(t.scale)) - 2) : 0;
  return x.toFixed(digits) + (t.unit ? " " + t.unit : "");
}

function buildReadouts() {
  const box = $("#readouts");
  box.innerHTML = "";
  for (const t of gds.dict.telemetry || []) {
    const span = document.createElement("span");
    span.title = t.doc || "";
    const b = document.createElement("b");
    b.id = "ro-" + t.name;
    b.textContent = "–";
    span.append(`${t.name} `, b);
    box.appendChild(span);
  }
  const mass = document.createElement("span");
  mass.innerHTML = 'mass toward target <span class="mass-bar"><div id="mass-bar"></div></span> ' +
    '<b id="mass-text"></b>';
  box.appendChild(mass);
}

// ---- event log --------------------------------------------------------------
const MAX_LOG = 500;
function logEntry(m) {
  const tr = document.createElement("tr");
  const f = m.f || {};
  let kind, detail, cls = "";
  if (m.type === "ev") {
    kind = f.kind || "event";
    detail = Object.entries(f).filter(([k]) => k !== "kind" && k !== "t")
      .map(([k, v]) => `${k}=${v}`).join(" ");
    if (kind === "fault") cls = "bad";
    if (kind === "state") setSafety(f.st, f.st === "FAULT" ? gds.tm.flt : "0");
  } else if (m.type === "done") {
    kind = `DONE ${m.name}`;
    cls = f.ok === "1" ? "good" : "bad";
    detail = Object.entries(f).filter(([k]) => k !== "re").map(([k, v]) => `${k}=${v}`).join(" ");
  } else {
    const args = Object.entries(m.args || {}).map(([k, v]) => `${k}=${v}`).join(" ");
    kind = `${m.name}${args ? " " + args : ""}`;
    cls = m.reply.ok ? "good" : "bad";
    detail = (m.reply.ok ? "ACK " : "NAK/refused ") + replyText(m.reply) + ` (${m.who})`;
  }
  tr.className = cls;
  tr.dataset.kind = m.type === "ev" ? "ev-" + kind : m.type;
  if (f.t !== undefined) tr.dataset.t = f.t;
  const when = new Date((m.rx || Date.now() / 1000) * 1000).toISOString().slice(11, 23);
  for (const text of [when, f.t ?? "", kind, detail]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  const body = $("#event-log tbody");
  body.insertBefore(tr, body.firstChild);
  while (body.rows.length > MAX_LOG) body.deleteRow(body.rows.length - 1);
}

// ---- command panel ------------------------------------------------------------
function buildCommands() {
  const box = $("#commands");
  box.innerHTML = "";
  for (const cmd of gds.dict.commands) {
    if (RESERVED.has(cmd.name)) continue;
    const form = document.createElement("form");
    form.className = "cmd";
    form.dataset.cmd = cmd.name;
    form.noValidate = true;  // checkArgs reports, so the message names the rule
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = cmd.name;
    name.title = [cmd.doc, cmd.pre && cmd.pre.length ? "needs: " + [].concat(cmd.pre).join(", ") : ""]
      .filter(Boolean).join("\n");
    form.appendChild(name);
    for (const a of cmd.args || []) {
      const label = document.createElement("label");
      const range = a.min !== undefined && a.min !== null ? ` ${a.min}..${a.max}` : "";
      label.textContent = `${a.name}${a.unit ? " [" + a.unit + "]" : ""}${isOptional(a) ? "?" : ""}`;
      label.title = `${a.doc || ""} (${a.type || "int"}${range})`;
      let input;
      const choices = choicesOf(a);
      if (choices && !INT_TYPES.has(String(a.type))) {
        input = document.createElement("select");
        if (isOptional(a)) input.appendChild(new Option("", ""));
        for (const c of choices) input.appendChild(new Option(String(c), String(c)));
      } else {
        input = document.createElement("input");
        input.type = "text";
        input.placeholder = range.trim() || a.type || "";
        if (a.min !== undefined && a.min !== null) input.dataset.min = a.min;
        if (a.max !== undefined && a.max !== null) input.dataset.max = a.max;
      }
      input.name = a.name;
      label.appendChild(input);
      form.appendChild(label);
    }
    const btn = document.createElement("button");
    btn.type = "submit";
    btn.textContent = "Send";
    form.appendChild(btn);
    const res = document.createElement("span");
    res.className = "result";
    form.appendChild(res);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const args = {};
      for (const el of form.querySelectorAll("input, select")) args[el.name] = el.value;
      const [clean, err] = checkArgs(cmd, args);
      if (err) {
        res.className = "result refused";
        res.textContent = "not sent: " + err;
        return;
      }
      res.className = "result";
      res.textContent = "sent…";
      const r = await send(cmd.name, clean);
      res.className = "result " + (r.ok ? "ok" : "nak");
      res.textContent = (r.ok ? "ACK " : "NAK ") + replyText(r);
    });
    box.appendChild(form);
  }
}

// ---- parameters ----------------------------------------------------------------
function onParams(rows) {
  const body = $("#param-table tbody");
  body.innerHTML = "";
  for (const row of rows || []) {
    const meta = gds.paramMeta[row.name] || {};
    const lo = row.lo !== undefined && row.lo !== null ? Number(row.lo) : meta.min;
    const hi = row.hi !== undefined && row.hi !== null ? Number(row.hi) : meta.max;
    const tr = document.createElement("tr");
    tr.dataset.param = row.name;
    const cells = [row.name, row.value, meta.unit || "", `${lo}..${hi}`,
                   meta.default ?? "", meta.doc || meta.description || ""];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const form = document.createElement("form");
    form.noValidate = true;
    const input = document.createElement("input");
    input.placeholder = `${lo}..${hi}`;
    const btn = document.createElement("button");
    btn.type = "submit";
    btn.textContent = "Set";
    const res = document.createElement("span");
    res.className = "result";
    form.append(input, btn, res);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const [v, err] = checkOne({ type: "int", min: lo, max: hi, unit: meta.unit }, input.value);
      if (err) {
        res.className = "result refused";
        res.textContent = `not sent: ${row.name} ${err}`;
        return;
      }
      const r = await send("PARAM", { name: row.name, value: v });
      res.className = "result " + (r.ok ? "ok" : "nak");
      res.textContent = r.ok ? "set" : replyText(r);
      if (r.ok) tr.cells[1].textContent = (r.f || {}).value ?? v;
    });
    td.appendChild(form);
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

// ---- timeline ------------------------------------------------------------------
function elapsed(s) {
  if (s === null || s === undefined || s === "") return "";
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  const mi = Math.floor((s % 3600) / 60), se = Math.floor(s % 60);
  const hms = [h, mi, se].map((x) => String(x).padStart(2, "0")).join(":");
  return `T+${d ? d + "d " : ""}${hms}`;
}

function onTimeline(m) {
  const table = $("#timeline-table");
  const note = $("#timeline-note");
  if (m.error) { note.textContent = `${m.source}: ${m.error}`; table.hidden = true; return; }
  let state = "";
  if (m.running) state = `running: ${m.running} (${Math.round(100 * m.fraction)} % of phases)`;
  else if (m.success === true) state = `success, ${m.returned_g} g returned`;
  else if (m.success === false) state = "mission failed";
  note.textContent = `${m.source}: ${state}`;
  table.hidden = false;
  const body = table.tBodies[0];
  body.innerHTML = "";
  for (const ph of m.phases || []) {
    const tr = document.createElement("tr");
    tr.className = { fail: "bad", pass: "good", running: "running" }[ph.status] || "";
    tr.dataset.phase = ph.phase;
    const figs = Object.entries(ph.figures || {}).slice(0, 4).map(([k, v]) => `${k}=${v}`).join(", ");
    const status = ph.failure ? `${ph.status}: ${ph.failure}` : ph.status;
    for (const text of [ph.phase, status, elapsed(ph.start_s), elapsed(ph.end_s), figs]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

// ---- token box and keys ----------------------------------------------------------
function showTokenBox(msg) {
  $("#token-box").hidden = false;
  $("#token-msg").textContent = msg || "";
}

function isTextField(el) {
  return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
}

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" || (e.key === " " && !isTextField(document.activeElement))) {
    e.preventDefault();
    estop();
  }
});

async function start() {
  takeToken();
  $("#estop").addEventListener("click", estop);
  $("#token-box").addEventListener("submit", (e) => {
    e.preventDefault();
    gds.token = $("#token-input").value;
    sessionStorage.setItem("gds-token", gds.token);
    $("#token-box").hidden = true;
    if (!gds.ws) connect();
  });
  try {
    const [cfg, dict] = await Promise.all(
      [fetch("/api/config").then((r) => r.json()), fetch("/api/dictionary").then((r) => r.json())]);
    gds.tokenRequired = cfg.token_required;
    MASS_TARGET_G = cfg.mass_target_g || MASS_TARGET_G;
    gds.dict = dict;
  } catch (e) {
    setLink("server", "cannot load the command dictionary: " + e);
  }
  for (const c of gds.dict.commands || []) gds.commands[c.name] = c;
  for (const t of gds.dict.telemetry || []) gds.tmMeta[t.name] = t;
  for (const p of gds.dict.params || []) gds.paramMeta[p.name] = p;
  for (const f of gds.dict.faults || []) gds.faultNames[String(f.code ?? f.id)] = f.name;
  makePlots();
  buildReadouts();
  buildCommands();
  if (gds.tokenRequired && !gds.token) showTokenBox("Enter the token printed by lunasample gds.");
  connect();
  setInterval(showAge, 500);
  showAge();
}
start();
