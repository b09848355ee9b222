package hep

import (
	"sync/atomic"
	"time"
)

// Drops counts the packets a destination lost, by reason.
type Drops struct {
	// QueueFull: the destination's queue (packets or bytes) was full.
	QueueFull uint64 `json:"queue_full"`
	// SendError: writing to the collector failed.
	SendError uint64 `json:"send_error"`
	// NotConnected: the collector could not be reached (TCP/TLS connect
	// failed, or the tracer was closing).
	NotConnected uint64 `json:"not_connected"`
	// TooLarge: the packet did not fit HEP's 16-bit length (or, over UDP,
	// one datagram).
	TooLarge uint64 `json:"too_large"`
}

// Total returns the sum of every reason.
func (d Drops) Total() uint64 { return d.QueueFull + d.SendError + d.NotConnected + d.TooLarge }

// DestinationStats is a snapshot of one destination's counters, for the
// dashboard and /metrics.
type DestinationStats struct {
	Name      string `json:"name"`
	Address   string `json:"address"`
	Transport string `json:"transport"`
	// State says whether the collector takes packets, since when, and why
	// not.
	State DestinationState `json:"state"`
	// Connected: a TCP/TLS connection is open; for UDP, the sockets exist
	// and the destination is up.
	Connected bool `json:"connected"`
	// PacketsSent and BytesSent count what the collector was handed: for
	// UDP, datagrams the kernel sent and the collector did not refuse (a
	// datagram an ICMP error later reports as refused moves to
	// Drops.SendError).
	// BytesSent counts bytes as on the wire: with UDP trains, padding
	// included.
	PacketsSent uint64 `json:"packets_sent"`
	BytesSent   uint64 `json:"bytes_sent"`
	// Trains counts the UDP sends that carried datagrams as a train (one
	// buffer the kernel cuts into equal segments, Config.DisableUDPGSO),
	// and PadBytes the padding their shorter packets took to the
	// segment's size: the bytes trains add to the collector's traffic.
	Trains   uint64 `json:"udp_trains"`
	PadBytes uint64 `json:"pad_bytes"`
	Drops    Drops  `json:"drops"`
	// Reconnects counts connections established after the first one.
	Reconnects uint64 `json:"reconnects"`
	// ConnectFailures counts failed connect attempts.
	ConnectFailures uint64 `json:"connect_failures"`
	// Workers is the number of sending goroutines, each with its own
	// socket (Config.UDPWorkers for UDP, 1 for TCP and TLS).
	Workers int `json:"workers"`
	// QueueLen and QueueBytes are what waits in the workers' queues
	// together (the room reserved for it); QueueCap and QueueBytesCap
	// bound them (Config.QueueSize and QueueBytes), for the destination as
	// a whole.
	QueueLen      int   `json:"queue_len"`
	QueueCap      int   `json:"queue_cap"`
	QueueBytes    int64 `json:"queue_bytes"`
	QueueBytesCap int64 `json:"queue_bytes_cap"`
}

// DestinationState is whether a destination's collector takes packets, as
// far as its sender can tell, for /api/v1/stats and /metrics. A destination
// starts up (nothing has failed yet) and goes down at the first failure:
// a TCP/TLS connect or write that fails, a connection the collector
// closes, a UDP datagram it refuses (an ICMP port unreachable reported on
// the connected socket). A TCP/TLS destination is up again once a new
// connection has lived Config.RecoverAfter with no write failing; a UDP one
// once a probe (Config.UDPProbeInterval) has gone Config.UDPRefusalWait
// without a refusal. Each change is logged once: one line when it goes
// down, one when it is back (with the packets lost meanwhile), never one
// per reconnect attempt.
type DestinationState struct {
	// Up is false during an outage.
	Up bool `json:"up"`
	// Since is when Up last changed (the start, if it never did).
	Since time.Time `json:"since"`
	// LastError is the latest failure, kept after the recovery.
	LastError string `json:"last_error,omitempty"`
	// Outages counts the times the destination went down.
	Outages uint64 `json:"outages"`
}

// dropReason indexes counters.drops.
type dropReason uint8

const (
	dropQueueFull dropReason = iota
	dropSendError
	dropNotConnected
	dropTooLarge
	numDropReasons
)

// counters are a destination's live counters.
type counters struct {
	packetsSent     atomic.Uint64
	bytesSent       atomic.Uint64
	drops           [numDropReasons]atomic.Uint64
	reconnects      atomic.Uint64
	connectFailures atomic.Uint64
	// refused and refusedBytes count UDP datagrams that the kernel sent
	// (so counted in packetsSent and bytesSent) and an ICMP error then
	// reported as refused: stats moves them to the send_error drops.
	refused      atomic.Uint64
	refusedBytes atomic.Uint64
	// trains and padBytes count UDP trains and their padding.
	trains   atomic.Uint64
	padBytes atomic.Uint64
}

func (c *counters) drop(r dropReason, n int) {
	c.drops[r].Add(uint64(n))
}

func (c *counters) dropsSnapshot() Drops {
	return c.dropsWith(c.refused.Load())
}

// dropsWith is dropsSnapshot with the refusals already read.
func (c *counters) dropsWith(refused uint64) Drops {
	return Drops{
		QueueFull:    c.drops[dropQueueFull].Load(),
		SendError:    c.drops[dropSendError].Load() + refused,
		NotConnected: c.drops[dropNotConnected].Load(),
		TooLarge:     c.drops[dropTooLarge].Load(),
	}
}
