package otel

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// captureClient is an OTLP client that keeps each upload, marshalled (as
// the real clients marshal before UploadTraces returns).
type captureClient struct {
	uploads [][]byte
	err     error
}

func (*captureClient) Start(context.Context) error { return nil }
func (*captureClient) Stop(context.Context) error  { return nil }
func (c *captureClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	b, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rs})
	if err != nil {
		return err
	}
	c.uploads = append(c.uploads, b)
	return c.err
}

// decodeUpload decodes an upload, its resources sorted (the SDK's
// conversion orders them by map iteration).
func decodeUpload(t *testing.T, b []byte) *tracepb.TracesData {
	t.Helper()
	d := &tracepb.TracesData{}
	if err := proto.Unmarshal(b, d); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(d.ResourceSpans, func(a, b *tracepb.ResourceSpans) int {
		return len(a.GetResource().GetAttributes()) - len(b.GetResource().GetAttributes())
	})
	return d
}

// encoderSpans are spans with every field the conversion handles: two
// resources, two scopes, each attribute type, events, links with and
// without a remote span context, a trace state, every status, parents
// local and remote, and limits that drop.
func encoderSpans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	mem := tracetest.NewInMemoryExporter()
	limits := sdktrace.NewSpanLimits()
	limits.AttributeCountLimit, limits.EventCountLimit, limits.LinkCountLimit = 12, 2, 2
	var spans []sdktrace.ReadOnlySpan
	capture := sdktrace.NewSimpleSpanProcessor(mem)
	for i, res := range []*resource.Resource{
		resource.NewSchemaless(attribute.String("service.name", "a")),
		resource.NewWithAttributes("https://opentelemetry.io/schemas/1.43.0", attribute.String("service.name", "b"), attribute.Int("n", 2)),
	} {
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(capture), sdktrace.WithRawSpanLimits(limits))
		ts, err := trace.ParseTraceState("k=v,x=y")
		if err != nil {
			t.Fatal(err)
		}
		remote := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
		})
		for _, scope := range []trace.Tracer{
			tp.Tracer(ScopeName, traceSchema()),
			tp.Tracer("other", trace.WithInstrumentationVersion("1.2"), trace.WithInstrumentationAttributes(attribute.Bool("x", true))),
		} {
			at := base.Add(time.Duration(i) * time.Second)
			ctx, root := scope.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "root",
				trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(at),
				trace.WithAttributes(
					attribute.String("s", "v"), attribute.Int64("i", -7), attribute.Float64("f", 1.5), attribute.Bool("b", true),
					attribute.StringSlice("ss", []string{"a", "b"}), attribute.Int64Slice("is", []int64{1, 2}),
					attribute.Float64Slice("fs", []float64{0.5}), attribute.BoolSlice("bs", []bool{true, false}),
					attribute.ByteSlice("by", []byte{0, 1}), attribute.Slice("sl", attribute.IntValue(1), attribute.StringValue("z")),
					attribute.Map("m", attribute.String("k", "v")), attribute.KeyValue{Key: "empty"},
					attribute.String("over", "the limit"),
				),
				trace.WithLinks(
					trace.Link{SpanContext: remote, Attributes: []attribute.KeyValue{AttrLinkType.String("lifetime")}},
					trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{8}})},
					trace.Link{SpanContext: remote},
				))
			root.AddEvent("e1", trace.WithTimestamp(at.Add(time.Millisecond)), trace.WithAttributes(attribute.String("r", "x")))
			root.AddEvent("e2", trace.WithTimestamp(at.Add(2*time.Millisecond)))
			root.AddEvent("e3", trace.WithTimestamp(at.Add(3*time.Millisecond)))
			root.SetStatus(codes.Error, "broke")
			_, child := scope.Start(ctx, "child", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at))
			child.SetStatus(codes.Ok, "")
			child.End(trace.WithTimestamp(at.Add(time.Millisecond)))
			_, other := scope.Start(context.Background(), "other", trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(at))
			other.End(trace.WithTimestamp(at))
			for _, k := range []trace.SpanKind{trace.SpanKindInternal, trace.SpanKindConsumer, trace.SpanKindUnspecified} {
				_, s := scope.Start(ctx, "kind", trace.WithSpanKind(k), trace.WithTimestamp(at))
				s.End(trace.WithTimestamp(at))
			}
			root.End(trace.WithTimestamp(at.Add(5 * time.Millisecond)))
		}
	}
	for _, s := range mem.GetSpans() {
		spans = append(spans, s.Snapshot())
	}
	if len(spans) != 24 {
		t.Fatalf("%d spans made, want 24", len(spans))
	}
	return spans
}

// The encoder sends what the SDK's own OTLP exporter sends, batch after
// batch (its structs are reused), and the spans of a batch interleaved
// across resources and scopes.
func TestEncoderMatchesSDKExporter(t *testing.T) {
	spans := encoderSpans(t)
	batches := [][]sdktrace.ReadOnlySpan{spans, spans[:3], spans[5:], {spans[2], spans[20], nil, spans[3], spans[21]}, spans}
	sdkClient, ourClient := &captureClient{}, &captureClient{}
	sdkExp, err := otlptrace.New(context.Background(), sdkClient)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := newOTLPClientExporter(context.Background(), ourClient)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range batches {
		if err := sdkExp.ExportSpans(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if err := ours.ExportSpans(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		want, got := decodeUpload(t, sdkClient.uploads[i]), decodeUpload(t, ourClient.uploads[i])
		if len(got.ProtoReflect().GetUnknown()) != 0 || len(got.ResourceSpans) != len(want.ResourceSpans) {
			t.Fatalf("batch %d: %d resources and unknown fields %q", i, len(got.ResourceSpans), got.ProtoReflect().GetUnknown())
		}
		if !proto.Equal(want, got) {
			t.Errorf("batch %d differs from the SDK exporter's:\n got %.3000v\nwant %.3000v", i, got, want)
		}
	}
	if err := ours.ExportSpans(context.Background(), nil); err != nil || len(ourClient.uploads) != len(batches) {
		t.Errorf("empty batch: %v, %d uploads, want none", err, len(ourClient.uploads)-len(batches))
	}
}

// checkEncoding exports spans with the encoder and with the SDK's own OTLP
// exporter and compares what each client received.
func checkEncoding(t *testing.T, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	sdkClient, ourClient := &captureClient{}, &captureClient{}
	sdkExp, err := otlptrace.New(context.Background(), sdkClient)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := newOTLPClientExporter(context.Background(), ourClient)
	if err != nil {
		t.Fatal(err)
	}
	if err := sdkExp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	if err := ours.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	if len(ourClient.uploads) != len(sdkClient.uploads) {
		t.Fatalf("%d uploads, the SDK's exporter made %d", len(ourClient.uploads), len(sdkClient.uploads))
	}
	for i := range ourClient.uploads {
		want, got := decodeUpload(t, sdkClient.uploads[i]), decodeUpload(t, ourClient.uploads[i])
		if !proto.Equal(want, got) {
			t.Errorf("upload differs from the SDK exporter's:\n got %.3000v\nwant %.3000v", got, want)
		}
	}
}

// An upload's error comes back wrapped, and the next batch encodes afresh.
func TestEncoderUploadError(t *testing.T) {
	spans := encoderSpans(t)
	boom := errors.New("boom")
	c := &captureClient{err: boom}
	x, err := newOTLPClientExporter(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.ExportSpans(context.Background(), spans); !errors.Is(err, boom) {
		t.Fatalf("ExportSpans: %v, want %v wrapped", err, boom)
	}
	c.err = nil
	if err := x.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.uploads[0], c.uploads[1]) {
		t.Error("the batch after a failed one encodes differently")
	}
	if err := x.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkEncodeLifetimeSpans: one op is a batch of 512 lifetime spans
// of inbound connections with the kernel's figures, encoded and marshalled
// as the OTLP/HTTP client does; sdk is the SDK's own conversion.
func BenchmarkEncodeLifetimeSpans(b *testing.B) {
	mem := tracetest.NewInMemoryExporter()
	e, err := NewWithSpanExporter(context.Background(), Config{}, keptExporter{mem})
	if err != nil {
		b.Fatal(err)
	}
	for id := uint64(1); id <= DefaultBatchSize; id++ {
		acc, cls := lifetimeEvents(id)
		e.HandleEvent(&acc)
		e.HandleEvent(&cls)
	}
	if err := e.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	var spans []sdktrace.ReadOnlySpan
	for _, s := range mem.GetSpans() {
		spans = append(spans, s.Snapshot())
	}
	if len(spans) != DefaultBatchSize {
		b.Fatalf("%d spans", len(spans))
	}
	run := func(b *testing.B, x sdktrace.SpanExporter) {
		b.ReportAllocs()
		for b.Loop() {
			if err := x.ExportSpans(context.Background(), spans); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
	}
	b.Run("sipwire", func(b *testing.B) {
		x, err := newOTLPClientExporter(context.Background(), marshalClient{})
		if err != nil {
			b.Fatal(err)
		}
		run(b, x)
	})
	b.Run("sdk", func(b *testing.B) {
		x, err := otlptrace.New(context.Background(), marshalClient{})
		if err != nil {
			b.Fatal(err)
		}
		run(b, x)
	})
}

// marshalClient marshals each upload as the OTLP/HTTP client does, and
// drops it.
type marshalClient struct{}

func (marshalClient) Start(context.Context) error { return nil }
func (marshalClient) Stop(context.Context) error  { return nil }
func (marshalClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	_, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rs})
	return err
}

// closeField writes lengths of every varint size, moving the body as needed.
func TestCloseFieldLengths(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 1 << 21} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i)
		}
		b, m := openField([]byte("x"), 7)
		b = append(b, body...)
		b = closeField(b, m)
		num, typ, tl := protowire.ConsumeTag(b[1:])
		got, l := protowire.ConsumeBytes(b[1+tl:])
		if num != 7 || typ != protowire.BytesType || l < 0 || 1+tl+l != len(b) || !slices.Equal(got, body) {
			t.Errorf("body of %d bytes: field %d type %d, consumed %d of %d", n, num, typ, 1+tl+l, len(b))
		}
	}
}
