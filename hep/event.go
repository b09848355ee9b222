package hep

import (
	"strconv"
	"strings"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// HandleEvent encodes e and queues it to every destination. It never
// blocks. (Observe also repeats, with FormatHomer, a CLOSED event with each
// Call-ID its connection carried.)
func (t *Tracer) HandleEvent(e *transport.Event) { t.observeEvent(e, nil) }

// observeEvent is HandleEvent; with FormatHomer a CLOSED event is also sent
// again with each of callIDs, the Call-IDs its connection carried recently,
// as correlation id, so that Homer's call view shows how the call's
// connection ended.
func (t *Tracer) observeEvent(e *transport.Event, callIDs []string) {
	if t.closed.Load() {
		return
	}
	t.eventsIn.Add(1)
	t.sendEvent(e, "")
	if t.replays == 0 || e.Kind != transport.EventClosed {
		return
	}
	for _, id := range callIDs {
		t.sendEvent(e, id)
	}
}

// sendEvent encodes e with callID as correlation id (the connection id when
// callID is empty) and queues it.
func (t *Tracer) sendEvent(e *transport.Event, callID string) {
	p := t.scratch.get()
	b, err := t.appendEvent(*p, e, callID)
	*p = b
	if err != nil {
		t.encodeFailed()
	} else {
		t.send(b, e.ConnID)
	}
	t.scratch.put(p)
}

// appendEvent appends e as one HEP packet to dst.
func (t *Tracer) appendEvent(dst []byte, e *transport.Event, callID string) ([]byte, error) {
	src, dstAddr := eventAddrs(e)
	ts := e.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	var idBuf [20]byte
	corr := strconv.AppendUint(idBuf[:0], e.ConnID, 10)
	if callID != "" {
		corr = []byte(callID)
	}
	p := Packet{
		IPProtocol:    IPProtoTCP,
		Src:           src,
		Dst:           dstAddr,
		TimeSec:       uint32(ts.Unix()),
		TimeUsec:      uint32(ts.Nanosecond() / 1000),
		ProtoType:     ProtoLog,
		CaptureID:     t.captureID,
		AuthKey:       t.authKey,
		CorrelationID: corr,
		NodeName:      t.nodeName,
	}
	if t.format == FormatOpenSIPS {
		p.ProtoType = ProtoNet
	}
	b, m, err := OpenPacket(dst, &p)
	if err != nil {
		return dst, err
	}
	switch {
	case t.format == FormatHomer:
		b = appendHomerPayload(b, e, callID)
	case t.payload == PayloadText:
		b = appendOpenSIPSText(b, e)
	default:
		b = appendOpenSIPSJSON(b, e)
	}
	if err := ClosePacket(b, m); err != nil {
		return dst, err
	}
	return b, nil
}

// openSIPSMessage is the "Message" of OpenSIPS' events: its own wording,
// with the trailing "...", for the events it raises on open.
func openSIPSMessage(e *transport.Event) string {
	var def string
	switch e.Kind {
	case transport.EventAccepted:
		def = "Connection accepted..."
	case transport.EventConnectStart:
		def = "Async connect in progress..."
	case transport.EventConnected:
		def = "Successfully connected..."
	default:
		return e.Reason
	}
	if e.Reason == "" || strings.HasPrefix(def, e.Reason) {
		return def
	}
	return e.Reason
}

// appendOpenSIPSJSON appends {"Protocol","Event","Status","Message"} in
// OpenSIPS' key order; like OpenSIPS it leaves out an empty Message.
func appendOpenSIPSJSON(b []byte, e *transport.Event) []byte {
	b = append(b, `{"Protocol":"TCP","Event":`...)
	b = appendJSONString(b, e.Kind.String())
	b = append(b, `,"Status":`...)
	b = appendJSONString(b, e.Status.String())
	if msg := openSIPSMessage(e); msg != "" {
		b = append(b, `,"Message":`...)
		b = appendJSONString(b, msg)
	}
	return append(b, '}')
}

// appendOpenSIPSText appends OpenSIPS' homer5_on=1 payload,
// TCP:EVENT:STATUS:message.
func appendOpenSIPSText(b []byte, e *transport.Event) []byte {
	b = append(b, "TCP:"...)
	b = append(b, e.Kind.String()...)
	b = append(b, ':')
	b = append(b, e.Status.String()...)
	if msg := openSIPSMessage(e); msg != "" {
		b = append(b, ':')
		b = append(b, msg...)
	}
	return b
}

// appendHomerPayload appends OpenSIPS' keys plus what a reader of Homer
// needs without the connection table: the connection id, direction, both
// addresses, the raw reason, the Call-ID the packet is correlated to, and
// the kernel's figures of the connection (TCP) when the event has them.
func appendHomerPayload(b []byte, e *transport.Event, callID string) []byte {
	b = appendOpenSIPSJSON(b, e)
	b = b[:len(b)-1]
	b = append(b, `,"ConnID":`...)
	b = strconv.AppendUint(b, e.ConnID, 10)
	b = append(b, `,"Direction":"`...)
	b = append(b, e.Direction.String()...)
	b = append(b, `","Local":"`...)
	if e.Local.Addr().IsValid() {
		b = e.Local.AppendTo(b)
	}
	b = append(b, `","Remote":"`...)
	if e.Remote.Addr().IsValid() {
		b = e.Remote.AppendTo(b)
	}
	b = append(b, `","Reason":`...)
	b = appendJSONString(b, e.Reason)
	if callID != "" {
		b = append(b, `,"CallID":`...)
		b = appendJSONString(b, callID)
	}
	if e.TCP != nil {
		b = appendTCPInfo(b, e.TCP)
	}
	return append(b, '}')
}
