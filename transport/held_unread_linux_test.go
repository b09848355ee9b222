package transport

import (
	"net"

	"golang.org/x/sys/unix"
)

// unread is the number of bytes waiting in c's receive queue (SIOCINQ),
// -1 when it cannot be read.
func unread(c net.Conn) int {
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	rc.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil {
			n = v
		}
	})
	return n
}
