package history

import (
	"context"
	"os"
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
	if _, err := s.wdb.Exec("UPDATE conn_callids SET ts = ?", now.Add(-48*time.Hour).UnixMicro()); err != nil {
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
	var callIDs int
	if err := s.rdb.QueryRow("SELECT count(*) FROM conn_callids").Scan(&callIDs); err != nil {
		t.Fatal(err)
	}
	if callIDs != 0 {
		t.Errorf("%d expired Call-IDs left", callIDs)
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
	const max = 1 << 20
	cfg.MaxSize = max
	s := openTest(t, cfg)
	evs := genEvents(40000)
	for i := range evs {
		evs[i].Time = baseTime.Add(time.Duration(i) * time.Millisecond)
	}
	record(t, s, evs...)
	before := s.Stats()
	if before.SizeBytes <= 2*max {
		t.Fatalf("test data too small: %d bytes", before.SizeBytes)
	}
	if err := s.EnforceRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	if after.SizeBytes > max || after.Stored == 0 || after.Stored+int64(after.Expired) != int64(len(evs)) {
		t.Fatalf("before %+v\nafter %+v", before, after)
	}
	// The newest events are the ones kept.
	got := queryAll(t, s, Filter{}, MaxLimit)
	if int64(len(got)) != after.Stored || got[0].ID != int64(len(evs)) || got[len(got)-1].ID != int64(len(evs))-after.Stored+1 {
		t.Fatalf("kept ids %d..%d (%d), want the newest %d", got[len(got)-1].ID, got[0].ID, len(got), after.Stored)
	}
	// The file shrinks too (incremental vacuum), once checkpointed.
	if _, err := s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(cfg.Path); err != nil || fi.Size() > max {
		t.Errorf("file after retention: %v, %v; want at most %d bytes", fi.Size(), err, max)
	}
	if !after.Oldest.Equal(got[len(got)-1].Time) {
		t.Errorf("Stats.Oldest %v, oldest kept %v", after.Oldest, got[len(got)-1].Time)
	}
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
