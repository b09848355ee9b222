package otel

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// settings is a Config resolved against the environment and the defaults.
type settings struct {
	enabled bool
	// off says why export is off, when it is.
	off string

	protocol string
	// endpoint is what is in effect, for display; empty when the exporter
	// takes it from the environment itself (envEndpoint set).
	endpoint    string
	envEndpoint string
	insecure    bool
	headers     map[string]string
	serviceName string

	queueSize     int
	batchSize     int
	batchTimeout  time.Duration
	exportTimeout time.Duration
	maxOpen       int
	openDelay     time.Duration // <= 0: open spans at once
	// samplesAll says the sampler keeps every root span (OTEL_TRACES_SAMPLER
	// unset, always_on or parentbased_always_on), so that a connection's
	// sampling decision needs no asking.
	samplesAll bool
	logger     *slog.Logger
}

// resolve applies the environment (read through getenv) and the defaults to
// cfg.
func resolve(cfg Config, getenv func(string) string) (settings, error) {
	env := firstEnv(getenv)
	s := settings{serviceName: cfg.ServiceName, insecure: cfg.Insecure}
	if s.serviceName == "" {
		s.serviceName = DefaultServiceName
	}

	if v := env("OTEL_SDK_DISABLED"); v != "" {
		off, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("%w: OTEL_SDK_DISABLED=%q", ErrEnv, v)
		}
		if off {
			s.off = "OTEL_SDK_DISABLED is true"
			return s, nil
		}
	}
	switch v := env("OTEL_TRACES_EXPORTER"); v {
	case "", "otlp":
	case "none":
		s.off = "OTEL_TRACES_EXPORTER is none"
		return s, nil
	default:
		return s, fmt.Errorf("%w: OTEL_TRACES_EXPORTER=%q", ErrTracesExporter, v)
	}

	s.protocol = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	if s.protocol == "" {
		s.protocol = cfg.Protocol
	}
	if s.protocol == "" {
		s.protocol = DefaultProtocol
	}
	if s.protocol != ProtocolGRPC && s.protocol != ProtocolHTTP {
		return s, fmt.Errorf("%w: %q (want %q or %q)", ErrProtocol, s.protocol, ProtocolGRPC, ProtocolHTTP)
	}

	s.envEndpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	switch {
	case s.envEndpoint != "":
		if v := env("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return s, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_INSECURE=%q", ErrEnv, v)
			}
			s.insecure = b
		}
	case cfg.Endpoint != "":
		ep, err := normalizeEndpoint(strings.TrimSpace(cfg.Endpoint), s.protocol)
		if err != nil {
			return s, err
		}
		s.endpoint = ep
	default:
		s.off = "no OTLP endpoint set"
		return s, nil
	}

	s.headers = maps.Clone(cfg.Headers)
	for _, k := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		if v := env(k); v != "" {
			if s.headers == nil {
				s.headers = map[string]string{}
			}
			parseHeaders(v, s.headers)
		}
	}

	if err := s.resolveBounds(cfg, env); err != nil {
		return s, err
	}
	s.enabled = true
	return s, nil
}

// resolveBounds sets the queue and table bounds from the OTEL_BSP_*
// variables (read through env), cfg and the defaults, and notes whether
// OTEL_TRACES_SAMPLER keeps every span.
func (s *settings) resolveBounds(cfg Config, env func(...string) string) error {
	switch env("OTEL_TRACES_SAMPLER") {
	case "", "always_on", "parentbased_always_on":
		s.samplesAll = true
	}
	var err error
	if s.queueSize, err = envInt(env("OTEL_BSP_MAX_QUEUE_SIZE"), cfg.QueueSize, DefaultQueueSize); err != nil {
		return err
	}
	if s.batchSize, err = envInt(env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), cfg.BatchSize, DefaultBatchSize); err != nil {
		return err
	}
	s.batchSize = min(s.batchSize, s.queueSize)
	if s.batchTimeout, err = envMillis(env("OTEL_BSP_SCHEDULE_DELAY"), cfg.BatchTimeout, DefaultBatchTimeout); err != nil {
		return err
	}
	if s.exportTimeout, err = envMillis(env("OTEL_BSP_EXPORT_TIMEOUT"), cfg.ExportTimeout, DefaultExportTimeout); err != nil {
		return err
	}
	s.maxOpen = cfg.MaxOpenConnections
	if s.maxOpen <= 0 {
		s.maxOpen = DefaultMaxOpenConnections
	}
	s.openDelay = cfg.OpenSpanDelay
	if s.openDelay == 0 {
		s.openDelay = DefaultOpenSpanDelay
	}
	s.logger = cfg.Logger
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return nil
}

// firstEnv returns a function that gives the value of the first of its
// variables that is set and not blank.
func firstEnv(getenv func(string) string) func(...string) string {
	return func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(getenv(k)); v != "" {
				return v
			}
		}
		return ""
	}
}

// normalizeEndpoint checks a Config.Endpoint and, for an http/protobuf URL
// without a path, adds the traces path.
func normalizeEndpoint(ep, protocol string) (string, error) {
	if !strings.Contains(ep, "://") {
		if _, port, err := net.SplitHostPort(ep); err != nil || port == "" {
			return "", fmt.Errorf("%w: %q is not host:port", ErrEndpoint, ep)
		}
		return ep, nil
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not an http(s) URL", ErrEndpoint, ep)
	}
	if protocol == ProtocolHTTP && (u.Path == "" || u.Path == "/") {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// isURL says whether an endpoint is a URL rather than host:port.
func isURL(ep string) bool { return strings.Contains(ep, "://") }

// parseHeaders adds the key=value,key=value pairs of an
// OTEL_EXPORTER_OTLP_HEADERS value to h (values percent-decoded, as the
// exporters do). Malformed pairs are skipped.
func parseHeaders(v string, h map[string]string) {
	for pair := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			continue
		}
		dec, err := url.PathUnescape(val)
		if err != nil {
			continue
		}
		h[k] = strings.TrimSpace(dec)
	}
}

// envInt returns the integer in v if set, else cfg if positive, else def.
func envInt(v string, cfg, def int) (int, error) {
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%w: %q is not a positive integer", ErrEnv, v)
		}
		return n, nil
	}
	if cfg > 0 {
		return cfg, nil
	}
	return def, nil
}

// envMillis returns the milliseconds in v if set, else cfg if positive, else
// def.
func envMillis(v string, cfg, def time.Duration) (time.Duration, error) {
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%w: %q is not a positive number of milliseconds", ErrEnv, v)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	if cfg > 0 {
		return cfg, nil
	}
	return def, nil
}
