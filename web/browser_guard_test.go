package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// attackPage is a page of another origin that tries every state-changing
// route of the API at %[1]s (connection %[2]d) the ways a browser lets a
// cross-site page: fetch in no-cors and cors mode with simple content
// types, sendBeacon, form posts (text/plain with a JSON-looking body,
// urlencoded) into frames, and a form from a sandboxed frame (Origin null).
// window.done is set when every attempt has settled; window.results says
// how each went as far as the page can tell.
const attackPage = `<!doctype html><html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe>
<form id="f1" method="POST" action="%[1]s/mi" enctype="text/plain" target="sink1">
<input name='{"jsonrpc":"2.0","method":"tcp_trace","params":["on"],"id":1,"x":"' value='"}'></form>
<form id="f2" method="POST" action="%[1]s/api/v1/mi" target="sink2">
<input name="jsonrpc" value="2.0"><input name="method" value="tcp_trace"></form>
<form id="f3" method="POST" action="%[1]s/api/v1/trace" enctype="text/plain" target="sink3">
<input name='{"trace":"on","x":"' value='"}'></form>
<script>
window.results = [];
window.progress = [];
window.done = false;
const base = %[1]q;
const rpc = '{"jsonrpc":"2.0","method":"tcp_trace","params":["on"],"id":1}';
const attempts = [
  ["PUT trace no-cors", () => fetch(base + "/api/v1/trace", {method: "PUT", mode: "no-cors", body: '{"trace":"on"}'})],
  ["PUT trace cors text/plain", () => fetch(base + "/api/v1/trace", {method: "PUT", headers: {"Content-Type": "text/plain"}, body: '{"trace":"on"}'})],
  ["PUT trace cors json", () => fetch(base + "/api/v1/trace", {method: "PUT", headers: {"Content-Type": "application/json"}, body: '{"trace":"on"}'})],
  ["POST /mi no-cors", () => fetch(base + "/mi", {method: "POST", mode: "no-cors", body: rpc})],
  ["POST /mi no-cors json type", () => fetch(base + "/mi", {method: "POST", mode: "no-cors", headers: {"Content-Type": "application/json", "X-Sipwire": "1"}, body: rpc})],
  ["POST /mi cors text/plain", () => fetch(base + "/mi", {method: "POST", headers: {"Content-Type": "text/plain"}, body: rpc})],
  ["POST /api/v1/mi no-cors", () => fetch(base + "/api/v1/mi", {method: "POST", mode: "no-cors", body: rpc})],
  ["POST /api/v1/mi no-cors form", () => fetch(base + "/api/v1/mi", {method: "POST", mode: "no-cors", body: new URLSearchParams({jsonrpc: "2.0", method: "tcp_trace"})})],
  ["POST /api/v1/mi no-cors no referrer", () => fetch(base + "/api/v1/mi", {method: "POST", mode: "no-cors", referrerPolicy: "no-referrer", body: rpc})],
  ["DELETE connection no-cors", () => fetch(base + "/api/v1/connections/%[2]d", {method: "DELETE", mode: "no-cors"})],
  ["DELETE connection cors", () => fetch(base + "/api/v1/connections/%[2]d", {method: "DELETE"})],
  ["DELETE connection cors X-Sipwire", () => fetch(base + "/api/v1/connections/%[2]d", {method: "DELETE", headers: {"X-Sipwire": "1"}})],
  ["beacon /mi", () => Promise.resolve(navigator.sendBeacon(base + "/mi", rpc))],
  ["beacon /api/v1/mi", () => Promise.resolve(navigator.sendBeacon(base + "/api/v1/mi", rpc))],
];
const forms = ["f1", "f2", "f3"].map((id, i) => new Promise((resolve) => {
  const fr = document.getElementsByName("sink" + (i + 1))[0];
  // Loaded from the API's origin once the post is answered: the page can
  // no longer read the frame's location.
  fr.addEventListener("load", () => { try { fr.contentWindow.location.href; } catch (e) { resolve(id + " posted"); } });
  document.getElementById(id).submit();
}));
const sandboxed = new Promise((resolve) => {
  const fr = document.createElement("iframe");
  fr.sandbox = "allow-scripts allow-forms";
  fr.srcdoc = '<form method="POST" action="' + base + '/mi" enctype="text/plain"><input name=\'' + rpc.slice(0, -1) + ',"x":"\' value=\'"}\'></form>' +
    '<script>window.onload = () => document.forms[0].submit();<' + '/script>';
  let loads = 0;
  fr.addEventListener("load", () => { if (++loads === 2) resolve("sandboxed form posted"); });
  document.body.appendChild(fr);
});
const note = (p) => p.then((v) => { window.progress.push(v); return v; });
Promise.allSettled(attempts.map(([name, run]) => note(run().then(
  (r) => name + ": sent" + (r && r.status !== undefined ? " (status " + r.status + ")" : ""),
  (e) => name + ": refused by the browser (" + e.name + ")"))).concat(forms.map(note), [note(sandboxed)]))
  .then((rs) => { window.results = rs.map((r) => r.value || String(r.reason)); window.done = true; });
</script></body></html>`

// TestBrowserCrossSiteCannotChangeState serves a page on another port of
// 127.0.0.1 that tries every state-changing route of an API with no token
// (the default: loopback, no token), in real Chromium. Tracing stays off,
// the connection stays open, and the server counts the requests that
// reached it as refused.
func TestBrowserCrossSiteCannotChangeState(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	c := f.sipClient("victim")
	var id uint64
	for _, cs := range f.tr.Connections() {
		if cs.Remote == c.LocalAddr().String() {
			id = cs.ID
		}
	}
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, attackPage, f.base, id)
	}))
	t.Cleanup(attacker.Close)
	if !strings.HasPrefix(attacker.URL, "http://127.0.0.1:") || attacker.URL == f.base {
		t.Fatalf("the attacker page is at %s, the API at %s", attacker.URL, f.base)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(attacker.URL+"/")); err != nil {
		t.Fatalf("open the attacker page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.done === true`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		progress, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.progress`))
		t.Fatalf("the attempts did not all settle (%v); settled: %q", err, progress)
	}
	results, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.results`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Log(r)
	}
	if f.tr.Tracing() {
		t.Error("a page of another origin switched tracing on")
	}
	if !slicesContainsConn(f, id) {
		t.Error("a page of another origin closed the connection")
	}
	// At least the five no-cors fetches, the cors text/plain post (sent,
	// its answer withheld from the page), the two beacons and the four form
	// posts reach the server: each is refused for its Origin.
	var refused GuardRefusals
	for range 500 {
		if refused = f.srv.stats().Web.Refused; refused.Origin >= 12 {
			break
		}
		waitABit()
	}
	t.Logf("refused by the server: %+v", refused)
	if refused.Origin < 12 {
		t.Errorf("the server refused %d requests for their Origin; the page sent at least 12", refused.Origin)
	}
	// The same requests from the page's own origin and with X-Sipwire do
	// switch it (the refusals are the guard's, not a broken request).
	if w := f.do(http.MethodPost, "/mi", `{"jsonrpc":"2.0","method":"tcp_trace","params":["on"],"id":1}`, "X-Sipwire", "1"); w.Code != 200 || !f.tr.Tracing() {
		t.Fatalf("the MI request itself: %d %s", w.Code, w.Body)
	}
}

func slicesContainsConn(f *fixture, id uint64) bool {
	for _, cs := range f.tr.Connections() {
		if cs.ID == id {
			return true
		}
	}
	return false
}

// TestBrowserDashboardOnWildcardWithToken serves the dashboard as every
// shipped deploy file does, on a wildcard listen (0.0.0.0) with a token,
// and drives it in real Chromium: with the token typed in, it shows the
// live stream (through a ticket), flips tracing and closes a connection.
func TestBrowserDashboardOnWildcardWithToken(t *testing.T) {
	ctx := browser(t)
	// The guard sees a wildcard listen; the test serves on loopback only.
	f := newFixture(t, withToken, func(c *Config, _ *Deps) { c.Listen = "0.0.0.0:0" })
	if err := chromedp.Do(ctx, chromedp.Navigate(f.base+"/")); err != nil {
		t.Fatalf("open dashboard: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), testToken),
		chromedp.Click(chromedp.ID("token-save")),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "trace state off", `document.getElementById("trace-state").dataset.state === "off"`)
	waitJS(t, ctx, "the event stream", `document.getElementById("live").classList.contains("on")`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("trace-toggle"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "trace state on", `document.getElementById("trace-state").dataset.state === "on"`)
	if !f.tr.Tracing() {
		t.Fatal("the dashboard shows on but the transport is not tracing")
	}

	c := f.sipClient("to-close")
	remote := c.LocalAddr().String()
	waitJS(t, ctx, "the ACCEPTED event, live", fmt.Sprintf(
		`[...document.querySelectorAll('#event-log tbody tr[data-kind="ACCEPTED"]')].some(r => r.textContent.includes(%q))`, remote))
	waitJS(t, ctx, "the connection in the table", fmt.Sprintf(
		`[...document.querySelectorAll('#conn-table tbody tr')].some(r => r.textContent.includes(%q))`, remote))
	// Close asks to confirm: the first click arms it, the second closes.
	closeButton := fmt.Sprintf(`[...document.querySelectorAll('#conn-table tbody tr')].find(r => r.textContent.includes(%q)).querySelector("button.close-btn")`, remote)
	evalJS(t, ctx, closeButton+".click()")
	waitJS(t, ctx, "the armed Close", closeButton+`.textContent === "Confirm close"`)
	for _, cs := range f.tr.Connections() {
		if cs.Remote == remote && cs.State != "open" {
			t.Fatalf("the first click of Close left connection %d %s", cs.ID, cs.State)
		}
	}
	if len(f.srv.Ring().Query(EventQuery{Kinds: []string{"CLOSED"}}).Events) != 0 {
		t.Fatal("the first click of Close closed a connection")
	}
	evalJS(t, ctx, closeButton+".click()")
	e := f.waitEvent(func(e Event) bool { return e.Kind == "CLOSED" && e.Remote == remote })
	if e.Reason != CloseReason {
		t.Errorf("CLOSED reason %q, want %q", e.Reason, CloseReason)
	}
	waitJS(t, ctx, "the CLOSED event, live", fmt.Sprintf(
		`[...document.querySelectorAll('#event-log tbody tr[data-kind="CLOSED"]')].some(r => r.textContent.includes(%q))`, remote))
	if refused := f.srv.stats().Web.Refused; refused.Host != 0 || refused.Origin != 0 || refused.Simple != 0 {
		t.Errorf("the dashboard's own requests were refused: %+v", refused)
	}
}
