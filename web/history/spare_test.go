package history

import (
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/sipwire/sipwire/transport"
)

// spareEvents is how many events fill spareBytes.
const spareEvents = spareBytes / int(unsafe.Sizeof(transport.Event{}))

// The writer keeps the queue array it took for reuse, whole, when it holds
// at most spareBytes; a burst's larger array is let go once written (a
// slice of its tail would keep all of it alive), and counted.
func TestWriterLetsABurstArrayGo(t *testing.T) {
	cfg := testConfig(t)
	cfg.BatchSize = 100
	s := openTest(t, cfg)
	record(t, s, genEvents(50)...)
	if c := cap(s.spare); c < 50 || c > spareEvents {
		t.Fatalf("after 50 events the writer keeps an array of %d, want the array of the 50 (at most %d)", c, spareEvents)
	}
	if n := s.Stats().ArraysLetGo; n != 0 {
		t.Fatalf("%d arrays let go after 50 events", n)
	}
	burst := 4 * spareEvents
	record(t, s, genEvents(burst)...)
	if cap(s.spare) > spareEvents {
		t.Fatalf("after a burst of %d events the writer keeps an array of %d, bound %d", burst, cap(s.spare), spareEvents)
	}
	if n := s.Stats().ArraysLetGo; n == 0 {
		t.Fatal("the burst's array was let go uncounted")
	}
	if got := queryAll(t, s, Filter{}, 1000); len(got) != 50+burst {
		t.Fatalf("%d records, want %d", len(got), 50+burst)
	}
}

// keepSpare keeps an array of spareBytes, not one more element, whatever
// the element's size.
func TestKeepSpareBound(t *testing.T) {
	var letGo atomic.Uint64
	const ints = spareBytes / 8
	if got := keepSpare(make([]int64, 7, ints), &letGo); got == nil || len(got) != 0 || cap(got) != ints {
		t.Errorf("an array at the bound: kept %d of %d", cap(got), ints)
	}
	if got := keepSpare(make([]int64, 7, ints+1), &letGo); got != nil {
		t.Errorf("an array over the bound is kept (%d)", cap(got))
	}
	if got := keepSpare(make([]transport.Event, 7, spareEvents+1), &letGo); got != nil {
		t.Errorf("an array of events over the bound is kept (%d)", cap(got))
	}
	if n := letGo.Load(); n != 2 {
		t.Errorf("%d arrays counted as let go, want 2", n)
	}
}
