package hep

import (
	"sync"

	"github.com/sipwire/sipwire/transport"
)

// maxReplay is the stack room HandleEvent keeps for the Call-IDs of one
// connection; more are still replayed, at the cost of an allocation.
const maxReplay = DefaultCallIDsPerConn

// callTracker remembers, per traced connection, its open event and the last
// Call-IDs it carried, so that FormatHomer can correlate transport events
// with calls. Its bounds are fixed: Call-IDs per connection (the oldest is
// forgotten), open-event repeats per connection, and connections (an
// arbitrary one is forgotten when full).
type callTracker struct {
	// seen tells a Call-ID new on a connection from a repeat, however many
	// calls a trunk connection carries at once (the per-connection ring
	// below only remembers the last few, for the CLOSED replay).
	seen *transport.CallIDSet

	mu     sync.Mutex
	bounds callBounds
	conns  map[uint64]*connCalls
}

// callBounds are a callTracker's bounds, all positive.
type callBounds struct {
	perConn  int // Call-IDs remembered per connection, for its CLOSED
	replays  int // Call-IDs per connection that get its open event repeated
	maxConns int // connections remembered
}

type connCalls struct {
	open    transport.Event
	hasOpen bool
	ids     []string // ring of at most perConn Call-IDs
	next    int      // where the next Call-ID goes once ids is full
	// calls counts the Call-IDs seen, up to the replays bound.
	calls int
}

func newCallTracker(b callBounds) *callTracker {
	return &callTracker{seen: transport.NewCallIDSet(0), bounds: b, conns: make(map[uint64]*connCalls)}
}

// entry returns the connection's record, creating it (and making room)
// when needed. The caller holds mu.
func (c *callTracker) entry(id uint64) *connCalls {
	if cc, ok := c.conns[id]; ok {
		return cc
	}
	if len(c.conns) >= c.bounds.maxConns {
		for k := range c.conns {
			delete(c.conns, k)
			break
		}
	}
	cc := &connCalls{}
	c.conns[id] = cc
	return cc
}

// message records that callID was seen on conn. When the Call-ID is new,
// among the connection's first bounds.replays, and the connection's open
// event is known, it returns that event (true): the caller sends it again,
// correlated to the Call-ID. When the open event is not known yet, the
// Call-ID waits for opened.
func (c *callTracker) message(conn uint64, callID []byte) (transport.Event, string, bool) {
	if !c.seen.Add(conn, callID) {
		return transport.Event{}, "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.entry(conn)
	id := string(callID)
	if len(cc.ids) < c.bounds.perConn {
		cc.ids = append(cc.ids, id)
	} else {
		cc.ids[cc.next] = id
		cc.next = (cc.next + 1) % c.bounds.perConn
	}
	if cc.calls >= c.bounds.replays {
		return transport.Event{}, "", false
	}
	cc.calls++
	return cc.open, id, cc.hasOpen
}

// opened records e as the connection's open event and appends to ids the
// Call-IDs seen before it arrived, to be sent with it.
func (c *callTracker) opened(e *transport.Event, ids []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.entry(e.ConnID)
	cc.open, cc.hasOpen = *e, true
	return append(ids, cc.ids...)
}

// closed forgets the connection and appends to ids the Call-IDs it carried
// recently, to be sent with its CLOSED event.
func (c *callTracker) closed(conn uint64, ids []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc, ok := c.conns[conn]
	if !ok {
		return ids
	}
	delete(c.conns, conn)
	return append(ids, cc.ids...)
}

// tracked returns how many connections are remembered.
func (c *callTracker) tracked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns)
}
