package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web/pcap"
)

// StatsBody is the body of GET /stats.
type StatsBody struct {
	Time time.Time `json:"time"`
	// RunID changes at every start of sipwire (Started): a page that sees
	// it change resynchronises (event numbers start again from 1).
	RunID     string          `json:"run_id"`
	Started   time.Time       `json:"started"`
	Trace     string          `json:"trace"`
	Transport transport.Stats `json:"transport"`
	Web       WebStats        `json:"web"`
	// Pcap is the ring of traced messages (absent without one).
	Pcap *pcap.RingStats `json:"pcap,omitempty"`
	// Exporters are Deps.Stats' values by name (HEP, OTel, history).
	Exporters map[string]any `json:"exporters,omitempty"`
}

// WebStats are the server's own counters.
type WebStats struct {
	// EventRingSize and EventRingLen are the bound and the fill of the ring
	// of recent events; LastSeq is the newest event's sequence number.
	EventRingSize int    `json:"event_ring_size"`
	EventRingLen  int    `json:"event_ring_len"`
	LastSeq       uint64 `json:"last_seq"`
	// EventRingZonesDropped counts the IPv6 addresses the ring kept without
	// their zone, holding maxRingZones (255) zones already.
	EventRingZonesDropped uint64 `json:"event_ring_zones_dropped"`
	// StreamClients is the number of open event streams, MaxStreams their
	// bound; StreamsRefused counts the streams refused over it and
	// StreamWriteTimeouts those dropped because a write did not go out
	// within the stream write timeout (a client that stopped reading).
	StreamClients       int64  `json:"stream_clients"`
	MaxStreams          int    `json:"max_streams"`
	StreamsRefused      uint64 `json:"streams_refused"`
	StreamWriteTimeouts uint64 `json:"stream_write_timeouts"`
	// StreamWakes counts the times a stream woke for new events, then
	// rested streamPause (50 ms) before taking them.
	StreamWakes uint64 `json:"stream_wakes"`
	// Refused counts the requests the Host, Origin, cross-site and token
	// checks refused.
	Refused GuardRefusals `json:"refused"`
	// EventHistory: the event history serves GET /events?source=history and
	// GET /events/export (its counters are Exporters["history"]).
	EventHistory bool `json:"event_history"`
}

func (s *Server) stats() StatsBody {
	b := StatsBody{
		Time:      time.Now().UTC(),
		RunID:     s.runID,
		Started:   s.started,
		Trace:     onOff(s.deps.Transport.Tracing()),
		Transport: s.deps.Transport.Stats(),
		Web: WebStats{
			EventRingSize:         s.ring.Cap(),
			EventRingLen:          s.ring.Len(),
			LastSeq:               s.ring.LastSeq(),
			EventRingZonesDropped: s.ring.ZonesDropped(),
			StreamClients:         s.sseClients.Load(),
			MaxStreams:            s.cfg.maxEventStreams(),
			StreamsRefused:        s.sseRefused.Load(),
			StreamWriteTimeouts:   s.sseTimedOut.Load(),
			StreamWakes:           s.sseWakes.Load(),
			Refused:               s.guard.refusals(),
			EventHistory:          s.deps.Events != nil,
		},
	}
	if s.deps.Pcap != nil {
		ps := s.deps.Pcap.Stats()
		b.Pcap = &ps
	}
	if s.deps.Stats != nil {
		b.Exporters = s.deps.Stats()
	}
	return b
}

func (s *Server) getStats(c *gin.Context) error {
	c.JSON(http.StatusOK, s.stats())
	return nil
}
