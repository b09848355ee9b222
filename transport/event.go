package transport

import (
	"net/netip"
	"strconv"
	"time"
)

// EventKind says what happened to a connection. Its String form is the
// upper-case name that OpenSIPS uses in its trace events (ACCEPTED,
// CONNECT_START, CONNECTED, CLOSED) and, for what OpenSIPS does not report,
// a name of the same style.
type EventKind uint8

// The kinds of network events. Every connection that enters the connection
// table ends with exactly one EventClosed, and no event of it follows that one.
// Error kinds (EventBadMessage and below) are raised just before the
// EventClosed they cause, with the same reason.
const (
	// EventAccepted: an inbound connection was accepted.
	EventAccepted EventKind = iota + 1
	// EventConnectStart: an outbound connect did not finish within
	// tcp_async_local_connect_timeout and goes on in the background.
	EventConnectStart
	// EventConnected: an outbound connect finished.
	EventConnected
	// EventConnectFailed: an outbound connect failed or hit its deadline.
	// Messages queued behind it are lost and their senders told.
	EventConnectFailed
	// EventAcceptRefused: an inbound connection beyond tcp_max_connections
	// was closed at once. It never enters the connection table; this is its
	// only event.
	EventAcceptRefused
	// EventClosed: the connection is gone. Reason says why.
	EventClosed

	// EventBadMessage: a message could not be framed (no or bad
	// Content-Length, two different Content-Length values, a start line
	// that is not SIP).
	EventBadMessage
	// EventMessageTooLarge: a header block or Content-Length over the maximum
	// message size.
	EventMessageTooLarge
	// EventChunkLimit: tcp_max_msg_chunks reads left a message incomplete.
	EventChunkLimit
	// EventMessageTimeout: a started message did not complete within
	// tcp_max_msg_time.
	EventMessageTimeout
	// EventWriteQueueFull: tcp_async_max_postponed_chunks (or the byte bound)
	// was reached; the connection is dropped.
	EventWriteQueueFull
	// EventWriteTimeout: a write did not complete in time (tcp_send_timeout,
	// or the age bound of queued writes).
	EventWriteTimeout
	// EventIdleTimeout: tcp_connection_lifetime passed with no traffic.
	EventIdleTimeout
	// EventReadError: reading failed (reset, or EOF in the middle of a message).
	EventReadError
	// EventWriteError: writing failed.
	EventWriteError
	// EventHandlerPanic: the SIP handler panicked on one of the
	// connection's messages; the panic was logged with its stack and only
	// this connection is closed.
	EventHandlerPanic

	numEventKinds = iota + 1
)

var eventKindNames = [numEventKinds]string{
	EventAccepted:        "ACCEPTED",
	EventConnectStart:    "CONNECT_START",
	EventConnected:       "CONNECTED",
	EventConnectFailed:   "CONNECT_FAILED",
	EventAcceptRefused:   "ACCEPT_REFUSED",
	EventClosed:          "CLOSED",
	EventBadMessage:      "BAD_MESSAGE",
	EventMessageTooLarge: "MESSAGE_TOO_LARGE",
	EventChunkLimit:      "CHUNK_LIMIT",
	EventMessageTimeout:  "MESSAGE_TIMEOUT",
	EventWriteQueueFull:  "WRITE_QUEUE_FULL",
	EventWriteTimeout:    "WRITE_TIMEOUT",
	EventIdleTimeout:     "IDLE_TIMEOUT",
	EventReadError:       "READ_ERROR",
	EventWriteError:      "WRITE_ERROR",
	EventHandlerPanic:    "HANDLER_PANIC",
}

// String returns the kind's upper-case name, or "EventKind(N)" for an unknown one.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// EventKinds lists every kind, in order.
func EventKinds() []EventKind {
	kinds := make([]EventKind, 0, numEventKinds-1)
	for k := EventAccepted; k < numEventKinds; k++ {
		kinds = append(kinds, k)
	}
	return kinds
}

// ParseEventKind returns the kind named s (as String returns it).
func ParseEventKind(s string) (EventKind, bool) {
	for k := EventAccepted; k < numEventKinds; k++ {
		if eventKindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// Status says whether an event reports success or failure, as in OpenSIPS'
// trace events ("SUCCESS", "FAILURE").
type Status uint8

// The event statuses.
const (
	StatusSuccess Status = iota
	StatusFailure
)

// String returns "SUCCESS" or "FAILURE".
func (s Status) String() string {
	if s == StatusFailure {
		return "FAILURE"
	}
	return "SUCCESS"
}

// Direction says who opened a connection.
type Direction uint8

// The connection directions.
const (
	// Inbound connections were accepted on one of our listeners.
	Inbound Direction = iota
	// Outbound connections were dialled by us.
	Outbound
)

// String returns "in" or "out".
func (d Direction) String() string {
	if d == Outbound {
		return "out"
	}
	return "in"
}

// Event is one network event. It is a plain value: observers may keep it.
type Event struct {
	Kind   EventKind
	Status Status
	// ConnID is the connection's id, unique within the run (OpenSIPS' trace
	// correlation id). Zero only for events of a connection that never got
	// one.
	ConnID    uint64
	Direction Direction
	// Time is when the event happened, to the microsecond.
	Time time.Time
	// Local and Remote are the connection's real addresses. For an outbound
	// connect that has not finished, Local is the zero AddrPort.
	Local  netip.AddrPort
	Remote netip.AddrPort
	// Listener is the listening socket that accepted an inbound connection
	// (zero for outbound ones).
	Listener netip.AddrPort
	// Reason is a human-readable explanation: OpenSIPS' wording where it has
	// one ("Connection accepted", "EOF received", "Timeout on no traffic"),
	// else a precise one.
	Reason string
	// TCP is the kernel's view of the connection when it ended (TCP_INFO),
	// on EventClosed and on the error event raised with it, when the
	// connection had a socket; nil on every other event. Observers share
	// it and must not change it.
	TCP *TCPInfo
}

// ConnInfo is what is known of a connection when it opens: enough to decide
// whether to trace it (trace_filter_route) and to address its messages.
type ConnInfo struct {
	ID        uint64
	Direction Direction
	Local     netip.AddrPort
	Remote    netip.AddrPort
	Listener  netip.AddrPort
	// Opened is the time of the connection's open event (when the accept
	// or the connect returned); zero while an outbound connect is under way.
	Opened time.Time
}

// The reasons of the open events, in OpenSIPS' wording.
const (
	ReasonAccepted  = "Connection accepted"
	ReasonConnected = "Successfully connected"
)

// OpenEvent returns the open event of the connection (ACCEPTED for an
// inbound one, CONNECTED for an outbound one) as it was raised.
func (ci *ConnInfo) OpenEvent() Event {
	e := Event{Kind: EventAccepted, Status: StatusSuccess, ConnID: ci.ID, Direction: ci.Direction,
		Time: ci.Opened, Local: ci.Local, Remote: ci.Remote, Listener: ci.Listener, Reason: ReasonAccepted}
	if ci.Direction == Outbound {
		e.Kind, e.Reason = EventConnected, ReasonConnected
	}
	return e
}
