package transport

import (
	"bufio"
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
