package transport

import "sync/atomic"

type counters struct {
	accepted, refused, connects, connectFailures, closed atomic.Uint64
	messagesIn, messagesOut, bytesIn, bytesOut           atomic.Uint64
	pings, pongs, loneCRLFs                              atomic.Uint64
	badMessages, tooLarge, chunkLimits, messageTimeouts  atomic.Uint64
	queueFull, writeTimeouts, idleTimeouts               atomic.Uint64
	readErrors, writeErrors, events, panics              atomic.Uint64
	tcpInfoReads, tcpInfoErrors, tcpInfoDeferred         atomic.Uint64
	parks, resumes, pollerHandoffs                       atomic.Uint64
	heldWrites, heldMessages                             atomic.Uint64
}

// count counts a limit or error that closed a connection: counted where
// the connection is closed, once, so that the counters equal the events.
func (c *counters) count(kind EventKind) {
	switch kind {
	case EventBadMessage:
		c.badMessages.Add(1)
	case EventMessageTooLarge:
		c.tooLarge.Add(1)
	case EventChunkLimit:
		c.chunkLimits.Add(1)
	case EventMessageTimeout:
		c.messageTimeouts.Add(1)
	case EventWriteQueueFull:
		c.queueFull.Add(1)
	case EventWriteTimeout:
		c.writeTimeouts.Add(1)
	case EventIdleTimeout:
		c.idleTimeouts.Add(1)
	case EventReadError:
		c.readErrors.Add(1)
	case EventWriteError:
		c.writeErrors.Add(1)
	case EventHandlerPanic:
		c.panics.Add(1)
	}
}

// Stats is a snapshot of the transport's counters, for the dashboard and
// /metrics.
type Stats struct {
	Open            int                 `json:"open"`
	Accepted        uint64              `json:"accepted"`
	Refused         uint64              `json:"refused"`
	Connects        uint64              `json:"connects"`
	ConnectFailures uint64              `json:"connect_failures"`
	Closed          uint64              `json:"closed"`
	MessagesIn      uint64              `json:"messages_in"`
	MessagesOut     uint64              `json:"messages_out"`
	BytesIn         uint64              `json:"bytes_in"`
	BytesOut        uint64              `json:"bytes_out"`
	Pings           uint64              `json:"pings"`
	Pongs           uint64              `json:"pongs"`
	LoneCRLFs       uint64              `json:"lone_crlfs"`
	BadMessages     uint64              `json:"bad_messages"`
	TooLarge        uint64              `json:"too_large"`
	ChunkLimits     uint64              `json:"chunk_limits"`
	MessageTimeouts uint64              `json:"message_timeouts"`
	QueueFull       uint64              `json:"queue_full"`
	WriteTimeouts   uint64              `json:"write_timeouts"`
	IdleTimeouts    uint64              `json:"idle_timeouts"`
	ReadErrors      uint64              `json:"read_errors"`
	WriteErrors     uint64              `json:"write_errors"`
	HandlerPanics   uint64              `json:"handler_panics"`
	EventsRaised    uint64              `json:"events_raised"`
	Tracing         bool                `json:"tracing"`
	Subscriptions   []SubscriptionStats `json:"subscriptions"`

	// TCPInfoReads counts the TCP_INFO readings (at close, on demand, by
	// the sampler), TCPInfoErrors the ones the kernel refused, and
	// TCPInfoDeferred the connections a sampler tick left to a later tick
	// (Options.TCPInfoPerTick).
	TCPInfoReads    uint64 `json:"tcp_info_reads"`
	TCPInfoErrors   uint64 `json:"tcp_info_errors"`
	TCPInfoDeferred uint64 `json:"tcp_info_deferred"`
	// TCPHistograms are the distributions of the figures read at close,
	// by listener and direction.
	TCPHistograms []TCPHistogram `json:"tcp_histograms"`

	// Parks and Resumes count idle connections handed to the event loop
	// and taken back when bytes came (or their idle deadline passed).
	Parks   uint64 `json:"parks"`
	Resumes uint64 `json:"resumes"`
	// PollerHandoffs counts the times a handler kept the event loop's
	// goroutine longer than its bound (2 ms) on one connection, and
	// another goroutine took the loop over.
	PollerHandoffs uint64 `json:"poller_handoffs"`
	// Parked is the number of connections parked now: open, holding no
	// reader goroutine.
	Parked int `json:"parked"`

	// HeldWrites counts the writes of messages a read batch held for a
	// connection (Message.Forward), HeldMessages the messages they
	// carried: their ratio is how many relayed messages share a write.
	HeldWrites   uint64 `json:"held_writes"`
	HeldMessages uint64 `json:"held_messages"`
}

// Stats returns the transport's counters now.
func (t *Transport) Stats() Stats {
	c := &t.stats
	t.mu.Lock()
	open := t.open
	t.mu.Unlock()
	s := Stats{
		Open:            open,
		Accepted:        c.accepted.Load(),
		Refused:         c.refused.Load(),
		Connects:        c.connects.Load(),
		ConnectFailures: c.connectFailures.Load(),
		Closed:          c.closed.Load(),
		MessagesIn:      c.messagesIn.Load(),
		MessagesOut:     c.messagesOut.Load(),
		BytesIn:         c.bytesIn.Load(),
		BytesOut:        c.bytesOut.Load(),
		Pings:           c.pings.Load(),
		Pongs:           c.pongs.Load(),
		LoneCRLFs:       c.loneCRLFs.Load(),
		BadMessages:     c.badMessages.Load(),
		TooLarge:        c.tooLarge.Load(),
		ChunkLimits:     c.chunkLimits.Load(),
		MessageTimeouts: c.messageTimeouts.Load(),
		QueueFull:       c.queueFull.Load(),
		WriteTimeouts:   c.writeTimeouts.Load(),
		IdleTimeouts:    c.idleTimeouts.Load(),
		ReadErrors:      c.readErrors.Load(),
		WriteErrors:     c.writeErrors.Load(),
		HandlerPanics:   c.panics.Load(),
		Parks:           c.parks.Load(),
		HeldWrites:      c.heldWrites.Load(),
		HeldMessages:    c.heldMessages.Load(),
		Resumes:         c.resumes.Load(),
		PollerHandoffs:  c.pollerHandoffs.Load(),
		Parked:          int(t.parkedNow.Load()),
		EventsRaised:    c.events.Load(),
		Tracing:         t.Tracing(),
		TCPInfoReads:    c.tcpInfoReads.Load(),
		TCPInfoErrors:   c.tcpInfoErrors.Load(),
		TCPInfoDeferred: c.tcpInfoDeferred.Load(),
		TCPHistograms:   t.tcpHist.snapshot(),
	}
	t.subsMu.RLock()
	for _, sub := range t.subs {
		s.Subscriptions = append(s.Subscriptions, sub.stats())
	}
	t.subsMu.RUnlock()
	return s
}
