package main

import (
	"sync/atomic"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
)

// callIDObserver learns which Call-IDs a connection carried (the event
// history, for GET /events?call_id=).
type callIDObserver interface {
	ObserveCallID(connID uint64, callID []byte)
}

// handler is the transport's Handler: it tells the event history each
// message's Call-ID, then hands the message on.
type handler struct {
	callIDs callIDObserver

	dropped atomic.Uint64
}

func newHandler(cfg *config.Config) (*handler, error) {
	return &handler{}, nil
}

func (h *handler) attach(t *transport.Transport) error { return nil }

func (h *handler) ServeSIP(m *transport.Message) {
	if h.callIDs != nil && m.CallID != nil {
		h.callIDs.ObserveCallID(m.Conn.ID(), m.CallID)
	}
	if !m.IsRequest {
		h.dropped.Add(1)
		return
	}
	code, phrase := 501, "Not Implemented"
	if string(m.Method) == "OPTIONS" {
		code, phrase = 200, "OK"
	}
	m.Conn.Write(framing.AppendResponse(nil, &m.Frame, code, phrase))
}

func (h *handler) stats() any {
	return map[string]uint64{"responses_dropped": h.dropped.Load()}
}
