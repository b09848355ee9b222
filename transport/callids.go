package transport

import (
	"hash/maphash"
	"sync"
)

// DefaultCallIDSetSize bounds a CallIDSet made with size 0.
const DefaultCallIDSetSize = 1 << 15

// minCallIDSlots is the hash table's first size: it doubles with use up to
// twice the bound.
const minCallIDSlots = 1 << 10

// CallIDSet remembers which Call-IDs were seen on which connection, within
// a fixed number of entries: the oldest entry is forgotten first. Consumers
// that act once per Call-ID and connection (HEP's call correlation, the
// event history) use it so that a trunk connection carrying thousands of
// concurrent calls does not make them act again for every message.
//
// An entry is a 64-bit fingerprint of the connection and the Call-ID: no
// Call-ID is copied, and two pairs are confused with a probability of about
// 2^-64 per pair. The fingerprints live in an open-addressing table (linear
// probing, at most half full) beside a FIFO ring, so that a lookup touches
// one or two cache lines. It grows with use up to its bound, so an idle
// appliance does not pay for it. It is safe for concurrent use.
type CallIDSet struct {
	seed maphash.Seed
	max  int

	mu    sync.Mutex
	slots []uint64 // 0 is an empty slot
	n     int      // fingerprints in slots
	order []uint64 // FIFO ring of the fingerprints in slots, at most max
	next  int      // the oldest entry once order is full
}

// NewCallIDSet returns a set of at most size entries (0 means
// DefaultCallIDSetSize).
func NewCallIDSet(size int) *CallIDSet {
	if size <= 0 {
		size = DefaultCallIDSetSize
	}
	return &CallIDSet{seed: maphash.MakeSeed(), max: size}
}

// Add reports whether callID is new on connection conn, and remembers it.
func (s *CallIDSet) Add(conn uint64, callID []byte) bool {
	k := fingerprint(maphash.Bytes(s.seed, callID), conn)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slots != nil && s.slots[s.find(k)] == k {
		return false
	}
	if len(s.order) < s.max {
		s.order = append(s.order, k)
	} else {
		s.remove(s.order[s.next])
		s.order[s.next] = k
		s.next = (s.next + 1) % len(s.order)
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	s.slots[s.find(k)] = k
	s.n++
	return true
}

// fingerprint mixes a Call-ID's hash with its connection id into a non-zero
// 64-bit key (the finaliser of SplitMix64).
func fingerprint(h, conn uint64) uint64 {
	k := h ^ (conn * 0x9e3779b97f4a7c15)
	k ^= k >> 30
	k *= 0xbf58476d1ce4e5b9
	k ^= k >> 27
	k *= 0x94d049bb133111eb
	k ^= k >> 31
	if k == 0 {
		k = 1
	}
	return k
}

// find returns the slot that holds k, or the empty slot where it would go.
func (s *CallIDSet) find(k uint64) int {
	mask := len(s.slots) - 1
	i := int(k) & mask
	for s.slots[i] != 0 && s.slots[i] != k {
		i = (i + 1) & mask
	}
	return i
}

// remove deletes k, moving back the entries after it that probed past its
// slot (backward-shift deletion: no tombstones).
func (s *CallIDSet) remove(k uint64) {
	i := s.find(k)
	if s.slots[i] != k {
		return
	}
	mask := len(s.slots) - 1
	for j := (i + 1) & mask; s.slots[j] != 0; j = (j + 1) & mask {
		home := int(s.slots[j]) & mask
		// The entry at j may move to i unless its home lies cyclically
		// in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = 0
	s.n--
}

// grow doubles the table (or makes the first one) and re-inserts every
// fingerprint.
func (s *CallIDSet) grow() {
	old := s.slots
	size := max(2*len(old), minCallIDSlots)
	s.slots = make([]uint64, size)
	for _, k := range old {
		if k != 0 {
			s.slots[s.find(k)] = k
		}
	}
}
