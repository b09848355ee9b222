//go:build resilience

package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// otlpCounter is an OTLP trace receiver (http/protobuf or grpc) on a fixed
// 127.0.0.1 address that can be stopped and started again; it counts the
// spans it accepts.
type otlpCounter struct {
	t     testing.TB
	addr  string
	grpc  bool
	mu    sync.Mutex
	srv   *http.Server
	gsrv  *grpc.Server
	done  chan struct{}
	spans atomic.Uint64
}

func newOTLPCounter(t testing.TB, addr string) *otlpCounter {
	o := &otlpCounter{t: t, addr: addr}
	t.Cleanup(o.stop)
	return o
}

// traceService is the OTLP/gRPC trace service of an otlpCounter.
type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	o *otlpCounter
}

func (s traceService) Export(_ context.Context, ex *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.o.count(ex)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (o *otlpCounter) count(ex *coltracepb.ExportTraceServiceRequest) {
	var n uint64
	for _, rs := range ex.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += uint64(len(ss.Spans))
		}
	}
	o.spans.Add(n)
}

func (o *otlpCounter) start() {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		o.t.Fatalf("OTLP receiver: %v", err)
	}
	done := make(chan struct{})
	if o.grpc {
		gsrv := grpc.NewServer()
		coltracepb.RegisterTraceServiceServer(gsrv, traceService{o: o})
		go func() {
			defer close(done)
			gsrv.Serve(ln)
		}()
		o.mu.Lock()
		o.gsrv, o.done = gsrv, done
		o.mu.Unlock()
		return
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ex coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &ex); err != nil {
			o.t.Errorf("OTLP body: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		o.count(&ex)
		w.Header().Set("Content-Type", "application/x-protobuf")
	})}
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	o.mu.Lock()
	o.srv, o.done = srv, done
	o.mu.Unlock()
}

// stop closes the listener and every connection at once.
func (o *otlpCounter) stop() {
	o.mu.Lock()
	srv, gsrv, done := o.srv, o.gsrv, o.done
	o.srv, o.gsrv = nil, nil
	o.mu.Unlock()
	switch {
	case srv != nil:
		srv.Close()
		<-done
	case gsrv != nil:
		gsrv.Stop()
		<-done
	}
}

// The OTLP endpoint is down (a closed port), comes up, goes down again while
// clients do OPTIONS round trips, over http/protobuf and gRPC: every request
// is answered, the heap stays bounded, failed exports are counted, and once
// Shutdown has returned every span started is counted as exported, failed
// or dropped, and the receiver got exactly the exported ones.
func TestResilienceOTLPEndpointDownUpDown(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) { otlpDownUpDown(t, protocol) })
	}
}

func otlpDownUpDown(t *testing.T, protocol string) {
	const (
		clients   = 8
		perConn   = 5 // round trips per connection: many connections, many spans
		phase     = time.Second
		maxWait   = 120 * time.Second // gRPC's reconnect backoff grows to seconds
		heapBound = 64 << 20
	)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "512")
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "128")
	t.Setenv("OTEL_BSP_EXPORT_TIMEOUT", "2000")
	addr := freeAddr(t)
	recv := newOTLPCounter(t, addr)
	recv.grpc = protocol == "grpc"
	hc := newHEPCounter(t)
	cfg := testConfigTB(hc.conn.LocalAddr().String(), "http://"+addr)
	cfg.OTel.Protocol = protocol
	if recv.grpc {
		cfg.OTel.Endpoint = addr
	}
	a := startApp(t, cfg)

	heap := watchHeap()
	stop := pingers(a.listeners[0].String(), "otel", clients, perConn, 0)
	waitUntil(t, "failed exports", maxWait, func() bool { return a.otel.Stats().ExportErrors >= 3 })
	time.Sleep(phase)
	recv.start()
	waitUntil(t, "exports to the receiver", maxWait, func() bool { return recv.spans.Load() > 0 })
	time.Sleep(phase)
	recv.stop()
	errs := a.otel.Stats().ExportErrors
	waitUntil(t, "failed exports again", maxWait, func() bool { return a.otel.Stats().ExportErrors > errs })
	time.Sleep(phase)
	ps := stop()
	for _, p := range ps {
		p.check(t)
	}
	stopApp(t, a)
	heap.check(t, "OTLP endpoint down, up, down", heapBound, pcapRingHeap+8<<20)

	st := a.otel.Stats()
	var offered uint64
	for _, s := range a.tr.Stats().Subscriptions {
		if s.Name == "otel" {
			offered = s.Offered
		}
	}
	t.Logf("%d events offered, %d received, %d dropped; spans: %d started, %d exported, %d failed in %d failed exports, %d dropped; the receiver got %d",
		offered, st.EventsReceived, st.Dropped.InputQueueFull, st.SpansStarted, st.SpansExported, st.SpansFailed, st.ExportErrors, st.Dropped.ExportQueueFull, recv.spans.Load())
	if st.EventsReceived+st.Dropped.InputQueueFull != offered {
		t.Errorf("%d events offered != %d received + %d dropped", offered, st.EventsReceived, st.Dropped.InputQueueFull)
	}
	if st.SpansStarted != st.SpansEnded || st.SpansStarted != st.SpansExported+st.SpansFailed+st.Dropped.ExportQueueFull || st.QueueLen != 0 {
		t.Errorf("spans: %d started, %d ended != %d exported + %d failed + %d dropped (%d queued)",
			st.SpansStarted, st.SpansEnded, st.SpansExported, st.SpansFailed, st.Dropped.ExportQueueFull, st.QueueLen)
	}
	if st.SpansExported == 0 || st.SpansFailed == 0 || st.ExportErrors == 0 || st.LastError == "" {
		t.Errorf("want exports both failed and done: %+v", st)
	}
	// An export can reach the receiver and still fail for the exporter (its
	// deadline passes, or the endpoint goes down before the answer): the
	// receiver holds every exported span and at most the failed ones too.
	if got := recv.spans.Load(); got < st.SpansExported || got > st.SpansExported+st.SpansFailed {
		t.Errorf("the receiver got %d spans, the exporter counts %d exported and %d failed", got, st.SpansExported, st.SpansFailed)
	}
}
