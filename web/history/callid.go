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
	callID string
	ts     int64
}

// ObserveCallID records that the connection connID of the current run
// carried a message with this Call-ID, so that a query by Call-ID finds the
// connection's events. It is meant for the SIP handler's path: a repeat
// (transport.CallIDSet remembers the last 32768 pairs of connection and
// Call-ID, however many calls a trunk connection carries) costs a hash and
// a map lookup and allocates nothing; a new one is copied into the bounded
// queue (dropped and counted when full). Empty Call-IDs and those over
// MaxCallIDLen bytes are ignored.
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
	obs := callIDObs{connID: connID, callID: string(callID), ts: time.Now().UnixMicro()}
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

// TapMessage implements transport.MessageTap: it records the Call-ID of a
// traced message (see ObserveCallID). The tap sees traced connections only
// while tracing is on; to know the Call-IDs of every connection, call
// ObserveCallID from the SIP handler instead.
func (s *Store) TapMessage(m *transport.TracedMessage) {
	s.ObserveCallID(m.Conn.ID, m.CallID)
}
