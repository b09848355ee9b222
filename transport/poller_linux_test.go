package transport

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// epollEntries counts the descriptors registered in the transport's event
// loops (/proc/self/fdinfo of their epoll sets).
func epollEntries(t *testing.T, tr *Transport) int {
	t.Helper()
	n := 0
	for _, p := range tr.loops.ps {
		data, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(p.epfd))
		if err != nil {
			t.Skipf("no fdinfo: %v", err)
		}
		n += strings.Count(string(data), "tfd:")
	}
	return n
}

// TestBlockedHandlerLosesThePoller: a parked connection's request is
// handled on the poller's goroutine; a handler that blocks there holds up
// its own connection only: after pollerHandoff another goroutine takes
// the poller over (PollerHandoffs), answers the other connections, and
// the blocked connection is answered once its handler returns.
func TestBlockedHandlerLosesThePoller(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := newHarness(t, Options{ParkAfter: time.Hour}, HandlerFunc(func(m *Message) {
		if string(m.CallID) == "block" {
			close(entered)
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		echoOptions(m)
	}))
	blocked := h.dial()
	blockedR := bufio.NewReader(blocked)
	waitUntilT(t, "the connection to start parked", func() bool { return h.tr.Stats().Parked == 1 })
	blocked.Write([]byte(options("block")))
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the blocking request was not handled")
	}
	for i := range 3 {
		nc := h.dial()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		nc.Write([]byte(options("free-" + itoa(i))))
		if resp := readResponse(t, bufio.NewReader(nc)); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
			t.Fatalf("response %q", resp)
		}
	}
	if n := h.tr.Stats().PollerHandoffs; n != 1 {
		t.Errorf("poller handoffs %d, want 1", n)
	}
	close(release)
	blocked.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp := readResponse(t, blockedR); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
		t.Fatalf("blocked connection's response %q", resp)
	}
	waitUntilT(t, "every connection to park", func() bool { return h.tr.Stats().Parked == 4 })
	blocked.Write([]byte(options("again")))
	if resp := readResponse(t, blockedR); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
		t.Fatalf("second response %q", resp)
	}
}

// TestEveryLoopServesItsConnections: there is one event loop per P, each
// parked connection is in exactly one of them (its id's), and every loop
// answers its connections' requests.
func TestEveryLoopServesItsConnections(t *testing.T) {
	h := newHarness(t, Options{ParkAfter: time.Hour}, nil)
	n := 4 * runtime.GOMAXPROCS(0)
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = h.dial()
	}
	waitUntilT(t, "every connection to start parked", func() bool { return h.tr.Stats().Parked == n })
	if got := len(h.tr.loops.ps); got != runtime.GOMAXPROCS(0) {
		t.Fatalf("%d loops, want one per P (%d)", got, runtime.GOMAXPROCS(0))
	}
	perLoop := make(map[*poller]int)
	for _, c := range h.tr.snapshotConns() {
		perLoop[h.tr.loops.of(c)]++
	}
	for i, p := range h.tr.loops.ps {
		data, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(p.epfd))
		if err != nil {
			t.Skipf("no fdinfo: %v", err)
		}
		if got := strings.Count(string(data), "tfd:"); got != perLoop[p] || got == 0 {
			t.Errorf("loop %d watches %d sockets, its connections are %d", i, got, perLoop[p])
		}
	}
	for i, nc := range conns {
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		nc.Write([]byte(options("loop-" + itoa(i))))
		if resp := readResponse(t, bufio.NewReader(nc)); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
			t.Fatalf("connection %d: response %q", i, resp)
		}
	}
	waitUntilT(t, "every connection to park again", func() bool { return h.tr.Stats().Parked == n })
}

// TestShutdownFromAHandlerOnTheLoop: a handler running on an event loop's
// goroutine that calls Shutdown does not wait for its own loop: Shutdown
// returns (with the context's error, the handler itself being a reader
// that has not returned), the stopping loop is handed over, and the loops
// stop.
func TestShutdownFromAHandlerOnTheLoop(t *testing.T) {
	var tr *Transport
	done := make(chan error, 1)
	h := newHarness(t, Options{ParkAfter: time.Hour}, HandlerFunc(func(m *Message) {
		// A context already done: Shutdown reaches the loops' stop at
		// once, before the watchdog's bound.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done <- tr.Shutdown(ctx)
	}))
	tr = h.tr
	nc := h.dial()
	waitUntilT(t, "the connection to start parked", func() bool { return h.tr.Stats().Parked == 1 })
	nc.Write([]byte(options("shutdown")))
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown from the handler: %v, want the context's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown called from a handler on the loop did not return")
	}
	if n := h.tr.Stats().PollerHandoffs; n != 1 {
		t.Errorf("poller handoffs %d, want 1 (the stopping loop handed over)", n)
	}
	for i, p := range h.tr.loops.ps {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("loop %d did not stop", i)
		}
	}
}

// TestShutdownWithAHandlerBlockedOnTheLoop: Shutdown bounded by its
// context returns while a handler blocks on a loop's goroutine, having
// closed every connection, and the handler's connection is closed.
func TestShutdownWithAHandlerBlockedOnTheLoop(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := newHarness(t, Options{ParkAfter: time.Hour}, HandlerFunc(func(m *Message) {
		close(entered)
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
	}))
	nc := h.dial()
	other := h.dial()
	waitUntilT(t, "the connections to start parked", func() bool { return h.tr.Stats().Parked == 2 })
	nc.Write([]byte(options("block")))
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := h.tr.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want the context's deadline (a handler still runs)", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %s", d)
	}
	if st := h.tr.Stats(); st.Open != 0 || st.Closed != 2 {
		t.Errorf("after Shutdown: open %d, closed %d", st.Open, st.Closed)
	}
	for _, c := range []net.Conn{nc, other} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("a connection is still open after Shutdown")
		}
	}
}

// TestOneDeadlineEntryPerConnection: a connection that parks again after
// each message keeps one entry in its loop's deadline heap, and its idle
// timeout still counts from its last traffic: the entry pushed at its
// first park comes up early and is pushed again for the later deadline.
func TestOneDeadlineEntryPerConnection(t *testing.T) {
	const lifetime = 400 * time.Millisecond
	h := newHarness(t, Options{ParkAfter: time.Hour, ConnectionLifetime: lifetime}, nil)
	const n = 8
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = h.dial()
	}
	waitUntilT(t, "the connections to start parked", func() bool { return h.tr.Stats().Parked == n })
	time.Sleep(lifetime / 2)
	last := time.Now()
	for round := range 4 {
		for i, nc := range conns {
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			nc.Write([]byte(options("entry-" + itoa(round) + "-" + itoa(i))))
			if resp := readResponse(t, bufio.NewReader(nc)); !strings.HasPrefix(resp, "SIP/2.0 200 ") {
				t.Fatalf("response %q", resp)
			}
		}
		last = time.Now()
		waitUntilT(t, "the connections to park again", func() bool { return h.tr.Stats().Parked == n })
	}
	if st := h.tr.Stats(); st.Parks < 5*n {
		t.Fatalf("%d parks, want at least %d (each connection parked at accept and after each message)", st.Parks, 5*n)
	}
	entries := 0
	for _, p := range h.tr.loops.ps {
		p.deadlines.mu.Lock()
		entries += len(p.deadlines.h)
		p.deadlines.mu.Unlock()
	}
	if entries != n {
		t.Errorf("%d entries in the deadline heaps, want one per connection (%d)", entries, n)
	}
	waitUntilT(t, "the idle timeouts", func() bool { return h.tr.Stats().IdleTimeouts == n })
	if d := time.Since(last); d < lifetime-50*time.Millisecond {
		t.Errorf("idle timeouts %s after the last traffic, lifetime is %s", d, lifetime)
	}
}
