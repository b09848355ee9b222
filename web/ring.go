package web

import (
	"sync"

	"github.com/sipwire/sipwire/transport"
)

// EventRing keeps the most recent events in memory, each numbered with a
// sequence number that grows by one per event, and wakes the readers that
// wait for new ones. It keeps compact records (ringRecord) and formats the
// events a query returns. It is safe for concurrent use.
type EventRing struct {
	mu    sync.Mutex
	buf   []ringRecord // circular; buf[(start+i)%len] for i < n, numbered seq-n+1+i
	start int
	n     int
	seq   uint64
	wake  chan struct{}
	armed bool // someone waits on wake: close it on the next Add
	// zones are the IPv6 zones of the addresses kept (ringAddr.zone), at
	// most maxRingZones; zonesDropped counts the addresses kept without
	// theirs.
	zones        []string
	zonesDropped uint64
}

// NewEventRing returns a ring that keeps the last size events (at least one).
func NewEventRing(size int) *EventRing {
	return &EventRing{buf: make([]ringRecord, max(size, 1)), wake: make(chan struct{})}
}

// Add numbers e, keeps it (evicting the oldest when full), wakes waiting
// readers and returns the numbered event as the API shows it.
func (r *EventRing) Add(e *transport.Event) Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.put(e)
	return r.event(&r.buf[(r.start+r.n-1)%len(r.buf)], r.seq)
}

// put numbers e, keeps it and wakes waiting readers. The caller holds r.mu.
func (r *EventRing) put(e *transport.Event) {
	r.seq++
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = r.record(e)
		r.n++
	} else {
		r.buf[r.start] = r.record(e)
		r.start = (r.start + 1) % len(r.buf)
	}
	if r.armed {
		close(r.wake)
		r.wake = make(chan struct{})
		r.armed = false
	}
}

// observe numbers e, keeps it and wakes waiting readers, formatting
// nothing.
func (r *EventRing) observe(e *transport.Event) {
	r.mu.Lock()
	r.put(e)
	r.mu.Unlock()
}

// ZonesDropped counts the IPv6 addresses kept without their zone, the ring
// holding maxRingZones others already.
func (r *EventRing) ZonesDropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.zonesDropped
}

// LastSeq is the sequence number of the newest event (0 before the first).
func (r *EventRing) LastSeq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// Len is the number of events held.
func (r *EventRing) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Cap is the ring's bound.
func (r *EventRing) Cap() int { return len(r.buf) }

// Wait returns a channel that is closed when an event newer than seq is
// added; it is closed already when there is one.
func (r *EventRing) Wait(seq uint64) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seq > seq {
		done := make(chan struct{})
		close(done)
		return done
	}
	r.armed = true
	return r.wake
}

// RingPage is what EventRing.Query returns.
type RingPage struct {
	// Events are the selected events, oldest first.
	Events []Event
	// More: further matches were left out by the limit.
	More bool
	// Oldest and Last are the sequence numbers of the oldest and newest
	// events held when the query ran (0 when empty). A reader whose
	// SinceSeq+1 is below Oldest has missed events; without More, every
	// event up to Last has been looked at.
	Oldest, Last uint64
}

// Query returns the events q selects. With SinceSeq or Since set it returns
// the first q.Limit matches after that point; otherwise the last q.Limit
// matches. A Limit of zero or less means no limit.
func (r *EventRing) Query(q EventQuery) RingPage {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := RingPage{Last: r.seq}
	if r.n > 0 {
		p.Oldest = r.seq - uint64(r.n) + 1
	}
	f := q.recordFilter()
	at := func(i int) (*ringRecord, uint64) {
		return &r.buf[(r.start+i)%len(r.buf)], p.Oldest + uint64(i)
	}
	if q.SinceSeq > 0 || !q.Since.IsZero() {
		// Records at or before SinceSeq are skipped without a look.
		first := 0
		if q.SinceSeq >= p.Oldest && r.n > 0 {
			first = int(min(q.SinceSeq-p.Oldest+1, uint64(r.n)))
		}
		for i := first; i < r.n; i++ {
			rec, seq := at(i)
			if !f.match(r, rec, seq) {
				continue
			}
			if q.Limit > 0 && len(p.Events) == q.Limit {
				p.More = true
				break
			}
			p.Events = append(p.Events, r.event(rec, seq))
		}
		return p
	}
	for i := r.n - 1; i >= 0; i-- {
		rec, seq := at(i)
		if !f.match(r, rec, seq) {
			continue
		}
		if q.Limit > 0 && len(p.Events) == q.Limit {
			p.More = true
			break
		}
		p.Events = append(p.Events, r.event(rec, seq))
	}
	for i, j := 0, len(p.Events)-1; i < j; i, j = i+1, j-1 {
		p.Events[i], p.Events[j] = p.Events[j], p.Events[i]
	}
	return p
}

// Observe implements transport.Observer: the ring keeps every event.
func (r *EventRing) Observe(o *transport.Observation) {
	if o.Kind == transport.ObservedEvent {
		r.observe(&o.Event)
	}
}
