package transport

import (
	"errors"
	"strconv"
	"time"
)

// TCPInfo is the kernel's view of one connection at one moment: what
// getsockopt(TCP_INFO) reports (as `ss -ti` shows it) and the socket's
// queues (the SIOCOUTQ and SIOCINQ ioctls). It is read at the moments that
// matter, never per message: into the EventClosed of a connection and the
// error event raised with it (a write that failed, timed out or overflowed
// the queue), on demand (Conn.TCPInfo), and by the periodic sampler when
// Options.TCPInfoInterval is set (ConnSnapshot.TCP).
//
// A TCPInfo is not changed once an Event carries it: observers share it.
// Durations are in microseconds (RTT) or milliseconds (the "last" times),
// as the kernel keeps them. Its JSON keys are those of Fields.
type TCPInfo struct {
	// At is when the figures were read, to the microsecond.
	At time.Time `json:"at"`
	// State is the TCP state (tcpi_state): "established", "close-wait"...
	State TCPState `json:"state"`
	// RTT and RTTVar are the smoothed round-trip time and its mean
	// deviation, in microseconds (tcpi_rtt, tcpi_rttvar).
	RTT    uint32 `json:"rtt_us"`
	RTTVar uint32 `json:"rttvar_us"`
	// Retransmits is the number of consecutive retransmission timeouts of
	// the segment now at the head of the send queue (tcpi_retransmits):
	// above zero, the peer has stopped acknowledging.
	Retransmits uint32 `json:"retransmits"`
	// TotalRetrans is every segment retransmitted over the connection's
	// life (tcpi_total_retrans).
	TotalRetrans uint32 `json:"total_retrans"`
	// Lost and Unacked are segments presumed lost and segments sent but not
	// acknowledged (tcpi_lost, tcpi_unacked).
	Lost    uint32 `json:"lost"`
	Unacked uint32 `json:"unacked"`
	// Cwnd is the congestion window, in segments (tcpi_snd_cwnd).
	Cwnd uint32 `json:"cwnd"`
	// SendQueue is the bytes written but not acknowledged by the peer
	// (SIOCOUTQ); NotSent is the part of them not sent yet
	// (tcpi_notsent_bytes). A send queue that grows is a peer that does not
	// read.
	SendQueue uint32 `json:"send_queue"`
	NotSent   uint32 `json:"notsent"`
	// RecvQueue is the bytes received but not read by sipwire yet
	// (SIOCINQ).
	RecvQueue uint32 `json:"recv_queue"`
	// SendWindow is the window the peer advertises, in bytes (tcpi_snd_wnd;
	// zero before Linux 6.2 too): zero with a send queue is a peer whose
	// receive buffer is full.
	SendWindow uint32 `json:"snd_wnd"`
	// LastSend and LastRecv are the milliseconds since data was last sent
	// and received (tcpi_last_data_sent, tcpi_last_data_recv).
	LastSend uint32 `json:"last_send_ms"`
	LastRecv uint32 `json:"last_recv_ms"`
	// Probes is the number of unanswered zero-window probes (or keepalive
	// probes) (tcpi_probes); Backoff the exponential backoff of the
	// retransmission or probe timer (tcpi_backoff).
	Probes  uint32 `json:"probes"`
	Backoff uint32 `json:"backoff"`
}

// Thresholds of TCPInfo.Concern.
const (
	// SlowSendQueueBytes: a send queue at least this long is a slow reader.
	SlowSendQueueBytes = 64 << 10
	// SlowRTT: a smoothed RTT at least this long, in microseconds.
	SlowRTT = 200_000
)

// Concern names what the figures say is wrong with the peer, for the
// dashboard's highlight, or "" when nothing is: "window closed" (the peer
// advertises a zero window, or zero-window probes go unanswered),
// "retransmitting" (retransmission timeouts on the head segment), "send
// queue" (at least SlowSendQueueBytes unacknowledged), "slow rtt" (RTT at
// least SlowRTT), "lost" (segments presumed lost).
func (ti *TCPInfo) Concern() string {
	switch {
	case ti == nil:
		return ""
	case ti.Probes > 0 || (ti.SendWindow == 0 && ti.SendQueue > 0 && ti.State == TCPEstablished):
		return "window closed"
	case ti.Retransmits > 0:
		return "retransmitting"
	case ti.SendQueue >= SlowSendQueueBytes:
		return "send queue"
	case ti.RTT >= SlowRTT:
		return "slow rtt"
	case ti.Lost > 0:
		return "lost"
	}
	return ""
}

// TCPInfoField is one figure of a TCPInfo under its key.
type TCPInfoField struct {
	Key   string
	Value uint64
}

// NumTCPInfoFields is the number of figures Fields returns.
const NumTCPInfoFields = 15

// TCPInfoKeys are the keys of Fields, in its order. The HEP payload, the
// OpenTelemetry attributes (under "sipwire.tcp."), the history and the
// JSON of a TCPInfo all name the figures so.
var TCPInfoKeys = [NumTCPInfoFields]string{
	"rtt_us", "rttvar_us", "retransmits", "total_retrans", "lost", "unacked", "cwnd",
	"send_queue", "notsent", "recv_queue", "snd_wnd", "last_send_ms", "last_recv_ms", "probes",
	"backoff",
}

// Fields returns the numeric figures under their keys (TCPInfoKeys), for
// encoders that write each one; the state is apart (State).
func (ti *TCPInfo) Fields() [NumTCPInfoFields]TCPInfoField {
	v := [NumTCPInfoFields]uint32{
		ti.RTT, ti.RTTVar, ti.Retransmits, ti.TotalRetrans, ti.Lost, ti.Unacked, ti.Cwnd,
		ti.SendQueue, ti.NotSent, ti.RecvQueue, ti.SendWindow, ti.LastSend, ti.LastRecv, ti.Probes,
		ti.Backoff,
	}
	var f [NumTCPInfoFields]TCPInfoField
	for i := range f {
		f[i] = TCPInfoField{Key: TCPInfoKeys[i], Value: uint64(v[i])}
	}
	return f
}

// TCPState is a TCP state as the kernel numbers it (include/net/tcp_states.h).
type TCPState uint8

// The TCP states.
const (
	TCPEstablished TCPState = iota + 1
	TCPSynSent
	TCPSynRecv
	TCPFinWait1
	TCPFinWait2
	TCPTimeWait
	TCPClose
	TCPCloseWait
	TCPLastAck
	TCPListen
	TCPClosing
)

var tcpStateNames = [...]string{
	TCPEstablished: "established",
	TCPSynSent:     "syn-sent",
	TCPSynRecv:     "syn-recv",
	TCPFinWait1:    "fin-wait-1",
	TCPFinWait2:    "fin-wait-2",
	TCPTimeWait:    "time-wait",
	TCPClose:       "close",
	TCPCloseWait:   "close-wait",
	TCPLastAck:     "last-ack",
	TCPListen:      "listen",
	TCPClosing:     "closing",
}

// String returns the state's name as ss(8) writes it, or "state(N)".
func (s TCPState) String() string {
	if int(s) < len(tcpStateNames) && tcpStateNames[s] != "" {
		return tcpStateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the state's name.
func (s TCPState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *TCPState) UnmarshalText(b []byte) error {
	for i, n := range tcpStateNames {
		if n != "" && n == string(b) {
			*s = TCPState(i)
			return nil
		}
	}
	return errors.New("transport: unknown TCP state " + strconv.Quote(string(b)))
}

// ErrNoTCPInfo: the connection has no socket to ask (connecting, closed),
// or the platform has no TCP_INFO.
var ErrNoTCPInfo = errors.New("transport: no TCP_INFO for this connection")

// TCPInfo reads the kernel's figures of the connection now. It fails with
// ErrNoTCPInfo for a connection that is not open; ConnSnapshot.TCP and the
// connection's EventClosed keep the last figures read.
func (c *Conn) TCPInfo() (*TCPInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.State(); st != StateOpen && st != StateDraining {
		return nil, ErrNoTCPInfo
	}
	return c.readTCPInfoLocked()
}

// ConnTCPInfo reads the kernel's figures of the open connection with the
// given id now (Conn.TCPInfo); ErrNoTCPInfo when there is none.
func (t *Transport) ConnTCPInfo(id uint64) (*TCPInfo, error) {
	c := t.Conn(id)
	if c == nil {
		return nil, ErrNoTCPInfo
	}
	return c.TCPInfo()
}

// readTCPInfoLocked reads the figures and keeps them as the connection's
// last. The caller holds c.mu, so the socket is not closed under it.
func (c *Conn) readTCPInfoLocked() (*TCPInfo, error) {
	if c.rc == nil {
		return nil, ErrNoTCPInfo
	}
	ti, err := readTCPInfo(c.rc)
	if err != nil {
		c.t.stats.tcpInfoErrors.Add(1)
		return nil, err
	}
	c.t.stats.tcpInfoReads.Add(1)
	c.tcp.Store(ti)
	return ti, nil
}

// lastTCPInfo is the last figures read of the connection, or nil.
func (c *Conn) lastTCPInfo() *TCPInfo { return c.tcp.Load() }
