package otel

import (
	"context"
	"fmt"
	"net/url"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// newOTLPExporter builds the OTLP span exporter for s: the client of
// otlptracehttp or otlptracegrpc behind an otlpExporter. The clients read
// the OTEL_EXPORTER_OTLP_* variables themselves (endpoint, TLS files,
// compression, timeout); the options passed here are what Config adds where
// the environment is silent. Neither exporter connects before its first
// export. Both retry a failed export within its timeout, waiting
// RetryMaxInterval at most between tries, and gRPC reconnects after
// ReconnectMaxBackoff at most, so that a collector that comes back is used
// within about a second (it took 30 s and more with the exporters' own
// defaults).
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
		opts = append(opts, otlptracehttp.WithRetry(otlptracehttp.RetryConfig(retryConfig(s))))
		exp, err := newOTLPClientExporter(ctx, otlptracehttp.NewClient(opts...))
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
		opts = append(opts,
			otlptracegrpc.WithRetry(retryConfig(s)),
			otlptracegrpc.WithDialOption(grpc.WithConnectParams(grpc.ConnectParams{
				Backoff: backoff.Config{
					BaseDelay:  RetryInitialInterval,
					Multiplier: backoff.DefaultConfig.Multiplier,
					Jitter:     backoff.DefaultConfig.Jitter,
					MaxDelay:   ReconnectMaxBackoff,
				},
				MinConnectTimeout: ReconnectMinTimeout,
			})))
		exp, err := newOTLPClientExporter(ctx, otlptracegrpc.NewClient(opts...))
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

// retryConfig is how both exporters retry an export that failed with a
// retryable error (gRPC Unavailable, HTTP 429/502/503/504, a temporary
// network error): soon and often, within the export's timeout.
func retryConfig(s settings) otlptracegrpc.RetryConfig {
	return otlptracegrpc.RetryConfig{
		Enabled:         true,
		InitialInterval: RetryInitialInterval,
		MaxInterval:     RetryMaxInterval,
		MaxElapsedTime:  s.exportTimeout,
	}
}
