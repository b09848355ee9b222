package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrintedConfigWithSecretsDoesNotStart runs what the operator did:
// sipwire -config a.yaml -print-config > b.yaml; sipwire -config b.yaml.
// The second start fails with a message naming each secret; it never runs
// with "<redacted>" as the token.
func TestPrintedConfigWithSecretsDoesNotStart(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(a, []byte(`socket: [tcp:127.0.0.1:0]
hep:
  auth_key: hep-secret
web:
  listen: 127.0.0.1:0
  token: web-secret
otel:
  headers: {Authorization: "Bearer otel-secret"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "-config", a, "-print-config")
	cmd.Env = append(os.Environ(), "SIPWIRE_WEB_TOKEN=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("-print-config: %v", err)
	}
	for _, s := range []string{"hep-secret", "web-secret", "otel-secret"} {
		if strings.Contains(string(out), s) {
			t.Fatalf("the printed config shows %s", s)
		}
	}
	b := filepath.Join(dir, "b.yaml")
	if err := os.WriteFile(b, out, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(binary, "-config", b)
	cmd.Env = append(os.Environ(), "SIPWIRE_WEB_TOKEN=")
	msg, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 {
		t.Fatalf("the printed config started (exit %d, %v):\n%s", code, err, msg)
	}
	for _, key := range []string{"hep.auth_key", "web.token", "otel.headers"} {
		if !strings.Contains(string(msg), key+": ") || !strings.Contains(string(msg), "<redacted> is what -print-config writes in place of a secret") {
			t.Errorf("the refusal does not name %s:\n%s", key, msg)
		}
	}
}
