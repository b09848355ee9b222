package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/deploy/testtool"
	"github.com/sipwire/sipwire/hep"
)

// envArtifacts names the directory where the dashboard's screenshots go;
// without it they go to the test's temporary directory.
const envArtifacts = "SIPWIRE_ARTIFACTS"

// TestDashboardWithSIPp is the operator's walk through the dashboard in
// headless Chromium, against sipwire as it runs (forwarder, HEP, history):
// SIPp calls through the forwarder; a call's ladder opens from the event
// log, with its 12 messages in wire order and the connections' events on
// the same time line; tracing switched off elsewhere shows in the trace
// state, the connection table's Traced column and /api/v1/config;
// sipwire restarts and the page resynchronises. Screenshots at 1400x900
// and 390x844, where nothing overflows the page's width.
func TestDashboardWithSIPp(t *testing.T) {
	sipp := testtool.Program(t, "sipp", "sip-tester")
	ctx := dashboardBrowser(t)
	uasPort := freeTCPPort(t)
	col := serveHEP(t, 1<<20, func(*hep.Packet) {})
	cfg := testConfig(t, col.LocalAddr().String(), "")
	cfg.Forward.URI = "sip:127.0.0.1:" + strconv.Itoa(uasPort) + ";transport=tcp"
	cfg.TraceOn = true
	cfg.History.Enabled = true
	cfg.History.Path = filepath.Join(t.TempDir(), "history.db")
	webAddr := "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
	a := startWebApp(t, cfg, webAddr)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			stopApp(t, a)
		}
	})
	base := "http://" + webAddr

	// Five calls of SIPp's uac through the forwarder to its uas.
	const calls = 5
	runSIPpCalls(t, sipp, uasPort, a.listeners[0].String(), calls)
	if st := a.pcap.Stats(); st.Messages != 12*calls {
		t.Errorf("the pcap ring holds %d messages of %d calls, want %d", st.Messages, calls, 12*calls)
	} else {
		t.Logf("a SIPp call through the forwarder: %d bytes of messages in the pcap ring", st.Bytes/calls)
	}
	var clientConn uint64
	for _, e := range apiEvents(t, base, "kind=ACCEPTED") {
		clientConn = e.ConnID
	}
	if clientConn == 0 {
		t.Fatal("no ACCEPTED event for SIPp's connection")
	}

	doCDP(t, ctx, chromedp.EmulateViewport(1400, 900), chromedp.Navigate(base+"/"))
	waitPage(t, ctx, "the live stream", `document.getElementById("live").classList.contains("on")`)
	waitPage(t, ctx, "the health strip", `document.querySelectorAll("#health .hitem").length >= 4 &&
		document.querySelector('#health [data-health="upstream"]').dataset.level === "ok" &&
		document.querySelector('#health [data-health="hep-t"] .hstate').textContent === "up"`)
	waitPage(t, ctx, "the chart's timeline", `state.rates.length > 0 && state.rates.some(r => r.msg > 0)`)
	// An idle timeout (a SUCCESS close) is no error: not red in the log,
	// not a limit hit in the health strip or the counters.
	if got := evalString(t, ctx, `(() => {
		const row = eventRow({seq: 1, time: new Date().toISOString(), kind: "IDLE_TIMEOUT", status: "SUCCESS", conn_id: 9, direction: "in", reason: "idle"}, false);
		const t = {bad_messages: 0, too_large: 0, chunk_limits: 0, message_timeouts: 0, queue_full: 0, write_timeouts: 0, idle_timeouts: 7,
			refused: 0, handler_panics: 0, connect_failures: 0, read_errors: 0, write_errors: 0};
		const lim = healthItems({transport: t, exporters: {}}).find(i => i.id === "limits");
		return row.querySelector(".kind").className + "/" + lim.level + "/" + limitHits(t); })()`); got != "kind note/ok/0" {
		t.Errorf("an IDLE_TIMEOUT: kind class, limits level, limit hits = %q, want kind note/ok/0", got)
	}

	// The ladder opens from the client connection's ACCEPTED in the event
	// log: it carried five calls, listed; the oldest opens.
	waitPage(t, ctx, "the ACCEPTED event", fmt.Sprintf(`!!document.querySelector('#event-log tbody tr[data-kind="ACCEPTED"][data-conn="%d"] .ladder-btn')`, clientConn))
	evalJS(t, ctx, fmt.Sprintf(`document.querySelector('#event-log tbody tr[data-kind="ACCEPTED"][data-conn="%d"] .ladder-btn').click()`, clientConn))
	waitPage(t, ctx, "the connection's calls", fmt.Sprintf(`document.querySelectorAll("#calls-table tbody tr").length === %d`, calls))
	evalJS(t, ctx, `const rows = document.querySelectorAll("#calls-table tbody tr"); rows[rows.length - 1].click()`)
	waitPage(t, ctx, "the ladder", `!document.getElementById("ladder-panel").classList.contains("hidden") &&
		document.querySelectorAll("#ladder .lrow.msg").length === 12`)
	var rows []ladderRow
	rowsJSON := evalString(t, ctx, `JSON.stringify([...document.querySelectorAll("#ladder .lrow[data-type]")].map(r => ({
		type: r.dataset.type, label: r.dataset.label || "", dir: r.dataset.dir || "", conn: Number(r.dataset.conn),
		cseq: r.dataset.cseq || "", kind: r.dataset.kind || "", seq: Number(r.dataset.seq || 0)})))`)
	if err := json.Unmarshal([]byte(rowsJSON), &rows); err != nil {
		t.Fatal(err)
	}
	checkLadderRows(t, rows, clientConn)
	// Within one millisecond, the microseconds order an event and a
	// message (JavaScript's Date keeps milliseconds only).
	if got := evalString(t, ctx, `ladderItems({messages: [{time: "2026-01-01T00:00:00.000100Z"}, {time: "2026-01-01T00:00:00.000900Z"}],
		events: [{time: "2026-01-01T00:00:00.000500Z"}]}).map(x => x.msg ? "m" : "e").join("")`); got != "mem" {
		t.Errorf("ladder order within a millisecond %q, want mem", got)
	}

	// A message's text on click.
	evalJS(t, ctx, `document.querySelectorAll("#ladder .lrow.msg")[0].click()`)
	waitPage(t, ctx, "the raw message", `(() => { const r = document.getElementById("ladder-raw");
		return !r.classList.contains("hidden") && r.textContent.includes("INVITE sip:") && r.textContent.includes("Call-ID:"); })()`)
	t.Logf("ladder rendered in %s ms", evalString(t, ctx, `document.getElementById("ladder-panel").dataset.renderMs`))
	shot(t, ctx, "ladder-1400x900.png")
	doCDP(t, ctx, chromedp.EmulateViewport(390, 844))
	waitPage(t, ctx, "the page at 390 px", `document.documentElement.clientWidth === 390`)
	shot(t, ctx, "ladder-390x844.png")
	checkNoOverflow(t, ctx)
	evalJS(t, ctx, `document.getElementById("ladder-close").click()`)
	doCDP(t, ctx, chromedp.EmulateViewport(1400, 900))

	// Its pcap is the call's 12 messages.
	if n := httpHeader(t, base+"/api/v1/calls/"+rowsCallID(t, ctx)+"/pcap", "X-Sipwire-Messages"); n != "12" {
		t.Errorf("the call's pcap holds %s messages, want 12", n)
	}

	// Tracing switched off elsewhere: the trace state, the open
	// connection's Traced and /api/v1/config follow.
	c := optionsConn(t, a.listeners[0].String(), "dashboard-traced")
	waitPage(t, ctx, "the open connection traced", fmt.Sprintf(`(() => { const r = [...document.querySelectorAll("#conn-table tbody tr")]
		.find(r => r.textContent.includes(%q)); return !!r && r.querySelector("td.traced").dataset.traced === "yes"; })()`, c.LocalAddr().String()))

	// The upstream is gone (SIPp's uas ended): the OPTIONS got a 503 after
	// a CONNECT_FAILED of a connection that carries no message. Its ladder
	// button opens the call under way around it, the failure drawn nearby.
	waitPage(t, ctx, "the CONNECT_FAILED event", `!!document.querySelector('#event-log tbody tr[data-kind="CONNECT_FAILED"] .ladder-btn')`)
	evalJS(t, ctx, `document.querySelector('#event-log tbody tr[data-kind="CONNECT_FAILED"] .ladder-btn').click()`)
	waitPage(t, ctx, "the ladder of the 503", `(() => {
		const msgs = [...document.querySelectorAll("#ladder .lrow.msg")].map(r => r.dataset.label);
		return !document.getElementById("ladder-panel").classList.contains("hidden") &&
			document.getElementById("ladder-title").textContent === "Call dashboard-traced" &&
			msgs.join(",") === "OPTIONS,503 Service Unavailable" &&
			!!document.querySelector('#ladder .lrow.ev.nearby[data-kind="CONNECT_FAILED"]'); })()`)
	waitPage(t, ctx, "the upstream failing", `document.querySelector('#health [data-health="upstream"]').dataset.level === "bad"`)
	shot(t, ctx, "ladder-503-1400x900.png")
	evalJS(t, ctx, `document.getElementById("ladder-close").click()`)

	putTrace(t, base, "off")
	waitPage(t, ctx, "Traced off", fmt.Sprintf(`document.getElementById("trace-state").dataset.state === "off" &&
		[...document.querySelectorAll("#conn-table tbody tr")].find(r => r.textContent.includes(%q)).querySelector("td.traced").dataset.traced === "no"`,
		c.LocalAddr().String()))
	if cfg := httpGet(t, base+"/api/v1/config"); !strings.Contains(cfg, `"trace_on":0`) {
		t.Errorf("/api/v1/config after tracing was switched off: %.300s", cfg)
	}
	putTrace(t, base, "on")
	waitPage(t, ctx, "Traced on", fmt.Sprintf(`document.getElementById("trace-state").dataset.state === "on" &&
		[...document.querySelectorAll("#conn-table tbody tr")].find(r => r.textContent.includes(%q)).querySelector("td.traced").dataset.traced === "yes"`,
		c.LocalAddr().String()))

	// The history's toggle keeps its size at 390 px.
	evalJS(t, ctx, `document.getElementById("src-history").click(); window.scrollTo(0, 0)`)
	shot(t, ctx, "dashboard-1400x900.png")
	doCDP(t, ctx, chromedp.EmulateViewport(390, 844))
	waitPage(t, ctx, "the page at 390 px", `document.documentElement.clientWidth === 390`)
	checkNoOverflow(t, ctx)
	evalJS(t, ctx, `window.scrollTo(0, 0)`)
	if w := evalString(t, ctx, `String(document.getElementById("src-history").getBoundingClientRect().width)`); mustFloat(t, w) < 50 {
		t.Errorf("the History toggle is %s px wide at 390 px", w)
	}
	shot(t, ctx, "dashboard-390x844.png")
	fullShot(t, ctx, "dashboard-390-full.png")
	evalJS(t, ctx, `document.getElementById("src-live").click()`)
	doCDP(t, ctx, chromedp.EmulateViewport(1400, 900))

	// A restart: the page says it cannot reach the API, then sees the new
	// run, shows its events from 1 and clears the notice.
	c.Close()
	oldRun := evalString(t, ctx, `document.body.dataset.runId`)
	stopApp(t, a)
	stopped = true
	waitPage(t, ctx, "the unreachable notice", `document.getElementById("notice").textContent.includes("Cannot reach")`)
	a = startWebApp(t, cfg, webAddr)
	stopped = false
	newRun := a.web.RunID()
	if newRun == oldRun {
		t.Fatalf("run id %s unchanged by a restart", newRun)
	}
	waitPage(t, ctx, "the new run", fmt.Sprintf(`document.body.dataset.runId === %q && !document.getElementById("notice").textContent.includes("Cannot reach") &&
		document.getElementById("live").classList.contains("on")`, newRun))
	c2 := optionsConn(t, a.listeners[0].String(), "dashboard-after-restart")
	defer c2.Close()
	waitPage(t, ctx, "the new run's events", fmt.Sprintf(`(() => { const rows = [...document.querySelectorAll('#event-log tbody tr[data-kind="ACCEPTED"]')];
		return rows.some(r => r.textContent.includes(%q)) && Number(rows[0].dataset.seq) < 10; })()`, c2.LocalAddr().String()))

	// The HEP collector goes away: the destination shows down (UDP: the
	// ICMP refusals of the traced messages' packets).
	col.Close()
	optionsConn(t, a.listeners[0].String(), "dashboard-hep-refused").Close()
	waitPage(t, ctx, "HEP down", `(() => { const h = document.querySelector('#health [data-health="hep-t"]');
		return h.dataset.level === "bad" && h.querySelector(".hstate").textContent === "down"; })()`)
	evalJS(t, ctx, `window.scrollTo(0, 0)`)
	shot(t, ctx, "health-down-1400x900.png")

	// The connection table of 10,000 rows: one page drawn, sorted and
	// filtered.
	ms := evalString(t, ctx, `(() => { state.conns = Array.from({length: 10000}, (_, i) => ({id: i + 1, direction: i % 2 ? "in" : "out", state: "open",
		local: "127.0.0.1:5060", remote: "10.0." + (i >> 8) + "." + (i & 255) + ":40000", opened: new Date().toISOString(), msgs_in: i, msgs_out: i,
		bytes_in: i * 300, bytes_out: i * 300, queued_writes: 0, queued_bytes: 0, traced: "yes"}));
		state.connSort = {key: "msgs", dir: -1}; renderConnections(); const sorted = document.getElementById("conn-table").dataset.renderMs;
		document.getElementById("conn-filter").value = "10.0.39."; renderConnections();
		return sorted + "/" + document.getElementById("conn-table").dataset.renderMs + "/" + document.querySelectorAll("#conn-table tbody tr").length +
			"/" + document.querySelector("#conn-table tbody tr").dataset.id + "/" + document.getElementById("conn-page").textContent; })()`)
	f := strings.Split(ms, "/")
	if len(f) != 5 || f[2] != "16" || f[3] != "10000" || f[4] != "1–16 of 16" {
		t.Errorf("10,000 connections sorted by messages and filtered: %q", ms)
	}
	t.Logf("connection table of 10,000: sorted page in %s ms, filtered in %s ms", f[0], f[1])
}

type ladderRow struct {
	Type, Label, Dir, Cseq, Kind string
	Conn                         uint64
	Seq                          uint64
}

// checkLadderRows checks a call's ladder: its 12 messages, in the ring's
// order, each a step of callLadder in causal order, with the client's
// ACCEPTED before the first and the CLOSED of both connections after the
// last.
func checkLadderRows(t *testing.T, rows []ladderRow, clientConn uint64) {
	t.Helper()
	at := map[ladderStep]int{}
	var kinds []string
	first, last := -1, -1
	var seq uint64
	for i, r := range rows {
		if r.Type == "event" {
			kinds = append(kinds, r.Kind)
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
		if r.Seq <= seq {
			t.Errorf("ladder row %d is message %d, after %d: not in wire order", i, r.Seq, seq)
		}
		seq = r.Seq
		leg := "u"
		if r.Conn == clientConn {
			leg = "c"
		}
		what := r.Label
		if code, _, ok := strings.Cut(r.Label, " "); ok && len(code) == 3 {
			_, method, _ := strings.Cut(r.Cseq, " ")
			what = code + "/" + method
		}
		at[ladderStep(leg+" "+r.Dir+" "+what)] = i
	}
	if len(at) != len(callLadder) {
		t.Fatalf("ladder steps %v, want the 12 of %v", at, callLadder)
	}
	for _, p := range causalPairs {
		a, b := callLadder[p[0]], callLadder[p[1]]
		ia, okA := at[a]
		ib, okB := at[b]
		if !okA || !okB || ia > ib {
			t.Errorf("ladder: %s (row %d) after %s (row %d)", a, ia, b, ib)
		}
	}
	row := func(kind string, conn uint64) int {
		for i, r := range rows {
			if r.Type == "event" && r.Kind == kind && (conn == 0 || r.Conn == conn) {
				return i
			}
		}
		return -1
	}
	if i := row("ACCEPTED", clientConn); i < 0 || i > first {
		t.Errorf("ladder events %v: the client's ACCEPTED is row %d, the first message row %d", kinds, i, first)
	}
	if i := row("CONNECTED", 0); i < 0 || i > at["u out INVITE"] || i < at["c in INVITE"] {
		t.Errorf("ladder events %v: the upstream's CONNECTED is row %d, not between the client's INVITE (row %d) and its own (row %d)",
			kinds, i, at["c in INVITE"], at["u out INVITE"])
	}
	if i := row("CLOSED", clientConn); i >= 0 && i < last {
		t.Errorf("ladder events %v: the client's CLOSED (row %d) before the last message (row %d)", kinds, i, last)
	}
}

func rowsCallID(t *testing.T, ctx context.Context) string {
	t.Helper()
	href := evalString(t, ctx, `document.getElementById("ladder-pcap").getAttribute("href")`)
	id, ok := strings.CutPrefix(href, "/api/v1/calls/")
	if !ok {
		t.Fatalf("ladder pcap link %q", href)
	}
	return strings.TrimSuffix(id, "/pcap")
}

func checkNoOverflow(t *testing.T, ctx context.Context) {
	t.Helper()
	if w := evalString(t, ctx, `document.documentElement.scrollWidth + "/" + window.innerWidth`); func() bool {
		a, b, _ := strings.Cut(w, "/")
		return mustFloat(t, a) > mustFloat(t, b)
	}() {
		t.Errorf("the page is wider than the window (scrollWidth/innerWidth %s)", w)
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return f
}

// startWebApp starts sipwire with its web server on webAddr.
func startWebApp(t *testing.T, cfg *config.Config, webAddr string) *app {
	t.Helper()
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(context.Background(), webAddr); err != nil {
		t.Fatal(err)
	}
	waitTCP(t, webAddr)
	return a
}

// runSIPpCalls runs SIPp's uas on uasPort and its uac against sipwire for
// n calls over one TCP connection, and waits for both.
func runSIPpCalls(t *testing.T, sipp string, uasPort int, sipwire string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	common := []string{"-t", "t1", "-i", "127.0.0.1", "-m", strconv.Itoa(n), "-timeout", "50s", "-timeout_error", "-nostdin"}
	uas := exec.CommandContext(ctx, sipp, append([]string{"-sn", "uas", "-p", strconv.Itoa(uasPort)}, common...)...)
	var uasOut, uacOut bytes.Buffer
	uas.Stdout, uas.Stderr, uas.Dir = &uasOut, &uasOut, t.TempDir()
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if uas.ProcessState == nil {
			uas.Process.Kill()
			uas.Wait()
		}
	}()
	waitTCP(t, "127.0.0.1:"+strconv.Itoa(uasPort))
	uac := exec.CommandContext(ctx, sipp, append([]string{"-sn", "uac", "-p", strconv.Itoa(freeTCPPort(t)), "-r", "10"},
		append(common, sipwire)...)...)
	uac.Stdout, uac.Stderr, uac.Dir = &uacOut, &uacOut, t.TempDir()
	if err := uac.Run(); err != nil {
		t.Fatalf("SIPp uac: %v\n%s", err, lastBytes(uacOut.Bytes()))
	}
	if err := uas.Wait(); err != nil {
		t.Fatalf("SIPp uas: %v\n%s", err, lastBytes(uasOut.Bytes()))
	}
}

type apiEvent struct {
	ConnID uint64 `json:"conn_id"`
	Kind   string `json:"kind"`
}

func apiEvents(t *testing.T, base, query string) []apiEvent {
	t.Helper()
	var body struct {
		Events []apiEvent `json:"events"`
	}
	if err := json.Unmarshal([]byte(httpGet(t, base+"/api/v1/events?"+query)), &body); err != nil {
		t.Fatal(err)
	}
	return body.Events
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func httpHeader(t *testing.T, url, name string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return resp.Header.Get(name)
}

func putTrace(t *testing.T, base, state string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, base+"/api/v1/trace", strings.NewReader(`{"trace":"`+state+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /api/v1/trace %s: %s", state, resp.Status)
	}
}

// optionsConn opens a SIP connection to sipwire that stays open, after one
// OPTIONS answered (a 503 once SIPp's uas is gone).
func optionsConn(t *testing.T, addr, callID string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "OPTIONS sip:sipwire@%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-%s\r\n"+
		"From: <sip:test@127.0.0.1>;tag=1\r\nTo: <sip:sipwire@%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", addr, c.LocalAddr(), callID, addr, callID)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 ") {
		t.Fatalf("OPTIONS answered %q, %v", line, err)
	}
	c.SetReadDeadline(time.Time{})
	return c
}

// dashboardBrowser starts headless Chromium for the test, or skips it.
func dashboardBrowser(t *testing.T) context.Context {
	t.Helper()
	path := testtool.Program(t, "chromium", "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("no-proxy-server", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

func doCDP(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// waitPage polls a JavaScript predicate in the page until it is true.
func waitPage(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func evalJS(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(() => { "+js+"; return true; })()")); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// fullShot saves a screenshot of the whole page, below the window too.
func fullShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveArtifact(t, name, png)
}

// shot saves a screenshot of the page as name in $SIPWIRE_ARTIFACTS (or the
// test's temporary directory).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveArtifact(t, name, png)
}

// saveArtifact writes a test artifact to $SIPWIRE_ARTIFACTS (or the test's
// temporary directory).
func saveArtifact(t *testing.T, name string, png []byte) {
	t.Helper()
	dir := os.Getenv(envArtifacts)
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
