package history

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// TestObserverRecordsTransportEvents records a real transport's events and
// Call-IDs through the store's Observer alone (no subscription): the
// connection's events are found by its Call-ID once the store is closed.
func TestObserverRecordsTransportEvents(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	handled := make(chan struct{}, 1)
	tr := transport.New(transport.Options{}, transport.HandlerFunc(func(*transport.Message) { handled <- struct{}{} }))
	tr.AddObserver(s.Observer(), transport.AllEvents)
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	client := c.LocalAddr().String()
	if _, err := io.WriteString(c, options); err != nil {
		t.Fatal(err)
	}
	select {
	case <-handled:
	case <-time.After(30 * time.Second):
		t.Fatal("the message was not handled")
	}
	c.Close()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := tr.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Written < 2 || st.Dropped != 0 || st.CallIDsWritten != 1 {
		t.Fatalf("stats after shutdown: %+v", st)
	}
	s2 := openTest(t, cfg)
	byCall, err := s2.Query(ctx, Filter{CallID: "hist-call-1@127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	n := len(byCall.Events)
	if n < 2 || byCall.Events[n-1].Kind != "ACCEPTED" || byCall.Events[0].Kind != "CLOSED" || byCall.Events[0].Remote != client {
		t.Fatalf("events of the call's connection: %+v", byCall.Events)
	}
}

// The observer's events go into the store's bounded queue: what finds it
// full is dropped and counted, the rest written.
func TestObserverQueueBound(t *testing.T) {
	cfg := testConfig(t)
	cfg.QueueSize = 10
	cfg.BatchSize = 1000 // no early flush
	s := openTest(t, cfg)
	o := s.Observer()
	for _, e := range genEvents(13) {
		o.Observe(&transport.Observation{Kind: transport.ObservedEvent, Event: e})
	}
	if st := s.Stats(); st.Dropped != 3 || st.QueueDepth != 10 {
		t.Fatalf("13 events into a queue of 10: dropped %d, queued %d; want 3 and 10", st.Dropped, st.QueueDepth)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Written != 10 {
		t.Fatalf("%d written, want 10", st.Written)
	}
}
