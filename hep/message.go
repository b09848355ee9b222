package hep

import (
	"time"

	"github.com/sipwire/sipwire/transport"
)

// TapMessage encodes m as a HEP type 1 packet (payload = the exact message
// bytes, correlation id = the Call-ID) straight into the queue of its one
// destination, or else into a pooled scratch buffer copied into each
// destination's queue; it never blocks. With FormatHomer
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
	if len(t.senders) == 1 {
		// One destination: encode straight into its queue.
		p := t.messagePacket(m)
		if !t.senders[0].enqueuePacket(&p, m.Conn.ID) {
			t.encodeFails.Add(1)
		}
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

// appendMessage appends m as one HEP packet to dst.
func (t *Tracer) appendMessage(dst []byte, m *transport.TracedMessage) ([]byte, error) {
	p := t.messagePacket(m)
	return AppendPacket(dst, &p)
}

// messagePacket is m as a HEP packet, addressed by messageAddrs; its
// slices alias m.
func (t *Tracer) messagePacket(m *transport.TracedMessage) Packet {
	src, to := messageAddrs(m)
	ts := m.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	return Packet{
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
}
