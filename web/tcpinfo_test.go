package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// slowReader dials the fixture's SIP listener with a 4 KiB receive buffer
// and never reads: sipwire's answers pile up in its send queue.
func (f *fixture) slowReader() net.Conn {
	f.t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	c, err := d.DialContext(context.Background(), "tcp", f.sip.String())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

// sendOptions writes n OPTIONS requests with a large Via so that each
// answer is about 1 KiB.
func sendOptions(t *testing.T, c net.Conn, from, n int) {
	t.Helper()
	pad := strings.Repeat("p", 800)
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "OPTIONS sip:sipwire@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-%d;pad=%s\r\n"+
			"From: <sip:slow@127.0.0.1>;tag=1\r\nTo: <sip:sipwire@127.0.0.1>\r\nCall-ID: slow-%d\r\nCSeq: 1 OPTIONS\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", c.LocalAddr(), i, pad, i)
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
}

// A peer that does not read: GET /connections/{id} shows its send queue
// growing as the kernel sees it, with the slow-peer concern the dashboard
// highlights; once it closes, /metrics has its figures in the histograms.
func TestConnectionTCPInfoSlowReader(t *testing.T) {
	f := newFixture(t)
	c := f.slowReader()
	sendOptions(t, c, 0, 20)
	var id uint64
	for range 500 {
		if cs := f.tr.Connections(); len(cs) == 1 && cs[0].MsgsOut > 0 {
			id = cs[0].ID
			break
		}
		waitABit()
	}
	if id == 0 {
		t.Fatal("no answered connection")
	}
	get := func() transport.ConnSnapshot {
		return decode[transport.ConnSnapshot](t, f.do(http.MethodGet, fmt.Sprintf("/api/v1/connections/%d", id), ""))
	}
	first := get()
	if first.TCP == nil || first.TCP.State != transport.TCPEstablished {
		t.Fatalf("GET one without figures: %+v", first)
	}
	var last transport.ConnSnapshot
	for i := range 100 {
		sendOptions(t, c, 20+20*i, 20)
		last = get()
		if last.TCP.SendQueue > first.TCP.SendQueue && last.TCP.Concern() != "" {
			break
		}
		waitABit()
	}
	if last.TCP.SendQueue <= first.TCP.SendQueue || last.TCP.Concern() == "" {
		t.Fatalf("send queue %d -> %d, concern %q", first.TCP.SendQueue, last.TCP.SendQueue, last.TCP.Concern())
	}
	t.Logf("send queue %d -> %d bytes, window %d, concern %q", first.TCP.SendQueue, last.TCP.SendQueue, last.TCP.SendWindow, last.TCP.Concern())

	c.Close()
	closed := f.waitEvent(func(e Event) bool { return e.Kind == "CLOSED" && e.ConnID == id })
	if closed.TCP == nil {
		t.Fatalf("CLOSED without figures: %+v", closed)
	}
	body := f.do(http.MethodGet, "/metrics", "").Body.String()
	for _, want := range []string{
		"# TYPE sipwire_tcp_rtt_seconds histogram\n",
		fmt.Sprintf(`sipwire_tcp_rtt_seconds_bucket{direction="in",listener="%s",le="+Inf"} 1`, f.sip),
		fmt.Sprintf(`sipwire_tcp_rtt_seconds_count{direction="in",listener="%s"} 1`, f.sip),
		fmt.Sprintf(`sipwire_tcp_retransmitted_segments_bucket{direction="in",listener="%s",le="0"} `, f.sip),
		"sipwire_tcp_info_reads_total ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	checkExposition(t, body)

	// The ring's events filter on the figures: a loopback connection
	// retransmits nothing, or a few segments at most.
	evs := decode[eventsBody](t, f.do(http.MethodGet, "/api/v1/events?kind=CLOSED&min_retrans=0", ""))
	if len(evs.Events) != 1 || evs.Events[0].TCP == nil {
		t.Fatalf("CLOSED events %+v", evs.Events)
	}
	over := evs.Events[0].TCP.TotalRetrans + 1
	evs = decode[eventsBody](t, f.do(http.MethodGet, fmt.Sprintf("/api/v1/events?min_retrans=%d", over), ""))
	if len(evs.Events) != 0 {
		t.Fatalf("events with %d retransmits or more: %+v", over, evs.Events)
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/events?min_retrans=-1", ""), http.StatusBadRequest, "min_retrans")
}

// checkExposition checks the lines of a Prometheus text exposition: every
// sample line is name{labels} value with well-formed labels.
func checkExposition(t *testing.T, body string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 {
			end := strings.LastIndexByte(line, '}')
			if end < i || strings.HasSuffix(line[:end], ",") {
				t.Errorf("bad labels: %q", line)
			}
			name, rest = line[:i], strings.TrimSpace(line[end+1:])
		}
		if name == "" || rest == "" || strings.Contains(rest, " ") {
			t.Errorf("bad sample: %q", line)
		}
	}
}
