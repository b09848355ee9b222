package transport

import "errors"

// Errors returned by the transport. Each limit has its own, comparable with
// errors.Is; the events raised when a limit fires carry the same wording.
// A limit that closes a connection from its reader (tcp_max_msg_chunks,
// tcp_max_msg_time, tcp_connection_lifetime) is the error of every write
// to the connection from then on, and of the queued writes it dropped.
var (
	ErrClosed             = errors.New("transport: closed")
	ErrConnClosed         = errors.New("transport: connection closed")
	ErrTooManyConnections = errors.New("transport: tcp_max_connections reached")
	ErrQueueFull          = errors.New("transport: write queue full (tcp_async_max_postponed_chunks)")
	ErrQueueBytes         = errors.New("transport: write queue over its byte bound")
	ErrWriteTimeout       = errors.New("transport: write timeout")
	ErrConnectTimeout     = errors.New("transport: connect timeout")
	ErrBadSocket          = errors.New("transport: bad socket")
	ErrChunkLimit         = errors.New("transport: message arrived in too many chunks (tcp_max_msg_chunks)")
	ErrMessageTimeout     = errors.New("transport: message not complete within tcp_max_msg_time")
	ErrIdleTimeout        = errors.New("transport: no traffic within tcp_connection_lifetime")
)

// closeError is the error that writes to a connection closed with kind get.
func closeError(kind EventKind) error {
	switch kind {
	case EventChunkLimit:
		return ErrChunkLimit
	case EventMessageTimeout:
		return ErrMessageTimeout
	case EventIdleTimeout:
		return ErrIdleTimeout
	}
	return ErrConnClosed
}
