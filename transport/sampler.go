package transport

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// sampler reads TCP_INFO of open connections every Options.TCPInfoInterval,
// at most Options.TCPInfoPerTick connections a tick, taking them in id order
// from where the last tick stopped: with more connections than that, each
// is read every ceil(open/per tick) ticks, and the connections a tick leaves
// are counted (Stats.TCPInfoDeferred). The figures go to the connection
// table (ConnSnapshot.TCP); no event is raised.
type sampler struct {
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// startSampler starts the sampler when Options.TCPInfoInterval is set. It
// runs until Shutdown or Close.
func (t *Transport) startSampler() {
	iv := t.opts.TCPInfoInterval
	if iv <= 0 {
		return
	}
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	t.sampler = s
	go func() {
		defer close(s.done)
		tick := time.NewTicker(iv)
		defer tick.Stop()
		var cursor uint64
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				cursor = t.sampleTick(cursor, t.opts.tcpInfoPerTick())
			}
		}
	}()
}

// stopSampler stops the sampler and waits for its tick to end.
func (t *Transport) stopSampler() {
	s := t.sampler
	if s == nil {
		return
	}
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// sampleTick reads at most n connections, the first with an id after
// cursor (wrapping around), and returns the id of the last one read.
func (t *Transport) sampleTick(cursor uint64, n int) uint64 {
	conns := t.snapshotConns()
	if len(conns) == 0 {
		return cursor
	}
	slices.SortFunc(conns, func(a, b *Conn) int { return cmp.Compare(a.id, b.id) })
	start, _ := slices.BinarySearchFunc(conns, cursor+1, func(c *Conn, id uint64) int { return cmp.Compare(c.id, id) })
	take := min(n, len(conns))
	if left := len(conns) - take; left > 0 {
		t.stats.tcpInfoDeferred.Add(uint64(left))
	}
	for i := range take {
		c := conns[(start+i)%len(conns)]
		c.sampleTCPInfo()
		cursor = c.id
	}
	return cursor
}

// sampleTCPInfo reads the figures of an open connection for the table.
func (c *Conn) sampleTCPInfo() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.State(); st == StateOpen || st == StateDraining {
		c.readTCPInfoLocked()
	}
}
