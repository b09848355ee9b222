package otel

import (
	"time"

	"github.com/sipwire/sipwire/transport"
	"go.opentelemetry.io/otel/trace"
)

// connSpan is what is kept of one connection between its events: plain
// values, not a live SDK span, so that an idle connection costs a few
// hundred bytes. The lifetime span is started and ended in one go when the
// connection closes (or is evicted, or tracing stops), back-dated to when
// it opened and with the ids its children already named as their parent.
type connSpan struct {
	info transport.ConnInfo
	// lifetime holds the lifetime span's ids and sampling decision; invalid
	// while a connect is in progress or after it failed.
	lifetime trace.SpanContext
	// opened is when the lifetime span begins; partial says it began at a
	// later event than the open one.
	opened  time.Time
	partial bool
	// openPending says the open span waits for the connection to have been
	// open for the open-span delay (pending.go).
	openPending bool
	// connectStart is the CONNECT_START time of a connect in progress.
	connectStart time.Time
	// errType and errReason are the first error seen ("" for none).
	errType, errReason string
	// events are the mid-life events to add to the lifetime span, at most
	// maxConnEvents of them; eventsDropped counts the rest.
	events        []connEvent
	eventsDropped int

	prev, next *connSpan
}

// maxConnEvents bounds the mid-life events kept per connection, as the
// SDK's default span limit bounds a span's events.
const maxConnEvents = 128

// connEvent is one mid-life event of a connection.
type connEvent struct {
	kind   transport.EventKind
	status transport.Status
	reason string
	at     time.Time
}

// hasLifetime says whether the connection's lifetime has begun.
func (c *connSpan) hasLifetime() bool { return c.lifetime.IsValid() }

// connTable holds the connections with a span in progress, at most max of
// them, in the order they were added so that the oldest can be evicted.
// It is owned by one goroutine at a time (the Exporter's mutex).
type connTable struct {
	max   int
	byID  map[uint64]*connSpan
	head  *connSpan // oldest
	tail  *connSpan // newest
	gauge interface{ Add(int64) int64 }
}

func newConnTable(max int, gauge interface{ Add(int64) int64 }) connTable {
	return connTable{max: max, byID: make(map[uint64]*connSpan), gauge: gauge}
}

func (t *connTable) get(id uint64) *connSpan { return t.byID[id] }

// add inserts c as the newest entry. When the table is full it first
// removes the oldest entry and returns it, for the caller to end.
func (t *connTable) add(c *connSpan) (evicted *connSpan) {
	if len(t.byID) >= t.max {
		evicted = t.head
		t.remove(evicted)
	}
	t.byID[c.info.ID] = c
	c.prev, c.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = c
	} else {
		t.head = c
	}
	t.tail = c
	t.gauge.Add(1)
	return evicted
}

// remove takes c out of the table.
func (t *connTable) remove(c *connSpan) {
	delete(t.byID, c.info.ID)
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		t.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		t.tail = c.prev
	}
	c.prev, c.next = nil, nil
	t.gauge.Add(-1)
}

// drain removes every entry, oldest first, and calls f for each.
func (t *connTable) drain(f func(*connSpan)) {
	for t.head != nil {
		c := t.head
		t.remove(c)
		f(c)
	}
}
