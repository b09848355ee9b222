package transport

import (
	"strconv"
	"testing"
)

func TestCallIDSet(t *testing.T) {
	s := NewCallIDSet(4)
	if !s.Add(1, []byte("a")) || s.Add(1, []byte("a")) {
		t.Fatal("a on 1: new once")
	}
	if !s.Add(2, []byte("a")) {
		t.Fatal("a on 2 is new: the connection is part of the key")
	}
	for i := range 4 { // pushes out both entries of "a"
		s.Add(3, []byte("x"+strconv.Itoa(i)))
	}
	if !s.Add(1, []byte("a")) {
		t.Fatal("a forgotten after the bound, so new again")
	}
	if s.n != 4 || len(s.order) != 4 {
		t.Fatalf("size %d/%d, bound 4", s.n, len(s.order))
	}
}

// The table against a plain map, through growth and a long FIFO churn: the
// same answer for every Add, and the table holds exactly the ring's
// entries.
func TestCallIDSetAgainstMap(t *testing.T) {
	const bound = 3000
	s := NewCallIDSet(bound)
	type key struct {
		conn uint64
		id   string
	}
	seen := map[key]bool{}
	var order []key
	for i := range 200000 {
		// A working set a little larger than the bound, so that entries
		// come back after being forgotten.
		n := (i * 7919) % (bound + bound/2)
		k := key{conn: uint64(n % 5), id: "call-" + strconv.Itoa(n)}
		want := !seen[k]
		if want {
			seen[k] = true
			order = append(order, k)
			if len(order) > bound {
				delete(seen, order[0])
				order = order[1:]
			}
		}
		if got := s.Add(k.conn, []byte(k.id)); got != want {
			t.Fatalf("Add %d (%v): %v, want %v", i, k, got, want)
		}
	}
	if s.n != len(seen) {
		t.Fatalf("table holds %d, want %d", s.n, len(seen))
	}
	for k := range seen {
		if s.Add(k.conn, []byte(k.id)) {
			t.Fatalf("%v lost from the table", k)
		}
	}
}

// Many concurrent calls on one connection (a trunk): each Call-ID is new
// once, however the messages of the calls interleave.
func TestCallIDSetTrunk(t *testing.T) {
	s := NewCallIDSet(0)
	news := 0
	for range 6 {
		for call := range 1000 {
			if s.Add(7, []byte("call-"+strconv.Itoa(call))) {
				news++
			}
		}
	}
	if news != 1000 {
		t.Fatalf("%d new, want 1000", news)
	}
}

// BenchmarkCallIDSetTrunk: a full set under churn, as on a trunk: per op
// one new Call-ID (an eviction) and five repeats of recent ones.
func BenchmarkCallIDSetTrunk(b *testing.B) {
	s := NewCallIDSet(0)
	ids := make([][]byte, 2*DefaultCallIDSetSize)
	for i := range ids {
		ids[i] = []byte(strconv.Itoa(i) + "-31337@pc33.atlanta.example.com")
		s.Add(1, ids[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		s.Add(1, ids[i%len(ids)])
		for r := 1; r <= 5; r++ {
			s.Add(1, ids[(i-r*7+len(ids))%len(ids)])
		}
	}
}

func BenchmarkCallIDSetRepeat(b *testing.B) {
	s := NewCallIDSet(0)
	id := []byte("a84b4c76e66710@pc33.atlanta.example.com")
	s.Add(1, id)
	b.ReportAllocs()
	for b.Loop() {
		s.Add(1, id)
	}
}
