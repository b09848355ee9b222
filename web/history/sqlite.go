package history

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// driverName is the name modernc.org/sqlite registers with database/sql.
const driverName = "sqlite"

const (
	// walSizeLimit bounds the WAL file left behind by a checkpoint.
	walSizeLimit = 64 << 20
	// walPages is the WAL size (in pages, 64 MiB) at which the writer checkpoints.
	walPages = 16384
	// readers bounds the read connections (queries, exports).
	readers = 4
)

// dsn builds a SQLite URI for path with the store's pragmas. The path is
// escaped, so any file name works. Writers get WAL mode, incremental
// auto-vacuum (so that retention can hand freed pages back to the file
// system; it only takes effect on a new file), synchronous=NORMAL (a commit
// survives a crash of the process), BEGIN IMMEDIATE transactions and no
// automatic checkpoints; readers are query-only. cacheBytes bounds the
// connection's page cache.
func dsn(path string, busy time.Duration, writer bool, cacheBytes int64) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	q.Add("_pragma", "temp_store(MEMORY)")
	// A negative cache_size is in KiB.
	q.Add("_pragma", "cache_size(-"+strconv.FormatInt(max(cacheBytes>>10, 1), 10)+")")
	if writer {
		q.Set("_auto_vacuum", "INCREMENTAL")
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "NORMAL")
		q.Set("_txlock", "immediate")
		q.Add("_pragma", "journal_size_limit("+strconv.Itoa(walSizeLimit)+")")
		// Checkpoints run on their own connection (see checkpointer) while
		// the writer goes on; the writer's own checkpoint at walPages is
		// the backstop that lets the WAL start over under a steady load
		// (a checkpoint that runs beside a busy writer never catches up
		// with it), and finds the pages mostly copied already.
		q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(walPages)+")")
	} else {
		q.Set("_query_only", "1")
	}
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: q.Encode()}
	return u.String()
}

// openDB opens a pool on dsn with at most n connections, kept open.
func openDB(dsn string, n int) (*sql.DB, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// classify wraps err with ErrCorrupt or ErrUnwritable when SQLite's result
// code says so, keeping err in the chain.
func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_AUTH:
		return fmt.Errorf("%w: %w", ErrUnwritable, err)
	}
	return err
}
