package transport

import "sync/atomic"

// Gate says which events a subscription receives.
type Gate uint8

// The subscription gates.
const (
	// AllEvents: every event, whether or not tracing is on (counters, the
	// dashboard, the event history).
	AllEvents Gate = iota
	// TracedEvents: only events of traced connections while tracing is on
	// (HEP, OpenTelemetry).
	TracedEvents
)

// Subscription is one consumer's bounded queue of events. Events that find
// the queue full are dropped and counted; the connection never waits.
type Subscription struct {
	name    string
	gate    Gate
	ch      chan Event
	offered atomic.Uint64
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

func (s *Subscription) offer(e *Event) {
	s.offered.Add(1)
	select {
	case s.ch <- *e:
	default:
		s.dropped.Add(1)
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
