package otel

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// connSpan is what is kept of one connection between its events.
type connSpan struct {
	id uint64
	// attrs are the connection's attributes, shared by all its spans.
	attrs []attribute.KeyValue
	// lifetime is the lifetime span; nil while a connect is in progress or
	// after it failed.
	lifetime trace.Span
	// connectStart is the CONNECT_START time of a connect in progress.
	connectStart time.Time
	// errType is the first error kind seen, "" for none.
	errType string

	prev, next *connSpan
}

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
	t.byID[c.id] = c
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
	delete(t.byID, c.id)
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
