package main

import (
	"fmt"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/forward"
)

// handler is the transport's Handler: the forwarder (which, with no
// upstream, answers OPTIONS with 200 and other requests with 501).
type handler struct {
	fwd *forward.Forwarder
}

func newHandler(cfg *config.Config) (*handler, error) {
	fwd, err := forward.New(forward.Config{
		Upstream:        cfg.Forward.URI,
		RecordRoute:     cfg.Forward.RecordRoute,
		RelayExtensions: cfg.Forward.RelayExtensions,
		DefaultPort:     cfg.TCPPort,
	})
	if err != nil {
		return nil, fmt.Errorf("forward.uri: %w", err)
	}
	return &handler{fwd: fwd}, nil
}

// attach gives the forwarder its transport once the listeners are up (it
// advertises the first one).
func (h *handler) attach(t *transport.Transport) error { return h.fwd.Attach(t) }

func (h *handler) ServeSIP(m *transport.Message) { h.fwd.ServeSIP(m) }

func (h *handler) stats() any { return h.fwd.Stats() }
