package pcap

import (
	"net/netip"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// Record is one traced SIP message kept by the ring. Snapshot returns copies:
// a Record stays valid however many messages the ring receives afterwards.
type Record struct {
	// Seq numbers the messages the ring received, from 1.
	Seq       uint64
	Time      time.Time
	ConnID    uint64
	Direction transport.MessageDirection
	// Outbound: sipwire opened the connection (it sent the SYN).
	Outbound bool
	// Local and Remote are the connection's addresses.
	Local  netip.AddrPort
	Remote netip.AddrPort
	CallID string
	Data   []byte
}

// Filter selects records. The zero Filter selects all of them.
type Filter struct {
	// ConnID keeps only the records of this connection when non-zero.
	ConnID uint64
	// Since keeps only the records at or after this time when non-zero.
	Since time.Time
}

// match reports whether f selects the record that starts at rec.
func (f *Filter) match(rec []byte) bool {
	if f.ConnID != 0 && storedConn(rec) != f.ConnID {
		return false
	}
	return f.Since.IsZero() || !storedTime(rec).Before(f.Since)
}
