package transport

import (
	"cmp"
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// readBufferSize is the size of a pooled read buffer; a message that
	// outgrows it gets a larger buffer up to the maximum message size.
	readBufferSize = 4096
	// maxAliases bounds the RFC 5923 aliases of one connection.
	maxAliases = 4
	// chunkMinBytes: an incomplete read that brought at least this many bytes
	// is ordinary TCP segmentation of a large message and does not count
	// toward tcp_max_msg_chunks; such messages stay bounded by size
	// (MaxMessageBytes) and time (MaxMsgTime).
	chunkMinBytes = 1024
)

// trace verdicts of a connection.
const (
	verdictUndecided uint32 = iota
	verdictTrace
	verdictDrop
)

// Conn is one TCP connection of the transport. Its reader goroutine owns the
// read side; writes may come from any goroutine.
type Conn struct {
	t        *Transport
	id       uint64
	dir      Direction
	remote   netip.AddrPort
	listener *netip.AddrPort // the accepting listener's address, shared; nil outbound
	opened   int64           // unix nanoseconds, to the microsecond: when the accept or the connect returned

	// mu orders the connection's events and guards local and nc until the
	// connection is open.
	mu    sync.Mutex
	local netip.AddrPort
	nc    *net.TCPConn
	rc    syscall.RawConn
	// aliases are guarded by the transport's table lock; nil for none
	// (nearly every connection).
	aliases *[]netip.AddrPort

	state        atomic.Uint32
	closedBy     atomic.Uint32 // the EventKind that closed the connection, 0 for none
	verdict      atomic.Uint32
	lastActivity atomic.Int64
	msgsIn       atomic.Uint64
	msgsOut      atomic.Uint64
	bytesIn      atomic.Uint64
	bytesOut     atomic.Uint64
	// tcp is the last TCP_INFO read of the connection (TCPInfo).
	tcp atomic.Pointer[TCPInfo]

	// r is the reader's state while a reader runs (reading), nil while
	// the connection is parked.
	r *reading
	// rstate is the reader's place relative to its read callback
	// (readerOut, ...), for closeSocket.
	rstate atomic.Uint32

	w writer

	idle parkState // while parked with the poller (park.go)

	// callsMu guards calls, the Call-IDs the connection carried.
	callsMu sync.Mutex
	calls   *connCalls

	// dialing is an outbound connection's connect (dial.go); nil inbound.
	dialing *dialing
}

// openedTime is when the accept or the connect returned.
func (c *Conn) openedTime() time.Time { return time.Unix(0, c.opened) }

func newConn(t *Transport, dir Direction, remote netip.AddrPort, listener *netip.AddrPort) *Conn {
	c := &Conn{
		t:        t,
		id:       t.nextID.Add(1),
		dir:      dir,
		remote:   remote,
		listener: listener,
		opened:   time.Now().Truncate(time.Microsecond).UnixNano(),
	}
	c.lastActivity.Store(c.opened)
	c.idle.shift.Store(parkWaitSteps)
	c.w.c = c
	return c
}

// attach binds the connection to its socket.
func (c *Conn) attach(nc *net.TCPConn) error {
	rc, err := nc.SyscallConn()
	if err != nil {
		return err
	}
	c.nc, c.rc = nc, rc
	c.w.writeFn = c.w.writeOnce
	return nil
}

// ID is the connection's id, unique within the run.
func (c *Conn) ID() uint64 { return c.id }

// State is the connection's state now.
func (c *Conn) State() ConnState { return ConnState(c.state.Load()) }

// Info returns what is known of the connection.
func (c *Conn) Info() ConnInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.infoLocked()
}

// info is Info for the hot path: once the connection has left
// StateConnecting its addresses and open time no longer change (they are
// written before the state that makes them visible), so no lock is taken.
func (c *Conn) info() ConnInfo {
	if c.State() == StateConnecting {
		return c.Info()
	}
	return c.infoLocked()
}

func (c *Conn) infoLocked() ConnInfo {
	ci := ConnInfo{ID: c.id, Direction: c.dir, Local: c.local, Remote: c.remote, Listener: c.listenerAddr()}
	if c.State() != StateConnecting {
		ci.Opened = c.openedTime()
	}
	return ci
}

// Remote is the peer's address.
func (c *Conn) Remote() netip.AddrPort { return c.remote }

// Close closes the connection, raising its CLOSED event with reason.
func (c *Conn) Close(reason string) {
	if reason == "" {
		reason = "Closed by request"
	}
	c.closeWith(0, StatusSuccess, reason)
}

// closeWith moves the connection to StateClosed once: it removes it from the
// table, closes the socket, fails
// queued writes, and raises the event kind (when not zero) and then CLOSED,
// both with status and reason.
func (c *Conn) closeWith(kind EventKind, status Status, reason string) bool {
	c.mu.Lock()
	prev := ConnState(c.state.Load())
	if prev == StateClosed {
		c.mu.Unlock()
		return false
	}
	c.closedBy.Store(uint32(kind))
	c.setState(StateClosed)
	t := c.t
	t.mu.Lock()
	t.removeLocked(c)
	t.mu.Unlock()
	if c.dialing != nil && c.dialing.cancel != nil {
		c.dialing.cancel()
	}
	// The kernel's last figures, read while the socket is surely ours (the
	// reader may be left to close it), for the events that end the
	// connection: the error event and CLOSED carry the same reading.
	var ti *TCPInfo
	if c.rc != nil && t.obs.wants(c.traceable()) {
		if ti, _ = c.readTCPInfoLocked(); ti != nil {
			t.tcpHist.observe(c.listenerAddr(), c.dir, ti)
		}
	}
	if c.nc != nil {
		c.closeSocket()
	}
	c.unpark() // a parked connection leaves the parked count; its deadline entry goes stale
	if kind != 0 {
		t.stats.count(kind)
		t.raiseTCP(c, kind, status, reason, ti)
	}
	t.stats.closed.Add(1)
	t.raiseTCP(c, EventClosed, status, reason, ti)
	c.mu.Unlock()
	c.w.fail(closeError(kind))
	return true
}

// drain stops the reader for Shutdown; queued writes still go out.
func (c *Conn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.State() != StateOpen {
		return
	}
	c.setState(StateDraining)
	if c.nc != nil {
		c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

func (c *Conn) waitFlushed(ctx context.Context) error {
	return c.w.waitEmpty(ctx)
}

func (c *Conn) touch(now time.Time) { c.lastActivity.Store(now.UnixNano()) }

// ConnSnapshot is what the connection table knows of one connection.
type ConnSnapshot struct {
	ID           uint64    `json:"id"`
	Direction    string    `json:"direction"`
	State        string    `json:"state"`
	Local        string    `json:"local"`
	Remote       string    `json:"remote"`
	Listener     string    `json:"listener,omitempty"`
	Aliases      []string  `json:"aliases,omitempty"`
	Opened       time.Time `json:"opened"`
	LastActivity time.Time `json:"last_activity"`
	MsgsIn       uint64    `json:"msgs_in"`
	MsgsOut      uint64    `json:"msgs_out"`
	BytesIn      uint64    `json:"bytes_in"`
	BytesOut     uint64    `json:"bytes_out"`
	QueuedWrites int       `json:"queued_writes"`
	QueuedBytes  int       `json:"queued_bytes"`
	Traced       string    `json:"traced"`
	// TCP is the last TCP_INFO read of the connection (by the periodic
	// sampler, Options.TCPInfoInterval, or on demand), nil before any.
	TCP *TCPInfo `json:"tcp,omitempty"`
	// TCPConcern is TCP.Concern(): what the figures say is wrong with the
	// peer ("window closed", "send queue", ...), empty when nothing is.
	TCPConcern string `json:"tcp_concern,omitempty"`
}

// Snapshot returns what the table knows of the connection now.
func (c *Conn) Snapshot() ConnSnapshot {
	c.mu.Lock()
	s := ConnSnapshot{
		ID:        c.id,
		Direction: c.dir.String(),
		State:     c.State().String(),
		Remote:    c.remote.String(),
		Opened:    c.openedTime(),
	}
	if c.local.IsValid() {
		s.Local = c.local.String()
	}
	if c.listener != nil {
		s.Listener = c.listener.String()
	}
	c.mu.Unlock()
	c.t.mu.Lock()
	for _, a := range c.aliasList() {
		s.Aliases = append(s.Aliases, a.String())
	}
	c.t.mu.Unlock()
	s.LastActivity = time.Unix(0, c.lastActivity.Load()).Truncate(time.Microsecond)
	s.MsgsIn, s.MsgsOut = c.msgsIn.Load(), c.msgsOut.Load()
	s.BytesIn, s.BytesOut = c.bytesIn.Load(), c.bytesOut.Load()
	s.QueuedWrites, s.QueuedBytes = c.w.queued()
	s.TCP = c.lastTCPInfo()
	s.TCPConcern = s.TCP.Concern()
	switch c.verdict.Load() {
	case verdictTrace:
		s.Traced = "yes"
	case verdictDrop:
		s.Traced = "no"
	default:
		s.Traced = "undecided"
	}
	return s
}

// Connections returns a snapshot of every connection in the table, by id.
func (t *Transport) Connections() []ConnSnapshot {
	conns := t.snapshotConns()
	out := make([]ConnSnapshot, 0, len(conns))
	for _, c := range conns {
		out = append(out, c.Snapshot())
	}
	sortSnapshots(out)
	return out
}

func sortSnapshots(s []ConnSnapshot) {
	slices.SortFunc(s, func(a, b ConnSnapshot) int { return cmp.Compare(a.ID, b.ID) })
}

// aliasList is the connection's aliases; the caller holds the transport's
// table lock.
func (c *Conn) aliasList() []netip.AddrPort {
	if c.aliases == nil {
		return nil
	}
	return *c.aliases
}

// listenerAddr is the address of the listener that accepted the
// connection; not valid for an outbound one.
func (c *Conn) listenerAddr() netip.AddrPort {
	if c.listener == nil {
		return netip.AddrPort{}
	}
	return *c.listener
}
