package history

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const (
	// integrityMessages bounds the problems quick_check reports (and the
	// error quotes).
	integrityMessages = 5
	// corruptSuffix names the file a corrupt store is moved to.
	corruptSuffix = ".corrupt"
)

// sqliteMagic starts every SQLite 3 database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// checkIntegrity runs PRAGMA quick_check on an existing file, within
// IntegrityTimeout: it reads every page of every table and index and checks
// their structure (not that the indexes match the tables, which
// integrity_check would also do, at several times the cost). A damaged file
// fails with ErrCorrupt. A check that runs out of time is stopped, logged
// and the file used as it is: the writer's state shows any damage it meets.
func (s *Store) checkIntegrity(ctx context.Context) error {
	bound := s.cfg.integrityTimeout()
	if bound < 0 {
		return nil
	}
	if fi, err := os.Stat(s.path); err != nil || fi.Size() == 0 {
		return nil // a new store
	}
	cctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	start := time.Now()
	rows, err := s.wdb.QueryContext(cctx, fmt.Sprintf("PRAGMA quick_check(%d)", integrityMessages))
	if err != nil {
		return s.checkFailed(cctx, ctx, bound, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if msg != "ok" {
			problems = append(problems, msg)
		}
	}
	if err := rows.Err(); err != nil {
		return s.checkFailed(cctx, ctx, bound, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: integrity check: %s", ErrCorrupt, strings.Join(problems, "; "))
	}
	s.log.Debug("event history: integrity check passed", "path", s.path, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// checkFailed is the outcome of a quick_check that returned err: nil (and a
// warning) when only its time bound stopped it, the error otherwise.
func (s *Store) checkFailed(cctx, ctx context.Context, bound time.Duration, err error) error {
	if ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		s.log.Warn("event history: integrity check stopped at its time bound; the rest of the file is used unchecked",
			"path", s.path, "bound", bound)
		return nil
	}
	return fmt.Errorf("integrity check: %w", classify(err))
}

// isSQLiteFile reports whether path starts with SQLite's header: a file
// that does not (a wrong history.path naming some other file) is never
// moved.
func isSQLiteFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	return bytes.Equal(head, sqliteMagic)
}

// moveAside renames the store at path, and its WAL, to path+".corrupt"
// (and "-wal"), replacing an earlier pair, and removes its shared-memory
// index. It returns the new name.
func moveAside(path string) (string, error) {
	dst := path + corruptSuffix
	if err := os.Remove(dst + "-wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("history: move corrupt store aside: %w", err)
	}
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("history: move corrupt store aside: %w", err)
	}
	if err := os.Rename(path+"-wal", dst+"-wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("history: move corrupt store's WAL aside: %w", err)
	}
	if err := os.Remove(path + "-shm"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("history: remove corrupt store's shared memory: %w", err)
	}
	return dst, nil
}
