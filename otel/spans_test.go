package otel

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

func TestInboundConnectionSpans(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{ServiceName: "sipwire-test"})
	spans := play(t, e, mem,
		inbound(transport.EventAccepted, 7, 0, "Connection accepted"),
		failed(inbound(transport.EventBadMessage, 7, 1500, "no Content-Length")),
		failed(inbound(transport.EventClosed, 7, 1500, "no Content-Length")),
	)
	if len(spans) != 2 {
		t.Fatalf("spans %v, want open and lifetime", names(spans))
	}
	life := one(t, spans, SpanConnection)
	open := one(t, spans, SpanOpen)

	if life.SpanKind != trace.SpanKindServer {
		t.Errorf("lifetime kind %v, want server", life.SpanKind)
	}
	if life.Parent.IsValid() {
		t.Errorf("lifetime span has a parent %v, want a root", life.Parent)
	}
	if !life.StartTime.Equal(at(0)) || !life.EndTime.Equal(at(1500)) {
		t.Errorf("lifetime %v..%v, want %v..%v", life.StartTime, life.EndTime, at(0), at(1500))
	}
	wantAttrs(t, "lifetime", life.Attributes, map[attribute.Key]any{
		semconv.NetworkTransportKey:    "tcp",
		semconv.NetworkTypeKey:         "ipv4",
		semconv.NetworkPeerAddressKey:  "127.0.0.1",
		semconv.NetworkPeerPortKey:     int64(40000),
		semconv.NetworkLocalAddressKey: "127.0.0.1",
		semconv.NetworkLocalPortKey:    int64(5060),
		semconv.ClientAddressKey:       "127.0.0.1",
		semconv.ClientPortKey:          int64(40000),
		AttrConnectionID:               int64(7),
		AttrDirection:                  "in",
		AttrListener:                   "127.0.0.1:5060",
		AttrCloseReason:                "no Content-Length",
		AttrCloseStatus:                "FAILURE",
		semconv.ErrorTypeKey:           "BAD_MESSAGE",
	})
	if life.Status.Code != codes.Error || life.Status.Description != "no Content-Length" {
		t.Errorf("lifetime status %+v, want Error with the reason", life.Status)
	}
	if len(life.Events) != 1 || life.Events[0].Name != "BAD_MESSAGE" || !life.Events[0].Time.Equal(at(1500)) {
		t.Errorf("lifetime events %+v, want one BAD_MESSAGE at 1.5 s", life.Events)
	} else {
		wantAttrs(t, "BAD_MESSAGE event", life.Events[0].Attributes, map[attribute.Key]any{
			AttrEventReason: "no Content-Length", AttrEventStatus: "FAILURE"})
	}
	if v, ok := attr(life.Resource.Attributes(), semconv.ServiceNameKey); !ok || v.AsString() != "sipwire-test" {
		t.Errorf("resource service.name = %v, want sipwire-test", v.AsInterface())
	}
	if life.InstrumentationScope.Name != ScopeName || life.InstrumentationScope.SchemaURL != semconv.SchemaURL {
		t.Errorf("scope %+v", life.InstrumentationScope)
	}

	if open.SpanKind != trace.SpanKindInternal {
		t.Errorf("open kind %v, want internal", open.SpanKind)
	}
	if open.Parent.SpanID() != life.SpanContext.SpanID() || open.SpanContext.TraceID() != life.SpanContext.TraceID() {
		t.Errorf("open span is not a child of the lifetime span")
	}
	if len(open.Links) != 1 || !open.Links[0].SpanContext.Equal(life.SpanContext) {
		t.Errorf("open links %+v, want one to the lifetime span", open.Links)
	}
	if !open.StartTime.Equal(at(0)) || !open.EndTime.Equal(at(0)) {
		t.Errorf("open span %v..%v, want zero length at %v", open.StartTime, open.EndTime, at(0))
	}
	wantAttrs(t, "open", open.Attributes, map[attribute.Key]any{
		semconv.NetworkPeerAddressKey: "127.0.0.1", AttrConnectionID: int64(7)})
	if open.Status.Code != codes.Unset {
		t.Errorf("open status %v", open.Status)
	}
}

// The open span is exported while the connection is still open, once it
// has been open for the delay: here a later event's time says so.
func TestOpenSpanExportedBeforeClose(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{OpenSpanDelay: time.Second})
	spans := play(t, e, mem, inbound(transport.EventAccepted, 1, 0, "Connection accepted"),
		inbound(transport.EventAccepted, 2, 999, "Connection accepted"))
	if len(spans) != 0 {
		t.Fatalf("spans %v before the delay passed, want none", names(spans))
	}
	spans = play(t, e, mem, inbound(transport.EventAccepted, 3, 1000, "Connection accepted"))
	open := one(t, spans, SpanOpen)
	if id, _ := attr(open.Attributes, AttrConnectionID); id.AsInt64() != 1 || !open.StartTime.Equal(at(0)) {
		t.Errorf("open span of connection %v at %v, want connection 1 at %v", id, open.StartTime, at(0))
	}
	if len(byName(spans, SpanConnection)) != 0 {
		t.Fatal("lifetime span exported before CLOSED")
	}
	spans = play(t, e, mem, inbound(transport.EventClosed, 1, 3_600_000, "EOF received"))
	life := byName(spans, SpanConnection)[0]
	if life.SpanContext.SpanID() != open.Parent.SpanID() {
		t.Error("the lifetime span is not the open span's parent")
	}
	if life.Status.Code != codes.Unset {
		t.Errorf("clean close has status %+v", life.Status)
	}
	if _, ok := attr(life.Attributes, semconv.ErrorTypeKey); ok {
		t.Error("clean close has an error.type")
	}
	if st := e.Stats(); st.OpenConnections != 2 || st.EventsUnmatched != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A connection that closes within the delay has no open span: its lifetime
// span tells everything, one span instead of two.
func TestShortConnectionHasNoOpenSpan(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{OpenSpanDelay: time.Second})
	spans := play(t, e, mem,
		inbound(transport.EventAccepted, 1, 0, "Connection accepted"),
		inbound(transport.EventClosed, 1, 400, "EOF received"),
		inbound(transport.EventAccepted, 2, 500, "Connection accepted"),
		inbound(transport.EventClosed, 2, 2500, "EOF received"),
	)
	if got := names(spans); len(got) != 3 || len(byName(spans, SpanOpen)) != 1 {
		t.Fatalf("spans %v, want connection 1's lifetime, then connection 2's open and lifetime", got)
	}
	if id, _ := attr(one(t, spans, SpanOpen).Attributes, AttrConnectionID); id.AsInt64() != 2 {
		t.Errorf("open span of connection %v, want 2", id)
	}
}

// With no event to carry time forward, the exporter's own clock emits the
// open span of a connection that stays open.
func TestOpenSpanDueWithoutEvents(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{OpenSpanDelay: 20 * time.Millisecond})
	ch := make(chan transport.Event, 1)
	ev := inbound(transport.EventAccepted, 1, 0, "Connection accepted")
	ev.Time = time.Now()
	ch <- ev
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Consume(ctx, ch); close(done) }()
	defer func() { cancel(); <-done }()
	for range 500 {
		if err := e.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(byName(mem.GetSpans(), SpanOpen)) == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no open span after 5 s with a 20 ms delay: spans %v", names(mem.GetSpans()))
}

func TestConnectSpans(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		evs        []transport.Event
		wantStart  int // ms of the connect span's start
		wantLife   bool
		wantStatus codes.Code
	}{
		{"async", []transport.Event{
			outbound(transport.EventConnectStart, 3, 0, "Async connect in progress"),
			outbound(transport.EventConnected, 3, 250, "Successfully connected"),
			outbound(transport.EventClosed, 3, 9000, "EOF received"),
		}, 0, true, codes.Unset},
		{"inline", []transport.Event{
			outbound(transport.EventConnected, 4, 250, "Successfully connected"),
			outbound(transport.EventClosed, 4, 9000, "EOF received"),
		}, 250, true, codes.Unset},
		{"async failure", []transport.Event{
			outbound(transport.EventConnectStart, 5, 0, "Async connect in progress"),
			failed(outbound(transport.EventConnectFailed, 5, 250, "Async connect failed")),
			unconnected(failed(outbound(transport.EventClosed, 5, 250, "Async connect failed"))),
		}, 0, false, codes.Error},
		{"inline failure", []transport.Event{
			failed(outbound(transport.EventConnectFailed, 6, 250, "connection refused")),
			unconnected(failed(outbound(transport.EventClosed, 6, 250, "connection refused"))),
		}, 250, false, codes.Error},
		{"refused by tcp_max_connections", []transport.Event{
			failed(outbound(transport.EventConnectFailed, 7, 250, "tcp_max_connections reached, connect refused")),
		}, 250, false, codes.Error},
		{"closed while connecting", []transport.Event{
			outbound(transport.EventConnectStart, 8, 0, "Async connect in progress"),
			unconnected(failed(outbound(transport.EventClosed, 8, 250, "shutting down"))),
		}, 0, false, codes.Error},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, mem := newTestExporter(t, Config{})
			spans := play(t, e, mem, tc.evs...)
			conn := one(t, spans, SpanConnect)
			if conn.SpanKind != trace.SpanKindClient {
				t.Errorf("connect kind %v, want client", conn.SpanKind)
			}
			if !conn.StartTime.Equal(at(tc.wantStart)) || !conn.EndTime.Equal(at(250)) {
				t.Errorf("connect span %v..%v, want %v..%v", conn.StartTime, conn.EndTime, at(tc.wantStart), at(250))
			}
			if conn.Status.Code != tc.wantStatus {
				t.Errorf("connect status %+v, want %v", conn.Status, tc.wantStatus)
			}
			wantAttrs(t, "connect", conn.Attributes, map[attribute.Key]any{
				semconv.ServerAddressKey:      "127.0.0.1",
				semconv.ServerPortKey:         int64(5070),
				semconv.NetworkPeerAddressKey: "127.0.0.1",
				AttrDirection:                 "out",
			})
			lifes := byName(spans, SpanConnection)
			if !tc.wantLife {
				if len(lifes) != 0 || len(byName(spans, SpanOpen)) != 0 {
					t.Errorf("failed connect made spans %v", names(spans))
				}
				if conn.Parent.IsValid() {
					t.Error("failed connect span has a parent")
				}
				wantType := "CONNECT_FAILED"
				if tc.name == "closed while connecting" {
					wantType = "CLOSED"
				}
				wantAttrs(t, "connect", conn.Attributes, map[attribute.Key]any{semconv.ErrorTypeKey: wantType})
				if st := e.Stats(); st.OpenConnections != 0 || st.EventsUnmatched != 0 || st.PartialConnections != 0 {
					t.Errorf("stats after a failed connect: %+v", st)
				}
				return
			}
			life := one(t, spans, SpanConnection)
			if life.SpanKind != trace.SpanKindClient {
				t.Errorf("lifetime kind %v, want client", life.SpanKind)
			}
			if !life.StartTime.Equal(at(250)) || !life.EndTime.Equal(at(9000)) {
				t.Errorf("lifetime %v..%v", life.StartTime, life.EndTime)
			}
			if conn.Parent.SpanID() != life.SpanContext.SpanID() {
				t.Error("connect span is not a child of the lifetime span")
			}
			wantAttrs(t, "lifetime", life.Attributes, map[attribute.Key]any{
				semconv.NetworkLocalPortKey: int64(41000),
				semconv.ServerPortKey:       int64(5070),
				AttrCloseReason:             "EOF received",
			})
			if _, ok := attr(life.Attributes, semconv.ClientAddressKey); ok {
				t.Error("outbound lifetime span has client.address")
			}
		})
	}
}

func TestAcceptRefusedSpan(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{})
	ev := failed(inbound(transport.EventAcceptRefused, 0, 10, "tcp_max_connections reached"))
	spans := play(t, e, mem, ev)
	sp := one(t, spans, SpanAcceptRefused)
	if sp.SpanKind != trace.SpanKindServer || sp.Status.Code != codes.Error || sp.Parent.IsValid() {
		t.Errorf("refused span kind %v status %+v parent %v", sp.SpanKind, sp.Status, sp.Parent)
	}
	if !sp.StartTime.Equal(at(10)) || !sp.EndTime.Equal(at(10)) {
		t.Errorf("refused span %v..%v", sp.StartTime, sp.EndTime)
	}
	wantAttrs(t, "refused", sp.Attributes, map[attribute.Key]any{
		semconv.ErrorTypeKey: "ACCEPT_REFUSED", semconv.NetworkPeerPortKey: int64(40000)})
	if _, ok := attr(sp.Attributes, AttrConnectionID); ok {
		t.Error("connection id 0 exported")
	}
	if len(spans) != 1 {
		t.Errorf("spans %v", names(spans))
	}
}

// Each error kind sets status Error and error.type to its name; IDLE_TIMEOUT
// with status SUCCESS is only a span event.
func TestErrorKinds(t *testing.T) {
	t.Parallel()
	errKinds := []transport.EventKind{
		transport.EventBadMessage, transport.EventMessageTooLarge, transport.EventChunkLimit,
		transport.EventMessageTimeout, transport.EventWriteQueueFull, transport.EventWriteTimeout,
		transport.EventReadError, transport.EventWriteError,
	}
	for _, k := range append(errKinds, transport.EventIdleTimeout) {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			e, mem := newTestExporter(t, Config{})
			ev := inbound(k, 1, 20, "reason of "+k.String())
			closed := inbound(transport.EventClosed, 1, 20, ev.Reason)
			if k != transport.EventIdleTimeout {
				ev, closed = failed(ev), failed(closed)
			}
			spans := play(t, e, mem, inbound(transport.EventAccepted, 1, 0, "Connection accepted"), ev, closed)
			life := one(t, spans, SpanConnection)
			if len(life.Events) != 1 || life.Events[0].Name != k.String() {
				t.Errorf("events %+v", life.Events)
			}
			et, hasType := attr(life.Attributes, semconv.ErrorTypeKey)
			if k == transport.EventIdleTimeout {
				if life.Status.Code != codes.Unset || hasType {
					t.Errorf("idle timeout: status %+v, error.type %v", life.Status, et.AsInterface())
				}
				return
			}
			if life.Status.Code != codes.Error || et.AsString() != k.String() {
				t.Errorf("status %+v error.type %q, want Error %q", life.Status, et.AsString(), k)
			}
		})
	}
}

// A FAILURE close without an error event before it is an error of type
// CLOSED; the first error kind wins over later ones.
func TestCloseErrorType(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{})
	spans := play(t, e, mem,
		inbound(transport.EventAccepted, 1, 0, ""),
		failed(inbound(transport.EventClosed, 1, 5, "Read error")),
		inbound(transport.EventAccepted, 2, 0, ""),
		failed(inbound(transport.EventWriteTimeout, 2, 5, "Write timeout")),
		failed(inbound(transport.EventWriteError, 2, 6, "Write error")),
		failed(inbound(transport.EventClosed, 2, 6, "Write error")),
	)
	want := map[int64]string{1: "CLOSED", 2: "WRITE_TIMEOUT"}
	conns := byName(spans, SpanConnection)
	if len(conns) != len(want) {
		t.Fatalf("%d connection spans, want %d", len(conns), len(want))
	}
	for _, s := range conns {
		id, _ := attr(s.Attributes, AttrConnectionID)
		et, _ := attr(s.Attributes, semconv.ErrorTypeKey)
		if et.AsString() != want[id.AsInt64()] || s.Status.Code != codes.Error {
			t.Errorf("conn %d: error.type %q status %v, want %q", id.AsInt64(), et.AsString(), s.Status.Code, want[id.AsInt64()])
		}
	}
}

func TestIPv6AndMappedAddresses(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{})
	v6 := inbound(transport.EventAccepted, 1, 0, "")
	v6.Local, v6.Remote, v6.Listener = netip.MustParseAddrPort("[::1]:5060"), netip.MustParseAddrPort("[::1]:40001"), netip.MustParseAddrPort("[::1]:5060")
	mapped := inbound(transport.EventAccepted, 2, 0, "")
	mapped.Remote = netip.MustParseAddrPort("[::ffff:127.0.0.1]:40002")
	spans := play(t, e, mem, v6, mapped)
	if len(spans) != 2 {
		t.Fatalf("%d spans, want one per connection: %+v", len(spans), spans)
	}
	for _, s := range spans {
		id, _ := attr(s.Attributes, AttrConnectionID)
		want := map[attribute.Key]any{semconv.NetworkTypeKey: "ipv6", semconv.NetworkPeerAddressKey: "::1", AttrListener: "[::1]:5060"}
		if id.AsInt64() == 2 {
			want = map[attribute.Key]any{semconv.NetworkTypeKey: "ipv4", semconv.NetworkPeerAddressKey: "127.0.0.1"}
		}
		wantAttrs(t, s.Name, s.Attributes, want)
	}
}

// Tracing turned on while a connection is open: its first event is not an
// open event.
func TestPartialConnection(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{})
	spans := play(t, e, mem,
		inbound(transport.EventClosed, 1, 100, "EOF received"),
		failed(inbound(transport.EventReadError, 2, 200, "Read error")),
		failed(inbound(transport.EventClosed, 2, 200, "Read error")),
	)
	lifes := byName(spans, SpanConnection)
	if len(lifes) != 2 || len(byName(spans, SpanOpen)) != 0 {
		t.Fatalf("spans %v, want two lifetime spans and no open span", names(spans))
	}
	for _, s := range lifes {
		wantAttrs(t, "partial", s.Attributes, map[attribute.Key]any{AttrPartial: true})
	}
	if st := e.Stats(); st.PartialConnections != 2 || st.OpenConnections != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestEvictionBound(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{MaxOpenConnections: 3})
	var evs []transport.Event
	for id := uint64(1); id <= 5; id++ {
		evs = append(evs, inbound(transport.EventAccepted, id, int(id), ""))
	}
	spans := play(t, e, mem, evs...)
	st := e.Stats()
	if st.OpenConnections != 3 || st.Dropped.Evicted != 2 {
		t.Fatalf("open %d evicted %d, want 3 and 2", st.OpenConnections, st.Dropped.Evicted)
	}
	lifes := byName(spans, SpanConnection)
	if len(lifes) != 2 {
		t.Fatalf("%d lifetime spans ended, want the 2 evicted", len(lifes))
	}
	for _, s := range lifes {
		id, _ := attr(s.Attributes, AttrConnectionID)
		if id.AsInt64() > 2 {
			t.Errorf("evicted conn %d, want the oldest (1, 2)", id.AsInt64())
		}
		wantAttrs(t, "evicted", s.Attributes, map[attribute.Key]any{AttrEvicted: true})
	}
	// The table never grows past its bound, whatever comes.
	mem.Reset()
	for id := uint64(10); id < 1000; id++ {
		e.HandleEvent(new(inbound(transport.EventAccepted, id, 0, "")))
		if n := e.Stats().OpenConnections; n > 3 {
			t.Fatalf("%d open connections, bound 3", n)
		}
	}
}

// Shutdown ends the spans of open connections and, with the queue drained,
// every ended span is accounted for.
func TestShutdownEndsOpenSpans(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{})
	spans := play(t, e, mem,
		inbound(transport.EventAccepted, 1, 0, ""),
		outbound(transport.EventConnectStart, 2, 0, ""),
	)
	if len(spans) != 1 {
		t.Fatalf("spans %v", names(spans))
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.proc.done:
	default:
		t.Error("the export goroutine outlived Shutdown")
	}
	life := one(t, mem.GetSpans(), SpanConnection)
	wantAttrs(t, "lifetime", life.Attributes, map[attribute.Key]any{AttrOpenAtEnd: true})
	e.HandleEvent(new(inbound(transport.EventAccepted, 3, 0, "")))
	st := e.Stats()
	if st.Dropped.AfterShutdown != 1 || st.OpenConnections != 0 {
		t.Errorf("stats %+v", st)
	}
	if st.SpansStarted != st.SpansEnded || st.SpansEnded != st.SpansExported+st.SpansFailed+st.Dropped.ExportQueueFull {
		t.Errorf("spans not accounted for: %+v", st)
	}
	if st.SpansExported != 2 || st.EventsReceived != 3 {
		t.Errorf("exported %d received %d, want 2 and 3", st.SpansExported, st.EventsReceived)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// Unexpected sequences make no span and are counted.
func TestUnmatchedEvents(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{})
	spans := play(t, e, mem,
		inbound(transport.EventAccepted, 1, 0, ""),
		inbound(transport.EventAccepted, 1, 1, ""),
		outbound(transport.EventConnected, 1, 2, ""),
		transport.Event{Kind: 200, ConnID: 9},
	)
	if st := e.Stats(); st.EventsUnmatched != 3 || st.EventsReceived != 4 {
		t.Errorf("stats %+v", st)
	}
	if len(spans) != 1 {
		t.Errorf("spans %v", names(spans))
	}
}

// A nil or disabled Exporter is harmless.
func TestDisabledExporter(t *testing.T) {
	t.Parallel()
	for _, e := range []*Exporter{nil, {}} {
		ch := make(chan transport.Event, 1)
		ch <- inbound(transport.EventAccepted, 1, 0, "")
		e.Consume(context.Background(), ch)
		e.HandleEvent(new(inbound(transport.EventAccepted, 1, 0, "")))
		if e.Enabled() || e.Stats().Enabled || e.Flush(context.Background()) != nil || e.Shutdown(context.Background()) != nil {
			t.Errorf("%v: disabled exporter did something", e)
		}
		if len(ch) != 1 {
			t.Error("disabled Run consumed events")
		}
	}
}

// TracingOff ends the spans in progress; the connection's next event, once
// tracing is back, starts a partial span.
func TestTracingOff(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{})
	play(t, e, mem, inbound(transport.EventAccepted, 1, 0, ""), inbound(transport.EventAccepted, 2, 0, ""))
	e.TracingOff()
	spans := play(t, e, mem, inbound(transport.EventClosed, 2, 900, "EOF received"))
	lifes := byName(spans, SpanConnection)
	if len(lifes) != 3 {
		t.Fatalf("spans %v, want 2 lifetime spans ended by TracingOff and a partial one", names(spans))
	}
	var off, partial int
	for _, s := range lifes {
		if v, _ := attr(s.Attributes, AttrTracingOff); v.AsBool() {
			off++
		}
		if v, _ := attr(s.Attributes, AttrPartial); v.AsBool() {
			partial++
		}
	}
	if off != 2 || partial != 1 || e.Stats().OpenConnections != 0 {
		t.Errorf("%d ended by TracingOff, %d partial, stats %+v", off, partial, e.Stats())
	}
}

// A connection keeps at most maxConnEvents mid-life events for its
// lifetime span; the rest are counted, on the span and in Stats.
func TestConnEventsBound(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{})
	evs := []transport.Event{inbound(transport.EventAccepted, 1, 0, "")}
	for i := range maxConnEvents + 3 {
		evs = append(evs, inbound(transport.EventIdleTimeout, 1, i+1, "re-armed"))
	}
	evs = append(evs, inbound(transport.EventClosed, 1, maxConnEvents+10, "EOF received"))
	life := one(t, play(t, e, mem, evs...), SpanConnection)
	if len(life.Events) != maxConnEvents {
		t.Errorf("lifetime span has %d events, want the bound %d", len(life.Events), maxConnEvents)
	}
	wantAttrs(t, "lifetime", life.Attributes, map[attribute.Key]any{AttrEventsDropped: int64(3)})
	if st := e.Stats(); st.Dropped.SpanEvents != 3 {
		t.Errorf("stats dropped span events %d, want 3", st.Dropped.SpanEvents)
	}
}

// The queue of open spans waiting for their delay holds at most
// MaxOpenConnections entries (closed connections wait there too until they
// are due); a connection that finds it full has its open span at once.
func TestPendingOpenSpansBound(t *testing.T) {
	t.Parallel()
	e, mem := newTestExporter(t, Config{OpenSpanDelay: time.Hour, MaxOpenConnections: 2})
	spans := play(t, e, mem,
		inbound(transport.EventAccepted, 1, 0, ""),
		inbound(transport.EventClosed, 1, 1, ""),
		inbound(transport.EventAccepted, 2, 2, ""),
		inbound(transport.EventAccepted, 3, 3, ""),
	)
	opens := byName(spans, SpanOpen)
	if len(opens) != 1 {
		t.Fatalf("spans %v, want one open span: connection 3's, the queue being full", names(spans))
	}
	if id, _ := attr(opens[0].Attributes, AttrConnectionID); id.AsInt64() != 3 {
		t.Errorf("open span of connection %d, want 3", id.AsInt64())
	}
}
