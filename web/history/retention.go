package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const (
	// retentionChunk bounds the rows one retention transaction deletes, so
	// that the writer never waits long for the write lock.
	retentionChunk = 2000
	// vacuumChunk bounds the free pages one incremental vacuum step returns
	// to the file system.
	vacuumChunk = 2048
	// sizeLowWater: a store over MaxSize is cut down to this share of it, so
	// that retention does not run on every batch.
	sizeLowWater = 0.9
	// callIDGrace is how much older than the oldest event left a Call-ID
	// may be and still be kept: a Call-ID can be stamped a little before
	// its connection's first event (the reader may handle a message before
	// the accept loop stamps ACCEPTED), and the events reach the store
	// later than the Call-ID, through the event queue.
	callIDGrace = 10 * time.Minute
)

var errStopped = errors.New("history: retention stopped")

// retention enforces the bounds once at start and every RetentionInterval
// until Close.
func (s *Store) retention() {
	defer close(s.retEnd)
	t := time.NewTicker(s.cfg.retentionInterval())
	defer t.Stop()
	for {
		if err := s.enforce(context.Background()); err != nil && !errors.Is(err, errStopped) {
			s.setError(err)
		}
		select {
		case <-t.C:
		case <-s.stopRet:
			return
		}
	}
}

// EnforceRetention deletes, now, the events older than Retention and the
// oldest events while the store is over MaxSize, in small transactions, and
// returns freed pages to the file system. Retention also runs by itself
// every RetentionInterval.
func (s *Store) EnforceRetention(ctx context.Context) error {
	if s.closed.Load() {
		return s.closedErr()
	}
	return s.enforce(ctx)
}

func (s *Store) enforce(ctx context.Context) error {
	s.retMu.Lock()
	defer s.retMu.Unlock()
	if r := s.cfg.retention(); r > 0 {
		cutoff := time.Now().Add(-r).UnixMicro()
		all := func() (bool, error) { return true, nil }
		if err := s.deleteWhile(ctx, all, cutoff, func() int64 { return retentionChunk }); err != nil {
			return err
		}
	}
	if max := s.cfg.maxSize(); max > 0 {
		used, err := s.usedBytes(ctx)
		if err != nil {
			return err
		}
		if used > max {
			// Delete the share of events by which the store is over the
			// low-water mark, once per pass. Re-measuring after each chunk
			// would over-delete: pages of the (ip, time) indexes hold
			// entries of every age, and stay in use until new entries
			// fill them again.
			target := int64(float64(max) * sizeLowWater)
			left := s.stored.Load()*(used-target)/used + 1
			more := func() (bool, error) { return left > 0, nil }
			chunk := func() int64 {
				c := min(left, retentionChunk)
				left -= c
				return c
			}
			if err := s.deleteWhile(ctx, more, 0, chunk); err != nil {
				return err
			}
		}
	}
	if err := s.vacuum(ctx); err != nil {
		return err
	}
	s.walGrew()
	if err := s.refreshStats(ctx); err != nil {
		return err
	}
	return nil
}

// deleteWhile deletes the oldest events (those before cutoff when it is not
// zero), a chunk of chunk() events per transaction, while more says so, then
// the Call-IDs older than the oldest event left.
func (s *Store) deleteWhile(ctx context.Context, more func() (bool, error), cutoff int64, chunk func() int64) error {
	for {
		if err := s.stopped(ctx); err != nil {
			return err
		}
		again, err := more()
		if err != nil {
			return err
		}
		if !again {
			break
		}
		n, err := s.deleteChunk(ctx, cutoff, chunk())
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if err := s.vacuum(ctx); err != nil {
			return err
		}
	}
	return s.deleteOldCallIDs(ctx, cutoff)
}

// deleteChunk deletes up to limit of the oldest events (before cutoff when
// it is not zero) and returns how many it deleted.
func (s *Store) deleteChunk(ctx context.Context, cutoff, limit int64) (int64, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("history: retention: %w", classify(err))
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	q := `DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY ts LIMIT ?)`
	args := []any{limit}
	if cutoff != 0 {
		q = `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ? ORDER BY ts LIMIT ?)`
		args = []any{cutoff, limit}
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("history: retention: delete events: %w", classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("history: retention: %w", err)
	}
	if _, err := tx.ExecContext(ctx, addCountSQL, -n); err != nil {
		return 0, fmt.Errorf("history: retention: count events: %w", classify(err))
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("history: retention: commit: %w", classify(err))
	}
	s.stored.Add(-n)
	s.expired.Add(uint64(n))
	return n, nil
}

// deleteOldCallIDs deletes, in chunks, the Call-IDs first seen more than
// callIDGrace before the oldest event left. When no event is left it
// deletes only those older than ageCutoff (none when it is zero): a Call-ID
// is often stored before the events of its connection, which reach the
// store through the event queue, and must not be taken for a leftover.
// callids is in insertion
// order, which is time order: the rows to delete are those before the first
// one seen at or after the cutoff (a row a little out of order waits for
// the next pass).
func (s *Store) deleteOldCallIDs(ctx context.Context, ageCutoff int64) error {
	began := time.Now().UnixMicro()
	var oldest sql.NullInt64
	if err := s.wdb.QueryRowContext(ctx, "SELECT min(ts) FROM events").Scan(&oldest); err != nil {
		return fmt.Errorf("history: retention: %w", classify(err))
	}
	cutoff := oldest.Int64 - callIDGrace.Microseconds()
	if !oldest.Valid {
		if ageCutoff == 0 {
			return nil
		}
		cutoff = ageCutoff
	}
	// end is the first row to keep: the first one seen at or after the
	// cutoff or, when there is none, the first one inserted after this
	// query (the writer goes on meanwhile: its rows are new ones, never to
	// be taken for old ones). Both come from one snapshot.
	var end int64
	err := s.wdb.QueryRowContext(ctx, `SELECT coalesce(
		(SELECT id FROM callids WHERE ts >= ? ORDER BY id LIMIT 1),
		(SELECT coalesce(max(id), 0) + 1 FROM callids))`, cutoff).Scan(&end)
	if err != nil {
		return fmt.Errorf("history: retention: %w", classify(err))
	}
	// Rows stamped after the pass began are never deleted, whatever their
	// id (a table emptied meanwhile gives ids from 1 again).
	const q = `DELETE FROM callids WHERE id IN (SELECT id FROM callids WHERE id < ? AND ts < ? ORDER BY id LIMIT ?)`
	for {
		if err := s.stopped(ctx); err != nil {
			return err
		}
		res, err := s.wdb.ExecContext(ctx, q, end, began, retentionChunk)
		if err != nil {
			return fmt.Errorf("history: retention: delete call-ids: %w", classify(err))
		}
		if n, err := res.RowsAffected(); err != nil || n < retentionChunk {
			return err
		}
	}
}

// vacuum returns free pages to the file system, a chunk per transaction.
func (s *Store) vacuum(ctx context.Context) error {
	for {
		if err := s.stopped(ctx); err != nil {
			return err
		}
		var free int64
		if err := s.wdb.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free); err != nil {
			return fmt.Errorf("history: retention: %w", classify(err))
		}
		if free == 0 {
			return nil
		}
		// PRAGMA takes no parameters; vacuumChunk is a constant.
		if _, err := s.wdb.ExecContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", vacuumChunk)); err != nil {
			return fmt.Errorf("history: retention: vacuum: %w", classify(err))
		}
		if free <= vacuumChunk {
			return nil
		}
	}
}

// usedBytes is the size of the pages in use.
func (s *Store) usedBytes(ctx context.Context) (int64, error) {
	var pages, free, size int64
	err := s.wdb.QueryRowContext(ctx,
		"SELECT p.page_count, f.freelist_count, s.page_size FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s").
		Scan(&pages, &free, &size)
	if err != nil {
		return 0, fmt.Errorf("history: retention: read size: %w", classify(err))
	}
	return (pages - free) * size, nil
}

// stopped returns an error once Close began or ctx ended.
func (s *Store) stopped(ctx context.Context) error {
	select {
	case <-s.stopRet:
		return errStopped
	default:
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("history: retention: %w", err)
	}
	return nil
}
