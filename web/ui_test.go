package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

func TestDashboardFiles(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="/ui/app.js"`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "EventSource"},
		{"/ui/style.css", "text/css; charset=utf-8", ".panel"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		w := f.do(http.MethodGet, tt.path, "")
		if w.Code != 200 || w.Header().Get("Content-Type") != tt.ctype || !strings.Contains(w.Body.String(), tt.contains) {
			t.Errorf("GET %s = %d %q", tt.path, w.Code, w.Header().Get("Content-Type"))
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tt.path, csp)
		}
	}
	for _, p := range []string{"/ui/", "/ui/nothing.js", "/ui/../web/ui.go", "/ui/%2e%2e/embed.go"} {
		wantError(t, f.do(http.MethodGet, p, ""), http.StatusNotFound, "no")
	}
}

// TestDashboardKnowsEveryKind keeps the kind filter of app.js in step with
// the transport's event kinds.
func TestDashboardKnowsEveryKind(t *testing.T) {
	f := newFixture(t)
	js := f.do(http.MethodGet, "/ui/app.js", "").Body.String()
	m := regexp.MustCompile(`(?s)const KINDS = \[(.*?)\];`).FindStringSubmatch(js)
	if m == nil {
		t.Fatal("no KINDS in app.js")
	}
	var want []string
	for _, k := range transport.EventKinds() {
		want = append(want, `"`+k.String()+`"`)
	}
	got := strings.Join(strings.Fields(strings.ReplaceAll(m[1], ",", " ")), ",")
	if got != strings.Join(want, ",") {
		t.Errorf("app.js KINDS = %s\nwant %s", got, strings.Join(want, ","))
	}
}
