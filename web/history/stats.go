package history

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of the store's counters, cheap to take (no database
// access).
type Stats struct {
	// Enabled is false for a store made by Disabled; LastError says why.
	Enabled bool   `json:"enabled"`
	Path    string `json:"path,omitempty"`
	// State is "up" while batches are written, "down" from the first batch
	// that fails until one is written again, and for a store that could not
	// be opened; Up is the same as a boolean (a gauge on /metrics), and
	// StateSince is when the state began. Outages counts the times the
	// state went down.
	State      string    `json:"state"`
	Up         bool      `json:"up"`
	StateSince time.Time `json:"state_since,omitzero"`
	Outages    uint64    `json:"outages"`
	// CorruptFile is where Open moved a corrupt store before starting a new
	// one ("" when it did not).
	CorruptFile string `json:"corrupt_file,omitempty"`
	// Run is the current run's number.
	Run int64 `json:"run,omitempty"`
	// Stored is the number of events in the store now.
	Stored int64 `json:"events_stored"`
	// Written counts the events this process wrote.
	Written uint64 `json:"events_written"`
	// Dropped counts the events lost before the store: its queue was full,
	// or the consumed subscription's was.
	Dropped uint64 `json:"events_dropped"`
	// Failed counts the events lost in a batch that could not be written.
	Failed uint64 `json:"events_failed"`
	// Expired counts the events retention deleted since the start.
	Expired uint64 `json:"events_expired"`
	// QueueDepth is the number of events waiting to be written; QueueCap
	// bounds it.
	QueueDepth int `json:"queue_depth"`
	QueueCap   int `json:"queue_cap"`
	// CallIDsWritten and CallIDsDropped count Call-ID observations written
	// (repeats the store ignored included) and lost.
	CallIDsWritten uint64 `json:"callids_written"`
	CallIDsDropped uint64 `json:"callids_dropped"`
	// SizeBytes is the database's size (page_count * page_size).
	SizeBytes int64 `json:"size_bytes"`
	// Oldest is the time of the oldest stored event (zero when empty).
	Oldest time.Time `json:"oldest_event,omitzero"`
	// Batches counts the transactions written.
	Batches uint64 `json:"batches"`
	// ArraysLetGo counts the queue arrays the writer did not keep for
	// reuse once written, being larger than spareBytes (256 KiB): after a
	// burst of events, the memory its queue grew to.
	ArraysLetGo uint64 `json:"arrays_let_go"`
	// LastError is the last write or retention error, or why the store is
	// disabled; LastErrorTime is when it happened.
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
}

// counters are the store's statistics.
type counters struct {
	stored         atomic.Int64
	written        atomic.Uint64
	dropped        atomic.Uint64
	failed         atomic.Uint64
	expired        atomic.Uint64
	callIDsWritten atomic.Uint64
	callIDsDropped atomic.Uint64
	batches        atomic.Uint64
	arraysLetGo    atomic.Uint64
	sizeBytes      atomic.Int64
	oldest         atomic.Int64 // µs; 0 when empty
	finalErr       error        // set by the writer before writerEnd closes

	errMu   sync.Mutex
	lastErr error
	errTime time.Time
}

func (c *counters) setError(err error) {
	c.errMu.Lock()
	c.lastErr, c.errTime = err, time.Now()
	c.errMu.Unlock()
}

// noteOldest lowers the oldest event time to ts when the store had none or
// a later one.
func (c *counters) noteOldest(ts int64) {
	for {
		cur := c.oldest.Load()
		if cur != 0 && cur <= ts {
			return
		}
		if c.oldest.CompareAndSwap(cur, ts) {
			return
		}
	}
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	down, since, outages := s.healthState()
	state := "up"
	if down {
		state = "down"
	}
	if s.disabled != nil {
		return Stats{State: state, StateSince: since, LastError: s.closedErr().Error()}
	}
	st := Stats{
		Enabled:        true,
		Path:           s.path,
		State:          state,
		Up:             !down,
		StateSince:     since,
		Outages:        outages,
		CorruptFile:    s.corruptFile,
		Run:            s.run,
		Stored:         s.stored.Load(),
		Written:        s.written.Load(),
		Dropped:        s.dropped.Load(),
		Failed:         s.failed.Load(),
		Expired:        s.expired.Load(),
		QueueDepth:     s.q.depth(),
		QueueCap:       s.q.max,
		CallIDsWritten: s.callIDsWritten.Load(),
		CallIDsDropped: s.callIDsDropped.Load(),
		SizeBytes:      s.sizeBytes.Load(),
		Batches:        s.batches.Load(),
		ArraysLetGo:    s.arraysLetGo.Load(),
	}
	s.mu.Lock()
	for _, sub := range s.sources {
		st.Dropped += sub.Dropped()
	}
	s.mu.Unlock()
	if o := s.oldest.Load(); o != 0 {
		st.Oldest = time.UnixMicro(o).UTC()
	}
	s.errMu.Lock()
	if s.lastErr != nil {
		st.LastError, st.LastErrorTime = s.lastErr.Error(), s.errTime
	}
	s.errMu.Unlock()
	return st
}

// refreshSize reads the database's size.
func (s *Store) refreshSize(ctx context.Context) error {
	var pages, pageSize int64
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return fmt.Errorf("history: read page count: %w", classify(err))
	}
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return fmt.Errorf("history: read page size: %w", classify(err))
	}
	s.sizeBytes.Store(pages * pageSize)
	return nil
}

// refreshStats reads the size and the oldest event's time.
func (s *Store) refreshStats(ctx context.Context) error {
	if err := s.refreshSize(ctx); err != nil {
		return err
	}
	var oldest sql.NullInt64
	if err := s.wdb.QueryRowContext(ctx, "SELECT min(ts) FROM events").Scan(&oldest); err != nil {
		return fmt.Errorf("history: read oldest event: %w", classify(err))
	}
	s.oldest.Store(oldest.Int64)
	return nil
}

// lastWriteError is the error of the final flush, if any.
func (s *Store) lastWriteError() error { return s.finalErr }
