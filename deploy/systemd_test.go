package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// unitFile is a parsed systemd unit: section -> key -> values in order.
type unitFile map[string]map[string][]string

func parseUnit(t *testing.T, file string) unitFile {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("open %s: %v", file, err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is not KEY=VALUE in a section", file, n, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return u
}

// last returns the value of the last assignment of key, as systemd applies it.
func (u unitFile) last(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

const unitPath = "systemd/sipwire.service"

func TestSystemdUnitHardening(t *testing.T) {
	u := parseUnit(t, filepath.FromSlash(unitPath))
	for key, want := range map[string]string{
		"NoNewPrivileges":         "yes",
		"DynamicUser":             "yes",
		"AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"StateDirectory":          "sipwire",
		"WorkingDirectory":        "%S/sipwire",
		"RestrictNamespaces":      "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallArchitectures": "native",
		"KillSignal":              "SIGTERM",
	} {
		if got := u.last("Service", key); got != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	if filters := u["Service"]["SystemCallFilter"]; len(filters) == 0 || filters[0] != "@system-service" {
		t.Errorf("SystemCallFilter %v, want @system-service first", filters)
	}
	families := strings.Fields(u.last("Service", "RestrictAddressFamilies"))
	for _, need := range []string{"AF_INET", "AF_INET6"} {
		if !slices.Contains(families, need) {
			t.Errorf("RestrictAddressFamilies %v lacks %s", families, need)
		}
	}
	execStart := strings.Fields(u.last("Service", "ExecStart"))
	if len(execStart) < 3 || execStart[1] != "-config" {
		t.Errorf("ExecStart %v, want BINARY -config FILE", execStart)
	}
	if reload := u.last("Service", "ExecReload"); !strings.Contains(reload, "-HUP") || !strings.Contains(reload, "$MAINPID") {
		t.Errorf("ExecReload=%q, want kill -HUP $MAINPID (SIGHUP reloads trace_on and the filter route)", reload)
	}
	if u.last("Service", "TimeoutStopSec") == "" {
		t.Error("no TimeoutStopSec: the drain gets systemd's default, not a chosen deadline")
	}
	if u.last("Install", "WantedBy") == "" {
		t.Error("no [Install] WantedBy: systemctl enable does nothing")
	}
}

// unitForVerify copies the unit with its ExecStart binary replaced by one that
// exists here (systemd-analyze verify checks that the program is executable).
func unitForVerify(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.FromSlash(unitPath))
	if err != nil {
		t.Fatal(err)
	}
	bin := strings.Fields(parseUnit(t, filepath.FromSlash(unitPath)).last("Service", "ExecStart"))[0]
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sipwire.service")
	if err := os.WriteFile(out, []byte(strings.ReplaceAll(string(data), bin, self)), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze := testtool.Program(t, "systemd-analyze", "systemd")
	unit := unitForVerify(t)
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || strings.Contains(string(out), "sipwire.service") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The exposure score systemd computes from the sandboxing directives:
	// 2.0 or less reads "OK" (a unit with no hardening scores 9.6).
	out, err = exec.Command(analyze, "security", "--offline=true", "--threshold=20", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: exposure above 2.0: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(lines[len(lines)-1])
}
