package transport

import "sync"

// idleDeadlines holds the idle deadlines of parked connections, earliest
// first (a binary heap), so that one goroutine keeps
// tcp_connection_lifetime for all of them instead of a timer each. A
// connection has at most one entry (parkState.queued, guarded by mu): a
// connection that parks again keeps the entry it has, whose deadline can
// only be earlier than its new one, and the loop pushes it again for the
// later deadline when it comes up (poller.run). Entries of connections
// gone or no longer parked are dropped when they come up, or all at once
// when they outnumber the parked connections.
type idleDeadlines struct {
	mu sync.Mutex
	h  []idleDeadline
}

// idleDeadline is one parked connection's deadline, in unix nanoseconds.
type idleDeadline struct {
	at int64
	id uint64
}

// idleCompactSlack is how many entries beyond twice the parked
// connections the heap may hold before its stale entries are dropped.
const idleCompactSlack = 1024

// push adds a deadline; it reports whether it is now the earliest, so that
// the poller, which may be sleeping until a later one, must wake.
func (d *idleDeadlines) push(e idleDeadline) (earliest bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pushLocked(e)
}

// pushOnce is push for a connection whose queued flag says whether it has
// an entry already: it pushes only when it has none, and sets the flag.
func (d *idleDeadlines) pushOnce(e idleDeadline, queued *bool) (earliest bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if *queued {
		return false
	}
	*queued = true
	return d.pushLocked(e)
}

func (d *idleDeadlines) pushLocked(e idleDeadline) (earliest bool) {
	d.h = append(d.h, e)
	d.up(len(d.h) - 1)
	return d.h[0] == e
}

// earliest returns the earliest deadline; ok is false when there is none.
func (d *idleDeadlines) earliest() (at int64, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.h) == 0 {
		return 0, false
	}
	return d.h[0].at, true
}

// popDue removes the deadlines at or before now and appends them to into,
// calling popped (when not nil) for each under the heap's lock.
func (d *idleDeadlines) popDue(now int64, into []idleDeadline, popped func(idleDeadline)) []idleDeadline {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.h) > 0 && d.h[0].at <= now {
		if popped != nil {
			popped(d.h[0])
		}
		into = append(into, d.h[0])
		last := len(d.h) - 1
		d.h[0] = d.h[last]
		d.h = d.h[:last]
		d.down(0)
	}
	return into
}

// compact drops the entries that are not current when the heap holds more
// than twice parked (plus idleCompactSlack) entries; current is called
// under the heap's lock.
func (d *idleDeadlines) compact(parked int, current func(idleDeadline) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.h) <= 2*parked+idleCompactSlack {
		return
	}
	kept := d.h[:0]
	for _, e := range d.h {
		if current(e) {
			kept = append(kept, e)
		}
	}
	clear(d.h[len(kept):])
	d.h = kept
	for i := len(d.h)/2 - 1; i >= 0; i-- {
		d.down(i)
	}
	if cap(d.h) > 4*len(d.h)+idleCompactSlack {
		d.h = append([]idleDeadline(nil), d.h...)
	}
}

func (d *idleDeadlines) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if d.h[parent].at <= d.h[i].at {
			return
		}
		d.h[parent], d.h[i] = d.h[i], d.h[parent]
		i = parent
	}
}

func (d *idleDeadlines) down(i int) {
	n := len(d.h)
	for {
		least := i
		if l := 2*i + 1; l < n && d.h[l].at < d.h[least].at {
			least = l
		}
		if r := 2*i + 2; r < n && d.h[r].at < d.h[least].at {
			least = r
		}
		if least == i {
			return
		}
		d.h[least], d.h[i] = d.h[i], d.h[least]
		i = least
	}
}
