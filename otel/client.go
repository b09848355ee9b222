package otel

import (
	"context"
	"fmt"
	"net/url"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newOTLPExporter builds the OTLP span exporter for s. The exporters read
// the OTEL_EXPORTER_OTLP_* variables themselves (endpoint, TLS files,
// compression, timeout); the options passed here are what Config adds where
// the environment is silent. Neither exporter connects before its first
// export.
func newOTLPExporter(ctx context.Context, s settings) (sdktrace.SpanExporter, error) {
	// A host:port endpoint takes Insecure from the settings; a URL's scheme
	// decides for itself, and passing WithInsecure would override https.
	insecure := s.insecure && !isURL(s.endpoint) && !isURL(s.envEndpoint)
	switch s.protocol {
	case ProtocolHTTP:
		var opts []otlptracehttp.Option
		switch {
		case s.envEndpoint != "":
		case isURL(s.endpoint):
			opts = append(opts, otlptracehttp.WithEndpointURL(s.endpoint))
		default:
			opts = append(opts, otlptracehttp.WithEndpoint(s.endpoint))
		}
		if insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		if len(s.headers) > 0 {
			opts = append(opts, otlptracehttp.WithHeaders(s.headers))
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otel: create OTLP/HTTP exporter: %w", err)
		}
		return exp, nil
	default:
		var opts []otlptracegrpc.Option
		switch {
		case s.envEndpoint != "":
		case isURL(s.endpoint):
			opts = append(opts, otlptracegrpc.WithEndpointURL(s.endpoint))
		default:
			opts = append(opts, otlptracegrpc.WithEndpoint(s.endpoint))
		}
		if insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		if len(s.headers) > 0 {
			opts = append(opts, otlptracegrpc.WithHeaders(s.headers))
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otel: create OTLP/gRPC exporter: %w", err)
		}
		return exp, nil
	}
}

// shownEndpoint is the endpoint in effect without user info, query or
// fragment, for Stats.
func (s *settings) shownEndpoint() string {
	ep := s.endpoint
	if s.envEndpoint != "" {
		ep = s.envEndpoint
	}
	if !isURL(ep) {
		return ep
	}
	u, err := url.Parse(ep)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
