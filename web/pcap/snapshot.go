package pcap

import "strings"

// Snapshot returns copies of the records that f selects, oldest first. They
// share one buffer of their own; the ring is locked only while the records
// are copied there.
func (r *Ring) Snapshot(f Filter) []Record {
	c := r.copyRecords()
	out := make([]Record, 0, c.n)
	var ids strings.Builder
	ids.Grow(c.idBytes)
	seq := c.first
	for off := 0; off < len(c.buf); seq++ {
		rec := c.buf[off:]
		rec = rec[:storedSize(rec)]
		off += len(rec)
		if !f.match(rec) {
			continue
		}
		out = append(out, Record{Seq: seq})
		callID := decode(rec, &out[len(out)-1])
		start := ids.Len()
		ids.Write(callID)
		out[len(out)-1].CallID = ids.String()[start:]
	}
	return out
}

// copied is a copy of a ring's records.
type copied struct {
	buf        []byte // the records, oldest first
	first      uint64 // the sequence number of the oldest
	n, idBytes int    // how many records, and their Call-IDs' total length (at most: Ring.idBytes)
}

// copyRecords copies the ring's records to a new buffer, allocated with the
// ring unlocked.
func (r *Ring) copyRecords() copied {
	var buf []byte
	for {
		r.mu.Lock()
		used := r.arena.used()
		if used <= len(buf) {
			c := copied{
				buf:     buf[:r.arena.copyTo(buf)],
				first:   r.seq - uint64(r.arena.n) + 1,
				n:       r.arena.n,
				idBytes: r.idBytes,
			}
			r.mu.Unlock()
			return c
		}
		// What the records take, and some room for those kept while
		// the lock is let go; never more than the arena (the ring's
		// bound, however few records it holds).
		size := min(len(r.arena.buf), used+used/4+4096)
		r.mu.Unlock()
		buf = make([]byte, size)
	}
}
