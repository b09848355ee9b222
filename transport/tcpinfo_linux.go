package transport

import (
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// readTCPInfo asks the kernel for the socket's TCP_INFO and its queues:
// three system calls, through the RawConn's Control so that the descriptor
// cannot be closed under them.
func readTCPInfo(rc syscall.RawConn) (*TCPInfo, error) {
	var (
		ki        *unix.TCPInfo
		outq, inq int
		kerr      error
	)
	err := rc.Control(func(fd uintptr) {
		ki, kerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if kerr != nil {
			return
		}
		// The queues are best effort: a socket in LISTEN refuses them.
		outq, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
		inq, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
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
