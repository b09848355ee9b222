//go:build linux

package transport

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// systemKeepAlive is what a new socket reads: the system's values.
func systemKeepAlive(t *testing.T) socketKeepAlive {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	s, err := readKeepAlive(fd)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// connKeepAlive reads the keepalive of the connection's socket, attached or
// detached.
func connKeepAlive(t *testing.T, c *Conn) socketKeepAlive {
	t.Helper()
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	var s socketKeepAlive
	var err error
	if cerr := c.rc.Control(func(fd uintptr) { s, err = readKeepAlive(int(fd)) }); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestKeepAliveOnSockets reads SO_KEEPALIVE and TCP_KEEPIDLE, TCP_KEEPINTVL
// and TCP_KEEPCNT back from real sockets: an accepted connection (which
// has them from its listener), one that parked, detached and was taken
// back (net.FileConn sets Go's 15 s default, which must not stay), and a
// dialed one. Zero in want means the system's value.
func TestKeepAliveOnSockets(t *testing.T) {
	sys := systemKeepAlive(t)
	if sys.idle == 15 && sys.interval == 15 && sys.count == 9 {
		t.Skip("the system's keepalive is Go's default (15 s, 15 s, 9): the test could not tell them apart")
	}
	for _, tc := range []struct {
		name string
		opts Options
		want socketKeepAlive
	}{
		{"default: on, the system's values", Options{}, socketKeepAlive{on: true}},
		{"configured", Options{KeepAliveIdle: 30 * time.Second, KeepAliveInterval: 7 * time.Second, KeepAliveCount: 4},
			socketKeepAlive{on: true, idle: 30, interval: 7, count: 4}},
		{"tcp_keepalive=0", Options{DisableKeepAlive: true}, socketKeepAlive{}},
		{"tcp_keepalive=0 with tcp_keepidle: on", Options{DisableKeepAlive: true, KeepAliveIdle: 45 * time.Second},
			socketKeepAlive{on: true, idle: 45}},
		{"tcp_keepcount alone", Options{KeepAliveCount: 3}, socketKeepAlive{on: true, count: 3}},
		{"a fraction of a second rounds up", Options{KeepAliveInterval: 1500 * time.Millisecond},
			socketKeepAlive{on: true, interval: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if !want.on {
				want = socketKeepAlive{} // off: the other settings do not apply
			} else {
				want.idle = cmpOr(want.idle, sys.idle)
				want.interval = cmpOr(want.interval, sys.interval)
				want.count = cmpOr(want.count, sys.count)
			}
			check := func(what string, c *Conn) {
				t.Helper()
				got := connKeepAlive(t, c)
				if !got.on {
					got = socketKeepAlive{}
				}
				if got != want {
					t.Errorf("%s: keepalive %+v, want %+v", what, got, want)
				}
			}

			tc.opts.ParkAfter = time.Hour // a reader parks only after a ping
			h := newHarness(t, tc.opts, nil)
			nc := h.dial()
			e := h.next()
			c := h.tr.Conn(e.ConnID)
			if e.Kind != EventAccepted || c == nil {
				t.Fatalf("first event %+v, connection %v", e, c)
			}
			check("accepted", c)

			r := bufio.NewReader(nc)
			nc.Write([]byte("\r\n\r\n"))
			if pong, _ := r.ReadString('\n'); pong != "\r\n" {
				t.Fatalf("pong %q", pong)
			}
			waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parked == 1 })
			if !detached(c) {
				t.Fatal("the parked connection kept its socket objects")
			}
			// Half a request: the resumed reader takes the socket objects
			// back to wait for the rest (readDetached).
			req := options("resume")
			nc.Write([]byte(req[:len(req)/2]))
			waitUntilT(t, "the socket objects taken back", func() bool { return !detached(c) })
			nc.Write([]byte(req[len(req)/2:]))
			if resp := readResponse(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
				t.Fatalf("response %q", resp)
			}
			check("taken back after parking", c)

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			dst := ln.Addr().(*net.TCPAddr).AddrPort()
			if err := h.tr.Send(dst, []byte(options("dialed")), nil); err != nil {
				t.Fatal(err)
			}
			peer, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			var out *Conn
			waitUntilT(t, "the outbound connection to open", func() bool {
				out = h.tr.ConnByRemote(dst)
				return out != nil && out.State() == StateOpen
			})
			check("dialed", out)
		})
	}
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// TestKeepAliveBadValues: a setting out of its bounds fails Listen and
// connects with ErrBadKeepAlive naming the OpenSIPS parameter; nothing
// listens or connects.
func TestKeepAliveBadValues(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{KeepAliveIdle: -time.Second}, "tcp_keepidle -1s is out of [0, 32767s]"},
		{Options{KeepAliveIdle: MaxKeepAliveIdle + time.Second}, "tcp_keepidle 9h6m8s is out of [0, 32767s]"},
		{Options{KeepAliveInterval: -time.Second}, "tcp_keepinterval -1s is out of [0, 32767s]"},
		{Options{KeepAliveCount: MaxKeepAliveCount + 1}, "tcp_keepcount 128 is out of [0, 127]"},
		{Options{KeepAliveCount: -1, DisableKeepAlive: true}, "tcp_keepcount -1 is out of [0, 127]"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			tr := New(tc.opts, nil)
			defer tr.Close()
			_, err := tr.Listen("tcp:127.0.0.1:0")
			if !errors.Is(err, ErrBadKeepAlive) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Listen: %v, want %v with %q", err, ErrBadKeepAlive, tc.want)
			}
			if n := len(tr.Listeners()); n != 0 {
				t.Errorf("%d listeners", n)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			err = tr.Send(ln.Addr().(*net.TCPAddr).AddrPort(), []byte(options("bad")), nil)
			if !errors.Is(err, ErrBadKeepAlive) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Send: %v, want %v with %q", err, ErrBadKeepAlive, tc.want)
			}
			if c := tr.ConnByRemote(netip.MustParseAddrPort(ln.Addr().String())); c != nil {
				t.Errorf("a connection is left in the table: %+v", c.Snapshot())
			}
		})
	}
}
