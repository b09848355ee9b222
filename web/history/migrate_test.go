package history

import (
	"context"
	"database/sql"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// TestMigrateFromSchema1 opens a store written by schema 1 (events, their
// kinds numbered in the enum's order, Call-IDs as text) and checks that its
// events and Call-IDs answer queries after the migration.
func TestMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	db, err := openDB(dsn(cfg.Path, cfg.busyTimeout(), true, cfg.cacheSize()), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyMigration(ctx, db, 1, &migrations[0]); err != nil {
		t.Fatal(err)
	}
	codes, err := addKinds(ctx, db, transport.EventKinds())
	if err != nil {
		t.Fatal(err)
	}
	code := func(k transport.EventKind) int64 { return codes[int(k)-1] }
	const insert = `INSERT INTO events (ts, run, conn_id, kind, status, direction, lip, lport, rip, rport, listener, reason)
		VALUES (?, 1, ?, ?, 0, 0, ?, 5060, ?, 40000, '127.0.0.1:5060', 'r')`
	local, remote := []byte{127, 0, 0, 1}, []byte{10, 1, 2, 3}
	for i, k := range []transport.EventKind{transport.EventAccepted, transport.EventReadError, transport.EventClosed} {
		if _, err := db.Exec(insert, baseTime.UnixMicro()+int64(i), 7, code(k), local, remote); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO conn_callids (call_id, run, conn_id, ts) VALUES ('old-call', 1, 7, ?)`, baseTime.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE counters SET value = 3 WHERE name = 'events'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTest(t, cfg)
	if st := s.Stats(); st.Stored != 3 {
		t.Fatalf("stored %d after migration, want 3", st.Stored)
	}
	for _, c := range []struct {
		f    Filter
		want int
	}{
		{Filter{CallID: "old-call"}, 3},
		{Filter{Addr: "127.0.0.1:5060"}, 3},
		{Filter{Addr: "10.1.2.3"}, 3},
		{Filter{Kinds: []transport.EventKind{transport.EventReadError}}, 1},
		{Filter{Kinds: []transport.EventKind{transport.EventClosed}}, 1},
	} {
		if got := queryAll(t, s, c.f, 2); len(got) != c.want {
			t.Errorf("%s: %d events, want %d", describe(c.f), len(got), c.want)
		}
	}
	var tables int
	if err := s.rdb.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name IN ('conn_callids', 'events_lip')").Scan(&tables); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("schema 1's conn_callids and events_lip are left")
	}
}
