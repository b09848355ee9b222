package hep

import (
	"context"
	"crypto/tls"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// senderOptions are the resolved settings of one destination's sender.
type senderOptions struct {
	queueLen     int
	queueBytes   int64
	udpWorkers   int
	backoffMin   time.Duration
	backoffMax   time.Duration
	stableAfter  time.Duration
	dialTimeout  time.Duration
	writeTimeout time.Duration
	recoverAfter time.Duration
	probeEvery   time.Duration
	refusalWait  time.Duration
	batchDelay   time.Duration // <= 0: no wait for more packets
	noUDPGSO     bool          // one datagram per send, no trains
	tlsConfig    *tls.Config
	logger       *slog.Logger
}

// sender owns one destination: its queue bounds, its counters and its
// workers, each of which drains a queue of its own into a socket of its own
// (see worker). A TCP or TLS destination has one worker, so one stream; a
// UDP one has udpWorkers, so that the kernel's cost of sending, charged to
// the sending thread, is spread over cores. enqueue never blocks.
type sender struct {
	dest    Destination
	opts    senderOptions
	workers []*worker
	// queuedPkts and queued are the packets and bytes in the workers'
	// queues, plus those a producer has reserved room for and is about to
	// put in one: the bounds hold for the destination as a whole.
	queuedPkts atomic.Int64
	queued     atomic.Int64
	// rr picks the worker of a packet without a key.
	rr        atomic.Uint64
	connected atomic.Bool
	closing   atomic.Bool
	c         counters

	// stop asks the workers to flush and exit; ctx is cancelled when the
	// flush runs out of time, which aborts dials and (through the workers'
	// sockets) writes. done is closed when every worker has exited.
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	// down mirrors !state.Up for the workers' hot path.
	down atomic.Bool
	// mu guards state and outageDrops.
	mu    sync.Mutex
	state DestinationState
	// outageDrops is the drop total when the current outage began.
	outageDrops uint64
}

func newSender(d Destination, o senderOptions) *sender {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sender{
		dest:   d,
		opts:   o,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
		state:  DestinationState{Up: true, Since: time.Now()},
	}
	n := 1
	if d.Transport == UDP {
		n = max(o.udpWorkers, 1)
	}
	s.workers = make([]*worker, n)
	for i := range s.workers {
		// Each queue could take the whole bound: the destination-wide
		// counters enforce it, and one busy connection may use all of it.
		s.workers[i] = newWorker(s)
	}
	return s
}

// start runs the workers.
func (s *sender) start() {
	var wg sync.WaitGroup
	for _, w := range s.workers {
		wg.Go(w.run)
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
}

// enqueue copies packet p into a worker's queue, or drops it (counted)
// when the queue is full or the sender is closing. It never blocks. A
// non-zero key (a connection id) always picks the same worker, so the
// packets of one connection leave in order through one socket;
// consecutive keys pick consecutive workers. Packets with key zero are
// spread round-robin.
func (s *sender) enqueue(p []byte, key uint64) {
	n := int64(len(p))
	// Reserve the room before looking at closing: shutdown sweeps the
	// queues until every reservation is released, so a packet that slips
	// in while the workers stop is still counted.
	if !reserve(&s.queuedPkts, 1, int64(s.opts.queueLen)) {
		s.c.drop(dropQueueFull, 1)
		return
	}
	if !reserve(&s.queued, n, s.opts.queueBytes) {
		s.queuedPkts.Add(-1)
		s.c.drop(dropQueueFull, 1)
		return
	}
	if s.closing.Load() {
		s.dequeued(1, n)
		s.c.drop(dropNotConnected, 1)
		return
	}
	s.pick(key).put(p)
}

// enqueuePacket encodes p straight into a worker's queue, as enqueue
// queues an encoded packet (the same bounds, drops and choice of worker). It
// reports false when p cannot be encoded (too large for HEP), counted as a
// too_large drop.
func (s *sender) enqueuePacket(p *Packet, key uint64) bool {
	n := int64(EncodedLen(p))
	if n > MaxPacketLen {
		s.c.drop(dropTooLarge, 1)
		return false
	}
	if !reserve(&s.queuedPkts, 1, int64(s.opts.queueLen)) {
		s.c.drop(dropQueueFull, 1)
		return true
	}
	if !reserve(&s.queued, n, s.opts.queueBytes) {
		s.queuedPkts.Add(-1)
		s.c.drop(dropQueueFull, 1)
		return true
	}
	if s.closing.Load() {
		s.dequeued(1, n)
		s.c.drop(dropNotConnected, 1)
		return true
	}
	if err := s.pick(key).putPacket(p); err != nil {
		s.dequeued(1, n)
		s.c.drop(dropTooLarge, 1)
		return false
	}
	return true
}

// pick returns the worker of a packet with key (see enqueue).
func (s *sender) pick(key uint64) *worker {
	if len(s.workers) == 1 {
		return s.workers[0]
	}
	if key == 0 {
		key = s.rr.Add(1)
	}
	return s.workers[key%uint64(len(s.workers))]
}

// backlog reports whether a batch of pkts packets and bytes bytes is a
// backlog: a quarter of the queue's bounds or more. A worker that took one
// does not wait for more (the queue could fill meanwhile).
func (s *sender) backlog(pkts, bytes int) bool {
	return pkts >= max(s.opts.queueLen/4, 1) || int64(bytes) >= s.opts.queueBytes/4
}

// reserve adds n to c unless that would take it over limit, so that c
// never exceeds limit, even for an instant.
func reserve(c *atomic.Int64, n, limit int64) bool {
	for {
		cur := c.Load()
		if cur+n > limit {
			return false
		}
		if c.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// dequeued releases the room of packets taken off a queue.
func (s *sender) dequeued(pkts, bytes int64) {
	s.queuedPkts.Add(-pkts)
	s.queued.Add(-bytes)
}

// sentUnits counts the datagrams of units as sent, with their bytes as
// on the wire (padding included).
func (s *sender) sentUnits(units []sendUnit) {
	var pkts, bytes, pad, trains uint64
	for _, u := range units {
		pkts += uint64(u.pkts)
		bytes += uint64(len(u.b))
		pad += uint64(u.pad)
		if u.seg > 0 {
			trains++
		}
	}
	s.c.packetsSent.Add(pkts)
	s.c.bytesSent.Add(bytes)
	if trains > 0 {
		s.c.padBytes.Add(pad)
		s.c.trains.Add(trains)
	}
}

// sentRun counts every packet of r as sent.
func (s *sender) sentRun(r *run) {
	s.c.packetsSent.Add(uint64(r.len()))
	s.c.bytesSent.Add(uint64(len(r.b)))
}

// failed counts n packets as dropped under r.
func (s *sender) failed(r dropReason, n int) {
	if n > 0 {
		s.c.drop(r, n)
	}
}

// shutdown stops the sender: new packets are dropped, queued ones are sent
// until ctx expires, then the sockets are closed and what is left is
// counted as dropped.
func (s *sender) shutdown(ctx context.Context) error {
	s.closing.Store(true)
	close(s.stop)
	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel()
		for _, w := range s.workers {
			w.abort()
		}
		<-s.done
	}
	s.cancel()
	// A producer that reserved room before closing was set may put its
	// packet in a queue after the workers left: count it too. Producers
	// never block, so this ends as soon as they have returned.
	for s.queuedPkts.Load() > 0 {
		for _, w := range s.workers {
			w.dropQueued(dropNotConnected)
		}
		runtime.Gosched()
	}
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

// wentDown records a failure: the first of an outage takes the destination
// down and logs one line; later ones only update LastError.
func (s *sender) wentDown(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.LastError = err.Error()
	if !s.state.Up {
		return
	}
	s.state.Up, s.state.Since = false, time.Now()
	s.state.Outages++
	s.down.Store(true)
	s.outageDrops = s.c.dropsSnapshot().Total()
	s.opts.logger.Warn("hep: collector unreachable, dropping packets until it is back",
		"destination", s.dest.Name, "address", s.dest.Address(), "transport", s.dest.Transport.String(), "error", err)
}

// cameUp ends an outage, with one log line that says how many packets it
// cost.
func (s *sender) cameUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Up {
		return
	}
	now := time.Now()
	lost := s.c.dropsSnapshot().Total() - s.outageDrops
	s.opts.logger.Info("hep: collector reachable again",
		"destination", s.dest.Name, "address", s.dest.Address(), "transport", s.dest.Transport.String(),
		"down_for", now.Sub(s.state.Since).Round(time.Millisecond), "lost", lost)
	s.state.Up, s.state.Since = true, now
	s.down.Store(false)
}

// isDown says whether the destination is in an outage.
func (s *sender) isDown() bool { return s.down.Load() }

// stats returns a snapshot of the counters. The queue's length is the
// destination's reservation count, not a sum of the workers' queues read
// one after another: packets move between those reads (one worker takes,
// another is given), so such a sum can exceed the bound the reservations
// keep.
func (s *sender) stats() DestinationStats {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	// Refusals are read first: they are counted after the sends they
	// take back, so sent never goes below them.
	refused, refusedBytes := s.c.refused.Load(), s.c.refusedBytes.Load()
	connected := s.connected.Load()
	if s.dest.Transport == UDP {
		connected = connected && state.Up
	}
	return DestinationStats{
		Name:            s.dest.Name,
		Address:         s.dest.Address(),
		Transport:       s.dest.Transport.String(),
		State:           state,
		Connected:       connected,
		PacketsSent:     s.c.packetsSent.Load() - refused,
		BytesSent:       s.c.bytesSent.Load() - refusedBytes,
		Trains:          s.c.trains.Load(),
		PadBytes:        s.c.padBytes.Load(),
		Drops:           s.c.dropsWith(refused),
		Reconnects:      s.c.reconnects.Load(),
		ConnectFailures: s.c.connectFailures.Load(),
		Workers:         len(s.workers),
		QueueLen:        int(s.queuedPkts.Load()),
		QueueCap:        s.opts.queueLen,
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
