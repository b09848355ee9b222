package otel

import (
	"context"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// TestConsumePausesBetweenTakes: after handling what its channel held,
// Consume lets the next events gather instead of being woken for each: the
// events sent during the pause (an hour here) stay queued.
func TestConsumePausesBetweenTakes(t *testing.T) {
	e, _ := newTestExporter(t, Config{})
	e.pause = time.Hour
	events := make(chan transport.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Consume(ctx, events)
	}()
	events <- inbound(transport.EventAccepted, 1, 0, "")
	waitUntil(t, "the first event handled", 10*time.Second, func() bool { return e.Stats().EventsReceived == 1 })
	const more = 5 // below an eighth of the channel: no backlog
	for i := range more {
		events <- inbound(transport.EventAccepted, uint64(2+i), 1, "")
	}
	cancel()
	<-done
	if got, queued := e.Stats().EventsReceived, len(events); got != 1 || queued != more {
		t.Errorf("%d events handled, %d queued; want 1 and %d (the consumer pauses)", got, queued, more)
	}
}

// TestConsumeBacklogSkipsThePause: a take of an eighth of the channel or
// more is a backlog, and Consume goes on taking without its pause (an hour
// here), so the channel cannot fill meanwhile.
func TestConsumeBacklogSkipsThePause(t *testing.T) {
	e, _ := newTestExporter(t, Config{})
	e.pause = time.Hour
	events := make(chan transport.Event, 64)
	for i := range cap(events) / 2 {
		events <- inbound(transport.EventAccepted, uint64(1+i), 0, "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Consume(ctx, events)
	waitUntil(t, "the backlog handled", 10*time.Second, func() bool { return e.Stats().EventsReceived == uint64(cap(events)/2) })
	events <- inbound(transport.EventAccepted, 1000, 1, "")
	waitUntil(t, "the event after a backlog handled without a pause", 10*time.Second, func() bool {
		return e.Stats().EventsReceived == uint64(cap(events)/2)+1
	})
}
