package transport

import (
	"hash/maphash"
	"sync"
)

// DefaultCallIDSetSize bounds a CallIDSet made with size 0.
const DefaultCallIDSetSize = 1 << 15

// CallIDSet remembers which Call-IDs were seen on which connection, within
// a fixed number of entries: the oldest entry is forgotten first. Consumers
// that act once per Call-ID and connection (HEP's call correlation, the
// event history) use it so that a trunk connection carrying thousands of
// concurrent calls does not make them act again for every message. Entries
// are 64-bit hashes: no Call-ID is copied. It grows with use up to its
// bound, so an idle appliance does not pay for it. It is safe for
// concurrent use.
type CallIDSet struct {
	seed  maphash.Seed
	max   int
	mu    sync.Mutex
	seen  map[callIDKey]struct{}
	order []callIDKey // FIFO ring of the entries in seen, at most max
	next  int
}

type callIDKey struct {
	conn uint64
	hash uint64
}

// NewCallIDSet returns a set of at most size entries (0 means
// DefaultCallIDSetSize).
func NewCallIDSet(size int) *CallIDSet {
	if size <= 0 {
		size = DefaultCallIDSetSize
	}
	return &CallIDSet{
		seed: maphash.MakeSeed(),
		max:  size,
		seen: make(map[callIDKey]struct{}),
	}
}

// Add reports whether callID is new on connection conn, and remembers it.
func (s *CallIDSet) Add(conn uint64, callID []byte) bool {
	k := callIDKey{conn: conn, hash: maphash.Bytes(s.seed, callID)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[k]; ok {
		return false
	}
	if len(s.order) < s.max {
		s.order = append(s.order, k)
	} else {
		delete(s.seen, s.order[s.next])
		s.order[s.next] = k
		s.next = (s.next + 1) % len(s.order)
	}
	s.seen[k] = struct{}{}
	return true
}
