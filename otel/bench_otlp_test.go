package otel

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// BenchmarkInboundConnectionOTLPHTTP is one connection of the load
// benchmark's one connection per call, end to end: ACCEPTED, then CLOSED
// with the kernel's figures, its lifetime span exported over OTLP/HTTP to
// a loopback receiver that reads and discards each request. cpu-ns/op is
// the whole process's CPU per connection (span, batching, OTLP encoding,
// the HTTP client, and the receiver's read). It waits for the export of
// every batch of DefaultBatchSize spans.
func BenchmarkInboundConnectionOTLPHTTP(b *testing.B) {
	clearOTELEnv(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	e, err := New(context.Background(), Config{Endpoint: srv.URL, Protocol: ProtocolHTTP})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cpuTime(b)
	id := uint64(0)
	for b.Loop() {
		id++
		acc, cls := lifetimeEvents(id)
		e.HandleEvent(&acc)
		e.HandleEvent(&cls)
		if id%DefaultBatchSize == 0 {
			// The export queue holds 2,048 spans: wait for each batch,
			// as a real rate would.
			if err := e.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	report(b, e, cpu)
	if st := e.Stats(); st.SpansExported != uint64(b.N) {
		b.Fatalf("%d spans exported, want %d (%+v)", st.SpansExported, b.N, st)
	}
}

// lifetimeEvents are the ACCEPTED and CLOSED of inbound connection id, a
// new one every 500 µs (2,000 a second) open for 100 ms, the CLOSED with
// the kernel's figures of a clean close.
func lifetimeEvents(id uint64) (acc, cls transport.Event) {
	acc = inbound(transport.EventAccepted, id, 0, "Connection accepted")
	cls = inbound(transport.EventClosed, id, 0, "EOF received")
	acc.Time = base.Add(time.Duration(id) * 500 * time.Microsecond)
	cls.Time = acc.Time.Add(100 * time.Millisecond)
	cls.TCP = &transport.TCPInfo{At: cls.Time, State: transport.TCPState(8), RTT: 45, RTTVar: 22, Cwnd: 10, SendWindow: 65483, LastSend: 3, LastRecv: 3}
	return acc, cls
}
