package transport

import (
	"bufio"
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

type recordingTap struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recordingTap) Observe(o *Observation) {
	if o.Kind != ObservedMessage {
		return
	}
	m := &o.Message
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m.Direction.String()+":"+string(m.CallID))
}

func (r *recordingTap) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func drainKinds(sub *Subscription) []string {
	var out []string
	for e := range sub.Events() {
		out = append(out, e.Kind.String())
	}
	return out
}

func TestTraceGateAndFilter(t *testing.T) {
	blockedPort := freePort(t)
	tr := New(Options{TraceOn: true, TraceFilter: func(ci ConnInfo) bool {
		return ci.Remote.Port() != blockedPort
	}}, HandlerFunc(echoOptions))
	tap := &recordingTap{}
	tr.AddObserver(tap, TracedEvents)
	all := tr.Subscribe("all", 64, AllEvents)
	traced := tr.Subscribe("traced", 64, TracedEvents)
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip := func(c net.Conn, id string) {
		c.Write([]byte(options(id)))
		readResponse(t, bufio.NewReader(c))
	}
	// Traced connection.
	c1, _ := net.Dial("tcp", addr.String())
	roundTrip(c1, "c1")
	// A connection the filter drops: its events and messages stay out.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(blockedPort)}}
	c2, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(c2, "c2")
	// Tracing off: nothing new is traced.
	tr.SetTracing(false)
	roundTrip(c1, "c1-off")
	c3, _ := net.Dial("tcp", addr.String())
	roundTrip(c3, "c3-off")
	// Tracing on again: c3, opened while off, is traced from its next event.
	tr.SetTracing(true)
	roundTrip(c3, "c3-on")
	c1.Close()
	c2.Close()
	c3.Close()
	// Wait (bounded) for the three EOFs, so that every CLOSED is the peer's.
	for deadline := time.Now().Add(10 * time.Second); tr.Stats().Closed < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 connections closed after 10s", tr.Stats().Closed)
		}
	}
	tr.Shutdown(context.Background())

	if got, want := sortedKinds(all), []string{"ACCEPTED", "ACCEPTED", "ACCEPTED", "CLOSED", "CLOSED", "CLOSED"}; !slices.Equal(got, want) {
		t.Fatalf("all: %q, want (in some order) %q", got, want)
	}
	// c1: ACCEPTED, CLOSED. c2: nothing. c3: CLOSED only (its verdict was
	// decided at its first event after tracing came back on).
	if got, want := sortedKinds(traced), []string{"ACCEPTED", "CLOSED", "CLOSED"}; !slices.Equal(got, want) {
		t.Fatalf("traced: %q, want (in some order) %q", got, want)
	}
	// Per connection, the request is tapped before its response.
	if msgs, want := tap.list(), []string{"in:c1", "out:c1", "in:c3-on", "out:c3-on"}; !slices.Equal(msgs, want) {
		t.Fatalf("tapped %q, want %q", msgs, want)
	}
}

func sortedKinds(sub *Subscription) []string {
	k := drainKinds(sub)
	slices.Sort(k)
	return k
}

func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).AddrPort().Port()
}
