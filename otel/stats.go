package otel

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of an Exporter's counters, for the dashboard and
// /metrics. Once the export queue is drained (after Shutdown):
// SpansEnded = SpansExported + SpansFailed + Dropped.ExportQueueFull.
type Stats struct {
	// Enabled is false when export is off; every counter is then zero.
	Enabled bool `json:"enabled"`
	// Off says why export is off, when it is.
	Off string `json:"off,omitempty"`
	// Protocol and Endpoint are what export uses ("grpc" or
	// "http/protobuf"; host:port or a URL without user info).
	Protocol string `json:"protocol,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	// State says whether the collector takes the spans, since when, and
	// why not (enabled exporters only).
	State *ExportState `json:"state,omitempty"`

	// EventsReceived counts the events taken from the input channel.
	EventsReceived uint64 `json:"events_received"`
	// EventsUnmatched counts events that fitted no connection state (a
	// second ACCEPTED for an id, an unknown kind) and made no span.
	EventsUnmatched uint64 `json:"events_unmatched"`
	// PartialConnections counts lifetime spans started at a later event than
	// the open one (tracing turned on while the connection was open, or an
	// open event lost).
	PartialConnections uint64 `json:"partial_connections"`
	// OpenConnections is the number of connections with a span in progress.
	OpenConnections int `json:"open_connections"`

	// SpansStarted and SpansEnded count spans of every kind that the
	// sampler kept (all of them unless OTEL_TRACES_SAMPLER says otherwise;
	// the spans of one connection share the lifetime span's decision).
	SpansStarted uint64 `json:"spans_started"`
	SpansEnded   uint64 `json:"spans_ended"`
	// SpansExported counts spans in batches the receiver accepted.
	SpansExported uint64 `json:"spans_exported"`
	// SpansFailed counts spans in batches whose export failed.
	SpansFailed uint64 `json:"spans_failed"`
	// ExportErrors counts failed export calls.
	ExportErrors uint64 `json:"export_errors"`
	// SDKErrors counts errors the OpenTelemetry SDK reported to the global
	// error handler (see the package documentation).
	SDKErrors uint64 `json:"sdk_errors"`
	// LastError is the text of the latest export or SDK error.
	LastError string `json:"last_error,omitempty"`

	// QueueLen and QueueCap describe the queue of spans waiting for export.
	QueueLen int `json:"queue_len"`
	QueueCap int `json:"queue_cap"`
	// InputQueueLen and InputQueueCap describe the subscription's queue of
	// events, when the exporter runs on one (ConsumeSubscription).
	InputQueueLen int `json:"input_queue_len"`
	InputQueueCap int `json:"input_queue_cap"`

	// Dropped counts what the bounds stopped, by reason.
	Dropped DropStats `json:"dropped"`
}

// ExportState is whether an Exporter's collector takes its spans, for
// /api/v1/stats and /metrics. The collector is up until an export fails
// (after the exporter's retries within the export's timeout: RetryMaxInterval,
// ExportTimeout) and up again at the first export that succeeds. Each change
// is logged once: one line when export starts failing, one when it works
// again, with the spans lost meanwhile; never one per retry.
type ExportState struct {
	// Up is false from a failed export to the next successful one.
	Up bool `json:"up"`
	// Since is when Up last changed (the exporter's start, if it never
	// did).
	Since time.Time `json:"since"`
	// LastError is the latest export error, kept after the recovery.
	LastError string `json:"last_error,omitempty"`
	// Outages counts the times export went from working to failing.
	Outages uint64 `json:"outages"`
}

// health keeps an Exporter's ExportState and logs its changes.
type health struct {
	log      *slog.Logger
	endpoint string
	st       *counters

	mu    sync.Mutex
	state ExportState
	// lostAtDown is lost() when the current outage began.
	lostAtDown uint64
}

func newHealth(log *slog.Logger, endpoint string, st *counters) *health {
	return &health{log: log, endpoint: endpoint, st: st, state: ExportState{Up: true, Since: time.Now()}}
}

// lost is what the counters say never reached the collector.
func (h *health) lost() uint64 {
	return h.st.spansFailed.Load() + h.st.exportQueueFull.Load()
}

// failed records a failed export; the first of an outage logs one line.
func (h *health) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state.LastError = err.Error()
	if !h.state.Up {
		return
	}
	h.state.Up, h.state.Since = false, time.Now()
	h.state.Outages++
	h.lostAtDown = h.lost()
	h.log.Warn("otel: OTLP collector unreachable, spans are lost until it is back",
		"endpoint", h.endpoint, "error", err)
}

// ok records a successful export; the first after an outage logs one line
// with the spans lost meanwhile (the failed export's included).
func (h *health) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state.Up {
		return
	}
	now := time.Now()
	h.log.Info("otel: OTLP collector reachable again", "endpoint", h.endpoint,
		"down_for", now.Sub(h.state.Since).Round(time.Millisecond), "lost_spans", h.lost()-h.lostAtDown)
	h.state.Up, h.state.Since = true, now
}

// snapshot returns the state.
func (h *health) snapshot() ExportState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

// DropStats counts losses by reason.
type DropStats struct {
	// InputQueueFull: events the subscription's full queue refused (only
	// with ConsumeSubscription).
	InputQueueFull uint64 `json:"input_queue_full"`
	// ExportQueueFull: ended spans the full export queue refused (or that
	// came after it stopped).
	ExportQueueFull uint64 `json:"export_queue_full"`
	// Evicted: connections pushed out of the full table of open
	// connections; their lifetime span was ended early.
	Evicted uint64 `json:"evicted"`
	// AfterShutdown: events received after Shutdown; they make no span.
	AfterShutdown uint64 `json:"after_shutdown"`
	// SpanEvents: mid-life events of a connection beyond the 128 its
	// lifetime span keeps (the span counts them too, in
	// sipwire.connection.events_dropped).
	SpanEvents uint64 `json:"span_events"`
}

// counters are the live counters behind Stats; every field may be read at
// any time.
type counters struct {
	eventsReceived  atomic.Uint64
	eventsUnmatched atomic.Uint64
	partial         atomic.Uint64
	open            atomic.Int64
	spansStarted    atomic.Uint64
	spansEnded      atomic.Uint64
	spansExported   atomic.Uint64
	spansFailed     atomic.Uint64
	exportErrors    atomic.Uint64
	sdkErrors       atomic.Uint64
	exportQueueFull atomic.Uint64
	evicted         atomic.Uint64
	afterShutdown   atomic.Uint64
	spanEvents      atomic.Uint64

	errMu     sync.Mutex
	lastError string
}

func (c *counters) setLastError(err error) {
	c.errMu.Lock()
	c.lastError = err.Error()
	c.errMu.Unlock()
}

// snapshot copies the counters into st.
func (c *counters) snapshot(st *Stats) {
	st.EventsReceived = c.eventsReceived.Load()
	st.EventsUnmatched = c.eventsUnmatched.Load()
	st.PartialConnections = c.partial.Load()
	st.OpenConnections = int(c.open.Load())
	st.SpansStarted = c.spansStarted.Load()
	st.SpansEnded = c.spansEnded.Load()
	st.SpansExported = c.spansExported.Load()
	st.SpansFailed = c.spansFailed.Load()
	st.ExportErrors = c.exportErrors.Load()
	st.SDKErrors = c.sdkErrors.Load()
	st.Dropped.ExportQueueFull = c.exportQueueFull.Load()
	st.Dropped.Evicted = c.evicted.Load()
	st.Dropped.AfterShutdown = c.afterShutdown.Load()
	st.Dropped.SpanEvents = c.spanEvents.Load()
	c.errMu.Lock()
	st.LastError = c.lastError
	c.errMu.Unlock()
}
