// sipwire dashboard: plain JavaScript, no dependencies.
"use strict";

const API = "/api/v1";
const MAX_EVENTS = 1000;     // events kept in the page
const CHART_POINTS = 120;    // seconds shown on the chart
const KINDS = ["ACCEPTED", "CONNECT_START", "CONNECTED", "CONNECT_FAILED", "ACCEPT_REFUSED", "CLOSED",
  "BAD_MESSAGE", "MESSAGE_TOO_LARGE", "CHUNK_LIMIT", "MESSAGE_TIMEOUT", "WRITE_QUEUE_FULL",
  "WRITE_TIMEOUT", "IDLE_TIMEOUT", "READ_ERROR", "WRITE_ERROR"];
const PLAIN_KINDS = new Set(["ACCEPTED", "CONNECT_START", "CONNECTED", "CLOSED"]);

const $ = (id) => document.getElementById(id);
const state = {
  trace: null,
  events: [],          // oldest first
  lastSeq: 0,
  prev: null,          // previous stats sample {t, events, msgs}
  rates: [],           // {ev, msg}
  source: null,
};

function token() { return sessionStorage.getItem("sipwire.token") || ""; }

function notice(text, isError) {
  const n = $("notice");
  if (!text) { n.classList.add("hidden"); return; }
  n.textContent = text;
  n.classList.toggle("error", !!isError);
  n.classList.remove("hidden");
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET" && token()) opts.headers["Authorization"] = "Bearer " + token();
  const res = await fetch(API + path, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const msg = (data && data.error) || (res.status + " " + res.statusText);
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return data;
}

function fmtInt(n) { return (n || 0).toLocaleString("en-US"); }
function fmtBytes(n) {
  n = n || 0;
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
}
function fmtTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return d.toLocaleTimeString("en-GB", { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}
function fmtAge(iso) {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso)) / 1000));
  if (s < 60) return s + "s ago";
  if (s < 3600) return Math.floor(s / 60) + "m ago";
  return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m ago";
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

// ---- trace switch ----
function showTrace(on) {
  state.trace = on;
  const pill = $("trace-state");
  pill.textContent = on ? "on" : "off";
  pill.className = "pill " + (on ? "on" : "off");
  pill.dataset.state = on ? "on" : "off";
  $("trace-toggle").textContent = on ? "Turn off" : "Turn on";
}

async function toggleTrace() {
  const want = state.trace ? "off" : "on";
  $("trace-toggle").disabled = true;
  try {
    const r = await api("PUT", "/trace", { trace: want });
    showTrace(r.trace === "on");
    notice("");
  } catch (e) {
    if (e.status === 401) {
      notice("Switching tracing needs the token: type it in the Token field and press Keep.", true);
      $("token").focus();
    } else {
      notice("Could not switch tracing: " + e.message, true);
    }
  } finally {
    $("trace-toggle").disabled = false;
  }
}

// ---- stats, counters and chart ----
async function pollStats() {
  try {
    const s = await api("GET", "/stats");
    const t = s.transport;
    showTrace(s.trace === "on");
    $("c-open").textContent = fmtInt(t.open);
    $("c-accepted").textContent = fmtInt(t.accepted) + " / " + fmtInt(t.connects);
    $("c-closed").textContent = fmtInt(t.closed);
    $("c-msgs").textContent = fmtInt(t.messages_in) + " / " + fmtInt(t.messages_out);
    $("c-bytes").textContent = fmtBytes(t.bytes_in) + " / " + fmtBytes(t.bytes_out);
    $("c-events").textContent = fmtInt(t.events_raised);
    const limits = t.bad_messages + t.too_large + t.chunk_limits + t.message_timeouts + t.queue_full +
      t.write_timeouts + t.idle_timeouts;
    $("c-errors").textContent = fmtInt(limits) + " / " + fmtInt(t.read_errors + t.write_errors);
    const dropped = (t.subscriptions || []).reduce((a, x) => a + x.dropped, 0);
    $("c-dropped").textContent = fmtInt(dropped);
    const now = Date.parse(s.time) || Date.now();
    const cur = { t: now, events: t.events_raised, msgs: t.messages_in + t.messages_out };
    if (state.prev && cur.t > state.prev.t) {
      const dt = (cur.t - state.prev.t) / 1000;
      state.rates.push({ ev: Math.max(0, (cur.events - state.prev.events) / dt), msg: Math.max(0, (cur.msgs - state.prev.msgs) / dt) });
      if (state.rates.length > CHART_POINTS) state.rates.shift();
      const last = state.rates[state.rates.length - 1];
      $("rate-now").textContent = last.ev.toFixed(1) + " events/s · " + last.msg.toFixed(1) + " messages/s";
    }
    state.prev = cur;
    drawChart();
  } catch (e) {
    notice("Cannot reach the sipwire API: " + e.message, true);
  }
}

function drawChart() {
  const c = $("chart");
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth, h = c.clientHeight;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
  }
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const padL = 44, padB = 18, padT = 8, padR = 8;
  const pw = w - padL - padR, ph = h - padT - padB;
  let top = 1;
  for (const r of state.rates) top = Math.max(top, r.ev, r.msg);
  top = niceCeil(top);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#6b7885"; g.strokeStyle = "#e2e7ec"; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = padT + ph - (ph * i) / 4;
    g.beginPath(); g.moveTo(padL, Math.round(y) + 0.5); g.lineTo(padL + pw, Math.round(y) + 0.5); g.stroke();
    const v = (top * i) / 4;
    g.fillText(v >= 10 ? Math.round(v).toString() : v.toFixed(1), 4, y + 4);
  }
  g.fillText("-" + CHART_POINTS + "s", padL, h - 4);
  g.fillText("now", padL + pw - 22, h - 4);
  const line = (key, color) => {
    if (state.rates.length < 2) return;
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    const n = state.rates.length;
    state.rates.forEach((r, i) => {
      const x = padL + pw - ((n - 1 - i) * pw) / (CHART_POINTS - 1);
      const y = padT + ph - (r[key] / top) * ph;
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  };
  line("msg", getComputedStyle(document.documentElement).getPropertyValue("--msg").trim() || "#d9822b");
  line("ev", getComputedStyle(document.documentElement).getPropertyValue("--ev").trim() || "#0f6e8c");
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// ---- connections ----
async function pollConnections() {
  try {
    const r = await api("GET", "/connections");
    renderConnections(r.connections || []);
  } catch (e) { /* pollStats reports reachability */ }
}

function renderConnections(conns) {
  const tb = $("conn-table").tBodies[0];
  tb.textContent = "";
  $("conn-count").textContent = conns.length;
  $("conn-empty").classList.toggle("hidden", conns.length > 0);
  for (const c of conns) {
    const tr = document.createElement("tr");
    tr.dataset.id = c.id;
    cell(tr, c.id, "num");
    cell(tr, c.direction);
    cell(tr, c.state);
    cell(tr, c.local || "");
    cell(tr, c.remote || "");
    cell(tr, fmtAge(c.opened)).title = c.opened;
    cell(tr, fmtInt(c.msgs_in) + " / " + fmtInt(c.msgs_out), "num");
    cell(tr, fmtBytes(c.bytes_in) + " / " + fmtBytes(c.bytes_out), "num");
    cell(tr, c.queued_writes ? c.queued_writes + " (" + fmtBytes(c.queued_bytes) + ")" : "");
    cell(tr, c.traced);
    const td = cell(tr, "");
    const b = document.createElement("button");
    b.className = "btn small danger"; b.type = "button"; b.textContent = "Close";
    b.addEventListener("click", () => closeConn(c.id));
    td.appendChild(b);
    const pc = document.createElement("a");
    pc.className = "btn small ghost"; pc.textContent = "pcap";
    pc.href = API + "/pcap?conn=" + encodeURIComponent(c.id); pc.setAttribute("download", "");
    td.appendChild(document.createTextNode(" "));
    td.appendChild(pc);
    tb.appendChild(tr);
  }
}

async function closeConn(id) {
  try {
    await api("DELETE", "/connections/" + encodeURIComponent(id));
    notice("");
    pollConnections();
  } catch (e) {
    notice(e.status === 401 ? "Closing a connection needs the token." : "Could not close connection " + id + ": " + e.message, true);
  }
}

// ---- events ----
function filters() {
  return { kind: $("f-kind").value, addr: $("f-addr").value.trim() };
}

function matches(e, f) {
  if (f.kind && e.kind !== f.kind) return false;
  if (f.addr) {
    const a = [e.local, e.remote, e.listener].filter(Boolean);
    if (!a.some((x) => x === f.addr || x.startsWith(f.addr + ":") || x.startsWith("[" + f.addr + "]:") || x.includes(f.addr))) return false;
  }
  return true;
}

function eventRow(e, fresh) {
  const tr = document.createElement("tr");
  tr.dataset.seq = e.seq;
  tr.dataset.kind = e.kind;
  if (fresh) tr.className = "fresh";
  cell(tr, e.seq, "num");
  cell(tr, fmtTime(e.time)).title = e.time;
  const k = cell(tr, "");
  const span = document.createElement("span");
  span.className = "kind " + (PLAIN_KINDS.has(e.kind) ? e.kind : "err");
  span.textContent = e.kind;
  k.appendChild(span);
  cell(tr, e.status, "st-" + e.status);
  cell(tr, e.conn_id || "", "num");
  cell(tr, e.direction);
  cell(tr, e.local || "");
  cell(tr, e.remote || "");
  cell(tr, e.reason || "", "reason");
  return tr;
}

function renderEvents() {
  const tb = $("event-log").tBodies[0];
  tb.textContent = "";
  const f = filters();
  const rows = state.events.filter((e) => matches(e, f));
  for (let i = rows.length - 1; i >= 0; i--) tb.appendChild(eventRow(rows[i], false));
  $("ev-count").textContent = rows.length + " of " + state.events.length + " events";
}

function addEvent(e) {
  if (e.seq <= state.lastSeq) return;
  state.lastSeq = e.seq;
  state.events.push(e);
  if (state.events.length > MAX_EVENTS) state.events.shift();
  if ($("f-pause").checked) return;
  const tb = $("event-log").tBodies[0];
  if (matches(e, filters())) {
    tb.insertBefore(eventRow(e, true), tb.firstChild);
    while (tb.rows.length > MAX_EVENTS) tb.deleteRow(tb.rows.length - 1);
  }
  $("ev-count").textContent = tb.rows.length + " of " + state.events.length + " events";
}

async function loadEvents() {
  try {
    const r = await api("GET", "/events?limit=200");
    for (const e of r.events) addEvent(e);
    renderEvents();
    return r.next_since || state.lastSeq;
  } catch (e) {
    return state.lastSeq;
  }
}

function connectStream(since) {
  if (state.source) state.source.close();
  const es = new EventSource(API + "/events/stream?since=" + since);
  state.source = es;
  es.addEventListener("hello", (m) => {
    const h = JSON.parse(m.data);
    showTrace(h.trace === "on");
    const live = $("live"); live.textContent = "live"; live.className = "live on";
  });
  es.addEventListener("gap", (m) => {
    const g = JSON.parse(m.data);
    notice("The page fell behind the event stream and missed " + g.missed + " events.", false);
  });
  es.onmessage = (m) => addEvent(JSON.parse(m.data));
  es.onerror = () => {
    const live = $("live"); live.textContent = "reconnecting"; live.className = "live off";
  };
}

// ---- start ----
function init() {
  for (const k of KINDS) {
    const o = document.createElement("option");
    o.value = k; o.textContent = k;
    $("f-kind").appendChild(o);
  }
  $("token").value = token();
  $("token-save").addEventListener("click", () => {
    const v = $("token").value.trim();
    if (v) sessionStorage.setItem("sipwire.token", v); else sessionStorage.removeItem("sipwire.token");
    notice(v ? "Token kept for this tab." : "Token cleared.", false);
    setTimeout(() => notice(""), 2500);
  });
  $("token").addEventListener("keydown", (e) => { if (e.key === "Enter") $("token-save").click(); });
  $("trace-toggle").addEventListener("click", toggleTrace);
  $("f-kind").addEventListener("change", renderEvents);
  $("f-addr").addEventListener("input", renderEvents);
  $("f-pause").addEventListener("change", renderEvents);
  $("ev-clear").addEventListener("click", () => { state.events = []; renderEvents(); });
  window.addEventListener("resize", drawChart);

  pollStats();
  pollConnections();
  setInterval(pollStats, 1000);
  setInterval(pollConnections, 2000);
  loadEvents().then(connectStream);
}

document.addEventListener("DOMContentLoaded", init);
