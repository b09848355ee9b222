package transport

import (
	"sync"
	"sync/atomic"
)

// Subscription is an Observer that keeps the events of the observations it
// receives in a bounded queue, for a consumer that handles events on its
// own goroutine (OpenTelemetry, the event history, the dashboard's ring).
// Events that find the queue full are dropped and counted; the connection
// never waits.
type Subscription struct {
	name    string
	gate    Gate
	ch      chan Event
	offered atomic.Uint64
	// mu orders Observe before the queue's close; closed says it happened.
	mu      sync.RWMutex
	closed  bool
	dropped atomic.Uint64
}

// Name is the name given to Subscribe.
func (s *Subscription) Name() string { return s.name }

// Events is the queue to receive from. It is closed after Shutdown or Close
// has raised the last event, or by Unsubscribe.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Offered counts the events that passed the gate: Offered = received + Dropped.
func (s *Subscription) Offered() uint64 { return s.offered.Load() }

// Dropped counts the events lost because the queue was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// QueueLen is the number of events waiting in the queue now.
func (s *Subscription) QueueLen() int { return len(s.ch) }

// QueueCap is the bound of the queue.
func (s *Subscription) QueueCap() int { return cap(s.ch) }

// Observe implements Observer: it queues the observation's event, if it
// is one.
func (s *Subscription) Observe(o *Observation) {
	if o.Kind != ObservedEvent {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	s.offered.Add(1)
	select {
	case s.ch <- o.Event:
	default:
		s.dropped.Add(1)
	}
}

// close closes the queue once; later observations are ignored.
func (s *Subscription) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

// SubscriptionStats is a snapshot of one subscription's counters.
type SubscriptionStats struct {
	Name     string `json:"name"`
	Gate     string `json:"gate"`
	Offered  uint64 `json:"offered"`
	Dropped  uint64 `json:"dropped"`
	QueueLen int    `json:"queue_len"`
	QueueCap int    `json:"queue_cap"`
}

func (s *Subscription) stats() SubscriptionStats {
	g := "all"
	if s.gate == TracedEvents {
		g = "traced"
	}
	return SubscriptionStats{Name: s.name, Gate: g, Offered: s.Offered(), Dropped: s.Dropped(), QueueLen: s.QueueLen(), QueueCap: s.QueueCap()}
}
