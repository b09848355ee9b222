package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
	"github.com/sipwire/sipwire/web"
)

const token = "tok-123"

type fixture struct {
	t    *testing.T
	tr   *transport.Transport
	sip  netip.AddrPort
	srv  *web.Server
	base string
}

// newFixture runs a real transport and a real web server on 127.0.0.1.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	tr := transport.New(transport.Options{}, transport.HandlerFunc(func(m *transport.Message) {
		if m.IsRequest {
			m.Conn.WriteMessage(framing.AppendResponse(nil, &m.Frame, 200, "OK"), m.CallID)
		}
	}))
	sip, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Listen: "127.0.0.1:0", Token: token},
		web.Deps{Transport: tr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		tr.Shutdown(ctx)
	})
	return &fixture{t: t, tr: tr, sip: sip, srv: srv, base: "http://" + l.Addr().String()}
}

// connect opens a SIP connection and sends one OPTIONS, reading the answer.
func (f *fixture) connect() net.Conn {
	f.t.Helper()
	c, err := net.DialTimeout("tcp", f.sip.String(), 5*time.Second)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "OPTIONS sip:x@%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-1\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\n"+
		"To: <sip:x@127.0.0.1>\r\nCall-ID: cli-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", f.sip, c.LocalAddr())
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		f.t.Fatalf("answer %q %v", line, err)
	}
	return c
}

func TestClientTrace(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	c := New(f.base, token)
	if s, err := c.Trace(ctx, ""); err != nil || s != "off" {
		t.Fatalf("Trace() = %q, %v", s, err)
	}
	if s, err := c.Trace(ctx, "on"); err != nil || s != "on" || !f.tr.Tracing() {
		t.Fatalf("Trace(on) = %q, %v", s, err)
	}
	_, err := New(f.base, "").Trace(ctx, "off")
	var ae *APIError
	if !errors.Is(err, ErrAPI) || !errors.As(err, &ae) || ae.Status != 401 || !f.tr.Tracing() {
		t.Fatalf("Trace(off) without token = %v", err)
	}
	_, err = c.Trace(ctx, "onX")
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, `"on" or "off"`) {
		t.Fatalf("Trace(onX) = %v", err)
	}
}

func TestClientConnsAndClose(t *testing.T) {
	f := newFixture(t)
	sc := f.connect()
	c := New(strings.TrimPrefix(f.base, "http://"), token) // scheme-less base URL
	conns, err := c.Conns(t.Context())
	if err != nil || len(conns) != 1 || conns[0].Remote != sc.LocalAddr().String() {
		t.Fatalf("Conns = %+v, %v", conns, err)
	}
	if err := c.CloseConn(t.Context(), conns[0].ID, "cli test"); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseConn(t.Context(), conns[0].ID, ""); !errors.Is(err, ErrAPI) {
		t.Fatalf("second close = %v", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := New("http://"+addr, "").Conns(t.Context()); !errors.Is(err, ErrRequest) {
		t.Fatalf("Conns on a closed port = %v", err)
	}
}

// lineWriter collects lines and signals each one.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 100)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines <- string(w.buf.Next(i + 1))
	}
}

func (w *lineWriter) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-w.lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no line within 10 s")
	}
	return ""
}

func TestClientFollow(t *testing.T) {
	f := newFixture(t)
	c := New(f.base, token)
	ctx, cancel := context.WithCancel(t.Context())
	w := newLineWriter()
	done := make(chan error, 1)
	go func() { done <- c.Follow(ctx, w) }()
	// The stream is open once the server counts it; connect after that.
	for range 1000 {
		if f.tr.Stats().Accepted == 0 && streamOpen(t, f) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	sc := f.connect()
	line := w.next(t)
	if !strings.Contains(line, " ACCEPTED SUCCESS conn=1 in ") || !strings.Contains(line, sc.LocalAddr().String()) ||
		!strings.Contains(line, "Connection accepted") {
		t.Errorf("line %q", line)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Follow after cancel = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return after cancel")
	}
}

func streamOpen(t *testing.T, f *fixture) bool {
	t.Helper()
	var st web.StatsBody
	c := New(f.base, token)
	if _, err := c.do(t.Context(), c.HTTP, "GET", "/api/v1/stats", nil, &st); err != nil {
		t.Fatal(err)
	}
	return st.Web.StreamClients > 0
}

func TestFollowEndsWithServer(t *testing.T) {
	f := newFixture(t)
	c := New(f.base, token)
	done := make(chan error, 1)
	go func() { done <- c.FollowEvents(t.Context(), EventFilter{}, func(web.Event) error { return nil }) }()
	for range 1000 {
		if streamOpen(t, f) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.srv.Shutdown(t.Context())
	select {
	case err := <-done:
		if !errors.Is(err, ErrStreamEnded) {
			t.Errorf("FollowEvents = %v, want ErrStreamEnded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("FollowEvents did not return after the server shut down")
	}
}
