package otel_test

import (
	"context"
	"log"
	"time"

	"github.com/sipwire/sipwire/otel"
	"github.com/sipwire/sipwire/transport"
)

// How cmd/sipwire wires the exporter: subscribe it to traced events only
// when it is enabled, run it on its own goroutine, shut it down after the
// transport (whose Shutdown raises the last CLOSED events and closes the
// subscription).
func Example() {
	ctx := context.Background()
	exp, err := otel.New(ctx, otel.Config{Endpoint: "", Protocol: otel.ProtocolGRPC, ServiceName: "sipwire", Insecure: true})
	if err != nil {
		log.Fatal(err)
	}
	tr := transport.New(transport.Options{}, transport.HandlerFunc(func(*transport.Message) {}))
	done := make(chan struct{})
	if exp.Enabled() {
		sub := tr.Subscribe("otel", transport.DefaultEventQueueLen, transport.TracedEvents)
		go func() {
			defer close(done)
			exp.ConsumeSubscription(ctx, sub)
		}()
	} else {
		close(done)
		log.Printf("otel: %s", exp.Stats().Off)
	}

	// ... serve; expose exp.Stats() on /api/v1/stats and /metrics ...

	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = tr.Shutdown(sctx)
	<-done
	if err := exp.Shutdown(sctx); err != nil {
		log.Print(err)
	}
}
