package otel

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// keptExporter is the SDK's in-memory exporter without the Reset that its
// Shutdown does, so that a test can read the spans after Shutdown.
type keptExporter struct{ *tracetest.InMemoryExporter }

func (keptExporter) Shutdown(context.Context) error { return nil }

// newTestExporter returns an Exporter that exports into memory. Unless cfg
// says otherwise, open spans go at once, as the scenarios expect (the
// delay has tests of its own).
func newTestExporter(t testing.TB, cfg Config) (*Exporter, *tracetest.InMemoryExporter) {
	t.Helper()
	if cfg.OpenSpanDelay == 0 {
		cfg.OpenSpanDelay = atOnce
	}
	mem := tracetest.NewInMemoryExporter()
	e, err := NewWithSpanExporter(context.Background(), cfg, keptExporter{mem})
	if err != nil {
		t.Fatal(err)
	}
	return e, mem
}

// atOnce is an OpenSpanDelay that emits open spans at once.
const atOnce = -1

// base is the time of the first event of every scenario.
var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// at returns base plus ms milliseconds.
func at(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

var (
	testLocal  = netip.MustParseAddrPort("127.0.0.1:5060")
	testRemote = netip.MustParseAddrPort("127.0.0.1:40000")
)

// inbound returns an event of an accepted connection.
func inbound(kind transport.EventKind, id uint64, ms int, reason string) transport.Event {
	return transport.Event{Kind: kind, ConnID: id, Direction: transport.Inbound, Time: at(ms),
		Local: testLocal, Remote: testRemote, Listener: testLocal, Reason: reason}
}

// outbound returns an event of a dialled connection; CONNECT_START and
// CONNECT_FAILED have no local address.
func outbound(kind transport.EventKind, id uint64, ms int, reason string) transport.Event {
	ev := transport.Event{Kind: kind, ConnID: id, Direction: transport.Outbound, Time: at(ms),
		Local: netip.MustParseAddrPort("127.0.0.1:41000"), Remote: netip.MustParseAddrPort("127.0.0.1:5070"), Reason: reason}
	if kind == transport.EventConnectStart || kind == transport.EventConnectFailed {
		ev.Local = netip.AddrPort{}
	}
	return ev
}

// unconnected clears ev's local address, as for the CLOSED of a connect
// that failed.
func unconnected(ev transport.Event) transport.Event {
	ev.Local = netip.AddrPort{}
	return ev
}

// failed marks ev as a failure.
func failed(ev transport.Event) transport.Event {
	ev.Status = transport.StatusFailure
	return ev
}

// play feeds evs to e through Run, then flushes, and returns the spans
// exported so far.
func play(t *testing.T, e *Exporter, mem *tracetest.InMemoryExporter, evs ...transport.Event) tracetest.SpanStubs {
	t.Helper()
	ch := make(chan transport.Event, len(evs))
	for _, ev := range evs {
		ch <- ev
	}
	close(ch)
	e.Consume(context.Background(), ch)
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return mem.GetSpans()
}

// byName returns the spans called name.
func byName(spans tracetest.SpanStubs, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// one returns the only span called name, failing the test otherwise.
func one(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	got := byName(spans, name)
	if len(got) != 1 {
		t.Fatalf("%d spans %q, want 1 (all: %v)", len(got), name, names(spans))
	}
	return got[0]
}

func names(spans tracetest.SpanStubs) []string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name)
	}
	return n
}

// attr returns the value of key in attrs.
func attr(attrs []attribute.KeyValue, key attribute.Key) (attribute.Value, bool) {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

// wantAttrs checks that attrs hold every key with the value in want.
func wantAttrs(t *testing.T, span string, attrs []attribute.KeyValue, want map[attribute.Key]any) {
	t.Helper()
	for k, w := range want {
		v, ok := attr(attrs, k)
		if !ok {
			t.Errorf("%s: no attribute %s", span, k)
			continue
		}
		if got := v.AsInterface(); got != w {
			t.Errorf("%s: %s = %v (%T), want %v (%T)", span, k, got, got, w, w)
		}
	}
}
