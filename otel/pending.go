package otel

import "time"

// pendingOpens is the FIFO of connections whose open span waits until they
// have been open for delay: connections open in event order, so the due ones
// are always at the front. It holds at most max entries; a connection that
// finds it full has its open span emitted at once.
type pendingOpens struct {
	delay time.Duration // <= 0: no waiting
	max   int
	q     []pendingOpen
	head  int
}

type pendingOpen struct {
	c      *connSpan
	opened time.Time
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
	p.q = append(p.q, pendingOpen{c: c, opened: c.opened})
	c.openPending = true
	return true
}

// due pops the connections open for delay by now and calls emit for those
// whose open span still waits (not closed, evicted or ended since).
func (p *pendingOpens) due(now time.Time, emit func(*connSpan)) {
	for p.head < len(p.q) {
		e := p.q[p.head]
		if now.Before(e.opened.Add(p.delay)) {
			return
		}
		p.q[p.head] = pendingOpen{}
		p.head++
		if e.c.openPending && e.c.opened.Equal(e.opened) {
			e.c.openPending = false
			emit(e.c)
		}
	}
	p.q, p.head = p.q[:0], 0
}

// openDue emits the open spans due by now.
func (s *spanner) openDue(now time.Time) { s.pending.due(now, s.emitOpen) }
