package web

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// stuckClient opens the event stream on a raw connection with a small
// receive buffer and never reads from it.
func stuckClient(t *testing.T, base string) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "GET /api/v1/events/stream HTTP/1.1\r\nHost: %s\r\n\r\n", c.RemoteAddr()); err != nil {
		t.Fatal(err)
	}
	return c.(*net.TCPConn)
}

// waitStreams waits (bounded) until the server counts n open streams.
func waitStreams(t *testing.T, f *fixture, n int64) {
	t.Helper()
	for range 1000 {
		if f.srv.stats().Web.StreamClients == n {
			return
		}
		waitABit()
	}
	t.Fatalf("open streams %d, want %d", f.srv.stats().Web.StreamClients, n)
}

// serverSendQueue returns the bytes in the kernel send queue of the
// server's side of each connection from the ports of clients, read from
// /proc/net/tcp; a connection that is gone is absent.
func serverSendQueue(t *testing.T, serverPort int, clients map[int]bool) (map[int]int, bool) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil, false
	}
	port := func(addr string) int {
		_, p, _ := strings.Cut(addr, ":")
		n, _ := strconv.ParseInt(p, 16, 32)
		return int(n)
	}
	q := map[int]int{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || port(f[1]) != serverPort || !clients[port(f[2])] {
			continue
		}
		tx, _, _ := strings.Cut(f[4], ":")
		n, _ := strconv.ParseInt(tx, 16, 64)
		q[port(f[2])] += int(n)
	}
	return q, true
}

// TestStreamBoundAndStuckClients opens more streams than
// MaxEventStreams from clients that never read: the ones over the bound are
// refused with a 503 and counted; the others are dropped once a write has
// not gone out within StreamWriteTimeout, counted, and their connections
// reset, which frees what the kernel held for them at once.
func TestStreamBoundAndStuckClients(t *testing.T) {
	const bound, over = 4, 3
	const writeTimeout = 300 * time.Millisecond
	f := newFixture(t, func(c *Config, _ *Deps) {
		c.MaxEventStreams = bound
		c.StreamWriteTimeout = writeTimeout
	})
	serverPort, _ := strconv.Atoi(f.base[strings.LastIndex(f.base, ":")+1:])
	stuck := map[int]bool{}
	var conns []*net.TCPConn
	for i := range bound {
		c := stuckClient(t, f.base)
		conns = append(conns, c)
		stuck[c.LocalAddr().(*net.TCPAddr).Port] = true
		waitStreams(t, f, int64(i+1))
	}
	for i := range over {
		c := stuckClient(t, f.base)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 512)
		n, _ := resp.Body.Read(body)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body[:n]), `{"error":"4 event streams are open`) ||
			resp.Header.Get("Retry-After") == "" {
			t.Fatalf("stream %d over the bound: %s %q", i+1, resp.Status, body[:n])
		}
	}
	st := f.srv.stats().Web
	if st.StreamClients != bound || st.StreamsRefused != over || st.MaxStreams != bound {
		t.Fatalf("stats after the refusals: %+v", st)
	}
	if m := f.do(http.MethodGet, "/metrics", "").Body.String(); !strings.Contains(m, "sipwire_web_event_streams_refused_total 3\n") ||
		!strings.Contains(m, "sipwire_web_event_streams_max 4\n") {
		t.Errorf("/metrics lacks the refusals:\n%s", m)
	}

	// Events until every stuck stream has been dropped (bounded).
	reason := strings.Repeat("r", 300)
	peak, peakOne := 0, 0
	for i := 0; i < 1000 && f.srv.stats().Web.StreamWriteTimeouts < bound; i++ {
		for range 200 {
			f.srv.Ring().Add(&transport.Event{Kind: transport.EventClosed, Status: transport.StatusFailure, Reason: reason})
		}
		if q, ok := serverSendQueue(t, serverPort, stuck); ok {
			sum := 0
			for _, n := range q {
				sum += n
				peakOne = max(peakOne, n)
			}
			peak = max(peak, sum)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st = f.srv.stats().Web
	if st.StreamWriteTimeouts != bound {
		t.Fatalf("stuck streams dropped: %d of %d (%+v)", st.StreamWriteTimeouts, bound, st)
	}
	waitStreams(t, f, 0)
	if m := f.do(http.MethodGet, "/metrics", "").Body.String(); !strings.Contains(m, "sipwire_web_event_stream_write_timeouts_total 4\n") {
		t.Errorf("/metrics lacks the write timeouts")
	}
	t.Logf("%d events sent; peak kernel send queue of the %d stuck streams: %d bytes, of one: %d bytes", f.srv.Ring().LastSeq(), bound, peak, peakOne)
	// Linux doubles SO_SNDBUF for its bookkeeping and lets the last write
	// take one more segment (64 KiB on loopback): the data queued stays
	// within four times StreamSendBuffer (without it: 2.8 MB per stream).
	if peakOne > 4*StreamSendBuffer {
		t.Errorf("a stuck stream held %d bytes in its send queue, over four times StreamSendBuffer (%d)", peakOne, StreamSendBuffer)
	}

	// The connections were reset: nothing is left queued for them.
	if q, ok := serverSendQueue(t, serverPort, stuck); ok {
		if len(q) != 0 {
			t.Errorf("server sockets of dropped streams still held, send queues %v", q)
		}
	} else {
		t.Log("/proc/net/tcp unreadable: the kernel queues are not checked")
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64<<10)
		var err error
		for err == nil {
			_, err = c.Read(buf)
		}
		if !strings.Contains(err.Error(), "reset") {
			t.Errorf("a dropped stream's client read %v, want a reset", err)
		}
	}

	// With the streams gone, a new one opens.
	s := openStream(t, f.base+"/api/v1/events/stream")
	if h := s.next(); h.event != "hello" {
		t.Fatalf("first event %+v", h)
	}
}
