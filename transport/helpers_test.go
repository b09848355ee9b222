package transport

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport/framing"
)

// responseBufs keeps the test handler from allocating, so that the
// benchmarks show the transport's own allocations.
var responseBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// echoOptions answers OPTIONS with 200 and any other request with 501.
func echoOptions(m *Message) {
	if !m.IsRequest {
		return
	}
	code, phrase := 501, "Not Implemented"
	if string(m.Method) == "OPTIONS" {
		code, phrase = 200, "OK"
	}
	bp := responseBufs.Get().(*[]byte)
	*bp = framing.AppendResponse((*bp)[:0], &m.Frame, code, phrase)
	m.Reply(*bp)
	responseBufs.Put(bp)
}

type harness struct {
	t    *testing.T
	tr   *Transport
	addr netip.AddrPort
	sub  *Subscription
}

func newHarness(t *testing.T, opts Options, h Handler) *harness {
	t.Helper()
	if h == nil {
		h = HandlerFunc(echoOptions)
	}
	tr := New(opts, h)
	sub := tr.Subscribe("test", 1024, AllEvents)
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &harness{t: t, tr: tr, addr: addr, sub: sub}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tr.Shutdown(ctx)
	})
	return hs
}

func (h *harness) dial() net.Conn {
	h.t.Helper()
	c, err := net.DialTimeout("tcp", h.addr.String(), 5*time.Second)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	return c
}

// next waits for the next event (bounded).
func (h *harness) next() Event {
	h.t.Helper()
	select {
	case e, ok := <-h.sub.Events():
		if !ok {
			h.t.Fatal("event queue closed")
		}
		return e
	case <-time.After(10 * time.Second):
		h.t.Fatal("no event within 10s")
	}
	return Event{}
}

// kinds collects events until CLOSED of conn id (or n events) and returns
// "KIND/STATUS/reason" lines.
func (h *harness) untilClosed() []string {
	h.t.Helper()
	var out []string
	for range 50 {
		e := h.next()
		out = append(out, e.Kind.String()+"/"+e.Status.String()+"/"+e.Reason)
		if e.Kind == EventClosed {
			return out
		}
	}
	h.t.Fatalf("no CLOSED among %v", out)
	return nil
}

func readResponse(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var b bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			t.Fatalf("reading response: %v (got %q)", err, b.String())
		}
		if line == "\r\n" {
			return b.String()
		}
	}
}

const optionsReq = "OPTIONS sip:127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-1\r\n" +
	"From: <sip:a@127.0.0.1>;tag=abc\r\n" +
	"To: <sip:127.0.0.1>\r\n" +
	"Call-ID: call-1@test\r\n" +
	"CSeq: 1 OPTIONS\r\n" +
	"Max-Forwards: 70\r\n" +
	"Content-Length: 0\r\n\r\n"

func options(callID string) string {
	return strings.Replace(optionsReq, "call-1@test", callID, 1)
}

func readAllClosed(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

func itoa(n int) string { return strconv.Itoa(n) }
