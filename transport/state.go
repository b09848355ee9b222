package transport

// ConnState is where a connection is in its life, as net/http's ConnState.
type ConnState uint32

// The connection states. Every connection ends in StateClosed, once.
const (
	// StateConnecting: an outbound connect is under way; writes queue.
	StateConnecting ConnState = iota
	// StateOpen: the connection reads and writes.
	StateOpen
	// StateDraining: Shutdown stopped reading; queued writes still go out.
	StateDraining
	// StateClosed: the connection is gone.
	StateClosed
)

var connStateNames = [...]string{"connecting", "open", "draining", "closed"}

// String returns the state's lower-case name.
func (s ConnState) String() string {
	if int(s) < len(connStateNames) {
		return connStateNames[s]
	}
	return "unknown"
}

// setState is the one place where a connection's state changes. Every
// connection goes Connecting or Open, then possibly Draining, then Closed
// once; closeWith alone moves it to Closed, under c.mu.
func (c *Conn) setState(s ConnState) { c.state.Store(uint32(s)) }
