package transport

import (
	"time"

	"github.com/sipwire/sipwire/transport/framing"
)

// MessageDirection says whether a traced message was received or sent.
type MessageDirection uint8

// The message directions.
const (
	Received MessageDirection = iota
	Sent
)

// String returns "in" or "out".
func (d MessageDirection) String() string {
	if d == Sent {
		return "out"
	}
	return "in"
}

// TracedMessage is a SIP message read or written on a traced connection
// while tracing is on. Data and CallID alias the transport's buffers and are
// valid only during the TapMessage call: a tap copies what it keeps.
type TracedMessage struct {
	Conn      ConnInfo
	Direction MessageDirection
	Time      time.Time
	Data      []byte
	CallID    []byte
}

// MessageTap receives traced SIP messages (HEP type 1, the pcap ring). It is
// called on the connection's goroutine: it must copy into its own bounded
// queue and return at once, dropping and counting when the queue is full.
type MessageTap interface {
	TapMessage(m *TracedMessage)
}

// tapSent hands a message we wrote to the taps, with its Call-ID.
func (c *Conn) tapSent(b []byte) {
	var fr framing.Framer
	fr.MaxMessageBytes = len(b) + 4
	var r framing.Result
	fr.Next(b, &r)
	c.tapTraced(Sent, b, r.Frame.CallID)
}
