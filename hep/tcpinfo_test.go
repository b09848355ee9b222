package hep

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

func tcpFigures() *transport.TCPInfo {
	return &transport.TCPInfo{
		State: transport.TCPCloseWait, RTT: 1234, RTTVar: 56, Retransmits: 1, TotalRetrans: 7, Lost: 2,
		Unacked: 3, Cwnd: 10, SendQueue: 70000, NotSent: 60000, RecvQueue: 5, SendWindow: 0,
		LastSend: 9, LastRecv: 11, Probes: 4, Backoff: 2,
	}
}

// The Homer payload of an event with the kernel's figures carries them all
// under TCP, with the keys of a TCPInfo's JSON; OpenSIPS' own payloads stay
// as OpenSIPS writes them.
func TestPayloadTCPInfo(t *testing.T) {
	e := closedEvent(9)
	e.TCP = tcpFigures()
	for _, f := range []struct {
		format Format
		style  PayloadStyle
		want   bool
	}{{FormatHomer, PayloadJSON, true}, {FormatOpenSIPS, PayloadJSON, false}, {FormatOpenSIPS, PayloadText, false}} {
		tr := &Tracer{format: f.format, payload: f.style, captureID: 1}
		b, err := tr.appendEvent(nil, &e, "")
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		if err := Decode(b, &p); err != nil {
			t.Fatal(err)
		}
		if has := strings.Contains(string(p.Payload), `"TCP":`); has != f.want {
			t.Fatalf("format %d style %d: TCP in payload %v: %s", f.format, f.style, has, p.Payload)
		}
		if !f.want {
			continue
		}
		var payload struct{ TCP transport.TCPInfo }
		if err := json.Unmarshal(p.Payload, &payload); err != nil {
			t.Fatalf("%s: %v", p.Payload, err)
		}
		if payload.TCP != *e.TCP {
			t.Fatalf("payload TCP %+v, event %+v", payload.TCP, *e.TCP)
		}
	}
	// Events without figures have no TCP key.
	e.TCP = nil
	b, _ := (&Tracer{format: FormatHomer, captureID: 1}).appendEvent(nil, &e, "")
	if strings.Contains(string(b), `"TCP":{`) {
		t.Fatalf("TCP in %q", b)
	}
}

// BenchmarkEncodeClosedTCPInfo is a Homer CLOSED packet with the kernel's
// figures: what the close-time reading adds to HEP.
func BenchmarkEncodeClosedTCPInfo(b *testing.B) {
	tr := &Tracer{format: FormatHomer, captureID: 1, nodeName: []byte("sipwire")}
	e := closedEvent(1234567)
	e.Time = time.Unix(1700000000, 0)
	e.TCP = tcpFigures()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.appendEvent(buf[:0], &e, ""); err != nil {
			b.Fatal(err)
		}
	}
}
