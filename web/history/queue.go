package history

import (
	"sync"

	"github.com/sipwire/sipwire/transport"
)

// queue is the store's bounded queue: events and Call-ID observations
// waiting for the writer, each bounded by max. What finds it full (or
// closed) is dropped and counted by the caller.
type queue struct {
	mu      sync.Mutex
	events  []transport.Event
	callIDs []callIDObs
	max     int
	closed  bool
}

// close makes every later put fail.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// depth is the number of events waiting.
func (q *queue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.events)
}

// enqueue puts evs into the queue, dropping and counting what does not fit.
func (s *Store) enqueue(evs []transport.Event) {
	n := s.put(evs)
	if d := len(evs) - n; d > 0 {
		s.dropped.Add(uint64(d))
	}
}

// enqueueAll puts evs into the queue, waiting for the writer to make room
// when it is full. Close uses it: a graceful stop loses nothing.
func (s *Store) enqueueAll(evs []transport.Event) {
	for len(evs) > 0 {
		n := s.put(evs)
		evs = evs[n:]
		if len(evs) == 0 || s.q.isClosed() {
			break
		}
		done := make(chan error, 1)
		select {
		case s.flushReq <- done:
			<-done
		case <-s.writerEnd:
		}
	}
	if len(evs) > 0 {
		s.dropped.Add(uint64(len(evs)))
	}
}

// put puts what fits of evs into the queue and returns how many; it wakes
// the writer when a batch is full and forgets the Call-IDs of closed
// connections.
func (s *Store) put(evs []transport.Event) int {
	q := &s.q
	q.mu.Lock()
	n := 0
	if !q.closed {
		n = min(len(evs), q.max-len(q.events))
		q.events = append(q.events, evs[:n]...)
	}
	full := len(q.events) >= s.cfg.batchSize()
	q.mu.Unlock()
	if full {
		s.wakeWriter()
	}
	return n
}

func (q *queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// take swaps the queue's contents for the given empty slices.
func (q *queue) take(evs []transport.Event, cids []callIDObs) ([]transport.Event, []callIDObs) {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs, q.events = q.events, evs
	cids, q.callIDs = q.callIDs, cids
	return evs, cids
}
