package web

import (
	"strconv"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// A stream woken by new events rests streamPause before it takes them:
// events that the ring observes a millisecond apart, each able to wake the
// stream at once, reach it all, in order, in a few wakes rather than one
// each.
func TestStreamRestsAfterAWake(t *testing.T) {
	f := newFixture(t)
	s := openStream(t, f.base+"/api/v1/events/stream")
	if hello := s.next(); hello.event != "hello" {
		t.Fatalf("first event = %+v", hello)
	}
	const n = 200
	for i := range n {
		f.srv.Ring().Observe(&transport.Observation{Kind: transport.ObservedEvent,
			Event: transport.Event{Kind: transport.EventAccepted, ConnID: uint64(i + 1)}})
		time.Sleep(time.Millisecond)
	}
	for i := range n {
		if ev := s.next(); ev.id != strconv.Itoa(i+1) {
			t.Fatalf("event %d: id %q", i+1, ev.id)
		}
	}
	if w := f.srv.stats().Web.StreamWakes; w == 0 || w > n/4 {
		t.Fatalf("%d events a millisecond apart woke the stream %d times, want 1 to %d", n, w, n/4)
	}
}
