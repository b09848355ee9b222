package hep

import (
	"time"

	"github.com/sipwire/sipwire/transport"
)

// TapMessage encodes m as a HEP type 1 packet (payload = the exact message
// bytes, correlation id = the Call-ID) into a pooled scratch buffer, and
// copies it into each destination's queue without blocking. With FormatHomer
// a Call-ID new to the connection (m.NewCall), among its first
// Config.OpenReplaysPerConn, first repeats the connection's open event with
// the Call-ID as correlation id, so that Homer's call view shows how the
// call's connection began.
func (t *Tracer) TapMessage(m *transport.TracedMessage) {
	if t.closed.Load() {
		return
	}
	t.messagesIn.Add(1)
	if m.NewCall && m.CallSeq <= t.replays && !m.Conn.Opened.IsZero() {
		open := m.Conn.OpenEvent()
		t.sendEvent(&open, string(m.CallID))
	}
	if !t.messages {
		return
	}
	p := t.scratch.get()
	b, err := t.appendMessage(*p, m)
	*p = b
	if err != nil {
		t.encodeFailed()
	} else {
		t.send(b, m.Conn.ID)
	}
	t.scratch.put(p)
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
