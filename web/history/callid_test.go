package history

import (
	"strconv"
	"testing"
)

// TestObserveCallIDAllocatesNothing: the SIP handler's path copies no
// Call-ID, new or repeated.
func TestObserveCallIDAllocatesNothing(t *testing.T) {
	cfg := testConfig(t)
	cfg.QueueSize = 1 << 16
	s := openTest(t, cfg)
	ids := make([][]byte, 1000)
	for i := range ids {
		ids[i] = strconv.AppendInt([]byte("a84b4c76e66710-"), int64(i), 10)
	}
	i := 0
	allocs := testing.AllocsPerRun(len(ids)-1, func() {
		s.ObserveCallID(7, ids[i])
		i++
	})
	if allocs >= 0.5 {
		t.Errorf("ObserveCallID of a new Call-ID: %.2f allocations", allocs)
	}
	if st := s.Stats(); st.CallIDsDropped != 0 {
		t.Errorf("%d Call-IDs dropped", st.CallIDsDropped)
	}
}

func TestCallIDHashIsFNV1a(t *testing.T) {
	// The stored hashes depend on it: it must never change.
	for _, c := range []struct {
		in   string
		want uint64
	}{
		{"", 0xcbf29ce484222325},
		{"a", 0xaf63dc4c8601ec8c},
		{"foobar", 0x85944171f73967e8},
	} {
		if got := uint64(callIDHash([]byte(c.in))); got != c.want {
			t.Errorf("callIDHash(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
}
