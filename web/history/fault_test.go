package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// The integrity check's time bound: a check stopped by it leaves the store
// open, unchecked, with a warning.
func TestIntegrityCheckTimeBound(t *testing.T) {
	cfg := testConfig(t)
	s := openTest(t, cfg)
	record(t, s, genEvents(1000)...)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	cfg.Logger, cfg.IntegrityTimeout = logs.logger(), time.Nanosecond
	s = openTest(t, cfg)
	if st := s.Stats(); st.Stored != 1000 || !st.Up || st.CorruptFile != "" {
		t.Errorf("stats after a stopped check: %+v", st)
	}
	if lines := logs.lines("integrity check stopped at its time bound"); len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") {
		t.Errorf("log lines %q, want one WARN", lines)
	}
}

// A full disk under load: the store goes down with one ERROR line, counts
// every lost event, and comes back up with one INFO line saying how many
// were lost, once per outage, however many batches failed in between.
func TestFullDiskOutages(t *testing.T) {
	dir := testtool.SmallDisk(t, 2<<20)
	var logs logBuffer
	cfg := Config{
		Path:              filepath.Join(dir, "history.db"),
		FlushInterval:     time.Hour, // the test flushes
		RetentionInterval: time.Hour,
		Retention:         -1,
		MaxSize:           -1,
		BatchSize:         500,
		Logger:            logs.logger(),
	}
	s := openTest(t, cfg)
	ctx := context.Background()
	batch := genEvents(500)
	record(t, s, batch...)
	filler := filepath.Join(dir, "filler")
	for outage := 1; outage <= 2; outage++ {
		testtool.FillDisk(t, filler)
		// Batches until several have failed: the WAL first fills the room
		// its earlier frames left.
		// (A full batch wakes the writer: Flush may find it written.)
		before := s.Stats().Failed
		failedBatches := 0
		for i := 0; i < 1000 && failedBatches < 5; i++ {
			s.enqueue(batch)
			if err := s.Flush(ctx); err != nil && !errors.Is(err, ErrUnwritable) {
				t.Fatalf("outage %d: a failed batch's error %v, want ErrUnwritable (disk full)", outage, err)
			}
			failedBatches = int(s.Stats().Failed-before) / len(batch)
		}
		st := s.Stats()
		if failedBatches < 5 || st.Up || st.State != "down" || st.Outages != uint64(outage) || !strings.Contains(st.LastError, "full") {
			t.Fatalf("outage %d: %d failed batches, stats %+v", outage, failedBatches, st)
		}
		if n := len(logs.lines("event history down")); n != outage {
			t.Errorf("outage %d: %d ERROR lines, want %d (one per outage)", outage, n, outage)
		}
		lostBefore := st.Failed
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		s.enqueue(batch)
		if err := s.Flush(ctx); err != nil {
			t.Fatalf("outage %d: after the disk was freed: %v", outage, err)
		}
		st = s.Stats()
		if !st.Up || st.State != "up" || st.Failed != lostBefore {
			t.Errorf("outage %d: after recovery: %+v", outage, st)
		}
		recovered := logs.lines("event history recovered")
		if len(recovered) != outage {
			t.Fatalf("outage %d: %d recovery lines, want %d: %q", outage, len(recovered), outage, recovered)
		}
		// The lines report the events lost in their own outage.
		lostThis := st.Failed
		if outage > 1 {
			lostThis -= uint64(lostEventsIn(recovered[:outage-1]))
		}
		if !strings.Contains(recovered[outage-1], fmt.Sprintf("lost_events=%d ", lostThis)) || !strings.Contains(recovered[outage-1], "level=INFO") {
			t.Errorf("outage %d: recovery line %q, want INFO lost_events=%d", outage, recovered[outage-1], lostThis)
		}
	}
	if down := logs.lines("event history down"); !strings.Contains(down[0], "level=ERROR") || !strings.Contains(down[0], "err=") {
		t.Errorf("outage line %q: want an ERROR with the error", down[0])
	}
}

// lostEventsIn sums the lost_events of recovery lines.
func lostEventsIn(lines []string) int {
	n := 0
	for _, l := range lines {
		var v int
		if i := strings.Index(l, "lost_events="); i >= 0 {
			fmt.Sscanf(l[i+len("lost_events="):], "%d", &v)
		}
		n += v
	}
	return n
}
