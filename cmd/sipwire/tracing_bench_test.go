package main

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// BenchmarkTracingCost measures OPTIONS → 200 round trips over one
// connection with tracing off and on, alternating rounds on the same app and
// connection so that both see the same machine; it reports both rates and
// their ratio (goal: ≥ 0.9 with HEP, ≥ 0.85 with HEP and OpenTelemetry).
func BenchmarkTracingCost(b *testing.B) {
	for _, tc := range []struct {
		name string
		otel bool
	}{{"hep", false}, {"hep+otel", true}} {
		b.Run(tc.name, func(b *testing.B) {
			// The HEP collector is a socket that never reads: the kernel
			// drops what overflows its buffer, so the figures are sipwire's
			// cost alone, not a collector's sharing these two CPUs.
			sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close()
			otlp := ""
			if tc.otel {
				otlp = newOTLPReceiver(b).srv.URL
			}
			cfg := testConfigTB(sink.LocalAddr().String(), otlp)
			a := startApp(b, cfg)
			defer stopApp(b, a)
			c, err := net.Dial("tcp", a.listeners[0].String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			req := []byte(request("OPTIONS", "bench-1"))
			rounds := func(n int) time.Duration {
				start := time.Now()
				for range n {
					c.Write(req)
					for {
						line, err := r.ReadSlice('\n')
						if err != nil {
							b.Fatal(err)
						}
						if len(line) == 2 {
							break
						}
					}
				}
				return time.Since(start)
			}
			const round = 500
			var off, on time.Duration
			var n int
			b.ResetTimer()
			for n < b.N {
				a.tr.SetTracing(false)
				off += rounds(round)
				a.tr.SetTracing(true)
				on += rounds(round)
				n += 2 * round
			}
			total := float64(n / 2)
			b.ReportMetric(total/off.Seconds(), "off-rt/s")
			b.ReportMetric(total/on.Seconds(), "on-rt/s")
			b.ReportMetric(off.Seconds()/on.Seconds(), "on/off")
		})
	}
}
