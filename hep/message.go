package hep

import (
	"time"

	"github.com/sipwire/sipwire/transport"
)

// TapMessage implements transport.MessageTap: it encodes m as a HEP type 1
// packet (payload = the exact message bytes, correlation id = the Call-ID)
// straight into a pooled buffer, the one copy of the message, and queues it
// without blocking. With FormatHomer a Call-ID new to the connection also
// repeats the connection's open event with the Call-ID as correlation id.
func (t *Tracer) TapMessage(m *transport.TracedMessage) {
	if t.closed.Load() {
		return
	}
	t.messagesIn.Add(1)
	if t.calls != nil && len(m.CallID) > 0 {
		if open, id, ok := t.calls.message(m.Conn.ID, m.CallID); ok {
			t.sendEvent(&open, id)
		}
	}
	if !t.messages {
		return
	}
	p := t.pool.get()
	b, err := t.appendMessage(p.b, m)
	if err != nil {
		t.encodeFailed(p)
		return
	}
	p.b = b
	t.send(p, m.Conn.ID)
}

// appendMessage appends m as one HEP packet to dst, addressed by
// messageAddrs.
func (t *Tracer) appendMessage(dst []byte, m *transport.TracedMessage) ([]byte, error) {
	src, to := messageAddrs(m)
	ts := m.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	p := Packet{
		IPProtocol:    IPProtoTCP,
		Src:           src,
		Dst:           to,
		TimeSec:       uint32(ts.Unix()),
		TimeUsec:      uint32(ts.Nanosecond() / 1000),
		ProtoType:     ProtoSIP,
		CaptureID:     t.captureID,
		AuthKey:       t.authKey,
		CorrelationID: m.CallID,
		NodeName:      t.nodeName,
		Payload:       m.Data,
	}
	return AppendPacket(dst, &p)
}
