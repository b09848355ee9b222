package transport

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// On Linux a connection accepted from a listening socket is a copy of it:
// SO_KEEPALIVE and the TCP_KEEP* settings come with it (tcp_keepalive_test
// reads them back from accepted connections). The settings are therefore
// set once on the listener, and accepted connections cost no system call
// for them.

func (k keepAlive) listenConfig() net.ListenConfig {
	return net.ListenConfig{KeepAlive: -1, Control: k.control}
}

func (k keepAlive) dialer(local net.Addr) net.Dialer {
	return net.Dialer{LocalAddr: local, KeepAlive: -1, Control: k.control}
}

// set sets SO_KEEPALIVE and the configured TCP_KEEP* settings on fd.
func (k keepAlive) set(fd int) error {
	on := 0
	if k.on {
		on = 1
	}
	if err := setsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, on); err != nil {
		return fmt.Errorf("setsockopt SO_KEEPALIVE: %w", err)
	}
	for _, o := range []struct {
		name string
		opt  int
		v    int
	}{
		{"TCP_KEEPIDLE", syscall.TCP_KEEPIDLE, k.idle},
		{"TCP_KEEPINTVL", syscall.TCP_KEEPINTVL, k.interval},
		{"TCP_KEEPCNT", syscall.TCP_KEEPCNT, k.count},
	} {
		if o.v == 0 {
			continue
		}
		if err := setsockoptInt(fd, syscall.IPPROTO_TCP, o.opt, o.v); err != nil {
			return fmt.Errorf("setsockopt %s %d: %w", o.name, o.v, err)
		}
	}
	return nil
}

// socketKeepAlive is a socket's keepalive as the kernel applies it.
type socketKeepAlive struct {
	on                    bool
	idle, interval, count int
}

// readKeepAlive reads fd's keepalive settings; a TCP_KEEP* setting never
// set reads as the system's value.
func readKeepAlive(fd int) (socketKeepAlive, error) {
	var s socketKeepAlive
	on, err := getsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	if err != nil {
		return s, fmt.Errorf("getsockopt SO_KEEPALIVE: %w", err)
	}
	s.on = on != 0
	if s.idle, err = getsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE); err != nil {
		return s, fmt.Errorf("getsockopt TCP_KEEPIDLE: %w", err)
	}
	if s.interval, err = getsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL); err != nil {
		return s, fmt.Errorf("getsockopt TCP_KEEPINTVL: %w", err)
	}
	if s.count, err = getsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT); err != nil {
		return s, fmt.Errorf("getsockopt TCP_KEEPCNT: %w", err)
	}
	return s, nil
}

// fileConn is net.FileConn for a detached socket (reattachLocked),
// keeping the socket's keepalive: net.FileConn sets Go's default on it.
func fileConn(f *os.File) (net.Conn, error) {
	frc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var ka socketKeepAlive
	var kerr error
	if err := frc.Control(func(fd uintptr) { ka, kerr = readKeepAlive(int(fd)) }); err != nil {
		return nil, err
	}
	if kerr != nil {
		return nil, kerr
	}
	nc, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc, nil
	}
	rc, err := tc.SyscallConn()
	if err == nil {
		err = ka.restore(rc)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

// restore sets s on rc's socket: net.FileConn has just set Go's default
// keepalive on it (on, 15 s, 15 s, 9).
func (s socketKeepAlive) restore(rc syscall.RawConn) error {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		on := 0
		if s.on {
			on = 1
		}
		if err = setsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, on); err != nil {
			return
		}
		if err = setsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, s.idle); err != nil {
			return
		}
		if err = setsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, s.interval); err != nil {
			return
		}
		err = setsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, s.count)
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("restore keepalive: %w", err)
	}
	return nil
}

// setsockoptInt and getsockoptInt are raw system calls: they never block,
// and a plain system call would wake the runtime's sysmon thread (see
// rawWrite).
func setsockoptInt(fd, level, opt, v int) error {
	v32 := int32(v)
	_, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v32)), 4, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getsockoptInt(fd, level, opt int) (int, error) {
	var v int32
	l := uint32(4)
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}
