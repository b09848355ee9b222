package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ReleaseMemory writes what is queued, then asks SQLite to free what its
// connections' page caches hold and do not need now (PRAGMA shrink_memory on the writer, the
// checkpointer and every idle query connection). The caches are memory
// outside the Go heap that stays filled once used (about 2.5 times the
// cached bytes resident, see BenchmarkCacheMemory): after a burst of
// events, an appliance that went quiet hands that memory back. The caches
// fill again as the store is written and queried. A disabled or closed
// store has nothing to release.
func (s *Store) ReleaseMemory(ctx context.Context) error {
	if s.disabled != nil || s.closed.Load() {
		return nil
	}
	var errs []error
	// Write what is queued first: the caches the burst fills are those
	// its writes use.
	if err := s.Flush(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, db := range []*sql.DB{s.wdb, s.cdb} {
		if _, err := db.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
			errs = append(errs, err)
		}
	}
	// The query connections: take each idle one in turn (holding the
	// others), so that every cache is shrunk, not one connection's n times.
	var held []*sql.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range s.rdb.Stats().Idle {
		c, err := s.rdb.Conn(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		held = append(held, c)
		if _, err := c.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("history: release memory: %w", err)
	}
	return nil
}
