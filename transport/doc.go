// Package transport is a SIP-over-TCP transport with the semantics and the
// parameters of OpenSIPS' proto_tcp module, and a stream of network events.
//
// A Transport listens on sockets ("tcp:IP[:port]"), frames the SIP messages
// it reads and hands each to a Handler, and sends messages over open
// connections or new ones. Every connection is in the connection table from
// its accept or connect until its one EventClosed.
//
// What the transport observes (every event, every message read or written,
// sipwire's own responses included, and the trace switch) reaches its
// observers through one interface, Observer, in connection order, each
// Observation stamped where the bytes met the kernel (observe.go). An
// observer never blocks a connection: it copies what it keeps into a
// bounded queue of its own and counts what a full queue drops
// (Subscription is such a queue, for consumers of events that run on
// their own goroutine). Consumers name their entry points alike: Observe,
// called inline; Consume and ConsumeSubscription, run on a goroutine of
// their own.
//
// An idle connection gives its reader goroutine up to the transport's event
// loop (park.go, poller_linux.go): after a CRLF keep-alive at once, else
// after a wait that grows from Options.ParkAfter/64 to Options.ParkAfter as
// the connection shows it is busy.
//
// The kernel's view of a connection (TCPInfo: TCP_INFO and the socket's
// queues) is read at the moments that matter and never per message: just
// before the socket closes, into the EventClosed and the error event raised
// with it; on demand (Conn.TCPInfo, Transport.ConnTCPInfo); and every
// Options.TCPInfoInterval for the connection table, by a sampler bounded to
// Options.TCPInfoPerTick connections a tick (tcpinfo.go, sampler.go). The
// figures at close also feed per-listener histograms (Stats.TCPHistograms).
//
// The trace switch (trace_on) and the per-connection filter verdict
// (trace_filter_route) are decided here, because they are proto_tcp's; what
// tracing means (HEP, OpenTelemetry) is decided by the observers that ask
// for traced observations only.
package transport
