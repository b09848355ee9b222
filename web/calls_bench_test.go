package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web/pcap"
)

// ladderServer is a server whose pcap ring holds 10,000 calls of 12
// messages each (120,000 messages, about 70 MB), as SIPp through the
// forwarder makes them.
func ladderServer(b *testing.B) *Server {
	b.Helper()
	ring := pcap.NewRing(96 << 20)
	at := time.Now().Add(-time.Hour)
	body := make([]byte, 300)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	for c := range 10000 {
		id := fmt.Sprintf("%d-4242@127.0.0.1", c+1)
		for i := range 12 {
			at = at.Add(10 * time.Microsecond)
			data := fmt.Appendf(nil, "INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bK-%d\r\n"+
				"Call-ID: %s\r\nCSeq: %d INVITE\r\nContent-Length: %d\r\n\r\n%s", i, id, i, len(body), body)
			ring.TapMessage(&transport.TracedMessage{
				Conn:      transport.ConnInfo{ID: uint64(1 + c%2000), Local: netip.MustParseAddrPort("127.0.0.1:5060"), Remote: netip.MustParseAddrPort("127.0.0.1:40000")},
				Direction: transport.MessageDirection(i % 2), Time: at, Data: data, CallID: []byte(id),
			})
		}
	}
	if st := ring.Stats(); st.Evicted != 0 || st.Messages != 120000 {
		b.Fatalf("ring %+v", st)
	}
	tr := transport.New(transport.Options{}, transport.HandlerFunc(func(*transport.Message) {}))
	srv, err := New(Config{Listen: "127.0.0.1:0"}, Deps{Transport: tr, Pcap: ring, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		srv.Shutdown(b.Context())
		tr.Shutdown(b.Context())
	})
	return srv
}

func serve(b *testing.B, srv *Server, target string) int {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = "127.0.0.1:8080"
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
	}
	return w.Body.Len()
}

// BenchmarkLadderOf10000Calls is GET /calls/{id}/ladder with 10,000 calls
// held: the index lookup, the events and the JSON of 12 messages.
func BenchmarkLadderOf10000Calls(b *testing.B) {
	srv := ladderServer(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		serve(b, srv, fmt.Sprintf("/api/v1/calls/%d-4242@127.0.0.1/ladder", 1+i%10000))
	}
}

// BenchmarkCallSearchOf10000Calls is GET /calls?search= over 10,000 calls.
func BenchmarkCallSearchOf10000Calls(b *testing.B) {
	srv := ladderServer(b)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, srv, "/api/v1/calls?search=777")
	}
}
