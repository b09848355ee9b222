package hep

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
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
// datagrams it reported and their bytes, as count says for each entry
// given the start of the datagram it quotes (for a lone datagram: one, and
// a HEP packet's own length, since the ICMP error may quote it cut short),
// and the error of the first one. The reads are raw system calls, as
// rawBatchWriter's sends: the worker reads the queue after every send, and
// an empty queue answers at once.
func readRefusals(c *net.UDPConn, buf, oob []byte, count func(quote []byte) (pkts, bytes uint64)) (n, bytes uint64, first error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0, nil
	}
	_ = rc.Control(func(fd uintptr) {
		for {
			m, oobn, errno := recvErrQueue(fd, buf, oob)
			if errno == syscall.EINTR {
				continue
			}
			if errno != 0 {
				return // EAGAIN: the queue is empty
			}
			p, b := count(buf[:m])
			n += p
			bytes += b
			if first == nil {
				first = queuedErrno(oob[:oobn])
			}
		}
	})
	return n, bytes, first
}

// recvErrQueue reads one entry of fd's error queue into buf (the datagram,
// cut to len(buf)) and oob (its control message), without waiting.
func recvErrQueue(fd uintptr, buf, oob []byte) (n, oobn int, errno syscall.Errno) {
	iov := unix.Iovec{Base: unsafe.SliceData(buf)}
	iov.SetLen(len(buf))
	var h unix.Msghdr
	h.Iov = &iov
	h.SetIovlen(1)
	h.Control = unsafe.SliceData(oob)
	h.SetControllen(len(oob))
	r, _, e := syscall.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&h)), unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if e != 0 {
		return 0, 0, e
	}
	return min(int(r), len(buf)), int(h.Controllen), 0
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

// rawBatchWriter sends a batch of datagrams with one sendmmsg, made as a
// raw system call inside the socket's RawConn.Write: unlike a plain system
// call it does not wake the runtime's sysmon thread, which, once woken,
// polls every 20 µs for a while (the transport's SIP writes are raw for
// the same reason). A full send buffer (EAGAIN) waits in the runtime's
// poller, as any write on the socket does.
type rawBatchWriter struct {
	rc   syscall.RawConn
	hdrs []unix.Mmsghdr
	iovs []unix.Iovec
}

func newBatchWriter(c *net.UDPConn) (batchWriter, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("raw socket: %w", err)
	}
	return &rawBatchWriter{rc: rc}, nil
}

// WriteBatch sends ms (one buffer each, on the connected socket) and
// returns how many datagrams the kernel took: sendmmsg stops at the first
// that fails, and reports the error only when it is the first.
func (w *rawBatchWriter) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	if cap(w.hdrs) < len(ms) {
		w.hdrs = make([]unix.Mmsghdr, len(ms))
		w.iovs = make([]unix.Iovec, len(ms))
	}
	hdrs, iovs := w.hdrs[:len(ms)], w.iovs[:len(ms)]
	for i := range ms {
		b := ms[i].Buffers[0]
		iovs[i] = unix.Iovec{}
		if len(b) > 0 {
			iovs[i].Base = unsafe.SliceData(b)
		}
		iovs[i].SetLen(len(b))
		hdrs[i] = unix.Mmsghdr{}
		hdrs[i].Hdr.Iov = &iovs[i]
		hdrs[i].Hdr.SetIovlen(1)
		if oob := ms[i].OOB; len(oob) > 0 {
			hdrs[i].Hdr.Control = unsafe.SliceData(oob)
			hdrs[i].Hdr.SetControllen(len(oob))
		}
	}
	var (
		n     int
		errno syscall.Errno
	)
	err := w.rc.Write(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), 0, 0, 0)
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			n, errno = int(r), e
			return true
		}
	})
	clear(iovs) // the batch's buffers go back to their run
	clear(hdrs)
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, os.NewSyscallError("sendmmsg", errno)
	}
	return n, nil
}

// segmentControlLen is the size of a UDP_SEGMENT control message.
func segmentControlLen() int { return unix.CmsgSpace(2) }

// putSegmentControl writes into b (segmentControlLen bytes, 8-byte
// aligned) the control message that has the kernel cut a send into
// datagrams of seg bytes (UDP generic segmentation offload), and returns it.
func putSegmentControl(b []byte, seg int) []byte {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(seg))
	return b[:unix.CmsgSpace(2)]
}

// maxSegment is the largest datagram payload that c's path carries
// unfragmented (its MTU less the IP and UDP headers): the largest segment
// of a train (Linux refuses larger ones). An error (the MTU cannot be read)
// means no trains.
func maxSegment(c *net.UDPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("path MTU: %w", err)
	}
	level, opt, name, headers := syscall.IPPROTO_IP, unix.IP_MTU, "IP_MTU", 20+8
	if isIPv6(c) {
		level, opt, name, headers = syscall.IPPROTO_IPV6, unix.IPV6_MTU, "IPV6_MTU", 40+8
	}
	var (
		mtu  int
		merr error
	)
	if err := rc.Control(func(fd uintptr) { mtu, merr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil {
		return 0, fmt.Errorf("path MTU: %w", err)
	}
	if merr != nil {
		return 0, fmt.Errorf("path MTU: getsockopt %s: %w", name, merr)
	}
	return min(max(mtu-headers, 0), MaxDatagramLen), nil
}
