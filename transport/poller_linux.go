package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollerBatch bounds the readiness events taken per epoll_wait.
const pollerBatch = 128

// pollerHandoff is how long the poller's goroutine may spend on one
// connection it handles inline (its handler included) before another
// goroutine takes the poller over (counted in Stats.PollerHandoffs), so
// that a handler that blocks holds up its own connection only.
const pollerHandoff = 2 * time.Millisecond

// poller is one event loop (loops.go): it watches parked connections'
// sockets for readability in one epoll set, with one goroutine, which
// handles a connection's bytes itself (resume) or starts a reader, when
// the socket becomes readable or its idle deadline passes (see park.go).
// The epoll data of a socket is its connection id, looked up in the table
// on wake, so that a stale event never reaches another connection.
//
// The goroutine never blocks in a system call of its own: the epoll set is
// itself a descriptor in the runtime's poller (readable when a socket in it
// is ready), taken with a non-blocking, raw epoll_wait, and the earliest
// idle deadline is that descriptor's read deadline. A blocking epoll_wait
// held its P in a system call for as long as the set was quiet: every
// 10 ms the runtime's sysmon took that P back, and each time it went back
// to polling every 20 µs (in tn at 2,000 calls/s, sysmon was 13 % of
// sipwire's CPU).
type poller struct {
	t         *Transport
	epfd      int
	file      *os.File        // epfd, in the runtime's poller
	rc        syscall.RawConn // file's
	deadlines idleDeadlines

	events []syscall.EpollEvent // the leading goroutine's epoll_wait buffer

	mu sync.Mutex
	// gen is the generation of the goroutine leading the poller (run).
	gen uint64
	// batch are the events the last epoll_wait took, handled in order up
	// to taken by whichever goroutine leads.
	batch []syscall.EpollEvent
	taken int
	// busy: the leading goroutine handles a connection.
	busy bool

	stopping atomic.Bool
	stopOnce sync.Once
	done     chan struct{}
}

func newPoller(t *Transport) (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("epoll set non-blocking: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "sipwire-poller")
	rc, err := f.SyscallConn()
	if err == nil {
		// A file the runtime cannot poll refuses deadlines.
		err = f.SetReadDeadline(time.Time{})
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("epoll set in the runtime's poller: %w", err)
	}
	p := &poller{t: t, epfd: epfd, file: f, rc: rc, done: make(chan struct{}), events: make([]syscall.EpollEvent, pollerBatch)}
	go p.run(0)
	return p, nil
}

// watch arms the connection's socket in the set, once (EPOLLONESHOT). The
// caller is the connection's reader, about to leave.
func (p *poller) watch(c *Conn) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT}
	// EpollEvent's Fd and Pad are epoll_data: the 64-bit connection id.
	ev.Fd, ev.Pad = int32(uint32(c.id)), int32(uint32(c.id>>32))
	var err error
	cerr := c.rc.Control(func(fd uintptr) {
		op := syscall.EPOLL_CTL_MOD
		if !c.idle.registered.Load() {
			op = syscall.EPOLL_CTL_ADD
		}
		err = rawEpollCtl(p.epfd, op, int(fd), &ev)
		if err == syscall.EEXIST {
			err = rawEpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		}
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	c.idle.registered.Store(true)
	return nil
}

// unwatch takes a detached descriptor out of the set before it is closed
// (reattachLocked): a registration outlives its descriptor number while a
// duplicate of the socket stays open.
func (p *poller) unwatch(fd int) {
	rawEpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
}

// The system calls of parking (epoll_ctl, the dup, the close of a
// detached descriptor) are raw: none of them blocks, and a plain system
// call lets the runtime hand the goroutine's P to another thread when it
// lasts, which a burst of connections that park turns into OS threads
// that never exit (a burst of 10,000 silent connections left 68-183
// threads where one that pinged left 10).

// rawEpollCtl is epoll_ctl as a raw system call.
func rawEpollCtl(epfd, op, fd int, ev *syscall.EpollEvent) error {
	_, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// dupSocket duplicates a socket's descriptor, close-on-exec.
func dupSocket(fd int) (int, error) {
	nfd, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, fmt.Errorf("dup socket: %w", e)
	}
	return int(nfd), nil
}

// closeSocketFD closes a detached socket's descriptor, a duplicate whose
// close only drops a reference (or, the last one, sends the FIN: it does
// not wait for it).
func closeSocketFD(fd int) { syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0) }

// run is the poller's loop, on the goroutine that leads it (generation
// gen): it takes the set's ready events and hands each connection over,
// handling a parked connection's bytes inline (resume). A handler that
// keeps the goroutine longer than pollerHandoff loses it the lead: the
// watchdog starts another goroutine, which takes the rest of the batch and
// the set, and this one ends once its connection is handled.
func (p *poller) run(gen uint64) {
	watchdog := time.AfterFunc(time.Hour, func() { p.takeOver(gen) })
	watchdog.Stop()
	defer watchdog.Stop()
	var due []idleDeadline
	for {
		if c, ok, lead := p.next(gen); !lead {
			return
		} else if ok {
			watchdog.Reset(pollerHandoff)
			c.resume(true, time.Now())
			continue
		}
		watchdog.Stop()
		p.armDeadline()
		if p.stopping.Load() {
			p.end()
			return
		}
		var (
			n    int
			werr error
		)
		err := p.rc.Read(func(fd uintptr) bool {
			n, werr = rawEpollWait(int(fd), p.events)
			return n > 0 || werr != nil // else wait for readiness, or the deadline
		})
		if p.stopping.Load() {
			p.end()
			return
		}
		if err == nil {
			err = werr
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			p.t.opts.logger().Error("epoll_wait failed; parked connections wait for traffic with no idle bound", "err", err)
			p.end()
			return
		}
		p.mu.Lock()
		p.batch, p.taken = p.events[:n], 0
		p.mu.Unlock()
		now := time.Now()
		due = p.deadlines.popDue(now.UnixNano(), due[:0], p.popped)
		for _, e := range due {
			c := p.t.Conn(e.id)
			if c == nil || !c.idle.parked.Load() {
				continue
			}
			if at := c.idle.deadline.Load(); at > now.UnixNano() {
				p.schedule(c, at) // traffic since the entry was pushed
				continue
			}
			if c.unpark() {
				c.resume(false, now)
			}
		}
	}
}

// next takes the batch's next connection that the poller wins for the
// goroutine of generation gen, and marks it busy with it; lead is false
// once another goroutine leads the poller, ok false when the batch is
// spent.
func (p *poller) next(gen uint64) (c *Conn, ok, lead bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gen != gen {
		return nil, false, false
	}
	for p.taken < len(p.batch) {
		ev := p.batch[p.taken]
		p.taken++
		id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		if c := p.t.Conn(id); c != nil && c.unpark() {
			p.busy = true
			return c, true, true
		}
	}
	p.busy = false
	return nil, false, true
}

// takeOver starts a goroutine to lead the poller in place of the one of
// generation gen, still busy with one connection after pollerHandoff;
// also when the poller is stopping, for the new one to end it (a handler
// that calls Shutdown would otherwise wait for its own goroutine).
func (p *poller) takeOver(gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gen != gen || !p.busy {
		return
	}
	p.gen++
	p.busy = false
	p.t.stats.pollerHandoffs.Add(1)
	go p.run(p.gen)
}

// end is the leading goroutine's last act: it closes the set.
func (p *poller) end() {
	p.file.Close()
	close(p.done)
}

// rawEpollWait takes the set's ready events without waiting, as a raw
// system call.
func rawEpollWait(epfd int, events []syscall.EpollEvent) (int, error) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}

// armDeadline makes the earliest idle deadline the set's read deadline
// (none without one). schedule may push an earlier one meanwhile and set
// it: the earliest is read again after setting, so that the later of the
// two settings is never the stale one.
func (p *poller) armDeadline() {
	for {
		at, ok := p.deadlines.earliest()
		d := time.Time{}
		if ok {
			d = time.Unix(0, at)
		}
		p.file.SetReadDeadline(d)
		if again, ok2 := p.deadlines.earliest(); again == at && ok2 == ok {
			return
		}
	}
}

// schedule records a parked connection's idle deadline at, unless the
// heap holds an entry for it already (for at or an earlier deadline: run
// pushes it again when it comes up), waking the loop when it is earlier
// than the one the loop sleeps until, and drops the entries of
// connections no longer parked when they pile up. A connection that
// parks and resumes at every message thus costs one entry per
// tcp_connection_lifetime, not one per message.
func (p *poller) schedule(c *Conn, at int64) {
	if p.deadlines.pushOnce(idleDeadline{at: at, id: c.id}, &c.idle.queued) {
		p.file.SetReadDeadline(time.Unix(0, at))
	}
	p.deadlines.compact(int(p.t.parkedNow.Load()), p.current)
}

// popped clears the queued flag of a connection whose entry the heap gave
// up; the caller holds the heap's lock.
func (p *poller) popped(e idleDeadline) {
	if c := p.t.Conn(e.id); c != nil {
		c.idle.queued = false
	}
}

// current reports whether an entry stays in the heap at compaction: its
// connection is still parked. The caller holds the heap's lock.
func (p *poller) current(e idleDeadline) bool {
	c := p.t.Conn(e.id)
	if c == nil {
		return false
	}
	if !c.idle.parked.Load() {
		c.idle.queued = false
		return false
	}
	return true
}

// stop ends the poller's goroutine, which closes the set.
func (p *poller) stop() {
	p.stopOnce.Do(func() {
		p.stopping.Store(true)
		p.file.SetReadDeadline(time.Unix(1, 0))
		<-p.done
	})
}

// startPoller starts the poller; without it (an error is logged)
// connections keep their readers.
func startPoller(t *Transport, log *slog.Logger) *poller {
	p, err := newPoller(t)
	if err != nil {
		log.Error("no event loop for idle connections: they keep their readers", "err", err)
		return nil
	}
	return p
}
