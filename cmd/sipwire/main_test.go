package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Black-box tests: the built binary, over real sockets on 127.0.0.1.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sipwire-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sipwire")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building sipwire: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type instance struct {
	sip, web string
	cmd      *exec.Cmd
	stderr   *lockedBuffer
	dir      string
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSipwire runs the binary in a temporary directory on free ports,
// with extra flags, and waits until it answers. Without -config it runs the
// embedded default config with HEP sent to a UDP port of the test's own,
// never to the default 9060, where an operator's collector may listen.
func startSipwire(t *testing.T, extra ...string) *instance {
	t.Helper()
	in := &instance{sip: freeAddr(t), web: freeAddr(t), stderr: &lockedBuffer{}, dir: t.TempDir()}
	if !slices.Contains(extra, "-config") {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { u.Close() })
		file := filepath.Join(in.dir, "hep-only.yaml")
		cfg := fmt.Sprintf("hep_id:\n  - '[homer] %s; transport=udp; version=3'\n", u.LocalAddr())
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		extra = append([]string{"-config", file}, extra...)
	}
	args := append([]string{"-listen", "tcp:" + in.sip, "-web", in.web}, extra...)
	in.cmd = exec.Command(binary, args...)
	in.cmd.Dir = in.dir
	in.cmd.Stderr = in.stderr
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.cmd.Process.Kill()
		in.cmd.Wait()
		if t.Failed() {
			t.Logf("sipwire stderr:\n%s", in.stderr.String())
		}
	})
	for range 100 {
		if c, err := net.Dial("tcp", in.sip); err == nil {
			c.Close()
			return in
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("sipwire did not start: %s", in.stderr.String())
	return nil
}

func (in *instance) dial(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", in.sip)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func (in *instance) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + in.web + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func readMsg(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			t.Fatalf("read: %v after %q", err, b.String())
		}
		if line == "\r\n" {
			return b.String()
		}
	}
}

func request(method, callID string) string {
	return method + " sip:127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-" + callID + "\r\n" +
		"From: <sip:alice@127.0.0.1>;tag=f1\r\n" +
		"To: <sip:127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 7 " + method + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"Content-Length: 0\r\n\r\n"
}

func TestBinaryOptionsAndNotImplemented(t *testing.T) {
	in := startSipwire(t)
	c, r := in.dial(t)
	c.Write([]byte(request("OPTIONS", "o1")))
	resp := readMsg(t, r)
	for _, want := range []string{"SIP/2.0 200 OK\r\n", "Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-o1\r\n",
		"From: <sip:alice@127.0.0.1>;tag=f1\r\n", "To: <sip:127.0.0.1>;tag=", "Call-ID: o1\r\n", "CSeq: 7 OPTIONS\r\n", "Content-Length: 0\r\n"} {
		if !strings.Contains(resp, want) {
			t.Fatalf("200 lacks %q:\n%s", want, resp)
		}
	}
	c.Write([]byte(request("INVITE", "i1")))
	if resp := readMsg(t, r); !strings.HasPrefix(resp, "SIP/2.0 501 Not Implemented\r\n") {
		t.Fatalf("INVITE: %s", resp)
	}
}

func TestBinaryPipeliningSplitAndPing(t *testing.T) {
	in := startSipwire(t)
	c, r := in.dial(t)
	c.Write([]byte(request("OPTIONS", "a") + request("OPTIONS", "b") + "\r\n\r\n"))
	for _, id := range []string{"a", "b"} {
		if resp := readMsg(t, r); !strings.Contains(resp, "Call-ID: "+id+"\r\n") {
			t.Fatalf("pipelined %s: %s", id, resp)
		}
	}
	if pong, _ := r.ReadString('\n'); pong != "\r\n" {
		t.Fatalf("pong %q", pong)
	}
	msg := request("OPTIONS", "split")
	for _, part := range []string{msg[:10], msg[10:90], msg[90:]} {
		c.Write([]byte(part))
		time.Sleep(30 * time.Millisecond)
	}
	if resp := readMsg(t, r); !strings.Contains(resp, "Call-ID: split\r\n") {
		t.Fatalf("split: %s", resp)
	}
}

func TestBinaryRejections(t *testing.T) {
	in := startSipwire(t)
	cases := []struct{ name, in, want string }{
		{"no Content-Length", strings.Replace(request("OPTIONS", "x"), "Content-Length: 0\r\n", "", 1), "SIP/2.0 400 "},
		{"two Content-Lengths", strings.Replace(request("OPTIONS", "x"), "Content-Length: 0\r\n", "Content-Length: 0\r\nl: 3\r\n", 1), "SIP/2.0 400 "},
		{"too large", strings.Replace(request("OPTIONS", "x"), "Content-Length: 0\r\n", "Content-Length: 99999\r\n", 1), "SIP/2.0 513 "},
		{"not SIP", "HELLO world\r\n\r\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := in.dial(t)
			c.Write([]byte(tc.in))
			got, _ := io.ReadAll(c)
			if !strings.HasPrefix(string(got), tc.want) || (tc.want == "" && len(got) != 0) {
				t.Fatalf("got %q, want prefix %q then close", got, tc.want)
			}
		})
	}
	var events struct {
		Events []struct{ Kind, Status, Reason string }
	}
	for range 100 { // the events reach the ring a moment after the close
		in.getJSON(t, "/api/v1/events?kind=BAD_MESSAGE,MESSAGE_TOO_LARGE", &events)
		if len(events.Events) >= 4 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(events.Events) != 4 {
		t.Fatalf("events %+v", events.Events)
	}
}

func TestBinaryDropsUnexpectedResponses(t *testing.T) {
	in := startSipwire(t)
	c, r := in.dial(t)
	c.Write([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-r\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: r\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"))
	c.Write([]byte(request("OPTIONS", "after")))
	if resp := readMsg(t, r); !strings.Contains(resp, "Call-ID: after\r\n") {
		t.Fatalf("%s", resp)
	}
	var stats struct {
		Exporters struct {
			Forward struct {
				DroppedResponses map[string]uint64 `json:"dropped_responses"`
			} `json:"forward"`
		} `json:"exporters"`
	}
	in.getJSON(t, "/api/v1/stats", &stats)
	if stats.Exporters.Forward.DroppedResponses["forwarding_off"] != 1 {
		t.Fatalf("stats %+v", stats)
	}
}

func TestBinaryGracefulStop(t *testing.T) {
	in := startSipwire(t)
	in.dial(t)
	time.Sleep(100 * time.Millisecond)
	in.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- in.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, in.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

func TestPrintConfig(t *testing.T) {
	out, err := exec.Command(binary, "-print-config").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"socket:", "tcp:127.0.0.1:5060", "tcp_max_msg_chunks: 4", "trace_on: 1", "#"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("-print-config lacks %q:\n%s", want, out)
		}
	}
}

func TestBadConfigIsAStartupError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte("socket:\n  - tcp:127.0.0.1:5060\ntcp_max_conections: 5\n"), 0o600)
	out, err := exec.Command(binary, "-config", path).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.yaml:3") || !strings.Contains(string(out), "tcp_max_conections") {
		t.Fatalf("err %v, output %s", err, out)
	}
}

// An unwritable history store is reported and sipwire serves SIP without it.
func TestBinaryRunsWithoutAnUnwritableHistory(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, []byte("x"), 0o600)
	cfgPath := filepath.Join(dir, "sipwire.yaml")
	os.WriteFile(cfgPath, []byte("history:\n  path: "+filepath.Join(blocker, "h.db")+"\n"), 0o600)
	in := startSipwire(t, "-config", cfgPath)
	c, r := in.dial(t)
	c.Write([]byte(request("OPTIONS", "nohist")))
	if resp := readMsg(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 OK") {
		t.Fatalf("%s", resp)
	}
	var stats struct {
		Exporters struct {
			History struct {
				Enabled   bool   `json:"enabled"`
				LastError string `json:"last_error"`
			} `json:"history"`
		} `json:"exporters"`
	}
	in.getJSON(t, "/api/v1/stats", &stats)
	if stats.Exporters.History.Enabled || stats.Exporters.History.LastError == "" {
		t.Fatalf("history stats %+v", stats.Exporters.History)
	}
	if !strings.Contains(in.stderr.String(), "event history disabled") {
		t.Fatalf("no log line about the history:\n%s", in.stderr.String())
	}
}

// SIGHUP reloads trace_on (and the filter route) from the config file
// without dropping connections.
func TestBinarySIGHUPReloadsTracing(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "sipwire.yaml")
	os.WriteFile(cfgPath, []byte("trace_on: 0\nhistory: off\n"), 0o600)
	in := startSipwire(t, "-config", cfgPath)
	c, r := in.dial(t)
	var state struct{ Trace string }
	in.getJSON(t, "/api/v1/trace", &state)
	if state.Trace != "off" {
		t.Fatalf("trace %q at start", state.Trace)
	}
	os.WriteFile(cfgPath, []byte("trace_on: 1\nhistory: off\n"), 0o600)
	in.cmd.Process.Signal(syscall.SIGHUP)
	for range 100 {
		in.getJSON(t, "/api/v1/trace", &state)
		if state.Trace == "on" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if state.Trace != "on" {
		t.Fatalf("trace %q after SIGHUP", state.Trace)
	}
	// The connection opened before the reload still works.
	c.Write([]byte(request("OPTIONS", "after-hup")))
	if resp := readMsg(t, r); !strings.Contains(resp, "Call-ID: after-hup\r\n") {
		t.Fatalf("%s", resp)
	}
}

// An OpenSIPS config with the lines a proto_tcp user already has runs as is.
func TestBinaryRunsAnOpenSIPSConfig(t *testing.T) {
	dir := t.TempDir()
	sip := freeAddr(t)
	cfgPath := filepath.Join(dir, "opensips.cfg")
	os.WriteFile(cfgPath, []byte(`# an OpenSIPS user's config
mpath="/usr/lib/x86_64-linux-gnu/opensips/modules/"
socket=tcp:`+sip+`
loadmodule "proto_tcp.so"
loadmodule "proto_hep.so"
loadmodule "tm.so"
modparam("proto_tcp", "tcp_max_msg_chunks", 8)
modparam("proto_hep", "hep_id", "[hep_dest]127.0.0.1:9;transport=udp;version=3")
modparam("proto_tcp", "trace_destination", "hep_dest")
modparam("proto_tcp", "trace_on", 1)
modparam("proto_tcp", "trace_filter_route", "tcp_filter")
route[tcp_filter] {
	if ($si == "127.0.0.1" && $socket_in(port) == 5060) exit; else drop;
}
`), 0o600)
	cmd := exec.Command(binary, "-config", cfgPath, "-web", "off", "-print-config")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tcp_max_msg_chunks: 8") || !strings.Contains(string(out), "trace_filter_route: tcp_filter") {
		t.Fatalf("%v:\n%s", err, out)
	}
	if !strings.Contains(string(out), "tm.so") {
		t.Fatalf("no warning about tm.so:\n%s", out)
	}
	// Homer's call view for an imported config too (issue 13).
	if !strings.Contains(string(out), "format: homer") {
		t.Fatalf("an imported config must use hep.format homer:\n%s", out)
	}
	in := &instance{sip: sip, stderr: &lockedBuffer{}, dir: dir}
	in.cmd = exec.Command(binary, "-config", cfgPath, "-web", "off")
	in.cmd.Dir = dir
	in.cmd.Stderr = in.stderr
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.cmd.Process.Kill(); in.cmd.Wait() })
	var c net.Conn
	for range 100 {
		if c, err = net.Dial("tcp", sip); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c == nil {
		t.Fatalf("not listening on %s: %s", sip, in.stderr.String())
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte(request("OPTIONS", "cfg")))
	if resp := readMsg(t, bufio.NewReader(c)); !strings.HasPrefix(resp, "SIP/2.0 200 OK") {
		t.Fatalf("%s", resp)
	}
}
