package web

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sipwire/sipwire/transport"
)

// TestDashboardSlowPeerInBrowser: a peer that does not read shows in the
// connection table with its send queue growing, sampled by the transport
// (TCPInfoInterval), and highlighted as a slow peer; opening it shows its
// figures read now.
func TestDashboardSlowPeerInBrowser(t *testing.T) {
	ctx := browser(t)
	f := newFixtureWith(t, transport.Options{TCPInfoInterval: 100 * time.Millisecond})
	c := f.slowReader()
	sendOptions(t, c, 0, 10)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.base+"/")); err != nil {
		t.Fatalf("open dashboard: %v", err)
	}
	sendq := `(() => { const r = document.querySelector("#conn-table tbody tr"); return r && r.dataset.sendq ? +r.dataset.sendq : 0; })()`
	waitJS(t, ctx, "a send queue in the connection table", sendq+" > 0")
	first, err := chromedp.Run(ctx, chromedp.Evaluate[float64](sendq))
	if err != nil {
		t.Fatal(err)
	}
	// The peer goes on sending and not reading: the queue grows until the
	// row is marked.
	grown := fmt.Sprintf(`(%s > %s) && document.querySelector("#conn-table tbody tr").classList.contains("slow")`, sendq, strconv.FormatFloat(first, 'f', 0, 64))
	for i := range 200 {
		sendOptions(t, c, 10+10*i, 10)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](grown))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitJS(t, ctx, "a growing send queue, highlighted", grown)
	concern, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#conn-table tbody tr").dataset.concern`))
	last, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](sendq))
	t.Logf("dashboard: send queue %.0f -> %.0f bytes, concern %q", first, last, concern)

	// Opening the connection shows its figures read now.
	evalJS(t, ctx, `document.querySelector("#conn-table tbody tr td").click()`)
	waitJS(t, ctx, "the opened connection's figures", `document.getElementById("conn-chip-tcp").textContent.includes("send-q")`)
	screenshot(t, ctx, "dashboard-slow-peer.png")
}
