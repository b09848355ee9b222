package web

import (
	"net/http"
	"strings"
	"testing"
)

func TestTraceRoutes(t *testing.T) {
	f := newFixture(t)
	if w := f.do(http.MethodGet, "/api/v1/trace", ""); w.Body.String() != `{"trace":"off"}` {
		t.Fatalf("GET = %s", w.Body)
	}
	w := f.do(http.MethodPut, "/api/v1/trace", `{"trace":"on"}`, bearer...)
	if w.Code != 200 || w.Body.String() != `{"trace":"on"}` || !f.tr.Tracing() {
		t.Fatalf("PUT on = %d %s, tracing %v", w.Code, w.Body, f.tr.Tracing())
	}
	if w := f.do(http.MethodGet, "/api/v1/trace", ""); w.Body.String() != `{"trace":"on"}` {
		t.Fatalf("GET after on = %s", w.Body)
	}
	w = f.do(http.MethodPut, "/api/v1/trace", `{"trace":"off"}`, bearer...)
	if w.Code != 200 || w.Body.String() != `{"trace":"off"}` || f.tr.Tracing() {
		t.Fatalf("PUT off = %d %s", w.Code, w.Body)
	}
}

func TestTraceRejectsAnythingButOnOff(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.MaxBodyBytes = 256 })
	tests := []struct {
		name, body string
		status     int
		says       string
	}{
		{"onX as OpenSIPS would take", `{"trace":"onX"}`, 400, `"on" or "off"`},
		{"upper case", `{"trace":"ON"}`, 400, `"on" or "off"`},
		{"number", `{"trace":1}`, 400, "bad JSON"},
		{"bool", `{"trace":true}`, 400, "bad JSON"},
		{"missing", `{}`, 400, `"on" or "off"`},
		{"unknown field", `{"trace":"on","x":1}`, 400, "unknown field"},
		{"empty body", ``, 400, "empty request body"},
		{"not JSON", `on`, 400, "bad JSON"},
		{"trailing data", `{"trace":"on"} {}`, 400, "data after"},
		{"too large", `{"trace":"` + strings.Repeat("o", 300) + `"}`, 413, "over 256 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, f.do(http.MethodPut, "/api/v1/trace", tt.body, bearer...), tt.status, tt.says)
			if f.tr.Tracing() {
				t.Fatal("tracing switched on")
			}
		})
	}
}
