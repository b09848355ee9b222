// Package otel turns sipwire's network events into OpenTelemetry spans and
// exports them over OTLP (gRPC or HTTP/protobuf).
//
// It reads transport.Events from one channel (a transport.Subscription with
// the TracedEvents gate) on its own goroutine; the transport only ever does a
// non-blocking send into that channel, so nothing here can slow SIP traffic.
//
// # Spans
//
// Every connection gets one trace. Its spans are:
//
//   - "sip.tcp.connection", the lifetime span and root of the trace: kind
//     SERVER for an accepted connection, CLIENT for one we dialled. It starts
//     at the ACCEPTED or CONNECTED event and ends at CLOSED, both with the
//     events' own times. It carries the network.* attributes of semantic
//     conventions v1.43, sipwire.connection.id and, at its end,
//     sipwire.close.reason and sipwire.close.status. Error events (BAD_MESSAGE,
//     MESSAGE_TOO_LARGE, CHUNK_LIMIT, MESSAGE_TIMEOUT, WRITE_QUEUE_FULL,
//     WRITE_TIMEOUT, READ_ERROR, WRITE_ERROR, HANDLER_PANIC) become span events named after
//     their kind, set the span's status to Error and its error.type to the
//     first such kind. A CLOSED with status FAILURE does the same (error.type
//     "CLOSED" when no error event came before it). IDLE_TIMEOUT is
//     tcp_connection_lifetime doing its job: a span event only, unless its
//     status is FAILURE. While the connection is open no SDK span is kept:
//     the lifetime span is started and ended when the connection closes,
//     back-dated to its open event, with the ids (and sampling decision)
//     that its children already named as their parent; an open connection
//     costs the exporter about 320 bytes (BenchmarkOpenConnectionMemory).
//     At most 128 mid-life events are kept per connection; beyond that,
//     sipwire.connection.events_dropped counts them.
//     When CLOSED carries the kernel's last figures of the connection
//     (transport.TCPInfo, read just before the socket closed), the span
//     has them under sipwire.tcp.*: sipwire.tcp.state (the TCP state,
//     "established", "close-wait"...), sipwire.tcp.rtt_us and
//     sipwire.tcp.rttvar_us (smoothed RTT and its deviation, µs),
//     sipwire.tcp.retransmits (timeouts of the head segment),
//     sipwire.tcp.total_retrans (segments retransmitted over the
//     connection's life), sipwire.tcp.lost, sipwire.tcp.unacked
//     (segments), sipwire.tcp.cwnd (congestion window, segments),
//     sipwire.tcp.send_queue, sipwire.tcp.notsent, sipwire.tcp.recv_queue
//     (bytes), sipwire.tcp.snd_wnd (the peer's window, bytes),
//     sipwire.tcp.last_send_ms and sipwire.tcp.last_recv_ms (since data
//     went each way), sipwire.tcp.probes and sipwire.tcp.backoff
//     (zero-window or keepalive probes unanswered, and the timer's
//     backoff). The keys are those of the HEP payload's TCP object and
//     of the history.
//   - "sip.tcp.connection.open", an INTERNAL span of zero length at the open
//     event, a child of the lifetime span that also links to it. A span is
//     exported only when it ends, so a connection open for hours would be
//     invisible until it closes; this span is exported once the connection
//     has been open for Config.OpenSpanDelay (1 s; negative: at once), with
//     the same attributes, so the connection can be found in the backend
//     (which shows its trace with the root still missing) while it is open.
//     A connection that closes sooner has its lifetime span only: where
//     every call has its own connection, one span per connection, not two.
//     The delay runs on event times, and on the exporter's clock between
//     events.
//   - "sip.tcp.connect", a CLIENT span for a connect attempt: from
//     CONNECT_START (a connect that went to the background) to CONNECTED or
//     CONNECT_FAILED. An inline connect reports CONNECTED alone and gives a
//     span of zero length. A successful connect span is a child of the
//     lifetime span (it starts before its parent, by the connect time); a
//     failed one is the root of its own trace, with status Error and
//     error.type CONNECT_FAILED, and no lifetime span follows (the CLOSED
//     of a connection that never got a local address makes no span). A
//     connect cut short by CLOSED (shutdown) ends its span there.
//   - "sip.tcp.accept_refused", a SERVER span of zero length with status
//     Error for a connection refused beyond tcp_max_connections.
//
// When tracing is turned on while a connection is open, its first event here
// is not an open event: the lifetime span then starts at that event, with
// sipwire.connection.partial=true and no open span. When tracing is turned
// off, Exporter.TracingOff ends the lifetime spans in progress at once
// (sipwire.connection.tracing_off=true), since their CLOSED will not come.
//
// # Bounds and drops
//
// Nothing here blocks and everything is bounded; what a bound stops is
// counted in Stats:
//   - the input queue is the subscription's channel: the transport drops and
//     counts when it is full (Stats.Dropped.InputQueueFull, when the exporter
//     runs on a Subscription);
//   - the table of open connections holds at most MaxOpenConnections entries;
//     a new one evicts the oldest, whose lifetime span is ended there with
//     sipwire.connection.evicted=true (Stats.Dropped.Evicted);
//   - ended spans wait for export in a bounded queue that drops when full
//     (Stats.Dropped.ExportQueueFull). This package has its own batching span
//     processor rather than the SDK's: the SDK's batch processor drops without
//     telling anyone (its count is private), and this one counts every span
//     it drops, exports or fails to export. A batch is written in OTLP's
//     protobuf wire format by this package (otlpenc.go: about 1 µs a
//     lifetime span, against 7 µs for the SDK exporters' conversion and
//     reflection-driven marshalling) and handed to the SDK's OTLP/HTTP or
//     OTLP/gRPC client;
//   - a batch whose export fails is lost and counted (Stats.SpansFailed,
//     Stats.ExportErrors); the OTLP exporters retry it within its timeout,
//     every RetryMaxInterval at most, and gRPC reconnects every
//     ReconnectMaxBackoff at most. Stats.State says whether the collector
//     takes the spans (see ExportState); its changes are logged once each.
//
// # Configuration
//
// The standard OTEL_* environment variables win over Config; Config fills in
// what the environment leaves unset; defaults fill in the rest. Export is off
// (New returns a disabled Exporter) when neither Config.Endpoint nor
// OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set,
// when OTEL_SDK_DISABLED is true, or when OTEL_TRACES_EXPORTER is "none".
//
// # The global error handler
//
// The OpenTelemetry SDK reports some errors (partial successes, internal
// failures) only to the process-wide handler set by otel.SetErrorHandler: that
// is the SDK's design. New installs the Exporter it returns as that handler and
// counts what arrives in Stats.SDKErrors. The last enabled Exporter created
// wins. Export failures themselves are counted without the global handler: the
// batching processor sees each export's result.
package otel
