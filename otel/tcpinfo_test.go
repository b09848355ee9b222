package otel

import (
	"os"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/transport"
	"go.opentelemetry.io/otel/attribute"
)

// The lifetime span carries the kernel's figures of CLOSED as
// sipwire.tcp.* attributes, every one of them documented in doc.go.
func TestLifetimeSpanTCPInfo(t *testing.T) {
	e, mem := newTestExporter(t, Config{})
	closed := inbound(transport.EventClosed, 1, 500, "EOF received")
	closed.TCP = &transport.TCPInfo{State: transport.TCPCloseWait, RTT: 321, TotalRetrans: 4, SendQueue: 9000, Probes: 2}
	spans := play(t, e, mem, inbound(transport.EventAccepted, 1, 0, "Connection accepted"), closed)
	s := one(t, spans, SpanConnection)
	want := map[attribute.Key]any{AttrTCPState: "close-wait"}
	for _, f := range closed.TCP.Fields() {
		want[attribute.Key(AttrTCPPrefix+f.Key)] = int64(f.Value)
	}
	wantAttrs(t, "lifetime", s.Attributes, want)

	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for k := range want {
		if !strings.Contains(string(doc), string(k)) {
			t.Errorf("doc.go does not document %s", k)
		}
	}

	// A CLOSED without figures adds none.
	e, mem = newTestExporter(t, Config{})
	spans = play(t, e, mem, inbound(transport.EventAccepted, 2, 0, "Connection accepted"), inbound(transport.EventClosed, 2, 10, "EOF received"))
	for _, a := range one(t, spans, SpanConnection).Attributes {
		if strings.HasPrefix(string(a.Key), AttrTCPPrefix) {
			t.Fatalf("attribute %s on a span whose CLOSED had no figures", a.Key)
		}
	}
}
