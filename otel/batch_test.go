package otel

import (
	"context"
	"errors"
	"testing"

	"github.com/sipwire/sipwire/transport"
	gotel "go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// gatedExporter holds every export until release is closed.
type gatedExporter struct {
	keptExporter
	release chan struct{}
}

func (g gatedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.keptExporter.ExportSpans(ctx, spans)
}

// A stalled export never blocks event handling: the export queue drops and
// counts, and every ended span is accounted for.
func TestExportQueueFull(t *testing.T) {
	t.Parallel()
	mem := tracetest.NewInMemoryExporter()
	g := gatedExporter{keptExporter{mem}, make(chan struct{})}
	e, err := NewWithSpanExporter(context.Background(), Config{QueueSize: 4, BatchSize: 1, OpenSpanDelay: atOnce}, g)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for id := uint64(1); id <= n; id++ {
		e.HandleEvent(new(inbound(transport.EventAccepted, id, 0, "")))
	}
	// At most one batch of 1 in the stalled export and 4 in the queue.
	if st := e.Stats(); st.Dropped.ExportQueueFull < n-5 || st.QueueLen > 4 || st.QueueCap != 4 {
		t.Errorf("dropped %d queue %d/%d with the export stalled", st.Dropped.ExportQueueFull, st.QueueLen, st.QueueCap)
	}
	close(g.release)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()
	if st.SpansEnded != 2*n || st.SpansEnded != st.SpansExported+st.SpansFailed+st.Dropped.ExportQueueFull {
		t.Errorf("spans not accounted for: %+v", st)
	}
	if got := uint64(len(mem.GetSpans())); got != st.SpansExported {
		t.Errorf("receiver has %d spans, stats say %d exported", got, st.SpansExported)
	}
}

// failingExporter refuses every batch.
type failingExporter struct{ keptExporter }

var errRefused = errors.New("receiver refused the batch")

func (failingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return errRefused }

func TestExportErrorsCounted(t *testing.T) {
	t.Parallel()
	e, err := NewWithSpanExporter(context.Background(), Config{OpenSpanDelay: atOnce}, failingExporter{})
	if err != nil {
		t.Fatal(err)
	}
	e.HandleEvent(new(inbound(transport.EventAccepted, 1, 0, "")))
	e.HandleEvent(new(inbound(transport.EventClosed, 1, 1, "")))
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()
	if st.ExportErrors != 1 || st.SpansFailed != 2 || st.SpansExported != 0 || st.LastError != errRefused.Error() {
		t.Errorf("stats %+v", st)
	}
}

// The SDK's global error handler counts into the latest Exporter. Not
// parallel: the handler is process-wide.
func TestGlobalErrorHandler(t *testing.T) {
	e, _ := newTestExporter(t, Config{})
	gotel.Handle(errors.New("sdk trouble"))
	if st := e.Stats(); st.SDKErrors != 1 || st.LastError != "sdk trouble" {
		t.Errorf("stats %+v", st)
	}
}

// Spans the sampler drops are not counted as started or ended, so the
// accounting holds under OTEL_TRACES_SAMPLER too. Not parallel: it sets
// the environment.
func TestSamplerOff(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	e, mem := newTestExporter(t, Config{})
	play(t, e, mem,
		inbound(transport.EventAccepted, 1, 0, ""),
		inbound(transport.EventClosed, 1, 1, ""),
		failed(inbound(transport.EventAcceptRefused, 2, 2, "")),
	)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()
	if st.EventsReceived != 3 || st.SpansStarted != 0 || st.SpansEnded != 0 || len(mem.GetSpans()) != 0 {
		t.Errorf("stats %+v, %d spans exported", st, len(mem.GetSpans()))
	}
}

// Under a ratio sampler a connection's spans share one decision: an open
// span is exported exactly when its lifetime span is, although the
// lifetime span is only started when the connection closes. Not parallel:
// it sets the environment.
func TestRatioSamplerSharedDecision(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "traceidratio")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
	e, mem := newTestExporter(t, Config{})
	const conns = 200
	var evs []transport.Event
	for id := uint64(1); id <= conns; id++ {
		evs = append(evs, inbound(transport.EventAccepted, id, 0, ""))
	}
	for id := uint64(1); id <= conns; id++ {
		evs = append(evs, inbound(transport.EventClosed, id, 10, ""))
	}
	play(t, e, mem, evs...)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	lifetimes := map[[8]byte]bool{}
	opens := 0
	for _, s := range mem.GetSpans() {
		if s.Name == SpanConnection {
			lifetimes[s.SpanContext.SpanID()] = true
		}
	}
	for _, s := range mem.GetSpans() {
		if s.Name != SpanOpen {
			continue
		}
		opens++
		if !lifetimes[s.Parent.SpanID()] {
			t.Errorf("open span %v exported without its lifetime span", s.SpanContext.SpanID())
		}
	}
	if opens != len(lifetimes) {
		t.Errorf("%d open spans, %d lifetime spans: the decisions differ", opens, len(lifetimes))
	}
	if opens == 0 || opens == conns {
		t.Errorf("%d of %d connections sampled: the ratio sampler did not apply", opens, conns)
	}
	if st := e.Stats(); st.SpansStarted != uint64(2*opens) || st.SpansEnded != st.SpansStarted {
		t.Errorf("stats %+v, want %d spans started and ended", st, 2*opens)
	}
}
