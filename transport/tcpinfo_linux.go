package transport

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readTCPInfo asks the kernel for the socket's TCP_INFO and its queues:
// three system calls, through the RawConn's Control so that the descriptor
// cannot be closed under them. They are raw system calls (none of them
// blocks): a plain one wakes the runtime's sysmon thread when the process
// was idle (see rawWrite), and every connection's close reads them.
func readTCPInfo(rc syscall.RawConn) (*TCPInfo, error) {
	var (
		ki        *unix.TCPInfo
		outq, inq int
		kerr      error
	)
	err := rc.Control(func(fd uintptr) {
		ki, kerr = rawTCPInfo(fd)
		if kerr != nil {
			return
		}
		// The queues are best effort: a socket in LISTEN refuses them.
		outq, _ = rawIoctlInt(fd, unix.SIOCOUTQ)
		inq, _ = rawIoctlInt(fd, unix.SIOCINQ)
	})
	if err == nil {
		err = kerr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: getsockopt: %w", ErrNoTCPInfo, err)
	}
	return &TCPInfo{
		At:           time.Now().Truncate(time.Microsecond),
		State:        TCPState(ki.State),
		RTT:          ki.Rtt,
		RTTVar:       ki.Rttvar,
		Retransmits:  uint32(ki.Retransmits),
		TotalRetrans: ki.Total_retrans,
		Lost:         ki.Lost,
		Unacked:      ki.Unacked,
		Cwnd:         ki.Snd_cwnd,
		SendQueue:    uint32(max(outq, 0)),
		NotSent:      ki.Notsent_bytes,
		RecvQueue:    uint32(max(inq, 0)),
		SendWindow:   ki.Snd_wnd,
		LastSend:     ki.Last_data_sent,
		LastRecv:     ki.Last_data_recv,
		Probes:       uint32(ki.Probes),
		Backoff:      uint32(ki.Backoff),
	}, nil
}

// rawTCPInfo is getsockopt(TCP_INFO) as a raw system call.
func rawTCPInfo(fd uintptr) (*unix.TCPInfo, error) {
	ki := new(unix.TCPInfo)
	l := uint32(unsafe.Sizeof(*ki))
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, fd, unix.IPPROTO_TCP, unix.TCP_INFO, uintptr(unsafe.Pointer(ki)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return nil, e
	}
	return ki, nil
}

// rawIoctlInt is an ioctl that reads an int, as a raw system call.
func rawIoctlInt(fd uintptr, req uint) (int, error) {
	var v int32
	_, _, e := syscall.RawSyscall(syscall.SYS_IOCTL, fd, uintptr(req), uintptr(unsafe.Pointer(&v)))
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}
