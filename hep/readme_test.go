package hep

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// The README documents every key of the Homer event payload, the CallID of
// the repeats included.
func TestReadmeDocumentsEveryPayloadKey(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tr := &Tracer{format: FormatHomer, captureID: 1}
	e := closedEvent(7)
	e.TCP = &transport.TCPInfo{State: transport.TCPEstablished, RTT: 40}
	b, err := tr.appendEvent(nil, &e, "call-1@host")
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	if err := Decode(b, &p); err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(p.Payload, &payload); err != nil {
		t.Fatalf("%s: %v", p.Payload, err)
	}
	if _, ok := payload["CallID"]; !ok {
		t.Fatalf("no CallID in a repeat's payload %s", p.Payload)
	}
	for k := range payload {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("README.md does not document the payload key `%s`", k)
		}
	}
	tcp, ok := payload["TCP"].(map[string]any)
	if !ok {
		t.Fatalf("no TCP object in a CLOSED payload with figures %s", p.Payload)
	}
	for k := range tcp {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("README.md does not document the payload key `TCP.%s`", k)
		}
	}
}
