package otel

import (
	"context"
	"fmt"
	"math"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
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
// fed by spanEncoder instead of the SDK exporters' own conversion, which
// allocates about 90 objects for a connection's lifetime span (three per
// attribute) in every batch. The encoder reuses its protobuf structs from
// batch to batch; what it sends is the same OTLP.
type otlpExporter struct {
	client otlpClient

	// mu makes exports one at a time: the encoder's structs are reused.
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
	x.enc.release()
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

// spanEncoder turns SDK spans into OTLP's protobuf structs as the SDK's OTLP
// exporters do (go.opentelemetry.io/otel/exporters/otlp/otlptrace's
// tracetransform: the same fields, spans grouped by resource and then by
// instrumentation scope), but keeps its structs: a span, an attribute, an
// event and a link each take a slot of a slab, which the next batch reuses.
// The slabs grow to what the largest batch needed (about 200 bytes an
// attribute: 3 MB for a batch of 512 lifetime spans with the kernel's
// figures) and stay. Resources and scopes, the same in every batch, are
// converted once. Attribute values of composite types (slices, maps, bytes)
// are rare here and allocated as the SDK does.
type spanEncoder struct {
	spans  slab[spanSlot]
	attrs  slab[attrSlot]
	events slab[eventSlot]
	links  slab[linkSlot]
	groups []encGroup
	out    []*tracepb.ResourceSpans

	resources map[attribute.Distinct]*resourcepb.Resource
	scopes    map[instrumentation.Scope]*commonpb.InstrumentationScope
}

// encGroup is one (resource, scope) pair of a batch and its spans.
type encGroup struct {
	res   *resource.Resource
	scope instrumentation.Scope
	rs    *tracepb.ResourceSpans
	ss    *tracepb.ScopeSpans
}

// spanSlot is one span's structs and the backing of its ids.
type spanSlot struct {
	pb     tracepb.Span
	status tracepb.Status
	ids    [32]byte // trace id, span id, parent span id
	attrs  []*commonpb.KeyValue
	events []*tracepb.Span_Event
	links  []*tracepb.Span_Link
}

// attrSlot is one attribute's structs, with a holder for each scalar type.
type attrSlot struct {
	kv  commonpb.KeyValue
	av  commonpb.AnyValue
	str commonpb.AnyValue_StringValue
	i64 commonpb.AnyValue_IntValue
	f64 commonpb.AnyValue_DoubleValue
	b   commonpb.AnyValue_BoolValue
}

type eventSlot struct {
	pb    tracepb.Span_Event
	attrs []*commonpb.KeyValue
}

type linkSlot struct {
	pb    tracepb.Span_Link
	ids   [24]byte
	attrs []*commonpb.KeyValue
}

// slabChunk is how many slots a slab allocates at a time; slots never move,
// so pointers to them stay valid while the batch is encoded.
const slabChunk = 128

// slab hands out slots of T, reused after reset.
type slab[T any] struct {
	chunks [][]T
	n      int
}

func (s *slab[T]) next() *T {
	c, i := s.n/slabChunk, s.n%slabChunk
	if c == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, slabChunk))
	}
	s.n++
	return &s.chunks[c][i]
}

func (s *slab[T]) reset() { s.n = 0 }

// encode converts spans into resource spans, valid until release.
func (e *spanEncoder) encode(spans []sdktrace.ReadOnlySpan) []*tracepb.ResourceSpans {
	e.groups = e.groups[:0]
	e.out = e.out[:0]
	for _, sd := range spans {
		if sd == nil {
			continue
		}
		g := e.group(sd.Resource(), sd.InstrumentationScope())
		g.ss.Spans = append(g.ss.Spans, e.span(sd))
	}
	return e.out
}

// release lets the next batch reuse the slots (the groups and resource
// spans, a few per batch, are made anew). The slots keep what they point to
// (the spans' strings) until reused.
func (e *spanEncoder) release() {
	e.spans.reset()
	e.attrs.reset()
	e.events.reset()
	e.links.reset()
}

// group returns the group of res and scope in this batch, adding it (and
// its resource's entry in e.out) when new.
func (e *spanEncoder) group(res *resource.Resource, scope instrumentation.Scope) *encGroup {
	for i := range e.groups {
		g := &e.groups[i]
		if g.scope == scope && (g.res == res || g.res.Equivalent() == res.Equivalent()) {
			return g
		}
	}
	ss := &tracepb.ScopeSpans{Scope: e.scope(scope), SchemaUrl: scope.SchemaURL}
	var rs *tracepb.ResourceSpans
	for i := range e.groups {
		if g := &e.groups[i]; g.res == res || g.res.Equivalent() == res.Equivalent() {
			rs = g.rs
			break
		}
	}
	if rs == nil {
		rs = &tracepb.ResourceSpans{Resource: e.resource(res), SchemaUrl: res.SchemaURL()}
		e.out = append(e.out, rs)
	}
	rs.ScopeSpans = append(rs.ScopeSpans, ss)
	e.groups = append(e.groups, encGroup{res: res, scope: scope, rs: rs, ss: ss})
	return &e.groups[len(e.groups)-1]
}

// maxCachedConversions bounds the resources and scopes converted once and
// kept: a process has one of each here.
const maxCachedConversions = 16

func (e *spanEncoder) resource(res *resource.Resource) *resourcepb.Resource {
	if res == nil {
		return nil
	}
	key := res.Equivalent()
	if r, ok := e.resources[key]; ok {
		return r
	}
	r := &resourcepb.Resource{Attributes: iterKeyValues(res.Iter())}
	if e.resources == nil || len(e.resources) >= maxCachedConversions {
		e.resources = make(map[attribute.Distinct]*resourcepb.Resource)
	}
	e.resources[key] = r
	return r
}

func (e *spanEncoder) scope(s instrumentation.Scope) *commonpb.InstrumentationScope {
	if s == (instrumentation.Scope{}) {
		return nil
	}
	if pb, ok := e.scopes[s]; ok {
		return pb
	}
	pb := &commonpb.InstrumentationScope{Name: s.Name, Version: s.Version, Attributes: iterKeyValues(s.Attributes.Iter())}
	if e.scopes == nil || len(e.scopes) >= maxCachedConversions {
		e.scopes = make(map[instrumentation.Scope]*commonpb.InstrumentationScope)
	}
	e.scopes[s] = pb
	return pb
}

// span converts sd into a slot.
func (e *spanEncoder) span(sd sdktrace.ReadOnlySpan) *tracepb.Span {
	sl := e.spans.next()
	sc := sd.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	copy(sl.ids[0:16], tid[:])
	copy(sl.ids[16:24], sid[:])
	st := sd.Status()
	sl.status.Code, sl.status.Message = statusCode(st.Code), st.Description
	p := &sl.pb
	p.TraceId, p.SpanId, p.ParentSpanId = sl.ids[0:16], sl.ids[16:24], nil
	p.TraceState = sc.TraceState().String()
	p.Status = &sl.status
	p.StartTimeUnixNano = uint64(max(0, sd.StartTime().UnixNano()))
	p.EndTimeUnixNano = uint64(max(0, sd.EndTime().UnixNano()))
	p.Kind = spanKindPB(sd.SpanKind())
	p.Name = sd.Name()
	sl.attrs = e.keyValues(sl.attrs[:0], sd.Attributes())
	p.Attributes = nilIfEmpty(sl.attrs)
	sl.events = e.spanEvents(sl.events[:0], sd.Events())
	p.Events = nilIfEmpty(sl.events)
	sl.links = e.spanLinks(sl.links[:0], sd.Links())
	p.Links = nilIfEmpty(sl.links)
	p.DroppedAttributesCount = clampUint32(sd.DroppedAttributes())
	p.DroppedEventsCount = clampUint32(sd.DroppedEvents())
	p.DroppedLinksCount = clampUint32(sd.DroppedLinks())
	parent := sd.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		copy(sl.ids[24:32], psid[:])
		p.ParentSpanId = sl.ids[24:32]
	}
	p.Flags = spanFlags(sc.TraceFlags(), parent)
	return p
}

func (e *spanEncoder) spanEvents(dst []*tracepb.Span_Event, es []sdktrace.Event) []*tracepb.Span_Event {
	for i := range es {
		sl := e.events.next()
		sl.attrs = e.keyValues(sl.attrs[:0], es[i].Attributes)
		sl.pb.Name = es[i].Name
		sl.pb.TimeUnixNano = uint64(max(0, es[i].Time.UnixNano()))
		sl.pb.Attributes = nilIfEmpty(sl.attrs)
		sl.pb.DroppedAttributesCount = clampUint32(es[i].DroppedAttributeCount)
		dst = append(dst, &sl.pb)
	}
	return dst
}

// spanLinks appends ls as slots to dst; like the SDK's exporters it leaves
// out a link's trace state.
func (e *spanEncoder) spanLinks(dst []*tracepb.Span_Link, ls []sdktrace.Link) []*tracepb.Span_Link {
	for i := range ls {
		sl := e.links.next()
		sc := ls[i].SpanContext
		tid, sid := sc.TraceID(), sc.SpanID()
		copy(sl.ids[0:16], tid[:])
		copy(sl.ids[16:24], sid[:])
		sl.attrs = e.keyValues(sl.attrs[:0], ls[i].Attributes)
		sl.pb.TraceId, sl.pb.SpanId = sl.ids[0:16], sl.ids[16:24]
		sl.pb.Attributes = nilIfEmpty(sl.attrs)
		sl.pb.DroppedAttributesCount = clampUint32(ls[i].DroppedAttributeCount)
		sl.pb.Flags = spanFlags(sc.TraceFlags(), sc)
		dst = append(dst, &sl.pb)
	}
	return dst
}

// keyValues appends attrs as slots to dst.
func (e *spanEncoder) keyValues(dst []*commonpb.KeyValue, attrs []attribute.KeyValue) []*commonpb.KeyValue {
	for _, a := range attrs {
		sl := e.attrs.next()
		sl.kv.Key = string(a.Key)
		sl.kv.Value = &sl.av
		switch a.Value.Type() {
		case attribute.STRING:
			sl.str.StringValue = a.Value.AsString()
			sl.av.Value = &sl.str
		case attribute.INT64:
			sl.i64.IntValue = a.Value.AsInt64()
			sl.av.Value = &sl.i64
		case attribute.BOOL:
			sl.b.BoolValue = a.Value.AsBool()
			sl.av.Value = &sl.b
		case attribute.FLOAT64:
			sl.f64.DoubleValue = a.Value.AsFloat64()
			sl.av.Value = &sl.f64
		default:
			sl.kv.Value = anyValue(a.Value)
		}
		dst = append(dst, &sl.kv)
	}
	return dst
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// iterKeyValues converts the attributes of a resource or scope (allocated:
// once per resource or scope).
func iterKeyValues(it attribute.Iterator) []*commonpb.KeyValue {
	if it.Len() == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, 0, it.Len())
	for it.Next() {
		a := it.Attribute()
		out = append(out, &commonpb.KeyValue{Key: string(a.Key), Value: anyValue(a.Value)})
	}
	return out
}

// anyValue converts v into a new AnyValue, as the SDK's OTLP exporters do.
func anyValue(v attribute.Value) *commonpb.AnyValue {
	av := new(commonpb.AnyValue)
	switch v.Type() {
	case attribute.BOOL:
		av.Value = &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}
	case attribute.INT64:
		av.Value = &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}
	case attribute.FLOAT64:
		av.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}
	case attribute.STRING:
		av.Value = &commonpb.AnyValue_StringValue{StringValue: v.AsString()}
	case attribute.BYTESLICE:
		av.Value = &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}
	case attribute.BOOLSLICE:
		av.Value = arrayValue(v.AsBoolSlice(), func(b bool) attribute.Value { return attribute.BoolValue(b) })
	case attribute.INT64SLICE:
		av.Value = arrayValue(v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		av.Value = arrayValue(v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		av.Value = arrayValue(v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		av.Value = arrayValue(v.AsSlice(), func(x attribute.Value) attribute.Value { return x })
	case attribute.MAP:
		kvs := v.AsMap()
		out := make([]*commonpb.KeyValue, 0, len(kvs))
		for _, kv := range kvs {
			out = append(out, &commonpb.KeyValue{Key: string(kv.Key), Value: anyValue(kv.Value)})
		}
		av.Value = &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: out}}
	case attribute.EMPTY:
	default:
		av.Value = &commonpb.AnyValue_StringValue{StringValue: "INVALID"}
	}
	return av
}

func arrayValue[T any](vals []T, conv func(T) attribute.Value) *commonpb.AnyValue_ArrayValue {
	out := make([]*commonpb.AnyValue, len(vals))
	for i, x := range vals {
		out[i] = anyValue(conv(x))
	}
	return &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: out}}
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
