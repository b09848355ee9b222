package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/deploy/testtool"
	"github.com/sipwire/sipwire/hep"
)

// The trace spine's promise, as Homer shows it: a call's traced messages,
// ordered by HEP timestamp, follow their causal order on the wire. SIPp's
// uac calls through the forwarder to SIPp's uas; every SIP packet the HEP
// collector receives is placed on its call's ladder.

// ladderStep names one of the 12 traced messages of a SIPp call through
// the forwarder: which leg (c: client, u: upstream), which way as sipwire
// sees it (in, out), and the message (method, or status/CSeq method).
type ladderStep string

// callLadder is the wire story of one call, in causal order where there is
// one.
var callLadder = []ladderStep{
	"c in INVITE", "u out INVITE", "u in 180/INVITE", "c out 180/INVITE",
	"u in 200/INVITE", "c out 200/INVITE", "c in ACK", "u out ACK",
	"c in BYE", "u out BYE", "u in 200/BYE", "c out 200/BYE",
}

// causalPairs are the pairs (a, b) of callLadder indexes where a must not be
// stamped after b: a message is forwarded after it arrived, a peer answers
// what was forwarded to it, and a connection's messages one way keep their
// order. (180 and 200 come back pipelined: the 200 may be read before the
// 180 is forwarded, so out 180 and in 200 have no order.)
var causalPairs = [][2]int{
	{0, 1}, {1, 2}, {1, 4}, {2, 3}, {2, 4}, {3, 5}, {4, 5}, {5, 6},
	{6, 7}, {6, 8}, {7, 9}, {8, 9}, {9, 10}, {10, 11},
}

// ladderCollector keeps, per Call-ID, the HEP timestamp of each step.
type ladderCollector struct {
	mu       sync.Mutex
	calls    map[string]map[ladderStep]int64
	unknown  int
	sipwire  uint16 // sipwire's SIP port (the client leg's far end)
	upstream uint16 // the uas's port
}

func (l *ladderCollector) add(p *hep.Packet) {
	if p.ProtoType != hep.ProtoSIP {
		return
	}
	ts := int64(p.TimeSec)*1_000_000 + int64(p.TimeUsec)
	l.mu.Lock()
	defer l.mu.Unlock()
	step, ok := l.step(p) // reads sipwire, set after the collector started
	if !ok {
		l.unknown++
		return
	}
	id := string(p.CorrelationID)
	m := l.calls[id]
	if m == nil {
		m = map[ladderStep]int64{}
		l.calls[id] = m
	}
	if _, dup := m[step]; dup {
		l.unknown++ // a retransmission would make the ladder ambiguous
		return
	}
	m[step] = ts
}

func (l *ladderCollector) step(p *hep.Packet) (ladderStep, bool) {
	leg, dir := "c", "out"
	switch {
	case p.Src.Port() == l.upstream:
		leg, dir = "u", "in"
	case p.Dst.Port() == l.upstream:
		leg = "u"
	case p.Dst.Port() == l.sipwire:
		dir = "in"
	}
	line, rest, _ := bytes.Cut(p.Payload, []byte("\r\n"))
	f := bytes.Fields(line)
	if len(f) < 3 {
		return "", false
	}
	what := string(f[0])
	if what == "SIP/2.0" {
		i := bytes.Index(rest, []byte("\r\nCSeq:"))
		if i < 0 {
			return "", false
		}
		cseq, _, _ := bytes.Cut(rest[i+7:], []byte("\r\n"))
		cf := bytes.Fields(cseq)
		if len(cf) != 2 {
			return "", false
		}
		what = string(f[1]) + "/" + string(cf[1])
	}
	return ladderStep(leg + " " + dir + " " + what), true
}

// verdict counts the complete calls and those whose timestamps break a
// causal pair, with an example of each kind of break.
func (l *ladderCollector) verdict() (complete, outOfOrder int, examples []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	for id, m := range l.calls {
		if len(m) != len(callLadder) {
			continue
		}
		complete++
		bad := false
		for _, p := range causalPairs {
			a, b := callLadder[p[0]], callLadder[p[1]]
			ta, okA := m[a]
			tb, okB := m[b]
			if !okA || !okB {
				bad = true
				continue
			}
			if ta > tb {
				bad = true
				k := string(a) + " > " + string(b)
				if !seen[k] {
					seen[k] = true
					examples = append(examples, fmt.Sprintf("%s: %s stamped %d µs after %s", id, a, ta-tb, b))
				}
			}
		}
		if bad {
			outOfOrder++
		}
	}
	return complete, outOfOrder, examples
}

// TestTraceFollowsTheWire: SIPp t1 and tn through the forwarder, 3,000
// calls each, HEP over UDP: every call's 12 messages arrive, and none is
// stamped before what caused it.
func TestTraceFollowsTheWire(t *testing.T) {
	sipp := testtool.Program(t, "sipp", "sip-tester")
	for _, mode := range []string{"t1", "tn"} {
		t.Run(mode, func(t *testing.T) { traceOrderRun(t, sipp, mode, 3000, 300) })
	}
}

func traceOrderRun(t *testing.T, sipp, mode string, calls, rate int) {
	uasPort := freeTCPPort(t)
	lc := &ladderCollector{calls: map[string]map[ladderStep]int64{}, upstream: uint16(uasPort)}
	col := serveHEP(t, 8<<20, lc.add)
	cfg := testConfig(t, col.LocalAddr().String(), "")
	cfg.Forward.URI = "sip:127.0.0.1:" + strconv.Itoa(uasPort) + ";transport=tcp"
	cfg.HEP.QueueSize = 1 << 16
	a := startApp(t, cfg)
	lc.mu.Lock()
	lc.sipwire = a.listeners[0].Port()
	lc.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	common := []string{"-t", mode, "-i", "127.0.0.1", "-m", strconv.Itoa(calls),
		"-max_socket", "5000", "-timeout", "150s", "-timeout_error", "-nostdin"}
	uas := exec.CommandContext(ctx, sipp, append([]string{"-sn", "uas", "-p", strconv.Itoa(uasPort)}, common...)...)
	var uasOut, uacOut bytes.Buffer
	uas.Stdout, uas.Stderr, uas.Dir = &uasOut, &uasOut, t.TempDir()
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if uas.ProcessState == nil {
			uas.Process.Kill()
			uas.Wait()
		}
	}()
	waitTCP(t, "127.0.0.1:"+strconv.Itoa(uasPort))
	uac := exec.CommandContext(ctx, sipp, append([]string{"-sn", "uac", "-p", strconv.Itoa(freeTCPPort(t)),
		"-r", strconv.Itoa(rate), "-l", strconv.Itoa(rate)}, append(common, a.listeners[0].String())...)...)
	uac.Stdout, uac.Stderr, uac.Dir = &uacOut, &uacOut, t.TempDir()
	if err := uac.Run(); err != nil {
		t.Fatalf("SIPp uac: %v\n%s", err, lastBytes(uacOut.Bytes()))
	}
	if err := uas.Wait(); err != nil {
		t.Fatalf("SIPp uas: %v\n%s", err, lastBytes(uasOut.Bytes()))
	}
	stopApp(t, a)
	want := uint64(calls * len(callLadder))
	deadline := time.Now().Add(10 * time.Second)
	for {
		lc.mu.Lock()
		n := 0
		for _, m := range lc.calls {
			n += len(m)
		}
		lc.mu.Unlock()
		if uint64(n) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	complete, bad, examples := lc.verdict()
	for _, d := range a.hep.Stats() {
		if d.Drops.Total() != 0 {
			t.Errorf("HEP dropped packets: %+v", d.Drops)
		}
	}
	t.Logf("%s: %d calls, %d with all 12 messages traced, %d out of causal order, %d packets not placed", mode, calls, complete, bad, lc.unknown)
	if complete != calls {
		t.Errorf("%d of %d calls have all 12 messages in HEP", complete, calls)
	}
	if bad != 0 {
		slices.Sort(examples)
		t.Errorf("%d of %d calls out of causal order by HEP timestamp, e.g.\n%s", bad, complete, examples)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitTCP(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastBytes(b []byte) []byte {
	if len(b) > 3<<10 {
		b = b[len(b)-3<<10:]
	}
	return b
}
