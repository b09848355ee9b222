package hep

import (
	"net"
	"testing"
	"time"
)

func BenchmarkAppendPacket(b *testing.B) {
	p := samplePacket4()
	p.Payload = []byte(`{"Protocol":"TCP","Event":"ACCEPTED","Status":"SUCCESS","Message":"Connection accepted..."}`)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AppendPacket(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEvent is the whole encoding of a network event: chunks
// and payload formatting.
func BenchmarkEncodeEvent(b *testing.B) {
	for _, f := range []struct {
		name   string
		format Format
		style  PayloadStyle
	}{{"homer", FormatHomer, PayloadJSON}, {"opensips-json", FormatOpenSIPS, PayloadJSON}, {"opensips-text", FormatOpenSIPS, PayloadText}} {
		b.Run(f.name, func(b *testing.B) {
			tr := &Tracer{format: f.format, payload: f.style, captureID: 1, nodeName: []byte("sipwire")}
			e := acceptedEvent(1234567)
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.appendEvent(buf[:0], &e, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeSIPMessage encodes a ~900-byte INVITE as HEP type 1.
func BenchmarkEncodeSIPMessage(b *testing.B) {
	tr := &Tracer{captureID: 1, nodeName: []byte("sipwire")}
	m := tapped("a84b4c76e66710@pc33.atlanta.example.com", "bench", 600)
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(m.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.appendMessage(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	pkt, err := AppendPacket(nil, samplePacket4())
	if err != nil {
		b.Fatal(err)
	}
	var p Packet
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(pkt, &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTapMessage is the cost on the connection's goroutine: encoding
// into a pooled scratch buffer and copying it into the sender's queue (the
// sender drains to a UDP sink).
func BenchmarkTapMessage(b *testing.B) {
	sink := newUDPSink(b)
	tr, err := New(Config{Destinations: []Destination{sink}, Format: FormatOpenSIPS, QueueSize: 1 << 16, QueueBytes: 1 << 30, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer closeTracer(b, tr)
	m := tapped("a84b4c76e66710@pc33.atlanta.example.com", "bench", 300)
	b.ReportAllocs()
	for b.Loop() {
		tr.TapMessage(m)
	}
}

// BenchmarkUDPSenderThroughput measures packets per second that one UDP
// destination sends (sendmmsg batches), with the producer held below the
// queue bound so that nothing is dropped. Every packet is of one
// connection, so one worker sends them all; BenchmarkSenderUDPWorkers
// compares one worker with several.
func BenchmarkUDPSenderThroughput(b *testing.B) {
	sink := newUDPSink(b)
	const queue = 1 << 14
	tr, err := New(Config{Destinations: []Destination{sink}, Format: FormatOpenSIPS, QueueSize: queue, QueueBytes: 1 << 30, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer closeTracer(b, tr)
	m := tapped("a84b4c76e66710@pc33.atlanta.example.com", "bench", 300)
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		if i%1024 == 0 {
			for tr.Stats()[0].QueueLen > queue/2 {
				time.Sleep(50 * time.Microsecond)
			}
		}
		tr.TapMessage(m)
	}
	for {
		st := tr.Stats()[0]
		if st.PacketsSent+st.Drops.Total() >= uint64(b.N) {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	st := tr.Stats()[0]
	b.ReportMetric(float64(st.PacketsSent)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64(st.Drops.Total()), "drops")
}

// newUDPSink returns a destination whose socket reads and discards.
func newUDPSink(b *testing.B) Destination {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	c.SetReadBuffer(8 << 20)
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := c.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() { c.Close() })
	return Destination{Name: "sink", Host: "127.0.0.1", Port: c.LocalAddr().(*net.UDPAddr).Port, Transport: UDP, Version: 3}
}
