package history

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

func TestRestartFindsEarlierEvents(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	first := genEvents(300)

	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan transport.Event, len(first))
	for _, e := range first {
		ch <- e
	}
	s.Consume(ch) // never closed: Close must take what waits in it
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := openTest(t, cfg)
	if s2.Run() != s.Run()+1 {
		t.Errorf("second run is %d, want %d", s2.Run(), s.Run()+1)
	}
	st := s2.Stats()
	if st.Stored != int64(len(first)) {
		t.Errorf("after restart Stats.Stored = %d, want %d", st.Stored, len(first))
	}
	if !st.Oldest.Equal(baseTime) {
		t.Errorf("Stats.Oldest = %v, want %v", st.Oldest, baseTime)
	}
	got := queryAll(t, s2, Filter{}, MaxLimit)
	if exp := recordsOf(first, s.Run()); !reflect.DeepEqual(got, exp) {
		t.Fatalf("after restart: %d records, want %d (first differing: %v)", len(got), len(exp), firstDiff(got, exp))
	}
	// Connection ids repeat across runs: a ConnID filter means the current
	// run unless Run says otherwise.
	later := genEvents(8)
	record(t, s2, later...)
	cur, err := s2.Query(ctx, Filter{ConnID: 1})
	if err != nil {
		t.Fatal(err)
	}
	old, err := s2.Query(ctx, Filter{ConnID: 1, Run: s.Run()})
	if err != nil {
		t.Fatal(err)
	}
	if len(cur.Events) != 4 || len(old.Events) != 4 || cur.Events[0].Run != s2.Run() || old.Events[0].Run != s.Run() {
		t.Fatalf("conn 1: current run %v, first run %v", cur.Events, old.Events)
	}
}

func firstDiff(a, b []Record) string {
	for i := range min(len(a), len(b)) {
		if !reflect.DeepEqual(a[i], b[i]) {
			return "got " + a[i].Kind + " " + a[i].Time.String() + ", want " + b[i].Kind + " " + b[i].Time.String()
		}
	}
	return "lengths"
}

func TestCloseWritesEverythingQueued(t *testing.T) {
	cfg := testConfig(t)
	cfg.QueueSize = 100 // smaller than what waits: Close must make room, not drop
	cfg.BatchSize = 64
	ctx := context.Background()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	evs := genEvents(5000)
	ch := make(chan transport.Event, len(evs))
	for _, e := range evs {
		ch <- e
	}
	close(ch)
	s.Consume(ch)
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	st := s.Stats()
	if int(st.Written)+int(st.Dropped) != len(evs) {
		t.Fatalf("written %d + dropped %d != offered %d", st.Written, st.Dropped, len(evs))
	}
	s2 := openTest(t, cfg)
	if got := s2.Stats().Stored; got != int64(st.Written) {
		t.Fatalf("reopened store holds %d events, %d were written", got, st.Written)
	}
	if _, err := s.Query(ctx, Filter{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Query after Close: %v, want ErrClosed", err)
	}
}

func TestGracefulCloseLosesNothing(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	evs := genEvents(20000)
	ch := make(chan transport.Event, 64)
	s.Consume(ch)
	for _, e := range evs {
		ch <- e
	}
	close(ch)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Dropped != 0 || st.Written != uint64(len(evs)) {
		t.Fatalf("written %d, dropped %d; want %d and 0", st.Written, st.Dropped, len(evs))
	}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	cfg := testConfig(t)
	cfg.QueueSize = 10
	cfg.BatchSize = 1000 // no early flush
	s := openTest(t, cfg)
	evs := genEvents(25)
	s.enqueue(evs[:15])
	s.enqueue(evs[15:])
	st := s.Stats()
	if st.Dropped != 15 || st.QueueDepth != 10 || st.QueueCap != 10 {
		t.Fatalf("after 25 offers to a queue of 10: %+v", st)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = s.Stats()
	if st.Written != 10 || st.Stored != 10 || st.QueueDepth != 0 || st.Batches != 1 {
		t.Fatalf("after flush: %+v", st)
	}
}

func TestFlushOnBatchSizeAndInterval(t *testing.T) {
	cfg := testConfig(t)
	cfg.BatchSize = 10
	s := openTest(t, cfg)
	ch := make(chan transport.Event, 100)
	s.Consume(ch)
	for _, e := range genEvents(35) {
		ch <- e
	}
	// Full batches are written without Flush and without the (one hour)
	// interval: wait for them, bounded.
	waitFor(t, "30 events written by batch size", func() bool { return s.Stats().Written >= 30 })

	cfg2 := testConfig(t)
	cfg2.FlushInterval = 20 * time.Millisecond
	s2 := openTest(t, cfg2)
	ch2 := make(chan transport.Event, 10)
	s2.Consume(ch2)
	for _, e := range genEvents(3) {
		ch2 <- e
	}
	waitFor(t, "3 events written by the flush interval", func() bool { return s2.Stats().Written == 3 })
}

// waitFor polls cond, bounded: a condition that never holds fails the test
// after a generous while, a slow machine does not.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 3000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestCallIDs(t *testing.T) {
	s := openTest(t, testConfig(t))
	record(t, s, genEvents(40)...)
	for range 5 {
		s.ObserveCallID(2, []byte("call-a"))
		s.ObserveCallID(2, []byte("call-b"))
		s.ObserveCallID(5, []byte("call-a"))
	}
	s.ObserveCallID(3, nil)
	s.ObserveCallID(3, []byte(strings.Repeat("x", MaxCallIDLen+1)))
	s.Observe(&transport.Observation{Kind: transport.ObservedMessage, Message: transport.TracedMessage{Conn: transport.ConnInfo{ID: 9}, CallID: []byte("call-c"), NewCall: true}})
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.CallIDsWritten != 4 || st.CallIDsDropped != 1 {
		t.Fatalf("call-ids written %d, dropped %d; want 4 (repeats skipped) and 1 (too long)", st.CallIDsWritten, st.CallIDsDropped)
	}
	conns := func(callID string) []uint64 {
		var out []uint64
		for _, r := range queryAll(t, s, Filter{CallID: callID}, MaxLimit) {
			if len(out) == 0 || out[len(out)-1] != r.ConnID {
				out = append(out, r.ConnID)
			}
		}
		return out
	}
	if got := conns("call-a"); !reflect.DeepEqual(got, []uint64{5, 2}) {
		t.Errorf("call-a on connections %v, want [5 2]", got)
	}
	if got := conns("call-c"); !reflect.DeepEqual(got, []uint64{9}) {
		t.Errorf("call-c on connections %v, want [9]", got)
	}
	// A repeat after the connection's CLOSED is still known as a repeat
	// (connection ids are not reused within a run): nothing more is written.
	record(t, s, transport.Event{Kind: transport.EventClosed, ConnID: 2, Time: time.Now(), Reason: "EOF received"})
	s.ObserveCallID(2, []byte("call-a"))
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := s.rdb.QueryRow("SELECT count(*) + count(conn_id2) FROM callids WHERE hash = ?", callIDHash([]byte("call-a"))).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || s.Stats().CallIDsWritten != 4 {
		t.Fatalf("call-a connections %d (want 2), call-ids written %d (want 4)", rows, s.Stats().CallIDsWritten)
	}
}

func TestOpenUnwritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"under a regular file": filepath.Join(file, "history.db"),
		"missing directory":    filepath.Join(dir, "no", "such", "dir", "history.db"),
		"a directory":          dir,
	} {
		_, err := Open(context.Background(), Config{Path: path})
		if !errors.Is(err, ErrUnwritable) {
			t.Errorf("%s: Open error %v, want ErrUnwritable", name, err)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the path", name, err)
		}
	}
}

// A file that is not a SQLite database is refused and left alone; a damaged
// store is moved aside (with a log line naming both files and the error) and
// a new one started, which records.
func TestOpenCorrupt(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	b := make([]byte, 8192)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	if err := os.WriteFile(garbage, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), Config{Path: garbage}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage file: Open error %v, want ErrCorrupt", err)
	}
	if got, err := os.ReadFile(garbage); err != nil || !bytes.Equal(got, b) {
		t.Errorf("the garbage file was changed or moved: %v", err)
	}

	// A real store whose schema page is overwritten.
	damaged := filepath.Join(dir, "damaged.db")
	s, err := Open(context.Background(), Config{Path: damaged})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	overwrite(t, damaged, 100, b[:3000])
	var logs logBuffer
	cfg := testConfig(t)
	cfg.Path, cfg.Logger = damaged, logs.logger()
	s = openTest(t, cfg)
	checkMovedAside(t, s, damaged, &logs)
}

// A store with damaged table and index pages (garbage over pages past the
// schema) opens, but its first write would fail: the integrity check at
// Open finds it, and it is moved aside.
func TestOpenDamagedPages(t *testing.T) {
	cfg := testConfig(t)
	s := openTest(t, cfg)
	record(t, s, genEvents(20000)...)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	garbage := bytes.Repeat([]byte{0xA5, 0x00, 0xFF, 0x13}, page/4)
	// Every third page of the file's second half: the pages new rows go
	// to, which Open itself does not read.
	for off := fi.Size() / 2 / page * page; off+page <= fi.Size(); off += 3 * page {
		overwrite(t, cfg.Path, off, garbage)
	}
	var logs logBuffer
	cfg.Logger = logs.logger()
	s2 := openTest(t, cfg)
	checkMovedAside(t, s2, cfg.Path, &logs)
}

// checkMovedAside checks that s was started fresh at path after the damaged
// file went to path.corrupt, and that this was logged once.
func checkMovedAside(t *testing.T, s *Store, path string, logs *logBuffer) {
	t.Helper()
	if _, err := os.Stat(path + corruptSuffix); err != nil {
		t.Errorf("the damaged file is not kept aside: %v", err)
	}
	lines := logs.lines("store is corrupt; moved it aside")
	if len(lines) != 1 || !strings.Contains(lines[0], "path="+path) || !strings.Contains(lines[0], "moved_to="+path+corruptSuffix) ||
		!strings.Contains(lines[0], "level=ERROR") || !strings.Contains(lines[0], "err=") {
		t.Errorf("log lines %q, want one ERROR naming both files and the error", lines)
	}
	st := s.Stats()
	if st.CorruptFile != path+corruptSuffix || !st.Up || st.State != "up" || st.Stored != 0 || st.LastError == "" {
		t.Errorf("stats of the new store: %+v", st)
	}
	record(t, s, genEvents(10)...)
	if st := s.Stats(); st.Stored != 10 || st.Failed != 0 {
		t.Errorf("the new store does not record: %+v", st)
	}
}

// overwrite writes b at off in the file at path.
func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesOtherDatabases(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	newer := filepath.Join(dir, "newer.db")
	for path, stmt := range map[string]string{
		foreign: "CREATE TABLE t (x)",
		newer:   "PRAGMA user_version = 999",
	} {
		db, err := sql.Open(driverName, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(context.Background(), Config{Path: foreign}); !errors.Is(err, ErrForeign) {
		t.Errorf("foreign database: %v, want ErrForeign", err)
	}
	if _, err := Open(context.Background(), Config{Path: newer}); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("newer schema: %v, want ErrNewerSchema", err)
	}
}

func TestDisabled(t *testing.T) {
	cause := errors.New("open history store x: boom")
	s := Disabled(cause)
	ctx := context.Background()
	if _, err := s.Query(ctx, Filter{}); !errors.Is(err, ErrDisabled) || !errors.Is(err, cause) {
		t.Errorf("Query: %v, want ErrDisabled wrapping the cause", err)
	}
	if err := s.Export(ctx, Filter{}, FormatCSV, new(strings.Builder)); !errors.Is(err, ErrDisabled) {
		t.Errorf("Export: %v", err)
	}
	if _, err := s.Query(ctx, Filter{}); err == nil || err.Error() != "could not open: "+cause.Error() {
		t.Errorf("Query: %v, want could not open: %v", err, cause)
	}
	if st := s.Stats(); st.Enabled || st.Up || st.State != "down" || st.StateSince.IsZero() || st.LastError != "could not open: "+cause.Error() {
		t.Errorf("Stats: %+v", st)
	}
	ch := make(chan transport.Event, 1)
	s.Consume(ch)
	s.ObserveCallID(1, []byte("x"))
	if err := s.Flush(ctx); !errors.Is(err, ErrDisabled) {
		t.Errorf("Flush: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestSchemaVersion(t *testing.T) {
	s := openTest(t, testConfig(t))
	var v int
	if err := s.rdb.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := s.rdb.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) || mode != "wal" {
		t.Fatalf("user_version %d, journal_mode %s; want %d, wal", v, mode, len(migrations))
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg := testConfig(t)
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan transport.Event, 8)
	s.Consume(ch)
	ch <- genEvents(1)[0]
	if _, err := s.Query(context.Background(), Filter{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// A trunk connection carrying many calls at once: each Call-ID is recorded
// once however its messages interleave with the other calls'.
func TestCallIDsOnATrunk(t *testing.T) {
	s := openTest(t, testConfig(t))
	record(t, s, transport.Event{Kind: transport.EventAccepted, ConnID: 1, Time: time.Now(), Reason: "Connection accepted"})
	for range 6 {
		for call := range 200 {
			s.ObserveCallID(1, []byte(fmt.Sprintf("trunk-%d", call)))
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.CallIDsWritten != 200 {
		t.Fatalf("call-ids written %d, want 200", st.CallIDsWritten)
	}
}
