// Package framing splits a SIP-over-TCP byte stream into messages
// (RFC 3261 §7.5 and §18.3): leading CRLFs are skipped, CRLFCRLF keep-alives
// are recognised, headers end at CRLFCRLF, and Content-Length (or its compact
// form "l") is mandatory and bounds the body. Limits are checked while
// scanning, before a body is read.
//
// A Framer is fed the unconsumed bytes of one connection's stream and reports,
// for the first item in them, one of: a complete message, a keep-alive, bytes
// to skip, a need for more bytes, or an error. It never allocates, and it
// resumes where it stopped, so a message trickling in byte by byte costs
// linear time. The start line is checked as it arrives: a peer speaking
// another protocol is refused after a few bytes.
//
// AppendResponse and ErrorStatus form the response sent to a request that
// cannot be framed (400, 513) or that is answered locally.
package framing
