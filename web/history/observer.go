package history

import "github.com/sipwire/sipwire/transport"

// Observer returns an observer that records the transport's events as
// well as what [Store.Observe] records (the Call-IDs), each event put
// straight into the store's bounded queue on the goroutine that raised it
// (a lock and a copy), dropped and counted when the queue is full. Add it
// to the transport in place of the store and a consumed subscription.
//
// It holds no channel: a subscription's channel is allocated whole and,
// once a burst of events has gone round it, stays resident for good (8192
// events, 1.4 MiB: 140 bytes for each of 10,000 connections that have just
// opened), where the store's queue grows with use and lets a burst's
// array go once written (spareBytes). Nor does it wake a consumer: the
// writer is woken when a batch is full, or by its FlushInterval.
func (s *Store) Observer() transport.Observer { return storeObserver{s} }

// storeObserver is what Observer returns.
type storeObserver struct{ s *Store }

// Observe implements transport.Observer.
func (o storeObserver) Observe(ob *transport.Observation) {
	if ob.Kind == transport.ObservedEvent {
		o.s.putEvent(&ob.Event)
		return
	}
	o.s.Observe(ob)
}

// putEvent puts e into the queue, or drops and counts it when the queue is
// full or closed; it wakes the writer when a batch is full.
func (s *Store) putEvent(e *transport.Event) {
	q := &s.q
	q.mu.Lock()
	fits := !q.closed && len(q.events) < q.max
	if fits {
		q.events = append(q.events, *e)
	}
	full := len(q.events) >= s.cfg.batchSize()
	q.mu.Unlock()
	if !fits {
		s.dropped.Add(1)
		return
	}
	if full {
		s.wakeWriter()
	}
}

// wakeWriter tells the writer that a batch is full, unless it has been
// told already.
func (s *Store) wakeWriter() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
