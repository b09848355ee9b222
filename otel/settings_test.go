package otel

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		cfg     Config
		env     map[string]string
		wantErr error
		check   func(t *testing.T, s settings)
	}{
		{name: "off without endpoint", check: func(t *testing.T, s settings) {
			if s.enabled || s.off != "no OTLP endpoint set" {
				t.Errorf("enabled %v off %q", s.enabled, s.off)
			}
		}},
		{name: "config defaults", cfg: Config{Endpoint: "127.0.0.1:4317", Insecure: true}, check: func(t *testing.T, s settings) {
			if !s.enabled || s.protocol != ProtocolGRPC || s.endpoint != "127.0.0.1:4317" || !s.insecure || s.serviceName != DefaultServiceName {
				t.Errorf("%+v", s)
			}
			if s.queueSize != DefaultQueueSize || s.batchSize != DefaultBatchSize || s.batchTimeout != DefaultBatchTimeout ||
				s.exportTimeout != DefaultExportTimeout || s.maxOpen != DefaultMaxOpenConnections {
				t.Errorf("bounds %+v", s)
			}
		}},
		{name: "env endpoint turns it on", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
			check: func(t *testing.T, s settings) {
				if !s.enabled || s.envEndpoint != "http://127.0.0.1:4318" || s.shownEndpoint() != "http://127.0.0.1:4318" {
					t.Errorf("%+v", s)
				}
			}},
		{name: "traces endpoint wins", cfg: Config{Endpoint: "127.0.0.1:1"}, env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://user:pw@b:2/x?q=1"},
			check: func(t *testing.T, s settings) {
				if s.envEndpoint != "https://user:pw@b:2/x?q=1" || s.shownEndpoint() != "https://b:2/x" {
					t.Errorf("env %q shown %q", s.envEndpoint, s.shownEndpoint())
				}
			}},
		{name: "env protocol wins", cfg: Config{Endpoint: "h:1", Protocol: ProtocolGRPC},
			env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": ProtocolHTTP}, check: func(t *testing.T, s settings) {
				if s.protocol != ProtocolHTTP {
					t.Errorf("protocol %q", s.protocol)
				}
			}},
		{name: "traces protocol wins", cfg: Config{Endpoint: "h:1"}, env: map[string]string{
			"OTEL_EXPORTER_OTLP_PROTOCOL": ProtocolHTTP, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": ProtocolGRPC},
			check: func(t *testing.T, s settings) {
				if s.protocol != ProtocolGRPC {
					t.Errorf("protocol %q", s.protocol)
				}
			}},
		{name: "http URL gets the traces path", cfg: Config{Endpoint: "http://127.0.0.1:4318", Protocol: ProtocolHTTP},
			check: func(t *testing.T, s settings) {
				if s.endpoint != "http://127.0.0.1:4318/v1/traces" {
					t.Errorf("endpoint %q", s.endpoint)
				}
			}},
		{name: "http URL path kept", cfg: Config{Endpoint: "https://c:443/otlp/v1/traces", Protocol: ProtocolHTTP},
			check: func(t *testing.T, s settings) {
				if s.endpoint != "https://c:443/otlp/v1/traces" {
					t.Errorf("endpoint %q", s.endpoint)
				}
			}},
		{name: "headers merge, env wins", cfg: Config{Endpoint: "h:1", Headers: map[string]string{"a": "cfg", "b": "cfg"}},
			env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "b=env,c=x%20y", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "c=traces,bad"},
			check: func(t *testing.T, s settings) {
				want := map[string]string{"a": "cfg", "b": "env", "c": "traces"}
				if !maps.Equal(s.headers, want) {
					t.Errorf("headers %v, want %v", s.headers, want)
				}
			}},
		{name: "env insecure wins", cfg: Config{Insecure: true}, env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4317", "OTEL_EXPORTER_OTLP_INSECURE": "false"},
			check: func(t *testing.T, s settings) {
				if s.insecure {
					t.Error("insecure")
				}
			}},
		{name: "bounds from config", cfg: Config{Endpoint: "h:1", QueueSize: 10, BatchSize: 50, BatchTimeout: time.Second,
			ExportTimeout: 2 * time.Second, MaxOpenConnections: 5}, check: func(t *testing.T, s settings) {
			if s.queueSize != 10 || s.batchSize != 10 || s.batchTimeout != time.Second || s.exportTimeout != 2*time.Second || s.maxOpen != 5 {
				t.Errorf("%+v", s)
			}
		}},
		{name: "bounds from env", cfg: Config{Endpoint: "h:1", QueueSize: 10}, env: map[string]string{
			"OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "20",
			"OTEL_BSP_SCHEDULE_DELAY": "250", "OTEL_BSP_EXPORT_TIMEOUT": "1000"},
			check: func(t *testing.T, s settings) {
				if s.queueSize != 100 || s.batchSize != 20 || s.batchTimeout != 250*time.Millisecond || s.exportTimeout != time.Second {
					t.Errorf("%+v", s)
				}
			}},
		{name: "sdk disabled", cfg: Config{Endpoint: "h:1"}, env: map[string]string{"OTEL_SDK_DISABLED": "true"},
			check: func(t *testing.T, s settings) {
				if s.enabled {
					t.Error("enabled")
				}
			}},
		{name: "traces exporter none", cfg: Config{Endpoint: "h:1"}, env: map[string]string{"OTEL_TRACES_EXPORTER": "none"},
			check: func(t *testing.T, s settings) {
				if s.enabled {
					t.Error("enabled")
				}
			}},
		{name: "traces exporter zipkin", cfg: Config{Endpoint: "h:1"}, env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"},
			wantErr: ErrTracesExporter},
		{name: "bad protocol", cfg: Config{Endpoint: "h:1", Protocol: "http/json"}, wantErr: ErrProtocol},
		{name: "bad env protocol", cfg: Config{Endpoint: "h:1"}, env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "udp"}, wantErr: ErrProtocol},
		{name: "endpoint without port", cfg: Config{Endpoint: "collector"}, wantErr: ErrEndpoint},
		{name: "endpoint bad scheme", cfg: Config{Endpoint: "ftp://c:1"}, wantErr: ErrEndpoint},
		{name: "bad env number", cfg: Config{Endpoint: "h:1"}, env: map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "-1"}, wantErr: ErrEnv},
		{name: "bad env bool", cfg: Config{Endpoint: "h:1"}, env: map[string]string{"OTEL_SDK_DISABLED": "maybe"}, wantErr: ErrEnv},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := resolve(tc.cfg, func(k string) string { return tc.env[k] })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err == nil && tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

// New with nothing configured returns a disabled Exporter and no error.
func TestNewOff(t *testing.T) {
	clearOTELEnv(t)
	e, err := New(context.Background(), Config{ServiceName: "x"})
	if err != nil || e == nil || e.Enabled() {
		t.Fatalf("New: %v, %v", e, err)
	}
	if st := e.Stats(); st.Enabled || st.Off != "no OTLP endpoint set" {
		t.Errorf("stats %+v", st)
	}
	if _, err := New(context.Background(), Config{Endpoint: "h:1", Protocol: "http/json"}); !errors.Is(err, ErrProtocol) {
		t.Errorf("bad protocol: %v", err)
	}
}
