package otel

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// BenchmarkInboundConnection: one op is one connection, ACCEPTED then
// CLOSED 100 ms later, a new connection every 500 µs (2,000 a second, as
// in the load benchmark's one connection per call): the lifetime span only
// (the open span waits for the connection to be open for the open-span
// delay, 1 s).
func BenchmarkInboundConnection(b *testing.B) {
	e, err := NewWithSpanExporter(context.Background(), Config{}, tracetest.NewNoopExporter())
	if err != nil {
		b.Fatal(err)
	}
	acc := inbound(transport.EventAccepted, 0, 0, "Connection accepted")
	cls := inbound(transport.EventClosed, 0, 0, "EOF received")
	b.ReportAllocs()
	cpu := cpuTime(b)
	id := uint64(0)
	for b.Loop() {
		id++
		acc.ConnID, cls.ConnID = id, id
		acc.Time = base.Add(time.Duration(id) * 500 * time.Microsecond)
		cls.Time = acc.Time.Add(100 * time.Millisecond)
		e.HandleEvent(&acc)
		e.HandleEvent(&cls)
	}
	b.StopTimer()
	report(b, e, cpu)
}

// BenchmarkOutboundConnection: CONNECT_START, CONNECTED, CLOSED; three spans
// (connect, open, lifetime) per connection.
func BenchmarkOutboundConnection(b *testing.B) {
	e, err := NewWithSpanExporter(context.Background(), Config{}, tracetest.NewNoopExporter())
	if err != nil {
		b.Fatal(err)
	}
	evs := []transport.Event{
		outbound(transport.EventConnectStart, 0, 0, "Async connect in progress"),
		outbound(transport.EventConnected, 0, 1, "Successfully connected"),
		outbound(transport.EventClosed, 0, 5, "EOF received"),
	}
	b.ReportAllocs()
	cpu := cpuTime(b)
	id := uint64(0)
	for b.Loop() {
		id++
		for i := range evs {
			evs[i].ConnID = id
			e.HandleEvent(&evs[i])
		}
	}
	b.StopTimer()
	report(b, e, cpu)
}

// BenchmarkRun measures the consumer loop on a channel, as with a
// subscription: one op is one event (ACCEPTED or CLOSED alternately).
func BenchmarkRun(b *testing.B) {
	e, err := NewWithSpanExporter(context.Background(), Config{}, tracetest.NewNoopExporter())
	if err != nil {
		b.Fatal(err)
	}
	ch := make(chan transport.Event, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Consume(context.Background(), ch)
	}()
	b.ReportAllocs()
	cpu := cpuTime(b)
	i := 0
	for b.Loop() {
		id := uint64(i/2 + 1)
		if i%2 == 0 {
			ch <- inbound(transport.EventAccepted, id, 0, "Connection accepted")
		} else {
			ch <- inbound(transport.EventClosed, id, 5, "EOF received")
		}
		i++
	}
	close(ch)
	<-done
	b.StopTimer()
	report(b, e, cpu)
}

// cpuTime is the CPU time (user and system) the process has used. On a
// shared machine it measures the work better than the wall clock.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report shuts e down (exporting what is queued) and reports the process's
// CPU time per op since cpu0 (all goroutines: the consumer, the batcher, the
// garbage collector), spans per op and the spans dropped.
func report(b *testing.B, e *Exporter, cpu0 time.Duration) {
	if err := e.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
	st := e.Stats()
	b.ReportMetric(float64(st.SpansEnded)/float64(b.N), "spans/op")
	b.ReportMetric(float64(st.Dropped.ExportQueueFull), "dropped")
}

// BenchmarkOpenConnectionMemory reports the heap that each open connection
// keeps in the exporter once its open span is exported (B/open-conn), with
// 10,000 connections open; one op is one batch of them, closed at the end.
func BenchmarkOpenConnectionMemory(b *testing.B) {
	const open = 10000
	e, err := NewWithSpanExporter(context.Background(), Config{}, tracetest.NewNoopExporter())
	if err != nil {
		b.Fatal(err)
	}
	acc := inbound(transport.EventAccepted, 0, 0, "Connection accepted")
	cls := inbound(transport.EventClosed, 0, 5, "EOF received")
	var perConn float64
	id := uint64(0)
	for b.Loop() {
		before := liveHeap(b, e)
		first := id + 1
		for range open {
			id++
			acc.ConnID = id
			e.HandleEvent(&acc)
		}
		after := liveHeap(b, e)
		perConn = float64(after-before) / open
		for c := first; c <= id; c++ {
			cls.ConnID = c
			e.HandleEvent(&cls)
		}
	}
	b.ReportMetric(perConn, "B/open-conn")
}

// liveHeap is the heap in use after e's queued spans are exported and a
// full collection.
func liveHeap(b *testing.B, e *Exporter) uint64 {
	b.Helper()
	if err := e.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
