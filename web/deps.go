package web

import (
	"context"
	"io"
	"log/slog"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web/pcap"
)

// Transport is what the server needs of the SIP transport;
// *transport.Transport implements it.
type Transport interface {
	Connections() []transport.ConnSnapshot
	CloseConn(id uint64, reason string) bool
	// ConnTCPInfo reads the kernel's figures of an open connection now.
	ConnTCPInfo(id uint64) (*transport.TCPInfo, error)
	SetTracing(on bool)
	Tracing() bool
	Stats() transport.Stats
	// AddObserver and RemoveObserver add and remove the event ring.
	AddObserver(o transport.Observer, gate transport.Gate)
	RemoveObserver(o transport.Observer)
}

// PcapSource is the ring of recently traced SIP messages; *pcap.Ring
// implements it.
type PcapSource interface {
	// WritePcap writes the messages f selects and returns how many there were.
	WritePcap(w io.Writer, f pcap.Filter) (int, error)
	Stats() pcap.RingStats
	// CallSource finds calls and their messages by Call-ID (the ladder).
	CallSource
}

// EventStore is the persistent event history (package web/history) as
// GET /events?source=history and GET /events/export read it. A query it
// refuses (a bad cursor, filter or format) fails with an error that wraps
// ErrBadEventQuery, answered with a 400; any other error is a 503.
type EventStore interface {
	// Query returns one page of the events q selects, newest first, and the
	// cursor of the next page ("" when there is none).
	Query(ctx context.Context, q EventQuery) ([]Event, string, error)
	// Export writes every event q selects to w, newest first, in format
	// ("jsonl" or "csv"); q.Limit bounds their number (zero: all) and
	// q.Cursor starts after a page. It writes nothing to w before it has
	// read the first page, so that an error it returns without having
	// written can still be answered in the error shape.
	Export(ctx context.Context, q EventQuery, format string, w io.Writer) error
	// ContentType returns the HTTP content type of an export format, "" for
	// a format Export does not write.
	ContentType(format string) string
}

// Deps are the server's collaborators. Only Transport is required.
type Deps struct {
	// Transport is the SIP transport served.
	Transport Transport

	// Stats returns the exporters' counters by name ("hep", "otel",
	// "history", ...), each any JSON-marshalable value, for GET /stats. When
	// Metrics is nil, /metrics derives its samples from it (FlattenMetrics).
	Stats func() map[string]any

	// Metrics returns extra Prometheus samples for /metrics. Nil means the
	// samples FlattenMetrics derives from Stats.
	Metrics func() []Metric

	// Config returns the effective configuration, secrets already redacted,
	// for GET /config. Nil answers 404.
	Config func() any

	// Pcap is the ring of traced messages for GET /pcap. Nil answers 404.
	Pcap PcapSource

	// Events is the persistent event history. Nil means GET /events serves
	// the in-memory ring only.
	Events EventStore

	// Logger receives the server's own log lines. Nil means slog.Default().
	Logger *slog.Logger
}
