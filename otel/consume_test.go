package otel

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// TestConsumePausesBetweenTakes: after handling what its channel held,
// Consume lets the next events gather instead of being woken for each: the
// events sent during the pause (an hour here) stay queued, and the end of
// the pause takes them all. It runs in a synctest bubble, whose Wait
// returns once the consumer is blocked in its pause: the handled count
// alone does not say that the take is over (the count rises before the
// consumer looks for more in the channel).
func TestConsumePausesBetweenTakes(t *testing.T) {
	e, _ := newTestExporter(t, Config{})
	e.pause = time.Hour
	synctest.Test(t, func(t *testing.T) {
		events := make(chan transport.Event, 64)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.Consume(ctx, events)
		}()
		events <- inbound(transport.EventAccepted, 1, 0, "")
		synctest.Wait()
		if got := e.Stats().EventsReceived; got != 1 {
			t.Fatalf("%d events handled, want 1", got)
		}
		const more = 5 // below an eighth of the channel: no backlog
		for i := range more {
			events <- inbound(transport.EventAccepted, uint64(2+i), 1, "")
		}
		synctest.Wait()
		if got, queued := e.Stats().EventsReceived, len(events); got != 1 || queued != more {
			t.Errorf("%d events handled, %d queued; want 1 and %d (the consumer pauses)", got, queued, more)
		}
		time.Sleep(e.pause)
		synctest.Wait()
		if got, queued := e.Stats().EventsReceived, len(events); got != 1+more || queued != 0 {
			t.Errorf("after the pause %d events handled, %d queued; want %d and 0", got, queued, 1+more)
		}
		cancel()
		<-done
	})
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
