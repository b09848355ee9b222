// Package hep sends sipwire's network events and traced SIP messages to HEP
// collectors (Homer's heplify-server, Kamailio sipcapture, sngrep, OpenSIPS).
//
// It has four parts, one concept per file:
//
//   - the HEPv3 codec (chunk.go, packet.go, encode.go, decode.go): every
//     generic chunk, IPv4 and IPv6, fixed chunk sizes checked both ways; the
//     encoder appends into a caller's buffer without allocating, the decoder
//     is as strict as heplify-server and never panics;
//   - destinations (destination.go): OpenSIPS' proto_hep hep_id syntax,
//     "[name] host[:port]; transport=udp|tcp|tls; version=3";
//   - senders (sender.go, worker.go, run.go, udp.go, stream.go): bounded
//     queues per destination that never block the caller, each a run of
//     packets back to back in one buffer that the worker takes whole, UDP (one message per
//     datagram, sent in batches by several workers, each with its own
//     socket; one connection's packets always through the same one, in
//     order), TCP and TLS (one connection, reconnect with exponential
//     backoff); drops are counted by reason; each destination has a state
//     (DestinationState in stats.go: up or down, logged once per change),
//     and UDP learns which datagrams the collector refused from the
//     socket's error queue (udp_linux.go);
//   - the Tracer (tracer.go, event.go, message.go, calls.go): turns
//     transport.Event values and traced SIP messages into HEP packets in
//     OpenSIPS' format or in the Homer format, in which a connection's open
//     and close events are repeated with each Call-ID it carried so that
//     Homer's call view shows the transport story of a call.
package hep
