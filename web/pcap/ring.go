package pcap

import (
	"sync"
	"sync/atomic"

	"github.com/sipwire/sipwire/transport"
)

// DefaultMaxBytes is the bound of a Ring whose NewRing argument is zero: 16 MiB.
const DefaultMaxBytes = 16 << 20

// RingStats is a snapshot of a ring's counters.
type RingStats struct {
	// Messages and Bytes are what the ring holds now (Bytes counts message
	// bytes only).
	Messages int `json:"messages"`
	Bytes    int `json:"bytes"`
	// MaxBytes is the ring's bound: what its arena never exceeds, with
	// each message costing its bytes, its Call-ID and a fixed header. The
	// Call-ID index (index.go) is outside it and follows the messages held:
	// 16 bytes a message and an entry of about 100 bytes a call.
	MaxBytes int `json:"max_bytes"`
	// Captured counts every message kept; Evicted those pushed out by newer
	// ones; TooLarge those alone bigger than the bound, never kept.
	Captured uint64 `json:"captured"`
	Evicted  uint64 `json:"evicted"`
	TooLarge uint64 `json:"too_large"`
}

// Ring keeps the most recent traced messages within a byte bound, oldest
// evicted first. Messages are copied into one circular buffer that grows up
// to the bound as they arrive, so that keeping one allocates nothing once
// the ring is full. It is safe for concurrent use.
type Ring struct {
	maxBytes int

	mu      sync.Mutex
	arena   arena
	bytes   int // message bytes held
	idBytes int // Call-ID bytes held
	seq     uint64
	evicted uint64
	idx     index // the Call-ID index (index.go)

	tooLarge atomic.Uint64
}

// NewRing returns an empty ring bounded to maxBytes (message bytes plus a
// small fixed cost per message); zero means DefaultMaxBytes. The ring
// allocates its memory as messages arrive.
func NewRing(maxBytes int) *Ring {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	maxBytes = min(maxBytes, maxRecordBytes) // the index's offsets are 32-bit
	return &Ring{maxBytes: maxBytes, arena: arena{max: maxBytes}, idx: newIndex()}
}

// Observe implements transport.Observer (add it with
// transport.TracedEvents): it keeps each traced message, sipwire's own
// responses included.
func (r *Ring) Observe(o *transport.Observation) {
	if o.Kind == transport.ObservedMessage {
		r.TapMessage(&o.Message)
	}
}

// TapMessage copies m into the ring, evicting the oldest messages to stay
// within the bound.
func (r *Ring) TapMessage(m *transport.TracedMessage) {
	size, localZone, remoteZone := recordSize(m)
	if size > r.maxBytes || uint64(size) > maxRecordBytes {
		r.tooLarge.Add(1)
		return
	}
	var h [headerSize]byte
	putHeader(&h, m, size, localZone, remoteZone)

	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.room(size)
	n := copy(b, h[:])
	n += copy(b[n:], m.Data)
	n += copy(b[n:], m.CallID)
	n += copy(b[n:], localZone)
	copy(b[n:], remoteZone)
	r.seq++
	r.idx.add(r.seq, r.arena.n, r.arena.tail-size, m.Conn.ID, m.CallID)
	r.bytes += len(m.Data)
	r.idBytes += len(m.CallID)
}

// room returns where a record of size bytes goes, growing the arena or else
// evicting the oldest records. The caller holds r.mu.
func (r *Ring) room(size int) []byte {
	for {
		if b := r.arena.take(size); b != nil {
			return b
		}
		if r.arena.grow(size) {
			r.idx.relocate(r.arena.buf, r.arena.n)
			continue
		}
		r.idx.evict(r.seq - uint64(r.arena.n) + 1)
		old := r.arena.pop()
		r.bytes -= storedDataLen(old)
		r.idBytes -= storedCallIDLen(old)
		r.evicted++
	}
}

// Stats returns the ring's counters.
func (r *Ring) Stats() RingStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RingStats{
		Messages: r.arena.n,
		Bytes:    r.bytes,
		MaxBytes: r.maxBytes,
		Captured: r.seq,
		Evicted:  r.evicted,
		TooLarge: r.tooLarge.Load(),
	}
}
