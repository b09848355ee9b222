// sipwire dashboard: plain JavaScript, no dependencies.
"use strict";

const API = "/api/v1";
const MAX_EVENTS = 1000;     // events kept in the page
const CHART_POINTS = 900;    // seconds shown on the chart: the server's timeline (15 min)
const CONN_PAGE = 100;       // connections per page of the table
const RECENT_MS = 60e3;      // a failure counter that grew within this is shown red
const KINDS = ["ACCEPTED", "CONNECT_START", "CONNECTED", "CONNECT_FAILED", "ACCEPT_REFUSED", "CLOSED",
  "BAD_MESSAGE", "MESSAGE_TOO_LARGE", "CHUNK_LIMIT", "MESSAGE_TIMEOUT", "WRITE_QUEUE_FULL",
  "WRITE_TIMEOUT", "IDLE_TIMEOUT", "READ_ERROR", "WRITE_ERROR", "HANDLER_PANIC"];
const PLAIN_KINDS = new Set(["ACCEPTED", "CONNECT_START", "CONNECTED", "CLOSED"]);

const $ = (id) => document.getElementById(id);
const state = {
  trace: null,
  events: [],          // oldest first
  lastSeq: 0,
  prev: null,          // previous stats sample {t, events, msgs}
  rates: [],           // {t, ev, msg, fail}
  runID: "",           // the server's run id: a change means sipwire restarted
  unreachable: false,  // the "cannot reach the API" notice is shown
  samples: [],         // recent {t, stats} for the health strip's "recently"
  conns: [],           // the last connection list
  connSort: { key: "id", dir: 1 },
  connPage: 0,
  armed: 0,            // the connection whose Close waits for confirmation
  source: null,
  mode: "live",        // "live" (the ring) or "history" (the store)
  historyRun: 0,       // the history's current run (0: history off)
  run: 0,              // run of the connection opened, when not the current one
  connPicked: false,   // the connection filter was set by opening a connection
  hist: { events: [], cursor: "", query: "", gen: 0 },
};

function token() { return sessionStorage.getItem("sipwire.token") || ""; }

function notice(text, isError) {
  const n = $("notice");
  if (!text) { n.classList.add("hidden"); return; }
  n.textContent = text;
  n.classList.toggle("error", !!isError);
  n.classList.remove("hidden");
}

// With a token set, the API wants it on every route but the trace state; a
// state change also carries X-Sipwire, which no cross-site form can send.
function authHeaders() { return token() ? { "Authorization": "Bearer " + token() } : {}; }

async function api(method, path, body) {
  const opts = { method, headers: authHeaders() };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET") opts.headers["X-Sipwire"] = "1";
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
  if (state.traceShown !== on) { state.traceShown = on; renderConnections(); }
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

// ---- stats, counters, health and chart ----
function limitHits(t) {
  return t.bad_messages + t.too_large + t.chunk_limits + t.message_timeouts + t.queue_full + t.write_timeouts;
}
function failures(t) { return t.connect_failures + limitHits(t) + t.read_errors + t.write_errors + t.refused; }

async function pollStats() {
  let s;
  try {
    s = await api("GET", "/stats");
  } catch (e) {
    state.unreachable = e.status !== 401;
    notice(e.status === 401 ? "The API needs the token: type it in the Token field and press Keep." :
      "Cannot reach the sipwire API: " + e.message, true);
    $("live").textContent = "offline"; $("live").className = "live off";
    return;
  }
  if (state.unreachable) { state.unreachable = false; notice(""); }
  if (state.runID && s.run_id !== state.runID) { resync(s); return; }
  state.runID = s.run_id;
  document.body.dataset.runId = s.run_id;
  const t = s.transport;
  showTrace(s.trace === "on");
  $("c-open").textContent = fmtInt(t.open);
  $("c-accepted").textContent = fmtInt(t.accepted) + " / " + fmtInt(t.connects);
  $("c-closed").textContent = fmtInt(t.closed);
  $("c-msgs").textContent = fmtInt(t.messages_in) + " / " + fmtInt(t.messages_out);
  $("c-bytes").textContent = fmtBytes(t.bytes_in) + " / " + fmtBytes(t.bytes_out);
  $("c-events").textContent = fmtInt(t.events_raised);
  $("c-errors").textContent = fmtInt(limitHits(t)) + " / " + fmtInt(t.read_errors + t.write_errors);
  $("c-errors").title = "idle timeouts (a normal end, not counted): " + fmtInt(t.idle_timeouts);
  const dropped = (t.subscriptions || []).reduce((a, x) => a + x.dropped, 0);
  $("c-dropped").textContent = fmtInt(dropped);
  const now = Date.parse(s.time) || Date.now();
  const cur = { t: now, events: t.events_raised, msgs: t.messages_in + t.messages_out, fail: failures(t) };
  if (state.prev && cur.t > state.prev.t) {
    const dt = (cur.t - state.prev.t) / 1000;
    state.rates.push({ t: now, ev: Math.max(0, (cur.events - state.prev.events) / dt), msg: Math.max(0, (cur.msgs - state.prev.msgs) / dt),
      fail: Math.max(0, (cur.fail - state.prev.fail) / dt) });
    while (state.rates.length > CHART_POINTS) state.rates.shift();
    const last = state.rates[state.rates.length - 1];
    $("rate-now").textContent = last.ev.toFixed(1) + " events/s · " + last.msg.toFixed(1) + " messages/s";
  }
  state.prev = cur;
  state.samples.push({ t: now, s });
  while (state.samples.length > 1 && now - state.samples[0].t > RECENT_MS) state.samples.shift();
  renderHealth(s);
  drawChart();
  setHistoryAvailable(s.web.event_history, (s.exporters || {}).history);
}

// grew returns how much f(stats) grew over the last minute of samples.
function grew(f) {
  if (state.samples.length < 2) return 0;
  const a = f(state.samples[0].s), b = f(state.samples[state.samples.length - 1].s);
  return a === undefined || b === undefined ? 0 : Math.max(0, b - a);
}

function get(o, path) { return path.split(".").reduce((x, k) => (x == null ? undefined : x[k]), o); }

function nonZero(obj, names) {
  return Object.entries(obj || {}).filter(([, v]) => typeof v === "number" && v > 0)
    .map(([k, v]) => (names && names[k] ? names[k] : k) + " " + fmtInt(v)).join(" · ");
}

// healthItems says, for the strip, what ops look for first: the upstream,
// each exporter's state, the limits hit.
function healthItems(s) {
  const t = s.transport, ex = s.exporters || {}, items = [];
  const fw = ex.forward;
  if (fw) {
    const cf = t.connect_failures, u = fw.service_unavailable || 0;
    const recent = grew((x) => x.transport.connect_failures) + grew((x) => get(x, "exporters.forward.service_unavailable"));
    items.push({ id: "upstream", title: "Upstream", level: !fw.forwarding ? "off" : recent ? "bad" : cf || u ? "warn" : "ok",
      state: !fw.forwarding ? "not forwarding" : recent ? "failing" : "ok",
      detail: fw.forwarding ? (fw.upstream || "") + " · " + fmtInt(cf) + " connect failures · " + fmtInt(u) + " × 503" +
        (recent ? " (" + fmtInt(recent) + " failures in the last minute)" : "") : "no forward.uri" });
  }
  const hep = ex.hep;
  if (hep) {
    for (const d of hep.destinations || []) {
      const st = d.state || {};
      const drops = d.drops || {};
      const total = Object.values(drops).reduce((a, v) => a + v, 0);
      const recent = grew((x) => (get(x, "exporters.hep.destinations") || []).filter((y) => y.name === d.name)
        .reduce((a, y) => a + Object.values(y.drops || {}).reduce((b, v) => b + v, 0), 0));
      items.push({ id: "hep-" + d.name, title: "HEP " + d.name, level: !st.up ? "bad" : recent ? "warn" : "ok",
        state: st.up ? "up" : "down",
        detail: d.transport + " " + d.address + (st.up ? "" : " · down since " + fmtWhen(st.since)) +
          (st.last_error ? " · " + st.last_error : "") + " · queue " + fmtInt(d.queue_len) + "/" + fmtInt(d.queue_cap) +
          " · sent " + fmtInt(d.packets_sent) + (total ? " · drops: " + nonZero(drops) : " · no drops") });
    }
  } else {
    items.push({ id: "hep", title: "HEP", level: "off", state: "off", detail: "no trace_destination" });
  }
  const ot = ex.otel;
  if (ot) {
    const st = ot.state || {};
    const drops = ot.dropped || {};
    const total = Object.values(drops).reduce((a, v) => a + v, 0);
    items.push({ id: "otel", title: "OpenTelemetry", level: !ot.enabled ? "off" : st.up === false ? "bad" : total || ot.spans_failed ? "warn" : "ok",
      state: !ot.enabled ? "off" : st.up === false ? "down" : "up",
      detail: !ot.enabled ? (ot.off || "no endpoint") : (ot.protocol || "") + " " + (ot.endpoint || "") +
        (st.last_error || ot.last_error ? " · " + (st.last_error || ot.last_error) : "") + " · queue " + fmtInt(ot.queue_len) + "/" + fmtInt(ot.queue_cap) +
        " · exported " + fmtInt(ot.spans_exported) + (ot.spans_failed ? " · failed " + fmtInt(ot.spans_failed) : "") + (total ? " · drops: " + nonZero(drops) : "") });
  }
  const h = ex.history;
  if (h) {
    const bad = h.enabled && (h.up === false || (h.state && h.state !== "up"));
    items.push({ id: "history", title: "History", level: !h.enabled ? "off" : bad ? "bad" : h.events_dropped || h.events_failed ? "warn" : "ok",
      state: !h.enabled ? "off" : h.state || (bad ? "down" : "up"),
      detail: !h.enabled ? (h.last_error || "history.enabled is off") : fmtInt(h.events_stored) + " stored · queue " + fmtInt(h.queue_depth) + "/" + fmtInt(h.queue_cap) +
        (h.events_dropped ? " · dropped " + fmtInt(h.events_dropped) : "") + (h.events_failed ? " · failed " + fmtInt(h.events_failed) : "") +
        (h.last_error ? " · " + h.last_error : "") });
  }
  const lim = { bad_message: t.bad_messages, too_large: t.too_large, chunk_limit: t.chunk_limits, message_timeout: t.message_timeouts,
    write_queue_full: t.queue_full, write_timeout: t.write_timeouts, refused: t.refused, handler_panic: t.handler_panics };
  const hits = Object.values(lim).reduce((a, v) => a + (v || 0), 0);
  const recentHits = grew((x) => limitHits(x.transport) + x.transport.refused);
  items.push({ id: "limits", title: "Limits", level: recentHits ? "bad" : hits ? "warn" : "ok", state: hits ? fmtInt(hits) + " hits" : "none hit",
    detail: (hits ? nonZero(lim) : "no limit hit") + " · idle timeouts " + fmtInt(t.idle_timeouts) + " (a normal end)" });
  return items;
}

function renderHealth(s) {
  const box = $("health");
  box.textContent = "";
  for (const it of healthItems(s)) {
    const d = document.createElement("div");
    d.className = "hitem " + it.level;
    d.dataset.health = it.id;
    d.dataset.level = it.level;
    const top = document.createElement("div");
    top.className = "htop";
    top.appendChild(Object.assign(document.createElement("span"), { className: "hdot" }));
    top.appendChild(Object.assign(document.createElement("b"), { textContent: it.title }));
    top.appendChild(Object.assign(document.createElement("span"), { className: "hstate", textContent: it.state }));
    d.appendChild(top);
    d.appendChild(Object.assign(document.createElement("div"), { className: "hdetail", textContent: it.detail, title: it.detail }));
    box.appendChild(d);
  }
}

// loadTimeline fills the chart with the server's last 15 minutes.
async function loadTimeline() {
  try {
    const r = await api("GET", "/timeline");
    const sec = r.interval_ms / 1000;
    state.rates = r.points.map((p) => ({ t: Date.parse(p.time), ev: p.events / sec, msg: p.messages / sec,
      fail: (p.connect_failures + p.limit_hits + p.io_errors + p.refused) / sec }));
    drawChart();
  } catch (e) { /* pollStats reports reachability */ }
}

// resync starts over after a restart of sipwire: event numbers begin again
// at 1, the counters at 0.
function resync(s) {
  const when = s ? fmtWhen(s.started) : "";
  state.runID = s ? s.run_id : "";
  if (s) document.body.dataset.runId = s.run_id;
  state.events = []; state.lastSeq = 0; state.prev = null; state.samples = [];
  renderEvents();
  notice("sipwire restarted" + (when ? " at " + when : "") + ": the page resynchronised.", false);
  setTimeout(() => { if ($("notice").textContent.startsWith("sipwire restarted")) notice(""); }, 8000);
  loadTimeline().then(pollStats);
  pollConnections();
  loadEvents().then(connectStream);
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
  for (const r of state.rates) top = Math.max(top, r.ev, r.msg, r.fail || 0);
  top = niceCeil(top);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#6b7885"; g.strokeStyle = "#e2e7ec"; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = padT + ph - (ph * i) / 4;
    g.beginPath(); g.moveTo(padL, Math.round(y) + 0.5); g.lineTo(padL + pw, Math.round(y) + 0.5); g.stroke();
    const v = (top * i) / 4;
    g.fillText(v >= 10 ? Math.round(v).toString() : v.toFixed(1), 4, y + 4);
  }
  g.fillText("-" + CHART_POINTS / 60 + " min", padL, h - 4);
  g.fillText("now", padL + pw - 22, h - 4);
  const line = (key, color) => {
    if (state.rates.length < 2) return;
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    const n = state.rates.length;
    state.rates.forEach((r, i) => {
      const x = padL + pw - ((n - 1 - i) * pw) / (CHART_POINTS - 1);
      const y = padT + ph - ((r[key] || 0) / top) * ph;
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  };
  line("msg", getComputedStyle(document.documentElement).getPropertyValue("--msg").trim() || "#d9822b");
  line("ev", getComputedStyle(document.documentElement).getPropertyValue("--ev").trim() || "#0f6e8c");
  line("fail", getComputedStyle(document.documentElement).getPropertyValue("--bad").trim() || "#c2362f");
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// ---- connections ----
// The table is sorted, filtered and paged in the page: the server sends the
// list, the page draws CONN_PAGE rows of it.
async function pollConnections() {
  const t0 = performance.now();
  try {
    const r = await api("GET", "/connections");
    state.conns = r.connections || [];
    renderConnections();
  } catch (e) { /* pollStats reports reachability */ }
  return performance.now() - t0;
}

// pollConnectionsLoop polls the table every CONN_POLL_MS, or less often
// when one poll takes long (10,000 connections: 3 MB, ~70 ms to fetch and
// parse): at most a tenth of the time goes to it.
const CONN_POLL_MS = 2000;
async function pollConnectionsLoop() {
  const took = await pollConnections();
  setTimeout(pollConnectionsLoop, Math.max(CONN_POLL_MS, 10 * took));
}

const CONN_KEYS = {
  id: (c) => c.id, direction: (c) => c.direction, state: (c) => c.state, local: (c) => c.local || "", remote: (c) => c.remote || "",
  opened: (c) => c.opened, msgs: (c) => c.msgs_in + c.msgs_out, bytes: (c) => c.bytes_in + c.bytes_out,
  queued: (c) => c.queued_bytes, traced: (c) => tracedText(c),
  rtt: (c) => c.tcp ? c.tcp.rtt_us : -1, retrans: (c) => c.tcp ? c.tcp.total_retrans : -1, sendq: (c) => c.tcp ? c.tcp.send_queue : -1,
};

// tracedText is what the Traced column says: the filter's verdict counts
// only while the switch is on.
function tracedText(c) { return state.trace === false ? "no (tracing off)" : c.traced; }

function renderConnections() {
  const t0 = performance.now();
  const tb = $("conn-table").tBodies[0];
  const q = $("conn-filter").value.trim().toLowerCase();
  let rows = state.conns;
  if (q) rows = rows.filter((c) => [String(c.id), c.direction, c.state, c.local, c.remote, c.traced].some((v) => (v || "").toLowerCase().includes(q)));
  const key = CONN_KEYS[state.connSort.key] || CONN_KEYS.id, dir = state.connSort.dir;
  rows = rows.slice().sort((a, b) => { const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * dir || a.id - b.id; });
  const pages = Math.max(1, Math.ceil(rows.length / CONN_PAGE));
  state.connPage = Math.min(state.connPage, pages - 1);
  const from = state.connPage * CONN_PAGE;
  const page = rows.slice(from, from + CONN_PAGE);
  tb.textContent = "";
  $("conn-count").textContent = fmtInt(state.conns.length);
  $("conn-page").textContent = rows.length ? fmtInt(from + 1) + "–" + fmtInt(from + page.length) + " of " + fmtInt(rows.length) : "0 of " + fmtInt(state.conns.length);
  $("conn-prev").disabled = state.connPage === 0;
  $("conn-next").disabled = state.connPage >= pages - 1;
  $("conn-empty").textContent = state.conns.length ? "No connection matches the filter." : "No open connections.";
  $("conn-empty").classList.toggle("hidden", rows.length > 0);
  for (const th of $("conn-table").tHead.rows[0].cells) {
    th.classList.toggle("sorted", th.dataset.sort === state.connSort.key);
    th.dataset.dir = th.dataset.sort === state.connSort.key ? (dir > 0 ? "asc" : "desc") : "";
  }
  for (const c of page) {
    const tr = document.createElement("tr");
    tr.dataset.id = c.id;
    tr.title = "Show every event of connection " + c.id;
    tr.addEventListener("click", (ev) => { if (!ev.target.closest("button, a")) openConnection(c.id, 0); });
    if (state.connPicked && !state.run && $("f-conn").value.trim() === String(c.id)) tr.classList.add("picked");
    cell(tr, c.id, "num");
    cell(tr, c.direction);
    cell(tr, c.state);
    cell(tr, c.local || "");
    cell(tr, c.remote || "");
    cell(tr, fmtAge(c.opened)).title = c.opened;
    cell(tr, fmtInt(c.msgs_in) + " / " + fmtInt(c.msgs_out), "num");
    cell(tr, fmtBytes(c.bytes_in) + " / " + fmtBytes(c.bytes_out), "num");
    cell(tr, c.queued_writes ? c.queued_writes + " (" + fmtBytes(c.queued_bytes) + ")" : "");
    tcpCells(tr, c);
    const tc = cell(tr, tracedText(c), "traced");
    tc.dataset.traced = state.trace === false ? "no" : c.traced;
    const td = cell(tr, "", "actions");
    const b = document.createElement("button");
    b.className = "btn small danger close-btn"; b.type = "button";
    b.textContent = state.armed === c.id ? "Confirm close" : "Close";
    if (state.armed === c.id) b.classList.add("armed");
    b.title = "Close connection " + c.id + " (asks to confirm)";
    b.addEventListener("click", () => closeConn(c.id, b));
    td.appendChild(b);
    const lb = document.createElement("button");
    lb.className = "btn small ghost ladder-btn"; lb.type = "button"; lb.textContent = "calls";
    lb.title = "The calls of connection " + c.id + " (a ladder when there is one)";
    lb.addEventListener("click", () => openCallsOf({ conn_id: c.id, kind: "connection", time: new Date().toISOString() }));
    td.appendChild(document.createTextNode(" "));
    td.appendChild(lb);
    const pc = document.createElement("a");
    pc.className = "btn small ghost"; pc.textContent = "pcap";
    pc.href = API + "/pcap?conn=" + encodeURIComponent(c.id); pc.setAttribute("download", "");
    td.appendChild(document.createTextNode(" "));
    td.appendChild(pc);
    tb.appendChild(tr);
  }
  $("conn-table").dataset.renderMs = (performance.now() - t0).toFixed(1);
}

// ---- the kernel's view (TCP_INFO) ----
function fmtRTT(us) { return us >= 1000 ? (us / 1000).toFixed(1) + " ms" : us + " µs"; }

// tcpText is one line of a connection's figures, for the chip and the log.
function tcpText(t) {
  return "RTT " + fmtRTT(t.rtt_us) + " · " + t.total_retrans + " retrans · send-q " + fmtBytes(t.send_queue) +
    " · recv-q " + fmtBytes(t.recv_queue) + " · window " + fmtBytes(t.snd_wnd) + " · " + t.state;
}

// tcpCells adds the RTT, retransmits and queue cells of a connection row
// (empty before its first reading: tcp_info_interval) and marks a slow peer.
function tcpCells(tr, c) {
  const t = c.tcp;
  cell(tr, t ? fmtRTT(t.rtt_us) : "", "num");
  cell(tr, t ? t.total_retrans + (t.retransmits ? " (" + t.retransmits + " now)" : "") : "", "num");
  const q = cell(tr, t ? fmtBytes(t.send_queue) + " / " + fmtBytes(t.recv_queue) : "", "num");
  if (!t) return;
  tr.dataset.sendq = t.send_queue;
  q.title = tcpText(t) + " (read " + fmtTime(t.at) + ")";
  if (c.tcp_concern) {
    tr.classList.add("slow");
    tr.dataset.concern = c.tcp_concern;
    const b = document.createElement("span");
    b.className = "concern"; b.textContent = c.tcp_concern;
    q.appendChild(b);
  }
}

// showConnTCP shows the figures of an opened connection, read now.
async function showConnTCP(id) {
  const el = $("conn-chip-tcp");
  el.textContent = "";
  try {
    const c = await api("GET", "/connections/" + encodeURIComponent(id));
    if (c.tcp && $("f-conn").value.trim() === String(id)) {
      el.textContent = " · " + tcpText(c.tcp) + (c.tcp_concern ? " · " + c.tcp_concern : "");
      el.classList.toggle("bad-tcp", !!c.tcp_concern);
    }
  } catch (e) { /* closed: its CLOSED event has the last figures */ }
}

let armTimer = 0;
// closeConn closes a connection on the second click: the first arms the
// button for a few seconds.
async function closeConn(id, button) {
  if (state.armed !== id) {
    state.armed = id;
    button.textContent = "Confirm close";
    button.classList.add("armed");
    clearTimeout(armTimer);
    armTimer = setTimeout(() => { state.armed = 0; renderConnections(); }, 4000);
    return;
  }
  state.armed = 0;
  try {
    await api("DELETE", "/connections/" + encodeURIComponent(id));
    notice("");
    pollConnections();
  } catch (e) {
    notice(e.status === 401 ? "Closing a connection needs the token." : "Could not close connection " + id + ": " + e.message, true);
  }
}

function initConnControls() {
  $("conn-filter").addEventListener("input", () => { state.connPage = 0; renderConnections(); });
  $("conn-prev").addEventListener("click", () => { state.connPage = Math.max(0, state.connPage - 1); renderConnections(); });
  $("conn-next").addEventListener("click", () => { state.connPage++; renderConnections(); });
  for (const th of $("conn-table").tHead.rows[0].cells) {
    if (!th.dataset.sort) continue;
    th.tabIndex = 0;
    th.title = "Sort by this column";
    const sort = () => {
      const k = th.dataset.sort;
      state.connSort = { key: k, dir: state.connSort.key === k ? -state.connSort.dir : 1 };
      renderConnections();
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (e) => { if (e.key === "Enter") sort(); });
  }
}

// ---- events ----
// The log shows either the live ring (state.mode "live", filtered in the
// page) or the history store (state.mode "history", filtered by the server,
// paged by cursor). state.run narrows a connection filter to one run of
// sipwire; it is set by opening a connection's history.
const HISTORY_PAGE = 100;
const RANGES = { "15m": 15 * 60e3, "1h": 3600e3, "24h": 24 * 3600e3, "7d": 7 * 24 * 3600e3 };

function filters() {
  return {
    kind: $("f-kind").value,
    status: $("f-status").value,
    conn: $("f-conn").value.trim(),
    addr: $("f-addr").value.trim(),
    callID: $("f-callid").value.trim(),
    text: $("f-text").value.trim(),
  };
}

function matches(e, f) {
  if (f.kind && e.kind !== f.kind) return false;
  if (f.status && e.status !== f.status) return false;
  if (f.conn && String(e.conn_id) !== f.conn) return false;
  if (f.text && !(e.reason || "").toLowerCase().includes(f.text.toLowerCase())) return false;
  if (f.addr) {
    const a = [e.local, e.remote, e.listener].filter(Boolean);
    if (!a.some((x) => x === f.addr || x.startsWith(f.addr + ":") || x.startsWith("[" + f.addr + "]:") || x.includes(f.addr))) return false;
  }
  return true;
}

function fmtWhen(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const t = fmtTime(iso);
  if (d.toDateString() === new Date().toDateString()) return t;
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0") + " " + t;
}

function eventRow(e, fresh) {
  const tr = document.createElement("tr");
  tr.dataset.seq = e.seq;
  tr.dataset.kind = e.kind;
  tr.dataset.conn = e.conn_id;
  if (e.run) tr.dataset.run = e.run;
  if (fresh) tr.className = "fresh";
  cell(tr, e.seq, "num");
  cell(tr, state.mode === "history" ? fmtWhen(e.time) : fmtTime(e.time)).title = e.time;
  const k = cell(tr, "");
  const span = document.createElement("span");
  span.className = "kind " + (PLAIN_KINDS.has(e.kind) ? e.kind : e.status === "FAILURE" ? "err" : "note");
  span.textContent = e.kind;
  k.appendChild(span);
  cell(tr, e.status, "st-" + e.status);
  const c = cell(tr, "", "num");
  if (e.conn_id) {
    const a = document.createElement("a");
    a.className = "connlink"; a.href = "#"; a.textContent = e.conn_id;
    a.title = "Show every event of connection " + e.conn_id + (e.run ? " (run " + e.run + ")" : "");
    a.addEventListener("click", (ev) => { ev.preventDefault(); openConnection(e.conn_id, e.run || 0); });
    c.appendChild(a);
    if (e.run && e.run !== state.historyRun) {
      const r = document.createElement("span");
      r.className = "run"; r.textContent = "r" + e.run;
      r.title = "run " + e.run + " of sipwire (connection ids are unique within a run)";
      c.appendChild(r);
    }
  }
  const lc = cell(tr, "");
  if (e.conn_id && !(e.run && e.run !== state.historyRun)) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "btn small ghost ladder-btn"; b.textContent = "ladder";
    b.title = "The calls of connection " + e.conn_id + " as a ladder";
    b.addEventListener("click", () => openCallsOf(e));
    lc.appendChild(b);
  }
  cell(tr, e.direction);
  cell(tr, e.local || "");
  cell(tr, e.remote || "");
  const rc = cell(tr, e.reason || "", "reason");
  if (e.tcp) {
    const t = document.createElement("span");
    t.className = "tcp"; t.textContent = " · " + tcpText(e.tcp);
    rc.appendChild(t);
  }
  return tr;
}

function showEmpty(text) {
  $("ev-empty").textContent = text || "";
  $("ev-empty").classList.toggle("hidden", !text);
}

function renderEvents() {
  if (state.mode !== "live") return;
  const tb = $("event-log").tBodies[0];
  tb.textContent = "";
  const f = filters();
  const rows = state.events.filter((e) => matches(e, f));
  for (let i = rows.length - 1; i >= 0; i--) tb.appendChild(eventRow(rows[i], false));
  $("ev-count").textContent = rows.length + " of " + state.events.length + " events";
  showEmpty(rows.length ? "" : state.events.length ? "No recent event matches the filters." : "No events yet.");
}

function addEvent(e) {
  if (e.seq <= state.lastSeq) return;
  state.lastSeq = e.seq;
  state.events.push(e);
  if (state.events.length > MAX_EVENTS) state.events.shift();
  if (state.mode !== "live" || $("f-pause").checked) return;
  const tb = $("event-log").tBodies[0];
  if (matches(e, filters())) {
    tb.insertBefore(eventRow(e, true), tb.firstChild);
    while (tb.rows.length > MAX_EVENTS) tb.deleteRow(tb.rows.length - 1);
    showEmpty("");
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

// EventSource sends no header: with a token, the stream URL carries a
// short-lived ticket (POST /events/ticket), never the token itself.
async function connectStream(since) {
  if (state.source) state.source.close();
  let url = API + "/events/stream?since=" + since;
  if (token()) {
    try { url += "&ticket=" + encodeURIComponent((await api("POST", "/events/ticket")).ticket); } catch (e) { /* the stream says */ }
  }
  const es = new EventSource(url);
  state.source = es;
  es.addEventListener("hello", (m) => {
    const h = JSON.parse(m.data);
    if ((state.runID && h.run_id && h.run_id !== state.runID) || h.last_seq < state.lastSeq) {
      // A restarted sipwire: its event numbers start again from 1.
      es.close();
      api("GET", "/stats").then(resync, () => resync(null));
      return;
    }
    showTrace(h.trace === "on");
    const live = $("live"); live.textContent = "live"; live.className = "live on";
  });
  es.addEventListener("gap", (m) => {
    const g = JSON.parse(m.data);
    notice("The page fell behind the event stream and missed " + g.missed + " events.", false);
  });
  es.onmessage = (m) => addEvent(JSON.parse(m.data));
  es.onerror = () => {
    if (state.source !== es) return;
    const live = $("live"); live.textContent = "reconnecting"; live.className = "live off";
    // Refused (an expired ticket, a missing token): reconnect with a new one.
    if (es.readyState === EventSource.CLOSED && state.source === es) setTimeout(() => connectStream(state.lastSeq), 3000);
  };
}

// Downloads (pcap, export) with a token: fetched with the header, saved
// from a blob.
async function download(href) {
  try {
    const res = await fetch(href, { headers: authHeaders() });
    if (!res.ok) throw new Error(res.status + " " + res.statusText);
    const m = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await res.blob());
    a.download = m ? m[1] : "sipwire-download";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) {
    notice("Download failed: " + e.message, true);
  }
}

// ---- event history ----
function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
}

// historyParams returns the query of the current filters for the history
// (without source, limit and cursor), or throws an Error saying what is wrong.
function historyParams() {
  const f = filters();
  const q = new URLSearchParams();
  const range = $("f-range").value;
  if (RANGES[range]) {
    q.set("since", new Date(Date.now() - RANGES[range]).toISOString());
  } else if (range === "custom") {
    const since = $("f-since").value, until = $("f-until").value;
    if (since) q.set("since", new Date(since).toISOString());
    if (until) q.set("until", new Date(until).toISOString());
  }
  if (f.kind) q.set("kind", f.kind);
  if (f.status) q.set("status", f.status);
  $("f-conn").classList.toggle("bad", !!f.conn && !/^\d+$/.test(f.conn));
  if (f.conn) {
    if (!/^\d+$/.test(f.conn)) throw new Error("A connection id is a number.");
    q.set("conn", f.conn);
    if (state.run) q.set("run", state.run);
  }
  if (f.addr) q.set("addr", f.addr);
  if (f.callID) q.set("call_id", f.callID);
  if (f.text) q.set("text", f.text);
  return q;
}

function historyStatus(text, isError) {
  const s = $("ev-status");
  s.textContent = text || "";
  s.classList.toggle("err", !!isError);
}

// queryHistory runs the query of the current filters; more=true fetches the
// next (older) page of the current one.
async function queryHistory(more) {
  if (state.mode !== "history") return;
  let q;
  try {
    q = more ? new URLSearchParams(state.hist.query) : historyParams();
  } catch (e) {
    historyStatus(e.message, true);
    return;
  }
  const gen = ++state.hist.gen;
  if (!more) state.hist.query = q.toString();
  q.set("source", "history");
  q.set("limit", HISTORY_PAGE);
  if (more && state.hist.cursor) q.set("cursor", state.hist.cursor);
  $("ev-older").disabled = true;
  historyStatus("Searching…");
  try {
    const r = await api("GET", "/events?" + q.toString());
    if (gen !== state.hist.gen) return;
    state.hist.events = more ? state.hist.events.concat(r.events) : r.events;
    state.hist.cursor = r.next_cursor || "";
    historyStatus("");
    renderHistory();
  } catch (e) {
    if (gen !== state.hist.gen) return;
    historyStatus("The history did not answer: " + e.message, true);
  } finally {
    if (gen === state.hist.gen) $("ev-older").disabled = false;
  }
}

function renderHistory() {
  const tb = $("event-log").tBodies[0];
  tb.textContent = "";
  for (const e of state.hist.events) tb.appendChild(eventRow(e, false));
  const n = state.hist.events.length;
  $("ev-count").textContent = n + (state.hist.cursor ? "+" : "") + " stored event" + (n === 1 ? "" : "s");
  $("ev-older").classList.toggle("hidden", !state.hist.cursor);
  showEmpty(n ? "" : "No stored event matches the filters and the time range.");
  updateExportLinks();
}

function updateExportLinks() {
  let q;
  try { q = historyParams(); } catch (e) { return; }
  for (const fmt of ["jsonl", "csv"]) {
    const p = new URLSearchParams(q);
    p.set("format", fmt);
    $("export-" + fmt).href = API + "/events/export?" + p.toString();
  }
}

function showHistoryStats(h) {
  if (!h || !h.enabled) { $("hist-stats").textContent = ""; return; }
  let t = fmtInt(h.events_stored) + " events stored · " + fmtBytes(h.size_bytes);
  if (h.oldest_event) t += " · oldest " + fmtWhen(h.oldest_event);
  if (h.events_dropped) t += " · " + fmtInt(h.events_dropped) + " dropped";
  $("hist-stats").textContent = t;
}

// setHistoryAvailable enables the History switch from /stats: on says
// whether the server has the history, h is the store's counters (if shown).
function setHistoryAvailable(on, h) {
  state.historyRun = on && h ? h.run || 0 : 0;
  const b = $("src-history");
  b.disabled = !on;
  b.title = on ? "Stored events: any time range, every filter, export" :
    "The event history is off" + (h && h.last_error ? ": " + h.last_error : " (history in the config)");
  if (!on && state.mode === "history") setMode("live");
  showHistoryStats(h);
}

function setMode(mode) {
  if (mode === "history" && $("src-history").disabled) return;
  state.mode = mode;
  const p = $("events-panel");
  p.classList.toggle("live", mode === "live");
  p.classList.toggle("history", mode === "history");
  for (const [id, m] of [["src-live", "live"], ["src-history", "history"]]) {
    $(id).classList.toggle("on", mode === m);
    $(id).setAttribute("aria-pressed", mode === m ? "true" : "false");
  }
  if (mode === "history") {
    state.hist.events = [];
    state.hist.cursor = "";
    queryHistory(false);
  } else {
    state.hist.gen++;
    historyStatus("");
    $("f-conn").classList.remove("bad");
    renderEvents();
  }
}

function showConnChip() {
  const conn = $("f-conn").value.trim();
  const chip = $("conn-chip");
  chip.classList.toggle("hidden", !conn || !state.connPicked);
  if (!conn) return;
  let t = "Connection " + conn;
  if (state.mode === "history") t += state.run && state.run !== state.historyRun ? " · run " + state.run : " · this run";
  $("conn-chip-text").textContent = t;
  for (const tr of $("conn-table").tBodies[0].rows) tr.classList.toggle("picked", tr.dataset.id === conn && !state.run);
}

// openConnection shows every event of one connection: its whole stored
// history when the history is on, else what the live ring holds.
function openConnection(id, run) {
  for (const f of ["f-kind", "f-status", "f-addr", "f-callid", "f-text"]) $(f).value = "";
  $("f-conn").value = String(id);
  state.run = run && run !== state.historyRun ? run : 0;
  state.connPicked = true;
  if (!$("src-history").disabled) {
    $("f-range").value = "all";
    $("custom-range").classList.add("hidden");
    if (state.mode === "history") queryHistory(false); else setMode("history");
  } else {
    renderEvents();
  }
  showConnChip();
  if (!state.run) showConnTCP(id);
  $("events-panel").scrollIntoView({ behavior: "smooth", block: "start" });
}

function clearConnection() {
  $("f-conn").value = "";
  $("conn-chip-tcp").textContent = "";
  state.run = 0;
  state.connPicked = false;
  showConnChip();
  filtersChanged();
}

let filterTimer = 0;
// filtersChanged re-applies the filters: at once in the live log, after a
// short pause in typing for the history.
function filtersChanged(now) {
  if (state.mode !== "history") { renderEvents(); return; }
  clearTimeout(filterTimer);
  if (now) queryHistory(false); else filterTimer = setTimeout(() => queryHistory(false), 350);
}

function resetFilters() {
  for (const f of ["f-kind", "f-status", "f-conn", "f-addr", "f-callid", "f-text", "f-since", "f-until"]) $(f).value = "";
  $("f-range").value = "1h";
  $("custom-range").classList.add("hidden");
  state.run = 0;
  state.connPicked = false;
  showConnChip();
  filtersChanged(true);
}

function initEventControls() {
  for (const k of KINDS) {
    const o = document.createElement("option");
    o.value = k; o.textContent = k;
    $("f-kind").appendChild(o);
  }
  $("src-live").addEventListener("click", () => { setMode("live"); showConnChip(); });
  $("src-history").addEventListener("click", () => { setMode("history"); showConnChip(); });
  for (const id of ["f-kind", "f-status"]) $(id).addEventListener("change", () => filtersChanged(true));
  for (const id of ["f-addr", "f-callid", "f-text"]) {
    $(id).addEventListener("input", () => filtersChanged(false));
    $(id).addEventListener("keydown", (e) => { if (e.key === "Enter") filtersChanged(true); });
  }
  $("f-conn").addEventListener("input", () => { state.run = 0; state.connPicked = false; showConnChip(); filtersChanged(false); });
  $("f-conn").addEventListener("keydown", (e) => { if (e.key === "Enter") filtersChanged(true); });
  $("f-range").addEventListener("change", () => {
    const custom = $("f-range").value === "custom";
    $("custom-range").classList.toggle("hidden", !custom);
    if (custom && !$("f-since").value) {
      $("f-since").value = localInput(new Date(Date.now() - 3600e3));
      $("f-until").value = localInput(new Date());
    }
    filtersChanged(true);
  });
  for (const id of ["f-since", "f-until"]) $(id).addEventListener("change", () => filtersChanged(true));
  $("f-reset").addEventListener("click", resetFilters);
  $("f-pause").addEventListener("change", renderEvents);
  $("ev-clear").addEventListener("click", () => { state.events = []; renderEvents(); });
  $("ev-older").addEventListener("click", () => queryHistory(true));
  $("ev-refresh").addEventListener("click", () => filtersChanged(true));
  $("conn-chip-clear").addEventListener("click", clearConnection);
  // A relative range moves with the clock: the link is rebuilt on click.
  for (const fmt of ["jsonl", "csv"]) $("export-" + fmt).addEventListener("click", updateExportLinks);
}

// ---- calls and the ladder ----
// The calls of the traced-message ring (GET /calls), searched by Call-ID;
// a call opens as a ladder (GET /calls/{id}/ladder): one column per
// address:port, an arrow per message in wire order, the connections'
// events on the same time line, the raw message on click.
const LADDER_NEARBY_MS = 2000;
const CALLS_POLL_MS = 5000;

function callPath(id, what) { return API + "/calls/" + encodeURIComponent(id) + "/" + what; }

async function searchCalls(params, chip) {
  const q = new URLSearchParams(params || {});
  const text = $("call-search").value.trim();
  if (text && !q.has("conn")) q.set("search", text);
  $("calls-status").textContent = "Searching…";
  try {
    const r = await api("GET", "/calls?" + q.toString());
    $("calls-status").textContent = "";
    renderCalls(r.calls, r.matched, r.held, chip);
    return r;
  } catch (e) {
    $("calls-status").textContent = "The calls did not answer: " + e.message;
    return null;
  }
}

function renderCalls(calls, matched, held, chip) {
  const tb = $("calls-table").tBodies[0];
  tb.textContent = "";
  $("calls-count").textContent = fmtInt(held);
  $("calls-chip").classList.toggle("hidden", !chip);
  $("calls-chip-text").textContent = chip || "";
  for (const c of calls) {
    const tr = document.createElement("tr");
    tr.dataset.callId = c.call_id;
    tr.title = "Open the ladder of " + c.call_id;
    tr.addEventListener("click", () => openLadder(c.call_id));
    cell(tr, c.call_id, "callid");
    cell(tr, c.start_line, "startline");
    cell(tr, c.messages, "num");
    cell(tr, fmtTime(c.last)).title = c.last;
    cell(tr, (c.conns || []).join(", "));
    tb.appendChild(tr);
  }
  const empty = calls.length ? "" : held ? "No call matches." : "No traced message held: turn tracing on.";
  $("calls-empty").textContent = empty;
  $("calls-empty").classList.toggle("hidden", !empty);
  if (matched > calls.length) $("calls-status").textContent = calls.length + " of " + fmtInt(matched) + " matching calls shown";
}

// openCallsOf opens the call of an event's connection: the ladder at once
// when the connection carried one call, the list when several; for a
// connection without messages (a failed connect), the calls under way
// around the event.
async function openCallsOf(e) {
  const r = await searchCalls({ conn: e.conn_id, limit: 200 }, "Connection " + e.conn_id);
  if (!r) return;
  if (r.calls.length === 1) { openLadder(r.calls[0].call_id); return; }
  if (r.calls.length === 0) {
    const all = await api("GET", "/calls?limit=1000").catch(() => null);
    const t = Date.parse(e.time);
    // How far a call's messages are from the event: 0 when it was under way.
    const dist = (c) => Math.max(0, Date.parse(c.first) - t, t - Date.parse(c.last));
    const near = all ? all.calls.filter((c) => dist(c) <= LADDER_NEARBY_MS).sort((a, b) => dist(a) - dist(b)) : [];
    renderCalls(near, near.length, all ? all.held : 0, "Around " + e.kind + " of connection " + e.conn_id);
    if (near.length) { openLadder(near[0].call_id); return; }
    $("calls-empty").textContent = "Connection " + e.conn_id + " carried no traced message, and no call was under way around its " + e.kind + ".";
  }
  $("calls-panel").scrollIntoView({ behavior: "smooth", block: "start" });
}

// microsOf is an RFC 3339 time in microseconds since the epoch (Date keeps
// milliseconds only).
function microsOf(iso) {
  const frac = (iso.match(/\.(\d+)/) || ["", "0"])[1].padEnd(6, "0").slice(0, 6);
  return Date.parse(iso) * 1000 + (Number(frac) % 1000);
}

function fmtDelta(ms) {
  if (ms < 1) return "+" + (ms * 1000).toFixed(0) + " µs";
  if (ms < 1000) return "+" + ms.toFixed(ms < 10 ? 1 : 0) + " ms";
  return "+" + (ms / 1000).toFixed(2) + " s";
}

async function openLadder(callID) {
  let l;
  try {
    l = await api("GET", "/calls/" + encodeURIComponent(callID) + "/ladder");
  } catch (e) {
    notice("Could not open the call " + callID + ": " + e.message, true);
    return;
  }
  const t0 = performance.now();
  renderLadder(l);
  $("ladder-panel").dataset.renderMs = (performance.now() - t0).toFixed(1);
  $("ladder-panel").classList.remove("hidden");
  $("ladder-close").focus();
}

function closeLadder() {
  $("ladder-panel").classList.add("hidden");
  $("ladder-raw").classList.add("hidden");
}

// ladderItems merges the messages (wire order) and the events (by time, to
// the microsecond: an event in the same millisecond as a message still
// falls on its side of it).
function ladderItems(l) {
  const out = [];
  let i = 0;
  for (const m of l.messages) {
    while (i < l.events.length && microsOf(l.events[i].time) <= microsOf(m.time)) out.push({ ev: l.events[i++] });
    out.push({ msg: m });
  }
  while (i < l.events.length) out.push({ ev: l.events[i++] });
  return out;
}

function renderLadder(l) {
  $("ladder-title").textContent = "Call " + l.call_id;
  $("ladder-pcap").href = callPath(l.call_id, "pcap");
  const cols = l.columns.slice();
  for (const e of l.events) {
    for (const a of [e.local, e.remote]) if (a && !cols.includes(a)) cols.push(a);
  }
  const x = (a) => ((cols.indexOf(a) + 0.5) * 100) / cols.length;
  const lad = $("ladder");
  lad.textContent = "";
  lad.style.setProperty("--cols", cols.length);
  const head = document.createElement("div");
  head.className = "lrow lhead";
  head.appendChild(Object.assign(document.createElement("span"), { className: "lt", textContent: "time" }));
  head.appendChild(Object.assign(document.createElement("span"), { className: "ld", textContent: "delta" }));
  const hl = document.createElement("div");
  hl.className = "lanes";
  // sipwire's own addresses: where it reads (in) and writes (out).
  const own = new Set(l.messages.map((m) => (m.direction === "in" ? m.dst : m.src)));
  cols.forEach((a) => {
    const c = document.createElement("span");
    c.className = "lcol" + (own.has(a) ? " own" : ""); c.textContent = a; c.title = a + (own.has(a) ? " (sipwire)" : "");
    c.style.left = (x(a) - 50 / cols.length) + "%"; c.style.width = (100 / cols.length) + "%";
    hl.appendChild(c);
  });
  head.appendChild(hl);
  lad.appendChild(head);
  let prev = null;
  for (const it of ladderItems(l)) {
    const row = document.createElement("div");
    const when = (it.msg || it.ev).time;
    const at = microsOf(when);
    const lt = Object.assign(document.createElement("span"), { className: "lt", title: when });
    const ft = fmtTime(when);
    lt.appendChild(Object.assign(document.createElement("span"), { className: "hm", textContent: ft.slice(0, 6) }));
    lt.appendChild(document.createTextNode(ft.slice(6)));
    row.appendChild(lt);
    row.appendChild(Object.assign(document.createElement("span"), { className: "ld", textContent: prev === null ? "" : fmtDelta(Math.max(0, at - prev) / 1000) }));
    prev = at;
    const lanes = document.createElement("div");
    lanes.className = "lanes";
    cols.forEach((a) => {
      const v = document.createElement("span");
      v.className = "lline"; v.style.left = x(a) + "%";
      lanes.appendChild(v);
    });
    if (it.msg) {
      const m = it.msg;
      row.className = "lrow msg";
      row.dataset.type = "msg";
      row.dataset.label = m.label;
      row.dataset.dir = m.direction;
      row.dataset.conn = m.conn_id;
      row.dataset.seq = m.seq;
      row.dataset.cseq = m.cseq || "";
      row.title = m.start_line + "  (" + m.bytes + " bytes, connection " + m.conn_id + ")";
      const a = x(m.src), b = x(m.dst);
      const ar = document.createElement("div");
      ar.className = "arrow " + (b >= a ? "right" : "left") + (/^[3-6]\d\d/.test(m.label) ? " err" : /^[12]\d\d/.test(m.label) ? " resp" : "");
      ar.style.left = Math.min(a, b) + "%"; ar.style.width = Math.abs(b - a) + "%";
      const lab = document.createElement("span");
      lab.textContent = m.label; lab.className = "alabel";
      ar.appendChild(lab);
      lanes.appendChild(ar);
      row.addEventListener("click", () => {
        for (const r of lad.querySelectorAll(".lrow.picked")) r.classList.remove("picked");
        row.classList.add("picked");
        const raw = $("ladder-raw");
        raw.textContent = m.direction + " " + m.src + " → " + m.dst + " · connection " + m.conn_id + " · " + m.time + "\n\n" + m.data;
        raw.classList.remove("hidden");
      });
    } else {
      const e = it.ev;
      row.className = "lrow ev" + (e.nearby ? " nearby" : "");
      row.dataset.type = "event";
      row.dataset.kind = e.kind;
      row.dataset.conn = e.conn_id;
      row.title = e.kind + " " + e.status + " · connection " + e.conn_id + (e.nearby ? " (carried none of this call's messages)" : "") + (e.reason ? " · " + e.reason : "");
      const pts = [e.local, e.remote].filter((a) => a && cols.includes(a)).map(x);
      const lo = Math.min(...pts), hi = Math.max(...pts);
      const mk = document.createElement("div");
      mk.className = "evmark " + (e.status === "FAILURE" ? "bad" : "ok");
      mk.style.left = lo + "%"; mk.style.width = Math.max(0, hi - lo) + "%";
      const lab = document.createElement("span");
      lab.className = "elabel";
      lab.textContent = e.kind + (e.reason && e.kind !== "ACCEPTED" && e.kind !== "CONNECTED" ? " · " + e.reason : "") + (e.nearby ? " (nearby)" : "");
      if (lo > 55) mk.classList.add("toleft"); // the label reads leftwards from a right-hand column
      mk.appendChild(lab);
      lanes.appendChild(mk);
    }
    row.appendChild(lanes);
    lad.appendChild(row);
  }
  const conns = l.conns.join(", ");
  $("ladder-sub").textContent = l.messages.length + " messages · " + l.events.length + " connection events · connection" + (l.conns.length > 1 ? "s " : " ") + conns + " · click a message for its text";
}

// ---- start ----
function init() {
  initEventControls();
  $("token").value = token();
  $("token-save").addEventListener("click", () => {
    const v = $("token").value.trim();
    if (v) sessionStorage.setItem("sipwire.token", v); else sessionStorage.removeItem("sipwire.token");
    notice(v ? "Token kept for this tab." : "Token cleared.", false);
    setTimeout(() => notice(""), 2500);
    pollStats(); pollConnections(); loadEvents().then(connectStream);
  });
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[download]");
    if (!a || !token() || ev.defaultPrevented) return;
    ev.preventDefault();
    download(a.href);
  });
  $("token").addEventListener("keydown", (e) => { if (e.key === "Enter") $("token-save").click(); });
  $("trace-toggle").addEventListener("click", toggleTrace);
  window.addEventListener("resize", drawChart);
  $("call-search-go").addEventListener("click", () => searchCalls({}, ""));
  $("call-search").addEventListener("keydown", (e) => { if (e.key === "Enter") searchCalls({}, ""); });
  $("calls-chip-clear").addEventListener("click", () => searchCalls({}, ""));
  $("ladder-close").addEventListener("click", closeLadder);
  $("ladder-panel").addEventListener("click", (e) => { if (e.target === $("ladder-panel")) closeLadder(); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeLadder(); });
  searchCalls({}, "");
  // The list of calls follows new traffic, unless it shows one
  // connection's calls or those around an event.
  setInterval(() => { if ($("calls-chip").classList.contains("hidden") && !document.hidden) searchCalls({}, ""); }, CALLS_POLL_MS);

  initConnControls();
  loadTimeline().then(pollStats);
  pollConnectionsLoop();
  setInterval(pollStats, 1000);
  loadEvents().then(connectStream);
}

document.addEventListener("DOMContentLoaded", init);
