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
	if len(s.seen) != 4 || len(s.order) != 4 {
		t.Fatalf("size %d/%d, bound 4", len(s.seen), len(s.order))
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

func BenchmarkCallIDSetRepeat(b *testing.B) {
	s := NewCallIDSet(0)
	id := []byte("a84b4c76e66710@pc33.atlanta.example.com")
	s.Add(1, id)
	b.ReportAllocs()
	for b.Loop() {
		s.Add(1, id)
	}
}
