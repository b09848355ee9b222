package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// Store is the event history: a SQLite database, the queue in front of it,
// the writer that empties the queue in batches and the retention that keeps
// it within its bounds. Its methods are safe for concurrent use.
type Store struct {
	cfg  Config
	path string
	log  *slog.Logger
	// disabled is the reason of a store made by Disabled; nil otherwise.
	disabled error
	// corruptFile is where Open moved a corrupt file aside ("" when it
	// did not).
	corruptFile string

	wdb    *sql.DB // one connection: the writer and retention take turns
	cdb    *sql.DB // one connection: WAL checkpoints
	rdb    *sql.DB // query-only connections
	run    int64
	kinds  kindCodes
	locals localIPs

	insEvents  *multiInsert
	insCallIDs *multiInsert

	q           queue
	seenCallIDs *transport.CallIDSet // Call-IDs already recorded per connection
	spare       []transport.Event    // owned by the writer
	spareC      []callIDObs          // owned by the writer
	pairs       callIDPairs          // owned by the writer

	mu        sync.Mutex // guards consumers.Add against Close
	consumers sync.WaitGroup
	sources   []*transport.Subscription

	wake      chan struct{} // a full batch is waiting
	ckpt      chan struct{} // the WAL has grown: checkpoint it
	ckptEnd   chan struct{}
	flushReq  chan chan error // Flush asks the writer
	stopping  chan struct{}   // closed by Close: consumers drain and stop
	stopWrite chan struct{}   // closed when the consumers are done: last flush
	stopRet   chan struct{}   // closed by Close: retention stops
	writerEnd chan struct{}
	retEnd    chan struct{}
	closed    atomic.Bool
	closeOnce sync.Once
	closeDone chan struct{}
	closeErr  error
	retMu     sync.Mutex // one retention pass at a time

	counters
	health health
}

// Open opens (creating it when missing) the store at cfg.Path, checks an
// existing file's integrity (PRAGMA quick_check, bounded by
// IntegrityTimeout), migrates its schema, and starts its writer and its
// retention. It does not consume events until Consume is called.
//
// A damaged store (a SQLite file that fails the check or reads as corrupt)
// is moved aside, to Path+".corrupt" (replacing an earlier one), with its
// WAL, and a new store is started in its place: the appliance keeps
// recording, the damaged file is kept for inspection, and the move is
// logged and shown in Stats (CorruptFile). A file that is not a SQLite
// database at all is left untouched and fails with ErrCorrupt, a path that
// cannot be created or written with ErrUnwritable, a newer schema with
// ErrNewerSchema, another application's database with ErrForeign.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s, err := openStore(ctx, cfg)
	if err != nil && errors.Is(err, ErrCorrupt) && isSQLiteFile(cfg.path()) {
		moved, merr := moveAside(cfg.path())
		if merr != nil {
			return nil, errors.Join(err, merr)
		}
		cause := err
		cfg.logger().Error("event history: the store is corrupt; moved it aside and started a new one",
			"path", cfg.path(), "moved_to", moved, "err", cause)
		if s, err = openStore(ctx, cfg); err == nil {
			s.corruptFile = moved
			s.setError(cause)
		}
	}
	if err != nil {
		return nil, err
	}
	go s.writer()
	go s.retention()
	go s.checkpointer()
	return s, nil
}

// openStore opens the store at cfg.Path without starting its goroutines.
func openStore(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{
		cfg:       cfg,
		path:      cfg.path(),
		log:       cfg.logger(),
		wake:      make(chan struct{}, 1),
		ckpt:      make(chan struct{}, 1),
		ckptEnd:   make(chan struct{}),
		flushReq:  make(chan chan error),
		stopping:  make(chan struct{}),
		stopWrite: make(chan struct{}),
		stopRet:   make(chan struct{}),
		writerEnd: make(chan struct{}),
		retEnd:    make(chan struct{}),
		closeDone: make(chan struct{}),
	}
	s.q.max = cfg.queueSize()
	s.seenCallIDs = transport.NewCallIDSet(0)
	s.health.since = time.Now()
	if err := s.open(ctx); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open history store %s: %w", s.path, classify(err))
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	if fi, err := os.Stat(s.path); err == nil && fi.IsDir() {
		return fmt.Errorf("%w: is a directory", ErrUnwritable)
	}
	dir := filepath.Dir(s.path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%w: directory %s: %w", ErrUnwritable, dir, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrUnwritable, dir)
	}
	var err error
	if s.wdb, err = openDB(dsn(s.path, s.cfg.busyTimeout(), true, s.cfg.cacheSize()), 1); err != nil {
		return err
	}
	if err := s.checkIntegrity(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, s.wdb); err != nil {
		return err
	}
	if err := s.kinds.load(ctx, s.wdb); err != nil {
		return err
	}
	if err := s.locals.load(ctx, s.wdb); err != nil {
		return err
	}
	res, err := s.wdb.ExecContext(ctx, "INSERT INTO runs (started) VALUES (?)", time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	if s.run, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	if s.insEvents, err = prepareInsert(ctx, s.wdb, insertEventSQL, eventParams); err != nil {
		return err
	}
	if s.insCallIDs, err = prepareInsert(ctx, s.wdb, insertCallIDSQL, callIDParams); err != nil {
		return err
	}
	if s.cdb, err = openDB(dsn(s.path, s.cfg.busyTimeout(), true, s.cfg.readerCacheSize()), 1); err != nil {
		return err
	}
	if err := s.cdb.PingContext(ctx); err != nil {
		return fmt.Errorf("open checkpointer: %w", err)
	}
	if s.rdb, err = openDB(dsn(s.path, s.cfg.busyTimeout(), false, s.cfg.readerCacheSize()), readers); err != nil {
		return err
	}
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("open reader: %w", err)
	}
	var stored int64
	if err := s.wdb.QueryRowContext(ctx, "SELECT value FROM counters WHERE name = 'events'").Scan(&stored); err != nil {
		return fmt.Errorf("read event count: %w", err)
	}
	s.stored.Store(stored)
	return s.refreshStats(ctx)
}

// Disabled returns a store that records nothing: its queries fail with an
// error that matches ErrDisabled and reads "could not open: <reason>", and
// its Stats say the same with the state "down". It lets the caller go on
// without history when Open fails; reason is the error Open returned.
func Disabled(reason error) *Store {
	if reason == nil {
		reason = ErrDisabled
	}
	s := &Store{disabled: reason, closeDone: make(chan struct{})}
	s.health.down, s.health.since = true, time.Now()
	s.closed.Store(true)
	close(s.closeDone)
	return s
}

// Run is the number of this start of sipwire on the store, the run of the
// connection ids it records now.
func (s *Store) Run() int64 { return s.run }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Consume records the events received from events until the channel is
// closed or the store is closed; Close records those already waiting in the
// channel. It returns at once. Received events go into the store's bounded
// queue, dropped and counted when it is full; the producer is never blocked
// by the store.
func (s *Store) Consume(events <-chan transport.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return
	}
	s.consumers.Add(1)
	go s.consume(events)
}

// ConsumeSubscription is Consume(sub.Events()), and adds the subscription's
// own drops to the store's Stats.
func (s *Store) ConsumeSubscription(sub *transport.Subscription) {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return
	}
	s.sources = append(s.sources, sub)
	s.mu.Unlock()
	s.Consume(sub.Events())
}

// Flush writes what is queued now and returns when it is committed.
func (s *Store) Flush(ctx context.Context) error {
	if s.closed.Load() {
		return s.closedErr()
	}
	done := make(chan error, 1)
	select {
	case s.flushReq <- done:
	case <-s.writerEnd:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("history: flush: %w", ctx.Err())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("history: flush: %w", ctx.Err())
	}
}

// Close stops consuming, writes every queued event (including those already
// waiting in the consumed channels), stops retention and closes the
// database. If ctx ends first, Close returns its error and the store finishes
// closing in the background. Calling Close again waits for the same end.
func (s *Store) Close(ctx context.Context) error {
	if s.disabled != nil {
		return nil
	}
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed.Store(true)
		s.mu.Unlock()
		go s.shutdown()
	})
	select {
	case <-s.closeDone:
		return s.closeErr
	case <-ctx.Done():
		return fmt.Errorf("history: close: %w", ctx.Err())
	}
}

func (s *Store) shutdown() {
	defer close(s.closeDone)
	close(s.stopping)
	close(s.stopRet)
	s.consumers.Wait()
	s.q.close()
	close(s.stopWrite)
	<-s.writerEnd
	<-s.retEnd
	<-s.ckptEnd
	var errs []error
	if err := s.lastWriteError(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, s.closeDBs())
	s.closeErr = errors.Join(errs...)
}

func (s *Store) closeDBs() error {
	var errs []error
	errs = append(errs, s.insEvents.close(), s.insCallIDs.close())
	for _, db := range []*sql.DB{s.rdb, s.cdb, s.wdb} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("history: close database: %w", err)
	}
	return nil
}

func (s *Store) closedErr() error {
	if s.disabled != nil {
		if errors.Is(s.disabled, ErrDisabled) {
			return s.disabled
		}
		return &openError{s.disabled}
	}
	return ErrClosed
}

// openError is why a disabled store could not be opened; it matches
// ErrDisabled.
type openError struct{ reason error }

func (e *openError) Error() string        { return "could not open: " + e.reason.Error() }
func (e *openError) Unwrap() error        { return e.reason }
func (e *openError) Is(target error) bool { return target == ErrDisabled }
