package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	// disabled is the reason of a store made by Disabled; nil otherwise.
	disabled error

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
}

// Open opens (creating it when missing) the store at cfg.Path, migrates its
// schema, and starts its writer and its retention. It does not consume
// events until Consume is called. A file that is not a SQLite database or is
// damaged fails with ErrCorrupt, a path that cannot be created or written
// with ErrUnwritable, a newer schema with ErrNewerSchema, another
// application's database with ErrForeign.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{
		cfg:       cfg,
		path:      cfg.path(),
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
	if err := s.open(ctx); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open history store %s: %w", s.path, classify(err))
	}
	go s.writer()
	go s.retention()
	go s.checkpointer()
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
	if s.wdb, err = openDB(dsn(s.path, s.cfg.busyTimeout(), true), 1); err != nil {
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
	if s.cdb, err = openDB(dsn(s.path, s.cfg.busyTimeout(), true), 1); err != nil {
		return err
	}
	if err := s.cdb.PingContext(ctx); err != nil {
		return fmt.Errorf("open checkpointer: %w", err)
	}
	if s.rdb, err = openDB(dsn(s.path, s.cfg.busyTimeout(), false), readers); err != nil {
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

// Disabled returns a store that records nothing: its queries fail with
// ErrDisabled and its Stats report reason (the error Open returned). It lets
// the caller go on without history when Open fails.
func Disabled(reason error) *Store {
	if reason == nil {
		reason = ErrDisabled
	}
	s := &Store{disabled: reason, closeDone: make(chan struct{})}
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
		return fmt.Errorf("%w: %w", ErrDisabled, s.disabled)
	}
	return ErrClosed
}
