// Package transport is a SIP-over-TCP transport with the semantics and the
// parameters of OpenSIPS' proto_tcp module, and a stream of network events.
//
// A Transport listens on sockets ("tcp:IP[:port]"), frames the SIP messages
// it reads and hands each to a Handler, and sends messages over open
// connections or new ones. Every connection is in the connection table from
// its accept or connect until its one EventClosed. Network events go to
// subscribers through bounded queues that never block a connection; what a
// full queue cannot take is dropped and counted.
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
// tracing means (HEP, OpenTelemetry) is decided by the subscribers that ask
// for traced events only.
package transport
