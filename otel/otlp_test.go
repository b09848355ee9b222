package otel

import (
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sipwire/sipwire/transport"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// otelEnv lists the variables that would steer New away from what a test
// configures.
var otelEnv = []string{
	"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
	"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT",
}

// clearOTELEnv empties the OTEL_* variables for the test (empty counts as
// unset, for the exporters too).
func clearOTELEnv(t testing.TB) {
	for _, k := range otelEnv {
		t.Setenv(k, "")
	}
}

// receiver collects what an OTLP receiver inside the test decoded.
type receiver struct {
	mu      sync.Mutex
	reqs    []*coltracepb.ExportTraceServiceRequest
	apiKeys []string
}

func (r *receiver) add(req *coltracepb.ExportTraceServiceRequest, apiKey string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	r.apiKeys = append(r.apiKeys, apiKey)
}

// spans returns every span received, with its resource's service.name.
func (r *receiver) spans() (spans []*tracepb.Span, services []string, scopes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, req := range r.reqs {
		for _, rs := range req.GetResourceSpans() {
			svc := pbAttr(rs.GetResource().GetAttributes(), "service.name").GetStringValue()
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					spans = append(spans, s)
					services = append(services, svc)
					scopes = append(scopes, ss.GetScope().GetName())
				}
			}
		}
	}
	return spans, services, scopes
}

// ServeHTTP is an OTLP/HTTP traces receiver (binary protobuf).
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(data, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.add(&msg, req.Header.Get("X-Api-Key"))
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// grpcReceiver is an OTLP/gRPC traces receiver.
type grpcReceiver struct {
	coltracepb.UnimplementedTraceServiceServer
	r *receiver
}

func (g grpcReceiver) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	g.r.add(req, strings.Join(md.Get("x-api-key"), ","))
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func pbAttr(attrs []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, a := range attrs {
		if a.GetKey() == key {
			return a.GetValue()
		}
	}
	return nil
}

// scenario is an inbound connection with a framing error, an outbound one
// with a background connect, and a refused accept.
func scenario() []transport.Event {
	return []transport.Event{
		inbound(transport.EventAccepted, 1, 0, "Connection accepted"),
		outbound(transport.EventConnectStart, 2, 1, "Async connect in progress"),
		outbound(transport.EventConnected, 2, 40, "Successfully connected"),
		failed(inbound(transport.EventBadMessage, 1, 50, "no Content-Length")),
		failed(inbound(transport.EventClosed, 1, 50, "no Content-Length")),
		failed(inbound(transport.EventAcceptRefused, 0, 60, "tcp_max_connections reached")),
		outbound(transport.EventClosed, 2, 70, "EOF received"),
	}
}

// runScenario plays the scenario into a New exporter built from cfg and
// shuts it down.
func runScenario(t *testing.T, cfg Config) *Exporter {
	t.Helper()
	cfg.OpenSpanDelay = atOnce
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Enabled() {
		t.Fatalf("exporter off: %s", e.Stats().Off)
	}
	evs := scenario()
	ch := make(chan transport.Event, len(evs))
	for _, ev := range evs {
		ch <- ev
	}
	close(ch)
	e.Consume(context.Background(), ch)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	st := e.Stats()
	if st.SpansExported != 6 || st.ExportErrors != 0 || st.SpansFailed != 0 {
		t.Errorf("stats %+v, want 6 spans exported without error", st)
	}
	return e
}

// checkReceived checks the scenario's spans as the receiver decoded them
// from the wire.
func checkReceived(t *testing.T, r *receiver) {
	t.Helper()
	spans, services, scopes := r.spans()
	if len(spans) != 6 {
		t.Fatalf("received %d spans, want 6", len(spans))
	}
	byID := map[string]*tracepb.Span{}
	count := map[string]int{}
	for i, s := range spans {
		byID[string(s.GetSpanId())] = s
		count[s.GetName()]++
		if services[i] != "sipwire-wire" || scopes[i] != ScopeName {
			t.Errorf("span %s: service %q scope %q", s.GetName(), services[i], scopes[i])
		}
		if pbAttr(s.GetAttributes(), "network.transport").GetStringValue() != "tcp" ||
			pbAttr(s.GetAttributes(), "network.peer.address").GetStringValue() != "127.0.0.1" {
			t.Errorf("span %s: network attributes %v", s.GetName(), s.GetAttributes())
		}
	}
	want := map[string]int{SpanConnection: 2, SpanOpen: 2, SpanConnect: 1, SpanAcceptRefused: 1}
	for n, c := range want {
		if count[n] != c {
			t.Errorf("%d spans %q, want %d", count[n], n, c)
		}
	}
	for _, s := range spans {
		id := pbAttr(s.GetAttributes(), "sipwire.connection.id").GetIntValue()
		switch s.GetName() {
		case SpanConnection:
			wantKind, wantCode := tracepb.Span_SPAN_KIND_SERVER, tracepb.Status_STATUS_CODE_ERROR
			if id == 2 {
				wantKind, wantCode = tracepb.Span_SPAN_KIND_CLIENT, tracepb.Status_STATUS_CODE_UNSET
			}
			if s.GetKind() != wantKind || s.GetStatus().GetCode() != wantCode || len(s.GetParentSpanId()) != 0 {
				t.Errorf("conn %d lifetime: kind %v status %v parent %x", id, s.GetKind(), s.GetStatus(), s.GetParentSpanId())
			}
			if id == 1 {
				if et := pbAttr(s.GetAttributes(), "error.type").GetStringValue(); et != "BAD_MESSAGE" {
					t.Errorf("conn 1 error.type %q", et)
				}
				if len(s.GetEvents()) != 1 || s.GetEvents()[0].GetName() != "BAD_MESSAGE" {
					t.Errorf("conn 1 events %v", s.GetEvents())
				}
				if d := s.GetEndTimeUnixNano() - s.GetStartTimeUnixNano(); d != 50e6 {
					t.Errorf("conn 1 lifetime lasts %d ns, want 50 ms", d)
				}
			}
		case SpanOpen, SpanConnect:
			parent := byID[string(s.GetParentSpanId())]
			if parent == nil || parent.GetName() != SpanConnection || string(parent.GetTraceId()) != string(s.GetTraceId()) {
				t.Errorf("%s of conn %d: parent is not its lifetime span", s.GetName(), id)
			}
			if s.GetName() == SpanOpen && (len(s.GetLinks()) != 1 || string(s.GetLinks()[0].GetSpanId()) != string(s.GetParentSpanId())) {
				t.Errorf("open span of conn %d: links %v", id, s.GetLinks())
			}
		case SpanAcceptRefused:
			if s.GetKind() != tracepb.Span_SPAN_KIND_SERVER || s.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR {
				t.Errorf("refused: kind %v status %v", s.GetKind(), s.GetStatus())
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.apiKeys {
		if k != "s3cret" {
			t.Errorf("receiver got api key %q, want the configured header", k)
		}
	}
}

// The spans reach an OTLP/HTTP receiver in the real protobuf wire format.
func TestOTLPHTTPReceiver(t *testing.T) {
	clearOTELEnv(t)
	r := &receiver{}
	srv := httptest.NewServer(r)
	defer srv.Close()
	e := runScenario(t, Config{
		Endpoint:    srv.URL, // http://127.0.0.1:port: the traces path is added
		Protocol:    ProtocolHTTP,
		ServiceName: "sipwire-wire",
		Headers:     map[string]string{"X-Api-Key": "s3cret"},
	})
	checkReceived(t, r)
	if st := e.Stats(); st.Protocol != ProtocolHTTP || st.Endpoint != srv.URL+"/v1/traces" {
		t.Errorf("stats protocol %q endpoint %q", st.Protocol, st.Endpoint)
	}
}

// The same over the standard environment variables alone, gzip-compressed.
func TestOTLPHTTPFromEnvironment(t *testing.T) {
	clearOTELEnv(t)
	r := &receiver{}
	srv := httptest.NewServer(r)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", ProtocolHTTP)
	t.Setenv("OTEL_SERVICE_NAME", "sipwire-wire")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	runScenario(t, Config{ServiceName: "loses-to-env", Protocol: ProtocolGRPC})
	checkReceived(t, r)
}

// The spans reach an OTLP/gRPC receiver.
func TestOTLPGRPCReceiver(t *testing.T) {
	clearOTELEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{}
	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, grpcReceiver{r: r})
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()
	runScenario(t, Config{
		Endpoint:    ln.Addr().String(),
		Insecure:    true,
		ServiceName: "sipwire-wire",
		Headers:     map[string]string{"x-api-key": "s3cret"},
	})
	checkReceived(t, r)
}
