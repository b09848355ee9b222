package hep

import "sync/atomic"

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
	// Connected: a TCP/TLS connection is up (always true for UDP once its
	// socket exists).
	Connected   bool   `json:"connected"`
	PacketsSent uint64 `json:"packets_sent"`
	BytesSent   uint64 `json:"bytes_sent"`
	Drops       Drops  `json:"drops"`
	// Reconnects counts connections established after the first one.
	Reconnects uint64 `json:"reconnects"`
	// ConnectFailures counts failed connect attempts.
	ConnectFailures uint64 `json:"connect_failures"`
	// Workers is the number of sending goroutines, each with its own
	// socket (Config.UDPWorkers for UDP, 1 for TCP and TLS).
	Workers int `json:"workers"`
	// QueueLen and QueueBytes are what waits in the workers' queues,
	// summed; QueueCap and QueueBytesCap bound them (Config.QueueSize and
	// QueueBytes), for the destination as a whole.
	QueueLen      int   `json:"queue_len"`
	QueueCap      int   `json:"queue_cap"`
	QueueBytes    int64 `json:"queue_bytes"`
	QueueBytesCap int64 `json:"queue_bytes_cap"`
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
}

func (c *counters) drop(r dropReason, n int) {
	c.drops[r].Add(uint64(n))
}

func (c *counters) dropsSnapshot() Drops {
	return Drops{
		QueueFull:    c.drops[dropQueueFull].Load(),
		SendError:    c.drops[dropSendError].Load(),
		NotConnected: c.drops[dropNotConnected].Load(),
		TooLarge:     c.drops[dropTooLarge].Load(),
	}
}
