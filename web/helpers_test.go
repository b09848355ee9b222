package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
)

// The real transport is what the server serves in these tests.
var _ Transport = (*transport.Transport)(nil)

const testToken = "s3cret-token"

// echoOptions answers every request with 200 OK.
func echoOptions(m *transport.Message) {
	if m.IsRequest {
		m.Conn.WriteMessage(framing.AppendResponse(nil, &m.Frame, 200, "OK"), m.CallID)
	}
}

type fixture struct {
	t    *testing.T
	tr   *transport.Transport
	sip  netip.AddrPort // the transport's SIP listener
	srv  *Server
	base string // http://127.0.0.1:port of the served server
}

type fixtureOpt func(*Config, *Deps)

// withToken sets the token testToken.
func withToken(c *Config, _ *Deps) { c.Token = testToken }

// newFixture starts a real transport on 127.0.0.1:0 and a Server for it,
// served on a real listener on 127.0.0.1:0. It has no token unless an
// option (withToken) sets one.
func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	return newFixtureWith(t, transport.Options{}, opts...)
}

// newFixtureWith is newFixture with a transport of the given options.
func newFixtureWith(t *testing.T, topts transport.Options, opts ...fixtureOpt) *fixture {
	t.Helper()
	tr := transport.New(topts, transport.HandlerFunc(echoOptions))
	cfg := Config{Listen: "127.0.0.1:0"}
	deps := Deps{Transport: tr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	if o, ok := deps.Pcap.(transport.Observer); ok {
		tr.AddObserver(o, transport.TracedEvents)
	}
	sip, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		tr.Shutdown(ctx)
	})
	return &fixture{t: t, tr: tr, sip: sip, srv: srv, base: "http://" + l.Addr().String()}
}

// do runs one request through the handler (httptest recorder).
func (f *fixture) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	req.Host = "127.0.0.1:8080"
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, req)
	return w
}

var bearer = []string{"Authorization", "Bearer " + testToken}

// decode unmarshals a JSON body.
func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return v
}

// wantError checks the status and the one error shape.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, contains string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	msg, ok := body["error"].(string)
	if len(body) != 1 || !ok || msg == "" {
		t.Fatalf("error body %s is not {\"error\": \"...\"}", w.Body)
	}
	if !strings.Contains(msg, contains) {
		t.Errorf("error %q does not say %q", msg, contains)
	}
}

// sipClient connects to the transport and sends one OPTIONS request, so that
// the connection is accepted and has traffic; it reads the 200 answer.
func (f *fixture) sipClient(callID string) net.Conn {
	f.t.Helper()
	c, err := net.DialTimeout("tcp", f.sip.String(), 5*time.Second)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	msg := fmt.Sprintf("OPTIONS sip:sipwire@%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-%s\r\n"+
		"From: <sip:test@127.0.0.1>;tag=1\r\nTo: <sip:sipwire@127.0.0.1>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", f.sip, c.LocalAddr(), callID, callID)
	out := f.tr.Stats().MessagesOut
	if _, err := c.Write([]byte(msg)); err != nil {
		f.t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		f.t.Fatalf("answer %q, %v", line, err)
	}
	c.SetReadDeadline(time.Time{})
	// The transport counts the answer just after its write, which the
	// client may read first: wait (bounded) for the count.
	for i := 0; f.tr.Stats().MessagesOut == out; i++ {
		if i == 1000 {
			f.t.Fatal("the answer was never counted as a message out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

// waitEvent polls the ring (bounded) until an event e with pred(e) is there.
func (f *fixture) waitEvent(pred func(Event) bool) Event {
	f.t.Helper()
	for range 1000 {
		for _, e := range f.srv.Ring().Query(EventQuery{}).Events {
			if pred(e) {
				return e
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatal("event not in the ring within 10 s")
	return Event{}
}

// sseReader reads Server-Sent Events.
type sseReader struct {
	t    *testing.T
	resp *http.Response
	br   *bufio.Reader
}

type sseEvent struct {
	event, id, data string
}

func openStream(t *testing.T, url string, hdr ...string) *sseReader {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream answered %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return &sseReader{t: t, resp: resp, br: bufio.NewReader(resp.Body)}
}

// next returns the next event, skipping comments; a stuck stream fails the
// test after 10 s.
func (r *sseReader) next() sseEvent {
	r.t.Helper()
	type result struct {
		ev  sseEvent
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var ev sseEvent
		for {
			line, err := r.br.ReadString('\n')
			if err != nil {
				ch <- result{err: err}
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.data != "" {
					ch <- result{ev: ev}
					return
				}
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "event: "):
				ev.event = line[len("event: "):]
			case strings.HasPrefix(line, "id: "):
				ev.id = line[len("id: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			r.t.Fatalf("stream: %v", res.err)
		}
		return res.ev
	case <-time.After(10 * time.Second):
		r.t.Fatal("no stream event within 10 s")
	}
	return sseEvent{}
}

func waitABit() { time.Sleep(10 * time.Millisecond) }

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func strconvI(n int) string    { return strconv.Itoa(n) }
func strconvU(n uint64) string { return strconv.FormatUint(n, 10) }
