package transport

import (
	"bufio"
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestIdleConnectionParks: an idle connection gives up its reader, and the
// next message starts one again and is answered. (A reader may also park
// before the first message arrives: its first wait is short.)
func TestIdleConnectionParks(t *testing.T) {
	h := newHarness(t, Options{ParkAfter: 30 * time.Millisecond}, nil)
	c := h.dial()
	r := bufio.NewReader(c)
	for i := range 3 {
		c.Write([]byte(options("park-" + itoa(i))))
		if resp := readResponse(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
			t.Fatalf("response %q", resp)
		}
		waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parked == 1 })
	}
	st := h.tr.Stats()
	if st.Resumes < 2 || st.Parks != st.Resumes+1 || st.Open != 1 {
		t.Fatalf("parks %d, resumes %d, open %d: want at least 2 resumes, each park but the last resumed, 1 open", st.Parks, st.Resumes, st.Open)
	}
}

// TestParkedConnectionsHoldNoGoroutine: 200 parked connections add no
// goroutine; each is answered when it speaks again.
func TestParkedConnectionsHoldNoGoroutine(t *testing.T) {
	const n = 200
	h := newHarness(t, Options{ParkAfter: 20 * time.Millisecond}, nil)
	base := runtime.NumGoroutine()
	readers := make([]*bufio.Reader, n)
	for i := range n {
		c := h.dial()
		readers[i] = bufio.NewReader(c)
		c.Write([]byte("\r\n\r\n"))
	}
	waitUntilT(t, "every connection to answer its ping and park", func() bool {
		st := h.tr.Stats()
		return st.Pongs == n && st.Parked == n
	})
	if g := runtime.NumGoroutine(); g > base+10 {
		t.Errorf("%d goroutines with %d parked connections, %d before", g, n, base)
	}
	for i, c := range h.tr.snapshotConns() {
		if !c.idle.parked.Load() {
			t.Fatalf("connection %d (%d) is not parked", i, c.id)
		}
	}
	h.tr.Shutdown(context.Background())
	if st := h.tr.Stats(); st.Open != 0 || st.Closed != n {
		t.Fatalf("after Shutdown: open %d, closed %d", st.Open, st.Closed)
	}
}

// TestParkedConnectionLimits: while parked, tcp_connection_lifetime still
// closes a connection with no traffic (IDLE_TIMEOUT), writes still count as
// traffic, and a peer's close is still seen at once (EOF received).
func TestParkedConnectionLimits(t *testing.T) {
	t.Run("idle timeout", func(t *testing.T) {
		h := newHarness(t, Options{ParkAfter: 10 * time.Millisecond, ConnectionLifetime: 300 * time.Millisecond}, nil)
		h.dial()
		start := time.Now()
		got := h.untilClosed()
		want := []string{"ACCEPTED/SUCCESS/Connection accepted", "IDLE_TIMEOUT/SUCCESS/Timeout on no traffic", "CLOSED/SUCCESS/Timeout on no traffic"}
		if !slices.Equal(got, want) {
			t.Fatalf("events %q, want %q", got, want)
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Errorf("closed after %s, lifetime is 300 ms", d)
		}
		if h.tr.Stats().Parks == 0 {
			t.Error("the connection never parked")
		}
	})
	t.Run("writes are traffic", func(t *testing.T) {
		h := newHarness(t, Options{ParkAfter: 10 * time.Millisecond, ConnectionLifetime: 300 * time.Millisecond}, nil)
		c := h.dial()
		if e := h.next(); e.Kind != EventAccepted {
			t.Fatalf("first event %v", e.Kind)
		}
		conn := h.tr.Conn(e0(h))
		stop := time.Now().Add(900 * time.Millisecond)
		for time.Now().Before(stop) {
			if err := conn.WriteMessage([]byte("\r\n"), nil); err != nil {
				t.Fatalf("write to a connection kept busy by writes: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		got := h.untilClosed()
		if got[len(got)-1] != "CLOSED/SUCCESS/Timeout on no traffic" {
			t.Fatalf("events %q", got)
		}
		if h.tr.Stats().Parks < 2 {
			t.Errorf("%d parks: the connection should park between writes", h.tr.Stats().Parks)
		}
	})
	t.Run("peer closes", func(t *testing.T) {
		h := newHarness(t, Options{ParkAfter: 10 * time.Millisecond}, nil)
		c := h.dial()
		if e := h.next(); e.Kind != EventAccepted {
			t.Fatalf("first event %v", e.Kind)
		}
		waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parks == 1 })
		c.Close()
		start := time.Now()
		if e := h.next(); e.Kind != EventClosed || e.Reason != "EOF received" {
			t.Fatalf("event %v %q", e.Kind, e.Reason)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the close was seen after %s", d)
		}
	})
}

// e0 returns the id of the only connection in the table.
func e0(h *harness) uint64 {
	h.t.Helper()
	cs := h.tr.Connections()
	if len(cs) != 1 {
		h.t.Fatalf("%d connections", len(cs))
	}
	return cs[0].ID
}

// TestParkingUnderTraffic: connections that pause around ParkAfter park
// and resume many times while traffic flows; every request is answered,
// in order, and no connection is closed.
func TestParkingUnderTraffic(t *testing.T) {
	const (
		conns  = 40
		rounds = 30
	)
	h := newHarness(t, Options{ParkAfter: 3 * time.Millisecond}, nil)
	errs := make(chan error, conns)
	for i := range conns {
		c := h.dial()
		go func() {
			r := bufio.NewReader(c)
			for j := range rounds {
				id := "p-" + itoa(i) + "-" + itoa(j)
				c.Write([]byte(options(id)))
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				var resp strings.Builder
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						errs <- err
						return
					}
					resp.WriteString(line)
					if line == "\r\n" {
						break
					}
				}
				if !strings.Contains(resp.String(), "Call-ID: "+id+"\r\n") {
					errs <- errors.New("response out of order: " + resp.String())
					return
				}
				time.Sleep(time.Duration((i+j)%7) * time.Millisecond)
			}
			errs <- nil
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st := h.tr.Stats()
	t.Logf("%d round trips: %d parks, %d resumes", conns*rounds, st.Parks, st.Resumes)
	if st.Closed != 0 || st.Open != conns {
		t.Fatalf("closed %d, open %d", st.Closed, st.Open)
	}
	if st.Parks == 0 || st.Resumes == 0 {
		t.Fatalf("no park/resume under traffic: %d / %d", st.Parks, st.Resumes)
	}
}

// TestPingParksAtOnce: a connection whose last bytes were a CRLF
// keep-alive parks as soon as the socket is empty, whatever ParkAfter; a
// request after it is answered from the detached socket, and the
// connection parks again as soon as the socket is empty (readDetached).
func TestPingParksAtOnce(t *testing.T) {
	h := newHarness(t, Options{ParkAfter: time.Hour}, nil)
	c := h.dial()
	r := bufio.NewReader(c)
	c.Write([]byte("\r\n\r\n"))
	if pong, _ := r.ReadString('\n'); pong != "\r\n" {
		t.Fatalf("pong %q", pong)
	}
	waitUntilT(t, "the connection to park after its ping", func() bool { return h.tr.Stats().Parked == 1 })
	c.Write([]byte(options("after-ping")))
	if resp := readResponse(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
		t.Fatalf("response %q", resp)
	}
	waitUntilT(t, "the connection to park again", func() bool { return h.tr.Stats().Parked == 1 })
	// Parked when accepted, after the ping, and after the request.
	if st := h.tr.Stats(); st.Parks != 3 || st.Resumes != 2 {
		t.Fatalf("parks %d, resumes %d: want 3, 2", st.Parks, st.Resumes)
	}
	if conn := h.tr.Conn(h.tr.Connections()[0].ID); conn == nil || !detached(conn) {
		t.Fatal("the request was answered by a reader that took the socket objects back")
	}
}

// TestParkWaitAdapts: a new connection's reader parks after ParkAfter >>
// parkWaitSteps; each time traffic comes back sooner than ParkAfter the
// wait doubles, and traffic after a longer silence starts it again from
// the shortest.
func TestParkWaitAdapts(t *testing.T) {
	const after = 400 * time.Millisecond
	h := newHarness(t, Options{ParkAfter: after, ConnectionLifetime: time.Minute}, nil)
	c := h.dial()
	r := bufio.NewReader(c)
	waitUntilT(t, "the connection to be accepted", func() bool { return h.tr.Stats().Open == 1 })
	conn := h.tr.Conn(e0(h))
	for i := range 4 {
		waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parks == uint64(i+1) })
		if got, want := conn.idle.shift.Load(), uint32(parkWaitSteps-i); got != want {
			t.Fatalf("park %d: wait ParkAfter>>%d, want >>%d (%+v)", i+1, got, want, h.tr.Stats())
		}
		c.Write([]byte(options("adapt-" + itoa(i))))
		readResponse(t, r)
	}
	waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parks == 5 })
	time.Sleep(after) // silence longer than ParkAfter
	c.Write([]byte(options("after-silence")))
	readResponse(t, r)
	waitUntilT(t, "the connection to park", func() bool { return h.tr.Stats().Parks == 6 })
	if got := conn.idle.shift.Load(); got != parkWaitSteps {
		t.Fatalf("after a silence of ParkAfter: wait ParkAfter>>%d, want >>%d", got, parkWaitSteps)
	}
}
