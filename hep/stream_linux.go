package hep

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// streamWriter returns how a worker writes to c: on a TCP connection, raw
// write system calls inside its RawConn.Write, which unlike plain ones do
// not wake the runtime's sysmon thread (once woken it polls every 20 µs for
// a while); a full socket buffer (EAGAIN) waits in the runtime's poller,
// within the write deadline, as conn.Write does. TLS writes through its
// net.Conn.
func streamWriter(c net.Conn) func([]byte) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return func(b []byte) error { _, err := c.Write(b); return err }
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return func(b []byte) error { _, err := c.Write(b); return err }
	}
	return func(b []byte) error {
		var errno syscall.Errno
		err := rc.Write(func(fd uintptr) bool {
			for len(b) > 0 {
				n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
				switch e {
				case 0:
					b = b[n:]
				case syscall.EINTR:
				case syscall.EAGAIN:
					return false
				default:
					errno = e
					return true
				}
			}
			return true
		})
		if err != nil {
			return err
		}
		if errno != 0 {
			return os.NewSyscallError("write", errno)
		}
		return nil
	}
}
