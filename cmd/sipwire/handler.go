package main

import (
	"fmt"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/forward"
)

// callIDObserver learns which Call-IDs a connection carried (the event
// history, for GET /events?call_id=).
type callIDObserver interface {
	ObserveCallID(connID uint64, callID []byte)
}

// handler is the transport's Handler: it tells the event history each
// message's Call-ID, then hands the message to the forwarder (which, with no
// upstream, answers OPTIONS with 200 and other requests with 501).
type handler struct {
	callIDs callIDObserver
	fwd     *forward.Forwarder
}

func newHandler(cfg *config.Config) (*handler, error) {
	fwd, err := forward.New(forward.Config{
		Upstream:    cfg.Forward.URI,
		RecordRoute: cfg.Forward.RecordRoute,
		DefaultPort: cfg.TCPPort,
	})
	if err != nil {
		return nil, fmt.Errorf("forward.uri: %w", err)
	}
	return &handler{fwd: fwd}, nil
}

// attach gives the forwarder its transport once the listeners are up (it
// advertises the first one).
func (h *handler) attach(t *transport.Transport) error { return h.fwd.Attach(t) }

func (h *handler) ServeSIP(m *transport.Message) {
	if h.callIDs != nil && m.CallID != nil {
		h.callIDs.ObserveCallID(m.Conn.ID(), m.CallID)
	}
	h.fwd.ServeSIP(m)
}

func (h *handler) stats() any { return h.fwd.Stats() }
