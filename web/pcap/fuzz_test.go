package pcap

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// FuzzRing drives a small ring with messages whose sizes, connections and
// addresses come from the input, and checks after each one that the ring
// holds an intact suffix of what it kept, within its bound, and that it
// evicted no more than it had to.
func FuzzRing(f *testing.F) {
	f.Add(uint16(0), []byte{1, 2, 3})
	f.Add(uint16(1500), []byte{200, 10, 250, 3, 90, 255, 0, 7, 130, 60, 60, 60, 250, 250})
	f.Add(uint16(300), []byte{255, 255, 255, 1, 1, 1, 255})
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, bound uint16, script []byte) {
	if len(script) > 300 {
		script = script[:300]
	}
	maxBytes := headerSize + 40 + int(bound)
	r := NewRing(maxBytes)
	addrs := []netip.AddrPort{testRemote, netip.MustParseAddrPort("[fe80::9%eth1]:5070"), {}}
	var kept []*transport.TracedMessage
	var sizes []int
	lastEvicted, maxSize, tooLarge := -1, 0, 0
	for i, b := range script {
		m := tapped(uint64(b%4), transport.MessageDirection(b%2), testEpoch.Add(time.Duration(i)), fmt.Sprint(i), int(b)*int(b)/16)
		m.Conn.Remote = addrs[int(b)%len(addrs)]
		size, _, _ := recordSize(m)
		r.TapMessage(m)
		if size > maxBytes {
			tooLarge++
		} else {
			kept = append(kept, m)
			sizes = append(sizes, size)
			maxSize = max(maxSize, size)
		}
		if len(kept) == 0 {
			continue
		}
		got := checkSuffix(t, r, kept)
		held := 0
		for j, rec := range got {
			want := kept[len(kept)-len(got)+j]
			if rec.Remote != want.Conn.Remote || rec.ConnID != want.Conn.ID || rec.Direction != want.Direction || !rec.Time.Equal(want.Time) {
				t.Fatalf("step %d: record %d is %v conn %d %v %v, want %v conn %d", i, rec.Seq, rec.Remote, rec.ConnID, rec.Direction, rec.Time, want.Conn.Remote, want.Conn.ID)
			}
			held += sizes[len(kept)-len(got)+j]
		}
		if held > maxBytes || len(r.arena.buf) > maxBytes {
			t.Fatalf("step %d: %d bytes held in an arena of %d, bound %d", i, held, len(r.arena.buf), maxBytes)
		}
		if e := len(kept) - len(got) - 1; e >= 0 {
			lastEvicted = e
		}
		if lastEvicted >= 0 && held+sizes[lastEvicted] <= maxBytes-2*maxSize {
			t.Fatalf("step %d: %d bytes held and %d evicted last: too much evicted for a bound of %d", i, held, sizes[lastEvicted], maxBytes)
		}
		st := r.Stats()
		if st.TooLarge != uint64(tooLarge) || st.Captured != uint64(len(kept)) || st.Evicted != uint64(len(kept)-len(got)) {
			t.Fatalf("step %d: stats %+v, want %d too large, %d kept, %d evicted", i, st, tooLarge, len(kept), len(kept)-len(got))
		}
	}
}
