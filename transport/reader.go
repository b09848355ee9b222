package transport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/sipwire/sipwire/transport/framing"
)

var crlf = []byte("\r\n")

// serve is the connection's reader goroutine: it waits for bytes without
// holding a buffer, frames what arrives and hands each message over, until
// the connection ends or, idle, parks (park.go).
func (c *Conn) serve() {
	defer c.t.readers.Done()
	for c.read() {
		if !c.park() {
			return
		}
	}
}

// read reads until the connection ends (false) or may park (true). While it
// runs it owns the connection: every way out of it but parking closes the
// connection with one CLOSED event, except a Shutdown drain, which leaves
// that to Shutdown.
func (c *Conn) read() (parking bool) {
	defer c.releaseBuf()
	defer func() {
		if r := recover(); r != nil {
			if c.rstate.Swap(readerOut) == readerInClose {
				c.nc.Close()
			}
			c.handlerPanicked(r)
		}
	}()
	c.deadline = time.Time{}
	c.readSince = time.Now()
	c.armDeadline(c.readSince)
	for {
		err := c.rc.Read(c.readFn)
		if c.rstate.Load() == readerClosing {
			// closeWith ran while messages were handled inside the read
			// callback and left the socket for us to close, out of it.
			c.nc.Close()
			return false
		}
		if c.State() == StateClosed {
			return false
		}
		if err == nil {
			err, c.rerr = c.rerr, nil
		}
		if err == nil {
			if c.State() == StateDraining {
				return false // Shutdown stopped the reading and closes the connection
			}
			err = io.EOF
		}
		if !c.readFailed(err) {
			parking, c.parking = c.parking, false
			return parking
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
				c.nc.Close()
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
// readability, true to leave (an error in c.rerr, the connection closed, or
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
		if c.buf == nil {
			c.takeBuf()
		}
		b := *c.buf
		room := cap(b) - len(b)
		n, err := syscall.Read(int(fd), b[len(b):cap(b)])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if len(b) == 0 {
				c.releaseBuf()
			}
			return false
		case err != nil:
			c.rerr = err
			return true
		case n == 0:
			c.rerr = io.EOF
			return true
		}
		*c.buf = b[:len(b)+n]
		now := time.Now()
		c.touch(now)
		c.bytesIn.Add(uint64(n))
		c.t.stats.bytesIn.Add(uint64(n))
		if !c.frame(n, now) || c.State() != StateOpen {
			return true
		}
		if n < room {
			return false
		}
	}
}

// readState is the reader's framing state, pooled with the read buffer:
// both are needed only while bytes wait.
type readState struct {
	framer framing.Framer
	msg    Message
}

// takeBuf takes a read buffer and a framing state from the pools.
func (c *Conn) takeBuf() {
	c.buf = c.t.bufs.Get().(*[]byte)
	c.rs = c.t.states.Get().(*readState)
	c.rs.framer.MaxMessageBytes = c.t.opts.maxMessageBytes()
	c.rs.msg.Conn = c
}

// releaseBuf gives the read buffer and the framing state back; the buffer
// holds nothing unconsumed and the framer is at a message boundary.
func (c *Conn) releaseBuf() {
	if c.buf == nil {
		return
	}
	if cap(*c.buf) == readBufferSize {
		*c.buf = (*c.buf)[:0]
		c.t.bufs.Put(c.buf)
	}
	c.buf = nil
	c.rs.framer.Reset()
	c.rs.msg = Message{}
	c.t.states.Put(c.rs)
	c.rs = nil
}

// frame frames every complete item in the buffer after a read of n bytes.
// It returns false when the connection was closed.
func (c *Conn) frame(n int, now time.Time) bool {
	opts := &c.t.opts
	b := *c.buf
	off := 0
	var r framing.Result
	for {
		c.rs.framer.Next(b[off:], &r)
		switch r.Kind {
		case framing.Message:
			off += r.N
			c.chunks = 0
			if !c.msgStart.IsZero() {
				c.msgStart = time.Time{}
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
		*c.buf = b[:rest]
	}
	if r.Partial {
		if c.msgStart.IsZero() {
			c.msgStart = now
			c.armDeadline(now)
		}
		if limit := opts.maxMsgChunks(); limit > 0 && n < chunkMinBytes {
			c.chunks++
			if c.chunks >= limit {
				c.closeWith(EventChunkLimit, StatusFailure, fmt.Sprintf("Message arrived in %d chunks, tcp_max_msg_chunks is %d", c.chunks, limit))
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
	b := *c.buf
	limit := c.t.opts.maxMessageBytes() + 8
	newCap := min(2*cap(b), limit)
	if newCap <= cap(b) {
		newCap = cap(b) + 1024
	}
	nb := make([]byte, len(b), newCap)
	copy(nb, b)
	if cap(b) == readBufferSize {
		*c.buf = b[:0]
		c.t.bufs.Put(c.buf)
	}
	c.buf = &nb
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
	m := &c.rs.msg
	m.Frame = *f
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
		if c.buf != nil && len(*c.buf) > 0 && !c.msgStart.IsZero() {
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
// the reader may park (ParkAfter after the last traffic).
func (c *Conn) armDeadline(now time.Time) {
	last := time.Unix(0, c.lastActivity.Load())
	d := last.Add(c.t.opts.connectionLifetime())
	if !c.msgStart.IsZero() {
		if m := c.msgStart.Add(c.t.opts.maxMsgTime()); m.Before(d) {
			d = m
		}
	} else if after := c.t.opts.parkAfter(); after > 0 {
		if p := c.parkTime(last, after); p.Before(d) {
			d = p
		}
	}
	if d.Equal(c.deadline) {
		return
	}
	c.deadline = d
	c.nc.SetReadDeadline(d)
}

// deadlinePassed decides what a read deadline meant: a drain, an incomplete
// message too slow, no traffic for too long, or only a deadline to re-arm
// because traffic (writes too) happened since it was set.
func (c *Conn) deadlinePassed(now time.Time) bool {
	switch c.State() {
	case StateDraining, StateClosed:
		return false
	}
	if !c.msgStart.IsZero() && !now.Before(c.msgStart.Add(c.t.opts.maxMsgTime())) {
		c.closeWith(EventMessageTimeout, StatusFailure, "Read timeout with incomplete SIP message")
		return false
	}
	last := time.Unix(0, c.lastActivity.Load())
	if !now.Before(last.Add(c.t.opts.connectionLifetime())) {
		c.closeWith(EventIdleTimeout, StatusSuccess, "Timeout on no traffic")
		return false
	}
	if c.canPark(now) {
		c.parking = true
		return false
	}
	c.deadline = time.Time{}
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
