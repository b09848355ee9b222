package pcap

import (
	"fmt"
	"io"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// BenchmarkTapMessage is the cost on the connection's goroutine of keeping
// one traced message.
func BenchmarkTapMessage(b *testing.B) {
	r := NewRing(1 << 20)
	m := tapped(1, transport.Received, testEpoch, "bench", 300)
	b.SetBytes(int64(len(m.Data)))
	b.ReportAllocs()
	for b.Loop() {
		r.TapMessage(m)
	}
}

// BenchmarkWrite is the cost of writing one message to a pcap.
func BenchmarkWrite(b *testing.B) {
	rec := Record{ConnID: 1, Time: testEpoch, Local: testLocal, Remote: testRemote, Data: sipMessage("bench", 300)}
	w, err := NewWriter(io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(rec.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteRecord(&rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshot is the cost of copying out a full ring of 8 MiB, as the
// pcap export does.
func BenchmarkSnapshot(b *testing.B) {
	r := NewRing(8 << 20)
	m := tapped(1, transport.Received, testEpoch, "bench", 300)
	for range 40000 {
		r.TapMessage(m)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(r.Snapshot(Filter{})) == 0 {
			b.Fatal("empty snapshot")
		}
	}
}

// BenchmarkTapMessageCalls is TapMessage under forwarding load: a full
// ring of the default 16 MiB, each call's 12 messages (6 in, 6 out, on two
// connections) interleaved with those of the 400 calls around it, a new
// Call-ID every 12 messages, so that the index adds and evicts calls and
// the evicted records are cold in the cache, as in a forwarder.
func BenchmarkTapMessageCalls(b *testing.B) {
	const inFlight = 400
	r := NewRing(0)
	msgs := make([]*transport.TracedMessage, inFlight)
	for i := range msgs {
		msgs[i] = tapped(uint64(1+i%2), transport.Received, testEpoch, fmt.Sprintf("%08d-bench@192.0.2.1", i), 300)
	}
	call := 0
	tap := func(i int) {
		// Message i of the run belongs to call slot i % inFlight; every
		// 12 rounds a slot starts a new call.
		k := i % inFlight
		if (i/inFlight)%12 == 0 {
			call++
			copy(msgs[k].CallID, fmt.Sprintf("%08d", call))
		}
		r.TapMessage(msgs[k])
	}
	for i := range 200000 {
		tap(i)
	}
	b.SetBytes(int64(len(msgs[0].Data)))
	b.ReportAllocs()
	i := 200000
	for b.Loop() {
		tap(i)
		i++
	}
}
