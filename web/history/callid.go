package history

import (
	"sync"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// Bounds of Call-ID recording.
const (
	// MaxCallIDLen: longer Call-IDs are not recorded (and counted as dropped).
	MaxCallIDLen = 256
	// recentCallIDs is how many distinct Call-IDs per connection are
	// remembered to skip repeats; the store itself ignores duplicates, this
	// only spares it the work.
	recentCallIDs = 8
	// maxTrackedConns bounds the connections remembered per shard; a full
	// shard is forgotten at once (only repeats are written again).
	maxTrackedConns = 4096
	dedupShards     = 16
)

// callIDObs is one Call-ID seen on a connection of the current run.
type callIDObs struct {
	connID uint64
	callID string
	ts     int64
}

// callIDDedup remembers the last Call-IDs of each connection, sharded by
// connection id so that connections rarely share a lock.
type callIDDedup struct {
	shards [dedupShards]dedupShard
}

type dedupShard struct {
	mu    sync.Mutex
	conns map[uint64]*recentIDs
}

type recentIDs struct {
	ids  [recentCallIDs]string
	next int
}

func (d *callIDDedup) init() {
	for i := range d.shards {
		d.shards[i].conns = make(map[uint64]*recentIDs)
	}
}

// add reports whether callID is new for connID, remembering it; it copies
// callID only when it is new.
func (d *callIDDedup) add(connID uint64, callID []byte) (string, bool) {
	sh := &d.shards[connID%dedupShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.conns[connID]
	if r == nil {
		if len(sh.conns) >= maxTrackedConns {
			clear(sh.conns)
		}
		r = &recentIDs{}
		sh.conns[connID] = r
	}
	for _, id := range r.ids {
		if id == string(callID) {
			return "", false
		}
	}
	id := string(callID)
	r.ids[r.next] = id
	r.next = (r.next + 1) % recentCallIDs
	return id, true
}

// forget drops what is remembered of connID.
func (d *callIDDedup) forget(connID uint64) {
	sh := &d.shards[connID%dedupShards]
	sh.mu.Lock()
	delete(sh.conns, connID)
	sh.mu.Unlock()
}

// ObserveCallID records that the connection connID of the current run
// carried a message with this Call-ID, so that a query by Call-ID finds the
// connection's events. It is meant for the SIP handler's path: repeats of
// the connection's recent Call-IDs cost a map lookup and nothing is
// allocated for them; a new one is copied into the bounded queue (dropped
// and counted when full). Empty Call-IDs and those over MaxCallIDLen bytes
// are ignored.
func (s *Store) ObserveCallID(connID uint64, callID []byte) {
	if s.closed.Load() || len(callID) == 0 {
		return
	}
	if len(callID) > MaxCallIDLen {
		s.callIDsDropped.Add(1)
		return
	}
	id, ok := s.dedup.add(connID, callID)
	if !ok {
		return
	}
	obs := callIDObs{connID: connID, callID: id, ts: time.Now().UnixMicro()}
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
