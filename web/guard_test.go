package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/web/pcap"
)

// routeClass is what a route needs of the guard.
type routeClass int

const (
	open  routeClass = iota // nothing but Host and Origin
	read                    // the token when one is set
	write                   // the token, and a request no cross-site page can send
)

// guardRoute is one route and its status once past the guard.
type guardRoute struct {
	method, path, body string
	class              routeClass
	ok                 int
}

// guardRoutes are every route the engine serves.
var guardRoutes = []guardRoute{
	{"GET", "/healthz", "", open, 200},
	{"GET", "/metrics", "", open, 200},
	{"GET", "/", "", open, 200},
	{"GET", "/ui/app.js", "", open, 200},
	{"GET", "/api/v1/openapi.json", "", open, 200},
	{"GET", "/api/v1/trace", "", open, 200},
	{"GET", "/api/v1/connections", "", read, 200},
	{"GET", "/api/v1/connections/999999", "", read, 404},
	{"GET", "/api/v1/events", "", read, 200},
	{"GET", "/api/v1/events/stream", "", read, 200},
	{"GET", "/api/v1/events/export", "", read, 404}, // no history in this fixture
	{"GET", "/api/v1/stats", "", read, 200},
	{"GET", "/api/v1/config", "", read, 200},
	{"GET", "/api/v1/pcap", "", read, 200},
	{"GET", "/api/v1/calls", "", read, 200},
	{"GET", "/api/v1/timeline", "", read, 200},
	{"GET", "/api/v1/calls/999999/ladder", "", read, 404},
	{"PUT", "/api/v1/trace", `{"trace":"off"}`, write, 200},
	{"POST", "/api/v1/mi", `{"jsonrpc":"2.0","method":"tcp_trace","params":["off"],"id":1}`, write, 200},
	{"POST", "/mi", `{"jsonrpc":"2.0","method":"tcp_trace","params":["off"],"id":1}`, write, 200},
	{"DELETE", "/api/v1/connections/999999", "", write, 404},
	{"POST", "/api/v1/events/ticket", "", write, 200},
}

// TestGuardEveryRoute runs every route through every case of the guard:
// with and without a token, an own, foreign or absent Origin, a simple or a
// scripted request, a foreign Host on a wildcard listen. want gives the
// status for an open, a read and a write route; "ok" is the route's own
// status once past the guard.
func TestGuardEveryRoute(t *testing.T) {
	const ok = 0
	machineIP := nonLoopbackAddr(t)
	listed := map[string]bool{}
	for _, r := range guardRoutes {
		listed[r.method+" "+strings.SplitN(r.path, "/999999", 2)[0]] = true
	}
	for _, r := range newFixture(t).srv.engine.Routes() {
		p := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(r.Path, "/:id"), "/*file"), "/*rest")
		if p == "/ui" {
			p = "/ui/app.js"
		}
		if !listed[r.Method+" "+p] {
			t.Errorf("route %s %s is not in guardRoutes", r.Method, r.Path)
		}
	}
	cases := []struct {
		name   string
		token  bool
		listen string
		host   string
		hdr    []string
		ticket bool
		want   [3]int // open, read, write
	}{
		{"no token, script, no Origin", false, "", "", []string{"X-Sipwire", "1"}, false, [3]int{ok, ok, ok}},
		{"no token, JSON, no Origin", false, "", "", []string{"Content-Type", "application/json; charset=utf-8"}, false, [3]int{ok, ok, ok}},
		{"no token, simple text/plain, no Origin", false, "", "", []string{"Content-Type", "text/plain"}, false, [3]int{ok, ok, 403}},
		{"no token, form, no Origin", false, "", "", []string{"Content-Type", "application/x-www-form-urlencoded"}, false, [3]int{ok, ok, 403}},
		{"no token, script, own Origin", false, "", "", []string{"X-Sipwire", "1", "Origin", "http://127.0.0.1:8080"}, false, [3]int{ok, ok, ok}},
		{"no token, simple, own Origin", false, "", "", []string{"Origin", "http://127.0.0.1:8080"}, false, [3]int{ok, ok, 403}},
		{"no token, script, Origin on another port", false, "", "", []string{"X-Sipwire", "1", "Origin", "http://127.0.0.1:9999"}, false, [3]int{403, 403, 403}},
		{"no token, script, Origin https on the same port", false, "", "", []string{"X-Sipwire", "1", "Origin", "https://127.0.0.1:8080"}, false, [3]int{403, 403, 403}},
		{"no token, script, foreign site", false, "", "", []string{"X-Sipwire", "1", "Origin", "https://evil.example"}, false, [3]int{403, 403, 403}},
		{"no token, script, null Origin", false, "", "", []string{"X-Sipwire", "1", "Origin", "null"}, false, [3]int{403, 403, 403}},
		{"token, script, no auth", true, "", "", []string{"X-Sipwire", "1"}, false, [3]int{ok, 401, 401}},
		{"token, bearer, no Origin", true, "", "", bearer, false, [3]int{ok, ok, ok}},
		{"token, bearer, own Origin", true, "", "", append([]string{"Origin", "http://127.0.0.1:8080"}, bearer...), false, [3]int{ok, ok, ok}},
		{"token, bearer, foreign Origin", true, "", "", append([]string{"Origin", "http://127.0.0.1:9999"}, bearer...), false, [3]int{403, 403, 403}},
		{"token, wrong bearer", true, "", "", []string{"Authorization", "Bearer nope"}, false, [3]int{ok, 401, 401}},
		{"token, basic auth", true, "", "", []string{"Authorization", "Basic " + testToken, "X-Sipwire", "1"}, false, [3]int{ok, 401, 401}},
		{"token, stream ticket only", true, "", "", []string{"X-Sipwire", "1"}, true, [3]int{ok, 401, 401}},
		{"token, loopback listen, foreign Host", true, "", "attacker.example:8080", bearer, false, [3]int{403, 403, 403}},
		{"token, wildcard, own Host and Origin", true, "0.0.0.0:8080", "", append([]string{"Origin", "http://127.0.0.1:8080"}, bearer...), false, [3]int{ok, ok, ok}},
		{"token, wildcard, localhost", true, "0.0.0.0:8080", "localhost:8080", append([]string{"Origin", "http://localhost:8080"}, bearer...), false, [3]int{ok, ok, ok}},
		{"token, wildcard, rebinding name", true, "0.0.0.0:8080", "attacker.example:8080", append([]string{"Origin", "http://attacker.example:8080"}, bearer...), false, [3]int{403, 403, 403}},
		{"token, wildcard, another machine's address", true, "0.0.0.0:8080", "192.0.2.7:8080", bearer, false, [3]int{403, 403, 403}},
		{"token, wildcard, no auth", true, "[::]:8080", "", []string{"X-Sipwire", "1"}, false, [3]int{ok, 401, 401}},
	}
	if machineIP.IsValid() {
		h := net.JoinHostPort(machineIP.String(), "8080")
		cases = append(cases, struct {
			name   string
			token  bool
			listen string
			host   string
			hdr    []string
			ticket bool
			want   [3]int
		}{"token, wildcard, an interface address of the machine", true, "0.0.0.0:8080", h, append([]string{"Origin", "http://" + h}, bearer...), false, [3]int{ok, ok, ok}})
	} else {
		t.Log("no non-loopback interface address: the interface address case is left out")
	}
	fixtures := map[string]*fixture{}
	fixtureFor := func(token bool, listen string) *fixture {
		key := fmt.Sprint(token, listen)
		if f := fixtures[key]; f != nil {
			return f
		}
		f := newFixture(t, func(c *Config, d *Deps) {
			if token {
				c.Token = testToken
			}
			if listen != "" {
				c.Listen = listen
			}
			d.Config = func() any { return map[string]string{"token": "<redacted>"} }
			d.Pcap = pcap.NewRing(0)
		})
		fixtures[key] = f
		return f
	}
	for _, tc := range cases {
		f := fixtureFor(tc.token, tc.listen)
		for _, r := range guardRoutes {
			want := tc.want[r.class]
			if want == ok {
				want = r.ok
			}
			// The ticket is for the stream only.
			if tc.ticket && r.path == "/api/v1/events/stream" {
				want = r.ok
			}
			t.Run(tc.name+"/"+r.method+" "+r.path, func(t *testing.T) {
				path := r.path
				if tc.ticket {
					path += "?ticket=" + f.srv.guard.newTicket(time.Now())
				}
				hdr := tc.hdr
				if tc.host != "" {
					hdr = append([]string{"Host", tc.host}, hdr...)
				}
				w := f.doStreamSafe(r.method, path, r.body, hdr...)
				if w.Code != want {
					t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
				}
				if want >= 400 && want != r.ok {
					wantError(t, w, want, "")
				}
			})
		}
		if f.tr.Tracing() {
			t.Fatalf("%s: tracing is on; no case switches it on", tc.name)
		}
	}
}

// doStreamSafe is fixture.do with the request's context cancelled for the
// event stream, which then ends after its first event.
func (f *fixture) doStreamSafe(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	if !strings.HasPrefix(target, "/api/v1/events/stream") {
		return f.do(method, target, body, hdr...)
	}
	req := httptest.NewRequest(method, target, nil)
	req.Host = "127.0.0.1:8080"
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithCancel(req.Context())
	cancel()
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, req.WithContext(ctx))
	return w
}

// nonLoopbackAddr returns an interface address of the machine that is not
// a loopback one, or the zero Addr.
func nonLoopbackAddr(t *testing.T) netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Logf("interface addresses: %v", err)
		return netip.Addr{}
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err == nil && !p.Addr().IsLoopback() && !p.Addr().IsLinkLocalUnicast() {
			return p.Addr().Unmap()
		}
	}
	return netip.Addr{}
}

func TestOriginComparedAsSchemeHostPort(t *testing.T) {
	g := newGuard(&Config{AllowedOrigins: []string{"https://Dash.example", "http://ops.example:8000/"}}, "127.0.0.1", slog.Default())
	g.setListenAddr(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	tests := []struct {
		origin, host string
		want         bool
	}{
		{"http://127.0.0.1:8080", "127.0.0.1:8080", true},   // own
		{"http://127.0.0.1:8080", "localhost:8080", true},   // the listen address's
		{"http://localhost:8080", "localhost:8080", true},   // own
		{"http://localhost:8080", "127.0.0.1:8080", false},  // neither
		{"http://127.0.0.1:9999", "127.0.0.1:8080", false},  // another port
		{"https://127.0.0.1:8080", "127.0.0.1:8080", false}, // another scheme
		{"http://127.0.0.1", "127.0.0.1:8080", false},       // port 80
		{"http://sipwire.example", "sipwire.example", true}, // own, port 80 both
		{"http://sipwire.example:80", "sipwire.example", true},
		{"http://[::1]:8080", "[::1]:8080", true},
		{"https://dash.example", "127.0.0.1:8080", true},
		{"https://dash.example:443", "127.0.0.1:8080", true},
		{"https://DASH.example", "127.0.0.1:8080", true},
		{"https://dash.example:8443", "127.0.0.1:8080", false},
		{"http://dash.example", "127.0.0.1:8080", false},
		{"http://ops.example:8000", "127.0.0.1:8080", true},
		{"null", "127.0.0.1:8080", false},
		{"file://", "127.0.0.1:8080", false},
		{"http://127.0.0.1:8080/x", "127.0.0.1:8080", false},
		{"http://u@127.0.0.1:8080", "127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		if got := g.originAllowed(tt.origin, tt.host); got != tt.want {
			t.Errorf("origin %s on Host %s: %v, want %v", tt.origin, tt.host, got, tt.want)
		}
	}
}

func TestHostChecks(t *testing.T) {
	tests := []struct {
		listen string
		allow  []string
		host   string
		local  net.Addr
		want   bool
	}{
		{"127.0.0.1", nil, "127.0.0.1:8080", nil, true},
		{"127.0.0.1", nil, "127.0.0.2:8080", nil, true},
		{"127.0.0.1", nil, "LOCALHOST:8080", nil, true},
		{"127.0.0.1", nil, "[::1]:8080", nil, true},
		{"127.0.0.1", nil, "attacker.example:8080", nil, false},
		{"127.0.0.1", []string{"sipwire.example"}, "sipwire.example:1234", nil, true},
		{"127.0.0.1", []string{"ops.example:9000"}, "ops.example:9000", nil, true},
		{"127.0.0.1", []string{"ops.example:9000"}, "ops.example:9001", nil, false},
		{"10.1.2.3", nil, "10.1.2.3:8080", nil, true},
		{"10.1.2.3", nil, "10.1.2.4:8080", nil, false},
		{"0.0.0.0", nil, "attacker.example:8080", nil, false},
		{"0.0.0.0", nil, "192.0.2.7:8080", nil, false},
		{"0.0.0.0", nil, "192.0.2.7:8080", &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 8080}, true}, // the address it came in on
		{"0.0.0.0", nil, "[::ffff:192.0.2.7]:8080", &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 8080}, true},
		{"0.0.0.0", []string{"10.9.9.9"}, "10.9.9.9:8080", nil, true},
		{"::", []string{"sipwire.example"}, "sipwire.example:8080", nil, true},
		{"0.0.0.0", nil, "", nil, false},
	}
	for _, tt := range tests {
		g := newGuard(&Config{Token: "t", AllowedHosts: tt.allow}, tt.listen, slog.Default())
		if got := g.hostAllowed(tt.host, tt.local); got != tt.want {
			t.Errorf("listen %s, allowed %v: Host %q (local %v): %v, want %v", tt.listen, tt.allow, tt.host, tt.local, got, tt.want)
		}
	}
	if ip := nonLoopbackAddr(t); ip.IsValid() {
		g := newGuard(&Config{Token: "t"}, "0.0.0.0", slog.Default())
		if !g.hostAllowed(net.JoinHostPort(ip.String(), "8080"), nil) {
			t.Errorf("wildcard listen refuses the interface address %s", ip)
		}
	}
}

func TestStreamTicket(t *testing.T) {
	f := newFixture(t, withToken)
	w := f.do(http.MethodPost, "/api/v1/events/ticket", "", bearer...)
	if w.Code != 200 {
		t.Fatalf("ticket: %d %s", w.Code, w.Body)
	}
	tk := decode[struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in_s"`
	}](t, w)
	if tk.ExpiresIn != int(StreamTicketTTL/time.Second) || strings.Contains(tk.Ticket, testToken) {
		t.Fatalf("ticket %+v", tk)
	}
	s := openStream(t, f.base+"/api/v1/events/stream?ticket="+tk.Ticket)
	if h := s.next(); h.event != "hello" {
		t.Fatalf("first event %+v", h)
	}
	now := time.Now()
	exp, mac, _ := strings.Cut(tk.Ticket, ".")
	for name, bad := range map[string]string{
		"expired":        f.srv.guard.newTicket(now.Add(-2 * StreamTicketTTL)),
		"too far ahead":  f.srv.guard.newTicket(now.Add(StreamTicketTTL)),
		"forged mac":     exp + "." + strings.Repeat("0", len(mac)),
		"other process":  newGuard(&Config{Token: testToken}, "127.0.0.1", slog.Default()).newTicket(now),
		"the token":      testToken,
		"no mac":         exp,
		"another expiry": fmt.Sprint(now.Unix()+1) + "." + mac,
	} {
		wantError(t, f.doStreamSafe(http.MethodGet, "/api/v1/events/stream?ticket="+bad, ""), http.StatusUnauthorized, "ticket")
		if f.srv.guard.ticketValid(bad, now) {
			t.Errorf("%s ticket is valid", name)
		}
	}
	// A ticket opens the stream only.
	wantError(t, f.do(http.MethodGet, "/api/v1/pcap?ticket="+tk.Ticket, ""), http.StatusUnauthorized, "token")
}

func TestCloseReasonValidated(t *testing.T) {
	f := newFixture(t)
	f.sipClient("reason")
	id := decode[connectionsBody](t, f.do(http.MethodGet, "/api/v1/connections", "")).Connections[0].ID
	for name, reason := range map[string]string{
		"CR LF":      "a%0D%0AVia:%20x",
		"LF":         "a%0Ab",
		"NUL":        "a%00b",
		"tab":        "a%09b",
		"DEL":        "a%7Fb",
		"bad UTF-8":  "a%FFb",
		"C1 control": "a%C2%85b",
		"too long":   strings.Repeat("x", MaxCloseReasonBytes+1),
	} {
		wantError(t, f.do(http.MethodDelete, fmt.Sprintf("/api/v1/connections/%d?reason=%s", id, reason), "", "X-Sipwire", "1"),
			http.StatusBadRequest, "reason")
		if n := len(f.tr.Connections()); n != 1 {
			t.Fatalf("%s: the connection was closed", name)
		}
	}
	longest := strings.Repeat("é", MaxCloseReasonBytes/2)
	w := f.do(http.MethodDelete, fmt.Sprintf("/api/v1/connections/%d?reason=%s", id, url.QueryEscape(longest)), "", "X-Sipwire", "1")
	if w.Code != 200 {
		t.Fatalf("a %d-byte printable reason: %d %s", len(longest), w.Code, w.Body)
	}
	if e := f.waitEvent(func(e Event) bool { return e.Kind == "CLOSED" && e.ConnID == id }); e.Reason != longest {
		t.Errorf("CLOSED reason %q", e.Reason)
	}
}

// TestStateChangesLogged: every trace switch and close is logged with the
// caller's address and how it was authorised.
func TestStateChangesLogged(t *testing.T) {
	for _, token := range []bool{true, false} {
		var buf logBuffer
		f := newFixture(t, func(c *Config, d *Deps) {
			if token {
				c.Token = testToken
			}
			d.Logger = slog.New(slog.NewTextHandler(&buf, nil))
		})
		auth := "auth=loopback-no-token"
		if token {
			auth = "auth=token"
		}
		f.sipClient("logged")
		hdr := append([]string{"X-Sipwire", "1", "Content-Type", "application/json"}, bearer...)
		id := decode[connectionsBody](t, f.do(http.MethodGet, "/api/v1/connections", "", hdr...)).Connections[0].ID
		for _, r := range []struct{ method, path, body, log string }{
			{"PUT", "/api/v1/trace", `{"trace":"on"}`, `msg="tracing set by the web API" trace=on was=off`},
			{"POST", "/mi", `{"jsonrpc":"2.0","method":"tcp_trace","params":["off"],"id":1}`, `msg="tracing set by MI" trace=off was=on`},
			{"POST", "/api/v1/mi", `{"jsonrpc":"2.0","method":"trace","params":{"trace_mode":"on"}}`, `msg="tracing set by MI" trace=on was=off`},
			{"DELETE", fmt.Sprintf("/api/v1/connections/%d?reason=maint", id), "", fmt.Sprintf(`msg="connection closed by the web API" conn=%d reason=maint`, id)},
		} {
			buf.Reset()
			if w := f.do(r.method, r.path, r.body, hdr...); w.Code >= 300 {
				t.Fatalf("%s %s: %d %s", r.method, r.path, w.Code, w.Body)
			}
			line := buf.String()
			if !strings.Contains(line, r.log) || !strings.Contains(line, "remote=192.0.2.1:1234") || !strings.Contains(line, auth) {
				t.Errorf("%s %s logged %q, want %s, the remote address and %s", r.method, r.path, line, r.log, auth)
			}
		}
	}
}

// logBuffer is a log sink the server and the test share.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// TestRefusalsCounted: the guard's refusals show in /stats and /metrics.
func TestRefusalsCounted(t *testing.T) {
	f := newFixture(t, withToken)
	f.do("GET", "/healthz", "", "Host", "attacker.example")
	f.do("GET", "/healthz", "", "Origin", "http://127.0.0.1:1")
	f.do("GET", "/healthz", "", "Origin", "http://127.0.0.1:2")
	f.do("PUT", "/api/v1/trace", `{"trace":"on"}`, "Content-Type", "text/plain")
	f.do("GET", "/api/v1/pcap", "")
	st := decode[StatsBody](t, f.do("GET", "/api/v1/stats", "", bearer...))
	if want := (GuardRefusals{Host: 1, Origin: 2, Simple: 1, Token: 1}); st.Web.Refused != want {
		t.Errorf("refused %+v, want %+v", st.Web.Refused, want)
	}
	m := f.do("GET", "/metrics", "").Body.String()
	for _, line := range []string{`sipwire_web_requests_refused_total{reason="host"} 1`, `sipwire_web_requests_refused_total{reason="origin"} 2`,
		`sipwire_web_requests_refused_total{reason="simple"} 1`, `sipwire_web_requests_refused_total{reason="token"} 1`} {
		if !strings.Contains(m, line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	f := newFixture(t, withToken)
	wantError(t, f.do(http.MethodGet, "/api/v1/nothing", ""), http.StatusNotFound, "no route")
	wantError(t, f.do(http.MethodGet, "/api/v1/trace/", ""), http.StatusNotFound, "no route")
	w := f.do(http.MethodPost, "/api/v1/trace", `{"trace":"on"}`, bearer...)
	wantError(t, w, http.StatusMethodNotAllowed, "not allowed")
	if allow := w.Header().Get("Allow"); allow != "GET, PUT" {
		t.Errorf("Allow = %q", allow)
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/mi", ""), http.StatusMethodNotAllowed, "POST")
	wantError(t, f.do(http.MethodDelete, "/api/v1/connections", "", "X-Sipwire", "1"), http.StatusMethodNotAllowed, "GET")
}
