package transport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
	"time"
	"unsafe"

	"github.com/sipwire/sipwire/transport/framing"
)

var crlf = []byte("\r\n")

// serve is the connection's reader goroutine: it waits for bytes without
// holding a buffer, frames what arrives and hands each message over, until
// the connection ends or, idle, parks (park.go).
func (c *Conn) serve() {
	c.takeReading()
	c.serveTaken()
}

// serveTaken is serve for a reader whose reading state is taken already
// (serveParked hands its own over).
func (c *Conn) serveTaken() {
	defer c.t.readers.Done()
	for c.read() {
		c.dropReading() // before the connection can go to another reader
		if !c.park() {
			return
		}
		c.takeReading()
	}
	c.dropReading()
}

// serveParked handles a parked connection's bytes on the poller's
// goroutine (resume), without a goroutine of its own: it reads the
// detached descriptor, frames and hands over what it reads, and parks
// the connection again once the socket is empty at a message boundary,
// which is how most of a call's requests and responses come. Half a
// message, or a read that finds nothing, goes on in a reader goroutine,
// which takes Go's socket objects back and waits (read). A handler that
// holds the poller's goroutine longer than pollerHandoff loses it the
// poller, not the other connections their turn.
func (c *Conn) serveParked() {
	c.takeReading()
	switch c.readParked() {
	case detachedPark:
		c.dropReading()
		if !c.park() {
			c.t.readers.Done()
			return
		}
		c.takeReading()
	case detachedStop:
		c.dropReading()
		c.t.readers.Done()
		return
	}
	c.r.attach = true
	go c.serveTaken()
}

// readParked is readDetached for serveParked, with what read does on its
// way out: the buffer given back (unless a reader goes on with half a
// message) and a handler's panic turned into a closed connection.
func (c *Conn) readParked() (next int) {
	defer func() {
		if r := recover(); r != nil {
			c.r.writeHeld() // what the handler relayed before it panicked
			c.handlerPanicked(r)
			next = detachedStop
		}
		if next != detachedWait {
			c.releaseBuf()
		}
	}()
	c.r.detached = true
	defer func() { c.r.detached = false }()
	return c.readDetached()
}

// reading is what a reader keeps while it runs, taken from a pool when a
// reader starts and given back when it parks or ends: an idle connection
// holds none of it.
type reading struct {
	c *Conn
	// buf and rs are taken from pools while bytes wait and given back at a
	// message boundary.
	buf      *[]byte
	rs       *readState
	chunks   int
	msgStart time.Time
	deadline time.Time
	readFn   func(fd uintptr) bool // c.readReady, made once per pooled reading
	rerr     error
	parking  bool // the reader stops to park (deadlinePassed, parkAfterPing)
	pinged   bool // the last thing framed was a CRLF keep-alive
	// readSince is when the current reader started (parkTime).
	readSince time.Time
	// held are the connections for which the batch being handled holds
	// messages (Message.Forward), written when it ends.
	held []*Conn
	// detached: the reader reads the parked connection's detached
	// descriptor (readDetached), without Go's socket objects.
	detached bool
	// attach: the reader goes straight to Go's socket objects, the
	// poller having read the detached descriptor already (serveParked).
	attach bool
}

func newReading() any {
	r := new(reading)
	r.readFn = func(fd uintptr) bool { return r.c.readReady(fd) }
	return r
}

// takeReading gives the connection's new reader its state.
func (c *Conn) takeReading() {
	r := c.t.readings.Get().(*reading)
	r.c = c
	c.r = r
}

// dropReading gives the reader's state back; the read buffer is already
// released (read does it on its way out).
func (c *Conn) dropReading() {
	r := c.r
	c.r = nil
	*r = reading{readFn: r.readFn, held: r.held[:0]}
	c.t.readings.Put(r)
}

// read reads until the connection ends (false) or may park (true). While it
// runs it owns the connection: every way out of it but parking closes the
// connection with one CLOSED event, except a Shutdown drain, which leaves
// that to Shutdown.
func (c *Conn) read() (parking bool) {
	defer c.releaseBuf()
	defer func() {
		if r := recover(); r != nil {
			c.r.writeHeld() // what the handler relayed before it panicked
			if c.rstate.Swap(readerOut) == readerInClose {
				c.closeObjects()
			}
			c.handlerPanicked(r)
		}
	}()
	if c.idle.shift.Load() > 0 && !c.r.attach {
		c.r.detached = true
		next := c.readDetached()
		c.r.detached = false
		switch next {
		case detachedPark:
			return true
		case detachedStop:
			return false
		}
	}
	if err := c.reattach(); err != nil {
		c.closeWith(EventReadError, StatusFailure, "Read error: "+err.Error())
		return false
	}
	c.r.deadline = time.Time{}
	c.r.readSince = time.Now()
	c.armDeadline(c.r.readSince)
	for {
		err := c.rc.Read(c.r.readFn)
		if c.r.parking && err == nil && c.State() == StateOpen {
			c.r.parking = false
			return true // parkAfterPing
		}
		if c.rstate.Load() == readerClosing {
			// closeWith ran while messages were handled inside the read
			// callback and left the socket for us to close, out of it.
			c.closeObjects()
			return false
		}
		if c.State() == StateClosed {
			return false
		}
		if err == nil {
			err, c.r.rerr = c.r.rerr, nil
		}
		if err == nil {
			if c.State() == StateDraining {
				return false // Shutdown stopped the reading and closes the connection
			}
			err = io.EOF
		}
		if !c.readFailed(err) {
			parking, c.r.parking = c.r.parking, false
			return parking
		}
	}
}

// What readDetached leaves to read.
const (
	detachedPark = iota // the socket is empty at a message boundary: park again
	detachedWait        // wait in the runtime's poller (Go's socket objects back)
	detachedStop        // the connection is closed
)

// readDetached reads a connection that the poller resumed for traffic
// through its detached descriptor, without taking Go's socket objects back
// (net.FileConn: a dozen system calls, most of them plain, and the
// keepalive settings read and restored; for what is most often one
// message, or a hang-up). It frames and hands over what it reads, as
// readAndHandle does, until the socket is empty: at a message boundary
// the connection parks again at once; with a message incomplete, or when
// the first read finds nothing (an idle deadline, a spurious wake), the
// reader takes the socket objects back and waits for readability, as
// before (with the message time and idle bounds of an armed deadline). A
// connection whose traffic keeps coming back sooner than
// Options.ParkAfter (its park wait at its longest) does not come here: it
// keeps a reader (read).
//
// Each read(2) is made under the writer's lock, under which the
// descriptor is only ever replaced (a write that must wait takes the
// objects back) or closed; between reads, the descriptor is looked up
// again.
func (c *Conn) readDetached() int {
	for first := true; ; first = false {
		c.w.mu.Lock()
		fd, ok := c.rc.(detachedFD)
		if !ok || c.State() != StateOpen {
			c.w.mu.Unlock()
			return detachedWait
		}
		n, room, held, err := c.readTail(uintptr(fd))
		c.w.mu.Unlock()
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if held == 0 {
				c.releaseBuf()
				if !first {
					return detachedPark
				}
			}
			return detachedWait
		case err != nil:
			c.readFailed(err)
			return detachedStop
		case n == 0:
			c.readFailed(io.EOF)
			return detachedStop
		}
		ok = c.handleRead(n)
		switch {
		case c.State() == StateClosed:
			return detachedStop
		case !ok || c.State() != StateOpen:
			return detachedWait
		case n < room && c.r.buf == nil:
			// The read emptied the socket (readAndHandle) at a message
			// boundary.
			return detachedPark
		case n < room:
			return detachedWait
		}
	}
}

// The reader's place relative to its read callback (Conn.rstate). Messages
// are handled inside the callback, where the runtime holds a reference on
// the socket: closing it there would wait for ourselves, and another
// goroutine closing it while holding the connection's lock would wait for
// a reader that may wait for that lock. So a close that finds the reader in
// the callback leaves the socket to the reader, and a reader that finds a
// close begun does nothing in the callback.
const (
	readerOut     uint32 = iota // not in the callback
	readerIn                    // in the callback
	readerInClose               // in the callback; closeWith left the socket to the reader
	readerClosing               // the socket is closed or left to the reader: read nothing more
)

// closeSocket closes the socket for closeWith, or leaves it to the reader
// when the reader is inside its read callback.
func (c *Conn) closeSocket() {
	for {
		switch c.rstate.Load() {
		case readerIn:
			if c.rstate.CompareAndSwap(readerIn, readerInClose) {
				return
			}
		case readerOut:
			if c.rstate.CompareAndSwap(readerOut, readerClosing) {
				c.closeObjects()
				return
			}
		default:
			return
		}
	}
}

// readReady is the read callback, called by the runtime poller when the
// socket is readable: it reads into a pooled buffer, taken only now that
// bytes are there, and handles what it frames. It returns false to wait for
// readability, true to leave (an error in c.r.rerr, the connection closed, or
// the socket left to the reader).
func (c *Conn) readReady(fd uintptr) bool {
	if !c.rstate.CompareAndSwap(readerOut, readerIn) {
		return true
	}
	wait := c.readAndHandle(fd)
	if !c.rstate.CompareAndSwap(readerIn, readerOut) {
		c.rstate.Store(readerClosing)
		return true
	}
	return wait
}

// readAndHandle reads until the socket has nothing more or the connection
// ends. A read that leaves room in the buffer emptied the socket then:
// instead of a second read(2) to see EAGAIN, it returns false to wait, and
// the poller's edge for bytes that came meanwhile wakes it at once.
func (c *Conn) readAndHandle(fd uintptr) bool {
	for {
		n, room, held, err := c.readTail(fd)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if held == 0 {
				c.releaseBuf()
			}
			return c.parkAfterPing()
		case err != nil:
			c.r.rerr = err
			return true
		case n == 0:
			c.r.rerr = io.EOF
			return true
		}
		if !c.handleRead(n) || c.State() != StateOpen {
			return true
		}
		if n < room {
			return c.parkAfterPing()
		}
	}
}

// handleRead takes the n bytes a read just put after the buffer's
// content: it counts them as traffic, frames and hands over every complete
// item, and writes what the handlers held. It returns false when the
// connection was closed.
func (c *Conn) handleRead(n int) bool {
	*c.r.buf = (*c.r.buf)[:len(*c.r.buf)+n]
	now := time.Now()
	c.touch(now)
	c.bytesIn.Add(uint64(n))
	c.t.stats.bytesIn.Add(uint64(n))
	ok := c.frame(n, now)
	c.r.writeHeld()
	return ok
}

// parkAfterPing reports, once the socket is empty, that the reader parks
// now rather than after its park wait: the last thing read was a CRLF
// keep-alive, after which a client sends nothing until its next one (RFC
// 5626 suggests 95 to 120 s over TCP) or a request, so its reader would
// only wait. A burst of phones that connect and ping thus never holds a
// goroutine each.
func (c *Conn) parkAfterPing() bool {
	if !c.r.pinged || c.r.buf != nil || c.parkAfter() <= 0 {
		return false
	}
	c.r.pinged = false
	c.r.parking = true
	return true
}

// readTail reads from fd into the free end of the reader's buffer, taken
// from the pool first when it has none: n bytes read, the room there was,
// and the bytes the buffer held before (a partial message).
func (c *Conn) readTail(fd uintptr) (n, room, held int, err error) {
	if c.r.buf == nil {
		c.takeBuf()
	}
	b := *c.r.buf
	n, err = rawRead(fd, b[len(b):cap(b)])
	return n, cap(b) - len(b), len(b), err
}

// rawRead is read(2) on the non-blocking socket as a raw system call,
// without the runtime's entersyscall/exitsyscall, for the reasons given at
// rawWrite: it cannot block (EAGAIN instead).
func rawRead(fd uintptr, b []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// readState is the reader's framing state, pooled with the read buffer:
// both are needed only while bytes wait.
type readState struct {
	framer framing.Framer
	msg    Message
}

// takeBuf takes a read buffer and a framing state from the pools.
func (c *Conn) takeBuf() {
	c.r.buf = c.t.bufs.Get().(*[]byte)
	c.r.rs = c.t.states.Get().(*readState)
	c.r.rs.framer.MaxMessageBytes = c.t.opts.maxMessageBytes()
	c.r.rs.msg.Conn = c
}

// releaseBuf gives the read buffer and the framing state back; the buffer
// holds nothing unconsumed and the framer is at a message boundary.
func (c *Conn) releaseBuf() {
	if c.r.buf == nil {
		return
	}
	if cap(*c.r.buf) == readBufferSize {
		*c.r.buf = (*c.r.buf)[:0]
		c.t.bufs.Put(c.r.buf)
	}
	c.r.buf = nil
	c.r.rs.framer.Reset()
	c.r.rs.msg = Message{}
	c.t.states.Put(c.r.rs)
	c.r.rs = nil
}

// frame frames every complete item in the buffer after a read of n bytes.
// It returns false when the connection was closed.
func (c *Conn) frame(n int, now time.Time) bool {
	opts := &c.t.opts
	b := *c.r.buf
	off := 0
	var r framing.Result
	for {
		c.r.rs.framer.Next(b[off:], &r)
		switch r.Kind {
		case framing.Message:
			off += r.N
			c.r.chunks = 0
			c.r.pinged = false
			if !c.r.msgStart.IsZero() {
				c.r.msgStart = time.Time{}
				c.armDeadline(now)
			}
			if !c.deliver(&r.Frame, now) {
				return false
			}
			if c.State() == StateClosed {
				return false
			}
			continue
		case framing.Ping:
			off += r.N
			c.r.pinged = true
			c.t.stats.pings.Add(1)
			if !opts.DisableCRLFPingPong {
				c.t.stats.pongs.Add(1)
				if c.w.write(crlf, nil, nil) != nil {
					return false
				}
			}
			continue
		case framing.Whitespace:
			off += r.N
			if r.LoneCRLF {
				c.t.stats.loneCRLFs.Add(1)
			}
			continue
		case framing.Error:
			c.reject(&r)
			return false
		}
		break
	}
	rest := len(b) - off
	if rest == 0 {
		c.releaseBuf()
		return true
	}
	if off > 0 {
		copy(b, b[off:])
		*c.r.buf = b[:rest]
	}
	if r.Partial {
		if c.r.msgStart.IsZero() {
			c.r.msgStart = now
			c.armDeadline(now)
		}
		if limit := opts.maxMsgChunks(); limit > 0 && n < chunkMinBytes {
			c.r.chunks++
			if c.r.chunks >= limit {
				c.closeWith(EventChunkLimit, StatusFailure, fmt.Sprintf("Message arrived in %d chunks, tcp_max_msg_chunks is %d", c.r.chunks, limit))
				return false
			}
		}
	}
	if rest == cap(b) {
		c.growBuf()
	}
	return true
}

// growBuf makes room for a message larger than the pooled buffer, up to the
// maximum message size plus room for the blank line the framer must see.
func (c *Conn) growBuf() {
	b := *c.r.buf
	limit := c.t.opts.maxMessageBytes() + 8
	newCap := min(2*cap(b), limit)
	if newCap <= cap(b) {
		newCap = cap(b) + 1024
	}
	nb := make([]byte, len(b), newCap)
	copy(nb, b)
	if cap(b) == readBufferSize {
		*c.r.buf = b[:0]
		c.t.bufs.Put(c.r.buf)
	}
	c.r.buf = &nb
}

// deliver observes one message, stamped when the read that completed it
// returned, and hands it to the handler: inline with
// tcp_parallel_handling=0, in its own goroutine (on a copy) with 1.
func (c *Conn) deliver(f *framing.Frame, readAt time.Time) bool {
	c.msgsIn.Add(1)
	c.t.stats.messagesIn.Add(1)
	c.observeMessage(Received, readAt, f.Data, f.CallID, false)
	if c.t.opts.ParallelHandling {
		m := copyMessage(c, f)
		c.t.readers.Add(1)
		go func() {
			defer c.t.readers.Done()
			defer c.recoverHandler()
			c.t.handler.ServeSIP(m)
		}()
		return true
	}
	m := &c.r.rs.msg
	m.Frame, m.r = *f, c.r
	c.t.handler.ServeSIP(m)
	m.Frame = framing.Frame{}
	return true
}

// recoverHandler turns a panic in a parallel handler into what the reader
// does with one in an inline handler (see serve): logged once with its
// stack, a HANDLER_PANIC event, and this connection closed.
func (c *Conn) recoverHandler() {
	if r := recover(); r != nil {
		c.handlerPanicked(r)
	}
}

// handlerPanicked logs a recovered panic with its stack and closes the
// connection with EventHandlerPanic. Only this connection is affected.
func (c *Conn) handlerPanicked(r any) {
	c.t.opts.logger().Error("sip handler panicked; closing its connection", "conn", c.id, "remote", c.remote.String(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	c.closeWith(EventHandlerPanic, StatusFailure, fmt.Sprintf("Handler panic: %v", r))
}

// reject answers a request that cannot be framed with the status
// framing.ErrorStatus gives (400, 505, 513) when its header block allows a
// response, then closes the connection. The reason says "answered N" only
// when the response was written whole.
func (c *Conn) reject(r *framing.Result) {
	code, phrase := framing.ErrorStatus(r.Err)
	kind := EventBadMessage
	if errors.Is(r.Err, framing.ErrTooLarge) {
		kind = EventMessageTooLarge
	}
	reason := r.Err.Error()
	if resp := framing.AppendResponse(nil, &r.Frame, code, phrase); len(resp) > 0 {
		err := c.w.write(resp, &outMessage{callID: r.Frame.CallID, local: true, wait: true}, nil)
		if queued, _ := c.w.queued(); err == nil && queued == 0 {
			reason = fmt.Sprintf("%s (answered %d)", reason, code)
		}
	}
	c.closeWith(kind, StatusFailure, reason)
}

// readFailed handles an error from the read side. It returns true when the
// reader goes on (a deadline that was only a re-arm).
func (c *Conn) readFailed(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return c.deadlinePassed(time.Now())
	}
	if c.State() == StateClosed {
		return false
	}
	switch {
	case errors.Is(err, io.EOF):
		if c.r.buf != nil && len(*c.r.buf) > 0 && !c.r.msgStart.IsZero() {
			c.closeWith(EventReadError, StatusFailure, "EOF received with incomplete SIP message")
			return false
		}
		c.closeWith(0, StatusSuccess, "EOF received")
	default:
		c.closeWith(EventReadError, StatusFailure, "Read error: "+err.Error())
	}
	return false
}

// armDeadline sets the read deadline to the earliest of the idle bound
// (tcp_connection_lifetime after the last traffic), while a message is
// incomplete the message time bound (tcp_max_msg_time), and else the time
// the reader may park (its park wait after the last traffic).
func (c *Conn) armDeadline(now time.Time) {
	last := time.Unix(0, c.lastActivity.Load())
	d := last.Add(c.t.opts.connectionLifetime())
	if !c.r.msgStart.IsZero() {
		if m := c.r.msgStart.Add(c.t.opts.maxMsgTime()); m.Before(d) {
			d = m
		}
	} else if after := c.parkAfter(); after > 0 {
		if p := c.parkTime(last, after); p.Before(d) {
			d = p
		}
	}
	if d.Equal(c.r.deadline) {
		return
	}
	c.r.deadline = d
	if !c.r.detached { // read arms its deadline once it has the objects back
		c.nc.SetReadDeadline(d)
	}
}

// deadlinePassed decides what a read deadline meant: a drain, an incomplete
// message too slow, no traffic for too long, or only a deadline to re-arm
// because traffic (writes too) happened since it was set.
func (c *Conn) deadlinePassed(now time.Time) bool {
	switch c.State() {
	case StateDraining, StateClosed:
		return false
	}
	if !c.r.msgStart.IsZero() && !now.Before(c.r.msgStart.Add(c.t.opts.maxMsgTime())) {
		c.closeWith(EventMessageTimeout, StatusFailure, "Read timeout with incomplete SIP message")
		return false
	}
	last := time.Unix(0, c.lastActivity.Load())
	if !now.Before(last.Add(c.t.opts.connectionLifetime())) {
		c.closeWith(EventIdleTimeout, StatusSuccess, "Timeout on no traffic")
		return false
	}
	if c.canPark(now) {
		c.r.parking = true
		return false
	}
	c.r.deadline = time.Time{}
	c.armDeadline(now)
	return true
}

// copyMessage copies a message for a parallel handler: the copy is framed
// again so that its header view points into the copy.
func copyMessage(c *Conn, f *framing.Frame) *Message {
	data := append([]byte(nil), f.Data...)
	var fr framing.Framer
	fr.MaxMessageBytes = len(data)
	var r framing.Result
	fr.Next(data, &r)
	m := &Message{Frame: r.Frame, Conn: c}
	if r.Kind != framing.Message {
		m.Frame = framing.Frame{Data: data}
	}
	return m
}
