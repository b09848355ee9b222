package hep

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// enableRefusalQueue sets IP_RECVERR (IPV6_RECVERR) on c: each ICMP error
// is then queued with the datagram it reports, for readRefusals.
func enableRefusalQueue(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	level, opt := syscall.IPPROTO_IP, syscall.IP_RECVERR
	if isIPv6(c) {
		level, opt = syscall.IPPROTO_IPV6, syscall.IPV6_RECVERR
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), level, opt, 1)
	}); err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("setsockopt IP_RECVERR: %w", serr)
	}
	return nil
}

// readRefusals empties c's error queue without waiting. It returns how many
// datagrams it reported, their bytes (a HEP packet's own length, since the
// ICMP error may quote it cut short) and the error of the first one.
func readRefusals(c *net.UDPConn, buf, oob []byte) (n, bytes uint64, first error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0, nil
	}
	_ = rc.Control(func(fd uintptr) {
		for {
			m, oobn, _, _, err := syscall.Recvmsg(int(fd), buf, oob, syscall.MSG_ERRQUEUE|syscall.MSG_DONTWAIT)
			if err != nil {
				return // EAGAIN: the queue is empty
			}
			n++
			bytes += uint64(datagramLen(buf[:m]))
			if first == nil {
				first = queuedErrno(oob[:oobn])
			}
		}
	})
	return n, bytes, first
}

// datagramLen is the length of a refused datagram: the HEP length of a
// HEPv3 packet, else what the error quoted.
func datagramLen(b []byte) int {
	if len(b) >= 6 && string(b[:4]) == "HEP3" {
		return int(binary.BigEndian.Uint16(b[4:6]))
	}
	return len(b)
}

// queuedErrno is the errno of an error queue entry's sock_extended_err.
func queuedErrno(oob []byte) error {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return errors.New("refused (no error detail)")
	}
	for _, m := range msgs {
		if (m.Header.Level == syscall.IPPROTO_IP && m.Header.Type == syscall.IP_RECVERR ||
			m.Header.Level == syscall.IPPROTO_IPV6 && m.Header.Type == syscall.IPV6_RECVERR) && len(m.Data) >= 4 {
			return syscall.Errno(binary.NativeEndian.Uint32(m.Data[:4]))
		}
	}
	return errors.New("refused (no error detail)")
}
