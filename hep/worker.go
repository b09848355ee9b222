package hep

import (
	"io"
	"sync"
	"time"
)

// maxBatch bounds how many datagrams one sendmmsg call takes.
const maxBatch = 64

// steadyBatch is the batch size from which a worker expects more packets
// right after a send, and waits for them on its timer rather than on the
// queue (see nextOrWake).
const steadyBatch = 8

// steadyWait is that wait, in batch delays: 8 ms at the default 1 ms. A
// packet waits in the queue at most this long plus a batch delay (a
// collector shows it that much later: nothing to a troubleshooter); at
// 10,000 calls/s through a proxy hop (120,000 packets a second) 960 wait,
// within a quarter of the default queue of 8,192 (a backlog, which is not
// waited for). Fewer, fuller waits cost fewer wake-ups, of the worker and
// of the collector: BenchmarkStreamPaced/tcp 0.65-0.75 µs a packet with a
// wait of one batch delay, 0.40-0.43 with four, 0.31-0.33 with eight,
// 0.28-0.29 with sixteen (the runs kept, see keepRunBytes); UDP's
// 1.3-1.4 µs is the same at four and eight. That benchmark counts the
// collector's wake-ups, in its process: sipwire alone (SIPp t1 through
// it, HEP over TCP, 4,000 calls/s) took 33.2-34.5 µs a call at four,
// 32.7-34.2 at eight, 35.7-36.3 at sixteen and 34.0-37.7 at thirty-two
// (larger runs, colder in the cache).
const steadyWait = 8

// worker is one goroutine of a sender: it owns a queue, which
// sender.enqueue fills, and a socket, into which it sends the queue. The
// queue is a run: producers append the packets' bytes to one buffer under
// the worker's lock, and the worker takes the whole run at once, swapping
// in an empty one, so that a packet costs its producer one copy and no
// channel operation, and a batch costs the worker one lock. Room in the
// queue is accounted by the sender, for the whole destination.
type worker struct {
	s *sender

	// mu guards q and waiting.
	mu sync.Mutex
	q  run
	// waiting: the worker sleeps on ready until a packet is queued; the
	// producer that queues one clears it and signals ready.
	waiting bool
	ready   chan struct{} // capacity 1

	// out is the run being sent (worker only): taken from q, sent, then
	// emptied and swapped back in by the next take.
	out run

	// linger times the wait for more packets of a batch (worker only).
	linger *time.Timer
	// steady: the last send carried steadyBatch packets or more, and no
	// backlog (sent); lingered: nextOrWake already waited the batch delay
	// for the packets it took, so more does not wait again. Worker only.
	steady, lingered bool

	// idle, when set, lets go of the socket's own buffers grown past
	// their keep (a UDP socket's train buffer) when the worker goes to
	// sleep on an empty queue. Worker only.
	idle func()

	connMu sync.Mutex
	conn   io.Closer // the socket in use, closed by abort
}

func newWorker(s *sender) *worker {
	return &worker{s: s, ready: make(chan struct{}, 1)}
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

// put queues packet p, whose room the sender has reserved, and wakes the
// worker if it sleeps on an empty queue.
func (w *worker) put(p []byte) {
	w.mu.Lock()
	w.q.add(p)
	wake := w.waiting
	w.waiting = false
	w.mu.Unlock()
	if wake {
		w.signal()
	}
}

// putPacket encodes p at the end of the queue, whose room the sender has
// reserved for its EncodedLen, and wakes the worker if it sleeps on an
// empty queue. On error the queue is unchanged.
func (w *worker) putPacket(p *Packet) error {
	w.mu.Lock()
	b, err := AppendPacket(w.q.b, p)
	if err != nil {
		w.mu.Unlock()
		return err
	}
	w.q.b = b
	w.q.ends = append(w.q.ends, len(b))
	wake := w.waiting
	w.waiting = false
	w.mu.Unlock()
	if wake {
		w.signal()
	}
	return nil
}

// signal wakes the worker sleeping on the queue.
func (w *worker) signal() {
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// take appends the queued packets to w.out (swapping the runs when out is
// empty) and releases their room in the sender's bounds. It returns how
// many it took.
func (w *worker) take() int {
	w.mu.Lock()
	n, bytes := w.q.len(), len(w.q.b)
	if n > 0 {
		if w.out.len() == 0 {
			// out was reset when sent: swapping keeps both buffers.
			w.out, w.q = w.q, w.out
		} else {
			w.out.appendRun(&w.q)
			w.q.reset()
		}
	}
	w.mu.Unlock()
	if n > 0 {
		w.s.dequeued(int64(n), int64(bytes))
	}
	return n
}

// queuedLen is the number of packets in the queue.
func (w *worker) queuedLen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.q.len()
}

// nextOrWake waits for the first packets of a batch and takes them into
// w.out. It returns ok false when the sender is stopping and the queue is
// empty, or when dead (a stream connection's close signal; nil for none)
// is closed first, and woke true when wake (nil for never) fires first:
// the worker has a state change to check.
//
// After a send of steadyBatch packets or more, but no backlog, more are on
// their way: the worker first sleeps steadyWait batch delays on its timer,
// then takes what came, instead of sleeping on the queue. A worker
// sleeping on the queue is woken by the producer that queues a packet, the
// goroutine of a SIP connection, and that wake-up (a thread woken, a round
// through the scheduler) costs more than the send it leads to; the timer
// costs one wake-up per batch where the queue cost two. When the wait
// brought nothing, it sleeps on the queue again. After a backlog (see
// sender.backlog), or with one queued, it does not wait: the queue could
// fill during the wait.
func (w *worker) nextOrWake(dead <-chan struct{}, wake <-chan time.Time) (ok, woke bool) {
	s := w.s
	if w.steady && s.opts.batchDelay > 0 && !s.closing.Load() && !s.backlog(w.queuedLen(), 0) {
		w.steady = false
		w.startLinger(steadyWait * s.opts.batchDelay)
		select {
		case <-w.linger.C:
		case <-dead:
			w.linger.Stop()
		case <-wake:
			w.linger.Stop()
			return false, true
		case <-s.stop:
			w.linger.Stop()
		}
		if w.take() > 0 {
			w.lingered = true
			return true, false
		}
	}
	for {
		w.mu.Lock()
		if w.q.len() > 0 {
			w.mu.Unlock()
			w.take()
			return true, false
		}
		// Going to sleep on an empty queue: the load has stopped, and
		// the buffers a burst grew go (reset keeps them while it lasts).
		w.q.shed()
		w.out.shed()
		if w.idle != nil {
			w.idle()
		}
		w.waiting = true
		w.mu.Unlock()
		select {
		case <-w.ready:
			continue
		case <-dead:
			w.notWaiting()
			return false, false
		case <-wake:
			w.notWaiting()
			return false, true
		case <-s.stop:
			w.notWaiting()
		}
		return w.take() > 0, false
	}
}

// notWaiting clears waiting when the worker stops sleeping on the queue
// for another reason.
func (w *worker) notWaiting() {
	w.mu.Lock()
	w.waiting = false
	w.mu.Unlock()
}

// more takes the packets that arrive within the batch delay into w.out, so
// that under load one send carries many packets. The worker sleeps through
// the delay rather than waiting on the queue: a producer's enqueue then never
// has to wake it, which would cost more than the send. It does not wait
// after nextOrWake's steady wait, with a backlog taken, or while the sender
// is closing.
func (w *worker) more() {
	s := w.s
	if w.lingered {
		w.lingered = false
		return
	}
	if s.opts.batchDelay <= 0 || s.closing.Load() || s.backlog(w.out.len(), len(w.out.b)) {
		w.take()
		return
	}
	w.startLinger(s.opts.batchDelay)
	select {
	case <-w.linger.C:
	case <-s.stop:
		w.linger.Stop()
	}
	w.take()
}

// startLinger starts the worker's timer for d.
func (w *worker) startLinger(d time.Duration) {
	if w.linger == nil {
		w.linger = time.NewTimer(d)
	} else {
		w.linger.Reset(d)
	}
}

// sent records the size of a batch just sent: from steadyBatch packets
// up to a backlog, the next nextOrWake waits on the timer first.
func (w *worker) sent(n, bytes int) {
	w.steady = n >= steadyBatch && !w.s.backlog(n, bytes)
}

// dropQueued empties the queue, counting every packet under r.
func (w *worker) dropQueued(r dropReason) {
	w.mu.Lock()
	n, bytes := w.q.len(), len(w.q.b)
	w.q.reset()
	w.mu.Unlock()
	if n > 0 {
		w.s.dequeued(int64(n), int64(bytes))
		w.s.c.drop(r, n)
	}
}

// setConn records the socket in use so that abort can close it.
func (w *worker) setConn(c io.Closer) {
	w.connMu.Lock()
	w.conn = c
	w.connMu.Unlock()
}

// abort closes the socket in use, which ends a blocked write.
func (w *worker) abort() {
	w.connMu.Lock()
	if w.conn != nil {
		w.conn.Close()
	}
	w.connMu.Unlock()
}
