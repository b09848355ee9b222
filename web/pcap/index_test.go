package pcap

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// TestCallIndexMatchesAScan keeps messages of interleaved calls in rings
// small enough to evict many times, and checks after every batch (of 1 to
// 400 messages, so that the index is read with few or many records kept
// since the last read, some evicted unindexed) that the index finds for
// each Call-ID exactly the records a scan of the whole ring finds, and that
// Calls counts and filters as a scan does.
func TestCallIndexMatchesAScan(t *testing.T) {
	for _, maxBytes := range []int{4 << 10, 100 << 10, 1 << 20} {
		t.Run(fmt.Sprint(maxBytes), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(maxBytes)))
			r := NewRing(maxBytes)
			at := testEpoch
			for batch := range 40 {
				for range 1 + rng.IntN(400) {
					call := fmt.Sprintf("call-%d@Host", rng.IntN(60))
					if rng.IntN(20) == 0 {
						call = "" // a message without a Call-ID is kept, not indexed
					}
					at = at.Add(time.Millisecond)
					m := tapped(uint64(1+rng.IntN(5)), transport.MessageDirection(rng.IntN(2)), at, call, rng.IntN(300))
					if call == "" {
						m.CallID = nil
					}
					r.TapMessage(m)
				}
				checkIndex(t, r, batch)
			}
		})
	}
}

func checkIndex(t *testing.T, r *Ring, batch int) {
	t.Helper()
	all := r.Snapshot(Filter{})
	byCall := map[string][]Record{}
	conns := map[string][]uint64{}
	for _, rec := range all {
		if rec.CallID == "" {
			continue
		}
		byCall[rec.CallID] = append(byCall[rec.CallID], rec)
		if !slices.Contains(conns[rec.CallID], rec.ConnID) {
			conns[rec.CallID] = append(conns[rec.CallID], rec.ConnID)
		}
	}
	for id, want := range byCall {
		got := r.Call(id)
		if len(got) != len(want) {
			t.Fatalf("batch %d: Call(%q) = %d records, a scan finds %d", batch, id, len(got), len(want))
		}
		for i := range got {
			if got[i].Seq != want[i].Seq || string(got[i].Data) != string(want[i].Data) || got[i].ConnID != want[i].ConnID {
				t.Fatalf("batch %d: Call(%q)[%d] is seq %d, want %d", batch, id, i, got[i].Seq, want[i].Seq)
			}
		}
	}
	if got := r.Call("call-999@Host"); len(got) != 0 {
		t.Fatalf("a Call-ID never seen has %d records", len(got))
	}
	page := r.Calls(CallQuery{Limit: 1000})
	if page.Held != len(byCall) || page.Matched != len(byCall) || len(page.Calls) != len(byCall) {
		t.Fatalf("batch %d: Calls holds %d, matched %d, returned %d; a scan finds %d calls", batch, page.Held, page.Matched, len(page.Calls), len(byCall))
	}
	for i, c := range page.Calls {
		want := byCall[c.CallID]
		if c.Messages != len(want) || !c.First.Equal(want[0].Time) || !c.Last.Equal(want[len(want)-1].Time) ||
			!slices.Equal(c.Conns, conns[c.CallID]) || !strings.HasPrefix(string(want[0].Data), c.StartLine+"\r\n") {
			t.Fatalf("batch %d: summary %+v does not match the scan (%d messages, conns %v)", batch, c, len(want), conns[c.CallID])
		}
		if i > 0 && c.Last.After(page.Calls[i-1].Last) {
			t.Fatalf("batch %d: calls not most recent first", batch)
		}
	}
	n := 0
	for id, recs := range byCall {
		if strings.Contains(id, "-1") && slices.ContainsFunc(recs, func(r Record) bool { return r.ConnID == 3 }) {
			n++
		}
	}
	if got := r.Calls(CallQuery{Search: "-1", ConnID: 3, Limit: 1000}); got.Matched != n {
		t.Fatalf("batch %d: search -1 on conn 3 matched %d, a scan %d", batch, got.Matched, n)
	}
	if got := r.Calls(CallQuery{Search: "@HOST", Limit: 2}); got.Matched != len(byCall) || len(got.Calls) != min(2, len(byCall)) {
		t.Fatalf("batch %d: a search ignoring case matched %d of %d, returned %d for limit 2", batch, got.Matched, len(byCall), len(got.Calls))
	}
}

// TestCallIndexBuiltWhenRead checks that keeping messages indexes nothing
// (the map is built when the index is read) and that a read indexes every
// record held, several chunks of them.
func TestCallIndexBuiltWhenRead(t *testing.T) {
	r := NewRing(8 << 20)
	at := testEpoch
	const msgs = 3*indexChunk + 100
	for i := range msgs {
		at = at.Add(time.Millisecond)
		r.TapMessage(tapped(uint64(1+i%2), transport.Received, at, fmt.Sprintf("call-%d@Host", i/24), 0))
	}
	if r.Stats().Messages != msgs {
		t.Fatalf("ring holds %d messages, want all %d", r.Stats().Messages, msgs)
	}
	if n := len(r.idx.calls); n != 0 || r.idx.indexed != 0 {
		t.Fatalf("keeping messages indexed %d calls, up to seq %d; want none before a read", n, r.idx.indexed)
	}
	checkIndex(t, r, 0)
	if r.idx.indexed != r.seq || len(r.idx.calls) != (msgs+23)/24 {
		t.Fatalf("after a read: indexed up to %d of %d, %d calls, want %d", r.idx.indexed, r.seq, len(r.idx.calls), (msgs+23)/24)
	}
}

// TestCallIndexReadWhileKept reads the index (Call, Calls) while two
// goroutines keep messages of interleaved calls, with the ring evicting, so
// that reads catch up in chunks with the lock let go in between; then
// checks it against a scan.
func TestCallIndexReadWhileKept(t *testing.T) {
	r := NewRing(1 << 20)
	done := make(chan struct{})
	for g := range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			// One time for all: the two goroutines' messages reach the
			// ring in no time order, and checkIndex checks that Calls
			// lists the most recent first by time.
			for i := range 20000 {
				r.TapMessage(tapped(uint64(1+g), transport.MessageDirection(i%2), testEpoch, fmt.Sprintf("call-%d-%d@Host", g, i/12), 50))
			}
		}()
	}
	for left := 2; left > 0; {
		select {
		case <-done:
			left--
		default:
			// The calls listed may be evicted before Call looks: what
			// is checked is the race detector's, and the final scan.
			for _, c := range r.Calls(CallQuery{Limit: 5}).Calls {
				for _, rec := range r.Call(c.CallID) {
					if rec.CallID != c.CallID {
						t.Errorf("Call(%q) returned a record of %q", c.CallID, rec.CallID)
					}
				}
			}
		}
	}
	checkIndex(t, r, 0)
}

// fillCalls keeps calls of 12 messages each, as SIPp's uac and uas give
// through the forwarder, in r.
func fillCalls(r *Ring, calls int) {
	at := testEpoch
	for c := range calls {
		id := fmt.Sprintf("%d-4242@127.0.0.1", c+1)
		for i := range 12 {
			at = at.Add(10 * time.Microsecond)
			r.TapMessage(tapped(uint64(1+c%2000), transport.MessageDirection(i%2), at, id, 200))
		}
	}
}

// BenchmarkCallLookup is the ladder's query: the 12 messages of one call
// among 10,000 calls held.
func BenchmarkCallLookup(b *testing.B) {
	r := NewRing(96 << 20)
	fillCalls(r, 10000)
	if st := r.Stats(); st.Evicted != 0 {
		b.Fatalf("the ring evicted %d messages", st.Evicted)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if len(r.Call(fmt.Sprintf("%d-4242@127.0.0.1", 1+i%10000))) != 12 {
			b.Fatal("call not found")
		}
	}
}

// BenchmarkCallScan is what the lookup would cost without the index: a
// snapshot of the 120,000 messages, filtered.
func BenchmarkCallScan(b *testing.B) {
	r := NewRing(96 << 20)
	fillCalls(r, 10000)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, rec := range r.Snapshot(Filter{}) {
			if rec.CallID == "5000-4242@127.0.0.1" {
				n++
			}
		}
		if n != 12 {
			b.Fatal("call not found")
		}
	}
}

// BenchmarkCallsSearch is the search by Call-ID over 10,000 calls held.
func BenchmarkCallsSearch(b *testing.B) {
	r := NewRing(96 << 20)
	fillCalls(r, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if p := r.Calls(CallQuery{Search: "777"}); p.Matched == 0 {
			b.Fatal("no match")
		}
	}
}

// BenchmarkCallsList is the dashboard's list of the 100 most recent calls
// of 10,000 held: one pass over the index's entries, then 100 records.
func BenchmarkCallsList(b *testing.B) {
	r := NewRing(96 << 20)
	fillCalls(r, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if p := r.Calls(CallQuery{}); len(p.Calls) != DefaultCallLimit || p.Matched != 10000 {
			b.Fatalf("%d calls of %d", len(p.Calls), p.Matched)
		}
	}
}

// BenchmarkCallIndexCatchUp is what the first read of the index after a
// while costs: indexing the messages kept since the last read, here 10,000
// calls (120,000 messages) held, none indexed; reported per message.
func BenchmarkCallIndexCatchUp(b *testing.B) {
	const calls = 10000
	r := NewRing(96 << 20)
	fillCalls(r, calls)
	for b.Loop() {
		b.StopTimer()
		clear(r.idx.calls)
		r.idx.free, r.idx.indexed = nil, 0
		for i := range r.idx.slots {
			r.idx.slots[i].e, r.idx.slots[i].next = nil, 0
		}
		b.StartTimer()
		r.lockIndexed()
		r.mu.Unlock()
	}
	if n := len(r.idx.calls); n != calls {
		b.Fatalf("%d calls indexed, want %d", n, calls)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*calls*12), "ns/message")
}
