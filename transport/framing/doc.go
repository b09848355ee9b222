// Package framing splits a SIP-over-TCP byte stream into messages
// (RFC 3261 §7.5 and §18.3): leading CRLFs are skipped, CRLFCRLF keep-alives
// are recognised, headers end at CRLFCRLF, and Content-Length (or its compact
// form "l") is mandatory and bounds the body. Limits are checked while
// scanning, before a body is read.
//
// A Framer is fed the unconsumed bytes of one connection's stream and reports,
// for the first item in them, one of: a complete message, a keep-alive, bytes
// to skip, a need for more bytes, or an error. It never allocates.
package framing
