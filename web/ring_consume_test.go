package web

import (
	"context"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// Consume takes whatever its channel holds, then rests ringConsumePause:
// events sent meanwhile wait in the channel (the subscription's bounded
// queue, which counts what it drops) and are all added after the pause; a
// cancelled context ends Consume during the pause.
func TestRingConsumePauses(t *testing.T) {
	r := NewEventRing(100)
	ch := make(chan transport.Event, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		r.Consume(ctx, ch)
		close(done)
	}()
	ch <- transport.Event{ConnID: 1}
	deadline := time.Now().Add(5 * time.Second)
	for r.Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first event was not added")
		}
		time.Sleep(time.Millisecond)
	}
	// Consume is resting now: a burst waits in the channel.
	for i := range 10 {
		ch <- transport.Event{ConnID: uint64(2 + i)}
	}
	for r.Len() != 11 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 11 events added after the pause", r.Len())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(ringConsumePause + 5*time.Second):
		t.Fatal("Consume did not end when its context was cancelled")
	}
}
