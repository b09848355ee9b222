package otel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipwire/sipwire/transport"
	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ScopeName is the instrumentation scope of sipwire's spans.
const ScopeName = "github.com/sipwire/sipwire/otel"

// Exporter turns transport events into spans and exports them. A nil or
// disabled Exporter is valid: Consume returns at once, Stats reports
// Enabled=false, Flush and Shutdown return nil.
type Exporter struct {
	s      settings
	st     counters
	tp     *sdktrace.TracerProvider
	proc   *batcher
	health *health
	input  atomic.Pointer[transport.Subscription]
	// pause is Consume's pause after handling events; zero means
	// consumePause (tests set an hour).
	pause time.Duration

	// mu guards sp and closed: events are handled one at a time.
	mu     sync.Mutex
	sp     spanner
	closed bool
}

// New builds the Exporter that cfg and the OTEL_* environment describe. When
// export is off (no endpoint anywhere, OTEL_SDK_DISABLED=true,
// OTEL_TRACES_EXPORTER=none) it returns a disabled Exporter, never nil, and
// no error: the caller need not subscribe it to anything. An enabled
// Exporter is installed as the global OpenTelemetry error handler (see the
// package documentation). New does not connect to the endpoint.
func New(ctx context.Context, cfg Config) (*Exporter, error) {
	s, err := resolve(cfg, os.Getenv)
	if err != nil {
		return nil, err
	}
	if !s.enabled {
		return &Exporter{s: s}, nil
	}
	exp, err := newOTLPExporter(ctx, s)
	if err != nil {
		return nil, err
	}
	return newExporter(ctx, s, exp)
}

// NewWithSpanExporter builds an enabled Exporter that hands its batches to
// exp instead of an OTLP exporter (an in-memory one in tests, or any other
// SDK exporter). Endpoint and Protocol in cfg are ignored; the OTEL_BSP_*,
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES variables still apply. It
// too installs the global error handler.
func NewWithSpanExporter(ctx context.Context, cfg Config, exp sdktrace.SpanExporter) (*Exporter, error) {
	s := settings{enabled: true, serviceName: cfg.ServiceName}
	if s.serviceName == "" {
		s.serviceName = DefaultServiceName
	}
	if err := s.resolveBounds(cfg, firstEnv(os.Getenv)); err != nil {
		return nil, err
	}
	return newExporter(ctx, s, exp)
}

func newExporter(ctx context.Context, s settings, exp sdktrace.SpanExporter) (*Exporter, error) {
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithAttributes(semconv.ServiceName(s.serviceName)),
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("otel: build resource: %w", err)
	}
	e := &Exporter{s: s}
	e.health = newHealth(s.logger, s.shownEndpoint(), &e.st)
	e.proc = newBatcher(exp, s, &e.st, e.health)
	e.tp = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSpanProcessor(e.proc),
		sdktrace.WithIDGenerator(idGenerator{}),
	)
	e.sp = spanner{
		tracer:     e.tp.Tracer(ScopeName, traceSchema()),
		samplesAll: s.samplesAll,
		pending:    pendingOpens{delay: s.openDelay, max: s.maxOpen},
		conns:      newConnTable(s.maxOpen, &e.st.open),
		st:         &e.st,
	}
	gotel.SetErrorHandler(errorCounter{&e.st})
	return e, nil
}

// Enabled says whether e exports spans.
func (e *Exporter) Enabled() bool { return e != nil && e.s.enabled }

// errorCounter is the global OpenTelemetry error handler: it counts what
// the SDK reports.
type errorCounter struct{ st *counters }

// Handle counts err.
func (h errorCounter) Handle(err error) {
	if err == nil {
		return
	}
	h.st.sdkErrors.Add(1)
	h.st.setLastError(err)
}

// Consume turns the events received from events into spans until events is
// closed or ctx is done. It is meant to run on a goroutine of its own;
// several Consume calls may share an Exporter (events are then handled one at a
// time, in no defined order across the channels).
func (e *Exporter) Consume(ctx context.Context, events <-chan transport.Event) {
	if !e.Enabled() {
		return
	}
	var due <-chan time.Time
	if e.s.openDelay > 0 {
		tick := time.NewTicker(max(e.s.openDelay/4, 10*time.Millisecond))
		defer tick.Stop()
		due = tick.C
	}
	wait := cmp.Or(e.pause, consumePause)
	pause := time.NewTimer(wait)
	defer pause.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			e.HandleEvent(&ev)
			n, open := e.handleQueued(events)
			if !open {
				return
			}
			if n >= cap(events)/8 {
				continue
			}
		case now := <-due:
			e.openDue(now)
			continue
		}
		// Let the next events gather in the channel rather than be woken
		// for each.
		pause.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-pause.C:
		}
	}
}

// consumePause is how long Consume lets events gather in its channel after
// handling them. A goroutine woken for every event costs more CPU than the
// event's spans (the load benchmark's one connection per call: two wakes a
// call); pausing, the consumer wakes about once per consumePause under load,
// and never when idle. The channel must hold what arrives meanwhile: the
// default 8,192 events hold 160,000 events/s. A take of an eighth of the
// channel or more skips the pause.
const consumePause = 50 * time.Millisecond

// handleQueued handles the events events holds now, and returns how many;
// it reports false when events is closed.
func (e *Exporter) handleQueued(events <-chan transport.Event) (int, bool) {
	n := 0
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return n, false
			}
			e.HandleEvent(&ev)
			n++
		default:
			return n, true
		}
	}
}

// openDue emits the open spans of connections open for the open-span delay
// by now, when no event came to do it.
func (e *Exporter) openDue(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.sp.openDue(now)
	}
}

// ConsumeSubscription is Consume on sub's queue; Stats then also reports the queue
// and the events it dropped.
func (e *Exporter) ConsumeSubscription(ctx context.Context, sub *transport.Subscription) {
	if !e.Enabled() {
		return
	}
	e.input.Store(sub)
	e.Consume(ctx, sub.Events())
}

// HandleEvent turns one event into spans, as Consume does for each event it
// receives; it is for callers that have their own loop. It must not be
// called from a connection's goroutine: it may take microseconds.
func (e *Exporter) HandleEvent(ev *transport.Event) {
	if !e.Enabled() {
		return
	}
	e.st.eventsReceived.Add(1)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.st.afterShutdown.Add(1)
		return
	}
	e.sp.handle(ev)
	e.mu.Unlock()
}

// Flush exports every span ended so far and waits for the export, within
// ctx.
func (e *Exporter) Flush(ctx context.Context) error {
	if !e.Enabled() {
		return nil
	}
	if err := e.tp.ForceFlush(ctx); err != nil {
		return fmt.Errorf("otel: flush: %w", err)
	}
	return nil
}

// Shutdown ends the spans of connections still open (at the current time,
// with sipwire.connection.open_at_shutdown=true), exports what is queued
// and shuts the OTLP exporter down, all within ctx: when ctx expires the
// export in progress is abandoned and its spans counted as failed. Events
// received later are counted and ignored. Shutdown runs once; later calls
// return nil.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if !e.Enabled() {
		return nil
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.sp.endAll(time.Now(), AttrOpenAtEnd.Bool(true))
	e.mu.Unlock()
	if err := e.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("otel: shutdown: %w", err)
	}
	return nil
}

// TracingOff ends the spans of every connection in progress now, with
// sipwire.connection.tracing_off=true. Call it when tracing is switched off:
// the transport then stops sending events, so the CLOSED of these
// connections would never come and their spans would stay open until
// Shutdown. If tracing comes back on, a connection still open starts a new,
// partial lifetime span at its next event. Events already queued when it is
// called are handled after it and may start such partial spans.
func (e *Exporter) TracingOff() {
	if !e.Enabled() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.sp.endAll(time.Now(), AttrTracingOff.Bool(true))
	}
}

// Stats returns a snapshot of e's counters.
func (e *Exporter) Stats() Stats {
	if e == nil {
		return Stats{Off: "no exporter"}
	}
	if !e.s.enabled {
		return Stats{Off: e.s.off}
	}
	state := e.health.snapshot()
	st := Stats{Enabled: true, Protocol: e.s.protocol, Endpoint: e.s.shownEndpoint(), State: &state}
	e.st.snapshot(&st)
	st.QueueLen, st.QueueCap = e.proc.queueLen(), e.s.queueSize
	if sub := e.input.Load(); sub != nil {
		st.InputQueueLen, st.InputQueueCap = sub.QueueLen(), sub.QueueCap()
		st.Dropped.InputQueueFull = sub.Dropped()
	}
	return st
}
