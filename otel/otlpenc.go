package otel

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// otlpClient is what the OTLP exporters of otlptracehttp and otlptracegrpc
// are made of (their NewClient): the transport to the collector, which owns
// the endpoint, TLS, headers, compression and retries, and marshals each
// request before UploadTraces returns.
type otlpClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	UploadTraces(ctx context.Context, spans []*tracepb.ResourceSpans) error
}

// otlpExporter is the span exporter of an enabled Exporter: an OTLP client
// fed by spanEncoder instead of the SDK exporters' own conversion.
type otlpExporter struct {
	client otlpClient

	// mu makes exports one at a time: the encoder's buffers are reused.
	mu       sync.Mutex
	enc      spanEncoder
	stopOnce sync.Once
	stopErr  error
}

var _ sdktrace.SpanExporter = (*otlpExporter)(nil)

// newOTLPClientExporter starts client and returns the exporter that feeds
// it.
func newOTLPClientExporter(ctx context.Context, client otlpClient) (*otlpExporter, error) {
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start OTLP client: %w", err)
	}
	return &otlpExporter{client: client}, nil
}

// ExportSpans encodes spans and uploads them, within ctx.
func (x *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	rs := x.enc.encode(spans)
	if len(rs) == 0 {
		return nil
	}
	err := x.client.UploadTraces(ctx, rs)
	if err != nil {
		return fmt.Errorf("traces export: %w", err)
	}
	return nil
}

// Shutdown stops the client, once.
func (x *otlpExporter) Shutdown(ctx context.Context) error {
	x.stopOnce.Do(func() { x.stopErr = x.client.Stop(ctx) })
	return x.stopErr
}

// spanEncoder writes spans in OTLP's protobuf wire format itself, straight
// from the SDK's spans: the same fields as the SDK's OTLP exporters
// (go.opentelemetry.io/otel/exporters/otlp/otlptrace's tracetransform),
// spans grouped by resource and then by instrumentation scope, in the
// order they first appear. The SDK's exporters first build protobuf
// structs (three objects per attribute, 29 attributes on a connection's
// lifetime span) and then marshal them by reflection, which cost more than
// making the span. Here each resource's spans go into one buffer, which
// the ResourceSpans handed to the client carries as its unknown fields:
// protobuf keeps unknown fields and marshals them as they are, so the
// request on the wire is the OTLP the struct would have made
// (TestEncoderMatchesSDKExporter decodes both and compares). The client
// marshals before UploadTraces returns; the buffers are reused by the next
// batch and grow to what the largest batch needed. A resource's and a
// scope's own fields, the same in every batch, are encoded once.
type spanEncoder struct {
	bufs   [][]byte // one per resource of the batch, reused
	groups []encGroup
	order  []int // span indexes of the batch, by group
	// spanGroup is the group of each span of the batch, -1 for nil.
	spanGroup []int
	out       []*tracepb.ResourceSpans

	resources map[attribute.Distinct][]byte
	scopes    map[instrumentation.Scope][]byte
}

// encGroup is one (resource, scope) pair of a batch and how many of its
// spans there are.
type encGroup struct {
	res   *resource.Resource
	scope instrumentation.Scope
	n     int
}

// encode converts spans into one ResourceSpans per resource, valid until
// the next encode.
func (e *spanEncoder) encode(spans []sdktrace.ReadOnlySpan) []*tracepb.ResourceSpans {
	e.groups = e.groups[:0]
	gi := e.spanGroup[:0] // group of each span, -1 for nil
	for _, sd := range spans {
		if sd == nil {
			gi = append(gi, -1)
			continue
		}
		g := e.group(sd.Resource(), sd.InstrumentationScope())
		e.groups[g].n++
		gi = append(gi, g)
	}
	// Span indexes ordered by group, each group's in batch order.
	start := make([]int, len(e.groups)+1)
	for g := range e.groups {
		start[g+1] = start[g] + e.groups[g].n
	}
	e.spanGroup = gi
	e.order = slices.Grow(e.order[:0], start[len(e.groups)])[:start[len(e.groups)]]
	next := slices.Clone(start[:len(e.groups)])
	for i, g := range gi {
		if g >= 0 {
			e.order[next[g]] = i
			next[g]++
		}
	}
	e.out = e.out[:0]
	for g := 0; g < len(e.groups); {
		res := e.groups[g].res
		if len(e.bufs) == len(e.out) {
			e.bufs = append(e.bufs, nil)
		}
		b := e.bufs[len(e.out)][:0]
		if r := e.resource(res); r != nil {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendBytes(b, r)
		}
		// The groups of one resource are next to each other: group adds a
		// new scope of a known resource after that resource's groups.
		for ; g < len(e.groups) && sameResource(e.groups[g].res, res); g++ {
			sc := e.groups[g].scope
			var m int
			b, m = openField(b, 2)
			if s := e.scope(sc); s != nil {
				b = protowire.AppendTag(b, 1, protowire.BytesType)
				b = protowire.AppendBytes(b, s)
			}
			for _, i := range e.order[start[g]:start[g+1]] {
				b = appendSpan(b, spans[i])
			}
			b = appendString(b, 3, sc.SchemaURL)
			b = closeField(b, m)
		}
		b = appendString(b, 3, res.SchemaURL())
		e.bufs[len(e.out)] = b
		rs := &tracepb.ResourceSpans{}
		rs.ProtoReflect().SetUnknown(protoreflect.RawFields(b))
		e.out = append(e.out, rs)
	}
	return e.out
}

func sameResource(a, b *resource.Resource) bool {
	return a == b || a.Equivalent() == b.Equivalent()
}

// group returns the index of the group of res and scope in this batch,
// adding it when new, after the last group of the same resource.
func (e *spanEncoder) group(res *resource.Resource, scope instrumentation.Scope) int {
	last := -1
	for i := range e.groups {
		if sameResource(e.groups[i].res, res) {
			if e.groups[i].scope == scope {
				return i
			}
			last = i
		}
	}
	if last < 0 {
		e.groups = append(e.groups, encGroup{res: res, scope: scope})
		return len(e.groups) - 1
	}
	e.groups = slices.Insert(e.groups, last+1, encGroup{res: res, scope: scope})
	return last + 1
}

// maxCachedConversions bounds the resources and scopes encoded once and
// kept: a process has one of each here.
const maxCachedConversions = 16

// resource returns the encoded Resource message of res; nil for none.
func (e *spanEncoder) resource(res *resource.Resource) []byte {
	if res == nil {
		return nil
	}
	key := res.Equivalent()
	if r, ok := e.resources[key]; ok {
		return r
	}
	r := []byte{}
	for it := res.Iter(); it.Next(); {
		r = appendKeyValue(r, 1, it.Attribute())
	}
	if e.resources == nil || len(e.resources) >= maxCachedConversions {
		e.resources = make(map[attribute.Distinct][]byte)
	}
	e.resources[key] = r
	return r
}

// scope returns the encoded InstrumentationScope message of s; nil for the
// zero scope, which the SDK's exporters leave out.
func (e *spanEncoder) scope(s instrumentation.Scope) []byte {
	if s == (instrumentation.Scope{}) {
		return nil
	}
	if b, ok := e.scopes[s]; ok {
		return b
	}
	b := appendString([]byte{}, 1, s.Name)
	b = appendString(b, 2, s.Version)
	for it := s.Attributes.Iter(); it.Next(); {
		b = appendKeyValue(b, 3, it.Attribute())
	}
	if e.scopes == nil || len(e.scopes) >= maxCachedConversions {
		e.scopes = make(map[instrumentation.Scope][]byte)
	}
	e.scopes[s] = b
	return b
}

// openField starts a length-delimited field num, leaving one byte for its
// length; closeField writes the length, moving the body when it needs more.
func openField(b []byte, num protowire.Number) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return append(b, 0), len(b) + 1
}

func closeField(b []byte, mark int) []byte {
	n := len(b) - mark
	if n < 0x80 {
		b[mark-1] = byte(n)
		return b
	}
	extra := protowire.SizeVarint(uint64(n)) - 1
	b = append(b, make([]byte, extra)...)
	copy(b[mark+extra:], b[mark:mark+n])
	protowire.AppendVarint(b[mark-1:mark-1], uint64(n))
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendUvarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

// appendSpan appends sd as field 2 (spans) of a ScopeSpans.
func appendSpan(b []byte, sd sdktrace.ReadOnlySpan) []byte {
	b, m := openField(b, 2)
	sc := sd.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, 1, tid[:])
	b = appendBytes(b, 2, sid[:])
	b = appendString(b, 3, sc.TraceState().String())
	parent := sd.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		b = appendBytes(b, 4, psid[:])
	}
	b = appendString(b, 5, sd.Name())
	b = appendUvarint(b, 6, uint64(spanKindPB(sd.SpanKind())))
	b = appendFixed64(b, 7, uint64(max(0, sd.StartTime().UnixNano())))
	b = appendFixed64(b, 8, uint64(max(0, sd.EndTime().UnixNano())))
	for _, a := range sd.Attributes() {
		b = appendKeyValue(b, 9, a)
	}
	b = appendUvarint(b, 10, uint64(clampUint32(sd.DroppedAttributes())))
	for _, ev := range sd.Events() {
		var em int
		b, em = openField(b, 11)
		b = appendFixed64(b, 1, uint64(max(0, ev.Time.UnixNano())))
		b = appendString(b, 2, ev.Name)
		for _, a := range ev.Attributes {
			b = appendKeyValue(b, 3, a)
		}
		b = appendUvarint(b, 4, uint64(clampUint32(ev.DroppedAttributeCount)))
		b = closeField(b, em)
	}
	b = appendUvarint(b, 12, uint64(clampUint32(sd.DroppedEvents())))
	for _, l := range sd.Links() {
		var lm int
		b, lm = openField(b, 13)
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		b = appendBytes(b, 1, ltid[:])
		b = appendBytes(b, 2, lsid[:])
		// Like the SDK's exporters, no trace state for a link.
		for _, a := range l.Attributes {
			b = appendKeyValue(b, 4, a)
		}
		b = appendUvarint(b, 5, uint64(clampUint32(l.DroppedAttributeCount)))
		b = appendFixed32(b, 6, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext))
		b = closeField(b, lm)
	}
	b = appendUvarint(b, 14, uint64(clampUint32(sd.DroppedLinks())))
	st := sd.Status()
	var sm int
	b, sm = openField(b, 15)
	b = appendString(b, 2, st.Description)
	b = appendUvarint(b, 3, uint64(statusCode(st.Code)))
	b = closeField(b, sm)
	b = appendFixed32(b, 16, spanFlags(sc.TraceFlags(), parent))
	return closeField(b, m)
}

// appendKeyValue appends a as a KeyValue message in field num.
func appendKeyValue(b []byte, num protowire.Number, a attribute.KeyValue) []byte {
	b, m := openField(b, num)
	b = appendString(b, 1, string(a.Key))
	var vm int
	b, vm = openField(b, 2)
	b = appendAnyValue(b, a.Value)
	b = closeField(b, vm)
	return closeField(b, m)
}

// appendAnyValue appends the fields of v as an AnyValue message: its one
// field of the oneof, present even when zero (an EMPTY value has none).
func appendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.STRING:
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		return protowire.AppendString(b, v.AsString())
	case attribute.BOOL:
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, 4, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.BYTESLICE:
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		return protowire.AppendBytes(b, v.AsByteSlice())
	case attribute.BOOLSLICE:
		return appendArray(b, v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		return appendArray(b, v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		return appendArray(b, v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		return appendArray(b, v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		return appendArray(b, v.AsSlice(), func(x attribute.Value) attribute.Value { return x })
	case attribute.MAP:
		b, m := openField(b, 6)
		for _, kv := range v.AsMap() {
			b = appendKeyValue(b, 1, kv)
		}
		return closeField(b, m)
	case attribute.EMPTY:
		return b
	default:
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		return protowire.AppendString(b, "INVALID")
	}
}

// appendArray appends vals as the array_value of an AnyValue.
func appendArray[T any](b []byte, vals []T, conv func(T) attribute.Value) []byte {
	b, m := openField(b, 5)
	for _, x := range vals {
		var vm int
		b, vm = openField(b, 1)
		b = appendAnyValue(b, conv(x))
		b = closeField(b, vm)
	}
	return closeField(b, m)
}

func statusCode(c codes.Code) tracepb.Status_StatusCode {
	switch c {
	case codes.Ok:
		return tracepb.Status_STATUS_CODE_OK
	case codes.Error:
		return tracepb.Status_STATUS_CODE_ERROR
	default:
		return tracepb.Status_STATUS_CODE_UNSET
	}
}

func spanKindPB(k trace.SpanKind) tracepb.Span_SpanKind {
	switch k {
	case trace.SpanKindInternal:
		return tracepb.Span_SPAN_KIND_INTERNAL
	case trace.SpanKindClient:
		return tracepb.Span_SPAN_KIND_CLIENT
	case trace.SpanKindServer:
		return tracepb.Span_SPAN_KIND_SERVER
	case trace.SpanKindProducer:
		return tracepb.Span_SPAN_KIND_PRODUCER
	case trace.SpanKindConsumer:
		return tracepb.Span_SPAN_KIND_CONSUMER
	default:
		return tracepb.Span_SPAN_KIND_UNSPECIFIED
	}
}

// spanFlags are the W3C trace flags and whether the parent is remote, as
// the SDK's OTLP exporters set them.
func spanFlags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	flags := uint32(tf) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	if parent.IsRemote() {
		flags |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
	}
	return flags
}

func clampUint32(v int) uint32 {
	if v < 0 {
		return 0
	}
	if int64(v) > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}
