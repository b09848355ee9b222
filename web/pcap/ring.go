package pcap

import (
	"runtime"
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
	// 32 bytes a message and, once the index has been read, an entry of
	// about 100 bytes a call.
	MaxBytes int `json:"max_bytes"`
	// Captured counts every message kept; Evicted those pushed out by newer
	// ones; TooLarge those alone bigger than the bound, never kept.
	Captured uint64 `json:"captured"`
	Evicted  uint64 `json:"evicted"`
	TooLarge uint64 `json:"too_large"`
}

// Ring keeps the most recent traced messages within a byte bound, oldest
// evicted first. Messages are copied into one circular buffer of the bound,
// taken at the first message, whose pages become resident as messages first
// reach them (arena.go), so that keeping one allocates nothing. It is safe
// for concurrent use.
type Ring struct {
	maxBytes int

	mu    sync.Mutex
	arena arena
	bytes int // message bytes held
	// idBytes: Call-ID bytes held, and the zones of scoped IPv6
	// addresses (records' bytes past their messages).
	idBytes int
	seq     uint64
	evicted uint64
	idx     index // the Call-ID index (index.go)

	tooLarge atomic.Uint64
}

// NewRing returns an empty ring bounded to maxBytes (message bytes plus a
// small fixed cost per message); zero means DefaultMaxBytes. The ring takes
// its memory at the first message, resident as messages fill it.
func NewRing(maxBytes int) *Ring {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	maxBytes = min(maxBytes, maxRecordBytes) // the index's offsets are 32-bit
	return &Ring{maxBytes: maxBytes, idx: newIndex()}
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
	var key uint64
	if len(m.CallID) > 0 {
		key = r.idx.hash(m.CallID)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.room(size)
	n := copy(b, h[:])
	n += copy(b[n:], m.Data)
	n += copy(b[n:], m.CallID)
	n += copy(b[n:], localZone)
	copy(b[n:], remoteZone)
	r.seq++
	r.idx.add(r.arena.n, r.arena.tail-size, size, len(m.Data), key)
	r.bytes += len(m.Data)
	r.idBytes += size - headerSize - len(m.Data)
}

// room returns where a record of size bytes goes, evicting the oldest
// records to make room; the first record takes the arena's memory. The
// caller holds r.mu.
func (r *Ring) room(size int) []byte {
	if r.arena.buf == nil {
		buf, release := arenaMemory(r.maxBytes)
		r.arena.buf = buf
		if release != nil {
			// The records never leave the ring but as copies (Snapshot,
			// Call, Calls), so nothing refers to the arena once the ring
			// is unreachable.
			runtime.AddCleanup(r, release, buf)
		}
	}
	for {
		if b := r.arena.take(size); b != nil {
			return b
		}
		old := r.idx.evict(r.seq - uint64(r.arena.n) + 1)
		r.arena.pop(int(old.size))
		r.bytes -= int(old.dataLen)
		r.idBytes -= int(old.size) - headerSize - int(old.dataLen)
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
