package main

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"
)

// Giving memory back after a burst. A burst of connections (a flood, a
// slowloris attack) grows the heap and the goroutine stacks; once it ends,
// the Go runtime keeps the freed memory for reuse and hands it back to the
// OS only slowly (its background scavenger), so that an idle appliance
// shows the burst's resident size for minutes. memoryReturner watches the
// active connections (open and not parked: each holds a reader goroutine
// and its stack; an idle one parks after transport.Options.ParkAfter) and,
// when their number has fallen to a quarter of its peak or less (the
// burst closed, or went idle), forces a collection and returns the free
// memory at once
// (debug.FreeOSMemory). debug.SetMemoryLimit was the other candidate: it
// only acts when the heap nears the limit, which an idle appliance does not.
const (
	// memoryCheckEvery is how often the open connections are sampled.
	memoryCheckEvery = time.Second
	// memoryBurstConns is the smallest peak of open connections whose
	// end returns memory: smaller bursts leave little to return.
	memoryBurstConns = 500
	// memoryFallFactor: a burst has ended when the open connections are
	// at most its peak divided by this.
	memoryFallFactor = 4
	// memoryMinInterval bounds how often memory is returned: a forced
	// collection costs a few milliseconds of CPU.
	memoryMinInterval = 30 * time.Second
)

// memoryReturner returns free memory to the OS after a burst of
// connections ends.
type memoryReturner struct {
	open func() int // the connections open now
	log  *slog.Logger
	free func() // debug.FreeOSMemory; a test may count the calls

	peak int       // the most connections open since the last return
	last time.Time // of the last return
}

func newMemoryReturner(open func() int, log *slog.Logger) *memoryReturner {
	return &memoryReturner{open: open, log: log, free: debug.FreeOSMemory}
}

// run samples the open connections every memoryCheckEvery until ctx ends.
func (m *memoryReturner) run(ctx context.Context) {
	t := time.NewTicker(memoryCheckEvery)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			m.check(now)
		case <-ctx.Done():
			return
		}
	}
}

// check samples the open connections at now and returns memory when a
// burst has ended; it reports whether it did.
func (m *memoryReturner) check(now time.Time) bool {
	n := m.open()
	m.peak = max(m.peak, n)
	if m.peak < memoryBurstConns || n > m.peak/memoryFallFactor || now.Sub(m.last) < memoryMinInterval {
		return false
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m.free()
	runtime.ReadMemStats(&after)
	m.log.Info("a burst of connections ended: free memory returned to the OS",
		"peak_connections", m.peak, "open", n,
		"released_bytes", int64(after.HeapReleased)-int64(before.HeapReleased),
		"heap_in_use_bytes", after.HeapInuse, "stacks_bytes", after.StackInuse)
	m.peak, m.last = n, now
	return true
}
