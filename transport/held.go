package transport

import "time"

// heldBatchBytes bounds what one connection holds for a read batch
// (Message.Forward): a message that would take the held bytes past it
// first writes what is held, and a message larger than it is written at
// once.
const heldBatchBytes = 64 << 10

// heldWrites are the messages a read batch holds for one connection, to be
// written together when the batch ends: their bytes, one after the other,
// and their Call-IDs, each message marking where it and its Call-ID end.
// They come from a pool and go back to it once written: a connection holds
// them only for the length of a batch.
type heldWrites struct {
	data []byte
	ids  []byte
	msgs []heldMessage
}

type heldMessage struct{ end, idEnd int }

func newHeldWrites() any { return new(heldWrites) }

// Forward sends b on dst as WriteMessage does (callID is b's Call-ID),
// for a handler relaying m: while m's reader handles the rest of what its
// read returned, b is held, then written with every other message the
// batch relayed to dst in one write(2) once the reader is done with the
// batch (heldBatchBytes bounds what is held). Each held message is
// observed when its bytes are handed to the kernel, as any written
// message, so a trace still follows the wire. A write that then fails
// closes dst as a queued write's failure does: Forward's error reports
// what is known when it is called (dst closed or failed). For a message
// handled apart from its reader (tcp_parallel_handling=1) it is
// WriteMessage.
func (m *Message) Forward(dst *Conn, b, callID []byte) error {
	if m.r == nil || m.r.c != m.Conn {
		return dst.WriteMessage(b, callID)
	}
	return dst.w.hold(b, callID, m.r)
}

// hold holds b for the read batch of r when the connection can write it
// later as it would now (open, nothing queued, asynchronous writes), and
// else writes it now.
func (w *writer) hold(b, callID []byte, r *reading) error {
	c := w.c
	st, err := w.lockOpen()
	if err != nil {
		return err
	}
	if st != StateOpen || w.flushing || w.q != nil || c.t.opts.SyncWrites || len(b) > heldBatchBytes {
		return w.writeMessageLocked(b, &outMessage{callID: callID}, nil, st)
	}
	h := w.held
	if h != nil && len(h.data)+len(b) > heldBatchBytes {
		if err, overflow := w.writeHeldLocked(); err != nil {
			w.mu.Unlock()
			if overflow {
				w.overflow(err)
			}
			return err
		}
		if w.q != nil { // the socket took part: queue behind it
			return w.writeMessageLocked(b, &outMessage{callID: callID}, nil, c.State())
		}
		h = nil
	}
	if h == nil {
		h = c.t.helds.Get().(*heldWrites)
		w.held = h
		r.held = append(r.held, c)
	}
	h.data = append(h.data, b...)
	h.ids = append(h.ids, callID...)
	h.msgs = append(h.msgs, heldMessage{end: len(h.data), idEnd: len(h.ids)})
	w.mu.Unlock()
	return nil
}

// writeHeldLocked observes the held messages, stamped now, and writes them
// in one write (what the socket does not take is queued, as for any
// write). It returns the write's error and whether it was the queue's
// bounds (the caller closes the connection with overflow once unlocked).
func (w *writer) writeHeldLocked() (err error, overflow bool) {
	h := w.held
	if h == nil {
		return nil, false
	}
	w.held = nil
	defer w.c.t.putHeld(h)
	c := w.c
	now := time.Now()
	start, idStart := 0, 0
	for _, m := range h.msgs {
		c.observeMessage(Sent, now, h.data[start:m.end], h.ids[idStart:m.idEnd], false)
		start, idStart = m.end, m.idEnd
	}
	err, overflow = w.sendLocked(h.data, c.State(), false, nil, now)
	if err == nil {
		n := uint64(len(h.msgs))
		c.msgsOut.Add(n)
		c.t.stats.messagesOut.Add(n)
		c.t.stats.heldWrites.Add(1)
		c.t.stats.heldMessages.Add(n)
	}
	return err, overflow
}

// writeHeld writes what a read batch held for the connection.
func (w *writer) writeHeld() {
	w.mu.Lock()
	err, overflow := w.writeHeldLocked()
	w.mu.Unlock()
	if overflow {
		w.overflow(err)
	}
}

// dropHeldLocked lets held messages go unwritten: the connection failed.
func (w *writer) dropHeldLocked() {
	if w.held != nil {
		w.c.t.putHeld(w.held)
		w.held = nil
	}
}

func (t *Transport) putHeld(h *heldWrites) {
	if cap(h.data) > 2*heldBatchBytes || cap(h.msgs) > 1024 {
		return
	}
	h.data, h.ids, h.msgs = h.data[:0], h.ids[:0], h.msgs[:0]
	t.helds.Put(h)
}

// writeHeld ends the reader's batch: what it held for each connection is
// written, in the order the connections were first written to.
func (r *reading) writeHeld() {
	for i, c := range r.held {
		c.w.writeHeld()
		r.held[i] = nil
	}
	r.held = r.held[:0]
}
