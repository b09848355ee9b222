package web

import (
	"net/http"
	"testing"
)

func TestHostAndOriginChecks(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) {
		c.AllowedHosts = []string{"sipwire.example", "ops.example:9000"}
		c.AllowedOrigins = []string{"https://dash.example"}
	})
	tests := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"loopback ip", []string{"Host", "127.0.0.1:8080"}, 200},
		{"localhost", []string{"Host", "localhost:8080"}, 200},
		{"localhost upper case", []string{"Host", "LOCALHOST:8080"}, 200},
		{"ipv6 loopback", []string{"Host", "[::1]:8080"}, 200},
		{"allowed name any port", []string{"Host", "sipwire.example:1234"}, 200},
		{"allowed name:port", []string{"Host", "ops.example:9000"}, 200},
		{"allowed name wrong port", []string{"Host", "ops.example:9001"}, 403},
		{"rebinding name", []string{"Host", "attacker.example:8080"}, 403},
		{"other ip", []string{"Host", "192.0.2.7:8080"}, 403},
		{"same origin", []string{"Origin", "http://127.0.0.1:8080"}, 200},
		{"origin of allowed host", []string{"Origin", "https://sipwire.example"}, 200},
		{"allowed origin", []string{"Origin", "https://dash.example"}, 200},
		{"cross site origin", []string{"Origin", "https://evil.example"}, 403},
		{"null origin", []string{"Origin", "null"}, 403},
		{"file origin", []string{"Origin", "file://"}, 403},
		{"origin with path", []string{"Origin", "http://127.0.0.1:8080/x"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(http.MethodGet, "/api/v1/trace", "", tt.hdr...)
			if tt.status != 200 {
				wantError(t, w, tt.status, "not allowed")
				return
			}
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
		})
	}
	// A cross-site write is refused before the token is even looked at.
	w := f.do(http.MethodPut, "/api/v1/trace", `{"trace":"on"}`, append([]string{"Origin", "https://evil.example"}, bearer...)...)
	wantError(t, w, http.StatusForbidden, "origin")
	if f.tr.Tracing() {
		t.Error("a cross-site PUT switched tracing on")
	}
}

func TestWildcardListenAcceptsAnyHostUnlessListed(t *testing.T) {
	g := newGuard(&Config{Token: "t"}, "0.0.0.0")
	if !g.hostAllowed("10.1.2.3:8080") || g.originAllowed("http://10.1.2.3:8080") {
		t.Error("wildcard without allowed hosts: any Host, but no Origin beyond the allowed ones")
	}
	g = newGuard(&Config{Token: "t", AllowedHosts: []string{"10.1.2.3"}}, "0.0.0.0")
	if !g.hostAllowed("10.1.2.3:8080") || g.hostAllowed("10.9.9.9:8080") || !g.originAllowed("http://10.1.2.3:8080") {
		t.Error("wildcard with allowed hosts must use them")
	}
}

func TestTokenGuardsStateChangingRoutes(t *testing.T) {
	f := newFixture(t)
	routes := []struct{ method, path, body string }{
		{http.MethodPut, "/api/v1/trace", `{"trace":"on"}`},
		{http.MethodPost, "/api/v1/mi", `{"jsonrpc":"2.0","method":"tcp_trace","params":["on"],"id":1}`},
		{http.MethodPost, "/mi", `{"jsonrpc":"2.0","method":"tcp_trace","params":["on"],"id":1}`},
		{http.MethodDelete, "/api/v1/connections/12345", ""},
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			w := f.do(r.method, r.path, r.body)
			wantError(t, w, http.StatusUnauthorized, "token")
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
			wantError(t, f.do(r.method, r.path, r.body, "Authorization", "Bearer wrong"), http.StatusUnauthorized, "invalid token")
			wantError(t, f.do(r.method, r.path, r.body, "Authorization", "Basic "+testToken), http.StatusUnauthorized, "token")
			if f.tr.Tracing() {
				t.Fatal("an unauthorized request switched tracing on")
			}
			w = f.do(r.method, r.path, r.body, "Authorization", "bearer "+testToken)
			if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
				t.Fatalf("with the token: %d %s", w.Code, w.Body)
			}
			f.tr.SetTracing(false)
		})
	}
	for _, p := range []string{"/api/v1/trace", "/api/v1/connections", "/api/v1/events", "/api/v1/stats", "/metrics", "/healthz", "/api/v1/openapi.json", "/"} {
		if w := f.do(http.MethodGet, p, ""); w.Code != http.StatusOK {
			t.Errorf("GET %s without token: %d %s", p, w.Code, w.Body)
		}
	}
}

func TestNoTokenOnLoopbackAllowsWrites(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.Token = "" })
	if w := f.do(http.MethodPut, "/api/v1/trace", `{"trace":"on"}`); w.Code != 200 || !f.tr.Tracing() {
		t.Fatalf("PUT without a configured token: %d %s", w.Code, w.Body)
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.do(http.MethodGet, "/api/v1/nothing", ""), http.StatusNotFound, "no route")
	wantError(t, f.do(http.MethodGet, "/api/v1/trace/", ""), http.StatusNotFound, "no route")
	w := f.do(http.MethodPost, "/api/v1/trace", `{"trace":"on"}`, bearer...)
	wantError(t, w, http.StatusMethodNotAllowed, "not allowed")
	if allow := w.Header().Get("Allow"); allow != "GET, PUT" {
		t.Errorf("Allow = %q", allow)
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/mi", ""), http.StatusMethodNotAllowed, "POST")
	wantError(t, f.do(http.MethodDelete, "/api/v1/connections", ""), http.StatusMethodNotAllowed, "GET")
}
