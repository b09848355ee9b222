package hep

import (
	"io"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStreamPaced is the CPU a HEP destination costs under a
// forwarder's steady load: 12 messages (a call) every 250 µs, 48,000
// packets a second, encoded by the producer and sent over TCP (or UDP) to a
// collector that reads and discards, all in this process. Between calls the producer stays busy
// (it spins, as a forwarder's goroutines handle SIP), so that the worker's
// wake-ups cost what they cost in a forwarder. It reports the process's
// CPU time beyond the producer's thread per packet, until every packet is
// sent: the worker, the kernel, the collector.
func BenchmarkStreamPaced(b *testing.B) {
	b.Run("tcp", func(b *testing.B) { pacedLoad(b, newTCPSink(b)) })
	b.Run("udp", func(b *testing.B) { pacedLoad(b, newUDPSink(b)) })
	// One datagram per sendmmsg message, as before UDP trains.
	b.Run("udp-no-gso", func(b *testing.B) { pacedLoad(b, newUDPSink(b), func(c *Config) { c.DisableUDPGSO = true }) })
}

// newTCPSink is a HEP/TCP destination on 127.0.0.1 that reads and discards
// whatever one connection sends, until the test ends.
func newTCPSink(tb testing.TB) Destination {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(io.Discard, c)
	}()
	return Destination{Name: "stream", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Transport: TCP, Version: 3}
}

// pacedLoad runs BenchmarkStreamPaced's load against dest, with the
// tracer's configuration changed by each of opts.
func pacedLoad(b *testing.B, dest Destination, opts ...func(*Config)) {
	cfg := Config{Destinations: []Destination{dest}, Format: FormatOpenSIPS, Logger: quietLogger()}
	for _, o := range opts {
		o(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer closeTracer(b, tr)
	m := tapped("a84b4c76e66710@pc33.atlanta.example.com", "bench", 300)
	waitFor(b, "the destination", func() bool { return tr.Stats()[0].Connected })
	const (
		perCall = 12
		every   = 250 * time.Microsecond
	)
	// The producer's own CPU is its thread's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, own0, t0 := rusageCPU(syscall.RUSAGE_SELF), rusageCPU(rusageThread), time.Now()
	b.ResetTimer()
	next := t0
	for n := 0; n < b.N; n += perCall {
		for range perCall {
			tr.TapMessage(m)
		}
		next = next.Add(every)
		for time.Now().Before(next) {
		}
	}
	sent := uint64(b.N+perCall-1) / perCall * perCall
	waitFor(b, "every packet sent", func() bool { st := tr.Stats()[0]; return st.PacketsSent+st.Drops.Total() >= sent })
	cpu := rusageCPU(syscall.RUSAGE_SELF) - cpu0 - (rusageCPU(rusageThread) - own0)
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(sent), "cpu-µs/pkt")
	b.ReportMetric(float64(tr.Stats()[0].Drops.Total()), "drops")
}

// rusageThread is RUSAGE_THREAD (Linux): the calling thread's usage.
const rusageThread = 1

// rusageCPU is the user and system CPU time so far of this process
// (syscall.RUSAGE_SELF) or of the calling thread (rusageThread).
func rusageCPU(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
