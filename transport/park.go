package transport

import (
	"sync/atomic"
	"time"
)

// Parking: a connection idle for Options.ParkAfter gives up its reader
// goroutine (and the goroutine's stack, the largest part of an idle
// connection's memory). The transport's poller (poller_linux.go: one epoll
// instance and one goroutine for every parked connection) starts a reader
// again when bytes arrive; a timer per parked connection enforces
// tcp_connection_lifetime meanwhile. A parked connection is still in the
// table, is written to as any other (writes never need the reader), and is
// closed by closeWith as any other.
//
// Exactly one of three parties unparks a connection, by clearing
// Conn.parked: the poller (bytes or a hang-up arrived), the idle timer, or
// nobody (closeWith closes the socket, which leaves the epoll set).

// parkState is what a connection keeps while it can park.
type parkState struct {
	parked atomic.Bool
	// timer enforces tcp_connection_lifetime while parked; made at the
	// first park, reused after.
	timer *time.Timer
	// registered: the socket is in the poller's epoll set (disarmed after
	// each wake: EPOLLONESHOT).
	registered atomic.Bool
}

// canPark reports whether the reader may park now: parking is on, the
// connection is open with no message started, and it has been idle for
// ParkAfter.
func (c *Conn) canPark(now time.Time) bool {
	after := c.t.opts.parkAfter()
	if after <= 0 || c.State() != StateOpen || !c.msgStart.IsZero() || c.buf != nil {
		return false
	}
	return !now.Before(c.parkTime(time.Unix(0, c.lastActivity.Load()), after))
}

// parkTime is when the reader may park: ParkAfter after the last traffic,
// and not before it has been reading that long (a reader just started for
// bytes that arrived reads them first).
func (c *Conn) parkTime(last time.Time, after time.Duration) time.Time {
	if c.readSince.After(last) {
		last = c.readSince
	}
	return last.Add(after)
}

// park hands the connection to the poller. It is the reader's last act:
// once it returns false (parked) another goroutine may start a reader.
// It returns true when the connection could not park and the reader must
// go on.
func (c *Conn) park() bool {
	pl := c.t.startPolling()
	if pl == nil {
		return true
	}
	p := &c.idle
	lifetime := time.Unix(0, c.lastActivity.Load()).Add(c.t.opts.connectionLifetime())
	wait := max(time.Until(lifetime), 0)
	if p.timer == nil {
		p.timer = time.AfterFunc(time.Hour, c.parkExpired)
		p.timer.Stop()
	}
	p.parked.Store(true) // before the timer can fire, after it exists
	p.timer.Reset(wait)
	if err := pl.watch(c); err != nil {
		if p.parked.CompareAndSwap(true, false) {
			p.timer.Stop()
			return true
		}
		return false // the timer took it meanwhile
	}
	c.t.stats.parks.Add(1)
	c.t.parkedNow.Add(1)
	return false
}

// unpark takes the connection back from the poller or the timer; it
// reports whether this caller won it.
func (c *Conn) unpark() bool {
	if !c.idle.parked.CompareAndSwap(true, false) {
		return false
	}
	c.idle.timer.Stop()
	c.t.parkedNow.Add(-1)
	return true
}

// parkExpired is the idle timer of a parked connection: it starts a reader,
// which closes the connection with IDLE_TIMEOUT when no traffic (writes
// included) happened since, or parks it again later.
func (c *Conn) parkExpired() {
	if c.unpark() {
		c.resume()
	}
}

// resume starts a reader for a connection taken from the poller or the
// timer, unless the connection is no longer open (Shutdown drains and
// closes it).
func (c *Conn) resume() {
	c.mu.Lock()
	if c.State() != StateOpen {
		c.mu.Unlock()
		return
	}
	c.t.readers.Add(1)
	c.mu.Unlock()
	c.t.stats.resumes.Add(1)
	go c.serve()
}

// startPolling returns the transport's poller, started at the first park;
// nil when it cannot start (connections then keep their readers).
func (t *Transport) startPolling() *poller {
	t.pollerOnce.Do(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.shutdown {
			t.poller = startPoller(t, t.opts.logger())
		}
	})
	return t.poller
}

// stopPolling stops the poller, if it started, once every connection is
// closed.
func (t *Transport) stopPolling() {
	t.pollerOnce.Do(func() {}) // none may start from now on
	if t.poller != nil {
		t.poller.stop()
	}
}
