package otel

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// deadEndpoint returns a 127.0.0.1 address nothing listens on.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// feed offers n connections (ACCEPTED, CLOSED) to a bounded queue the way a
// transport.Subscription does, never waiting, while e.Run consumes it; it
// returns once Run has returned, with the number of events offered and
// dropped.
func feed(t *testing.T, e *Exporter, n int) (offered, dropped uint64) {
	t.Helper()
	ch := make(chan transport.Event, 64)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		e.Consume(context.Background(), ch)
	}()
	for i := range n {
		for _, ev := range []transport.Event{
			inbound(transport.EventAccepted, uint64(i+1), i, "Connection accepted"),
			inbound(transport.EventClosed, uint64(i+1), i+1, "EOF received"),
		} {
			offered++
			select {
			case ch <- ev:
			default:
				dropped++
			}
		}
	}
	close(ch)
	<-ran
	return offered, dropped
}

// With the receiver gone, Run keeps consuming, export errors and drops are
// counted, and Shutdown returns within its context.
func TestDeadEndpoint(t *testing.T) {
	cases := []struct {
		name     string
		protocol string
		// stuck: the export keeps retrying (gRPC's Unavailable) until
		// Shutdown's context cuts it short.
		stuck bool
	}{
		{"http", ProtocolHTTP, false},
		{"grpc", ProtocolGRPC, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearOTELEnv(t)
			e, err := New(context.Background(), Config{
				Endpoint:      deadEndpoint(t),
				Protocol:      tc.protocol,
				Insecure:      true,
				QueueSize:     8,
				BatchSize:     4,
				BatchTimeout:  time.Millisecond,
				ExportTimeout: time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			const conns = 2000
			offered, inputDrops := feed(t, e, conns)
			st := e.Stats()
			if st.EventsReceived+inputDrops != offered {
				t.Fatalf("received %d + dropped %d != offered %d", st.EventsReceived, inputDrops, offered)
			}
			if !tc.stuck {
				// Every span queued before Flush has been tried.
				if err := e.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
				if st := e.Stats(); st.ExportErrors == 0 || st.SpansFailed == 0 || st.LastError == "" {
					t.Errorf("no export error counted: %+v", st)
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err = e.Shutdown(ctx)
			if tc.stuck && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Shutdown with the export stuck: %v, want the context's deadline", err)
			}
			<-e.proc.done // the abandoned export has returned
			st = e.Stats()
			if st.ExportErrors == 0 || st.SpansExported != 0 {
				t.Errorf("exported %d, %d export errors", st.SpansExported, st.ExportErrors)
			}
			if tc.stuck && st.Dropped.ExportQueueFull == 0 {
				t.Errorf("nothing dropped with the export stuck: %+v", st)
			}
			if st.SpansEnded != st.SpansFailed+st.Dropped.ExportQueueFull {
				t.Errorf("ended %d != failed %d + dropped %d", st.SpansEnded, st.SpansFailed, st.Dropped.ExportQueueFull)
			}
			t.Logf("%d events offered, %d dropped at input; %d spans ended, %d failed in %d exports, %d dropped at the export queue",
				offered, inputDrops, st.SpansEnded, st.SpansFailed, st.ExportErrors, st.Dropped.ExportQueueFull)
		})
	}
}
