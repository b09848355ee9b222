package history

import (
	"context"
	"database/sql"
	"fmt"
)

// migration is one schema change: SQL statements, then an optional step in
// Go, in one transaction.
type migration struct {
	sql  string
	step func(ctx context.Context, tx *sql.Tx) error
}

// migrations is the ordered list of schema changes; the database's
// user_version counts how many of them it has. A migration is never edited
// once released: a change to the schema is a new entry at the end.
var migrations = []migration{{sql:
// 1: events, the addresses of both sides as IP blob + port, indexed by
// (IP, time) per side so that "IP" and "IP:port" on either side are
// index lookups (the port is checked on the IP's rows; an index on
// (IP, port, time) per side would halve the insert rate: its inserts
// land at random places), the Call-IDs seen on
// connections, the runs (connection ids are unique within a run only),
// the kind names (the codes stored are the store's own, not EventKind's
// numbers, so a reordered enum cannot reinterpret old rows), and a
// running count of events so that stats never count rows.
`
CREATE TABLE runs (
	id      INTEGER PRIMARY KEY,
	started INTEGER NOT NULL
);
CREATE TABLE kinds (
	code INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('events', 0);
CREATE TABLE events (
	id        INTEGER PRIMARY KEY,
	ts        INTEGER NOT NULL,
	run       INTEGER NOT NULL,
	conn_id   INTEGER NOT NULL,
	kind      INTEGER NOT NULL,
	status    INTEGER NOT NULL,
	direction INTEGER NOT NULL,
	lip       BLOB,
	lport     INTEGER,
	rip       BLOB,
	rport     INTEGER,
	listener  TEXT,
	reason    TEXT NOT NULL
);
CREATE INDEX events_ts    ON events (ts);
CREATE INDEX events_conn  ON events (run, conn_id, ts);
CREATE INDEX events_kind  ON events (kind, ts);
CREATE INDEX events_rip   ON events (rip, ts);
CREATE INDEX events_lip   ON events (lip, ts);
CREATE TABLE conn_callids (
	call_id TEXT NOT NULL,
	run     INTEGER NOT NULL,
	conn_id INTEGER NOT NULL,
	ts      INTEGER NOT NULL,
	PRIMARY KEY (call_id, run, conn_id)
) WITHOUT ROWID;
CREATE INDEX conn_callids_ts ON conn_callids (ts);
`}, {
	// 2: cheaper inserts (each index costs every insert). The Call-IDs
	// become a table in insertion (and so time) order with an index on a
	// 64-bit hash of the Call-ID (see callIDHash): an insert appends a
	// short row and adds a short index entry, where the text key landed
	// at random places; a row holds two connections of the Call-ID (see
	// callIDPairs). events_lip goes: local addresses are the host's
	// own few, remembered in local_ips, and a query for one of them reads
	// the events in time order. events_kind keeps only the kinds that are
	// not routine (see routineKinds): a routine kind is most of the
	// events, read in time order.
	sql: `
DROP INDEX events_lip;
DROP INDEX events_kind;
CREATE TABLE local_ips (
	ip BLOB PRIMARY KEY
) WITHOUT ROWID;
INSERT INTO local_ips (ip) SELECT DISTINCT lip FROM events WHERE lip IS NOT NULL;
CREATE TABLE callids (
	id      INTEGER PRIMARY KEY,
	hash    INTEGER NOT NULL,
	run     INTEGER NOT NULL,
	conn_id INTEGER NOT NULL,
	conn_id2 INTEGER,
	ts      INTEGER NOT NULL
);
CREATE INDEX callids_hash ON callids (hash);
`,
	step: migrateTo2,
}, {
	// 3: the kernel's figures of a connection on its CLOSED and the error
	// event before it (see tcpinfo.go); NULL on every other event.
	sql: `
ALTER TABLE events ADD COLUMN tcp_retrans INTEGER;
ALTER TABLE events ADD COLUMN tcp BLOB;
`,
}}

// migrate brings the schema up to date, one transaction per migration. A
// database with a newer schema than this code knows, or one that holds
// tables but no history schema, is refused untouched.
func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("%w: version %d, this sipwire knows %d", ErrNewerSchema, version, len(migrations))
	}
	if version == 0 {
		var tables int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
			return fmt.Errorf("read schema: %w", err)
		}
		if tables > 0 {
			return fmt.Errorf("%w: the database has %d schema objects but no history schema", ErrForeign, tables)
		}
	}
	for v := version; v < len(migrations); v++ {
		if err := applyMigration(ctx, db, v+1, &migrations[v]); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, version int, m *migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate to schema %d: %w", version, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migrate to schema %d: %w", version, err)
	}
	if m.step != nil {
		if err := m.step(ctx, tx); err != nil {
			return fmt.Errorf("migrate to schema %d: %w", version, err)
		}
	}
	// PRAGMA takes no parameters; version is an int from this file.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return fmt.Errorf("migrate to schema %d: set version: %w", version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate to schema %d: commit: %w", version, err)
	}
	return nil
}
