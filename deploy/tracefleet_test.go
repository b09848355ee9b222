package deploy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/deploy/testtool"
)

const traceFleet = "k8s/trace-fleet.sh"

func TestTraceFleetScriptLints(t *testing.T) {
	if out, err := exec.Command("bash", "-n", traceFleet).CombinedOutput(); err != nil {
		t.Fatalf("bash -n %s: %v\n%s", traceFleet, err, out)
	}
	if info, err := os.Stat(traceFleet); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("%s is not executable (%v)", traceFleet, err)
	}
	shellcheck := testtool.Program(t, "shellcheck", "shellcheck")
	if out, err := exec.Command(shellcheck, traceFleet).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck %s: %v\n%s", traceFleet, err, out)
	}
}

// fakeKubectl stands in for a cluster: `get pods` lists the pods of the
// pods file ("NAME PORT" lines), `exec POD -- /sipwire ARGS` runs the real
// sipwire binary against that pod's API with the pod's token, and
// `port-forward pod/POD :8080` reports the pod's own port as the local one.
// Every call is appended to the calls file.
const fakeKubectl = `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >> "$FAKE_CALLS"
ns=""
if [[ "$1" == --namespace ]]; then ns="$2"; shift 2; fi
port_of() { awk -v p="$1" '$1 == p { print $2 }' "$FAKE_PODS"; }
case "$1" in
get)
	awk '{ print $1 }' "$FAKE_PODS" ;;
exec)
	pod="$2"; shift 2
	while [[ "$1" != -- ]]; do shift; done
	shift
	[[ "$1" == /sipwire ]] || { echo "unexpected program $1" >&2; exit 126; }
	shift
	SIPWIRE_API="http://127.0.0.1:$(port_of "$pod")" SIPWIRE_WEB_TOKEN="$FAKE_POD_TOKEN" exec "$FAKE_SIPWIRE" "$@" ;;
port-forward)
	pod="${2#pod/}"
	echo "Forwarding from 127.0.0.1:$(port_of "$pod") -> 8080"
	exec sleep 60 ;;
*)
	echo "fake kubectl: unexpected $*" >&2; exit 1 ;;
esac
`

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSipwire runs one sipwire "pod" on 127.0.0.1 with tracing off and the
// web API on webPort guarded by token; it is stopped with SIGTERM at cleanup.
func startSipwire(t *testing.T, bin string, webPort int, token string) {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`socket: [tcp:127.0.0.1:%d]
trace_on: 0
trace_destination: homer
hep_id: ["[homer] 127.0.0.1:%d; transport=udp; version=3"]
web:
  listen: 127.0.0.1:%d
history:
  path: %s
`, freePort(t), freePort(t), webPort, filepath.Join(dir, "history.db"))
	cfgPath := filepath.Join(dir, "sipwire.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgPath)
	cmd.Env = append(os.Environ(), "SIPWIRE_WEB_TOKEN="+token)
	log, err := os.Create(filepath.Join(dir, "sipwire.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipwire: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		log.Close()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", webPort)
	for i := 0; i < 200; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := os.ReadFile(log.Name())
	t.Fatalf("sipwire on :%d never answered /healthz\n%s", webPort, out)
}

// traceState asks one sipwire for its trace state.
func traceState(t *testing.T, webPort int) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/trace", webPort))
	if err != nil {
		t.Fatalf("GET /api/v1/trace: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Trace string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET /api/v1/trace: %s: %v", resp.Status, err)
	}
	return body.Trace
}

func TestTraceFleetFlipsEveryPod(t *testing.T) {
	bin := buildSipwire(t)
	dir := t.TempDir()
	const podToken = "pod-token-from-the-secret"
	ports := map[string]int{"sipwire-a": freePort(t), "sipwire-b": freePort(t)}
	var podsFile strings.Builder
	for name, port := range ports {
		startSipwire(t, bin, port, podToken)
		fmt.Fprintf(&podsFile, "%s %d\n", name, port)
	}
	kubectl := filepath.Join(dir, "kubectl")
	calls := filepath.Join(dir, "calls")
	if err := os.WriteFile(kubectl, []byte(fakeKubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	writePods := func(content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "pods"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writePods(podsFile.String())

	// run runs the script with localToken as the operator's SIPWIRE_WEB_TOKEN.
	run := func(localToken string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command("bash", append([]string{traceFleet}, args...)...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"KUBECTL=" + kubectl,
			"SIPWIRE_BIN=" + bin,
			"FAKE_SIPWIRE=" + bin,
			"FAKE_PODS=" + filepath.Join(dir, "pods"),
			"FAKE_CALLS=" + calls,
			"FAKE_POD_TOKEN=" + podToken,
		}
		if localToken != "" {
			cmd.Env = append(cmd.Env, "SIPWIRE_WEB_TOKEN="+localToken)
		}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("run %s: %v", traceFleet, err)
		}
		return string(out), code
	}
	expectAll := func(want string) {
		t.Helper()
		for name, port := range ports {
			if got := traceState(t, port); got != want {
				t.Errorf("pod %s: trace %q, want %q", name, got, want)
			}
		}
	}

	// exec mode: the pod's own token, none needed locally.
	if out, code := run("", "on", "-n", "voice"); code != 0 {
		t.Fatalf("trace-fleet on: exit %d\n%s", code, out)
	}
	expectAll("on")
	callLog, _ := os.ReadFile(calls)
	for _, want := range []string{
		"--namespace voice get pods --selector app.kubernetes.io/name=sipwire --field-selector status.phase=Running",
		"--namespace voice exec sipwire-a --container sipwire -- /sipwire trace on",
	} {
		if !strings.Contains(string(callLog), want) {
			t.Errorf("kubectl was not called with %q; calls:\n%s", want, callLog)
		}
	}

	// port-forward mode: the operator's token and binary.
	if out, code := run("", "off", "-m", "port-forward"); code != 1 || !strings.Contains(out, "SIPWIRE_WEB_TOKEN is not set") {
		t.Errorf("port-forward without a local token: exit %d, want 1 and a message\n%s", code, out)
	}
	expectAll("on")
	if out, code := run(podToken, "off", "-m", "port-forward"); code != 0 {
		t.Fatalf("trace-fleet off -m port-forward: exit %d\n%s", code, out)
	}
	expectAll("off")
	if out, code := run("", "status"); code != 0 || strings.Count(out, ": ") < len(ports) {
		t.Errorf("trace-fleet status: exit %d\n%s", code, out)
	}

	// A pod that does not answer fails the run; the others still flip.
	writePods(podsFile.String() + fmt.Sprintf("sipwire-dead %d\n", freePort(t)))
	out, code := run("", "on")
	if code != 1 || !strings.Contains(out, "sipwire-dead: FAILED") || !strings.Contains(out, "3 pod(s), 1 failed") {
		t.Errorf("with a dead pod: exit %d, want 1 and its failure reported\n%s", code, out)
	}
	expectAll("on")

	writePods("")
	if out, code := run("", "on"); code != 1 || !strings.Contains(out, "no running pod") {
		t.Errorf("with no pod: exit %d, want 1\n%s", code, out)
	}
	for _, args := range [][]string{{}, {"toggle"}, {"on", "-m", "ssh"}, {"on", "extra"}, {"on", "-x"}} {
		if out, code := run("", args...); code != 2 {
			t.Errorf("trace-fleet %s: exit %d, want 2 (usage)\n%s", strconv.Quote(strings.Join(args, " ")), code, out)
		}
	}
}
