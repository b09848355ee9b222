package transport

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// Detaching: a parked connection also gives up Go's objects for its
// socket (the net.TCPConn, its netFD, the two addresses and the runtime
// poller's descriptor: about 600 bytes), keeping only a duplicate of the
// descriptor (detachedFD), and takes them again (reattach) when a reader
// starts or a write must wait for the socket. The descriptor then serves
// what a parked connection still does: non-blocking writes, TCP_INFO and
// the poller's epoll set.
//
// c.nc, c.rc and the detached descriptor change only with both the
// writer's lock and the connection's lock held (in that order), so that a
// holder of either sees them stable; the detached descriptor is closed
// under both too (writer.fail, once the connection is closed), so no
// write or TCP_INFO read can use a number the kernel gave to another
// socket. Nobody detaches while a reader runs or the flusher writes: the
// reader detaches itself as it parks, with the write queue empty.

// detachedFD is a parked connection's socket once detached. Its RawConn
// methods call f once on the descriptor: writes through it never wait
// (writeOnce takes what the non-blocking socket takes), and reads never
// happen (a reader reattaches first).
type detachedFD int

func (fd detachedFD) Control(f func(uintptr)) error { f(uintptr(fd)); return nil }

func (fd detachedFD) Read(func(uintptr) bool) error { return errDetachedRead }

func (fd detachedFD) Write(f func(uintptr) bool) error {
	f(uintptr(fd))
	return nil
}

var errDetachedRead = errors.New("transport: read on a detached socket")

// detachLocked gives up the connection's socket objects for a duplicate
// descriptor, when the connection is open and nothing waits to be written.
// The caller holds w.mu and is the connection's reader, about to park.
func (c *Conn) detachLocked() {
	w := &c.w
	if c.nc == nil || w.flushing || w.q != nil || w.err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.State() != StateOpen {
		return
	}
	var fd int
	var err error
	if cerr := c.rc.Control(func(s uintptr) { fd, err = dupSocket(int(s)) }); cerr != nil || err != nil {
		return // keep the objects: parking works as well with them
	}
	if c.idle.registered.Load() && c.t.loops != nil {
		// The descriptor closed below is in the epoll set (a write took the
		// objects back while parked): its registration would outlive it,
		// the duplicate keeping the socket open.
		c.rc.Control(func(s uintptr) { c.t.loops.of(c).unwatch(int(s)) })
	}
	c.nc.Close()
	c.nc, c.rc = nil, detachedFD(fd)
	c.idle.registered.Store(false)
}

// reattachLocked takes Go's socket objects again for a detached
// connection; the caller holds w.mu. It leaves the poller's epoll set
// (the descriptor it watched is closed) and returns an error only when
// the socket cannot be taken back, which closes the connection.
func (c *Conn) reattachLocked() error {
	if c.nc != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fd, ok := c.rc.(detachedFD)
	if !ok || c.State() == StateClosed {
		return ErrConnClosed
	}
	if c.idle.registered.Load() && c.t.loops != nil {
		c.t.loops.of(c).unwatch(int(fd))
	}
	f := os.NewFile(uintptr(fd), "")
	nc, err := fileConn(f) // a duplicate of fd, in the runtime's poller, its keepalive kept
	f.Close()
	c.rc = nil
	c.idle.registered.Store(false)
	if err != nil {
		return fmt.Errorf("resume a parked connection's socket: %w", err)
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return fmt.Errorf("resume a parked connection's socket: not TCP (%T)", nc)
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		tc.Close()
		return fmt.Errorf("resume a parked connection's socket: %w", err)
	}
	c.nc, c.rc = tc, rc
	if c.idle.parked.Load() && c.t.loops != nil {
		// Still parked (the flusher or a waiting write reattached): the
		// poller watches the new descriptor; failing that, the idle
		// deadline starts a reader.
		if err := c.t.loops.of(c).watch(c); err != nil {
			c.t.opts.logger().Warn("parked connection not watched after its socket was taken back; its idle deadline resumes it", "conn", c.id, "err", err)
		}
	}
	return nil
}

// reattach is reattachLocked for a reader starting on a parked connection.
func (c *Conn) reattach() error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.reattachLocked()
}

// closeDetachedLocked closes a closed connection's detached descriptor;
// the caller holds w.mu.
func (c *Conn) closeDetachedLocked() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fd, ok := c.rc.(detachedFD); ok && c.State() == StateClosed {
		closeSocketFD(int(fd))
		c.rc = nil
	}
}

// closeObjects closes the connection's socket objects for good. Their
// close(2) would be the socket's last, the one that sends the FIN, whose
// TCP work (on loopback the peer's side as well) runs inline for tens of
// microseconds: as a plain system call, which Go's close is, that lets
// the runtime's sysmon thread hand the goroutine's P to another thread and
// poll every 20 µs for a while. So a duplicate takes the last reference:
// Go's close then only drops one, and the duplicate goes with a raw
// close(2). (Without a duplicate, Go's close does it all.)
func (c *Conn) closeObjects() {
	dup := -1
	c.rc.Control(func(fd uintptr) {
		if d, err := dupSocket(int(fd)); err == nil {
			dup = d
		}
	})
	c.nc.Close()
	if dup >= 0 {
		closeSocketFD(dup)
	}
}
