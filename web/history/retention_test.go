package history

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

func TestRetentionByAge(t *testing.T) {
	cfg := testConfig(t)
	cfg.Retention = 24 * time.Hour
	s := openTest(t, cfg)
	now := time.Now()
	old := genEvents(retentionChunk*2 + 17) // more than one delete chunk
	for i := range old {
		old[i].Time = now.Add(-48 * time.Hour).Add(time.Duration(i) * time.Microsecond)
	}
	recent := genEvents(50)
	record(t, s, old...)
	record(t, s, recent...)
	s.ObserveCallID(1, []byte("old-call"))
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The Call-ID row is as old as the events only if its time says so.
	if _, err := s.wdb.Exec("UPDATE callids SET ts = ?", now.Add(-48*time.Hour).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	s.ObserveCallID(1, []byte("new-call"))
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.EnforceRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Stored != int64(len(recent)) || st.Expired != uint64(len(old)) {
		t.Fatalf("after retention: stored %d, expired %d; want %d and %d", st.Stored, st.Expired, len(recent), len(old))
	}
	if !st.Oldest.Equal(baseTime) {
		t.Errorf("oldest %v, want %v", st.Oldest, baseTime)
	}
	got := queryAll(t, s, Filter{}, MaxLimit)
	if len(got) != len(recent) || got[len(got)-1].Time.Before(now.Add(-24*time.Hour)) {
		t.Fatalf("after retention %d events remain, oldest %v", len(got), got[len(got)-1].Time)
	}
	left := callIDHashes(t, s)
	if want := []int64{callIDHash([]byte("new-call"))}; !slices.Equal(left, want) {
		t.Errorf("Call-IDs left %v, want only new-call's %v", left, want)
	}
	var count int64
	if err := s.rdb.QueryRow("SELECT value FROM counters WHERE name = 'events'").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != int64(len(recent)) {
		t.Errorf("stored count %d, want %d", count, len(recent))
	}
}

func TestRetentionBySize(t *testing.T) {
	cfg := testConfig(t)
	const bound = 256 << 10
	cfg.MaxSize = bound
	s := openTest(t, cfg)
	evs := genEvents(12000)
	for i := range evs {
		evs[i].Time = baseTime.Add(time.Duration(i) * time.Millisecond)
	}
	record(t, s, evs...)
	before := s.Stats()
	if before.SizeBytes <= 4*bound {
		t.Fatalf("test data too small: %d bytes", before.SizeBytes)
	}
	if err := s.EnforceRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	// One pass deletes the share of events by which the store is over 90%
	// of MaxSize: the oldest, never all.
	share := float64(before.SizeBytes-bound*9/10) / float64(before.SizeBytes)
	if after.Stored == 0 || after.Stored+int64(after.Expired) != int64(len(evs)) ||
		float64(after.Expired) < share*float64(len(evs)) || float64(after.Expired) > share*float64(len(evs))+2 {
		t.Fatalf("one pass: before %+v\nafter %+v", before, after)
	}
	got := queryAll(t, s, Filter{}, MaxLimit)
	if int64(len(got)) != after.Stored || got[0].ID != int64(len(evs)) || got[len(got)-1].ID != int64(len(evs))-after.Stored+1 {
		t.Fatalf("kept ids %d..%d (%d), want the newest %d", got[len(got)-1].ID, got[0].ID, len(got), after.Stored)
	}
	if !after.Oldest.Equal(got[len(got)-1].Time) {
		t.Errorf("Stats.Oldest %v, oldest kept %v", after.Oldest, got[len(got)-1].Time)
	}
	// Freed pages go back to the file system (incremental vacuum), once
	// checkpointed (the background checkpointer may hold the checkpoint
	// lock for a moment).
	waitFor(t, "the file to shrink", func() bool {
		if _, err := s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(cfg.Path)
		return err == nil && fi.Size() == after.SizeBytes
	})
	if after.SizeBytes > before.SizeBytes/4 {
		t.Fatalf("file after retention: %d bytes, before %d", after.SizeBytes, before.SizeBytes)
	}
	// Steady state: new events keep coming, retention keeps the store near
	// its bound (pages of the address indexes hold entries of every age, so
	// the bound is approximate) and never empty.
	var largest int64
	for round := range 20 {
		more := genEvents(1000)
		for i := range more {
			more[i].Time = baseTime.Add(time.Duration(len(evs)+round*1000+i) * time.Millisecond)
		}
		record(t, s, more...)
		if err := s.EnforceRetention(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := s.Stats()
		largest = max(largest, st.SizeBytes)
		if st.Stored == 0 {
			t.Fatalf("round %d emptied the store: %+v", round, st)
		}
	}
	if largest > bound*3/2 {
		t.Fatalf("store grew to %d bytes after retention, bound %d", largest, bound)
	}
	t.Logf("after retention: largest %d bytes for a bound of %d; %d events kept", largest, bound, s.Stats().Stored)
}

func TestRetentionRunsInBackground(t *testing.T) {
	cfg := testConfig(t)
	cfg.Retention = time.Hour
	cfg.RetentionInterval = 10 * time.Millisecond
	s := openTest(t, cfg)
	old := genEvents(10)
	for i := range old {
		old[i].Time = time.Now().Add(-2 * time.Hour)
	}
	record(t, s, old...)
	record(t, s, transport.Event{Kind: transport.EventAccepted, ConnID: 1, Time: time.Now(), Reason: "Connection accepted"})
	waitFor(t, "background retention", func() bool { return s.Stats().Stored == 1 })
}

// A Call-ID stored before any event of its connection (the handler's path
// is faster than the event queue) survives a retention pass over a store
// that has no event yet; one older than the retention age does not.
func TestRetentionKeepsCallIDsBeforeTheirEvents(t *testing.T) {
	cfg := testConfig(t)
	cfg.Retention = 24 * time.Hour
	s := openTest(t, cfg)
	s.ObserveCallID(1, []byte("expired-call"))
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.wdb.Exec("UPDATE callids SET ts = ?", time.Now().Add(-48*time.Hour).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	s.ObserveCallID(1, []byte("early-call"))
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.EnforceRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	left := callIDHashes(t, s)
	if want := []int64{callIDHash([]byte("early-call"))}; !slices.Equal(left, want) {
		t.Errorf("Call-IDs left %v, want only early-call's %v", left, want)
	}
}

// callIDHashes returns the hashes of the Call-ID rows in s, in row order.
func callIDHashes(t *testing.T, s *Store) []int64 {
	t.Helper()
	var out []int64
	rows, err := s.rdb.Query("SELECT hash FROM callids ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var h int64
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
