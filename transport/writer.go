package transport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// chunkPackBytes bounds a queued chunk into which later writes are packed.
const chunkPackBytes = 32 << 10

// queuedWrite is a chunk waiting in a connection's queue (postponed, in
// OpenSIPS' words): a copy of the bytes, when its first write was queued,
// and whom to tell if it never goes out. Writes that queue behind a chunk
// that is not being written yet are packed into it up to chunkPackBytes, so
// a peer that reads a little slowly costs few chunks and the flusher few
// system calls.
type queuedWrite struct {
	data    []byte
	at      time.Time
	notify  func(error)
	notifyN []func(error) // further writes packed into the chunk
}

// backlog is what a connection has queued, in order, and its size: it
// exists only while something is queued, so that a connection that keeps
// up (nearly all) does not carry it.
type backlog struct {
	queue []queuedWrite
	bytes int
}

// writer is a connection's write side. With tcp_async=1 a write goes out
// inline when the socket takes it, waits inline up to
// tcp_async_local_write_timeout, and queues the rest; once anything is
// queued every later write queues behind it, so order is kept. A flusher
// goroutine exists only while the queue is not empty.
type writer struct {
	c *Conn

	mu       sync.Mutex
	q        *backlog // nil while nothing is queued
	flushing bool
	err      error // the first write error; every later write fails with it
	// held is what a read batch holds to write when it ends (held.go);
	// while it is set nothing is queued.
	held *heldWrites

	writeFn func(fd uintptr) bool
	wb      []byte
	wn      int
	werr    error
}

// Write sends one SIP message on the connection, as WriteMessage with no
// Call-ID: observers see the message without one.
func (c *Conn) Write(b []byte) error { return c.WriteMessage(b, nil) }

// WriteMessage sends one SIP message on the connection; callID is its
// Call-ID, which observers receive with it (nothing parses the message again
// to trace it). It never waits for the socket: what the socket does not
// take at once is queued behind the connection's own bounds
// (tcp_async_max_postponed_chunks, the byte and age bounds), which close
// this connection, and only it, when a slow peer lets them fill. It returns
// when the message is written or queued; an error means the connection
// could not take it (and was closed if a limit was hit).
func (c *Conn) WriteMessage(b, callID []byte) error {
	return c.w.write(b, &outMessage{callID: callID}, nil)
}

// Reply sends b, a response to m, on m's own connection, with m's Call-ID.
// Unlike WriteMessage it may wait up to tcp_async_local_write_timeout for
// the socket before queueing the rest, as OpenSIPS does: the goroutine that
// waits is the connection's own reader (or m's parallel handler), so only
// the peer that does not read is held up.
func (m *Message) Reply(b []byte) error {
	return m.Conn.w.write(b, &outMessage{callID: m.CallID, wait: true}, nil)
}

// outMessage marks a write as a SIP message, to be observed and counted;
// a write without one (a CRLF pong) is neither.
type outMessage struct {
	callID []byte
	local  bool // sipwire's own response to a message it could not frame
	// wait: the writer is the connection's own reader, which may wait
	// tcp_async_local_write_timeout for the socket (Reply).
	wait bool
}

// write writes b or queues it. A SIP message (m not nil) is observed under
// the writer's lock, stamped just before its bytes go to the kernel or to
// the queue, so that the observations of a connection's sent messages are
// in the order of their bytes on the wire; it is counted once taken.
func (w *writer) write(b []byte, m *outMessage, notify func(error)) error {
	st, err := w.lockOpen()
	if err != nil {
		return err
	}
	return w.writeMessageLocked(b, m, notify, st)
}

// lockOpen locks w.mu for a write and returns the connection's state; when
// the writer failed or the connection is closed, it unlocks and says why.
func (w *writer) lockOpen() (ConnState, error) {
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return 0, err
	}
	st := w.c.State()
	if st == StateClosed {
		w.mu.Unlock()
		return st, closeError(EventKind(w.c.closedBy.Load()))
	}
	return st, nil
}

// writeMessageLocked is write once the writer is known to take writes (st
// is the connection's state); it unlocks w.mu. What a read batch holds
// for the connection goes first.
func (w *writer) writeMessageLocked(b []byte, m *outMessage, notify func(error), st ConnState) error {
	c := w.c
	if w.held != nil {
		if err, overflow := w.writeHeldLocked(); err != nil {
			w.mu.Unlock()
			if overflow {
				w.overflow(err)
			}
			return err
		}
		st = c.State()
	}
	now := time.Now()
	if m != nil {
		c.observeMessage(Sent, now, b, m.callID, m.local)
	}
	err, overflow := w.sendLocked(b, st, m != nil && m.wait, notify, now)
	if err == nil && m != nil {
		c.msgsOut.Add(1)
		c.t.stats.messagesOut.Add(1)
	}
	w.mu.Unlock()
	if overflow {
		w.overflow(err)
	}
	return err
}

// sendLocked writes b once observed (now is when the write began), with
// w.mu held. With wait, a write the socket does not take whole waits
// inline up to tcp_async_local_write_timeout; without, the rest is queued
// at once. overflow reports that the queue's bounds refused the rest: the
// caller closes the connection with overflow once it has unlocked.
func (w *writer) sendLocked(b []byte, st ConnState, wait bool, notify func(error), now time.Time) (err error, overflow bool) {
	c := w.c
	if st == StateConnecting || w.flushing || w.q != nil {
		err := w.enqueueLocked(b, notify, now)
		return err, err != nil
	}
	if c.t.opts.SyncWrites {
		if err := c.reattachLocked(); err != nil {
			return w.failLocked(EventWriteError, "Write error: "+err.Error(), err), false
		}
		return w.writeBlocking(b), false
	}
	n, err := w.tryWrite(b)
	if err == nil && n < len(b) && wait {
		if err = c.reattachLocked(); err != nil { // a parked connection's socket cannot wait
			err = w.failLocked(EventWriteError, "Write error: "+err.Error(), err)
		} else {
			n, err = w.writeInline(b, n)
		}
	}
	if err != nil {
		return err, false
	}
	if n == len(b) {
		c.wroteAt(n, now) // written at once: the clock read for write stamps it
		return nil, false
	}
	c.wrote(n)
	err = w.enqueueLocked(b[n:], notify, time.Now())
	return err, err != nil
}

// tryWrite writes what the socket takes now, without waiting.
func (w *writer) tryWrite(b []byte) (int, error) {
	w.wb, w.wn, w.werr = b, 0, nil
	err := w.c.rc.Write(w.writeFn)
	w.wb = nil
	if err == nil {
		err = w.werr
	}
	if err != nil {
		return w.wn, w.failLocked(EventWriteError, "Write error: "+err.Error(), err)
	}
	return w.wn, nil
}

// writeOnce is the write callback of tryWrite: it writes what the
// non-blocking socket takes now.
func (w *writer) writeOnce(fd uintptr) bool {
	for w.wn < len(w.wb) {
		n, err := rawWrite(fd, w.wb[w.wn:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			w.werr = err
			return true
		}
		w.wn += n
	}
	return true
}

// rawWrite is write(2) on a non-blocking socket as a raw system call,
// without the runtime's entersyscall/exitsyscall. The call cannot block
// (EAGAIN instead), so the goroutine keeps its P for the few microseconds
// it takes, and it skips what syscall.Write costs around it: the syscall
// state transitions and, when the process was idle a moment before, a
// futex wake of the runtime's sysmon thread, which then polls every 20 µs
// until the process is idle again. Under SIPp load (t1, 4,000 calls/s,
// perf) sysmon was 12% of sipwire's CPU; with this write and the reader's
// read both raw, the process made 2,700 futex calls and 700 sysmon sleeps
// in 7 s instead of 15,000 and 11,000. A signal can interrupt it (EINTR,
// retried by the caller).
func rawWrite(fd uintptr, b []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// writeInline waits up to tcp_async_local_write_timeout for the socket to
// take the rest of b. A timeout is not an error: the caller queues the rest.
func (w *writer) writeInline(b []byte, n int) (int, error) {
	nc := w.c.nc
	nc.SetWriteDeadline(time.Now().Add(w.c.t.opts.localWriteTimeout()))
	m, err := nc.Write(b[n:])
	nc.SetWriteDeadline(time.Time{})
	n += m
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return n, w.failLocked(EventWriteError, "Write error: "+err.Error(), err)
	}
	return n, nil
}

// writeBlocking is tcp_async=0: the whole write bounded by tcp_send_timeout.
func (w *writer) writeBlocking(b []byte) error {
	c := w.c
	timeout := c.t.opts.sendTimeout()
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	n, err := c.nc.Write(b)
	c.nc.SetWriteDeadline(time.Time{})
	c.wrote(n)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return w.failLocked(EventWriteTimeout, fmt.Sprintf("Write timeout: %d of %d bytes written within tcp_send_timeout (%s)", n, len(b), timeout), ErrWriteTimeout)
	default:
		return w.failLocked(EventWriteError, "Write error: "+err.Error(), err)
	}
}

// failLocked records the first write error and closes the connection in the
// background (closing needs w.mu, which the caller holds).
func (w *writer) failLocked(kind EventKind, reason string, err error) error {
	if w.err == nil {
		w.err = fmt.Errorf("write to %s: %w", w.c.remote, err)
	}
	err = w.err
	go w.c.closeWith(kind, StatusFailure, reason)
	return err
}

func (w *writer) enqueueLocked(b []byte, notify func(error), now time.Time) error {
	opts := &w.c.t.opts
	bl := w.q
	if bl == nil {
		bl = new(backlog)
	}
	if bl.bytes+len(b) > opts.maxPostponedBytes() {
		return fmt.Errorf("%w: %d bytes queued, bound %d", ErrQueueBytes, bl.bytes+len(b), opts.maxPostponedBytes())
	}
	// The head chunk may be in the flusher's hands: pack only into a tail
	// that is not.
	if n := len(bl.queue); n > 0 && (n > 1 || !w.flushing) && len(bl.queue[n-1].data)+len(b) <= chunkPackBytes {
		tail := &bl.queue[n-1]
		tail.data = append(tail.data, b...)
		if notify != nil {
			tail.notifyN = append(tail.notifyN, notify)
		}
		bl.bytes += len(b)
		return nil
	}
	if len(bl.queue) >= opts.maxPostponedChunks() {
		return fmt.Errorf("%w: %d chunks queued", ErrQueueFull, len(bl.queue))
	}
	bl.bytes += len(b)
	data := make([]byte, len(b), max(len(b), min(4*len(b), chunkPackBytes)))
	copy(data, b)
	bl.queue = append(bl.queue, queuedWrite{data: data, at: now, notify: notify})
	w.q = bl
	w.startFlushLocked()
	return nil
}

// startFlushLocked starts the flusher when the connection can write and
// something waits.
func (w *writer) startFlushLocked() {
	if w.flushing || w.q == nil || w.err != nil {
		return
	}
	if st := w.c.State(); st != StateOpen && st != StateDraining {
		return
	}
	if err := w.c.reattachLocked(); err != nil { // the flusher waits for the socket
		w.failLocked(EventWriteError, "Write error: "+err.Error(), err)
		return
	}
	w.flushing = true
	go w.flush()
}

// overflow closes the connection whose queue could not take a write.
func (w *writer) overflow(err error) {
	w.c.closeWith(EventWriteQueueFull, StatusFailure, "Write queue full: "+err.Error())
}

// flush writes the queue in order, each write bounded by the age bound of
// queued writes; it ends when the queue is empty.
func (w *writer) flush() {
	c := w.c
	maxAge := c.t.opts.maxPostponedAge()
	defer c.nc.SetWriteDeadline(time.Time{})
	for {
		w.mu.Lock()
		if w.err != nil || w.q == nil {
			w.flushing = false
			w.q = nil
			w.mu.Unlock()
			return
		}
		q := w.q.queue[0]
		w.mu.Unlock()

		c.nc.SetWriteDeadline(q.at.Add(maxAge))
		n, err := c.nc.Write(q.data)
		c.wrote(n)

		w.mu.Lock()
		if err != nil {
			w.flushing = false
			if w.err == nil {
				w.err = fmt.Errorf("write to %s: %w", c.remote, err)
			}
			w.mu.Unlock()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.closeWith(EventWriteTimeout, StatusFailure, fmt.Sprintf("Write timeout: a queued write waited more than %s", maxAge))
			} else {
				c.closeWith(EventWriteError, StatusFailure, "Write error: "+err.Error())
			}
			return
		}
		if w.q == nil {
			// fail emptied the queue while the chunk was being written
			// (the connection is closing): nothing is left to account.
			w.flushing = false
			w.mu.Unlock()
			return
		}
		bl := w.q
		bl.queue[0] = queuedWrite{}
		bl.queue = bl.queue[1:]
		bl.bytes -= len(q.data)
		if len(bl.queue) == 0 {
			w.q = nil
		}
		w.mu.Unlock()
	}
}

// fail fails every queued write with the first write error (or err) and
// makes later writes fail at once.
func (w *writer) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	err = w.err
	var q []queuedWrite
	if w.q != nil {
		q = w.q.queue
	}
	w.q = nil
	w.dropHeldLocked()
	if w.c.nc == nil {
		w.c.closeDetachedLocked() // a parked connection's socket, once closed
	}
	w.mu.Unlock()
	for _, x := range q {
		for _, f := range x.notifyN {
			f(err)
		}
		if x.notify != nil {
			x.notify(err)
		}
	}
}

func (w *writer) queued() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.q == nil {
		return 0, 0
	}
	return len(w.q.queue), w.q.bytes
}

// waitEmpty waits until the queue is written out, the writer failed, or ctx
// is done.
func (w *writer) waitEmpty(ctx context.Context) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		w.mu.Lock()
		done := w.err != nil || (w.q == nil && !w.flushing)
		w.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// wrote accounts n bytes that reached the socket.
func (c *Conn) wrote(n int) {
	if n > 0 {
		c.wroteAt(n, time.Now())
	}
}

// wroteAt is wrote for bytes written at now.
func (c *Conn) wroteAt(n int, now time.Time) {
	if n <= 0 {
		return
	}
	c.bytesOut.Add(uint64(n))
	c.t.stats.bytesOut.Add(uint64(n))
	c.touch(now)
}
