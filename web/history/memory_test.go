package history

import (
	"context"
	"testing"
)

// TestReleaseMemory: after a burst of events has filled the page caches,
// ReleaseMemory hands most of the memory outside the Go heap back to the
// OS, and the store goes on recording and answering; a disabled store has
// nothing to release.
func TestReleaseMemory(t *testing.T) {
	s := openTest(t, testConfig(t))
	before := nonGoResident(t)
	record(t, s, genEvents(20000)...)
	if got := queryAll(t, s, Filter{}, 1000); len(got) != 20000 {
		t.Fatalf("%d records, want 20000", len(got))
	}
	full := nonGoResident(t) - before
	if err := s.ReleaseMemory(context.Background()); err != nil {
		t.Fatal(err)
	}
	released := nonGoResident(t) - before
	t.Logf("resident outside the Go heap: +%d bytes after 20,000 events and a query, +%d after ReleaseMemory", full, released)
	if !raceDetector && (full < 1<<20 || released > full*6/10) {
		t.Errorf("+%d bytes after ReleaseMemory, +%d before: want at most 60 %% of at least 1 MiB (about 46 %% measured)", released, full)
	}
	record(t, s, genEvents(100)...)
	if got := queryAll(t, s, Filter{}, 1000); len(got) != 20100 {
		t.Fatalf("after ReleaseMemory: %d records, want 20100", len(got))
	}
	if err := Disabled(nil).ReleaseMemory(context.Background()); err != nil {
		t.Errorf("disabled store: %v", err)
	}
}
