package transport

import "github.com/sipwire/sipwire/transport/framing"

// Handler handles the SIP messages a Transport reads. With
// tcp_parallel_handling=0 (the default) a connection's messages are handled
// one at a time, in order, on the connection's reader goroutine or, for a
// parked connection, on its event loop's goroutine (park.go), so ServeSIP
// should not block for long: it holds up that connection, and the loop's
// other connections for at most pollerHandoff (2 ms), after which another
// goroutine takes the loop over.
type Handler interface {
	ServeSIP(m *Message)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(m *Message)

// ServeSIP calls f(m).
func (f HandlerFunc) ServeSIP(m *Message) { f(m) }

// Message is one framed SIP message and the connection it came on. It and
// every slice in it are valid only during ServeSIP (with parallel handling,
// the message is a copy that the handler owns).
type Message struct {
	framing.Frame
	Conn *Conn
	// r is the reader handling the message inline, for Forward; nil for a
	// parallel handler's copy.
	r *reading
}
