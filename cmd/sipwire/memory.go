package main

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"
)

// Giving memory back after a burst. A burst of connections (a flood, a
// slowloris attack, thousands of phones registering at once) grows the heap
// and the goroutine stacks; once it ends, the Go runtime keeps the freed
// memory for reuse and hands it back to the OS only slowly (its background
// scavenger), so that an idle appliance shows the burst's resident size for
// minutes. memoryReturner watches the connections that held a reader in
// each sample: those active now (open and not parked: each holds a reader
// goroutine and its stack) plus those opened since the last sample (each
// held one, however briefly, and left garbage behind: a phone that
// connects, pings and parks at once). When that number has fallen to a
// quarter of its peak or less (the burst closed, went idle, or stopped
// arriving), or the open connections to a quarter of theirs (many parked
// connections closed, leaving their memory free), it forces a collection and returns the free memory at once
// (debug.FreeOSMemory), after asking the history's SQLite connections to
// free their page caches (PRAGMA shrink_memory: memory outside the Go heap,
// which a burst of events fills). debug.SetMemoryLimit was the other candidate: it
// only acts when the heap nears the limit, which an idle appliance does not.
const (
	// memoryCheckEvery is how often the open connections are sampled.
	memoryCheckEvery = time.Second
	// memoryBurstConns is the smallest peak of connections with a reader
	// (see above) whose end returns memory: smaller bursts leave little to
	// return.
	memoryBurstConns = 500
	// memoryFallFactor: a burst has ended when the connections with a
	// reader are at most its peak divided by this.
	memoryFallFactor = 4
	// memoryMinInterval bounds how often memory is returned: a forced
	// collection costs a few milliseconds of CPU.
	memoryMinInterval = 30 * time.Second
	// memoryReleaseTimeout bounds the release of memory held outside the
	// Go heap (it waits for the history's writer between two batches).
	memoryReleaseTimeout = 5 * time.Second
)

// memoryReturner returns free memory to the OS after a burst of
// connections ends.
type memoryReturner struct {
	// sample returns the active connections (open, not parked), the open
	// ones and how many connections were ever opened.
	sample func() memorySample
	log    *slog.Logger
	free   func() // debug.FreeOSMemory; a test may count the calls
	// release, when set, hands back memory held outside the Go heap (the
	// history's SQLite page caches) before free.
	release func(context.Context) error

	opened   uint64    // at the last sample
	peak     int       // the most connections with a reader in a sample since the last return
	peakOpen int       // the most open connections in a sample since the last return
	last     time.Time // of the last return
}

// memorySample is what memoryReturner samples.
type memorySample struct {
	active int    // open and not parked
	open   int    // open
	opened uint64 // ever opened
}

func newMemoryReturner(sample func() memorySample, log *slog.Logger) *memoryReturner {
	return &memoryReturner{sample: sample, log: log, free: debug.FreeOSMemory}
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

// check samples the connections at now and returns memory when a burst
// has ended; it reports whether it did.
func (m *memoryReturner) check(now time.Time) bool {
	smp := m.sample()
	n := smp.active + int(smp.opened-m.opened)
	m.opened = smp.opened
	m.peak = max(m.peak, n)
	m.peakOpen = max(m.peakOpen, smp.open)
	ended := m.peak >= memoryBurstConns && n <= m.peak/memoryFallFactor
	closed := m.peakOpen >= memoryBurstConns && smp.open <= m.peakOpen/memoryFallFactor
	if !ended && !closed || now.Sub(m.last) < memoryMinInterval {
		return false
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if m.release != nil {
		ctx, cancel := context.WithTimeout(context.Background(), memoryReleaseTimeout)
		if err := m.release(ctx); err != nil {
			m.log.Warn("releasing memory held outside the Go heap failed", "err", err)
		}
		cancel()
	}
	m.free()
	runtime.ReadMemStats(&after)
	m.log.Info("a burst of connections ended: free memory returned to the OS",
		"peak_connections", m.peak, "active", smp.active, "peak_open", m.peakOpen, "open", smp.open,
		"released_bytes", int64(after.HeapReleased)-int64(before.HeapReleased),
		"heap_in_use_bytes", after.HeapInuse, "stacks_bytes", after.StackInuse)
	m.peak, m.peakOpen, m.last = n, smp.open, now
	return true
}
