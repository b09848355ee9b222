package otel

import "time"

// pendingOpens is the FIFO of connections whose open span waits until they
// have been open for delay: connections open in event order, so the due ones
// are always at the front. It holds at most max entries; a connection that
// finds it full has its open span emitted at once.
type pendingOpens struct {
	delay time.Duration // <= 0: no waiting
	max   int
	q     []*connSpan
	head  int
}

// add queues c's open span and marks it pending; false when the span is
// to be emitted now.
func (p *pendingOpens) add(c *connSpan) bool {
	if p.delay <= 0 || len(p.q)-p.head >= p.max {
		return false
	}
	if p.head > 0 && p.head >= len(p.q)/2 {
		n := copy(p.q, p.q[p.head:])
		clear(p.q[n:])
		p.q, p.head = p.q[:n], 0
	}
	p.q = append(p.q, c)
	c.openPending = true
	return true
}

// due pops the connections open for delay by now and calls emit for those
// whose open span still waits (not closed, evicted or ended since).
func (p *pendingOpens) due(now time.Time, emit func(*connSpan)) {
	for p.head < len(p.q) {
		c := p.q[p.head]
		if now.Before(c.opened.Add(p.delay)) {
			return
		}
		p.q[p.head] = nil
		p.head++
		if c.openPending {
			c.openPending = false
			emit(c)
		}
	}
	p.q, p.head = p.q[:0], 0
}

// openDue emits the open spans due by now.
func (s *spanner) openDue(now time.Time) { s.pending.due(now, s.emitOpen) }
