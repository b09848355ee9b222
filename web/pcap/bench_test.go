package pcap

import (
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
