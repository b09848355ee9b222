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
	conns  connTable
	st     *counters
}

// handle makes the spans of one event.
func (s *spanner) handle(ev *transport.Event) {
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
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
		transport.EventIdleTimeout, transport.EventReadError, transport.EventWriteError:
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

// track adds c to the table, ending whatever it evicts.
func (s *spanner) track(c *connSpan, t time.Time) {
	if old := s.conns.add(c); old != nil {
		s.st.evicted.Add(1)
		if old.lifetime != nil {
			old.lifetime.SetAttributes(AttrEvicted.Bool(true))
			s.end(old.lifetime, t)
		}
	}
}

// openLifetime starts c's lifetime span at t and, unless partial, the open
// span; it returns the lifetime span's context.
func (s *spanner) openLifetime(c *connSpan, dir transport.Direction, t time.Time, partial bool) context.Context {
	opts := []trace.SpanStartOption{
		trace.WithNewRoot(),
		trace.WithSpanKind(spanKind(dir)),
		trace.WithTimestamp(t),
		trace.WithAttributes(c.attrs...),
	}
	if partial {
		opts = append(opts, trace.WithAttributes(AttrPartial.Bool(true)))
		s.st.partial.Add(1)
	}
	ctx, lifetime := s.start(context.Background(), SpanConnection, opts...)
	c.lifetime = lifetime
	if !partial {
		_, open := s.start(ctx, SpanOpen,
			trace.WithSpanKind(trace.SpanKindInternal),
			trace.WithTimestamp(t),
			trace.WithAttributes(c.attrs...),
			trace.WithLinks(trace.Link{
				SpanContext: lifetime.SpanContext(),
				Attributes:  []attribute.KeyValue{AttrLinkType.String("lifetime")},
			}))
		s.end(open, t)
	}
	return ctx
}

func (s *spanner) accepted(ev *transport.Event, t time.Time) {
	if s.conns.get(ev.ConnID) != nil {
		s.st.eventsUnmatched.Add(1)
		return
	}
	c := &connSpan{id: ev.ConnID, attrs: connAttrs(ev)}
	s.openLifetime(c, ev.Direction, t, false)
	s.track(c, t)
}

func (s *spanner) connectStart(ev *transport.Event, t time.Time) {
	if s.conns.get(ev.ConnID) != nil {
		s.st.eventsUnmatched.Add(1)
		return
	}
	s.track(&connSpan{id: ev.ConnID, connectStart: t}, t)
}

func (s *spanner) connected(ev *transport.Event, t time.Time) {
	c := s.conns.get(ev.ConnID)
	if c != nil && c.lifetime != nil {
		s.st.eventsUnmatched.Add(1)
		return
	}
	began := t
	if c == nil {
		c = &connSpan{id: ev.ConnID}
		s.track(c, t)
	} else {
		began = c.connectStart
		c.connectStart = time.Time{}
	}
	c.attrs = connAttrs(ev)
	ctx := s.openLifetime(c, ev.Direction, t, false)
	_, connect := s.start(ctx, SpanConnect,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(began),
		trace.WithAttributes(c.attrs...))
	s.end(connect, t)
}

func (s *spanner) connectFailed(ev *transport.Event, t time.Time) {
	c := s.conns.get(ev.ConnID)
	if c != nil && c.lifetime != nil {
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
	c := &connSpan{id: ev.ConnID, attrs: connAttrs(ev)}
	s.openLifetime(c, ev.Direction, t, true)
	return c
}

func (s *spanner) midlife(ev *transport.Event, t time.Time) {
	c := s.lookup(ev, t)
	if c.lifetime == nil {
		s.st.eventsUnmatched.Add(1)
		return
	}
	c.lifetime.AddEvent(ev.Kind.String(), trace.WithTimestamp(t), trace.WithAttributes(
		AttrEventReason.String(ev.Reason),
		AttrEventStatus.String(ev.Status.String()),
	))
	if ev.Kind == transport.EventIdleTimeout && ev.Status != transport.StatusFailure {
		return
	}
	if c.errType == "" {
		c.errType = ev.Kind.String()
		s.fail(c.lifetime, c.errType, ev.Reason)
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
	if c.lifetime == nil {
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
	c.lifetime.SetAttributes(AttrCloseReason.String(ev.Reason), AttrCloseStatus.String(ev.Status.String()))
	if c.errType == "" && ev.Status == transport.StatusFailure {
		c.errType = ev.Kind.String()
		s.fail(c.lifetime, c.errType, ev.Reason)
	}
	s.end(c.lifetime, t)
}

// endAll ends every span in progress at t, marked with why.
func (s *spanner) endAll(t time.Time, why attribute.KeyValue) {
	s.conns.drain(func(c *connSpan) {
		if c.lifetime != nil {
			c.lifetime.SetAttributes(why)
			s.end(c.lifetime, t)
		}
	})
}
