package history

import "testing"

// The writer keeps the queue array it took for reuse, whole, when it holds
// at most spareBatches batches; a burst's larger array is let go once
// written (a slice of its tail would keep all of it alive).
func TestWriterLetsABurstArrayGo(t *testing.T) {
	cfg := testConfig(t)
	cfg.BatchSize = 100
	s := openTest(t, cfg)
	record(t, s, genEvents(50)...)
	if c := cap(s.spare); c < 50 || c > spareBatches*100 {
		t.Fatalf("after 50 events the writer keeps an array of %d, want the array of the 50 (at most %d)", c, spareBatches*100)
	}
	const burst = 10 * spareBatches * 100
	record(t, s, genEvents(burst)...)
	if cap(s.spare) > spareBatches*100 {
		t.Fatalf("after a burst of %d events the writer keeps an array of %d, bound %d", burst, cap(s.spare), spareBatches*100)
	}
	if got := queryAll(t, s, Filter{}, 1000); len(got) != 50+burst {
		t.Fatalf("%d records, want %d", len(got), 50+burst)
	}
}

// keepSpare keeps an array of spareBatches batches, not one more.
func TestKeepSpareBound(t *testing.T) {
	if got := keepSpare(make([]int, 7, spareBatches*100), 100); got == nil || len(got) != 0 || cap(got) != spareBatches*100 {
		t.Errorf("an array at the bound: kept %d of %d", cap(got), spareBatches*100)
	}
	if got := keepSpare(make([]int, 7, spareBatches*100+1), 100); got != nil {
		t.Errorf("an array over the bound is kept (%d)", cap(got))
	}
}
