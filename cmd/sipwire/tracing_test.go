package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/hep"
)

// In-process tests of the fan-out: HEP and OpenTelemetry side by side.

// hepReceiver collects the HEP event packets (proto type 100) sent to it.
type hepReceiver struct {
	conn *net.UDPConn
	mu   sync.Mutex
	evs  []map[string]any
	sip  int
}

func newHEPReceiver(t testing.TB) *hepReceiver {
	t.Helper()
	r := &hepReceiver{}
	r.conn = serveHEP(t, 0, func(p *hep.Packet) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch p.ProtoType {
		case 100:
			var m map[string]any
			if err := json.Unmarshal(p.Payload, &m); err != nil {
				t.Errorf("HEP event payload %q: %v", p.Payload, err)
			}
			r.evs = append(r.evs, m)
		case 1:
			r.sip++
		}
	})
	return r
}

// serveHEP listens for HEP over UDP on 127.0.0.1 (with a receive buffer of
// readBuffer bytes when not zero) and calls handle with every packet, which
// must decode, until the test ends.
func serveHEP(t testing.TB, readBuffer int, handle func(*hep.Packet)) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if readBuffer > 0 {
		c.SetReadBuffer(readBuffer)
	}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			var p hep.Packet
			if err := hep.Decode(buf[:n], &p); err != nil {
				t.Errorf("undecodable HEP packet: %v", err)
				continue
			}
			handle(&p)
		}
	}()
	t.Cleanup(func() { c.Close() })
	return c
}

// connEvents lists the kinds of the events of one connection, correlated by
// connection id (the Call-ID copies of Homer's call view left out).
func (r *hepReceiver) connEvents(id uint64) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.evs {
		if m["ConnID"] == float64(id) && m["CallID"] == nil {
			out = append(out, m["Event"].(string))
		}
	}
	return out
}

// otlpReceiver decodes OTLP/HTTP trace exports and keeps each span's name
// and attributes.
type otlpReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []map[string]string
}

func newOTLPReceiver(t testing.TB) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ex coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &ex); err != nil {
			t.Errorf("OTLP body: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range ex.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					m := map[string]string{"name": sp.Name, "kind": sp.Kind.String(), "status": sp.Status.GetCode().String()}
					for _, kv := range sp.Attributes {
						switch v := kv.Value.Value.(type) {
						case interface{ GetStringValue() string }:
							m[kv.Key] = v.GetStringValue()
						}
						if iv := kv.Value.GetIntValue(); iv != 0 {
							m[kv.Key] = strconv.FormatInt(iv, 10)
						}
						if sv := kv.Value.GetStringValue(); sv != "" {
							m[kv.Key] = sv
						}
					}
					r.spans = append(r.spans, m)
				}
			}
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(nil)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *otlpReceiver) connSpans(id uint64) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, s := range r.spans {
		if s["sipwire.connection.id"] == strconv.FormatUint(id, 10) {
			out = append(out, s)
		}
	}
	return out
}

func testConfig(t *testing.T, hepAddr, otlpURL string) *config.Config {
	t.Helper()
	return testConfigTB(hepAddr, otlpURL)
}

func testConfigTB(hepAddr, otlpURL string) *config.Config {
	cfg := config.Default()
	cfg.Socket = []string{"tcp:127.0.0.1:0"}
	cfg.HepID = []string{"[t] " + hepAddr + "; transport=udp; version=3"}
	cfg.TraceDestination = "t"
	cfg.OTel.Endpoint = otlpURL
	cfg.OTel.Protocol = "http/protobuf"
	cfg.History.Enabled = false
	return cfg
}

func startApp(t testing.TB, cfg *config.Config) *app {
	t.Helper()
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(context.Background(), "off"); err != nil {
		t.Fatal(err)
	}
	return a
}

func stopApp(t testing.TB, a *app) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func optionsOver(t testing.TB, a *app, callID string) uint64 {
	t.Helper()
	c, err := net.Dial("tcp", a.listeners[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(request("OPTIONS", callID)))
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	var id uint64
	for _, cs := range a.tr.Connections() {
		if cs.Remote == c.LocalAddr().String() {
			id = cs.ID
		}
	}
	if id == 0 {
		t.Fatal("connection not in the table")
	}
	c.Close()
	for range 400 { // until the transport has seen the EOF
		if a.tr.Conn(id) == nil {
			return id
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("connection %d still open after the client closed", id)
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestHEPAndOTelSeeTheSameEvents(t *testing.T) {
	hr := newHEPReceiver(t)
	or := newOTLPReceiver(t)
	cfg := testConfig(t, hr.conn.LocalAddr().String(), or.srv.URL)
	a := startApp(t, cfg)
	id := optionsOver(t, a, "both-1")
	stopApp(t, a) // flushes both exporters

	kinds := hr.connEvents(id)
	if !slices.Equal(kinds, []string{"ACCEPTED", "CLOSED"}) {
		t.Fatalf("HEP events of connection %d: %q", id, kinds)
	}
	if hr.sip != 2 {
		t.Fatalf("HEP SIP messages: %d, want the OPTIONS and its 200", hr.sip)
	}
	spans := or.connSpans(id)
	var lifetime map[string]string
	for _, s := range spans {
		if s["kind"] == "SPAN_KIND_SERVER" && s["sipwire.close.reason"] != "" {
			lifetime = s
		}
	}
	if lifetime == nil {
		t.Fatalf("no ended SERVER span for connection %d among %v", id, spans)
	}
	if lifetime["sipwire.close.reason"] != "EOF received" || lifetime["network.transport"] != "tcp" || lifetime["network.local.address"] != "127.0.0.1" {
		t.Fatalf("lifetime span %v", lifetime)
	}
}

func TestTraceFilterDropsInBothExporters(t *testing.T) {
	hr := newHEPReceiver(t)
	or := newOTLPReceiver(t)
	cfg := testConfig(t, hr.conn.LocalAddr().String(), or.srv.URL)
	cfg.Route["nolocal"] = `if ($si == "127.0.0.1") drop; else exit;`
	cfg.TraceFilterRoute = "nolocal"
	a := startApp(t, cfg)
	id := optionsOver(t, a, "dropped-1")
	stopApp(t, a)
	if k := hr.connEvents(id); len(k) != 0 || hr.sip != 0 {
		t.Fatalf("HEP saw a dropped connection: %q, %d SIP", k, hr.sip)
	}
	if s := or.connSpans(id); len(s) != 0 {
		t.Fatalf("OTel saw a dropped connection: %v", s)
	}
}

func TestDeadOTLPEndpointLeavesHEPAndSIPAlone(t *testing.T) {
	hr := newHEPReceiver(t)
	dead := freeAddr(t) // nothing listens there
	cfg := testConfig(t, hr.conn.LocalAddr().String(), "http://"+dead)
	a := startApp(t, cfg)
	var ids []uint64
	for i := range 20 {
		ids = append(ids, optionsOver(t, a, "dead-"+strconv.Itoa(i)))
	}
	waitFor(t, "every HEP event", func() bool {
		for _, id := range ids {
			if len(hr.connEvents(id)) != 2 {
				return false
			}
		}
		return true
	})
	stopApp(t, a)
	st := a.otel.Stats()
	if st.SpansExported != 0 || st.SpansFailed == 0 {
		t.Fatalf("otel stats with a dead endpoint: %+v", st)
	}
}
