package otel

import (
	"context"
	"time"

	"github.com/sipwire/sipwire/transport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// spanner turns events into spans. It is not safe for concurrent use: the
// Exporter's mutex guards it.
type spanner struct {
	tracer trace.Tracer
	// samplesAll says the sampler keeps every span: decide need not ask it.
	samplesAll bool
	// attrs is scratch space for a connection's attributes: the SDK copies
	// them when it starts a span.
	attrs []attribute.KeyValue
	// closeAttrs is scratch space for the attributes of a CLOSED.
	closeAttrs []attribute.KeyValue
	// pending holds the open spans waiting for their delay.
	pending pendingOpens
	conns   connTable
	st      *counters
}

// handle makes the spans of one event, after the open spans due by its
// time.
func (s *spanner) handle(ev *transport.Event) {
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	s.openDue(t)
	switch ev.Kind {
	case transport.EventAccepted:
		s.accepted(ev, t)
	case transport.EventConnectStart:
		s.connectStart(ev, t)
	case transport.EventConnected:
		s.connected(ev, t)
	case transport.EventConnectFailed:
		s.connectFailed(ev, t)
	case transport.EventAcceptRefused:
		s.refused(ev, t)
	case transport.EventClosed:
		s.closed(ev, t)
	case transport.EventBadMessage, transport.EventMessageTooLarge, transport.EventChunkLimit,
		transport.EventMessageTimeout, transport.EventWriteQueueFull, transport.EventWriteTimeout,
		transport.EventIdleTimeout, transport.EventReadError, transport.EventWriteError,
		transport.EventHandlerPanic:
		s.midlife(ev, t)
	default:
		s.st.eventsUnmatched.Add(1)
	}
}

func spanKind(d transport.Direction) trace.SpanKind {
	if d == transport.Outbound {
		return trace.SpanKindClient
	}
	return trace.SpanKindServer
}

// start starts a span, counted when it is recorded (sampled).
func (s *spanner) start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	ctx, sp := s.tracer.Start(ctx, name, opts...)
	if sp.IsRecording() {
		s.st.spansStarted.Add(1)
	}
	return ctx, sp
}

// end ends a span at t, counted when it is recorded (sampled).
func (s *spanner) end(sp trace.Span, t time.Time) {
	if sp.IsRecording() {
		s.st.spansEnded.Add(1)
	}
	sp.End(trace.WithTimestamp(t))
}

// infoAttrs returns ci's attributes in s's scratch space, valid until the
// next call.
func (s *spanner) infoAttrs(ci transport.ConnInfo) []attribute.KeyValue {
	s.attrs = appendInfoAttrs(s.attrs[:0], ci)
	return s.attrs
}

// track adds c to the table, ending whatever it evicts.
func (s *spanner) track(c *connSpan, t time.Time) {
	if old := s.conns.add(c); old != nil {
		s.st.evicted.Add(1)
		if old.hasLifetime() {
			s.endLifetime(old, t, AttrEvicted.Bool(true))
		}
	}
}

// openLifetime begins c's lifetime at t and, unless partial, emits the open
// span; it returns the context for the lifetime span's children. The
// lifetime span itself is only started when it ends (endLifetime): here it
// gets its ids and its sampling decision, which its children follow.
func (s *spanner) openLifetime(c *connSpan, t time.Time, partial bool) context.Context {
	c.opened, c.partial = t, partial
	if partial {
		s.st.partial.Add(1)
	}
	c.lifetime = s.decide(c)
	ctx := trace.ContextWithSpanContext(context.Background(), c.lifetime)
	if !partial && !s.pending.add(c) {
		s.emitOpen(c)
	}
	return ctx
}

// emitOpen emits c's open span, a child of its lifetime span that also
// links to it, at the time c opened.
func (s *spanner) emitOpen(c *connSpan) {
	ctx := trace.ContextWithSpanContext(context.Background(), c.lifetime)
	_, open := s.start(ctx, SpanOpen,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(c.opened),
		trace.WithAttributes(s.infoAttrs(c.info)...),
		trace.WithLinks(trace.Link{
			SpanContext: c.lifetime,
			Attributes:  []attribute.KeyValue{AttrLinkType.String("lifetime")},
		}))
	s.end(open, c.opened)
}

// decide picks the ids of c's lifetime span and its sampling decision.
// Unless the sampler keeps everything, it asks the sampler now with a span
// that is dropped unended; the sampler decides again, on the same ids, when
// the lifetime span is really started (every standard sampler decides a
// root span on its trace id alone).
func (s *spanner) decide(c *connSpan) trace.SpanContext {
	cfg := trace.SpanContextConfig{TraceID: newTraceID(), SpanID: newSpanID()}
	if s.samplesAll {
		cfg.TraceFlags = trace.FlagsSampled
		return trace.NewSpanContext(cfg)
	}
	preset := trace.NewSpanContext(cfg)
	_, probe := s.tracer.Start(withPresetIDs(context.Background(), preset), SpanConnection,
		trace.WithNewRoot(), trace.WithSpanKind(spanKind(c.info.Direction)))
	return probe.SpanContext()
}

// endLifetime starts c's lifetime span back-dated to when it began, with
// the ids its children named, adds what happened since and ends it at t.
// All its attributes go in at the start, in one slice: the SDK copies them
// once, where a later SetAttributes would grow its copy again.
func (s *spanner) endLifetime(c *connSpan, t time.Time, attrs ...attribute.KeyValue) {
	c.openPending = false
	all := s.infoAttrs(c.info)
	if c.partial {
		all = append(all, AttrPartial.Bool(true))
	}
	all = append(all, attrs...)
	if c.eventsDropped > 0 {
		all = append(all, AttrEventsDropped.Int(c.eventsDropped))
	}
	if c.errType != "" {
		all = append(all, semconv.ErrorTypeKey.String(c.errType))
	}
	s.attrs = all
	_, sp := s.start(withPresetIDs(context.Background(), c.lifetime), SpanConnection,
		trace.WithNewRoot(),
		trace.WithSpanKind(spanKind(c.info.Direction)),
		trace.WithTimestamp(c.opened),
		trace.WithAttributes(all...))
	if sp.IsRecording() {
		for _, e := range c.events {
			sp.AddEvent(e.kind.String(), trace.WithTimestamp(e.at), trace.WithAttributes(
				AttrEventReason.String(e.reason),
				AttrEventStatus.String(e.status.String()),
			))
		}
		if c.errType != "" {
			sp.SetStatus(codes.Error, c.errReason)
		}
	}
	s.end(sp, t)
}

func (s *spanner) accepted(ev *transport.Event, t time.Time) {
	if s.conns.get(ev.ConnID) != nil {
		s.st.eventsUnmatched.Add(1)
		return
	}
	c := &connSpan{info: infoOf(ev)}
	s.openLifetime(c, t, false)
	s.track(c, t)
}

func (s *spanner) connectStart(ev *transport.Event, t time.Time) {
	if s.conns.get(ev.ConnID) != nil {
		s.st.eventsUnmatched.Add(1)
		return
	}
	s.track(&connSpan{info: infoOf(ev), connectStart: t}, t)
}

func (s *spanner) connected(ev *transport.Event, t time.Time) {
	c := s.conns.get(ev.ConnID)
	if c != nil && c.hasLifetime() {
		s.st.eventsUnmatched.Add(1)
		return
	}
	began := t
	if c == nil {
		c = &connSpan{info: infoOf(ev)}
		s.track(c, t)
	} else {
		began = c.connectStart
		c.connectStart = time.Time{}
		c.info = infoOf(ev)
	}
	ctx := s.openLifetime(c, t, false)
	_, connect := s.start(ctx, SpanConnect,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(began),
		trace.WithAttributes(s.infoAttrs(c.info)...))
	s.end(connect, t)
}

func (s *spanner) connectFailed(ev *transport.Event, t time.Time) {
	c := s.conns.get(ev.ConnID)
	if c != nil && c.hasLifetime() {
		s.st.eventsUnmatched.Add(1)
		return
	}
	began := t
	if c != nil {
		began = c.connectStart
		s.conns.remove(c)
	}
	_, connect := s.start(context.Background(), SpanConnect,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(began),
		trace.WithAttributes(connAttrs(ev)...))
	s.fail(connect, ev.Kind.String(), ev.Reason)
	s.end(connect, t)
}

func (s *spanner) refused(ev *transport.Event, t time.Time) {
	_, sp := s.start(context.Background(), SpanAcceptRefused,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(t),
		trace.WithAttributes(connAttrs(ev)...))
	s.fail(sp, ev.Kind.String(), ev.Reason)
	s.end(sp, t)
}

// fail sets sp's status to Error with errType as its error.type.
func (s *spanner) fail(sp trace.Span, errType, reason string) {
	sp.SetAttributes(semconv.ErrorTypeKey.String(errType))
	sp.SetStatus(codes.Error, reason)
}

// lookup returns the entry of ev's connection, starting a partial lifetime
// span when there is none; nil when the connection has no lifetime span to
// add to (a connect in progress or failed).
func (s *spanner) lookup(ev *transport.Event, t time.Time) *connSpan {
	c := s.conns.get(ev.ConnID)
	if c == nil {
		c = s.partial(ev, t)
		s.track(c, t)
	}
	return c
}

// partial starts a lifetime span at a connection's first event seen that is
// not an open event.
func (s *spanner) partial(ev *transport.Event, t time.Time) *connSpan {
	c := &connSpan{info: infoOf(ev)}
	s.openLifetime(c, t, true)
	return c
}

func (s *spanner) midlife(ev *transport.Event, t time.Time) {
	c := s.lookup(ev, t)
	if !c.hasLifetime() {
		s.st.eventsUnmatched.Add(1)
		return
	}
	if len(c.events) < maxConnEvents {
		c.events = append(c.events, connEvent{kind: ev.Kind, status: ev.Status, reason: ev.Reason, at: t})
	} else {
		c.eventsDropped++
		s.st.spanEvents.Add(1)
	}
	if ev.Kind == transport.EventIdleTimeout && ev.Status != transport.StatusFailure {
		return
	}
	if c.errType == "" {
		c.errType, c.errReason = ev.Kind.String(), ev.Reason
	}
}

func (s *spanner) closed(ev *transport.Event, t time.Time) {
	c := s.conns.get(ev.ConnID)
	switch {
	case c != nil:
		s.conns.remove(c)
	case !ev.Local.IsValid():
		// The connection never opened (the CLOSED after CONNECT_FAILED):
		// the connect span told it all.
		return
	default:
		c = s.partial(ev, t)
	}
	if !c.hasLifetime() {
		if !c.connectStart.IsZero() {
			// Closed while the connect was in progress (shutdown).
			_, connect := s.start(context.Background(), SpanConnect,
				trace.WithNewRoot(),
				trace.WithSpanKind(trace.SpanKindClient),
				trace.WithTimestamp(c.connectStart),
				trace.WithAttributes(connAttrs(ev)...),
				trace.WithAttributes(AttrCloseReason.String(ev.Reason), AttrCloseStatus.String(ev.Status.String())))
			if ev.Status == transport.StatusFailure {
				s.fail(connect, ev.Kind.String(), ev.Reason)
			}
			s.end(connect, t)
		}
		return
	}
	if c.errType == "" && ev.Status == transport.StatusFailure {
		c.errType, c.errReason = ev.Kind.String(), ev.Reason
	}
	attrs := append(s.closeAttrs[:0], AttrCloseReason.String(ev.Reason), AttrCloseStatus.String(ev.Status.String()))
	s.closeAttrs = appendTCPAttrs(attrs, ev.TCP)
	s.endLifetime(c, t, s.closeAttrs...)
}

// endAll ends every span in progress at t, marked with why.
func (s *spanner) endAll(t time.Time, why attribute.KeyValue) {
	s.conns.drain(func(c *connSpan) {
		if c.hasLifetime() {
			s.endLifetime(c, t, why)
		}
	})
}
