package web

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// EnvArtifacts names the directory where the browser test saves its
// screenshot; without it the screenshot goes to the test's temporary
// directory.
const EnvArtifacts = "SIPWIRE_ARTIFACTS"

// browser starts headless Chromium for the test, or skips it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := testtool.Program(t, "chromium", "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// waitJS polls a JavaScript predicate in the page until it is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// TestDashboardInBrowser drives the dashboard in headless Chromium with a
// token set: it shows nothing but a notice and refuses to switch tracing
// without the token, shows the trace state and switches it with the token
// typed in, follows a change made elsewhere, and shows the
// ACCEPTED event of a real TCP connection to the transport live, in the
// event log and the connection table.
func TestDashboardInBrowser(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t, withToken)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.base+"/")); err != nil {
		t.Fatalf("open dashboard: %v", err)
	}
	// Without the token the page shows nothing but why, and the switch is
	// refused.
	waitJS(t, ctx, "the token notice", `(() => { const n = document.getElementById("notice");
		return !n.classList.contains("hidden") && n.textContent.includes("token"); })()`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("trace-toggle"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the switch's token notice", `document.getElementById("notice").textContent.includes("Switching tracing needs the token")`)
	if f.tr.Tracing() {
		t.Fatal("tracing switched without the token")
	}

	// With the token typed in, the page shows the state and the live
	// stream, and the toggle switches tracing on.
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
	for range 500 {
		if f.tr.Tracing() {
			break
		}
		waitABit()
	}
	if !f.tr.Tracing() {
		t.Fatal("the dashboard shows on but the transport is not tracing")
	}
	if tok, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem("sipwire.token")`)); err != nil || tok != testToken {
		t.Errorf("token in sessionStorage = %q, %v", tok, err)
	}

	// A change made through the API elsewhere shows up.
	if w := f.do("PUT", "/api/v1/trace", `{"trace":"off"}`, bearer...); w.Code != 200 {
		t.Fatal(w.Body)
	}
	waitJS(t, ctx, "trace state off again", `document.getElementById("trace-state").dataset.state === "off"`)
	if w := f.do("PUT", "/api/v1/trace", `{"trace":"on"}`, bearer...); w.Code != 200 {
		t.Fatal(w.Body)
	}
	waitJS(t, ctx, "trace state on again", `document.getElementById("trace-state").dataset.state === "on"`)

	// A real SIP connection: its ACCEPTED event appears live, and the
	// connection in the table.
	c := f.sipClient("browser-1")
	remote := c.LocalAddr().String()
	waitJS(t, ctx, "the ACCEPTED event in the log", fmt.Sprintf(
		`[...document.querySelectorAll('#event-log tbody tr[data-kind="ACCEPTED"]')].some(r => r.textContent.includes(%q))`, remote))
	waitJS(t, ctx, "the connection in the table", fmt.Sprintf(
		`[...document.querySelectorAll('#conn-table tbody tr')].some(r => r.textContent.includes(%q) && r.textContent.includes("open"))`, remote))
	waitJS(t, ctx, "the counters", `document.getElementById("c-open").textContent === "1"`)

	// The kind filter hides it; the address filter shows it again.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const s = document.getElementById("f-kind");
		s.value = "CLOSED"; s.dispatchEvent(new Event("change")); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the kind filter", `document.querySelectorAll('#event-log tbody tr[data-kind="ACCEPTED"]').length === 0`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const s = document.getElementById("f-kind");
		s.value = ""; s.dispatchEvent(new Event("change"));
		const a = document.getElementById("f-addr"); a.value = %q; a.dispatchEvent(new Event("input")); return true; })()`, remote))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the address filter", `document.querySelectorAll('#event-log tbody tr').length === 1`)

	evalJS(t, ctx, `const a = document.getElementById("f-addr"); a.value = ""; a.dispatchEvent(new Event("input"))`)
	screenshot(t, ctx, "dashboard.png")
}

// evalJS runs a JavaScript statement in the page.
func evalJS(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(() => { "+js+"; return true; })()")); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
}

// screenshot saves the page as name in $SIPWIRE_ARTIFACTS (or the test's
// temporary directory).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv(EnvArtifacts)
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(dir, name)
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
}

// TestDashboardHistoryInBrowser drives the event history in headless
// Chromium, with a real history store: the log switches to the history,
// filters by connection, exports the filtered events, shows a connection of
// an earlier run with its run, and opens the whole history of a connection
// from the connection table.
func TestDashboardHistoryInBrowser(t *testing.T) {
	ctx := browser(t)
	f := newHistoryFixture(t)

	// A connection that came and went, and one that stays open.
	gone := f.sipClient("history-gone")
	goneAddr := gone.LocalAddr().String()
	gone.Close()
	goneConn := f.waitStored("kind=CLOSED&addr="+url.QueryEscape(goneAddr), 1)[0].ConnID
	open := f.sipClient("history-open")
	openAddr := open.LocalAddr().String()
	openConn := f.waitStored("addr="+url.QueryEscape(openAddr), 1)[0].ConnID

	if err := chromedp.Do(ctx, chromedp.Navigate(f.base+"/")); err != nil {
		t.Fatalf("open dashboard: %v", err)
	}
	waitJS(t, ctx, "the History switch", `!document.getElementById("src-history").disabled`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("src-history"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "stored events in the log", `document.getElementById("events-panel").classList.contains("history") &&
		document.querySelectorAll('#event-log tbody tr').length >= 3`)

	// Filter by connection: exactly its two events, newest first.
	evalJS(t, ctx, fmt.Sprintf(`const c = document.getElementById("f-conn"); c.value = "%d"; c.dispatchEvent(new Event("input"))`, goneConn))
	waitJS(t, ctx, "the connection's events", fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll('#event-log tbody tr')];
		return rows.length === 2 && rows.every(r => r.dataset.conn === "%d" && r.textContent.includes(%q)) &&
			rows[0].dataset.kind === "CLOSED" && rows[1].dataset.kind === "ACCEPTED"; })()`, goneConn, goneAddr))

	// The export link carries the filter.
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("export-csv").href`))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(strings.TrimSpace(httpGet(t, href)), "\n"); rows != 2 {
		t.Errorf("the CSV export of %s has %d events, want 2", href, rows)
	}

	// A day's range shows run 1's connection, marked with its run; its
	// connection id opens run 1's connection, not this run's.
	evalJS(t, ctx, `const c = document.getElementById("f-conn"); c.value = ""; c.dispatchEvent(new Event("input"));
		const r = document.getElementById("f-range"); r.value = "24h"; r.dispatchEvent(new Event("change"))`)
	waitJS(t, ctx, "run 1's events", `document.querySelectorAll('#event-log tbody tr[data-run="1"] .run').length === 2`)
	evalJS(t, ctx, `document.querySelector('#event-log tbody tr[data-run="1"] a.connlink').click()`)
	waitJS(t, ctx, "run 1's connection", `(() => {
		const rows = [...document.querySelectorAll('#event-log tbody tr')];
		return rows.length === 2 && rows.every(r => r.dataset.run === "1" && r.dataset.conn === "1" && r.textContent.includes("10.1.2.3:40000")) &&
			document.getElementById("conn-chip-text").textContent.includes("run 1"); })()`)

	// A row of the connection table opens that connection's history.
	waitJS(t, ctx, "the open connection in the table", fmt.Sprintf(`!!document.querySelector('#conn-table tbody tr[data-id="%d"]')`, openConn))
	evalJS(t, ctx, fmt.Sprintf(`document.querySelector('#conn-table tbody tr[data-id="%d"] td').click()`, openConn))
	waitJS(t, ctx, "the open connection's history", fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll('#event-log tbody tr')];
		return document.getElementById("f-conn").value === "%d" && rows.length >= 1 &&
			rows.every(r => r.dataset.conn === "%d" && r.dataset.run === "2") &&
			rows.some(r => r.dataset.kind === "ACCEPTED" && r.textContent.includes(%q)) &&
			!document.getElementById("conn-chip").classList.contains("hidden"); })()`, openConn, openConn, openAddr))
	screenshot(t, ctx, "dashboard-history.png")

	// Back to the live log, the connection filter stays: only its events.
	// Clicked in the page, not at the button's position: opening the
	// connection scrolls the page smoothly to the log, and a mouse click
	// while the page still moves lands beside the button.
	evalJS(t, ctx, `document.getElementById("src-live").click()`)
	waitJS(t, ctx, "the live log of the connection", fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll('#event-log tbody tr')];
		return document.getElementById("events-panel").classList.contains("live") && rows.length >= 1 &&
			rows.every(r => r.dataset.conn === "%d" && !r.dataset.run); })()`, openConn))
}
