package pcap

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sipwire/sipwire/transport"
)

// DefaultMaxBytes is the bound of a Ring whose NewRing argument is zero: 16 MiB.
const DefaultMaxBytes = 16 << 20

// recordOverhead is what one record costs besides its message bytes: the
// Record itself, counted twice because the slice that holds the records
// grows by doubling and keeps up to as much room again, and the allocation
// headers of its two copies (message and Call-ID).
const recordOverhead = 2*int(unsafe.Sizeof(Record{})) + 32

// Record is one traced SIP message kept by the ring. It is a copy: it stays
// valid after the tap call that produced it.
type Record struct {
	// Seq numbers the messages the ring received, from 1.
	Seq       uint64
	Time      time.Time
	ConnID    uint64
	Direction transport.MessageDirection
	// Local and Remote are the connection's addresses.
	Local  netip.AddrPort
	Remote netip.AddrPort
	CallID string
	Data   []byte
}

func (r *Record) cost() int { return len(r.Data) + len(r.CallID) + recordOverhead }

// Filter selects records. The zero Filter selects all of them.
type Filter struct {
	// ConnID keeps only the records of this connection when non-zero.
	ConnID uint64
	// Since keeps only the records at or after this time when non-zero.
	Since time.Time
}

func (f *Filter) match(r *Record) bool {
	if f.ConnID != 0 && r.ConnID != f.ConnID {
		return false
	}
	return f.Since.IsZero() || !r.Time.Before(f.Since)
}

// RingStats is a snapshot of a ring's counters.
type RingStats struct {
	// Messages and Bytes are what the ring holds now (Bytes counts message
	// bytes only).
	Messages int `json:"messages"`
	Bytes    int `json:"bytes"`
	// MaxBytes is the ring's bound (message bytes plus a fixed cost per record).
	MaxBytes int `json:"max_bytes"`
	// Captured counts every message kept; Evicted those pushed out by newer
	// ones; TooLarge those alone bigger than the bound, never kept.
	Captured uint64 `json:"captured"`
	Evicted  uint64 `json:"evicted"`
	TooLarge uint64 `json:"too_large"`
}

// Ring keeps the most recent traced messages within a byte bound, oldest
// evicted first. It is safe for concurrent use.
type Ring struct {
	maxBytes int

	mu    sync.Mutex
	recs  []Record // recs[head:] are live, oldest first
	head  int
	cost  int
	bytes int
	seq   uint64

	evicted  atomic.Uint64
	tooLarge atomic.Uint64
}

// NewRing returns an empty ring bounded to maxBytes (message bytes plus a
// small fixed cost per message); zero means DefaultMaxBytes.
func NewRing(maxBytes int) *Ring {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Ring{maxBytes: maxBytes}
}

// TapMessage copies m into the ring, evicting the oldest messages to stay
// within the bound. It implements transport.MessageTap.
func (r *Ring) TapMessage(m *transport.TracedMessage) {
	rec := Record{
		Time:      m.Time,
		ConnID:    m.Conn.ID,
		Direction: m.Direction,
		Local:     m.Conn.Local,
		Remote:    m.Conn.Remote,
		CallID:    string(m.CallID),
		Data:      append([]byte(nil), m.Data...),
	}
	r.add(rec)
}

func (r *Ring) add(rec Record) {
	c := rec.cost()
	if c > r.maxBytes {
		r.tooLarge.Add(1)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.cost+c > r.maxBytes && r.head < len(r.recs) {
		old := &r.recs[r.head]
		r.cost -= old.cost()
		r.bytes -= len(old.Data)
		*old = Record{}
		r.head++
		r.evicted.Add(1)
	}
	if r.head > 0 && r.head >= len(r.recs)/2 {
		n := copy(r.recs, r.recs[r.head:])
		clear(r.recs[n:])
		r.recs = r.recs[:n]
		r.head = 0
	}
	r.seq++
	rec.Seq = r.seq
	r.recs = append(r.recs, rec)
	r.cost += c
	r.bytes += len(rec.Data)
}

// Snapshot returns the records that f selects, oldest first. The records
// share their Data with the ring; callers must not modify it.
func (r *Ring) Snapshot(f Filter) []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Record, 0, len(r.recs)-r.head)
	for i := r.head; i < len(r.recs); i++ {
		if f.match(&r.recs[i]) {
			out = append(out, r.recs[i])
		}
	}
	return out
}

// Stats returns the ring's counters.
func (r *Ring) Stats() RingStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RingStats{
		Messages: len(r.recs) - r.head,
		Bytes:    r.bytes,
		MaxBytes: r.maxBytes,
		Captured: r.seq,
		Evicted:  r.evicted.Load(),
		TooLarge: r.tooLarge.Load(),
	}
}
