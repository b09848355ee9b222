package main

import (
	"bufio"
	"net"
	"syscall"
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
			rounds := func(n int) (time.Duration, time.Duration) {
				start, cpu0 := time.Now(), processCPU()
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
				return time.Since(start), processCPU() - cpu0
			}
			const round = 500
			var off, on, offCPU, onCPU time.Duration
			var n int
			b.ResetTimer()
			for n < b.N {
				a.tr.SetTracing(false)
				w, c := rounds(round)
				off, offCPU = off+w, offCPU+c
				a.tr.SetTracing(true)
				w, c = rounds(round)
				on, onCPU = on+w, onCPU+c
				n += 2 * round
			}
			total := float64(n / 2)
			b.ReportMetric(total/off.Seconds(), "off-rt/s")
			b.ReportMetric(total/on.Seconds(), "on-rt/s")
			b.ReportMetric(off.Seconds()/on.Seconds(), "wall-on/off")
			// CPU time of the whole process (client included) per round
			// trip: steadier than wall time on a shared machine.
			b.ReportMetric(float64(offCPU.Microseconds())/total, "off-cpu-µs/rt")
			b.ReportMetric(float64(onCPU.Microseconds())/total, "on-cpu-µs/rt")
			b.ReportMetric(offCPU.Seconds()/onCPU.Seconds(), "cpu-off/on")
		})
	}
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
