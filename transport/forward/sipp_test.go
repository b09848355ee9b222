package forward

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// sippTimeout bounds one SIPp run.
const sippTimeout = 60 * time.Second

// sippRun is one SIPp end-to-end run: a uac → sipwire's forwarder → a uas.
type sippRun struct {
	mode     string // -t: t1 (one connection) or tn (one per call)
	calls    int
	rate     int
	uac, uas []string // scenario: "-sn", "uac" or "-sf", file
}

func TestSIPp(t *testing.T) {
	sipp := testtool.Program(t, "sipp", "sip-tester")
	dir, err := filepath.Abs(filepath.Join("testdata", "sipp"))
	if err != nil {
		t.Fatal(err)
	}
	uac := filepath.Join(dir, "uac_bye_reversed.xml")
	uas := filepath.Join(dir, "uas_bye_reversed.xml")
	for name, run := range map[string]sippRun{
		"builtin t1":      {mode: "t1", calls: 200, rate: 200, uac: []string{"-sn", "uac"}, uas: []string{"-sn", "uas"}},
		"builtin tn":      {mode: "tn", calls: 200, rate: 200, uac: []string{"-sn", "uac"}, uas: []string{"-sn", "uas"}},
		"bye reversed t1": {mode: "t1", calls: 50, rate: 100, uac: []string{"-sf", uac}, uas: []string{"-sf", uas}},
		"bye reversed tn": {mode: "tn", calls: 50, rate: 100, uac: []string{"-sf", uac}, uas: []string{"-sf", uas}},
	} {
		t.Run(name, func(t *testing.T) { run.do(t, sipp) })
	}
}

func (run sippRun) do(t *testing.T, sipp string) {
	uasPort := freePort(t)
	r := newRig(t, Config{Upstream: "sip:127.0.0.1:" + uasPort + ";transport=tcp", RecordRoute: true}, transport.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), sippTimeout)
	defer cancel()
	common := []string{"-t", run.mode, "-i", "127.0.0.1", "-m", strconv.Itoa(run.calls),
		"-max_socket", "1000", "-timeout", "50s", "-timeout_error", "-nostdin"}
	uas := startSIPp(ctx, t, sipp, append(append(append([]string{}, run.uas...), "-p", uasPort), common...))
	waitListening(t, "127.0.0.1:"+uasPort)
	uacArgs := append(append([]string{}, run.uac...), "-p", freePort(t), "-r", strconv.Itoa(run.rate), "-l", strconv.Itoa(max(100, run.rate)))
	uac := startSIPp(ctx, t, sipp, append(append(uacArgs, common...), r.fwd()))
	uacErr := uac.wait()
	uasErr := uas.wait()
	if uacErr != nil || uasErr != nil {
		t.Errorf("uac: %v, uas: %v\nforwarder stats: %+v\ntransport stats: %+v\n--- uac output (tail):\n%s\n--- uas output (tail):\n%s",
			uacErr, uasErr, r.f.Stats(), r.tr.Stats(), tail(uac.out.Bytes()), tail(uas.out.Bytes()))
	}
	// Every call is INVITE, ACK, BYE one way and 180, 200, 200 the other.
	// The forwarder counts a message once written: wait (bounded) for the
	// last count.
	n := uint64(3 * run.calls)
	deadline := time.Now().Add(wait)
	s := r.f.Stats()
	for (s.RequestsForwarded < n || s.ResponsesForwarded < n) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		s = r.f.Stats()
	}
	t.Logf("%d calls: %+v", run.calls, s)
	if s.RequestsForwarded != n || s.ResponsesForwarded != n || s.DroppedResponses != (DroppedResponses{}) || s.SendErrors != 0 {
		t.Errorf("forwarder stats: %+v, want %d requests and responses forwarded", s, n)
	}
	// One connection out, to the uas: the callee's BYEs reached the caller
	// over the caller's own connections.
	if c := r.tr.Stats().Connects; c != 1 {
		t.Errorf("%d outbound connections, want 1", c)
	}
}

type sippProc struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

func startSIPp(ctx context.Context, t *testing.T, sipp string, args []string) *sippProc {
	t.Helper()
	p := &sippProc{cmd: exec.CommandContext(ctx, sipp, args...)}
	p.cmd.Dir = t.TempDir()
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

func (p *sippProc) wait() error { return p.cmd.Wait() }

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	_, port, err := net.SplitHostPort(unusedPort(t))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// waitListening waits (bounded) until something accepts on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after %s: %v", addr, wait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail returns the last 3 KiB of SIPp's screen output.
func tail(b []byte) []byte {
	if len(b) > 3<<10 {
		b = b[len(b)-3<<10:]
	}
	return b
}
