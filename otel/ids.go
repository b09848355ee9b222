package otel

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"
)

// presetIDsKey is the context key under which a span start finds the ids
// the span must take.
type presetIDsKey struct{}

// withPresetIDs returns ctx telling the id generator to give the next span
// started with it sc's trace and span ids. It lets a connection's lifetime
// span, started when the connection closes, take the ids its children
// (open, connect) already named as their parent.
func withPresetIDs(ctx context.Context, sc trace.SpanContext) context.Context {
	return context.WithValue(ctx, presetIDsKey{}, sc)
}

// idGenerator is the SDK's id source: random ids, or the preset ones that
// the context carries.
type idGenerator struct{}

// NewIDs returns the preset ids when ctx carries them, else random ones.
func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if sc, ok := ctx.Value(presetIDsKey{}).(trace.SpanContext); ok {
		return sc.TraceID(), sc.SpanID()
	}
	return newTraceID(), newSpanID()
}

// NewSpanID returns the preset span id when ctx carries one for traceID,
// else a random one.
func (idGenerator) NewSpanID(ctx context.Context, traceID trace.TraceID) trace.SpanID {
	if sc, ok := ctx.Value(presetIDsKey{}).(trace.SpanContext); ok && sc.TraceID() == traceID {
		return sc.SpanID()
	}
	return newSpanID()
}

func newTraceID() trace.TraceID {
	var id trace.TraceID
	for !id.IsValid() {
		binary.NativeEndian.PutUint64(id[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		binary.NativeEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}
