package otel

import (
	"context"
	"net/netip"
	"testing"

	"github.com/sipwire/sipwire/transport"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// FuzzEventSequence plays any sequence of events (and TracingOff calls), in
// any order, for a few connection ids, and checks the bounds and the accounting: the table stays
// within its bound, and after Shutdown every span started has ended and
// every span ended is exported or counted as lost; the spans exported
// encode as the SDK's OTLP exporter encodes them.
func FuzzEventSequence(f *testing.F) {
	f.Add([]byte{1, 0, 6, 0, 2, 1, 3, 1, 7, 0, 6, 0})
	f.Add([]byte{2, 9, 4, 9, 6, 9, 5, 3, 3, 3, 10, 3, 6, 3})
	f.Add([]byte{14, 1, 13, 2, 6, 1, 6, 2, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		const bound = 4
		e, mem := newTestExporter(t, Config{MaxOpenConnections: bound, QueueSize: 16, BatchSize: 4})
		for i := 0; i+1 < len(data); i += 2 {
			k, b := data[i], data[i+1]
			if k%18 == 17 {
				e.TracingOff()
				continue
			}
			ev := transport.Event{
				Kind:   transport.EventKind(k % 18),
				ConnID: uint64(b % 8),
				Time:   at(i),
				Remote: netip.MustParseAddrPort("127.0.0.1:40000"),
			}
			if b&8 != 0 {
				ev.Direction = transport.Outbound
			}
			if b&16 != 0 {
				ev.Status = transport.StatusFailure
			}
			if b&32 == 0 {
				ev.Local = netip.MustParseAddrPort("127.0.0.1:5060")
			}
			if b&64 != 0 {
				ev.Remote = netip.MustParseAddrPort("[::1]:40000")
			}
			e.HandleEvent(&ev)
			if n := e.Stats().OpenConnections; n > bound {
				t.Fatalf("%d open connections, bound %d", n, bound)
			}
		}
		if err := e.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := e.Stats()
		if st.SpansStarted != st.SpansEnded || st.OpenConnections != 0 {
			t.Fatalf("started %d ended %d open %d", st.SpansStarted, st.SpansEnded, st.OpenConnections)
		}
		if st.SpansEnded != st.SpansExported+st.SpansFailed+st.Dropped.ExportQueueFull {
			t.Fatalf("spans not accounted for: %+v", st)
		}
		if got := uint64(len(mem.GetSpans())); got != st.SpansExported {
			t.Fatalf("%d spans in memory, %d counted as exported", got, st.SpansExported)
		}
		// What OTLP would carry: the encoder's bytes decode to the SDK
		// exporter's.
		var spans []sdktrace.ReadOnlySpan
		for _, s := range mem.GetSpans() {
			spans = append(spans, s.Snapshot())
		}
		checkEncoding(t, spans)
	})
}
