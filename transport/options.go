package transport

import (
	"log/slog"
	"time"
)

// Defaults of OpenSIPS' proto_tcp parameters and of sipwire's own bounds.
const (
	DefaultPort                = 5060                   // tcp_port
	DefaultSendTimeout         = 100 * time.Millisecond // tcp_send_timeout
	DefaultMaxMsgChunks        = 4                      // tcp_max_msg_chunks
	DefaultMaxMsgTime          = 4 * time.Second        // OpenSIPS' tcp_max_msg_time
	DefaultMaxPostponedChunks  = 32                     // tcp_async_max_postponed_chunks
	MinMaxPostponedChunks      = 2                      // OpenSIPS' floor for it
	DefaultMaxPostponedBytes   = 1 << 20                // sipwire: byte bound of a write queue
	DefaultMaxPostponedAge     = 5 * time.Second        // sipwire: age bound of a queued write
	DefaultLocalConnectTimeout = 100 * time.Millisecond // tcp_async_local_connect_timeout
	DefaultConnectTimeout      = 3 * time.Second        // sipwire: deadline of a background connect
	DefaultLocalWriteTimeout   = 10 * time.Millisecond  // tcp_async_local_write_timeout
	DefaultMaxConnections      = 2048                   // tcp_max_connections
	DefaultConnectionLifetime  = 120 * time.Second      // tcp_connection_lifetime
	DefaultMaxMessageBytes     = 65535                  // OpenSIPS' TCP buffer size
	DefaultEventQueueLen       = 4096                   // sipwire: per-subscriber event queue
	DefaultCallIDsPerConn      = 16                     // sipwire: Call-IDs a connection's CLOSED names
	DefaultTCPInfoPerTick      = 256                    // sipwire: TCP_INFO readings a sampler tick
	DefaultParkAfter           = 2 * time.Second        // sipwire: idle time before a reader parks
)

// Options configures a Transport. Each field bounds one thing; the zero value
// of a field means its documented default, which for proto_tcp's parameters is
// OpenSIPS' default. Boolean fields are named so that false is the default.
type Options struct {
	// Port is tcp_port: the port of a listener or destination that names
	// none. Zero means 5060.
	Port int

	// SendTimeout is tcp_send_timeout: with SyncWrites, the bound of a whole
	// blocking write (OpenSIPS restarts it after every partial write; we do
	// not). Zero means 100 ms.
	SendTimeout time.Duration

	// MaxMsgChunks is tcp_max_msg_chunks: how many reads may leave a message
	// incomplete before the connection is closed. Zero means 4; a negative
	// value means unlimited (OpenSIPS' <=0).
	MaxMsgChunks int

	// MaxMsgTime bounds how long a started message may take to complete
	// (OpenSIPS' tcp_max_msg_time). Zero means 4 s.
	MaxMsgTime time.Duration

	// DisableCRLFPingPong is tcp_crlf_pingpong=0: a CRLFCRLF keep-alive
	// between messages is then skipped without the CRLF answer.
	DisableCRLFPingPong bool

	// SyncWrites is tcp_async=0: connects and writes block the sender, each
	// write bounded as a whole by SendTimeout.
	SyncWrites bool

	// MaxPostponedChunks is tcp_async_max_postponed_chunks: how many writes
	// may wait in a connection's queue. When it is full the connection is
	// dropped. Zero means 32; values below 2 are raised to 2.
	MaxPostponedChunks int

	// MaxPostponedBytes bounds the bytes waiting in a connection's write
	// queue. Zero means 1 MiB.
	MaxPostponedBytes int

	// MaxPostponedAge bounds how long the oldest queued write may wait.
	// Zero means 5 s.
	MaxPostponedAge time.Duration

	// LocalConnectTimeout is tcp_async_local_connect_timeout: how long a
	// connect is waited for inline before it goes on in the background.
	// Zero means 100 ms.
	LocalConnectTimeout time.Duration

	// ConnectTimeout is the real deadline of a connect, inline or
	// background. Zero means 3 s.
	ConnectTimeout time.Duration

	// LocalWriteTimeout is tcp_async_local_write_timeout: how long a write is
	// tried inline before the rest is queued. Zero means 10 ms.
	LocalWriteTimeout time.Duration

	// ParallelHandling is tcp_parallel_handling=1: the next message of a
	// connection may be read and handled while the previous one is still
	// being handled, so handling order is not guaranteed.
	ParallelHandling bool

	// MaxConnections is tcp_max_connections: the bound of open connections,
	// inbound and outbound together. Zero means 2048.
	MaxConnections int

	// ConnectionLifetime is tcp_connection_lifetime: a connection with no
	// traffic for this long is closed. Zero means 120 s.
	ConnectionLifetime time.Duration

	// MaxMessageBytes bounds a whole message, header block plus body. Zero
	// means 65535.
	MaxMessageBytes int

	// DisableKeepAlive is tcp_keepalive=0: no TCP keepalive probes on the
	// transport's connections, unless KeepAliveIdle, KeepAliveInterval or
	// KeepAliveCount is set, which turns them on (as in OpenSIPS). By
	// default keepalive is on with the system's settings (on Linux
	// net.ipv4.tcp_keepalive_time, _intvl and _probes: 7200 s, 75 s, 9),
	// never Go's own 15 s.
	DisableKeepAlive bool

	// KeepAliveIdle is tcp_keepidle: how long a connection is idle before
	// the first keepalive probe (TCP_KEEPIDLE), rounded up to whole
	// seconds, at most MaxKeepAliveIdle. Zero means the system's value.
	KeepAliveIdle time.Duration

	// KeepAliveInterval is tcp_keepinterval: the time between unanswered
	// keepalive probes (TCP_KEEPINTVL), rounded up to whole seconds, at
	// most MaxKeepAliveInterval. Zero means the system's value.
	KeepAliveInterval time.Duration

	// KeepAliveCount is tcp_keepcount: how many unanswered probes close
	// the connection (TCP_KEEPCNT), at most MaxKeepAliveCount. Zero means
	// the system's value.
	KeepAliveCount int

	// TraceOn is trace_on=1: tracing starts switched on. The switch can be
	// flipped at run time with SetTracing.
	TraceOn bool

	// TraceFilter is trace_filter_route, compiled: it is asked once per
	// connection, when the connection is opened while tracing is on (or at
	// the connection's next event when tracing is switched on later), and
	// returns false to silence the connection. Nil traces every connection.
	// It must not block.
	TraceFilter func(ConnInfo) bool

	// CallIDMemory bounds the (connection, Call-ID) pairs remembered to tell
	// observers that a message's Call-ID is new on its connection
	// (TracedMessage.NewCall). Zero means DefaultCallIDSetSize.
	CallIDMemory int

	// CallIDsPerConn bounds the Call-IDs a connection remembers for its
	// CLOSED observation (Observation.CallIDs); older ones are forgotten.
	// Zero means 16.
	CallIDsPerConn int

	// TCPInfoInterval is how often the kernel's figures of every open
	// connection are read for the connection table (ConnSnapshot.TCP).
	// Zero means never: they are then read only when a connection closes,
	// and on demand (Conn.TCPInfo).
	TCPInfoInterval time.Duration

	// TCPInfoPerTick bounds the connections read at one tick of
	// TCPInfoInterval; the others wait for later ticks (counted in
	// Stats.TCPInfoDeferred). Zero means 256.
	TCPInfoPerTick int
	// ParkAfter is the longest a connection may go without traffic before
	// its reader goroutine parks it with the transport's event loop (one
	// epoll set for every parked connection, Linux only): an idle connection
	// then costs no goroutine, no stack and no read buffer; the first bytes
	// that arrive start a reader again. A new connection's reader parks
	// after ParkAfter/64, and the wait doubles each time traffic returns
	// sooner than ParkAfter after a park (park.go); a reader that has just
	// answered a CRLF keep-alive parks at once, and so does one that
	// traffic started on a parked connection, once the socket is empty at
	// a message boundary, until its wait has doubled up to ParkAfter (a
	// busy connection keeps a reader then). Zero means 2 s; negative keeps
	// a reader goroutine per connection.
	ParkAfter time.Duration

	// Logger receives what no event reports: accept errors, and handler
	// panics with their stack. Nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) port() int {
	if o.Port <= 0 {
		return DefaultPort
	}
	return o.Port
}

func (o *Options) sendTimeout() time.Duration { return orDuration(o.SendTimeout, DefaultSendTimeout) }
func (o *Options) maxMsgTime() time.Duration  { return orDuration(o.MaxMsgTime, DefaultMaxMsgTime) }
func (o *Options) maxPostponedAge() time.Duration {
	return orDuration(o.MaxPostponedAge, DefaultMaxPostponedAge)
}
func (o *Options) localConnectTimeout() time.Duration {
	return orDuration(o.LocalConnectTimeout, DefaultLocalConnectTimeout)
}
func (o *Options) connectTimeout() time.Duration {
	return orDuration(o.ConnectTimeout, DefaultConnectTimeout)
}
func (o *Options) localWriteTimeout() time.Duration {
	return orDuration(o.LocalWriteTimeout, DefaultLocalWriteTimeout)
}
func (o *Options) connectionLifetime() time.Duration {
	return orDuration(o.ConnectionLifetime, DefaultConnectionLifetime)
}

// maxMsgChunks returns the chunk limit, or 0 for unlimited.
func (o *Options) maxMsgChunks() int {
	switch {
	case o.MaxMsgChunks == 0:
		return DefaultMaxMsgChunks
	case o.MaxMsgChunks < 0:
		return 0
	}
	return o.MaxMsgChunks
}

func (o *Options) maxPostponedChunks() int {
	switch {
	case o.MaxPostponedChunks == 0:
		return DefaultMaxPostponedChunks
	case o.MaxPostponedChunks < MinMaxPostponedChunks:
		return MinMaxPostponedChunks
	}
	return o.MaxPostponedChunks
}

func (o *Options) maxPostponedBytes() int {
	return orInt(o.MaxPostponedBytes, DefaultMaxPostponedBytes)
}
func (o *Options) parkAfter() time.Duration {
	if o.ParkAfter < 0 {
		return 0
	}
	return orDuration(o.ParkAfter, DefaultParkAfter)
}

func (o *Options) callIDsPerConn() int { return orInt(o.CallIDsPerConn, DefaultCallIDsPerConn) }
func (o *Options) tcpInfoPerTick() int { return orInt(o.TCPInfoPerTick, DefaultTCPInfoPerTick) }

func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

func (o *Options) maxConnections() int  { return orInt(o.MaxConnections, DefaultMaxConnections) }
func (o *Options) maxMessageBytes() int { return orInt(o.MaxMessageBytes, DefaultMaxMessageBytes) }

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
