package hep

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// maxBatch bounds how many queued packets one send call takes.
const maxBatch = 64

// senderOptions are the resolved settings of one destination's sender.
type senderOptions struct {
	queueLen     int
	queueBytes   int64
	backoffMin   time.Duration
	backoffMax   time.Duration
	stableAfter  time.Duration
	dialTimeout  time.Duration
	writeTimeout time.Duration
	logInterval  time.Duration
	batchDelay   time.Duration // <= 0: no wait for more packets
	tlsConfig    *tls.Config
	logger       *slog.Logger
}

// sender owns one destination: its bounded queue, its socket and the worker
// goroutine that drains the queue into the socket. enqueue never blocks.
type sender struct {
	dest Destination
	opts senderOptions
	q    chan *packetBuf
	// queued is the number of bytes in q.
	queued    atomic.Int64
	connected atomic.Bool
	closing   atomic.Bool
	c         counters

	// stop asks the worker to flush and exit; ctx is cancelled when the
	// flush runs out of time, which aborts dials and (through closeConn)
	// writes.
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	// linger times the wait for more packets of a batch (worker only).
	linger *time.Timer

	mu      sync.Mutex
	conn    interface{ Close() error } // the socket in use, closed by abort
	lastLog time.Time
	// outageDrops is the drop total when the current outage began.
	outageDrops uint64
	down        bool
}

func newSender(d Destination, o senderOptions) *sender {
	ctx, cancel := context.WithCancel(context.Background())
	return &sender{
		dest:   d,
		opts:   o,
		q:      make(chan *packetBuf, o.queueLen),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
	}
}

// start runs the worker for the destination's transport.
func (s *sender) start() {
	go func() {
		defer close(s.done)
		defer s.dropQueued(dropNotConnected)
		if s.dest.Transport == UDP {
			s.runDatagrams()
		} else {
			s.runStream()
		}
	}()
}

// enqueue queues p, which holds one reference for this sender, or drops it
// (counted) when the queue is full or the sender is closing. It never
// blocks.
func (s *sender) enqueue(p *packetBuf) {
	if s.closing.Load() {
		s.c.drop(dropNotConnected, 1)
		p.release()
		return
	}
	n := int64(len(p.b))
	if s.queued.Add(n) > s.opts.queueBytes {
		s.queued.Add(-n)
		s.c.drop(dropQueueFull, 1)
		p.release()
		return
	}
	select {
	case s.q <- p:
	default:
		s.queued.Add(-n)
		s.c.drop(dropQueueFull, 1)
		p.release()
	}
}

// next waits for the first packet of a batch. It returns false when the
// sender is stopping and the queue is empty, or when dead (a stream
// connection's close signal; nil for none) is closed first.
func (s *sender) next(dead <-chan struct{}) (*packetBuf, bool) {
	select {
	case p := <-s.q:
		s.queued.Add(-int64(len(p.b)))
		return p, true
	case <-dead:
		return nil, false
	case <-s.stop:
	}
	select {
	case p := <-s.q:
		s.queued.Add(-int64(len(p.b)))
		return p, true
	default:
		return nil, false
	}
}

// more appends packets to batch, up to maxBatch: those already queued and,
// when there is room left, those that arrive within the batch delay, so that
// under load one send call carries many packets. The worker sleeps through
// the delay rather than waiting on the queue: a producer's enqueue then never
// has to wake it, which would cost more than the send. It does not wait
// while the sender is closing.
func (s *sender) more(batch []*packetBuf) []*packetBuf {
	batch = s.drain(batch)
	if len(batch) >= maxBatch || s.opts.batchDelay <= 0 || s.closing.Load() {
		return batch
	}
	if s.linger == nil {
		s.linger = time.NewTimer(s.opts.batchDelay)
	} else {
		s.linger.Reset(s.opts.batchDelay)
	}
	select {
	case <-s.linger.C:
	case <-s.stop:
		s.linger.Stop()
	}
	return s.drain(batch)
}

// drain appends packets that are already queued to batch, up to maxBatch.
func (s *sender) drain(batch []*packetBuf) []*packetBuf {
	for len(batch) < maxBatch {
		select {
		case p := <-s.q:
			s.queued.Add(-int64(len(p.b)))
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// dropQueued empties the queue, counting every packet under r.
func (s *sender) dropQueued(r dropReason) {
	for {
		select {
		case p := <-s.q:
			s.queued.Add(-int64(len(p.b)))
			s.c.drop(r, 1)
			p.release()
		default:
			return
		}
	}
}

func (s *sender) sent(p *packetBuf) {
	s.c.packetsSent.Add(1)
	s.c.bytesSent.Add(uint64(len(p.b)))
	p.release()
}

func (s *sender) failed(r dropReason, batch []*packetBuf) {
	s.c.drop(r, len(batch))
	for _, p := range batch {
		p.release()
	}
}

// setConn records the socket in use so that abort can close it.
func (s *sender) setConn(c interface{ Close() error }) {
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
}

// shutdown stops the sender: new packets are dropped, queued ones are sent
// until ctx expires, then the socket is closed.
func (s *sender) shutdown(ctx context.Context) error {
	s.closing.Store(true)
	close(s.stop)
	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel()
		s.mu.Lock()
		if s.conn != nil {
			s.conn.Close()
		}
		s.mu.Unlock()
		<-s.done
	}
	s.cancel()
	return err
}

// sleep waits d, or returns false when the sender is stopping.
func (s *sender) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

// wentDown logs that the collector is unreachable: once per outage, and
// then no more often than logInterval.
func (s *sender) wentDown(err error) {
	s.connected.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !s.down {
		s.down = true
		s.outageDrops = s.c.dropsSnapshot().Total()
	} else if now.Sub(s.lastLog) < s.opts.logInterval {
		return
	}
	s.lastLog = now
	s.opts.logger.Warn("hep: collector unreachable, dropping packets until it is back",
		"destination", s.dest.Name, "address", s.dest.Address(), "transport", s.dest.Transport.String(), "error", err)
}

// cameUp logs the end of an outage.
func (s *sender) cameUp() {
	s.connected.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down {
		return
	}
	s.down = false
	s.opts.logger.Info("hep: collector reachable again",
		"destination", s.dest.Name, "address", s.dest.Address(), "dropped", s.c.dropsSnapshot().Total()-s.outageDrops)
}

// stats returns a snapshot of the counters.
func (s *sender) stats() DestinationStats {
	return DestinationStats{
		Name:            s.dest.Name,
		Address:         s.dest.Address(),
		Transport:       s.dest.Transport.String(),
		Connected:       s.connected.Load(),
		PacketsSent:     s.c.packetsSent.Load(),
		BytesSent:       s.c.bytesSent.Load(),
		Drops:           s.c.dropsSnapshot(),
		Reconnects:      s.c.reconnects.Load(),
		ConnectFailures: s.c.connectFailures.Load(),
		QueueLen:        len(s.q),
		QueueCap:        cap(s.q),
		QueueBytes:      s.queued.Load(),
		QueueBytesCap:   s.opts.queueBytes,
	}
}

// nextBackoff doubles d within [min, max].
func nextBackoff(d, lo, hi time.Duration) time.Duration {
	d *= 2
	if d < lo {
		d = lo
	}
	if d > hi {
		d = hi
	}
	return d
}
