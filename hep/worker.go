package hep

import (
	"io"
	"sync"
	"time"
)

// maxBatch bounds how many queued packets one send call takes.
const maxBatch = 64

// steadyBatch is the batch size from which a worker expects more packets
// right after a send, and waits for them on its timer rather than on the
// queue (see nextOrWake).
const steadyBatch = 8

// steadyWait is that wait, in batch delays: 4 ms at the default 1 ms. A
// packet waits in the queue at most this long plus a batch delay; at
// 10,000 calls/s through a proxy hop (120,000 packets a second) 480 wait,
// within the default queue of 8,192. Fewer, fuller waits cost fewer
// wake-ups: BenchmarkStreamPaced/tcp 0.65-0.75 µs a packet with a wait of
// one batch delay, 0.49-0.61 with four.
const steadyWait = 4

// worker is one goroutine of a sender: it owns a queue, which
// sender.enqueue fills, and a socket, into which it drains the queue in
// batches. Room in the queue is accounted by the sender, for the whole
// destination.
type worker struct {
	s *sender
	q chan *packetBuf

	// linger times the wait for more packets of a batch (worker only).
	linger *time.Timer
	// steady: the last send carried steadyBatch packets or more (sent);
	// lingered: nextOrWake already waited the batch delay for the packet
	// it returned, so more does not wait again. Worker only.
	steady, lingered bool

	mu   sync.Mutex
	conn io.Closer // the socket in use, closed by abort
}

// run sends until the sender stops, then counts what is left in the queue
// as dropped.
func (w *worker) run() {
	defer w.dropQueued(dropNotConnected)
	if w.s.dest.Transport == UDP {
		w.runDatagrams()
	} else {
		w.runStream()
	}
}

// nextOrWake waits for the first packet of a batch. It returns ok false
// when the sender is stopping and the queue is empty, or when dead (a
// stream connection's close signal; nil for none) is closed first, and
// woke true when wake (nil for never) fires first: the worker has a state
// change to check.
//
// After a send of steadyBatch packets or more, but not a full batch, more
// are on their way: the worker first sleeps steadyWait batch delays on its
// timer, then takes what came, instead of blocking on the queue. A worker blocked on the queue is woken
// by the producer that queues a packet, the goroutine of a SIP connection,
// and that wake-up (a thread woken, a round through the scheduler) costs
// more than the send it leads to; the timer costs one wake-up per batch
// where the queue cost two. When the wait brought nothing, it blocks on the
// queue again. After a full batch, or with a full batch queued, it does not
// wait: the queue holds a backlog, and waiting would cap the rate at a
// batch per delay.
func (w *worker) nextOrWake(dead <-chan struct{}, wake <-chan time.Time) (p *packetBuf, ok, woke bool) {
	if w.steady && w.s.opts.batchDelay > 0 && !w.s.closing.Load() && len(w.q) < maxBatch {
		w.steady = false
		w.startLinger(steadyWait * w.s.opts.batchDelay)
		select {
		case <-w.linger.C:
		case <-dead:
			w.linger.Stop()
		case <-wake:
			w.linger.Stop()
			return nil, false, true
		case <-w.s.stop:
			w.linger.Stop()
		}
		select {
		case p := <-w.q:
			w.s.dequeued(1, int64(len(p.b)))
			w.lingered = true
			return p, true, false
		default:
		}
	}
	select {
	case p := <-w.q:
		w.s.dequeued(1, int64(len(p.b)))
		return p, true, false
	case <-dead:
		return nil, false, false
	case <-wake:
		return nil, false, true
	case <-w.s.stop:
	}
	select {
	case p := <-w.q:
		w.s.dequeued(1, int64(len(p.b)))
		return p, true, false
	default:
		return nil, false, false
	}
}

// more appends packets to batch, up to maxBatch: those already queued and,
// when there is room left, those that arrive within the batch delay, so that
// under load one send call carries many packets. The worker sleeps through
// the delay rather than waiting on the queue: a producer's enqueue then never
// has to wake it, which would cost more than the send. It does not wait
// while the sender is closing.
func (w *worker) more(batch []*packetBuf) []*packetBuf {
	s := w.s
	batch = w.drain(batch)
	if w.lingered {
		w.lingered = false
		return batch
	}
	if len(batch) >= maxBatch || s.opts.batchDelay <= 0 || s.closing.Load() {
		return batch
	}
	w.startLinger(s.opts.batchDelay)
	select {
	case <-w.linger.C:
	case <-s.stop:
		w.linger.Stop()
	}
	return w.drain(batch)
}

// startLinger starts the worker's timer for d.
func (w *worker) startLinger(d time.Duration) {
	if w.linger == nil {
		w.linger = time.NewTimer(d)
	} else {
		w.linger.Reset(d)
	}
}

// sent records the size of a batch just sent: from steadyBatch packets to
// less than a full batch, the next nextOrWake waits on the timer first.
func (w *worker) sent(n int) { w.steady = n >= steadyBatch && n < maxBatch }

// drain appends packets that are already queued to batch, up to maxBatch,
// and releases their room in the sender's bounds at once.
func (w *worker) drain(batch []*packetBuf) []*packetBuf {
	start := len(batch)
	var bytes int64
loop:
	for len(batch) < maxBatch {
		select {
		case p := <-w.q:
			bytes += int64(len(p.b))
			batch = append(batch, p)
		default:
			break loop
		}
	}
	if n := len(batch) - start; n > 0 {
		w.s.dequeued(int64(n), bytes)
	}
	return batch
}

// dropQueued empties the queue, counting every packet under r.
func (w *worker) dropQueued(r dropReason) {
	for {
		select {
		case p := <-w.q:
			w.s.unreserve(p, r)
		default:
			return
		}
	}
}

// setConn records the socket in use so that abort can close it.
func (w *worker) setConn(c io.Closer) {
	w.mu.Lock()
	w.conn = c
	w.mu.Unlock()
}

// abort closes the socket in use, which ends a blocked write.
func (w *worker) abort() {
	w.mu.Lock()
	if w.conn != nil {
		w.conn.Close()
	}
	w.mu.Unlock()
}
