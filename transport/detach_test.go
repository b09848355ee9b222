package transport

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// detached reports whether the connection has given up its socket objects.
func detached(c *Conn) bool {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	_, ok := c.rc.(detachedFD)
	return ok && c.nc == nil
}

// TestParkedConnectionDetaches: a parked connection keeps only its
// descriptor, and still does all a connection does: its TCP_INFO is read,
// writes go out, a write the socket cannot take is queued and flushed (the
// flusher takes the socket objects back), a request resumes it, and a
// close while detached closes the socket.
func TestParkedConnectionDetaches(t *testing.T) {
	h := newHarness(t, Options{ParkAfter: time.Hour}, nil)
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	nc, err := d.Dial("tcp", h.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	park := func() *Conn {
		t.Helper()
		nc.Write([]byte("\r\n\r\n"))
		if pong, _ := r.ReadString('\n'); pong != "\r\n" {
			t.Fatalf("pong %q", pong)
		}
		waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parked == 1 })
		c := h.tr.Conn(e0(h))
		if !detached(c) {
			t.Fatal("a parked connection kept its socket objects")
		}
		return c
	}
	c := park()

	if ti, err := c.TCPInfo(); err != nil || ti.State != TCPEstablished {
		t.Fatalf("TCP_INFO of a detached connection: %+v, %v", ti, err)
	}
	if err := c.WriteMessage([]byte(options("to-parked")), []byte("to-parked")); err != nil {
		t.Fatalf("write to a detached connection: %v", err)
	}
	if resp := readResponse(t, r); !strings.Contains(resp, "Call-ID: to-parked") {
		t.Fatalf("read %q", resp)
	}
	if !detached(c) {
		t.Fatal("a write the socket took reattached the connection")
	}

	// 512 KiB to a peer that does not read, through small socket buffers:
	// the socket takes part, the rest
	// is queued and the flusher needs the socket objects back.
	c.w.mu.Lock()
	c.rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096) })
	c.w.mu.Unlock()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KiB
	for range 16 {
		if err := c.WriteMessage(chunk, nil); err != nil {
			t.Fatalf("queued write: %v", err)
		}
	}
	if n, _ := c.w.queued(); n == 0 {
		t.Fatal("nothing queued: the test did not fill the socket")
	}
	if detached(c) {
		t.Fatal("the flusher runs on a detached socket")
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 16*len(chunk))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("reading the queued writes: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat(chunk, 16)) {
		t.Fatal("queued writes arrived altered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.waitFlushed(ctx); err != nil {
		t.Fatal(err)
	}

	// A request resumes it; a ping parks and detaches it again.
	nc.Write([]byte(options("resume")))
	if resp := readResponse(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
		t.Fatalf("response %q", resp)
	}
	c = park()
	// The socket is watched once: the descriptor the flusher's reattach put
	// in the epoll set left it when the connection detached again.
	if n := epollEntries(t, h.tr); n != 1 {
		t.Fatalf("%d entries in the poller's epoll set, want 1 (the parked socket)", n)
	}
	c.Close("closed while detached")
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after closing a detached connection the peer reads %v, want EOF", err)
	}
	if st := h.tr.Stats(); st.Open != 0 || st.Closed != 1 {
		t.Fatalf("open %d, closed %d", st.Open, st.Closed)
	}
}

// TestLimitsOnAResumedReader: every limit of the reader fires with its
// exact events on a connection that parked, gave up its socket objects and
// was taken back by the bytes that hit the limit.
func TestLimitsOnAResumedReader(t *testing.T) {
	noCL := strings.Replace(optionsReq, "Content-Length: 0\r\n", "", 1)
	bigCL := strings.Replace(optionsReq, "Content-Length: 0\r\n", "Content-Length: 70000\r\n", 1)
	panics := HandlerFunc(func(*Message) { panic("handler bug") })
	cases := []struct {
		name    string
		opts    Options
		handler Handler
		send    []string // written 30 ms apart once the connection is parked
		want    []string // the events after ACCEPTED
	}{
		{"tcp_max_msg_chunks", Options{MaxMsgChunks: 3}, nil,
			[]string{"OPT", "IONS sip:x ", "SIP/2.0\r\n", "Via: x\r\n"},
			[]string{"CHUNK_LIMIT/FAILURE/Message arrived in 3 chunks, tcp_max_msg_chunks is 3", "CLOSED/FAILURE/Message arrived in 3 chunks, tcp_max_msg_chunks is 3"}},
		{"tcp_max_msg_time", Options{MaxMsgTime: 200 * time.Millisecond, MaxMsgChunks: -1}, nil,
			[]string{"OPTIONS sip:x SIP/2.0\r\n"},
			[]string{"MESSAGE_TIMEOUT/FAILURE/Read timeout with incomplete SIP message", "CLOSED/FAILURE/Read timeout with incomplete SIP message"}},
		{"tcp_connection_lifetime", Options{ConnectionLifetime: 300 * time.Millisecond}, nil,
			nil,
			[]string{"IDLE_TIMEOUT/SUCCESS/Timeout on no traffic", "CLOSED/SUCCESS/Timeout on no traffic"}},
		{"maximum message size", Options{}, nil,
			[]string{bigCL},
			[]string{"MESSAGE_TOO_LARGE/FAILURE/", "CLOSED/FAILURE/"}},
		{"bad message", Options{}, nil,
			[]string{noCL},
			[]string{"BAD_MESSAGE/FAILURE/", "CLOSED/FAILURE/"}},
		{"handler panic", Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, panics,
			[]string{optionsReq},
			[]string{"HANDLER_PANIC/FAILURE/Handler panic: handler bug", "CLOSED/FAILURE/Handler panic: handler bug"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.ParkAfter = time.Hour // parks only after its ping
			h := newHarness(t, tc.opts, tc.handler)
			c := h.dial()
			r := bufio.NewReader(c)
			c.Write([]byte("\r\n\r\n"))
			if pong, _ := r.ReadString('\n'); pong != "\r\n" {
				t.Fatalf("pong %q", pong)
			}
			waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parked == 1 })
			if !detached(h.tr.Conn(e0(h))) {
				t.Fatal("parked but not detached")
			}
			for _, part := range tc.send {
				c.Write([]byte(part))
				time.Sleep(30 * time.Millisecond)
			}
			got := h.untilClosed()
			if len(got) != 1+len(tc.want) || got[0] != "ACCEPTED/SUCCESS/Connection accepted" {
				t.Fatalf("events %q, want ACCEPTED then %q", got, tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[1+i], w) {
					t.Fatalf("events %q, want ACCEPTED then %q", got, tc.want)
				}
			}
			if st := h.tr.Stats(); st.Open != 0 || st.Parked != 0 {
				t.Fatalf("open %d, parked %d after the limit", st.Open, st.Parked)
			}
		})
	}
}

// TestResumedReaderReadsDetached: a parked connection that traffic resumes
// is read through its detached descriptor: a request is answered and the
// connection parks again with its socket objects never taken back; a
// hang-up closes it (EOF received, one CLOSED) and a reset with a read
// error, both from the detached descriptor; half a message takes the
// objects back to wait for the rest.
func TestResumedReaderReadsDetached(t *testing.T) {
	park := func(t *testing.T) (*harness, net.Conn, *bufio.Reader, *Conn) {
		h := newHarness(t, Options{ParkAfter: time.Hour}, nil)
		nc := h.dial()
		e := h.next()
		c := h.tr.Conn(e.ConnID)
		r := bufio.NewReader(nc)
		nc.Write([]byte("\r\n\r\n"))
		if pong, _ := r.ReadString('\n'); pong != "\r\n" {
			t.Fatalf("pong %q", pong)
		}
		waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parked == 1 && detached(c) })
		return h, nc, r, c
	}
	t.Run("request", func(t *testing.T) {
		h, nc, r, c := park(t)
		for i := range 3 {
			nc.Write([]byte(options("detached-" + string(rune('a'+i)))))
			if resp := readResponse(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
				t.Fatalf("response %q", resp)
			}
			waitUntilT(t, "the connection to park again", func() bool { return h.tr.Stats().Parked == 1 })
			if !detached(c) {
				t.Fatalf("request %d: the socket objects were taken back", i)
			}
		}
		// Parked when accepted, then after the ping and each request.
		if st := h.tr.Stats(); st.Parks != 5 || st.Resumes != 4 || st.MessagesIn != 3 {
			t.Errorf("parks %d, resumes %d, messages %d: want 5, 4, 3", st.Parks, st.Resumes, st.MessagesIn)
		}
	})
	t.Run("hang-up", func(t *testing.T) {
		h, nc, _, _ := park(t)
		nc.Close()
		e := h.next()
		if e.Kind != EventClosed || e.Reason != "EOF received" || e.Status != StatusSuccess {
			t.Fatalf("event %+v, want CLOSED, EOF received", e)
		}
		waitUntilT(t, "the connection gone", func() bool { st := h.tr.Stats(); return st.Open == 0 && st.Parked == 0 })
	})
	t.Run("reset", func(t *testing.T) {
		h, nc, _, _ := park(t)
		nc.(*net.TCPConn).SetLinger(0)
		nc.Close()
		e := h.next()
		if e.Kind != EventReadError || !strings.Contains(e.Reason, "connection reset") {
			t.Fatalf("event %+v, want READ_ERROR, connection reset", e)
		}
		if e = h.next(); e.Kind != EventClosed {
			t.Fatalf("event %+v, want CLOSED", e)
		}
	})
	t.Run("half a message", func(t *testing.T) {
		h, nc, r, c := park(t)
		req := options("halves")
		nc.Write([]byte(req[:len(req)/2]))
		waitUntilT(t, "the socket objects taken back for the rest", func() bool { return !detached(c) })
		nc.Write([]byte(req[len(req)/2:]))
		if resp := readResponse(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
			t.Fatalf("response %q", resp)
		}
		if st := h.tr.Stats(); st.Parked != 0 || st.Resumes != 2 {
			t.Errorf("parked %d, resumes %d: want the reader kept (ParkAfter 1h), two resumes (the ping, the request)", st.Parked, st.Resumes)
		}
	})
}

// TestAcceptedConnectionStartsParked: with parking on, a connection is
// accepted raw and starts parked and detached, with no reader until its
// first bytes (acceptraw_linux.go); its addresses are the socket's, and
// its first request is answered from the detached socket.
func TestAcceptedConnectionStartsParked(t *testing.T) {
	h := newHarness(t, Options{ParkAfter: time.Hour}, nil)
	nc := h.dial()
	e := h.next()
	c := h.tr.Conn(e.ConnID)
	if e.Kind != EventAccepted || c == nil {
		t.Fatalf("first event %+v", e)
	}
	if runtime.GOOS == "linux" {
		waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parked == 1 })
	}
	if st := h.tr.Stats(); runtime.GOOS == "linux" && (st.Parked != 1 || st.Parks != 1 || !detached(c)) {
		t.Fatalf("parked %d, parks %d, detached %v: want a connection that starts parked and detached", st.Parked, st.Parks, detached(c))
	}
	info := c.Info()
	if info.Remote.String() != nc.LocalAddr().String() || info.Local.String() != nc.RemoteAddr().String() {
		t.Errorf("addresses %v <- %v, want %v <- %v", info.Local, info.Remote, nc.RemoteAddr(), nc.LocalAddr())
	}
	r := bufio.NewReader(nc)
	nc.Write([]byte(options("first")))
	if resp := readResponse(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
		t.Fatalf("response %q", resp)
	}
	waitUntilT(t, "the connection to park again", func() bool { return h.tr.Stats().Parked == 1 })
	if runtime.GOOS == "linux" && !detached(c) {
		t.Error("the first request took the socket objects back")
	}
}
