package hep

import "sync"

// keepRunBytes is the most buffer a run keeps once sent unless the run
// needed a quarter of it: a larger one is let go once the load that grew it
// (a burst) has passed, so that a sender that is quiet again does not hold
// its peak, and kept while the load lasts, so that a steady load past it
// does not grow a new one for every batch.
const keepRunBytes = 256 << 10

// run is a sequence of encoded HEP packets back to back in one buffer, with
// the end of each: what a worker's queue holds, and what the worker takes
// from it and sends at once. Over TCP or TLS the buffer is written whole;
// over UDP each packet is a datagram.
type run struct {
	b    []byte
	ends []int // ends[i] is the end of packet i in b
}

// len is the number of packets in r.
func (r *run) len() int { return len(r.ends) }

// packet returns packet i.
func (r *run) packet(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.b[start:r.ends[i]]
}

// add appends packet p.
func (r *run) add(p []byte) {
	r.b = append(r.b, p...)
	r.ends = append(r.ends, len(r.b))
}

// appendRun appends every packet of o.
func (r *run) appendRun(o *run) {
	base := len(r.b)
	r.b = append(r.b, o.b...)
	for _, e := range o.ends {
		r.ends = append(r.ends, base+e)
	}
}

// reset empties r, keeping its buffers unless they grew past keepRunBytes
// and r used less than a quarter of them.
func (r *run) reset() {
	if cap(r.b) > keepRunBytes && len(r.b) < cap(r.b)/4 {
		r.b, r.ends = nil, nil
		return
	}
	r.b, r.ends = r.b[:0], r.ends[:0]
}

// shed lets go of r's buffers, empty, if they grew past keepRunBytes: its
// worker is going idle, and a burst's last runs, which needed them, left
// them kept (see reset).
func (r *run) shed() {
	if r.len() == 0 && cap(r.b) > keepRunBytes {
		r.b, r.ends = nil, nil
	}
}

// scratchPool recycles the buffers a packet is encoded into before it is
// copied into each destination's queue.
type scratchPool struct {
	pool sync.Pool
}

// initialScratchCap fits an event packet and most SIP messages.
const initialScratchCap = 2048

func (sp *scratchPool) get() *[]byte {
	if b, ok := sp.pool.Get().(*[]byte); ok {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, initialScratchCap)
	return &b
}

func (sp *scratchPool) put(b *[]byte) {
	if cap(*b) > MaxPacketLen {
		return
	}
	sp.pool.Put(b)
}
