package web

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// BenchmarkEventRingConsume measures what one event costs the ring's
// consumer: its compact record, kept.
func BenchmarkEventRingConsume(b *testing.B) {
	r := NewEventRing(DefaultEventRingSize)
	e := transport.Event{Kind: transport.EventClosed, ConnID: 7, Time: time.Now(),
		Local: netip.MustParseAddrPort("127.0.0.1:5060"), Remote: netip.MustParseAddrPort("127.0.0.1:40000"), Reason: "EOF received"}
	b.ReportAllocs()
	for b.Loop() {
		r.observe(&e)
	}
}
