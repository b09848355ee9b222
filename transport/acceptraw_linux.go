package transport

import (
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Accepting detached: on Linux, with parking on, a listener's connections
// are accepted with a raw accept4(2) on a pollable duplicate of the
// listening socket and start parked and detached (detach.go): no
// net.TCPConn, no reader goroutine until their first bytes, which the
// poller hands to a reader that reads the descriptor itself
// (readDetached). Go's Accept made four plain system calls a connection
// (accept4, getsockname, setsockopt TCP_NODELAY, and the close, later), each
// of which wakes the runtime's sysmon thread from its sleep into polling
// every 20 µs; and the connection's first reader parked, detached and was
// resumed for most SIP exchanges anyway (a call's requests are tens of ms
// apart). Here every system call of a connection's life is raw.

// rawListener is a listener whose connections are accepted raw: the
// listening socket, and the duplicate of it in the runtime's poller that
// accept waits on.
type rawListener struct {
	*net.TCPListener
	file   *os.File
	rc     syscall.RawConn
	closed atomic.Bool
}

// rawListen makes l a rawListener, or returns nil when its socket cannot be
// duplicated into the runtime's poller (l is then served by Accept).
func rawListen(l *net.TCPListener) *rawListener {
	f, err := l.File() // a duplicate, non-blocking, in the runtime's poller
	if err != nil {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	return &rawListener{TCPListener: l, file: f, rc: rc}
}

// Close closes the listening socket and its duplicate, which ends a
// waiting accept.
func (l *rawListener) Close() error {
	l.closed.Store(true)
	err := l.TCPListener.Close()
	l.file.Close()
	return err
}

// accept waits for a connection and accepts it: a non-blocking,
// close-on-exec descriptor and the two addresses. Once the listener is
// closed it returns net.ErrClosed (the duplicate's wait ends with the
// poller's own "use of closed file").
func (l *rawListener) accept() (fd int, remote, local netip.AddrPort, err error) {
	var errno syscall.Errno
	rerr := l.rc.Read(func(s uintptr) bool {
		fd, remote, errno = rawAccept4(s)
		return errno != syscall.EAGAIN
	})
	if rerr != nil {
		if l.closed.Load() {
			rerr = net.ErrClosed
		}
		return -1, remote, local, rerr
	}
	if errno != 0 {
		return -1, remote, local, os.NewSyscallError("accept4", errno)
	}
	if local, errno = rawSockname(fd); errno != 0 {
		closeSocketFD(fd)
		return -1, remote, local, os.NewSyscallError("getsockname", errno)
	}
	// Go sets TCP_NODELAY on every connection it accepts; so do we.
	if err := setsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		closeSocketFD(fd)
		return -1, remote, local, os.NewSyscallError("setsockopt TCP_NODELAY", err)
	}
	return fd, remote, local, nil
}

func rawAccept4(s uintptr) (int, netip.AddrPort, syscall.Errno) {
	var sa syscall.RawSockaddrAny
	n := uint32(syscall.SizeofSockaddrAny)
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, s, uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)),
			syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
			return int(r), sockaddrAddrPort(&sa), 0
		case syscall.EINTR, syscall.ECONNABORTED:
			continue // as Go's accept: a connection reset before it was taken
		}
		return -1, netip.AddrPort{}, e
	}
}

func rawSockname(fd int) (netip.AddrPort, syscall.Errno) {
	var sa syscall.RawSockaddrAny
	n := uint32(syscall.SizeofSockaddrAny)
	_, _, e := syscall.RawSyscall(syscall.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return netip.AddrPort{}, e
	}
	return sockaddrAddrPort(&sa), 0
}

// sockaddrAddrPort is an IPv4 or IPv6 socket address as an AddrPort, an
// IPv4-mapped address unmapped (as the rest of the transport has them).
func sockaddrAddrPort(sa *syscall.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case syscall.AF_INET:
		a := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(p[0])<<8|uint16(p[1]))
	case syscall.AF_INET6:
		a := (*syscall.RawSockaddrInet6)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// closeRefused closes an accepted socket that is refused, with a reset
// (SO_LINGER 0), as Accept's refusal does.
func closeRefused(fd int) {
	l := syscall.Linger{Onoff: 1, Linger: 0}
	syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
	closeSocketFD(fd)
}
