package web

import (
	"net/http"
	"testing"
)

// Only the whole token opens a route that needs it: a prefix of it, the
// token with more after it, or an empty one is refused.
func TestTokenComparedWhole(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.Token = testToken })
	body := `{"trace":"on"}`
	for _, tok := range []string{testToken[:1], testToken[:len(testToken)-1], testToken + "x", "", testToken[1:]} {
		w := f.do(http.MethodPut, "/api/v1/trace", body, "Content-Type", "application/json", "Authorization", "Bearer "+tok)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("Bearer %q: status %d, want 401: %s", tok, w.Code, w.Body)
		}
		if f.tr.Tracing() {
			t.Fatalf("Bearer %q switched tracing on", tok)
		}
	}
	w := f.do(http.MethodPut, "/api/v1/trace", body, "Content-Type", "application/json", "Authorization", "Bearer "+testToken)
	if w.Code != http.StatusOK || !f.tr.Tracing() {
		t.Fatalf("the token: status %d, tracing %v: %s", w.Code, f.tr.Tracing(), w.Body)
	}
}
