package transport

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollerBatch bounds the readiness events taken per epoll_wait.
const pollerBatch = 128

// poller watches parked connections' sockets for readability in one epoll
// set, with one goroutine, and starts a reader for each that becomes
// readable or whose idle deadline passes (see park.go). The epoll data of a
// socket is its connection id, looked up in the table on wake, so that a
// stale event never reaches another connection.
type poller struct {
	t         *Transport
	epfd      int
	wake      [2]int // a pipe whose read end is in the set: written to wake the loop
	deadlines idleDeadlines

	stopping atomic.Bool
	stopOnce sync.Once
	done     chan struct{}
}

func newPoller(t *Transport) (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	p := &poller{t: t, epfd: epfd, done: make(chan struct{})}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: -1, Pad: -1} // no connection has id 2^64-1
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("epoll_ctl wake pipe: %w", err)
	}
	go p.run()
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

func (p *poller) run() {
	defer close(p.done)
	defer p.closeFDs()
	events := make([]syscall.EpollEvent, pollerBatch)
	var due []idleDeadline
	for {
		n, err := syscall.EpollWait(p.epfd, events, p.timeout(time.Now()))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			p.t.opts.logger().Error("epoll_wait failed; parked connections wait for traffic with no idle bound", "err", err)
			return
		}
		now := time.Now()
		for _, ev := range events[:n] {
			if ev.Fd == -1 && ev.Pad == -1 {
				p.drainWake()
				if p.stopping.Load() {
					return
				}
				continue
			}
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if c := p.t.Conn(id); c != nil && c.unpark() {
				c.resume(true, now)
			}
		}
		due = p.deadlines.popDue(now.UnixNano(), due[:0])
		for _, e := range due {
			if c := p.t.Conn(e.id); c != nil && c.idle.deadline.Load() == e.at && c.unpark() {
				c.resume(false, now)
			}
		}
	}
}

// timeout is epoll_wait's timeout: the milliseconds until the earliest idle
// deadline, rounded up, or -1 (none).
func (p *poller) timeout(now time.Time) int {
	at, ok := p.deadlines.earliest()
	if !ok {
		return -1
	}
	wait := time.Duration(at - now.UnixNano())
	if wait <= 0 {
		return 0
	}
	return int(min((wait+time.Millisecond-1)/time.Millisecond, math.MaxInt32))
}

// schedule records a parked connection's idle deadline, waking the loop
// when it is earlier than the one the loop sleeps until, and drops stale
// deadlines when they pile up.
func (p *poller) schedule(id uint64, at int64) {
	if p.deadlines.push(idleDeadline{at: at, id: id}) {
		p.wakeUp()
	}
	p.deadlines.compact(int(p.t.parkedNow.Load()), func(e idleDeadline) bool {
		c := p.t.Conn(e.id)
		return c != nil && c.idle.parked.Load() && c.idle.deadline.Load() == e.at
	})
}

func (p *poller) wakeUp() { syscall.Write(p.wake[1], []byte{0}) }

func (p *poller) drainWake() {
	var b [64]byte
	for {
		if n, _ := syscall.Read(p.wake[0], b[:]); n < len(b) {
			return
		}
	}
}

// stop ends the poller's goroutine and closes its descriptors.
func (p *poller) stop() {
	p.stopOnce.Do(func() {
		p.stopping.Store(true)
		p.wakeUp()
		<-p.done
	})
}

func (p *poller) closeFDs() {
	syscall.Close(p.epfd)
	syscall.Close(p.wake[0])
	syscall.Close(p.wake[1])
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
