package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// maxOTLPBody bounds one export request the receiver reads.
const maxOTLPBody = 64 << 20

// otlpReceiver is the OpenTelemetry collector of the benchmark: it accepts
// OTLP/HTTP protobuf exports on POST /v1/traces, counts requests, bytes and
// spans, and keeps nothing.
type otlpReceiver struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}

	requests, bytes, spans, bad atomic.Uint64
}

// otlpCounts is a snapshot of an otlpReceiver.
type otlpCounts struct{ Requests, Bytes, Spans, Bad uint64 }

// sub returns c - o.
func (c otlpCounts) sub(o otlpCounts) otlpCounts {
	return otlpCounts{c.Requests - o.Requests, c.Bytes - o.Bytes, c.Spans - o.Spans, c.Bad - o.Bad}
}

// listenOTLP starts an otlpReceiver on addr ("127.0.0.1:4318").
func listenOTLP(addr string) (*otlpReceiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("otlp receiver %s: %w", addr, err)
	}
	r := &otlpReceiver{ln: ln, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.traces)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second}
	go func() {
		defer close(r.done)
		_ = r.srv.Serve(ln)
	}()
	return r, nil
}

// url is the endpoint to give an OTLP/HTTP exporter.
func (r *otlpReceiver) url() string { return "http://" + r.ln.Addr().String() }

// traces answers one export: 200 with an empty ExportTraceServiceResponse
// when the body decodes, 400 otherwise.
func (r *otlpReceiver) traces(w http.ResponseWriter, req *http.Request) {
	n, spans, err := decodeTraces(req)
	r.requests.Add(1)
	r.bytes.Add(uint64(n))
	if err != nil {
		r.bad.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.spans.Add(uint64(spans))
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// errOTLPBody reports an export request the receiver cannot decode.
var errOTLPBody = errors.New("bench: bad OTLP export request")

// decodeTraces reads an export request and returns its size on the wire
// and its span count.
func decodeTraces(req *http.Request) (int, int, error) {
	raw, err := io.ReadAll(io.LimitReader(req.Body, maxOTLPBody+1))
	if err != nil {
		return len(raw), 0, fmt.Errorf("%w: read: %v", errOTLPBody, err)
	}
	if len(raw) > maxOTLPBody {
		return len(raw), 0, fmt.Errorf("%w: over %d bytes", errOTLPBody, maxOTLPBody)
	}
	body := raw
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return len(raw), 0, fmt.Errorf("%w: gzip: %v", errOTLPBody, err)
		}
		body, err = io.ReadAll(io.LimitReader(zr, maxOTLPBody))
		if err != nil {
			return len(raw), 0, fmt.Errorf("%w: gzip: %v", errOTLPBody, err)
		}
	}
	var msg coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &msg); err != nil {
		return len(raw), 0, fmt.Errorf("%w: %v", errOTLPBody, err)
	}
	spans := 0
	for _, rs := range msg.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			spans += len(ss.GetSpans())
		}
	}
	return len(raw), spans, nil
}

// snapshot returns the counts so far.
func (r *otlpReceiver) snapshot() otlpCounts {
	return otlpCounts{r.requests.Load(), r.bytes.Load(), r.spans.Load(), r.bad.Load()}
}

// close stops the receiver.
func (r *otlpReceiver) close() error {
	err := r.srv.Close()
	<-r.done
	return err
}
