package otel

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/sipwire/sipwire/transport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

const optionsMsg = "OPTIONS sip:peer@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-otel-1\r\n" +
	"From: <sip:otel@127.0.0.1>;tag=1\r\nTo: <sip:peer@127.0.0.1>\r\n" +
	"Call-ID: otel-test-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"

// End to end with the real transport: its traced-events subscription feeds
// ConsumeSubscription, and the spans match what happened on the sockets.
func TestWithTransport(t *testing.T) {
	t.Parallel()
	tr := transport.New(transport.Options{}, transport.HandlerFunc(func(*transport.Message) {}))
	tr.SetTracing(true)
	if _, err := tr.Listen("tcp:127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	listen := tr.Listeners()[0]
	sub := tr.Subscribe("otel", 1024, transport.TracedEvents)
	e, mem := newTestExporter(t, Config{})
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		e.ConsumeSubscription(context.Background(), sub)
	}()

	// An inbound connection that sends something that is not SIP.
	c, err := net.Dial("tcp", listen.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, c) // until the transport closes it
	c.Close()

	// An outbound connection to a live peer, and a connect to a dead port.
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	go func() {
		if pc, err := peer.Accept(); err == nil {
			_, _ = io.Copy(io.Discard, pc)
			pc.Close()
		}
	}()
	if err := tr.Send(netip.MustParseAddrPort(peer.Addr().String()), []byte(optionsMsg), nil); err != nil {
		t.Fatal(err)
	}
	dead := netip.MustParseAddrPort(deadEndpoint(t))
	failedConnect := make(chan error, 1)
	if err := tr.Send(dead, []byte(optionsMsg), func(err error) { failedConnect <- err }); err == nil {
		if err := <-failedConnect; err == nil {
			t.Fatal("send to a dead port succeeded")
		}
	}

	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-ran // the subscription's channel is closed after the last event
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := mem.GetSpans()

	var in, out []string
	for _, s := range byName(spans, SpanConnection) {
		switch s.SpanKind {
		case trace.SpanKindServer:
			et, _ := attr(s.Attributes, semconv.ErrorTypeKey)
			in = append(in, et.AsString())
			if s.Status.Code != codes.Error {
				t.Errorf("inbound status %+v", s.Status)
			}
			wantAttrs(t, "inbound", s.Attributes, map[attribute.Key]any{
				semconv.NetworkLocalPortKey: int64(listen.Port()), AttrListener: listen.String()})
		case trace.SpanKindClient:
			r, _ := attr(s.Attributes, AttrCloseReason)
			out = append(out, r.AsString())
			wantAttrs(t, "outbound", s.Attributes, map[attribute.Key]any{
				semconv.ServerPortKey: int64(netip.MustParseAddrPort(peer.Addr().String()).Port())})
		}
	}
	if len(in) != 1 || in[0] != "BAD_MESSAGE" {
		t.Errorf("inbound lifetime spans with error types %q, want [BAD_MESSAGE]", in)
	}
	if len(out) != 1 || out[0] != "Shutdown" {
		t.Errorf("outbound lifetime spans closed by %q, want [Shutdown]", out)
	}
	var ok, bad int
	for _, s := range byName(spans, SpanConnect) {
		if s.Status.Code == codes.Error {
			bad++
			wantAttrs(t, "failed connect", s.Attributes, map[attribute.Key]any{
				semconv.ErrorTypeKey: "CONNECT_FAILED", semconv.NetworkPeerPortKey: int64(dead.Port())})
		} else {
			ok++
		}
	}
	if ok != 1 || bad != 1 || len(byName(spans, SpanOpen)) != 2 {
		t.Errorf("spans %v, want one good and one failed connect, two open spans", names(spans))
	}
	st := e.Stats()
	if st.EventsReceived != sub.Offered()-sub.Dropped() || st.InputQueueCap != 1024 || st.Dropped.InputQueueFull != sub.Dropped() {
		t.Errorf("stats %+v vs subscription offered %d dropped %d", st, sub.Offered(), sub.Dropped())
	}
	if st.EventsUnmatched != 0 || st.PartialConnections != 0 || st.OpenConnections != 0 {
		t.Errorf("stats %+v", st)
	}
}
