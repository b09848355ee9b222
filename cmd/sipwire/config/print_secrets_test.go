package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestPrintedSecretsDoNotLoad: a file printed with its secrets redacted
// does not load with the placeholder as the secret; each secret is refused
// at its line with a message that says what to do. With the secrets put
// back, it loads as the original.
func TestPrintedSecretsDoNotLoad(t *testing.T) {
	c := mustParse(t, `hep:
  auth_key: hep-secret
web:
  token: web-secret
otel:
  headers: {Authorization: "Bearer otel-secret", X-Tenant: "t1", X-Empty: ""}
`, "a.yaml")
	out := printed(t, c, true)
	_, err := Parse([]byte(out), "b.yaml")
	if err == nil {
		t.Fatalf("the printed file loads:\n%s", out)
	}
	if !errors.Is(err, ErrValue) {
		t.Errorf("error %v is not ErrValue", err)
	}
	lines := strings.Split(out, "\n")
	lineOf := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i + 1
			}
		}
		t.Fatalf("no line %q in:\n%s", prefix, out)
		return 0
	}
	want := []string{
		fmt.Sprintf(`b.yaml:%d: hep.auth_key: <redacted> is what -print-config writes in place of a secret, not a secret: put the secret back, or remove the key`, lineOf("  auth_key: ")),
		fmt.Sprintf(`b.yaml:%d: web.token: <redacted> is what -print-config writes in place of a secret, not a secret: put the secret back, or remove the key and set it in SIPWIRE_WEB_TOKEN`, lineOf("  token: ")),
		fmt.Sprintf(`b.yaml:%d: otel.headers: "Authorization": <redacted> is what -print-config writes`, lineOf("    Authorization: ")),
		fmt.Sprintf(`b.yaml:%d: otel.headers: "X-Tenant": <redacted> is what -print-config writes`, lineOf("    X-Tenant: ")),
	}
	for _, w := range want {
		if !strings.Contains(err.Error()+"\n", w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if n := strings.Count(err.Error(), "<redacted> is what"); n != 4 {
		t.Errorf("%d problems, want 4 (an empty header is no secret):\n%v", n, err)
	}
	if n := strings.Count(out, "# "+redactedNote+"\n"); n != 3 {
		t.Errorf("%d notes on redacted keys, want 3:\n%s", n, out)
	}

	// The secrets put back: the file loads as the original.
	back := strings.NewReplacer("auth_key: <redacted>", "auth_key: hep-secret", "token: <redacted>", "token: web-secret",
		"Authorization: <redacted>", `Authorization: "Bearer otel-secret"`, "X-Tenant: <redacted>", "X-Tenant: t1").Replace(out)
	d, err := Parse([]byte(back), "c.yaml")
	if err != nil {
		t.Fatalf("with the secrets put back: %v", err)
	}
	if !equalConfig(c, d) {
		t.Errorf("with the secrets put back the config differs:\n%+v\n%+v", c, d)
	}

	// Redacted (GET /api/v1/config) shows the placeholder, not the secrets.
	js, err := c.Redacted().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hep-secret", "web-secret", "otel-secret", `"t1"`} {
		if strings.Contains(string(js), s) {
			t.Errorf("Redacted JSON shows %s", s)
		}
	}
	// A config built in code is checked as well.
	c.Web.Token = Redaction
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "web.token: <redacted> is what") {
		t.Errorf("Validate with the placeholder as token: %v", err)
	}
}
