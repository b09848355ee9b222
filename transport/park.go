package transport

import (
	"sync/atomic"
	"time"
)

// Parking: a connection idle for its park wait gives up its reader
// goroutine (with the goroutine's stack and the reader's state, the largest
// part of an idle connection's memory). The transport's event loops
// (loops.go, poller_linux.go: one epoll set and one goroutine per P of the
// runtime) watch the parked connections, handle their bytes when they
// arrive, and keep tcp_connection_lifetime for every parked connection
// with one heap of deadlines instead of a timer each. A parked connection
// is still in the table, is written to as any other (writes never need the
// reader), and is closed by closeWith as any other. A parked connection
// also gives up Go's objects for its socket, keeping only its descriptor
// (detach.go); on Linux a listener's connections start that way, accepted
// raw and parked (acceptraw_linux.go).
//
// The park wait adapts to the connection: a new connection's reader parks
// after Options.ParkAfter >> parkWaitSteps (31 ms of the default 2 s), and
// each time bytes arrive sooner than ParkAfter after the connection parked
// the wait doubles, up to ParkAfter. A connection that sends a ping and
// stays idle (a phone behind NAT) thus holds a goroutine for milliseconds,
// so a burst of thousands of such connections never has thousands of
// goroutines at once (the runtime never frees a goroutine's descriptor
// once made); a busy connection keeps its reader as long as it stays busy.
// Until its wait has doubled up to ParkAfter, a parked connection's bytes
// are read and handled by its loop's goroutine itself, from the detached
// descriptor, and the connection parks again as soon as the socket is
// empty at a message boundary (serveParked): a call's requests and
// responses, tens of milliseconds apart, cost neither a goroutine nor
// Go's socket objects each. Half a message goes on in a reader goroutine.
//
// Exactly one of three parties unparks a connection, by clearing
// parkState.parked: the loop on readiness, the loop on the idle deadline,
// or nobody (closeWith closes the socket, which leaves the epoll set, and
// the deadline left in the heap finds the connection gone).

// parkWaitSteps is how many times a new connection's park wait doubles
// before it reaches Options.ParkAfter.
const parkWaitSteps = 6

// parkState is what a connection keeps while it can park.
type parkState struct {
	parked atomic.Bool
	// registered: the socket is in the poller's epoll set (disarmed after
	// each wake: EPOLLONESHOT).
	registered atomic.Bool
	// shift: the reader parks after ParkAfter >> shift (parkWaitSteps for
	// a new connection). Written by the reader before it parks and by the
	// poller before it starts the next reader.
	shift atomic.Uint32
	// queued: the loop's heap holds an entry for the connection, for
	// deadline or an earlier one (idleDeadlines); guarded by the heap's
	// lock. (Before deadline: it takes the padding after shift.)
	queued bool
	// deadline is when a parked connection's idle bound passes (unix
	// nanoseconds).
	deadline atomic.Int64
}

// parkAfter is how long the connection's reader waits for traffic before
// it parks; 0 when parking is off.
func (c *Conn) parkAfter() time.Duration {
	return c.t.opts.parkAfter() >> c.idle.shift.Load()
}

// canPark reports whether the reader may park now: parking is on, the
// connection is open with no message started, and it has been idle for its
// park wait.
func (c *Conn) canPark(now time.Time) bool {
	after := c.parkAfter()
	if after <= 0 || c.State() != StateOpen || !c.r.msgStart.IsZero() || c.r.buf != nil {
		return false
	}
	return !now.Before(c.parkTime(time.Unix(0, c.lastActivity.Load()), after))
}

// parkTime is when the reader may park: after its park wait since the last
// traffic, and not before it has been reading that long (a reader just
// started for bytes that arrived reads them first).
func (c *Conn) parkTime(last time.Time, after time.Duration) time.Time {
	if c.r.readSince.After(last) {
		last = c.r.readSince
	}
	return last.Add(after)
}

// park hands the connection to the poller. It is the reader's last act
// (or, for a connection accepted parked, the accept's: acceptedDetached): once it
// returns false (parked) another goroutine may start a reader.
// It returns true when the connection could not park and the reader must
// go on.
func (c *Conn) park() bool {
	pl := c.t.startPolling().of(c)
	if pl == nil {
		return true
	}
	p := &c.idle
	deadline := c.lastActivity.Load() + int64(c.t.opts.connectionLifetime())
	c.w.mu.Lock()
	c.detachLocked()
	p.deadline.Store(deadline)
	p.parked.Store(true) // before the poller can see the socket or the deadline
	err := pl.watch(c)
	c.w.mu.Unlock()
	if err != nil {
		if p.parked.CompareAndSwap(true, false) {
			return true
		}
		return false // the deadline took it meanwhile
	}
	pl.schedule(c, deadline)
	c.t.stats.parks.Add(1)
	c.t.parkedNow.Add(1)
	return false
}

// unpark takes the connection back from the poller; it reports whether
// this caller won it.
func (c *Conn) unpark() bool {
	if !c.idle.parked.CompareAndSwap(true, false) {
		return false
	}
	c.t.parkedNow.Add(-1)
	return true
}

// resume reads a connection taken from the poller, unless the connection
// is no longer open (Shutdown drains and closes it): on the loop's
// goroutine for traffic while the park wait is short of ParkAfter
// (serveParked), else in a reader goroutine. traffic says bytes or a
// hang-up woke it, rather than its idle deadline: traffic sooner than
// ParkAfter since the connection's last traffic doubles its park wait,
// later traffic starts it again from the shortest.
func (c *Conn) resume(traffic bool, now time.Time) {
	if traffic {
		after := c.t.opts.parkAfter()
		switch shift := c.idle.shift.Load(); {
		case now.Sub(time.Unix(0, c.lastActivity.Load())) >= after:
			c.idle.shift.Store(parkWaitSteps)
		case shift > 0:
			c.idle.shift.Store(shift - 1)
		}
	}
	c.mu.Lock()
	if c.State() != StateOpen {
		c.mu.Unlock()
		return
	}
	c.t.readers.Add(1)
	c.mu.Unlock()
	c.t.stats.resumes.Add(1)
	if traffic && c.idle.shift.Load() > 0 {
		c.serveParked()
		return
	}
	go c.serve()
}

// startPolling returns the transport's event loops, started at the first
// park; nil when they cannot start (connections then keep their readers).
func (t *Transport) startPolling() *loops {
	t.pollerOnce.Do(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.shutdown {
			t.loops = startLoops(t, t.opts.logger())
		}
	})
	return t.loops
}

// stopPolling stops the poller, if it started, once every connection is
// closed.
func (t *Transport) stopPolling() {
	t.pollerOnce.Do(func() {}) // none may start from now on
	if t.loops != nil {
		t.loops.stop()
	}
}
