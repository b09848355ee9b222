package pcap

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// checkSuffix checks that the ring holds, intact and in order, a non-empty
// suffix of sent, whose last element is the newest message.
func checkSuffix(t *testing.T, r *Ring, sent []*transport.TracedMessage) []Record {
	t.Helper()
	got := r.Snapshot(Filter{})
	if len(got) == 0 || len(got) > len(sent) {
		t.Fatalf("ring holds %d records after %d messages", len(got), len(sent))
	}
	for i, rec := range got {
		want := sent[len(sent)-len(got)+i]
		if rec.Seq != uint64(len(sent)-len(got)+i+1) || !bytes.Equal(rec.Data, want.Data) || rec.CallID != string(want.CallID) {
			t.Fatalf("record %d of %d is seq %d Call-ID %q, want seq %d Call-ID %q and its message",
				i, len(got), rec.Seq, rec.CallID, len(sent)-len(got)+i+1, want.CallID)
		}
	}
	return got
}

// TestArenaWrapsWholeRecords sends messages of varying sizes through a ring
// a few records long, so that records often do not fit at the end of the
// arena and go to its start, and checks every step.
func TestArenaWrapsWholeRecords(t *testing.T) {
	const bound = 4000
	r := NewRing(bound)
	var sent []*transport.TracedMessage
	wraps := 0
	for i := range 300 {
		m := tapped(uint64(i%3+1), transport.Received, testEpoch.Add(time.Duration(i)*time.Millisecond),
			fmt.Sprintf("call-%d", i), (i*337)%900)
		r.TapMessage(m)
		sent = append(sent, m)
		if r.arena.wrapped {
			wraps++
		}
		if len(r.arena.buf) > bound || r.arena.used() > bound {
			t.Fatalf("step %d: arena of %d bytes holds %d, over the bound %d", i, len(r.arena.buf), r.arena.used(), bound)
		}
		got := checkSuffix(t, r, sent)
		st := r.Stats()
		if st.Messages != len(got) || st.Captured != uint64(i+1) || st.Evicted != uint64(i+1-len(got)) {
			t.Fatalf("step %d: stats %+v with %d records held", i, st, len(got))
		}
	}
	if wraps == 0 {
		t.Fatal("no record ever went to the start of the arena: the test does not exercise the wrap")
	}
}

// TestArenaTakenAtFirstMessage checks that a ring takes no memory until
// its first message, then its whole bound at once (no growth, no copy), and
// never holds more than the bound.
func TestArenaTakenAtFirstMessage(t *testing.T) {
	const bound = 1 << 20
	r := NewRing(bound)
	if r.arena.buf != nil {
		t.Fatalf("an empty ring holds an arena of %d bytes", len(r.arena.buf))
	}
	sent := []*transport.TracedMessage{tapped(1, transport.Received, testEpoch, "first", 100)}
	r.TapMessage(sent[0])
	if len(r.arena.buf) != bound {
		t.Fatalf("arena of %d bytes after one message, want the bound %d", len(r.arena.buf), bound)
	}
	for i := range 3000 {
		m := tapped(1, transport.Received, testEpoch, fmt.Sprintf("c%d", i), 500)
		r.TapMessage(m)
		sent = append(sent, m)
		if r.arena.used() > bound {
			t.Fatalf("message %d: arena holds %d bytes, over the bound %d", i, r.arena.used(), bound)
		}
	}
	if len(r.arena.buf) != bound || r.Stats().Evicted == 0 {
		t.Fatalf("arena of %d bytes, stats %+v: want %d and evicting", len(r.arena.buf), r.Stats(), bound)
	}
	checkSuffix(t, r, sent)
}

// TestArenaTakesLargeMessage checks that a message far larger than the
// others fits among them when the bound allows.
func TestArenaTakesLargeMessage(t *testing.T) {
	r := NewRing(1 << 20)
	var sent []*transport.TracedMessage
	for i, body := range []int{10, 3 << 16, 10} {
		m := tapped(1, transport.Received, testEpoch, fmt.Sprint(i), body)
		r.TapMessage(m)
		sent = append(sent, m)
	}
	if got := checkSuffix(t, r, sent); len(got) != 3 {
		t.Fatalf("ring holds %d records, want all 3", len(got))
	}
}
