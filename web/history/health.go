package history

import (
	"sync"
	"time"
)

// health is the writer's state: up while batches commit, down from the
// first batch that fails until the next one that commits. An outage is
// logged twice, however many batches fail in between: one ERROR when it
// starts, with the error, and one INFO when it ends, with the events lost
// meanwhile.
type health struct {
	mu      sync.Mutex
	down    bool
	since   time.Time // of the current state
	lost    uint64    // events failed in the current outage
	outages uint64
}

// writeFailed notes a batch of n events that could not be written.
func (s *Store) writeFailed(err error, n int) {
	h := &s.health
	h.mu.Lock()
	first := !h.down
	if first {
		h.down, h.since, h.lost = true, time.Now(), 0
		h.outages++
	}
	h.lost += uint64(n)
	h.mu.Unlock()
	if first {
		s.log.Error("event history down: events are lost until the store can be written again",
			"path", s.path, "err", err)
	}
}

// writeOK notes a batch written: the end of an outage, if there was one.
func (s *Store) writeOK() {
	h := &s.health
	h.mu.Lock()
	if !h.down {
		h.mu.Unlock()
		return
	}
	now := time.Now()
	lost, downFor := h.lost, now.Sub(h.since)
	h.down, h.since, h.lost = false, now, 0
	h.mu.Unlock()
	s.log.Info("event history recovered", "path", s.path, "lost_events", lost, "down_for", downFor.Round(time.Millisecond))
}

// healthState is the state for Stats.
func (s *Store) healthState() (down bool, since time.Time, outages uint64) {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down, h.since, h.outages
}
