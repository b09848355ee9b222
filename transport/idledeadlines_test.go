package transport

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The deadline heap gives deadlines back earliest first, only those due,
// and drops the stale ones when they outnumber the parked connections.
func TestIdleDeadlines(t *testing.T) {
	var d idleDeadlines
	rng := rand.New(rand.NewPCG(1, 2))
	var want []int64
	for i := range 500 {
		at := rng.Int64N(1000)
		want = append(want, at)
		d.push(idleDeadline{at: at, id: uint64(i)})
	}
	slices.Sort(want)
	if at, ok := d.earliest(); !ok || at != want[0] {
		t.Fatalf("earliest %d %v, want %d", at, ok, want[0])
	}
	due := d.popDue(499, nil, nil)
	var got []int64
	for _, e := range due {
		got = append(got, e.at)
	}
	n := 0
	for _, at := range want {
		if at <= 499 {
			n++
		}
	}
	if !slices.Equal(got, want[:n]) {
		t.Fatalf("due: %d deadlines, want the %d at or before 499 in order", len(got), n)
	}
	if !d.push(idleDeadline{at: -1, id: 9999}) {
		t.Error("an earlier deadline is not reported as the earliest")
	}
	if d.push(idleDeadline{at: 5000, id: 10000}) {
		t.Error("a later deadline is reported as the earliest")
	}

	// Compaction keeps only current entries, and only past the bound.
	var c idleDeadlines
	for i := range 3000 {
		c.push(idleDeadline{at: int64(i), id: uint64(i)})
	}
	even := func(e idleDeadline) bool { return e.id%2 == 0 }
	c.compact(1000, even) // 3000 <= 2*1000+1024: nothing dropped
	if len(c.h) != 3000 {
		t.Fatalf("compacted below the bound: %d entries", len(c.h))
	}
	c.compact(10, even)
	if len(c.h) != 1500 {
		t.Fatalf("%d entries after compaction, want the 1500 current", len(c.h))
	}
	prev := int64(-1)
	for _, e := range c.popDue(1<<62, nil, nil) {
		if e.id%2 != 0 || e.at < prev {
			t.Fatalf("after compaction: entry %+v out of order or stale", e)
		}
		prev = e.at
	}
}
