package pcap

import "strings"

// Snapshot returns copies of the records that f selects, oldest first. They
// share one buffer of their own; the ring is locked only while the records
// are copied there.
func (r *Ring) Snapshot(f Filter) []Record {
	buf, first := r.copyRecords()
	var n, idBytes int
	for off := 0; off < len(buf); off += storedSize(buf[off:]) {
		rec := buf[off:]
		if f.match(storedConn(rec), storedTime(rec)) {
			n++
			idBytes += storedCallIDLen(rec)
		}
	}
	out := make([]Record, 0, n)
	var ids strings.Builder
	ids.Grow(idBytes)
	seq := first
	for off := 0; off < len(buf); off, seq = off+storedSize(buf[off:]), seq+1 {
		rec := buf[off:]
		if !f.match(storedConn(rec), storedTime(rec)) {
			continue
		}
		out = append(out, Record{Seq: seq})
		callID := decode(rec[:storedSize(rec)], &out[len(out)-1])
		start := ids.Len()
		ids.Write(callID)
		out[len(out)-1].CallID = ids.String()[start:]
	}
	return out
}

// copyRecords copies the ring's records, oldest first, to a new buffer, and
// returns it with the sequence number of the first one. It allocates with
// the ring unlocked.
func (r *Ring) copyRecords() (buf []byte, first uint64) {
	for {
		r.mu.Lock()
		if used := r.arena.used(); used <= len(buf) {
			buf = buf[:r.arena.copyTo(buf)]
			first = r.seq - uint64(r.arena.n) + 1
			r.mu.Unlock()
			return buf, first
		}
		size := len(r.arena.buf)
		r.mu.Unlock()
		buf = make([]byte, size)
	}
}
