package otel

import (
	"log/slog"
	"time"
)

// The OTLP protocols New accepts (Config.Protocol, OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Defaults of the Config fields.
const (
	DefaultProtocol           = ProtocolGRPC
	DefaultServiceName        = "sipwire"
	DefaultQueueSize          = 2048             // spans waiting for export
	DefaultBatchSize          = 512              // spans per export call
	DefaultBatchTimeout       = 5 * time.Second  // longest wait before a partial batch is exported
	DefaultExportTimeout      = 30 * time.Second // bound of one export call, retries included
	DefaultMaxOpenConnections = 16384            // connections with a span in progress
	DefaultOpenSpanDelay      = time.Second      // how long a connection is open before its open span goes
)

// How an export call retries a collector that does not answer, and how fast
// gRPC reconnects to one that came back. The OTLP exporters' own defaults
// (retry after 5 s growing to 30 s; gRPC's reconnect backoff growing to
// 120 s) left a collector that came back unused for 30 s and more; these
// bound the wait after it is back to about RetryMaxInterval plus
// ReconnectMaxBackoff.
const (
	// RetryInitialInterval is the first wait before an export is retried.
	RetryInitialInterval = 250 * time.Millisecond
	// RetryMaxInterval bounds the wait between two tries of an export,
	// which go on within the export's timeout (ExportTimeout, and the
	// exporter's own OTEL_EXPORTER_OTLP_TIMEOUT, 10 s by default).
	RetryMaxInterval = time.Second
	// ReconnectMaxBackoff bounds gRPC's wait between two connect attempts.
	ReconnectMaxBackoff = time.Second
	// ReconnectMinTimeout is the least time gRPC gives a connect attempt.
	ReconnectMinTimeout = 5 * time.Second
)

// Config is the otel: section of sipwire.yaml plus tuning bounds. The zero
// value of each field means its default. Where a standard OTEL_* environment
// variable covers a field, the variable wins when it is set and not empty
// (so that a deployment can override the file's defaults).
type Config struct {
	// Endpoint is the OTLP receiver: host:port, or a URL whose scheme
	// (http or https) also decides Insecure. For http/protobuf a URL with no
	// path gets /v1/traces. Empty, with no OTEL_EXPORTER_OTLP_ENDPOINT and no
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT either, turns export off.
	Endpoint string
	// Protocol is "grpc" or "http/protobuf" (OTEL_EXPORTER_OTLP_PROTOCOL,
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL). Empty means grpc.
	Protocol string
	// ServiceName is the resource's service.name (OTEL_SERVICE_NAME, or
	// service.name in OTEL_RESOURCE_ATTRIBUTES). Empty means "sipwire".
	ServiceName string
	// Insecure sends without TLS to a host:port endpoint
	// (OTEL_EXPORTER_OTLP_INSECURE, OTEL_EXPORTER_OTLP_TRACES_INSECURE).
	// A URL endpoint's scheme decides for itself.
	Insecure bool
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS,
	// OTEL_EXPORTER_OTLP_TRACES_HEADERS win key by key). Values are secrets.
	Headers map[string]string

	// QueueSize bounds the spans waiting for export; a span that finds the
	// queue full is dropped and counted (OTEL_BSP_MAX_QUEUE_SIZE). Zero
	// means 2048.
	QueueSize int
	// BatchSize is the most spans sent in one export call
	// (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). Zero means 512; never more than
	// QueueSize.
	BatchSize int
	// BatchTimeout is the longest a span waits for its batch to fill
	// (OTEL_BSP_SCHEDULE_DELAY, in ms). Zero means 5 s.
	BatchTimeout time.Duration
	// ExportTimeout bounds one export call with the exporter's own retries
	// (OTEL_BSP_EXPORT_TIMEOUT, in ms). Zero means 30 s.
	ExportTimeout time.Duration
	// MaxOpenConnections bounds the connections whose lifetime span is in
	// progress; beyond it the oldest is evicted and counted. Zero means
	// 16384.
	MaxOpenConnections int
	// OpenSpanDelay is how long a connection must stay open before its open
	// span is exported. The open span exists so that a long-lived
	// connection shows in the backend before it closes; one that closes
	// sooner shows in its lifetime span alone, which saves a span per call
	// where every call has its own connection. Zero means 1 s; negative
	// means at once.
	OpenSpanDelay time.Duration
	// Logger gets one line when export starts failing (the collector is
	// down) and one when it works again, with the spans lost meanwhile
	// (see ExportState). Nil means slog.Default().
	Logger *slog.Logger
}
