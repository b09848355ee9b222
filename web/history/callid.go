package history

import (
	"time"

	"github.com/sipwire/sipwire/transport"
)

// MaxCallIDLen bounds a recorded Call-ID: longer ones are not recorded (and
// are counted as dropped).
const MaxCallIDLen = 256

// callIDObs is one Call-ID seen on a connection of the current run.
type callIDObs struct {
	connID uint64
	hash   int64 // callIDHash of the Call-ID
	ts     int64
}

// callIDHash is the stored form of a Call-ID: its 64-bit FNV-1a hash. A
// query by Call-ID finds the connections of every Call-ID with the same
// hash: for Call-IDs that are not made to collide, one in about 10^19 per
// pair. It is stable across runs and versions (the stored hashes depend on
// it).
func callIDHash(callID []byte) int64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, c := range callID {
		h ^= uint64(c)
		h *= prime
	}
	return int64(h)
}

// ObserveCallID records that the connection connID of the current run
// carried a message with this Call-ID, so that a query by Call-ID finds the
// connection's events. It is meant for the SIP handler's path: a repeat
// (transport.CallIDSet remembers the last 32768 pairs of connection and
// Call-ID, however many calls a trunk connection carries) costs a hash and
// a table lookup; a new one costs a second hash (see callIDHash) and a slot
// in the bounded queue (dropped and counted when full). Neither allocates.
// Empty Call-IDs and those over MaxCallIDLen bytes are ignored.
func (s *Store) ObserveCallID(connID uint64, callID []byte) {
	if s.closed.Load() || len(callID) == 0 {
		return
	}
	if len(callID) > MaxCallIDLen {
		s.callIDsDropped.Add(1)
		return
	}
	if !s.seenCallIDs.Add(connID, callID) {
		return
	}
	s.recordCallID(connID, callID, time.Now())
}

// recordCallID queues a Call-ID new on connection connID, seen at time at.
func (s *Store) recordCallID(connID uint64, callID []byte, at time.Time) {
	if at.IsZero() {
		at = time.Now()
	}
	obs := callIDObs{connID: connID, hash: callIDHash(callID), ts: at.UnixMicro()}
	q := &s.q
	q.mu.Lock()
	fits := !q.closed && len(q.callIDs) < q.max
	if fits {
		q.callIDs = append(q.callIDs, obs)
	}
	q.mu.Unlock()
	if !fits {
		s.callIDsDropped.Add(1)
	}
}

// Observe implements transport.Observer: it records the Call-ID of each
// message whose Call-ID is new on its connection, as the transport tells
// (TracedMessage.NewCall), without a set of its own. Add it with the gate
// of the store's event subscription, so that the Call-IDs recorded are
// those of the connections whose events are.
func (s *Store) Observe(o *transport.Observation) {
	m := &o.Message
	if o.Kind != transport.ObservedMessage || !m.NewCall || s.closed.Load() || len(m.CallID) == 0 {
		return
	}
	if len(m.CallID) > MaxCallIDLen {
		s.callIDsDropped.Add(1)
		return
	}
	s.recordCallID(m.Conn.ID, m.CallID, m.Time)
}
