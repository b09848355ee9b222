package otel

import "errors"

// Errors returned by New. Compare with errors.Is.
var (
	// ErrProtocol: the OTLP protocol is neither "grpc" nor "http/protobuf".
	ErrProtocol = errors.New("otel: unsupported OTLP protocol")
	// ErrEndpoint: the endpoint is not host:port nor an http(s) URL.
	ErrEndpoint = errors.New("otel: bad OTLP endpoint")
	// ErrTracesExporter: OTEL_TRACES_EXPORTER names an exporter other than
	// "otlp" or "none".
	ErrTracesExporter = errors.New("otel: unsupported traces exporter")
	// ErrEnv: a numeric or boolean OTEL_* variable could not be parsed.
	ErrEnv = errors.New("otel: bad environment variable")
)
