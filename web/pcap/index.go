package pcap

import (
	"bytes"
	"hash/maphash"
	"slices"
	"time"
)

// The Call-ID index finds a call's records without scanning the ring. Each
// record held has a slot, in the order of their sequence numbers, that says
// where it starts in the arena, its size, the hash of its Call-ID and how
// far ahead the next record of the same Call-ID is; a map from the Call-ID's
// hash to its oldest and newest record starts the chain.
//
// The index is brought up to date when it is read (Call, Calls), not as
// records are kept: keeping a record writes its slot (32 bytes, in order)
// and nothing else, and a record evicted before the next read never touches
// the map. A forwarder keeps a dozen records a call and an operator reads
// the calls now and then; the map's lookup, its entry's update and the link
// from the call's previous record (three random accesses, cold in the cache)
// cost a traced message about 40 % of its ring time when they were made as
// it was kept. A read indexes the records kept since the last one, oldest
// first (indexChunk at a time, the lock let go in between), then answers.
//
// Once indexed, a slot points at its Call-ID's entry, so that eviction
// neither hashes again, nor reads the evicted record (the slot holds its
// sizes), nor looks the map up; only the eviction of a call's last indexed
// record deletes its entry. The map holds pointers to entries, changed in
// place and recycled. All of it is guarded by Ring.mu.

// maxCallConns is how many connections a call's index entry remembers (a
// call through the forwarder has two: the client's and the upstream's). The
// entry's list only grows while the call is held: it tells which calls a
// connection may have carried; the records say which did.
const maxCallConns = 4

// indexChunk is how many records a read of the index indexes under one
// hold of the ring's lock (about 0.5 ms), so that a message being kept
// waits at most that long for a read.
const indexChunk = 4096

// maxIndexChunks bounds the chunks a read indexes letting the lock go in
// between; past it, it indexes the rest under one hold (messages arriving
// faster than they are indexed, which a forwarder's rates never come near).
const maxIndexChunks = 16

// slot is what the index keeps of one record.
type slot struct {
	off uint32 // where the record starts in the arena
	// size is the record's size in the arena, dataLen its message's
	// length (as in its header, which eviction does not read).
	size, dataLen uint32
	// next is how many sequence numbers ahead the next record of the
	// same Call-ID is; zero for none (yet).
	next uint32
	// h is the key of the record's Call-ID (index.hash), zero for none.
	h uint64
	// e is the entry of the record's Call-ID once indexed, nil before or
	// for a record without one.
	e *callEntry
}

// callEntry is the index entry of one Call-ID.
type callEntry struct {
	h           uint64 // the key of the Call-ID (index.hash)
	first, last uint64 // sequence numbers of its oldest and newest record
	n           int    // records held
	conns       [maxCallConns]uint64
}

func (e *callEntry) addConn(id uint64) {
	for i, c := range e.conns {
		if c == id {
			return
		}
		if c == 0 {
			e.conns[i] = id
			return
		}
	}
}

// index is the Call-ID index of a ring.
type index struct {
	seed  maphash.Seed
	slots []slot // a circular queue: the oldest record's slot is slots[head]
	head  int
	// indexed is the sequence number of the newest record indexed (in
	// calls), zero for none: the records after it have their slots only.
	indexed uint64
	calls   map[uint64]*callEntry
	// free are entries of evicted calls, for new ones: a full ring keeps
	// calls without allocating.
	free []*callEntry
}

func newIndex() index {
	return index{seed: maphash.MakeSeed(), calls: make(map[uint64]*callEntry)}
}

// hash is the key of a Call-ID, never zero (a slot's "no Call-ID"). It
// reads only the seed, set once: callers need not hold Ring.mu.
func (x *index) hash(callID []byte) uint64 { return max(maphash.Bytes(x.seed, callID), 1) }

// slot returns the slot of the i-th oldest record.
func (x *index) slot(i int) *slot { return &x.slots[(x.head+i)%len(x.slots)] }

// add keeps the slot of the n-th record held (n-1 are older), which starts
// at off and takes size bytes, dataLen of them its message, and whose
// Call-ID's key is h (zero for none). It is indexed at the next read.
func (x *index) add(n int, off, size, dataLen int, h uint64) {
	if n > len(x.slots) {
		grown := make([]slot, max(2*len(x.slots), 1024))
		for i := range n - 1 {
			grown[i] = *x.slot(i)
		}
		x.slots, x.head = grown, 0
	}
	*x.slot(n - 1) = slot{off: uint32(off), size: uint32(size), dataLen: uint32(dataLen), h: h}
}

// catchUp indexes at most limit of the records not indexed yet, oldest
// first, of those held: first to last; buf is the arena (for each record's
// connection). It reports whether every record held is indexed.
func (x *index) catchUp(first, last uint64, buf []byte, limit int) bool {
	for seq := max(x.indexed+1, first); seq <= last; seq++ {
		if limit == 0 {
			return false
		}
		limit--
		x.indexed = seq
		s := x.slot(int(seq - first))
		if s.h == 0 {
			continue
		}
		conn := storedConn(buf[s.off:])
		if e, ok := x.calls[s.h]; ok {
			s.e = e
			x.slot(int(e.last - first)).next = uint32(seq - e.last)
			e.last = seq
			e.n++
			e.addConn(conn)
			continue
		}
		var e *callEntry
		if k := len(x.free); k > 0 {
			e, x.free = x.free[k-1], x.free[:k-1]
		} else {
			e = new(callEntry)
		}
		*e = callEntry{h: s.h, first: seq, last: seq, n: 1}
		e.addConn(conn)
		x.calls[s.h] = e
		s.e = e
	}
	return true
}

// evict forgets the oldest record, seq, and returns its slot.
func (x *index) evict(seq uint64) slot {
	s := x.slots[x.head]
	x.slots[x.head].e = nil
	x.head = (x.head + 1) % len(x.slots)
	e := s.e
	if e == nil || e.first != seq {
		return s
	}
	if s.next == 0 {
		delete(x.calls, e.h)
		x.free = append(x.free, e)
		return s
	}
	e.first += uint64(s.next)
	e.n--
	return s
}

// lockIndexed locks r.mu with every record held indexed: it indexes
// indexChunk records at a time, letting the lock go in between, at most
// maxIndexChunks times, then the rest under the lock it returns with.
func (r *Ring) lockIndexed() {
	for range maxIndexChunks {
		r.mu.Lock()
		if r.idx.catchUp(r.seq-uint64(r.arena.n)+1, r.seq, r.arena.buf, indexChunk) {
			return
		}
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.idx.catchUp(r.seq-uint64(r.arena.n)+1, r.seq, r.arena.buf, -1)
}

// CallQuery selects calls for Ring.Calls. The zero CallQuery selects all.
type CallQuery struct {
	// Search keeps the Call-IDs that contain it, ASCII case ignored.
	Search string
	// ConnID keeps the calls that this connection carried.
	ConnID uint64
	// Limit bounds the calls returned, most recent first; zero means 100.
	Limit int
}

// DefaultCallLimit is the number of calls Ring.Calls returns when
// CallQuery.Limit is zero.
const DefaultCallLimit = 100

// CallSummary describes one call of the ring.
type CallSummary struct {
	CallID string `json:"call_id"`
	// First and Last are the times of its oldest and newest message held.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Messages is how many of its messages the ring holds.
	Messages int `json:"messages"`
	// Conns are the connections that carried its messages held, in the
	// order of their first message.
	Conns []uint64 `json:"conns"`
	// StartLine is the start line of its oldest message held.
	StartLine string `json:"start_line"`
}

// CallsPage is the answer of Ring.Calls.
type CallsPage struct {
	Calls []CallSummary `json:"calls"`
	// Matched is how many calls matched, Limit or not; Held how many the
	// ring holds.
	Matched int `json:"matched"`
	Held    int `json:"held"`
}

// maxStartLine bounds CallSummary.StartLine.
const maxStartLine = 160

// Calls returns the calls q selects, most recently active first. It reads
// the index, one entry per call, never the messages of the ring.
func (r *Ring) Calls(q CallQuery) CallsPage {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultCallLimit
	}
	search := bytes.ToLower([]byte(q.Search))
	// First the calls that match, by their entries alone when nothing
	// but the Call-ID or a connection filters them; then, the lock let go
	// and taken again, the records of the most recent few. Listing 10,000
	// calls holds the lock for one pass over the map; a search reads each
	// call's Call-ID as well.
	type cand struct{ h, last uint64 }
	var cands []cand
	r.lockIndexed()
	held := len(r.idx.calls)
	first := r.seq - uint64(r.arena.n) + 1
	for h, e := range r.idx.calls {
		if q.ConnID != 0 {
			if !slices.Contains(e.conns[:], q.ConnID) && e.conns[maxCallConns-1] == 0 {
				continue
			}
			if !slices.Contains(r.callConns(e, first), q.ConnID) {
				continue
			}
		}
		if len(search) > 0 && !containsFold(storedCallID(r.record(e.first, first)), search) {
			continue
		}
		cands = append(cands, cand{h, e.last})
	}
	r.mu.Unlock()
	slices.SortFunc(cands, func(a, b cand) int { return -cmpUint(a.last, b.last) })
	page := CallsPage{Matched: len(cands), Held: held, Calls: make([]CallSummary, 0, min(len(cands), limit))}
	r.mu.Lock()
	first = r.seq - uint64(r.arena.n) + 1
	for _, c := range cands[:min(len(cands), limit)] {
		e, ok := r.idx.calls[c.h]
		if !ok {
			continue // evicted since
		}
		old := r.record(e.first, first)
		page.Calls = append(page.Calls, CallSummary{
			CallID: string(storedCallID(old)), First: storedTime(old), Last: storedTime(r.record(e.last, first)),
			Messages: e.n, StartLine: startLine(storedData(old)), Conns: r.callConns(e, first),
		})
	}
	r.mu.Unlock()
	return page
}

// record returns the record seq, first being the oldest sequence number
// held. The caller holds r.mu.
func (r *Ring) record(seq, first uint64) []byte {
	return r.arena.buf[r.idx.slot(int(seq-first)).off:]
}

// callConns returns the connections of e's records, in the order of their
// first record; first is the oldest sequence number held. The caller holds
// r.mu.
func (r *Ring) callConns(e *callEntry, first uint64) []uint64 {
	var out []uint64
	for seq := e.first; ; {
		s := r.idx.slot(int(seq - first))
		if c := storedConn(r.arena.buf[s.off:]); !slices.Contains(out, c) {
			out = append(out, c)
		}
		if s.next == 0 || seq == e.last {
			return out
		}
		seq += uint64(s.next)
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Call returns copies of the records of one Call-ID, oldest first, found
// through the index.
func (r *Ring) Call(callID string) []Record {
	if callID == "" {
		return nil
	}
	id := []byte(callID)
	var buf []byte
	var seqs []uint64
	var ends []int
	r.lockIndexed()
	if e, ok := r.idx.calls[r.idx.hash(id)]; ok {
		first := r.seq - uint64(r.arena.n) + 1
		for seq := e.first; ; {
			s := r.idx.slot(int(seq - first))
			rec := r.arena.buf[s.off:]
			rec = rec[:storedSize(rec)]
			if bytes.Equal(storedCallID(rec), id) {
				buf = append(buf, rec...)
				seqs = append(seqs, seq)
				ends = append(ends, len(buf))
			}
			if s.next == 0 || seq == e.last {
				break
			}
			seq += uint64(s.next)
		}
	}
	r.mu.Unlock()
	out := make([]Record, len(seqs))
	start := 0
	for i := range out {
		out[i].Seq = seqs[i]
		decode(buf[start:ends[i]], &out[i])
		out[i].CallID = callID
		start = ends[i]
	}
	return out
}

// storedCallID is the Call-ID of the record that starts at rec.
func storedCallID(rec []byte) []byte {
	d := headerSize + storedDataLen(rec)
	return rec[d : d+storedCallIDLen(rec)]
}

// storedData is the message of the record that starts at rec.
func storedData(rec []byte) []byte { return rec[headerSize : headerSize+storedDataLen(rec)] }

// startLine returns a message's first line, cut to maxStartLine bytes.
func startLine(data []byte) string {
	line, _, _ := bytes.Cut(data, []byte("\r\n"))
	line, _, _ = bytes.Cut(line, []byte("\n"))
	return string(line[:min(len(line), maxStartLine)])
}

// containsFold reports whether s contains lowerSub, which is lower case,
// ASCII case ignored.
func containsFold(s, lowerSub []byte) bool {
outer:
	for i := 0; i+len(lowerSub) <= len(s); i++ {
		for j, c := range lowerSub {
			if lower(s[i+j]) != c {
				continue outer
			}
		}
		return true
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
